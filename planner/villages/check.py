"""Independent checks of the village tables as written: every required circuit visit made, day length, team count,
remote sessions per clinic, no consultant double-booked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..check import RuleStatus, Violation
from ..i18n import Text
from ..plan import Plan
from ..region import Region
from ..travel import Points, TravelModel
from .rules import HALVES_ZH, WEEKDAYS_ZH, CircuitCoverage, RemoteConsultation

TOLERANCE_MIN = 0.05
"""Minutes of rounding the tables may carry (they hold minutes to 0.01 and clock times to the minute)."""


def _v(rule, unit: str, name: str, en: str, zh: str) -> Violation:
    return Violation(unit, name, rule.id, rule.citation, Text(en, zh), rule.hard)


def _licensed(region: Region) -> dict[str, int]:
    """Licensed physicians per facility, read from the staff layer here (not through the planner's modes module)."""
    s = region.staff
    if s.empty:
        return {}
    keep = pd.Series(True, index=s.index)
    if "profession" in s.columns:
        keep &= s["profession"].fillna("medicine").astype(str).eq("medicine")
    if "qualification" in s.columns:
        keep &= s["qualification"].fillna("licensed").astype(str).eq("licensed")
    return {str(k): int(v) for k, v in s[keep].groupby("facility_id")["count"].sum().items()}


def _counties(region: Region, rule) -> list[str]:
    return [c for c in sorted(region.counties.index) if rule.covers_county(c, region.city_of(c))]


def check_circuit(region: Region, tables: dict[str, pd.DataFrame], rule: CircuitCoverage, travel: TravelModel,
                  plan: Plan | None = None) -> RuleStatus:
    """Every village is resident-served (a licensed physician within the rule's minutes, recomputed from the data) or
    visited on as many distinct weekdays as its population requires; routes start and end at a health center of the
    rule's kinds in the village's county, or (with `lead` teams) at the lead of every visited village's community in
    `plan`, last at most the working day (travel recomputed, plus service at each stop), and no center or lead sends
    more teams on a day than it has. Villages short of visits are violations; the plan's reason, when it gives one,
    is quoted."""
    from itertools import groupby

    found: list[Violation] = []
    modes = tables.get("village_modes", pd.DataFrame())
    routes = tables.get("routes", pd.DataFrame())
    fac = region.facilities
    lic = _licensed(region)
    listed: dict[str, tuple[str, str]] = {}
    if len(modes):
        reason_zh = modes["reason_zh"] if "reason_zh" in modes.columns else modes.get("reason", pd.Series("", index=modes.index))
        for v, r, rz in zip(modes["village"].astype(str), modes.get("reason", pd.Series("", index=modes.index)).astype(str),
                            reason_zh.astype(str)):
            listed[v] = (r, rz or r)
    counties = _counties(region, rule)
    by_village: dict[str, set[int]] = {}
    if len(routes):
        for v, d in zip(routes["village"].astype(str), routes["weekday"].astype(int)):
            by_village.setdefault(v, set()).add(d)
    vil_all = region.villages
    vil_county = region.village_counties().to_numpy()  # by township: a code's prefix is not always a county
    own = ~fac["context"].astype(bool).to_numpy() if "context" in fac.columns else np.ones(len(fac), dtype=bool)
    has_doc = np.array([lic.get(str(f), 0) > 0 for f in fac.index], dtype=bool) & own
    fac_county = fac["county_code"].astype(str).to_numpy()
    # Row positions by county, grouped once (a mask per county was quadratic on the country's 620,573 villages).
    vil_rows = pd.Series(np.arange(len(vil_all))).groupby(vil_county).indices if len(vil_all) else {}
    doc_at = np.flatnonzero(has_doc)
    doc_rows = pd.Series(doc_at).groupby(fac_county[has_doc]).indices if len(doc_at) else {}
    none = np.zeros(0, dtype=np.int64)
    for county in counties:
        cname = region.county_name(county)
        vil = vil_all.iloc[vil_rows.get(county, none)].sort_index()
        if vil.empty:
            continue
        doc = fac.iloc[doc_at[doc_rows[county]] if county in doc_rows else none]
        vp = Points.from_xy(list(vil.index), vil.geometry.x, vil.geometry.y)
        dp = Points.from_xy(list(doc.index), doc.geometry.x, doc.geometry.y)
        near = travel.minutes(vp, dp).min(axis=1) if len(dp) else np.full(len(vp), np.inf)
        kinds = vil["kind"].astype(str).tolist() if "kind" in vil.columns else ["村委会"] * len(vil)
        for k, (code, vname, pop) in enumerate(zip(vil.index.astype(str), vil["name"].astype(str),
                                                   vil["population"].astype("int64"))):
            if code not in listed:
                found.append(_v(rule, county, cname, f"village {vname} ({code}) is missing from village_modes.csv",
                                f"行政村{vname}（{code}）未列入village_modes.csv"))
                continue
            if near[k] <= rule.resident_max_minutes + 1e-6 or not rule.rural(kinds[k]):
                continue
            need = rule.visits_for(int(pop))
            got = len(by_village.get(code, set()))
            if got >= need:
                continue
            reason, reason_zh = listed[code]
            why = f" ({reason})" if reason else "; not listed as unreachable with a reason"
            found.append(_v(rule, county, cname,
                            f"{vname} ({code}): no licensed physician within {rule.resident_max_minutes:g} min "
                            f"(nearest {near[k]:.0f} min) and {got} of its {need} circuit visits a week{why}",
                            f"{vname}（{code}）：{rule.resident_max_minutes:g}分钟内无执业（助理）医师（最近"
                            f"{near[k]:.0f}分钟），每周需巡回诊疗{need}次，路线安排{got}次"
                            + (f"（{reason_zh}）" if reason else "；未列明无法到达的原因")))
    if len(routes):
        covered = set(counties)
        kind_of = fac["kind"].astype(str).to_dict()
        county_of_fac = fac["county_code"].astype(str).to_dict()
        name_of_fac = fac["name"].astype(str).to_dict()
        xy_fac = {str(f): (g.x, g.y) for f, g in zip(fac.index, fac.geometry)}
        xy_vil = {str(v): (g.x, g.y) for v, g in zip(vil_all.index, vil_all.geometry)}
        county_of_vil = dict(zip(vil_all.index.astype(str), vil_county))
        recs = sorted(zip(routes["team"].astype(str), routes["weekday"].astype(int), routes["stop"].astype(int),
                          routes["base"].astype(str), routes["county"].astype(str), routes["village"].astype(str),
                          routes["village_name"].astype(str), routes["arrival"].astype(str),
                          routes["route_minutes"].astype(float)))
        cnames = {c: region.county_name(c) for c in sorted(set(routes["county"].astype(str)))}
        # The lead of each township's community, from the plan (not from the tables' `role` column).
        lead_of = {str(t): str(lead) for t, lead in plan.assignment().items()} if plan is not None else {}
        town_of_vil = dict(zip(vil_all.index.astype(str), vil_all["township_code"].astype(str)))
        lead_bases: set[str] = set()
        for (team, day), grp in groupby(recs, key=lambda r: (r[0], r[1])):
            grp = list(grp)
            base, county = grp[0][3], grp[0][4]
            cname = cnames[county]
            label = f"{team} {WEEKDAYS_ZH[int(day) - 1]}"
            center = kind_of.get(base) in rule.base_kinds and county_of_fac.get(base) == county
            as_lead = (not center and rule.lead_teams > 0 and base in kind_of
                       and all(lead_of.get(town_of_vil.get(r[5], "")) == base for r in grp))
            if as_lead:
                lead_bases.add(base)
            elif not center:
                if rule.lead_teams > 0:
                    found.append(_v(rule, county, cname, f"route {label} leaves from {base}, neither a health center of "
                                    f"{'/'.join(rule.base_kinds)} in the county nor the lead of every visited village's "
                                    "community", f"路线{label}的出发机构{base}既不是本县卫生院，也不是所到行政村医共体的牵头医院"))
                else:
                    found.append(_v(rule, county, cname, f"route {label} leaves from {base}, not a health center of "
                                    f"{'/'.join(rule.base_kinds)} in the county", f"路线{label}的出发机构{base}不是本县卫生院"))
                continue
            if county not in covered:
                continue
            stops = [r[2] for r in grp]
            if stops != list(range(1, len(stops) + 1)):
                found.append(_v(rule, county, cname, f"route {label} numbers its stops {stops}", f"路线{label}站序不连续：{stops}"))
            codes = [r[5] for r in grp]
            bad = [c for c in codes if county_of_vil.get(c) != county]
            if bad:
                found.append(_v(rule, county, cname, f"route {label} visits {bad}, not villages of the county",
                                f"路线{label}到访的{bad}不是本县行政村"))
                continue
            xy = [xy_fac[base]] + [xy_vil[c] for c in codes]
            pts = Points.from_xy([base, *codes], [p[0] for p in xy], [p[1] for p in xy])
            mat = travel.minutes(pts, pts)
            legs = [float(mat[i, i + 1]) for i in range(len(codes))]
            back = float(mat[len(codes), 0])
            total = sum(legs) + back + rule.service_min * len(codes)
            names = "、".join(r[6] for r in grp)
            if total > rule.day_minutes + TOLERANCE_MIN:
                found.append(_v(rule, county, cname,
                                f"route {label} ({names}) takes {total:.0f} min (travel {sum(legs) + back:.0f} + "
                                f"{len(codes)} x {rule.service_min:g} service), longer than the {rule.day_minutes:g} min day",
                                f"路线{label}（{names}）需{total:.0f}分钟，超过每日{rule.day_minutes:g}分钟"))
            written = grp[0][8]
            if abs(written - total) > 1.0:
                found.append(_v(rule, county, cname, f"route {label}: route_minutes says {written:.1f}, the data give {total:.1f}",
                                f"路线{label}：route_minutes为{written:.1f}，按数据为{total:.1f}"))
            t = float(rule.start_min)
            for leg, r in zip(legs, grp):
                t += leg
                h, mm = r[7].split(":")
                if abs(int(h) * 60 + int(mm) - t) > 1.0:
                    found.append(_v(rule, county, cname, f"route {label}: arrival at {r[6]} is written {r[7]}, the data give "
                                    f"{int(t) // 60:02d}:{int(t) % 60:02d}",
                                    f"路线{label}：到达{r[6]}时间写为{r[7]}，按数据为{int(t) // 60:02d}:{int(t) % 60:02d}"))
                    break
                t += rule.service_min
        teams: dict[tuple[str, int], set[str]] = {}
        twice: dict[tuple[str, int], int] = {}
        for team, day, _stop, base, _c, v, *_rest in recs:
            teams.setdefault((base, day), set()).add(team)
            twice[v, day] = twice.get((v, day), 0) + 1
        for (base, day), ts in sorted(teams.items()):
            most = rule.teams_per_center if kind_of.get(base) in rule.base_kinds else 0
            most += rule.lead_teams if base in lead_bases else 0
            if len(ts) > most:
                county = county_of_fac.get(base, "")
                found.append(_v(rule, county, region.county_name(county),
                                f"{name_of_fac.get(base, base)} sends {len(ts)} teams on {WEEKDAYS_ZH[day - 1]}, more than "
                                f"its {most}",
                                f"{name_of_fac.get(base, base)}{WEEKDAYS_ZH[day - 1]}派出{len(ts)}队，超过{most}队"))
        for (v, day), n in sorted(twice.items()):
            if n > 1:
                county = county_of_vil.get(str(v), str(v)[:6])
                found.append(_v(rule, county, region.county_name(county), f"village {v} is visited {n} times on "
                                f"{WEEKDAYS_ZH[day - 1]} (visits count on distinct days)",
                                f"行政村{v}在{WEEKDAYS_ZH[day - 1]}被巡回{n}次（按不同日计）"))
    return RuleStatus(rule, len(counties), tuple(found))


def check_remote(region: Region, plan: Plan, tables: dict[str, pd.DataFrame], rule: RemoteConsultation) -> RuleStatus:
    """Every village clinic has sessions on at least `sessions_per_week` distinct days, each from its township's health
    center or its community's lead; no consultant holds two sessions in one seat, a consultant works at most the
    rule's half-days, seats stay within the half-day, and no facility puts more consultants on the rota than allowed."""
    found: list[Violation] = []
    tt = tables.get("timetable", pd.DataFrame())
    shorts = tables.get("timetable_shortfalls", pd.DataFrame())
    fac = region.facilities
    lic = _licensed(region)
    lead_of = {str(t): str(lead) for t, lead in plan.assignment().items()}
    counties = _counties(region, rule)
    days_of: dict[str, set[int]] = {}
    if len(tt):
        for c, d in zip(tt["clinic"].astype(str), tt["weekday"].astype(int)):
            days_of.setdefault(c, set()).add(d)
    why_of: dict[str, str] = {}
    if len(shorts):
        for center, msg in zip(shorts["center"].astype(str), shorts["message_zh"].astype(str)):
            why_of[center] = msg
    own = fac[fac["county_code"].astype(str).isin(counties)]
    if "context" in own.columns:
        own = own[~own["context"].astype(bool)]
    centers = own[own["kind"].astype(str).isin(["township_health_center", "community_health_center"])].sort_index()
    center_of: dict[str, str] = {}
    for fid, t in zip(centers.index, centers["township_code"].astype(str)):
        center_of.setdefault(t, str(fid))
    clinics = own[own["kind"].astype(str) == "village_clinic"].sort_index()
    cnames = {c: region.county_name(c) for c in sorted(set(fac["county_code"].astype(str)))}
    for fid, county, town, cname in zip(clinics.index.astype(str), clinics["county_code"].astype(str),
                                        clinics["township_code"].astype(str), clinics["name"].astype(str)):
        got = len(days_of.get(fid, set()))
        if got >= rule.sessions_per_week:
            continue
        why = why_of.get(center_of.get(town, ""), "")
        found.append(_v(rule, county, cnames.get(county, county),
                        f"{cname} ({fid}) has remote sessions on {got} days a week, fewer than {rule.sessions_per_week}"
                        + (f" ({why})" if why else ""),
                        f"{cname}（{fid}）每周远程诊疗{got}天，少于{rule.sessions_per_week}次" + (f"（{why}）" if why else "")))
    if len(tt):
        tt = tt[tt["county"].astype(str).isin(counties)]
        seat_cols = ["consultant", "weekday", "half_day", "seat"]
        dup = tt[tt.duplicated(seat_cols, keep=False)]
        for key, grp in dup.groupby(seat_cols):
            if len(grp) > 1:
                county = str(grp["county"].iloc[0])
                when = f"{WEEKDAYS_ZH[int(key[1]) - 1]}{HALVES_ZH[int(key[2])]}"
                found.append(_v(rule, county, region.county_name(county),
                                f"consultant {key[0]} is double-booked on {when} seat {key[3]}: {', '.join(grp['clinic'])}",
                                f"会诊医师{key[0]}在{when}第{key[3]}场重复排班：{'、'.join(grp['clinic_name'])}"))
        duty: dict[str, set[tuple[int, int]]] = {}
        for cons, d, h in zip(tt["consultant"].astype(str), tt["weekday"].astype(int), tt["half_day"].astype(int)):
            duty.setdefault(cons, set()).add((d, h))
        halves = {cons: len(x) for cons, x in sorted(duty.items())}
        for cons, n in halves.items():
            if n > rule.half_days_per_consultant:
                county = str(tt.loc[tt["consultant"] == cons, "county"].iloc[0])
                found.append(_v(rule, county, region.county_name(county), f"consultant {cons} works {n} half-days, more "
                                f"than {rule.half_days_per_consultant}", f"会诊医师{cons}每周{n}个半天，超过{rule.half_days_per_consultant}个"))
        town_of = fac["township_code"].astype(str).to_dict()
        fname = fac["name"].astype(str).to_dict()
        for row in tt.itertuples():
            county = str(row.county)
            cname = cnames.get(county, county)
            clinic, f = str(row.clinic), str(row.facility)
            if clinic not in town_of or f not in town_of:
                found.append(_v(rule, county, cname, f"session of {clinic} with {f}: not facilities of the region",
                                f"{clinic}与{f}的会诊不在本地区机构中"))
                continue
            town = town_of[clinic]
            allowed = {center_of.get(town, ""), lead_of.get(town, "")} - {""}
            if f not in allowed:
                found.append(_v(rule, county, cname, f"{fname[clinic]} gets a session from {fname[f]}, "
                                "neither its township health center nor its community's lead",
                                f"{fname[clinic]}的会诊来自{fname[f]}，既非本乡镇卫生院也非牵头医院"))
            if not (1 <= int(row.seat) <= rule.sessions_per_half_day) or int(row.half_day) not in (0, 1) or \
                    not (1 <= int(row.weekday) <= rule.working_days):
                found.append(_v(rule, county, cname, f"session of {clinic} at weekday {row.weekday}, half {row.half_day}, "
                                f"seat {row.seat} lies outside the week's seats", f"{clinic}的会诊时段超出排班范围"))
            owner, _, number = str(row.consultant).rpartition("#")
            if owner != f or not number.isdigit():
                found.append(_v(rule, county, cname, f"consultant {row.consultant} is not of {f}", f"会诊医师{row.consultant}不属于{f}"))
                continue
            role_cap = rule.center_consultants if f == center_of.get(town) else rule.lead_consultants
            cap = min(lic.get(f, 0), role_cap) if role_cap is not None else lic.get(f, 0)
            if int(number) > cap:
                found.append(_v(rule, county, cname, f"consultant {row.consultant}: {f} has only {cap} consultants on the rota",
                                f"会诊医师{row.consultant}：{fname[f]}仅有{cap}名会诊医师"))
    return RuleStatus(rule, len(counties), tuple(found))


def check_villages(region: Region, plan: Plan, tables: dict[str, pd.DataFrame], rules: list,
                   travel: TravelModel) -> list[RuleStatus]:
    """One RuleStatus per enabled village rule, from the tables as written."""
    out = []
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.kind == "circuit_coverage":
            out.append(check_circuit(region, tables, rule, travel, plan))
        elif rule.kind == "remote_consultation":
            out.append(check_remote(region, plan, tables, rule))
    return out
