"""Tiny hand-drawn regions built in memory, shared by the tests (import from here, not from conftest)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from planner.region import Region
from planner.vocabulary import Grade

# One grid cell is 0.1 degree (about 10 km) on a side, placed in Zhejiang so every check of
# "inside China" holds.
ORIGIN = (120.0, 29.0)
CELL = 0.1


@dataclass(frozen=True)
class Fac:
    """A facility for a hand-drawn region: where (row, col of its township) and what."""

    fid: str
    name: str
    kind: str
    grade: str
    cell: tuple[int, int]
    county: str = "330001"
    ownership: str = "public"
    admin_level: str | None = None
    attending: int = 10
    central_thc: bool = False
    secondary_capability: bool = False
    beds: int = 100
    dialysis: bool = False
    nonprofit: bool = True
    offset: int = 1


def grid_region(pops: list[list[int]], facilities: list[Fac], *, county_of: list[list[str]] | None = None,
                names: dict[str, str] | None = None, city_code: str = "330100", name: str = "测试县",
                staff: list[tuple[str, str, str, int]] | None = None,
                town_kinds: list[list[str]] | None = None) -> Region:
    """A region whose townships are the cells of a grid (rows x cols), each with a population.

    `county_of` gives each cell's county adcode (default one county 330001). Township codes
    are county + 3-digit cell number; seats are cell centres. `staff` rows are
    (facility_id, title, specialty, count); a facility's title columns then sum its rows.
    `town_kinds` gives each cell's township kind (街道, 镇, 乡; default 镇).
    """
    rows, cols = len(pops), len(pops[0])
    county_of = county_of or [["330001"] * cols for _ in range(rows)]
    trows = []
    for r in range(rows):
        for c in range(cols):
            county = county_of[r][c]
            code = f"{county}{r * cols + c + 1:03d}"
            x0, y0 = ORIGIN[0] + c * CELL, ORIGIN[1] - (r + 1) * CELL
            poly = shapely.box(x0, y0, x0 + CELL, y0 + CELL)
            kind = town_kinds[r][c] if town_kinds else "镇"
            trows.append({"code": code, "name": f"{(names or {}).get(code, f'T{r}{c}')}{'街道' if kind == '街道' else kind}",
                          "county_code": county, "kind": kind, "population": int(pops[r][c]), "seat_lon": x0 + CELL / 2, "seat_lat": y0 + CELL / 2,
                          "population_estimated": False, "polygon_estimated": False, "seat_source": "user", "geometry": poly})
    towns = gpd.GeoDataFrame(trows, geometry="geometry", crs="EPSG:4326").set_index("code", drop=False)
    towns.index.name = None
    crow = []
    for county, grp in towns.groupby("county_code"):
        crow.append({"adcode": county, "name": (names or {}).get(county, f"{name}{county[-1]}" if county != "330001" else name),
                     "city_code": city_code, "city_name": "测试市", "province_code": "330000", "province_name": "浙江省",
                     "population": int(grp["population"].sum()), "urban_population": None, "rural_population": None,
                     "population_source": "test", "population_note": "",
                     "geometry": _multi(shapely.union_all(grp.geometry.values))})
    counties = gpd.GeoDataFrame(crow, geometry="geometry", crs="EPSG:4326").set_index("adcode", drop=False)
    counties.index.name = None
    frows = []
    for f in facilities:
        r, c = f.cell
        code = f"{county_of[r][c]}{r * cols + c + 1:03d}"
        x0, y0 = ORIGIN[0] + c * CELL, ORIGIN[1] - (r + 1) * CELL
        level = f.admin_level or ("township" if f.kind in ("township_health_center", "community_health_center") else "county")
        frows.append({"facility_id": f.fid, "name": f.name, "kind": f.kind, "grade": int(Grade[_grade_key(f.grade)]),
                      "ownership": f.ownership, "nonprofit": f.nonprofit, "admin_level": level, "county_code": county_of[r][c],
                      "township_code": code, "beds": f.beds, "daily_outpatient_slots": f.beds * 2, "chief": 1,
                      "associate_chief": 2, "attending": f.attending, "resident": 5, "central_thc": f.central_thc,
                      "secondary_capability": f.secondary_capability, "dialysis": f.dialysis, "release_share": None,
                      "synthesized": True, "geometry": shapely.Point(x0 + CELL / 2 + 0.001 * f.offset, y0 + CELL / 2)})
    fac = gpd.GeoDataFrame(frows, geometry="geometry", crs="EPSG:4326").set_index("facility_id", drop=False)
    fac.index.name = None
    villages = gpd.GeoDataFrame({"code": [], "name": [], "township_code": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    staff_frame = pd.DataFrame([(f, t, s, n, "") for f, t, s, n in (staff or [])],
                               columns=["facility_id", "title", "specialty", "count", "person"])
    if staff:
        for title in ("chief", "associate_chief", "attending", "resident"):
            sums = staff_frame[staff_frame["title"] == title].groupby("facility_id")["count"].sum()
            fac[title] = [int(sums.get(fid, 0)) for fid in fac.index]
    return Region(name, counties, towns, villages, fac, staff_frame)


def _multi(geom: shapely.Geometry) -> shapely.MultiPolygon:
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def _grade_key(zh: str) -> str:
    from planner.vocabulary import parse_grade

    return parse_grade(zh).value.name
