"""The matrix-level grouping core: choose centers and assign areas to them, with exact contiguity.

This module knows nothing of hospitals or provinces. It takes a graph of areas, their
populations, a cost matrix to candidate centers and each center's root area, and builds a
location-allocation (districting) model:

    minimise   sum_i sum_f cost[i, f] * x[i, f]  (+ penalties added by callers)
    subject to sum_f x[i, f] = 1                      every area in exactly one group
               x[i, f] <= y[f]                        only open centers take areas
               sum_i x[i, f] >= y[f]                  an open center has at least one area
               root ownership, group count, balance, contiguity (optional)

Contiguity is exact: a single-commodity flow per center, sent from the center's root area
and consumed by each member area, may only pass through areas of the same group
(Shirabe 2005, "A model of contiguity for spatial unit allocation", Geographical Analysis
37(1); the rooted form used in Validi, Buchanan and Lykhovyd 2022, Operations Research
70(2)). A center whose root area is shared with another open center (two hospitals in one
town) may use the root as a pass-through: its group plus the root is connected, and the root
belongs to one of the centers located there. A center located outside the areas (a city
hospital leading a county community) picks its root among its members.

`from_region` adapters live in planner.units; rules add their constraints through the
methods here, tagged with their rule id so conflicts can be explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .milp import LinExpr, Model, Solution, Status, Var, solve


@dataclass
class DistrictingModel:
    """A districting model under construction over areas 0..n-1 and candidate centers 0..m-1.

    Parameters
    ----------
    population
        Population of each area (integers).
    cost
        Integer cost of assigning area i to center f, shape (n, m).
    edges
        Undirected adjacency between areas, as index pairs.
    roots
        For each center, the index of the area it sits in, or -1 when it sits outside.
    name
        Model name (for logs and errors).
    allowed
        Optional boolean mask (n, m): False pairs get no variable at all (e.g. too far), which
        keeps large instances small. Rules that must be explainable use constraints instead.
    coverage_group
        Constraint group of "every area in exactly one group" (a rule id, for explanations).
    coverage_penalty
        When given, coverage is soft: an area may stay out at this cost per resident.
    """

    population: np.ndarray
    cost: np.ndarray
    edges: Sequence[tuple[int, int]]
    roots: Sequence[int]
    name: str = "districting"
    allowed: np.ndarray | None = None
    coverage_group: str = "coverage"
    coverage_penalty: float | None = None
    model: Model = field(init=False)
    x: dict[tuple[int, int], Var] = field(init=False)
    y: list[Var] = field(init=False)
    _neighbours: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.population = np.asarray(self.population, dtype=np.int64)
        self.cost = np.asarray(self.cost)
        n, m = self.n, self.m
        if self.cost.shape != (n, m):
            msg = f"cost matrix has shape {self.cost.shape}, expected ({n}, {m})"
            raise ValueError(msg)
        if len(self.roots) != m:
            msg = f"{len(self.roots)} roots given for {m} centers"
            raise ValueError(msg)
        self.model = Model(self.name)
        self.y = [self.model.binary(f"open[{f}]") for f in range(m)]
        self.x = {}
        for i in range(n):
            for f in range(m):
                if self.allowed is None or self.allowed[i, f] or self.roots[f] == i:
                    self.x[i, f] = self.model.binary(f"assign[{i},{f}]")
        self._neighbours = [[] for _ in range(n)]
        for a, b in self.edges:
            if a != b and b not in self._neighbours[a]:
                self._neighbours[a].append(b)
                self._neighbours[b].append(a)
        self._add_structure()

    @property
    def n(self) -> int:
        """Number of areas."""
        return len(self.population)

    @property
    def m(self) -> int:
        """Number of candidate centers."""
        return len(self.roots)

    def members(self, f: int) -> list[tuple[int, Var]]:
        """(area, variable) pairs that may be assigned to center f."""
        return [(i, self.x[i, f]) for i in range(self.n) if (i, f) in self.x]

    def group_population(self, f: int) -> LinExpr:
        """Population of center f's group as an expression."""
        return LinExpr.sum((int(self.population[i]), v) for i, v in self.members(f))

    def _add_structure(self) -> None:
        mdl = self.model
        for i in range(self.n):
            expr = LinExpr.sum((1, self.x[i, f]) for f in range(self.m) if (i, f) in self.x)
            if self.coverage_penalty is not None:
                out = mdl.binary(f"uncovered[{i}]")
                mdl.minimize([(self.coverage_penalty * int(self.population[i]), out)])
                expr = expr + out
            mdl.add(expr, lb=1, ub=1, name=f"cover[{i}]", group=self.coverage_group)
        for (i, f), v in self.x.items():
            mdl.add(v - self.y[f], ub=0, name=f"open_only[{i},{f}]", group="structure")
        for f in range(self.m):
            mdl.add(LinExpr.sum((1, v) for _, v in self.members(f)) - self.y[f], lb=0, name=f"nonempty[{f}]",
                    group="structure")
        by_root: dict[int, list[int]] = {}
        for f, r in enumerate(self.roots):
            if r >= 0:
                by_root.setdefault(r, []).append(f)
        for r, centers in by_root.items():
            owners = LinExpr.sum((1, self.x[r, g]) for g in centers if (r, g) in self.x)
            for f in centers:
                # The town a lead hospital sits in belongs to a lead located there.
                mdl.add(owners - self.y[f], lb=0, name=f"root[{f}]", group="structure")
        mdl.minimize((float(self.cost[i, f]), v) for (i, f), v in self.x.items())

    # --- rules' building blocks --------------------------------------------------------

    def add_count(self, lo: int | None, hi: int | None, group: str, *, penalty: float | None = None) -> list[Var]:
        """lo <= number of open centers <= hi; with a penalty, each group over/under costs it."""
        total = LinExpr.sum((1, y) for y in self.y)
        return self._bounded(total, lo, hi, group, "count", penalty, scale=self.m)

    def _bounded(self, expr: LinExpr, lo: float | None, hi: float | None, group: str, name: str,
                 penalty: float | None, scale: float, gate: Var | None = None) -> list[Var]:
        """lo <= expr <= hi, soft with slack variables when penalised.

        With a `gate` (a center's open variable) the bounds hold only when it is open:
        `expr - lo * gate >= 0` and `expr - hi * gate <= 0`, exact because the group's
        population is 0 when its center is closed.
        """
        mdl = self.model
        slacks: list[Var] = []
        for bound, side in ((lo, "min"), (hi, "max")):
            if bound is None:
                continue
            e = expr - bound * gate if gate is not None else expr
            rhs = 0 if gate is not None else bound
            if penalty is not None:
                s = mdl.integer(f"{name}_{side}_slack", 0, float(scale))
                slacks.append(s)
                e = e + s if side == "min" else e - s
                mdl.minimize([(penalty, s)])
            if side == "min":
                mdl.add(e, lb=rhs, name=f"{name}_min", group=group)
            else:
                mdl.add(e, ub=rhs, name=f"{name}_max", group=group)
        return slacks

    def add_balance(self, lo: int | None, hi: int | None, group: str, *, centers: Sequence[int] | None = None,
                    penalty: float | None = None) -> list[Var]:
        """Each open center's group population within [lo, hi] (soft: penalty per person outside)."""
        slacks = []
        total = int(self.population.sum())
        for f in centers if centers is not None else range(self.m):
            slacks += self._bounded(self.group_population(f), lo, hi, group, f"balance[{f}]", penalty,
                                    scale=total, gate=self.y[f])
        return slacks

    def fix_open(self, f: int, value: int, group: str) -> None:
        """Force center f open (1) or closed (0)."""
        self.model.fix(self.y[f], value, name=f"fix_open[{f}]={value}", group=group)

    def penalise_open(self, f: int, penalty: float) -> None:
        """Charge `penalty` when center f opens (a soft eligibility rule)."""
        self.model.minimize([(penalty, self.y[f])])

    def forbid(self, i: int, f: int, group: str, *, penalty: float | None = None) -> None:
        """Area i may not join center f (soft: charge `penalty` if it does)."""
        if (i, f) not in self.x:
            return
        if penalty is None:
            self.model.fix(self.x[i, f], 0, name=f"forbid[{i},{f}]", group=group)
        else:
            self.model.minimize([(penalty, self.x[i, f])])

    def pin(self, i: int, f: int, group: str) -> None:
        """Area i must join center f."""
        if (i, f) not in self.x:
            self.model.add(LinExpr(), lb=1, name=f"pin[{i},{f}]", group=group)
            return
        self.model.fix(self.x[i, f], 1, name=f"pin[{i},{f}]", group=group)

    def add_contiguity(self, group: str) -> None:
        """Every group is connected through its own areas (flow from the center's root)."""
        mdl = self.model
        n = self.n
        for f in range(self.m):
            members = dict(self.members(f))
            r = self.roots[f]
            if r >= 0:
                source = {r: None}
            else:
                # A center outside the areas chooses which of its members is the root.
                source = {i: mdl.binary(f"root[{i},{f}]") for i in members}
                mdl.add(LinExpr.sum((1, s) for s in source.values()) - self.y[f], lb=0, ub=0,
                        name=f"one_root[{f}]", group=group)
                for i, s in source.items():
                    mdl.add(s - members[i], ub=0, name=f"root_member[{i},{f}]", group=group)
            cap = max(1, len(members))
            flow: dict[tuple[int, int], Var] = {}
            for u in range(n):
                if u not in members and u not in source:
                    continue
                for v in self._neighbours[u]:
                    if v not in members or (r >= 0 and v == r):
                        continue
                    flow[u, v] = mdl.integer(f"flow[{u},{v},{f}]", 0, cap, relaxable=True)
            for (u, v), g in flow.items():
                # Flow enters only member areas, and leaves only members or the root.
                mdl.add(g - cap * members[v], ub=0, name=f"flow_in[{u},{v},{f}]", group=group)
                if u != r and u in members:
                    mdl.add(g - cap * members[u], ub=0, name=f"flow_out[{u},{v},{f}]", group=group)
            inflow: dict[int, list[Var]] = {}
            outflow: dict[int, list[Var]] = {}
            for (u, v), g in flow.items():
                outflow.setdefault(u, []).append(g)
                inflow.setdefault(v, []).append(g)
            for i, xv in members.items():
                if r >= 0 and i == r:
                    continue
                net = LinExpr.sum((1, g) for g in inflow.get(i, [])) - LinExpr.sum((1, g) for g in outflow.get(i, []))
                if r < 0:
                    # A chosen root supplies the others: net inflow = x - cap * root... bounded below.
                    s = source[i]
                    mdl.add(net - xv + cap * s, lb=0, name=f"flow_balance[{i},{f}]", group=group)
                    mdl.add(net - xv, ub=0, name=f"flow_cap[{i},{f}]", group=group)
                else:
                    mdl.add(net - xv, lb=0, ub=0, name=f"flow_balance[{i},{f}]", group=group)

    def solve(self, backend: str = "cpsat", *, time_limit_s: float = 60.0, explain: bool = False,
              threads: int = 1) -> Solution:
        """Solve the model as built so far."""
        return solve(self.model, backend, time_limit_s=time_limit_s, explain=explain, threads=threads)

    def groups_of(self, sol: Solution) -> dict[int, list[int]]:
        """Open centers and their areas, from a solution."""
        out: dict[int, list[int]] = {}
        if sol.status not in (Status.OPTIMAL, Status.FEASIBLE):
            return out
        for f in range(self.m):
            if sol.value(self.y[f]) > 0.5:
                out[f] = [i for i, v in self.members(f) if sol.value(v) > 0.5]
        return out

    def hint(self, assignment: dict[int, int]) -> None:
        """Warm start: area -> center from a previous plan (backends that take hints use it)."""
        opened = set(assignment.values())
        for f in range(self.m):
            self.model.hint[self.y[f].index] = 1.0 if f in opened else 0.0
        for (i, f), v in self.x.items():
            self.model.hint[v.index] = 1.0 if assignment.get(i) == f else 0.0


@dataclass(frozen=True)
class DistrictingResult:
    """Groups found by `solve_districting`: center -> member areas, with the solve's status."""

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    groups: dict[int, tuple[int, ...]]
    time_s: float


def solve_districting(population: Sequence[int], cost: np.ndarray, edges: Sequence[tuple[int, int]],
                      roots: Sequence[int], *, k: int | tuple[int, int] | None = None,
                      balance: tuple[int | None, int | None] | None = None, contiguity: bool = True,
                      backend: str = "cpsat", time_limit_s: float = 60.0, threads: int = 1) -> DistrictingResult:
    """Solve a generic districting / location-allocation problem from matrices.

    Parameters
    ----------
    population
        Population of each area.
    cost
        Integer cost matrix (areas x candidate centers).
    edges
        Area adjacency (index pairs), used for contiguity.
    roots
        Area index of each candidate center (-1 if it lies outside the areas).
    k
        Exact number of groups, or (min, max), or None for free.
    balance
        (min, max) population of every group, either side None for open.
    contiguity
        Whether groups must be connected.

    Examples
    --------
    Three areas in a row, two candidate centers at the ends, two groups::

        >>> r = solve_districting([10, 10, 10], np.array([[0, 9], [5, 5], [9, 0]]),
        ...                       [(0, 1), (1, 2)], [0, 2], k=2)
        >>> r.status.value, r.objective
        ('OPTIMAL', 5.0)
    """
    cost = np.asarray(cost)
    plain = (not contiguity and balance is None and isinstance(k, int) and cost.shape[0] == cost.shape[1]
             and list(roots) == list(range(len(roots))))
    if plain:
        # No side constraints: a p-median, solved by the exact radius-formulation core.
        from .pmedian import solve_pmedian

        r = solve_pmedian(cost, k, time_limit_s=time_limit_s)
        groups: dict[int, list[int]] = {}
        for i, f in enumerate(r.assignment):
            groups.setdefault(int(f), []).append(i)
        status = Status(r.status)
        return DistrictingResult(status, r.objective, r.bound, r.gap, {f: tuple(v) for f, v in sorted(groups.items())},
                                 r.time_s)
    dm = DistrictingModel(np.asarray(population), cost, edges, roots)
    if k is not None:
        lo, hi = (k, k) if isinstance(k, int) else k
        dm.add_count(lo, hi, "count")
    if balance is not None:
        dm.add_balance(balance[0], balance[1], "balance")
    if contiguity:
        dm.add_contiguity("contiguity")
    sol = dm.solve(backend, time_limit_s=time_limit_s, threads=threads)
    groups = {f: tuple(v) for f, v in dm.groups_of(sol).items()}
    return DistrictingResult(sol.status, sol.objective, sol.bound, sol.gap, groups, sol.time_s)


def integer_costs(population: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Person-minutes rounded to integers: the cost CP-SAT and CBC both see exactly."""
    return np.rint(np.asarray(population, dtype=float)[:, None] * np.asarray(minutes, dtype=float)).astype(np.int64)
