"""The village phase of a plan: service modes, weekly circuit routes and the remote timetable, per county, as tables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pandas as pd

from ..plan import Plan
from ..region import Region
from ..travel import Points, TravelModel
from .data import CountyData, RegionColumns, county_data
from .modes import CIRCUIT, NO_BASE, RESIDENT, URBAN, classify_county, licensed_physicians
from .routes import TOO_FAR, BasePlan, plan_base
from .rules import HALVES_ZH, WEEKDAYS_ZH, CircuitCoverage, RemoteConsultation
from .timetable import Clinic, solve_timetable

TABLES = ("village_modes", "routes", "circuit_plan", "timetable", "timetable_shortfalls")
"""The village tables of a plan folder (CSV each, and sheets of villages.xlsx), in order."""

UNREACHABLE = "unreachable"
CENTER_ROLE, LEAD_ROLE = "township_center", "lead"
"""Who sends a route's team (routes.csv `role`): a township (or community) health center, or the county lead."""

COLUMNS = {
    "village_modes": ["county", "county_name", "township", "township_name", "village", "village_name", "population",
                      "mode", "clinic", "licensed_at_clinic", "nearest_licensed", "nearest_licensed_min", "base", "base_name",
                      "base_min", "visits_required", "visits_planned", "lead_visits", "visit_days", "reason", "reason_zh", "remote_sessions",
                      "remote_required"],
    "routes": ["county", "base", "base_name", "role", "team", "weekday", "weekday_zh", "stop", "village", "village_name",
               "arrival", "travel_min", "service_min", "route_travel_min", "route_minutes"],
    "circuit_plan": ["county", "county_name", "bases", "villages", "resident", "urban", "circuit", "unreachable", "visits_required",
                     "visits_planned", "routes", "lead_bases", "lead_routes", "travel_min", "lower_bound_min", "gap", "days", "exact_days", "solves", "solver",
                     "timetable_status", "sessions", "sessions_missing"],
    "timetable": ["county", "clinic", "clinic_name", "village", "township", "facility", "facility_name", "role",
                  "consultant", "weekday", "weekday_zh", "half_day", "half_day_zh", "seat", "start", "minutes"],
    "timetable_shortfalls": ["county", "county_name", "center", "center_name", "missing", "message", "message_zh"],
}


@dataclass
class VillageResult:
    """The village tables of one run (empty frames for the parts whose rule is absent) and timings."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """A table by name (an empty frame with its columns when the run has none)."""
        return self.tables.get(name, pd.DataFrame(columns=COLUMNS.get(name, [])))


def village_rules(rules: list) -> tuple[CircuitCoverage | None, RemoteConsultation | None]:
    """The enabled circuit-coverage and remote-consultation rules of a rule file (the first of each kind)."""
    circuit = next((r for r in rules if r.enabled and r.kind == "circuit_coverage"), None)
    remote = next((r for r in rules if r.enabled and r.kind == "remote_consultation"), None)
    return circuit, remote


def _clock(start_min: int, offset_min: float) -> str:
    t = int(round(start_min + offset_min))
    return f"{t // 60:02d}:{t % 60:02d}"


def _short_reason(circuit: CircuitCoverage, center: str, center_min: float, reason: str, lacking: int, need: int,
                  lead: tuple[str, str, float] | None, name: dict[str, str]) -> tuple[str, str]:
    """Why a village lacks visits (English, Chinese): too far for one day, or the teams' week is full; with the
    county lead's teams when they were tried too."""
    cite, cite_zh = f"{circuit.id}, {circuit.citation}", f"{circuit.id}，{circuit.citation}"
    day = f"{circuit.day_minutes:g}"
    if lead is not None:
        lead_name, lead_reason, lead_min = name.get(lead[0], lead[0]), lead[1], lead[2]
        if reason == TOO_FAR and lead_reason == TOO_FAR:
            return (f"too far for one day: {center_min:.0f} min each way from {center}, {lead_min:.0f} from the county lead "
                    f"{lead_name}; + {circuit.service_min:g} min service > {day} min working day ({cite})",
                    f"一日无法往返：距{center}单程{center_min:.0f}分钟，距县级牵头医院{lead_name}单程{lead_min:.0f}分钟，"
                    f"往返加服务{circuit.service_min:g}分钟超过每日工作{day}分钟（{cite_zh}）")
        return (f"{center}'s {circuit.teams_per_center} team(s) and the county lead {lead_name}'s {circuit.lead_teams} "
                f"team(s) have no room for {lacking} of its {need} visits a week in {circuit.working_days} days of "
                f"{day} min ({cite})",
                f"{center}{circuit.teams_per_center}支巡回医疗队和县级牵头医院{lead_name}{circuit.lead_teams}支巡回医疗队"
                f"{circuit.working_days}天（每日{day}分钟）已排满，每周{need}次中缺{lacking}次（{cite_zh}）")
    if reason == TOO_FAR:
        return (f"too far for one day: {center_min:.0f} min each way + {circuit.service_min:g} min service > "
                f"{day} min working day ({cite})",
                f"一日无法往返：单程{center_min:.0f}分钟，往返加服务{circuit.service_min:g}分钟超过每日工作"
                f"{day}分钟（{cite_zh}）")
    return (f"{center}'s {circuit.teams_per_center} team(s) have no room for {lacking} of its "
            f"{need} visits a week in {circuit.working_days} days of {day} min ({cite})",
            f"{center}{circuit.teams_per_center}支巡回医疗队{circuit.working_days}天"
            f"（每日{day}分钟）已排满，每周{need}次中缺{lacking}次（{cite_zh}）")


def county_villages(region: Region, county: str, circuit: CircuitCoverage | None, remote: RemoteConsultation | None,
                    travel: TravelModel, lead_of_township: dict[str, str],
                    licensed: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """The village tables of one county of a region (all of the region's facilities in view), as frames.

    `licensed` (licensed physicians per facility) saves reading the staff layer again; without it
    the region's staff are read."""
    lic = licensed_physicians(region) if licensed is None else licensed
    data = county_data(region, county, {str(k): int(v) for k, v in lic.items()}, lead_of_township)
    return {name: _frame(name, cols) for name, cols in county_tables(data, circuit, remote, travel).items()}


def _frame(name: str, cols: dict[str, list]) -> pd.DataFrame:
    """A table from its columns (an empty frame of the table's columns when it has no rows)."""
    if not cols[COLUMNS[name][0]]:
        return pd.DataFrame(columns=COLUMNS[name])
    return pd.DataFrame(cols, columns=COLUMNS[name])


def _columns(name: str) -> dict[str, list]:
    return {c: [] for c in COLUMNS[name]}


def _transpose(name: str, rows: list[tuple]) -> dict[str, list]:
    """A table's columns from its rows (tuples in COLUMNS order)."""
    if not rows:
        return _columns(name)
    return dict(zip(COLUMNS[name], map(list, zip(*rows))))


def county_tables(data: CountyData, circuit: CircuitCoverage | None, remote: RemoteConsultation | None,
                  travel: TravelModel) -> dict[str, dict[str, list]]:
    """The village tables of one county, as columns (lists) per table."""
    county = data.county
    lic = data.licensed
    pos = {f: k for k, f in enumerate(data.fac_id)}
    name = dict(zip(data.fac_id, data.fac_name))
    county_name = data.county_name
    lead_of_township = data.lead_of_township
    rule = circuit or CircuitCoverage(id="_modes", source="planner assumption: modes only")
    modes = classify_county(data, rule, travel)
    n = len(modes["village"])
    nan = float("nan")
    modes["county_name"] = [county_name] * n
    modes["township_name"] = [data.town_name.get(t, nan) for t in modes["township"]]
    modes["base_name"] = [name.get(b, "") if b else "" for b in modes["base"]]
    mode = modes["mode"]
    route_rows: list[tuple] = []  # one tuple per row in COLUMNS["routes"] order (made columns at the end)
    plan_row = {"county": county, "county_name": county_name, "bases": 0, "villages": n,
                "resident": mode.count(RESIDENT), "urban": mode.count(URBAN),
                "circuit": 0, "unreachable": 0,
                "visits_required": 0, "visits_planned": 0, "routes": 0, "lead_bases": 0, "lead_routes": 0, "travel_min": 0.0, "lower_bound_min": 0.0,
                "gap": 0.0, "days": 0, "exact_days": 0, "solves": 0, "solver": "", "timetable_status": "",
                "sessions": 0, "sessions_missing": 0}
    planned, vdays, reason_en, reason_zh, lead_count = [0] * n, [""] * n, [""] * n, [""] * n, [0] * n
    if circuit is not None and n:
        codes_all = modes["village"]
        idx = {v: k for k, v in enumerate(codes_all)}
        vname = dict(zip(codes_all, modes["village_name"]))
        vx = dict(zip(data.village, data.vx.tolist()))
        vy = dict(zip(data.village, data.vy.tolist()))
        required = modes["visits_required"]
        base_min = modes["base_min"]
        reasons: dict[int, tuple[str, str]] = {}
        days_of: dict[str, list[int]] = {}
        town_of = dict(zip(codes_all, modes["township"]))
        weekday_zh = {d + 1: w for d, w in enumerate(WEEKDAYS_ZH)}

        def route_from(base: str, codes: list[str], visits: dict[str, int], teams: int, prefix: str, role: str,
                       taken: dict[str, set[int]] | None = None) -> tuple[BasePlan, dict[str, float]]:
            """Plan one base's week (a township health center, or the county lead), add its routes to the tables."""
            k0 = pos[base]
            pts = Points.from_xy([base, *codes], [float(data.fx[k0]), *(vx[c] for c in codes)],
                                 [float(data.fy[k0]), *(vy[c] for c in codes)])
            minutes = travel.minutes(pts, pts)
            np.fill_diagonal(minutes, 0.0)
            bp = plan_base(base, codes, visits, minutes, np.column_stack([pts.lon, pts.lat]),
                           service_min=circuit.service_min, day_minutes=circuit.day_minutes,
                           teams=teams, days=circuit.working_days, iterations=circuit.routing_iterations, taken=taken)
            plan_row["bases" if role == CENTER_ROLE else "lead_bases"] += 1
            plan_row["solves"] += bp.solves
            plan_row["days"] += circuit.working_days
            plan_row["exact_days"] += bp.exact_days
            plan_row["travel_min"] += bp.travel_min
            plan_row["lower_bound_min"] += bp.lower_bound_min
            base_name = name.get(base, base)
            for r in bp.routes:
                plan_row["routes"] += 1
                plan_row["lead_routes"] += int(role == LEAD_ROLE)
                team = f"{base}-{prefix}{r.team}"
                route_travel, route_total = round(r.travel_min, 2), round(r.minutes, 2)
                for k, st in enumerate(r.stops):
                    days_of.setdefault(st.village, []).append(r.weekday)
                    route_rows.append((county, base, base_name, role, team, r.weekday, weekday_zh[r.weekday], k + 1,
                                       st.village, vname[st.village], _clock(circuit.start_min, st.arrival_min),
                                       round(st.travel_min, 2), circuit.service_min, route_travel, route_total))
            return bp, {c: float(minutes[0, k + 1]) for k, c in enumerate(codes)}

        short: dict[str, tuple[str, str, int, int]] = {}  # village -> (its center, reason, visits lacking, required)
        by_base: dict[str, list[str]] = {}
        for v, md, b in zip(codes_all, mode, modes["base"]):
            if md == CIRCUIT:
                by_base.setdefault(b, []).append(v)
        for base in sorted(by_base):
            codes = sorted(by_base[base])
            visits = {v: required[idx[v]] for v in codes}
            bp, _ = route_from(base, codes, visits, circuit.teams_per_center, "", CENTER_ROLE)
            for v, (why, lacking) in bp.missing.items():
                short[v] = (base, why, lacking, visits[v])
        # The county lead's own teams (县乡巡诊) take the visits the centers' teams cannot make, on other weekdays.
        lead_tried: dict[str, tuple[str, str, float]] = {}  # village -> (lead, its reason there, minutes from the lead)
        by_lead: dict[str, list[str]] = {}
        if circuit.lead_teams > 0:
            for v in sorted(short):
                lead = lead_of_township.get(town_of[v], "")
                if lead in pos:
                    by_lead.setdefault(lead, []).append(v)
        for lead, codes in sorted(by_lead.items()):
            visits = {v: short[v][2] for v in codes}
            taken = {v: {d - 1 for d in days_of.get(v, [])} for v in codes}
            bp, from_lead = route_from(lead, codes, visits, circuit.lead_teams, "L", LEAD_ROLE, taken)
            for v in codes:
                if v in bp.missing:
                    why, lacking = bp.missing[v]
                    short[v] = (short[v][0], short[v][1], lacking, short[v][3])
                    lead_tried[v] = (lead, why, from_lead[v])
                else:
                    del short[v]
        for v, (base, why, lacking, need) in sorted(short.items()):
            reasons[idx[v]] = _short_reason(circuit, name.get(base, base), base_min[idx[v]], why, lacking, need,
                                            lead_tried.get(v), name)
        for row in route_rows:
            if row[3] == LEAD_ROLE:
                lead_count[idx[row[8]]] += 1
        for v, days in days_of.items():
            planned[idx[v]] = len(days)
            vdays[idx[v]] = ";".join(WEEKDAYS_ZH[d - 1] for d in sorted(days))
        for i, (en, zh) in reasons.items():
            reason_en[i], reason_zh[i] = en, zh
        mode = [UNREACHABLE if (md == CIRCUIT and p < q) else md for md, p, q in zip(mode, planned, required)]
        no_base = (f"no health center of {'/'.join(circuit.base_kinds)} in the county ({circuit.id})",
                   f"县内无可派巡回医疗队的卫生院（{circuit.id}）")
        for i, md in enumerate(mode):
            if md == NO_BASE:
                reason_en[i], reason_zh[i] = no_base
        plan_row["circuit"] = mode.count(CIRCUIT)
        plan_row["unreachable"] = mode.count(UNREACHABLE) + mode.count(NO_BASE)
        plan_row["visits_required"] = int(sum(required))
        plan_row["visits_planned"] = int(sum(planned))
        lb, cost = plan_row["lower_bound_min"], plan_row["travel_min"]
        plan_row["gap"] = round((cost - lb) / cost, 4) if cost > 0 else 0.0
        plan_row["travel_min"], plan_row["lower_bound_min"] = round(cost, 2), round(lb, 2)
        plan_row["solver"] = ("exact (every day enumerated)" if plan_row["exact_days"] == plan_row["days"] else
                              f"exact on {plan_row['exact_days']} of {plan_row['days']} center-days, PyVRP (HGS) on the "
                              "rest with an arc lower bound")
    modes["mode"] = mode
    modes["visits_planned"], modes["visit_days"], modes["lead_visits"] = planned, vdays, lead_count
    modes["reason"], modes["reason_zh"] = reason_en, reason_zh
    tt, shortfalls = _columns("timetable"), _columns("timetable_shortfalls")
    modes["remote_sessions"] = [0] * n
    modes["remote_required"] = [0] * n
    if remote is not None and n:
        kinds = ("township_health_center", "community_health_center")
        centers = sorted((f, t) for f, c, t, kd in zip(data.fac_id, data.fac_county, data.fac_town, data.fac_kind)
                         if c == county and kd in kinds)
        center_of: dict[str, str] = {}
        for fid, t in centers:
            center_of.setdefault(t, fid)
        clinics = []
        village_of = {}
        for v, c, t in zip(modes["village"], modes["clinic"], modes["township"]):
            if c:
                clinics.append(Clinic(c, t, center_of.get(t, ""), lead_of_township.get(t, "")))
                village_of[c] = v
        consultants = {}
        for c in clinics:
            for f, cap in ((c.center, remote.center_consultants), (c.lead, remote.lead_consultants)):
                if f and f not in consultants:
                    have = int(lic.get(f, 0))
                    consultants[f] = have if (cap is None and f == c.center) else min(have, cap if cap is not None else have)
        names = dict(name)
        for c in clinics:
            names.setdefault(c.clinic, c.clinic)
        timetable = solve_timetable(clinics, consultants, remote, names)
        center_of_clinic = {c.clinic: c.center for c in clinics}
        town_of_clinic = {c.clinic: c.township for c in clinics}
        count: dict[str, int] = {}
        start: dict[tuple[int, int], str] = {}
        tt_rows = []  # one tuple per row in COLUMNS["timetable"] order
        for ss in sorted(timetable.sessions, key=lambda ss: (ss.clinic, ss.weekday, ss.half, ss.seat)):
            count[ss.clinic] = count.get(ss.clinic, 0) + 1
            at = (ss.half, ss.seat)
            if at not in start:
                start[at] = remote.session_start(ss.half, ss.seat)
            tt_rows.append((county, ss.clinic, name.get(ss.clinic, ss.clinic), village_of.get(ss.clinic, ""),
                            town_of_clinic[ss.clinic], ss.facility, name.get(ss.facility, ss.facility),
                            "township_center" if ss.facility == center_of_clinic[ss.clinic] else "lead",
                            ss.consultant, ss.weekday, WEEKDAYS_ZH[ss.weekday - 1], ss.half, HALVES_ZH[ss.half],
                            ss.seat + 1, start[at], remote.session_min))
        tt = _transpose("timetable", tt_rows)
        plan_row["timetable_status"] = timetable.status
        plan_row["sessions"] = len(timetable.sessions)
        plan_row["sessions_missing"] = int(sum(timetable.missing.values()))
        for center, text in timetable.explanations:
            for col, value in (("county", county), ("county_name", county_name), ("center", center),
                               ("center_name", name.get(center, center)),
                               ("missing", sum(timetable.missing.get(c.clinic, 0) for c in clinics
                                               if (c.center or c.lead) == center)),
                               ("message", text.en), ("message_zh", text.zh)):
                shortfalls[col].append(value)
        modes["remote_sessions"] = [count.get(c, 0) if c else 0 for c in modes["clinic"]]
        modes["remote_required"] = [remote.sessions_per_week if c else 0 for c in modes["clinic"]]
    return {"village_modes": {c: modes[c] for c in COLUMNS["village_modes"]}, "routes": _transpose("routes", route_rows),
            "circuit_plan": {c: [plan_row[c]] for c in COLUMNS["circuit_plan"]}, "timetable": tt,
            "timetable_shortfalls": shortfalls}


def county_chunk(datas: list[CountyData], rules: list[tuple[CircuitCoverage | None, RemoteConsultation | None]],
                 travel: TravelModel) -> dict[str, dict[str, list]]:
    """The village tables of consecutive counties, their columns joined in county order (a task: module-level, so
    worker processes can run it; one task per chunk of counties, not per county, keeps the pickling small)."""
    out = {name: _columns(name) for name in TABLES}
    for data, (circuit, remote) in zip(datas, rules):
        for name, cols in county_tables(data, circuit, remote, travel).items():
            for c, values in cols.items():
                out[name][c].extend(values)
    return out


def _chunks(sizes: list[int], jobs: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) ranges of the counties, one per task: one range in one process; with workers, of
    similar size (villages), about four counties each (at least MIN_PARALLEL_ITEMS ranges, below which ordered_map
    runs in this process, and four per worker): a county's work is not in proportion to its villages (a full
    week goes to the routing search), so ranges of many neighbouring counties left one worker idle at the end
    (山东省: 潍坊's counties); a task costs little more than its counties' arrays."""
    from ..executor import MIN_PARALLEL_ITEMS

    n = len(sizes)
    if n == 0:
        return []
    parts = 1 if jobs <= 1 else min(n, max(MIN_PARALLEL_ITEMS, 4 * jobs, n // 4))
    if parts == 1:
        return [(0, n)]
    bounds = np.searchsorted(np.cumsum(sizes), np.sum(sizes) * np.arange(1, parts) / parts, side="left") + 1
    cuts = sorted({0, n, *(int(min(max(b, 1), n - 1)) for b in bounds)})
    ranges = list(zip(cuts[:-1], cuts[1:]))
    # Large counties can take several cuts each: halve the ranges of most counties until there are `parts`.
    while len(ranges) < parts:
        k = max(range(len(ranges)), key=lambda i: (ranges[i][1] - ranges[i][0], -i))
        a, b = ranges[k]
        ranges[k:k + 1] = [(a, (a + b) // 2), ((a + b) // 2, b)]
    return ranges


def leads_by_township(plan: Plan) -> dict[str, str]:
    """Township code -> the lead hospital of its community in the plan."""
    return {str(t): str(lead) for t, lead in plan.assignment().items()}


def run_villages(region: Region, plan: Plan, rules: list, travel: TravelModel, *, jobs: int = 1,
                 executor: str = "process", address: str | None = None) -> VillageResult | None:
    """The village tables under the rule file's village rules (None when it has none)."""
    circuit, remote = village_rules(rules)
    if circuit is None and remote is None:
        return None
    from ..executor import ordered_map

    t0 = time.perf_counter()
    lead_of = leads_by_township(plan)
    city = {c: region.city_of(c) for c in region.counties.index}   # once per county, not once per rule and county
    counties = [c for c in sorted(region.counties.index)
                if any(r is not None and r.covers_county(c, city[c]) for r in (circuit, remote))]
    # The licensed physicians per facility are counted once here (grouping the staff per county part cost more than
    # the phase), and every layer's columns are extracted once and cut per county by row positions: a region part
    # of GeoDataFrames per county cost more to build and to send to a worker than the county's routing.
    lic = licensed_physicians(region)
    lic_of = {str(k): int(v) for k, v in zip(lic.index.tolist(), lic.tolist())}
    columns = RegionColumns(region, lic_of, lead_of)
    datas = [columns.county(c) for c in counties]
    rules_of = [(circuit if circuit is not None and circuit.covers_county(c, city[c]) else None,
                 remote if remote is not None and remote.covers_county(c, city[c]) else None) for c in counties]
    chunks = _chunks([len(d.village) + 1 for d in datas], jobs)
    items = [(datas[a:b], rules_of[a:b], travel) for a, b in chunks]
    results = ordered_map(county_chunk, items, jobs=jobs, executor=executor, address=address)
    out = VillageResult()
    for name in TABLES:
        if len(results) == 1:
            cols = results[0][name]
        else:
            cols = {c: list(chain.from_iterable(r[name][c] for r in results)) for c in COLUMNS[name]}
        out.tables[name] = _frame(name, cols)
    out.timings_s["villages_s"] = time.perf_counter() - t0
    return out
