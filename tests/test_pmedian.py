"""Tests of the exact p-median solver in ``planner.pmedian``."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

from planner.pmedian import PMedianResult, solve_pmedian

DATA = Path(__file__).parent / "data" / "orlib"


def brute_force(cost: np.ndarray, p: int, weights: np.ndarray | None = None) -> float:
    """Optimal p-median objective by enumerating every set of p candidates."""
    w = np.ones(cost.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    best = np.inf
    for medians in itertools.combinations(range(cost.shape[1]), p):
        best = min(best, float((w * cost[:, list(medians)].min(axis=1)).sum()))
    return best


def check_consistent(result: PMedianResult, cost: np.ndarray, p: int,
                     weights: np.ndarray | None = None) -> None:
    """The plan, its assignment and the reported numbers agree with each other."""
    w = np.ones(cost.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    assert len(result.medians) == p
    assert list(result.medians) == sorted(set(result.medians))
    assert all(0 <= j < cost.shape[1] for j in result.medians)
    assert len(result.assignment) == cost.shape[0]
    assert set(result.assignment) <= set(result.medians)
    rows = np.arange(cost.shape[0])
    assigned = cost[rows, list(result.assignment)]
    # each client goes to its nearest median
    np.testing.assert_allclose(assigned, cost[:, list(result.medians)].min(axis=1))
    assert result.objective == pytest.approx(float((w * assigned).sum()), rel=1e-9, abs=1e-9)
    assert result.bound <= result.objective + 1e-9
    expected_gap = (result.objective - result.bound) / max(abs(result.objective), 1e-9)
    assert result.gap == pytest.approx(expected_gap, abs=1e-12)
    if result.status == "OPTIMAL":
        assert result.gap == 0.0
        assert result.bound == result.objective
    else:
        assert result.status == "FEASIBLE"


def line_cost(clients: list[float], candidates: list[float]) -> np.ndarray:
    return np.abs(np.subtract.outer(np.array(clients, float), np.array(candidates, float)))


def test_two_clusters_on_a_line() -> None:
    """Five points on a line, p = 2.

    ::

        0 1 2                      10 11
        a-b-c ---------------------d--e

    The left cluster is served best from b (cost 1 + 0 + 1), the right one from d or e
    (cost 1): optimum 3.
    """
    positions = [0, 1, 2, 10, 11]
    cost = line_cost(positions, positions)
    result = solve_pmedian(cost, 2)
    assert result.status == "OPTIMAL"
    assert result.objective == 3
    assert result.medians[0] == 1
    assert result.medians[1] in (3, 4)
    assert result.assignment[:3] == (1, 1, 1)
    check_consistent(result, cost, 2)


def test_single_median_is_the_weighted_median() -> None:
    """Three points, p = 1, weights pull the median to the heavy end.

    ::

        weight: 1     1                 5
                a-----b-----------------c
        x:      0     2                 10

    Median at c: 10 + 8 = 18; at b: 2 + 5*8 = 42; at a: 2 + 5*10 = 52.
    """
    cost = line_cost([0, 2, 10], [0, 2, 10])
    weights = np.array([1, 1, 5])
    result = solve_pmedian(cost, 1, weights=weights)
    assert result.status == "OPTIMAL"
    assert result.objective == 18
    assert result.medians == (2,)
    assert result.assignment == (2, 2, 2)
    check_consistent(result, cost, 1, weights)


def test_zero_weight_client_costs_nothing() -> None:
    """A far client with weight 0 does not attract a median.

    ::

        w=1 w=1        w=0 (far away)
        a---b  ......  z
        0   1          100
    """
    cost = line_cost([0, 1, 100], [0, 1, 100])
    result = solve_pmedian(cost, 1, weights=np.array([1.0, 1.0, 0.0]))
    assert result.status == "OPTIMAL"
    assert result.objective == 1
    assert result.medians in ((0,), (1,))
    assert result.assignment[2] == result.medians[0]


def test_clients_differ_from_candidates() -> None:
    """Four clients (x) and three candidate sites (o) on a line; fractional costs.

    ::

        x  o  x                  o                  x  o  x
        0 0.5 1                  5                  9 9.5 10

    p = 2: sites 0.5 and 9.5 serve everyone at 0.5 each (total 2.0).
    p = 1: the middle site costs 5 + 4 + 4 + 5 = 18 (an end site costs 19).
    """
    cost = line_cost([0, 1, 9, 10], [0.5, 5, 9.5])
    two = solve_pmedian(cost, 2)
    assert two.status == "OPTIMAL"
    assert two.objective == pytest.approx(2.0)
    assert two.medians == (0, 2)
    assert two.assignment == (0, 0, 2, 2)
    check_consistent(two, cost, 2)
    one = solve_pmedian(cost, 1)
    assert one.status == "OPTIMAL"
    assert one.objective == pytest.approx(18.0)
    assert one.medians == (1,)
    check_consistent(one, cost, 1)


def test_all_candidates_open() -> None:
    cost = line_cost([0, 3, 7], [1, 6])
    result = solve_pmedian(cost, 2)
    assert result.status == "OPTIMAL"
    assert result.medians == (0, 1)
    assert result.objective == pytest.approx(1 + 2 + 1)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_matches_brute_force(data: st.DataObject) -> None:
    n_clients = data.draw(st.integers(1, 9), label="n_clients")
    n_candidates = data.draw(st.integers(1, 9), label="n_candidates")
    p = data.draw(st.integers(1, n_candidates), label="p")
    integral = data.draw(st.booleans(), label="integral")
    values = st.integers(0, 30) if integral else st.floats(0, 30, allow_nan=False, width=32)
    cost = np.array(
        data.draw(st.lists(values, min_size=n_clients * n_candidates,
                           max_size=n_clients * n_candidates), label="cost"),
        dtype=float,
    ).reshape(n_clients, n_candidates)
    weighted = data.draw(st.booleans(), label="weighted")
    weights = None
    if weighted:
        weights = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n_clients,
                                              max_size=n_clients), label="weights"), float)
    result = solve_pmedian(cost, p, weights=weights, time_limit_s=30)
    assert result.status == "OPTIMAL"
    expected = brute_force(cost, p, weights)
    assert result.objective == pytest.approx(expected, rel=1e-9, abs=1e-9)
    check_consistent(result, cost, p, weights)


def test_deterministic() -> None:
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 100, size=(60, 2))
    cost = np.round(np.linalg.norm(points[:, None] - points[None], axis=2))
    first = solve_pmedian(cost, 4, seed=3)
    second = solve_pmedian(cost, 4, seed=3)
    assert first.status == second.status == "OPTIMAL"
    assert (first.objective, first.medians, first.assignment) == (
        second.objective, second.medians, second.assignment)
    assert first.objective == brute_force_small_check(cost, first)


def test_heuristic_rounds_do_not_depend_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # A loaded machine (here: a clock that runs 0.5 s per reading) must not shorten the
    # heuristic, or which of several optimal plans comes back would depend on the load.
    rng = np.random.default_rng(11)
    points = rng.uniform(0, 100, size=(60, 2))
    cost = np.round(np.linalg.norm(points[:, None] - points[None], axis=2))
    quiet = solve_pmedian(cost, 6, seed=5, time_limit_s=10_000)
    import planner.pmedian as pm

    ticks = iter(range(10**9))
    monkeypatch.setattr(pm.time, "perf_counter", lambda: 0.5 * next(ticks))
    loaded = solve_pmedian(cost, 6, seed=5, time_limit_s=10_000)
    assert loaded.stats["vns_rounds"] == quiet.stats["vns_rounds"] == 60
    assert (loaded.objective, loaded.medians, loaded.assignment) == (
        quiet.objective, quiet.medians, quiet.assignment)


@pytest.mark.parametrize("p", [2, 9, 25])
def test_sparse_heuristic_sums_equal_the_dense_ones(monkeypatch: pytest.MonkeyPatch, p: int) -> None:
    # The greedy and swap search sum over the (client, candidate) pairs that can contribute
    # when they are few (large p); with integer costs that must give the dense plan exactly.
    import planner.pmedian as pm

    rng = np.random.default_rng(p)
    points = rng.uniform(0, 100, size=(70, 2))
    cost = np.round(np.linalg.norm(points[:, None] - points[None], axis=2))
    big = float(cost.max()) * 2.0 + 1.0

    def heuristic(share: float) -> tuple:
        monkeypatch.setattr(pm, "_SPARSE_SHARE", share)
        greedy = pm._greedy(cost, p)
        medians, ub = pm._local_search(cost, greedy, big)
        medians, ub, rounds = pm._vns(cost, medians, ub, big, np.random.default_rng(1),
                                      float("inf"), max_rounds=30)
        return tuple(greedy), tuple(medians), ub, rounds

    dense, sparse = heuristic(-1.0), heuristic(1.0)  # -1: never sparse; 1: always sparse
    assert dense == sparse
    assert dense[2] == float(cost[:, list(dense[1])].min(axis=1).sum())


def brute_force_small_check(cost: np.ndarray, result: PMedianResult) -> float:
    """Objective recomputed from the plan (the plan must be what is reported)."""
    return float(cost[:, list(result.medians)].min(axis=1).sum())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cost": np.ones(4), "p": 1}, "2-D"),
        ({"cost": np.ones((0, 3)), "p": 1}, "at least one"),
        ({"cost": np.array([[1.0, -1.0]]), "p": 1}, "non-negative"),
        ({"cost": np.array([[1.0, np.nan]]), "p": 1}, "finite"),
        ({"cost": np.array([[1.0, np.inf]]), "p": 1}, "finite"),
        ({"cost": np.array([["a", "b"]]), "p": 1}, "real numbers"),
        ({"cost": np.ones((2, 3)), "p": 0}, "p must be in 1..3"),
        ({"cost": np.ones((2, 3)), "p": 4}, "p must be in 1..3"),
        ({"cost": np.ones((2, 3)), "p": 1.5}, "p must be an integer"),
        ({"cost": np.ones((2, 3)), "p": True}, "p must be an integer"),
        ({"cost": np.ones((2, 3)), "p": 1, "weights": np.ones(3)}, "length 2"),
        ({"cost": np.ones((2, 3)), "p": 1, "weights": np.array([1.0, -2.0])}, "non-negative"),
        ({"cost": np.ones((2, 3)), "p": 1, "weights": np.array([1.0, np.nan])}, "finite"),
        ({"cost": np.ones((2, 3)), "p": 1, "time_limit_s": 0}, "time_limit_s"),
        ({"cost": np.ones((2, 3)), "p": 1, "time_limit_s": float("nan")}, "time_limit_s"),
        ({"cost": np.ones((2, 3)), "p": 1, "backend": "gurobi"}, "backend"),
    ],
)
def test_invalid_input(kwargs: dict, message: str) -> None:
    cost = kwargs.pop("cost")
    p = kwargs.pop("p")
    with pytest.raises(ValueError, match=message):
        solve_pmedian(cost, p, **kwargs)


def euclidean_instance(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 1000, size=(n, 2))
    return np.linalg.norm(points[:, None] - points[None], axis=2)


def test_time_limit_reports_a_consistent_plan() -> None:
    """A tiny budget on a non-trivial instance: never a false claim of optimality."""
    cost = euclidean_instance(150, seed=11)
    p = 5
    exact = solve_pmedian(cost, p, time_limit_s=120)
    assert exact.status == "OPTIMAL"
    check_consistent(exact, cost, p)
    rushed = solve_pmedian(cost, p, time_limit_s=1e-3)
    check_consistent(rushed, cost, p)
    # the bound is a real lower bound and the plan a real plan
    assert rushed.bound <= exact.objective * (1 + 1e-9)
    assert rushed.objective >= exact.objective * (1 - 1e-9)
    if rushed.status == "OPTIMAL":
        assert rushed.objective == pytest.approx(exact.objective, rel=1e-6)
    else:
        assert rushed.bound < rushed.objective
        assert rushed.gap > 0


def read_orlib(path: Path) -> tuple[np.ndarray, int]:
    """OR-Library pmed file -> (shortest-path matrix, p); a repeated edge: the last wins."""
    tokens = path.read_text().split()
    n, m, p = (int(t) for t in tokens[:3])
    edges = np.array(tokens[3 : 3 + 3 * m], dtype=np.int64).reshape(m, 3)
    weight = np.full((n, n), np.inf)
    for i, j, c in edges:
        weight[i - 1, j - 1] = weight[j - 1, i - 1] = c
    np.fill_diagonal(weight, np.inf)
    return shortest_path(csgraph_from_dense(weight, null_value=np.inf), directed=False), p


def test_orlib_pmed1_proven_optimal() -> None:
    cost, p = read_orlib(DATA / "pmed1.txt")
    assert cost.shape == (100, 100) and p == 5
    result = solve_pmedian(cost, p, time_limit_s=120)
    assert result.status == "OPTIMAL"
    assert result.objective == 5819
    assert result.bound == 5819
    check_consistent(result, cost, p)


def test_backends_agree_when_the_mip_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """pmed1's graph with p = 10: the Lagrangian bound alone does not close the gap.

    The Lagrangian branch-and-bound is switched off (a node budget of 0) so that the MIP,
    which takes over wherever the tree's budget runs out, is what proves it.
    """
    import planner.pmedian as pm

    monkeypatch.setattr(pm, "_BRANCH_MAX_NODES", 0)
    cost, _ = read_orlib(DATA / "pmed1.txt")
    results = [solve_pmedian(cost, 10, backend=name, time_limit_s=120)
               for name in ("highs", "scip")]
    for result in results:
        assert result.status == "OPTIMAL"
        assert result.stats["proved_by"].startswith("mip")
        check_consistent(result, cost, 10)
    assert results[0].objective == results[1].objective


def test_pairs_are_numpys_nonzero() -> None:
    import planner.pmedian as pm

    rng = np.random.default_rng(3)
    for shape, share in (((7, 5), 0.3), ((1, 9), 0.5), ((6, 1), 0.5), ((4, 4), 0.0), ((3, 8), 1.0)):
        mask = rng.random(shape) < share
        rows, cols = pm._pairs(mask)
        expected_rows, expected_cols = np.nonzero(mask)
        np.testing.assert_array_equal(rows, expected_rows)
        np.testing.assert_array_equal(cols, expected_cols)


def test_lagrangian_heuristic_replaces_a_poor_incumbent(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the first heuristic crippled (greedy's plan kept as it is: no swap search, no
    # shakes), the plan read off the Lagrangian multipliers and improved by the swap search is
    # the optimum, and the Lagrangian bound proves it without a MIP.
    import planner.pmedian as pm

    rng = np.random.default_rng(5)
    points = rng.uniform(0, 100, size=(40, 2))
    cost = np.round(np.linalg.norm(points[:, None] - points[None], axis=2))
    p = 3
    real_search = pm._local_search
    calls = []

    def first_search_does_nothing(wcost, medians, big):
        calls.append(1)
        if len(calls) == 1:
            medians = np.array(sorted(medians), dtype=np.int64)
            return medians, float(wcost[:, medians].min(axis=1).sum())
        return real_search(wcost, medians, big)

    monkeypatch.setattr(pm, "_greedy", lambda wcost, p: np.arange(p, dtype=np.int64))
    monkeypatch.setattr(pm, "_local_search", first_search_does_nothing)
    monkeypatch.setattr(pm, "_vns", lambda wcost, medians, cost, *args, **kwargs: (medians, cost, 0))
    result = solve_pmedian(cost, p)
    optimum = brute_force(cost, p)
    assert result.stats["heuristic"] > optimum
    assert result.stats["lagrangian_heuristic"] == optimum
    assert result.status == "OPTIMAL" and result.objective == optimum
    assert result.stats["proved_by"] == "lagrangian heuristic"
    check_consistent(result, cost, p)
