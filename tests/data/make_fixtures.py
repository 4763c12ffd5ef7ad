"""Write the small hand-made regions under tests/data: a valid one and one with a defect of every kind.

Run from the repository root: `python tests/data/make_fixtures.py`. The files are committed;
this script documents exactly what is in them (every value is made up, labelled synthetic).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Two fictional counties side by side near 120E 29N, three townships each (columns of a grid).
#   339901 甲县: townships 339901001..003 (x 120.0-120.3), 339902 乙县: 339902001..003 (x 120.3-120.6)
X0, Y0, W, H = 120.0, 29.0, 0.1, 0.3


def box(x0: float, y0: float, w: float, h: float) -> list:
    return [[[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]]


def feature(props: dict, geom: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def write_geojson(path: Path, features: list[dict]) -> None:
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def valid_region(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    counties = []
    towns = []
    for k, (adcode, name) in enumerate((("339901", "甲县"), ("339902", "乙县"))):
        cx = X0 + k * 3 * W
        counties.append(feature({"adcode": adcode, "name": name, "city_code": "339900", "city_name": "测试市",
                                 "province_code": "330000", "province_name": "浙江省", "population": 150000 + 50000 * k,
                                 "urban_population": 60000, "rural_population": 90000 + 50000 * k},
                                {"type": "Polygon", "coordinates": box(cx, Y0, 3 * W, H)}))
        for t in range(3):
            code = f"{adcode}{t + 1:03d}"
            kind = "街道" if t == 0 else "镇"
            towns.append(feature({"code": code, "name": f"{name[0]}{'城关' if t == 0 else '东西'[t - 1]}{kind}",
                                  "county_code": adcode, "kind": kind, "population": 50000 + 50000 * k // 3,
                                  "seat_lon": round(cx + (t + 0.5) * W, 5), "seat_lat": round(Y0 + H / 2, 5)},
                                 {"type": "Polygon", "coordinates": box(cx + t * W, Y0, W, H)}))
    write_geojson(folder / "counties.geojson", counties)
    write_geojson(folder / "townships.geojson", towns)
    villages = ["code,name,township_code,population"]
    for f in towns:
        code = f["properties"]["code"]
        for v in range(2):
            villages.append(f"{code}{v + 1:03d},{f['properties']['name'][:2]}{v + 1}村村委会,{code},{20000 + v}")
    (folder / "villages.csv").write_text("\n".join(villages) + "\n", encoding="utf-8")
    fac = ["facility_id,name,kind,grade,ownership,county_code,township_code,lon,lat,beds,attending,central_thc",
           "H339901-01,甲县人民医院,综合医院,二甲,公立,339901,339901001,120.052,29.15,400,40,false",
           "H339901-02,甲县中医院,中医院,二乙,公立,339901,339901001,120.048,29.16,200,20,false",
           "T339901002,甲东镇中心卫生院,乡镇卫生院,一甲,公立,339901,339901002,120.15,29.15,60,3,true",
           "T339901003,甲西镇卫生院,乡镇卫生院,一甲,公立,339901,339901003,120.25,29.15,40,2,false",
           "H339902-01,乙县人民医院,综合医院,三级乙等,公立,339902,339902001,120.352,29.15,600,60,false",
           "T339902002,乙东镇卫生院,乡镇卫生院,一级甲等,公立,339902,339902002,120.45,29.15,50,2,false",
           "T339902003,乙西镇卫生院,乡镇卫生院,一甲,公立,339902,339902003,120.55,29.15,50,2,false"]
    (folder / "facilities.csv").write_text("\n".join(fac) + "\n", encoding="utf-8")
    staff = ["facility_id,title,specialty,count", "H339901-01,主治医师,内科,40", "T339901002,主治医师,全科,3",
             "H339902-01,主任医师,外科,5"]
    (folder / "staff.csv").write_text("\n".join(staff) + "\n", encoding="utf-8")


BROKEN_README = """# A region with a defect of every kind (for `planner validate`)

Every value is made up. Each line below is one deliberate defect; the test
tests/test_validate.py::test_broken_region_lists_every_defect expects every one reported.

counties.geojson
- adcode 339901 appears twice (duplicate code)
- 339903 has no population (missing population)
- 339904 has population -5 (negative population)
- 339905 has a self-intersecting (bow-tie) polygon (invalid geometry)
- 339906 has coordinates in metres (wrong CRS)
townships.geojson
- 339999001 names county 339999, which does not exist (orphan code)
- code 33990100 has 8 digits (leading zero lost)
- 339901004 has an empty geometry
- 339901005 has population "abc" (not a number)
- 339901006 has a seat outside its polygon
- 339901007 is a point, not a polygon (wrong geometry type)
villages.csv
- code 3.39901E+11 (mangled by Excel into scientific notation)
- 339901001099 names township 339901099, which does not exist (orphan code)
facilities.csv
- F1 kind 医馆 (unknown kind)
- F2 grade 四甲 (unknown grade)
- F3 longitude and latitude swapped
- F4 lies in the sea, outside its county (facility outside its county)
- F5 ownership 集体 (unknown ownership)
- F6 has no coordinates
- F7 appears twice (duplicate id)
staff.csv
- facility X9 does not exist (unknown facility)
- title 院长 (unknown title)
- count -3 (negative count)
"""


def broken_region(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(BROKEN_README, encoding="utf-8")
    base = {"city_code": "339900", "city_name": "测试市", "province_code": "330000", "province_name": "浙江省"}
    poly = lambda x0: {"type": "Polygon", "coordinates": box(x0, Y0, 3 * W, H)}  # noqa: E731
    counties = [
        feature({"adcode": "339901", "name": "甲县", "population": 150000, **base}, poly(X0)),
        feature({"adcode": "339901", "name": "甲县重复", "population": 1, **base}, poly(X0 + 0.6)),
        feature({"adcode": "339903", "name": "丙县", "population": None, **base}, poly(X0 + 0.9)),
        feature({"adcode": "339904", "name": "丁县", "population": -5, **base}, poly(X0 + 1.2)),
        feature({"adcode": "339905", "name": "戊县", "population": 1000, **base},
                {"type": "Polygon", "coordinates": [[[121.5, 29.0], [121.8, 29.3], [121.8, 29.0], [121.5, 29.3], [121.5, 29.0]]]}),
        feature({"adcode": "339906", "name": "己县", "population": 1000, **base},
                {"type": "Polygon", "coordinates": box(500000.0, 3200000.0, 30000.0, 30000.0)}),
    ]
    write_geojson(folder / "counties.geojson", counties)
    tpoly = lambda i: {"type": "Polygon", "coordinates": box(X0 + i * W, Y0, W, H)}  # noqa: E731
    towns = [
        feature({"code": "339901001", "name": "甲城关街道", "county_code": "339901", "population": 50000}, tpoly(0)),
        feature({"code": "339999001", "name": "无主镇", "county_code": "339999", "population": 1000}, tpoly(1)),
        feature({"code": "33990100", "name": "短码镇", "county_code": "339901", "population": 1000}, tpoly(2)),
        feature({"code": "339901004", "name": "空形镇", "county_code": "339901", "population": 1000},
                {"type": "Polygon", "coordinates": []}),
        feature({"code": "339901005", "name": "字母镇", "county_code": "339901", "population": "abc"}, tpoly(1)),
        feature({"code": "339901006", "name": "远座镇", "county_code": "339901", "population": 1000,
                 "seat_lon": 125.0, "seat_lat": 40.0}, tpoly(2)),
        feature({"code": "339901007", "name": "点状镇", "county_code": "339901", "population": 1000},
                {"type": "Point", "coordinates": [120.05, 29.1]}),
    ]
    write_geojson(folder / "townships.geojson", towns)
    villages = ["code,name,township_code,population", "339901001001,城关社区居委会,339901001,5000",
                "3.39901E+11,乱码村村委会,339901001,100", "339901001099,无主村村委会,339901099,100"]
    (folder / "villages.csv").write_text("\n".join(villages) + "\n", encoding="utf-8")
    fac = ["facility_id,name,kind,grade,ownership,county_code,lon,lat",
           "F0,甲县人民医院,综合医院,二甲,公立,339901,120.05,29.15",
           "F1,甲县国医馆,医馆,一级,公立,339901,120.06,29.15",
           "F2,甲县第二医院,综合医院,四甲,公立,339901,120.07,29.15",
           "F3,甲县第三医院,综合医院,二乙,公立,339901,29.15,120.08",
           "F4,甲县海上医院,综合医院,二乙,公立,339901,123.5,28.5",
           "F5,甲县集体医院,综合医院,一级,集体,339901,120.09,29.15",
           "F6,甲县无址医院,综合医院,一级,公立,339901,,",
           "F7,甲县第七医院,综合医院,一级,公立,339901,120.1,29.15",
           "F7,甲县第七医院分院,综合医院,一级,公立,339901,120.11,29.15"]
    (folder / "facilities.csv").write_text("\n".join(fac) + "\n", encoding="utf-8")
    staff = ["facility_id,title,specialty,count", "F0,主治医师,内科,4", "X9,主治医师,内科,2", "F0,院长,管理,1",
             "F0,住院医师,外科,-3"]
    (folder / "staff.csv").write_text("\n".join(staff) + "\n", encoding="utf-8")


if __name__ == "__main__":
    valid_region(HERE / "valid_region")
    broken_region(HERE / "broken_region")
    print("wrote", HERE / "valid_region", HERE / "broken_region")
