"""Lagrangian bounds, variable fixing and a primal heuristic for the capacitated p-median.

The capacitated p-median (every area a candidate median; exactly k medians; median j serves
at most Q_j of demand; cost c_ij for area i at median j):

    min sum_ij c_ij x_ij   s.t.  sum_j x_ij = 1,  sum_i d_i x_ij <= Q_j y_j,  x_jj = y_j,  sum_j y_j = k.

Relaxing the assignment rows with multipliers lambda_i leaves one 0-1 knapsack per median,

    v_j(lambda) = c_jj - lambda_j + min { sum_{i != j} (c_ij - lambda_i) x_ij : sum_{i != j} d_i x_ij <= Q_j - d_j },

and L(lambda) = sum_i lambda_i + (sum of the k smallest v_j) is a lower bound. Because the
knapsacks lack the integrality property this bound is the column-generation bound of the
set-partitioning formulation, far stronger than the LP (Mulvey and Beck 1984; Lorena and
Senne 2004, "A column generation approach to capacitated p-median problems", Computers & OR
31(6); Ceselli and Righini 2005, Networks 45(3)). Subgradient optimisation finds good
multipliers; every iterate's medians, re-assigned within capacity (a small generalized
assignment solved exactly by CP-SAT) and improved by relocation and swap moves, give plans;
and the bound removes medians and pairs that cannot be in a plan cheaper than the best one
(Lagrangian reduced-cost fixing). Pure numpy plus OR-Tools CP-SAT; nothing here reads files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

_INF = float("inf")


@dataclass
class LagrangianResult:
    """What `lagrangian_bound` found.

    Attributes
    ----------
    bound
        Best lower bound (the best L(lambda) seen).
    multipliers
        The lambda at which it was reached.
    upper
        Cost of the best plan found (inf when none).
    assignment
        That plan: the median of every area (None when none was found).
    open_bound
        Per median j, a lower bound on every plan in which j is a median.
    pair_bound
        Per (i, j), a lower bound on every plan in which area i is served by median j.
    iterations
        Subgradient iterations run.
    stats
        Timings and counters.
    """

    bound: float
    multipliers: np.ndarray
    upper: float
    assignment: np.ndarray | None
    open_bound: np.ndarray
    pair_bound: np.ndarray
    iterations: int
    stats: dict[str, object] = field(default_factory=dict)


def knapsack_table(reduced: np.ndarray, demand: np.ndarray, room: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Per median j and load w <= room_j: the least sum of reduced[i, j] over areas i != j that fit in w.

    A 0-1 knapsack per median (minimisation, only negative reduced costs help), solved by one
    dynamic programme over all medians at once. Returns an (m, W + 1) table, non-increasing in w,
    with W = max(room); entries past a median's own room are not meaningful.
    """
    n, m = reduced.shape
    width = int(max(0, room.max())) + 1
    table = np.zeros((m, width))
    for i in range(n):
        cols = np.flatnonzero((reduced[i] < 0) & usable[i])
        if len(cols) == 0:
            continue
        w = int(demand[i])
        r = reduced[i, cols]
        if w == 0:
            table[cols] += r[:, None]
            continue
        if w >= width:
            continue
        sub = table[cols]
        cand = sub[:, : width - w] + r[:, None]
        sub[:, w:] = np.minimum(sub[:, w:], cand)
        table[cols] = sub
    return table


def knapsack_members(reduced: np.ndarray, demand: np.ndarray, room: int, usable: np.ndarray) -> np.ndarray:
    """Indices of an optimal 0-1 knapsack for one median: reduced costs (n,), weights, room."""
    items = np.flatnonzero((reduced < 0) & usable)
    if room < 0:
        return np.array([], dtype=np.int64)
    width = room + 1
    table = np.zeros(width)
    keep = np.zeros((len(items), width), dtype=bool)
    for t, i in enumerate(items):
        w = int(demand[i])
        if w > room:
            continue
        cand = np.full(width, _INF)
        cand[w:] = table[: width - w] + reduced[i]
        better = cand < table - 1e-12
        keep[t] = better
        table = np.where(better, cand, table)
    chosen = []
    load = room
    for t in range(len(items) - 1, -1, -1):
        if keep[t, load]:
            chosen.append(items[t])
            load -= int(demand[items[t]])
    return np.array(sorted(chosen), dtype=np.int64)


def _median_values(cost: np.ndarray, lam: np.ndarray, demand: np.ndarray, capacity: np.ndarray,
                   usable: np.ndarray, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(v_j, the knapsack table, the reduced costs) at multipliers lam; v_j = inf for a median that cannot open."""
    n = cost.shape[0]
    reduced = cost - lam[:, None]
    room = capacity - demand
    table = knapsack_table(reduced, demand, np.maximum(room, 0), usable)
    idx = np.arange(n)
    v = reduced[idx, idx] + table[idx, np.maximum(room, 0)]
    v = np.where((room < 0) | closed, _INF, v)
    return v, table, reduced


def assign_to_medians(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, medians: list[int], *,
                      usable: np.ndarray | None = None, deterministic_s: float = 2.0) -> np.ndarray | None:
    """Cheapest assignment of every area to one of the fixed `medians` within capacities (CP-SAT).

    Each median serves itself. Returns the median of every area, or None when CP-SAT finds no
    assignment in its (deterministic) time budget. One worker, fixed seed: the same input gives
    the same labels.
    """
    from ortools.sat.python import cp_model

    n = cost.shape[0]
    mdl = cp_model.CpModel()
    x: dict[tuple[int, int], object] = {}
    for i in range(n):
        row = []
        for j in medians:
            if i == j or usable is None or usable[i, j]:
                if i in medians and i != j:
                    continue
                x[i, j] = mdl.NewBoolVar("")
                row.append(x[i, j])
        if not row:
            return None
        mdl.AddExactlyOne(row)
    for j in medians:
        mdl.Add(sum(int(demand[i]) * v for (i, jj), v in x.items() if jj == j) <= int(capacity[j]))
    mdl.Minimize(sum(int(round(cost[i, j])) * v for (i, j), v in x.items()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = deterministic_s
    status = solver.Solve(mdl)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    labels = np.full(n, -1, dtype=np.int64)
    for (i, j), v in x.items():
        if solver.BooleanValue(v):
            labels[i] = j
    return labels if (labels >= 0).all() else None


def plan_cost(cost: np.ndarray, labels: np.ndarray) -> float:
    """Sum of each area's cost to its median."""
    return float(cost[np.arange(len(labels)), labels].sum())


def improve_plan(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Local search on a feasible plan: move one area, or swap two areas between medians, while it pays.

    Medians stay medians (they serve themselves); capacities hold throughout. Areas are visited
    in index order and each takes its best move, so the result is deterministic.
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    n = len(labels)
    demand = np.asarray(demand, dtype=np.int64)
    medians = np.array(sorted(set(int(c) for c in labels)), dtype=np.int64)
    load = np.zeros(n, dtype=np.int64)
    np.add.at(load, labels, demand)
    movable = np.ones(n, dtype=bool)
    movable[medians] = False
    idx = np.arange(n)
    for _ in range(100):
        improved = False
        for i in np.flatnonzero(movable):
            a = labels[i]
            # Move i to another median with room.
            room = (load[medians] + demand[i] <= capacity[medians]) & (medians != a)
            gain = cost[i, a] - cost[i, medians]
            gain = np.where(room, gain, -1.0)
            t = int(np.argmax(gain))
            if gain[t] > 1e-9:
                b = medians[t]
                labels[i] = b
                load[a] -= demand[i]
                load[b] += demand[i]
                improved = True
                continue
            # Swap i with an area h of another median.
            b = labels
            delta = cost[i, b] + cost[idx, a] - cost[i, a] - cost[idx, b]
            ok = movable & (b != a) & (load[b] - demand + demand[i] <= capacity[b]) \
                & (load[a] - demand[i] + demand <= capacity[a])
            delta = np.where(ok, delta, np.inf)
            h = int(np.argmin(delta))
            if delta[h] < -1e-9:
                bh = labels[h]
                labels[i], labels[h] = bh, a
                load[a] += demand[h] - demand[i]
                load[bh] += demand[i] - demand[h]
                improved = True
        if not improved:
            break
    return labels


def greedy_assign(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, medians: list[int] | np.ndarray) -> np.ndarray | None:
    """Assign every area to one of `medians` within capacity, most-regret first (None when one does not fit).

    Each median serves itself; then areas in decreasing order of regret (second-cheapest minus
    cheapest median) go to their cheapest median with room.
    """
    n = cost.shape[0]
    med = np.asarray(sorted(int(j) for j in medians), dtype=np.int64)
    labels = np.full(n, -1, dtype=np.int64)
    load = np.zeros(n, dtype=np.int64)
    labels[med] = med
    load[med] = demand[med]
    if (load[med] > capacity[med]).any():
        return None
    sub = cost[:, med]
    part = np.sort(sub, axis=1)
    regret = part[:, 1] - part[:, 0] if len(med) > 1 else np.zeros(n)
    rest = [i for i in np.lexsort((np.arange(n), -regret)) if labels[i] < 0]
    for i in rest:
        fits = load[med] + demand[i] <= capacity[med]
        if not fits.any():
            return None
        t = int(np.argmin(np.where(fits, sub[i], np.inf)))
        labels[i] = med[t]
        load[med[t]] += demand[i]
    return labels


def local_plan(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, medians: list[int] | np.ndarray) -> np.ndarray | None:
    """A good plan for fixed medians, fast: greedy assignment then `improve_plan` (None when greedy fails)."""
    labels = greedy_assign(cost, demand, capacity, medians)
    return None if labels is None else improve_plan(cost, demand, capacity, labels)


def relocate(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, labels: np.ndarray, *,
             candidates: int = 8, max_rounds: int = 50) -> np.ndarray:
    """Median exchange on a plan: replace one median by one of the `candidates` areas of its group
    nearest to it, keep the first exchange that lowers the cost (each evaluated by `local_plan`),
    repeat until none does (the vertex substitution of Teitz and Bart 1968, within groups).
    """
    best = np.asarray(labels, dtype=np.int64).copy()
    best_cost = plan_cost(cost, best)
    seen: set[tuple[int, ...]] = set()
    for _ in range(max_rounds):
        medians = sorted(set(int(c) for c in best))
        seen.add(tuple(medians))
        found = False
        for m in medians:
            members = np.flatnonzero(best == m)
            members = members[members != m]
            near = members[np.argsort(cost[members, m], kind="stable")][:candidates]
            for j in near:
                key = tuple(sorted([c for c in medians if c != m] + [int(j)]))
                if key in seen:
                    continue
                seen.add(key)
                cand = local_plan(cost, demand, capacity, list(key))
                if cand is not None:
                    c = plan_cost(cost, cand)
                    if c < best_cost - 1e-9:
                        best, best_cost, found = cand, c, True
                        break
            if found:
                break
        if not found:
            break
    return best


def lagrangian_bound(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, k: int, *,
                     upper: float = _INF, assignment: np.ndarray | None = None, lam0: np.ndarray | None = None,
                     usable: np.ndarray | None = None, closed: np.ndarray | None = None,
                     max_iterations: int = 3000, time_limit_s: float = 60.0, integral: bool = True,
                     heuristic_every: int = 1) -> LagrangianResult:
    """Subgradient optimisation of the Lagrangian bound, with a Lagrangian primal heuristic.

    Parameters
    ----------
    cost, demand, capacity, k
        The instance (cost n x n; every area a candidate median).
    upper, assignment
        A known plan and its cost, if any (the step size aims at it; it is kept if nothing better is found).
    lam0
        Starting multipliers (default: each area's second-cheapest cost).
    usable, closed
        Pairs (i, j) allowed and medians excluded by earlier fixing.
    max_iterations, time_limit_s
        The loop stops on its own (bound proves `upper`, step size spent, or `max_iterations`);
        `time_limit_s` is a safety cut only, set far beyond that so that the bound and plans do
        not depend on the machine's load.
    integral
        Costs are integers: a bound above upper - 1 proves the plan of cost `upper` optimal.
    heuristic_every
        Re-assign the subproblem's medians within capacity every this many iterations (new sets only).
    """
    t0 = time.perf_counter()
    cost = np.asarray(cost, dtype=float)
    d = np.asarray(demand, dtype=np.int64)
    q = np.asarray(capacity, dtype=np.int64)
    n = cost.shape[0]
    usable = np.ones((n, n), dtype=bool) if usable is None else usable.copy()
    np.fill_diagonal(usable, False)  # the median's own area is counted in v_j, not in its knapsack
    closed = np.zeros(n, dtype=bool) if closed is None else closed
    lam = np.sort(cost, axis=1)[:, 1].astype(float) if lam0 is None else np.asarray(lam0, dtype=float).copy()
    best_lam, best_bound = lam.copy(), -_INF
    best_labels = None if assignment is None else np.asarray(assignment).copy()
    ub = float(upper)
    tried: set[tuple[int, ...]] = set()
    mu, stall, it = 2.0, 0, 0
    gap_target = 1.0 - 1e-6 if integral else 1e-9
    heur_s = 0.0
    improved_sets = 0
    for it in range(1, max_iterations + 1):
        v, _table, reduced = _median_values(cost, lam, d, q, usable, closed)
        order = np.argsort(v, kind="stable")
        chosen = order[:k]
        if not np.isfinite(v[chosen]).all():
            break  # fewer than k medians can open: no plan at all
        value = float(lam.sum() + v[chosen].sum())
        if value > best_bound + 1e-9:
            best_bound, best_lam = value, lam.copy()
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                mu, stall = mu / 2.0, 0
        if best_bound > ub - gap_target or mu < 1e-5 or time.perf_counter() - t0 > time_limit_s:
            break
        # Subgradient: 1 - (times area i is served) over the chosen medians' knapsacks.
        served = np.zeros(n)
        for j in chosen:
            served[j] += 1
            room = int(q[j] - d[j])
            served[knapsack_members(reduced[:, j], d, room, usable[:, j])] += 1
        g = 1.0 - served
        key = tuple(sorted(int(j) for j in chosen))
        if it % heuristic_every == 0 and key not in tried:
            tried.add(key)
            th = time.perf_counter()
            labels = local_plan(cost, d, q, key)
            if labels is not None:
                c = plan_cost(cost, labels)
                if c < ub - 1e-9:
                    ub, best_labels = c, labels
                    improved_sets += 1
            heur_s += time.perf_counter() - th
        norm = float(g @ g)
        if norm == 0:
            # The knapsacks form a plan: it is optimal for the relaxation and feasible.
            labels = np.full(n, -1, dtype=np.int64)
            for j in chosen:
                labels[j] = j
                labels[knapsack_members(reduced[:, j], d, int(q[j] - d[j]), usable[:, j])] = j
            c = plan_cost(cost, labels)
            if c < ub - 1e-9:
                ub, best_labels = c, labels
            best_bound = max(best_bound, c)
            break
        target = ub if np.isfinite(ub) else value + 0.05 * abs(value) + 1.0
        lam = lam + mu * (target - value) / norm * g
    open_b, pair_b = fixing_bounds(cost, best_lam, d, q, k, usable, closed)
    return LagrangianResult(best_bound, best_lam, ub, best_labels, open_b, pair_b, it,
                            {"lagrangian_s": round(time.perf_counter() - t0, 3), "heuristic_s": round(heur_s, 3),
                             "median_sets_tried": len(tried), "plans_improved": improved_sets})


def fixing_bounds(cost: np.ndarray, lam: np.ndarray, demand: np.ndarray, capacity: np.ndarray, k: int,
                  usable: np.ndarray, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower bounds at multipliers lam on plans with median j open, and on plans with area i at median j.

    Open: L with j among the k medians (the k-th cheapest replaced by v_j when j is not chosen).
    Pair: the same with v_j replaced by a bound on j's subproblem with i forced in,
    (c_ij - lam_i) + knapsack(room_j - d_i) (i may be counted twice there, so it is a lower bound).
    """
    n = cost.shape[0]
    v, table, reduced = _median_values(cost, lam, demand, capacity, usable, closed)
    order = np.argsort(v, kind="stable")
    kth, next_ = v[order[k - 1]], (v[order[k]] if k < n else _INF)
    base = float(lam.sum() + v[order[:k]].sum())
    in_chosen = np.zeros(n, dtype=bool)
    in_chosen[order[:k]] = True
    # Plans with j open but its own subproblem value replaced by `w`: base - v_j + w if j chosen,
    # else base - kth + w (j takes the k-th slot).
    rest = np.where(in_chosen, base - v, base - kth)
    open_b = np.where(np.isfinite(v), rest + v, _INF)
    room = capacity - demand
    pair_b = np.full((n, n), _INF)
    width = table.shape[1]
    for j in range(n):
        if not np.isfinite(v[j]):
            continue
        left = room[j] - demand  # room left for the others once area i is in
        ok = (left >= 0) & usable[:, j]
        w = reduced[np.arange(n), j].copy()
        forced = w + np.where(ok, table[j, np.clip(left, 0, width - 1)], 0.0)
        # With i forced in, v_j' >= c_jj - lam_j + forced; never below v_j itself.
        vj = np.maximum(reduced[j, j] + forced, v[j])
        pair_b[:, j] = np.where(ok, rest[j] + vj, _INF)
        pair_b[j, j] = open_b[j]
    del next_
    return open_b, pair_b


def median_cuts(cost: np.ndarray, lam: np.ndarray, demand: np.ndarray, capacity: np.ndarray, allowed: np.ndarray,
                closed: np.ndarray) -> list[tuple[int, np.ndarray, float]]:
    """Valid inequalities sum_i (c_ij - lam_i) x_ij >= v_j y_j, one per median that may open.

    With y_j = 1, median j's areas are a knapsack of its subproblem, whose reduced cost is at
    least the subproblem's optimum v_j; with y_j = 0 both sides are 0. Over the pairs still
    `allowed` they lift the LP relaxation towards the Lagrangian bound at lam (the per-median
    knapsack polytope's cut in the direction lam; cf. the Fenchel cuts of Boccia, Sforza, Sterle
    and Vasilyev 2008). Returns (j, reduced costs of column j, v_j) for every j not `closed`.
    """
    usable = allowed.copy()
    np.fill_diagonal(usable, False)
    v, _table, reduced = _median_values(np.asarray(cost, dtype=float), lam, demand, capacity, usable, closed)
    return [(j, reduced[:, j], float(v[j])) for j in range(cost.shape[0]) if not closed[j] and np.isfinite(v[j])]
