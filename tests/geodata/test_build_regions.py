"""Tests of the embedded-region builder: recipe functions on tiny hand-made inputs, and the built files."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "geodata" / "built"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_regions", REPO / "geodata" / "build_regions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_regions"] = module
    spec.loader.exec_module(module)
    return module


br = _load_builder()


# --- integer apportionment ----------------------------------------------------------------------


@given(st.integers(0, 10**8), st.lists(st.integers(0, 1000), min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_largest_remainder_sums_exactly_and_stays_within_one(total, weights):
    parts = br.largest_remainder(total, weights)
    assert int(parts.sum()) == total
    w = np.asarray(weights, dtype=float)
    if w.sum() == 0:
        w = np.ones_like(w)
    quota = total * w / w.sum()
    assert np.all(np.abs(parts - quota) < 1.0 + 1e-9)


def test_largest_remainder_ties_go_to_the_earlier_position():
    assert list(br.largest_remainder(5, [1, 1, 1])) == [2, 2, 1]
    assert list(br.largest_remainder(0, [3, 0])) == [0, 0]


def test_apportion_group_puts_urban_on_communities_and_rural_on_villages():
    is_urban = np.array([True, False, False, True, False])
    urban, rural, note = br.apportion_group(1001, 300, is_urban)
    assert note == ""
    assert int(urban.sum()) == 1001 and int(rural.sum()) == 300
    assert list(urban) == [501, 0, 0, 500, 0]
    assert list(rural) == [0, 100, 100, 0, 100]


def test_apportion_group_falls_back_when_a_kind_is_missing():
    urban, rural, note = br.apportion_group(100, 7, np.array([False, False]))
    assert int(urban.sum()) == 100 and int(rural.sum()) == 7
    assert "no 居委会" in note


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [("前洪村村委会", "村委会"), ("清波门社区", "居委会"), ("银闸社区居委会", "居委会"),
                                            ("马家榨居委会（社区）", "居委会"), ("巴润恒日格嘎查", "村委会"),
                                            ("第一街委员会", "居委会"), ("张村", "村委会"), ("李家村民委员会", "村委会")])
def test_village_kind(name, kind):
    assert br.village_kind(name) == kind


@pytest.mark.parametrize(("name", "clinic"), [("前洪村村委会", "前洪村卫生室"), ("李家村民委员会", "李家村卫生室"),
                                              ("张村", "张村卫生室"), ("巴润嘎查", "巴润嘎查卫生室")])
def test_clinic_name(name, clinic):
    assert br.clinic_name(name) == clinic


def test_name_stem_and_seat_matching():
    assert br.name_stem("佛堂镇") == "佛堂"
    assert br.name_stem("鹤溪畲族乡") == "鹤溪"
    assert br.name_stem("稠城街道") == "稠城"
    towns = pd.DataFrame({"code": ["001", "002", "003"], "name": ["佛堂镇", "城关镇", "赤岸镇"]})
    places = pd.DataFrame({"geonameid": ["1", "2", "3"], "lon": [120.1, 120.2, 120.3], "lat": [29.1, 29.2, 29.3],
                           "population": [0, 10, 0], "names": [("佛堂",), ("赫章县城关镇",), ("赤岸乡", "赤岸")]})
    found = br.match_seats(towns, places)
    assert found == {"001": 0, "002": 1, "003": 2}


# --- seats and polygons -----------------------------------------------------------------------


def _towns(kinds: list[str]) -> pd.DataFrame:
    names = {"街道": "街道", "镇": "镇", "乡": "乡", "其他": "农场"}
    return pd.DataFrame({"code": [f"330102{i:03d}" for i in range(len(kinds))],
                         "name": [f"测{i}{names[k]}" for i, k in enumerate(kinds)], "kind": kinds})


SQUARE = shapely.box(120.0, 30.0, 120.2, 30.2)
ISLANDS = shapely.MultiPolygon([shapely.box(121.0, 30.0, 121.1, 30.1), shapely.box(121.15, 30.02, 121.2, 30.06),
                                shapely.Polygon([(121.0, 30.12), (121.1, 30.12), (121.1, 30.2), (121.05, 30.14),
                                                 (121.0, 30.2)])])


@pytest.mark.parametrize("county", [SQUARE, ISLANDS])
def test_seats_lie_inside_their_county_and_polygons_tile_it(county):
    county = shapely.set_precision(county, br.GRID)
    towns = _towns(["街道", "街道", "镇", "镇", "乡", "乡", "其他"])
    real = {"330102002": (round(county.centroid.x + 0.01, 5), round(county.centroid.y, 5))}
    if not shapely.contains_xy(county, *real["330102002"]):
        real = {}
    seat = (round(county.representative_point().x, 5), round(county.representative_point().y, 5))
    seats = br.place_township_seats(county, towns, real, seat)
    assert set(seats) == set(towns["code"])
    xy = np.array([seats[c] for c in towns["code"]])
    assert len({tuple(p) for p in xy}) == len(xy)
    assert shapely.contains_xy(county, xy[:, 0], xy[:, 1]).all()
    for code, p in real.items():
        assert seats[code] == p
    frame = towns.assign(seat_lon=xy[:, 0], seat_lat=xy[:, 1])
    cells, union = br.township_cells(county, frame, br.SIMPLIFY_TOLERANCE)
    assert shapely.is_valid(cells).all()
    assert shapely.contains_xy(cells, xy[:, 0], xy[:, 1]).all()
    assert shapely.coverage_is_valid(cells)
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(cells), union)) < 1e-12
    assert math.isclose(float(shapely.area(cells).sum()), float(shapely.area(union)), rel_tol=1e-9)
    assert math.isclose(float(shapely.area(union)), float(shapely.area(county)), rel_tol=1e-3)


def test_streets_cluster_near_the_county_seat():
    county = shapely.set_precision(SQUARE, br.GRID)
    towns = _towns(["街道", "街道", "街道", "镇", "镇", "乡", "乡", "乡", "乡"])
    seat = (120.1, 30.1)
    seats = br.place_township_seats(county, towns, {}, seat)
    dist = {c: math.dist(seats[c], seat) for c in towns["code"]}
    streets = [dist[c] for c, k in zip(towns["code"], towns["kind"]) if k == "街道"]
    others = [dist[c] for c, k in zip(towns["code"], towns["kind"]) if k != "街道"]
    assert max(streets) < np.median(others)
    assert min(streets) < 0.01  # the anchor street sits at the county seat


def test_village_points_lie_inside_their_township():
    cell = shapely.set_precision(shapely.Polygon([(120, 30), (120.05, 30), (120.05, 30.03), (120.02, 30.05)]), br.GRID)
    villages = pd.DataFrame({"code": [f"v{i}" for i in range(12)], "kind": ["居委会"] * 3 + ["村委会"] * 9})
    seat = (120.03, 30.02)
    pts = br.place_villages(cell, seat, villages)
    assert shapely.contains_xy(cell, pts[:, 0], pts[:, 1]).all()
    assert len({tuple(p) for p in pts}) == 12
    assert np.allclose(pts, np.round(pts, 5))


# --- census groups ----------------------------------------------------------------------------


def _census(rows):
    return pd.DataFrame([{"key": k, "code": k if ":" not in k else None, "province": "33", "city4": k[:4], "name": n,
                          "population": u + r, "urban": u, "rural": r} for k, n, u, r in rows])


def test_redraw_group_apportionment_preserves_the_city_total():
    # Two dissolved districts (339903, 339904) and two new ones (339913, 339914) in one made-up city.
    census = _census([("339903", "旧甲区", 500_000, 1_000), ("339904", "旧乙区", 300_001, 99_999),
                      ("339922", "丙县", 200_000, 250_000)])
    groups, notes = br.match_census(census, ["339913", "339914", "339922"], {"339913", "339914"},
                                    {"339913": "新甲区", "339914": "新乙区", "339922": "丙县"})
    assert notes == []
    methods = {g.codes: g.method for g in groups}
    assert methods == {("339913", "339914"): "census2020_reapportioned", ("339922",): "census2020"}
    towns = pd.DataFrame({"code": ["339913001", "339913100", "339914001", "339922100"], "kind": ["街道", "镇", "街道", "镇"]})
    gid = {g.codes: i for i, g in enumerate(groups)}
    towns["group"] = [gid[("339913", "339914")] if c[:6] != "339922" else gid[("339922",)] for c in towns["code"]]
    villages = pd.DataFrame({"code": ["339913001001", "339913100200", "339913100201", "339914001001", "339922100200"],
                             "name": ["甲社区", "子村", "丑村", "乙社区", "寅村"],
                             "township_code": ["339913001", "339913100", "339913100", "339914001", "339922100"]})
    villages["kind"] = villages["name"].map(br.village_kind)
    v, t, _ = br.apportion_province(groups, towns, villages)
    assert int(t["population"].sum()) == int(census["population"].sum())
    redrawn = t[t["code"].str[:6] != "339922"]
    assert int(redrawn["population"].sum()) == 500_000 + 1_000 + 300_001 + 99_999
    assert int(redrawn["urban"].sum()) == 800_001
    assert int(t.loc[t["code"] == "339922100", "population"].iloc[0]) == 450_000
    assert (t.set_index("code")["population"] == v.groupby("township_code")["population"].sum()).all()


def test_renamed_unit_carries_its_census_row_exactly():
    census = _census([("450127", "横县", 400_000, 500_000)])
    groups, _ = br.match_census(census, ["450181"], set(), {"450181": "横州市"})
    assert len(groups) == 1 and groups[0].method == "census2020_carried"
    assert groups[0].urban + groups[0].rural == 900_000


# --- facility recipe --------------------------------------------------------------------------


def _county(name, pop):
    return pd.Series({"adcode": "330102", "name": name, "population": pop})


@pytest.mark.parametrize(("pop", "grade"), [(600_000, "三乙"), (599_999, "二甲"), (50_000, "二甲"), (49_999, "二乙")])
def test_peoples_hospital_grade(pop, grade):
    h = br.county_hospitals(_county("某县", pop))[0]
    assert (h.name, h.grade, h.kind, h.dialysis) == ("某县人民医院", grade, "general_hospital", True)


def test_tcm_hospital_for_counties_and_large_districts_only():
    assert [f.kind for f in br.county_hospitals(_county("小区", 499_999))] == ["general_hospital", "maternal_child_hospital"]
    assert "tcm_hospital" in [f.kind for f in br.county_hospitals(_county("大区", 500_000))]
    tcm = [f for f in br.county_hospitals(_county("某市", 99_999)) if f.kind == "tcm_hospital"][0]
    assert tcm.grade == "二乙"


def test_chinese_numbers_in_hospital_names():
    assert [br.chinese_number(n) for n in (2, 9, 10, 11, 14, 20, 21, 35)] == \
        ["二", "九", "十", "十一", "十四", "二十", "二十一", "三十五"]
    hs = br.city_hospitals("110100", "某市", 19_000_000, municipality=True)
    names = [h.name for h in hs]
    assert len(names) == len(set(names)) == 1 + 12 and names[-1] == "某市第十三人民医院"


def test_county_hospitals_can_carry_the_city_in_their_name():
    assert br.county_hospitals(_county("桥西区", 600_000), "张家口市桥西区")[0].name == "张家口市桥西区人民医院"


def test_city_hospitals_one_extra_per_full_1_5_million():
    hs = br.city_hospitals("330100", "某市", 3_100_000, municipality=False)
    names = [h.name for h in hs]
    assert names == ["某市人民医院", "某市中医院", "某市妇幼保健院", "某市第二人民医院", "某市第三人民医院"]
    assert [h.grade for h in hs] == ["三甲", "三甲", "三乙", "三乙", "三乙"]
    assert br.city_hospitals("330100", "某市", 999_999, municipality=False)[1].grade == "三乙"


def test_hospitals_get_nurses_pharmacists_and_managers_by_title():
    f = br.staff_table(br.hospital("H330122-01", "某县人民医院", "general_hospital", "二甲", "county", "county_general",
                                   300_000))
    assert f.physicians == 270  # 600 beds x 0.45
    by = {}
    for title, specialty, n in f.staff:
        by.setdefault(specialty, {})[title] = by.setdefault(specialty, {}).get(title, 0) + n
    assert sum(by["护理"].values()) == 311 and sum(by["药学"].values()) == 27 and sum(by["管理"].values()) == 27
    assert by["护理"] == {"chief": 16, "associate_chief": 47, "attending": 124, "resident": 124}  # secondary 5/15/40/40
    physician_rows = [n for _, s, n in f.staff if s in br.SPECIALTIES]
    assert sum(physician_rows) == f.physicians == sum(f.titles)
    thc = br.staff_table(br.primary("T330122001", "乙镇卫生院", "township_health_center", "一甲", "thc", 20_000))
    assert all(s in br.SPECIALTIES for _, s, _ in thc.staff)  # primary institutions: physicians only
    frame = br.staff_frame(pd.DataFrame([{"facility_id": "H", "title": t, "specialty": s, "count": n, "person": ""}
                                         for t, s, n in f.staff]))
    assert frame.groupby("profession")["count"].sum().to_dict() == {"management": 27, "medicine": 270, "nursing": 311,
                                                                    "pharmacy": 27}
    assert frame["synthesized"].all()


def test_primary_facilities_central_thcs_and_staff_totals():
    towns = pd.DataFrame({"code": [f"330122{i:03d}" for i in range(7)],
                          "name": ["甲街道", "乙镇", "丙镇", "丁乡", "戊乡", "己镇", "庚农场"],
                          "kind": ["街道", "镇", "镇", "乡", "乡", "镇", "其他"],
                          "population": [40_000, 60_000, 11_000, 3_000, 8_000, 12_000, 900],
                          "urban": [40_000, 10_000, 0, 0, 0, 0, 0], "county_code": "330122",
                          "seat_lon": 120.0, "seat_lat": 30.0})
    fs = {f.township_code: br.staff_table(f) for f in br.primary_facilities(towns)}
    assert fs["330122000"].kind == "community_health_center" and fs["330122000"].name == "甲街道社区卫生服务中心"
    assert fs["330122006"].kind == "township_health_center"  # a mostly rural farm gets a THC
    central = sorted(c for c, f in fs.items() if f.central_thc)
    assert central == ["330122001", "330122005"]  # ceil(5 / 3) = 2 most populous 乡/镇
    assert fs["330122001"].name == "乙镇中心卫生院" and fs["330122001"].grade == "二乙"
    assert fs["330122001"].secondary_capability
    assert fs["330122005"].grade == "一甲" and not fs["330122005"].secondary_capability
    for f in fs.values():
        assert f.titles[2] >= 1
        assert sum(f.titles) == f.physicians == sum(n for _, _, n in f.staff)
        for title, count in zip(br.TITLES, f.titles):
            assert sum(n for t, _, n in f.staff if t == title) == count


def test_village_clinic_staff_licensed_near_the_seat_and_a_doctor_in_every_clinic():
    """
    One county, two townships; seats at x = 0. Township A has 4 clinics at x = 1, 2, 3, 4 km
    east of its seat, township B has 3 at 1, 2, 3 km (same population everywhere)::

        A:  seat . V1 . V2 . V3 . V4          B:  seat . V5 . V6 . V7

    7 clinics: L = round(0.297 x 7) = 2 licensed, V = round(1.097 x 7) = 8 village doctors.
    Licensed go 1 + 1 (largest remainder of 2 over 4:3), each to the clinic nearest its seat;
    the 5 clinics without one get a village doctor each, and the 3 extra doctors go 2 + 1.
    """
    km = 1 / 111.32
    towns = pd.DataFrame({"code": ["330122100", "330122200"], "seat_lon": [120.0, 120.0], "seat_lat": [30.0, 30.5]})
    clinics, rows = [], []
    for t, n, lat in (("330122100", 4, 30.0), ("330122200", 3, 30.5)):
        for k in range(1, n + 1):
            code = f"{t}{k:03d}"
            clinics.append(br.Facility(f"V{code}", f"{k}村卫生室", "village_clinic", "未定级", "village", 0, 0, 10,
                                       "330122", t, 120.0 + k * km / math.cos(math.radians(lat)), lat))
            rows.append({"code": code, "population": 800})
    out = {f.facility_id: f for f in br.village_clinic_staff(clinics, pd.DataFrame(rows), towns)}
    licensed = sorted(fid for fid, f in out.items() if f.physicians)
    assert licensed == ["V330122100001", "V330122200001"]
    assert sum(f.physicians for f in out.values()) == br.round_half_up(br.LICENSED_PER_CLINIC * 7) == 2
    assert sum(f.village_doctors for f in out.values()) == br.round_half_up(br.VILLAGE_DOCTORS_PER_CLINIC * 7) == 8
    assert all(f.physicians + f.village_doctors >= 1 for f in out.values())
    for f in out.values():
        assert f.titles == (0, 0, 0, f.physicians) and sum(n for _, _, n in f.staff) == f.physicians


# --- a whole tiny province, end to end -------------------------------------------------------


def _write_raw(folder: Path) -> None:
    """Two square counties of a made-up 浙江 with townships, villages, census, GeoNames and seats."""
    polys = gpd.GeoDataFrame({"adcode": ["330102", "330122"], "province": "浙江省", "city": "杭州市",
                              "county": ["甲区", "乙县"]},
                             geometry=[shapely.MultiPolygon([shapely.box(120.0, 30.0, 120.2, 30.2)]),
                                       shapely.MultiPolygon([shapely.box(120.2, 30.0, 120.4, 30.2)])],
                             crs="EPSG:4326")
    pyogrio.write_dataframe(polys, folder / "counties_wgs84.gpkg", layer="counties")
    header = ("区划代码,省,市,区县,人口数_合计,人口数_男,人口数_女,城镇人口,乡村人口,家庭户数,"
              "人口比重_0-14岁,人口比重_15-64岁,人口比重_65岁及以上,pop_65plus")
    rows = [",全国,全国,全国,1000000,0,0,0,0,0,0,0,0,0", "330000,浙江省,浙江省,浙江省,1000000,0,0,700000,300000,0,0,0,0,0",
            "330100,浙江省,杭州市,杭州市,1000000,0,0,700000,300000,0,0,0,0,0",
            "330102,浙江省,杭州市,甲区,450000,0,0,420000,30000,0,0,0,0,0",
            "330122,浙江省,杭州市,乙县,550000,0,0,280000,270000,0,0,0,0,0"]
    (folder / "census2020_county.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    towns = [("330102001", "一街道", "330102"), ("330102002", "二街道", "330102"), ("330102100", "三镇", "330102"),
             ("330122100", "丙镇", "330122"), ("330122200", "丁乡", "330122"), ("330122201", "戊乡", "330122")]
    pd.DataFrame({"code": [t[0] for t in towns], "name": [t[1] for t in towns], "areaCode": [t[2] for t in towns],
                  "provinceCode": "33", "cityCode": "3301"}).to_csv(folder / "townships_nbs2023.csv", index=False)
    vills = [("330102001001", "甲社区居委会"), ("330102001002", "乙社区居委会"), ("330102002001", "丙社区居委会"),
             ("330102100200", "子村村委会"), ("330102100201", "丑村村委会"), ("330122100001", "镇东社区居委会"),
             ("330122100200", "寅村村委会"), ("330122100201", "卯村民委员会"), ("330122200200", "辰村村委会"),
             ("330122201200", "巳村村委会"), ("330122201201", "午村村委会")]
    pd.DataFrame({"code": [v[0] for v in vills], "name": [v[1] for v in vills],
                  "streetCode": [v[0][:9] for v in vills], "provinceCode": "33", "cityCode": "3301",
                  "areaCode": [v[0][:6] for v in vills]}).to_csv(folder / "villages_nbs2023.csv.gz", index=False)
    pd.DataFrame({"geonameid": ["1", "2"], "name": ["Bingzhen", "Nowhere"], "lat": [30.15, 35.0],
                  "lon": [120.35, 100.0], "population": [0, 0], "admin1code": ["02", "02"],
                  "alternatenames_zh": ["丙|丙镇", "丁乡"]}).to_csv(folder / "geonames_cn_places.csv", index=False)
    pd.DataFrame({"adcode": ["330000000000", "330100000000", "330102000000", "330122000000"],
                  "name": ["浙江省", "杭州市", "甲区", "乙县"], "longitude": [120.105, 120.105, 120.1, 120.3],
                  "latitude": [30.098, 30.098, 30.1, 30.1]}).to_csv(folder / "county_seats_cpca_gcj02.csv", index=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    data = tmp_path_factory.mktemp("raw")
    _write_raw(data)
    out = tmp_path_factory.mktemp("built")
    assert br.main(["--data", str(data), "--provinces", "33", "--out", str(out)]) == 0
    return data, out


def _layers(path: Path) -> dict[str, pd.DataFrame]:
    return {name: (gpd.read_file(path, layer=name) if kind else pyogrio.read_dataframe(path, layer=name))
            for name, kind in pyogrio.list_layers(path)}


def test_tiny_province_end_to_end(tiny):
    _, out = tiny
    lay = _layers(out / "province_33.gpkg")
    c, t, v, f, s = (lay[k] for k in ("counties", "townships", "villages", "facilities", "staff"))
    assert list(c["adcode"]) == ["330102", "330122"]
    assert list(c["population"]) == [450_000, 550_000]
    assert list(c["urban_population"]) == [420_000, 280_000]
    assert t.groupby("county_code")["population"].sum().to_dict() == {"330102": 450_000, "330122": 550_000}
    assert (t.set_index("code")["population"] == v.groupby("township_code")["population"].sum()).all()
    assert (t["population"] > 0).all()
    bing = t.set_index("code").loc["330122100"]
    assert (bing["seat_source"], bing["seat_lon"], bing["seat_lat"]) == ("geonames", 120.35, 30.15)
    cg = c.set_index("adcode").geometry
    seats = shapely.points(t["seat_lon"], t["seat_lat"])
    assert shapely.contains(t.geometry.values, seats).all()
    assert shapely.contains(cg.loc[t["county_code"]].values, seats).all()
    for code, part in t.groupby("county_code"):
        assert shapely.coverage_is_valid(part.geometry.values)
        assert shapely.area(shapely.symmetric_difference(shapely.union_all(part.geometry.values), cg[code])) < 1e-12
    tg = t.set_index("code").geometry
    assert shapely.contains(tg.loc[v["township_code"]].values, v.geometry.values).all()
    assert shapely.contains(tg.loc[f["township_code"]].values, f.geometry.values).all()
    assert shapely.contains(cg.loc[f["county_code"]].values, f.geometry.values).all()
    ids = set(f["facility_id"])
    assert f["facility_id"].is_unique and f["synthesized"].all()
    assert {"H330102-01", "H330102-03", "H330122-01", "H330122-02", "H330122-03", "C330100-01", "C330100-02",
            "C330100-03", "P330000-01", "P330000-02"} <= ids
    assert "H330102-02" not in ids  # a district below 500,000 residents has no TCM hospital
    clinics = f[f["kind"] == "village_clinic"]
    assert len(clinics) == int((v["kind"] == "村委会").sum()) and "卯村卫生室" in set(clinics["name"])
    assert s["synthesized"].all() and set(s["profession"]) == {"medicine", "nursing", "pharmacy", "management"}
    physicians = s[s["profession"] == "medicine"]
    by_title = physicians.groupby(["facility_id", "title"])["count"].sum().unstack(fill_value=0)
    for title in br.TITLES:
        got = f.set_index("facility_id")[title]
        assert (by_title.reindex(got.index, fill_value=0)[title] == got).all()
    others = s[s["profession"] != "medicine"]
    kinds = f.set_index("facility_id").loc[others["facility_id"], "kind"]
    assert kinds.str.endswith("hospital").all()  # nurses, pharmacists and managers of hospitals only
    assert (others["specialty"] == others["profession"].map(schema.PROFESSIONS)).all()
    # Village clinics: licensed (assistant) physicians and village doctors (乡村医生, no title).
    assert set(s["qualification"]) == {"licensed", "village_doctor"}
    doctors = s[s["qualification"] == "village_doctor"]
    assert (doctors["title"] == "").all() and doctors["facility_id"].str.startswith("V").all()
    assert (s.loc[s["qualification"] == "licensed", "title"].isin(br.TITLES)).all()
    people = s[s["facility_id"].isin(clinics["facility_id"])].groupby("facility_id")["count"].sum()
    assert len(people) == len(clinics) and (people >= 1).all()
    per_county = clinics.groupby("county_code")["facility_id"].count()
    licensed = clinics.groupby("county_code")["resident"].sum()
    assert {c: br.round_half_up(br.LICENSED_PER_CLINIC * n) for c, n in per_county.items()} == licensed.to_dict()
    about = dict(zip(lay["about"]["key"], lay["about"]["value"]))
    assert "SYNTHESIZED" in about["WARNING"] and "GeoNames, geonames.org" in about["attribution"]
    catalog = pd.read_csv(out / "catalog.csv", dtype=str)
    assert list(catalog["adcode"]) == ["330102", "330122"] and set(catalog["plannable"]) == {"True"}


def test_tiny_province_designates_central_thcs_per_county(tiny):
    # 中心乡镇卫生院 is designated within each county (000 (六) ranks them by population there):
    # 甲区's only town is central although it is smaller than every town of 乙县.
    _, out = tiny
    lay = _layers(out / "province_33.gpkg")
    t, f = lay["townships"].set_index("code"), lay["facilities"]
    thc = f[f["kind"] == "township_health_center"].assign(county=lambda d: d["county_code"])
    for county, part in thc.groupby("county"):
        towns = t.loc[part["township_code"]]
        n_rural = int(towns["kind"].isin(["乡", "镇"]).sum())
        assert int(part["central_thc"].sum()) == math.ceil(n_rural / 3), county
    assert bool(f.set_index("facility_id").at["T330102100", "central_thc"])  # 三镇 (30,000 residents)


def test_tiny_build_is_deterministic(tiny, tmp_path):
    data, out = tiny
    assert br.main(["--data", str(data), "--provinces", "33", "--out", str(tmp_path), "--zip"]) == 0
    assert br.main(["--data", str(data), "--provinces", "33", "--out", str(out), "--zip"]) == 0
    digest = [hashlib.sha256((d / "province_33.gpkg.zip").read_bytes()).hexdigest() for d in (tmp_path, out)]
    assert digest[0] == digest[1]
    assert len(gpd.read_file(tmp_path / "province_33.gpkg.zip", layer="townships")) == 6


# --- the committed built files ---------------------------------------------------------------


def built_file(code2: str) -> Path:
    """The committed GeoPackage of a province (plain or zipped)."""
    for name in (f"province_{code2}.gpkg", f"province_{code2}.gpkg.zip"):
        if (BUILT / name).exists():
            return BUILT / name
    raise FileNotFoundError(f"no built file for province {code2} in {BUILT}")


@pytest.fixture(scope="module")
def zhejiang():
    return _layers(built_file("33"))


def test_zhejiang_counts_and_population(zhejiang):
    c, t, v = zhejiang["counties"], zhejiang["townships"], zhejiang["villages"]
    assert (len(c), len(t), len(v)) == (90, 1387, 25547)
    assert int(c["population"].sum()) == 64_567_588
    assert int(t["population"].sum()) == 64_567_588 == int(v["population"].sum())
    assert (c["urban_population"] + c["rural_population"] == c["population"]).all()
    assert pyogrio.read_info(built_file("33"), layer="counties")["crs"] == "EPSG:4326"


def test_zhejiang_hangzhou_redraw(zhejiang):
    c = zhejiang["counties"].set_index("adcode")
    hz = c[c["city_code"] == "330100"]
    assert int(hz["population"].sum()) == 11_936_010  # the census 杭州市 row
    redrawn = ["330102", "330105", "330109", "330110", "330113", "330114"]
    assert set(hz.loc[redrawn, "population_source"]) == {"census2020_reapportioned"}
    assert (hz.loc[redrawn, "population_note"].str.len() > 50).all()
    assert int(hz.loc[redrawn, "population"].sum()) == 357657 + 485849 + 1487787 + 635136 + 2258872 + 2402514
    assert c.at["330106", "population"] == 1_112_992 and c.at["330106", "population_source"] == "census2020"


def test_zhejiang_townships_have_valid_polygons_and_seats(zhejiang):
    c, t = zhejiang["counties"].set_index("adcode"), zhejiang["townships"]
    assert shapely.is_valid(t.geometry.values).all() and not t.geometry.is_empty.any()
    seats = shapely.points(t["seat_lon"], t["seat_lat"])
    assert shapely.contains(t.geometry.values, seats).all()
    assert shapely.contains(c.geometry.loc[t["county_code"]].values, seats).all()
    assert (t["population"] > 0).all()
    assert set(t["seat_source"]) == {"geonames", "synthesized"}
    assert int((t["seat_source"] == "geonames").sum()) == 775
    assert t["polygon_estimated"].all() and t["population_estimated"].all()
    for _, part in t.groupby("county_code"):
        assert shapely.coverage_is_valid(part.geometry.values)


def test_zhejiang_codes_are_strings_of_the_right_length(zhejiang):
    c, t, v, f = (zhejiang[k] for k in ("counties", "townships", "villages", "facilities"))
    path = built_file("33")
    for layer, cols in {"counties": ["adcode", "city_code", "province_code"], "townships": ["code", "county_code"],
                        "villages": ["code", "township_code"], "facilities": ["facility_id", "county_code",
                                                                              "township_code"]}.items():
        info = pyogrio.read_info(path, layer=layer)
        types = dict(zip(info["fields"], info["dtypes"]))
        assert all(types[col] == "object" for col in cols), layer
    assert c["adcode"].str.fullmatch(r"\d{6}").all() and c["province_code"].eq("330000").all()
    assert t["code"].str.fullmatch(r"\d{9}").all() and (t["code"].str[:6] == t["county_code"]).all()
    assert v["code"].str.fullmatch(r"\d{12}").all() and (v["code"].str[:9] == v["township_code"]).all()
    assert f["township_code"].str.fullmatch(r"\d{9}").all() and f["county_code"].str.fullmatch(r"\d{6}").all()


def test_zhejiang_facilities(zhejiang):
    c, t, f, s = (zhejiang[k] for k in ("counties", "townships", "facilities", "staff"))
    assert f["facility_id"].is_unique and f["synthesized"].all()
    assert f.loc[f["kind"].str.endswith("hospital"), "name"].is_unique
    ph = f[f["facility_id"].str.fullmatch(r"H\d{6}-01")]
    assert set(ph["county_code"]) == set(c["adcode"])
    assert (ph["name"] == ph["county_code"].map(c.set_index("adcode")["name"]) + "人民医院").all()
    assert (f["kind"] != "village_clinic").sum() == len(t) + len(ph) + (f["facility_id"].str[0].isin(["C", "P"])).sum() \
        + f["facility_id"].str.fullmatch(r"H\d{6}-0[23]").sum()
    tg, cg = t.set_index("code").geometry, c.set_index("adcode").geometry
    assert shapely.contains(tg.loc[f["township_code"]].values, f.geometry.values).all()
    assert shapely.contains(cg.loc[f["county_code"]].values, f.geometry.values).all()
    # Files built before recipe 1.1 have no profession column: every row is a physician.
    profession = s["profession"] if "profession" in s.columns else pd.Series("medicine", index=s.index)
    physicians = s[profession == "medicine"]
    sums = physicians.groupby(["facility_id", "title"])["count"].sum().unstack(fill_value=0)
    fi = f.set_index("facility_id")
    for title in ("chief", "associate_chief", "attending", "resident"):
        assert (sums.reindex(fi.index, fill_value=0)[title] == fi[title]).all()
    primary = fi[fi["kind"].isin(["township_health_center", "community_health_center"])]
    assert (primary["attending"] >= 1).all()
    assert set(physicians["specialty"]) <= set(br.SPECIALTIES)
    assert set(s.loc[profession != "medicine", "specialty"]) <= set(schema.PROFESSIONS.values())


def test_zhejiang_village_clinic_staff(zhejiang):
    """Needs geodata/built rebuilt with village doctors (the `qualification` column of the staff layer)."""
    s, f = zhejiang["staff"], zhejiang["facilities"]
    if "qualification" not in s.columns:
        pytest.skip("geodata/built predates village doctors: rebuild with geodata/build_regions.py --provinces all --zip")
    clinics = f[f["kind"] == "village_clinic"]
    rows = s[s["facility_id"].isin(clinics["facility_id"])]
    by = rows.groupby(["facility_id", "qualification"])["count"].sum().unstack(fill_value=0)
    assert len(by) == len(clinics) and (by.sum(axis=1) >= 1).all()
    n = len(clinics)
    assert abs(int(by["licensed"].sum()) - br.LICENSED_PER_CLINIC * n) <= 90       # rounding once per county
    assert abs(int(by["village_doctor"].sum()) - br.VILLAGE_DOCTORS_PER_CLINIC * n) <= 90
    assert (rows.loc[rows["qualification"] == "village_doctor", "title"].fillna("") == "").all()


@pytest.mark.parametrize(("code2", "counties", "population"), [("22", 60, 24_073_453), ("52", 88, 38_562_148),
                                                               ("53", 129, 47_209_277)])
def test_other_built_provinces(code2, counties, population):
    c = pyogrio.read_dataframe(built_file(code2), layer="counties", read_geometry=False)
    t = pyogrio.read_dataframe(built_file(code2), layer="townships", read_geometry=False)
    assert len(c) == counties and int(c["population"].sum()) == population == int(t["population"].sum())


def test_catalog_finds_regions_by_name():
    cat = pd.read_csv(BUILT / "catalog.csv", dtype=str, keep_default_na=False)
    assert cat["adcode"].is_unique
    for city in ("贵阳市", "玉溪市", "四平市", "杭州市"):
        rows = cat[cat["city_name"] == city]
        assert len(rows) >= 5 and set(rows["plannable"]) == {"True"}
        assert all((BUILT / name).exists() for name in set(rows["file"]))
    yiwu = cat[cat["name"] == "义乌市"].iloc[0]
    assert (yiwu["adcode"], yiwu["population"], yiwu["file"].split(".")[0]) == ("330782", "1859390", "province_33")


def test_apportion_group_gives_urbanised_villages_a_share_when_there_are_no_rural_residents():
    urban, rural, note = br.apportion_group(900, 0, np.array([True, True, False]))
    assert list(urban) == [300, 300, 300] and int(rural.sum()) == 0
    assert "no rural residents" in note


# --- emergency centers and shared-center hosts (recipe 1.1) ---------------------------------------


def test_emergency_centers_by_kind_and_grade():
    big = {f.kind: br.assign_centers(f) for f in br.county_hospitals(_county("大县", 700_000))}
    assert big["general_hospital"].centers >= set(br.EMERGENCY) | set(br.SHARED)  # 三乙: all five, every department
    assert big["maternal_child_hospital"].centers >= {"maternal_critical_center", "neonatal_critical_center"}
    assert not set(br.EMERGENCY) & big["tcm_hospital"].centers  # county TCM hospitals run none
    mid = br.assign_centers(br.county_hospitals(_county("中县", 200_000))[0])
    assert {"chest_pain_center", "stroke_center", "pathology_center"} <= mid.centers
    city = [br.assign_centers(h) for h in br.city_hospitals("330100", "某市", 2_000_000, municipality=False)]
    assert set(br.EMERGENCY) <= city[0].centers and set(br.SHARED) <= city[0].centers


def test_emergency_center_shares_are_stable_and_near_their_targets():
    # The hashed choices do not depend on order and come close to the recipe's shares over many hospitals.
    hs = [br.assign_centers(br.county_hospitals(pd.Series({"adcode": f"33{i:04d}", "name": "某县",
                                                                "population": 200_000}))[0]) for i in range(2000)]
    share = np.mean(["trauma_center" in h.centers for h in hs])
    assert abs(share - 0.6) < 0.04
    again = br.assign_centers(br.county_hospitals(pd.Series({"adcode": "330007", "name": "某县", "population": 200_000}))[0])
    assert again.centers == hs[7].centers
    assert br.stable_share("x") == br.stable_share("x") and 0 <= br.stable_share("y") < 1


def test_central_thcs_host_lab_and_ecg_plain_thcs_nothing():
    towns = pd.DataFrame({"code": [f"330122{i:03d}" for i in range(4)], "name": ["乙镇", "丙镇", "丁乡", "戊乡"],
                          "kind": ["镇", "镇", "乡", "乡"], "population": [60_000, 11_000, 3_000, 8_000],
                          "urban": 0, "county_code": "330122", "seat_lon": 120.0, "seat_lat": 30.0})
    fs = {f.township_code: br.assign_centers(f) for f in br.primary_facilities(towns)}
    assert fs["330122000"].centers == {"lab_center", "imaging_center", "ecg_center"}  # secondary capability
    assert fs["330122001"].centers == {"lab_center", "ecg_center"}
    assert fs["330122002"].centers == frozenset() and not set(br.EMERGENCY) & fs["330122001"].centers
