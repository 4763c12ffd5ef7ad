"""Bounded, strict input: codes in ASCII digits, complete layers, populations against the census,
archives read whole or refused, bounded rows and problem lists, roads that reach the region, and
plan files of bounded size and depth."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from planner import io, regions
from planner._errors import InputDataError
from planner.validate import MAX_PROBLEMS, region_from_tables

HEAD = "facility_id,name,kind,grade,ownership,county_code,lon,lat\n"
ROW = "H1,测试县人民医院,综合医院,二甲,公立,{county},120.07,29.31\n"


@pytest.fixture(scope="module")
def yiwu():
    return regions.load("义乌市")


def problems_of(path: Path, base=None) -> list[str]:
    with pytest.raises(InputDataError) as exc:
        region_from_tables(io.read_tables(path), name="x", base=base, partial=base is None)
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize("code", ["３３０７８２", "٣٣٠٧٨٢"])
def test_codes_in_other_digits_are_refused_with_the_ascii_code(tmp_path: Path, code: str) -> None:
    path = tmp_path / "facilities.csv"
    path.write_text(HEAD + ROW.format(county=code), encoding="utf-8")
    assert problems_of(path) == [f"{path}: row 2: county_code {code!r} is written in full-width or other non-ASCII "
                                 "digits (write 330782). Fix: write the code as text with all its digits (format the "
                                 "column as Text in Excel)"]


def test_a_population_beyond_any_county_is_refused(tmp_path: Path, yiwu) -> None:
    towns = yiwu.townships[["code", "name", "county_code", "population", "geometry"]].copy()
    towns["population"] = towns["population"].astype(object)
    towns.iloc[0, towns.columns.get_loc("population")] = 10**15
    path = tmp_path / "townships.gpkg"
    gpd.GeoDataFrame(towns, geometry="geometry", crs="EPSG:4326").to_file(path, layer="townships")
    found = problems_of(path, yiwu)
    assert any("population '1000000000000000' is beyond 1,000,000,000" in p for p in found), found


def test_a_townships_layer_missing_some_of_a_county_is_refused_naming_them(tmp_path: Path, yiwu) -> None:
    towns = yiwu.townships[["code", "name", "county_code", "population", "geometry"]].iloc[:-2]
    path = tmp_path / "townships.gpkg"
    gpd.GeoDataFrame(towns, geometry="geometry", crs="EPSG:4326").to_file(path, layer="townships")
    found = problems_of(path, yiwu)
    last = yiwu.townships.iloc[-2:]
    names = ", ".join(f"{n} ({c})" for c, n in zip(last.index, last["name"]))
    assert found == [f"{path}: county 330782: gives 12 of the county's 14 townships; missing: {names}. Fix: give every "
                     "township of each county the file touches (a partial county would be planned as if it were the "
                     "whole)"]


def test_populations_far_from_the_census_give_a_warning(tmp_path: Path, yiwu) -> None:
    towns = yiwu.townships[["code", "name", "county_code", "population", "geometry"]].copy()
    towns["population"] = towns["population"] * 2
    path = tmp_path / "townships.gpkg"
    gpd.GeoDataFrame(towns, geometry="geometry", crs="EPSG:4326").to_file(path, layer="townships")
    region = region_from_tables(io.read_tables(path), name="x", base=yiwu)
    census = int(yiwu.counties.at["330782", "population"])
    assert f"{path}: county 330782: warning: its townships sum to {2 * int(yiwu.townships['population'].sum()):,} " \
           f"residents, the 2020 census gives {census:,} (+100%, beyond the 10% tolerance); check the population column " \
           "(units, typing errors)" in region.notes


def test_a_zip_with_two_shapefiles_is_refused_not_read_in_part(tmp_path: Path) -> None:
    parts = {}
    for name in ("a", "b"):
        gdf = gpd.GeoDataFrame({"code": ["330782001"]}, geometry=[shapely.box(120, 29, 120.1, 29.1)], crs="EPSG:4326")
        gdf.to_file(tmp_path / f"{name}.shp")
        parts.update({p.name: p.read_bytes() for p in tmp_path.glob(f"{name}.*")})
    archive = tmp_path / "townships.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for n, data in sorted(parts.items()):
            z.writestr(n, data)
    with pytest.raises(InputDataError) as exc:
        io.read_tables(archive)
    assert str(exc.value) == (f"{archive}: holds 2 shapefiles (a.shp, b.shp). Fix: zip one shapefile per archive, or put "
                              "the layers in one GeoPackage")


def test_a_zip_that_expands_hugely_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "townships.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("townships.shp", b"\0" * (80 * 2**20))
    with pytest.raises(InputDataError, match=r"expands to 83,886,080 bytes from [\d,]+ \([\d,]+ times\)"):
        io.read_tables(archive)


def test_rows_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "MAX_ROWS", 3)
    path = tmp_path / "facilities.csv"
    path.write_text(HEAD + "".join(ROW.format(county="330782").replace("H1", f"H{n}") for n in range(5)), encoding="utf-8")
    with pytest.raises(InputDataError, match="has more than 3 rows"):
        io.read_tables(path)
    import openpyxl

    monkeypatch.setattr(io, "EXCEL_MAX_ROWS", 4)
    wb = openpyxl.Workbook()
    for n in range(6):
        wb.active.append([f"H{n}", "x"])
    wb.save(tmp_path / "facilities.xlsx")
    with pytest.raises(InputDataError, match="has more than 4 rows, more than Excel itself holds"):
        io.read_tables(tmp_path / "facilities.xlsx")


def test_problems_are_listed_up_to_a_bound_then_counted(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    rows = "".join(f"H{n},医院{n},综合医院,二甲,公立,33078X,120.07,29.31\n" for n in range(MAX_PROBLEMS + 30))
    path.write_text(HEAD + rows, encoding="utf-8")
    found = problems_of(path)
    assert len(found) == MAX_PROBLEMS + 1
    assert found[-1] == f"{path}: 30 more problems not listed (80 in all). Fix: fix the problems above (they are often " \
                        "of one kind) and validate again"


def _roads(tmp_path: Path, lines: list, **cols: list) -> Path:
    path = tmp_path / "roads.geojson"
    gpd.GeoDataFrame(cols, geometry=lines, crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def test_roads_with_negative_minutes_or_speeds_are_refused(tmp_path: Path) -> None:
    from planner.pipeline import load_travel
    from planner.rulefile import load_rules

    line = shapely.LineString([(120.0, 29.3), (120.1, 29.3)])
    path = _roads(tmp_path, [line, line], travel_min=[-5.0, 3.0], speed_kph=[40.0, -1.0])
    with pytest.raises(InputDataError) as exc:
        load_travel(load_rules("zhejiang-2026"), road_file=str(path))
    assert [str(p) for p in exc.value.problems] == [
        f"{path}: row 1: travel_min '-5' is not minutes from 0 to 1,440. Fix: give minutes from 0 to 1,440 (or leave it "
        "blank for the default)",
        f"{path}: row 2: speed_kph '-1' is not a speed in km/h above 0 and at most 200. Fix: give a speed in km/h above 0 "
        "and at most 200 (or leave it blank for the default)"]


def test_roads_that_do_not_reach_the_region_are_refused(tmp_path: Path, yiwu) -> None:
    from planner.pipeline import load_travel
    from planner.rulefile import load_rules

    far = shapely.LineString([(110.0, 20.0), (110.1, 20.0)])   # Hainan, 1,000 km away
    path = _roads(tmp_path, [far], speed_kph=[40.0])
    with pytest.raises(InputDataError, match=r"does not reach 义乌市: 14 of its 14 townships are over 20 km from the "
                                             r"nearest road \(nearest 1,\d\d\d km; 稠城街道 \(330782001\)"):
        load_travel(load_rules("zhejiang-2026"), road_file=str(path), region=yiwu)


def test_plan_files_are_bounded_in_depth_and_typed(tmp_path: Path) -> None:
    from planner.planfile import read_plan

    deep = tmp_path / "plan.json"
    deep.write_text('{"format": 1, "meta": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(InputDataError, match="nests lists or objects deeper than 32 levels"):
        read_plan(deep)
    doc = {"format": 1, "region": "义乌市", "rules": "zhejiang-2026", "meta": {},
           "units": [{"unit": "330782", "scope": "county", "name": "义乌市", "status": "SOLVED", "objective": "x",
                      "communities": [{"id": "a", "lead": "H330782-01", "townships": [330782001]}]}]}
    deep.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputDataError) as exc:
        read_plan(deep)
    assert [p.message for p in exc.value.problems] == [
        "status 'SOLVED' is not a solver status", "`objective` 'x' is not a finite number",
        "`townships` is not a list of township codes (text)"]
