"""Facility kinds, hospital grades, ownership, levels and titles, with the spellings users write."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum


class FacilityKind(str, Enum):
    """What a facility is; the value is the key used in files."""

    GENERAL_HOSPITAL = "general_hospital"
    TCM_HOSPITAL = "tcm_hospital"
    INTEGRATED_HOSPITAL = "integrated_hospital"
    ETHNIC_MEDICINE_HOSPITAL = "ethnic_medicine_hospital"
    SPECIALTY_HOSPITAL = "specialty_hospital"
    MATERNAL_CHILD_HOSPITAL = "maternal_child_hospital"
    REHABILITATION_HOSPITAL = "rehabilitation_hospital"
    NURSING_HOME = "nursing_home"
    TOWNSHIP_HEALTH_CENTER = "township_health_center"
    COMMUNITY_HEALTH_CENTER = "community_health_center"
    COMMUNITY_HEALTH_STATION = "community_health_station"
    VILLAGE_CLINIC = "village_clinic"
    CDC = "cdc"

    @property
    def zh(self) -> str:
        """The Chinese name of the kind."""
        return _KIND_ZH[self]

    @property
    def is_hospital(self) -> bool:
        """True for hospitals (as opposed to primary-care institutions)."""
        return self in HOSPITAL_KINDS

    @property
    def is_tcm(self) -> bool:
        """True for traditional-medicine hospitals (中医, 中西医结合, 民族医)."""
        return self in TCM_KINDS

    @property
    def is_primary(self) -> bool:
        """True for primary-care institutions (基层医疗卫生机构)."""
        return self in PRIMARY_KINDS


_KIND_ZH: dict[FacilityKind, str] = {
    FacilityKind.GENERAL_HOSPITAL: "综合医院",
    FacilityKind.TCM_HOSPITAL: "中医医院",
    FacilityKind.INTEGRATED_HOSPITAL: "中西医结合医院",
    FacilityKind.ETHNIC_MEDICINE_HOSPITAL: "民族医医院",
    FacilityKind.SPECIALTY_HOSPITAL: "专科医院",
    FacilityKind.MATERNAL_CHILD_HOSPITAL: "妇幼保健院",
    FacilityKind.REHABILITATION_HOSPITAL: "康复医院",
    FacilityKind.NURSING_HOME: "护理院",
    FacilityKind.TOWNSHIP_HEALTH_CENTER: "乡镇卫生院",
    FacilityKind.COMMUNITY_HEALTH_CENTER: "社区卫生服务中心",
    FacilityKind.COMMUNITY_HEALTH_STATION: "社区卫生服务站",
    FacilityKind.VILLAGE_CLINIC: "村卫生室",
    FacilityKind.CDC: "疾病预防控制中心",
}

HOSPITAL_KINDS = frozenset(
    {
        FacilityKind.GENERAL_HOSPITAL,
        FacilityKind.TCM_HOSPITAL,
        FacilityKind.INTEGRATED_HOSPITAL,
        FacilityKind.ETHNIC_MEDICINE_HOSPITAL,
        FacilityKind.SPECIALTY_HOSPITAL,
        FacilityKind.MATERNAL_CHILD_HOSPITAL,
        FacilityKind.REHABILITATION_HOSPITAL,
    }
)
TCM_KINDS = frozenset(
    {FacilityKind.TCM_HOSPITAL, FacilityKind.INTEGRATED_HOSPITAL, FacilityKind.ETHNIC_MEDICINE_HOSPITAL}
)
PRIMARY_KINDS = frozenset(
    {
        FacilityKind.TOWNSHIP_HEALTH_CENTER,
        FacilityKind.COMMUNITY_HEALTH_CENTER,
        FacilityKind.COMMUNITY_HEALTH_STATION,
        FacilityKind.VILLAGE_CLINIC,
    }
)

_KIND_ALIASES: dict[str, FacilityKind] = {
    "综合医院": FacilityKind.GENERAL_HOSPITAL,
    "人民医院": FacilityKind.GENERAL_HOSPITAL,
    "general": FacilityKind.GENERAL_HOSPITAL,
    "hospital": FacilityKind.GENERAL_HOSPITAL,
    "中医医院": FacilityKind.TCM_HOSPITAL,
    "中医院": FacilityKind.TCM_HOSPITAL,
    "tcm": FacilityKind.TCM_HOSPITAL,
    "中西医结合医院": FacilityKind.INTEGRATED_HOSPITAL,
    "中西医结合": FacilityKind.INTEGRATED_HOSPITAL,
    "民族医医院": FacilityKind.ETHNIC_MEDICINE_HOSPITAL,
    "民族医院": FacilityKind.ETHNIC_MEDICINE_HOSPITAL,
    "专科医院": FacilityKind.SPECIALTY_HOSPITAL,
    "妇幼保健院": FacilityKind.MATERNAL_CHILD_HOSPITAL,
    "妇幼保健计划生育服务中心": FacilityKind.MATERNAL_CHILD_HOSPITAL,
    "妇幼": FacilityKind.MATERNAL_CHILD_HOSPITAL,
    "妇幼保健所": FacilityKind.MATERNAL_CHILD_HOSPITAL,
    "maternal_child": FacilityKind.MATERNAL_CHILD_HOSPITAL,
    "康复医院": FacilityKind.REHABILITATION_HOSPITAL,
    "护理院": FacilityKind.NURSING_HOME,
    "乡镇卫生院": FacilityKind.TOWNSHIP_HEALTH_CENTER,
    "卫生院": FacilityKind.TOWNSHIP_HEALTH_CENTER,
    "中心卫生院": FacilityKind.TOWNSHIP_HEALTH_CENTER,
    "中心乡镇卫生院": FacilityKind.TOWNSHIP_HEALTH_CENTER,
    "乡卫生院": FacilityKind.TOWNSHIP_HEALTH_CENTER,
    "镇卫生院": FacilityKind.TOWNSHIP_HEALTH_CENTER,
    "thc": FacilityKind.TOWNSHIP_HEALTH_CENTER,
    "社区卫生服务中心": FacilityKind.COMMUNITY_HEALTH_CENTER,
    "chc": FacilityKind.COMMUNITY_HEALTH_CENTER,
    "社区卫生服务站": FacilityKind.COMMUNITY_HEALTH_STATION,
    "村卫生室": FacilityKind.VILLAGE_CLINIC,
    "卫生室": FacilityKind.VILLAGE_CLINIC,
    "村卫生所": FacilityKind.VILLAGE_CLINIC,
    "clinic": FacilityKind.VILLAGE_CLINIC,
    "疾病预防控制中心": FacilityKind.CDC,
    "疾控中心": FacilityKind.CDC,
}


@dataclass(frozen=True)
class Normalized:
    """The result of reading a user-written term: the value, and a note when it was rewritten."""

    value: object
    note: str = ""


def _clean(text: object) -> str:
    s = unicodedata.normalize("NFKC", str(text)).strip()
    return re.sub(r"\s+", "", s)


def parse_kind(text: object) -> Normalized:
    """Read a facility kind as users write it ("中医院", "tcm_hospital", "村卫生室").

    Raises
    ------
    ValueError
        When the text names no known kind; the message lists the closest kinds.
    """
    s = _clean(text)
    low = s.lower()
    for kind in FacilityKind:
        if low == kind.value:
            return Normalized(kind)
        if s == kind.zh:
            return Normalized(kind)
    if s in _KIND_ALIASES or low in _KIND_ALIASES:
        kind = _KIND_ALIASES.get(s) or _KIND_ALIASES[low]
        return Normalized(kind, f"kind {str(text)!r} read as {kind.value} ({kind.zh})")
    choices = [k.value for k in FacilityKind] + [k.zh for k in FacilityKind]
    close = difflib.get_close_matches(s, choices, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    msg = f"is not a facility kind{hint}"
    raise ValueError(msg)


class Grade(int, Enum):
    """Hospital grade (医院等级) as an ordered value: level * 10 + sub-grade (甲 3, 乙 2, 丙 1)."""

    UNRATED = 0
    L1 = 10
    L1C = 11
    L1B = 12
    L1A = 13
    L2 = 20
    L2C = 21
    L2B = 22
    L2A = 23
    L3 = 30
    L3C = 31
    L3B = 32
    L3A = 33

    @property
    def zh(self) -> str:
        """The short Chinese term (三甲, 二乙, 一级, 未定级)."""
        return _GRADE_ZH[self]

    @property
    def level(self) -> int:
        """The level: 3 tertiary, 2 secondary, 1 primary, 0 unrated."""
        return int(self) // 10


_SUB = {0: "", 1: "丙", 2: "乙", 3: "甲"}
_LEVEL_ZH = {1: "一", 2: "二", 3: "三"}
_GRADE_ZH: dict[Grade, str] = {}
for _g in Grade:
    if _g is Grade.UNRATED:
        _GRADE_ZH[_g] = "未定级"
    elif _g.value % 10 == 0:
        _GRADE_ZH[_g] = f"{_LEVEL_ZH[_g.level]}级"
    else:
        _GRADE_ZH[_g] = f"{_LEVEL_ZH[_g.level]}{_SUB[_g.value % 10]}"

_LEVEL_WORDS = {"一": 1, "二": 2, "三": 3, "1": 1, "2": 2, "3": 3, "i": 1, "ii": 2, "iii": 3}
_SUB_WORDS = {"甲": 3, "乙": 2, "丙": 1, "a": 3, "b": 2, "c": 1, "": 0}
_UNRATED_WORDS = {"未定级", "未评级", "无", "无等级", "未定", "unrated", "none", "0", ""}
_GRADE_RE = re.compile(r"^(三|二|一|iii|ii|i|3|2|1)(?:级)?(甲|乙|丙|a|b|c)?(?:等)?(?:级)?(?:医院)?$")
_ENGLISH_RE = re.compile(r"^(tertiary|secondary|primary)[-_]?(a|b|c)?$")
_ENGLISH_LEVEL = {"tertiary": 3, "secondary": 2, "primary": 1}


def parse_grade(text: object) -> Normalized:
    """Read a hospital grade as users write it (三级甲等, 三甲, 3A, IIIA, tertiary-A, 二级, 未定级).

    Returns the grade and, when the spelling was not the canonical short form, a note saying
    how it was read.

    Raises
    ------
    ValueError
        When the text is not a grade; the message lists the accepted spellings.
    """
    if text is None or (isinstance(text, float) and text != text):
        return Normalized(Grade.UNRATED)
    s = _clean(text).lower()
    if s in _UNRATED_WORDS:
        canonical = s in ("", Grade.UNRATED.zh)
        return Normalized(Grade.UNRATED, "" if canonical else f"grade {str(text)!r} read as {Grade.UNRATED.zh}")
    m = _GRADE_RE.match(s)
    level = sub = None
    if m:
        level, sub = _LEVEL_WORDS[m.group(1)], _SUB_WORDS[m.group(2) or ""]
    else:
        m = _ENGLISH_RE.match(s)
        if m:
            level, sub = _ENGLISH_LEVEL[m.group(1)], _SUB_WORDS[m.group(2) or ""]
    if level is None:
        msg = "is not a hospital grade"
        raise ValueError(msg)
    grade = Grade(level * 10 + sub)
    note = "" if str(text).strip() == grade.zh else f"grade {str(text)!r} read as {grade.zh}"
    return Normalized(grade, note)


class Ownership(str, Enum):
    """Who owns a facility."""

    PUBLIC = "public"
    PRIVATE = "private"

    @property
    def zh(self) -> str:
        """The Chinese term."""
        return "公立" if self is Ownership.PUBLIC else "民营"


_OWNERSHIP_WORDS = {
    "public": Ownership.PUBLIC,
    "公立": Ownership.PUBLIC,
    "公办": Ownership.PUBLIC,
    "政府办": Ownership.PUBLIC,
    "政府办医院": Ownership.PUBLIC,
    "国有": Ownership.PUBLIC,
    "private": Ownership.PRIVATE,
    "民营": Ownership.PRIVATE,
    "私立": Ownership.PRIVATE,
    "社会办": Ownership.PRIVATE,
    "社会办医": Ownership.PRIVATE,
}


def parse_ownership(text: object) -> Normalized:
    """Read an ownership term (公立, 民营, public, private)."""
    s = _clean(text).lower()
    if s in _OWNERSHIP_WORDS:
        value = _OWNERSHIP_WORDS[s]
        canonical = s in (value.value, value.zh)
        return Normalized(value, "" if canonical else f"ownership {str(text)!r} read as {value.value} ({value.zh})")
    msg = "is not an ownership"
    raise ValueError(msg)


class AdminLevel(str, Enum):
    """The administrative level a facility belongs to (who runs it)."""

    NATIONAL = "national"
    PROVINCIAL = "provincial"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def zh(self) -> str:
        """The Chinese term."""
        return {"national": "国家级", "provincial": "省级", "city": "市级", "county": "县级",
                "township": "乡镇级", "village": "村级"}[self.value]


_LEVEL_ALIASES = {"国家级": "national", "省级": "provincial", "省": "provincial", "市级": "city",
                  "市": "city", "地市级": "city", "区级": "county", "县级": "county", "县": "county",
                  "乡镇级": "township", "乡级": "township", "镇级": "township", "村级": "village",
                  "村": "village", "district": "county"}


def parse_admin_level(text: object) -> Normalized:
    """Read an administrative level (省级, 市级, 县级, county, city ...)."""
    s = _clean(text).lower()
    if s in {lv.value for lv in AdminLevel}:
        return Normalized(AdminLevel(s))
    if s in _LEVEL_ALIASES:
        value = AdminLevel(_LEVEL_ALIASES[s])
        return Normalized(value, "" if s == value.zh else f"level {str(text)!r} read as {value.value}")
    msg = "is not an administrative level"
    raise ValueError(msg)


class Title(str, Enum):
    """Physician professional title (职称), from highest to lowest."""

    CHIEF = "chief"
    ASSOCIATE_CHIEF = "associate_chief"
    ATTENDING = "attending"
    RESIDENT = "resident"

    @property
    def zh(self) -> str:
        """The Chinese term."""
        return {"chief": "主任医师", "associate_chief": "副主任医师", "attending": "主治医师",
                "resident": "住院医师"}[self.value]

    @property
    def rank(self) -> int:
        """4 for chief down to 1 for resident; compare with `>=`."""
        return {"chief": 4, "associate_chief": 3, "attending": 2, "resident": 1}[self.value]


_TITLE_ALIASES = {"主任医师": "chief", "主任": "chief", "正高": "chief", "副主任医师": "associate_chief",
                  "副主任": "associate_chief", "副高": "associate_chief", "主治医师": "attending",
                  "主治": "attending", "中级": "attending", "住院医师": "resident", "医师": "resident",
                  "住院": "resident", "初级": "resident"}


def parse_title(text: object) -> Normalized:
    """Read a physician title (主任医师, 副主任医师, 主治医师, 住院医师 or the English keys)."""
    s = _clean(text).lower()
    if s in {t.value for t in Title}:
        return Normalized(Title(s))
    if s in _TITLE_ALIASES:
        value = Title(_TITLE_ALIASES[s])
        return Normalized(value, "" if s == value.zh else f"title {str(text)!r} read as {value.zh}")
    msg = "is not a physician title"
    raise ValueError(msg)


TOWNSHIP_KINDS = ("街道", "镇", "乡", "其他")


def township_kind_from_name(name: str) -> str:
    """Classify a township-level unit by its name: 街道, 镇, 乡 (民族乡, 苏木 included) or 其他.

    其他 covers the statistical units NBS lists at township level that are not townships:
    development zones, farms, forest farms (开发区, 农场, 林场 ...).
    """
    n = _clean(name)
    if n.endswith(("街道", "街道办事处", "办事处")):
        return "街道"
    if n.endswith("镇"):
        return "镇"
    if n.endswith(("乡", "苏木")):
        return "乡"
    return "其他"
