"""The sparse access matrix: exactly the dense minutes within the bound, own-township pairs beyond it, exact nearest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from planner.access import choice
from planner.access.check import reach_within
from planner.access.matrix import build_matrix, reach_bound
from planner.access.routing import held_karp, held_karp_reference
from planner.access.rules import AccessIndicators, EmergencyCenters, VisitShareModel
from planner.travel import Points, TravelModel


class _Region:
    """The two tables build_matrix reads, hand-drawn (a real Region needs the embedded data)."""

    def __init__(self, townships: pd.DataFrame, facilities: pd.DataFrame):
        self.townships, self.facilities = townships, facilities


def _fixture() -> _Region:
    # Three seats on the 30th parallel, 0.3 degrees of longitude apart (about 29 km, 56 min at the
    # default 40 km/h x 1.3), and a far one 3 degrees north; facilities beside and between them.
    towns = pd.DataFrame({"seat_lon": [120.0, 120.3, 120.6, 120.0], "seat_lat": [30.0, 30.0, 30.0, 33.0],
                          "population": [1000, 2000, 3000, 400], "county_code": ["1", "1", "2", "3"]},
                         index=["T1", "T2", "T3", "T4"])
    xy = [(120.01, 30.0), (120.29, 30.01), (120.61, 30.0), (120.45, 30.0), (120.0, 31.0), (120.0, 33.02)]
    fac = pd.DataFrame({"kind": ["township_health_center", "general_hospital", "township_health_center",
                                 "general_hospital", "township_health_center", "village_clinic"],
                        # F5 stands in T4's township although 2 degrees away: its pair is kept beyond the bound.
                        "township_code": ["T1", "T2", "T3", "T2", "T4", "T4"]},
                       index=["F1", "F2", "F3", "F4", "F5", "C1"])
    fac["geometry"] = [Point(x, y) for x, y in xy]
    import geopandas as gpd

    return _Region(towns, gpd.GeoDataFrame(fac, geometry="geometry", crs="EPSG:4326"))


def _dense(region: _Region, travel: TravelModel) -> np.ndarray:
    towns = region.townships.sort_index()
    fac = region.facilities[region.facilities["kind"] != "village_clinic"].sort_index()
    return travel.minutes(Points.from_xy(list(towns.index), towns["seat_lon"], towns["seat_lat"]),
                          Points.from_xy(list(fac.index), fac.geometry.x, fac.geometry.y))


def test_sparse_pairs_are_the_dense_minutes_within_the_bound_plus_own_townships():
    region, travel = _fixture(), TravelModel()
    dense = _dense(region, travel)
    m = build_matrix(region, travel, 45.0)
    inside = dense <= 45.0
    assert 0 < inside.sum() < dense.size  # pairs on both sides of the bound
    got = np.full(dense.shape, np.nan)
    got[m.rows, m.cols] = m.minutes
    assert np.array_equal(got[inside], dense[inside])  # the same figures to the last bit
    own = np.zeros(dense.shape, bool)
    own[3, m.column("F5")] = True  # T4 - F5: 2 degrees, kept for the choice model
    assert dense[3, m.column("F5")] > 45 and got[3, m.column("F5")] == dense[3, m.column("F5")]
    assert np.isnan(got[~inside & ~own]).all()  # nothing else is stored
    assert list(zip(m.rows, m.cols)) == sorted(zip(m.rows, m.cols))  # row-major order
    assert np.array_equal(np.diff(m.indptr), np.bincount(m.rows, minlength=4))
    with pytest.raises(ValueError, match="45"):
        m.pairs(60.0)


def test_nearest_beyond_the_bound_is_exact():
    region, travel = _fixture(), TravelModel()
    dense = _dense(region, travel)
    m = build_matrix(region, travel, 10.0)
    hospitals = (m.facilities["kind"] == "general_hospital").to_numpy()
    near = m.nearest(hospitals)
    assert np.array_equal(near, dense[:, hospitals].min(axis=1))  # T4's nearest is hundreds of km away
    assert near[3] > 300 and np.isinf(m.nearest(np.zeros(len(hospitals), bool))).all()
    assert np.array_equal(m.within(hospitals, 10.0), dense[:, hospitals].min(axis=1) <= 10.0)


def test_the_nearest_through_the_tree_is_the_dense_row_minimum(monkeypatch):
    # Random seats and facilities over a few degrees, a bound that leaves most seats beyond it, every
    # mask computed through the k-d tree (TREE_CELLS 0) and compared with the dense matrix bit for bit.
    import geopandas as gpd

    import planner.access.matrix as matrix

    rng = np.random.default_rng(7)
    n, m = 300, 400
    towns = pd.DataFrame({"seat_lon": rng.uniform(100, 104, n), "seat_lat": rng.uniform(25, 28, n),
                          "population": 100, "county_code": "1"}, index=[f"T{k:03d}" for k in range(n)])
    fac = pd.DataFrame({"kind": "general_hospital", "township_code": "T000"}, index=[f"F{k:03d}" for k in range(m)])
    fac = gpd.GeoDataFrame(fac, geometry=[Point(x, y) for x, y in zip(rng.uniform(100, 104, m), rng.uniform(25, 28, m))],
                           crs="EPSG:4326")
    region, travel = _Region(towns, fac), TravelModel()
    dense = _dense(region, travel)
    monkeypatch.setattr(matrix, "TREE_CELLS", 0)
    mat = build_matrix(region, travel, 5.0)
    for share in (0.002, 0.02, 0.3, 1.0):
        mask = rng.random(m) < share
        mask[0] = True
        near = mat.nearest(mask)
        assert (near > 5.0).any() and np.array_equal(near, dense[:, mask].min(axis=1))


def test_the_grid_and_the_block_paths_agree_and_reach_within_is_exact():
    region = _fixture()
    straight, od = TravelModel(), TravelModel(od=pd.Series(dtype=float))  # an (empty) OD table: every pair computed
    a, b = build_matrix(region, straight, 60.0), build_matrix(region, od, 60.0)
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols) and np.array_equal(a.minutes, b.minutes)
    dense = _dense(region, straight)
    seats = a.seats
    for limit in (5.0, 30.0, 60.0, 500.0):
        assert np.array_equal(reach_within(straight, seats, a.points, limit, block=2), (dense <= limit).any(axis=1))


def test_reach_within_on_random_points_equals_every_pair():
    # Latitudes up to 85 (longitude windows wide), longitudes across the antimeridian (windows that wrap), and
    # reaches set to pairs' exact minutes (a pair on the limit must be found): against the dense matrix.
    from planner.travel import Points

    rng = np.random.default_rng(7)
    straight = TravelModel()
    for n_seats, n_dest, lat_span, lon_c in ((300, 200, 85.0, 0.0), (250, 400, 30.0, 175.0), (400, 60, 10.0, 110.0)):
        seats = Points.from_xy([f"s{k}" for k in range(n_seats)], (lon_c + rng.uniform(-20, 20, n_seats) + 180) % 360 - 180,
                               rng.uniform(-lat_span, lat_span, n_seats))
        dest = Points.from_xy([f"d{k}" for k in range(n_dest)], (lon_c + rng.uniform(-20, 20, n_dest) + 180) % 360 - 180,
                              rng.uniform(-lat_span, lat_span, n_dest))
        dense = straight.minutes(seats, dest)
        limits = [1.0, 60.0, 600.0, 6000.0, *np.sort(dense.min(axis=1))[[0, n_seats // 2, -1]].tolist()]
        for limit in limits:
            for block in (1, 2, 16, 256):
                got = reach_within(straight, seats, dest, limit, block=block)
                assert np.array_equal(got, (dense <= limit).any(axis=1)), (limit, block)


def test_reach_bound_is_the_largest_reach_the_matrix_serves():
    rules = [EmergencyCenters(id="e", source="s", max_minutes=60), AccessIndicators(id="a", source="s", max_minutes=45),
             VisitShareModel(id="v", source="s", max_minutes=90)]
    assert reach_bound(rules) == 90 and reach_bound(rules[:2]) == 60 and reach_bound([]) == float("inf")


def test_huff_bincount_and_scipy_products_are_bit_identical(monkeypatch):
    pytest.importorskip("scipy")
    rng = np.random.default_rng(7)
    n, m, k = 40, 30, 500
    keys = np.unique(rng.integers(0, n * m, k))
    rows, cols = keys // m, keys % m
    inp = choice.ChoiceInputs(demand_pop=rng.random(n) * 1e4, town_county=np.array(["1"] * n), rows=rows, cols=cols,
                              minutes=rng.random(len(keys)) * 100, capacity=rng.random(m) * 5e4 + 1,
                              primary=rng.random(m) < 0.5, fac_county=np.array(["1"] * m),
                              own_town=rng.random(len(keys)) < 0.05, clinic_capacity=rng.random(n) * 1e3,
                              town_county_id=np.zeros(n, int), fac_county_id=np.zeros(m, int))
    rule = VisitShareModel(id="v", source="s", max_minutes=90, max_utilization=0.8)
    monkeypatch.setattr(choice, "SPARSE_PAIRS", 10**12)
    a = choice.huff(inp, rule)
    monkeypatch.setattr(choice, "SPARSE_PAIRS", 0)
    b = choice.huff(inp, rule)
    assert a.overloaded > 0 and a.iterations == b.iterations
    for name in ("visits", "primary_visits", "in_county_visits", "load", "clinic_load"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_vectorised_held_karp_equals_the_plain_program_ties_included():
    rng = np.random.default_rng(3)
    for trial in range(60):
        n = 6 + trial % 3
        t = rng.integers(1, 4, (n + 1, n + 1)).astype(float) if trial % 2 else rng.random((n + 1, n + 1)) * 60
        stops = list(range(1, n + 1))
        assert held_karp(t, stops) == held_karp_reference(t, stops)
