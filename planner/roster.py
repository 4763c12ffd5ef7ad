"""Roster templates: a region's layers with Chinese and English headers, and warnings about what a user's roster lacks."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from ._errors import InputDataError, Problem
from .i18n import Text
from .schema import GEOMETRY_HEADERS_ZH, HEADERS_ZH, LAYERS, META_LAYERS, bilingual_header, header_name

if TYPE_CHECKING:
    import pandas as pd

    from .io import RawTable
    from .region import Region
    from .rulefile import RuleSet

FORMATS = ("xlsx", "csv", "gpkg")
"""Template formats: one workbook, a folder of CSV files (UTF-8 with BOM), or one GeoPackage."""

TEMPLATE_LAYERS = ("facilities", "staff", "townships", "villages")
"""The layers a template holds, in sheet order."""

MARKER = "medcommunity-planner roster template"
"""The `template` value of the about sheet: how the planner knows it wrote a file (and may replace it)."""

XLSX_CELL_LIMIT = 32_767
"""Characters an Excel cell holds; longer WKT polygons are simplified to fit (and the about sheet says so)."""

_WKT_DIGITS = 6  # about 0.1 m, finer than the embedded data


# --- the template's tables ---------------------------------------------------------------------------


def _zh_value(dtype: str, value: object) -> object:
    """A cell as the template writes it: Chinese terms for kinds, grades, ownership, levels; 是/否 for flags."""
    from .vocabulary import AdminLevel, FacilityKind, Grade, Ownership

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        if dtype == "kind":
            return FacilityKind(value).zh
        if dtype == "grade":
            return Grade(int(value)).zh
        if dtype == "ownership":
            return Ownership(value).zh
        if dtype == "level":
            return AdminLevel(value).zh
    except (ValueError, KeyError):
        return str(value)
    if dtype == "bool":
        return "是" if bool(value) else "否"
    if dtype in ("int",):
        return int(value)
    if dtype == "float":
        return float(value)
    return str(value)


def _title_zh(value: object) -> str:
    from .vocabulary import Title

    try:
        return Title(str(value)).zh
    except ValueError:
        return str(value)


def layer_frames(region: Region, layers: Sequence[str] = TEMPLATE_LAYERS) -> dict[str, pd.DataFrame]:
    """The region's layers as template tables: schema columns in order, values as the template writes them.

    Facilities include the city's own hospitals in its other counties (the context hospitals
    that send city experts), so a county's roster is complete for dispatch. Points get
    `lon`/`lat` columns, townships a WKT `geometry` column (and their seats), all in WGS84.
    Column names are the schema's; `bilingual` headers are applied when writing.
    """
    import pandas as pd

    out: dict[str, pd.DataFrame] = {}
    for name in layers:
        layer = LAYERS[name]
        frame = region.staff if name == "staff" else getattr(region, name)
        cols = {}
        for col in layer.columns:
            values = list(frame[col.name]) if col.name in frame.columns else [col.default] * len(frame)
            if name == "staff" and col.name == "title":
                # Physicians' titles in Chinese; other professions keep the level's key (chief ... resident:
                # 主任药师/主任护师 are not physicians' titles), village doctors a blank title.
                profession = list(frame["profession"]) if "profession" in frame.columns else ["medicine"] * len(frame)
                cols[col.name] = [_title_zh(v) if (p or "medicine") == "medicine" else (v or "")
                                  for v, p in zip(values, profession)]
            else:
                cols[col.name] = [_zh_value(col.dtype, v) for v in values]
        table = pd.DataFrame(cols, columns=[c.name for c in layer.columns])
        if layer.geometry == "Point":
            geoms = frame.geometry.values
            table["lon"] = [round(float(g.x), _WKT_DIGITS) if g is not None else None for g in geoms]
            table["lat"] = [round(float(g.y), _WKT_DIGITS) if g is not None else None for g in geoms]
        elif layer.geometry is not None:
            table["geometry"] = [_wkt(g) for g in frame.geometry.values]
        out[name] = table.reset_index(drop=True)
    return out


def _wkt(geom: object) -> str | None:
    import shapely

    if geom is None:
        return None
    text = shapely.to_wkt(geom, rounding_precision=_WKT_DIGITS)
    tolerance = 1e-5
    while len(text) > XLSX_CELL_LIMIT:  # simplify until it fits a cell; the GeoPackage keeps the full shape
        text = shapely.to_wkt(shapely.simplify(geom, tolerance, preserve_topology=True), rounding_precision=_WKT_DIGITS)
        tolerance *= 2
    return text


def dictionary_frame(layers: Sequence[str] = TEMPLATE_LAYERS) -> pd.DataFrame:
    """The data dictionary: one row per column of each layer, with its Chinese name, type and meaning."""
    import pandas as pd

    from .vocabulary import AdminLevel, FacilityKind, Grade, Title

    allowed = {
        "kind": "、".join(k.zh for k in FacilityKind) + " (or " + ", ".join(k.value for k in FacilityKind) + ")",
        "grade": "、".join(g.zh for g in sorted(Grade, reverse=True)) + " (三级甲等, 3A are read too)",
        "ownership": "公立 (public)、民营 (private)",
        "level": "、".join(lv.zh for lv in AdminLevel) + " (" + ", ".join(lv.value for lv in AdminLevel) + ")",
        "bool": "是 / 否 (true / false, 1 / 0)",
        "code": "text of digits (keep leading zeros: format the column as Text)",
    }
    rows = []
    for name in layers:
        layer = LAYERS[name]
        for col in layer.columns:
            values = allowed.get(col.dtype, "")
            if name == "staff" and col.name == "title":
                values = "、".join(t.zh for t in Title) + " (" + ", ".join(t.value for t in Title) + ")"
            if name == "townships" and col.name == "kind":
                values = "街道、镇、乡、其他 (blank: read from the name)"
            if name == "villages" and col.name == "kind":
                values = "村委会、居委会 (blank: read from the name)"
            rows.append({"layer": name, "header": bilingual_header(name, col.name), "中文": HEADERS_ZH[name][col.name],
                         "column": col.name, "type": col.dtype, "required": "是 yes" if col.required else "否 no",
                         "default": "" if col.default is None else str(_zh_value(col.dtype, col.default)),
                         "meaning": col.doc, "values": values})
        geo = (("lon", "float", "Longitude, WGS84 degrees (CGCS2000 is within a metre)"),
               ("lat", "float", "Latitude, WGS84 degrees")) if layer.geometry == "Point" else (
              (("geometry", "wkt", "Boundary as WKT in WGS84 degrees (GeoPackage/GeoJSON/Shapefile hold it as a shape)"),)
              if layer.geometry else ())
        for col, dtype, doc in geo:
            rows.append({"layer": name, "header": bilingual_header(name, col), "中文": GEOMETRY_HEADERS_ZH[col],
                         "column": col, "type": dtype, "required": "是 yes", "default": "", "meaning": doc, "values": ""})
    return pd.DataFrame(rows, columns=["layer", "header", "中文", "column", "type", "required", "default", "meaning",
                                       "values"])


def about_rows(region: Region, code: str, layers: dict[str, pd.DataFrame], simplified: int = 0) -> list[tuple[str, str]]:
    """The about sheet: what the template is, which region, how to use it, and what is synthesized."""
    ctx = region.facilities[region.facilities["context"].astype(bool)] if "context" in region.facilities.columns else \
        region.facilities.iloc[0:0]
    rows = [("template", MARKER), ("planner_version", __version__), ("region", region.name), ("region_code", code),
            ("layers", ", ".join(f"{k} {len(v):,} rows" for k, v in layers.items()))]
    if len(ctx):
        listed = "; ".join(f"{fid} {row['name']} ({region.county_name(str(row['county_code']))})"
                           for fid, row in ctx.sort_index().iterrows())
        rows.append(("city_hospitals", f"{len(ctx)} hospitals of the region's cities in their other counties, listed "
                                       f"among the facilities because they send the city experts: {listed}"))
    rows += [
        ("how_to_use", f"Edit the rows (keep the headers; Chinese alone, e.g. 主治医师, is read too), then: "
                       f"planner validate THIS_FILE, and planner plan --region {code} --facilities THIS_FILE"),
        ("headers", "Each header is 中文 (column); the data_dictionary sheet gives every column's meaning and values"),
    ]
    if simplified:
        rows.append(("simplified", f"{simplified} township boundaries were simplified to fit an Excel cell "
                                   f"({XLSX_CELL_LIMIT:,} characters); the GeoPackage export keeps them whole"))
    for key in ("WARNING", "synthesized", "estimated", "real", "attribution"):
        if region.about.get(key):
            rows.append((key, str(region.about[key])))
    return rows


# --- writing ---------------------------------------------------------------------------------------------


def default_path(region_name: str, fmt: str) -> Path:
    """Where `planner export` writes by default: <region>_roster.xlsx, <region>_roster/ or <region>_roster.gpkg."""
    slug = "".join(ch if (ch.isalnum() or ch in "-_") else "_" for ch in region_name).strip("_") or "region"
    return Path(f"{slug}_roster") if fmt == "csv" else Path(f"{slug}_roster.{fmt}")


def written_by_planner(path: Path) -> bool:
    """True when `path` is a roster template the planner wrote (its about table carries the marker)."""
    try:
        if path.is_dir():
            about = path / "about.csv"
            return about.exists() and MARKER in about.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".xlsx":
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            try:
                if "about" not in wb.sheetnames:
                    return False
                return any(MARKER in str(v) for row in wb["about"].iter_rows(values_only=True) for v in row if v)
            finally:
                wb.close()
        if path.suffix.lower() == ".gpkg":
            import pyogrio

            if "about" not in {str(n) for n, _ in pyogrio.list_layers(path)}:
                return False
            frame = pyogrio.read_dataframe(path, layer="about", read_geometry=False)
            return bool((frame.astype(str) == MARKER).any().any())
    except Exception:  # unreadable: not ours
        return False
    return False


def export_region(region: Region, path: str | Path, fmt: str = "xlsx", *, code: str = "",
                  layers: Sequence[str] = TEMPLATE_LAYERS) -> list[Path]:
    """Write a region's layers as a roster template (XLSX workbook, CSV folder or GeoPackage).

    Parameters
    ----------
    region
        The region to export (its facilities include the city's hospitals in other counties).
    path
        The workbook, folder (csv) or GeoPackage to write. An existing one is replaced only
        when the planner wrote it (a template); anything else is refused.
    fmt
        "xlsx", "csv" or "gpkg".
    code
        The region's code for the about sheet (how `planner validate` finds the region again).
    layers
        Which layers to write.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InputDataError
        For an unknown format or layer, or a target that is not the planner's to replace.
    """
    target = Path(path)
    problems = []
    if fmt not in FORMATS:
        problems.append(Problem(str(target), "", f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}"))
    bad = [x for x in layers if x not in TEMPLATE_LAYERS]
    if bad:
        problems.append(Problem(str(target), "", f"unknown layer(s) {', '.join(bad)}",
                                f"use some of {', '.join(TEMPLATE_LAYERS)}"))
    if target.exists() and not written_by_planner(target):
        problems.append(Problem(str(target), "", "exists and is not a roster template the planner wrote",
                                "choose another --out, or move the file away (the planner never replaces your data)"))
    if problems:
        raise InputDataError(problems)
    frames = layer_frames(region, layers)
    simplified = 0
    if fmt != "gpkg" and "townships" in frames:
        import shapely

        simplified = sum(1 for g in region.townships.geometry.values
                         if g is not None and len(shapely.to_wkt(g, rounding_precision=_WKT_DIGITS)) > XLSX_CELL_LIMIT)
    about = about_rows(region, code or region.name, frames, simplified)
    if fmt == "xlsx":
        return [_write_xlsx(frames, about, list(layers), target)]
    if fmt == "csv":
        return _write_csv(frames, about, list(layers), target)
    return [_write_gpkg(region, frames, about, list(layers), target)]


def _bilingual(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: bilingual_header(name, c) for c in frame.columns})


def _about_frame(about: list[tuple[str, str]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(about, columns=["key", "value"])


def _write_csv(frames: dict[str, pd.DataFrame], about: list[tuple[str, str]], layers: list[str], target: Path) -> list[Path]:
    from . import io
    from .planfile import publish_dir

    from .publish import run_id

    with publish_dir(target, "roster", run_id("roster", *layers, *(f"{k}={v}" for k, v in about))) as work:
        for name in layers:
            io.write_csv(_bilingual(name, frames[name]), work / f"{name}.csv")
        io.write_csv(dictionary_frame(layers), work / "data_dictionary.csv")
        io.write_csv(_about_frame(about), work / "about.csv")
    return [target / f"{n}.csv" for n in [*layers, *META_LAYERS]]


def _write_xlsx(frames: dict[str, pd.DataFrame], about: list[tuple[str, str]], layers: list[str], target: Path) -> Path:
    import io as _io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from . import io
    from .vocabulary import AdminLevel, FacilityKind, Grade, Ownership

    lists = {
        "kind": [k.zh for k in FacilityKind], "grade": [g.zh for g in sorted(Grade, reverse=True)],
        "ownership": [o.zh for o in Ownership], "level": [lv.zh for lv in AdminLevel], "bool": ["是", "否"],
    }
    wb = Workbook()
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F0")
    first = True
    for name in layers:
        frame = frames[name]
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = name
        layer = LAYERS[name]
        ws.append([bilingual_header(name, c) for c in frame.columns])
        for c in ws[1]:
            c.font, c.fill = bold, fill
        for row in frame.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        n = len(frame) + 1
        for i, col in enumerate(frame.columns, start=1):
            letter = get_column_letter(i)
            spec = next((c for c in layer.columns if c.name == col), None)
            width = 14 if col != "geometry" else 40
            if spec is not None and spec.dtype in ("code", "str"):
                width = max(12, min(40, max((len(str(v)) for v in frame[col].head(200) if v is not None), default=8) + 4))
            ws.column_dimensions[letter].width = max(width, min(30, len(bilingual_header(name, col)) + 2))
            if spec is not None and spec.dtype == "code":
                for cell in ws[letter][1:]:
                    cell.number_format = "@"  # codes stay text (leading zeros, no scientific notation)
            choices = (["主任医师", "副主任医师", "主治医师", "住院医师"] if (name, col) == ("staff", "title") else
                       lists.get(spec.dtype) if spec is not None else None)
            if choices:
                dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                                    showErrorMessage=False)  # a hint: other spellings (三级甲等) are read too
                dv.add(f"{letter}2:{letter}{max(n, 2) + 1000}")
                ws.add_data_validation(dv)
        ws.freeze_panes = "B2" if name != "staff" else "A2"
    dictionary = dictionary_frame(layers)
    ws = wb.create_sheet("data_dictionary")
    ws.append(list(dictionary.columns))
    for c in ws[1]:
        c.font, c.fill = bold, fill
    for row in dictionary.itertuples(index=False):
        ws.append(list(row))
    for letter, width in zip("ABCDEFGHI", (12, 30, 18, 22, 10, 10, 10, 70, 60)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws = wb.create_sheet("about")
    ws.append(["key", "value"])
    for c in ws[1]:
        c.font, c.fill = bold, fill
    for key, value in about:
        ws.append([key, value])
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 18, 140
    for row in ws.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    import datetime

    fixed = datetime.datetime(2000, 1, 1)
    wb.properties.created = wb.properties.modified = fixed
    io.text_cells(wb)  # a name like =1+1 is text, never a live formula
    buf = _io.BytesIO()
    wb.save(buf)
    return io.write_bytes(target, io.fixed_zip_times(buf.getvalue()))


def _cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value  # text that starts like a formula is marked as text by io.text_cells


def _write_gpkg(region: Region, frames: dict[str, pd.DataFrame], about: list[tuple[str, str]], layers: list[str],
                target: Path) -> Path:
    import sqlite3

    import geopandas as gpd
    import pandas as pd

    from . import io

    with io.atomic_path(target) as tmp:
        for name in layers:
            frame = frames[name]
            layer = LAYERS[name]
            if layer.geometry == "Point":
                geo = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]),
                                       geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
            elif layer.geometry is not None:
                geo = gpd.GeoDataFrame(frame.drop(columns=["geometry"]),
                                       geometry=list(getattr(region, name).geometry.values), crs="EPSG:4326")
            else:
                geo = pd.DataFrame(frame)
            io._write_one(geo, tmp, name, "GPKG", append=tmp.exists())
        io._write_one(dictionary_frame(layers), tmp, "data_dictionary", "GPKG", append=True)
        io._write_one(_about_frame(about), tmp, "about", "GPKG", append=True)
        # Chinese names as column aliases (the GeoPackage schema extension; QGIS shows them).
        with sqlite3.connect(tmp) as con:
            con.execute("CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
                        "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
                        "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name))")
            con.execute("CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
                        "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL)")
            con.execute("INSERT INTO gpkg_extensions SELECT 'gpkg_data_columns', NULL, 'gpkg_schema', "
                        "'http://www.geopackage.org/spec/#extension_schema', 'read-write' WHERE NOT EXISTS "
                        "(SELECT 1 FROM gpkg_extensions WHERE table_name = 'gpkg_data_columns')")
            for name in layers:
                for col in LAYERS[name].columns:
                    con.execute("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, description) "
                                "VALUES (?, ?, ?, ?, ?)", (name, col.name, HEADERS_ZH[name][col.name],
                                                           HEADERS_ZH[name][col.name], col.doc))
    return target


# --- reading templates back ------------------------------------------------------------------------------


def template_region(tables: Sequence[RawTable]) -> str | None:
    """The region code recorded in a template's about table, if the tables hold one."""
    for t in tables:
        if (t.layer == "about" or t.path.stem == "about") and "key" in t.frame.columns and "value" in t.frame.columns:
            pairs = dict(zip(t.frame["key"].astype(str), t.frame["value"]))
            if pairs.get("template") == MARKER and pairs.get("region_code"):
                return str(pairs["region_code"])
    return None


# --- warnings ----------------------------------------------------------------------------------------------

_GEOMETRY_SOURCES = {"lon", "lng", "longitude", "x", "lat", "latitude", "y", "经度", "纬度", "geometry", "wkt"}
_LIMIT = 8  # names listed per warning


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LIMIT])
    return shown + (f" … (+{len(items) - _LIMIT})" if len(items) > _LIMIT else "")


def ignored_columns(tables: Sequence[RawTable]) -> list[Text]:
    """Columns of the user's tables that no layer reads, one warning each, with the closest known column."""
    from .validate import COLUMN_ALIASES, classify_tables

    found, _ = classify_tables(tables)
    out = []
    for layer, table in found.items():
        known = {c.name for c in LAYERS[layer].columns}
        choices = sorted(known) + sorted(HEADERS_ZH[layer].values())
        for c in table.frame.columns:
            raw = str(c)
            name = COLUMN_ALIASES.get(raw, header_name(raw))
            if name in known or name.strip().lower() in known or name.lower() in _GEOMETRY_SOURCES or raw == "geometry":
                continue
            close = difflib.get_close_matches(raw, choices, n=1, cutoff=0.5)
            hint_en = f" (did you mean {close[0]!r}?)" if close else ""
            hint_zh = f"（是否应为 {close[0]!r}？）" if close else ""
            out.append(Text(
                f"{table.label}: column {raw!r} is not a column of the {layer} layer and was ignored{hint_en}. "
                f"Fix: rename it to a column of the data dictionary (planner export writes one), or delete it",
                f"{table.label}：列 {raw!r} 不是{_LAYER_ZH[layer]}图层的列，已忽略{hint_zh}。"
                f"修改：按数据字典改名（planner export 会生成数据字典），或删除该列"))
    return out


_LAYER_ZH = {"counties": "区县", "townships": "乡镇", "villages": "村", "facilities": "机构", "staff": "人员"}


def roster_warnings(region: Region, tables: Sequence[RawTable] = (), rules: RuleSet | None = None) -> list[Text]:
    """What a user's roster lacks that the plan would feel, one bilingual warning each (bounded).

    Columns no layer reads; hospitals and health centers without staff rows (and without
    physician counts); townships without a township or community health center; counties
    with no facility that may lead under the rules; cities without a hospital that can send
    the city experts.
    """
    out = ignored_columns(tables) if tables else []
    given = set()
    if tables:
        from .validate import classify_tables

        given = set(classify_tables(tables)[0])
    fac = region.facilities
    if not len(fac):
        return out
    out += _staff_warnings(region, "staff" in given)
    if len(region.townships) and len(region.counties):
        out += _health_center_warnings(region)
        if rules is not None:
            out += _lead_warnings(region, rules)
            out += _expert_warnings(region, rules)
    return out


def _staff_warnings(region: Region, staff_given: bool) -> list[Text]:
    from .vocabulary import HOSPITAL_KINDS, FacilityKind

    fac = region.facilities
    kinds = {k.value for k in HOSPITAL_KINDS} | {FacilityKind.TOWNSHIP_HEALTH_CENTER.value,
                                                  FacilityKind.COMMUNITY_HEALTH_CENTER.value}
    care = fac[fac["kind"].isin(kinds)]
    with_rows = set(region.staff["facility_id"]) if len(region.staff) else set()
    without = care[~care.index.isin(with_rows)]
    if not len(without):
        return []
    titles = [c for c in ("chief", "associate_chief", "attending", "resident") if c in without.columns]
    declared = without[titles].fillna(0).astype(int).sum(axis=1) if titles else 0
    empty = sorted(without.index[declared == 0]) if titles else sorted(without.index)
    out = []
    if empty:
        names = [f"{fid} {fac.at[fid, 'name']}" for fid in empty]
        out.append(Text(
            f"{len(empty)} hospitals and health centers have no physicians: no rows in the staff layer and no "
            f"主任医师/副主任医师/主治医师/住院医师 counts ({_names(names)}); they can send or receive no one in dispatch. "
            f"Fix: add their staff rows, or fill in those columns",
            f"{len(empty)} 家医院和卫生院（社区卫生服务中心）没有医师：人员表中没有记录，主任医师/副主任医师/主治医师/住院医师"
            f"人数也为空（{_names(names)}）；派驻时无法派出或接收。修改：补充人员记录，或填写这些人数"))
    counted = sorted(set(without.index) - set(empty))
    if counted and staff_given:
        names = [f"{fid} {fac.at[fid, 'name']}" for fid in counted]
        out.append(Text(
            f"{len(counted)} hospitals and health centers have no rows in the staff layer ({_names(names)}); dispatch "
            f"counts their physicians from the facility columns (no specialties). Fix: add their staff rows",
            f"{len(counted)} 家医院和卫生院在人员表中没有记录（{_names(names)}）；派驻按机构表中的职称人数计算（不分专业）。"
            f"修改：补充人员记录"))
    return out


def _health_center_warnings(region: Region) -> list[Text]:
    fac = region.own_facilities
    centers = fac[fac["kind"].isin(["township_health_center", "community_health_center"])]
    have = set(centers["township_code"].dropna().astype(str))
    out = []
    towns = region.townships
    for county, rows in towns.groupby("county_code", sort=True):
        missing = rows[~rows.index.isin(have)]
        if not len(missing):
            continue
        name = region.county_name(str(county))
        names = [str(n) for n in missing.sort_index()["name"]]
        if len(missing) == len(rows):
            out.append(Text(
                f"{name} ({county}) has no township or community health center in the facilities: none of its "
                f"{len(rows)} townships can receive dispatched physicians. Fix: add its 乡镇卫生院 and 社区卫生服务中心",
                f"{name}（{county}）在机构表中没有乡镇卫生院或社区卫生服务中心：{len(rows)} 个乡镇（街道）都无法接收派驻医师。"
                f"修改：补充乡镇卫生院和社区卫生服务中心"))
        else:
            out.append(Text(
                f"{name} ({county}): {len(missing)} of {len(rows)} townships have no township or community health "
                f"center in the facilities ({_names(names)}); they receive no dispatched physicians. "
                f"Fix: add their health centers (kind 乡镇卫生院 or 社区卫生服务中心, with 所属乡镇代码)",
                f"{name}（{county}）：{len(rows)} 个乡镇（街道）中有 {len(missing)} 个在机构表中没有乡镇卫生院或社区卫生服务中心"
                f"（{_names(names)}），无法接收派驻医师。修改：补充其卫生院（机构类别为乡镇卫生院或社区卫生服务中心，并填写所属乡镇代码）"))
    return out


def _lead_warnings(region: Region, rules: RuleSet) -> list[Text]:
    from .planning import region_units

    lead_rules = [r for r in rules.rules if r.enabled and r.kind == "lead_eligibility"]
    if not lead_rules:
        return []
    try:
        units = region_units(region, rules)
    except Exception:  # pragma: no cover - a region that cannot be cut into units is reported elsewhere
        return []
    out = []
    for unit in units:
        for rule in lead_rules:
            if not rule.applies(unit) or rule.eligible(unit):
                continue
            detail = rule.detail(unit)
            out.append(Text(
                f"{unit.name} ({unit.id}): no facility may lead a community under {rule.id} of {rules.name}: {detail}. "
                f"Fix: check the grades and kinds of its hospitals, or add the hospital that should lead",
                f"{unit.name}（{unit.id}）：按 {rules.name} 的 {rule.id}，没有可牵头医共体的机构：{detail}。"
                f"修改：核对其医院的等级和类别，或补充应牵头的医院"))
    return out


def _expert_warnings(region: Region, rules: RuleSet) -> list[Text]:
    expert_rules = [r for r in rules.rules if r.enabled and r.kind == "expert_dispatch"
                    and getattr(r, "min_per_community", 0) > 0]
    out = []
    fac = region.facilities
    for rule in expert_rules:
        for city in region.cities:
            if rule.same_city:
                area = region.city_counties(city)
            else:
                from .dispatch import province_area

                province = region.counties.loc[region.counties["city_code"] == city, "province_code"].iloc[0]
                area = province_area(region, province)
            pool = fac[fac["county_code"].isin(area)]
            if len(pool) and bool(rule.sources.matches(pool).any()):
                continue
            name = region.city_name(city)
            out.append(Text(
                f"{name}: no hospital in the facilities can send the city experts {rule.id} asks for "
                f"({rule.sources.words()}); every community there will be short of experts. Fix: list the city's "
                f"hospitals in its other counties too (planner export includes them for a county)",
                f"{name}：机构表中没有能按 {rule.id} 派出城市专家的医院（{rule.sources.words()}）；各医共体都将缺少专家。"
                f"修改：把该市其他区县的市级医院也列入机构表（planner export 导出县的模板时已包含）"))
    return out
