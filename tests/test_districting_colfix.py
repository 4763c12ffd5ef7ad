"""The column-fixing proof: every district a plan under a target can use, listed, against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner.districting_cg import ColumnGeneration, enumerate_columns, solve_by_column_fixing

from test_districting_cg import _assert_districts, _brute_force, _connected, _grid, _grid_instance


def _all_districts(pop, edges, lower, upper):
    n = len(pop)
    out = []
    for mask in range(1, 1 << n):
        members = [i for i in range(n) if mask >> i & 1]
        if lower <= pop[members].sum() <= upper and _connected(members, edges):
            out.append(tuple(members))
    return out


def _remainder_can_hold(members, pop, edges, m, lower, upper) -> bool:
    """Whether the areas outside `members` split, by connected components, into whole numbers of districts adding
    up to m, by population alone."""
    rest = set(range(len(pop))) - set(members)
    ranges = []
    while rest:
        comp = {rest.pop()}
        grown = True
        while grown:
            grown = False
            for a, b in edges:
                for x, y in ((a, b), (b, a)):
                    if x in comp and y in rest:
                        comp.add(y)
                        rest.discard(y)
                        grown = True
        total = int(pop[sorted(comp)].sum())
        ranges.append([c for c in range(m + 1) if c * lower <= total <= c * upper])
    if not ranges:
        return m == 0
    sums = {0}
    for r in ranges:
        sums = {a + b for a in sums for b in r}
    return m in sums


def _random_grid(rows: int, cols: int, k: int, seed: int):
    """A random rows x cols grid: populations 5-29, integer costs population x random distance, the mean district,
    and the generator for further draws."""
    n = rows * cols
    rng = np.random.default_rng(seed)
    pop = rng.integers(5, 30, size=n).astype(np.int64)
    cost = rng.integers(1, 100, size=(n, n)).astype(np.int64) * pop[:, None]
    np.fill_diagonal(cost, 0)
    return pop, cost, _grid(rows, cols), pop.sum() / k, rng


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(2, 3), cols=st.integers(2, 4), k=st.integers(2, 3), seed=st.integers(0, 10**6),
       slack_frac=st.floats(0.0, 1.5), dual_scale=st.floats(0.0, 2.0))
def test_enumerate_columns_lists_exactly_the_districts_under_the_slack(rows, cols, k, seed, slack_frac, dual_scale):
    """At arbitrary duals (not only converged ones) with exact per-center values, the listing equals brute force."""
    pop, cost, edges, mean, rng = _random_grid(rows, cols, k, seed)
    n = len(pop)
    lower, upper = int(np.floor(0.75 * mean)), int(np.ceil(1.25 * mean))
    cg = ColumnGeneration(pop, cost, edges, k, lower, upper)
    districts = _all_districts(pop, edges, lower, upper)
    pi = dual_scale * rng.random(n) * cg.w.max(axis=1)
    weight = {(j, s): float(cg.w[list(s), j].sum() - pi[list(s)].sum()) for s in districts for j in s}
    values = np.full(n, np.inf)
    for (j, _s), wt in weight.items():
        values[j] = min(values[j], wt)
    cg.pi_hat, cg.values_hat = pi, values
    finite = np.sort(values[np.isfinite(values)])
    if len(finite) < k:
        return
    target = (pi.sum() + finite[:k].sum() + slack_frac * (abs(finite).mean() + 1e-3)) * cg.scale
    t = target / cg.scale
    expected = set()
    for (j, s), wt in weight.items():
        rest = np.sort(np.delete(values, j))[: k - 1]
        if np.isfinite(rest).all() and wt <= t - pi.sum() - rest.sum() + 1e-12 and \
                _remainder_can_hold(s, pop, edges, k - 1, lower, upper):
            expected.add((j, s))
    res = enumerate_columns(cg, target)
    assert res.complete
    got = {(c.center, c.members) for c in res.columns}
    assert len(got) == len(res.columns)  # each district once per center
    assert expected <= got
    for c in res.columns:  # anything extra is only the floating-point margin's
        wt = weight[c.center, c.members]
        rest = np.sort(np.delete(values, c.center))[: k - 1]
        assert wt <= t - pi.sum() - rest.sum() + 1e-8
        assert c.cost == pytest.approx(float(cost[list(c.members), c.center].sum()))


@pytest.mark.parametrize("seed", [3, 7, 17, 23])
def test_every_district_of_every_plan_passes_the_remainder_check(seed):
    """The population check on what a district leaves never drops a district of a feasible plan."""
    import itertools

    from planner.districting_cg import _Remainder

    pop, _cost, edges, k, lower, upper, _opt = _grid_instance(seed)
    n = len(pop)
    check = _Remainder(pop, edges, k, lower, upper)
    districts = _all_districts(pop, edges, lower, upper)
    plans = 0
    for combo in itertools.combinations(districts, k):
        if sorted(i for d in combo for i in d) == list(range(n)):
            plans += 1
            assert all(check.fits(d) for d in combo)
    assert plans > 0
    dropped = [d for d in districts if not check.fits(d)]
    for d in dropped:  # and what it drops is in no plan
        assert not _remainder_can_hold(d, pop, edges, k - 1, lower, upper)


def test_enumerate_columns_stops_at_its_node_limit():
    pop, cost, edges, k, lower, upper, _opt = _grid_instance(3)
    cg = ColumnGeneration(pop, cost, edges, k, lower, upper)
    cg.run(60.0)
    res = enumerate_columns(cg, 1e12, node_limit=2)
    assert not res.complete and res.columns is None


@pytest.mark.parametrize("seed", [3, 7, 17, 23])
def test_column_fixing_proves_the_brute_force_optimum(seed):
    """5 x 2 grids, 3 districts: on seeds 3 and 17 the set-partitioning LP is fractional (branching needed)."""
    pop, cost, edges, k, lower, upper, optimum = _grid_instance(seed)
    res = solve_by_column_fixing(pop, cost, edges, k=k, lower=lower, upper=upper, time_limit_s=60.0)
    assert res.status == "OPTIMAL"
    assert res.objective == pytest.approx(optimum)
    assert res.bound == pytest.approx(optimum)
    _assert_districts(res.groups, pop, cost, edges, lower, upper, total=optimum)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rows=st.integers(2, 3), cols=st.integers(2, 4), k=st.integers(2, 3), seed=st.integers(0, 10**6),
       tol=st.sampled_from([0.1, 0.25, 0.5]))
def test_column_fixing_matches_brute_force_on_random_grids(rows, cols, k, seed, tol):
    pop, cost, edges, mean, _ = _random_grid(rows, cols, k, seed)
    lower, upper = int(np.floor((1 - tol) * mean)), int(np.ceil((1 + tol) * mean))
    optimum = _brute_force(pop, cost, edges, k, lower, upper)
    assume(np.isfinite(optimum))  # (the column generation needs a feasible instance)
    res = solve_by_column_fixing(pop, cost, edges, k=k, lower=lower, upper=upper, time_limit_s=60.0)
    assert res.status == "OPTIMAL"
    assert res.objective == pytest.approx(optimum)
    _assert_districts(res.groups, pop, cost, edges, lower, upper, total=optimum)


def test_column_fixing_refuses_fractional_costs():
    """The V - 1 step assumes integer costs: fractional ones are refused, not solved to a wrong optimum."""
    pop, cost, edges, k, lower, upper, _ = _grid_instance(3)
    with pytest.raises(ValueError, match="integer costs"):
        solve_by_column_fixing(pop, np.asarray(cost, dtype=float) + 0.25, edges, k=k, lower=lower, upper=upper,
                               time_limit_s=10.0)
