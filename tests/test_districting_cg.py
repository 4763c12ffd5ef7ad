"""Column generation for districting: the set-partitioning bound and the exact solve against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.districting import contiguity_exclusions, hess_lp
from planner.districting_cg import (ColumnGeneration, _solve_at_target, branch_and_price, certify, price_flow,
                                     solve_colgen)


def _grid(rows: int, cols: int) -> list[tuple[int, int]]:
    edges = []
    for r in range(rows):
        for c in range(cols):
            v = r * cols + c
            if c + 1 < cols:
                edges.append((v, v + 1))
            if r + 1 < rows:
                edges.append((v, v + cols))
    return edges


def _connected(members: list[int], edges: list[tuple[int, int]]) -> bool:
    inside = set(members)
    seen = {members[0]}
    stack = [members[0]]
    while stack:
        u = stack.pop()
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                if x == u and y in inside and y not in seen:
                    seen.add(y)
                    stack.append(y)
    return seen == inside


def _brute_force(pop, cost, edges, k, lower, upper) -> float:
    """Least cost over every labelling into k connected districts within [lower, upper], best centers."""
    n = len(pop)
    best = np.inf
    for labels in itertools.product(range(k), repeat=n):
        if labels[0] != 0 or len(set(labels)) != k:
            continue  # district names up to relabelling: area 0 in district 0
        if any(labels.index(d) > labels.index(d + 1) for d in range(k - 1)):
            continue  # districts numbered in order of their first area
        total = 0.0
        for d in range(k):
            members = [i for i in range(n) if labels[i] == d]
            if not lower <= pop[members].sum() <= upper or not _connected(members, edges):
                break
            total += min(cost[members, j].sum() for j in members)
        else:
            best = min(best, total)
    return best


def _grid_instance(seed: int):
    """5 x 2 grid, 3 districts, +-20 %, seeded populations and costs, with its brute-force optimum."""
    rng = np.random.default_rng(seed)
    pop = rng.integers(10, 40, size=10).astype(np.int64)
    cost = rng.integers(1, 100, size=(10, 10)).astype(np.int64) * pop[:, None]
    np.fill_diagonal(cost, 0)
    edges = _grid(5, 2)
    k = 3
    mean = pop.sum() / k
    lower, upper = int(np.floor(0.8 * mean)), int(np.ceil(1.2 * mean))
    return pop, cost, edges, k, lower, upper, _brute_force(pop, cost, edges, k, lower, upper)


def _assert_districts(groups, pop, cost, edges, lower, upper, total=None) -> None:
    """Each group holds its center, is connected and within [lower, upper]; costs add up to `total` if given."""
    cost_sum = 0.0
    for center, members in groups.items():
        assert center in members and _connected(list(members), edges)
        assert lower <= pop[list(members)].sum() <= upper
        cost_sum += cost[list(members), center].sum()
    if total is not None:
        assert cost_sum == pytest.approx(total)


@pytest.fixture(scope="module")
def tiny():
    """A 3 x 3 grid, 3 districts, hand-set populations, random (seeded) costs: contiguity binds."""
    rng = np.random.default_rng(7)
    pop = np.array([30, 10, 25, 15, 40, 20, 35, 10, 15], dtype=np.int64)
    cost = rng.integers(1, 100, size=(9, 9)).astype(np.int64) * pop[:, None]
    np.fill_diagonal(cost, 0)
    edges = _grid(3, 3)
    k, lower, upper = 3, 55, 80
    return pop, cost, edges, k, lower, upper, _brute_force(pop, cost, edges, k, lower, upper)


def test_the_set_partitioning_bound_lies_between_the_assignment_lp_and_the_optimum(tiny):
    pop, cost, edges, k, lower, upper, optimum = tiny
    assert np.isfinite(optimum)
    cg = ColumnGeneration(pop, cost, edges, k, lower, upper)
    bound = cg.run(60.0) * cg.scale
    ex = contiguity_exclusions(pop, edges, list(range(len(pop))), lower, upper)
    lp = hess_lp(cost, pop, k, lower, upper, ex)[0] * float(cost.max())
    assert bound <= optimum + 1e-6
    assert bound >= lp - 1e-6
    for col in cg.columns:  # every generated district is connected, balanced and holds its center
        assert col.center in col.members
        assert lower <= pop[list(col.members)].sum() <= upper
        assert _connected(list(col.members), edges)


def test_the_exclusions_keep_the_optimal_plan_and_the_model_under_them_is_exact(tiny):
    pop, cost, edges, k, lower, upper, optimum = tiny
    cg = ColumnGeneration(pop, cost, edges, k, lower, upper)
    cg.run(60.0)
    ex = cg.exclusions(optimum)
    status, plan, value, _ = _solve_at_target(pop, cost, edges, k, lower, upper, ex, optimum, 60.0)
    assert status == "OPTIMAL" and value == pytest.approx(optimum)
    assert sorted(i for members in plan.values() for i in members) == list(range(len(pop)))
    status, plan, _, _ = _solve_at_target(pop, cost, edges, k, lower, upper, cg.exclusions(optimum - 1),
                                          optimum - 1, 60.0)
    assert status == "INFEASIBLE" and plan is None


def test_solve_colgen_proves_the_brute_force_optimum(tiny):
    pop, cost, edges, k, lower, upper, optimum = tiny
    res = solve_colgen(pop, cost, edges, k=k, lower=lower, upper=upper, time_limit_s=60.0)
    assert res.status == "OPTIMAL"
    assert res.objective == pytest.approx(optimum)
    assert res.bound == pytest.approx(optimum)
    _assert_districts(res.groups, pop, cost, edges, lower, upper, total=optimum)


def test_the_flow_pricing_finds_the_least_connected_balanced_group_holding_the_center(tiny):
    pop, _cost, edges, _k, lower, upper, _optimum = tiny
    n = len(pop)
    rng = np.random.default_rng(11)
    for trial in range(6):
        weight = rng.normal(size=n)
        center = trial % n
        best = np.inf
        for mask in range(1 << n):
            members = [i for i in range(n) if mask >> i & 1]
            if center in members and lower <= pop[members].sum() <= upper and _connected(members, edges):
                best = min(best, float(weight[members].sum()))
        value, group = price_flow(pop, weight, edges, center, lower, upper)
        assert value == pytest.approx(best, abs=1e-6)
        assert center in group and _connected(list(group), edges)
        assert lower <= pop[list(group)].sum() <= upper
        assert float(weight[list(group)].sum()) == pytest.approx(best, abs=1e-6)
    # No group reaches `lower` when the center's own reach is too small: inf, no group.
    assert price_flow(pop, np.zeros(n), edges, 0, int(pop.sum()) + 1, int(pop.sum()) + 2) == (np.inf, None)


def test_certify_confirms_convergence_and_its_bound_is_valid(tiny):
    pop, cost, edges, k, lower, upper, optimum = tiny
    cg = ColumnGeneration(pop, cost, edges, k, lower, upper)
    bound = cg.run(60.0)
    assert cg.converged
    cert = certify(cg)
    assert cert.dual_infeasibility >= -1e-9  # the final duals price no master column out
    assert cert.dual_value == pytest.approx(cert.master_lp, abs=1e-9)
    assert cert.min_reduced_cost >= -1e-9  # no connected balanced district prices out
    assert cert.lagrangian == pytest.approx(bound, abs=1e-9)
    assert cert.lagrangian * cert.scale <= optimum + 1e-6
    # At duals that are not optimal (all zero) the Lagrangian stays a valid bound.
    zero = certify(cg, pi=np.zeros(len(pop)), mu=0.0)
    assert zero.lagrangian <= bound + 1e-9
    assert zero.lagrangian * zero.scale <= optimum + 1e-6


def test_branch_and_price_proves_the_brute_force_optimum(tiny):
    pop, cost, edges, k, lower, upper, optimum = tiny
    res = branch_and_price(pop, cost, edges, k=k, lower=lower, upper=upper, time_limit_s=120.0)
    assert res.status == "OPTIMAL"
    assert res.objective == pytest.approx(optimum)
    assert res.bound == pytest.approx(optimum)
    _assert_districts(res.groups, pop, cost, edges, lower, upper, total=optimum)


@pytest.mark.parametrize("seed", [3, 17])
def test_branch_and_price_branches_to_the_brute_force_optimum(seed):
    """5 x 2 grids, 3 districts, +-20 %: the set-partitioning LP is fractional on these seeds (root bound
    below the optimum, so the proof needs branching)."""
    pop, cost, edges, k, lower, upper, optimum = _grid_instance(seed)
    root = ColumnGeneration(pop, cost, edges, k, lower, upper)
    assert root.run(60.0) * root.scale < optimum - 1.0  # the LP alone does not prove it
    res = branch_and_price(pop, cost, edges, k=k, lower=lower, upper=upper, time_limit_s=120.0)
    assert res.nodes > 1
    assert res.status == "OPTIMAL"
    assert res.objective == pytest.approx(optimum)
    assert res.bound == pytest.approx(optimum)
    _assert_districts(res.groups, pop, cost, edges, lower, upper)
