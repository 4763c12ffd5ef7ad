"""Service mode of every village: a licensed physician within reach (fixed), circuit visits needed, remote links."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..region import Region
from ..travel import Points, TravelModel
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


def clinic_of_village(region: Region, villages: pd.DataFrame) -> dict[str, str]:
    """Village code -> its village clinic's facility id: the clinic `V{code}`, else the nearest clinic not yet taken
    in its township (clinics of a user's roster with other ids)."""
    fac = region.facilities
    own = ~fac["context"].astype(bool).to_numpy() if "context" in fac.columns else np.ones(len(fac), dtype=bool)
    clinics = fac[(fac["kind"].astype(str).to_numpy() == "village_clinic") & own]
    ids = set(map(str, clinics.index))
    out = {str(code): f"V{code}" for code in villages.index if f"V{code}" in ids}
    rest = clinics[~clinics.index.isin(list(out.values()))]
    if rest.empty:
        return out
    free: dict[str, list[tuple[str, float, float]]] = {}
    for fid, town, g in zip(rest.index, rest["township_code"].astype(str), rest.geometry):
        free.setdefault(town, []).append((str(fid), g.x, g.y))
    for code, town, g in zip(villages.index, villages["township_code"].astype(str), villages.geometry):
        code = str(code)
        if code in out or not free.get(town):
            continue
        cands = free[town]
        k = min(range(len(cands)), key=lambda i: ((cands[i][1] - g.x) ** 2 + (cands[i][2] - g.y) ** 2, cands[i][0]))
        out[code] = cands.pop(k)[0]
    return out


def classify(region: Region, county: str, rule: CircuitCoverage, travel: TravelModel,
             licensed: pd.Series | dict | None = None) -> pd.DataFrame:
    """One row per village of a county: population, the nearest licensed physician, mode, base health center, visits.

    Fixed care: a facility of the county with a licensed physician within `resident_max_minutes`
    (the village's own clinic when it has one, a health center or hospital nearby). Otherwise
    circuit visits from the health center (of `base_kinds`) of the village's township, else the
    nearest such center of the county.
    """
    vil = region.villages[(region.village_counties() == county).to_numpy()].sort_index()
    fac = region.facilities
    own = fac[(fac["county_code"].astype(str) == county) & ~fac.get("context", pd.Series(False, index=fac.index)).astype(bool)]
    lic = dict(licensed_physicians(region) if licensed is None else licensed)
    has_lic = own[[int(lic.get(f, 0)) > 0 for f in own.index.tolist()]]
    bases = own[own["kind"].astype(str).isin(rule.base_kinds)].sort_index()
    vp = Points.from_xy(list(vil.index), vil.geometry.x, vil.geometry.y)
    cols = ["county", "township", "village", "village_name", "population", "clinic", "licensed_at_clinic", "nearest_licensed",
            "nearest_licensed_min", "mode", "base", "base_min", "visits_required"]
    if vil.empty:
        return pd.DataFrame(columns=cols)
    lp = Points.from_xy(list(has_lic.index), has_lic.geometry.x, has_lic.geometry.y)
    m = travel.minutes(vp, lp) if len(lp) else np.full((len(vp), 0), np.inf)
    near_j = m.argmin(axis=1) if m.shape[1] else np.zeros(len(vp), dtype=int)
    near_min = m[np.arange(len(vp)), near_j] if m.shape[1] else np.full(len(vp), np.inf)
    bp = Points.from_xy(list(bases.index), bases.geometry.x, bases.geometry.y)
    bm = travel.minutes(vp, bp) if len(bp) else np.full((len(vp), 0), np.inf)
    base_town = bases["township_code"].astype(str).to_numpy()
    clinic = clinic_of_village(region, vil)
    codes = [str(c) for c in vil.index]
    towns = vil["township_code"].astype(str).to_numpy()
    pops = vil["population"].astype("int64").to_numpy()
    vnames = vil["name"].astype(str).tolist()
    kinds = vil["kind"].astype(str).tolist() if "kind" in vil.columns else ["村委会"] * len(vil)
    lic_ids = [str(f) for f in has_lic.index]
    base_ids = [str(f) for f in bases.index]
    rows = []
    for i, code in enumerate(codes):
        pop = int(pops[i])
        c = clinic.get(code, "")
        near = lic_ids[near_j[i]] if m.shape[1] else ""
        mins = float(near_min[i])
        if mins <= rule.resident_max_minutes:
            mode, base, bmin = RESIDENT, "", float("nan")
        elif not rule.rural(kinds[i]):
            mode, base, bmin = URBAN, "", float("nan")
        elif len(bp):
            same = np.flatnonzero(base_town == towns[i])
            j = int(same[np.argmin(bm[i, same])]) if len(same) else int(np.argmin(bm[i]))
            mode, base, bmin = CIRCUIT, base_ids[j], float(bm[i, j])
        else:
            mode, base, bmin = NO_BASE, "", float("nan")
        rows.append({"county": county, "township": towns[i], "village": code, "village_name": vnames[i],
                     "population": pop, "clinic": c, "licensed_at_clinic": int(lic.get(c, 0)) if c else 0,
                     "nearest_licensed": near, "nearest_licensed_min": round(mins, 2) if np.isfinite(mins) else float("nan"),
                     "mode": mode, "base": base, "base_min": round(bmin, 2) if np.isfinite(bmin) else float("nan"),
                     "visits_required": rule.visits_for(pop) if mode in (CIRCUIT, NO_BASE) else 0})
    return pd.DataFrame(rows, columns=cols)
