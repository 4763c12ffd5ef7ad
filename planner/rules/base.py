"""The Rule base class, facility selectors and the registry of rule kinds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..i18n import Text
from ..vocabulary import AdminLevel, FacilityKind, Grade, Ownership, parse_admin_level, parse_grade, parse_kind, parse_ownership

if TYPE_CHECKING:
    from ..districting import DistrictingModel
    from ..plan import UnitPlan
    from ..region import Region
    from ..units import Unit

RULE_KINDS: dict[str, type[Rule]] = {}
"""Every rule kind by the name used in rule files; filled by `register`."""


def register(cls: type[Rule]) -> type[Rule]:
    """Add a rule class to RULE_KINDS under its `kind`."""
    kind = cls.model_fields["kind"].default
    RULE_KINDS[kind] = cls
    return cls


def _parsed(parser: Any) -> Any:
    def check(value: object) -> object:
        if value is None or isinstance(value, (Grade, FacilityKind, Ownership, AdminLevel)):
            return value
        if parser is parse_grade and isinstance(value, int) and value in {g.value for g in Grade}:
            return Grade(value)  # a grade written back as its ordered value (rules inherited via extends)
        try:
            return parser(value).value
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    return check


GradeField = Annotated[Grade, BeforeValidator(_parsed(parse_grade))]
KindField = Annotated[FacilityKind, BeforeValidator(_parsed(parse_kind))]
OwnershipField = Annotated[Ownership, BeforeValidator(_parsed(parse_ownership))]
LevelField = Annotated[AdminLevel, BeforeValidator(_parsed(parse_admin_level))]


def _flags(values: np.ndarray, missing: bool) -> np.ndarray:
    """A column of booleans with blanks (None, NaN) read as `missing`."""
    if values.dtype == bool:
        return values
    return np.array([missing if v is None or (isinstance(v, float) and v != v) else bool(v) for v in values], dtype=bool)


def short_source(source: str) -> str:
    """"000_daed78e4f2e6cfdf.txt (二)" -> "000 (二)", for compact citations."""
    m = re.match(r"^(\d{3})_[0-9a-f]+\.txt\s*(.*)$", source.strip())
    return f"{m.group(1)} {m.group(2)}".strip() if m else source


POLICY_SOURCE = re.compile(r"^(\d{3})_[0-9a-f]{16}\.txt(\s+\S.*)?$")
"""A citation of one of the policy documents: file name, then the clause ("000_….txt (二)")."""

ASSUMPTION_PREFIXES = ("planner assumption:", "planner option:")
"""How a rule says that no clause sets it (a reading or a setting the planner adds)."""


def is_assumption(source: str) -> bool:
    """True when a source says the rule is the planner's own assumption or option, not a clause."""
    return source.strip().lower().startswith(ASSUMPTION_PREFIXES)


_KIND_EN: dict[FacilityKind, str] = {
    FacilityKind.GENERAL_HOSPITAL: "general", FacilityKind.TCM_HOSPITAL: "TCM",
    FacilityKind.INTEGRATED_HOSPITAL: "integrated (中西医结合)", FacilityKind.ETHNIC_MEDICINE_HOSPITAL: "ethnic-medicine",
    FacilityKind.SPECIALTY_HOSPITAL: "specialty", FacilityKind.MATERNAL_CHILD_HOSPITAL: "maternal-child",
    FacilityKind.REHABILITATION_HOSPITAL: "rehabilitation", FacilityKind.NURSING_HOME: "nursing-home",
    FacilityKind.TOWNSHIP_HEALTH_CENTER: "township health center", FacilityKind.COMMUNITY_HEALTH_CENTER:
    "community health center", FacilityKind.COMMUNITY_HEALTH_STATION: "community health station",
    FacilityKind.VILLAGE_CLINIC: "village clinic", FacilityKind.CDC: "CDC",
}


def kind_words(kinds: list[FacilityKind] | tuple[FacilityKind, ...]) -> Text:
    """Facility kinds in words: "general/TCM hospitals" and "综合医院/中医医院"."""
    if all(k.is_hospital for k in kinds):
        en = "/".join(_KIND_EN[k] for k in kinds) + " hospitals"
    else:
        en = "/".join(_KIND_EN[k] + (" hospitals" if k.is_hospital else "s") for k in kinds)
    return Text(en, "/".join(k.zh for k in kinds))


class Rule(BaseModel):
    """A policy rule read from a constraint file.

    Every rule has an `id` (unique in its file), a `kind` (the class), the `source` clause it
    encodes, and may be disabled (`enabled = false`) or made soft (`hard = false` with a
    `penalty` in person-minutes per unit of violation) where its kind allows it. `counties`
    (adcodes, or city codes for city grids) limits a community rule to some places, so a
    reviewer can change a number for one county only. Subclasses
    add their own keys as fields, add constraints to a unit's model (`add`), check a finished
    plan on their own (`check`), and describe themselves (`describe`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    id: str = Field(min_length=1)
    kind: str
    source: str = Field(min_length=1)
    source_zh: str = ""
    """The source in Chinese, for a planner assumption or option whose `source` is English prose."""
    enabled: bool = True
    hard: bool = True
    penalty: float | None = Field(default=None, gt=0)
    scope: Literal["county", "city"] = "county"
    counties: list[str] | None = None
    except_counties: list[str] | None = None
    quote: str = ""
    assumptions: dict[str, str] = Field(default_factory=dict)
    title: str = ""
    note: str = ""

    soft_ok: ClassVar[bool] = False
    """Whether `hard = false` is meaningful for this kind."""
    stage: ClassVar[str] = "communities"
    """Which part of planning the rule constrains: communities, dispatch, dialysis, capacity."""
    assumed: ClassVar[dict[str, Text]] = {}
    """Keys of this kind that no clause sets (the planner's assumptions), and why; a file's
    `assumptions` table adds its own or rewords these."""

    @model_validator(mode="after")
    def _assumption_keys(self) -> Rule:
        fields = set(type(self).model_fields)
        unknown = sorted(k for k in self.assumptions if k not in fields)
        if unknown:
            msg = (f"`assumptions` names {', '.join(unknown)}, not keys of rule kind {self.kind!r}; "
                   f"name keys of this rule ({', '.join(sorted(fields - set(Rule.model_fields)))})")
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _soft_needs_penalty(self) -> Rule:
        if not self.hard and not type(self).soft_ok:
            msg = f"rule kind {self.kind!r} cannot be soft; remove `hard = false` or disable it with `enabled = false`"
            raise ValueError(msg)
        if not self.hard and self.penalty is None:
            msg = "a soft rule (hard = false) needs a `penalty` (person-minutes per unit of violation)"
            raise ValueError(msg)
        return self

    # --- behaviour ---------------------------------------------------------------------

    def applies(self, unit: Unit) -> bool:
        """Whether the rule constrains this unit (enabled, of its scope, and among `counties` if given)."""
        return self.enabled and unit.scope == self.scope and self.covers(unit)

    def covers(self, unit: Unit) -> bool:
        """True when `counties` is unset or names one of the unit's counties (or its city code), and
        `except_counties` names none of them.

        The loader sets `except_counties` on an inherited rule that a file overrides for some
        counties: the override (`<id>@<counties>`) applies there, the parent everywhere else.
        """
        codes = {unit.id, unit.city_code} | set(unit.county_codes)
        if self.except_counties and set(self.except_counties) & codes:
            return False
        if self.counties is None:
            return True
        return bool(set(self.counties) & codes)

    @property
    def soft_penalty(self) -> float | None:
        """The penalty when the rule is soft, else None (hard)."""
        return None if self.hard else self.penalty

    def bind(self, rules: Sequence[Rule]) -> Rule:
        """This rule with the keys that follow other rules of its file filled in (most kinds: itself).

        E.g. a lead_staffing rule left without numbers takes those of the attending_dispatch
        rule; models, checks and cache keys all use the bound rule (`bind_rules`).
        """
        return self

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        """Add this rule's constraints (group = rule id) to a unit's model."""

    def closes(self, unit: Unit) -> set[int]:
        """Candidates (indices into `unit.candidates`) that `add` keeps closed by a hard row.

        The unit's model then needs no assignment variable for them (planning.build_model): with
        the center closed every such variable is 0, so the plans are the same. Most kinds: none.
        """
        return set()

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        """Violations of this rule by a finished plan of one unit, one message each (English and Chinese)."""
        return []

    def describe(self) -> Text:
        """What the rule requires, in words built from its current values (English and Chinese)."""
        return Text(self.kind, self.kind)

    def heading(self) -> Text:
        """The rule's heading for checks, reports and maps: `describe()`, built from the current values.

        A file's `title` is never used here: a reviewer who changes a number keeps the inherited
        title, which would then contradict the rule (the title is shown only as a label).
        """
        return self.describe()

    def detail(self, unit: Unit) -> Text:
        """What the rule means in this unit, for explanations of conflicts (without the unit's name)."""
        return self.describe()

    @property
    def is_assumption(self) -> bool:
        """True when no clause is cited: `source = "planner assumption: ..."` (or "planner option: ...")."""
        return is_assumption(self.source)

    def assumption_notes(self) -> dict[str, str]:
        """Key -> why it is a planner assumption: the kind's assumed keys, reworded or added by the file."""
        out = {k: str(v) for k, v in type(self).assumed.items()}
        out.update(self.assumptions)
        return out

    def clause(self) -> Text:
        """The clause quoted beside the heading: 「quote」 (source), or the assumption when no clause is cited."""
        if self.is_assumption:
            return self.source_text
        if self.quote:
            return Text(f"「{self.quote}」 ({self.citation})", f"「{self.quote}」（{self.citation}）")
        return Text(f"({self.citation})", f"（{self.citation}）")

    def extra_candidates(self, unit: Unit, region: Region) -> list[str]:
        """Facilities outside the unit that this rule lets lead it (e.g. city hospitals)."""
        return []

    @property
    def source_text(self) -> Text:
        """`source` with its Chinese (`source_zh`); an assumption without one says so in Chinese."""
        if self.source_zh:
            return Text(self.source, self.source_zh)
        if self.is_assumption:
            kind = "规划工具选项" if self.source.strip().lower().startswith("planner option") else "规划工具假设"
            return Text(self.source, f"{kind}（无对应政策条款；规则文件未附中文说明）")
        return Text(self.source, self.source)

    @property
    def citation(self) -> str:
        """Short citation, e.g. "000 (二)"; "planner assumption" (or "planner option") when no clause is cited."""
        if self.is_assumption:
            return self.source.split(":", 1)[0].strip().lower()
        return short_source(self.source)

    def label(self) -> str:
        """`id (citation)` for messages."""
        return f"{self.id} ({self.citation})"


class Selector(BaseModel):
    """Which facilities a rule is about: kinds, minimum grade, ownership, level, name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[KindField] | None = None
    min_grade: GradeField | None = None
    ownership: list[OwnershipField] | None = None
    nonprofit: bool | None = None
    admin_levels: list[LevelField] | None = None
    name_pattern: str | None = None
    secondary_capability: bool | None = None
    central_thc: bool | None = None

    def matches(self, facilities: pd.DataFrame) -> pd.Series:
        """Boolean mask of the facilities that match every given criterion."""
        # numpy on the columns: pandas operators on GeoDataFrame columns cost a millisecond each,
        # and the checker and the plan records call this for every unit and rule.
        ok = np.ones(len(facilities), dtype=bool)

        def col(name: str) -> np.ndarray:
            return facilities[name].to_numpy()

        if self.kinds is not None:
            ok &= np.isin(col("kind").astype(str), [k.value for k in self.kinds])
        if self.min_grade is not None:
            ok &= col("grade").astype(int) >= int(self.min_grade)
        if self.ownership is not None:
            ok &= np.isin(col("ownership").astype(str), [o.value for o in self.ownership])
        if self.nonprofit is not None:
            ok &= _flags(col("nonprofit"), True) == self.nonprofit
        if self.admin_levels is not None:
            ok &= np.isin(col("admin_level").astype(str), [lv.value for lv in self.admin_levels])
        if self.name_pattern:
            ok &= facilities["name"].astype(str).str.contains(self.name_pattern, regex=True).to_numpy(dtype=bool)
        if self.secondary_capability is not None:
            ok &= _flags(col("secondary_capability"), False) == self.secondary_capability
        if self.central_thc is not None:
            ok &= _flags(col("central_thc"), False) == self.central_thc
        return pd.Series(ok, index=facilities.index)

    def implies(self, other: Selector) -> bool:
        """True when every facility this selector matches is matched by `other` (criteria at least as strict)."""
        return not self.looser_than(other)

    def looser_than(self, other: Selector) -> list[Text]:
        """The criteria on which this selector admits facilities `other` does not, in words (empty: it implies `other`)."""
        out: list[Text] = []
        if other.kinds is not None:
            extra = [k for k in (self.kinds or list(FacilityKind)) if k not in other.kinds]
            if extra:
                out.append(Text(f"kinds {'/'.join(k.value for k in extra)}", f"类别{'、'.join(k.zh for k in extra)}"))
        if other.min_grade is not None and (self.min_grade is None or self.min_grade < other.min_grade):
            got = self.min_grade.zh if self.min_grade is not None else "未定级"
            out.append(Text(f"grade from {got} (the other needs {other.min_grade.zh})",
                            f"等级自{got}起（另一条要求{other.min_grade.zh}及以上）"))
        if other.ownership is not None:
            extra_o = [o for o in (self.ownership or list(Ownership)) if o not in other.ownership]
            if extra_o:
                out.append(Text(f"ownership {'/'.join(o.value for o in extra_o)}", f"{'、'.join(o.zh for o in extra_o)}"))
        if other.admin_levels is not None:
            extra_l = [lv for lv in (self.admin_levels or list(AdminLevel)) if lv not in other.admin_levels]
            if extra_l:
                out.append(Text(f"levels {'/'.join(lv.value for lv in extra_l)}", f"{'、'.join(lv.zh for lv in extra_l)}"))
        for key in ("nonprofit", "secondary_capability", "central_thc", "name_pattern"):
            want = getattr(other, key)
            if want is not None and getattr(self, key) != want:
                out.append(Text(f"{key} not required to be {want!r}", f"未要求 {key} = {want!r}"))
        return out

    def words(self) -> Text:
        """The criteria in words, e.g. "public county-level general/TCM hospitals graded 二甲 or above"."""
        en: list[str] = []
        zh: list[str] = []
        if self.ownership:
            en.append("/".join(o.value for o in self.ownership))
            zh.append("/".join(o.zh for o in self.ownership))
        if self.nonprofit:
            en.append("non-profit")
            zh.append("非营利性")
        elif self.nonprofit is False:
            en.append("for-profit")
            zh.append("营利性")
        if self.admin_levels:
            en.append("/".join(lv.value for lv in self.admin_levels) + "-level")
            zh.append("/".join(lv.zh for lv in self.admin_levels))
        if self.central_thc:
            en.append("central")
            zh.append("中心")
        kinds = kind_words(self.kinds) if self.kinds else Text("facilities", "医疗卫生机构")
        en.append(kinds.en)
        zh.append(kinds.zh)
        tail_en: list[str] = []
        tail_zh: list[str] = []
        if self.secondary_capability:
            tail_en.append("with secondary-hospital-level capability")
            tail_zh.append("服务能力达到二级医院水平")
        if self.name_pattern:
            tail_en.append(f"named like {self.name_pattern!r}")
            tail_zh.append(f"名称含“{self.name_pattern}”")
        if self.min_grade is not None:
            tail_en.append(f"graded {self.min_grade.zh} or above")
            tail_zh.append(f"{self.min_grade.zh}及以上")
        zh_text = "".join(zh) if not tail_zh else "".join(zh) + "（" + "，".join(tail_zh) + "）"
        return Text(" ".join(en + tail_en), zh_text)


def bind_rules(rules: Sequence[Rule]) -> list[Rule]:
    """Every rule bound to the others of its file (`Rule.bind`), in the same order."""
    return [r.bind(rules) for r in rules]
