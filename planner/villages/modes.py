"""Service mode of every village: a licensed physician within reach (fixed), circuit visits needed, remote links."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..region import Region
from ..travel import Points, TravelModel
from .data import CountyData
from .rules import CircuitCoverage

RESIDENT, CIRCUIT, NO_BASE, URBAN = "resident", "circuit", "no_base", "urban"
"""Modes before routing: fixed care within reach, circuit visits needed, circuit needed but no health
center in the county can send a team. Routing then marks circuit villages it cannot reach `unreachable`."""

MODE_WORDS = {
    "resident": ("驻村执业医师（固定）", "resident licensed physician (fixed)"),
    "urban": ("城镇社区（社区卫生服务中心）", "urban community (its community health center)"),
    "circuit": ("巡回诊疗（流动）", "circuit visits (mobile)"),
    "unreachable": ("巡回诊疗无法到达", "no route can reach it"),
    "no_base": ("无可派巡回医疗队的卫生院", "no health center to send a team"),
}


def licensed_physicians(region: Region) -> pd.Series:
    """Licensed physicians (profession medicine, qualification licensed) per facility id; village doctors do not count."""
    s = region.staff
    if s.empty:
        return pd.Series(dtype="int64")
    mask = np.ones(len(s), dtype=bool)
    if "profession" in s.columns:
        mask &= (s["profession"].fillna("medicine").astype(str) == "medicine").to_numpy()
    if "qualification" in s.columns:
        mask &= (s["qualification"].fillna("licensed").astype(str) == "licensed").to_numpy()
    return s[mask].groupby("facility_id")["count"].sum().astype("int64")


def clinic_of_village(data: CountyData) -> dict[str, str]:
    """Village code -> its village clinic's facility id: the clinic `V{code}`, else the nearest clinic not yet taken
    in its township (clinics of a user's roster with other ids), among the facilities the county's task sees."""
    clinics = [k for k, (kind, ctx) in enumerate(zip(data.fac_kind, data.fac_context.tolist()))
               if kind == "village_clinic" and not ctx]
    ids = {data.fac_id[k] for k in clinics}
    out = {code: f"V{code}" for code in data.village if f"V{code}" in ids}
    taken = set(out.values())
    rest = [k for k in clinics if data.fac_id[k] not in taken]
    if not rest:
        return out
    free: dict[str, list[tuple[str, float, float]]] = {}
    for k in rest:
        free.setdefault(data.fac_town[k], []).append((data.fac_id[k], float(data.fx[k]), float(data.fy[k])))
    for code, town, x, y in zip(data.village, data.township, data.vx.tolist(), data.vy.tolist()):
        if code in out or not free.get(town):
            continue
        cands = free[town]
        k = min(range(len(cands)), key=lambda i: ((cands[i][1] - x) ** 2 + (cands[i][2] - y) ** 2, cands[i][0]))
        out[code] = cands.pop(k)[0]
    return out


MODE_COLUMNS = ["county", "township", "village", "village_name", "population", "clinic", "licensed_at_clinic",
                "nearest_licensed", "nearest_licensed_min", "mode", "base", "base_min", "visits_required"]
"""The columns `classify` gives, in order."""


def _round2(values: np.ndarray) -> list[float]:
    """Each value rounded to 0.01 as Python's round does (not numpy's), NaN where not finite."""
    nan = float("nan")
    return [round(x, 2) if math.isfinite(x) else nan for x in values.tolist()]


def classify_county(data: CountyData, rule: CircuitCoverage, travel: TravelModel) -> dict[str, list]:
    """One county's village rows (columns of MODE_COLUMNS, villages by code): population, the nearest licensed
    physician, mode, base health center, visits.

    Fixed care: a facility of the county with a licensed physician within `resident_max_minutes`
    (the village's own clinic when it has one, a health center or hospital nearby). Otherwise
    circuit visits from the health center (of `base_kinds`) of the village's township, else the
    nearest such center of the county.
    """
    n = len(data.village)
    if not n:
        return {c: [] for c in MODE_COLUMNS}
    county = data.county
    lic = data.licensed
    own = [k for k, (c, ctx) in enumerate(zip(data.fac_county, data.fac_context.tolist())) if c == county and not ctx]
    has_lic = [k for k in own if int(lic.get(data.fac_id[k], 0)) > 0]
    kinds = set(rule.base_kinds)
    bases = sorted((k for k in own if data.fac_kind[k] in kinds), key=lambda k: data.fac_id[k])
    vp = Points(tuple(data.village), data.vx, data.vy)
    lp = Points(tuple(data.fac_id[k] for k in has_lic), data.fx[has_lic], data.fy[has_lic])
    bp = Points(tuple(data.fac_id[k] for k in bases), data.fx[bases], data.fy[bases])
    rows = np.arange(n)
    if len(lp):
        m = travel.minutes(vp, lp)
        near_j = m.argmin(axis=1)
        near_min = m[rows, near_j]
        near = [lp.ids[j] for j in near_j.tolist()]
    else:
        near_min = np.full(n, np.inf)
        near = [""] * n
    rural = set(rule.village_kinds)
    resident = (near_min <= rule.resident_max_minutes).tolist()
    mode = [RESIDENT if r else (URBAN if str(k) not in rural else (CIRCUIT if len(bp) else NO_BASE))
            for r, k in zip(resident, data.kind)]
    base, bmin = [""] * n, np.full(n, np.nan)
    circuit_rows = [i for i in range(n) if mode[i] == CIRCUIT]
    if circuit_rows:
        bm = travel.minutes(vp, bp)
        base_town = np.array([data.fac_town[k] for k in bases], dtype=object)
        by_town: dict[str, list[int]] = {}
        for i in circuit_rows:
            by_town.setdefault(data.township[i], []).append(i)
        for town, idx in by_town.items():
            same = np.flatnonzero(base_town == town)
            at = np.asarray(idx)
            j = same[bm[np.ix_(at, same)].argmin(axis=1)] if len(same) else bm[at].argmin(axis=1)
            bmin[at] = bm[at, j]
            for i, jj in zip(idx, j.tolist()):
                base[i] = bp.ids[jj]
    clinic = clinic_of_village(data)
    clinics = [clinic.get(code, "") for code in data.village]
    pops = data.population.tolist()
    return {"county": [county] * n, "township": list(data.township), "village": list(data.village),
            "village_name": list(data.village_name), "population": pops, "clinic": clinics,
            "licensed_at_clinic": [int(lic.get(c, 0)) if c else 0 for c in clinics],
            "nearest_licensed": near, "nearest_licensed_min": _round2(near_min), "mode": mode, "base": base,
            "base_min": _round2(bmin),
            "visits_required": [rule.visits_for(p) if md in (CIRCUIT, NO_BASE) else 0 for p, md in zip(pops, mode)]}


def classify(region: Region, county: str, rule: CircuitCoverage, travel: TravelModel,
             licensed: pd.Series | dict | None = None) -> pd.DataFrame:
    """One row per village of a county (see `classify_county`), as a frame."""
    from .data import county_data

    lic = dict(licensed_physicians(region) if licensed is None else licensed)
    cols = classify_county(county_data(region, county, {str(k): int(v) for k, v in lic.items()}, {}), rule, travel)
    return pd.DataFrame(cols, columns=MODE_COLUMNS) if cols["village"] else pd.DataFrame(columns=MODE_COLUMNS)
