"""Tests of ``planner.io``: reading every supported format to text tables in WGS84, and writing atomically.

Every input file is written into ``tmp_path`` by the test that reads it.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from planner import gcj02
from planner._errors import InputDataError
from planner.io import (
    RawTable,
    atomic_path,
    list_layers,
    read_tables,
    write_bytes,
    write_csv,
    write_layers,
    write_text,
    write_xlsx,
)

BOM = b"\xef\xbb\xbf"


def townships_frame(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """
    Two townships side by side near 120E 29N, the first with a code that starts with zeros::

        +---------+---------+
        | 007...  | 3301... |
        +---------+---------+
    """
    frame = gpd.GeoDataFrame(
        {"code": ["007000001", "330102002"], "name": ["西湖街道", "佛堂镇"], "population": [12000, 3400],
         "share": [0.5, None]},
        geometry=[shapely.box(120.0, 29.0, 120.1, 29.1), shapely.box(120.1, 29.0, 120.2, 29.1)], crs="EPSG:4326")
    return frame.to_crs(crs) if crs != "EPSG:4326" else frame


def facilities_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"facility_id": ["007", "H2"], "name": ["某卫生院", "某县人民医院"]},
                            geometry=[shapely.Point(120.05, 29.05), shapely.Point(120.15, 29.05)], crs="EPSG:4326")


def staff_frame() -> pd.DataFrame:
    return pd.DataFrame({"facility_id": ["007", "H2"], "title": ["主任医师", "住院医师"], "count": [2, 5]})


def by_layer(tables: list[RawTable]) -> dict[str, RawTable]:
    return {t.layer: t for t in tables}


def assert_close(g: shapely.Geometry, expected: shapely.Geometry, tol: float = 1e-7) -> None:
    assert g.geom_type == expected.geom_type
    assert shapely.equals_exact(shapely.normalize(g), shapely.normalize(expected), tolerance=tol), (g.wkt, expected.wkt)


# --- GeoPackage ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GeoPackage with a WGS84 layer, a CGCS2000 layer, a projected layer and an attribute table (read only)."""
    path = tmp_path_factory.mktemp("gpkg") / "region.gpkg"
    pyogrio.write_dataframe(townships_frame(), path, layer="townships")
    pyogrio.write_dataframe(townships_frame("EPSG:4490"), path, layer="townships_cgcs2000", append=True)
    # CGCS2000 / 3-degree Gauss-Kruger CM 120E: the projected CRS Zhejiang surveys use.
    pyogrio.write_dataframe(townships_frame("EPSG:4549"), path, layer="townships_gk", append=True)
    pyogrio.write_dataframe(staff_frame(), path, layer="staff", append=True)
    return path


def test_geopackage_lists_every_layer(gpkg: Path) -> None:
    assert list_layers(gpkg) == ["townships", "townships_cgcs2000", "townships_gk", "staff"]


def test_geopackage_reads_every_layer_as_text_with_labels_naming_the_layer(gpkg: Path) -> None:
    tables = by_layer(read_tables(gpkg))
    assert list(tables) == ["townships", "townships_cgcs2000", "townships_gk", "staff"]
    t = tables["townships"]
    assert t.label == f"{gpkg}[townships]"
    assert t.row_offset == 1 and t.row(0) == "row 1"
    assert t.notes == []
    assert isinstance(t.frame, gpd.GeoDataFrame) and t.frame.crs == "EPSG:4326"
    records = t.frame.drop(columns="geometry").to_dict("records")
    assert records == [{"code": "007000001", "name": "西湖街道", "population": "12000", "share": "0.5"},
                       {"code": "330102002", "name": "佛堂镇", "population": "3400", "share": None}]


@pytest.mark.parametrize(("layer", "crs_name"), [("townships_cgcs2000", "China Geodetic Coordinate System 2000"),
                                                 ("townships_gk", "CGCS2000 / 3-degree Gauss-Kruger CM 120E")])
def test_geopackage_layer_in_another_crs_is_converted_to_wgs84_with_a_note(gpkg: Path, layer: str,
                                                                            crs_name: str) -> None:
    t = by_layer(read_tables(gpkg))[layer]
    assert t.notes == [f"converted from {crs_name} to WGS84"]
    assert t.frame.crs == "EPSG:4326"
    for got, expected in zip(t.frame.geometry, townships_frame().geometry):
        assert_close(got, expected, tol=1e-7)


def test_geopackage_layer_in_epsg_4547_is_converted_to_wgs84(tmp_path: Path) -> None:
    """CGCS2000 / 3-degree Gauss-Kruger CM 114E (Hubei, Hunan, Guangdong)."""
    path = tmp_path / "wuhan.gpkg"
    wuhan = gpd.GeoDataFrame({"code": ["420102001"]}, geometry=[shapely.Point(114.30, 30.59)], crs="EPSG:4326")
    pyogrio.write_dataframe(wuhan.to_crs("EPSG:4547"), path, layer="townships")
    (t,) = read_tables(path)
    assert t.notes == ["converted from CGCS2000 / 3-degree Gauss-Kruger CM 114E to WGS84"]
    assert_close(t.frame.geometry.iloc[0], shapely.Point(114.30, 30.59), tol=1e-7)


def test_geopackage_attribute_table_is_read_without_geometry(gpkg: Path) -> None:
    t = by_layer(read_tables(gpkg))["staff"]
    assert not isinstance(t.frame, gpd.GeoDataFrame)
    assert t.frame.to_dict("records") == [{"facility_id": "007", "title": "主任医师", "count": "2"},
                                          {"facility_id": "H2", "title": "住院医师", "count": "5"}]


def test_declaring_cgcs2000_for_a_cgcs2000_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "townships.gpkg"
    pyogrio.write_dataframe(townships_frame("EPSG:4490"), path, layer="townships")
    (t,) = read_tables(path, crs="cgcs2000")
    assert t.frame.crs == "EPSG:4326"


@pytest.mark.parametrize(("crs", "message"), [
    ("wgs84", r"declared wgs84 but the file says its CRS is 'China Geodetic Coordinate System 2000'"),
    ("cgcs2000", r"declared cgcs2000 but the file says its CRS is 'WGS 84'"),
    ("gcj02", r"declared GCJ-02 but the file is in the projected CRS"),
])
def test_declared_crs_that_contradicts_the_file_is_reported(gpkg: Path, crs: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message) as info:
        read_tables(gpkg, crs=crs)
    assert str(gpkg) in info.value.problems[0].source


# --- GeoJSON ---------------------------------------------------------------------------------


def test_geojson_is_read_as_text_with_codes_kept_and_no_layer_in_the_label(tmp_path: Path) -> None:
    path = tmp_path / "townships.geojson"
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.1, 29.1]},
                 "properties": {"code": "007000001", "name": "西湖街道", "population": 12000, "ratio": 0.25,
                                "urban": True, "note": None}}]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    (t,) = read_tables(path)
    assert t.label == str(path) and t.layer == "townships"
    assert t.notes == []
    assert t.frame.drop(columns="geometry").to_dict("records") == [
        {"code": "007000001", "name": "西湖街道", "population": "12000", "ratio": "0.25", "urban": "true", "note": None}]
    assert_close(t.frame.geometry.iloc[0], shapely.Point(120.1, 29.1))


def test_geojson_feature_without_geometry_has_none(tmp_path: Path) -> None:
    path = tmp_path / "facilities.json"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {"facility_id": "F6"},'
                    ' "geometry": null}]}', encoding="utf-8")
    (t,) = read_tables(path)
    assert t.frame["facility_id"].tolist() == ["F6"]
    assert t.frame.geometry.iloc[0] is None


# --- Shapefile -------------------------------------------------------------------------------


def write_gbk_shapefile(folder: Path, *, cpg: bool) -> Path:
    folder.mkdir()
    path = folder / "townships.shp"
    pyogrio.write_dataframe(townships_frame(), path, encoding="GBK")
    assert (folder / "townships.cpg").read_text().strip().upper() == "GBK"
    if not cpg:
        (folder / "townships.cpg").unlink()
    return path


def test_shapefile_with_cpg_declaring_gbk_reads_chinese_names(tmp_path: Path) -> None:
    (t,) = read_tables(write_gbk_shapefile(tmp_path / "shp", cpg=True))
    assert t.frame["name"].tolist() == ["西湖街道", "佛堂镇"]
    assert t.frame["code"].tolist() == ["007000001", "330102002"]
    assert t.label == str(tmp_path / "shp" / "townships.shp") and t.row_offset == 1


def test_shapefile_without_cpg_reads_gbk_names_when_the_encoding_is_given(tmp_path: Path) -> None:
    (t,) = read_tables(write_gbk_shapefile(tmp_path / "shp", cpg=False), encoding="gbk")
    assert t.frame["name"].tolist() == ["西湖街道", "佛堂镇"]


def test_shapefile_without_cpg_guesses_gbk_names(tmp_path: Path) -> None:
    (t,) = read_tables(write_gbk_shapefile(tmp_path / "shp", cpg=False))
    assert t.frame["name"].tolist() == ["西湖街道", "佛堂镇"]


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as z:
        for part in sorted(folder.iterdir()):
            z.write(part, prefix + part.name)
    return target


def test_zipped_shapefile_is_read_and_labelled_by_the_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shp = write_gbk_shapefile(tmp_path / "shp", cpg=True)
    zip_folder(shp.parent, tmp_path / "townships.zip")
    monkeypatch.chdir(tmp_path)
    (t,) = read_tables("townships.zip")
    assert t.label == "townships.zip" and t.layer == "townships" and t.row_offset == 1
    assert t.frame["name"].tolist() == ["西湖街道", "佛堂镇"]
    assert t.frame["code"].tolist() == ["007000001", "330102002"]
    assert_close(t.frame.geometry.iloc[0], shapely.box(120.0, 29.0, 120.1, 29.1))


def test_zipped_shapefile_is_read_from_an_absolute_path(tmp_path: Path) -> None:
    shp = write_gbk_shapefile(tmp_path / "shp", cpg=True)
    path = zip_folder(shp.parent, tmp_path / "townships.zip")
    assert path.is_absolute()
    (t,) = read_tables(path)
    assert t.frame["name"].tolist() == ["西湖街道", "佛堂镇"]


def test_zipped_shapefile_inside_a_folder_of_the_zip_is_read(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    shp = write_gbk_shapefile(tmp_path / "shp", cpg=True)
    zip_folder(shp.parent, tmp_path / "townships.zip", prefix="townships/")
    monkeypatch.chdir(tmp_path)
    (t,) = read_tables("townships.zip")
    assert t.frame["name"].tolist() == ["西湖街道", "佛堂镇"]


# --- CSV -------------------------------------------------------------------------------------

CSV_TEXT = "facility_id,name,county_code,beds\n007,某镇卫生院,330102,40\nH2,某县人民医院,330102,500\n"


@pytest.mark.parametrize(
    ("encode", "notes"),
    [(lambda s: s.encode("utf-8"), []),
     (lambda s: BOM + s.encode("utf-8"), ["UTF-8 byte-order mark removed"]),
     (lambda s: s.encode("gbk"), ["read as GBK/GB18030 (not UTF-8)"]),
     (lambda s: s.encode("gb18030"), ["read as GBK/GB18030 (not UTF-8)"])],
    ids=["utf-8", "utf-8-bom", "gbk", "gb18030"],
)
def test_csv_in_every_common_encoding_reads_chinese_names_and_notes_guesses(tmp_path: Path, encode, notes) -> None:
    path = tmp_path / "facilities.csv"
    path.write_bytes(encode(CSV_TEXT))
    (t,) = read_tables(path)
    assert t.notes == notes
    assert list(t.frame.columns) == ["facility_id", "name", "county_code", "beds"]
    assert t.frame.to_dict("records") == [
        {"facility_id": "007", "name": "某镇卫生院", "county_code": "330102", "beds": "40"},
        {"facility_id": "H2", "name": "某县人民医院", "county_code": "330102", "beds": "500"}]
    assert t.label == str(path) and t.layer == "facilities" and t.row_offset == 2 and t.row(0) == "row 2"


def test_gb18030_characters_outside_gbk_are_read(tmp_path: Path) -> None:
    path = tmp_path / "villages.csv"
    path.write_bytes("code,name\n330102001001,𠀀家村\n".encode("gb18030"))  # U+20000 needs GB18030's 4-byte form
    (t,) = read_tables(path)
    assert t.frame["name"].tolist() == ["𠀀家村"]
    assert t.notes == ["read as GBK/GB18030 (not UTF-8)"]


@pytest.mark.parametrize("encoding", ["gbk", "GB18030", "cp936"])
def test_csv_with_the_encoding_given_is_read_without_a_note(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "facilities.csv"
    path.write_bytes(CSV_TEXT.encode("gbk"))
    (t,) = read_tables(path, encoding=encoding)
    assert t.frame["name"].tolist() == ["某镇卫生院", "某县人民医院"]
    assert t.notes == []


def test_utf8_csv_with_bom_read_with_encoding_utf8_keeps_the_first_column_name(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    path.write_bytes(BOM + CSV_TEXT.encode("utf-8"))
    (t,) = read_tables(path, encoding="utf-8")
    assert list(t.frame.columns)[0] == "facility_id"


@pytest.mark.parametrize(("encoding", "message"), [("utf-8", "cannot be decoded as utf-8"),
                                                   ("no-such-codec", "cannot be decoded as no-such-codec")])
def test_csv_that_cannot_be_decoded_with_the_given_encoding_is_reported(tmp_path: Path, encoding: str,
                                                                        message: str) -> None:
    path = tmp_path / "facilities.csv"
    path.write_bytes(CSV_TEXT.encode("gbk"))
    with pytest.raises(InputDataError, match=message):
        read_tables(path, encoding=encoding)


def test_csv_blank_cells_are_none_and_text_is_stripped_but_na_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    path.write_text(" facility_id , name ,grade\n 007 ,  某院  ,\nNA,N/A, \n", encoding="utf-8")
    (t,) = read_tables(path)
    assert list(t.frame.columns) == ["facility_id", "name", "grade"]
    assert t.frame.to_dict("records") == [{"facility_id": "007", "name": "某院", "grade": None},
                                          {"facility_id": "NA", "name": "N/A", "grade": None}]


def test_txt_file_is_read_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "staff.txt"
    path.write_text("facility_id,title\n007,主任医师\n", encoding="utf-8")
    (t,) = read_tables(path)
    assert t.frame.to_dict("records") == [{"facility_id": "007", "title": "主任医师"}]


@pytest.mark.parametrize(("lon", "lat"), [("lon", "lat"), ("经度", "纬度"), ("Longitude", "Latitude"), ("lng", "lat"),
                                          ("X", "Y")])
def test_csv_with_longitude_and_latitude_columns_gets_point_geometry(tmp_path: Path, lon: str, lat: str) -> None:
    path = tmp_path / "facilities.csv"
    path.write_text(f"facility_id,{lon},{lat}\n007,120.15,28.85\nF6,,\nF8,东经120度,28.9\n", encoding="utf-8")
    (t,) = read_tables(path)
    assert isinstance(t.frame, gpd.GeoDataFrame) and t.frame.crs == "EPSG:4326"
    geoms = list(t.frame.geometry)
    assert_close(geoms[0], shapely.Point(120.15, 28.85), tol=0)
    assert geoms[1] is None and geoms[2] is None
    assert t.frame[lon].tolist() == ["120.15", None, "东经120度"]  # the text columns are kept as read


def test_csv_without_coordinates_has_no_geometry(tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text("facility_id,title\n007,主任医师\n", encoding="utf-8")
    (t,) = read_tables(path)
    assert not isinstance(t.frame, gpd.GeoDataFrame)
    assert "geometry" not in t.frame.columns


def test_csv_row_with_an_extra_field_is_reported_not_shifted(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    path.write_text("facility_id,name,beds\nA,某医院,分院,100\nB,乙院,20\n", encoding="utf-8")
    try:
        (t,) = read_tables(path)
    except InputDataError:
        return
    assert t.frame["facility_id"].tolist()[1] == "B"


def test_csv_row_label_after_a_blank_line_names_the_line_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    path.write_text("facility_id,name\nA,甲\n\nB,乙\n", encoding="utf-8")
    (t,) = read_tables(path)
    position = t.frame["facility_id"].tolist().index("B")
    assert t.row(position) == "row 4"


# --- XLSX ------------------------------------------------------------------------------------


def write_workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_xlsx_codes_as_text_keep_zeros_and_numbers_are_read_as_their_text(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "facilities.xlsx", {"Sheet1": [
        ["facility_id", "name", "county_code", "township_code", "beds", "release_share", "dialysis", "经度", "纬度"],
        ["007", "某卫生院", "330102", 330102001, 40, 0.25, True, 120.15, 28.85],
        [7, "  某医院  ", 330102.0, "330102001", 40.0, None, False, None, None],
    ]})
    (t,) = read_tables(path)
    assert t.label == str(path) and t.layer == "facilities" and t.row_offset == 2
    assert t.frame.drop(columns="geometry").to_dict("records") == [
        {"facility_id": "007", "name": "某卫生院", "county_code": "330102", "township_code": "330102001", "beds": "40",
         "release_share": "0.25", "dialysis": "true", "经度": "120.15", "纬度": "28.85"},
        {"facility_id": "7", "name": "某医院", "county_code": "330102", "township_code": "330102001", "beds": "40",
         "release_share": None, "dialysis": "false", "经度": None, "纬度": None}]
    assert_close(t.frame.geometry.iloc[0], shapely.Point(120.15, 28.85), tol=0)
    assert t.frame.geometry.iloc[1] is None


def test_xlsx_twelve_digit_code_stored_as_a_number_keeps_every_digit(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "villages.xlsx", {"v": [["code", "name"], [330102001001, "某村"],
                                                             [3.30102001002e11, "另村"]]})
    (t,) = read_tables(path)
    assert t.frame["code"].tolist() == ["330102001001", "330102001002"]


def test_xlsx_with_several_sheets_gives_one_table_per_sheet_named_after_it(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "region.xlsx", {
        "facilities": [["facility_id", "name", None, None], ["007", "某卫生院"]],
        "empty": [],
        "staff": [["facility_id", "title", "count"], ["007", "主任医师", 2], [None, None, None], ["007", "住院医师", 3]],
    })
    assert list_layers(path) == ["facilities", "empty", "staff"]
    tables = by_layer(read_tables(path))
    assert list(tables) == ["facilities", "staff"]  # the empty sheet is skipped
    assert tables["facilities"].label == f"{path}[facilities]"
    assert list(tables["facilities"].frame.columns) == ["facility_id", "name"]  # trailing blank headers dropped
    assert tables["staff"].frame.to_dict("records") == [{"facility_id": "007", "title": "主任医师", "count": "2"},
                                                        {"facility_id": "007", "title": "住院医师", "count": "3"}]


def test_xlsx_row_label_after_a_blank_row_names_the_excel_row(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "facilities.xlsx", {"f": [["facility_id", "name"], ["A", "甲"], [None, None],
                                                               ["B", "乙"]]})
    (t,) = read_tables(path)
    position = t.frame["facility_id"].tolist().index("B")
    assert t.row(position) == "row 4"


def test_xlsx_with_gcj02_coordinates_is_converted(tmp_path: Path) -> None:
    glon, glat = gcj02.wgs84_to_gcj02(120.15, 28.85)
    path = write_workbook(tmp_path / "facilities.xlsx", {"f": [["facility_id", "经度", "纬度"],
                                                               ["007", float(glon), float(glat)]]})
    (t,) = read_tables(path, crs="gcj02")
    assert_close(t.frame.geometry.iloc[0], shapely.Point(120.15, 28.85), tol=1e-7)


# --- unreadable files ------------------------------------------------------------------------


def _truncated_gpkg(tmp_path: Path) -> Path:
    whole = tmp_path / "whole.gpkg"
    pyogrio.write_dataframe(townships_frame(), whole, layer="townships")
    data = whole.read_bytes()
    path = tmp_path / "townships.gpkg"
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_xlsx(tmp_path: Path) -> Path:
    whole = write_workbook(tmp_path / "whole.xlsx", {"s": [["a", "b"], [1, 2]]})
    data = whole.read_bytes()
    path = tmp_path / "facilities.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def _write(name: str, data: bytes):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return make


def _folder(tmp_path: Path) -> Path:
    path = tmp_path / "townships.gpkg"  # a folder with a supported suffix
    path.mkdir()
    return path


def _shapefile_without_shx(tmp_path: Path) -> Path:
    path = tmp_path / "townships.shp"
    pyogrio.write_dataframe(townships_frame(), path)
    (tmp_path / "townships.shx").unlink()
    return path


def _zip_without_shapefile(tmp_path: Path) -> Path:
    path = tmp_path / "townships.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "nothing here")
    return path


UNREADABLE = {
    "truncated geopackage": (_truncated_gpkg, "is not a readable GeoPackage|is a damaged GeoPackage|cannot be read as a GeoPackage"),
    "truncated xlsx": (_truncated_xlsx, "cannot be read as an Excel workbook"),
    "csv saved as xlsx": (_write("facilities.xlsx", CSV_TEXT.encode()), "cannot be read as an Excel workbook"),
    "invalid json": (_write("townships.geojson", b'{"type": "FeatureCollection", "features": [{'),
                     "cannot be read as GeoJSON"),
    "json that is not geojson": (_write("townships.json", b"[1, 2, 3"), "cannot be read as GeoJSON"),
    "garbage shapefile": (_write("townships.shp", b"\x00garbage" * 50), "has no .dbf file beside it"),
    "shapefile without shx": (_shapefile_without_shx, "cannot be read as a Shapefile"),
    "not a zip": (_write("townships.zip", b"PK? not really"), "is not a valid zip archive"),
    "zip without shapefile": (_zip_without_shapefile, "cannot be read as a zipped Shapefile"),
    "empty csv": (_write("facilities.csv", b""), r"is empty \(0 bytes\)"),
    "empty geopackage": (_write("townships.gpkg", b""), r"is empty \(0 bytes\)"),
    "blank-lines csv": (_write("facilities.csv", b"\n\n"), "has no header line"),
    "unterminated quote": (_write("facilities.csv", b'a,b\n"1,2\n'), r"row 2: has 1 fields but the header has 2"),
    "binary csv": (_write("facilities.csv", bytes(range(256)) * 4), "is neither UTF-8 nor GBK/GB18030 text"),
    "wrong extension": (_write("facilities.docx", b"PK\x03\x04"), "unsupported file type '.docx'"),
    "no extension": (_write("facilities", b"a,b\n1,2\n"), "unsupported file type ''"),
    "missing file": (lambda tmp_path: tmp_path / "nowhere.csv", "no such file"),
    "directory": (_folder, "is a folder, not a file"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_file_raises_input_data_error_naming_the_file(tmp_path: Path, case: str) -> None:
    make, message = UNREADABLE[case]
    path = make(tmp_path)
    with pytest.raises(InputDataError, match=message) as info:
        read_tables(path)
    (problem,) = info.value.problems
    assert problem.source == str(path)
    assert problem.fix
    assert str(path) in str(info.value)


def test_unknown_crs_choice_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    with pytest.raises(InputDataError, match="unknown coordinate system 'epsg:3857'.*auto, wgs84, cgcs2000, gcj02"):
        read_tables(path, crs="epsg:3857")


# --- writing ---------------------------------------------------------------------------------


def test_write_csv_starts_with_a_bom_and_reads_back_with_chinese_and_zeros(tmp_path: Path) -> None:
    path = write_csv(staff_frame().assign(facility_id=["007", "0008"]), tmp_path / "staff.csv")
    assert path == tmp_path / "staff.csv"
    assert path.read_bytes().startswith(BOM + b"facility_id,title,count\n")
    (t,) = read_tables(path)
    assert t.notes == ["UTF-8 byte-order mark removed"]
    assert t.frame.to_dict("records") == [{"facility_id": "007", "title": "主任医师", "count": "2"},
                                          {"facility_id": "0008", "title": "住院医师", "count": "5"}]


def test_write_csv_writes_geometry_as_wkt(tmp_path: Path) -> None:
    path = write_csv(facilities_frame(), tmp_path / "facilities.csv")
    text = path.read_bytes()[3:].decode("utf-8")
    assert text.splitlines()[1] == "007,某卫生院,POINT (120.05 29.05)"


def test_write_xlsx_writes_one_sheet_per_table_without_geometry(tmp_path: Path) -> None:
    long_name = "facilities_with_a_very_long_sheet_name"
    path = write_xlsx({long_name: facilities_frame(), "staff": staff_frame()}, tmp_path / "out.xlsx")
    assert list_layers(path) == [long_name[:31], "staff"]
    tables = by_layer(read_tables(path))
    assert tables[long_name[:31]].frame.to_dict("records") == [{"facility_id": "007", "name": "某卫生院"},
                                                               {"facility_id": "H2", "name": "某县人民医院"}]
    assert tables["staff"].frame["count"].tolist() == ["2", "5"]


LAYERS = {"townships": townships_frame(), "facilities": facilities_frame()}
# What read_tables gives back for LAYERS: every attribute as text, blanks as None, codes with their zeros.
LAYER_RECORDS = {
    "townships": [{"code": "007000001", "name": "西湖街道", "population": "12000", "share": "0.5"},
                  {"code": "330102002", "name": "佛堂镇", "population": "3400", "share": None}],
    "facilities": [{"facility_id": "007", "name": "某卫生院"}, {"facility_id": "H2", "name": "某县人民医院"}],
}


def _assert_round_trip(tables: dict[str, RawTable], names: dict[str, str], *, geometry: bool = True) -> None:
    for layer, name in names.items():
        frame, got = LAYERS[layer], tables[name].frame
        assert got.drop(columns="geometry", errors="ignore").to_dict("records") == LAYER_RECORDS[layer]
        if geometry:
            for g, e in zip(got.geometry, frame.geometry):
                assert_close(g, e)


def test_write_layers_to_geopackage_round_trips_every_layer(tmp_path: Path) -> None:
    [path] = write_layers({**LAYERS, "staff": staff_frame()}, tmp_path / "plan.gpkg")
    assert path == tmp_path / "plan.gpkg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]
    tables = by_layer(read_tables(path))
    assert list(tables) == ["townships", "facilities", "staff"]
    _assert_round_trip(tables, {"townships": "townships", "facilities": "facilities"})
    assert tables["staff"].frame["facility_id"].tolist() == ["007", "H2"]


def test_write_layers_to_geopackage_emits_no_gdal_warnings(tmp_path: Path) -> None:
    """The temporary file keeps the .gpkg suffix last, so GDAL does not warn about a non-conformant extension."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_layers(LAYERS, tmp_path / "plan.gpkg")
        write_layers(LAYERS, tmp_path / "plan.gpkg")  # replacing an existing file, too
    assert [str(w.message) for w in caught] == []


def test_write_layers_to_geojson_writes_one_file_per_layer(tmp_path: Path) -> None:
    write_layers(LAYERS, tmp_path / "plan.geojson")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan_facilities.geojson", "plan_townships.geojson"]
    tables = {t.layer: t for p in sorted(tmp_path.iterdir()) for t in read_tables(p)}
    _assert_round_trip(tables, {"townships": "plan_townships", "facilities": "plan_facilities"})


def test_write_layers_single_layer_writes_the_named_file(tmp_path: Path) -> None:
    [path] = write_layers({"facilities": facilities_frame()}, tmp_path / "facilities.geojson")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facilities.geojson"]
    (t,) = read_tables(path)
    assert t.frame["facility_id"].tolist() == ["007", "H2"]


def test_write_layers_to_shapefile_round_trips_short_column_names(tmp_path: Path) -> None:
    [path] = write_layers({"townships": townships_frame()}, tmp_path / "townships.shp")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"townships.{e}" for e in ("cpg", "dbf", "prj", "shp", "shx")]
    (t,) = read_tables(path)
    _assert_round_trip({"townships": t}, {"townships": "townships"}, geometry=False)
    for g, e in zip(t.frame.geometry, townships_frame().geometry):
        assert_close(g, e)


def test_write_layers_to_shapefile_keeps_schema_column_names(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_layers({"facilities": facilities_frame().assign(county_code="330102")}, tmp_path / "facilities.shp")
    (t,) = read_tables(tmp_path / "facilities.shp")
    assert {"facility_id", "county_code"} <= set(t.frame.columns)
    assert not caught


def test_write_layers_to_csv_writes_one_file_per_layer_with_bom(tmp_path: Path) -> None:
    write_layers({**LAYERS, "staff": staff_frame()}, tmp_path / "plan.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan_facilities.csv", "plan_staff.csv", "plan_townships.csv"]
    for p in tmp_path.iterdir():
        assert p.read_bytes().startswith(BOM)
    tables = {t.layer: t for p in sorted(tmp_path.iterdir()) for t in read_tables(p)}
    _assert_round_trip(tables, {"townships": "plan_townships", "facilities": "plan_facilities"}, geometry=False)
    assert tables["plan_staff"].frame["title"].tolist() == ["主任医师", "住院医师"]


def test_write_layers_to_csv_round_trips_geometry(tmp_path: Path) -> None:
    [path] = write_layers({"facilities": facilities_frame()}, tmp_path / "facilities.csv")
    (t,) = read_tables(path)
    for g, e in zip(t.frame.geometry, facilities_frame().geometry):
        assert_close(g, e)


def test_write_layers_to_xlsx_round_trips_attributes(tmp_path: Path) -> None:
    [path] = write_layers(LAYERS, tmp_path / "plan.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx"]
    tables = by_layer(read_tables(path))
    _assert_round_trip(tables, {"townships": "townships", "facilities": "facilities"}, geometry=False)


@pytest.mark.parametrize(("layers", "name", "message"), [
    ({"staff": staff_frame()}, "plan.geojson", "layer 'staff' has no geometry"),
    ({"staff": staff_frame()}, "plan.shp", "layer 'staff' has no geometry"),
    (LAYERS, "plan.kml", "cannot write '.kml' files"),
])
def test_write_layers_refuses_what_the_format_cannot_hold(tmp_path: Path, layers, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_layers(layers, tmp_path / name)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []


# --- atomic writes ---------------------------------------------------------------------------


def test_atomic_path_leaves_the_previous_file_intact_when_the_body_raises(tmp_path: Path) -> None:
    target = tmp_path / "plan.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as tmp:
        tmp.write_text("half-writ", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv"]


def test_atomic_path_replaces_the_file_on_success_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.csv"
    target.write_text("old\n", encoding="utf-8")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not tmp.exists()
        tmp.write_text("new\n", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "old\n"  # nothing visible before the body ends
    assert target.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv"]


def test_atomic_path_that_writes_nothing_leaves_the_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "plan.csv"
    target.write_text("old\n", encoding="utf-8")
    with atomic_path(target):
        pass
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv"]


def test_atomic_path_creates_missing_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "plan.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("x", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "x"


def test_write_text_and_write_bytes_replace_files_whole(tmp_path: Path) -> None:
    path = write_text(tmp_path / "report.txt", "第一行\n", bom=True)
    assert path.read_bytes() == BOM + "第一行\n".encode("utf-8")
    write_text(path, "second\n")
    assert path.read_bytes() == b"second\n"
    write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["report.txt"]


def test_geopackage_write_failing_on_a_later_layer_leaves_the_previous_file_and_no_temporary_file(
        tmp_path: Path) -> None:
    target = tmp_path / "plan.gpkg"
    target.write_bytes(b"previous plan")
    # The first layer is written to the temporary file, the second cannot be (GDAL has no complex numbers).
    bad = {"townships": townships_frame(),
           "facilities": facilities_frame().assign(impedance=[1 + 2j, 3 + 4j])}
    with pytest.raises(NotImplementedError, match="complex128"):
        write_layers(bad, target)
    assert target.read_bytes() == b"previous plan"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]


def test_xlsx_table_bytes_holds_the_values_pandas_and_openpyxl_write() -> None:
    import io as _io

    import numpy as np
    from openpyxl import load_workbook

    from planner.io import xlsx_table_bytes

    frame = pd.DataFrame({"code": ["007", "H2", "x"], "n": [1, -2, 3], "f": [0.1, 1e20, 0.015074114012348039],
                          "flag": [True, False, True], "blank": [None, "", "a<&>b"], "nan": [np.nan, 1.5, np.inf],
                          "na": pd.array([1, None, 3], dtype="Int64"), "space": [" x ", "y", "名称"]})

    def values(data: bytes) -> list:
        wb = load_workbook(_io.BytesIO(data), read_only=True)
        return [(ws.title, list(ws.iter_rows(values_only=True))) for ws in wb.worksheets]

    buf = _io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="t" * 31, index=False)
        frame.iloc[0:0].to_excel(writer, sheet_name="empty", index=False)
    ours = xlsx_table_bytes({"t" * 40: frame, "empty": frame.iloc[0:0]})
    assert values(ours) == values(buf.getvalue())
    assert xlsx_table_bytes({"a": frame}) == xlsx_table_bytes({"a": frame.copy()})


def test_xlsx_column_cells_write_each_cell_as_the_cell_by_cell_encoder_does() -> None:
    import numpy as np

    from planner.io import _xlsx_cell, _xlsx_column_cells

    columns = {
        "text": pd.Series(["a", "=1+1", " pad ", "a", "x\x01y", "", None, np.nan, "<&>\r", "\t-x", "名"], dtype=object),
        "separator": pd.Series(["\ue000sep", " pad ", "+x"], dtype=object),
        "str": pd.Series(["007", "@x", None, "007", "-1"], dtype="str"),
        "mixed": pd.Series([1, True, 1.0, 0.0, -0.0, "t", None, pd.NA, float("inf")], dtype=object),
        "floats": pd.Series([0.1, -0.0, np.nan, np.inf, 1e20]),
        "ints": pd.Series([1, -2, 3]), "bools": pd.Series([True, False]), "na": pd.array([1, None], dtype="Int64"),
    }
    for name, column in columns.items():
        column = pd.Series(column)
        for style in ("", ' s="4"'):
            expected = [_xlsx_cell(f"C{r}", v, style) for r, v in enumerate(column.tolist(), start=2)]
            assert _xlsx_column_cells(column, "C", style) == expected, name


def test_xlsx_text_columns_joined_write_random_texts_as_the_cell_by_cell_encoder_does() -> None:
    """_xlsx_bodies wraps a column's texts in one pass and writes the few it must one by one (formula starts,
    whitespace at either end): random texts of the characters that matter, against _xlsx_cell."""
    import random

    from planner.io import _xlsx_cell, _xlsx_column_cells

    rng = random.Random(18)
    alphabet = ["a", "名", " ", "\u3000", "\t", "\r", "\n", "=", "+", "-", "@", "&", "<", ">", "#", "1", ";", "\x85", "\xa0"]
    for _ in range(200):
        texts = ["".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 12))]
        column = pd.Series(texts + [None, texts[0]], dtype=object)
        for style in ("", ' s="4"'):
            expected = [_xlsx_cell(f"B{r}", v, style) for r, v in enumerate(column.tolist(), start=2)]
            assert _xlsx_column_cells(column, "B", style) == expected, texts


def test_xlsx_rows_of_a_sheet_are_the_cell_by_cell_encoders_cells_between_row_tags(monkeypatch) -> None:
    import numpy as np

    import planner.io as pio

    n = 9
    frame = pd.DataFrame({
        "text": pd.Series(["a", "=1+1", " pad ", "a", "x\x01y", "", None, np.nan, "<&>\r"], dtype=object),
        "str": pd.Series(["007", "@x", None, "007", "-1", "{0}", "{1:x}", "}{", "名"], dtype="str"),
        "mixed": pd.Series([1, True, 1.0, 0.0, -0.0, "t", None, pd.NA, float("inf")], dtype=object),
        "floats": pd.Series([0.1, -0.0, np.nan, np.inf, 1e20, 2.5, -1e-7, 3.0, 1 / 3]),
        "finite": pd.Series([0.1, -0.0, 1e20, 2.5, -1e-7, 3.0, 1 / 3, 1e16, 7.0]),
        "ints": pd.Series(range(-4, n - 4)), "bools": pd.Series([True, False] * 4 + [True]),
        "na": pd.array([1, None] * 4 + [3], dtype="Int64"),
    })
    styles = {1: 4, 3: 4}
    sheet = pio.XlsxSheet(frame, column_styles=styles)
    cols = [pio._xlsx_column(k) for k in range(len(frame.columns))]
    body = "".join(f'<row r="{r}">' + "".join(
        pio._xlsx_cell(f"{c}{r}", frame.iloc[r - 2, k] if not isinstance(frame.iloc[r - 2, k], np.generic)
                       else frame.iloc[r - 2, k].item(), f' s="{styles[k]}"' if k in styles else "")
        for k, c in enumerate(cols)) + "</row>" for r in range(2, n + 2))
    for rows in (n, 4):   # one block, and blocks of 4 rows (the last one short)
        monkeypatch.setattr(pio, "XLSX_CHUNK_ROWS", rows)
        xml = pio._xlsx_sheet(sheet)
        assert xml[xml.index('<row r="2">'):xml.index("</sheetData>")] == body


def test_xlsx_sheets_streamed_in_blocks_give_the_bytes_writestr_gives(monkeypatch) -> None:
    import io as _io
    import zipfile

    import planner.io as pio

    frame = pd.DataFrame({"code": [f"{k:03d}" for k in range(7)], "n": range(7), "x": [0.5 * k for k in range(7)],
                          "name": ["名", " a ", "=1", "b", None, "c&d", "e"]})
    sheet = pio.XlsxSheet(frame, widths=[8, 8, 8, 8], freeze_header=True, tail=[([], 0), (["total", 7], 2)])

    def rezipped(data: bytes) -> bytes:   # every entry written again in one piece by zipfile.writestr
        out = _io.BytesIO()
        with zipfile.ZipFile(_io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), src.read(info.filename),
                             compress_type=zipfile.ZIP_DEFLATED, compresslevel=pio.XLSX_DEFLATE_LEVEL)
        return out.getvalue()

    whole = pio.xlsx_table_bytes({"t": sheet, "plain": frame})
    monkeypatch.setattr(pio, "XLSX_CHUNK_ROWS", 2)
    blocks = pio.xlsx_table_bytes({"t": sheet, "plain": frame})
    assert blocks == whole == rezipped(whole)
    with zipfile.ZipFile(_io.BytesIO(blocks)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert xml == pio._xlsx_sheet(sheet) and '<row r="10">' in xml and 'ref="A1:D10"' in xml


def test_geopackage_written_unsynced_has_the_same_bytes(tmp_path):
    """plan.gpkg is written without SQLite's syncs (write_layers): the same bytes as a fully synced write, and the
    GDAL option the caller had is back afterwards."""
    from planner.io import write_layers

    frame = gpd.GeoDataFrame({"code": ["a", "b"], "n": [1, 2]},
                             geometry=[shapely.Point(120, 30), shapely.box(120, 30, 121, 31)], crs="EPSG:4326")
    layers = {"townships": frame, "leads": frame.iloc[:1]}
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "FULL"})
    try:
        write_layers(layers, tmp_path / "a.gpkg")
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == "FULL"
        for name, layer in layers.items():      # as before: each layer through GDAL with SQLite syncing
            pyogrio.write_dataframe(layer, tmp_path / "b.gpkg", driver="GPKG", layer=name,
                                    append=(tmp_path / "b.gpkg").exists())
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})
    assert (tmp_path / "a.gpkg").read_bytes() == (tmp_path / "b.gpkg").read_bytes()
    assert pyogrio.read_dataframe(tmp_path / "a.gpkg", layer="townships")["code"].tolist() == ["a", "b"]


def test_csv_text_is_pandas_to_csv_text_or_none() -> None:
    """csv_text writes the columns it takes as pandas' to_csv does (random texts of the characters the csv module
    quotes, blanks, numbers of every kind) and leaves the others (nullable, mixed, one column) to pandas."""
    import random

    import numpy as np

    from planner.io import csv_text

    rng = random.Random(18)
    alphabet = ["a", "名", " ", ",", '"', "\r", "\n", "'", "=", "\t", ";", "1"]
    for _ in range(100):
        n = rng.randint(0, 6)
        texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 3))) for _ in range(n)]
        frame = pd.DataFrame({
            "text": pd.Series([t if rng.random() > 0.2 else None for t in texts], dtype=object),
            "str": pd.Series([t if rng.random() > 0.2 else np.nan for t in texts], dtype="str"),
            "a,\"b\"": [rng.randint(-5, 5) for _ in range(n)],
            "f": [rng.choice([0.1, -0.0, np.nan, np.inf, 1e16, 1 / 3, 2.5e-7, 3.0]) for _ in range(n)],
            "flag": [rng.random() > 0.5 for _ in range(n)]})
        assert csv_text(frame) == frame.to_csv(index=False, lineterminator="\n"), texts
        blanks = frame.assign(text=None, str="")
        assert csv_text(blanks) == blanks.to_csv(index=False, lineterminator="\n")
    two_blanks = pd.DataFrame({"a": [""], "b": [None]})
    assert csv_text(two_blanks) == two_blanks.to_csv(index=False, lineterminator="\n") == "a,b\n,\n"
    assert csv_text(pd.DataFrame({"a": [1, None]}, dtype="Int64").assign(b=1)) is None
    assert csv_text(pd.DataFrame({"a": [1, "x"], "b": [1, 2]})) is None
    assert csv_text(pd.DataFrame({"a": ["x"]})) is None
