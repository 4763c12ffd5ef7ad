"""Exact p-median solver on a cost matrix: heuristic plan, Lagrangian bound, reduced radius MIP.

Method (deterministic: fixed seeds, stable tie-breaking, serial solvers):

1. **Upper bound.** Greedy addition, then best-improvement swap local search with the
   fast swap evaluation of Resende & Werneck (2007, "A fast swap-based local search
   procedure for location problems", Ann. Oper. Res. 150): gain/loss/extra matrices, one
   BLAS product per move, or for large ``p`` sums over the few (client, candidate) pairs
   nearer than the client's second median (the same sums); then a short seeded
   variable-neighbourhood search (random k-swap shakes, Hansen & Mladenovic 1997), its
   number of rounds set by the instance's size.
2. **Lower bound.** Lagrangian relaxation of the assignment constraints of the classic
   formulation (Cornuejols, Fisher & Nemhauser 1977; Beasley 1985, 1993): for multipliers
   ``u``, ``L(u) = sum_i u_i + (sum of the p smallest rho_j)`` with
   ``rho_j = sum_i min(0, w_i c_ij - u_i)``; subgradient ascent with Polyak steps toward
   the incumbent (iterations in float32; the bound used is re-evaluated in float64). Any
   ``u`` gives a valid bound, and it equals the LP bound at best. The Lagrangian solution's
   ``p`` candidates, improved by the swap search, give a second plan (a Lagrangian
   heuristic); where it beats the first the bound often proves it at once (large ``p``).
3. **Provably safe reduction.** Only plans that beat the incumbent matter: cost ``<= T``
   with ``T = UB - 1`` for integer weighted costs (else ``UB`` less ``1e-6`` relative).
   Lagrangian penalty tests (Beasley 1993) then give, for any plan of cost ``<= T``:

   * candidate fixing: ``y_j = 0`` if ``L + rho_j - rho_(p) > T``; ``y_j = 1`` if
     ``L + rho_(p+1) - rho_j > T``;
   * a radius per client (the radius reduction of Garcia, Labbe & Marin 2011, "Solving
     large p-median problems with a radius formulation", INFORMS J. Comput. 23, here
     driven by Lagrangian penalties): client ``i`` can be served by ``j`` only if
     ``L + (w_i c_ij - u_i)^+ + [j not chosen](rho_j - rho_(p)) <= T``;
   * a ball test: if client ``i`` is farther than ``D``, every candidate within ``D`` is
     closed, so ``sum u + (p smallest rho outside that ball) + (w_i D^+ - u_i)^+`` is a
     bound; when it exceeds ``T`` the radius shrinks to ``D`` (binary search per client).
   Then a **Lagrangian branch-and-bound** on the medians (``planner.pmedian_branch``:
   a few subgradient steps per node from the parent's multipliers, Beasley's penalty tests
   fixing candidates down the tree) searches every improving plan; on the OR-Library
   instances it closes every gap the bound leaves (pmed36: ~1,300 nodes, ~12 CPU s against
   ~70-100 s for the MIP below). Past a node budget (a count, so the same on any machine) the
   MIP takes over.
4. **Radius formulation** (Elloumi 2010, "A tighter formulation of the p-median
   problem", J. Comb. Optim. 19) restricted to those radii, written in telescoped
   (difference) form: with levels ``D_i^1 < ... < D_i^L = R_i``, ``z^0 = 1``, ``z^L = 0``,
   ``z^{k-1} - z^k <= sum_{j: c_ij = D^k} y_j``; objective
   ``sum_i w_i (D^1 + sum_k (D^{k+1} - D^k) z^k)``, ``sum_j y_j = p``. Summing its rows
   gives Elloumi's cover rows ``z^k + sum_{j: c_ij <= D^k} y_j >= 1``, so its LP is as
   tight, but each ``(i, j)`` pair is one nonzero instead of one per level (pmed16: 46 k
   nonzeros instead of 330 k; the MIP went from unsolved in 60 s to 15 s). Every plan of
   cost ``<= T`` is feasible for it at its true cost and every feasible point is a real
   plan at its true cost: infeasible, or optimum ``> T``, proves the incumbent optimal;
   otherwise its optimum is the global one. On small models (``<= 4000`` radius levels)
   its LP relaxation is solved first and LP reduced costs fix more ``y_j`` and cut radii
   (``z_i^k = 0``) by the same argument.
5. The reduced MIP goes to HiGHS through OR-Tools MathOpt (built as a model proto from
   numpy arrays), with zero relative gap, the cutoff ``T`` (HiGHS ``objective_bound``),
   primal heuristics (including the root RENS/RINS sub-MIPs, which ``mip_heuristic_effort
   = 0`` alone leaves on), restarts and strong-branching pseudo-cost initialisation off (the
   incumbent is ours; pmed17: 27 s -> 9 s; pmed36: 230 s -> 117 s; pmed22: 20.5 -> 8.4 CPU s). Without them pmed36
   (n = 800, p = 10, LP gap 1 %) did not finish in 300 s.

``OPTIMAL`` is reported only when a lower bound meets the plan's objective: within
``0.5`` for integer weighted costs (where no plan lies strictly between ``T`` and
``UB``), else within ``1e-6`` relative.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .milp import relative_gap
from .pmedian_branch import lagrangian_branch_and_bound

__all__ = ["PMedianResult", "solve_pmedian"]

_BACKENDS = ("highs", "scip")
_LP_PASS_MAX_RADII = 4000
# Node budget of the Lagrangian branch-and-bound before the MIP takes over (OR-Library: at
# most ~1,300 nodes, pmed36; a node costs ~1-10 ms at n = 800).
_BRANCH_MAX_NODES = 20000
# The heuristic's sums run over the (client, candidate) pairs that can contribute when they
# are at most this share of the matrix (large p), over the dense matrix otherwise. Both give
# the same sums (exactly so for integer costs, where float64 addition is exact).
_SPARSE_SHARE = 0.25


@dataclass(frozen=True)
class PMedianResult:
    """Outcome of :func:`solve_pmedian`.

    Attributes
    ----------
    status : str
        ``"OPTIMAL"`` (proven), ``"FEASIBLE"`` (time limit hit, plan returned) or
        ``"NO_SOLUTION"`` (part of the contract; not produced today, as the greedy and
        local-search phase always yields a plan).
    objective : float
        Sum over clients of weight times cost to the assigned median (best plan found).
    bound : float
        Best proven lower bound on the optimal objective.
    gap : float
        ``(objective - bound) / max(|objective|, 1e-9)``; 0 when ``OPTIMAL``.
    medians : tuple of int
        Sorted column indices of the chosen medians.
    assignment : tuple of int
        For each client row, the median column it is assigned to (its nearest median,
        lowest column index on ties).
    time_s : float
        Wall-clock seconds spent.
    stats : dict
        Diagnostics: heuristic and Lagrangian values, radii kept, fixed candidates, MIP
        size and status, and ``proved_by`` (which step closed the gap).
    """

    status: str
    objective: float
    bound: float
    gap: float
    medians: tuple[int, ...]
    assignment: tuple[int, ...]
    time_s: float
    stats: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- validation


def _validate(
    cost: np.ndarray, p: int, weights: np.ndarray | None, time_limit_s: float, backend: str
) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(cost)
    if arr.ndim != 2:
        raise ValueError(f"cost must be a 2-D (clients x candidates) matrix, got ndim={arr.ndim}")
    n_clients, n_candidates = arr.shape
    if n_clients == 0 or n_candidates == 0:
        raise ValueError(f"cost must have at least one client and one candidate, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"cost must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("cost must be finite (no NaN or infinity)")
    if (arr < 0).any():
        raise ValueError("cost must be non-negative")
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise ValueError(f"p must be an integer, got {p!r}")
    if not 1 <= int(p) <= n_candidates:
        raise ValueError(f"p must be in 1..{n_candidates} (the number of candidates), got {p}")
    if weights is None:
        w = np.ones(n_clients)
    else:
        w = np.asarray(weights)
        if w.ndim != 1 or w.shape[0] != n_clients:
            raise ValueError(
                f"weights must be a 1-D array of length {n_clients} (one per client row), "
                f"got shape {w.shape}"
            )
        if not np.issubdtype(w.dtype, np.number) or np.issubdtype(w.dtype, np.complexfloating):
            raise ValueError(f"weights must be real numbers, got dtype {w.dtype}")
        w = w.astype(np.float64)
        if not np.isfinite(w).all():
            raise ValueError("weights must be finite (no NaN or infinity)")
        if (w < 0).any():
            raise ValueError("weights must be non-negative")
    if not (isinstance(time_limit_s, (int, float, np.integer, np.floating))
            and math.isfinite(float(time_limit_s)) and float(time_limit_s) > 0):
        raise ValueError(f"time_limit_s must be a positive finite number, got {time_limit_s!r}")
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    return arr, w


# ----------------------------------------------------------------------------- heuristics


def _pairs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the true entries of a 2-D mask, in row-major order.

    The same arrays as ``np.nonzero(mask)``, about 4x faster on a 900 x 900 mask (numpy's
    2-D nonzero walks the array once per axis; one flat pass and a division do not).
    """
    flat = np.flatnonzero(mask)
    rows = flat // mask.shape[1]
    return rows, flat - rows * mask.shape[1]


def _plan_cost(wcost: np.ndarray, medians: np.ndarray) -> float:
    return float(wcost[:, medians].min(axis=1).sum())


def _gain(
    wcost: np.ndarray, nearest: np.ndarray, near: np.ndarray, work: np.ndarray
) -> np.ndarray:
    """Per candidate: the saving ``sum_i max(nearest_i - wcost_ij, 0)`` of opening it.

    ``near`` (bool) and ``work`` (float) are scratch arrays of ``wcost``'s shape.
    """
    np.less(wcost, nearest[:, None], out=near)
    if np.count_nonzero(near) <= _SPARSE_SHARE * near.size:
        ii, jj = _pairs(near)
        return np.bincount(jj, weights=nearest[ii] - wcost[ii, jj], minlength=wcost.shape[1])
    np.subtract(nearest[:, None], wcost, out=work)
    np.maximum(work, 0.0, out=work)
    return work.sum(axis=0)


def _greedy(wcost: np.ndarray, p: int) -> np.ndarray:
    """Greedy addition; ties broken by the lowest column index."""
    n_candidates = wcost.shape[1]
    chosen = [int(np.argmin(wcost.sum(axis=0)))]
    nearest = wcost[:, chosen[0]].copy()
    is_open = np.zeros(n_candidates, dtype=bool)
    is_open[chosen[0]] = True
    near = np.empty(wcost.shape, dtype=bool)
    work = np.empty(wcost.shape)
    for _ in range(p - 1):
        gain = _gain(wcost, nearest, near, work)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        chosen.append(j)
        is_open[j] = True
        np.minimum(nearest, wcost[:, j], out=nearest)
    return np.array(sorted(chosen), dtype=np.int64)


def _local_search(wcost: np.ndarray, medians: np.ndarray, big: float) -> tuple[np.ndarray, float]:
    """Best-improvement swap local search with Resende-Werneck gain/loss/extra evaluation."""
    n_clients, n_candidates = wcost.shape
    medians = np.array(sorted(medians), dtype=np.int64)
    p = medians.size
    rows = np.arange(n_clients)
    # n x m work arrays reused by every move (fresh ones each move cost page faults too)
    near = np.empty(wcost.shape, dtype=bool)
    work = None
    while True:
        sub = wcost[:, medians]
        if p >= 2:
            part = np.argpartition(sub, 1, axis=1)[:, :2]
            a, b = sub[rows, part[:, 0]], sub[rows, part[:, 1]]
            first = np.where(a <= b, part[:, 0], part[:, 1])
            d1 = np.minimum(a, b)
            d2 = np.maximum(a, b)
        else:
            first = np.zeros(n_clients, dtype=np.int64)
            d1 = sub[:, 0]
            d2 = np.full(n_clients, big)
        loss = np.bincount(first, weights=d2 - d1, minlength=p)
        np.less(wcost, d2[:, None], out=near)  # only these pairs have a nonzero gain or extra term
        if np.count_nonzero(near) <= _SPARSE_SHARE * near.size:
            # Large p: each client has few candidates nearer than its second median, so
            # the same sums are taken over those pairs only (pmed30: 3x faster a move).
            ii, jj = _pairs(near)
            c = wcost[ii, jj]
            gain = np.bincount(jj, weights=np.maximum(d1[ii] - c, 0.0), minlength=n_candidates)
            extra = np.bincount(
                jj * p + first[ii], weights=np.maximum(d2[ii] - np.maximum(c, d1[ii]), 0.0),
                minlength=n_candidates * p,
            ).reshape(n_candidates, p)
            profit = gain[:, None] - loss[None, :] + extra
        else:
            if work is None:
                work = np.empty(wcost.shape)
            np.subtract(d1[:, None], wcost, out=work)
            np.maximum(work, 0.0, out=work)
            gain = work.sum(axis=0)
            np.maximum(wcost, d1[:, None], out=work)
            np.subtract(d2[:, None], work, out=work)
            np.maximum(work, 0.0, out=work)  # the extra terms
            onehot = np.zeros((n_clients, p))
            onehot[rows, first] = 1.0
            profit = gain[:, None] - loss[None, :] + work.T @ onehot
        profit[medians, :] = -np.inf
        flat = int(np.argmax(profit))
        j_in, r_out = divmod(flat, p)
        current = float(d1.sum())
        if profit[j_in, r_out] <= 1e-9 * max(1.0, abs(current)):
            return medians, current
        medians = medians.copy()
        medians[r_out] = j_in
        medians.sort()


def _vns(
    wcost: np.ndarray, medians: np.ndarray, cost: float, big: float, rng: np.random.Generator,
    deadline: float, max_rounds: int,
) -> tuple[np.ndarray, float, int]:
    """Variable-neighbourhood search: shake k random swaps, local search, accept improvements."""
    n_candidates = wcost.shape[1]
    p = medians.size
    if p == n_candidates:
        return medians, cost, 0
    k_max = max(1, min(p, n_candidates - p, 5))
    k = 1
    rounds = 0
    while rounds < max_rounds and time.perf_counter() < deadline:
        rounds += 1
        trial = medians.copy()
        closed = np.setdiff1d(np.arange(n_candidates), trial)
        outs = rng.choice(p, size=k, replace=False)
        ins = rng.choice(closed, size=k, replace=False)
        trial[outs] = ins
        trial, trial_cost = _local_search(wcost, trial, big)
        if trial_cost < cost - 1e-9 * max(1.0, abs(cost)):
            medians, cost, k = trial, trial_cost, 1
        else:
            k = k + 1 if k < k_max else 1
    return medians, cost, rounds


# ----------------------------------------------------------------------------- Lagrangian


def _lagrangian_value(wcost: np.ndarray, u: np.ndarray, p: int) -> tuple[float, np.ndarray]:
    rho = np.minimum(wcost - u[:, None], 0.0).sum(axis=0)
    part = np.partition(rho, p - 1)[:p] if p < rho.size else rho
    return float(u.sum() + part.sum()), rho


def _subgradient(
    wcost: np.ndarray, p: int, ub: float, target: float, u0: np.ndarray, deadline: float,
    max_iter: int,
) -> tuple[float, np.ndarray, int]:
    """Subgradient ascent on the Lagrangian dual; returns the best bound and multipliers."""
    u = u0.copy()
    best_value, _ = _lagrangian_value(wcost, u, p)
    best_u = u.copy()
    step_scale = 2.0
    stall = 0
    iterations = 0
    n_candidates = wcost.shape[1]
    wcost32 = wcost.astype(np.float32)  # iterations in float32; the bound is re-evaluated in float64
    # One buffer for min(c_ij - u_i, 0) reused by every iteration: a fresh n x m array per
    # iteration cost page faults as well as the arithmetic (the same values, the same sums).
    reduced = np.empty_like(wcost32)
    for iterations in range(1, max_iter + 1):
        np.subtract(wcost32, u.astype(np.float32)[:, None], out=reduced)
        np.minimum(reduced, np.float32(0.0), out=reduced)
        rho = reduced.sum(axis=0)
        if p < n_candidates:
            chosen = np.argpartition(rho, p - 1)[:p]
        else:
            chosen = np.arange(n_candidates)
        value = float(u.sum() + rho[chosen].sum(dtype=np.float64))
        if value > best_value + 1e-9 * max(1.0, abs(best_value)):
            best_value, best_u, stall = value, u.copy(), 0
        else:
            stall += 1
            if stall >= 30:
                step_scale *= 0.5
                stall = 0
        if best_value > target or step_scale < 1e-4:
            break
        if iterations % 16 == 0 and time.perf_counter() > deadline:
            break
        grad = 1.0 - (reduced[:, chosen] < 0.0).sum(axis=1)
        norm = float(grad @ grad)
        if norm == 0.0:
            break  # u is optimal for the Lagrangian dual (LP bound reached)
        u = u + step_scale * max(ub - value, 1e-6 * max(1.0, abs(ub))) / norm * grad
    return best_value, best_u, iterations


# ----------------------------------------------------------------------------- reduction


@dataclass
class _Reduction:
    closed: np.ndarray  # bool per candidate: fixed y_j = 0
    opened: np.ndarray  # bool per candidate: fixed y_j = 1
    radius: np.ndarray  # per client: largest cost at which it may still be served


def _reduce(
    cost: np.ndarray, weights: np.ndarray, wcost: np.ndarray, u: np.ndarray, lag_value: float,
    rho: np.ndarray, p: int, target: float, slack: float,
) -> _Reduction:
    n_candidates = wcost.shape[1]
    room = target - lag_value + slack
    if p < n_candidates:
        order = np.argsort(rho, kind="stable")
        in_sol = np.zeros(n_candidates, dtype=bool)
        in_sol[order[:p]] = True
        rho_p = rho[order[p - 1]]
        rho_next = rho[order[p]]
        extra = np.where(in_sol, 0.0, rho - rho_p)
        closed = ~in_sol & (extra > room)
        opened = in_sol & (rho_next - rho > room)
    else:
        extra = np.zeros(n_candidates)
        closed = np.zeros(n_candidates, dtype=bool)
        opened = np.ones(n_candidates, dtype=bool)
    allowed = (np.maximum(wcost - u[:, None], 0.0) + extra[None, :] <= room) & ~closed[None, :]
    masked = np.where(allowed, cost, -np.inf)
    radius = masked.max(axis=1)
    if opened.any():
        radius = np.minimum(radius, cost[:, opened].min(axis=1))
    if p < n_candidates:
        radius = _ball_test(cost, weights, u, rho, p, closed, radius, target + slack)
    return _Reduction(closed=closed, opened=opened, radius=radius)


def _ball_test(
    cost: np.ndarray, weights: np.ndarray, u: np.ndarray, rho: np.ndarray, p: int,
    closed: np.ndarray, radius: np.ndarray, limit: float,
) -> np.ndarray:
    """Shrink radii by the Lagrangian bound of "every candidate within D of client i is closed".

    If client ``i`` is farther than ``D`` (``z = 1`` at level ``D``), all candidates in the
    ball ``{j: c_ij <= D}`` are closed, so ``sum(u) + (p smallest rho_j outside the ball)``
    is a bound, to which the client's own forced term ``(w_i D^+ - u_i)^+`` adds (``D^+`` its
    next cost level). When that exceeds ``limit`` the client is served within ``D``. The
    test is monotone in ``D``, so a per-client binary search finds the smallest such ``D``.
    """
    n_clients, n_candidates = cost.shape
    order = np.argsort(rho, kind="stable")
    order = order[~closed[order]]
    rho_sorted = rho[order]
    cost_by_rho = cost[:, order]
    levels = np.sort(np.where(closed[None, :], np.inf, cost), axis=1)
    starts = np.where(levels[:, 1:] > levels[:, :-1], levels[:, 1:], np.inf)
    nxt = np.minimum.accumulate(starts[:, ::-1], axis=1)[:, ::-1]
    nxt = np.concatenate([nxt, np.full((n_clients, 1), np.inf)], axis=1)
    base = float(u.sum())
    rows = np.arange(n_clients)

    def passes(pos: np.ndarray) -> np.ndarray:
        ball = levels[rows, pos]
        outside = cost_by_rho > ball[:, None]
        taken = outside & (np.cumsum(outside, axis=1) <= p)
        count = taken.sum(axis=1)
        psum = (taken * rho_sorted[None, :]).sum(axis=1)
        step = np.maximum(weights * nxt[rows, pos] - u, 0.0)
        step = np.where(np.isfinite(step), step, np.inf)
        return (count < p) | (base + psum + step > limit)

    hi = (levels <= radius[:, None]).sum(axis=1) - 1  # last position within the radius
    lo = np.zeros(n_clients, dtype=np.int64)
    found = passes(hi)
    while True:
        active = found & (lo < hi)
        if not active.any():
            break
        mid = (lo + hi) // 2
        ok = passes(mid)
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid + 1, lo)
    shrunk = levels[rows, hi]
    return np.where(found, np.minimum(radius, shrunk), radius)


# ----------------------------------------------------------------------------- MIP model


@dataclass
class _RadiusModel:
    """Reduced radius formulation as sparse arrays (variables: y_0..y_{m-1}, then z)."""

    objective: np.ndarray
    offset: float
    lower: np.ndarray
    upper: np.ndarray
    n_y: int
    z_client: np.ndarray  # client of each z variable
    z_level: np.ndarray  # cost level D_i^k of each z variable (z = 1: farther than it)
    row_ids: np.ndarray
    col_ids: np.ndarray
    coefs: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray


def _build_radius_model(
    cost: np.ndarray, weights: np.ndarray, p: int, red: _Reduction,
    capped: np.ndarray | None = None,
) -> _RadiusModel:
    """Radius formulation restricted to the kept radii, in difference (telescoped) form.

    For client ``i`` with kept levels ``D^1 < ... < D^L`` (``D^L`` its radius) and
    ``z^0 = 1``, ``z^L = 0``: ``z^{k-1} - z^k <= sum_{j: c_ij = D^k} y_j`` for ``k = 1..L``.
    Summing rows ``1..k`` gives Elloumi's cover row ``z^k + sum_{j: c_ij <= D^k} y_j >= 1``,
    so the LP is at least as tight, while each ``y_j`` appears once per client instead of
    once per level (far fewer nonzeros). With ``y`` integral, the optimal ``z`` is integral.
    """
    n_clients, n_candidates = cost.shape
    open_cols = np.flatnonzero(~red.closed)
    obj_z, z_client, z_level = [], [], []
    rows_r = [np.zeros(n_candidates, dtype=np.int64)]
    rows_c = [np.arange(n_candidates)]
    rows_v = [np.ones(n_candidates)]
    row_lower = [np.array([float(p)])]
    n_rows = 1
    n_z = 0
    offset = 0.0
    for i in range(n_clients):
        if weights[i] == 0.0:
            continue
        row = cost[i, open_cols]
        keep = row <= red.radius[i]
        cols = open_cols[keep]
        dist = row[keep]
        order = np.argsort(dist, kind="stable")
        cols, dist = cols[order], dist[order]
        levels, level_of = np.unique(dist, return_inverse=True)
        offset += weights[i] * levels[0]
        n_lev = levels.size  # one row per level, z variables for levels 1..L-1
        z_ids = n_candidates + n_z + np.arange(n_lev - 1)
        row_ids = n_rows + np.arange(n_lev)
        if n_lev > 1:
            obj_z.append(weights[i] * np.diff(levels))
            z_client.append(np.full(n_lev - 1, i))
            z_level.append(levels[:-1])
        # row k (0-based): +z_k (k < L-1), -z_{k-1} (k >= 1), + y_j with c_ij = D^k;  >= rhs
        rows_r.append(row_ids[:-1])
        rows_c.append(z_ids)
        rows_v.append(np.ones(n_lev - 1))
        rows_r.append(row_ids[1:])
        rows_c.append(z_ids)
        rows_v.append(-np.ones(n_lev - 1))
        rows_r.append(row_ids[level_of])
        rows_c.append(cols)
        rows_v.append(np.ones(cols.size))
        rhs = np.zeros(n_lev)
        rhs[0] = 1.0
        if capped is not None and capped[i]:
            # relaxation: no hard cover, the client pays at most its last level D^L
            last = row_ids[-1]
            for idx in (-3, -1):
                keep_entries = rows_r[idx] != last
                rows_r[idx] = rows_r[idx][keep_entries]
                rows_c[idx] = rows_c[idx][keep_entries]
                rows_v[idx] = rows_v[idx][keep_entries]
            keep_entries = rows_r[-2] != last
            rows_r[-2] = rows_r[-2][keep_entries]
            rows_c[-2] = rows_c[-2][keep_entries]
            rows_v[-2] = rows_v[-2][keep_entries]
            rhs = rhs[:-1]
        row_lower.append(rhs)
        n_rows += rhs.size
        n_z += n_lev - 1
    row_ids = np.concatenate(rows_r)
    col_ids = np.concatenate(rows_c)
    coefs = np.concatenate(rows_v)
    order = np.lexsort((col_ids, row_ids))
    lower = np.zeros(n_candidates + n_z)
    upper = np.full(n_candidates + n_z, np.inf)
    upper[:n_candidates] = np.where(red.closed, 0.0, 1.0)
    lower[:n_candidates] = np.where(red.opened, 1.0, 0.0)
    row_upper = np.full(n_rows, np.inf)
    row_upper[0] = float(p)
    return _RadiusModel(
        objective=np.concatenate([np.zeros(n_candidates)] + obj_z),
        offset=float(offset), lower=lower, upper=upper, n_y=n_candidates,
        z_client=np.concatenate(z_client) if z_client else np.zeros(0, dtype=np.int64),
        z_level=np.concatenate(z_level) if z_level else np.zeros(0),
        row_ids=row_ids[order], col_ids=col_ids[order], coefs=coefs[order],
        row_lower=np.concatenate(row_lower), row_upper=row_upper,
    )


@dataclass
class _SolveOutcome:
    reason: str  # OPTIMAL, INFEASIBLE, CUTOFF, FEASIBLE, NO_SOLUTION, ERROR
    objective: float
    bound: float
    values: np.ndarray | None
    reduced_costs: np.ndarray | None
    nodes: int


def _solve_model(
    model: _RadiusModel, *, integer: bool, backend: str, time_limit_s: float,
    cutoff: float | None, seed: int,
) -> _SolveOutcome:
    """Solve the model through OR-Tools MathOpt (proto level, no per-term Python objects)."""
    from datetime import timedelta

    from ortools.math_opt import model_pb2, parameters_pb2, result_pb2
    from ortools.math_opt.core.python import solver as core_solver
    from ortools.math_opt.python import mathopt

    n_vars = model.objective.size
    proto = model_pb2.ModelProto()
    proto.variables.ids.extend(range(n_vars))
    proto.variables.lower_bounds.extend(model.lower.tolist())
    proto.variables.upper_bounds.extend(model.upper.tolist())
    flags = np.zeros(n_vars, dtype=bool)
    if integer:
        flags[: model.n_y] = True
    proto.variables.integers.extend(flags.tolist())
    nz = np.flatnonzero(model.objective)
    proto.objective.offset = model.offset
    proto.objective.linear_coefficients.ids.extend(nz.tolist())
    proto.objective.linear_coefficients.values.extend(model.objective[nz].tolist())
    n_rows = model.row_lower.size
    proto.linear_constraints.ids.extend(range(n_rows))
    proto.linear_constraints.lower_bounds.extend(model.row_lower.tolist())
    proto.linear_constraints.upper_bounds.extend(model.row_upper.tolist())
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(model.row_ids.tolist())
    matrix.column_ids.extend(model.col_ids.tolist())
    matrix.coefficients.extend(model.coefs.tolist())

    params = mathopt.SolveParameters(
        time_limit=timedelta(seconds=max(time_limit_s, 0.01)), random_seed=seed,
        enable_output=False,
    )
    if backend != "highs":
        params.threads = 1  # HiGHS's MIP search is serial; its thread pool is global
    if integer:
        params.relative_gap_tolerance = 0.0
        params.absolute_gap_tolerance = 1e-7
        if backend == "highs":
            # The incumbent is ours and the cutoff prunes with it, so HiGHS's primal
            # heuristics and root restarts mostly cost time here (pmed17: 27 s -> 9 s), and
            # the strong-branching warm-up of pseudo-costs over a few hundred free y_j with
            # 20 k-row LPs costs ~100 s at the root (pmed36: 230 s -> 117 s).
            params.highs.double_options["mip_heuristic_effort"] = 0.0
            # Effort 0 does not stop HiGHS's root sub-MIP heuristics (RENS, RINS) nor its
            # root reduced-cost and feasibility-jump heuristics: on pmed22 they took 13 k of
            # 21 k LP iterations; off, that solve went from 65 s to 25 s in one A/B pair.
            for name in ("mip_heuristic_run_rins", "mip_heuristic_run_rens",
                         "mip_heuristic_run_root_reduced_cost",
                         "mip_heuristic_run_feasibility_jump"):
                params.highs.bool_options[name] = False
            params.highs.bool_options["mip_allow_restart"] = False
            params.highs.int_options["mip_pscost_minreliable"] = 0
        if cutoff is not None and backend == "highs":
            params.highs.double_options["objective_bound"] = cutoff
        elif cutoff is not None:
            params.cutoff_limit = cutoff
    else:
        params.lp_algorithm = mathopt.LPAlgorithm.DUAL_SIMPLEX
    solver_type = {"highs": mathopt.SolverType.HIGHS, "scip": mathopt.SolverType.GSCIP}[backend]
    if not integer and backend == "scip":
        solver_type = mathopt.SolverType.GLOP
    result = core_solver.solve(
        proto, solver_type.value, parameters_pb2.SolverInitializerProto(), params.to_proto(),
        _default_model_parameters(), None, _empty_callback_registration(), None, None,
    )
    term = result.termination
    reasons = result_pb2.TerminationReasonProto
    limit_cutoff = result_pb2.LimitProto.Value("LIMIT_CUTOFF")
    bounds = term.objective_bounds
    values = reduced = None
    objective = math.inf
    for sol in result.solutions:
        if sol.HasField("primal_solution") and values is None:
            ps = sol.primal_solution
            if ps.feasibility_status == 2:  # SOLUTION_STATUS_FEASIBLE
                values = np.zeros(n_vars)
                values[np.array(ps.variable_values.ids, dtype=np.int64)] = np.array(
                    ps.variable_values.values
                )
                objective = ps.objective_value
        if sol.HasField("dual_solution") and reduced is None:
            ds = sol.dual_solution
            if ds.feasibility_status == 2:
                reduced = np.zeros(n_vars)
                reduced[np.array(ds.reduced_costs.ids, dtype=np.int64)] = np.array(
                    ds.reduced_costs.values
                )
    if term.reason == reasons.Value("TERMINATION_REASON_OPTIMAL"):
        reason = "OPTIMAL"
    elif term.reason in (reasons.Value("TERMINATION_REASON_INFEASIBLE"),):
        reason = "INFEASIBLE"
    elif term.reason == reasons.Value("TERMINATION_REASON_NO_SOLUTION_FOUND") and (
        term.limit == limit_cutoff
    ):
        reason = "CUTOFF"
    elif values is not None:
        reason = "FEASIBLE"
    elif term.reason == reasons.Value("TERMINATION_REASON_NO_SOLUTION_FOUND"):
        reason = "NO_SOLUTION"
    else:
        reason = "ERROR"
    return _SolveOutcome(
        reason=reason, objective=float(objective), bound=float(bounds.dual_bound),
        values=values, reduced_costs=reduced, nodes=int(result.solve_stats.node_count),
    )


def _default_model_parameters():
    """Default MathOpt model parameters proto."""
    from ortools.math_opt import model_parameters_pb2

    return model_parameters_pb2.ModelSolveParametersProto()


def _empty_callback_registration():
    """Empty MathOpt callback registration proto."""
    from ortools.math_opt import callback_pb2

    return callback_pb2.CallbackRegistrationProto()


# ----------------------------------------------------------------------------- main entry


def _assignment(cost: np.ndarray, medians: np.ndarray) -> tuple[int, ...]:
    sub = cost[:, medians]
    return tuple(int(medians[k]) for k in np.argmin(sub, axis=1))


def solve_pmedian(
    cost: np.ndarray,
    p: int,
    *,
    weights: np.ndarray | None = None,
    time_limit_s: float = 300.0,
    backend: str = "highs",
    seed: int = 0,
) -> PMedianResult:
    """Solve the p-median problem on a cost matrix to proven optimality (or the time limit).

    Parameters
    ----------
    cost : numpy.ndarray
        (n_clients x n_candidates) non-negative finite costs; ``cost[i, j]`` is the cost of
        serving client ``i`` from candidate ``j``.
    p : int
        Number of medians to open, ``1 <= p <= n_candidates``.
    weights : numpy.ndarray, optional
        Non-negative demand per client (default all ones).
    time_limit_s : float
        Wall-clock budget in seconds (default 300). The greedy plan and its first local
        search always complete, so a very small limit can be exceeded by that much.
    backend : str
        MIP solver through OR-Tools MathOpt: ``"highs"`` (default) or ``"scip"``.
    seed : int
        Seed of the heuristic's random shakes (results are deterministic for a seed).

    Returns
    -------
    PMedianResult
        Best plan, proven bound, status and diagnostics.

    Raises
    ------
    ValueError
        On a malformed matrix, weights, ``p``, time limit or backend.
    """
    start = time.perf_counter()
    deadline = start + float(time_limit_s)
    cost_arr, w = _validate(cost, p, weights, time_limit_s, backend)
    p = int(p)
    n_clients, n_candidates = cost_arr.shape
    wcost = w[:, None] * cost_arr
    integral = bool(np.all(wcost == np.round(wcost)))
    stats: dict = {"n_clients": n_clients, "n_candidates": n_candidates, "p": p,
                   "integral": integral}
    big = float(wcost.max()) * 2.0 + 1.0

    def finish(medians: np.ndarray, objective: float, bound: float, proved_by: str | None):
        medians = np.array(sorted(int(j) for j in medians), dtype=np.int64)
        tol = 0.5 if integral else 1e-6 * max(1.0, abs(objective))
        if proved_by is not None or bound >= objective - tol:
            status, bound, gap = "OPTIMAL", objective, 0.0
            stats.setdefault("proved_by", proved_by or "bound")
        else:
            status = "FEASIBLE"
            bound = min(bound, objective)
            gap = relative_gap(objective, bound)
        stats["time_s"] = time.perf_counter() - start
        return PMedianResult(
            status=status, objective=float(objective), bound=float(bound), gap=float(gap),
            medians=tuple(int(j) for j in medians), assignment=_assignment(cost_arr, medians),
            time_s=time.perf_counter() - start, stats=stats,
        )

    if p == n_candidates:
        medians = np.arange(n_candidates)
        return finish(medians, _plan_cost(wcost, medians), -math.inf, "all candidates open")

    # 1. upper bound -------------------------------------------------------------------
    rng = np.random.default_rng(seed)
    medians = _greedy(wcost, p)
    stats["greedy"] = _plan_cost(wcost, medians)
    medians, ub = _local_search(wcost, medians, big)
    stats["local_search"] = ub
    # The number of shakes is set by the instance's size, not by the clock, so that one
    # instance gives one plan however loaded the machine is (which of several optimal plans
    # comes back depends on the incumbent). A round costs about wcost.size * 1e-7 s on a quiet
    # core: at most about 2 s in all for 900 x 900. The clock only guards a short time limit.
    vns_rounds = int(min(60, max(8, 1.5e7 / max(wcost.size, 1))))
    medians, ub, rounds = _vns(wcost, medians, ub, big, rng, start + 0.1 * time_limit_s,
                               max_rounds=vns_rounds)
    stats["vns_rounds"] = rounds
    stats["vns_cut_by_time_limit"] = rounds < vns_rounds and p < wcost.shape[1]
    stats["heuristic"] = ub
    stats["heuristic_time_s"] = time.perf_counter() - start

    def improving_target(upper: float) -> float:
        return upper - 1.0 if integral else upper - 1e-6 * max(1.0, abs(upper))

    slack = 1e-7 * max(1.0, abs(ub))  # guards floating error in the pruning tests
    target = improving_target(ub)

    # 2. Lagrangian lower bound -------------------------------------------------------
    u0 = wcost[:, medians].min(axis=1)  # start from the incumbent's weighted distances
    lag, u, iters = _subgradient(wcost, p, ub, target + slack, u0,
                                 start + 0.25 * time_limit_s, max_iter=3000)
    lag_value, rho = _lagrangian_value(wcost, u, p)
    lag = lag_value  # the bound actually used: re-evaluated exactly in float64
    stats["lagrangian"] = lag
    stats["lagrangian_iterations"] = iters
    stats["lagrangian_time_s"] = time.perf_counter() - start
    if lag > target + slack:
        return finish(medians, ub, lag, "lagrangian")

    # Lagrangian heuristic (Beasley 1993): the p candidates of the Lagrangian solution (the p
    # smallest rho_j), improved by the swap search. For large p the multipliers point at the
    # optimal plan where the shakes missed it (pmed40: VNS 5,141, this plan 5,128 = the bound),
    # so the bound proves it at once instead of a MIP; a better plan also tightens ``T``.
    lag_plan, lag_cost = _local_search(
        wcost, np.sort(np.argsort(rho, kind="stable")[:p]), big
    )
    stats["lagrangian_heuristic"] = lag_cost
    if lag_cost < ub - 1e-9 * max(1.0, abs(ub)):
        medians, ub = lag_plan, lag_cost
        slack = 1e-7 * max(1.0, abs(ub))
        target = improving_target(ub)
        if lag > target + slack:
            return finish(medians, ub, lag, "lagrangian heuristic")

    # 3. reduction ----------------------------------------------------------------------
    red = _reduce(cost_arr, w, wcost, u, lag, rho, p, target, slack)
    stats["fixed_closed"] = int(red.closed.sum())
    stats["fixed_open"] = int(red.opened.sum())
    if (~red.closed).sum() < p or red.opened.sum() > p or np.isneginf(red.radius[w > 0]).any():
        return finish(medians, ub, lag, "reduction infeasible")

    # 3b. Lagrangian branch-and-bound on the medians -----------------------------------
    if _BRANCH_MAX_NODES > 0:
        tree = lagrangian_branch_and_bound(
            wcost, p, medians, ub, u, red.closed, red.opened, improving_target, slack,
            deadline, _BRANCH_MAX_NODES,
        )
        stats["branch_nodes"] = tree.nodes
        stats["branch_iterations"] = tree.iterations
        stats["branch_time_s"] = time.perf_counter() - start
        if tree.objective < ub:
            medians, ub = tree.medians, tree.objective
            slack = 1e-7 * max(1.0, abs(ub))
            target = improving_target(ub)
        if tree.complete:
            return finish(medians, ub, ub, "lagrangian branch-and-bound")

    # 4. LP of the reduced radius formulation: reduced-cost fixing ------------------------
    model = _build_radius_model(cost_arr, w, p, red)
    stats["radii_lagrangian"] = int(model.z_client.size)
    remaining = deadline - time.perf_counter()
    # The LP pass pays off on small models; on large ones its reduced costs barely move
    # the radii (the LP bound equals the Lagrangian one) and it costs seconds.
    if remaining > 0.05 and model.z_client.size <= _LP_PASS_MAX_RADII:
        lp = _solve_model(model, integer=False, backend=backend, time_limit_s=remaining,
                          cutoff=None, seed=seed)
        stats["lp_status"] = lp.reason
        if lp.reason == "INFEASIBLE":
            return finish(medians, ub, lag, "reduced LP infeasible (no improving plan)")
        if lp.reason == "OPTIMAL" and lp.reduced_costs is not None:
            stats["lp_reduced"] = lp.objective
            if lp.objective > target + slack:
                return finish(medians, ub, lag, "reduced LP bound")
            room = target - lp.objective + slack
            rc = lp.reduced_costs
            rc_y = rc[: model.n_y]
            red.closed |= (model.lower[: model.n_y] == 0.0) & (rc_y > room)
            red.opened |= (model.upper[: model.n_y] == 1.0) & (-rc_y > room)
            rc_z = rc[model.n_y :]
            cut = rc_z > room  # z_i^k = 0: client i served within D_i^k
            if cut.any():
                np.minimum.at(red.radius, model.z_client[cut], model.z_level[cut])
            if red.opened.any():
                red.radius = np.minimum(red.radius, cost_arr[:, red.opened].min(axis=1))
            stats["fixed_closed"] = int(red.closed.sum())
            stats["fixed_open"] = int(red.opened.sum())
            if (~red.closed).sum() < p or red.opened.sum() > p:
                return finish(medians, ub, lag, "LP fixing infeasible (no improving plan)")
            model = _build_radius_model(cost_arr, w, p, red)
    stats["lp_time_s"] = time.perf_counter() - start
    stats["radii_kept"] = int(model.z_client.size)
    stats["mip_rows"] = int(model.row_lower.size)
    stats["mip_nonzeros"] = int(model.row_ids.size)

    # 5. MIP on the reduced radius formulation ------------------------------------------
    remaining = deadline - time.perf_counter()
    if remaining <= 0.05:
        return finish(medians, ub, lag, None)
    mip = _solve_model(model, integer=True, backend=backend, time_limit_s=remaining,
                       cutoff=target + slack, seed=seed)
    stats["mip_status"] = mip.reason
    stats["mip_nodes"] = mip.nodes
    stats["mip_bound"] = mip.bound
    if mip.values is not None:
        plan = np.flatnonzero(mip.values[: model.n_y] > 0.5)
        if plan.size == p:
            plan_cost = _plan_cost(wcost, plan)
            if plan_cost < ub:
                medians, ub = plan, plan_cost
    if mip.reason in ("INFEASIBLE", "CUTOFF"):
        return finish(medians, ub, ub, "mip (no improving plan)")
    if mip.reason == "OPTIMAL":
        return finish(medians, ub, ub, "mip")
    # a bound valid for improving plans; all other plans cost at least the old incumbent
    ceiling = target + 1.0 if integral else target
    bound = lag
    if math.isfinite(mip.bound):
        bound = max(lag, min(mip.bound, ceiling))
    return finish(medians, ub, bound, None)
