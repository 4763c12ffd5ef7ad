"""A small backend-neutral integer model, solved by CBC (PuLP), CP-SAT or HiGHS (OR-Tools) with honest statuses."""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from itertools import chain
from pathlib import Path

from ._errors import SolverError

BACKENDS = ("cpsat", "cbc", "highs")


class Status(str, Enum):
    """What a solve proved: OPTIMAL only when the solver proved it."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    NO_SOLUTION = "NO_SOLUTION"


@dataclass(frozen=True)
class Var:
    """A model variable (an index into the model's variable table)."""

    index: int

    def __mul__(self, coef: float) -> LinExpr:
        return LinExpr({self.index: coef})

    __rmul__ = __mul__

    def __add__(self, other: object) -> LinExpr:
        return LinExpr({self.index: 1}) + other

    __radd__ = __add__

    def __neg__(self) -> LinExpr:
        return LinExpr({self.index: -1})

    def __sub__(self, other: object) -> LinExpr:
        return LinExpr({self.index: 1}) - other


class LinExpr:
    """A linear expression: coefficients by variable index, plus a constant."""

    __slots__ = ("coefs", "constant")

    def __init__(self, coefs: Mapping[int, float] | None = None, constant: float = 0.0) -> None:
        self.coefs: dict[int, float] = dict(coefs or {})
        self.constant = constant

    @staticmethod
    def sum(terms: Iterable[tuple[float, Var]]) -> LinExpr:
        """Sum of coefficient * variable terms (repeated variables add up)."""
        out: dict[int, float] = {}
        for coef, var in terms:
            if coef:
                out[var.index] = out.get(var.index, 0) + coef
        return LinExpr(out)

    def _plus(self, other: object, sign: float) -> LinExpr:
        out = LinExpr(self.coefs, self.constant)
        if isinstance(other, Var):
            out.coefs[other.index] = out.coefs.get(other.index, 0) + sign
        elif isinstance(other, LinExpr):
            for k, v in other.coefs.items():
                out.coefs[k] = out.coefs.get(k, 0) + sign * v
            out.constant += sign * other.constant
        else:
            out.constant += sign * float(other)  # type: ignore[arg-type]
        return out

    def __add__(self, other: object) -> LinExpr:
        return self._plus(other, 1)

    __radd__ = __add__

    def __sub__(self, other: object) -> LinExpr:
        return self._plus(other, -1)

    def __rsub__(self, other: object) -> LinExpr:
        return (-1 * self)._plus(other, 1)

    def __mul__(self, coef: float) -> LinExpr:
        return LinExpr({k: v * coef for k, v in self.coefs.items()}, self.constant * coef)

    __rmul__ = __mul__


@dataclass
class Constraint:
    """`lb <= expr <= ub` (either side may be infinite), named and tagged with the group it enforces."""

    coefs: dict[int, float]
    lb: float
    ub: float
    name: str
    group: str


@dataclass
class VarInfo:
    """Bounds and type of a variable; `relaxable` integers may be continuous in MIP backends."""

    name: str
    lb: float
    ub: float
    integer: bool
    relaxable: bool = False


@dataclass
class Model:
    """A minimisation model with integer data, built once and handed to any backend.

    Constraints carry a `group` (a rule id and unit, or "structure"); CP-SAT can switch
    groups on and off with assumption literals to find which rules conflict.
    """

    name: str = "model"
    vars: list[VarInfo] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    objective: dict[int, float] = field(default_factory=dict)
    objective_constant: float = 0.0
    hint: dict[int, float] = field(default_factory=dict)
    highs_options: dict[str, str] = field(default_factory=dict)
    """Extra HiGHS options for this model (the HiGHS backend only), e.g. heuristics a model class does not need."""
    lp_first: bool = False
    """HiGHS backend, integer data: solve the LP relaxation first and, when its optimum is integral, return it
    as the proven optimum (no MIP presolve); otherwise solve the MIP. For models whose LP is usually integral."""
    cpsat_options: dict[str, object] = field(default_factory=dict)
    """Extra CP-SAT parameters for this model (the CP-SAT backend only), e.g. presolve a model class does not need."""

    def binary(self, name: str) -> Var:
        """A 0/1 variable."""
        self.vars.append(VarInfo(name, 0, 1, True))
        return Var(len(self.vars) - 1)

    def integer(self, name: str, lb: float, ub: float, relaxable: bool = False) -> Var:
        """An integer variable; `relaxable` ones (flows) may be continuous in LP-based backends."""
        self.vars.append(VarInfo(name, lb, ub, True, relaxable))
        return Var(len(self.vars) - 1)

    def add(self, expr: LinExpr | Var, *, lb: float = -math.inf, ub: float = math.inf, name: str, group: str) -> None:
        """Add `lb <= expr <= ub` (constant terms are moved to the bounds)."""
        e = expr if isinstance(expr, LinExpr) else LinExpr({expr.index: 1})
        coefs = {k: v for k, v in e.coefs.items() if v != 0}
        lo, hi = lb - e.constant, ub - e.constant
        if not coefs:
            if lo > 1e-9 or hi < -1e-9:
                # An empty row that cannot hold: keep it so the model is infeasible for this group.
                self.constraints.append(Constraint({}, lo, hi, name, group))
            return
        self.constraints.append(Constraint(coefs, lo, hi, name, group))

    def add_coefs(self, coefs: dict[int, float], *, lb: float = -math.inf, ub: float = math.inf, name: str,
                  group: str) -> None:
        """`add` for a row given as {variable index: coefficient} (no constant): what the model
        builders' hot loops use, without building LinExpr objects. The dict is kept, not copied."""
        if not all(coefs.values()):
            coefs = {k: v for k, v in coefs.items() if v != 0}
        lo, hi = lb - 0.0, ub - 0.0   # as `add` moves a zero constant: the same bound values
        if not coefs:
            if lo > 1e-9 or hi < -1e-9:
                self.constraints.append(Constraint({}, lo, hi, name, group))
            return
        self.constraints.append(Constraint(coefs, lo, hi, name, group))

    def fix(self, var: Var, value: float, *, name: str, group: str) -> None:
        """Fix a variable to a value, as a constraint of `group` (so it can be explained)."""
        self.add(LinExpr({var.index: 1}), lb=value, ub=value, name=name, group=group)

    def minimize(self, terms: Iterable[tuple[float, Var]], constant: float = 0.0) -> None:
        """Add terms to the objective."""
        for coef, var in terms:
            if coef:
                self.objective[var.index] = self.objective.get(var.index, 0) + coef
        self.objective_constant += constant

    @property
    def groups(self) -> list[str]:
        """Constraint groups in order of first appearance."""
        return list(dict.fromkeys(c.group for c in self.constraints))

    def without(self, groups: set[str]) -> Model:
        """A copy without the constraints of some groups (for 'what if this rule were dropped')."""
        return Model(self.name, self.vars, [c for c in self.constraints if c.group not in groups],
                     self.objective, self.objective_constant, self.hint, self.highs_options, self.lp_first,
                     self.cpsat_options)

    def is_integral(self) -> bool:
        """True when every objective and constraint coefficient is an integer (CP-SAT needs it)."""
        import numpy as np

        # One array of every coefficient (float(v) of each, as a loop of float.is_integer read them):
        # a Python call per coefficient cost as much as a dispatch model's LP solve.
        vals = np.fromiter(chain(self.objective.values(), chain.from_iterable(c.coefs.values() for c in self.constraints)),
                           float)
        return bool(np.all(np.isfinite(vals) & (vals == np.trunc(vals))))


def relative_gap(objective: float, bound: float | None) -> float | None:
    """(objective - bound) / |objective|, never negative; None without a bound."""
    if bound is None:
        return None
    return max(0.0, (objective - bound) / max(abs(objective), 1e-9))


@dataclass(frozen=True)
class Solution:
    """What a backend returned.

    `objective` is the best plan's value, `bound` the best proven lower bound; `gap` is
    (objective - bound) / |objective|. `values` maps variable index to value (empty when there
    is no plan). `conflict` names the constraint groups of an infeasibility core (CP-SAT).
    """

    status: Status
    objective: float | None
    bound: float | None
    values: dict[int, float]
    time_s: float
    backend: str
    conflict: tuple[str, ...] = ()
    message: str = ""
    deterministic_time: float = 0.0
    """CP-SAT's deterministic time of the solve (its work measure, independent of the machine's
    load); 0 for the other backends."""

    @property
    def gap(self) -> float | None:
        """Relative optimality gap, 0 for OPTIMAL, None without a plan or bound."""
        if self.status is Status.OPTIMAL:
            return 0.0
        if self.objective is None:
            return None
        return relative_gap(self.objective, self.bound)

    def value(self, var: Var) -> float:
        """The value of a variable in the plan."""
        return self.values.get(var.index, 0.0)


def solve(model: Model, backend: str = "cpsat", *, time_limit_s: float = 60.0, explain: bool = False,
          seed: int = 0, threads: int = 1) -> Solution:
    """Solve `model` with a backend: "cpsat", "cbc" (PuLP) or "highs" (OR-Tools).

    Parameters
    ----------
    time_limit_s
        Wall-clock limit; on hitting it the best plan is returned as FEASIBLE with its gap.
    explain
        CP-SAT only: guard every constraint group with an assumption literal so that an
        infeasible solve names the groups in conflict.
    seed, threads
        Search seed and worker count; the defaults make runs repeatable.
    """
    if backend not in BACKENDS:
        msg = f"unknown solver backend {backend!r}; choose one of {', '.join(BACKENDS)}"
        raise SolverError(msg)
    if explain and backend != "cpsat":
        msg = "explanations need the cpsat backend"
        raise SolverError(msg)
    if backend == "cpsat":
        return _solve_cpsat(model, time_limit_s, explain, seed, threads)
    if backend == "cbc":
        import warnings

        with warnings.catch_warnings():
            # PuLP 3.3 deprecates its own 3.x API on the way to 4.0; the calls still work.
            warnings.simplefilter("ignore", DeprecationWarning)
            return _solve_cbc(model, time_limit_s, seed, threads)
    return _solve_highs(model, time_limit_s, seed, threads)


# --- CP-SAT ---------------------------------------------------------------------------------


def _cpsat_bounds(c: Constraint) -> tuple[int, int]:
    """A row's integer bounds as CP-SAT takes them (an infinite side is +-2**62)."""
    lo = -(2**62) if c.lb == -math.inf else int(math.ceil(c.lb - 1e-9))
    hi = 2**62 if c.ub == math.inf else int(math.floor(c.ub + 1e-9))
    return lo, hi


def _cpsat_model_api(model: Model, explain: bool) -> tuple[object, dict[str, object]]:
    """The CP-SAT model built through its Python API, with one assumption literal per group when explaining."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    xs = []
    for v in model.vars:
        lb, ub = int(math.ceil(v.lb)), int(math.floor(v.ub))
        xs.append(m.new_bool_var("") if (lb, ub) == (0, 1) else m.new_int_var(lb, ub, ""))
    guards: dict[str, object] = {}
    if explain:
        for g in model.groups:
            if g != "structure":
                guards[g] = m.new_bool_var(f"use[{g}]")
    weighted = cp_model.LinearExpr.weighted_sum
    for c in model.constraints:
        lo, hi = _cpsat_bounds(c)
        if not c.coefs:
            # An empty row that cannot hold (kept by Model.add): an always-false clause.
            ct = m.add_bool_or([]) if not (lo <= 0 <= hi) else None
        else:
            ct = m.add_linear_constraint(weighted([xs[i] for i in c.coefs], [int(v) for v in c.coefs.values()]), lo, hi)
        if ct is not None and c.group in guards:
            ct.only_enforce_if(guards[c.group])
    m.minimize(weighted([xs[i] for i in model.objective], [int(v) for v in model.objective.values()])
               + int(model.objective_constant))
    for i, v in model.hint.items():
        m.add_hint(xs[i], int(round(v)))
    if guards:
        m.add_assumptions(list(guards.values()))
    return m, guards


class _IntText(dict):
    """Integer text of numbers, memoised: `table[v]` is `str(int(v))` (a model's coefficients and
    indices repeat a few values thousands of times; `str` and `int` per occurrence were most of the
    text's cost)."""

    def __missing__(self, v: float) -> str:
        text = self[v] = str(int(v))
        return text


def _linear_text(coefs: dict[int, float], text: _IntText) -> str:
    """`vars: ... coeffs: ...` of a linear row in CP-SAT's text format, by variable index (as the API writes them)."""
    # The list form of repeated fields (`vars:[1,2]`): the same proto, shorter to write and to parse.
    keys = sorted(coefs)
    get = text.__getitem__
    return ("vars:[" + ",".join(map(get, keys)) + "] coeffs:["
            + ",".join(map(get, map(coefs.__getitem__, keys))) + "] ")


def _cpsat_model_text(model: Model) -> object:
    """The same CP-SAT model as `_cpsat_model_api(model, False)`, field for field, read from its text format
    (a `CpModelProto`).

    Building the rows through the Python API costs a pybind call per row and variable (about
    as much as solving a county's model); writing the text and letting CP-SAT parse it in C++
    takes about half as long. The model is identical (a test compares the two), so the search
    and the plan are too.
    """
    from ortools.sat.python import cp_model_helper as cmh

    text = _IntText()
    domains: dict[tuple[float, float], str] = {}
    parts = []
    for v in model.vars:
        key = (v.lb, v.ub)
        part = domains.get(key)
        if part is None:
            part = domains[key] = f"variables{{domain:[{int(math.ceil(v.lb))},{int(math.floor(v.ub))}]}}"
        parts.append(part)
    # A row's closing text depends on its bounds only: written once per distinct pair.
    tails: dict[tuple[float, float], str] = {}
    for c in model.constraints:
        if not c.coefs:
            lo, hi = _cpsat_bounds(c)
            if not (lo <= 0 <= hi):
                parts.append("constraints{bool_or{}}")
            continue
        tail = tails.get((c.lb, c.ub))
        if tail is None:
            lo, hi = _cpsat_bounds(c)
            tail = tails[c.lb, c.ub] = f"domain:[{lo},{hi}]}}}}"
        parts.append("constraints{linear{" + _linear_text(c.coefs, text) + tail)
    constant = int(model.objective_constant)
    parts.append(f"objective{{{_linear_text({k: v for k, v in model.objective.items() if int(v)}, text)}"
                 + (f"offset:{constant} " if constant else "") + "scaling_factor:1}")
    if model.hint:
        parts.append("solution_hint{" + "".join(f"vars:{i} " for i in model.hint)
                     + "".join(f"values:{int(round(v))} " for v in model.hint.values()) + "}")
    proto = cmh.CpModelProto()
    proto.parse_text_format("".join(parts))
    return proto


def _cpsat_response(proto: object, params: object) -> object:
    """CP-SAT's response to a `CpModelProto` under `SatParameters` (what `CpSolver.solve` runs)."""
    from ortools.sat.python import cp_model_helper as cmh

    wrapper = cmh.SolveWrapper()
    wrapper.set_parameters(params)
    return wrapper.solve(proto)


def _solve_cpsat(model: Model, time_limit_s: float, explain: bool, seed: int, threads: int) -> Solution:
    from ortools.sat.python import cp_model_helper as cmh

    if not model.is_integral():
        msg = f"{model.name}: CP-SAT needs integer coefficients; scale the data"
        raise SolverError(msg)
    # Weighted sums and unnamed variables: building expressions term by term in Python costs
    # more than solving these small models; without explanations, the text format is faster still.
    if explain:
        api, guards = _cpsat_model_api(model, explain)
        proto = api.proto
    else:
        proto, guards = _cpsat_model_text(model), {}
    # The solver's own entry (what CpSolver.solve calls) on the proto and parameters: the same solve,
    # without cp_model's CpModel and CpSolver objects around it (their set-up, ~1 ms a model, was
    # a tenth of a county's solve).
    params = cmh.SatParameters()
    params.max_time_in_seconds = float(time_limit_s)
    params.num_workers = max(1, threads)
    params.random_seed = seed
    # CP-SAT's own SIGINT handler outlives the solve and turns a later Ctrl-C into a hard kill,
    # so the planner could not keep the counties it had solved; Python handles Ctrl-C instead.
    params.catch_sigint_signal = False
    for key, value in model.cpsat_options.items():
        setattr(params, key, value)
    t0 = time.perf_counter()
    response = _cpsat_response(proto, params)
    elapsed = time.perf_counter() - t0
    code = response.status
    if code == cmh.CpSolverStatus.OPTIMAL:
        status = Status.OPTIMAL
    elif code == cmh.CpSolverStatus.FEASIBLE:
        status = Status.FEASIBLE
    elif code == cmh.CpSolverStatus.INFEASIBLE:
        status = Status.INFEASIBLE
    elif code == cmh.CpSolverStatus.MODEL_INVALID:
        msg = f"{model.name}: CP-SAT rejected the model: {cmh.CpSatHelper.validate_model(proto)}"
        raise SolverError(msg)
    else:
        status = Status.NO_SOLUTION
    deterministic = float(response.deterministic_time)
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        # The response lists every variable's value in model order (the guards come after the model's).
        values = dict(enumerate(map(float, list(response.solution)[: len(model.vars)])))
        return Solution(status, float(response.objective_value), float(response.best_objective_bound), values, elapsed,
                        "cpsat", deterministic_time=deterministic)
    conflict: tuple[str, ...] = ()
    if status is Status.INFEASIBLE and guards:
        by_index = {lit.index: g for g, lit in guards.items()}
        conflict = tuple(sorted(by_index[i] for i in response.sufficient_assumptions_for_infeasibility if i in by_index))
    return Solution(status, None, None, {}, elapsed, "cpsat", conflict, deterministic_time=deterministic)


# --- CBC through PuLP -----------------------------------------------------------------------


def cbc_command(**kwargs: object) -> object | None:
    """A PuLP CBC solver command, or None when no CBC binary is installed.

    PuLP 3 bundles CBC as PULP_CBC_CMD (deprecated there, with a warning we silence); PuLP 4
    dropped it, and COIN_CMD then finds a CBC installed separately (`pip install "pulp[cbc]"`
    or Debian's coinor-cbc).
    """
    import warnings

    import pulp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in ("PULP_CBC_CMD", "COIN_CMD"):
            cls = getattr(pulp, name, None)
            if cls is None:
                continue
            try:
                cmd = cls(**kwargs)
                if cmd.available():
                    return cmd
            except Exception:  # a solver class that cannot even be built counts as missing
                continue
    return None


def cbc_available() -> bool:
    """True when PuLP can run a CBC binary."""
    return cbc_command(msg=False) is not None


_CBC_RESULT = re.compile(r"^Result - (.*)$", re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_LB = re.compile(r"^Lower bound:\s+(\S+)", re.M)


def _solve_cbc(model: Model, time_limit_s: float, seed: int, threads: int) -> Solution:
    import pulp

    prob = pulp.LpProblem(re.sub(r"\W", "_", model.name)[:60] or "model", pulp.LpMinimize)
    xs = []
    for i, v in enumerate(model.vars):
        cat = pulp.LpContinuous if (v.relaxable or not v.integer) else (
            pulp.LpBinary if (v.lb, v.ub) == (0, 1) else pulp.LpInteger)
        lb = None if v.lb == -math.inf else v.lb
        ub = None if v.ub == math.inf else v.ub
        var = pulp.LpVariable(f"v{i}", lowBound=lb, upBound=ub, cat=cat)
        xs.append(var)
    for i, v in model.hint.items():
        xs[i].setInitialValue(v)
    prob += pulp.lpSum(coef * xs[i] for i, coef in model.objective.items()) + model.objective_constant
    for k, c in enumerate(model.constraints):
        expr = pulp.lpSum(coef * xs[i] for i, coef in c.coefs.items()) if c.coefs else pulp.LpAffineExpression()
        if c.lb == c.ub:
            prob += (expr == c.lb, f"c{k}")
        else:
            if c.lb != -math.inf:
                prob += (expr >= c.lb, f"c{k}l")
            if c.ub != math.inf:
                prob += (expr <= c.ub, f"c{k}u")
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "cbc.log")
        solver = cbc_command(msg=False, timeLimit=max(1, int(math.ceil(time_limit_s))), threads=max(1, threads),
                             logPath=log, warmStart=bool(model.hint), gapRel=0.0,
                             options=[f"randomCbcSeed {seed + 1}", "allowableGap 0.5"] if model.is_integral()
                             else [f"randomCbcSeed {seed + 1}"], keepFiles=False)
        if solver is None:
            msg = ("CBC is not available to PuLP (PuLP 4 no longer bundles it); use --backend cpsat or "
                   "--backend highs, or install CBC: pip install 'pulp<4' (bundled) or 'pulp[cbc]'")
            raise SolverError(msg)
        t0 = time.perf_counter()
        prob.solve(solver)
        elapsed = time.perf_counter() - t0
        text = Path(log).read_text(encoding="utf-8", errors="replace") if os.path.exists(log) else ""
    return _cbc_solution(prob, xs, text, elapsed, model)


def _cbc_solution(prob: object, xs: list, log: str, elapsed: float, model: Model) -> Solution:
    import pulp

    # PuLP's `status` says Optimal when CBC stops on its time limit with a plan; the
    # solution status and CBC's own result line tell a proven optimum from a time-limited plan.
    result = (_CBC_RESULT.findall(log) or [""])[-1].strip()
    sol_status = prob.sol_status  # type: ignore[attr-defined]
    # Every variable is bounded, so "infeasible or unbounded" from CBC's preprocessing means infeasible.
    if sol_status == pulp.LpSolutionInfeasible or prob.status == pulp.LpStatusInfeasible or \
            result.startswith(("Linear relaxation infeasible", "Problem proven infeasible")) or \
            "Pre-processing says infeasible" in log:
        return Solution(Status.INFEASIBLE, None, None, {}, elapsed, "cbc", message=result)
    has_plan = sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if not has_plan:
        return Solution(Status.NO_SOLUTION, None, None, {}, elapsed, "cbc", message=result)
    values = {i: float(x.varValue or 0.0) for i, x in enumerate(xs)}
    objective = sum(coef * values[i] for i, coef in model.objective.items()) + model.objective_constant
    proven = sol_status == pulp.LpSolutionOptimal and result.startswith("Optimal solution found")
    if proven:
        return Solution(Status.OPTIMAL, objective, objective, values, elapsed, "cbc", message=result)
    lb = _CBC_LB.findall(log)
    bound = float(lb[-1]) + model.objective_constant if lb else None
    if bound is not None and model.is_integral() and objective - bound < 0.5 - 1e-9:
        # Integer data: a bound within 0.5 of the plan proves it (CBC's allowableGap 0.5).
        return Solution(Status.OPTIMAL, objective, objective, values, elapsed, "cbc", message=result)
    return Solution(Status.FEASIBLE, objective, bound, values, elapsed, "cbc", message=result)


# --- HiGHS through OR-Tools -----------------------------------------------------------------


def _highs_arrays(model: Model) -> tuple:
    """The model as HiGHS takes it: variable bounds, objective, row bounds and a CSR matrix (rows in model order)."""
    import numpy as np
    import scipy.sparse as sp

    n = len(model.vars)
    lb = np.fromiter((v.lb for v in model.vars), float, n)
    ub = np.fromiter((v.ub for v in model.vars), float, n)
    obj = np.zeros(n)
    if model.objective:
        obj[np.fromiter(model.objective.keys(), np.int64, len(model.objective))] = list(model.objective.values())
    indptr = [0]
    cols: list[int] = []
    vals: list[float] = []
    for c in model.constraints:
        cols.extend(c.coefs)
        vals.extend(c.coefs.values())
        indptr.append(len(cols))
    rows = len(model.constraints)
    a = sp.csr_matrix((np.asarray(vals, float), np.asarray(cols, np.int64), np.asarray(indptr, np.int64)), shape=(rows, n))
    row_lb = np.fromiter((c.lb for c in model.constraints), float, rows)
    row_ub = np.fromiter((c.ub for c in model.constraints), float, rows)
    return lb, ub, obj, row_lb, row_ub, a


def _integral_lp_plan(model: Model, arrays: tuple, values: object, lp_objective: float) -> tuple[dict, float] | None:
    """The LP optimum as a proven MIP optimum, or None: every integer variable within 1e-6 of an integer, the
    rounded point inside every bound and row, and its objective within 0.5 of the LP's (integer data: no
    integer plan can be better than the LP bound, and an integer objective within 0.5 of it is optimal,
    the test the MIP itself applies with mip_abs_gap = 0.5)."""
    import numpy as np

    lb, ub, obj, row_lb, row_ub, a = arrays
    x = np.asarray(values, float).copy()
    ints = np.fromiter((v.integer and not v.relaxable for v in model.vars), bool, len(model.vars))
    rounded = np.round(x[ints])
    if len(rounded) and np.abs(x[ints] - rounded).max() > 1e-6:
        return None
    x[ints] = rounded
    activity = a @ x if a.shape[0] else np.zeros(0)
    tol = 1e-6
    if (x < lb - tol).any() or (x > ub + tol).any() or (activity < row_lb - tol).any() or (activity > row_ub + tol).any():
        return None
    objective = float(obj @ x) + model.objective_constant
    if abs(objective - lp_objective) >= 0.5 - 1e-9:
        return None
    return dict(enumerate(x.tolist())), objective


def _solve_highs(model: Model, time_limit_s: float, seed: int, threads: int) -> Solution:
    # The model goes to HiGHS as arrays through OR-Tools' model builder (one call for all rows):
    # the same MPModelProto pywraplp builds coefficient by coefficient, so the same solve and the
    # same values (checked on every dispatch model of 浙江省 and 河南省), without a Python-to-C++
    # call per coefficient.
    from ortools.linear_solver.python import model_builder_helper as mbh

    solver = mbh.ModelSolverHelper("highs")
    if not solver.solver_is_supported():
        msg = "HiGHS is not available in this OR-Tools build; use --backend cpsat or cbc"
        raise SolverError(msg)
    arrays = _highs_arrays(model)
    built = mbh.ModelBuilderHelper()
    built.fill_model_from_sparse_data(*arrays)
    built.set_objective_offset(model.objective_constant)
    integral = model.is_integral()
    solver.set_solver_specific_parameters(f"output_flag=false\nrandom_seed={seed}\nmip_rel_gap=0\n"
                                          + ("mip_abs_gap=0.5\n" if integral else "")
                                          + "".join(f"{k}={v}\n" for k, v in model.highs_options.items()))
    # No hint here: a hint passed to HiGHS through OR-Tools 9.15 crashed the process.
    integer = [i for i, v in enumerate(model.vars) if v.integer and not v.relaxable]
    t0 = time.perf_counter()
    if model.lp_first and integer and integral:
        # The LP relaxation first (simplex, no MIP presolve): when its optimum is integral it is the MIP's.
        solver.set_time_limit_in_seconds(float(time_limit_s))
        solver.solve(built)
        if solver.status() == mbh.SolveStatus.OPTIMAL:
            proven = _integral_lp_plan(model, arrays, solver.variable_values(), float(solver.objective_value()))
            if proven is not None:
                values, objective = proven
                return Solution(Status.OPTIMAL, objective, objective, values, time.perf_counter() - t0, "highs",
                                message="LP relaxation integral")
    for i in integer:
        built.set_var_integrality(i, True)
    solver.set_time_limit_in_seconds(max(0.0, float(time_limit_s) - (time.perf_counter() - t0)))
    solver.solve(built)
    elapsed = time.perf_counter() - t0
    code = solver.status()
    if code == mbh.SolveStatus.INFEASIBLE:
        return Solution(Status.INFEASIBLE, None, None, {}, elapsed, "highs")
    if code not in (mbh.SolveStatus.OPTIMAL, mbh.SolveStatus.FEASIBLE) or not solver.has_solution():
        return Solution(Status.NO_SOLUTION, None, None, {}, elapsed, "highs")
    values = dict(enumerate(solver.variable_values().tolist()))
    objective = float(solver.objective_value())
    bound = float(solver.best_objective_bound())
    status = Status.OPTIMAL if code == mbh.SolveStatus.OPTIMAL else Status.FEASIBLE
    if status is Status.OPTIMAL:
        bound = objective
    return Solution(status, objective, bound, values, elapsed, "highs")
