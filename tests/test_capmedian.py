"""The capacitated p-median's Lagrangian pieces (planner.capmedian) against brute force on tiny instances."""

from __future__ import annotations

from itertools import combinations, product

import numpy as np

from planner.capmedian import (
    fixing_bounds,
    greedy_assign,
    improve_plan,
    knapsack_table,
    lagrangian_bound,
    median_cuts,
    plan_cost,
    relocate,
)


def _instance(seed: int, n: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A synthesized instance: points in a square, integer distances, demands 1-4, capacity 8."""
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 30, size=(n, 2))
    cost = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(float)
    demand = rng.integers(1, 5, size=n)
    return cost, demand, np.full(n, 8, dtype=np.int64), 3


def _all_plans(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, k: int) -> list[tuple[float, np.ndarray]]:
    """Every feasible plan (medians serve themselves), by enumeration."""
    n = len(demand)
    plans = []
    for medians in combinations(range(n), k):
        others = [i for i in range(n) if i not in medians]
        for choice in product(medians, repeat=len(others)):
            labels = np.arange(n)
            labels[list(others)] = choice
            load = np.bincount(labels, weights=demand, minlength=n)
            if (load[list(medians)] <= capacity[list(medians)]).all():
                plans.append((plan_cost(cost, labels), labels))
    return plans


def test_knapsack_table_is_the_best_subset_per_median_and_load() -> None:
    rng = np.random.default_rng(3)
    n = 6
    reduced = rng.integers(-9, 5, size=(n, n)).astype(float)
    demand = rng.integers(1, 4, size=n)
    usable = ~np.eye(n, dtype=bool)
    table = knapsack_table(reduced, demand, np.full(n, 5), usable)
    for j in range(n):
        for w in range(6):
            best = 0.0
            for mask in range(1 << n):
                items = [i for i in range(n) if mask >> i & 1 and i != j]
                if sum(demand[items]) <= w:
                    best = min(best, float(reduced[items, j].sum()))
            assert table[j, w] == best


def test_lagrangian_bound_fixing_and_cuts_keep_every_optimal_plan() -> None:
    for seed in range(3):
        cost, demand, capacity, k = _instance(seed)
        plans = _all_plans(cost, demand, capacity, k)
        opt = min(c for c, _ in plans)
        r = lagrangian_bound(cost, demand, capacity, k, max_iterations=400)
        assert r.bound <= opt + 1e-6
        assert r.assignment is not None and r.upper >= opt - 1e-9
        assert plan_cost(cost, r.assignment) == r.upper
        n = len(demand)
        usable = np.ones((n, n), dtype=bool)
        open_b, pair_b = fixing_bounds(cost, r.multipliers, demand, capacity, k, ~np.eye(n, dtype=bool),
                                       np.zeros(n, dtype=bool))
        cuts = median_cuts(cost, r.multipliers, demand, capacity, usable, np.zeros(n, dtype=bool))
        for c, labels in plans:
            medians = sorted(set(labels.tolist()))
            # Every plan costs at least the bound on any of its medians and pairs.
            assert all(open_b[j] <= c + 1e-6 for j in medians)
            assert all(pair_b[i, labels[i]] <= c + 1e-6 for i in range(n))
            # ... and satisfies every per-median cut.
            for j, reduced, v in cuts:
                lhs = float(reduced[labels == j].sum())
                assert lhs >= (v if j in medians else 0.0) - 1e-6


def test_local_moves_keep_capacities_and_never_raise_the_cost() -> None:
    cost, demand, capacity, k = _instance(5, n=9)
    labels = greedy_assign(cost, demand, capacity, [0, 4, 8])
    assert labels is not None
    better = improve_plan(cost, demand, capacity, labels)
    moved = relocate(cost, demand, capacity, better)
    for plan in (labels, better, moved):
        medians = sorted(set(plan.tolist()))
        assert len(medians) == k and all(plan[j] == j for j in medians)
        load = np.bincount(plan, weights=demand, minlength=len(demand))
        assert (load[medians] <= capacity[medians]).all()
    assert plan_cost(cost, moved) <= plan_cost(cost, better) <= plan_cost(cost, labels)


def test_lagrangian_stop_does_not_depend_on_the_clock(monkeypatch) -> None:
    # A loaded machine (here: capmedian's clock running 0.05 s per reading) must not shorten the
    # Lagrangian loop under the default 60 s limit: its bound, fixing and plans would then depend
    # on the load, not on the instance. This instance takes 457 iterations (560 clock readings).
    import planner.capmedian as cm
    from planner.districting import solve_capacitated

    rng = np.random.default_rng(2)
    xy = rng.integers(0, 60, size=(12, 2))
    cost = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(float)
    demand = rng.integers(1, 6, size=12)
    capacity = np.full(12, int(demand.sum() * 1.3 / 4) + 1)
    quiet = solve_capacitated(cost, demand, capacity, 4, backend="highs")

    class _SlowClock:
        ticks = 0

        @classmethod
        def perf_counter(cls) -> float:
            cls.ticks += 1
            return 0.05 * cls.ticks

    monkeypatch.setattr(cm, "time", _SlowClock)
    loaded = solve_capacitated(cost, demand, capacity, 4, backend="highs")
    assert quiet.stats["lagrangian_iterations"] == loaded.stats["lagrangian_iterations"] > 300
    assert (quiet.status, quiet.objective, quiet.groups) == (loaded.status, loaded.objective, loaded.groups)
