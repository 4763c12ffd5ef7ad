"""The exact maximal-covering model: which county hospitals to upgrade to bring the most residents within reach.

Demand is each (township, center type) not yet within `max_minutes` of a center of that type,
weighted by the township's residents; a candidate is (hospital, center type) for a county
hospital that may run it and does not. With k new centers the model is

    max  sum_{i,t} w_i z_it   s.t.  z_it <= sum_{c of type t reaching i} y_c,   sum_c y_c <= k,

binary y, z (Church and ReVelle 1974), solved exactly for k = 1 ... K; the gain of each k over
k - 1 is its marginal gain, and every step carries the solver's proven status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..milp import LinExpr, Model, Status, solve


@dataclass(frozen=True)
class CoverStep:
    """The optimal upgrades for k new centers: which (candidate) positions, residents gained, status."""

    k: int
    chosen: tuple[int, ...]
    gained: int
    marginal: int
    status: Status
    bound: int | None
    time_s: float


@dataclass
class CoverPath:
    """Optimal upgrades for k = 1 ... K; `nested` when each optimum contains the one before (a clean order)."""

    steps: list[CoverStep] = field(default_factory=list)

    @property
    def nested(self) -> bool:
        """True when every k's optimum contains the (k - 1)'s, so the upgrades form one order."""
        return all(set(a.chosen) <= set(b.chosen) for a, b in zip(self.steps, self.steps[1:]))

    @property
    def order(self) -> list[int]:
        """Candidates in the order they enter the optima (meaningful when `nested`)."""
        out: list[int] = []
        for s in self.steps:
            out += [c for c in s.chosen if c not in out]
        return out


def max_cover(weights: np.ndarray, reach: np.ndarray, k: int, *, backend: str = "cpsat",
              time_limit_s: float = 10.0, name: str = "max_cover") -> CoverStep:
    """Choose at most `k` candidates (columns of `reach`) to cover the most weight.

    Parameters
    ----------
    weights
        Integer weight of each demand row (residents), shape (n,). Rows already covered are left out by the caller.
    reach
        Boolean, shape (n, c): candidate c would cover demand row n.
    """
    w = np.asarray(weights, dtype=np.int64)
    r = np.asarray(reach, dtype=bool)
    n, c = r.shape
    useful = [i for i in range(n) if w[i] > 0 and r[i].any()]
    if k <= 0 or not useful:
        return CoverStep(k, (), 0, 0, Status.OPTIMAL, 0, 0.0)
    m = Model(name)
    y = [m.binary(f"upgrade[{j}]") for j in range(c)]
    m.add(LinExpr.sum((1, v) for v in y), ub=k, name="new_centers", group="structure")
    # Rows with the same reach set are one demand (merged: fewer variables, the same optimum).
    merged: dict[tuple[int, ...], int] = {}
    for i in useful:
        key = tuple(np.flatnonzero(r[i]))
        merged[key] = merged.get(key, 0) + int(w[i])
    for q, (cols, weight) in enumerate(sorted(merged.items())):
        z = m.binary(f"covered[{q}]")
        m.add(LinExpr.sum((1, y[j]) for j in cols) - z, lb=0, name=f"cover[{q}]", group="structure")
        m.minimize([(-weight, z)])
    sol = solve(m, backend, time_limit_s=time_limit_s)
    if sol.objective is None:
        return CoverStep(k, (), 0, 0, sol.status, None, sol.time_s)
    chosen = tuple(j for j in range(c) if sol.value(y[j]) > 0.5)
    gained = int(w[[i for i in useful if r[i, list(chosen)].any()]].sum()) if chosen else 0
    bound = None if sol.bound is None else int(round(-sol.bound))
    return CoverStep(k, chosen, gained, 0, sol.status, bound, sol.time_s)


def cover_path(weights: np.ndarray, reach: np.ndarray, k_max: int, **kwargs: object) -> CoverPath:
    """Exact optima for k = 1 ... k_max (stopping early once every coverable resident is covered)."""
    path = CoverPath()
    best = 0
    total = int(np.asarray(weights, dtype=np.int64)[np.asarray(reach, dtype=bool).any(axis=1)].sum()) if reach.size else 0
    for k in range(1, k_max + 1):
        step = max_cover(weights, reach, k, **kwargs)  # type: ignore[arg-type]
        step = CoverStep(step.k, step.chosen, step.gained, step.gained - best, step.status, step.bound, step.time_s)
        path.steps.append(step)
        best = step.gained
        if best >= total:
            break
    return path
