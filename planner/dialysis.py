"""Choose central township health centers for dialysis in counties large enough to have them.

Per eligible county, two exact phases (lexicographic optimisation):

1. maximal covering: open at most k of the candidate centers to maximise the residents whose
   township seat lies within `coverage_minutes` of a dialysis site (existing sites count);
2. with that coverage fixed, minimise population-weighted minutes to the nearest site.

Counties below the population threshold get no site at all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .i18n import Text
from .milp import LinExpr, Model, Status, solve
from .region import Region, positions_by
from .rules.service import DialysisSiting
from .travel import Points, TravelModel


@dataclass
class DialysisResult:
    """Dialysis for one county: new sites, and the residents covered before and after."""

    county: str
    county_name: str
    population: int
    eligible: bool
    status: Status | None
    sites: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    covered_before: int = 0
    covered_after: int = 0
    travel_before_person_min: float = 0.0
    travel_after_person_min: float = 0.0
    served: dict[str, int] = field(default_factory=dict)
    # Out of the repr: the map pages' reuse key reads the repr, and a solve's wall time differs on every run
    # (with it, every county with dialysis was redrawn on an unchanged re-run).
    time_s: float = field(default=0.0, repr=False)
    note: str = ""


@dataclass
class CountyInputs:
    """What siting one county reads, as plain lists and arrays (cheap to cut for thousands of counties and to
    send to worker processes; per-county pandas look-ups were most of the phase).

    Townships in the order sited (`seats`); facilities: the county's central township health centers and its
    facilities offering dialysis (the only ones siting reads), in the county's facility order. `rank_population`
    is each such facility's township population as the ranking reads it (0 when the township is not in view).
    """

    county: str
    county_name: str
    population: int
    town_ids: list[str]
    seat_lon: np.ndarray
    seat_lat: np.ndarray
    town_pop: np.ndarray
    fac_ids: list[str]
    fac_names: list[str]
    fac_towns: list[str]
    central: np.ndarray
    dialysis: np.ndarray
    fac_x: np.ndarray
    fac_y: np.ndarray
    rank_population: list[int]


def _central_mask(fac: pd.DataFrame) -> np.ndarray:
    """Central township health centers (the ones `_ranked` ranks), row by row."""
    return ((fac["kind"] == "township_health_center") & fac["central_thc"].fillna(False).astype(bool)).to_numpy()


def county_inputs(region: Region, county: str, towns: pd.DataFrame, fac: pd.DataFrame) -> CountyInputs:
    """One county's CountyInputs from its townships and facilities frames (ranking by `region.townships`)."""
    central = _central_mask(fac)
    dialysis = fac["dialysis"].astype(bool).to_numpy()
    keep = np.flatnonzero(central | dialysis)
    sub = fac.iloc[keep]
    pop = region.townships["population"]
    fac_towns = [str(t) for t in sub["township_code"]]
    return CountyInputs(
        county, region.county_name(county), int(region.counties.at[county, "population"]),
        [str(t) for t in towns.index], np.asarray(towns["seat_lon"], dtype=float),
        np.asarray(towns["seat_lat"], dtype=float), towns["population"].to_numpy(dtype=np.int64),
        [str(f) for f in sub.index], [str(x) for x in sub["name"]], fac_towns, central[keep], dialysis[keep],
        np.asarray(sub.geometry.x, dtype=float), np.asarray(sub.geometry.y, dtype=float),
        [int(pop.get(t, 0)) for t in sub["township_code"]])


def site_county(region: Region, county: str, rule: DialysisSiting, travel: TravelModel, *,
                backend: str = "highs", time_limit_s: float = 60.0, towns: pd.DataFrame | None = None,
                fac: pd.DataFrame | None = None) -> DialysisResult:
    """Choose dialysis sites in one county (none when it is below the threshold).

    `towns` and `fac` are the county's townships and facilities (`region.townships_of(county)`,
    `region.facilities_of(county)`) when the caller has them already.
    """
    towns = region.townships_of(county) if towns is None else towns
    fac = region.facilities_of(county) if fac is None else fac
    return site_inputs(county_inputs(region, county, towns, fac), rule, travel, backend=backend,
                       time_limit_s=time_limit_s)


def _ranked(c: CountyInputs, rule: DialysisSiting) -> list[str]:
    """The county's central THCs with the most populous townships, most populous first (000 (六) 人口较多).

    Only central township health centers take part in the ranking; a tie in population is broken by
    township code, then by facility order. At most `rule.top_centers` are returned.
    """
    at = np.flatnonzero(c.central).tolist()
    keyed = sorted((-c.rank_population[k], c.fac_towns[k], n) for n, k in enumerate(at))
    return [c.fac_ids[at[n]] for _, _, n in keyed[: rule.top_centers]]


def site_inputs(c: CountyInputs, rule: DialysisSiting, travel: TravelModel, *, backend: str = "highs",
                time_limit_s: float = 60.0) -> DialysisResult:
    """`site_county` on one county's CountyInputs."""
    pop = c.population
    pos = {f: k for k, f in enumerate(c.fac_ids)}
    existing = sorted(f for f, d in zip(c.fac_ids, c.dialysis.tolist()) if d)
    result = DialysisResult(c.county, c.county_name, pop, pop >= rule.min_county_population, None, existing=existing)
    seats = Points(tuple(c.town_ids), c.seat_lon, c.seat_lat)
    w = c.town_pop
    if existing:
        at = [pos[f] for f in existing]
        base = travel.minutes(seats, Points(tuple(existing), c.fac_x[at], c.fac_y[at])).min(axis=1)
        result.covered_before = int(w[base <= rule.coverage_minutes].sum())
        result.travel_before_person_min = float((w * base).sum())
    else:
        base = np.full(len(c.town_ids), np.inf)
    result.covered_after, result.travel_after_person_min = result.covered_before, result.travel_before_person_min
    if not result.eligible:
        result.note = Text(f"{pop:,} residents, below {rule.min_county_population:,}: no dialysis at township health centers",
                           f"常住人口{pop:,}，低于{rule.min_county_population:,}：不在乡镇卫生院开展血透")
        return result
    ranked = _ranked(c, rule)
    cands = sorted(f for f in ranked if not bool(c.dialysis[pos[f]]))
    result.candidates = cands
    if not cands or rule.max_sites_per_county == 0:
        if rule.max_sites_per_county == 0:
            result.note = Text("no sites allowed (max_sites_per_county = 0)", "规则不允许新增血透点（max_sites_per_county = 0）")
        elif ranked:
            result.note = Text("its most populous central township health centers already offer dialysis",
                               "人口较多的中心乡镇卫生院已开展血透")
        else:
            result.note = Text("no central township health center in the county (中心乡镇卫生院): no candidate",
                               "全县没有中心乡镇卫生院：无候选")
        return result
    at = [pos[f] for f in cands]
    t = travel.minutes(seats, Points(tuple(cands), c.fac_x[at], c.fac_y[at]))
    covered, status1, time1 = _max_cover(w, t, base, rule, backend, time_limit_s)
    sites, served, travel_pm, status2, time2 = _min_travel(w, t, base, covered, rule, backend, time_limit_s)
    result.status = status2 if status1 is Status.OPTIMAL else status1
    result.time_s = time1 + time2
    result.sites = [cands[j] for j in sites]
    within = (np.minimum(base, t[:, sites].min(axis=1) if sites else np.inf) <= rule.coverage_minutes)
    result.covered_after = int(w[within].sum())
    result.travel_after_person_min = travel_pm
    result.served = {cands[j]: int(n) for j, n in served.items()}
    if not result.sites and result.status in (Status.OPTIMAL, Status.FEASIBLE):
        names = ", ".join(c.fac_names[pos[f]] for f in cands)
        result.note = Text(f"no candidate brings any township nearer to dialysis than the existing sites ({names})",
                           f"候选机构（{names}）都不能使任何乡镇比现有血透点更近")
    return result


MAX_COVER_SUBSETS = 5_000
"""Phase 1 is solved by trying every set of sites when there are at most this many (C(5, 2) = 10 by default)."""


def _max_cover(w: np.ndarray, t: np.ndarray, base: np.ndarray, rule: DialysisSiting, backend: str,
               time_limit_s: float) -> tuple[int, Status, float]:
    """The most residents within reach of a site (phase 1): its optimum value, status and solve time.

    Only the value is used (phase 2 keeps it), and an optimum's value is unique, so a county
    with few candidates is solved exactly by trying every set of `max_sites_per_county` of them
    (coverage never falls when a site is added): the same value a solver proves, without a
    solver call of a few milliseconds per county. Larger cases go to the solver.
    """
    from itertools import combinations
    from math import comb

    t0 = time.perf_counter()
    k = min(rule.max_sites_per_county, t.shape[1])
    if comb(t.shape[1], k) <= MAX_COVER_SUBSETS:
        already_in = base <= rule.coverage_minutes
        near = (t <= rule.coverage_minutes) & ~already_in[:, None]   # towns a candidate would newly cover
        weights = w.astype(np.int64)
        gained = max(int(weights[near[:, list(sites)].any(axis=1)].sum())
                     for sites in combinations(range(t.shape[1]), k))
        return int(weights[already_in].sum()) + gained, Status.OPTIMAL, time.perf_counter() - t0
    m = Model("dialysis_cover")
    y = [m.binary(f"open[{j}]") for j in range(t.shape[1])]
    m.add(LinExpr.sum((1, v) for v in y), ub=rule.max_sites_per_county, name="max_sites", group=rule.id)
    for i in range(len(w)):
        if base[i] <= rule.coverage_minutes:
            continue
        near = [y[j] for j in range(t.shape[1]) if t[i, j] <= rule.coverage_minutes]
        if near:
            c = m.binary(f"cover[{i}]")
            m.add(LinExpr.sum((1, v) for v in near) - c, lb=0, name=f"cover[{i}]", group="structure")
            m.minimize([(-int(w[i]), c)])
    sol = solve(m, backend, time_limit_s=time_limit_s)
    gained = -int(round(sol.objective or 0.0))
    already = int(w[base <= rule.coverage_minutes].sum())
    return already + gained, sol.status, sol.time_s


def _min_travel(w: np.ndarray, t: np.ndarray, base: np.ndarray, covered: int, rule: DialysisSiting, backend: str,
                time_limit_s: float) -> tuple[list[int], dict[int, int], float, Status, float]:
    """Phase 2: the sites (candidate positions), residents served by each, person-minutes, status and solve time.

    With few candidates every set of them is tried (`_min_travel_enumerated`), else the model is solved.
    """
    from math import comb

    size = min(rule.max_sites_per_county, t.shape[1])
    if comb(t.shape[1], size) <= MAX_COVER_SUBSETS:
        return _min_travel_enumerated(w, t, base, covered, rule)
    return _min_travel_model(w, t, base, covered, rule, backend, time_limit_s)


def _min_travel_enumerated(w: np.ndarray, t: np.ndarray, base: np.ndarray, covered: int,
                           rule: DialysisSiting) -> tuple[list[int], dict[int, int], float, Status, float]:
    """Phase 2 solved exactly by trying every set of `max_sites_per_county` candidates.

    The model's costs: a township's residents times its minutes to the site it uses, rounded to an
    integer (as `_min_travel_model` charges them). Opening a site never raises a township's cost
    nor lowers coverage, so some set of exactly `max_sites_per_county` sites (all candidates when
    fewer) is optimal. For a set, each township uses its cheapest option (an existing site or an
    open one), and that also reaches the set's largest coverage: a site within
    `coverage_minutes` is never dearer than one beyond. So the optimum is the cheapest set whose
    coverage keeps phase 1's. Ties: the first such set in `itertools.combinations` order; each
    township uses the nearest of its cheapest options (the first on a tie: existing sites, then
    candidates in order); a site that no township uses is not opened.
    """
    from itertools import combinations

    t0 = time.perf_counter()
    n, k = t.shape
    size = min(rule.max_sites_per_county, k)
    site_cost = np.rint(w[:, None].astype(np.float64) * t)
    with np.errstate(invalid="ignore"):
        stay_cost = np.where(np.isfinite(base), np.rint(w.astype(np.float64) * base), np.inf)
    reach = rule.coverage_minutes
    best: tuple[float, tuple[int, ...]] | None = None
    for sites in combinations(range(k), size):
        cost = np.column_stack([stay_cost, site_cost[:, list(sites)]])
        cheapest = cost.min(axis=1)
        if not np.isfinite(cheapest).all():
            continue
        near = np.column_stack([base <= reach, t[:, list(sites)] <= reach])
        reached = int(w[(near & (cost == cheapest[:, None])).any(axis=1)].sum())
        total = float(cheapest.sum())
        if reached >= covered and (best is None or total < best[0]):
            best = (total, sites)
    if best is None:
        return [], {}, float((w * base).sum()) if np.isfinite(base).all() else 0.0, Status.INFEASIBLE, \
            time.perf_counter() - t0
    sites = list(best[1])
    cost = np.column_stack([stay_cost, site_cost[:, sites]])
    minutes = np.column_stack([base, t[:, sites]])
    # Each township's cheapest option, the nearest of those (so within reach when one is), the first on a tie.
    use = np.argmin(np.where(cost == cost.min(axis=1)[:, None], minutes, np.inf), axis=1)
    served = {sites[c - 1]: int(w[use == c].sum()) for c in range(1, len(sites) + 1) if (use == c).any()}
    opened = sorted(served)
    chosen = np.minimum(base, t[:, opened].min(axis=1)) if opened else base
    return opened, served, float((w * chosen).sum()), Status.OPTIMAL, time.perf_counter() - t0


def _min_travel_model(w: np.ndarray, t: np.ndarray, base: np.ndarray, covered: int, rule: DialysisSiting,
                      backend: str, time_limit_s: float) -> tuple[list[int], dict[int, int], float, Status, float]:
    """Phase 2 as an integer model (assignment of townships to existing or open sites)."""
    n, k = t.shape
    m = Model("dialysis_travel")
    y = [m.binary(f"open[{j}]") for j in range(k)]
    m.add(LinExpr.sum((1, v) for v in y), ub=rule.max_sites_per_county, name="max_sites", group=rule.id)
    x = {}
    stay = {}
    cover_terms = []
    for i in range(n):
        options = []
        if np.isfinite(base[i]):
            stay[i] = m.binary(f"existing[{i}]")
            options.append(stay[i])
            m.minimize([(int(round(w[i] * base[i])), stay[i])])
            if base[i] <= rule.coverage_minutes:
                cover_terms.append((int(w[i]), stay[i]))
        for j in range(k):
            x[i, j] = m.binary(f"x[{i},{j}]")
            options.append(x[i, j])
            m.add(x[i, j] - y[j], ub=0, name=f"open_only[{i},{j}]", group="structure")
            m.minimize([(int(round(w[i] * t[i, j])), x[i, j])])
            if t[i, j] <= rule.coverage_minutes:
                cover_terms.append((int(w[i]), x[i, j]))
        m.add(LinExpr.sum((1, v) for v in options), lb=1, ub=1, name=f"assign[{i}]", group="structure")
    # Phase 1's coverage must hold: assignment to the nearest site gives it (phase 2 minimises minutes).
    m.add(LinExpr.sum(cover_terms), lb=covered, name="keep_coverage", group="structure")
    sol = solve(m, backend, time_limit_s=time_limit_s)
    if sol.status not in (Status.OPTIMAL, Status.FEASIBLE):
        return [], {}, float((w * base).sum()) if np.isfinite(base).all() else 0.0, sol.status, sol.time_s
    sites = [j for j in range(k) if sol.value(y[j]) > 0.5]
    served = {j: int(sum(w[i] for i in range(n) if sol.value(x[i, j]) > 0.5)) for j in sites}
    chosen = np.minimum(base, t[:, sites].min(axis=1)) if sites else base
    return sites, served, float((w * chosen).sum()), sol.status, sol.time_s


def site_region(region: Region, rules: Sequence, travel: TravelModel, *, backend: str = "highs",
                time_limit_s: float = 60.0, jobs: int = 1, executor: str = "process",
                address: str | None = None) -> list[DialysisResult]:
    """Dialysis for every county of the region under the enabled dialysis rule (empty without one)."""
    from .executor import ordered_map

    rule = next((r for r in rules if r.enabled and r.kind == "dialysis_siting"), None)
    if rule is None:
        return []
    counties = [str(c) for c in sorted(region.counties.index)]
    # One task per city (its counties sited one by one on the city's part of the region), not
    # one per county: a national run cut and shipped 2,800 single-county regions to the workers.
    # A county's result does not depend on which other counties share its part.
    by_city: dict[str, list[str]] = {}
    for c in counties:
        by_city.setdefault(str(region.counties.at[c, "city_code"]), []).append(c)
    groups = list(by_city.values())
    items = [(inputs, rule, travel, backend, time_limit_s) for inputs in region_inputs(region, groups)]
    done = {r.county: r for chunk in ordered_map(_site_task, items, jobs=jobs, executor=executor, address=address)
            for r in chunk}
    return [done[c] for c in counties]


def region_inputs(region: Region, groups: list[list[str]]) -> list[list[CountyInputs]]:
    """CountyInputs of every county of each group (a city's counties), cut from the region's columns read once.

    The same inputs `site_county` reads from the group's part of the region (`region.partition(groups,
    context=False, staff=False)`): each county's townships and facilities sorted by code, and the ranking's
    township populations those of the group's townships (0 for a township outside them), as the part held them.
    """
    fac, towns = region.facilities, region.townships
    central = _central_mask(fac)
    dialysis = fac["dialysis"].astype(bool).to_numpy()
    kept = np.flatnonzero(central | dialysis)   # the only facilities siting reads
    sub = fac.iloc[kept]
    f_id = [str(f) for f in sub.index]
    f_name = [str(x) for x in sub["name"]]
    f_town_raw = sub["township_code"].tolist()
    f_x, f_y = np.asarray(sub.geometry.x, dtype=float), np.asarray(sub.geometry.y, dtype=float)
    f_central, f_dialysis = central[kept], dialysis[kept]
    fac_at = positions_by(sub["county_code"])
    t_id = [str(t) for t in towns.index]
    t_lon = np.asarray(towns["seat_lon"], dtype=float)
    t_lat = np.asarray(towns["seat_lat"], dtype=float)
    t_pop = towns["population"].to_numpy(dtype=np.int64)
    t_county = towns["county_code"].tolist()
    pop_of = dict(zip(towns.index.tolist(), t_pop.tolist()))
    county_of_town = dict(zip(towns.index.tolist(), t_county))
    towns_at = positions_by(towns["county_code"])
    county_pop = region.counties["population"]
    none = np.zeros(0, dtype=np.int64)
    out = []
    for group in groups:
        in_group = set(group)
        chunk = []
        for county in group:
            tr = towns_at.get(county, none)
            tr = tr[np.argsort(np.array([t_id[i] for i in tr], dtype=object), kind="stable")] if len(tr) else tr
            fr = fac_at.get(county, none)
            fr = fr[np.argsort(np.array([f_id[i] for i in fr], dtype=object), kind="stable")] if len(fr) else fr
            fl = fr.tolist()
            chunk.append(CountyInputs(
                county, region.county_name(county), int(county_pop.at[county]),
                [t_id[i] for i in tr], t_lon[tr], t_lat[tr], t_pop[tr],
                [f_id[i] for i in fl], [f_name[i] for i in fl], [str(f_town_raw[i]) for i in fl], f_central[fr],
                f_dialysis[fr], f_x[fr], f_y[fr],
                [int(pop_of.get(f_town_raw[i], 0)) if county_of_town.get(f_town_raw[i]) in in_group else 0 for i in fl]))
        out.append(chunk)
    return out


def _site_task(inputs: list[CountyInputs], rule: DialysisSiting, travel: TravelModel, backend: str,
               time_limit_s: float) -> list[DialysisResult]:
    """A group's counties sited one by one (a task: module-level, so worker processes can run it)."""
    return [site_inputs(c, rule, travel, backend=backend, time_limit_s=time_limit_s) for c in inputs]


def sites_frame(results: Sequence[DialysisResult], region: Region) -> pd.DataFrame:
    """One row per new dialysis site: county, facility, township, residents served."""
    fac, towns = region.facilities, region.townships
    sites = [(r, fid) for r in results for fid in r.sites]
    # One look-up per column (`.loc` raises on an unknown label as `.at` did), not four `.at` per site.
    fids = [fid for _, fid in sites]
    codes = fac["township_code"].loc[fids].tolist() if sites else []
    names = fac["name"].loc[fids].tolist() if sites else []
    town_names = towns["name"].loc[codes].tolist() if sites else []
    town_pops = towns["population"].loc[codes].tolist() if sites else []
    rows = [{"county": r.county, "county_name": r.county_name, "facility_id": fid, "facility_name": name,
             "township_code": t, "township_name": town_name, "township_population": int(pop),
             "residents_served": r.served.get(fid, 0)}
            for (r, fid), name, t, town_name, pop in zip(sites, names, codes, town_names, town_pops)]
    return pd.DataFrame(rows, columns=["county", "county_name", "facility_id", "facility_name", "township_code",
                                       "township_name", "township_population", "residents_served"])


def coverage_frame(results: Sequence[DialysisResult]) -> pd.DataFrame:
    """One row per county: eligible or not, sites, residents within reach before and after."""
    rows = [{"county": r.county, "county_name": r.county_name, "population": r.population, "eligible": r.eligible,
             "existing_sites": len(r.existing), "new_sites": len(r.sites), "covered_before": r.covered_before,
             "covered_after": r.covered_after,
             "share_before": round(r.covered_before / r.population, 4) if r.population else 0.0,
             "share_after": round(r.covered_after / r.population, 4) if r.population else 0.0,
             "mean_min_before": round(r.travel_before_person_min / r.population, 2) if r.population else 0.0,
             "mean_min_after": round(r.travel_after_person_min / r.population, 2) if r.population else 0.0,
             "status": r.status.value if r.status is not None else "", "note": r.note} for r in results]
    return pd.DataFrame(rows)
