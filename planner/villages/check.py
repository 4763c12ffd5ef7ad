"""Independent checks of the village tables as written: every required circuit visit made, day length, team count,
remote sessions per clinic, no consultant double-booked."""

from __future__ import annotations

import functools
from collections import defaultdict

import numpy as np
import pandas as pd

from ..check import RuleStatus, Violation
from ..i18n import Text
from ..plan import Plan
from ..region import Region, positions_by
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
    sums = s[keep].groupby("facility_id")["count"].sum()
    return {str(k): int(v) for k, v in zip(sums.index.tolist(), sums.tolist())}


def _counties(region: Region, rule) -> list[str]:
    city = dict(zip(region.counties.index, (str(x) for x in region.counties["city_code"].tolist())))  # as city_of
    return [c for c in sorted(region.counties.index) if rule.covers_county(c, city[c])]


def _strs(frame: pd.DataFrame, column: str) -> list:
    """A column as a list of str (missing values stay NaN, as `astype(str)` keeps them): a list is iterated many
    times faster than a pandas string column."""
    return frame[column].astype(str).tolist()


def _ints(frame: pd.DataFrame, column: str) -> list[int]:
    return frame[column].astype(int).tolist()


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of a point layer's rows."""
    if not len(frame):
        return np.zeros(0), np.zeros(0)
    return np.asarray(frame.geometry.x, dtype=float), np.asarray(frame.geometry.y, dtype=float)


def _places(region: Region) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray,
                                     np.ndarray]:
    """The villages' counties (by township: a code's prefix is not always a county), codes and coordinates, then the
    facilities' ids, coordinates and counties, as both halves of the circuit rule read them."""
    vil, fac = region.villages, region.facilities
    return (region.village_counties().to_numpy(), vil.index.astype(str).tolist(), *_xy(vil),
            fac.index.astype(str).tolist(), *_xy(fac), fac["county_code"].astype(str).to_numpy())


def check_circuit(region: Region, tables: dict[str, pd.DataFrame], rule: CircuitCoverage, travel: TravelModel,
                  plan: Plan | None = None, licensed: dict[str, int] | None = None, *,
                  fork_routes: bool = False) -> RuleStatus:
    """Every village is resident-served (a licensed physician within the rule's minutes, recomputed from the data) or
    visited on as many distinct weekdays as its population requires; routes start and end at a health center of the
    rule's kinds in the village's county, or (with `lead` teams) at the lead of every visited village's community in
    `plan`, last at most the working day (travel recomputed, plus service at each stop), and no center or lead sends
    more teams on a day than it has. Villages short of visits are violations; the plan's reason, when it gives one,
    is quoted. `licensed` (licensed physicians per facility, as `_licensed` reads them) saves reading the staff again.

    With `fork_routes` the routes are checked in a forked worker while this process checks the villages (the
    country: about half of the rule's seconds each); the violations are the same, villages' first."""
    from ..executor import fork_call, joined_on_error

    counties = _counties(region, rule)
    places = _places(region)  # made once: the forked worker reads them from this process's memory
    later = fork_call(_circuit_routes, region, tables, rule, travel, plan, counties, places) if fork_routes else None
    with joined_on_error([later]):
        found = _circuit_villages(region, tables, rule, travel, counties, licensed, places)
    found += later() if later is not None else _circuit_routes(region, tables, rule, travel, plan, counties, places)
    return RuleStatus(rule, len(counties), tuple(found))


def _circuit_villages(region: Region, tables: dict[str, pd.DataFrame], rule: CircuitCoverage, travel: TravelModel,
                      counties: list[str], licensed: dict[str, int] | None, places: tuple) -> list[Violation]:
    """The circuit rule's village half: every village of `counties` listed, and served by a resident physician or
    visited on enough distinct days."""
    found: list[Violation] = []
    county_name = functools.cache(region.county_name)   # each county's name looked up once (~1 ms a look-up)
    modes = tables.get("village_modes", pd.DataFrame())
    routes = tables.get("routes", pd.DataFrame())
    fac = region.facilities
    lic = _licensed(region) if licensed is None else licensed
    listed: dict[str, tuple[str, str]] = {}
    if len(modes):
        reason_zh = modes["reason_zh"] if "reason_zh" in modes.columns else modes.get("reason", pd.Series("", index=modes.index))
        for v, r, rz in zip(_strs(modes, "village"), modes.get("reason", pd.Series("", index=modes.index)).astype(str).tolist(),
                            reason_zh.astype(str).tolist()):
            listed[v] = (r, rz or r)
    by_village: defaultdict[str, set[int]] = defaultdict(set)  # not setdefault(v, set()): no empty set per row
    if len(routes):
        for v, d in zip(_strs(routes, "village"), _ints(routes, "weekday")):
            by_village[v].add(d)
    vil_all = region.villages
    vil_county, vil_code, vil_x, vil_y, fac_id, fac_x, fac_y, fac_county = places
    own = ~fac["context"].astype(bool).to_numpy() if "context" in fac.columns else np.ones(len(fac), dtype=bool)
    has_doc = np.array([lic.get(f, 0) > 0 for f in fac_id], dtype=bool) & own
    vil_rows = positions_by(vil_county)   # grouped once: a mask per county was quadratic on the country's villages
    doc_at = np.flatnonzero(has_doc)
    doc_rows = positions_by(fac_county[has_doc]) if len(doc_at) else {}
    if len(vil_all):
        vil_name = _strs(vil_all, "name")
        vil_pop = vil_all["population"].astype("int64").tolist()
        vil_kind = _strs(vil_all, "kind") if "kind" in vil_all.columns else ["村委会"] * len(vil_all)
    none = np.zeros(0, dtype=np.int64)
    # The rule's answers per village kind and per population, each worked out once (620,572 villages in the
    # country, a few kinds and some thousands of distinct populations).
    rural, visits_for = functools.cache(rule.rural), functools.cache(rule.visits_for)
    for county in counties:
        cname = county_name(county)
        rows = vil_rows.get(county, none)
        if not len(rows):
            continue
        rows = rows[np.argsort(np.array([vil_code[i] for i in rows], dtype=object), kind="stable")]  # by code
        doc = doc_at[doc_rows[county]] if county in doc_rows else none
        rows_l = rows.tolist()
        # A village is short when it is listed, rural, visited on fewer days than its population asks and has no
        # licensed physician within reach: the nearest physician's minutes are computed for the first three only
        # (the same minutes, element by element; the conditions are independent, so the order they are tested in
        # changes nothing but the work).
        short = [vil_code[i] in listed and rural(vil_kind[i])
                 and len(by_village.get(vil_code[i], ())) < visits_for(int(vil_pop[i])) for i in rows_l]
        ask = [i for i, s in zip(rows_l, short) if s]
        vp = Points(tuple(vil_code[i] for i in ask), vil_x[ask], vil_y[ask])
        dp = Points(tuple(fac_id[i] for i in doc), fac_x[doc], fac_y[doc])
        near_of = (travel.minutes(vp, dp).min(axis=1) if len(dp) else np.full(len(vp), np.inf)).tolist() if ask else []
        near = iter(near_of)
        for i, s in zip(rows_l, short):
            code, vname, pop = vil_code[i], vil_name[i], vil_pop[i]
            if code not in listed:
                found.append(_v(rule, county, cname, f"village {vname} ({code}) is missing from village_modes.csv",
                                f"行政村{vname}（{code}）未列入village_modes.csv"))
                continue
            if not s:
                continue
            nearest = next(near)
            if nearest <= rule.resident_max_minutes + 1e-6:
                continue
            need = rule.visits_for(int(pop))
            got = len(by_village.get(code, set()))
            reason, reason_zh = listed[code]
            why = f" ({reason})" if reason else "; not listed as unreachable with a reason"
            found.append(_v(rule, county, cname,
                            f"{vname} ({code}): no licensed physician within {rule.resident_max_minutes:g} min "
                            f"(nearest {nearest:.0f} min) and {got} of its {need} circuit visits a week{why}",
                            f"{vname}（{code}）：{rule.resident_max_minutes:g}分钟内无执业（助理）医师（最近"
                            f"{nearest:.0f}分钟），每周需巡回诊疗{need}次，路线安排{got}次"
                            + (f"（{reason_zh}）" if reason else "；未列明无法到达的原因")))
    return found


def _circuit_routes(region: Region, tables: dict[str, pd.DataFrame], rule: CircuitCoverage, travel: TravelModel,
                    plan: Plan | None, counties: list[str], places: tuple) -> list[Violation]:
    """The circuit rule's route half: bases, stop numbers, the county's villages, day length, written minutes and
    arrival times, teams per base and day, one visit per village and day."""
    from itertools import groupby

    found: list[Violation] = []
    routes = tables.get("routes", pd.DataFrame())
    if not len(routes):
        return found
    county_name = functools.cache(region.county_name)   # each county's name looked up once (~1 ms a look-up)
    fac = region.facilities
    vil_all = region.villages
    vil_county, vil_code, vil_x, vil_y, fac_id, fac_x, fac_y, fac_county = places
    covered = set(counties)
    kind_of = dict(zip(fac_id, _strs(fac, "kind")))
    county_of_fac = dict(zip(fac_id, fac_county.tolist()))
    name_of_fac = dict(zip(fac_id, _strs(fac, "name")))
    fac_at = {f: k for k, f in enumerate(fac_id)}
    vil_at = {v: k for k, v in enumerate(vil_code)}
    county_of_vil = dict(zip(vil_code, vil_county.tolist()))
    recs = sorted(zip(_strs(routes, "team"), _ints(routes, "weekday"), _ints(routes, "stop"), _strs(routes, "base"),
                      _strs(routes, "county"), _strs(routes, "village"), _strs(routes, "village_name"),
                      _strs(routes, "arrival"), routes["route_minutes"].astype(float).tolist()))
    cnames = {c: county_name(c) for c in sorted(set(_strs(routes, "county")))}
    # The lead of each township's community, from the plan (not from the tables' `role` column).
    lead_of = {str(t): str(lead) for t, lead in plan.assignment().items()} if plan is not None else {}
    town_of_vil = dict(zip(vil_code, _strs(vil_all, "township_code"))) if len(vil_all) else {}
    legs_of = _RouteMinutes(travel, recs, fac_at, fac_x, fac_y, vil_at, vil_x, vil_y)
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
        legs, back = legs_of(county, base, codes)
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
    teams: defaultdict[tuple[str, int], set[str]] = defaultdict(set)
    twice: dict[tuple[str, int], int] = {}
    for team, day, _stop, base, _c, v, *_rest in recs:
        teams[base, day].add(team)
        twice[v, day] = twice.get((v, day), 0) + 1
    for (base, day), ts in sorted(teams.items()):
        most = rule.teams_per_center if kind_of.get(base) in rule.base_kinds else 0
        most += rule.lead_teams if base in lead_bases else 0
        if len(ts) > most:
            county = county_of_fac.get(base, "")
            found.append(_v(rule, county, county_name(county),
                            f"{name_of_fac.get(base, base)} sends {len(ts)} teams on {WEEKDAYS_ZH[day - 1]}, more than "
                            f"its {most}",
                            f"{name_of_fac.get(base, base)}{WEEKDAYS_ZH[day - 1]}派出{len(ts)}队，超过{most}队"))
    for (v, day), n in sorted(twice.items()):
        if n > 1:
            county = county_of_vil.get(str(v), str(v)[:6])
            found.append(_v(rule, county, county_name(county), f"village {v} is visited {n} times on "
                            f"{WEEKDAYS_ZH[day - 1]} (visits count on distinct days)",
                            f"行政村{v}在{WEEKDAYS_ZH[day - 1]}被巡回{n}次（按不同日计）"))
    return found


class _RouteMinutes:
    """Travel minutes of a route's legs, recomputed from the region's coordinates with the travel model.

    With the great-circle model: every leg of every route the table names (base to its first
    village, village to village, back to the base) in one element-wise call
    (`straight_pair_minutes`: the same operations as the matrix, so the same minutes to the last
    bit), made when the first route is checked; a county's matrix over all its bases and villages
    cost the square of its circuit villages. With a road graph: one matrix per county over every base
    and village its routes name (a pair's minutes do not depend on the other points of the matrix).
    With an origin-destination table (looked up pair by pair, which a county's matrix would
    multiply): one per route."""

    def __init__(self, travel: TravelModel, recs: list[tuple], fac_at: dict[str, int], fac_x: np.ndarray,
                 fac_y: np.ndarray, vil_at: dict[str, int], vil_x: np.ndarray, vil_y: np.ndarray) -> None:
        self.travel, self.recs = travel, recs
        self.fac_at, self.fac_x, self.fac_y = fac_at, fac_x, fac_y
        self.vil_at, self.vil_x, self.vil_y = vil_at, vil_x, vil_y
        self.per_county = travel.od is None and not travel.straight_only
        self.named: dict[str, tuple[set[str], set[str]]] = {}
        if self.per_county:
            for r in recs:  # (team, weekday, stop, base, county, village, ...)
                bases, villages = self.named.setdefault(r[4], (set(), set()))
                if r[3] in fac_at:
                    bases.add(r[3])
                if r[5] in vil_at:
                    villages.add(r[5])
        self.matrix: dict[str, tuple[dict[tuple[str, str], int], np.ndarray]] = {}
        self.legs: dict[tuple[str, tuple[str, ...]], list[float]] | None = None

    def _points(self, bases: list[str], villages: list[str]) -> Points:
        fb = [self.fac_at[b] for b in bases]
        vb = [self.vil_at[v] for v in villages]
        return Points(tuple([*bases, *villages]), np.concatenate([self.fac_x[fb], self.vil_x[vb]]),
                      np.concatenate([self.fac_y[fb], self.vil_y[vb]]))

    def _all_legs(self) -> dict[tuple[str, tuple[str, ...]], list[float]]:
        """(base, villages) of every route of known places -> its legs and the way back, from one call."""
        from itertools import groupby

        keys: list[tuple[str, tuple[str, ...]]] = []
        path: list[int] = []  # positions in the facilities' then the villages' coordinates
        fac_at, vil_at, skip = self.fac_at, self.vil_at, len(self.fac_x)
        for _key, grp in groupby(self.recs, key=lambda r: (r[0], r[1])):
            grp = list(grp)
            base, codes = grp[0][3], tuple(r[5] for r in grp)
            if base not in fac_at or any(c not in vil_at for c in codes):
                continue  # the loop reports such a route before asking its legs
            keys.append((base, codes))
            k = fac_at[base]
            path += [k, *(skip + vil_at[c] for c in codes), k]
        at = np.asarray(path, dtype=np.int64)
        x, y = np.concatenate([self.fac_x, self.vil_x])[at], np.concatenate([self.fac_y, self.vil_y])[at]
        ends = np.cumsum([len(c) + 2 for _b, c in keys])  # each path's points end here; its legs join them
        first = np.ones(len(x), dtype=bool)
        first[ends - 1] = False  # the last point of a path starts no leg
        frm = np.flatnonzero(first)
        minutes = self.travel.straight_pair_minutes(Points((), x[frm], y[frm]), Points((), x[frm + 1], y[frm + 1]))
        out: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        pos = 0
        for base, codes in keys:
            out[base, codes] = minutes[pos:pos + len(codes) + 1].tolist()
            pos += len(codes) + 1
        return out

    def __call__(self, county: str, base: str, codes: list[str]) -> tuple[list[float], float]:
        """The legs (base to the first village, then village to village) and the way back to the base."""
        if self.travel.straight_only:
            if self.legs is None:
                self.legs = self._all_legs()
            legs = self.legs[base, tuple(codes)]
            return legs[:-1], legs[-1]
        if not self.per_county:
            mat = self.travel.minutes(self._points([base], codes), self._points([base], codes))
            return [float(mat[i, i + 1]) for i in range(len(codes))], float(mat[len(codes), 0])
        if county not in self.matrix:
            bases, villages = (sorted(x) for x in self.named[county])
            pts = self._points(bases, villages)
            at = {**{("f", b): i for i, b in enumerate(bases)}, **{("v", v): len(bases) + i for i, v in enumerate(villages)}}
            self.matrix[county] = (at, self.travel.minutes(pts, pts))
        at, mat = self.matrix[county]
        path = [at["f", base], *(at["v", c] for c in codes)]
        return [float(mat[path[i], path[i + 1]]) for i in range(len(codes))], float(mat[path[-1], path[0]])


def check_remote(region: Region, plan: Plan, tables: dict[str, pd.DataFrame], rule: RemoteConsultation,
                 licensed: dict[str, int] | None = None) -> RuleStatus:
    """Every village clinic has sessions on at least `sessions_per_week` distinct days, each from its township health
    center or its community's lead; no consultant holds two sessions in one seat, a consultant works at most the
    rule's half-days, seats stay within the half-day, and no facility puts more consultants on the rota than allowed.
    `licensed` (licensed physicians per facility, as `_licensed` reads them) saves reading the staff again."""
    found: list[Violation] = []
    county_name = functools.cache(region.county_name)   # each county's name looked up once (~1 ms a look-up)
    tt = tables.get("timetable", pd.DataFrame())
    shorts = tables.get("timetable_shortfalls", pd.DataFrame())
    fac = region.facilities
    lic = _licensed(region) if licensed is None else licensed
    lead_of = {str(t): str(lead) for t, lead in plan.assignment().items()}
    counties = _counties(region, rule)
    # defaultdict: `setdefault(key, set())` made an empty set for every one of the table's rows (488,269 in the country)
    days_of: defaultdict[str, set[int]] = defaultdict(set)
    if len(tt):
        for c, d in zip(_strs(tt, "clinic"), _ints(tt, "weekday")):
            days_of[c].add(d)
    why_of: dict[str, str] = {}
    if len(shorts):
        for center, msg in zip(_strs(shorts, "center"), _strs(shorts, "message_zh")):
            why_of[center] = msg
    own = fac[fac["county_code"].astype(str).isin(counties)]
    if "context" in own.columns:
        own = own[~own["context"].astype(bool)]
    centers = own[own["kind"].astype(str).isin(["township_health_center", "community_health_center"])].sort_index()
    center_of: dict[str, str] = {}
    for fid, t in zip(centers.index.astype(str).tolist(), _strs(centers, "township_code")):
        center_of.setdefault(t, fid)
    clinics = own[own["kind"].astype(str) == "village_clinic"].sort_index()
    cnames = {c: county_name(c) for c in sorted(set(_strs(fac, "county_code")))}
    for fid, county, town, cname in zip(clinics.index.astype(str).tolist(), _strs(clinics, "county_code"),
                                        _strs(clinics, "township_code"), _strs(clinics, "name")):
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
                found.append(_v(rule, county, county_name(county),
                                f"consultant {key[0]} is double-booked on {when} seat {key[3]}: {', '.join(grp['clinic'])}",
                                f"会诊医师{key[0]}在{when}第{key[3]}场重复排班：{'、'.join(grp['clinic_name'])}"))
        consultant, weekday, half_day = _strs(tt, "consultant"), _ints(tt, "weekday"), _ints(tt, "half_day")
        duty: defaultdict[str, set[tuple[int, int]]] = defaultdict(set)
        for cons, d, h in zip(consultant, weekday, half_day):
            duty[cons].add((d, h))
        halves = {cons: len(x) for cons, x in sorted(duty.items())}
        for cons, n in halves.items():
            if n > rule.half_days_per_consultant:
                county = str(tt.loc[tt["consultant"] == cons, "county"].iloc[0])
                found.append(_v(rule, county, county_name(county), f"consultant {cons} works {n} half-days, more "
                                f"than {rule.half_days_per_consultant}", f"会诊医师{cons}每周{n}个半天，超过{rule.half_days_per_consultant}个"))
        fac_id = fac.index.astype(str).tolist()
        town_of = dict(zip(fac_id, _strs(fac, "township_code")))
        fname = dict(zip(fac_id, _strs(fac, "name")))
        # The rows' raw values (as itertuples gave them) for the messages; str/int views for the checks.
        raw = {c: tt[c].tolist() for c in ("county", "clinic", "facility", "consultant", "weekday", "half_day", "seat")}
        for county, clinic, f, cons, wd, hd, seat in zip(*raw.values()):
            county = str(county)
            cname = cnames.get(county, county)
            clinic, f = str(clinic), str(f)
            if clinic not in town_of or f not in town_of:
                found.append(_v(rule, county, cname, f"session of {clinic} with {f}: not facilities of the region",
                                f"{clinic}与{f}的会诊不在本地区机构中"))
                continue
            town = town_of[clinic]
            center = center_of.get(town, "")
            if not f or f not in (center, lead_of.get(town, "")):  # its center or its lead, neither empty
                found.append(_v(rule, county, cname, f"{fname[clinic]} gets a session from {fname[f]}, "
                                "neither its township health center nor its community's lead",
                                f"{fname[clinic]}的会诊来自{fname[f]}，既非本乡镇卫生院也非牵头医院"))
            if not (1 <= int(seat) <= rule.sessions_per_half_day) or int(hd) not in (0, 1) or \
                    not (1 <= int(wd) <= rule.working_days):
                found.append(_v(rule, county, cname, f"session of {clinic} at weekday {wd}, half {hd}, "
                                f"seat {seat} lies outside the week's seats", f"{clinic}的会诊时段超出排班范围"))
            owner, _, number = str(cons).rpartition("#")
            if owner != f or not number.isdigit():
                found.append(_v(rule, county, cname, f"consultant {cons} is not of {f}", f"会诊医师{cons}不属于{f}"))
                continue
            role_cap = rule.center_consultants if f == center_of.get(town) else rule.lead_consultants
            cap = min(lic.get(f, 0), role_cap) if role_cap is not None else lic.get(f, 0)
            if int(number) > cap:
                found.append(_v(rule, county, cname, f"consultant {cons}: {f} has only {cap} consultants on the rota",
                                f"会诊医师{cons}：{fname[f]}仅有{cap}名会诊医师"))
    return RuleStatus(rule, len(counties), tuple(found))


FORK_VILLAGES = 50_000
"""With more villages than this (and jobs > 1) the remote rule and the circuit rule's routes are checked in forked
workers while this process checks the circuit rule's villages (the country: 620,572 villages; 河南省 52,378; 浙江省
25,547 stays in this process)."""


def check_villages(region: Region, plan: Plan, tables: dict[str, pd.DataFrame], rules: list,
                   travel: TravelModel, *, jobs: int = 1, executor: str = "process") -> list[RuleStatus]:
    """One RuleStatus per enabled village rule, from the tables as written. With `jobs` > 1 on a large region the
    remote rules run in a forked worker beside the circuit rules here, and each circuit rule's routes in another
    (the circuit rule was ~7 s of the country's ~10 s check, with a core idle once the remote rule was done); the
    statuses are the same, in rule order."""
    from ..executor import MIN_PARALLEL_ITEMS, fork_call, forks, joined_on_error

    wanted = [r for r in rules if r.enabled and r.kind in ("circuit_coverage", "remote_consultation")]
    if not wanted:
        return []
    lic = _licensed(region)  # read once for both rules
    remote = [k for k, r in enumerate(wanted) if r.kind == "remote_consultation"]
    big = len(region.villages) > FORK_VILLAGES and forks(jobs, executor, MIN_PARALLEL_ITEMS)
    later = None
    if big and remote and len(remote) < len(wanted):
        later = fork_call(_remote_statuses, region, plan, tables, [wanted[k] for k in remote], lic)
    done: dict[int, RuleStatus] = {}
    with joined_on_error([later]):
        for k, rule in enumerate(wanted):
            if rule.kind == "circuit_coverage":
                done[k] = check_circuit(region, tables, rule, travel, plan, lic, fork_routes=big)
            elif later is None:
                done[k] = check_remote(region, plan, tables, rule, lic)
    if later is not None:
        done.update(zip(remote, later()))
    return [done[k] for k in range(len(wanted))]


def _remote_statuses(region: Region, plan: Plan, tables: dict[str, pd.DataFrame], rules: list,
                     lic: dict[str, int]) -> list[RuleStatus]:
    return [check_remote(region, plan, tables, rule, lic) for rule in rules]
