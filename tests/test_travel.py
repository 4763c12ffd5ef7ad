"""Tests of ``planner.travel``: great-circle distances, the default travel model, OD matrices and road graphs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner.travel import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_SPEED_KPH,
    EARTH_RADIUS_KM,
    Points,
    RoadGraph,
    TravelModel,
    haversine_km,
    od_series,
)

HANGZHOU = (120.1551, 30.2741)  # West Lake
SHANGHAI = (121.4737, 31.2304)  # People's Square

# --- great-circle distance -------------------------------------------------------------------


def test_hangzhou_to_shanghai_is_about_165_km_great_circle() -> None:
    assert float(haversine_km(*HANGZHOU, *SHANGHAI)) == pytest.approx(165.0, abs=2.0)


@pytest.mark.parametrize("lon", [0.0, 87.6, 120.0, -75.0])
def test_one_degree_of_latitude_is_about_111_2_km_at_any_longitude(lon: float) -> None:
    assert float(haversine_km(lon, 29.0, lon, 30.0)) == pytest.approx(111.2, abs=0.05)


def test_one_degree_of_longitude_shrinks_with_the_cosine_of_latitude() -> None:
    assert float(haversine_km(120.0, 0.0, 121.0, 0.0)) == pytest.approx(111.2, abs=0.05)
    assert float(haversine_km(120.0, 60.0, 121.0, 60.0)) == pytest.approx(111.2 / 2, abs=0.1)


def test_haversine_is_zero_for_a_point_symmetric_and_half_the_circumference_at_the_antipode() -> None:
    assert float(haversine_km(*HANGZHOU, *HANGZHOU)) == 0.0
    assert float(haversine_km(*HANGZHOU, *SHANGHAI)) == pytest.approx(float(haversine_km(*SHANGHAI, *HANGZHOU)))
    assert float(haversine_km(0.0, 0.0, 180.0, 0.0)) == pytest.approx(np.pi * EARTH_RADIUS_KM)
    assert float(haversine_km(0.0, 90.0, 0.0, -90.0)) == pytest.approx(np.pi * EARTH_RADIUS_KM)


def test_haversine_broadcasts_arrays() -> None:
    lon = np.array([120.0, 121.0, 122.0])
    d = haversine_km(lon[:, None], 30.0, lon[None, :], 30.0)
    assert d.shape == (3, 3)
    assert np.allclose(np.diag(d), 0.0)
    assert np.allclose(d, d.T)


# --- the default model -----------------------------------------------------------------------


def test_default_minutes_are_km_times_1_3_over_40_kph() -> None:
    assert (DEFAULT_DETOUR_FACTOR, DEFAULT_SPEED_KPH) == (1.3, 40.0)
    a = Points.from_xy(["HZ"], [HANGZHOU[0]], [HANGZHOU[1]])
    b = Points.from_xy(["SH", "HZ"], [SHANGHAI[0], HANGZHOU[0]], [SHANGHAI[1], HANGZHOU[1]])
    km = float(haversine_km(*HANGZHOU, *SHANGHAI))
    minutes = TravelModel().minutes(a, b)
    assert minutes.shape == (1, 2)
    assert minutes[0, 0] == pytest.approx(km * 1.3 / 40 * 60)
    assert minutes[0, 1] == 0.0


def test_detour_factor_and_speed_can_be_changed() -> None:
    a = Points.from_xy(["a"], [120.0], [29.0])
    b = Points.from_xy(["b"], [120.0], [30.0])
    km = float(haversine_km(120.0, 29.0, 120.0, 30.0))
    assert TravelModel(detour_factor=1.5, speed_kph=60).minutes(a, b)[0, 0] == pytest.approx(km * 1.5 / 60 * 60)


def test_no_origins_or_no_destinations_give_an_empty_matrix_of_the_right_shape() -> None:
    none = Points.from_xy([], [], [])
    two = Points.from_xy(["a", "b"], [120.0, 120.1], [29.0, 29.0])
    assert TravelModel().minutes(none, two).shape == (0, 2)
    assert TravelModel().minutes(two, none).shape == (2, 0)


def test_points_ids_are_text() -> None:
    p = Points.from_xy([1, "007"], [120.0, 120.1], [29.0, 29.0])
    assert p.ids == ("1", "007")
    assert len(p) == 2


def test_describe_says_how_minutes_are_computed() -> None:
    assert TravelModel().describe() == "great-circle distance x 1.3 at 40 km/h"
    od = od_series(pd.DataFrame({"origin": ["a"], "destination": ["b"], "travel_min": ["5"]}))
    assert TravelModel(od=od).describe().startswith("origin-destination matrix (1 pairs), missing pairs by ")


# --- an OD matrix ----------------------------------------------------------------------------


def od_frame(rows: list[tuple[str, str, float]]) -> pd.Series:
    return od_series(pd.DataFrame(rows, columns=["origin", "destination", "travel_min"]))


TOWNS = Points.from_xy(["T1", "T2", "T3"], [120.0, 120.1, 120.2], [29.0, 29.0, 29.0])
HOSPITALS = Points.from_xy(["H1", "T1"], [120.3, 120.0], [29.0, 29.0])


def test_od_matrix_overrides_the_pairs_it_has_in_either_direction_and_counts_fallbacks() -> None:
    model = TravelModel(od=od_frame([("T1", "H1", 12.0), ("H1", "T2", 7.5)]))
    straight = TravelModel().minutes(TOWNS, HOSPITALS)
    minutes = model.minutes(TOWNS, HOSPITALS)
    assert minutes[0, 0] == 12.0       # T1 -> H1, as given
    assert minutes[1, 0] == 7.5        # T2 -> H1, given as H1 -> T2
    assert minutes[2, 0] == pytest.approx(straight[2, 0])  # T3 -> H1 missing: straight line
    assert minutes[0, 1] == 0.0        # T1 -> T1: the same place, not a fallback
    assert minutes[1, 1] == pytest.approx(straight[1, 1])
    assert minutes[2, 1] == pytest.approx(straight[2, 1])
    # missing: T3->H1, T2->T1, T3->T1
    assert model.fallbacks == [3]


def test_od_fallbacks_accumulate_over_calls() -> None:
    model = TravelModel(od=od_frame([("T1", "H1", 12.0)]))
    model.minutes(TOWNS, HOSPITALS)
    model.minutes(TOWNS, HOSPITALS)
    assert model.fallbacks == [8]


def test_od_value_in_the_given_direction_wins_over_the_reverse() -> None:
    model = TravelModel(od=od_frame([("T1", "H1", 12.0), ("H1", "T1", 20.0)]))
    assert model.minutes(TOWNS, HOSPITALS)[0, 0] == 12.0


def test_od_series_indexes_minutes_by_origin_and_destination_as_text() -> None:
    s = od_series(pd.DataFrame({"origin": [330102001, "T2"], "destination": ["H1", "H1"], "travel_min": ["12", 7]}))
    assert s[("330102001", "H1")] == 12.0
    assert s.dtype == float


def test_od_matrix_with_a_repeated_pair_is_refused() -> None:
    with pytest.raises(ValueError, match="T1 -> H1 is listed twice"):
        od_frame([("T1", "H1", 12.0), ("T1", "H1", 14.0)])


# --- a road graph ----------------------------------------------------------------------------


def roads() -> gpd.GeoDataFrame:
    """
    A fast road along 29.0N, a slow road north to N, a slow diagonal short cut, and a separate
    road far away (not connected)::

                              N (120.2, 29.1)
                            / |
              short cut   /   | 30 km/h
              10 km/h   /     |
        W -----60------ M ----60---- E         F1 ----- F2   (121.0-121.1, 30.0)
     (120.0)         (120.1)      (120.2)
    """
    lines = [
        (shapely.LineString([(120.0, 29.0), (120.1, 29.0), (120.2, 29.0)]), 60.0),   # W - M - E
        (shapely.LineString([(120.2, 29.0), (120.2, 29.1)]), 30.0),                 # E - N
        (shapely.LineString([(120.0, 29.0), (120.2, 29.1)]), 10.0),                 # W - N short cut
        (shapely.LineString([(121.0, 30.0), (121.1, 30.0)]), 40.0),                 # F1 - F2 (apart)
    ]
    return gpd.GeoDataFrame({"speed_kph": [s for _, s in lines]}, geometry=[g for g, _ in lines], crs="EPSG:4326")


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(haversine_km(a[0], a[1], b[0], b[1]))


def test_road_graph_has_a_node_per_distinct_vertex_and_edges_both_ways() -> None:
    g = RoadGraph.from_lines(roads())
    assert len(g.lon) == 6  # W, M, E, N, F1, F2: shared vertices join lines
    assert len(g.tail) == len(g.head) == len(g.minutes) == 2 * 5
    w = next(i for i in range(6) if (g.lon[i], g.lat[i]) == (120.0, 29.0))
    m = next(i for i in range(6) if (g.lon[i], g.lat[i]) == (120.1, 29.0))
    one_way = [k for k in range(len(g.tail)) if (g.tail[k], g.head[k]) == (w, m)]
    back = [k for k in range(len(g.tail)) if (g.tail[k], g.head[k]) == (m, w)]
    assert len(one_way) == len(back) == 1
    assert g.minutes[one_way[0]] == pytest.approx(km((120.0, 29.0), (120.1, 29.0)) / 60 * 60)
    assert g.minutes[back[0]] == g.minutes[one_way[0]]


def test_road_minutes_are_the_shortest_path_plus_access_legs_at_the_straight_line_model() -> None:
    origin = (120.0, 28.99)        # about 1.1 km south of W
    destination = (120.21, 29.1)   # about 1 km east of N
    model = TravelModel(road=RoadGraph.from_lines(roads()))
    minutes = model.minutes(Points.from_xy(["o"], [origin[0]], [origin[1]]),
                            Points.from_xy(["d"], [destination[0]], [destination[1]]))
    access = km(origin, (120.0, 29.0)) * 1.3 / 40 * 60
    egress = km(destination, (120.2, 29.1)) * 1.3 / 40 * 60
    via_fast_road = (km((120.0, 29.0), (120.2, 29.0)) / 60 + km((120.2, 29.0), (120.2, 29.1)) / 30) * 60
    via_short_cut = km((120.0, 29.0), (120.2, 29.1)) / 10 * 60
    assert via_fast_road < via_short_cut
    assert minutes[0, 0] == pytest.approx(access + via_fast_road + egress, rel=1e-6)
    assert model.fallbacks == [0]


def test_road_minutes_are_symmetric() -> None:
    model = TravelModel(road=RoadGraph.from_lines(roads()))
    a = Points.from_xy(["a", "b"], [120.0, 120.12], [28.99, 29.01])
    b = Points.from_xy(["c", "d", "e"], [120.21, 120.2, 120.05], [29.1, 29.0, 29.0])
    assert np.allclose(model.minutes(a, b), model.minutes(b, a).T)


def test_places_snapped_to_the_same_road_node_cost_only_their_access_legs() -> None:
    model = TravelModel(road=RoadGraph.from_lines(roads()))
    a = Points.from_xy(["a"], [120.1], [29.001])
    b = Points.from_xy(["b"], [120.1], [28.999])
    expected = 2 * km((120.1, 29.001), (120.1, 29.0)) * 1.3 / 40 * 60
    assert model.minutes(a, b)[0, 0] == pytest.approx(expected)


def test_places_on_disconnected_roads_fall_back_to_the_straight_line_model_and_are_counted() -> None:
    model = TravelModel(road=RoadGraph.from_lines(roads()))
    origins = Points.from_xy(["o"], [120.0], [29.0])
    destinations = Points.from_xy(["near", "far"], [120.2, 121.05], [29.0, 30.0])  # far snaps to F1-F2
    minutes = model.minutes(origins, destinations)
    assert minutes[0, 0] == pytest.approx(km((120.0, 29.0), (120.2, 29.0)) / 60 * 60)
    assert minutes[0, 1] == pytest.approx(TravelModel().minutes(origins, destinations)[0, 1])
    assert model.fallbacks == [1]


def test_line_travel_min_is_split_by_length_and_wins_over_speed() -> None:
    lines = gpd.GeoDataFrame({"speed_kph": [100.0], "travel_min": [30.0]},
                             geometry=[shapely.LineString([(120.0, 29.0), (120.1, 29.0), (120.3, 29.0)])],
                             crs="EPSG:4326")
    g = RoadGraph.from_lines(lines)
    assert sorted(np.round(g.minutes, 6)) == pytest.approx([10.0, 10.0, 20.0, 20.0], abs=1e-3)
    model = TravelModel(road=g)
    here, there = Points.from_xy(["a"], [120.0], [29.0]), Points.from_xy(["b"], [120.3], [29.0])
    assert model.minutes(here, there)[0, 0] == pytest.approx(30.0)


@pytest.mark.parametrize("speed", [None, np.nan, 0.0, -5.0])
def test_lines_without_a_usable_speed_use_the_default_speed(speed: object) -> None:
    lines = gpd.GeoDataFrame({"speed_kph": [speed]}, geometry=[shapely.LineString([(120.0, 29.0), (120.1, 29.0)])],
                             crs="EPSG:4326")
    g = RoadGraph.from_lines(lines, default_speed_kph=50.0)
    assert g.minutes[0] == pytest.approx(km((120.0, 29.0), (120.1, 29.0)) / 50 * 60)


def test_multilinestring_parts_become_roads_and_vertices_within_a_micro_degree_join() -> None:
    multi = shapely.MultiLineString([[(120.0, 29.0), (120.1, 29.0)], [(120.1000001, 29.0), (120.2, 29.0)]])
    lines = gpd.GeoDataFrame({"speed_kph": [60.0]}, geometry=[multi], crs="EPSG:4326")
    g = RoadGraph.from_lines(lines)
    assert len(g.lon) == 3
    model = TravelModel(road=g)
    minutes = model.minutes(Points.from_xy(["a"], [120.0], [29.0]), Points.from_xy(["b"], [120.2], [29.0]))
    assert minutes[0, 0] == pytest.approx(km((120.0, 29.0), (120.2, 29.0)) / 60 * 60, rel=1e-6)
    assert model.fallbacks == [0]


def test_road_file_without_usable_lines_is_refused() -> None:
    lines = gpd.GeoDataFrame({"speed_kph": [60.0]}, geometry=[shapely.LineString([(120.0, 29.0), (120.0, 29.0)])],
                             crs="EPSG:4326")
    lines = lines.iloc[0:0]
    with pytest.raises(ValueError, match="the road file has no usable lines"):
        RoadGraph.from_lines(lines)


def test_describe_names_the_road_network() -> None:
    model = TravelModel(road=RoadGraph.from_lines(roads()))
    assert model.describe() == "road network (6 nodes), access legs by great-circle distance x 1.3 at 40 km/h"


def _haversine_expression(lon1, lat1, lon2, lat2):
    """haversine_km as one expression (how it was written before it worked in place)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def test_haversine_in_place_gives_the_expressions_bits():
    rng = np.random.default_rng(7)
    for trial in range(60):
        n, m = (int(k) for k in rng.integers(1, 120, 2))
        lon1, lat1 = rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)
        lon2, lat2 = rng.uniform(-180, 180, m), rng.uniform(-90, 90, m)
        if trial % 3 == 0:  # equal and antipodal points (the clip's ends)
            lon2[: m // 2], lat2[: m // 2] = lon1[0], lat1[0]
            lon2[-1], lat2[-1] = lon1[0] - 180.0, -lat1[0]
        shapes = [(lon1[:, None], lat1[:, None], lon2[None, :], lat2[None, :]),       # a matrix
                  (lon1[:1], lat1[:1], lon2, lat2), (lon1, lat1, lon2[0], lat2[0]),   # one to many
                  (lon1[:, None], lat1[:, None], lon2[0], lat2[None, :]),             # mixed broadcasts
                  (lon1[: min(n, m)], lat1[: min(n, m)], lon2[: min(n, m)], lat2[: min(n, m)])]
        for args in shapes:
            want, got = _haversine_expression(*args), haversine_km(*args)
            assert got.shape == want.shape
            assert np.array_equal(got.view(np.int64), want.view(np.int64))
    for args in [(120.0, 30.0, 121.0, 31.0), (np.nan, 1.0, 2.0, 3.0), ([1.0, 2.0], [3.0, 4.0], 5.0, 6.0)]:
        np.testing.assert_array_equal(haversine_km(*args), _haversine_expression(*args))


def test_straight_minutes_pairs_equal_the_matrix_bits():
    rng = np.random.default_rng(3)
    model = TravelModel(detour_factor=1.37, speed_kph=33.0)
    a = Points.from_xy([f"a{i}" for i in range(40)], rng.uniform(119, 122, 40), rng.uniform(28, 31, 40))
    b = Points.from_xy([f"b{i}" for i in range(30)], rng.uniform(119, 122, 30), rng.uniform(28, 31, 30))
    matrix = model.straight_minutes(a, b)
    want = _haversine_expression(a.lon[:, None], a.lat[:, None], b.lon[None, :], b.lat[None, :]) * 1.37 / 33.0 * 60.0
    assert np.array_equal(matrix.view(np.int64), want.view(np.int64))
    i, j = np.meshgrid(np.arange(40), np.arange(30), indexing="ij")
    pairs = model.straight_pair_minutes(Points.from_xy([a.ids[k] for k in i.ravel()], a.lon[i.ravel()], a.lat[i.ravel()]),
                                        Points.from_xy([b.ids[k] for k in j.ravel()], b.lon[j.ravel()], b.lat[j.ravel()]))
    assert np.array_equal(pairs.view(np.int64), matrix.ravel().view(np.int64))
