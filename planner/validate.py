"""Check raw tables against the schema and each other, collecting every problem before raising once."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputDataError, Problem, raise_if
from .io import RawTable
from .region import CONTEXT_LEVELS, Region
from .schema import (
    COUNTIES,
    FACILITIES,
    HEADERS_ZH,
    LAYERS,
    META_LAYERS,
    SHAPEFILE_NAMES,
    STAFF,
    TOWNSHIPS,
    VILLAGES,
    Column,
    Layer,
    header_name,
)
from .vocabulary import (
    AdminLevel,
    FacilityKind,
    parse_admin_level,
    parse_grade,
    parse_kind,
    parse_ownership,
    parse_title,
    township_kind_from_name,
)

# Column names planners' spreadsheets use, mapped to the schema's names.
COLUMN_ALIASES: dict[str, str] = {
    "区划代码": "adcode", "行政区划代码": "adcode", "县代码": "county_code", "所属县": "county_code",
    "所属区县代码": "county_code", "统计用区划代码": "code", "代码": "code", "名称": "name", "机构名称": "name",
    "常住人口": "population", "人口": "population", "人口数": "population", "城镇人口": "urban_population",
    "乡村人口": "rural_population", "乡镇代码": "township_code", "所属乡镇代码": "township_code",
    "类型": "kind", "机构类别": "kind", "类别": "kind", "等级": "grade", "医院等级": "grade",
    "所有制": "ownership", "性质": "ownership", "经营性质": "ownership", "级别": "admin_level",
    "床位": "beds", "床位数": "beds", "编制床位": "beds", "机构代码": "facility_id", "机构编码": "facility_id",
    "职称": "title", "专业": "specialty", "科室": "specialty", "人数": "count", "姓名": "person",
    "中心卫生院": "central_thc", "血透": "dialysis", "市代码": "city_code", "市": "city_name",
    "省代码": "province_code", "省": "province_name", "seat_longitude": "seat_lon", "seat_latitude": "seat_lat",
    # Shapefiles cut names to 10 characters; the planner writes these short forms.
    **{short: long for long, short in SHAPEFILE_NAMES.items()},
    # The Chinese headers of roster templates (`planner export`), alone or as "机构编码 (facility_id)".
    **{zh: name for columns in HEADERS_ZH.values() for name, zh in columns.items()},
}

CODE_LENGTHS: dict[tuple[str, str], int] = {
    ("counties", "adcode"): 6, ("counties", "city_code"): 6, ("counties", "province_code"): 6,
    ("townships", "code"): 9, ("townships", "county_code"): 6, ("villages", "code"): 12,
    ("villages", "township_code"): 9, ("facilities", "county_code"): 6, ("facilities", "township_code"): 9,
}

MAX_COUNT = 1_000_000_000
"""Largest count read (residents, beds, staff): China has 1.4 billion people, no county a billion."""
MAX_PROBLEMS = 50
"""Problems listed before the rest are counted (a file with a million bad rows says so in 51 lines)."""
POPULATION_TOLERANCE = 0.10
"""How far a user's townships may sum from their county's 2020 census population before a warning."""

# China's rough extent in degrees (with its islands); points outside are in the wrong CRS or place.
LON_RANGE = (73.0, 135.5)
LAT_RANGE = (3.0, 54.0)
# How far (degrees, about 500 m) a point may sit outside a polygon before it counts as outside:
# embedded polygons are simplified, and a hospital on a county border is still in that county.
EDGE_TOLERANCE_DEG = 0.005

_LAYER_WORDS: dict[str, tuple[str, ...]] = {
    "counties": ("counties", "county", "县", "区县"),
    "townships": ("townships", "township", "乡镇", "街道"),
    "villages": ("villages", "village", "村"),
    "facilities": ("facilities", "facility", "hospitals", "机构", "医院"),
    "staff": ("staff", "physicians", "roster", "医生", "人员", "花名册"),
}


def _name_layer(name: str) -> str | None:
    low = name.lower()
    for layer, words in _LAYER_WORDS.items():
        if any(w in low for w in words):
            return layer
    return None


def classify_tables(tables: Iterable[RawTable]) -> tuple[dict[str, RawTable], list[Problem]]:
    """Say which layer each table is, from its columns first and its layer or file name second.

    Columns decide when they fit exactly one layer (a facility list saved as 乡镇卫生院.csv is
    still facilities); the name breaks ties and names a layer whose columns are incomplete,
    so the missing columns get reported.
    """
    found: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for t in tables:
        if t.layer in META_LAYERS or t.path.stem in META_LAYERS:
            continue  # a template's data dictionary or about sheet
        cols = {COLUMN_ALIASES.get(str(c), header_name(str(c)).lower()) for c in t.frame.columns}
        by_name = _name_layer(t.layer) or _name_layer(t.path.stem)
        by_columns = [name for name in ("facilities", "staff", "villages", "townships", "counties")
                      if set(LAYERS[name].required) <= cols]
        if by_name in by_columns or (by_name is not None and not by_columns):
            layer = by_name
        elif by_columns:
            layer = by_columns[0]
        else:
            layer = None
        if layer is None:
            shown = ", ".join(str(c) for c in t.frame.columns if c != "geometry")
            problems.append(Problem(t.label, "", f"is not a known layer (columns: {shown})",
                                    "name the file or layer counties, townships, villages, facilities or staff"))
            continue
        if layer in found:
            problems.append(Problem(t.label, "", f"is a second {layer} layer (the first is {found[layer].label})",
                                    f"give one {layer} file"))
            continue
        found[layer] = t
    return found, problems


class _Checker:
    """Collects problems and notes for one table while its columns are parsed."""

    def __init__(self, table: RawTable, layer: Layer) -> None:
        self.table, self.layer = table, layer
        self.problems: list[Problem] = []
        self.notes: list[str] = list(f"{table.label}: {n}" for n in table.notes)
        self._rewrites: dict[str, list[int]] = {}
        known = {col.name for col in layer.columns}
        renamed: dict[object, str] = {}
        for c in table.frame.columns:
            name = COLUMN_ALIASES.get(str(c), header_name(str(c)))
            if name not in known and str(c).strip().lower() in known:
                name = str(c).strip().lower()
            renamed[c] = name
        by_target: dict[str, list[str]] = {}
        for c in table.frame.columns:  # the raw columns: a name written twice counts twice
            if c != "geometry":
                by_target.setdefault(renamed[c], []).append(str(c))
        clashes = {n: cs for n, cs in by_target.items() if len(cs) > 1}
        for n, cs in clashes.items():
            self.problems.append(Problem(table.label, "", f"columns {', '.join(repr(c) for c in cs)} all mean {n!r}",
                                         "keep one of them"))
        self.frame = table.frame.rename(columns=renamed)
        if clashes or list(self.frame.columns).count("geometry") > 1:
            self.frame = self.frame.loc[:, ~self.frame.columns.duplicated()]

    def add(self, position: int | None, message: str, fix: str) -> None:
        where = self.table.row(position) if position is not None else ""
        self.problems.append(Problem(self.table.label, where, message, fix))

    def missing_columns(self) -> bool:
        missing = [c for c in self.layer.required if c not in self.frame.columns]
        shown = ", ".join(str(c) for c in self.table.frame.columns if c != "geometry")
        for c in missing:
            col = self.layer.column(c)
            self.add(None, f"has no column {c!r} ({col.doc})", f"add a {c!r} column (columns found: {shown})")
        return bool(missing) or any("all mean" in p.message for p in self.problems)

    def rewrite_notes(self) -> list[str]:
        """One note per respelling (grade '三级甲等' read as 三甲), with the rows it happened on."""
        out = []
        for note, rows in self._rewrites.items():
            shown = ", ".join(str(r + self.table.row_offset) for r in rows[:8]) + (" ..." if len(rows) > 8 else "")
            out.append(f"{self.table.label}: {note} (row{'s' if len(rows) > 1 else ''} {shown})")
        return out

    def values(self, name: str) -> list[object]:
        if name in self.frame.columns:
            return list(self.frame[name])
        return [None] * len(self.frame)

    def parse(self, col: Column) -> list[object]:
        """Parse one column to its type, reporting every bad cell.

        Each distinct text is parsed once (a million-row roster repeats its kinds, grades and
        codes); free text and numbers, mostly distinct, take vectorised paths.
        """
        present = col.name in self.frame.columns
        n = len(self.frame)
        default = col.default
        if isinstance(default, str) and col.dtype in ("grade", "kind", "ownership", "level"):
            default = _PARSERS[col.dtype](default, col, self.layer)[0]
        if not present:
            if col.required:
                for i in range(n):
                    self.add(i, f"{col.name} is missing", f"fill in {col.doc.lower()}")
            return [None] * n if col.default is None else [default] * n
        raw = self.frame[col.name].tolist()
        if col.dtype == "str" and not col.required:
            return [default if v is None else str(v).strip() for v in raw]
        parse = _PARSERS[col.dtype]
        fix = _FIXES.get(col.dtype, f"correct the {col.name}")
        cache: dict[str, tuple[object, str, str]] = {}
        cacheable = col.dtype not in ("str", "float")
        out: list[object] = []
        for i, v in enumerate(raw):
            if v is None:
                if col.required:
                    self.add(i, f"{col.name} is missing", f"fill in {col.doc.lower()}")
                out.append(default)
                continue
            text = str(v)
            hit = cache.get(text) if cacheable else None
            if hit is None:
                try:
                    value, note = parse(text, col, self.layer)
                    hit = (value, note, "")
                except ValueError as exc:
                    hit = (None, "", str(exc))
                if cacheable and len(cache) < 100_000:
                    cache[text] = hit
            value, note, error = hit
            if error:
                self.add(i, f"{col.name} {text!r} {error}", fix)
            elif note:
                self._rewrites.setdefault(note, []).append(i)
            out.append(value)
        return out


_SCIENTIFIC = re.compile(r"\d+(\.\d+)?[eE]\+?\d+")
_DECIMAL = re.compile(r"\d+\.0+")


def _parse_code(text: str, col: Column, layer: Layer) -> tuple[object, str]:
    s = text.strip()
    # Only a text with a dot or an e can be a mangled number: a million ids skip the patterns.
    if ("." in s or "e" in s or "E" in s) and _SCIENTIFIC.fullmatch(s):
        msg = "looks like a code that Excel turned into a number in scientific notation (digits are lost)"
        raise ValueError(msg)
    if "." in s and _DECIMAL.fullmatch(s):
        msg = "looks like a code stored as a decimal number"
        raise ValueError(msg)
    if s and not s.isascii() and all(ch.isdigit() for ch in s):
        import unicodedata

        ascii_digits = "".join(str(unicodedata.digit(ch)) for ch in s)
        msg = f"is written in full-width or other non-ASCII digits (write {ascii_digits})"
        raise ValueError(msg)
    expected = CODE_LENGTHS.get((layer.name, col.name))
    if expected is None:
        if not s:
            msg = "is empty"
            raise ValueError(msg)
        return s, ""
    if not (s.isascii() and s.isdigit()):
        msg = f"is not a {expected}-digit code"
        raise ValueError(msg)
    if len(s) != expected:
        hint = " (leading zeros lost?)" if len(s) < expected else ""
        msg = f"has {len(s)} digits, expected {expected}{hint}"
        raise ValueError(msg)
    return s, ""


def _parse_int(text: str, col: Column, layer: Layer) -> tuple[object, str]:
    s = text.strip().replace(",", "").replace("，", "")
    note = ""
    scale = 1
    if s.endswith("万"):
        s, scale, note = s[:-1], 10_000, f"{col.name} {text!r} read as a count in 万 (x 10,000)"
    try:
        value = float(s) * scale
    except ValueError:
        msg = "is not a number"
        raise ValueError(msg) from None
    if not np.isfinite(value):
        msg = "is not a finite number"
        raise ValueError(msg)
    if value < 0:
        msg = "is negative"
        raise ValueError(msg)
    if value > MAX_COUNT:
        msg = f"is beyond {MAX_COUNT:,}, more than any population or count can be"
        raise ValueError(msg)
    if abs(value - round(value)) > 1e-6:
        if scale == 1:
            msg = "is not a whole number"
            raise ValueError(msg)
    return int(round(value)), note


def _parse_float(text: str, col: Column, layer: Layer) -> tuple[object, str]:
    try:
        value = float(text.strip())
    except ValueError:
        msg = "is not a number"
        raise ValueError(msg) from None
    if not np.isfinite(value):
        msg = "is not a finite number"
        raise ValueError(msg)
    if col.name == "release_share" and not 0 <= value <= 1:
        msg = "must be a share between 0 and 1"
        raise ValueError(msg)
    return value, ""


_TRUE = {"true", "1", "yes", "y", "是", "有", "√", "t"}
_FALSE = {"false", "0", "no", "n", "否", "无", "×", "f"}


def _parse_bool(text: str, col: Column, layer: Layer) -> tuple[object, str]:
    s = text.strip().lower()
    if s in _TRUE:
        return True, ""
    if s in _FALSE:
        return False, ""
    msg = "is not yes/no (write true/false, 1/0 or 是/否)"
    raise ValueError(msg)


def _parse_str(text: str, col: Column, layer: Layer) -> tuple[object, str]:
    return text.strip(), ""


def _via(parser: Callable[[object], object]) -> Callable[[str, Column, Layer], tuple[object, str]]:
    def parse(text: str, col: Column, layer: Layer) -> tuple[object, str]:
        n = parser(text)
        value = n.value
        return (value.value if hasattr(value, "value") else value), n.note

    return parse


_PARSERS: dict[str, Callable[[str, Column, Layer], tuple[object, str]]] = {
    "code": _parse_code, "int": _parse_int, "float": _parse_float, "bool": _parse_bool, "str": _parse_str,
    "kind": _via(parse_kind), "grade": _via(parse_grade), "ownership": _via(parse_ownership),
    "level": _via(parse_admin_level),
}
_FIXES = {
    "code": "write the code as text with all its digits (format the column as Text in Excel)",
    "int": "give a whole number >= 0",
    "float": "give a decimal number",
    "bool": "write true or false",
    "kind": "use a kind from planner.schema (general_hospital, tcm_hospital, township_health_center, ...) or its Chinese name",
    "grade": "write one of 三甲, 三乙, 三丙, 三级, 二甲, 二乙, 二丙, 二级, 一甲, 一乙, 一丙, 一级, 未定级 (三级甲等, 3A and IIIA are read too)",
    "ownership": "write public (公立) or private (民营)",
    "level": "write provincial, city, county, township or village",
}


def _parsed_frame(ck: _Checker) -> pd.DataFrame:
    # Object columns: pandas would otherwise turn None into NaN in inferred string columns.
    data = {col.name: pd.Series(ck.parse(col), dtype=object) for col in ck.layer.columns}
    ck.notes.extend(ck.rewrite_notes())
    return pd.DataFrame(data, index=pd.RangeIndex(len(ck.frame)))


def _typed(frame: pd.DataFrame, layer: Layer) -> pd.DataFrame:
    """Give parsed columns their dtypes once the bad rows are gone."""
    out = frame.copy(deep=False)  # every changed column is assigned whole, never written into
    for col in layer.columns:
        if col.name not in out.columns:
            continue
        values = out[col.name]
        if col.dtype == "int" or col.dtype == "grade":
            if values.isna().any():
                out[col.name] = pd.array([None if pd.isna(v) else int(v) for v in values], dtype="Int64")
            else:
                out[col.name] = values.astype("int64")
        elif col.dtype == "float":
            out[col.name] = pd.to_numeric(values, errors="coerce").astype(float)
        elif col.dtype == "bool":
            out[col.name] = values.fillna(bool(col.default)).astype(bool)
    return out


def _check_duplicates(ck: _Checker, frame: pd.DataFrame, key: str) -> None:
    values = frame[key]
    seen: dict[object, int] = {}
    for i, v in enumerate(values):
        if v is None:
            continue
        if v in seen:
            ck.add(i, f"{key} {v!r} is used twice (first at {ck.table.row(seen[v])})", f"give every row its own {key}")
        else:
            seen[v] = i


def _check_geometry(ck: _Checker, geoms: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """Report missing, empty, invalid, misplaced and wrongly typed geometries; return the usable mask."""
    ok = np.ones(len(geoms), dtype=bool)
    arr = np.asarray(geoms, dtype=object)
    present = np.array([g is not None for g in arr], dtype=bool)
    fine = present.copy()
    if present.any():
        # Vectorised first; only the rows that fail are looked at one by one below.
        shapes = arr[present]
        type_names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                               "MultiPolygon", "GeometryCollection"])
        ids = shapely.get_type_id(shapes)
        kind_ok = np.isin(type_names[np.clip(ids, 0, 7)], kinds) & (ids >= 0)
        b = shapely.bounds(shapes)
        in_china = ((b[:, 0] >= LON_RANGE[0]) & (b[:, 2] <= LON_RANGE[1]) & (b[:, 1] >= LAT_RANGE[0])
                    & (b[:, 3] <= LAT_RANGE[1]))
        good = ~shapely.is_empty(shapes) & kind_ok & in_china
        if good.any():
            good[good] = shapely.is_valid(shapes[good])
        fine[present] = good
    for i in np.flatnonzero(~fine):
        g = arr[i]
        if g is None:
            ck.add(i, "has no geometry (no coordinates)", "give the location (longitude/latitude, or the shape)")
            ok[i] = False
            continue
        if g.is_empty:
            ck.add(i, "has an empty geometry", "draw the shape or give coordinates")
            ok[i] = False
            continue
        if g.geom_type not in kinds:
            ck.add(i, f"has a {g.geom_type} where a {' or '.join(kinds)} is expected",
                   "put points and polygons in separate layers")
            ok[i] = False
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            ck.add(i, f"has an invalid geometry ({reason})",
                   "repair it, e.g. with QGIS 'Fix geometries' or shapely.make_valid / .buffer(0)")
            ok[i] = False
            continue
        minx, miny, maxx, maxy = g.bounds
        if not _in_china(minx, miny, maxx, maxy):
            ck.add(i, _placement_message(minx, miny, maxx, maxy), _placement_fix(minx, miny))
            ok[i] = False
    return ok


def _in_china(minx: float, miny: float, maxx: float, maxy: float) -> bool:
    return LON_RANGE[0] <= minx and maxx <= LON_RANGE[1] and LAT_RANGE[0] <= miny and maxy <= LAT_RANGE[1]


def _placement_message(minx: float, miny: float, maxx: float, maxy: float) -> str:
    where = f"({minx:.4f}, {miny:.4f})"
    if _in_china(miny, minx, maxy, maxx):
        return f"lies at {where}, outside China; longitude and latitude look swapped"
    if abs(minx) > 180 or abs(miny) > 90:
        return f"has coordinates {where} that are not degrees (a projected CRS such as metres?)"
    return f"lies at {where}, outside China"


def _placement_fix(x: float, y: float) -> str:
    if _in_china(y, x, y, x):
        return "swap the longitude and latitude columns"
    if abs(x) > 180 or abs(y) > 90:
        return "give the file's CRS (a .prj, or the GeoPackage's), or convert it to WGS84 / CGCS2000 degrees"
    return "check the coordinates and the declared CRS (--crs gcj02 for Amap/Tencent coordinates)"


def _geometries(ck: _Checker) -> np.ndarray:
    if "geometry" in ck.frame.columns:
        return np.asarray(ck.frame.geometry.values if isinstance(ck.frame, gpd.GeoDataFrame) else ck.frame["geometry"],
                          dtype=object)
    return np.array([None] * len(ck.frame), dtype=object)


# --- per layer ------------------------------------------------------------------------------


def _counties(t: RawTable) -> tuple[gpd.GeoDataFrame | None, list[Problem], list[str]]:
    ck = _Checker(t, COUNTIES)
    if ck.missing_columns():
        return None, ck.problems, ck.notes
    frame = _parsed_frame(ck)
    _check_duplicates(ck, frame, "adcode")
    geoms = _geometries(ck)
    if not any(g is not None for g in geoms):
        ck.add(None, "has no polygons", "give the county boundaries (GeoPackage, GeoJSON or Shapefile)")
        return None, ck.problems, ck.notes
    ok = _check_geometry(ck, geoms, ("Polygon", "MultiPolygon"))
    for i, (u, r, p) in enumerate(zip(frame["urban_population"], frame["rural_population"], frame["population"])):
        if u is not None and r is not None and p is not None and u + r != p:
            ck.notes.append(f"{t.label}: {t.row(i)}: urban + rural population ({u + r:,}) differs from population ({p:,})")
    frame["geometry"] = [shapely.multipolygons([g]) if g is not None and g.geom_type == "Polygon" else g for g in geoms]
    frame = frame[ok & frame["adcode"].notna().to_numpy()]
    out = gpd.GeoDataFrame(_typed(frame, ck.layer), geometry="geometry", crs="EPSG:4326")
    out = out[~out["adcode"].duplicated()].set_index("adcode", drop=False)
    out.index.name = None
    return out, ck.problems, ck.notes


def _townships(t: RawTable) -> tuple[gpd.GeoDataFrame | None, list[Problem], list[str]]:
    ck = _Checker(t, TOWNSHIPS)
    if ck.missing_columns():
        return None, ck.problems, ck.notes
    frame = _parsed_frame(ck)
    _check_duplicates(ck, frame, "code")
    geoms = _geometries(ck)
    if not any(g is not None for g in geoms):
        ck.add(None, "has no polygons", "give the township boundaries (GeoPackage, GeoJSON or Shapefile)")
        return None, ck.problems, ck.notes
    ok = _check_geometry(ck, geoms, ("Polygon", "MultiPolygon"))
    kinds = []
    for i, (k, name) in enumerate(zip(frame["kind"], frame["name"])):
        if k is None:
            kinds.append(township_kind_from_name(name or ""))
        elif k not in ("街道", "镇", "乡", "其他"):
            ck.add(i, f"kind {k!r} is not 街道, 镇, 乡 or 其他", "write 街道, 镇, 乡 or 其他, or leave it blank to read it from the name")
            kinds.append(None)
        else:
            kinds.append(k)
    frame["kind"] = kinds
    seat_lon, seat_lat, sources = [], [], []
    for i, g in enumerate(geoms):
        lon, lat = frame.at[i, "seat_lon"], frame.at[i, "seat_lat"]
        if lon is None or lat is None or not np.isfinite(lon) or not np.isfinite(lat):
            if ok[i]:
                p = g.representative_point()
                lon, lat = p.x, p.y
                sources.append("polygon")
            else:
                sources.append(None)
        else:
            if ok[i] and not g.buffer(EDGE_TOLERANCE_DEG).contains(shapely.Point(lon, lat)):
                ck.add(i, f"seat ({lon:.5f}, {lat:.5f}) lies outside the township's polygon",
                       "check the seat coordinates or leave them blank to use a point inside the polygon")
                ok[i] = False
            sources.append(frame.at[i, "seat_source"] if "seat_source" in t.frame.columns or "seat_source" in ck.frame.columns else "user")
        seat_lon.append(lon)
        seat_lat.append(lat)
    frame["seat_lon"], frame["seat_lat"], frame["seat_source"] = seat_lon, seat_lat, sources
    frame["geometry"] = list(geoms)
    frame = frame[ok & frame["code"].notna().to_numpy()]
    out = gpd.GeoDataFrame(_typed(frame, ck.layer), geometry="geometry", crs="EPSG:4326")
    out = out[~out["code"].duplicated()].set_index("code", drop=False)
    out.index.name = None
    return out, ck.problems, ck.notes


def _villages(t: RawTable) -> tuple[gpd.GeoDataFrame | None, list[Problem], list[str]]:
    ck = _Checker(t, VILLAGES)
    if ck.missing_columns():
        return None, ck.problems, ck.notes
    frame = _parsed_frame(ck)
    _check_duplicates(ck, frame, "code")
    geoms = _geometries(ck)
    has_any = any(g is not None for g in geoms)
    ok = _check_geometry(ck, geoms, ("Point",)) if has_any else np.ones(len(frame), dtype=bool)
    frame["kind"] = [k if k is not None else ("居委会" if n and ("居委会" in n or "居民委员会" in n or n.endswith("社区")) else "村委会")
                     for k, n in zip(frame["kind"], frame["name"])]
    frame["geometry"] = list(geoms)
    frame = frame[ok & frame["code"].notna().to_numpy()]
    out = gpd.GeoDataFrame(_typed(frame, ck.layer), geometry="geometry", crs="EPSG:4326")
    out = out[~out["code"].duplicated()].set_index("code", drop=False)
    out.index.name = None
    return out, ck.problems, ck.notes


def _facilities(t: RawTable) -> tuple[gpd.GeoDataFrame | None, list[Problem], list[str]]:
    ck = _Checker(t, FACILITIES)
    if ck.missing_columns():
        return None, ck.problems, ck.notes
    frame = _parsed_frame(ck)
    _check_duplicates(ck, frame, "facility_id")
    geoms = _geometries(ck)
    if not any(g is not None for g in geoms):
        ck.add(None, "has no locations", "add longitude and latitude columns (lon, lat or 经度, 纬度), or use a spatial file")
        return None, ck.problems, ck.notes
    ok = _check_geometry(ck, geoms, ("Point",))
    levels = []
    for k, lv in zip(frame["kind"], frame["admin_level"]):
        if lv is None and isinstance(k, str):
            kind = FacilityKind(k)
            lv = (AdminLevel.VILLAGE if kind is FacilityKind.VILLAGE_CLINIC else
                  AdminLevel.TOWNSHIP if kind.is_primary else AdminLevel.COUNTY).value
        levels.append(lv)
    frame["admin_level"] = levels
    raw_central = ck.values("central_thc")
    for i, (name, raw) in enumerate(zip(frame["name"], raw_central)):
        if raw is None and isinstance(name, str) and "中心卫生院" in name:
            frame.at[i, "central_thc"] = True
            ck.notes.append(f"{t.label}: {t.row(i)}: {name} marked a central township health center (中心卫生院 in its name)")
    frame["geometry"] = list(geoms)
    keep = ok & frame["facility_id"].notna().to_numpy() & frame["kind"].notna().to_numpy()
    if not keep.all():  # copies of a million-row table only when rows are dropped
        frame = frame[keep]
    out = gpd.GeoDataFrame(_typed(frame, ck.layer), geometry="geometry", crs="EPSG:4326")
    dup = out["facility_id"].duplicated().to_numpy()
    if dup.any():
        out = out[~dup]
    out.index = pd.Index(out["facility_id"].to_numpy(), dtype=object)
    return out, ck.problems, ck.notes


def _staff(t: RawTable) -> tuple[pd.DataFrame | None, list[Problem], list[str]]:
    ck = _Checker(t, STAFF)
    if ck.missing_columns():
        return None, ck.problems, ck.notes
    village = [str(q).strip().lower() == "village_doctor" for q in ck.values("qualification")]
    if any(village):  # village doctors (乡村医生) hold no physician's title: their title is blank
        ck.frame = ck.frame.assign(title=pd.Series(["" if (v is None and vd) else v for v, vd in zip(ck.values("title"), village)],
                                                   index=ck.frame.index, dtype=object))
    frame = _parsed_frame(ck)
    titles = []
    for i, v in enumerate(frame["title"]):
        if v is None or (v == "" and village[i]):
            titles.append(v)
            continue
        try:
            n = parse_title(v)
            titles.append(n.value.value)
            if n.note:
                ck.notes.append(f"{t.label}: {t.row(i)}: {n.note}")
        except ValueError as exc:
            ck.add(i, f"title {v!r} {exc}", "write 主任医师, 副主任医师, 主治医师 or 住院医师")
            titles.append(None)
    frame["title"] = titles
    frame["row"] = [t.row(i) for i in range(len(frame))]
    frame = frame[frame["title"].notna() & frame["facility_id"].notna() & frame["count"].notna()]
    return _typed(frame, ck.layer).reset_index(drop=True), ck.problems, ck.notes


_LAYER_READERS = {"counties": _counties, "townships": _townships, "villages": _villages,
                  "facilities": _facilities, "staff": _staff}


# --- across layers --------------------------------------------------------------------------


def _cross_problems(layers: dict[str, pd.DataFrame], labels: dict[str, RawTable], base: Region | None) -> list[Problem]:
    problems: list[Problem] = []
    counties = layers.get("counties", base.counties if base is not None else None)
    townships = layers.get("townships", base.townships if base is not None else None)

    if "townships" in layers and counties is not None:
        t = layers["townships"]
        orphans = t[t["county_code"].notna() & ~t["county_code"].isin(counties.index)]
        for code, row in orphans.iterrows():
            problems.append(Problem(labels["townships"].label, f"code {code}",
                                    f"county_code {row['county_code']!r} is not a county in the counties layer",
                                    "correct the county code, or add the county"))
        inside = t[t["county_code"].isin(counties.index)]
        if len(inside):
            reps = inside.geometry.representative_point()
            polys = shapely.buffer(np.asarray(counties.geometry.loc[inside["county_code"]].values), EDGE_TOLERANCE_DEG)
            outside = ~shapely.contains(polys, np.asarray(reps.values))
            for code in inside.index[outside]:
                problems.append(Problem(labels["townships"].label, f"code {code}",
                                        f"polygon lies outside its county {inside.at[code, 'county_code']}",
                                        "check the county code or the polygon (and the file's CRS)"))
        if base is not None and "counties" not in layers:
            problems.extend(_incomplete_counties(t, base.townships, labels["townships"].label))
        empty = [c for c in (counties.index if "counties" in layers else []) if c not in set(t["county_code"])]
        for c in empty:
            problems.append(Problem(labels["counties"].label, f"adcode {c}", "has no townships in the townships layer",
                                    "add its townships or remove the county"))
    if "villages" in layers and townships is not None:
        v = layers["villages"]
        for code, row in v[v["township_code"].notna() & ~v["township_code"].isin(townships.index)].iterrows():
            problems.append(Problem(labels["villages"].label, f"code {code}",
                                    f"township_code {row['township_code']!r} is not a township in the townships layer",
                                    "correct the township code, or add the township"))
    if "facilities" in layers:
        f = layers["facilities"]
        # Hospitals in the other counties of the region's cities are accepted (see _context_counties).
        ctx = _context_counties(base, counties)
        elsewhere = f["county_code"].isin(ctx.index)
        if counties is not None:
            # Blank or malformed codes were reported with their cell already.
            for fid, row in f[f["county_code"].notna() & ~f["county_code"].isin(counties.index) & ~elsewhere].iterrows():
                problems.append(Problem(labels["facilities"].label, f"facility {fid}",
                                        f"county_code {row['county_code']!r} is not a county of the region",
                                        "correct the county code"))
            known = f[f["county_code"].isin(counties.index)]
            if len(known):
                # Each county's polygon buffered and prepared once, not once per facility.
                uniq, inverse = np.unique(known["county_code"].to_numpy(dtype=str), return_inverse=True)
                shapes = shapely.buffer(np.asarray(counties.geometry.loc[uniq].values), EDGE_TOLERANCE_DEG)
                shapely.prepare(shapes)
                outside = ~shapely.contains(shapes[inverse], np.asarray(known.geometry.values))
                for fid in known.index[outside]:
                    p = known.at[fid, "geometry"]
                    problems.append(Problem(labels["facilities"].label, f"facility {fid}",
                                            f"location ({p.x:.5f}, {p.y:.5f}) lies outside its county {known.at[fid, 'county_code']}"
                                            " (in another county, or in the sea)",
                                            "check the coordinates (swapped? GCJ-02 declared?) and the county code"))
        if townships is not None:
            named = f[f["township_code"].notna() & ~elsewhere]
            for fid, row in named[~named["township_code"].isin(townships.index)].iterrows():
                problems.append(Problem(labels["facilities"].label, f"facility {fid}",
                                        f"township_code {row['township_code']!r} is not a township of the region",
                                        "correct the township code, or leave it blank to take it from the location"))
            named = named[named["township_code"].isin(townships.index)]
            named = named[named["county_code"].notna()]
            wrong_county = named[named["county_code"] != townships.loc[named["township_code"], "county_code"].to_numpy()]
            for fid, row in wrong_county.iterrows():
                problems.append(Problem(labels["facilities"].label, f"facility {fid}",
                                        f"township {row['township_code']} is not in county {row['county_code']}",
                                        "make the county and township codes agree"))
    if "staff" in layers:
        s = layers["staff"]
        facilities = layers.get("facilities", base.facilities if base is not None else None)
        if facilities is not None:
            for _, row in s[s["facility_id"].notna() & ~s["facility_id"].isin(facilities.index)].iterrows():
                problems.append(Problem(labels["staff"].label, row["row"],
                                        f"facility_id {row['facility_id']!r} is not a facility of the region",
                                        "correct the id, or add the facility to the facilities layer"))
    return problems


def _incomplete_counties(towns: pd.DataFrame, base_towns: pd.DataFrame, label: str) -> list[Problem]:
    """A townships layer that gives some of a county's townships and not the others: the missing ones, named.

    The user's layer replaces the region's townships; planning half a county as if it were the
    whole would give a plan that "holds every rule" for half the residents.
    """
    out = []
    given = set(towns.index)
    touched = set(towns["county_code"].dropna())
    for county, group in base_towns[base_towns["county_code"].isin(touched)].groupby("county_code"):
        missing = [c for c in group.index if c not in given]
        if missing:
            names = ", ".join(f"{group.at[c, 'name']} ({c})" for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            out.append(Problem(label, f"county {county}",
                               f"gives {len(group) - len(missing)} of the county's {len(group)} townships; missing: {names}{more}",
                               "give every township of each county the file touches (a partial county would be planned "
                               "as if it were the whole)"))
    return out


def _census_notes(towns: pd.DataFrame, counties: pd.DataFrame, label: str) -> list[str]:
    """Warnings where a user's townships sum far from the county's 2020 census population (beyond the tolerance)."""
    out = []
    sums = towns.groupby("county_code")["population"].sum()
    for county, total in sums.items():
        if county not in counties.index:
            continue
        census = counties.at[county, "population"]
        if census is None or pd.isna(census) or int(census) <= 0:
            continue
        gap = (int(total) - int(census)) / int(census)
        if abs(gap) > POPULATION_TOLERANCE:
            out.append(f"{label}: county {county}: warning: its townships sum to {int(total):,} residents, the 2020 census "
                       f"gives {int(census):,} ({gap:+.0%}, beyond the {POPULATION_TOLERANCE:.0%} tolerance); check the "
                       "population column (units, typing errors)")
    return out


def _context_counties(base: Region | None, counties: pd.DataFrame | None) -> pd.DataFrame:
    """The base region's context counties (other counties of its cities) that are not counties of the region."""
    if base is None or not len(base.context_counties):
        return pd.DataFrame(columns=["adcode", "name", "city_code"])
    ctx = base.context_counties
    return ctx[~ctx.index.isin(counties.index)] if counties is not None else ctx


def _with_context(facilities: gpd.GeoDataFrame, ctx: pd.DataFrame, label: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Mark a user's facilities in the context counties as context; keep only their city and provincial hospitals.

    As in the embedded regions: those hospitals send city experts to the region (and may lead
    where its own are too weak); other facilities of those counties play no part in the plan.
    """
    outside = facilities["county_code"].isin(ctx.index)
    high = facilities["admin_level"].isin(CONTEXT_LEVELS)
    dropped = facilities.index[outside & ~high]
    notes = []
    if outside.any():
        notes.append(f"{label}: {int((outside & high).sum())} city or provincial hospitals in other counties of the "
                     f"region's cities kept as sources of city experts"
                     + (f"; {len(dropped)} other facilities there left out (first {dropped[0]})" if len(dropped) else ""))
    keep = ~(outside & ~high)
    return facilities[keep].assign(context=outside[keep]), notes


def _assign_townships(facilities: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill a facility's missing township_code: the township of its county that contains it, else the nearest."""
    missing = facilities["township_code"].isna()
    if not missing.any():
        return facilities
    out = facilities.copy()
    for county, fids in out.index[missing].groupby(out.loc[missing, "county_code"]).items():
        same = townships[townships["county_code"] == county]
        if not len(same):
            continue
        tree = shapely.STRtree(np.asarray(same.geometry.values))
        points = np.asarray(out.loc[list(fids), "geometry"].values)
        # Nearest polygon in degrees: a point inside one has distance 0, so this is "contains" first.
        _, hit = tree.query_nearest(points, return_distance=False, all_matches=False)
        out.loc[list(fids), "township_code"] = same.index[hit].to_numpy()
    return out


def region_from_tables(tables: Iterable[RawTable], *, name: str, base: Region | None = None,
                       partial: bool = False) -> Region:
    """Validate raw tables and build a Region, or raise InputDataError listing every problem.

    Parameters
    ----------
    tables
        Tables read by `planner.io.read_tables`, one per layer.
    name
        What the region is called in reports.
    base
        A region to complete: layers not given come from it (e.g. user facilities over an
        embedded region), and references are checked against it.
    partial
        Accept a region without counties or townships (to validate a single file); references
        to layers that are absent are not checked, and a note says so.
    """
    found, problems = classify_tables(tables)
    layers: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for layer, table in found.items():
        frame, layer_problems, layer_notes = _LAYER_READERS[layer](table)
        problems.extend(layer_problems)
        notes.extend(layer_notes)
        if frame is not None:
            layers[layer] = frame
    problems.extend(_cross_problems(layers, found, base))
    _raise_bounded(problems)
    lacking = sorted({"counties", "townships"} - set(layers)) if base is None else []
    if lacking and not partial:
        raise InputDataError([Problem(name, "", f"has no {layer} layer", f"give a {layer} file, or use an embedded region with --region")
                              for layer in lacking])
    for layer in lacking:
        notes.append(f"no {layer} layer given: references to {layer} were not checked (add the file, or use --region)")
    pick = (lambda key, empty: layers[key] if key in layers else (getattr(base, key) if base is not None else empty))
    counties = pick("counties", _empty(COUNTIES))
    townships = pick("townships", _empty(TOWNSHIPS))
    villages = pick("villages", _empty(VILLAGES))
    facilities = pick("facilities", _empty(FACILITIES))
    staff = pick("staff", pd.DataFrame(columns=[c.name for c in STAFF.columns]))
    if "townships" in layers and len(counties) and "population" in counties.columns:
        notes.extend(_census_notes(layers["townships"], counties if "counties" not in layers or base is None
                                   else base.counties, found["townships"].label))
    ctx = _context_counties(base, counties)
    if "facilities" in layers and len(ctx):
        facilities, ctx_notes = _with_context(facilities, ctx, found["facilities"].label)
        notes.extend(ctx_notes)
    if len(facilities):
        facilities = _assign_townships(facilities, townships)
        notes.extend(_staff_notes(facilities, staff))
    about = dict(base.about) if base is not None else {}
    return Region(name, counties, townships, villages, facilities, staff, notes, about, context_counties=ctx)


def _raise_bounded(problems: list[Problem]) -> None:
    """Raise every problem, or the first MAX_PROBLEMS (in file and row order) and a line counting the rest."""
    from ._errors import _order

    unique = sorted(dict.fromkeys(problems), key=_order)
    if len(unique) <= MAX_PROBLEMS:
        raise_if(unique, InputDataError)
        return
    rest = len(unique) - MAX_PROBLEMS
    sources = sorted({p.source for p in unique[MAX_PROBLEMS:]})
    raise InputDataError([*unique[:MAX_PROBLEMS],
                          Problem(", ".join(sources[:3]) + (" ..." if len(sources) > 3 else ""), "",
                                  f"{rest:,} more problems not listed ({len(unique):,} in all)",
                                  "fix the problems above (they are often of one kind) and validate again")])


def _staff_notes(facilities: pd.DataFrame, staff: pd.DataFrame) -> list[str]:
    if staff.empty:
        return []
    sums = staff.groupby(["facility_id", "title"])["count"].sum().unstack(fill_value=0)
    notes = []
    for fid in sums.index.intersection(facilities.index):
        for title in ("chief", "associate_chief", "attending", "resident"):
            have = int(sums.at[fid, title]) if title in sums.columns else 0
            declared = facilities.at[fid, title]
            if declared not in (None, 0) and int(declared) != have:
                notes.append(f"facility {fid}: {title} count {declared} differs from the staff roster ({have}); the roster is used")
    return notes


def _empty(layer: Layer) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c.name: pd.Series(dtype=object) for c in layer.columns},
                            geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
