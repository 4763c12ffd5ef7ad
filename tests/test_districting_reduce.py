"""The reduced districting solve: safe exclusions, Lagrangian fixing, separator cuts, against the plain model."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.districting import (
    DistrictingModel,
    _knapsack_lp,
    _knapsack_lp_without_each,
    contiguity_exclusions,
    lagrangian_exclusions,
    most_areas,
    population_reach,
    solve_districting,
)
from planner.milp import Solution, Status


def grid_instance(width: int, height: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """A width x height grid of areas with random populations and squared-distance costs (Hess)."""
    rng = np.random.default_rng(seed)
    n = width * height
    pos = np.array([(i % width, i // width) for i in range(n)], dtype=float)
    pos += rng.uniform(-0.3, 0.3, size=pos.shape)  # break the grid's symmetry so optima differ in cost
    pop = rng.integers(10, 100, size=n)
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(axis=2)
    cost = np.rint(pop[:, None] * d2 * 100).astype(np.int64)
    edges = [(a, b) for a in range(n) for b in range(a + 1, n)
             if abs(a % width - b % width) + abs(a // width - b // width) == 1]
    return pop, cost, edges


def balance_for(pop: np.ndarray, k: int, share: float) -> tuple[int, int]:
    mean = pop.sum() / k
    return int(np.ceil(mean * (1 - share))), int(np.floor(mean * (1 + share)))


def assert_valid(groups: dict[int, tuple[int, ...]], pop: np.ndarray, edges: list[tuple[int, int]], k: int,
                 lo: int, hi: int) -> None:
    graph = nx.Graph(edges)
    graph.add_nodes_from(range(len(pop)))
    assert len(groups) == k
    assert sorted(i for members in groups.values() for i in members) == list(range(len(pop)))
    for members in groups.values():
        assert lo <= pop[list(members)].sum() <= hi
        assert nx.is_connected(graph.subgraph(members))


@pytest.mark.parametrize("method", ["cuts", "flow"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reduced_solve_matches_the_plain_flow_model(seed: int, method: str) -> None:
    """Same optimum as the unreduced flow model (HiGHS) on 4 x 4 grids, 3 groups within +-25 %."""
    pop, cost, edges = grid_instance(4, 4, seed)
    lo, hi = balance_for(pop, 3, 0.25)
    plain = solve_districting(pop, cost, edges, list(range(16)), k=3, balance=(lo, hi), backend="highs")
    from planner.districting import solve_reduced

    # The ladder and the separator/flow paths (16 areas would otherwise be solved by enumeration) ...
    reduced = solve_reduced(pop, cost, edges, k=3, balance=(lo, hi), backend="highs", contiguity_method=method,
                            enumerate_max_areas=0)
    # ... and the enumeration path that solve_districting(reduce=True) takes here.
    listed = solve_districting(pop, cost, edges, list(range(16)), k=3, balance=(lo, hi), backend="highs",
                               reduce=True, contiguity_method=method)
    assert listed.stats["method"] == "enumeration" and listed.status is Status.OPTIMAL
    assert listed.objective == pytest.approx(plain.objective)
    assert plain.status is Status.OPTIMAL
    assert reduced.status is Status.OPTIMAL
    assert reduced.objective == pytest.approx(plain.objective)
    assert_valid(reduced.groups, pop, edges, 3, lo, hi)
    assert sum(cost[i, c] for c, members in reduced.groups.items() for i in members) == pytest.approx(reduced.objective)


@pytest.mark.parametrize("seed", [0, 3])
def test_target_ladder_proves_the_optimum_without_an_incumbent(seed: int) -> None:
    """No heuristic plan: cutoffs just above the LP bound are tried in turn; the first with a plan is the optimum."""
    from planner.districting import solve_reduced

    pop, cost, edges = grid_instance(4, 4, seed)
    lo, hi = balance_for(pop, 3, 0.25)
    plain = solve_districting(pop, cost, edges, list(range(16)), k=3, balance=(lo, hi), backend="highs")
    ladder = solve_reduced(pop, cost, edges, k=3, balance=(lo, hi), backend="highs", heuristic_starts=0,
                           ladder=(0.0, 0.01, 0.05, 0.2, 0.5, 1.0, 3.0), enumerate_max_areas=0)
    assert ladder.stats["incumbent"] is None
    targets = ladder.stats["targets"]
    assert targets[-1].split(":")[1] == "OPTIMAL"
    assert all(t.split(":")[1] in ("INFEASIBLE", "bound") for t in targets[:-1])
    assert ladder.status is Status.OPTIMAL
    assert ladder.objective == pytest.approx(plain.objective)
    assert float(targets[-1].split(":")[0]) >= ladder.objective  # the plan respects the cutoff it was found under
    assert_valid(ladder.groups, pop, edges, 3, lo, hi)


def test_target_ladder_too_low_everywhere_falls_back_to_no_cutoff() -> None:
    """Every target below the optimum and no incumbent: each is ruled out, then the model without a cutoff decides."""
    from planner.districting import solve_reduced

    pop, cost, edges = grid_instance(4, 4, 0)
    lo, hi = balance_for(pop, 3, 0.25)
    plain = solve_districting(pop, cost, edges, list(range(16)), k=3, balance=(lo, hi), backend="highs")
    res = solve_reduced(pop, cost, edges, k=3, balance=(lo, hi), backend="highs", heuristic_starts=0,
                        ladder=(-0.5, -0.4), enumerate_max_areas=0)
    *low, last = res.stats["targets"]
    assert [t.split(":")[1] for t in low] == ["bound", "bound"]
    assert all(plain.objective > float(t.split(":")[0]) for t in low)
    assert last.startswith("none:OPTIMAL")
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(plain.objective)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.integers(2, 3), share=st.sampled_from([0.1, 0.3, 0.6]))
def test_exclusions_never_remove_an_optimal_plan(seed: int, k: int, share: float) -> None:
    """Every pair of the plain model's optimal plan survives both exclusion steps."""
    pop, cost, edges = grid_instance(3, 3, seed)
    lo, hi = balance_for(pop, k, share)
    plain = solve_districting(pop, cost, edges, list(range(9)), k=k, balance=(lo, hi), backend="highs")
    if plain.status is Status.INFEASIBLE:
        return
    assert plain.status is Status.OPTIMAL
    ex = contiguity_exclusions(pop, edges, list(range(9)), lo, hi)
    ex = lagrangian_exclusions(cost, pop, k, lo, hi, plain.objective, ex)
    assert ex.bound is None or ex.bound <= plain.objective + 1e-6 * max(1.0, plain.objective)
    for center, members in plain.groups.items():
        assert not ex.closed[center]
        for i in members:
            assert ex.allowed[i, center], (i, center)


def test_a_lower_cutoff_removes_more_pairs() -> None:
    """Fixing is only as safe as its cutoff: a cutoff below the optimum removes more (so it must come from a real plan)."""
    pop, cost, edges = grid_instance(3, 3, 4)
    lo, hi = balance_for(pop, 2, 0.3)
    plain = solve_districting(pop, cost, edges, list(range(9)), k=2, balance=(lo, hi), backend="highs")
    ex = lagrangian_exclusions(cost, pop, 2, lo, hi, plain.objective * 0.5)
    assert ex.kept < lagrangian_exclusions(cost, pop, 2, lo, hi, plain.objective).kept


@pytest.mark.parametrize("seed", range(4))
def test_the_vectorised_forced_knapsacks_equal_one_knapsack_per_item(seed: int) -> None:
    """Row t of the vectorised probe is the knapsack without item t and with the bounds lowered by its weight."""
    rng = np.random.default_rng(seed)
    for _ in range(60):
        m = int(rng.integers(1, 25))
        c = rng.normal(size=m) * float(rng.choice([0.1, 1.0, 10.0]))
        w = rng.integers(1, 100, size=m).astype(float)
        lo = float(rng.uniform(-50, w.sum() * 1.1))
        hi = lo + float(rng.uniform(0, 200))
        got = _knapsack_lp_without_each(c, w, lo, hi)
        for t in range(m):
            keep = np.arange(m) != t
            want = _knapsack_lp(c[keep], w[keep], lo - w[t], hi - w[t])
            assert (np.isinf(want) and np.isinf(got[t])) or got[t] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_population_reach_is_the_lightest_path() -> None:
    """
    A path 0-1-2 and a heavy shortcut 0-3-2::

        [0:1]--[1:1]--[2:1]
           \\          /
            [3:100]--

    The lightest path from 0 to 2 goes through 1 (3 residents), not 3 (102).
    """
    reach = population_reach([1, 1, 1, 100], [(0, 1), (1, 2), (0, 3), (3, 2)])
    assert reach[2, 0] == 3
    assert reach[3, 0] == 101
    assert reach[0, 0] == 1


def test_contiguity_exclusions_drop_pairs_beyond_the_balance_maximum() -> None:
    """On a path of unit areas with at most 2 per group, an area can join only a neighbour's group."""
    edges = [(0, 1), (1, 2), (2, 3)]
    ex = contiguity_exclusions([1, 1, 1, 1], edges, [0, 1, 2, 3], 2, 2)
    assert ex.allowed[1, 0] and not ex.allowed[2, 0]
    assert not ex.closed.any()
    assert most_areas([1, 1, 1, 1], 2) == 2


def test_violated_separators_find_the_stray_part_and_its_boundary() -> None:
    """
    A path 0-1-2-3-4 with the center at 0; a plan giving it {0, 3} leaves 3 cut off by area 2
    (and 4). The cut says: 3 joins center 0 only if 2 does.
    """
    pop = np.ones(5, dtype=np.int64)
    cost = np.zeros((5, 1), dtype=np.int64)
    dm = DistrictingModel(pop, cost, [(0, 1), (1, 2), (2, 3), (3, 4)], [0])

    values = {dm.x[i, 0].index: 1.0 for i in (0, 3)} | {dm.y[0].index: 1.0}
    sol = Solution(Status.OPTIMAL, 0.0, 0.0, values, 0.0, "highs")
    cuts = dm.violated_separators(sol)
    assert cuts == [(3, 0, [2])]


def test_an_unknown_contiguity_method_is_named() -> None:
    pop, cost, edges = grid_instance(2, 2, 0)
    with pytest.raises(ValueError, match="unknown contiguity method 'lazy'; choose cuts or flow"):
        solve_districting(pop, cost, edges, list(range(4)), k=2, reduce=True, contiguity_method="lazy")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(1, 6))
def test_a_separator_meets_every_path_from_the_component_to_the_root(seed: int, size: int) -> None:
    """On random planar-ish graphs: removing `separator(comp, r)` leaves no path from `comp` to `r`."""
    rng = np.random.default_rng(seed)
    pop, cost, edges = grid_instance(5, 4, seed)
    # Drop some edges (keeping the graph's shape irregular); separators are graph facts, not plan facts.
    edges = [e for e in edges if rng.random() > 0.2]
    dm = DistrictingModel(pop, cost, edges, list(range(20)))
    graph = nx.Graph(edges)
    graph.add_nodes_from(range(20))
    start = int(rng.integers(20))
    comp = {start}
    while len(comp) < size:  # grow a connected component at random
        frontier = sorted({v for u in comp for v in graph[u]} - comp)
        if not frontier:
            break
        comp.add(int(rng.choice(frontier)))
    for r in sorted(set(range(20)) - comp):
        sep = dm.separator(comp, r)
        assert not set(sep) & comp
        if r in sep:
            continue  # r borders the component: the cut holds trivially (its root term is in it)
        cut = graph.copy()
        cut.remove_nodes_from(sep)
        assert not any(nx.has_path(cut, i, r) for i in comp), (comp, r, sep)


def sparse_grid_instance(seed: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """A 5 x 4 grid with about a third of its edges dropped (kept connected): contiguity binds there."""
    pop, cost, edges = grid_instance(5, 4, seed)
    rng = np.random.default_rng(seed + 99)
    graph = nx.Graph(edges)
    for e in edges:
        if rng.random() < 0.35:
            graph.remove_edge(*e)
            if not nx.is_connected(graph):
                graph.add_edge(*e)
    return pop, cost, sorted(graph.edges())


@pytest.mark.parametrize("seed", [6, 12, 18, 21])
def test_separators_carried_across_targets_keep_the_optimum(seed: int) -> None:
    """Cuts kept from one target for the next change the path, not the optimum."""
    from planner.districting import solve_reduced

    pop, cost, edges = sparse_grid_instance(seed)
    lo, hi = balance_for(pop, 3, 0.1)
    plain = solve_districting(pop, cost, edges, list(range(20)), k=3, balance=(lo, hi), backend="highs")
    assert plain.status is Status.OPTIMAL
    ladder = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    for carry in (False, True):
        res = solve_reduced(pop, cost, edges, k=3, balance=(lo, hi), backend="highs", heuristic_starts=0,
                            ladder=ladder, enumerate_max_areas=0, carry_separators=carry)
        assert res.stats["separators"] > 0  # contiguity was enforced by cuts, over several targets
        assert len(res.stats["targets"]) > 2
        assert res.status is Status.OPTIMAL
        assert res.objective == pytest.approx(plain.objective)
        assert_valid(res.groups, pop, edges, 3, lo, hi)



@pytest.mark.parametrize("seed", [6, 18])
def test_neighbour_separators_up_front_keep_the_optimum(seed: int) -> None:
    """Seeding every pair's neighbour separator (never, on the incumbent's target, always): same optimum."""
    from planner.districting import solve_reduced

    pop, cost, edges = sparse_grid_instance(seed)
    lo, hi = balance_for(pop, 3, 0.1)
    plain = solve_districting(pop, cost, edges, list(range(20)), k=3, balance=(lo, hi), backend="highs")
    assert plain.status is Status.OPTIMAL
    for how in ("never", "incumbent", "always"):
        res = solve_reduced(pop, cost, edges, k=3, balance=(lo, hi), backend="highs", ladder=(0.0, 0.01),
                            enumerate_max_areas=0, seed_separators=how)
        assert res.stats["incumbent"] is not None  # the heuristic's plan is the last target
        assert res.status is Status.OPTIMAL
        assert res.objective == pytest.approx(plain.objective)
        assert_valid(res.groups, pop, edges, 3, lo, hi)
    with pytest.raises(ValueError, match="unknown seed_separators 'sometimes'; choose never, incumbent or always"):
        solve_reduced(pop, cost, edges, k=3, balance=(lo, hi), seed_separators="sometimes")
