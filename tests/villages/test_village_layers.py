"""The village layers' reuse key: it changes with every column the layers draw from, only with their county's rows."""

from types import SimpleNamespace

import pandas as pd

from planner.villages import layers


def _result(modes: pd.DataFrame):
    return SimpleNamespace(villages=SimpleNamespace(tables={"village_modes": modes}))


def test_layers_key_follows_the_drawn_columns():
    base = pd.DataFrame({c: ["x", "y"] for c in layers._COLUMNS["village_modes"]} | {"county": ["c1", "c2"],
                                                                                      "not_drawn": [1, 2]})
    unit = SimpleNamespace(county_codes=("c1",))
    key = layers.layers_key(_result(base), unit)
    for col in layers._COLUMNS["village_modes"]:
        if col == "county":
            continue
        changed = base.copy()
        changed.loc[0, col] = "z"
        assert layers.layers_key(_result(changed), unit) != key, col
        other = base.copy()
        other.loc[1, col] = "z"                      # another county's row
        assert layers.layers_key(_result(other), unit) == key, col
    quiet = base.copy()
    quiet.loc[0, "not_drawn"] = 9
    assert layers.layers_key(_result(quiet), unit) == key


def test_layers_key_follows_the_points_and_names_it_looks_up():
    """The points of the unit's villages and the name and point of each facility its rows name (a nearest
    licensed physician or a route base, possibly in another county) are drawn from the region, not the tables."""
    import geopandas as gpd
    import shapely

    modes = pd.DataFrame({c: ["x", "y"] for c in layers._COLUMNS["village_modes"]}
                         | {"county": ["c1", "c2"], "village": ["v1", "v2"], "nearest_licensed": ["f9", "f8"]})

    def result(vx=1.0, fx=5.0, fname="甲"):
        villages = gpd.GeoDataFrame({"geometry": [shapely.Point(vx, 2.0), shapely.Point(3.0, 4.0)]},
                                    index=pd.Index(["v1", "v2"], name="code"))
        facilities = gpd.GeoDataFrame({"name": [fname, "乙"], "geometry": [shapely.Point(fx, 6.0), shapely.Point(7.0, 8.0)]},
                                      index=pd.Index(["f9", "f8"], name="id"))
        return SimpleNamespace(villages=SimpleNamespace(tables={"village_modes": modes}),
                               region=SimpleNamespace(villages=villages, facilities=facilities))

    unit = SimpleNamespace(county_codes=("c1",))
    key = layers.layers_key(result(), unit)
    assert layers.layers_key(result(), unit) == key
    assert layers.layers_key(result(vx=1.001), unit) != key            # its village moved
    assert layers.layers_key(result(fx=5.001), unit) != key            # the facility its row names moved
    assert layers.layers_key(result(fname="丙"), unit) != key          # ... or was renamed
    other = result()
    other.region.villages.loc["v2", "geometry"] = shapely.Point(9.0, 9.0)    # another county's village
    other.region.facilities.loc["f8", "geometry"] = shapely.Point(9.0, 9.0)  # a facility no row of its names
    assert layers.layers_key(other, unit) == key
