"""Tests of ``planner.validate``: every problem in user geodata is found, named by file and row, with a fix."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures import Fac, grid_region

from planner._errors import InputDataError, Problem
from planner.cli import main
from planner.io import SUPPORTED_SUFFIXES, read_tables, write_csv
from planner.region import Region
from planner.validate import region_from_tables
from planner.vocabulary import Grade

DATA = Path(__file__).parent / "data"
VALID = DATA / "valid_region"
BROKEN = DATA / "broken_region"
REPO = Path(__file__).resolve().parent.parent


def read_folder(folder: Path) -> list:
    return [t for p in sorted(folder.iterdir()) if p.suffix.lower() in SUPPORTED_SUFFIXES for t in read_tables(p)]


def validate_folder(folder: Path, **kwargs) -> Region:
    return region_from_tables(read_folder(folder), name=folder.name, **kwargs)


def problems_of(folder: Path, **kwargs) -> list[Problem]:
    with pytest.raises(InputDataError) as info:
        validate_folder(folder, **kwargs)
    return info.value.problems


# --- the valid fixture -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid() -> Region:
    return validate_folder(VALID)


def test_valid_fixture_region_validates_with_every_layer_counted(valid: Region) -> None:
    assert (len(valid.counties), len(valid.townships), len(valid.villages), len(valid.facilities),
            len(valid.staff)) == (2, 6, 12, 7, 3)
    assert valid.population == 350_000
    assert list(valid.counties.index) == ["339901", "339902"]
    assert [len(valid.townships_of(c)) for c in valid.counties.index] == [3, 3]
    assert valid.counties.crs == valid.townships.crs == valid.facilities.crs == "EPSG:4326"


def test_valid_fixture_notes_name_every_respelling_with_its_row(valid: Region) -> None:
    label = str(VALID / "facilities.csv")
    assert f"{label}: kind '中医院' read as tcm_hospital (中医医院) (row 3)" in valid.notes
    assert f"{label}: grade '三级乙等' read as 三乙 (row 6)" in valid.notes
    assert f"{label}: grade '一级甲等' read as 一甲 (row 7)" in valid.notes


def test_valid_fixture_canonical_spellings_get_no_notes(valid: Region) -> None:
    joined = "\n".join(valid.notes)
    for canonical in ("'二甲'", "'综合医院'", "'乡镇卫生院'", "'公立'", "'一甲'"):
        assert canonical not in joined


def test_valid_fixture_values_are_parsed_to_their_types(valid: Region) -> None:
    f = valid.facilities
    assert f.at["H339902-01", "grade"] == Grade.L3B
    assert f.at["H339901-01", "grade"] == Grade.L2A
    assert f.at["H339901-02", "kind"] == "tcm_hospital"
    assert f.at["H339901-01", "ownership"] == "public"
    # admin level derived from the kind when the file has none
    assert f.at["H339901-01", "admin_level"] == "county"
    assert f.at["T339901002", "admin_level"] == "township"
    assert bool(f.at["T339901002", "central_thc"]) is True
    assert int(f.at["H339902-01", "beds"]) == 600
    assert all(isinstance(c, str) for c in f["county_code"])
    t = valid.townships
    assert t.at["339901001", "kind"] == "街道" and t.at["339901002", "kind"] == "镇"
    assert str(valid.counties["population"].dtype) == "int64"
    assert set(valid.staff["title"]) == {"attending", "chief"}


# --- the broken fixture: every defect of its README ------------------------------------------

# Each README line -> (file, where, a distinctive fragment of the message).
EXPECTED = {
    "adcode 339901 appears twice (duplicate code)":
        ("counties.geojson", "row 2", "adcode '339901' is used twice (first at row 1)"),
    "339903 has no population (missing population)":
        ("counties.geojson", "row 3", "population is missing"),
    "339904 has population -5 (negative population)":
        ("counties.geojson", "row 4", "population '-5' is negative"),
    "339905 has a self-intersecting (bow-tie) polygon (invalid geometry)":
        ("counties.geojson", "row 5", "has an invalid geometry (Self-intersection"),
    "339906 has coordinates in metres (wrong CRS)":
        ("counties.geojson", "row 6", "that are not degrees (a projected CRS such as metres?)"),
    "339999001 names county 339999, which does not exist (orphan code)":
        ("townships.geojson", "code 339999001", "county_code '339999' is not a county in the counties layer"),
    "code 33990100 has 8 digits (leading zero lost)":
        ("townships.geojson", "row 3", "code '33990100' has 8 digits, expected 9 (leading zeros lost?)"),
    "339901004 has an empty geometry":
        ("townships.geojson", "row 4", "has an empty geometry"),
    '339901005 has population "abc" (not a number)':
        ("townships.geojson", "row 5", "population 'abc' is not a number"),
    "339901006 has a seat outside its polygon":
        ("townships.geojson", "row 6", "seat (125.00000, 40.00000) lies outside the township's polygon"),
    "339901007 is a point, not a polygon (wrong geometry type)":
        ("townships.geojson", "row 7", "has a Point where a Polygon or MultiPolygon is expected"),
    "code 3.39901E+11 (mangled by Excel into scientific notation)":
        ("villages.csv", "row 3", "code '3.39901E+11' looks like a code that Excel turned into a number in scientific"),
    "339901001099 names township 339901099, which does not exist (orphan code)":
        ("villages.csv", "code 339901001099", "township_code '339901099' is not a township in the townships layer"),
    "F1 kind 医馆 (unknown kind)":
        ("facilities.csv", "row 3", "kind '医馆' is not a facility kind"),
    "F2 grade 四甲 (unknown grade)":
        ("facilities.csv", "row 4", "grade '四甲' is not a hospital grade"),
    "F3 longitude and latitude swapped":
        ("facilities.csv", "row 5", "outside China; longitude and latitude look swapped"),
    "F4 lies in the sea, outside its county (facility outside its county)":
        ("facilities.csv", "facility F4", "location (123.50000, 28.50000) lies outside its county 339901"),
    "F5 ownership 集体 (unknown ownership)":
        ("facilities.csv", "row 7", "ownership '集体' is not an ownership"),
    "F6 has no coordinates":
        ("facilities.csv", "row 8", "has no geometry (no coordinates)"),
    "F7 appears twice (duplicate id)":
        ("facilities.csv", "row 10", "facility_id 'F7' is used twice (first at row 9)"),
    "facility X9 does not exist (unknown facility)":
        ("staff.csv", "row 3", "facility_id 'X9' is not a facility of the region"),
    "title 院长 (unknown title)":
        ("staff.csv", "row 4", "title '院长' is not a physician title"),
    "count -3 (negative count)":
        ("staff.csv", "row 5", "count '-3' is negative"),
}


def readme_defects() -> dict[str, list[str]]:
    """The README's defects, by the file heading they are listed under."""
    out: dict[str, list[str]] = {}
    current = None
    for line in (BROKEN / "README.md").read_text(encoding="utf-8").splitlines():
        if re.fullmatch(r"[a-z_]+\.(geojson|csv|gpkg|xlsx|shp)", line.strip()):
            current = line.strip()
            out[current] = []
        elif line.startswith("- ") and current:
            out[current].append(line[2:].strip())
    return out


def test_every_readme_defect_has_an_expectation() -> None:
    listed = readme_defects()
    assert sum(len(v) for v in listed.values()) == 23
    assert {d: f for f, ds in listed.items() for d in ds} == {d: e[0] for d, e in EXPECTED.items()}


@pytest.fixture(scope="module")
def broken_problems() -> list[Problem]:
    return problems_of(BROKEN)


def test_broken_region_lists_every_defect(broken_problems: list[Problem]) -> None:
    missing = []
    for defect, (file, where, fragment) in EXPECTED.items():
        hits = [p for p in broken_problems
                if p.source == str(BROKEN / file) and p.where == where and fragment in p.message]
        if len(hits) != 1:
            missing.append(f"{file}: {defect} (expected {where}: ...{fragment}...; found {len(hits)})")
    assert not missing, "defects not reported exactly once:\n" + "\n".join(missing)


def test_broken_region_problem_lines_each_name_a_file_a_row_or_code_and_a_fix(broken_problems: list[Problem]) -> None:
    files = {str(p) for p in BROKEN.iterdir()}
    for p in broken_problems:
        assert p.source in files, p
        assert re.fullmatch(r"row \d+|(code|adcode) \d+|facility \S+", p.where), p
        assert p.fix, p
        line = str(p)
        assert line.startswith(f"{p.source}: {p.where}: ")
        assert " Fix: " in line


def test_broken_region_problems_are_sorted_by_file_then_row(broken_problems: list[Problem]) -> None:
    sources = [p.source for p in broken_problems]
    assert sources == sorted(sources)
    for source in set(sources):
        rows = [int(p.where[4:]) for p in broken_problems if p.source == source and p.where.startswith("row ")]
        assert rows == sorted(rows)


def test_broken_region_reports_only_known_kinds_of_extra_problem(broken_problems: list[Problem]) -> None:
    """Besides the README's defects, only consequences of them may be reported (counties left without townships)."""
    expected = {(str(BROKEN / f), w, frag) for f, w, frag in EXPECTED.values()}
    extra = [p for p in broken_problems
             if not any(p.source == s and p.where == w and frag in p.message for s, w, frag in expected)]
    assert {(p.where, p.message) for p in extra} <= {("adcode 339903", "has no townships in the townships layer"),
                                                     ("adcode 339904", "has no townships in the townships layer")}


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_validate_broken_region_exits_2_and_prints_every_problem_without_a_traceback(
        broken_problems: list[Problem], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["validate", str(BROKEN.relative_to(REPO))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.startswith(f"Error: {len(broken_problems)} problems found:\n")
    for p in broken_problems:
        relative = Problem(str(Path(p.source).relative_to(REPO)), p.where, p.message, p.fix)
        assert f"  {relative}\n" in result.output


def test_cli_validate_valid_region_prints_counts_and_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["validate", str(VALID.relative_to(REPO))])
    assert result.exit_code == 0, result.output
    assert "OK: 5 files, 2 counties, 6 townships, 12 villages, 7 facilities" in result.output
    assert "Note: tests/data/valid_region/facilities.csv: grade '三级乙等' read as 三乙 (row 6)" in result.output


def test_cli_validate_missing_file_is_reported_without_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nowhere.csv")])
    assert result.exit_code == 2
    assert f"Error: {tmp_path / 'nowhere.csv'}: no such file. Fix: check the path\n" == result.output
    assert "Traceback" not in result.output


def test_planner_validate_as_a_real_process_exits_2_with_every_problem_on_stderr(
        broken_problems: list[Problem]) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-m", "planner.cli", "validate", "tests/data/broken_region"], cwd=REPO,
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout == ""
    for p in broken_problems:
        relative = Problem(str(Path(p.source).relative_to(REPO)), p.where, p.message, p.fix)
        assert f"  {relative}\n" in proc.stderr


# --- Chinese column names and file names -----------------------------------------------------


def _feature(props: dict, coords: list) -> dict:
    kind = "Point" if not isinstance(coords[0], list) else "Polygon"
    return {"type": "Feature", "properties": props, "geometry": {"type": kind, "coordinates": coords}}


def _box(x0: float, y0: float, w: float, h: float) -> list:
    return [[[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]]


def _geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def test_chinese_column_and_file_names_are_accepted(tmp_path: Path) -> None:
    """
    One county (339901) of two townships, named as a planner's spreadsheet names them::

        120.0     120.1     120.2
          +---------+---------+ 29.3
          | 339901  | 339901  |
          |  001    |  002  H |
          +---------+---------+ 29.0
    """
    _geojson(tmp_path / "区县.geojson", [_feature(
        {"区划代码": "339901", "名称": "甲县", "市代码": "339900", "市": "测试市", "省代码": "330000", "省": "浙江省",
         "常住人口": "15万"}, _box(120.0, 29.0, 0.2, 0.3))])
    _geojson(tmp_path / "乡镇.geojson", [
        _feature({"统计用区划代码": "339901001", "名称": "甲城关街道", "所属区县代码": "339901", "常住人口": 90000},
                 _box(120.0, 29.0, 0.1, 0.3)),
        _feature({"统计用区划代码": "339901002", "名称": "甲东镇", "所属区县代码": "339901", "常住人口": "60,000"},
                 _box(120.1, 29.0, 0.1, 0.3))])
    (tmp_path / "医疗机构.csv").write_text(
        "机构代码,机构名称,机构类别,医院等级,性质,所属县,乡镇代码,床位数,经度,纬度\n"
        "007,甲县人民医院,综合医院,三级甲等,公立,339901,339901002,500,120.15,29.15\n", encoding="utf-8")
    (tmp_path / "医生.csv").write_text("机构代码,职称,专业,人数\n007,主任医师,内科,3\n007,主治,外科,4\n",
                                       encoding="utf-8")

    region = validate_folder(tmp_path)

    c = region.counties.loc["339901"]
    assert (c["name"], c["city_code"], c["province_name"], int(c["population"])) == ("甲县", "339900", "浙江省", 150_000)
    assert region.townships["population"].tolist() == [90_000, 60_000]
    assert region.townships["kind"].tolist() == ["街道", "镇"]
    assert region.townships.at["339901002", "seat_source"] == "polygon"  # no seat given: a point inside the polygon
    f = region.facilities.loc["007"]
    assert (f["name"], f["kind"], f["grade"], f["county_code"], int(f["beds"])) == (
        "甲县人民医院", "general_hospital", Grade.L3A, "339901", 500)
    assert (f.geometry.x, f.geometry.y) == (120.15, 29.15)
    assert region.staff["count"].tolist() == [3, 4]
    assert region.staff["title"].tolist() == ["chief", "attending"]
    assert any("population '15万' read as a count in 万" in n for n in region.notes)
    assert any("title '主治' read as 主治医师" in n for n in region.notes)


def test_upper_case_english_headers_are_accepted(tmp_path: Path) -> None:
    base = small_base()
    (tmp_path / "facilities.csv").write_text(
        "Facility_ID,Name,Kind,County_Code,Township_Code,Lon,Lat\nA,甲,卫生院,330001,330001004,120.15,28.85\n",
        encoding="utf-8")
    region = validate_folder(tmp_path, base=base)
    assert region.facilities.at["A", "township_code"] == "330001004"


def test_table_with_an_unhelpful_name_is_classified_by_its_columns(tmp_path: Path) -> None:
    (tmp_path / "export_2024.csv").write_text(
        "facility_id,name,kind,county_code,township_code,lon,lat\nA,甲,卫生院,330001,330001004,120.15,28.85\n",
        encoding="utf-8")
    region = validate_folder(tmp_path, base=small_base())
    assert list(region.facilities.index) == ["A"]


@pytest.mark.parametrize("name", ["乡镇卫生院.csv", "县医院名单.csv", "村卫生室.csv"])
def test_facility_file_named_after_facility_kinds_is_read_as_facilities(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(
        "facility_id,name,kind,county_code,township_code,lon,lat\nA,甲,卫生院,330001,330001004,120.15,28.85\n",
        encoding="utf-8")
    region = validate_folder(tmp_path, base=small_base())
    assert list(region.facilities.index) == ["A"]


def test_two_columns_meaning_the_same_field_are_reported_as_such(tmp_path: Path) -> None:
    (tmp_path / "villages.csv").write_text(
        "code,name,township_code,人口,常住人口,lon,lat\n330001001001,前洪村,330001001,100,100,120.05,28.95\n",
        encoding="utf-8")
    problems = problems_of(tmp_path, base=small_base())
    assert not any("'population' is not a number" in p.message for p in problems), [str(p) for p in problems]
    assert any("人口" in p.message and "常住人口" in p.message for p in problems)


# --- layer-level problems --------------------------------------------------------------------


def test_unknown_table_and_second_layer_of_a_kind_are_reported(tmp_path: Path) -> None:
    (tmp_path / "misc.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    row = "facility_id,name,kind,county_code,township_code,lon,lat\nA,甲,卫生院,330001,330001004,120.15,28.85\n"
    (tmp_path / "facilities.csv").write_text(row, encoding="utf-8")
    (tmp_path / "hospitals.csv").write_text(row, encoding="utf-8")
    problems = problems_of(tmp_path, base=small_base())
    assert any(p.source == str(tmp_path / "misc.csv") and p.message == "is not a known layer (columns: a, b)"
               for p in problems)
    assert any(p.source == str(tmp_path / "hospitals.csv") and "is a second facilities layer" in p.message
               for p in problems)


def test_missing_required_column_names_the_column_and_the_columns_found(tmp_path: Path) -> None:
    (tmp_path / "facilities.csv").write_text("facility_id,name,county_code,lon,lat\nA,甲,330001,120.15,28.85\n",
                                             encoding="utf-8")
    (problem,) = problems_of(tmp_path, base=small_base())
    assert problem.message.startswith("has no column 'kind'")
    assert "columns found: facility_id, name, county_code, lon, lat" in problem.fix


def test_facilities_without_any_location_are_reported_once(tmp_path: Path) -> None:
    (tmp_path / "facilities.csv").write_text("facility_id,name,kind,county_code\nA,甲,卫生院,330001\n", encoding="utf-8")
    (problem,) = problems_of(tmp_path, base=small_base())
    assert problem.message == "has no locations"


def test_without_a_base_region_counties_and_townships_are_required(tmp_path: Path) -> None:
    (tmp_path / "staff.csv").write_text("facility_id,title,specialty\nA,主任医师,内科\n", encoding="utf-8")
    problems = problems_of(tmp_path)
    assert [p.message for p in problems] == ["has no counties layer", "has no townships layer"]


def test_county_urban_and_rural_population_that_do_not_add_up_get_a_note(tmp_path: Path) -> None:
    _geojson(tmp_path / "counties.geojson", [_feature(
        {"adcode": "339901", "name": "甲县", "city_code": "339900", "city_name": "测试市", "province_code": "330000",
         "province_name": "浙江省", "population": 1000, "urban_population": 300, "rural_population": 600},
        _box(120.0, 29.0, 0.1, 0.1))])
    _geojson(tmp_path / "townships.geojson", [_feature(
        {"code": "339901001", "name": "甲镇", "county_code": "339901", "population": 1000},
        _box(120.0, 29.0, 0.1, 0.1))])
    region = validate_folder(tmp_path)
    assert any("urban + rural population (900) differs from population (1,000)" in n for n in region.notes)


def with_context(base: Region) -> Region:
    """`base` as part of city 330100, whose other county 330003 (the city proper) lies outside it."""
    import pandas as pd

    base.context_counties = pd.DataFrame({"adcode": ["330003"], "name": ["测试市区"], "city_code": ["330100"]},
                                         index=pd.Index(["330003"], name="adcode"))
    return base


def test_city_hospitals_in_the_other_counties_of_the_city_are_kept_as_context(tmp_path: Path) -> None:
    head = "facility_id,name,kind,admin_level,county_code,township_code,lon,lat\n"
    rows = ("A,甲,卫生院,,330001,330001004,120.15,28.85\n"
            "C1,测试市人民医院,综合医院,市级,330003,330003001,120.40,28.85\n"
            "C2,测试市区医院,综合医院,县级,330003,330003001,120.41,28.85\n")
    (tmp_path / "facilities.csv").write_text(head + rows + "X,外市医院,综合医院,市级,330099,,120.5,28.85\n", encoding="utf-8")
    [problem] = problems_of(tmp_path, base=with_context(small_base()))
    assert str(problem).endswith("facility X: county_code '330099' is not a county of the region. Fix: correct the county code")
    (tmp_path / "facilities.csv").write_text(head + rows, encoding="utf-8")
    region = validate_folder(tmp_path, base=with_context(small_base()))
    assert region.facilities["context"].to_dict() == {"A": False, "C1": True}
    assert list(region.context_counties.index) == ["330003"] and region.county_name("330003") == "测试市区"
    assert any(n.endswith("facilities.csv: 1 city or provincial hospitals in other counties of the region's cities kept "
                          "as sources of city experts; 1 other facilities there left out (first C2)") for n in region.notes)


def test_a_staff_file_alone_keeps_the_city_context_of_the_base(tmp_path: Path) -> None:
    (tmp_path / "staff.csv").write_text("facility_id,title,specialty,count\nH1,主治医师,内科,3\n", encoding="utf-8")
    region = validate_folder(tmp_path, base=with_context(small_base()))
    assert list(region.context_counties.index) == ["330003"]


def test_village_kind_is_read_from_the_name(tmp_path: Path) -> None:
    (tmp_path / "villages.csv").write_text(
        "code,name,township_code,lon,lat\n330001001001,前洪村村委会,330001001,120.05,28.95\n"
        "330001001002,城东社区,330001001,120.06,28.95\n330001001003,北门居委会,330001001,120.07,28.95\n",
        encoding="utf-8")
    region = validate_folder(tmp_path, base=small_base())
    assert region.villages["kind"].tolist() == ["村委会", "居委会", "居委会"]


# --- cell values -----------------------------------------------------------------------------


def small_base(two_counties: bool = False) -> Region:
    """
    A 2 x 2 grid of 0.1-degree townships; with `two_counties` the east column is county 330002::

        120.0     120.1     120.2
          +---------+---------+ 29.0
          |   001   |   002   |
          +---------+---------+ 28.9
          |   003   |   004   |
          +---------+---------+ 28.8
    """
    county_of = [["330001", "330002"], ["330001", "330002"]] if two_counties else None
    return grid_region([[1000, 1000], [1000, 1000]], [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0))],
                       county_of=county_of)


FACILITY_ROW = {"facility_id": "A", "name": "甲卫生院", "kind": "卫生院", "county_code": "330001",
                "township_code": "330001004", "lon": "120.15", "lat": "28.85"}


def facility_csv(tmp_path: Path, **cells: str) -> Path:
    row = {**FACILITY_ROW, **cells}
    path = tmp_path / "facilities.csv"
    path.write_text(",".join(row) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("column", "text", "value"),
    [("beds", "40", 40), ("beds", "1,200", 1200), ("beds", "1，200", 1200), ("beds", "40.0", 40), ("beds", "", 0),
     ("central_thc", "是", True), ("central_thc", "否", False), ("central_thc", "TRUE", True),
     ("central_thc", "0", False),
     ("central_thc", "√", True), ("release_share", "0.3", 0.3), ("release_share", "1", 1.0),
     ("grade", "一级甲等", Grade.L1A), ("grade", "", Grade.UNRATED), ("ownership", "民营", "private"),
     ("ownership", "", "public"), ("admin_level", "市级", "city"), ("admin_level", "", "township"),
     ("kind", "社区卫生服务中心", "community_health_center"), ("facility_id", "007", "007"),
     ("township_code", "330001004", "330001004")],
)
def test_good_facility_cells_are_parsed(tmp_path: Path, column: str, text: str, value: object) -> None:
    facility_csv(tmp_path, **{column: text})
    region = validate_folder(tmp_path, base=small_base())
    (fid,) = region.facilities.index
    got = region.facilities.at[fid, column]
    assert got == value
    assert type(got) is not str or isinstance(value, str)


def test_counts_written_in_wan_are_scaled_with_a_note(tmp_path: Path) -> None:
    facility_csv(tmp_path, beds="1.2万")
    region = validate_folder(tmp_path, base=small_base())
    assert int(region.facilities.at["A", "beds"]) == 12_000
    assert f"{tmp_path / 'facilities.csv'}: beds '1.2万' read as a count in 万 (x 10,000) (row 2)" in region.notes


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [("beds", "abc", "beds 'abc' is not a number"), ("beds", "-1", "beds '-1' is negative"),
     ("beds", "2.5", "beds '2.5' is not a whole number"), ("beds", "inf", "beds 'inf' is not a finite number"),
     ("central_thc", "maybe", "central_thc 'maybe' is not yes/no"),
     ("release_share", "1.5", "release_share '1.5' must be a share between 0 and 1"),
     ("release_share", "三成", "release_share '三成' is not a number"),
     ("county_code", "33001", "county_code '33001' has 5 digits, expected 6 (leading zeros lost?)"),
     ("county_code", "3300010", "county_code '3300010' has 7 digits, expected 6"),
     ("county_code", "330001.0", "county_code '330001.0' looks like a code stored as a decimal number"),
     ("county_code", "33OOO1", "county_code '33OOO1' is not a 6-digit code"),
     ("township_code", "3.30001E+08", "township_code '3.30001E+08' looks like a code that Excel turned into a number"),
     ("grade", "四甲", "grade '四甲' is not a hospital grade"),
     ("kind", "卫生员", "kind '卫生员' is not a facility kind"),
     ("ownership", "集体", "ownership '集体' is not an ownership"),
     ("admin_level", "州级", "admin_level '州级' is not an administrative level"),
     ("facility_id", "", "facility_id is missing"),
     ("name", "", "name is missing"),
     ("kind", "", "kind is missing"),
     ("lon", "12.015", "lies at (12.0150, 28.8500), outside China"),
     ("lon", "12015", "that are not degrees"),
     ("lat", "120.15", "that are not degrees")],
)
def test_bad_facility_cells_are_reported_with_row_and_fix(tmp_path: Path, column: str, text: str,
                                                          message: str) -> None:
    facility_csv(tmp_path, **{column: text})
    problems = problems_of(tmp_path, base=small_base())
    hits = [p for p in problems if message in p.message]
    assert hits, [str(p) for p in problems]
    assert hits[0].source == str(tmp_path / "facilities.csv")
    assert hits[0].where == "row 2"
    assert hits[0].fix


# --- user facilities against a base region ---------------------------------------------------


def test_user_facilities_replace_the_base_facilities_and_keep_its_geography(tmp_path: Path) -> None:
    base = small_base()
    facility_csv(tmp_path)
    region = validate_folder(tmp_path, base=base)
    assert list(region.facilities.index) == ["A"]
    assert region.counties.equals(base.counties) and region.townships.equals(base.townships)


def test_user_facility_with_an_unknown_county_code_is_reported(tmp_path: Path) -> None:
    facility_csv(tmp_path, county_code="339999", township_code="")
    problems = problems_of(tmp_path, base=small_base())
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'facilities.csv'}: facility A: county_code '339999' is not a county of the region. "
        "Fix: correct the county code"]


def test_user_facility_outside_its_county_is_reported(tmp_path: Path) -> None:
    facility_csv(tmp_path, lon="120.5", township_code="")  # 0.3 degrees east of the grid
    (problem,) = problems_of(tmp_path, base=small_base())
    assert problem.where == "facility A"
    assert problem.message.startswith("location (120.50000, 28.85000) lies outside its county 330001")


def test_user_facility_in_the_other_county_of_the_region_is_reported(tmp_path: Path) -> None:
    facility_csv(tmp_path, lon="120.15", township_code="")  # 330002's column, but county 330001 is declared
    (problem,) = problems_of(tmp_path, base=small_base(two_counties=True))
    assert "lies outside its county 330001" in problem.message


def test_user_facility_whose_township_is_in_another_county_is_reported(tmp_path: Path) -> None:
    facility_csv(tmp_path, lon="120.05", township_code="330002004")
    (problem,) = problems_of(tmp_path, base=small_base(two_counties=True))
    assert problem.message == "township 330002004 is not in county 330001"


def test_user_facility_with_an_unknown_township_code_is_reported(tmp_path: Path) -> None:
    facility_csv(tmp_path, township_code="330001999")
    (problem,) = problems_of(tmp_path, base=small_base())
    assert problem.message == "township_code '330001999' is not a township of the region"
    assert "leave it blank" in problem.fix


@pytest.mark.parametrize("county_code", ["", "33001"])
def test_malformed_county_code_is_reported_once(tmp_path: Path, county_code: str) -> None:
    facility_csv(tmp_path, county_code=county_code)
    problems = problems_of(tmp_path, base=small_base())
    assert [p.where for p in problems] == ["row 2"], [str(p) for p in problems]


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS:UserWarning")
@pytest.mark.parametrize(("lon", "lat", "township"),
                         [("120.15", "28.85", "330001004"), ("120.05", "28.95", "330001001"),
                          ("120.203", "28.85", "330001004")],  # 0.003 degrees outside the grid: the nearest township
                         ids=["inside-004", "inside-001", "beside-the-edge"])
def test_user_facility_without_township_code_gets_the_township_it_lies_in(tmp_path: Path, lon: str, lat: str,
                                                                          township: str) -> None:
    facility_csv(tmp_path, lon=lon, lat=lat, township_code="")
    region = validate_folder(tmp_path, base=small_base())
    assert region.facilities.at["A", "township_code"] == township


def test_assigning_townships_from_locations_emits_no_warnings(tmp_path: Path) -> None:
    facility_csv(tmp_path, township_code="")
    region = validate_folder(tmp_path, base=small_base())
    assert region.facilities.at["A", "township_code"] == "330001004"


def test_user_facility_within_the_edge_tolerance_of_its_county_is_accepted(tmp_path: Path) -> None:
    facility_csv(tmp_path, lon="120.2049", township_code="330001004")  # 0.0049 degrees (~480 m) outside the border
    region = validate_folder(tmp_path, base=small_base())
    assert list(region.facilities.index) == ["A"]


def test_user_staff_against_base_facilities_reports_unknown_ids(tmp_path: Path) -> None:
    (tmp_path / "staff.csv").write_text("facility_id,title,specialty,count\nH1,主任医师,内科,2\nH9,主治医师,内科,1\n",
                                        encoding="utf-8")
    (problem,) = problems_of(tmp_path, base=small_base())
    assert (problem.where, problem.message) == ("row 3", "facility_id 'H9' is not a facility of the region")


# --- the planner's own output ----------------------------------------------------------------


def test_facilities_written_by_write_csv_validate_again(tmp_path: Path) -> None:
    base = small_base()
    out = base.facilities.drop(columns=["grade"])
    write_csv(out, tmp_path / "facilities.csv")
    region = validate_folder(tmp_path, base=base)
    assert list(region.facilities.index) == ["H1"]
