"""The access phase of a plan: every access figure from the region, the plan and its dispatch, as tables."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..milp import Status
from ..plan import Plan
from ..region import Region
from ..schema import EMERGENCY_CENTERS, SHARED_CENTERS
from ..travel import TravelModel
from .choice import choice_inputs, county_shares, huff, sensitivity
from .coverage import center_mask, coverage_frame
from .covering import cover_path
from .equity import gini, share_below
from .fca import decay_weights, two_step_fca_pairs
from .matrix import AccessMatrix, build_matrix, reach_bound, slim
from .counties import county_names, rows_by
from .rules import AccessIndicators, EmergencyCenters, SharedCenters, VisitShareModel, VisitShareTarget
from .shared import start_shared

TABLES = ("emergency_coverage", "emergency_upgrades", "shared_hosts", "courier_trips", "access_townships",
          "access_equity", "visit_shares", "visit_targets", "visit_sensitivity")
"""The access tables of a plan folder (CSV each, and sheets of access.xlsx), in order."""


@dataclass
class AccessResult:
    """The access tables of one run (empty frames for the parts whose rule is absent) and timings."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame:
        """A table by name (an empty frame when the run has none)."""
        # Not `get(name, pd.DataFrame())`: that builds the default frame on every call (0.1 ms each), and the
        # access report asks for a table about seven times per county (the country: ~20,000 calls).
        frame = self.tables.get(name)
        return frame if frame is not None else pd.DataFrame()


def plan_scopes(plan: Plan, region: Region) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """Unit id -> (scope, county codes, city code) of a plan's units, to tell which units a rule covers."""
    out = {}
    for uid, up in plan.units.items():
        if up.scope == "city":
            city = uid.split(":", 1)[-1]
            out[uid] = ("city", tuple(region.city_counties(city)), city)
        else:
            out[uid] = ("county", (uid,), region.city_of(uid))
    return out


def _first(rules: list, kind: str):
    return next((r for r in rules if r.enabled and r.kind == kind), None)


def run_access(region: Region, plan: Plan, rules: list, travel: TravelModel, *, roster: list | None = None,
               units: list | None = None, backend: str = "cpsat", jobs: int = 1, executor: str = "process",
               address: str | None = None) -> AccessResult | None:
    """Compute the access tables under the rule file's access rules (None when it has none).

    `jobs`, `executor`, `address` (as for the plan's phases): the counties' covering models and the
    shared centers' courier routing run on worker processes when jobs > 1, with the same results (the
    routing only with the great-circle travel model, whose minutes count no OD fallbacks that a worker
    would keep to itself).
    """
    active = [r for r in rules if r.enabled and type(r).stage == "access"]
    if not active:
        return None
    out = AccessResult()
    t0 = time.perf_counter()
    tables: dict[str, pd.DataFrame] = {}
    # The workers' tasks are sent first and collected last (planner.executor.start_map): the courier routing
    # (which needs no matrix) and the covering models run while this process builds the matrix and computes
    # the 2SFCA and Huff tables. Every part is computed on its own, so the tables are the same; they are
    # put in `out.tables` in the order below, as before.
    shared = [r for r in active if r.kind == "shared_centers"]
    shared_jobs = []
    if shared:
        t = time.perf_counter()
        scopes = {u.id: (u.scope, tuple(u.county_codes), u.city_code) for u in (units or [])}
        shared_jobs = [(rule, start_shared(region, plan, rule, travel, scopes,
                                           jobs=jobs if travel.straight_only else 1, executor=executor,
                                           address=address)) for rule in shared]
        out.timings_s["shared_s"] = time.perf_counter() - t
    # Only the pairs within the largest reach the rules read are kept (the whole country's dense matrix
    # would not fit in memory); beyond it the nearest facility is found exactly on demand.
    t = time.perf_counter()
    matrix = build_matrix(region, travel, reach_bound(rules))
    out.timings_s["matrix_s"] = time.perf_counter() - t
    emergency = _first(rules, "emergency_centers")
    upgrades_job = None
    if emergency is not None:
        t = time.perf_counter()
        upgrades_job = start_upgrades(region, matrix, emergency, backend, jobs=jobs, executor=executor,
                                      address=address)
        out.timings_s["emergency_s"] = time.perf_counter() - t
    indicators = _first(rules, "access_indicators")
    if indicators is not None:
        t = time.perf_counter()
        tables["access_townships"], tables["access_equity"] = access_frames(region, matrix, indicators, roster or [])
        out.timings_s["fca_s"] = time.perf_counter() - t
    model = _first(rules, "visit_share_model")
    if model is not None:
        t = time.perf_counter()
        inp = choice_inputs(region, matrix, model.working_days)
        res = huff(inp, model)
        shares = county_shares(inp, res, region)
        served = res.visits.sum() + res.unserved
        shares["unserved_share_region"] = round(res.unserved / served, 4) if served else 0.0
        tables["visit_shares"] = shares
        targets = [r for r in active if r.kind == "visit_share_target"]
        tables["visit_targets"] = targets_frame(shares, targets)
        tables["visit_sensitivity"] = sensitivity(inp, model, region, res)
        out.timings_s["visits_s"] = time.perf_counter() - t
    if upgrades_job is not None:
        t = time.perf_counter()
        upgrades = upgrades_job()
        chosen: dict[str, set[str]] = {}
        for row in upgrades.itertuples():
            if row.k == row.k_max:
                chosen.setdefault(row.center, set()).add(row.facility_id)
        out.tables["emergency_coverage"] = coverage_frame(matrix, region, emergency.centers, emergency.max_minutes, chosen)
        out.tables["emergency_upgrades"] = upgrades
        out.timings_s["emergency_s"] += time.perf_counter() - t
    if shared_jobs:
        t = time.perf_counter()
        hosts, trips = [], []
        for rule, finish in shared_jobs:
            sp = finish()
            hosts += [{"rule_id": rule.id, **h.__dict__} for h in sp.hosts]
            trips += [{"rule_id": rule.id, **x.__dict__} for x in sp.trips]
        out.tables["shared_hosts"] = shared_hosts_frame(hosts, region)
        out.tables["courier_trips"] = courier_frame(trips, region)
        out.timings_s["shared_s"] += time.perf_counter() - t
    out.tables.update(tables)
    out.timings_s["access_s"] = time.perf_counter() - t0
    return out


def _cover(weights: np.ndarray, reach: np.ndarray, k_max: int, backend: str, time_limit_s: float, name: str):
    """One county's covering path (a worker's task)."""
    return cover_path(weights, reach, k_max, backend=backend, time_limit_s=time_limit_s, name=name)


def emergency_upgrades(region: Region, matrix: AccessMatrix, rule: EmergencyCenters, backend: str, *, jobs: int = 1,
                       executor: str = "process", address: str | None = None) -> pd.DataFrame:
    """Per county, the exact optimal upgrades for 1 ... max_new_centers new centers, with marginal gains."""
    return start_upgrades(region, matrix, rule, backend, jobs=jobs, executor=executor, address=address)()


def start_upgrades(region: Region, matrix: AccessMatrix, rule: EmergencyCenters, backend: str, *, jobs: int = 1,
                   executor: str = "process", address: str | None = None) -> Callable[[], pd.DataFrame]:
    """`emergency_upgrades` with the counties' covering models sent to the workers now
    (planner.executor.start_map); the function returned waits for them and gives the table."""
    from ..executor import start_map

    fac = matrix.facilities
    towns = matrix.towns
    pop = towns["population"].to_numpy(dtype=np.int64)
    county_of = towns["county_code"].to_numpy()
    covered = {c: matrix.within(center_mask(fac, c), rule.max_minutes) for c in rule.centers}
    near_rows, near_cols, _ = matrix.pairs(rule.max_minutes)
    local_col, local_row = np.full(len(fac), -1), np.full(len(towns), -1)  # reset after each county
    light = slim(fac)
    kinds = {c: rule.kinds_for(c) for c in rule.centers}
    cands_of: dict[str, list[tuple[str, str]]] = {}
    county_level = light[light["admin_level"] == "county"]
    has = {c: county_level[c].to_numpy() for c in rule.centers}
    for k, (fid, kind, county) in enumerate(zip(county_level.index, county_level["kind"], county_level["county_code"])):
        for center in rule.centers:
            if kind in kinds[center] and not has[center][k]:
                cands_of.setdefault(str(county), []).append((str(fid), center))
    towns_of = rows_by(county_of)
    problems: list[tuple[str, list[tuple[str, str]], int]] = []
    tasks: list[tuple] = []
    names = county_names(region)
    for county in sorted(region.counties.index):
        sel = towns_of.get(county, np.array([], dtype=int))
        cands = sorted(cands_of.get(county, []), key=lambda fc: (rule.centers.index(fc[1]), fc[0]))
        if not cands or rule.max_new_centers == 0:
            continue
        # Demand rows: (township, center) pairs not yet within reach; candidate columns.
        demand, weights = [], []
        for center in rule.centers:
            for i in sel:
                if not covered[center][i]:
                    demand.append((i, center))
                    weights.append(pop[i])
        if not demand:
            continue
        reach = np.zeros((len(demand), len(cands)), dtype=bool)
        rows_of = {c: [q for q, (_, cc) in enumerate(demand) if cc == c] for c in rule.centers}
        # The county's pairs within reach, as a small dense block: its townships x the candidates' columns.
        cand_cols = np.array([matrix.column(f) for f, _ in cands])
        distinct = np.unique(cand_cols)
        local_col[distinct] = np.arange(len(distinct))
        local_row[sel] = np.arange(len(sel))
        block = np.zeros((len(sel), len(distinct)), dtype=bool)
        lo, hi = np.searchsorted(near_rows, [sel.min(), sel.max() + 1]) if len(sel) else (0, 0)
        r, c = near_rows[lo:hi], near_cols[lo:hi]
        ok = (local_col[c] >= 0) & (local_row[r] >= 0)
        block[local_row[r[ok]], local_col[c[ok]]] = True
        for j, (f, center) in enumerate(cands):
            q = rows_of[center]
            if q:
                reach[q, j] = block[local_row[[demand[x][0] for x in q]], local_col[cand_cols[j]]]
        local_col[distinct], local_row[sel] = -1, -1
        # Candidates that would cover exactly the same residents are one choice (hospitals sharing a seat):
        # keep the first (a general hospital before a TCM or maternal-child one, then by id).
        rank = {"general_hospital": 0, "maternal_child_hospital": 1, "tcm_hospital": 2}
        keep: dict[tuple, int] = {}
        for j in sorted(range(len(cands)), key=lambda j: (rank.get(str(light.at[cands[j][0], "kind"]), 9), cands[j][0])):
            keep.setdefault((cands[j][1], reach[:, j].tobytes()), j)
        cols_kept = sorted(keep.values())
        cands, reach = [cands[j] for j in cols_kept], reach[:, cols_kept]
        problems.append((county, cands, int(sum(pop[i] for i in sel)) * len(rule.centers) - int(np.sum(weights))))
        tasks.append((np.array(weights), reach, rule.max_new_centers, backend, rule.time_limit_s,
                      f"emergency_cover[{county}]"))
    # The counties' covering models on the plan's workers when jobs > 1 (each solve single-threaded with a
    # fixed seed: the same optima in the same order whatever runs them).
    solved = start_map(_cover, tasks, jobs=jobs, executor=executor, address=address)
    return lambda: _upgrades_frame(problems, solved(), light, names)


def _upgrades_frame(problems: list[tuple[str, list[tuple[str, str]], int]], paths: list, light: pd.DataFrame,
                    names: dict[str, str]) -> pd.DataFrame:
    """The upgrades table from the counties' covering paths (in the counties' order)."""
    rows = []
    for (county, cands, base), path in zip(problems, paths):
        order = {j: n + 1 for n, j in enumerate(path.order)}
        for step in path.steps:
            for j in step.chosen:
                f, center = cands[j]
                rows.append({"county": county, "county_name": names.get(county, str(county)), "k": step.k,
                             "k_max": path.steps[-1].k, "center": center, "center_zh": EMERGENCY_CENTERS[center][0],
                             "facility_id": f, "facility_name": str(light.at[f, "name"]),
                             "order": order.get(j) if path.nested else None, "gained_total": step.gained,
                             "marginal_gain": step.marginal, "covered_before_person_centers": base,
                             "status": step.status.value, "nested": path.nested, "candidates": len(cands)})
    cols = ["county", "county_name", "k", "k_max", "center", "center_zh", "facility_id", "facility_name", "order",
            "gained_total", "marginal_gain", "covered_before_person_centers", "status", "nested", "candidates"]
    return pd.DataFrame(rows, columns=cols)


def _names_of(fac: pd.DataFrame, ids: set[str]) -> dict[str, str]:
    """Facility id -> name (as `str(fac.at[id, "name"])`) for the ids given, in one look-up."""
    ids = sorted(ids)
    return dict(zip(ids, (str(x) for x in fac.loc[ids, "name"].tolist()))) if ids else {}


def shared_hosts_frame(rows: list[dict], region: Region) -> pd.DataFrame:
    """One row per community and shared center: the host, whether it runs it now, whether it is required."""
    fac = region.facilities
    cols = ["rule_id", "community", "unit", "county", "county_name", "lead", "lead_name", "center", "center_zh", "host",
            "host_name", "status", "required"]
    names, fac_name = county_names(region), _names_of(fac, {r[k] for r in rows for k in ("lead", "host")})
    out = [{**r, "county_name": names.get(r["county"], str(r["county"])), "lead_name": fac_name[r["lead"]],
            "center_zh": SHARED_CENTERS[r["center"]][0], "host_name": fac_name[r["host"]]} for r in rows]
    return pd.DataFrame(out, columns=cols)


def courier_frame(rows: list[dict], region: Region) -> pd.DataFrame:
    """One row per courier trip: host, its stops in order (ids joined by ';'), minutes and solve status."""
    fac = region.facilities
    cols = ["rule_id", "community", "unit", "county", "county_name", "host", "host_name", "trip", "n_stops", "stops",
            "stop_names", "minutes", "status"]
    names = county_names(region)
    fac_name = _names_of(fac, {r["host"] for r in rows} | {s for r in rows for s in r["stops"]})
    out = [{**{k: v for k, v in r.items() if k != "stops"}, "county_name": names.get(r["county"], str(r["county"])),
            "host_name": fac_name[r["host"]], "n_stops": len(r["stops"]), "stops": ";".join(r["stops"]),
            "stop_names": "；".join(fac_name[s] for s in r["stops"])} for r in rows]
    return pd.DataFrame(out, columns=cols)


def _after_dispatch(matrix: AccessMatrix, roster: list) -> np.ndarray:
    """Physicians per facility after the plan's year-round dispatch (senders lose them, receivers gain them)."""
    phys = matrix.physicians.copy()
    index = {f: k for k, f in enumerate(matrix.facilities.index)}
    for r in roster:
        if r.source in index and r.target in index:
            phys[index[r.source]] -= r.count
            phys[index[r.target]] += r.count
    return phys


def access_frames(region: Region, matrix: AccessMatrix, rule: AccessIndicators, roster: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """2SFCA per township (physicians before/after dispatch, beds) and equity per county."""
    pop = matrix.population
    rows, cols, minutes = matrix.pairs(rule.max_minutes)
    w = decay_weights(minutes, rule.max_minutes, rule.decay, rule.sigma_min)  # once for the three measures
    before = two_step_fca_pairs(pop, matrix.physicians, rows, cols, w) * 1000
    after = two_step_fca_pairs(pop, _after_dispatch(matrix, roster), rows, cols, w) * 1000
    beds = two_step_fca_pairs(pop, matrix.beds, rows, cols, w) * 1000
    towns = matrix.towns
    frame = pd.DataFrame({"township": towns.index, "township_name": towns["name"].to_numpy(),
                          "county": towns["county_code"].to_numpy(), "population": pop.astype(np.int64),
                          "physicians_per_1000": before.round(6), "physicians_per_1000_after": after.round(6),
                          "beds_per_1000": beds.round(6)})
    weight = pop.sum()
    mean = {k: float((pop * v).sum() / weight) if weight else 0.0 for k, v in
            (("physicians", before), ("physicians_after", after), ("beds", beds))}
    rows = []
    names = county_names(region)
    rows_of = rows_by(frame["county"].to_numpy())
    for county in sorted(region.counties.index):
        sel = rows_of.get(str(county), np.zeros(0, dtype=int))
        p = pop[sel]
        row = {"county": county, "county_name": names.get(county, str(county)), "population": int(p.sum())}
        for key, values in (("physicians", before), ("physicians_after", after), ("beds", beds)):
            v = values[sel]
            row[f"{key}_mean"] = round(float((p * v).sum() / p.sum()), 6) if p.sum() else 0.0
            row[f"{key}_gini"] = round(gini(v, p), 6)
            row[f"{key}_low_share"] = round(share_below(v, p, rule.low_share_of_mean * mean[key]), 6)
        row["low_threshold_physicians"] = round(rule.low_share_of_mean * mean["physicians"], 6)
        rows.append(row)
    return frame, pd.DataFrame(rows)


def targets_frame(shares: pd.DataFrame, targets: list[VisitShareTarget]) -> pd.DataFrame:
    """One row per county and target rule: the estimated share, the target and the gap (target - estimate)."""
    rows = []
    for rule in targets:
        col = "primary_share_est" if rule.measure == "primary" else "in_county_share_est"
        for r in shares.itertuples():
            est = getattr(r, col)
            ok = rule.counties is None or r.county in rule.counties
            if not ok or pd.isna(est):
                continue
            rows.append({"county": r.county, "county_name": r.county_name, "rule_id": rule.id, "measure": rule.measure,
                         "year": rule.year, "target": rule.min_share, "estimate": est,
                         "gap_points": round((rule.min_share - est) * 100, 2), "meets": bool(est >= rule.min_share),
                         "source": rule.source, "label": "model estimate (模型估算)"})
    return pd.DataFrame(rows, columns=["county", "county_name", "rule_id", "measure", "year", "target", "estimate",
                                       "gap_points", "meets", "source", "label"])


__all__ = ["TABLES", "AccessResult", "Status", "run_access"]
