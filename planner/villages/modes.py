"""Service mode of every village: a licensed physician within reach (fixed), circuit visits needed, remote links."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..region import Region
from ..travel import Points, TravelModel
from .rules import CircuitCoverage

RESIDENT, CIRCUIT, NO_BASE = "resident", "circuit", "no_base"
"""Modes before routing: fixed care within reach, circuit visits needed, circuit needed but no health
center in the county can send a team. Routing then marks circuit villages it cannot reach `unreachable`."""

MODE_WORDS = {
    "resident": ("驻村执业医师（固定）", "resident licensed physician (fixed)"),
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
    """Village code -> its village clinic's facility id: the clinic `V{code}`, else the nearest clinic in its township."""
    fac = region.facilities
    clinics = fac[(fac["kind"].astype(str) == "village_clinic") & ~fac.get("context", pd.Series(False, index=fac.index)).astype(bool)]
    out: dict[str, str] = {}
    by_town: dict[str, pd.DataFrame] = {t: g for t, g in clinics.groupby("township_code", sort=True)}
    taken: set[str] = set()
    for code in villages.index:
        fid = f"V{code}"
        if fid in clinics.index:
            out[code] = fid
            taken.add(fid)
    for code, v in villages.iterrows():
        if code in out:
            continue
        g = by_town.get(str(v["township_code"]))
        if g is None:
            continue
        g = g[~g.index.isin(taken)]
        if g.empty:
            continue
        d = (g.geometry.x - v.geometry.x) ** 2 + (g.geometry.y - v.geometry.y) ** 2
        fid = str(d.sort_values(kind="stable").index[0])
        out[code] = fid
        taken.add(fid)
    return out


def classify(region: Region, county: str, rule: CircuitCoverage, travel: TravelModel) -> pd.DataFrame:
    """One row per village of a county: population, the nearest licensed physician, mode, base health center, visits.

    Fixed care: a facility of the county with a licensed physician within `resident_max_minutes`
    (the village's own clinic when it has one, a health center or hospital nearby). Otherwise
    circuit visits from the health center (of `base_kinds`) of the village's township, else the
    nearest such center of the county.
    """
    vil = region.villages[region.villages["code"].astype(str).str[:6] == county].sort_index()
    fac = region.facilities
    own = fac[(fac["county_code"].astype(str) == county) & ~fac.get("context", pd.Series(False, index=fac.index)).astype(bool)]
    lic = licensed_physicians(region)
    has_lic = own[own.index.map(lambda f: int(lic.get(f, 0)) > 0)]
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
    rows = []
    for i, (code, v) in enumerate(vil.iterrows()):
        pop = int(v["population"])
        c = clinic.get(code, "")
        near = str(has_lic.index[near_j[i]]) if m.shape[1] else ""
        mins = float(near_min[i])
        if mins <= rule.resident_max_minutes:
            mode, base, bmin = RESIDENT, "", float("nan")
        elif len(bp):
            same = np.flatnonzero(base_town == str(v["township_code"]))
            j = int(same[np.argmin(bm[i, same])]) if len(same) else int(np.argmin(bm[i]))
            mode, base, bmin = CIRCUIT, str(bases.index[j]), float(bm[i, j])
        else:
            mode, base, bmin = NO_BASE, "", float("nan")
        rows.append({"county": county, "township": str(v["township_code"]), "village": str(code),
                     "village_name": str(v["name"]), "population": pop, "clinic": c,
                     "licensed_at_clinic": int(lic.get(c, 0)) if c else 0, "nearest_licensed": near,
                     "nearest_licensed_min": round(mins, 2) if np.isfinite(mins) else float("nan"), "mode": mode,
                     "base": base, "base_min": round(bmin, 2) if np.isfinite(bmin) else float("nan"),
                     "visits_required": rule.visits_for(pop) if mode != RESIDENT else 0})
    return pd.DataFrame(rows, columns=cols)
