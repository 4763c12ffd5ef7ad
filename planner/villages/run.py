"""The village phase of a plan: service modes, weekly circuit routes and the remote timetable, per county, as tables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..plan import Plan
from ..region import Region
from ..travel import Points, TravelModel
from .modes import CIRCUIT, NO_BASE, RESIDENT, URBAN, classify, licensed_physicians
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
    """The village tables of one county (a task: module-level, so worker processes can run it).

    `licensed` (licensed physicians per facility) saves reading the staff layer again; without it
    the region's staff are read."""
    lic = (licensed_physicians(region) if licensed is None else licensed).to_dict()  # dict lookups: thousands per county
    fac = region.facilities
    name = fac["name"].astype(str).to_dict()
    town_name = region.townships["name"].astype(str).to_dict()
    county_name = region.county_name(county)
    rule = circuit or CircuitCoverage(id="_modes", source="planner assumption: modes only")
    modes = classify(region, county, rule, travel, lic)
    modes["county_name"] = county_name
    modes["township_name"] = modes["township"].map(town_name)
    modes["base_name"] = modes["base"].map(lambda b: name.get(b, "") if b else "")
    modes["visits_planned"] = 0
    modes["visit_days"] = ""
    modes["reason"] = ""
    modes["reason_zh"] = ""
    modes["lead_visits"] = 0
    route_rows: list[dict] = []
    plan_row = {"county": county, "county_name": county_name, "bases": 0, "villages": len(modes),
                "resident": int((modes["mode"] == RESIDENT).sum()), "urban": int((modes["mode"] == URBAN).sum()),
                "circuit": 0, "unreachable": 0,
                "visits_required": 0, "visits_planned": 0, "routes": 0, "lead_bases": 0, "lead_routes": 0, "travel_min": 0.0, "lower_bound_min": 0.0,
                "gap": 0.0, "days": 0, "exact_days": 0, "solves": 0, "solver": "", "timetable_status": "",
                "sessions": 0, "sessions_missing": 0}
    if circuit is not None and len(modes):
        idx = {v: k for k, v in enumerate(modes["village"])}
        vil = region.villages
        vname = dict(zip(modes["village"], modes["village_name"]))
        vx = dict(zip(vil.index.astype(str), vil.geometry.x))
        vy = dict(zip(vil.index.astype(str), vil.geometry.y))
        required = modes["visits_required"].astype(int).tolist()
        base_min = modes["base_min"].astype(float).tolist()
        reasons: dict[int, tuple[str, str]] = {}
        days_of: dict[str, list[int]] = {}
        town_of = dict(zip(modes["village"], modes["township"]))

        def route_from(base: str, codes: list[str], visits: dict[str, int], teams: int, prefix: str, role: str,
                       taken: dict[str, set[int]] | None = None) -> tuple[BasePlan, dict[str, float]]:
            """Plan one base's week (a township health center, or the county lead), add its routes to the tables."""
            g = fac.at[base, "geometry"]
            pts = Points.from_xy([base, *codes], [g.x, *(vx[c] for c in codes)], [g.y, *(vy[c] for c in codes)])
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
            for r in bp.routes:
                plan_row["routes"] += 1
                plan_row["lead_routes"] += int(role == LEAD_ROLE)
                for k, s in enumerate(r.stops):
                    days_of.setdefault(s.village, []).append(r.weekday)
                    route_rows.append({"county": county, "base": base, "base_name": name.get(base, base),
                                       "role": role, "team": f"{base}-{prefix}{r.team}", "weekday": r.weekday,
                                       "weekday_zh": WEEKDAYS_ZH[r.weekday - 1], "stop": k + 1, "village": s.village,
                                       "village_name": vname[s.village],
                                       "arrival": _clock(circuit.start_min, s.arrival_min),
                                       "travel_min": round(s.travel_min, 2), "service_min": circuit.service_min,
                                       "route_travel_min": round(r.travel_min, 2), "route_minutes": round(r.minutes, 2)})
            return bp, {c: float(minutes[0, k + 1]) for k, c in enumerate(codes)}

        short: dict[str, tuple[str, str, int, int]] = {}  # village -> (its center, reason, visits lacking, required)
        for base, grp in modes[modes["mode"] == CIRCUIT].groupby("base", sort=True):
            codes = sorted(grp["village"])
            visits = {v: required[idx[v]] for v in codes}
            bp, _ = route_from(base, codes, visits, circuit.teams_per_center, "", CENTER_ROLE)
            for v, (reason, lacking) in bp.missing.items():
                short[v] = (base, reason, lacking, visits[v])
        # The county lead's own teams (县乡巡诊) take the visits the centers' teams cannot make, on other weekdays.
        lead_tried: dict[str, tuple[str, str, float]] = {}  # village -> (lead, its reason there, minutes from the lead)
        by_lead: dict[str, list[str]] = {}
        if circuit.lead_teams > 0:
            for v in sorted(short):
                lead = lead_of_township.get(town_of[v], "")
                if lead in fac.index:
                    by_lead.setdefault(lead, []).append(v)
        for lead, codes in sorted(by_lead.items()):
            visits = {v: short[v][2] for v in codes}
            taken = {v: {d - 1 for d in days_of.get(v, [])} for v in codes}
            bp, from_lead = route_from(lead, codes, visits, circuit.lead_teams, "L", LEAD_ROLE, taken)
            for v in codes:
                if v in bp.missing:
                    reason, lacking = bp.missing[v]
                    short[v] = (short[v][0], short[v][1], lacking, short[v][3])
                    lead_tried[v] = (lead, reason, from_lead[v])
                else:
                    del short[v]
        for v, (base, reason, lacking, need) in sorted(short.items()):
            reasons[idx[v]] = _short_reason(circuit, name.get(base, base), base_min[idx[v]], reason, lacking, need,
                                            lead_tried.get(v), name)
        lead_visits: dict[str, int] = {}
        for r in route_rows:
            if r["role"] == LEAD_ROLE:
                lead_visits[r["village"]] = lead_visits.get(r["village"], 0) + 1
        modes["lead_visits"] = [lead_visits.get(v, 0) for v in modes["village"]]
        planned, vdays = [0] * len(modes), [""] * len(modes)
        for v, days in days_of.items():
            planned[idx[v]] = len(days)
            vdays[idx[v]] = ";".join(WEEKDAYS_ZH[d - 1] for d in sorted(days))
        modes["visits_planned"], modes["visit_days"] = planned, vdays
        modes["reason"] = [reasons.get(i, ("", ""))[0] for i in range(len(modes))]
        modes["reason_zh"] = [reasons.get(i, ("", ""))[1] for i in range(len(modes))]
        short = (modes["mode"] == CIRCUIT) & (modes["visits_planned"] < modes["visits_required"])
        modes.loc[short, "mode"] = UNREACHABLE
        nb = modes["mode"] == NO_BASE
        modes.loc[nb, "reason"] = f"no health center of {'/'.join(circuit.base_kinds)} in the county ({circuit.id})"
        modes.loc[nb, "reason_zh"] = f"县内无可派巡回医疗队的卫生院（{circuit.id}）"
        plan_row["circuit"] = int((modes["mode"] == CIRCUIT).sum())
        plan_row["unreachable"] = int(modes["mode"].isin([UNREACHABLE, NO_BASE]).sum())
        plan_row["visits_required"] = int(modes["visits_required"].sum())
        plan_row["visits_planned"] = int(modes["visits_planned"].sum())
        lb, cost = plan_row["lower_bound_min"], plan_row["travel_min"]
        plan_row["gap"] = round((cost - lb) / cost, 4) if cost > 0 else 0.0
        plan_row["travel_min"], plan_row["lower_bound_min"] = round(cost, 2), round(lb, 2)
        plan_row["solver"] = ("exact (every day enumerated)" if plan_row["exact_days"] == plan_row["days"] else
                              f"exact on {plan_row['exact_days']} of {plan_row['days']} center-days, PyVRP (HGS) on the "
                              "rest with an arc lower bound")
    tt_rows, short_rows = [], []
    modes["remote_sessions"] = 0
    modes["remote_required"] = 0
    if remote is not None and len(modes):
        own = fac[(fac["county_code"].astype(str) == county)]
        centers = own[own["kind"].astype(str).isin(["township_health_center", "community_health_center"])].sort_index()
        center_of = {}
        for fid, t in zip(centers.index, centers["township_code"].astype(str)):
            center_of.setdefault(t, str(fid))
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
        tt = solve_timetable(clinics, consultants, remote, {**name, **{c.clinic: name.get(c.clinic, c.clinic) for c in clinics}})
        center_of_clinic = {c.clinic: c.center for c in clinics}
        town_of_clinic = {c.clinic: c.township for c in clinics}
        for s in sorted(tt.sessions, key=lambda s: (s.clinic, s.weekday, s.half, s.seat)):
            tt_rows.append({"county": county, "clinic": s.clinic, "clinic_name": name.get(s.clinic, s.clinic),
                            "village": village_of.get(s.clinic, ""), "township": town_of_clinic[s.clinic],
                            "facility": s.facility, "facility_name": name.get(s.facility, s.facility),
                            "role": "township_center" if s.facility == center_of_clinic[s.clinic] else "lead",
                            "consultant": s.consultant, "weekday": s.weekday, "weekday_zh": WEEKDAYS_ZH[s.weekday - 1],
                            "half_day": s.half, "half_day_zh": HALVES_ZH[s.half], "seat": s.seat + 1,
                            "start": remote.session_start(s.half, s.seat), "minutes": remote.session_min})
        plan_row["timetable_status"] = tt.status
        plan_row["sessions"] = len(tt.sessions)
        plan_row["sessions_missing"] = int(sum(tt.missing.values()))
        for center, text in tt.explanations:
            short_rows.append({"county": county, "county_name": county_name, "center": center,
                               "center_name": name.get(center, center),
                               "missing": sum(tt.missing.get(c.clinic, 0) for c in clinics if (c.center or c.lead) == center),
                               "message": text.en, "message_zh": text.zh})
        count = pd.Series([r["clinic"] for r in tt_rows], dtype=object).value_counts()
        modes["remote_sessions"] = [int(count.get(c, 0)) if c else 0 for c in modes["clinic"]]
        modes["remote_required"] = [remote.sessions_per_week if c else 0 for c in modes["clinic"]]
    return {"village_modes": modes[COLUMNS["village_modes"]],
            "routes": pd.DataFrame(route_rows, columns=COLUMNS["routes"]),
            "circuit_plan": pd.DataFrame([plan_row], columns=COLUMNS["circuit_plan"]),
            "timetable": pd.DataFrame(tt_rows, columns=COLUMNS["timetable"]),
            "timetable_shortfalls": pd.DataFrame(short_rows, columns=COLUMNS["timetable_shortfalls"])}


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
    counties = [c for c in sorted(region.counties.index)
                if any(r is not None and r.covers_county(c, region.city_of(c)) for r in (circuit, remote))]
    # Staff stay out of the parts (grouping 50,000 staff rows by facility costs more than the phase): the
    # licensed physicians per facility are counted once here.
    lic = licensed_physicians(region)
    lic_of = lic.to_dict()
    parts = region.partition([[c] for c in counties], villages=len(region.villages) > 0, context=False, staff=False)
    items = []
    for c, part in zip(counties, parts):
        town_leads = {t: lead_of[t] for t in part.townships.index if t in lead_of}
        use_c = circuit if circuit is not None and circuit.covers_county(c, region.city_of(c)) else None
        use_r = remote if remote is not None and remote.covers_county(c, region.city_of(c)) else None
        # Looked up in a dict by the part's facilities: isin (or reindex) against the whole region's counts per county
        # was quadratic (the country's main process spent minutes there before the workers started).
        mine = pd.Series({f: lic_of[f] for f in part.facilities.index if f in lic_of}, dtype="int64")
        items.append((part, c, use_c, use_r, travel, town_leads, mine))
    results = ordered_map(county_villages, items, jobs=jobs, executor=executor, address=address)
    out = VillageResult()
    for name in TABLES:
        frames = [r[name] for r in results if len(r[name])]
        out.tables[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS[name])
    out.timings_s["villages_s"] = time.perf_counter() - t0
    return out
