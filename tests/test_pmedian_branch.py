"""Tests of the Lagrangian branch-and-bound of ``planner.pmedian_branch``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.pmedian import solve_pmedian
from planner.pmedian_branch import lagrangian_branch_and_bound
from test_pmedian import DATA, brute_force, check_consistent, read_orlib


def _target(integral: bool):
    def improving_target(ub: float) -> float:
        return ub - 1.0 if integral else ub - 1e-6 * max(1.0, abs(ub))
    return improving_target


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_tree_matches_brute_force_from_a_poor_incumbent(data: st.DataObject) -> None:
    # The tree alone, from the worst plan of the first p columns and zero multipliers (no
    # help from the heuristic or the root subgradient): it must find the optimum and close.
    n_clients = data.draw(st.integers(1, 9), label="n_clients")
    n_candidates = data.draw(st.integers(1, 10), label="n_candidates")
    p = data.draw(st.integers(1, n_candidates), label="p")
    integral = data.draw(st.booleans(), label="integral")
    values = st.integers(0, 40) if integral else st.floats(0, 40, allow_nan=False, width=32)
    cost = np.array(
        data.draw(st.lists(values, min_size=n_clients * n_candidates,
                           max_size=n_clients * n_candidates), label="cost"),
        dtype=float,
    ).reshape(n_clients, n_candidates)
    weights = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n_clients,
                                          max_size=n_clients), label="weights"), float)
    wcost = weights[:, None] * cost
    start = np.arange(p)
    start_cost = float(wcost[:, start].min(axis=1).sum())
    outcome = lagrangian_branch_and_bound(
        wcost, p, start, start_cost, np.zeros(n_clients), np.zeros(n_candidates, bool),
        np.zeros(n_candidates, bool), _target(integral), 1e-7 * max(1.0, start_cost),
        math.inf, 10**6,
    )
    assert outcome.complete
    expected = brute_force(cost, p, weights)
    assert len(set(outcome.medians.tolist())) == p
    assert outcome.objective == pytest.approx(
        float(wcost[:, outcome.medians].min(axis=1).sum()), abs=1e-9)
    assert outcome.objective == pytest.approx(expected, rel=2e-6, abs=1e-9)


def test_tree_proves_pmed1_with_ten_medians() -> None:
    cost, _ = read_orlib(DATA / "pmed1.txt")
    result = solve_pmedian(cost, 10, time_limit_s=120)
    assert result.status == "OPTIMAL"
    assert result.stats["proved_by"] == "lagrangian branch-and-bound"
    assert result.stats["branch_nodes"] > 1
    check_consistent(result, cost, 10)


def test_mip_takes_over_past_the_node_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.pmedian as pm

    cost, _ = read_orlib(DATA / "pmed1.txt")
    tree = solve_pmedian(cost, 10, time_limit_s=120)
    monkeypatch.setattr(pm, "_BRANCH_MAX_NODES", 1)
    mip = solve_pmedian(cost, 10, time_limit_s=120)
    assert mip.stats["branch_nodes"] == 1
    assert mip.status == "OPTIMAL" and mip.stats["proved_by"].startswith("mip")
    assert mip.objective == tree.objective
    check_consistent(mip, cost, 10)


def test_fixed_candidates_are_respected() -> None:
    # Candidates fixed closed never enter the plan and those fixed open always do: the tree
    # searches only the plans the fixings leave.
    rng = np.random.default_rng(4)
    points = rng.uniform(0, 100, size=(12, 2))
    cost = np.round(np.linalg.norm(points[:, None] - points[None], axis=2))
    p = 3
    closed = np.zeros(12, bool)
    closed[[0, 5]] = True
    opened = np.zeros(12, bool)
    opened[7] = True
    start = np.array([1, 2, 7])
    outcome = lagrangian_branch_and_bound(
        cost, p, start, float(cost[:, start].min(axis=1).sum()), np.zeros(12), closed, opened,
        _target(True), 1e-7, math.inf, 10**6,
    )
    assert outcome.complete
    import itertools

    best = min(float(cost[:, list(s)].min(axis=1).sum())
               for s in itertools.combinations(range(12), p)
               if 7 in s and 0 not in s and 5 not in s)
    assert outcome.objective == best
    assert 7 in outcome.medians and 0 not in outcome.medians and 5 not in outcome.medians
