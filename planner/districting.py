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

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .milp import Constraint, LinExpr, Model, Solution, Status, Var, VarInfo, relative_gap, solve


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
    closed
        Centers that a hard row added later keeps closed (`fix_open(f, 0)`): they get no
        assignment variable at all, not even at their root. Their open variable stays, so the
        row that closes them still names its rule when a unit is explained.
    contiguity_form
        How `add_contiguity` writes contiguity: "flow" (single-commodity flows, the default) or
        "tree" (`add_contiguity_tree`: the same plans, a model CP-SAT proves far faster where many
        groups share a root; see planner.planning.solve_unit).
    """

    population: np.ndarray
    cost: np.ndarray
    edges: Sequence[tuple[int, int]]
    roots: Sequence[int]
    name: str = "districting"
    allowed: np.ndarray | None = None
    coverage_group: str = "coverage"
    coverage_penalty: float | None = None
    closed: frozenset[int] = frozenset()
    contiguity_form: str = "flow"
    contiguity_added: bool = field(default=False, init=False)
    """True once `add_contiguity` was called (a rule made contiguity part of the model)."""
    model: Model = field(init=False)
    x: dict[tuple[int, int], Var] = field(init=False)
    y: list[Var] = field(init=False)
    _neighbours: list[list[int]] = field(init=False)
    _members: list[list[tuple[int, Var]]] = field(init=False, repr=False)

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
        if self.contiguity_form not in ("flow", "tree"):
            msg = f"contiguity_form must be 'flow' or 'tree', not {self.contiguity_form!r}"
            raise ValueError(msg)
        self.model = Model(self.name)
        self.y = [self.model.binary(f"open[{f}]") for f in range(m)]
        self.x = {}
        closed = self.closed
        for i in range(n):
            for f in range(m):
                if f not in closed and (self.allowed is None or self.allowed[i, f] or self.roots[f] == i):
                    self.x[i, f] = self.model.binary(f"assign[{i},{f}]")
        self._neighbours = _neighbour_lists(n, self.edges)
        # Each center's (area, variable) pairs in area order, listed once (members() is called per rule).
        self._members: list[list[tuple[int, Var]]] = [[] for _ in range(m)]
        for (i, f), v in self.x.items():
            self._members[f].append((i, v))
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
        return list(self._members[f])

    def group_population(self, f: int) -> LinExpr:
        """Population of center f's group as an expression."""
        return LinExpr.sum((int(self.population[i]), v) for i, v in self.members(f))

    def _add_structure(self) -> None:
        # Rows as coefficient dicts (Model.add_coefs): the same rows, in the same order, that
        # LinExpr arithmetic gave, without an expression object per term.
        mdl = self.model
        by_area: list[list[int]] = [[] for _ in range(self.n)]
        for (i, _f), v in self.x.items():
            by_area[i].append(v.index)
        for i in range(self.n):
            row = dict.fromkeys(by_area[i], 1)
            if self.coverage_penalty is not None:
                out = mdl.binary(f"uncovered[{i}]")
                mdl.minimize([(self.coverage_penalty * int(self.population[i]), out)])
                row[out.index] = row.get(out.index, 0) + 1
            mdl.add_coefs(row, lb=1, ub=1, name=f"cover[{i}]", group=self.coverage_group)
        y = [v.index for v in self.y]
        for (i, f), v in self.x.items():
            mdl.add_coefs({v.index: 1, y[f]: -1}, ub=0, name=f"open_only[{i},{f}]", group="structure")
        for f in range(self.m):
            row = dict.fromkeys((v.index for _, v in self._members[f]), 1)
            row[y[f]] = row.get(y[f], 0) - 1
            mdl.add_coefs(row, lb=0, name=f"nonempty[{f}]", group="structure")
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

    def add_capacity(self, demand: np.ndarray | Sequence[int], capacity: Sequence[int], group: str, *,
                     penalty: float | None = None, centers: Sequence[int] | None = None) -> dict[int, Var]:
        """Each open center serves at most its capacity: sum_i demand[i, f] x[i, f] <= capacity[f] y[f].

        The constraint family of the capacitated p-median / capacitated location-allocation
        model (Osman and Christofides 1994; Ceselli and Righini 2005). `demand` is one value per
        area (n,) or per area and center (n, m), when what an area asks of a center depends on
        the center (a health center that is itself the lead needs no physician sent to it).
        Capacities are integers. With a `penalty`, the bound is soft: an integer excess per
        center at `penalty` per unit; returns the excess variables (empty when hard).
        A closed center takes nothing, so the bound needs no gate on its own.
        """
        d = np.asarray(demand)
        if d.ndim == 1:
            d = np.repeat(d[:, None], self.m, axis=1)
        if d.shape != (self.n, self.m):
            msg = f"demand has shape {d.shape}, expected ({self.n},) or ({self.n}, {self.m})"
            raise ValueError(msg)
        if len(capacity) != self.m:
            msg = f"{len(capacity)} capacities given for {self.m} centers"
            raise ValueError(msg)
        mdl = self.model
        excess: dict[int, Var] = {}
        for f in centers if centers is not None else range(self.m):
            terms = [(int(d[i, f]), v) for i, v in self.members(f) if int(d[i, f]) != 0]
            if not terms:
                continue
            total = sum(c for c, _ in terms)
            cap = int(capacity[f])
            if penalty is None and total <= cap:
                continue  # can never bind
            expr = LinExpr.sum(terms) - cap * self.y[f]
            if penalty is not None:
                if total <= cap:
                    continue
                s = mdl.integer(f"capacity_excess[{f}]", 0, float(total - max(cap, 0)))
                mdl.minimize([(penalty, s)])
                excess[f] = s
                expr = expr - s
            mdl.add(expr, ub=0, name=f"capacity[{f}]", group=group)
        return excess

    def add_contiguity(self, group: str, *, max_members: int | None = None) -> None:
        """Every group is connected through its own areas (flow from the center's root).

        `max_members` caps the flow (the big-M): no group holds more areas than that, e.g. the
        most areas whose populations fit under the balance maximum (`most_areas`).
        """
        self.contiguity_added = True
        if self.contiguity_form == "tree" and max_members is None:
            self.add_contiguity_tree(group)
            return
        mdl = self.model
        n = self.n
        variables, rows = mdl.vars, mdl.constraints
        for f in range(self.m):
            members = dict(self._members[f])
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
            cap = max(1, len(members) if max_members is None else min(len(members), max_members))
            # The flow variables and their big-M rows are appended to the model's tables directly
            # (what `Model.integer(name, 0, cap, relaxable=True)` and `Model.add_coefs(row, ub=0)` append:
            # the same entries in the same order; both coefficients of a row are non-zero, cap >= 1),
            # with variable indices instead of Var objects: these are most of a county's model.
            flow: dict[tuple[int, int], int] = {}
            for u in range(n):
                if u not in members and u not in source:
                    continue
                for v in self._neighbours[u]:
                    if v not in members or (r >= 0 and v == r):
                        continue
                    flow[u, v] = len(variables)
                    variables.append(VarInfo(f"flow[{u},{v},{f}]", 0, cap, True, True))
            for (u, v), g in flow.items():
                # Flow enters only member areas, and leaves only members or the root.
                rows.append(Constraint({g: 1, members[v].index: -cap}, -math.inf, 0.0, f"flow_in[{u},{v},{f}]", group))
                if u != r and u in members:
                    rows.append(Constraint({g: 1, members[u].index: -cap}, -math.inf, 0.0, f"flow_out[{u},{v},{f}]",
                                           group))
            inflow: dict[int, list[int]] = {}
            outflow: dict[int, list[int]] = {}
            for (u, v), g in flow.items():
                outflow.setdefault(u, []).append(g)
                inflow.setdefault(v, []).append(g)
            for i, xv in members.items():
                if r >= 0 and i == r:
                    continue
                # net inflow - x: +1 per arc in, -1 per arc out, -1 for the area's own variable.
                row = dict.fromkeys(inflow.get(i, ()), 1)
                for g in outflow.get(i, ()):
                    row[g] = row.get(g, 0) - 1
                row[xv.index] = row.get(xv.index, 0) - 1
                if r < 0:
                    # A chosen root supplies the others: net inflow = x - cap * root... bounded below.
                    s = source[i]
                    supplied = dict(row)
                    supplied[s.index] = supplied.get(s.index, 0) + cap
                    mdl.add_coefs(supplied, lb=0, name=f"flow_balance[{i},{f}]", group=group)
                    mdl.add_coefs(row, ub=0, name=f"flow_cap[{i},{f}]", group=group)
                else:
                    mdl.add_coefs(row, lb=0, ub=0, name=f"flow_balance[{i},{f}]", group=group)

    def tree_contiguity_applies(self) -> bool:
        """True when `add_contiguity_tree` can express this model's contiguity: every center that
        may take areas sits in one of them (a center outside chooses its root, which only the flow
        model expresses)."""
        return all(self.roots[f] >= 0 for f in range(self.m) if self._members[f])

    def add_contiguity_tree(self, group: str) -> None:
        """The same contiguity as `add_contiguity` (every group plus its center's root area is
        connected; a shared root may be passed through), written as a spanning tree instead of flows.

        Every area in the group of a center located elsewhere picks one neighbour as its parent
        (`parent[i,j]`); the parent is in the same group or is that center's root, and has a
        smaller depth (`depth[i]` in 0..n-1), so following parents from any member ends at the
        root. Conversely, a breadth-first tree of each connected group gives parents and depths,
        so the feasible plans are exactly those of the flow model. CP-SAT propagates these
        clauses far better than the flows' big-M rows: on a county whose leads all share one
        town (北京市朝阳区, BENCHMARKS.md §10) it proves the optimum in a fraction of the time.
        Needs `tree_contiguity_applies()`.
        """
        if not self.tree_contiguity_applies():
            msg = f"{self.name}: tree contiguity needs every center inside the areas"
            raise ValueError(msg)
        mdl = self.model
        n = self.n
        # Centers whose groups need a parent at area i: i may join them and is not their root.
        needs = [[f for f in range(self.m) if (i, f) in self.x and self.roots[f] != i] for i in range(n)]
        depth: dict[int, Var] = {}

        def depth_of(i: int) -> Var:
            if i not in depth:
                depth[i] = mdl.integer(f"depth[{i}]", 0, max(0, n - 1), relaxable=True)
            return depth[i]

        for i in range(n):
            if not needs[i]:
                continue
            arcs: list[tuple[int, Var]] = []
            for j in self._neighbours[i]:
                # An arc is usable when some center i may join can continue through j.
                if not any((j, f) in self.x or self.roots[f] == j for f in needs[i]):
                    continue
                arcs.append((j, mdl.binary(f"parent[{i},{j}]")))
            row = {a.index: 1 for _, a in arcs}
            for f in needs[i]:
                row[self.x[i, f].index] = -1
            # One parent exactly when i is in the group of a center located elsewhere.
            mdl.add_coefs(row, lb=0, ub=0, name=f"tree_parent[{i}]", group=group)
            di = depth_of(i)
            for j, a in arcs:
                for f in needs[i]:
                    if self.roots[f] == j:
                        continue  # f's root: passed through whoever owns it
                    row = {a.index: 1, self.x[i, f].index: 1}
                    if (j, f) in self.x:
                        row[self.x[j, f].index] = -1
                    # parent[i,j] and i in f's group -> j in f's group.
                    mdl.add_coefs(row, ub=1, name=f"tree_same[{i},{j},{f}]", group=group)
                # parent[i,j] -> depth[i] >= depth[j] + 1 (n is a big enough M: depths are below n).
                mdl.add_coefs({di.index: 1, depth_of(j).index: -1, a.index: -n}, lb=1 - n,
                              name=f"tree_depth[{i},{j}]", group=group)

    def add_cutoff(self, upper: float, group: str = "cutoff") -> None:
        """Objective <= `upper`: a plan of that cost is known, so only plans at least as good are sought.

        Keeps every optimal plan (the bound is inclusive) and lets the solver prune; with it a
        backend that finds nothing returns INFEASIBLE only when no plan beats or ties `upper`.
        """
        self.model.add(LinExpr(dict(self.model.objective)), ub=float(upper) - self.model.objective_constant,
                       name="cutoff", group=group)

    def add_separator(self, i: int, f: int, separator: Sequence[int], group: str) -> bool:
        """Area i joins center f only if one of the `separator` areas does (an i-root separator cut).

        Valid for every connected group when `separator` meets every path from area i to f's
        root (Validi, Buchanan and Lykhovyd 2022, the CUT formulation). Returns False when area
        i cannot join f anyway.
        """
        if (i, f) not in self.x:
            return False
        terms = [(1, self.x[s, f]) for s in separator if (s, f) in self.x]
        self.model.add(LinExpr.sum(terms) - self.x[i, f], lb=0, name=f"separator[{i},{f}]", group=group)
        return True

    def violated_separators(self, sol: Solution) -> list[tuple[int, int, list[int]]]:
        """Separator cuts that the plan in `sol` violates: (area, center, separator) per stray area.

        For every open center with a root area, the members not connected to the root through
        the group form components; each component C gets the minimal part of its boundary that
        still separates it from the root (the boundary areas adjacent to what the root reaches
        without crossing C's boundary). Empty when every group is connected.
        """
        cuts: list[tuple[int, int, list[int]]] = []
        for f, members in self.groups_of(sol).items():
            r = self.roots[f]
            if r < 0:
                continue
            inside = set(members) | {r}
            reached = _reach(r, self._neighbours, inside)
            stray = set(members) - reached
            while stray:
                comp = _reach(next(iter(stray)), self._neighbours, stray)
                stray -= comp
                sep = self.separator(comp, r)
                cuts.extend((i, f, sep) for i in sorted(comp))
        return cuts

    def separator(self, comp: set[int], r: int) -> list[int]:
        """The part of `comp`'s boundary that every path from `comp` to area `r` (outside it) crosses.

        The boundary areas adjacent to what `r` reaches without entering the boundary (or `r`
        itself when it lies on the boundary): a vertex separator of `comp` and `r` in the graph.
        """
        boundary = {v for u in comp for v in self._neighbours[u] if v not in comp}
        outside = set(range(self.n)) - comp - boundary
        near_root = _reach(r, self._neighbours, outside) if r in outside else set()
        return sorted(s for s in boundary if s == r or any(v in near_root for v in self._neighbours[s]))

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
    stats: dict[str, object] = field(default_factory=dict)


def solve_districting(population: Sequence[int], cost: np.ndarray, edges: Sequence[tuple[int, int]],
                      roots: Sequence[int], *, k: int | tuple[int, int] | None = None,
                      balance: tuple[int | None, int | None] | None = None, contiguity: bool = True,
                      backend: str = "cpsat", time_limit_s: float = 60.0, threads: int = 1,
                      reduce: bool = False, contiguity_method: str = "cuts") -> DistrictingResult:
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
    reduce
        Square case only (every area a candidate center at its own area, `k` an exact count):
        solve through `solve_reduced` (safe exclusions, a heuristic plan as cutoff, Lagrangian
        fixing, separator cuts), which proves optimality on far larger instances. Ignored
        otherwise.
    contiguity_method
        With `reduce`: "cuts" (separator-cut loop) or "flow" (the flow model, tight big-M).

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
    square = cost.ndim == 2 and cost.shape[0] == cost.shape[1] and list(roots) == list(range(len(roots)))
    if reduce and square and isinstance(k, int):
        return solve_reduced(population, cost, edges, k=k, balance=balance, contiguity=contiguity, backend=backend,
                             time_limit_s=time_limit_s, threads=threads, contiguity_method=contiguity_method)
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


# --- safe reductions, a heuristic and the reduced solve (generic districting mode) ----------


def _reach(start: int, neighbours: Sequence[Sequence[int]], within: set[int]) -> set[int]:
    """Areas of `within` connected to `start` through areas of `within` (start always included)."""
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for v in neighbours[u]:
            if v in within and v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


def _neighbour_lists(n: int, edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        if a != b and b not in out[a]:
            out[a].append(b)
            out[b].append(a)
    return out


def population_reach(population: Sequence[int], edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """reach[i, j]: the least total population of a path of areas from j to i, both ends counted.

    A connected group holding areas i and j holds such a path, so its population is at least
    reach[i, j] (infinite when no path exists). Dijkstra with vertex weights, from every area.
    """
    import heapq

    pop = np.asarray(population, dtype=np.int64)
    n = len(pop)
    nbrs = _neighbour_lists(n, edges)
    reach = np.full((n, n), np.inf)
    for s in range(n):
        dist = reach[:, s]
        dist[s] = pop[s]
        heap = [(int(pop[s]), s)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            for v in nbrs[u]:
                nd = d + int(pop[v])
                if nd < dist[v]:
                    dist[v] = nd
                    heapq.heappush(heap, (nd, v))
    return reach


def most_areas(population: Sequence[int], upper: int) -> int:
    """The most areas one group can hold with population at most `upper` (the smallest ones)."""
    total = 0
    count = 0
    for p in sorted(int(v) for v in population):
        total += p
        if total > upper:
            break
        count += 1
    return max(count, 1)


@dataclass(frozen=True)
class Exclusions:
    """Assignments and centers that no optimal plan uses, with what proved it.

    `allowed[i, f]` is False when area i cannot join center f; `closed[f]` when f cannot lead
    a group. `bound` is a lower bound on the objective (Lagrangian / LP), when one was computed.
    """

    allowed: np.ndarray
    closed: np.ndarray
    bound: float | None = None

    @property
    def kept(self) -> int:
        """Number of (area, center) pairs still allowed at open centers."""
        return int(self.allowed[:, ~self.closed].sum())


def contiguity_exclusions(population: Sequence[int], edges: Sequence[tuple[int, int]], roots: Sequence[int],
                          lower: int | None, upper: int | None, *, contiguity: bool = True) -> Exclusions:
    """Pairs that break balance for every plan ("U-fixing") and centers that cannot reach `lower`.

    With contiguity, area i can join center f (root area r) only if some path from r to i has
    population <= `upper` (`population_reach`); without it, only if p_i + p_r <= `upper`. A
    center whose reachable allowed areas (connected to its root, with contiguity) total less
    than `lower` cannot open. Safe for every plan that satisfies balance (and contiguity): it
    never removes a feasible plan, optimal or not. Centers outside the areas (root -1) are
    left alone.
    """
    pop = np.asarray(population, dtype=np.int64)
    n, m = len(pop), len(roots)
    allowed = np.ones((n, m), dtype=bool)
    closed = np.zeros(m, dtype=bool)
    hi = np.inf if upper is None else upper
    reach = population_reach(pop, edges) if contiguity else None
    nbrs = _neighbour_lists(n, edges)
    for f, r in enumerate(roots):
        if r < 0:
            continue
        if reach is not None:
            allowed[:, f] = reach[:, r] <= hi
        else:
            allowed[:, f] = pop + pop[r] <= hi
            allowed[r, f] = pop[r] <= hi
        if lower is not None:
            members = {i for i in range(n) if allowed[i, f]}
            area = _reach(r, nbrs, members) if contiguity else members
            if int(pop[sorted(area)].sum()) < lower or pop[r] > hi:
                closed[f] = True
        elif pop[r] > hi:
            closed[f] = True
    return Exclusions(allowed, closed)


def _knapsack_lp(c: np.ndarray, w: np.ndarray, lo: float, hi: float) -> float:
    """min c.x subject to lo <= w.x <= hi, 0 <= x <= 1, w >= 0 (greedy by c/w); inf if infeasible."""
    if hi < -1e-9 or float(w.sum()) < lo - 1e-9:
        return np.inf
    free = w <= 0
    value = float(c[free & (c < 0)].sum())
    c, w = c[~free], w[~free]
    order = np.argsort(c / w, kind="stable")
    c, w = c[order], w[order]
    neg = c < 0
    # Cheapest per person first: every negative item while there is room under `hi` ...
    cw = np.cumsum(w[neg])
    full = int(np.searchsorted(cw, hi, side="right"))
    value += float(c[neg][:full].sum())
    load = float(cw[full - 1]) if full else 0.0
    if full < int(neg.sum()) and hi > load:
        frac = (hi - load) / w[neg][full]
        value += float(c[neg][full] * frac)
        load = hi
    if load >= lo - 1e-9:
        return value
    # ... then the cheapest non-negative ones until `lo` is reached.
    cp, wp = c[~neg], w[~neg]
    need = lo - load
    cwp = np.cumsum(wp)
    full = int(np.searchsorted(cwp, need, side="left"))
    value += float(cp[:full].sum())
    got = float(cwp[full - 1]) if full else 0.0
    if full < len(cp):
        value += float(cp[full] * (need - got) / wp[full])
    return value


def _knapsack_lp_without_each(c: np.ndarray, w: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """out[t] = `_knapsack_lp` over every item but t, with the bounds lowered by w[t]: item t forced in.

    The probe of "LB1 fixing", for all items at once: the items are sorted by c/w once, and row t
    of an (m, m) array is that order with item t given zero weight and cost (a zero item changes
    neither greedy phase). Falls back to one call per item when some weight is not positive.
    About 20x faster than the loop on the county instances (n = 44 to 105).
    """
    m = len(c)
    if m == 0:
        return np.zeros(0)
    if (w <= 0).any():
        keep = np.ones(m, dtype=bool)
        out = np.empty(m)
        for t in range(m):
            keep[t] = False
            out[t] = _knapsack_lp(c[keep], w[keep], lo - w[t], hi - w[t])
            keep[t] = True
        return out
    order = np.argsort(c / w, kind="stable")
    cs, ws = c[order], w[order]
    rows = np.arange(m)
    pos = np.empty(m, dtype=np.int64)
    pos[order] = rows  # sorted position of item t
    C = np.broadcast_to(cs, (m, m)).copy()
    W = np.broadcast_to(ws, (m, m)).copy()
    C[rows, pos] = 0.0
    W[rows, pos] = 0.0
    hi_t = hi - w
    lo_t = lo - w
    q = int((cs < 0).sum())  # negative items come first in ratio order
    value = np.zeros(m)
    load = np.zeros(m)
    if q:
        cw = np.cumsum(W[:, :q], axis=1)
        cc = np.cumsum(C[:, :q], axis=1)
        full = (cw <= hi_t[:, None]).sum(axis=1)
        took = full > 0
        value[took] = cc[rows[took], full[took] - 1]
        load[took] = cw[rows[took], full[took] - 1]
        part = (full < q) & (hi_t > load)
        if part.any():
            r, f = rows[part], full[part]
            value[part] += C[r, f] * (hi_t[part] - load[part]) / W[r, f]
            load[part] = hi_t[part]
    short = load < lo_t - 1e-9
    if short.any() and q < m:
        cw = np.cumsum(W[:, q:], axis=1)
        cc = np.cumsum(C[:, q:], axis=1)
        need = lo_t - load
        full = (cw < need[:, None]).sum(axis=1)
        got = np.zeros(m)
        took = short & (full > 0)
        value[took] += cc[rows[took], full[took] - 1]
        got[took] = cw[rows[took], full[took] - 1]
        part = short & (full < m - q)
        if part.any():
            r, f = rows[part], q + full[part]
            value[part] += C[r, f] * (need[part] - got[part]) / W[r, f]
    infeasible = (hi_t < -1e-9) | (float(w.sum()) < lo - 1e-9)
    value[infeasible] = np.inf
    return value


# Dual simplex: the assignment LP solves about three times faster than with the primal default
# (IA: 2.2 s against 6.1 s on a loaded machine, same value).
_GLOP_PARAMETERS = "use_dual_simplex: true"


def _hess_lp(cost: np.ndarray, pop: np.ndarray, k: int, lower: float, upper: float, allowed: np.ndarray,
             closed: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """LP relaxation of the assignment model (GLOP): value, assignment-row duals, center levels."""
    from ortools.linear_solver import pywraplp

    n = len(pop)
    solver = pywraplp.Solver.CreateSolver("GLOP")  # (CLP is faster here but crashed the process)
    solver.SetSolverSpecificParametersAsString(_GLOP_PARAMETERS)
    centers = [j for j in range(n) if not closed[j]]
    x = {(i, j): solver.NumVar(0, 1, "") for j in centers for i in range(n) if allowed[i, j] or i == j}
    rows = []
    for i in range(n):
        ct = solver.Constraint(1, 1)
        for j in centers:
            if (i, j) in x:
                ct.SetCoefficient(x[i, j], 1)
        rows.append(ct)
    ct = solver.Constraint(k, k)
    for j in centers:
        ct.SetCoefficient(x[j, j], 1)
    scale_p = float(max(upper, 1))
    for j in centers:
        hi = solver.Constraint(-solver.infinity(), 0)
        lo = solver.Constraint(0, solver.infinity())
        for i in range(n):
            if (i, j) in x and i != j:
                hi.SetCoefficient(x[i, j], pop[i] / scale_p)
                lo.SetCoefficient(x[i, j], pop[i] / scale_p)
                # x[i, j] <= x[j, j], as a raw row (the natural-API Add parses an expression per row)
                link = solver.Constraint(-solver.infinity(), 0)
                link.SetCoefficient(x[i, j], 1)
                link.SetCoefficient(x[j, j], -1)
        hi.SetCoefficient(x[j, j], (pop[j] - upper) / scale_p)
        lo.SetCoefficient(x[j, j], (pop[j] - lower) / scale_p)
    obj = solver.Objective()
    for (i, j), v in x.items():
        obj.SetCoefficient(v, float(cost[i, j]))
    obj.SetMinimization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return -np.inf, np.zeros(n), np.zeros(n)
    level = np.zeros(n)
    for j in centers:
        level[j] = x[j, j].solution_value()
    return obj.Value(), np.array([r.dual_value() for r in rows]), level


def hess_lp(cost: np.ndarray, population: Sequence[int], k: int, lower: int, upper: int,
            exclusions: Exclusions) -> tuple[float, np.ndarray, np.ndarray]:
    """The assignment LP on costs scaled to at most 1, as `hess_heuristic` and `lagrangian_exclusions` use it.

    Solved once by `solve_reduced` and handed to both (it is the largest single cost of the
    heuristic, and the first round of the fixing solves the same LP).
    """
    scale = float(np.abs(cost).max()) or 1.0
    return _hess_lp(np.asarray(cost) / scale, np.asarray(population, dtype=np.float64), k, lower, upper,
                    exclusions.allowed, exclusions.closed)


def lagrangian_exclusions(cost: np.ndarray, population: Sequence[int], k: int, lower: int, upper: int,
                          incumbent: float, start: Exclusions | None = None, *, rounds: int = 5,
                          tolerance: float = 1e-7,
                          lp: tuple[float, np.ndarray, np.ndarray] | None = None) -> Exclusions:
    """Remove assignments that cannot appear in any plan costing at most `incumbent` ("LB1 fixing").

    For the square case (every area a candidate center at its own area, center j open iff
    x[j, j] = 1). Relax "every area in one group" with multipliers lambda (the duals of the LP
    relaxation, from GLOP): the rest splits into one fractional knapsack per center (balance)
    and the choice of the k best centers. Forcing x[i, j] = 1 in that relaxation gives a lower
    bound LB1[i, j] on every plan using it; pairs with LB1 > incumbent are removed (Validi,
    Buchanan and Lykhovyd 2022 fix variables the same way). Any multipliers give valid bounds,
    so the LP's accuracy affects only how much is removed, never validity; the comparison keeps
    a relative `tolerance` margin. Repeated while the smaller LP removes more (`rounds`). `lp`:
    the first round's LP (`hess_lp` on `start`), when the caller has solved it already.
    """
    pop = np.asarray(population, dtype=np.float64)
    n = len(pop)
    scale = float(np.abs(cost).max()) or 1.0
    w = np.asarray(cost, dtype=np.float64) / scale
    ub = float(incumbent) / scale
    margin = tolerance * max(1.0, abs(ub))
    allowed = np.ones((n, n), dtype=bool) if start is None else start.allowed.copy()
    closed = np.zeros(n, dtype=bool) if start is None else start.closed.copy()
    bound = None
    for round_ in range(max(1, rounds)):
        value, lam, _level = lp if (round_ == 0 and lp is not None) else _hess_lp(w, pop, k, lower, upper, allowed,
                                                                                  closed)
        if not np.isfinite(value):
            break
        base = float(lam.sum())
        v = np.full(n, np.inf)
        probes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for j in range(n):
            if closed[j]:
                continue
            mem = np.array([i for i in range(n) if i != j and allowed[i, j]], dtype=np.int64)
            c = w[mem, j] - lam[mem]
            wt = pop[mem]
            head = w[j, j] - lam[j]
            v[j] = head + _knapsack_lp(c, wt, lower - pop[j], upper - pop[j])
            forced = head + c + _knapsack_lp_without_each(c, wt, lower - pop[j], upper - pop[j])
            probes[j] = (mem, forced)
        order = np.argsort(v)
        finite = [j for j in order if np.isfinite(v[j])]
        if len(finite) < k:
            break
        bound = (base + float(v[finite[:k]].sum())) * scale
        new_allowed = allowed.copy()
        new_closed = closed.copy()
        for j in range(n):
            if closed[j]:
                continue
            rest = [jj for jj in finite if jj != j][: k - 1]
            if len(rest) < k - 1:
                new_closed[j] = True
                continue
            others = float(v[rest].sum())
            if base + v[j] + others > ub + margin:
                new_closed[j] = True
                continue
            mem, forced = probes[j]
            drop = base + forced + others > ub + margin
            new_allowed[mem[drop], j] = False
        new_allowed[:, new_closed] = False
        for j in range(n):
            new_allowed[j, j] = True  # a center's own area stays (closed centers are fixed shut instead)
        changed = (new_allowed != allowed).any() or (new_closed != closed).any()
        allowed, closed = new_allowed, new_closed
        if not changed:
            break
    return Exclusions(allowed, closed, bound)


@dataclass(frozen=True)
class Incumbent:
    """A feasible plan found by `hess_heuristic`: the center of each area and its cost."""

    assignment: np.ndarray
    cost: float


def _plan_cost(cost: np.ndarray, labels: np.ndarray) -> float:
    return float(sum(cost[i, labels[i]] for i in range(len(labels))))


def _recenter(cost: np.ndarray, labels: np.ndarray, allowed: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """Move each group's center to the member that serves the group most cheaply."""
    out = labels.copy()
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        best, best_cost = int(c), _group_cost(cost, members, int(c))
        for j in members:
            if closed[j] or not allowed[members, j].all():
                continue
            value = _group_cost(cost, members, int(j))
            if value < best_cost:
                best, best_cost = int(j), value
        out[members] = best
    return out


def _group_cost(cost: np.ndarray, members: np.ndarray, j: int) -> float:
    return float(cost[members, j].sum())


def hess_heuristic(cost: np.ndarray, population: Sequence[int], edges: Sequence[tuple[int, int]], k: int,
                   lower: int | None, upper: int | None, *, contiguity: bool = True,
                   exclusions: Exclusions | None = None, starts: int = 24, patience: int = 8, backend: str = "highs",
                   time_limit_s: float = 30.0, seed: int = 0, per_solve_s: float = 5.0,
                   lp: tuple[float, np.ndarray, np.ndarray] | None = None) -> Incumbent | None:
    """Location-allocation descent (Hess 1965; Validi et al.'s HessHeuristic): a good feasible plan.

    From a set of k centers, solve the assignment with those centers fixed open (balance and,
    when asked, contiguity; a small exact model), move every center to its group's best member,
    and repeat until the centers stop moving. Starts: the k largest center levels of the LP
    relaxation, then in turn random k-sets of the LP's open centers (weighted by level),
    k-means++ seeds and uniform random sets; at most `starts` starts, stopping after
    `patience` starts in a row that found nothing better; each assignment solve gets at most
    `per_solve_s`. Deterministic for a given `seed`. Returns the cheapest plan found, or None.
    """
    t0 = time.perf_counter()
    pop = np.asarray(population, dtype=np.int64)
    n = len(pop)
    cost = np.asarray(cost)
    ex = exclusions or Exclusions(np.ones((n, n), dtype=bool), np.zeros(n, dtype=bool))
    candidates = [j for j in range(n) if not ex.closed[j]]
    if len(candidates) < k:
        return None
    lo = 0 if lower is None else lower
    hi = int(pop.sum()) if upper is None else upper
    cap = most_areas(pop, hi)
    rng = np.random.default_rng(seed)
    scale = float(np.abs(cost).max()) or 1.0
    value, _lam, level = lp or hess_lp(cost, pop, k, lo, hi, ex)
    support = [int(j) for j in np.argsort(-level) if level[j] > 1e-6] if np.isfinite(value) else []

    def next_seed(t: int) -> tuple[int, ...]:
        if t == 0 and len(support) >= k:
            return tuple(sorted(support[:k]))  # the LP's strongest centers
        kind = t % 3
        if kind == 1 and len(support) > k:  # k of the LP's open centers, by level
            w = level[support] / level[support].sum()
            return tuple(sorted(int(j) for j in rng.choice(support, size=k, replace=False, p=w)))
        if kind == 2:  # k-means++: each next center in proportion to its cost from the chosen
            chosen = [int(rng.choice(candidates))]
            while len(chosen) < k:
                d = np.min([cost[:, j] for j in chosen], axis=0).astype(np.float64)
                w = np.array([d[j] for j in candidates])
                pick = int(rng.choice(candidates, p=w / w.sum())) if w.sum() > 0 else int(rng.choice(candidates))
                if pick not in chosen:
                    chosen.append(pick)
            return tuple(sorted(chosen))
        return tuple(sorted(int(j) for j in rng.choice(candidates, size=k, replace=False)))  # uniform

    best: Incumbent | None = None
    tried: set[tuple[int, ...]] = set()
    stale = 0
    for t in range(starts):
        if stale >= patience:
            break
        centers = next_seed(t)
        improved = False
        while centers not in tried:
            left = time_limit_s - (time.perf_counter() - t0)
            if left <= 0.5:
                return best
            tried.add(centers)
            labels = _assign_to(cost, pop, edges, list(centers), lo, hi, contiguity, ex.allowed, cap, backend,
                                min(left, per_solve_s))
            if labels is None:
                break
            plan = Incumbent(labels, _plan_cost(cost, labels))
            if best is None or plan.cost < best.cost - 0.5:
                best = plan
                improved = True
            moved = _recenter(cost, labels, ex.allowed, ex.closed)
            centers = tuple(sorted(int(c) for c in np.unique(moved)))
        stale = 0 if improved or best is None else stale + 1
    return best


_ASSIGN_CUT_ROUNDS = 8  # separator-cut rounds in a fixed-center assignment before the flow model


def _assign_to(cost: np.ndarray, pop: np.ndarray, edges: Sequence[tuple[int, int]], centers: list[int], lower: int,
               upper: int, contiguity: bool, allowed: np.ndarray, cap: int, backend: str,
               time_limit_s: float) -> np.ndarray | None:
    """Best assignment to fixed open centers (exact small model); center index per area, or None."""
    dm = DistrictingModel(pop, cost[:, centers], edges, centers, name="assign", allowed=allowed[:, centers])
    for f in range(len(centers)):
        dm.fix_open(f, 1, "centers")
    dm.add_balance(lower, upper, "balance")
    t0 = time.perf_counter()
    # Contiguity by separator cuts first: with the centers fixed the plan without contiguity is
    # usually connected or nearly so, and the small model solves in a fraction of the flow
    # model's time (IA, published centers: 2.3 s against 11.1 s on a loaded machine).
    for _ in range(_ASSIGN_CUT_ROUNDS if contiguity else 1):
        sol = dm.solve(backend, time_limit_s=max(0.5, time_limit_s - (time.perf_counter() - t0)))
        violated = dm.violated_separators(sol) if contiguity and sol.status is Status.OPTIMAL else []
        if not violated:
            break
        for i, f, sep in violated:
            dm.add_separator(i, f, sep, "contiguity")
    else:
        dm.add_contiguity("contiguity", max_members=cap)
        sol = dm.solve(backend, time_limit_s=max(0.5, time_limit_s - (time.perf_counter() - t0)))
    groups = dm.groups_of(sol)
    if not groups or (contiguity and dm.violated_separators(sol)):
        return None
    labels = np.full(len(pop), -1, dtype=np.int64)
    for f, members in groups.items():
        labels[members] = centers[f]
    return labels if (labels >= 0).all() else None


# Cutoffs tried by `solve_reduced`, as fractions above the LP bound. Proving a target infeasible
# costs more the higher it is (LA, HiGHS: 164 pairs left and 1.4 s at +0.5 %, 1,413 pairs and
# 62 s at +8 %, loaded machine), so the steps stay small where the published optima lie
# (+0.3 % to +19 % above the LP bound on the county instances; Maine +93 %).
# Enumeration of every feasible district (`solve_by_enumeration`) is tried up to this many areas and
# this many connected groups visited; beyond either the ladder below is used. Maine (16 counties,
# k = 2) visits 8,545 groups in 0.1 s; the ladder needed 15 targets and 55 CPU s there.
ENUMERATE_MAX_AREAS = 30
ENUMERATE_MAX_GROUPS = 200_000


def connected_groups(population: Sequence[int], edges: Sequence[tuple[int, int]], lower: int, upper: int,
                     max_groups: int) -> list[tuple[int, ...]] | None:
    """Every connected group of areas with population in [lower, upper], or None past `max_groups` visited.

    Each connected set is visited once, from its least area r, by extension sets (Wernicke's
    ESU): a set grows only by areas > r that neighbour its newest member and none of the
    earlier ones, so no set is reached twice. Populations are positive, so a set over `upper`
    is not grown further. `max_groups` counts connected sets of population <= `upper` visited.
    """
    pop = np.asarray(population, dtype=np.int64)
    n = len(pop)
    if (pop <= 0).any():
        return None  # the pruning needs positive populations
    nbrs = [sorted(set(v)) for v in _neighbour_lists(n, edges)]
    out: list[tuple[int, ...]] = []
    visited = 0
    for r in range(n):
        if pop[r] > upper:
            continue
        # stack of (members, extension areas, population, areas in or next to members)
        stack = [((r,), tuple(v for v in nbrs[r] if v > r), int(pop[r]), frozenset([r, *nbrs[r]]))]
        while stack:
            members, ext, total, near = stack.pop()
            visited += 1
            if visited > max_groups:
                return None
            if total >= lower:
                out.append(tuple(sorted(members)))
            ext_list = list(ext)
            while ext_list:
                w = ext_list.pop()
                t = total + int(pop[w])
                if t > upper:
                    continue
                new = [u for u in nbrs[w] if u > r and u not in near]
                stack.append(((*members, w), tuple(ext_list + new), t, near | {w, *nbrs[w]}))
    return out


def solve_by_enumeration(population: Sequence[int], cost: np.ndarray, edges: Sequence[tuple[int, int]], k: int,
                         lower: int, upper: int, time_limit_s: float,
                         max_groups: int = ENUMERATE_MAX_GROUPS) -> DistrictingResult | None:
    """Exact square-case districting over every feasible district: None when there are too many to list.

    Lists every connected group with population in [lower, upper] (`connected_groups`), prices
    each at its best center among its own areas (as the assignment model does), and solves
    the set-partitioning program "k groups covering every area once" with HiGHS (scipy,
    `mip_rel_gap` 0). Since every feasible district is a column, the program's optimum is the
    problem's: OPTIMAL only when HiGHS proves it, INFEASIBLE when HiGHS proves no partition exists.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix

    t0 = time.perf_counter()
    pop = np.asarray(population, dtype=np.int64)
    cost = np.asarray(cost)
    n = len(pop)
    groups = connected_groups(pop, edges, lower, upper, max_groups)
    if groups is None:
        return None
    stats: dict[str, object] = {"method": "enumeration", "districts": len(groups)}
    if not groups:
        return DistrictingResult(Status.INFEASIBLE, None, None, None, {}, time.perf_counter() - t0, stats)
    centers, values = [], []
    for g in groups:
        sums = cost[list(g)][:, list(g)].sum(axis=0)  # cost of g at each of its own areas
        t = int(np.argmin(sums))  # first least: deterministic
        centers.append(g[t])
        values.append(float(sums[t]))
    rows = [i for g in groups for i in g]
    cols = [c for c, g in enumerate(groups) for _ in g]
    a = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(groups)))
    cons = [LinearConstraint(a, 1.0, 1.0), LinearConstraint(np.ones((1, len(groups))), k, k)]
    left = max(1.0, time_limit_s - (time.perf_counter() - t0))
    res = milp(np.array(values), constraints=cons, integrality=np.ones(len(groups)), bounds=Bounds(0, 1),
               options={"disp": False, "mip_rel_gap": 0.0, "time_limit": left})
    elapsed = time.perf_counter() - t0
    stats["enumeration_s"] = round(elapsed, 3)
    if res.status == 2:
        return DistrictingResult(Status.INFEASIBLE, None, None, None, {}, elapsed, stats)
    if res.x is None:
        return DistrictingResult(Status.NO_SOLUTION, None, None, None, {}, elapsed, stats)
    chosen = np.flatnonzero(res.x > 0.5)
    plan = {int(centers[c]): groups[c] for c in sorted(chosen, key=lambda c: centers[c])}
    objective = float(sum(values[c] for c in chosen))
    if res.status == 0:
        return DistrictingResult(Status.OPTIMAL, objective, objective, 0.0, plan, elapsed, stats)
    bound = float(res.mip_dual_bound) if res.mip_dual_bound is not None else None
    return DistrictingResult(Status.FEASIBLE, objective, bound, relative_gap(objective, bound), plan, elapsed, stats)


LADDER_SKIP = 0.025  # ladder targets within this fraction below the incumbent are left to the incumbent's target
LADDER = (0.005, 0.01, 0.02, 0.03, 0.045, 0.065, 0.09, 0.12, 0.15, 0.19, 0.24, 0.32, 0.45, 0.65, 1.0)


def solve_reduced(population: Sequence[int], cost: np.ndarray, edges: Sequence[tuple[int, int]], *, k: int,
                  balance: tuple[int | None, int | None] | None = None, contiguity: bool = True,
                  backend: str = "highs", time_limit_s: float = 60.0, threads: int = 1,
                  contiguity_method: str = "cuts", heuristic_share: float = 0.2, heuristic_starts: int = 1,
                  heuristic_patience: int = 1, seed_separators: str = "incumbent",
                  max_rounds: int | None = 6,
                  ladder: Sequence[float] = LADDER,
                  enumerate_max_areas: int | None = None,
                  carry_separators: bool = True) -> DistrictingResult:
    """Exact districting in the square case, made small before it is solved.

    Every area is a candidate center at its own area; exactly `k` groups; each group's
    population within `balance`; groups connected when `contiguity`. Steps, each safe:

    1. `contiguity_exclusions`: pairs whose cheapest connecting path already exceeds the
       balance maximum, and centers that cannot gather the minimum;
    2. `hess_heuristic`: a feasible plan (incumbent), within `heuristic_share` of the time;
    3. `lagrangian_exclusions`: pairs (and centers) whose Lagrangian bound exceeds a target
       cost: first targets just above the LP bound (`ladder`: fractions above it), then the
       incumbent's cost;
    4. the model on what is left, with the cutoff "objective <= target", contiguity by
       separator cuts added in rounds until every group is connected ("cuts", Validi et al.'s
       CUT formulation without callbacks: each round is a full solve of a relaxation), or by
       the flow model with big-M = `most_areas` ("flow"). The cuts found for one target are
       kept for the next (`carry_separators`): each holds for every connected plan.

    With contiguity and at most `enumerate_max_areas` areas (default `ENUMERATE_MAX_AREAS`; 0
    switches it off) the steps above are skipped when `solve_by_enumeration` can list every
    feasible district (at most `ENUMERATE_MAX_GROUPS` visited): the set-partitioning program over
    them is the problem itself.

    A target below the optimum makes step 4 infeasible (proven by the solver), and the next
    target is tried; the first target with a plan gives the optimum, since every plan removed
    by its fixing or cutoff costs more than the target.

    OPTIMAL only when the last relaxation was solved to proven optimality and its plan is
    connected (then no connected plan is cheaper). Otherwise the best known plan (the
    incumbent, or a connected relaxation plan) is returned as FEASIBLE with the relaxation's
    bound. `stats` tells what each step removed and how long it took (`round_log`: per solve,
    target:round:status:objective:seconds:cuts kept so far).
    """
    if contiguity_method not in ("cuts", "flow"):
        msg = f"unknown contiguity method {contiguity_method!r}; choose cuts or flow"
        raise ValueError(msg)
    if seed_separators not in ("never", "incumbent", "always"):
        msg = f"unknown seed_separators {seed_separators!r}; choose never, incumbent or always"
        raise ValueError(msg)
    t0 = time.perf_counter()
    pop = np.asarray(population, dtype=np.int64)
    cost = np.asarray(cost)
    n = len(pop)
    lo, hi = balance if balance is not None else (None, None)
    lo_v = 0 if lo is None else int(lo)
    hi_v = int(pop.sum()) if hi is None else int(hi)
    stats: dict[str, object] = {"pairs": n * n}

    def left() -> float:
        return time_limit_s - (time.perf_counter() - t0)

    if contiguity and n <= (ENUMERATE_MAX_AREAS if enumerate_max_areas is None else enumerate_max_areas):
        # Few areas: list every feasible district and solve the set-partitioning program; exact,
        # and far faster than the ladder where the optimum lies far above the LP bound (Maine).
        res = solve_by_enumeration(pop, cost, edges, k, lo_v, hi_v, time_limit_s)
        if res is not None:
            return res
    ex = contiguity_exclusions(pop, edges, list(range(n)), lo, hi, contiguity=contiguity)
    stats["pairs_after_balance"] = ex.kept
    stats["exclusions_s"] = round(time.perf_counter() - t0, 3)
    t1 = time.perf_counter()
    # One descent from the LP's strongest centers: the target ladder below needs no incumbent,
    # and further starts rarely beat it (IA, AR, KS, MS: 4 starts gave the same incumbents as
    # one, or none, at three times the heuristic's time).
    lp = hess_lp(cost, pop, k, lo_v, hi_v, ex)
    stats["lp_s"] = round(time.perf_counter() - t1, 3)
    budget_s = max(1.0, heuristic_share * time_limit_s)
    # Each assignment solve gets a quarter of the heuristic's budget (at least the default 5 s): at
    # 5 s a loaded machine cut Alabama's first solves short and left the ladder without an incumbent.
    inc = hess_heuristic(cost, pop, edges, k, lo, hi, contiguity=contiguity, exclusions=ex, backend=backend,
                         time_limit_s=budget_s, starts=heuristic_starts, patience=heuristic_patience, lp=lp,
                         per_solve_s=max(5.0, 0.25 * budget_s))
    stats["heuristic_s"] = round(time.perf_counter() - t1, 3)
    stats["incumbent"] = None if inc is None else inc.cost
    base = ex
    scale = float(np.abs(cost).max()) or 1.0
    lp_bound = lp[0] * scale if np.isfinite(lp[0]) else None
    # Targets: cutoffs tried in turn, each a little above the LP bound, then the incumbent. With
    # a target T the Lagrangian fixing removes every pair no plan of cost <= T uses, so the
    # model is small; if it has an optimum (<= T) that optimum is global (every removed plan
    # costs more than T), and if it is infeasible every plan costs more than T and the next
    # target is tried. A target at or above the incumbent is the incumbent itself.
    targets: list[float | None] = []
    if lp_bound is not None and ladder:
        for step in ladder:
            target = float(np.floor(lp_bound * (1.0 + step)))
            if inc is not None and target >= inc.cost:
                break
            if inc is not None and target >= inc.cost * (1.0 - LADDER_SKIP):
                # The incumbent's target covers it: a plan cheaper than the incumbent is found
                # there, and proving this one infeasible first only costs (Alabama's +12 %, 1.8 %
                # below the incumbent: two solves, ~70 s of its 265 s).
                break
            targets.append(target)
    # Last, the incumbent, or with none the model without a cutoff.
    targets.append(None if inc is None else inc.cost)
    rounds = cuts = 0
    solve_s = lagr_s = 0.0
    sol: Solution | None = None
    violated: list = []
    dm: DistrictingModel | None = None
    tried: list[str] = []
    proven_above: float | None = None  # the largest target shown to admit no plan
    # Separator cuts found for one target, kept for the next: each separates an area from its
    # center's root in the whole graph, so it holds for every connected plan, whatever the target.
    pool: dict[tuple[int, int, tuple[int, ...]], None] = {}  # insertion-ordered: deterministic
    round_log: list[str] = []
    for target in targets:
        if left() <= 1.0:
            break
        ex = base
        if target is not None:
            t2 = time.perf_counter()
            ex = lagrangian_exclusions(cost, pop, k, lo_v, hi_v, target, base, lp=lp)
            lagr_s += time.perf_counter() - t2
            stats["lagrangian_bound"] = ex.bound
            if ex.bound is not None and ex.bound > target:
                tried.append(f"{target:.0f}:bound")  # the Lagrangian bound alone rules the target out
                proven_above = target
                continue
        stats["pairs_after_lagrangian"] = ex.kept
        stats["centers_left"] = int((~ex.closed).sum())
        dm = DistrictingModel(pop, cost, edges, list(range(n)), allowed=ex.allowed)
        dm.add_count(k, k, "count")
        if balance is not None:
            dm.add_balance(lo, hi, "balance")
        for j in np.flatnonzero(ex.closed):
            dm.fix_open(int(j), 0, "exclusions")
        if target is not None:
            dm.add_cutoff(target)
        if inc is not None and backend != "highs":  # (HiGHS through OR-Tools 9.15 crashes on hints)
            dm.hint({i: int(c) for i, c in enumerate(inc.assignment)})
        method = contiguity_method
        if contiguity and method == "flow":
            dm.add_contiguity("contiguity", max_members=most_areas(pop, hi_v))
        elif contiguity and (seed_separators == "always" or (seed_separators == "incumbent" and inc is not None
                                                             and target is not None and target >= inc.cost)):
            # Neighbour separators for every pair (area i joins center j only if a neighbour of i
            # does), up front: they cut every stray single area at once. On the incumbent's target,
            # the last and the one that must find the optimum, lazy rounds are full solves that each
            # cut one stray part (Alabama: 5 rounds there, 2 with these); earlier targets are cheap
            # without them and slower with (Alabama's +9 %: 13 s -> 58 s).
            for (i, j) in list(dm.x):
                if i != j and j not in dm._neighbours[i]:
                    dm.add_separator(i, j, dm._neighbours[i], "contiguity")
        if contiguity and carry_separators:
            for (i, f, sep) in pool:
                dm.add_separator(i, f, sep, "contiguity")
        these = 0
        while True:
            t3 = time.perf_counter()
            sol = dm.solve(backend, time_limit_s=max(1.0, left()), threads=threads)
            solve_s += time.perf_counter() - t3
            rounds += 1
            these += 1
            round_log.append(f"{target}:{these}:{sol.status.value}:{sol.objective}:{time.perf_counter() - t3:.1f}s:"
                             f"{len(pool)}")
            if not contiguity or method == "flow" or sol.status not in (Status.OPTIMAL, Status.FEASIBLE):
                violated = []
                break
            violated = dm.violated_separators(sol)
            if not violated or sol.status is not Status.OPTIMAL or left() <= 1.0:
                break
            for i, f, sep in violated:
                cuts += dm.add_separator(i, f, sep, "contiguity")
                pool[i, f, tuple(sep)] = None
            if max_rounds is not None and these >= max_rounds:
                # Rounds are full solves: when they do not converge quickly, finish with the flow
                # model (the cuts found so far stay; they only tighten it).
                dm.add_contiguity("contiguity", max_members=most_areas(pop, hi_v))
                method = "flow"
                stats["switched_to_flow"] = True
        label = "none" if target is None else f"{target:.0f}"
        tried.append(f"{label}:{sol.status.value}:{ex.kept}:{time.perf_counter() - t0:.1f}s")
        if sol.status is not Status.INFEASIBLE or target is None:
            break
        proven_above = target
        if inc is not None and target >= inc.cost:
            break  # nothing beats the incumbent: it is optimal (handled below)
    stats.update(rounds=rounds, separators=cuts, mip_s=round(solve_s, 3), lagrangian_s=round(lagr_s, 3),
                 targets=tried, round_log=round_log)
    elapsed = time.perf_counter() - t0
    if sol is not None and dm is not None and sol.status in (Status.OPTIMAL, Status.FEASIBLE) and not violated:
        groups = {f: tuple(v) for f, v in dm.groups_of(sol).items()}
        if inc is not None and sol.objective is not None and inc.cost < sol.objective - 0.5:
            groups = _groups_of_labels(inc.assignment)
            return DistrictingResult(Status.FEASIBLE, inc.cost, sol.bound, relative_gap(inc.cost, sol.bound), groups,
                                     elapsed, stats)
        return DistrictingResult(sol.status, sol.objective, sol.bound, sol.gap, groups, elapsed, stats)
    bound = sol.bound if sol is not None and sol.status in (Status.OPTIMAL, Status.FEASIBLE) else None
    if sol is not None and sol.status is Status.OPTIMAL:
        bound = sol.objective  # a relaxation's optimum bounds every connected plan
    if proven_above is not None and (bound is None or bound < proven_above):
        bound = proven_above  # an infeasible target: every plan costs more
    if inc is not None:
        return DistrictingResult(Status.FEASIBLE, inc.cost, bound, relative_gap(inc.cost, bound),
                                 _groups_of_labels(inc.assignment), elapsed, stats)
    status = Status.INFEASIBLE if sol is not None and sol.status is Status.INFEASIBLE and targets == [None] \
        else Status.NO_SOLUTION
    return DistrictingResult(status, None, None, None, {}, elapsed, stats)


def _groups_of_labels(labels: np.ndarray) -> dict[int, tuple[int, ...]]:
    out: dict[int, list[int]] = {}
    for i, c in enumerate(labels):
        out.setdefault(int(c), []).append(i)
    return {c: tuple(v) for c, v in sorted(out.items())}


# --- the capacitated core: capacitated p-median / location-allocation ----------------------


def _capacitated_lp(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, k: int,
                    allowed: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray] | None:
    """LP relaxation of the capacitated p-median (GLOP): (value, reduced costs of x, of y, y levels).

    x[i, j] <= y[j], sum_j x[i, j] = 1, sum_i d_i x[i, j] <= Q_j y[j], sum_j y[j] = k, x[j, j] >= y[j].
    """
    from ortools.linear_solver import pywraplp

    n, m = cost.shape
    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:
        return None
    y = [lp.NumVar(0.0, 1.0, f"y{j}") for j in range(m)]
    x: dict[tuple[int, int], object] = {}
    for i in range(n):
        for j in range(m):
            if allowed[i, j]:
                x[i, j] = lp.NumVar(0.0, 1.0, f"x{i},{j}")
    for i in range(n):
        row = lp.Constraint(1.0, 1.0)
        for j in range(m):
            if (i, j) in x:
                row.SetCoefficient(x[i, j], 1.0)
    by_center: dict[int, list[int]] = {}
    for (i, j), v in x.items():
        c = lp.Constraint(-lp.infinity(), 0.0)
        c.SetCoefficient(v, 1.0)
        c.SetCoefficient(y[j], -1.0)
        by_center.setdefault(j, []).append(i)
    for j, members in by_center.items():
        c = lp.Constraint(-lp.infinity(), 0.0)
        for i in members:
            c.SetCoefficient(x[i, j], float(demand[i]))
        c.SetCoefficient(y[j], -float(capacity[j]))
        if (j, j) in x:
            own = lp.Constraint(0.0, lp.infinity())
            own.SetCoefficient(x[j, j], 1.0)
            own.SetCoefficient(y[j], -1.0)
    count = lp.Constraint(float(k), float(k))
    for v in y:
        count.SetCoefficient(v, 1.0)
    obj = lp.Objective()
    for (i, j), v in x.items():
        obj.SetCoefficient(v, float(cost[i, j]))
    obj.SetMinimization()
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    rx = np.full((n, m), np.inf)
    for (i, j), v in x.items():
        rx[i, j] = v.reduced_cost()
    ry = np.array([v.reduced_cost() for v in y])
    level = np.array([v.solution_value() for v in y])
    return float(obj.Value()), rx, ry, level


def _capacitated_assign(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, centers: list[int],
                        time_limit_s: float) -> np.ndarray | None:
    """Cheapest assignment to fixed open centers within their capacities (a small generalized assignment)."""
    n = cost.shape[0]
    dm = DistrictingModel(np.ones(n, dtype=np.int64), cost[:, centers], [], list(centers), name="cap_assign")
    for f in range(len(centers)):
        dm.fix_open(f, 1, "centers")
    dm.add_capacity(demand, [int(capacity[c]) for c in centers], "capacity")
    sol = dm.solve("cpsat", time_limit_s=max(0.5, time_limit_s))
    groups = dm.groups_of(sol)
    if not groups:
        return None
    labels = np.full(n, -1, dtype=np.int64)
    for f, members in groups.items():
        labels[members] = centers[f]
    return labels if (labels >= 0).all() else None


def capacitated_heuristic(cost: np.ndarray, demand: Sequence[int], capacity: Sequence[int], k: int, *,
                          starts: int = 6, time_limit_s: float = 20.0, seed: int = 0) -> Incumbent | None:
    """A good feasible plan for the capacitated p-median: assign to fixed centers, move each center
    to its group's cheapest member that can carry the group, repeat (Hess-type descent with a
    generalized assignment step; Osman and Christofides 1994 use the same neighbourhood idea).

    Starts: the k centers of the cheapest uncapacitated groups by greedy addition, then random
    k-sets (deterministic for a seed). Returns the cheapest plan found, or None.
    """
    t0 = time.perf_counter()
    cost = np.asarray(cost)
    d = np.asarray(demand, dtype=np.int64)
    q = np.asarray(capacity, dtype=np.int64)
    n = cost.shape[0]
    rng = np.random.default_rng(seed)

    def greedy() -> list[int]:
        chosen: list[int] = []
        best = np.full(n, np.inf)
        for _ in range(k):
            gains = [float(np.minimum(best, cost[:, j]).sum()) if j not in chosen else np.inf for j in range(n)]
            j = int(np.argmin(gains))
            chosen.append(j)
            best = np.minimum(best, cost[:, j])
        return sorted(chosen)

    best: Incumbent | None = None
    tried: set[tuple[int, ...]] = set()
    for t in range(starts):
        centers = tuple(greedy()) if t == 0 else tuple(sorted(int(j) for j in rng.choice(n, size=k, replace=False)))
        while centers not in tried:
            left = time_limit_s - (time.perf_counter() - t0)
            if left <= 0.2:
                return best
            tried.add(centers)
            labels = _capacitated_assign(cost, d, q, list(centers), min(left, 5.0))
            if labels is None:
                break
            plan = Incumbent(labels, _plan_cost(cost, labels))
            if best is None or plan.cost < best.cost - 0.5:
                best = plan
            moved = []
            for c in np.unique(labels):
                members = np.flatnonzero(labels == c)
                load = int(d[members].sum())
                options = [j for j in members if q[j] >= load]
                moved.append(int(min(options, key=lambda j: (_group_cost(cost, members, int(j)), j))) if options else int(c))
            centers = tuple(sorted(moved))
    return best


def solve_capacitated(cost: np.ndarray, demand: Sequence[int], capacity: Sequence[int], k: int, *,
                      edges: Sequence[tuple[int, int]] = (), contiguity: bool = False, backend: str = "cpsat",
                      time_limit_s: float = 60.0, threads: int = 1, heuristic_share: float = 0.2) -> DistrictingResult:
    """Exact capacitated p-median (capacitated location-allocation), optionally with contiguous groups.

    Every area is a candidate center at its own area; exactly `k` centers; center j serves at
    most `capacity[j]` of demand (`demand[i]` per area); cost[i, j] for area i at center j.
    Steps, each safe. Without contiguity: the Lagrangian relaxation of the assignment rows
    (`planner.capmedian.lagrangian_bound`: one knapsack per center) gives a lower bound and,
    from its iterates, plans, improved by center exchange and an exact assignment to the best
    centers; its bounds and the LP relaxation's reduced costs remove every pair (and center)
    that cannot be in a plan cheaper than the best (reduced-cost fixing); the model on what is
    left, with the cutoff "objective <= best - 1" when costs are integers (else "<= best"), is
    solved exactly: no plan means the best plan is optimal. With contiguity the model is
    solved as built. OPTIMAL only when proven. `stats` says what each step removed and took.
    """
    from .capmedian import assign_to_medians, improve_plan, lagrangian_bound, median_cuts, plan_cost, relocate

    t0 = time.perf_counter()
    cost = np.asarray(cost)
    d = np.asarray(demand, dtype=np.int64)
    q = np.asarray(capacity, dtype=np.int64)
    n = cost.shape[0]
    stats: dict[str, object] = {"pairs": n * n}
    integral = bool(np.all(np.asarray(cost) == np.round(cost)))
    allowed = np.ones((n, n), dtype=bool)
    closed = np.zeros(n, dtype=bool)
    inc: Incumbent | None = None
    bound: float | None = None
    # The knapsack tables are (n, max room + 1): past that size the older heuristic is used.
    lagrangian = not contiguity and 0 < k <= n and int(q.max(initial=0)) * n <= 5_000_000
    if lagrangian:
        # The whole limit as a safety cut only: a share of it was hit under load on pmedcap20 at the
        # default 60 s, and the bound and plans then depended on the machine, not the instance.
        lag = lagrangian_bound(cost, d, q, k, time_limit_s=time_limit_s, integral=integral)
        stats["lagrangian_s"] = lag.stats["lagrangian_s"]
        stats["lagrangian_iterations"] = lag.iterations
        stats["lagrangian_bound"] = round(lag.bound, 3)
        stats["lagrangian_plan"] = None if lag.assignment is None else lag.upper
        bound = lag.bound
        if lag.assignment is not None:
            th = time.perf_counter()
            labels = relocate(cost, d, q, lag.assignment)
            exact = assign_to_medians(cost, d, q, sorted(set(int(c) for c in labels)))
            if exact is not None:
                exact = improve_plan(cost, d, q, exact)
                if plan_cost(cost, exact) < plan_cost(cost, labels) - 1e-9:
                    labels = exact
            inc = Incumbent(labels, plan_cost(cost, labels))
            stats["improve_s"] = round(time.perf_counter() - th, 3)
    elif not contiguity:
        inc = capacitated_heuristic(cost, d, q, k, time_limit_s=max(1.0, heuristic_share * time_limit_s))
    stats["heuristic_s"] = round(time.perf_counter() - t0, 3)
    stats["incumbent"] = None if inc is None else inc.cost
    # Only plans below this are sought: with integer costs, cheaper than the incumbent by 1 or more.
    target = None if inc is None else (inc.cost - 1 if integral else inc.cost)
    if inc is not None and lagrangian and lag.bound > target + 1e-6:
        # The bound already proves the incumbent optimal.
        stats["pairs_left"], stats["centers_left"] = 0, 0
        return DistrictingResult(Status.OPTIMAL, inc.cost, inc.cost, 0.0, _groups_of_labels(inc.assignment),
                                 time.perf_counter() - t0, stats)
    if inc is not None:
        t1 = time.perf_counter()
        relaxed = _capacitated_lp(cost, d, q, k, allowed)
        if relaxed is not None:
            value, rx, ry, _level = relaxed
            slack = target - value + 1e-6
            allowed = rx <= slack
            closed = ry > slack
            stats["lp_bound"] = round(value, 3)
            bound = value if bound is None else max(bound, value)
        stats["lp_s"] = round(time.perf_counter() - t1, 3)
        if lagrangian:
            allowed &= lag.pair_bound <= target + 1e-6
            closed |= lag.open_bound > target + 1e-6
        np.fill_diagonal(allowed, True)
    stats["pairs_left"] = int(allowed.sum())
    stats["centers_left"] = int((~closed).sum())
    dm = DistrictingModel(np.ones(n, dtype=np.int64), cost, edges, list(range(n)), name="capacitated", allowed=allowed)
    dm.add_count(k, k, "count")
    dm.add_capacity(d, q, "capacity")
    for j in np.flatnonzero(closed):
        dm.fix_open(int(j), 0, "reduced_costs")
    if contiguity:
        dm.add_contiguity("contiguity")
    if inc is not None:
        dm.add_cutoff(target)
    if lagrangian and inc is not None:
        # Valid cuts that lift the LP towards the Lagrangian bound; on the pmedcap8 proof HiGHS took
        # 29 CPU s with them, 44 s without (one run each, BENCHMARKS.md section 9).
        for j, reduced, v in median_cuts(cost, lag.multipliers, d, q, allowed, closed):
            terms = [(float(reduced[i]), dm.x[i, j]) for i in range(n) if (i, j) in dm.x and reduced[i] != 0]
            dm.model.add(LinExpr.sum(terms) - v * dm.y[j], lb=0, name=f"lagrangian[{j}]", group="lagrangian")
    left = max(1.0, time_limit_s - (time.perf_counter() - t0))
    sol = dm.solve(backend, time_limit_s=left, threads=threads)
    stats["mip_s"] = round(sol.time_s, 3)
    elapsed = time.perf_counter() - t0
    if sol.status in (Status.OPTIMAL, Status.FEASIBLE):
        groups = {f: tuple(v) for f, v in dm.groups_of(sol).items()}
        return DistrictingResult(sol.status, sol.objective, sol.bound, sol.gap, groups, elapsed, stats)
    if inc is not None:
        # The cutoff model found nothing: with a proof (INFEASIBLE) no plan beats the incumbent.
        status = Status.OPTIMAL if sol.status is Status.INFEASIBLE else Status.FEASIBLE
        best_bound = inc.cost if status is Status.OPTIMAL else bound
        return DistrictingResult(status, inc.cost, best_bound, relative_gap(inc.cost, best_bound),
                                 _groups_of_labels(inc.assignment), elapsed, stats)
    status = Status.INFEASIBLE if sol.status is Status.INFEASIBLE else Status.NO_SOLUTION
    return DistrictingResult(status, None, None, None, {}, elapsed, stats)
