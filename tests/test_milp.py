"""Backends on one model: same optimum, honest statuses on time limits and infeasibility."""

from __future__ import annotations

import numpy as np
import pytest

from planner.milp import BACKENDS, LinExpr, Model, Status, _cbc_solution, solve


def knapsack_cover() -> Model:
    """Pick items covering weight >= 10 with at most 2 items, cheapest first: optimum 14."""
    m = Model("cover")
    x = [m.binary(f"x{i}") for i in range(5)]
    m.add(LinExpr.sum(zip([3, 4, 5, 6, 7], x)), lb=10, name="weight", group="r.weight")
    m.add(LinExpr.sum((1, v) for v in x), ub=2, name="count", group="r.count")
    m.minimize(zip([5, 6, 7, 8, 9], x))
    return m


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_proves_the_same_optimum(backend: str) -> None:
    sol = solve(knapsack_cover(), backend)
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(14)
    assert sol.bound == pytest.approx(14)
    assert sol.gap == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_reports_infeasible(backend: str) -> None:
    m = knapsack_cover()
    m.add(LinExpr.sum((1, v) for v in [__import__("planner.milp", fromlist=["Var"]).Var(i) for i in range(5)]), lb=3,
          name="at_least_3", group="r.three")
    sol = solve(m, backend)
    assert sol.status is Status.INFEASIBLE
    assert sol.objective is None and sol.values == {}


def test_cpsat_names_the_conflicting_groups_and_never_structure() -> None:
    m = knapsack_cover()
    from planner.milp import Var

    m.add(LinExpr.sum((1, Var(i)) for i in range(5)), lb=3, name="at_least_3", group="r.three")
    m.add(Var(0) - Var(1), ub=0, name="link", group="structure")
    sol = solve(m, "cpsat", explain=True)
    assert sol.status is Status.INFEASIBLE
    assert set(sol.conflict) <= {"r.weight", "r.count", "r.three"}
    assert {"r.count", "r.three"} <= set(sol.conflict)


class _FakeProb:
    def __init__(self, sol_status: int) -> None:
        self.sol_status = sol_status
        self.status = 1  # PuLP's "Optimal", even on a time limit


class _FakeVar:
    def __init__(self, value: float) -> None:
        self.varValue = value


def test_cbc_time_limit_is_not_reported_as_optimal_even_when_pulp_says_optimal() -> None:
    """PuLP 3.3.2 sets status Optimal when CBC stops on its time limit; the log tells the truth."""
    import pulp

    m = Model("t")
    x = m.binary("x")
    m.minimize([(10565, x)])
    log = "Result - Stopped on time limit\n\nObjective value:                10565.00000000\nLower bound:                    8162.000\nGap:                            0.29\n"
    sol = _cbc_solution(_FakeProb(pulp.LpSolutionIntegerFeasible), [_FakeVar(1.0)], log, 1.0, m)
    assert sol.status is Status.FEASIBLE
    assert sol.objective == 10565
    assert sol.bound == pytest.approx(8162)
    assert sol.gap == pytest.approx((10565 - 8162) / 10565)


def test_cbc_no_plan_on_time_limit_is_no_solution() -> None:
    import pulp

    m = Model("t")
    m.minimize([(1, m.binary("x"))])
    sol = _cbc_solution(_FakeProb(pulp.LpSolutionNoSolutionFound), [_FakeVar(0.0)], "Result - Stopped on time limit\n", 1.0, m)
    assert sol.status is Status.NO_SOLUTION


def _pmedian_model(n: int, p: int, seed: int) -> Model:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(n, 2))
    cost = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(int)
    m = Model("pmedian")
    y = [m.binary(f"y{j}") for j in range(n)]
    x = {(i, j): m.binary(f"x{i},{j}") for i in range(n) for j in range(n)}
    for i in range(n):
        m.add(LinExpr.sum((1, x[i, j]) for j in range(n)), lb=1, ub=1, name=f"a{i}", group="assign")
        for j in range(n):
            m.add(x[i, j] - y[j], ub=0, name=f"l{i},{j}", group="link")
    m.add(LinExpr.sum((1, v) for v in y), lb=p, ub=p, name="p", group="p")
    m.minimize((float(cost[i, j]), v) for (i, j), v in x.items())
    return m


def test_cbc_stopped_by_its_time_limit_keeps_the_plan_with_a_gap() -> None:
    """A p-median in the classic n^2 form (small p) that CBC cannot prove in 1 s."""
    sol = solve(_pmedian_model(160, 3, seed=4), "cbc", time_limit_s=1)
    assert sol.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    if sol.status is Status.FEASIBLE:
        assert sol.bound is not None and sol.bound < sol.objective
        assert sol.gap is not None and sol.gap > 0


def test_cpsat_stopped_by_its_time_limit_reports_bound_and_gap_consistently() -> None:
    sol = solve(_pmedian_model(60, 3, seed=1), "cpsat", time_limit_s=0.05)
    if sol.status is Status.OPTIMAL:
        assert sol.bound == pytest.approx(sol.objective)
    elif sol.status is Status.FEASIBLE:
        assert sol.bound <= sol.objective and sol.gap >= 0
    else:
        assert sol.status is Status.NO_SOLUTION and sol.values == {}


def test_cpsat_rejects_fractional_coefficients() -> None:
    from planner._errors import SolverError

    m = Model("frac")
    m.minimize([(0.5, m.binary("x"))])
    with pytest.raises(SolverError, match="integer coefficients"):
        solve(m, "cpsat")


def test_unknown_backend_is_a_clear_error() -> None:
    from planner._errors import SolverError

    with pytest.raises(SolverError, match="choose one of cpsat, cbc, highs"):
        solve(knapsack_cover(), "gurobi")


def test_add_coefs_adds_the_row_add_gives_for_the_same_terms() -> None:
    from planner.milp import LinExpr, Model

    a, b = Model(), Model()
    va = [a.binary(f"x{i}") for i in range(3)]
    vb = [b.binary(f"x{i}") for i in range(3)]
    a.add(va[0] - 4 * va[1], ub=0, name="r1", group="g")
    b.add_coefs({vb[0].index: 1, vb[1].index: -4}, ub=0, name="r1", group="g")
    a.add(LinExpr.sum((1, v) for v in va) - va[2], lb=1, ub=1, name="r2", group="g")   # x2 cancels out
    b.add_coefs({vb[0].index: 1, vb[1].index: 1, vb[2].index: 0}, lb=1, ub=1, name="r2", group="g")
    a.add(LinExpr(), lb=1, name="empty", group="h")   # an empty row that cannot hold is kept
    b.add_coefs({}, lb=1, name="empty", group="h")
    a.add(LinExpr(), ub=1, name="void", group="h")    # one that always holds is dropped
    b.add_coefs({}, ub=1, name="void", group="h")
    rows = lambda m: [(list(c.coefs.items()), c.lb, c.ub, c.name, c.group) for c in m.constraints]  # noqa: E731
    assert rows(a) == rows(b) and len(rows(a)) == 3


def test_cpsat_text_model_is_the_api_model_field_for_field() -> None:
    # The text-format translation must give CP-SAT exactly the model the Python API builds
    # (same rows, order, bounds, objective, hint), so that the search, and the plan, are the same.
    from planner.milp import _cpsat_model_api, _cpsat_model_text

    m = knapsack_cover()
    y = m.integer("y", -3, 12)
    m.add(LinExpr({y.index: 2, 0: -1, 4: 7}), lb=-5, ub=30, name="mixed", group="r.mixed")   # unsorted indices
    m.add(LinExpr({}, 1.0), ub=0, name="never", group="r.never")                            # empty row that cannot hold
    m.add(y, ub=float("inf"), lb=-float("inf"), name="free", group="r.free")
    m.objective[2] = 0                                                                      # a cancelled term
    m.objective_constant = 17
    m.hint.update({3: 1.0, 0: 0.0, y.index: 4.0})
    api, _ = _cpsat_model_api(m, False)
    assert str(_cpsat_model_text(m)) == str(api.proto)
    assert "bool_or" in str(api.proto) and "solution_hint" in str(api.proto)


def test_cpsat_solution_values_are_in_model_order() -> None:
    m = knapsack_cover()
    y = m.integer("y", 0, 9)
    m.add(y, lb=4, name="y", group="r.y")
    m.minimize([(1, y)])
    sol = solve(m, "cpsat")
    assert sol.status is Status.OPTIMAL and sol.objective == pytest.approx(18)
    assert sol.values[y.index] == 4 and sorted(sol.values) == list(range(len(m.vars)))


def test_cpsat_options_reach_the_solver_and_survive_without() -> None:
    # A unit model's CP-SAT parameters (planning.UNIT_CPSAT_OPTIONS) ride on the model, also into
    # the copies explanations solve: an unknown parameter name must therefore reach CP-SAT.
    m = knapsack_cover()
    m.cpsat_options["no_such_parameter"] = 1
    with pytest.raises(AttributeError):
        solve(m.without(set()), "cpsat")
    m.cpsat_options.clear()
    m.cpsat_options.update({"cp_model_probing_level": 0, "max_presolve_iterations": 1})
    assert solve(m.without(set()), "cpsat").status is Status.OPTIMAL


def _transport(supply: list[int], demand: list[int], cost: np.ndarray, lp_first: bool) -> Model:
    m = Model("transport", lp_first=lp_first)
    x = {(i, j): m.integer(f"x[{i},{j}]", 0, min(s, d)) for i, s in enumerate(supply) for j, d in enumerate(demand)}
    for i, s in enumerate(supply):
        m.add(LinExpr.sum((1, x[i, j]) for j in range(len(demand))), ub=s, name=f"s{i}", group="supply")
    for j, d in enumerate(demand):
        m.add(LinExpr.sum((1, x[i, j]) for i in range(len(supply))), lb=d, ub=d, name=f"d{j}", group="demand")
    m.minimize((int(cost[i, j]), v) for (i, j), v in x.items())
    return m


def test_highs_lp_first_returns_an_integral_lp_optimum_as_proven_with_the_mip_objective() -> None:
    rng = np.random.default_rng(3)
    proven = 0
    for _ in range(5):
        supply, demand = list(rng.integers(1, 9, 4)), list(rng.integers(1, 5, 6))
        cost = rng.integers(1, 30, (4, 6))
        mip = solve(_transport(supply, demand, cost, False), "highs")
        lp = solve(_transport(supply, demand, cost, True), "highs")
        assert lp.status == mip.status
        if mip.status is Status.OPTIMAL:
            # A transportation problem's LP is integral: the LP path is taken and proves the same optimum.
            assert lp.message == "LP relaxation integral"
            assert lp.objective == mip.objective == lp.bound
            assert all(float(v).is_integer() for v in lp.values.values())
            proven += 1
    assert proven


def test_highs_lp_first_falls_back_to_the_mip_when_the_lp_optimum_is_fractional() -> None:
    m = Model("frac", lp_first=True)
    x, y = m.integer("x", 0, 5), m.integer("y", 0, 5)
    m.add(LinExpr.sum([(2, x), (2, y)]), lb=3, name="r", group="g")   # LP optimum y = 1.5
    m.minimize([(3, x), (2, y)], constant=7)
    sol = solve(m, "highs")
    assert sol.status is Status.OPTIMAL and sol.message == ""
    assert sol.objective == 11 and sol.value(y) == 2
