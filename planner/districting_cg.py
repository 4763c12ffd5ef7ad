"""Column generation for contiguous balanced districting: a set-partitioning bound and exact solve."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csc_matrix, csr_matrix, eye, hstack, vstack

from .districting import (DistrictingModel, Exclusions, _hess_lp, _knapsack_lp, _knapsack_lp_without_each,
                          _neighbour_lists, _reach, contiguity_exclusions, most_areas)
from .milp import Status

# The pricing MIPs decide which columns and pairs may be dropped: they must be solved exactly.
_EXACT = {"mip_rel_gap": 0.0, "presolve": True, "disp": False}
# The column-fixing programs: HiGHS's presolve spent 41 of 84 s on a 5,114-column one (AL, +4 %); off.
_FIX_OPTIONS = {"disp": False, "mip_rel_gap": 0.0, "presolve": False}


@dataclass(frozen=True)
class Column:
    """One district: its center, its member areas (sorted) and its cost at that center."""

    center: int
    members: tuple[int, ...]
    cost: float


@dataclass
class _Pricer:
    """Pricing for one center j: a connected group holding j, population in [lower, upper].

    min sum_{i in S} (w_ij - pi_i) over connected S with j in S, as a small binary program over
    the areas allowed for j, with contiguity by separator cuts (Validi et al.'s a-b separators)
    added until the optimum is connected. Cuts are kept: they stay valid for every later price.
    """

    center: int
    areas: np.ndarray  # allowed areas, j first
    pop: np.ndarray  # their populations
    lower: int
    upper: int
    neighbours: list[list[int]]
    cuts: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (area, separator areas), global ids
    solves: int = 0
    # Ryan-Foster branching (branch-and-price): pairs of areas in the same district, or not both in one.
    together: tuple[tuple[int, int], ...] = ()
    apart: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        self.index = {int(a): t for t, a in enumerate(self.areas)}
        self.within = set(int(a) for a in self.areas)

    def _cut_rows(self) -> csr_matrix | None:
        if not self.cuts:
            return None
        rows, cols, vals = [], [], []
        for r, (i, sep) in enumerate(self.cuts):
            rows.append(r)
            cols.append(self.index[i])
            vals.append(1.0)
            for s in sep:
                rows.append(r)
                cols.append(self.index[s])
                vals.append(-1.0)
        return csr_matrix((vals, (rows, cols)), shape=(len(self.cuts), len(self.areas)))

    def _separators(self, members: set[int]) -> list[tuple[int, tuple[int, ...]]]:
        """Violated separator cuts of a group (empty when connected)."""
        j = self.center
        reached = _reach(j, self.neighbours, members)
        stray = members - reached
        out = []
        while stray:
            comp = _reach(next(iter(stray)), self.neighbours, stray)
            stray -= comp
            boundary = {v for u in comp for v in self.neighbours[u] if v not in comp and v in self.within}
            # Only the boundary areas that j reaches without crossing comp (a minimal separator).
            near = _reach(j, self.neighbours, self.within - comp)
            sep = tuple(sorted(s for s in boundary if s in near))
            out.extend((i, sep) for i in sorted(comp))
        return out

    def _branch_rows(self, lb: np.ndarray, ub: np.ndarray) -> tuple[csr_matrix | None, np.ndarray, np.ndarray] | None:
        """Rows (matrix, lower, upper) for the branching pairs; may tighten `ub`; None when they exclude every group.

        together (a, b): y_a = y_b, or y = 0 for the one of them this center may hold when it may
        not hold the other; apart (a, b): y_a + y_b <= 1 when it may hold both.
        """
        rows, lo, hi = [], [], []
        for a, b in self.together:
            ta, tb = self.index.get(a), self.index.get(b)
            if ta is not None and tb is not None:
                rows.append({ta: 1.0, tb: -1.0})
                lo.append(0.0)
                hi.append(0.0)
            for t in (ta if tb is None else None, tb if ta is None else None):
                if t is not None:
                    if lb[t] > 0.5:
                        return None
                    ub[t] = 0.0
        for a, b in self.apart:
            ta, tb = self.index.get(a), self.index.get(b)
            if ta is not None and tb is not None:
                if lb[ta] > 0.5 and lb[tb] > 0.5:
                    return None
                rows.append({ta: 1.0, tb: 1.0})
                lo.append(-np.inf)
                hi.append(1.0)
        if not rows:
            return None, np.zeros(0), np.zeros(0)
        r = [t for t, row in enumerate(rows) for _ in row]
        cidx = [col for row in rows for col in row]
        vals = [v for row in rows for v in row.values()]
        mat = csr_matrix((vals, (r, cidx)), shape=(len(rows), len(self.areas)))
        return mat, np.array(lo), np.array(hi)

    def price(self, weight: np.ndarray, forced: int | None = None,
              cutoff: float | None = None) -> tuple[float, tuple[int, ...] | None]:
        """(lower bound on the least weight, best connected group or None) for weights over all areas.

        `forced`: an area the group must hold. `cutoff`: only groups of weight <= cutoff are of
        interest; when none exists the bound returned is > cutoff and the group is None.
        """
        c = np.asarray(weight, dtype=np.float64)[self.areas]
        m = len(self.areas)
        lb = np.zeros(m)
        lb[0] = 1.0
        if forced is not None:
            if forced not in self.index:
                return np.inf, None
            lb[self.index[forced]] = 1.0
        ub = np.ones(m)
        branch = self._branch_rows(lb, ub)
        if branch is None:
            return np.inf, None
        while True:
            cons = [LinearConstraint(self.pop[None, :], self.lower, self.upper)]
            if branch[0] is not None:
                cons.append(LinearConstraint(branch[0], branch[1], branch[2]))
            rows = self._cut_rows()
            if rows is not None:
                cons.append(LinearConstraint(rows, -np.inf, 0.0))
            if cutoff is not None:
                cons.append(LinearConstraint(c[None, :], -np.inf, cutoff + 1e-9))
            res = milp(c, constraints=cons, integrality=np.ones(m), bounds=Bounds(lb, ub), options=_EXACT)
            self.solves += 1
            if res.status == 2 or res.x is None:  # infeasible: no group (under the cutoff)
                return np.inf, None
            if res.status != 0:
                msg = f"pricing MIP for center {self.center} ended with status {res.status}: {res.message}"
                raise RuntimeError(msg)
            chosen = {int(self.areas[t]) for t in np.flatnonzero(res.x > 0.5)}
            cuts = self._separators(chosen)
            if not cuts:
                bound = float(res.mip_dual_bound) if res.mip_dual_bound is not None else float(res.fun)
                return min(bound, float(res.fun)), tuple(sorted(chosen))
            self.cuts.extend(cuts)


@dataclass
class ColumnGeneration:
    """The set-partitioning LP over connected balanced districts, by column generation.

    Master: choose k districts (columns) covering every area once, least total cost; LP
    relaxation solved by HiGHS (scipy). Pricing: per open center, `_Pricer`. The Lagrangian
    bound z_LP + k * min reduced cost is valid at every iteration (the pricing is exact), and
    equals the LP optimum when no column prices out.
    """

    population: np.ndarray
    cost: np.ndarray
    edges: Sequence[tuple[int, int]]
    k: int
    lower: int
    upper: int
    columns: list[Column] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    together: tuple[tuple[int, int], ...] = ()  # branching: these pairs share a district
    apart: tuple[tuple[int, int], ...] = ()  # branching: these pairs do not

    def __post_init__(self) -> None:
        self.population = np.asarray(self.population, dtype=np.int64)
        self.cost = np.asarray(self.cost)
        n = len(self.population)
        self.n = n
        self.scale = float(np.abs(self.cost).max()) or 1.0
        self.w = self.cost / self.scale
        ex = contiguity_exclusions(self.population, self.edges, list(range(n)), self.lower, self.upper)
        self.allowed = ex.allowed
        self.open = [j for j in range(n) if not ex.closed[j]]
        nbrs = _neighbour_lists(n, self.edges)
        self.pricers: dict[int, _Pricer] = {}
        for j in self.open:
            areas = [j] + [i for i in range(n) if i != j and ex.allowed[i, j]]
            # Only areas j can reach through allowed areas.
            reach = _reach(j, nbrs, set(areas))
            areas = [j] + sorted(reach - {j})
            self.pricers[j] = _Pricer(j, np.array(areas), self.population[areas].astype(np.float64), self.lower,
                                      self.upper, nbrs, together=self.together, apart=self.apart)
        self._seen: set[tuple[int, tuple[int, ...]]] = set()
        self.pi = np.zeros(n)
        self.mu = 0.0
        self.x = np.zeros(0)
        self.slack = np.inf
        self.converged = False
        self.lp_value = np.inf
        self.bound = -np.inf
        # Artificial slacks keep the master feasible; their costs cap the duals (a moderate cap
        # keeps the pricing sane early on) and grow wherever the LP still uses them.
        self.art_cost = 2.0 * self.w.max(axis=1) + 1e-3
        self.art_k_cost = float(self.art_cost.sum()) / self.k

    def fits(self, members: Sequence[int]) -> bool:
        """Whether a district obeys the branching pairs (together: both or neither; apart: not both)."""
        inside = set(members)
        return (all((a in inside) == (b in inside) for a, b in self.together)
                and not any(a in inside and b in inside for a, b in self.apart))

    def add(self, center: int, members: tuple[int, ...]) -> bool:
        key = (center, members)
        if key in self._seen or not self.fits(members):
            return False
        self._seen.add(key)
        self.columns.append(Column(center, members, float(self.cost[list(members), center].sum())))
        return True

    def solve_master(self, box: float) -> float:
        """The restricted master LP with the duals boxed around the stability center; sets the duals.

        Slack and surplus columns per row cost pi_hat +- delta (delta = `box` times the
        center's scale), so the duals stay within the box (Marsten's boxstep): without it the
        first duals are wild and the pricing problems become slow and useless.
        """
        n, q = self.n, len(self.columns)
        rows, cols = [], []
        for t, col in enumerate(self.columns):
            rows.extend(col.members)
            cols.extend([t] * len(col.members))
        a = vstack([csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, q)), csc_matrix(np.ones((1, q)))])
        ident = eye(n + 1, format="csc")
        delta = box * (np.abs(self.pi_hat).mean() + 1e-9)
        delta_mu = box * (abs(self.mu_hat) + np.abs(self.pi_hat).mean() + 1e-9)
        centre = np.r_[self.pi_hat, self.mu_hat]
        width = np.r_[np.full(n, delta), delta_mu]
        a_eq = hstack([a, ident, -ident]).tocsc()
        c = np.r_[np.array([col.cost / self.scale for col in self.columns]), centre + width, -(centre - width)]
        b = np.r_[np.ones(n), float(self.k)]
        res = linprog(c, A_eq=a_eq, b_eq=b, bounds=(0, None), method="highs")
        if res.status != 0:
            msg = f"master LP ended with status {res.status}: {res.message}"
            raise RuntimeError(msg)
        duals = res.eqlin.marginals
        self.pi, self.mu = duals[:n].copy(), float(duals[n])
        self.x = res.x[:q]
        self.slack = float(res.x[q:].sum())
        self.lp_value = float(res.fun)
        return self.lp_value

    def price_all(self, pi: np.ndarray, mu: float, tol: float = 1e-7,
                  deadline: float | None = None) -> tuple[np.ndarray, int]:
        """Exact pricing at duals (pi, mu): (per center a lower bound on its least group weight, columns added).

        A center whose knapsack LP bound (balance without contiguity) cannot beat mu is not
        priced; its knapsack bound stands in for it (still a valid lower bound). Past `deadline`
        (`time.perf_counter()`'s clock) every remaining center gets its knapsack bound.
        """
        values = np.full(self.n, np.inf)
        added = 0
        self.cut_short = False  # some center left unpriced: no column added does not mean converged
        for j in self.open:
            pr = self.pricers[j]
            weight = self.w[:, j] - pi
            c = weight[pr.areas]
            relax = c[0] + _knapsack_lp(c[1:], pr.pop[1:], self.lower - pr.pop[0], self.upper - pr.pop[0])
            if relax >= mu - tol:
                values[j] = relax
                continue
            if deadline is not None and time.perf_counter() > deadline:
                values[j] = relax
                self.cut_short = True
                continue
            value, members = pr.price(weight)
            values[j] = value
            if members is not None and value - mu < -tol:
                added += self.add(j, members)
        return values, added

    def lagrangian(self, pi: np.ndarray, values: np.ndarray) -> float:
        """The bound at duals pi: sum(pi) + the k least center values (a plan's k districts have k distinct centers)."""
        return float(pi.sum() + np.sort(values)[: self.k].sum())

    def run(self, time_limit_s: float = 300.0, tol: float = 1e-7, box: float = 0.1,
            start: tuple[np.ndarray, float, float] | None = None, stall: tuple[int, float] | None = None) -> float:
        """Column generation to the LP optimum (or the time limit); returns the best valid bound (scaled).

        Boxstep stabilisation: the stability center starts at the assignment LP's duals; the
        Lagrangian bound sum(pi) + k * min_j (least group weight at pi) is valid for any pi and is
        computed after every exact pricing round; the center moves to the duals whenever they
        give a better bound. `stall` = (rounds, fraction): stop once the bound has risen by less
        than that fraction over that many rounds (the bound stays valid; the tail of boxstep's
        convergence is slow and adds little).
        """
        t0 = time.perf_counter()
        self.converged = False
        if start is None:
            closed = np.array([j not in self.pricers for j in range(self.n)])
            _value, lam, _level = _hess_lp(self.w, self.population.astype(np.float64), self.k, self.lower,
                                          self.upper, self.allowed, closed)
            values, _ = self.price_all(lam, np.inf)
            self.pi_hat, self.mu_hat, self.values_hat = lam.copy(), float(values.min()), values
            self.bound = self.lagrangian(lam, values)
        else:  # a branch-and-price child: the parent's duals as stability center, its bound (valid here too)
            self.pi_hat, self.mu_hat, self.bound = start[0].copy(), float(start[1]), float(start[2])
            self.values_hat = np.full(self.n, np.nan)
        self.log.append(f"seed bound={self.bound * self.scale:.0f} cols={len(self.columns)} "
                        f"{time.perf_counter() - t0:.1f}s")
        it = 0
        history = [self.bound]
        while time.perf_counter() - t0 < time_limit_s:
            it += 1
            z = self.solve_master(box)
            values, added = self.price_all(self.pi, self.mu, tol, deadline=t0 + time_limit_s)
            value = self.lagrangian(self.pi, values)
            moved = value > self.bound + 1e-12
            if moved:
                self.bound, self.pi_hat, self.values_hat = value, self.pi.copy(), values
                self.mu_hat = float(values.min())
            self.log.append(f"{it} z={z * self.scale:.0f} bound={self.bound * self.scale:.0f} "
                            f"cols={len(self.columns)} added={added} slack={self.slack:.3g} box={box:.3g} "
                            f"{time.perf_counter() - t0:.1f}s")
            if added == 0 and not self.cut_short:
                if self.slack < 1e-9:
                    self.bound = max(self.bound, z)  # the box is not binding: z is the LP optimum
                    self.converged = True
                    break
                if not moved:
                    box *= 2.0
            history.append(self.bound)
            if stall is not None and len(history) > stall[0] and np.isfinite(history[-1 - stall[0]]) and \
                    self.bound - history[-1 - stall[0]] < stall[1] * abs(self.bound):
                break
        return self.bound

    def exclusions(self, target: float, exact: bool = True, deadline: float | None = None) -> Exclusions:
        """Pairs (area i, center j) and centers that no plan of cost <= `target` uses, from the best duals.

        A plan's cost is sum(pi) + the sum of its k districts' weights at pi, each at least its
        center's value; the district holding i at center j weighs at least v(i, j), bounded by
        the knapsack LP with i forced and then, for pairs that survive it, by the exact pricing
        with i forced and the cutoff (when `exact`, until `deadline` on `time.perf_counter()`'s
        clock: past it pairs are kept unprobed, which is always safe). Safe: removes only what no
        such plan uses.
        """
        n, k = self.n, self.k
        pi, values = self.pi_hat, self.values_hat
        t = float(target) / self.scale
        margin = 1e-9 * max(1.0, abs(t))
        base = float(pi.sum())
        order = np.argsort(values, kind="stable")
        allowed = np.zeros((n, n), dtype=bool)
        closed = np.ones(n, dtype=bool)
        for j in self.open:
            rest = [int(c) for c in order if c != j and np.isfinite(values[c])][: k - 1]
            if len(rest) < k - 1 or not np.isfinite(values[j]):
                continue
            slack = t + margin - base - float(values[rest].sum())  # what district j may weigh
            if values[j] > slack:
                continue
            pr = self.pricers[j]
            weight = self.w[:, j] - pi
            c = weight[pr.areas]
            forced = c[0] + c[1:] + _knapsack_lp_without_each(c[1:], pr.pop[1:], self.lower - pr.pop[0],
                                                              self.upper - pr.pop[0])
            keep = [int(a) for a, f in zip(pr.areas[1:], forced) if f <= slack]
            if exact:
                keep = [i for i in keep if (deadline is not None and time.perf_counter() > deadline)
                        or np.isfinite(pr.price(weight, forced=i, cutoff=slack)[0])]
            if not keep and values[j] > slack:
                continue
            closed[j] = False
            allowed[j, j] = True
            allowed[keep, j] = True
        for j in range(n):
            allowed[j, j] = True  # a center's own area stays (closed centers are fixed shut instead)
        return Exclusions(allowed, closed, self.bound * self.scale)

    def master_ip(self, time_limit_s: float = 30.0) -> tuple[float, list[Column]] | None:
        """The set-partitioning program over the columns generated so far: a plan (cost, districts) or None."""
        n, q = self.n, len(self.columns)
        if q == 0:
            return None
        rows, cols = [], []
        for t, col in enumerate(self.columns):
            rows.extend(col.members)
            cols.extend([t] * len(col.members))
        a = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, q))
        cons = [LinearConstraint(a, 1.0, 1.0), LinearConstraint(np.ones((1, q)), self.k, self.k)]
        c = np.array([col.cost for col in self.columns], dtype=np.float64) / self.scale
        res = milp(c, constraints=cons, integrality=np.ones(q), bounds=Bounds(0, 1),
                   options={"disp": False, "time_limit": max(1.0, time_limit_s)})
        if res.x is None:
            return None
        chosen = [self.columns[t] for t in np.flatnonzero(res.x > 0.5)]
        return float(sum(col.cost for col in chosen)), chosen


def _solve_at_target(pop: np.ndarray, cost: np.ndarray, edges: Sequence[tuple[int, int]], k: int, lower: int,
                     upper: int, ex: Exclusions, target: float, time_limit_s: float,
                     max_rounds: int = 6) -> tuple[str, dict[int, tuple[int, ...]] | None, float | None, int]:
    """The assignment model restricted to `ex` with "cost <= target", contiguity by separator rounds.

    Returns (status, groups, objective, rounds): "OPTIMAL" with the plan (optimal among plans of
    cost <= target), "INFEASIBLE" (no plan costs <= target), or "UNKNOWN" (time limit).
    """
    t0 = time.perf_counter()
    n = len(pop)
    dm = DistrictingModel(pop, cost, edges, list(range(n)), allowed=ex.allowed)
    dm.add_count(k, k, "count")
    dm.add_balance(lower, upper, "balance")
    for j in np.flatnonzero(ex.closed):
        dm.fix_open(int(j), 0, "exclusions")
    dm.add_cutoff(target)
    rounds = 0
    flow = False
    while True:
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0.5:
            return "UNKNOWN", None, None, rounds
        sol = dm.solve("highs", time_limit_s=left)
        rounds += 1
        if sol.status is Status.INFEASIBLE:
            return "INFEASIBLE", None, None, rounds
        if sol.status is not Status.OPTIMAL:
            return "UNKNOWN", None, None, rounds
        violated = [] if flow else dm.violated_separators(sol)
        if not violated:
            return "OPTIMAL", {f: tuple(v) for f, v in dm.groups_of(sol).items()}, sol.objective, rounds
        for i, f, sep in violated:
            dm.add_separator(i, f, sep, "contiguity")
        if rounds >= max_rounds:
            dm.add_contiguity("contiguity", max_members=most_areas(pop, upper))  # rounds not converging: flow
            flow = True


@dataclass(frozen=True)
class CGResult:
    """`solve_colgen`'s answer: status, plan (center -> members), cost, proven bound and what each step did."""

    status: str
    objective: float | None
    bound: float | None
    groups: dict[int, tuple[int, ...]]
    time_s: float
    stats: dict[str, object]


def solve_colgen(population: Sequence[int], cost: np.ndarray, edges: Sequence[tuple[int, int]], *, k: int,
                 lower: int, upper: int, time_limit_s: float = 300.0, cg_share: float = 0.6) -> CGResult:
    """Exact contiguous balanced districting (square case, integer costs) from the set-partitioning bound.

    1. `ColumnGeneration.run` (at most `cg_share` of the time): a lower bound LB, valid at any
       stage (Lagrangian, exact pricing), the LP optimum of the set-partitioning model when it
       converges;
    2. the set-partitioning program over the generated columns: an incumbent UB;
    3. UB <= ceil(LB): proven (costs are integers). Otherwise the assignment model restricted
       to the pairs `ColumnGeneration.exclusions(UB - 1)` keeps (every plan cheaper than UB
       uses only those) with "cost <= UB - 1": infeasible proves UB optimal; a plan found is
       optimal. Without an incumbent the model gets "cost <= T" for T a little above LB, then
       higher (as `solve_reduced`'s ladder), until a target admits a plan.
    """
    t0 = time.perf_counter()
    pop = np.asarray(population, dtype=np.int64)
    cost = np.asarray(cost)
    cg = ColumnGeneration(pop, cost, edges, k, lower, upper)
    stats: dict[str, object] = {}

    def left() -> float:
        return time_limit_s - (time.perf_counter() - t0)

    bound_scaled = cg.run(max(1.0, cg_share * time_limit_s))
    lb_raw = bound_scaled * cg.scale
    # Integer costs: any plan costs at least ceil(LB). The margin covers floating-point error in
    # summing the scaled duals and pricing values (about 1e-15 of the scale), not solver tolerances.
    lb = float(np.ceil(lb_raw - max(1e-3, 1e-12 * abs(lb_raw))))
    stats.update(cg_bound=lb_raw, cg_s=round(time.perf_counter() - t0, 3), columns=len(cg.columns),
                 cg_iterations=len(cg.log) - 1, pricing_solves=sum(p.solves for p in cg.pricers.values()))
    found = cg.master_ip(time_limit_s=max(1.0, 0.5 * left()))
    groups: dict[int, tuple[int, ...]] = {}
    ub = None
    if found is not None:
        ub, chosen = found
        groups = {col.center: col.members for col in chosen}
    stats["incumbent"] = ub
    if ub is not None and ub <= lb:
        return CGResult("OPTIMAL", ub, lb, groups, time.perf_counter() - t0, stats)
    targets = [] if ub is None else [ub - 1.0]
    if ub is None:
        targets = [float(np.floor(lb_raw * (1.0 + s))) for s in (0.0025, 0.01, 0.03, 0.06, 0.1, 0.2, 0.5, 1.0)]
    proven = lb
    tried = []
    for target in targets:
        if left() <= 1.0:
            break
        ex = cg.exclusions(target, deadline=t0 + time_limit_s - 0.25 * left())
        status, plan, value, rounds = _solve_at_target(pop, cost, edges, k, lower, upper, ex, target, left())
        tried.append(f"{target:.0f}:{status}:{ex.kept}:{rounds}:{time.perf_counter() - t0:.1f}s")
        if status == "INFEASIBLE":
            proven = max(proven, target + 1.0)
            continue
        if status == "OPTIMAL" and plan is not None:
            stats["targets"] = tried
            return CGResult("OPTIMAL", value, value, plan, time.perf_counter() - t0, stats)
        break
    stats["targets"] = tried
    if ub is not None and proven >= ub:
        return CGResult("OPTIMAL", ub, ub, groups, time.perf_counter() - t0, stats)
    status = "FEASIBLE" if ub is not None else "NO_SOLUTION"
    return CGResult(status, ub, proven, groups, time.perf_counter() - t0, stats)


def price_flow(population: np.ndarray, weight: np.ndarray, edges: Sequence[tuple[int, int]], center: int,
               lower: int, upper: int, time_limit_s: float | None = None) -> tuple[float, tuple[int, ...] | None]:
    """(lower bound, group) for min sum_{i in S} weight[i] over connected S holding `center`, p(S) in [lower, upper].

    An independent check of `_Pricer.price`: it uses none of the pricer's shortcuts (no pair
    exclusions, no knapsack-LP skip, no separator cuts). Contiguity is Shirabe's
    single-commodity flow over every area: `center` sends one unit to every other member along
    arcs whose ends are both members. Solved by HiGHS (scipy) with `mip_rel_gap` 0; the bound
    returned is the solver's dual bound (valid even if its last incumbent is a little off), inf
    when no such group exists.
    """
    pop = np.asarray(population, dtype=np.float64)
    n = len(pop)
    arcs = [(a, b) for a, b in edges if a != b] + [(b, a) for a, b in edges if a != b]
    arcs = [(u, v) for u, v in arcs if v != center]  # nothing flows back into the center
    na = len(arcs)
    big = float(most_areas(population, upper) - 1)
    # Variables: y (n areas), then f (one per arc).
    c = np.r_[np.asarray(weight, dtype=np.float64), np.zeros(na)]
    rows, cols, vals = [], [], []
    # Flow balance at i != center: inflow - outflow - y_i = 0; at the center: outflow - sum_{i != c} y_i = 0.
    for t, (u, v) in enumerate(arcs):
        rows += [v, u]
        cols += [n + t, n + t]
        vals += [1.0, -1.0]
    for i in range(n):
        if i == center:
            rows += [center] * (n - 1)
            cols += [q for q in range(n) if q != center]
            vals += [1.0] * (n - 1)
        else:
            rows.append(i)
            cols.append(i)
            vals.append(-1.0)
    balance = csr_matrix((vals, (rows, cols)), shape=(n, n + na))
    # The center's row reads inflow - outflow + sum y = 0 (signs as built): outflow = sum of the other members.
    # Arc capacity: f_uv <= big * y_v and f_uv <= big * y_u.
    cap_rows, cap_cols, cap_vals = [], [], []
    r = 0
    for t, (u, v) in enumerate(arcs):
        for end in (u, v):
            cap_rows += [r, r]
            cap_cols += [n + t, end]
            cap_vals += [1.0, -big]
            r += 1
    cap = csr_matrix((cap_vals, (cap_rows, cap_cols)), shape=(r, n + na))
    cons = [LinearConstraint(balance, 0.0, 0.0), LinearConstraint(cap, -np.inf, 0.0),
            LinearConstraint(np.r_[pop, np.zeros(na)][None, :], lower, upper)]
    lb = np.zeros(n + na)
    lb[center] = 1.0
    ub = np.r_[np.ones(n), np.full(na, big)]
    opts = dict(_EXACT)
    if time_limit_s is not None:
        opts["time_limit"] = time_limit_s
    res = milp(c, constraints=cons, integrality=np.r_[np.ones(n), np.zeros(na)], bounds=Bounds(lb, ub),
               options=opts)
    if res.status == 2:
        return np.inf, None
    if res.x is None or res.status != 0:
        msg = f"flow pricing for center {center} ended with status {res.status}: {res.message}"
        raise RuntimeError(msg)
    members = tuple(int(i) for i in np.flatnonzero(res.x[:n] > 0.5))
    bound = float(res.mip_dual_bound) if res.mip_dual_bound is not None else float(res.fun)
    return min(bound, float(res.fun)), members


@dataclass(frozen=True)
class Certificate:
    """`certify`'s answer (scaled units as `ColumnGeneration`; multiply by `scale`)."""

    master_lp: float  # the restricted master LP over the columns, no stabilisation
    dual_value: float  # sum(pi) + k * mu at the checked duals
    dual_infeasibility: float  # most negative reduced cost of a column already in the master (>= -tol: dual feasible)
    lagrangian: float  # sum(pi) + the k least center values at the checked duals: a valid lower bound
    min_reduced_cost: float  # least (center value - mu) over all areas: >= 0 means no column prices out
    values: np.ndarray  # per area (as center), the flow pricing's bound at the checked duals
    scale: float


def certify(cg: ColumnGeneration, pi: np.ndarray | None = None, mu: float | None = None,
            time_limit_s: float | None = None) -> Certificate:
    """Check column generation's end independently of its pricing: plain master LP, exact flow pricing everywhere.

    The master LP over `cg.columns` is solved again without boxstep or artificial columns. The
    duals checked are `cg.pi`, `cg.mu` (the last master's, at which `run` stopped) unless given;
    they are optimal for that LP when no column in it has a negative reduced cost and
    sum(pi) + k mu equals its value (the LP is degenerate: its own duals may differ and price
    columns out although the optimum is reached). Every area, open or closed by the
    exclusions, is then priced as a center by `price_flow` with the original district definition
    (population in [lower, upper], connected, the center a member, cost sum_i cost[i, center]).
    The Lagrangian bound at those duals is valid whatever the columns; when no reduced cost is
    negative and the duals are optimal for the master, the master LP value is the
    set-partitioning LP optimum.
    """
    n, q = cg.n, len(cg.columns)
    rows, cols = [], []
    for t, col in enumerate(cg.columns):
        rows.extend(col.members)
        cols.extend([t] * len(col.members))
    a = vstack([csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, q)), csc_matrix(np.ones((1, q)))]).tocsc()
    c = np.array([col.cost for col in cg.columns], dtype=np.float64) / cg.scale
    res = linprog(c, A_eq=a, b_eq=np.r_[np.ones(n), float(cg.k)], bounds=(0, None), method="highs")
    if res.status != 0:
        msg = f"plain master LP ended with status {res.status}: {res.message}"
        raise RuntimeError(msg)
    pi = np.asarray(cg.pi if pi is None else pi, dtype=np.float64)
    mu = float(cg.mu if mu is None else mu)
    reduced = c - a.T @ np.r_[pi, mu]
    values = np.full(n, np.inf)
    for j in range(n):
        values[j] = price_flow(cg.population, cg.w[:, j] - pi, cg.edges, j, cg.lower, cg.upper, time_limit_s)[0]
    lagr = float(pi.sum() + np.sort(values)[: cg.k].sum())
    return Certificate(float(res.fun), float(pi.sum() + cg.k * mu), float(reduced.min()), lagr,
                       float(values.min() - mu), values, cg.scale)


@dataclass(frozen=True)
class BPResult:
    """`branch_and_price`'s answer (costs in the cost matrix's units)."""

    status: str  # "OPTIMAL" (bound closed), "FEASIBLE" (a plan, gap open) or "NO_SOLUTION"
    objective: float | None
    bound: float  # proven lower bound: the least bound over the open nodes
    groups: dict[int, tuple[int, ...]]
    nodes: int
    time_s: float
    log: list[str]


class _Log(list):
    """A list of log lines that also hands each new line to a callback (progress of a long run)."""

    def __init__(self, callback: Callable[[str], None] | None) -> None:
        super().__init__()
        self.callback = callback

    def append(self, line: str) -> None:
        super().append(line)
        if self.callback is not None:
            self.callback(line)


def _child(parent: ColumnGeneration, together: tuple[tuple[int, int], ...],
           apart: tuple[tuple[int, int], ...]) -> ColumnGeneration:
    """A node's column generation: the parent's instance and kept columns, the branching pairs, shared cuts."""
    cg = ColumnGeneration(parent.population, parent.cost, parent.edges, parent.k, parent.lower, parent.upper,
                          together=together, apart=apart)
    for j, pr in cg.pricers.items():
        pr.cuts = parent.pricers[j].cuts  # separator cuts hold for every connected group: share them
    for col in parent.columns:
        cg.add(col.center, col.members)
    return cg


def branch_and_price(population: Sequence[int], cost: np.ndarray, edges: Sequence[tuple[int, int]], *, k: int,
                     lower: int, upper: int, time_limit_s: float = 300.0, incumbent: float | None = None,
                     node_limit_s: float = 120.0, progress: Callable[[str], None] | None = None) -> BPResult:
    """Exact contiguous balanced districting by branch-and-price (Ryan-Foster branching), integer costs.

    Every node is the set-partitioning LP by `ColumnGeneration` under its branching pairs; its
    bound is the Lagrangian bound (valid at any round), so a node stopped early still has a
    valid bound. Best-first: the node with the least bound is expanded; a node's LP solution
    that is integral (every column 0 or 1, no artificial) is a plan. Branching on the pair of
    areas (a, b) whose together-value sum of x over columns holding both is nearest 0.5: one
    child keeps them in one district, the other apart. `incumbent`: a known plan's cost (prunes
    nodes; no plan returned for it). Proven when the least open bound, rounded up (integer
    costs), reaches the best plan's cost. `progress` receives each log line as it is written.
    """
    import heapq

    t0, c0 = time.perf_counter(), time.process_time()
    pop = np.asarray(population, dtype=np.int64)
    cost = np.asarray(cost)
    root = ColumnGeneration(pop, cost, edges, k, lower, upper)
    log: list[str] = _Log(progress)

    def left() -> float:
        return time_limit_s - (time.perf_counter() - t0)

    root.run(max(1.0, min(node_limit_s, left())))
    scale = root.scale
    best = np.inf if incumbent is None else float(incumbent)
    best_groups: dict[int, tuple[int, ...]] = {}
    found = root.master_ip(time_limit_s=max(1.0, min(30.0, 0.1 * left())))
    if found is not None and found[0] < best:
        best, best_groups = found[0], {col.center: col.members for col in found[1]}
    log.append(f"root bound={root.bound * scale:.0f} converged={root.converged} cols={len(root.columns)} "
               f"incumbent={best:.0f} {time.perf_counter() - t0:.1f}s ({time.process_time() - c0:.1f} CPU s)")

    def ceil_bound(value: float) -> float:
        return float(np.ceil(value - max(1e-3, 1e-12 * abs(value))))

    heap: list[tuple[float, int, ColumnGeneration]] = [(root.bound * scale, 0, root)]
    nodes = 1
    while heap:
        lb = heap[0][0]
        if ceil_bound(lb) >= best:
            break
        if left() <= 0:
            break
        node_bound, _id, cg = heapq.heappop(heap)
        if not cg.converged or cg.slack > 1e-9:
            # Stopped early (or its LP needs artificials): its bound stands, but it cannot branch on
            # a true LP point. Give it more time once; then keep it open (the bound stays valid).
            cg.run(max(1.0, min(node_limit_s, left())), start=(cg.pi_hat, cg.mu_hat, cg.bound))
            if not cg.converged:
                heapq.heappush(heap, (cg.bound * scale, _id, cg))
                if left() <= 0:
                    break
                continue
        x = cg.x
        cols = cg.columns
        if np.all((x < 1e-6) | (x > 1 - 1e-6)):  # integral: a plan
            chosen = [cols[t] for t in np.flatnonzero(x > 0.5)]
            value = float(sum(col.cost for col in chosen))
            if value < best:
                best, best_groups = value, {col.center: col.members for col in chosen}
            log.append(f"node {_id}: integral {value:.0f}")
            continue
        together = np.zeros((cg.n, cg.n))
        for t in np.flatnonzero(x > 1e-9):
            m = list(cols[t].members)
            together[np.ix_(m, m)] += x[t]
        frac = np.abs(together - 0.5)
        np.fill_diagonal(frac, np.inf)
        a, b = np.unravel_index(int(np.argmin(frac)), frac.shape)
        a, b = int(min(a, b)), int(max(a, b))
        for side in ("together", "apart"):
            child = _child(cg, cg.together + (((a, b),) if side == "together" else ()),
                           cg.apart + (((a, b),) if side == "apart" else ()))
            child.run(max(1.0, min(node_limit_s, left())), start=(cg.pi, cg.mu, cg.bound))
            nodes += 1
            log.append(f"node {nodes - 1} ({side} {a},{b} from {_id}): bound={child.bound * scale:.0f} "
                       f"converged={child.converged} cols={len(child.columns)} {time.perf_counter() - t0:.1f}s "
                       f"({time.process_time() - c0:.1f} CPU s) open={len(heap)}")
            if ceil_bound(child.bound * scale) < best:
                heapq.heappush(heap, (child.bound * scale, nodes - 1, child))
    bound = min([h[0] for h in heap], default=best)
    bound = min(ceil_bound(bound), best)
    if best_groups and bound >= best:
        status = "OPTIMAL"
    elif best_groups:
        status = "FEASIBLE"
    else:
        status = "NO_SOLUTION"
    return BPResult(status, best if best_groups else None, bound, best_groups, nodes,
                    time.perf_counter() - t0, list(log))


# --- the column-fixing proof: every district that can be in a plan of cost <= a target ---------


@dataclass(frozen=True)
class Enumeration:
    """`enumerate_columns`' answer: the columns (None when a limit stopped it) and what it cost."""

    columns: list[Column] | None
    weights: list[float]  # per column, its weight sum_{i in S} (w_ij - pi_i) at the duals (scaled)
    nodes: int  # search nodes visited
    complete: bool


def _fill_bound(avail: int, need: float, room: float, order: Sequence[int], a: Sequence[float],
                p: Sequence[float]) -> float:
    """min sum a_t x_t over t in `avail` (bits), need <= sum p_t x_t <= room, 0 <= x <= 1; inf if none.

    The LP of one range constraint: greedy by a/p (`order`): negative items while there is room,
    then the cheapest others until `need` is met. A lower bound on what any group of these areas
    that brings the population into range adds to the weight (connectivity ignored).
    """
    value = 0.0
    load = 0.0
    for t in order:
        if not (avail >> t) & 1:
            continue
        at = a[t]
        if at >= 0.0:
            if load >= need:
                return value
            take = min(p[t], need - load)
        else:
            take = min(p[t], room - load)
        value += at * take / p[t]
        load += take
        if load >= room:
            break
    return value if load >= need - 1e-9 else np.inf


def _center_columns(areas: np.ndarray, a: np.ndarray, p: np.ndarray, neighbours: list[list[int]], lower: int,
                    upper: int, slack: float, emit: Callable[[int, float], None], node_limit: int,
                    deadline: float | None = None) -> int | None:
    """Every connected S of `areas` holding areas[0], p(S) in [lower, upper], sum_S a <= slack: `emit(mask, weight)`.

    Binary search tree over (S, X): S connected, holding the center, X excluded; a node branches
    on the least area next to S not in S or X: in (a new set S + v, emitted when it qualifies) or
    out (X + v). Each connected S holding the center is reached exactly once (its path is fixed
    by the order of decisions). A subtree is cut when even the fractional fill of the population
    it still needs, from the areas not in S or X, costs more than `slack` (`_fill_bound`); areas
    only grow a set's population, so a set over `upper` is never grown. Returns the nodes
    visited, None past `node_limit` or `deadline` (`time.perf_counter()`'s clock).
    """
    m = len(areas)
    local = {int(g): t for t, g in enumerate(areas)}
    nbr = [0] * m
    for t, g in enumerate(areas):
        for h in neighbours[int(g)]:
            u = local.get(h)
            if u is not None:
                nbr[t] |= 1 << u
    full = (1 << m) - 1
    al = [float(v) for v in a]
    pl = [float(v) for v in p]
    order = sorted(range(1, m), key=lambda t: al[t] / pl[t])
    # Margin for floating point in the sums (scaled weights are O(1)); keeping a column too many is safe.
    slack = slack + 1e-9
    w0, p0 = al[0], pl[0]
    if p0 > upper:
        return 0
    if p0 >= lower and w0 <= slack:
        emit(1, w0)
    if w0 + _fill_bound(full & ~1, lower - p0, upper - p0, order, al, pl) > slack:
        return 1
    stack = [(1, nbr[0], 0, p0, w0)]
    nodes = 0
    while stack:
        s, near, x, pop, wt = stack.pop()
        nodes += 1
        if nodes > node_limit:
            return None
        if not nodes & 0xFFFF and deadline is not None and time.perf_counter() > deadline:
            return None
        f = near & ~s & ~x
        if not f:
            continue
        v = f & -f
        t = v.bit_length() - 1
        # out: v excluded
        x2 = x | v
        if (near & ~s & ~x2) and wt + _fill_bound(full & ~s & ~x2, lower - pop, upper - pop, order, al, pl) <= slack:
            stack.append((s, near, x2, pop, wt))
        # in: v added
        pop2 = pop + pl[t]
        if pop2 > upper:
            continue
        wt2 = wt + al[t]
        s2 = s | v
        if pop2 >= lower and wt2 <= slack:
            emit(s2, wt2)
        near2 = near | nbr[t]
        if (near2 & ~s2 & ~x) and wt2 + _fill_bound(full & ~s2 & ~x, lower - pop2, upper - pop2, order, al,
                                                    pl) <= slack:
            stack.append((s2, near2, x, pop2, wt2))
    return nodes


class _Remainder:
    """Whether the areas a district leaves can hold the other k - 1 districts, by population alone.

    Every other district is connected and avoids the district, so it lies inside one connected
    component C of the rest; C holds a whole number m_C of them, with m_C * lower <= p(C) <=
    m_C * upper, and the m_C add up to k - 1. A district for which no such numbers exist is in
    no plan (with +-0.5 % balance most districts that cut off a pocket of areas are of this kind).
    """

    def __init__(self, population: np.ndarray, edges: Sequence[tuple[int, int]], k: int, lower: int,
                 upper: int) -> None:
        n = len(population)
        self.pop = [int(v) for v in population]
        self.nbr = [sum(1 << v for v in set(vs)) for vs in _neighbour_lists(n, edges)]
        self.full = (1 << n) - 1
        self.k, self.lower, self.upper = k, lower, upper

    def fits(self, members: Sequence[int]) -> bool:
        rest = self.full
        for i in members:
            rest &= ~(1 << i)
        least = most = 0
        while rest:
            comp = frontier = rest & -rest
            while frontier:
                grown = 0
                while frontier:
                    b = frontier & -frontier
                    frontier ^= b
                    grown |= self.nbr[b.bit_length() - 1]
                frontier = grown & rest & ~comp
                comp |= frontier
            rest &= ~comp
            total = 0
            while comp:
                b = comp & -comp
                comp ^= b
                total += self.pop[b.bit_length() - 1]
            lo = -(-total // self.upper) if self.upper > 0 else 0
            hi = total // self.lower if self.lower > 0 else self.k
            if lo > hi:
                return False
            least += lo
            most += hi
        return least <= self.k - 1 <= most


def enumerate_columns(cg: ColumnGeneration, target: float, *, excess: float | None = None,
                      node_limit: int = 50_000_000, deadline: float | None = None) -> Enumeration:
    """Every district (center, members) that a plan of cost <= `target` can use, at the duals of `cg`.

    At any duals pi (`cg.pi_hat`, with `cg.values_hat[j]` a lower bound on the least weight
    sum_{i in S} (w_ij - pi_i) of a feasible district S at center j), a plan's cost is
    sum(pi) + the sum of its k districts' weights at their centers (each area is covered
    once), and its k centers are distinct. So a district at center j in a plan of cost <= T
    weighs at most T - sum(pi) - (the k - 1 least values of the other centers): every such
    connected district with population in [lower, upper] is listed (`_center_columns`, exact:
    the cuts only drop subtrees without such a district). A district is dropped when what it
    leaves cannot hold the other k - 1 districts (`_Remainder`). `target` in the cost matrix's units.
    `excess` (same units): only districts whose weight exceeds their center's value by at most
    this much (as well).
    """
    n, k = cg.n, cg.k
    pi, values = cg.pi_hat, cg.values_hat
    t = float(target) / cg.scale
    base = float(pi.sum())
    order = np.argsort(values, kind="stable")
    cols: list[Column] = []
    weights: list[float] = []
    nodes = 0
    complete = True
    split = _Remainder(cg.population, cg.edges, k, cg.lower, cg.upper)
    for j in cg.open:
        rest = [int(c) for c in order if c != j and np.isfinite(values[c])][: k - 1]
        if len(rest) < k - 1 or not np.isfinite(values[j]):
            continue
        slack = t - base - float(values[rest].sum())
        if excess is not None:
            slack = min(slack, float(values[j]) + float(excess) / cg.scale)
        if values[j] > slack + 1e-9:
            continue
        pr = cg.pricers[j]
        areas = pr.areas
        a = cg.w[areas, j] - pi[areas]
        found: list[tuple[int, float]] = []
        left = node_limit - nodes
        if deadline is not None and time.perf_counter() > deadline:
            complete = False
            break
        got = _center_columns(areas, a, pr.pop, pr.neighbours, cg.lower, cg.upper, slack,
                              lambda mask, wt: found.append((mask, wt)), left, deadline)
        if got is None:
            complete = False
            break
        nodes += got
        for mask, wt in found:
            members = tuple(sorted(int(areas[u]) for u in range(len(areas)) if (mask >> u) & 1))
            if not split.fits(members):
                continue
            cols.append(Column(j, members, float(cg.cost[list(members), j].sum())))
            weights.append(wt)
    return Enumeration(cols if complete else None, weights, nodes, complete)


def _free_pairs(cg: ColumnGeneration, target: float, only: int | None = None,
                min_excess: float = 0.0) -> list[tuple[int, int]]:
    """Pairs (i, j) a district at center j in a plan of cost <= `target` may hold, from the duals (knapsack probe)."""
    n, k = cg.n, cg.k
    pi, values = cg.pi_hat, cg.values_hat
    t = float(target) / cg.scale
    base = float(pi.sum())
    order = np.argsort(values, kind="stable")
    pairs: list[tuple[int, int]] = []
    for j in cg.open if only is None else [only]:
        rest = [int(c) for c in order if c != j and np.isfinite(values[c])][: k - 1]
        if len(rest) < k - 1 or not np.isfinite(values[j]):
            continue
        slack = t - base - float(values[rest].sum()) + 1e-9
        if values[j] + min_excess / cg.scale > slack:  # its district must weigh >= v_j + min_excess
            continue
        pr = cg.pricers[j]
        c = cg.w[pr.areas, j] - pi[pr.areas]
        forced = c[0] + c[1:] + _knapsack_lp_without_each(c[1:], pr.pop[1:], cg.lower - pr.pop[0],
                                                          cg.upper - pr.pop[0])
        pairs.append((j, j))
        pairs.extend((int(a), j) for a, f in zip(pr.areas[1:], forced) if f <= slack)
    return pairs


def _solve_with_free_district(cg: ColumnGeneration, columns: list[Column], target: float, free: int,
                              deadline: float, min_excess: float | None = None,
                              only: int | None = None) -> tuple[str, list[Column] | None, int]:
    """Choose k - `free` of `columns` and `free` districts of the assignment model, a partition of cost <= `target`.

    The free districts (area i at center j: y_ij, center open: y_jj) obey the balance and
    connectivity (a-b separator cuts y_ij <= sum_{s in sep} y_sj, added in rounds until every
    free district of the optimum is connected). Returns ("OPTIMAL", the plan's districts,
    rounds): least cost among such partitions of cost <= target; ("INFEASIBLE", None, rounds):
    none; ("UNKNOWN", None, rounds): the deadline. `min_excess` (cost units): each free
    district's weight at the duals must exceed its center's value by at least this much.
    `only`: the free district's center is this area (then its LP relaxation is solved first,
    and the MIP only when that is feasible).
    """
    n, k = cg.n, cg.k
    pairs = _free_pairs(cg, target, only, 0.0 if min_excess is None else min_excess) if free else []
    if free and not pairs:
        return "INFEASIBLE", None, 0
    q, r = len(columns), len(pairs)
    nv = q + r
    rows, cols, vals = [], [], []
    for t, col in enumerate(columns):
        rows.extend(col.members)
        cols.extend([t] * len(col.members))
    for u, (i, _j) in enumerate(pairs):
        rows.append(i)
        cols.append(q + u)
    cover = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, nv))
    count = np.zeros((2, nv))
    count[0, :q] = 1.0
    centers = sorted({j for _i, j in pairs})
    cidx = {j: pairs.index((j, j)) + q for j in centers}
    for j in centers:
        count[1, cidx[j]] = 1.0
    c = np.r_[np.array([col.cost for col in columns], dtype=np.float64),
              np.array([float(cg.cost[i, j]) for i, j in pairs])] / cg.scale
    link_r, link_c, link_v, link_hi = [], [], [], []
    bal_r, bal_c, bal_v = [], [], []
    for u, (i, j) in enumerate(pairs):
        if i != j:  # y_ij <= y_jj
            row = len(link_hi)
            link_r += [row, row]
            link_c += [q + u, cidx[j]]
            link_v += [1.0, -1.0]
            link_hi.append(0.0)
    bal_lo, bal_hi = [], []
    crow = {j: t for t, j in enumerate(centers)}
    for u, (i, j) in enumerate(pairs):
        bal_r.append(crow[j])
        bal_c.append(q + u)
        bal_v.append(float(cg.population[i]) / cg.upper)  # scaled: populations reach 1e6
    # lower * y_jj <= sum_i p_i y_ij <= upper * y_jj, divided by upper.
    bal = csr_matrix((bal_v, (bal_r, bal_c)), shape=(len(centers), nv)).tolil()
    bal_up = bal.copy()
    for j in centers:
        bal_up[crow[j], cidx[j]] -= 1.0
        bal[crow[j], cidx[j]] -= cg.lower / cg.upper
    cons = [LinearConstraint(cover, 1.0, 1.0), LinearConstraint(count, [k - free, free], [k - free, free]),
            LinearConstraint(c[None, :], -np.inf, float(target) / cg.scale * (1 + 1e-12) + 1e-9)]
    if centers:
        cons += [LinearConstraint(bal_up.tocsr(), -np.inf, 0.0), LinearConstraint(bal.tocsr(), 0.0, np.inf)]
    if centers and min_excess is not None:
        # sum_i (w_ij - pi_i) y_ij - (v_j + min_excess) y_jj >= 0 for each center j
        er, ec, ev = [], [], []
        for u, (i, j) in enumerate(pairs):
            er.append(crow[j])
            ec.append(q + u)
            ev.append(float(cg.w[i, j] - cg.pi_hat[i]) - (float(cg.values_hat[j]) + min_excess / cg.scale
                                                           if i == j else 0.0))
        cons.append(LinearConstraint(csr_matrix((ev, (er, ec)), shape=(len(centers), nv)), -1e-9, np.inf))
    if link_hi:
        cons.append(LinearConstraint(csr_matrix((link_v, (link_r, link_c)), shape=(len(link_hi), nv)), -np.inf, 0.0))
    pindex = {p: q + u for u, p in enumerate(pairs)}
    nbrs = _neighbour_lists(n, cg.edges)
    cut_rows: list[dict[int, float]] = []
    rounds = 0
    if only is not None:
        res = milp(c, constraints=cons, integrality=np.zeros(nv), bounds=Bounds(0, 1),
                   options={"disp": False, "presolve": False})
        if res.status == 2:
            return "INFEASIBLE", None, 0
    while True:
        left = deadline - time.perf_counter()
        if left <= 0.5:
            return "UNKNOWN", None, rounds
        extra = list(cons)
        if cut_rows:
            rr = [t for t, row in enumerate(cut_rows) for _ in row]
            cc = [v for row in cut_rows for v in row]
            vv = [x for row in cut_rows for x in row.values()]
            extra.append(LinearConstraint(csr_matrix((vv, (rr, cc)), shape=(len(cut_rows), nv)), -np.inf, 0.0))
        res = milp(c, constraints=extra, integrality=np.ones(nv), bounds=Bounds(0, 1),
                   options={**_FIX_OPTIONS, "time_limit": left})
        rounds += 1
        if res.status == 2:
            return "INFEASIBLE", None, rounds
        if res.status != 0 or res.x is None:
            return "UNKNOWN", None, rounds
        x = res.x
        chosen = [columns[t] for t in np.flatnonzero(x[:q] > 0.5)]
        groups: dict[int, set[int]] = {}
        for u in np.flatnonzero(x[q:] > 0.5):
            i, j = pairs[u]
            groups.setdefault(j, set()).add(i)
        added = 0
        for j, members in groups.items():
            reached = _reach(j, nbrs, members)
            stray = members - reached
            allowed_j = {i for i, jj in pairs if jj == j}
            while stray:
                comp = _reach(next(iter(stray)), nbrs, stray)
                stray -= comp
                boundary = {v for a in comp for v in nbrs[a] if v not in comp and v in allowed_j}
                near = _reach(j, nbrs, allowed_j - comp)
                sep = [s for s in boundary if s in near]
                for i in comp:
                    row = {pindex[i, j]: 1.0}
                    for s_ in sep:
                        row[pindex[s_, j]] = -1.0
                    cut_rows.append(row)
                    added += 1
        if not added:
            plan = chosen + [Column(j, tuple(sorted(m)), float(cg.cost[sorted(m), j].sum())) for j, m in groups.items()]
            return "OPTIMAL", plan, rounds


COLUMN_FIXING_LADDER = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3, 0.5, 1.0)


def solve_by_column_fixing(population: Sequence[int], cost: np.ndarray, edges: Sequence[tuple[int, int]], *, k: int,
                           lower: int, upper: int, time_limit_s: float = 300.0, cg_share: float = 0.25,
                           ladder: Sequence[float] = COLUMN_FIXING_LADDER,
                           stall: tuple[int, float] | None = (6, 1e-4), node_limit: int = 50_000_000) -> CGResult:
    """Exact contiguous balanced districting (square case) by column fixing at the set-partitioning duals.

    1. `ColumnGeneration.run` (at most `cg_share` of the time): duals pi and per-center values
       v_j (lower bounds on a district's least weight sum_{i in S} (w_ij - pi_i) at center j),
       LB = sum(pi) + the k least v_j, a valid bound whether or not it converged (it stops
       when the bound stalls, `stall`: a bound 0.05 % lower costs the steps below little).
    2. For targets T above LB (`ladder`, fractions above it, then the sum of all costs, which
       every plan is below): a plan of cost <= T has k districts at distinct centers, cost
       sum(pi) + sum of their weights, so their excesses e_d = weight - v_center (all >= 0) sum
       to at most G = T - LB, and at most one exceeds tau = G / 2. `enumerate_columns` lists
       every district with excess <= tau (under its center's slack, and whose remainder can
       hold the other districts). Then
       (A) the set-partitioning program over the listed districts with cost <= T (HiGHS,
           exact): the best plan of listed districts, V, if any;
       (B) for each center j in turn: k - 1 listed districts and one free district at j
           (connected by separator cuts, balanced) whose excess is >= tau, cost below the best
           plan so far (at most T): every plan cheaper than V with a district of excess > tau
           is one of these.
       The better of (A) and (B) is optimal; neither: every plan costs more than T, next target.
    Costs must be integers (the step V - 1); the benchmark's and the planner's are.
    """
    t0 = time.perf_counter()
    pop = np.asarray(population, dtype=np.int64)
    cost = np.asarray(cost)
    if not np.array_equal(cost, np.round(cost)):   # the step V - 1 below would skip plans between V - 1 and V
        raise ValueError("solve_by_column_fixing needs integer costs (scale and round them first)")
    cg = ColumnGeneration(pop, cost, edges, k, lower, upper)
    stats: dict[str, object] = {"method": "column fixing"}

    def left() -> float:
        return time_limit_s - (time.perf_counter() - t0)

    if len(cg.open) < k:  # fewer than k areas can lead a balanced district
        return CGResult("INFEASIBLE", None, None, {}, time.perf_counter() - t0, stats)
    bound_scaled = cg.run(max(1.0, cg_share * time_limit_s), stall=stall)
    lb_raw = bound_scaled * cg.scale
    lb = float(np.ceil(lb_raw - max(1e-3, 1e-12 * abs(lb_raw))))
    stats.update(cg_bound=lb_raw, cg_s=round(time.perf_counter() - t0, 3), columns=len(cg.columns),
                 converged=cg.converged)
    proven = lb
    tried: list[str] = []
    top = float(np.abs(cost).sum())  # every plan costs at most this: the last target admits all
    targets = [t for t in (float(np.floor(lb_raw * (1.0 + s))) for s in ladder) if lb <= t < top] + [top]
    deadline = t0 + time_limit_s
    for target in targets:
        if left() <= 1.0:
            break
        tau = (target - lb_raw) / 2.0
        en = enumerate_columns(cg, target, excess=tau, node_limit=node_limit, deadline=deadline)
        if not en.complete or en.columns is None:
            tried.append(f"{target:.0f}:enumeration stopped:{en.nodes} nodes:{time.perf_counter() - t0:.1f}s")
            break
        status_a, plan_a, _ = _solve_with_free_district(cg, en.columns, target, 0, deadline)
        best = plan_a if status_a == "OPTIMAL" else None
        value_a = None if best is None else float(sum(col.cost for col in best))
        cap = target if value_a is None else min(target, value_a - 1.0)
        # (B) one center at a time: the free district's LP is far stronger with its center fixed,
        # and most centers are ruled out by that LP alone.
        status_b, mips = "INFEASIBLE", 0
        for j in ([] if status_a == "UNKNOWN" else cg.open):
            status_j, plan_j, rounds = _solve_with_free_district(cg, en.columns, cap, 1, deadline, min_excess=tau,
                                                                 only=j)
            mips += rounds > 0
            if status_j == "UNKNOWN":
                status_b = "UNKNOWN"
                break
            if status_j == "OPTIMAL" and plan_j is not None:
                best = plan_j
                cap = float(sum(col.cost for col in plan_j)) - 1.0
        tried.append(f"{target:.0f}:{len(en.columns)} columns:{en.nodes} nodes:A {status_a}:B {status_b} "
                     f"({mips} centers past the LP):{time.perf_counter() - t0:.1f}s")
        if status_a == "UNKNOWN" or status_b == "UNKNOWN":
            break
        if best is not None:
            stats["targets"] = tried
            value = float(sum(col.cost for col in best))
            return CGResult("OPTIMAL", value, value, {col.center: col.members for col in best},
                            time.perf_counter() - t0, stats)
        proven = max(proven, target + 1.0)
    stats["targets"] = tried
    if proven > top:
        return CGResult("INFEASIBLE", None, None, {}, time.perf_counter() - t0, stats)
    return CGResult("NO_SOLUTION", None, proven, {}, time.perf_counter() - t0, stats)
