"""Write the corpus of bad inputs under tests/corpus/cases: one defect per case, each with its expected error.

Run from the repository root: `python tests/corpus/make_corpus.py`. Every case is a folder with
the bad file(s), `args.txt` (the planner command line, `{case}` standing for the folder) and
`expected.txt` (the exit status on the first line, then fragments that must each appear in the
output, in the planner's own words). The files are committed; this script says how each was
made. Every value is made up.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import shapely

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"

FAC_HEAD = "facility_id,name,kind,grade,ownership,county_code,lon,lat"
FAC_OK = "H1,测试县人民医院,综合医院,二甲,公立,330782,120.07,29.31"
TOWN_PROPS = {"code": "330782001", "name": "稠城街道", "county_code": "330782", "population": 198405}
BOX = [[[120.0, 29.3], [120.1, 29.3], [120.1, 29.4], [120.0, 29.4], [120.0, 29.3]]]


def geojson(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def town(**changes: object) -> str:
    props = {**TOWN_PROPS, **{k: v for k, v in changes.items() if k != "geometry"}}
    geom = changes.get("geometry", {"type": "Polygon", "coordinates": BOX})
    return geojson([feature(props, geom)])  # type: ignore[arg-type]


def facilities(*rows: str) -> str:
    return "\n".join([FAC_HEAD, *rows]) + "\n"


def gpkg_bytes(truncate: int | None = None, crs: str = "EPSG:4326") -> bytes:
    tmp = HERE / "_tmp.gpkg"
    gdf = gpd.GeoDataFrame([TOWN_PROPS], geometry=[shapely.Polygon(BOX[0])], crs="EPSG:4326").to_crs(crs)
    pyogrio.write_dataframe(gdf, tmp, layer="townships", driver="GPKG")
    data = tmp.read_bytes()
    tmp.unlink()
    return data[: len(data) // 2] if truncate else data


def xlsx_bytes(rows: list[list[object]], truncate: bool = False) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "facilities"
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    return data[: len(data) // 3] if truncate else data


def shp_zip_without_dbf() -> bytes:
    tmp = HERE / "_shp"
    tmp.mkdir(exist_ok=True)
    gdf = gpd.GeoDataFrame([TOWN_PROPS], geometry=[shapely.Polygon(BOX[0])], crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, tmp / "townships.shp", driver="ESRI Shapefile")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in sorted(tmp.iterdir()):
            if part.suffix != ".dbf":
                z.writestr(part.name, part.read_bytes())
    shutil.rmtree(tmp)
    return buf.getvalue()


RULE_HEAD = '[policy]\nname = "bad"\n'


def rule(body: str) -> str:
    return RULE_HEAD + "[[rule]]\n" + body


Case = tuple[str, dict[str, Callable[[], bytes | str] | bytes | str], str, int, list[str]]

# (name, files, args, exit status, expected fragments)
GEODATA: list[Case] = [
    ("gpkg_truncated", {"townships.gpkg": lambda: gpkg_bytes(truncate=1)}, "validate {case}/townships.gpkg", 2,
     ["townships.gpkg: ", "GeoPackage", "Fix: re-export it"]),
    ("geojson_truncated", {"townships.geojson": lambda: town()[:120]}, "validate {case}/townships.geojson", 2,
     ["townships.geojson: cannot be read as GeoJSON", "Fix: check the file is complete"]),
    ("csv_extra_field", {"facilities.csv": facilities(FAC_OK, "H2,某医院,分院,综合医院,二甲,公立,330782,120.08,29.31")},
     "validate {case}/facilities.csv", 2, ["facilities.csv: row 3: has 9 fields but the header has 8",
                                           "Fix: quote cells that contain the separator"]),
    ("csv_unterminated_quote", {"facilities.csv": facilities(FAC_OK, 'H2,"某医院,综合医院,二甲,公立,330782,120.08,29.31')},
     "validate {case}/facilities.csv", 2, ["facilities.csv: row 3: has 2 fields but the header has 8"]),
    ("xlsx_truncated", {"facilities.xlsx": lambda: xlsx_bytes([FAC_HEAD.split(",")], truncate=True)},
     "validate {case}/facilities.xlsx", 2, ["facilities.xlsx: cannot be read as an Excel workbook"]),
    ("empty_file", {"facilities.csv": ""}, "validate {case}/facilities.csv", 2, ["facilities.csv: is empty (0 bytes)"]),
    ("wrong_extension", {"facilities.docx": "not a table"}, "validate {case}/facilities.docx", 2,
     ["facilities.docx: unsupported file type '.docx'"]),
    ("shapefile_without_dbf", {"townships.zip": shp_zip_without_dbf}, "validate {case}/townships.zip", 2,
     ["townships.zip: "]),
    ("gbk_read_as_utf8", {"facilities.csv": lambda: facilities(FAC_OK).encode("gbk")},
     "validate --encoding utf-8 {case}/facilities.csv", 2,
     ["facilities.csv: cannot be decoded as utf-8", "Fix: omit --encoding to let the planner guess"]),
    ("not_text", {"facilities.csv": bytes(range(128, 256)) * 4}, "validate {case}/facilities.csv", 2,
     ["facilities.csv: is neither UTF-8 nor GBK/GB18030 text"]),
    ("excel_scientific_code", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,二甲,公立,3.30782E+05,120.07,29.31")},
     "validate {case}/facilities.csv", 2,
     ["row 2: county_code '3.30782E+05' looks like a code that Excel turned into a number in scientific notation",
      "Fix: write the code as text with all its digits"]),
    ("code_decimal", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,二甲,公立,330782.0,120.07,29.31")},
     "validate {case}/facilities.csv", 2, ["county_code '330782.0' looks like a code stored as a decimal number"]),
    ("leading_zeros_lost", {"townships.geojson": town(code="33078201")}, "validate {case}/townships.geojson", 2,
     ["code '33078201' has 8 digits, expected 9 (leading zeros lost?)"]),
    ("declared_crs_conflicts", {"townships.gpkg": lambda: gpkg_bytes(crs="EPSG:3857")},
     "validate --crs wgs84 {case}/townships.gpkg", 2,
     ["declared wgs84 but the file says its CRS is 'WGS 84 / Pseudo-Mercator'"]),
    ("projected_without_crs", {"townships.geojson": town(geometry={"type": "Polygon", "coordinates": [[[500000, 3200000], [510000, 3200000], [510000, 3210000], [500000, 3200000]]]})},
     "validate {case}/townships.geojson", 2, ["that are not degrees (a projected CRS such as metres?)"]),
    ("swapped_lat_lon", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,二甲,公立,330782,29.31,120.07")},
     "validate {case}/facilities.csv", 2, ["longitude and latitude look swapped", "Fix: swap the longitude and latitude columns"]),
    ("point_in_the_sea", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,二甲,公立,330782,123.5,28.5")},
     "validate --region 义乌市 {case}/facilities.csv", 2,
     ["facility H1: location (123.50000, 28.50000) lies outside its county 330782 (in another county, or in the sea)"]),
    ("outside_china", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,二甲,公立,330782,2.35,48.85")},
     "validate {case}/facilities.csv", 2, ["lies at (2.3500, 48.8500), outside China"]),
    ("self_intersecting_polygon", {"townships.geojson": town(geometry={"type": "Polygon", "coordinates": [[[120.0, 29.3], [120.1, 29.4], [120.1, 29.3], [120.0, 29.4], [120.0, 29.3]]]})},
     "validate {case}/townships.geojson", 2, ["has an invalid geometry (Self-intersection", "Fix: repair it"]),
    ("empty_polygon", {"townships.geojson": town(geometry={"type": "Polygon", "coordinates": []})},
     "validate {case}/townships.geojson", 2, ["has an empty geometry"]),
    ("point_for_polygon", {"townships.geojson": town(geometry={"type": "Point", "coordinates": [120.05, 29.35]})},
     "validate {case}/townships.geojson", 2, ["has a Point where a Polygon or MultiPolygon is expected"]),
    ("duplicate_facility_id", {"facilities.csv": facilities(FAC_OK, FAC_OK)}, "validate {case}/facilities.csv", 2,
     ["row 3: facility_id 'H1' is used twice (first at row 2)"]),
    ("orphan_county_code", {"townships.geojson": town(county_code="330799")}, "validate --region 义乌市 {case}/townships.geojson", 2,
     ["county_code '330799' is not a county in the counties layer"]),
    ("negative_population", {"townships.geojson": town(population=-12)}, "validate {case}/townships.geojson", 2,
     ["population '-12' is negative", "Fix: give a whole number >= 0"]),
    ("missing_population", {"townships.geojson": town(population=None)}, "validate {case}/townships.geojson", 2,
     ["population is missing"]),
    ("fractional_population", {"townships.geojson": town(population=12.5)}, "validate {case}/townships.geojson", 2,
     ["population '12.5' is not a whole number"]),
    ("grade_misspelled", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,三级特等,公立,330782,120.07,29.31")},
     "validate {case}/facilities.csv", 2, ["grade '三级特等' is not a hospital grade", "Fix: write one of 三甲"]),
    ("kind_misspelled", {"facilities.csv": facilities("H1,测试县人民医院,中医医馆,二甲,公立,330782,120.07,29.31")},
     "validate {case}/facilities.csv", 2, ["kind '中医医馆' is not a facility kind; did you mean 中医医院"]),
    ("ownership_unknown", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,二甲,集体,330782,120.07,29.31")},
     "validate {case}/facilities.csv", 2, ["ownership '集体' is not an ownership"]),
    ("missing_coordinates", {"facilities.csv": facilities(FAC_OK, "H2,测试县中医院,中医医院,二甲,公立,330782,,")},
     "validate {case}/facilities.csv", 2, ["row 3: has no geometry (no coordinates)"]),
    ("no_coordinate_columns", {"facilities.csv": "facility_id,name,kind,grade,ownership,county_code\nH1,某院,综合医院,二甲,公立,330782\n"},
     "validate {case}/facilities.csv", 2, ["has no locations. Fix: add longitude and latitude columns"]),
    ("missing_required_column", {"facilities.csv": "facility_id,name,kind,lon,lat\nH1,某院,综合医院,120.07,29.31\n"},
     "validate {case}/facilities.csv", 2, ["has no column 'county_code'"]),
    ("two_columns_one_field", {"townships.csv": "code,name,county_code,人口,常住人口,lon,lat\n330782001,稠城街道,330782,1,2,120.05,29.35\n"},
     "validate {case}/townships.csv", 2, ["columns '人口', '常住人口' all mean 'population'"]),
    ("staff_unknown_facility", {"staff.csv": "facility_id,title,specialty,count\nX9,主治医师,内科,2\n"},
     "validate --region 义乌市 {case}/staff.csv", 2, ["facility_id 'X9' is not a facility of the region"]),
    ("staff_bad_title", {"staff.csv": "facility_id,title,specialty,count\nH330782-01,院长,管理,1\n"},
     "validate --region 义乌市 {case}/staff.csv", 2, ["title '院长' is not a physician title"]),
    ("staff_negative_count", {"staff.csv": "facility_id,title,specialty,count\nH330782-01,主治医师,内科,-3\n"},
     "validate --region 义乌市 {case}/staff.csv", 2, ["count '-3' is negative"]),
    ("village_orphan", {"villages.csv": "code,name,township_code,population\n330782001099,无主村村委会,330782099,100\n"},
     "validate --region 义乌市 {case}/villages.csv", 2, ["township_code '330782099' is not a township in the townships layer"]),
    ("od_duplicate_pair", {"od.csv": "origin,destination,travel_min\n330782001,H330782-01,12\n330782001,H330782-01,14\n"},
     "plan --region 义乌市 --no-cache --quiet --od {case}/od.csv --out {case}/out", 2,
     ["od.csv: row 3: pair 330782001 -> H330782-01 is listed twice (first at row 2)"]),
    ("od_negative_minutes", {"od.csv": "origin,destination,travel_min\n330782001,H330782-01,-5\n"},
     "plan --region 义乌市 --no-cache --quiet --od {case}/od.csv --out {case}/out", 2,
     ["od.csv: row 2: travel_min '-5' is not a number >= 0"]),
    ("road_file_not_lines", {"roads.geojson": town()}, "plan --region 义乌市 --no-cache --quiet --roads {case}/roads.geojson --out {case}/out",
     2, ["roads.geojson: is not a layer of road lines"]),
    ("township_csv_with_points", {"townships.csv": "统计用区划代码,名称,县代码,常住人口,经度,纬度\n330782001,稠城街道,330782,1000,120.05,29.35\n"},
     "validate {case}/townships.csv", 2, ["has a Point where a Polygon or MultiPolygon is expected"]),
    ("layout_unknown_lead", {"layout.csv": "township_code,lead_id\n330782001,NOPE\n"},
     "check {case}/layout.csv --region 义乌市", 2, ["layout.csv: lead NOPE: is not a facility of the region"]),
    ("layout_unknown_township", {"layout.csv": "township_code,lead_id\n999999999,H330782-01\n"},
     "check {case}/layout.csv --region 义乌市", 2, ["township 999999999: is not a township of the region"]),
]

RULES: list[Case] = [
    ("rule_unknown_key", {"rules.toml": rule('id = "a"\nkind = "community_count"\nsource = "s"\nmax = 3\nmaximum = 2\n')},
     "rules {case}/rules.toml", 2, ["rules.toml: rule a: unknown key `maximum` (did you mean 'max'?)", "allowed keys:"]),
    ("rule_wrong_type", {"rules.toml": rule('id = "a"\nkind = "community_count"\nsource = "s"\nmax = "three"\n')},
     "rules {case}/rules.toml", 2, ["rule a: key `max`: Input should be a valid integer", "(got 'three')"]),
    ("rule_min_above_max", {"rules.toml": rule('id = "a"\nkind = "community_count"\nsource = "s"\nmin = 3\nmax = 2\n')},
     "rules {case}/rules.toml", 2, ["rule a: the rule: min = 3 is greater than max = 2"]),
    ("rule_duplicate_id", {"rules.toml": rule('id = "a"\nkind = "contiguity"\nsource = "s"\n') + '[[rule]]\nid = "a"\nkind = "coverage"\nsource = "s"\n'},
     "rules {case}/rules.toml", 2, ["rule a: id is used twice (rules #1 and #2)"]),
    ("rule_unknown_kind", {"rules.toml": rule('id = "a"\nkind = "max_communities"\nsource = "s"\n')},
     "rules {case}/rules.toml", 2, ["rule a: kind 'max_communities' is not a rule kind", "Fix: use one of"]),
    ("rule_bad_grade", {"rules.toml": rule('id = "a"\nkind = "lead_eligibility"\nsource = "s"\nlead.min_grade = "二级特等"\n')},
     "rules {case}/rules.toml", 2, ["rule a: key `lead.min_grade`: is not a hospital grade (got '二级特等')"]),
    ("rule_share_above_one", {"rules.toml": rule('id = "a"\nkind = "must_lead"\nsource = "s"\nwho.kinds = ["tcm_hospital"]\nmin_population_share = 1.5\n')},
     "rules {case}/rules.toml", 2, ["rule a: key `min_population_share`: Input should be less than or equal to 1 (got 1.5)"]),
    ("rule_soft_without_penalty", {"rules.toml": rule('id = "a"\nkind = "community_count"\nsource = "s"\nmax = 3\nhard = false\n')},
     "rules {case}/rules.toml", 2, ["rule a: the rule: a soft rule (hard = false) needs a `penalty`"]),
    ("rule_cannot_be_soft", {"rules.toml": rule('id = "a"\nkind = "contiguity"\nsource = "s"\nhard = false\npenalty = 5\n')},
     "rules {case}/rules.toml", 2, ["rule a: the rule: rule kind 'contiguity' cannot be soft"]),
    ("rule_bad_scope", {"rules.toml": rule('id = "a"\nkind = "contiguity"\nsource = "s"\nscope = "town"\n')},
     "rules {case}/rules.toml", 2, ["rule a: key `scope`: Input should be 'county' or 'city' (got 'town')"]),
    ("rule_missing_source", {"rules.toml": rule('id = "a"\nkind = "contiguity"\n')},
     "rules {case}/rules.toml", 2, ["rule a: key `source` is missing", "Fix: add source = ..."]),
    ("rule_contradictory_pins", {"rules.toml": rule('id = "p1"\nkind = "pin"\nsource = "s"\ntownships = ["330782001"]\nlead = "H1"\n')
                                 + '[[rule]]\nid = "p2"\nkind = "pin"\nsource = "s"\ntownships = ["330782001"]\nlead = "H2"\n'},
     "rules {case}/rules.toml", 2, ["rule p2: pins township 330782001 to H2, but rule p1 pins it to H1"]),
    ("rule_pin_vetoed_lead", {"rules.toml": rule('id = "p"\nkind = "pin"\nsource = "s"\ntownships = ["330782001"]\nlead = "H1"\n')
                              + '[[rule]]\nid = "v"\nkind = "forbid_lead"\nsource = "s"\nfacilities = ["H1"]\n'},
     "rules {case}/rules.toml", 2, ["rule p: pins townships to H1, which rule v forbids to lead"]),
    ("rule_circular_extends", {"a.toml": '[policy]\nname = "a"\nextends = "b"\n', "b.toml": '[policy]\nname = "b"\nextends = "a"\n'},
     "rules {case}/a.toml", 2, ["extends itself in a circle"]),
    ("rule_extends_missing", {"rules.toml": '[policy]\nname = "x"\nextends = "hainan-2030"\n'},
     "rules {case}/rules.toml", 2, ["hainan-2030: no such rule file"]),
    ("rule_toml_syntax", {"rules.toml": '[policy]\nname = "x\n'}, "rules {case}/rules.toml", 2,
     ["rules.toml: is not valid TOML", "line 2"]),
    ("rule_not_utf8", {"rules.toml": lambda: '[policy]\nname = "浙江"\n'.encode("gbk")}, "rules {case}/rules.toml", 2,
     ["rules.toml: is not UTF-8 text"]),
    ("rule_no_policy", {"rules.toml": rule('id = "a"\nkind = "contiguity"\nsource = "s"\n').replace(RULE_HEAD, "")},
     "rules {case}/rules.toml", 2, ["rules.toml: policy: has no [policy] table"]),
    ("rule_unknown_table", {"rules.toml": RULE_HEAD + "[solver]\nthreads = 4\n"}, "rules {case}/rules.toml", 2,
     ["rules.toml: solver: unknown table 'solver'"]),
    ("rule_counties_on_service_rule", {"rules.toml": rule('id = "d"\nkind = "dialysis_siting"\nsource = "s"\ncounties = ["330782"]\n')},
     "rules {case}/rules.toml", 2, ["service rules apply to the whole region"]),
]

# Harmless variants: read, normalised, and said so (exit status 0).
HARMLESS: list[Case] = [
    ("variant_grade_spellings", {"facilities.csv": facilities("H1,测试县人民医院,综合医院,三级甲等,公立,330782,120.07,29.31",
                                                              "H2,测试县中医院,中医院,3A,公立,330782,120.08,29.31",
                                                              "H3,测试县第三医院,综合医院,IIIA,公立,330782,120.09,29.31")},
     "validate {case}/facilities.csv", 0,
     ["grade '三级甲等' read as 三甲 (row 2)", "grade '3A' read as 三甲 (row 3)", "grade 'IIIA' read as 三甲 (row 4)",
      "kind '中医院' read as tcm_hospital (中医医院) (row 3)"]),
    ("variant_utf8_bom", {"facilities.csv": lambda: b"\xef\xbb\xbf" + facilities(FAC_OK).encode("utf-8")},
     "validate {case}/facilities.csv", 0, ["UTF-8 byte-order mark removed"]),
    ("variant_gbk_guessed", {"facilities.csv": lambda: facilities(FAC_OK).encode("gbk")}, "validate {case}/facilities.csv", 0,
     ["read as GBK/GB18030 (not UTF-8)"]),
]

# Output paths the planner must not replace (planner.publish): refused before anything is read or written.
PLAN = "plan --region 义乌市 --no-cache --quiet"
MARKED_MAPS = '{"kind": "maps", "run_id": "0123456789abcdef"}\n'
NOT_OURS = "Fix: choose another folder for the output, e.g. a new one under plans/ (the planner only replaces folders it wrote)"
OUTPUTS: list[Case] = [
    ("out_existing_file", {"notes.txt": "my notes\n"}, PLAN + " --no-maps --out {case}/notes.txt", 2,
     ["notes.txt: --out is a file, not a folder the planner wrote; the planner never replaces it. "
      "Fix: choose another --out folder, or move the file away"]),
    ("out_folder_with_files", {"mine/keep.txt": "keep me\n"}, PLAN + " --no-maps --out {case}/mine", 2,
     ["mine: --out is a folder with files the planner did not write (no .planner-output.json marker); nothing was "
      "changed. Fix: choose another --out folder (a new or empty one), or move the files away"]),
    ("out_holds_facilities", {"facilities.csv": facilities(FAC_OK)},
     PLAN + " --no-maps --facilities {case}/facilities.csv --out {case}", 2,
     ["--out holds the --facilities file ", "facilities.csv, which the run would delete. " + NOT_OURS]),
    ("out_holds_od_file", {"od.csv": "origin,destination,travel_min\n"}, PLAN + " --no-maps --od {case}/od.csv --out {case}", 2,
     ["--out holds the --od file ", "od.csv, which the run would delete."]),
    ("out_holds_rule_file", {"mine.toml": '[policy]\nname = "mine"\nextends = "zhejiang-2026"\n'},
     "plan --region 义乌市 --rules {case}/mine.toml --no-maps --no-cache --out {case}", 2,
     ["--out holds the rule file ", "mine.toml, which the run would delete."]),
    ("out_holds_cache", {}, "plan --region 义乌市 --no-maps --cache-dir {case}/out/cache --out {case}/out", 2,
     ["--out holds the cache folder --cache-dir ", "which the run would delete."]),
    ("out_maps_dir_is_out", {}, PLAN + " --out {case}/out --maps-dir {case}/out", 2,
     ["out: --maps-dir is the same folder as --out. Fix: give --maps-dir and --out different folders, "
      "e.g. plans/NAME and maps/NAME"]),
    ("out_maps_dir_inside_out", {}, PLAN + " --out {case}/out --maps-dir {case}/out/maps", 2,
     ["maps: --maps-dir and --out are nested (--maps-dir is inside --out). Fix: give --maps-dir and --out separate "
      "folders, e.g. plans/NAME and maps/NAME"]),
    ("out_inside_maps_dir", {}, PLAN + " --out {case}/out/plan --maps-dir {case}/out", 2,
     ["out: --maps-dir and --out are nested (--out is inside --maps-dir)."]),
    ("out_root", {}, PLAN + " --no-maps --out /", 2, ["/: --out is the root folder /. " + NOT_OURS]),
    ("out_rule_folder", {}, PLAN + " --no-maps --out {case}/../../../../constraints", 2,
     ["--out is the shipped rule folder ", "constraints or is inside it or holds it. " + NOT_OURS]),
    ("out_holds_maps_not_a_plan", {"maps/.planner-output.json": MARKED_MAPS, "maps/index.html": "<html></html>\n"},
     PLAN + " --no-maps --out {case}/maps", 2,
     ["maps: --out holds maps the planner wrote, not a plan. Fix: give --out a folder of its own for a plan"]),
    ("out_garbled_marker", {"mine/.planner-output.json": "{not json", "mine/keep.txt": "keep me\n"},
     PLAN + " --no-maps --out {case}/mine", 2, ["mine: --out is a folder with files the planner did not write"]),
    ("out_maps_dir_file", {"notes.txt": "my notes\n"}, PLAN + " --out {case}/out --maps-dir {case}/notes.txt", 2,
     ["notes.txt: --maps-dir is a file, not a folder the planner wrote; the planner never replaces it."]),
    ("out_map_into_plan_folder", {"plan/plan.json": "{}\n"}, "map {case}/plan --out {case}/plan/maps", 2,
     ["maps: --out and the plan folder are nested (--out is inside the plan folder)."]),
    ("out_report_over_plan_folder", {"plan/plan.json": "{}\n"}, "report {case}/plan --out {case}/plan", 2,
     ["plan: --out is the same folder as the plan folder."]),
    ("out_roster_over_folder", {"mine/keep.txt": "keep me\n"}, "export 义乌市 --format csv --out {case}/mine", 2,
     ["mine: exists and is not a roster template the planner wrote"]),
    ("env_out_inside_a_file", {"notes.txt": "my notes\n"}, PLAN + " --no-maps --out {case}/notes.txt/plan", 2,
     ["--out lies inside ", "notes.txt, which is a file, not a folder. Fix: choose an output folder whose parent "
      "folders exist or can be made"]),
    ("out_table_over_a_folder", {"mine/keep.txt": "keep me\n"}, "dialysis --region 义乌市 --out {case}/mine", 2,
     ["mine: --out is a folder; give a file name. Fix: choose another --out file"]),
    ("out_table_into_rule_folder", {}, "dialysis --region 义乌市 --out {case}/../../../../constraints/sites.csv", 2,
     ["sites.csv: --out is in the shipped rule folder. Fix: choose another --out file"]),
    ("env_rules_is_a_folder", {"rules.toml/keep.txt": "x\n"}, "rules {case}/rules.toml", 2,
     ["rules.toml: is a folder where a file is expected. Fix: give the path of a file"]),
    ("env_facilities_is_a_folder", {"facilities/keep.txt": "x\n"},
     PLAN + " --no-maps --facilities {case}/facilities --out {case}/out", 2, ["facilities: is a folder, not a file."]),
    ("env_cache_dir_is_a_file", {"notes.txt": "my notes\n"},
     "plan --region 义乌市 --no-maps --quiet --cache-dir {case}/notes.txt --out plan", 0,
     ["Warning: the cache folder ", "notes.txt cannot be written (Not a directory); solved counties are not stored "
      "this run. Fix: give --cache-dir a writable folder, or --no-cache"]),
    ("env_out_with_nul", {}, PLAN + " --no-maps --out {case}/a\0b", 2,
     ["Error: a path contains a NUL character (\\0). Fix: give paths without NUL characters"]),
    ("env_maps_dir_inside_a_file", {"notes.txt": "my notes\n"}, PLAN + " --out {case}/out --maps-dir {case}/notes.txt/m", 2,
     ["--maps-dir lies inside ", "notes.txt, which is a file, not a folder."]),
]


def main() -> None:
    if CASES.exists():
        shutil.rmtree(CASES)
    for name, files, args, status, expected in GEODATA + RULES + HARMLESS + OUTPUTS:
        folder = CASES / name
        folder.mkdir(parents=True)
        for fname, content in files.items():
            data = content() if callable(content) else content
            (folder / fname).parent.mkdir(parents=True, exist_ok=True)
            (folder / fname).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        (folder / "args.txt").write_text(args + "\n", encoding="utf-8")
        (folder / "expected.txt").write_text("\n".join([str(status), *expected]) + "\n", encoding="utf-8")
    print(f"wrote {len(GEODATA) + len(RULES) + len(HARMLESS) + len(OUTPUTS)} cases to {CASES}")


if __name__ == "__main__":
    main()
