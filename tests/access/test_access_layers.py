"""The access map layer's nearest emergency center: the k-d tree search gives the dense matrix's minutes, bit for bit."""

import geopandas as gpd
import numpy as np

from planner.access import layers
from planner.travel import Points, TravelModel


def test_nearest_minutes_by_tree_equal_dense(monkeypatch):
    rng = np.random.default_rng(7)
    n = 400
    lon, lat = rng.uniform(100, 122, n), rng.uniform(22, 42, n)
    lon[5:9], lat[5:9] = lon[0], lat[0]                      # ties: several centers on one spot
    runs = rng.random(n) < 0.5
    runs[0] = True
    fac = gpd.GeoDataFrame({"chest_pain": runs}, geometry=gpd.points_from_xy(lon, lat), index=[f"f{i}" for i in range(n)])
    s_lon = np.concatenate([rng.uniform(100, 122, 300), lon[:20], [lon[0] + 1e-9]])
    s_lat = np.concatenate([rng.uniform(22, 42, 300), lat[:20], [lat[0]]])
    seats = Points.from_xy([str(i) for i in range(len(s_lon))], s_lon, s_lat)
    travel = TravelModel()
    dense = travel.minutes(seats, layers._runs_of(fac, "chest_pain")).min(axis=1)
    monkeypatch.setattr(layers, "DENSE_PAIRS", 0)
    tree = layers.nearest_minutes(travel, seats, fac, "chest_pain")
    assert np.array_equal(tree, dense)
    assert np.array_equal(layers.nearest_minutes(travel, seats, fac, "stroke"), np.full(len(seats), np.inf))
