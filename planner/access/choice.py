"""Where residents seek care: a capacity-constrained gravity (Huff) model, for visit-share ESTIMATES.

Residents of township i make D_i = population x visits_per_capita visits a year and choose
facility j with probability s_j u_ij / sum_k s_k u_ik, where u_ij = (w_j C_j)^alpha exp(-beta t_ij)
for facilities within `max_minutes` (and always the township's own health centers and village
clinics, counted together at the seat), C_j is the annual capacity (daily outpatient slots x
working days) and w_j the primary-care weight. The shadow factors s_j start at 1 and shrink as
s_j <- s_j min(1, C_j / load_j) until no facility is over capacity (or `iterations` run out):
residents who find a facility full go to the next best. The figures are MODEL ESTIMATES of the
synthesized facilities, not observed visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..region import Region
from .matrix import AccessMatrix
from .counties import county_names
from .rules import VisitShareModel

PRIMARY_KINDS = ("township_health_center", "community_health_center", "village_clinic")

SPARSE_PAIRS = 100_000
"""Township-facility pairs from which the model's products use scipy.sparse instead of bincount."""


@dataclass(frozen=True)
class ChoiceInputs:
    """What the model needs, as arrays: demand per township, capacities, kinds and counties of the options.

    The township-facility pairs are the matrix's stored ones (every pair within its bound, and each
    facility with its own township), in row-major order: `rows`, `cols`, their `minutes`, and
    `own_town` (the facility is a primary-care facility of that township).
    """

    demand_pop: np.ndarray
    town_county: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    minutes: np.ndarray
    capacity: np.ndarray
    primary: np.ndarray
    fac_county: np.ndarray
    own_town: np.ndarray
    clinic_capacity: np.ndarray
    town_county_id: np.ndarray
    fac_county_id: np.ndarray
    bound_min: float = float("inf")


@dataclass(frozen=True)
class ChoiceResult:
    """Estimated visits: per township, its primary-care and in-county visits; per facility, its load."""

    visits: np.ndarray
    primary_visits: np.ndarray
    in_county_visits: np.ndarray
    load: np.ndarray
    clinic_load: np.ndarray
    overloaded: int
    iterations: int
    unserved: float = 0.0


def choice_inputs(region: Region, matrix: AccessMatrix, working_days: int) -> ChoiceInputs:
    """Arrays of the model from the region and its township-to-facility minutes."""
    fac = matrix.facilities
    towns = matrix.towns
    # Counties as small integers: the in-county test compares every township with every facility.
    codes = {c: k for k, c in enumerate(sorted(set(towns["county_code"].astype(str)) | set(fac["county_code"].astype(str))))}
    clinics = region.facilities[region.facilities["kind"] == "village_clinic"]
    per_town = clinics.groupby("township_code")["daily_outpatient_slots"].sum()
    # One reindex, not a Series.get per township (41,351 for the country): the same values as floats.
    clinic_cap = per_town.reindex(towns.index, fill_value=0).to_numpy(dtype=float) * working_days
    primary = fac["kind"].isin(PRIMARY_KINDS).to_numpy()
    # The facility's own township as a row (-1 outside the region's townships), compared per stored pair.
    own_row = towns.index.astype(str).get_indexer(fac["township_code"].astype(str))
    rows, cols = matrix.rows, matrix.cols
    return ChoiceInputs(
        demand_pop=towns["population"].to_numpy(dtype=float), town_county=towns["county_code"].to_numpy().astype(str),
        town_county_id=towns["county_code"].astype(str).map(codes).to_numpy(),
        fac_county_id=fac["county_code"].astype(str).map(codes).to_numpy(),
        rows=rows, cols=cols, minutes=matrix.minutes,
        capacity=fac["daily_outpatient_slots"].to_numpy(dtype=float) * working_days,
        primary=primary, fac_county=fac["county_code"].to_numpy().astype(str),
        own_town=(own_row[cols] == rows) & primary[cols], clinic_capacity=clinic_cap,
        bound_min=matrix.bound_min)


def huff(inp: ChoiceInputs, rule: VisitShareModel) -> ChoiceResult:
    """Run the capacity-constrained Huff model (see the module docstring).

    A facility serves at most `max_utilization` x its capacity; visits still over that after
    the iterations are not served by the modelled facilities (private clinics and specialty
    hospitals are not in the data) and are left out of the shares (`unserved`). Only the
    township-facility pairs within reach are stored (a sparse matrix).
    """
    demand = inp.demand_pop * rule.visits_per_capita
    weight = np.where(inp.primary, rule.primary_weight, 1.0)
    attract = np.power(np.maximum(inp.capacity * weight, 0.0), rule.alpha)
    if rule.max_minutes > inp.bound_min:
        msg = f"the visit-share model reaches {rule.max_minutes:g} min, the access matrix only {inp.bound_min:g}"
        raise ValueError(msg)
    pick = ((inp.minutes <= rule.max_minutes) | inp.own_town) & (inp.capacity > 0)[inp.cols]
    rows, cols = inp.rows[pick], inp.cols[pick]
    vals = attract[cols] * np.exp(-rule.beta_per_min * inp.minutes[pick])
    n_town, n_fac = len(inp.demand_pop), len(inp.capacity)
    # u (township x facility, the stored pairs) times a vector. Each sum adds the same products in the
    # same order (pairs in row-major order) by bincount as by a CSR product, so the figures are the
    # same to the last bit either way: bincount below SPARSE_PAIRS pairs (a county's or a city's run
    # does not pay scipy's import, 0.1 s CPU, 0.3-0.7 s wall), scipy.sparse above (3-4x faster a product).
    if len(vals) >= SPARSE_PAIRS:
        from scipy.sparse import csr_matrix

        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_town))])
        u = csr_matrix((vals, cols, indptr), shape=(n_town, n_fac))
        ut = u.T

        def u_times(x: np.ndarray) -> np.ndarray:
            return u @ x

        def ut_times(y: np.ndarray) -> np.ndarray:
            return ut @ y
    else:
        def u_times(x: np.ndarray) -> np.ndarray:
            return np.bincount(rows, weights=vals * x[cols], minlength=n_town)

        def ut_times(y: np.ndarray) -> np.ndarray:
            return np.bincount(cols, weights=vals * y[rows], minlength=n_fac)

    uc = np.where(inp.clinic_capacity > 0,
                  np.power(np.maximum(inp.clinic_capacity * rule.primary_weight, 0.0), rule.alpha), 0.0)
    cap, ccap = inp.capacity * rule.max_utilization, inp.clinic_capacity * rule.max_utilization
    s = np.ones(n_fac)
    sc = np.ones(len(uc))
    it = 0
    for it in range(1, rule.iterations + 1):
        # load_j = s_j sum_i D_i u_ij / total_i: two sparse matrix-vector products per round.
        total = u_times(s) + uc * sc
        ratio = np.divide(demand, total, out=np.zeros_like(demand), where=total > 0)
        load, cload = s * ut_times(ratio), sc * uc * ratio
        over, cover = load > cap * (1 + 1e-6), cload > ccap * (1 + 1e-6)
        if not over.any() and not cover.any():
            break
        s = np.where(over, s * cap / np.maximum(load, 1e-12), s)
        sc = np.where(cover, sc * ccap / np.maximum(cload, 1e-12), sc)
    total = u_times(s) + uc * sc
    ratio = np.divide(demand, total, out=np.zeros_like(demand), where=total > 0)
    load, cload = s * ut_times(ratio), sc * uc * ratio
    # The served part of each facility's load (1 unless it is still over its cap after the iterations).
    keep = np.minimum(1.0, np.divide(cap, load, out=np.ones_like(load), where=load > 0))
    ckeep = np.minimum(1.0, np.divide(ccap, cload, out=np.ones_like(cload), where=cload > 0))
    flow = vals * (s * keep)[cols] * ratio[rows]  # served visits from township i to facility j, per stored pair
    clinic = uc * sc * ckeep * ratio
    served = np.bincount(rows, weights=flow, minlength=len(demand)) + clinic
    prim = np.bincount(rows, weights=flow * inp.primary[cols], minlength=len(demand)) + clinic
    same = inp.fac_county_id[cols] == inp.town_county_id[rows]
    in_county = np.bincount(rows, weights=flow * same, minlength=len(demand)) + clinic
    overloaded = int((keep < 0.999).sum() + (ckeep < 0.999).sum())
    return ChoiceResult(served, prim, in_county, load * keep, cload * ckeep, overloaded, it,
                        float(demand.sum() - served.sum()))


def county_shares(inp: ChoiceInputs, res: ChoiceResult, region: Region) -> pd.DataFrame:
    """Per county: estimated visits, primary-care share and in-county share (model estimates)."""
    frame = pd.DataFrame({"county": inp.town_county, "visits": res.visits, "primary": res.primary_visits,
                          "in_county": res.in_county_visits})
    g = frame.groupby("county", sort=True).sum()
    names = county_names(region)
    out = pd.DataFrame({"county": g.index, "county_name": [names.get(c, str(c)) for c in g.index],
                        "visits_per_year": g["visits"].round(0).astype("int64").to_numpy(),
                        "primary_share_est": (g["primary"] / g["visits"].where(g["visits"] > 0)).round(4).to_numpy(),
                        "in_county_share_est": (g["in_county"] / g["visits"].where(g["visits"] > 0)).round(4).to_numpy()})
    return out.reset_index(drop=True)


def sensitivity(inp: ChoiceInputs, rule: VisitShareModel, region: Region, base: ChoiceResult | None = None) -> pd.DataFrame:
    """Region-wide and per-county estimated shares with beta, alpha and the primary weight scaled by each factor
    (`base`: the run with the rule's own parameters, when already made)."""
    rows = []
    runs = [("base", 1.0, rule, base)]
    for name in ("beta_per_min", "alpha", "primary_weight"):
        for f in rule.sensitivity:
            if f != 1.0:
                runs.append((name, f, rule.model_copy(update={name: getattr(rule, name) * f}), None))
    for name, f, r, done in runs:
        res = done if done is not None else huff(inp, r)
        shares = county_shares(inp, res, region)
        total = res.visits.sum()
        rows.append({"parameter": name, "factor": f, "value": getattr(r, name) if name != "base" else None,
                     "county": "total", "county_name": region.name,
                     "primary_share_est": round(float(res.primary_visits.sum() / total), 4) if total else None,
                     "in_county_share_est": round(float(res.in_county_visits.sum() / total), 4) if total else None,
                     "overloaded_facilities": res.overloaded})
        for row in shares.itertuples():
            rows.append({"parameter": name, "factor": f, "value": getattr(r, name) if name != "base" else None,
                         "county": row.county, "county_name": row.county_name, "primary_share_est": row.primary_share_est,
                         "in_county_share_est": row.in_county_share_est, "overloaded_facilities": None})
    return pd.DataFrame(rows)


__all__ = ["ChoiceInputs", "ChoiceResult", "choice_inputs", "county_shares", "huff", "sensitivity"]
