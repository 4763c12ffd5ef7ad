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
