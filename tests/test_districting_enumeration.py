"""Districting by enumeration of every feasible district, against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from planner.districting import connected_groups, solve_by_enumeration, solve_reduced
from planner.milp import Status

from test_districting_cg import _assert_districts, _connected, _grid, _grid_instance


@pytest.mark.parametrize("rows,cols,seed", [(3, 3, 1), (4, 3, 2), (2, 6, 3)])
def test_connected_groups_lists_each_balanced_connected_set_once(rows, cols, seed):
    n = rows * cols
    edges = _grid(rows, cols)
    pop = np.random.default_rng(seed).integers(5, 30, size=n)
    lower, upper = 40, 90
    expected = set()
    for mask in range(1, 1 << n):
        members = [i for i in range(n) if mask >> i & 1]
        if lower <= pop[members].sum() <= upper and _connected(members, edges):
            expected.add(tuple(members))
    got = connected_groups(pop, edges, lower, upper, max_groups=10**6)
    assert len(got) == len(set(got))  # no set twice
    assert set(got) == expected
    assert connected_groups(pop, edges, lower, upper, max_groups=3) is None  # the cap is kept


@pytest.mark.parametrize("seed", [3, 7, 17])
def test_enumeration_proves_the_brute_force_optimum(seed):
    pop, cost, edges, k, lower, upper, optimum = _grid_instance(seed)
    res = solve_by_enumeration(pop, cost, edges, k, lower, upper, 60.0)
    assert res.status is Status.OPTIMAL and res.objective == pytest.approx(optimum)
    _assert_districts(res.groups, pop, cost, edges, lower, upper, total=optimum)
    # solve_reduced takes this path for few areas and gives the same plan.
    red = solve_reduced(pop, cost, edges, k=k, balance=(lower, upper), time_limit_s=60.0)
    assert red.stats.get("method") == "enumeration"
    assert red.objective == pytest.approx(optimum) and red.groups == res.groups


def test_enumeration_reports_infeasible_and_gives_up_past_its_cap():
    pop = np.array([10, 10, 10, 10])
    cost = np.ones((4, 4), dtype=np.int64)
    edges = [(0, 1), (1, 2), (2, 3)]
    assert solve_by_enumeration(pop, cost, edges, 2, 25, 30, 10.0).status is Status.INFEASIBLE  # no group fits
    # Groups of exactly two areas: two groups at most, not three.
    assert solve_by_enumeration(pop, cost, edges, 3, 20, 20, 10.0).status is Status.INFEASIBLE
    assert solve_by_enumeration(pop, cost, edges, 2, 10, 20, 10.0, max_groups=2) is None
