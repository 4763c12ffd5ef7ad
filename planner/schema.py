"""The columns of every layer a region is made of: counties, townships, villages, facilities, staff."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of a layer.

    Parameters
    ----------
    name
        Column name in files and in GeoDataFrames.
    dtype
        One of "code" (a string of digits, never a number: leading zeros matter), "str", "int",
        "float", "bool", "kind", "grade", "ownership", "level".
    required
        Whether a file must have it; optional columns get `default`.
    doc
        What it means, with units.
    default
        The value used when an optional column is absent.
    """

    name: str
    dtype: str
    required: bool
    doc: str
    default: object = None


@dataclass(frozen=True)
class Layer:
    """A layer of a region: its name, geometry type and columns."""

    name: str
    geometry: str | None
    columns: tuple[Column, ...]
    key: str
    doc: str

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        """The column called `name`."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


COUNTIES = Layer(
    name="counties",
    geometry="MultiPolygon",
    key="adcode",
    doc="County-level units (区/县/县级市) with their 2020 census population.",
    columns=(
        Column("adcode", "code", True, "6-digit GB/T 2260 code of the county-level unit"),
        Column("name", "str", True, "Name, e.g. 义乌市"),
        Column("city_code", "code", True, "6-digit code of the prefecture-level city (地级市)"),
        Column("city_name", "str", True, "Name of the prefecture-level city"),
        Column("province_code", "code", True, "6-digit code of the province"),
        Column("province_name", "str", True, "Name of the province"),
        Column("population", "int", True, "Resident population (常住人口), persons"),
        Column("urban_population", "int", False, "Urban residents (城镇人口), persons", None),
        Column("rural_population", "int", False, "Rural residents (乡村人口), persons", None),
        Column("population_source", "str", False, "Where the population comes from", "user"),
        Column("population_note", "str", False, "How the population was derived, when not a plain census row", ""),
    ),
)

TOWNSHIPS = Layer(
    name="townships",
    geometry="MultiPolygon",
    key="code",
    doc="Township-level units (乡/镇/街道) with a polygon, a seat point and resident population.",
    columns=(
        Column("code", "code", True, "9-digit NBS statistical code"),
        Column("name", "str", True, "Name, e.g. 佛堂镇"),
        Column("county_code", "code", True, "adcode of the county-level unit it belongs to"),
        Column("kind", "str", False, "街道, 镇, 乡 or 其他 (development zones, farms)", None),
        Column("population", "int", True, "Resident population, persons"),
        Column("seat_lon", "float", False, "Longitude of the township seat (government), degrees", None),
        Column("seat_lat", "float", False, "Latitude of the township seat, degrees", None),
        Column("population_estimated", "bool", False, "True when population was apportioned, not counted", False),
        Column("polygon_estimated", "bool", False, "True when the polygon is approximate (e.g. Voronoi cell)", False),
        Column("seat_source", "str", False, "Where the seat comes from: user, geonames, synthesized", "user"),
    ),
)

VILLAGES = Layer(
    name="villages",
    geometry="Point",
    key="code",
    doc="Village-level units (村委会/居委会) with a point and resident population.",
    columns=(
        Column("code", "code", True, "12-digit NBS statistical code"),
        Column("name", "str", True, "Name, e.g. 前洪村村委会"),
        Column("township_code", "code", True, "9-digit code of the township it belongs to"),
        Column("kind", "str", False, "村委会 (rural) or 居委会 (urban community)", None),
        Column("population", "int", False, "Resident population, persons", None),
        Column("population_estimated", "bool", False, "True when population was apportioned", False),
        Column("point_estimated", "bool", False, "True when the point was placed, not surveyed", False),
    ),
)

FACILITIES = Layer(
    name="facilities",
    geometry="Point",
    key="facility_id",
    doc="Hospitals, township health centers, community health centers and village clinics.",
    columns=(
        Column("facility_id", "code", True, "Unique identifier (text)"),
        Column("name", "str", True, "Name as it appears on signs and in reports"),
        Column("kind", "kind", True, "general_hospital, tcm_hospital, township_health_center, ... (or Chinese)"),
        Column("grade", "grade", False, "Hospital grade: 三甲 ... 一级, 未定级 (三级甲等, 3A also read)", "未定级"),
        Column("ownership", "ownership", False, "public (公立) or private (民营)", "public"),
        Column("nonprofit", "bool", False, "Non-profit (非营利性)", True),
        Column("admin_level", "level", False, "Who runs it: provincial, city, county, township, village", None),
        Column("county_code", "code", True, "adcode of the county-level unit it is in"),
        Column("township_code", "code", False, "9-digit code of the township it is in (derived from location if absent)", None),
        Column("beds", "int", False, "Approved beds (编制床位)", 0),
        Column("daily_outpatient_slots", "int", False, "Outpatient appointment slots per day", 0),
        Column("chief", "int", False, "Chief physicians (主任医师)", 0),
        Column("associate_chief", "int", False, "Associate chief physicians (副主任医师)", 0),
        Column("attending", "int", False, "Attending physicians (主治医师)", 0),
        Column("resident", "int", False, "Resident physicians (住院医师)", 0),
        Column("central_thc", "bool", False, "Central township health center (中心乡镇卫生院)", False),
        Column("secondary_capability", "bool", False, "Primary institution with secondary-level capability", False),
        Column("dialysis", "bool", False, "Offers hemodialysis (血透) now", False),
        Column("release_share", "float", False, "Share of physicians the facility may send out (0-1); blank = rule default", None),
        Column("synthesized", "bool", False, "True when the facility is synthesized, not a real institution", False),
        # The five emergency centers of 000 (五) and 001 (十八) (急诊急救"五大中心").
        Column("chest_pain_center", "bool", False, "Runs a chest-pain center (胸痛中心)", False),
        Column("stroke_center", "bool", False, "Runs a stroke center (卒中中心)", False),
        Column("trauma_center", "bool", False, "Runs a trauma center (创伤中心)", False),
        Column("maternal_critical_center", "bool", False, "Runs a critical maternal care center (危重孕产妇救治中心)", False),
        Column("neonatal_critical_center", "bool", False,
               "Runs a critical newborn and child care center (危重新生儿和儿童救治中心)", False),
        # Departments able to host a community's shared center (000 (六), 002 (七) (九), 003 9., 004 三 3.).
        Column("lab_center", "bool", False, "Can host the shared medical laboratory (医学检验中心)", False),
        Column("imaging_center", "bool", False, "Can host the shared imaging center (医学影像中心)", False),
        Column("ecg_center", "bool", False, "Can host the shared ECG diagnosis center (心电诊断中心)", False),
        Column("pathology_center", "bool", False, "Can host the shared pathology center (病理诊断中心)", False),
        Column("sterile_center", "bool", False, "Can host the shared sterile supply center (消毒供应中心)", False),
        Column("pharmacy_center", "bool", False, "Can host the central pharmacy (中心药房, 药品供应)", False),
    ),
)

EMERGENCY_CENTERS: dict[str, tuple[str, str]] = {
    "chest_pain_center": ("胸痛中心", "chest pain"),
    "stroke_center": ("卒中中心", "stroke"),
    "trauma_center": ("创伤中心", "trauma"),
    "maternal_critical_center": ("危重孕产妇救治中心", "critical maternal care"),
    "neonatal_critical_center": ("危重新生儿和儿童救治中心", "critical newborn and child care"),
}
"""The five emergency centers (facility column -> Chinese and English names), in the documents' order."""

SHARED_CENTERS: dict[str, tuple[str, str]] = {
    "lab_center": ("医学检验中心", "laboratory"),
    "imaging_center": ("医学影像中心", "imaging"),
    "ecg_center": ("心电诊断中心", "ECG diagnosis"),
    "pathology_center": ("病理诊断中心", "pathology"),
    "sterile_center": ("消毒供应中心", "sterile supply"),
    "pharmacy_center": ("中心药房", "central pharmacy"),
}
"""The shared centers of a community (facility column -> Chinese and English names)."""

STAFF = Layer(
    name="staff",
    geometry=None,
    key="facility_id",
    doc="Staff (physicians, village doctors, nurses, pharmacists, managers) by facility, profession, title and specialty (counts, or one row per named person).",
    columns=(
        Column("facility_id", "code", True, "The facility the staff work at"),
        Column("title", "str", True, "Title level: 主任医师, 副主任医师, 主治医师, 住院医师 (or chief ... resident); for "
               "other professions the same four levels (主任药师 ... 药师, 主任护师 ... 护师, 正高级 ... 初级); blank for village doctors"),
        Column("specialty", "str", True, "Specialty, e.g. 内科, 儿科, 中医科, 全科 (药学, 护理, 管理 for other professions)"),
        Column("count", "int", False, "Number of staff in this row (1 for a named person)", 1),
        Column("person", "str", False, "Name of the person, when the roster names people", ""),
        Column("profession", "str", False, "medicine (医疗: physicians), pharmacy (药学), nursing (护理) or "
               "management (管理)", "medicine"),
        Column("synthesized", "bool", False, "True when the row is synthesized, not a real roster", False),
        Column("qualification", "str", False, "licensed: a licensed (assistant) physician, 执业（助理）医师; "
               "village_doctor: a village doctor (乡村医生) with a village-doctor certificate, not a physician's "
               "license", "licensed"),
    ),
)

QUALIFICATIONS = ("licensed", "village_doctor")
"""Values of the staff layer's `qualification` column: 执业（助理）医师 or 乡村医生."""

LAYERS: dict[str, Layer] = {layer.name: layer for layer in (COUNTIES, TOWNSHIPS, VILLAGES, FACILITIES, STAFF)}

SPECIALTIES = ("内科", "外科", "儿科", "妇产科", "中医科", "全科", "急诊科", "其他")
"""Specialties of physicians in the synthesized rosters; user rosters may name any specialty."""

PROFESSIONS: dict[str, str] = {"medicine": "医疗", "pharmacy": "药学", "nursing": "护理", "management": "管理"}
"""Staff professions (000 (四): experts give 医疗、药学、护理、管理 guidance) and their Chinese names; the
synthesized rosters write a non-physician's specialty as the profession's Chinese name."""

SHAPEFILE_NAMES: dict[str, str] = {
    "facility_id": "fac_id", "province_code": "prov_code", "province_name": "prov_name",
    "urban_population": "urban_pop", "rural_population": "rural_pop", "population_source": "pop_source",
    "population_note": "pop_note", "county_code": "cnty_code", "township_code": "town_code",
    "population_estimated": "pop_est", "polygon_estimated": "poly_est", "seat_source": "seat_src",
    "point_estimated": "pt_est", "daily_outpatient_slots": "opd_slots", "associate_chief": "assoc_chf",
    "central_thc": "central", "secondary_capability": "sec_cap", "release_share": "release",
    "synthesized": "synth", "community_id": "comm_id", "township_name": "town_name", "n_townships": "n_towns",
    "mean_travel_min": "mean_min", "max_travel_min": "max_min", "facility_name": "fac_name",
    "admin_level": "adm_level", "chest_pain_center": "ec_chest", "stroke_center": "ec_stroke",
    "trauma_center": "ec_trauma", "maternal_critical_center": "ec_matern", "neonatal_critical_center": "ec_neonat",
    "lab_center": "sc_lab", "imaging_center": "sc_imaging", "ecg_center": "sc_ecg", "pathology_center": "sc_patho",
    "sterile_center": "sc_steril", "pharmacy_center": "sc_pharm",
}
"""Shapefile field names are at most 10 characters: how long column names are written there."""


# --- Chinese headers (roster templates, `planner export`) ---------------------------------------

HEADERS_ZH: dict[str, dict[str, str]] = {
    "counties": {
        "adcode": "区划代码", "name": "名称", "city_code": "地市代码", "city_name": "地市名称",
        "province_code": "省代码", "province_name": "省名称", "population": "常住人口",
        "urban_population": "城镇人口", "rural_population": "乡村人口", "population_source": "人口来源",
        "population_note": "人口说明",
    },
    "townships": {
        "code": "统计用区划代码", "name": "名称", "county_code": "所属区县代码", "kind": "类型", "population": "常住人口",
        "seat_lon": "驻地经度", "seat_lat": "驻地纬度", "population_estimated": "人口为估算",
        "polygon_estimated": "边界为估算", "seat_source": "驻地来源",
    },
    "villages": {
        "code": "统计用区划代码", "name": "名称", "township_code": "所属乡镇代码", "kind": "类型", "population": "常住人口",
        "population_estimated": "人口为估算", "point_estimated": "位置为估算",
    },
    "facilities": {
        "facility_id": "机构编码", "name": "机构名称", "kind": "机构类别", "grade": "医院等级", "ownership": "性质",
        "nonprofit": "非营利性", "admin_level": "级别", "county_code": "所属区县代码", "township_code": "所属乡镇代码",
        "beds": "床位数", "daily_outpatient_slots": "日门诊号源数", "chief": "主任医师", "associate_chief": "副主任医师",
        "attending": "主治医师", "resident": "住院医师", "central_thc": "中心乡镇卫生院",
        "secondary_capability": "具备二级医院服务能力", "dialysis": "开展血透", "release_share": "可外派比例",
        "synthesized": "合成数据",
        **{col: zh for col, (zh, _en) in EMERGENCY_CENTERS.items()},
        **{col: f"可承担{zh}" for col, (zh, _en) in SHARED_CENTERS.items()},
    },
    "staff": {"facility_id": "机构编码", "title": "职称", "specialty": "专业", "count": "人数", "person": "姓名",
              "profession": "专业类别", "synthesized": "合成数据", "qualification": "执业资格"},
}
"""The Chinese name of every column, by layer: the headers of roster templates (`planner export`).

Each Chinese name means one column wherever it appears (名称 is `name` in every layer), so a
spreadsheet typed with these headers alone is read as the template would be."""

GEOMETRY_HEADERS_ZH: dict[str, str] = {"lon": "经度", "lat": "纬度", "geometry": "边界"}
"""Chinese names of the location columns of tables: longitude, latitude, WKT geometry."""

META_LAYERS = ("data_dictionary", "about")
"""Sheets/layers of a roster template that describe it and hold no data (skipped when reading)."""


def header_name(text: str) -> str:
    """The column a header means: "机构编码 (facility_id)" (a template's bilingual header) -> "facility_id".

    Any other header is returned as written (Chinese aliases are resolved by the validator).
    """
    import re

    s = str(text).strip()
    m = re.fullmatch(r"(.+?)\s*[（(]\s*([A-Za-z_]+)\s*[)）]", s)
    if m:
        inner = m.group(2).lower()
        if inner in _KNOWN or inner in GEOMETRY_HEADERS_ZH:
            return inner
    return s


def bilingual_header(layer: str, column: str) -> str:
    """The header a template writes: Chinese name and column, e.g. "机构编码 (facility_id)"."""
    zh = HEADERS_ZH.get(layer, {}).get(column) or GEOMETRY_HEADERS_ZH.get(column)
    return f"{zh} ({column})" if zh else column


_KNOWN = frozenset(c.name for layer in (COUNTIES, TOWNSHIPS, VILLAGES, FACILITIES, STAFF) for c in layer.columns)
