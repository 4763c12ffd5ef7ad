"""The matrix-level grouping core: exact contiguity, shared and outside roots, balance, counts."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from planner.districting import DistrictingModel, integer_costs, solve_districting
from planner.milp import BACKENDS, Status


def test_contiguity_changes_a_plan_that_would_be_split() -> None:
    """
    A path of four areas, centers rooted at both ends; the cheap assignment crosses over::

        [0]--[1]--[2]--[3]
         A              B      area 1 is cheapest with B, area 2 with A

    Without contiguity: A = {0, 2}, B = {1, 3} (disconnected). With it, each group is a run.
    """
    cost = np.array([[0, 50], [9, 0], [0, 9], [50, 0]])
    edges = [(0, 1), (1, 2), (2, 3)]
    loose = solve_districting([1, 1, 1, 1], cost, edges, [0, 3], k=2, contiguity=False)
    assert loose.groups == {0: (0, 2), 1: (1, 3)}
    assert loose.objective == 0
    tight = solve_districting([1, 1, 1, 1], cost, edges, [0, 3], k=2, contiguity=True)
    assert tight.status is Status.OPTIMAL
    assert tight.objective == 9
    graph = nx.Graph(edges)
    for members in tight.groups.values():
        assert nx.is_connected(graph.subgraph(members))


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_on_a_balanced_contiguous_grid(backend: str) -> None:
    """
    A 3 x 3 grid, heavy corners, every cell a candidate, three groups of 5-11 residents::

        5 1 5
        1 1 1
        5 1 5
    """
    n = 9
    pos = [(i % 3, i // 3) for i in range(n)]
    edges = [(a, b) for a in range(n) for b in range(a + 1, n) if abs(pos[a][0] - pos[b][0]) + abs(pos[a][1] - pos[b][1]) == 1]
    pop = np.array([5, 1, 5, 1, 1, 1, 5, 1, 5])
    d2 = np.array([[(pos[i][0] - pos[j][0]) ** 2 + (pos[i][1] - pos[j][1]) ** 2 for j in range(n)] for i in range(n)])
    r = solve_districting(pop, pop[:, None] * d2, edges, list(range(n)), k=3, balance=(5, 11), backend=backend)
    assert r.status is Status.OPTIMAL
    assert r.objective == 15
    assert len(r.groups) == 3
    graph = nx.Graph(edges)
    for members in r.groups.values():
        assert 5 <= pop[list(members)].sum() <= 11
        assert nx.is_connected(graph.subgraph(members))


def test_two_centers_in_one_area_share_its_root() -> None:
    """
    Two hospitals sit in area 0 (the county seat); both must lead::

        [1]--[0]--[2]
             A,B

    Area 0 belongs to one of them; the other's group is reached through area 0.
    """
    cost = np.array([[0, 0], [1, 5], [5, 1]])
    dm = DistrictingModel(np.array([10, 10, 10]), cost, [(0, 1), (0, 2)], [0, 0])
    dm.fix_open(0, 1, "must")
    dm.fix_open(1, 1, "must")
    dm.add_contiguity("contiguity")
    sol = dm.solve("cpsat")
    assert sol.status is Status.OPTIMAL
    groups = dm.groups_of(sol)
    assert set(groups) == {0, 1}
    assert sorted(groups[0] + groups[1]) == [0, 1, 2]
    assert 1 in groups[0] and 2 in groups[1]


def test_a_center_outside_the_areas_chooses_a_connected_group() -> None:
    """
    A city hospital outside the county (root -1) leads the whole county; the county is a path
    with a gap in the middle unless area 1 joins::

        [0]--[1]--[2]
    """
    cost = np.array([[1], [1], [1]])
    r = solve_districting([1, 1, 1], cost, [(0, 1), (1, 2)], [-1], k=1)
    assert r.status is Status.OPTIMAL and r.groups == {0: (0, 1, 2)}


def test_outside_center_with_disconnected_areas_is_infeasible_under_contiguity() -> None:
    cost = np.array([[1], [1]])
    r = solve_districting([1, 1], cost, [], [-1], k=1, contiguity=True)
    assert r.status is Status.INFEASIBLE
    r = solve_districting([1, 1], cost, [], [-1], k=1, contiguity=False)
    assert r.status is Status.OPTIMAL


def test_soft_count_pays_its_penalty_instead_of_failing() -> None:
    dm = DistrictingModel(np.array([1, 1]), np.array([[0, 100], [100, 0]]), [(0, 1)], [0, 1])
    dm.add_count(None, 1, "count", penalty=10)
    sol = dm.solve("cpsat")
    assert sol.status is Status.OPTIMAL
    # Two groups cost 0 travel + 10 penalty, cheaper than one group (100).
    assert len(dm.groups_of(sol)) == 2 and sol.objective == 10


def test_integer_costs_are_rounded_person_minutes() -> None:
    assert integer_costs(np.array([10, 3]), np.array([[1.26, 0.0], [2.5, 1.0]])).tolist() == [[13, 0], [8, 3]]


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"cost matrix has shape \(2, 1\), expected \(2, 2\)"):
        DistrictingModel(np.array([1, 1]), np.array([[0], [1]]), [], [0, 1])


def test_without_side_constraints_the_pmedian_core_gives_the_model_optimum() -> None:
    """No contiguity, no balance, k fixed, every area a candidate: the exact p-median core answers."""
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 50, size=(12, 2))
    cost = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)) * 10).astype(int)
    fast = solve_districting(np.ones(12, dtype=int), cost, [], list(range(12)), k=3, contiguity=False)
    dm = DistrictingModel(np.ones(12, dtype=int), cost, [], list(range(12)))
    dm.add_count(3, 3, "count")
    slow = dm.solve("cpsat")
    assert fast.status is Status.OPTIMAL and fast.objective == pytest.approx(slow.objective)
    assert len(fast.groups) == 3
