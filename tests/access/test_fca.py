"""2SFCA: a hand-computed case, and the planner's figures against PySAL `access` on a real slice (within 1e-9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.access.fca import decay_weights, from_geodataframe, two_step_fca, two_step_fca_pairs


def test_two_step_fca_by_hand():
    # Two townships (100 and 300 residents), two clinics (2 and 4 physicians); no decay, 30-minute catchment.
    # Clinic A reaches both (R = 2 / 400), clinic B only the second (R = 4 / 300).
    minutes = np.array([[10.0, 40.0], [20.0, 5.0]])
    a = two_step_fca(np.array([100, 300]), np.array([2, 4]), minutes, 30, decay="none")
    assert a == pytest.approx([2 / 400, 2 / 400 + 4 / 300], rel=1e-12)


def test_gaussian_decay_and_catchment():
    w = decay_weights(np.array([0.0, 20.0, 60.0, 61.0]), 60, "gaussian", sigma_min=20)
    assert w == pytest.approx([1.0, np.exp(-0.5), np.exp(-4.5), 0.0])
    with pytest.raises(ValueError, match="unknown decay"):
        decay_weights(np.array([1.0]), 60, "linear")


def test_unreached_supply_adds_nothing_and_shape_is_checked():
    a = two_step_fca(np.array([100.0]), np.array([5.0, 7.0]), np.array([[10.0, 90.0]]), 60, decay="none")
    assert a == pytest.approx([0.05])
    with pytest.raises(ValueError, match="shape"):
        two_step_fca(np.array([1.0, 2.0]), np.array([1.0]), np.zeros((1, 1)), 60)


def test_planner_2sfca_equals_pysal_access_on_a_real_slice():
    """义乌市 (real township seats and census populations; synthesized facilities), 60-minute Gaussian 2SFCA."""
    access = pytest.importorskip("access")
    from planner import regions
    from planner.access.matrix import build_matrix
    from planner.travel import TravelModel

    region = regions.load("义乌市")
    m = build_matrix(region, TravelModel())  # unbounded: every pair stored
    assert len(m.minutes) == len(m.towns) * len(m.facilities)
    fac = m.facilities
    minutes = np.full(m.shape, np.inf)
    minutes[m.rows, m.cols] = m.minutes
    physicians = m.physicians
    assert len(m.towns) >= 10 and len(fac) >= 10
    demand = pd.DataFrame({"geoid": m.towns.index.astype(str), "pop": m.population}).set_index("geoid")
    supply = pd.DataFrame({"geoid": fac.index.astype(str), "doc": physicians}).set_index("geoid")
    cost = pd.DataFrame([(o, d, float(minutes[i, j])) for i, o in enumerate(demand.index) for j, d in enumerate(supply.index)],
                        columns=["origin", "dest", "cost"])
    ref = access.Access(demand_df=demand, demand_value="pop", supply_df=supply, supply_value="doc", cost_df=cost,
                        cost_origin="origin", cost_dest="dest", cost_name="cost")
    got_ref = ref.two_stage_fca(name="t", max_cost=60, weight_fn=access.weights.gaussian(30))["t_doc"]
    ours = from_geodataframe(m.towns, "population", fac.assign(doc=physicians), "doc", 60, minutes,
                             decay="gaussian", sigma_min=30)
    got_ref = got_ref.reindex(ours.index.astype(str)).fillna(0.0).to_numpy()
    assert np.abs(ours.to_numpy() - got_ref).max() <= 1e-9
    assert (ours > 0).all()
    # The planner's own path: the matrix bounded at the catchment, 2SFCA on its pairs.
    bounded = build_matrix(region, TravelModel(), 60)
    rows, cols, t = bounded.pairs(60)
    pairs = two_step_fca_pairs(bounded.population, bounded.physicians, rows, cols, decay_weights(t, 60, "gaussian", 30))
    assert len(bounded.minutes) < len(m.minutes) and np.abs(pairs - got_ref).max() <= 1e-9
