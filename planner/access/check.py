"""Independent checks of the access tables as written, against the rules and the region's data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..check import RuleStatus, Violation
from ..i18n import Text
from ..plan import Plan
from ..region import Region
from ..schema import EMERGENCY_CENTERS, SHARED_CENTERS
from ..travel import EARTH_RADIUS_KM, Points, TravelModel
from .counties import county_names, rows_by
from .rules import MEASURES
from .shared import MEMBER_KINDS


def _v(rule, unit: str, name: str, en: str, zh: str) -> Violation:
    return Violation(unit, name, rule.id, rule.citation, Text(en, zh), rule.hard)


def _bool(s: pd.Series) -> pd.Series:
    if s.dtype == bool or pd.api.types.infer_dtype(s, skipna=False) == "boolean":
        return s.astype(bool)  # every value a bool already (tens of thousands of facilities: no per-row call)
    return s.map(lambda v: v is True or str(v).strip().lower() in ("true", "1"))


def reach_within(travel: TravelModel, seats: Points, dest: Points, max_minutes: float, *,
                 block: int = 256) -> np.ndarray:
    """Whether each seat has a destination within `max_minutes`, shape (len(seats),).

    Independent of the access matrix (planner.access.matrix). With the great-circle travel model the
    seats go in strips by latitude (`block` x 8 seats), each strip's destinations are those in its
    latitude band (a pair farther apart in latitude alone than the reach is beyond it), and within a
    strip the seats go in blocks of `block` / 2 by longitude, each against the band's destinations in
    its longitude window (farther apart in longitude than the reach allows at the band's highest
    latitude: see `_lon_window_deg`). Every pair left out is beyond the reach, so the answer is that of
    every pair. With road graphs and OD tables every seat is tested against every destination.
    """
    out = np.zeros(len(seats), dtype=bool)
    if not len(seats) or not len(dest):
        return out
    by_lat = np.argsort(seats.lat, kind="stable")
    dest_order = np.argsort(dest.lat, kind="stable")
    dest_lat = dest.lat[dest_order]
    if not (travel.straight_only and travel.speed_kph > 0 and travel.detour_factor > 0):
        for a in range(0, len(seats), block):
            _test(travel, seats, dest, by_lat[a:a + block], np.arange(len(dest)), max_minutes, out)
        return out
    # Great-circle km >= Earth radius x latitude difference (radians); a generous margin over rounding.
    km = max_minutes * travel.speed_kph / (travel.detour_factor * 60.0)
    band_deg = float(np.degrees(km / EARTH_RADIUS_KM)) * (1 + 1e-6) + 1e-9
    strip, sub = max(1, block * 8), max(1, block // 2)
    for a in range(0, len(seats), strip):
        rows = by_lat[a:a + strip]
        lat_lo, lat_hi = seats.lat[rows].min() - band_deg, seats.lat[rows].max() + band_deg
        lo = int(np.searchsorted(dest_lat, lat_lo, side="left"))
        hi = int(np.searchsorted(dest_lat, lat_hi, side="right"))
        if hi <= lo:
            continue
        near = dest_order[lo:hi]
        near_lon = dest.lon[near]
        window = _lon_window_deg(km, max(abs(lat_lo), abs(lat_hi)))
        rows = rows[np.argsort(seats.lon[rows], kind="stable")]
        for b in range(0, len(rows), sub):
            part = rows[b:b + sub]
            lon_lo, lon_hi = seats.lon[part].min() - window, seats.lon[part].max() + window
            if lon_lo < -180.0 or lon_hi > 180.0:   # the window wraps: no longitude test
                cand = near
            else:
                cand = near[(near_lon >= lon_lo) & (near_lon <= lon_hi)]
            if len(cand):
                _test(travel, seats, dest, part, cand, max_minutes, out)
    return out


def _lon_window_deg(km: float, max_abs_lat_deg: float) -> float:
    """Longitude difference (degrees) beyond which two points whose latitudes are at most
    `max_abs_lat_deg` in magnitude are more than `km` apart on the great circle (360: no bound).

    The haversine term is sin^2(dlat/2) + cos(lat1) cos(lat2) sin^2(dlon/2) >= cos^2(max lat) sin^2(dlon/2),
    so a distance d <= km needs |sin(dlon/2)| <= sin(km / 2R) / cos(max lat); margins as for the band.
    """
    half = km * (1 + 1e-6) / (2 * EARTH_RADIUS_KM)
    if half >= np.pi / 2 or max_abs_lat_deg >= 89.0:
        return 360.0
    s = np.sin(half) / np.cos(np.radians(max_abs_lat_deg)) * (1 + 1e-9)
    return 360.0 if s >= 1.0 else float(np.degrees(2 * np.arcsin(s))) * (1 + 1e-6) + 1e-9


def _test(travel: TravelModel, seats: Points, dest: Points, part: np.ndarray, cand: np.ndarray, max_minutes: float,
          out: np.ndarray) -> None:
    """Mark the seats of `part` with a destination of `cand` within reach (travel.minutes, as the rules read it)."""
    t = travel.minutes(Points(tuple(seats.ids[k] for k in part), seats.lon[part], seats.lat[part]),
                       Points(tuple(dest.ids[k] for k in cand), dest.lon[cand], dest.lat[cand]))
    out[part] = (t <= max_minutes).any(axis=1)


def check_emergency(region: Region, tables: dict[str, pd.DataFrame], rule, travel: TravelModel, *,
                    tables_from_rule: bool = True) -> RuleStatus:
    """Every county (of `counties`, when the rule names some) runs each center at a county-level hospital (when
    required); the coverage table matches the data and the proposed upgrades are county hospitals of an allowed
    kind that do not run the center yet (when the tables come from this rule)."""
    found: list[Violation] = []
    names = county_names(region)
    fac = region.facilities
    towns = region.townships
    cov = tables.get("emergency_coverage", pd.DataFrame())
    seats = Points.from_xy(towns.index.tolist(), towns["seat_lon"], towns["seat_lat"])
    lookup = {(str(a), str(b)): int(v) for a, b, v in zip(cov["county"], cov["center"], cov["covered"])} if len(cov) else {}
    counties = [c for c in sorted(region.counties.index) if rule.counties is None or c in rule.counties]
    town_county = towns["county_code"].astype(str).to_numpy()
    pop = towns["population"].to_numpy(dtype=np.int64)
    # The columns read of a center's hospitals (a row selection of the whole facility frame per center copied
    # every column of its 21,000 rows).
    slim = fac[[c for c in ("admin_level", "county_code") if c in fac.columns] + [fac.geometry.name]]
    for center in rule.centers:
        zh, en = EMERGENCY_CENTERS[center]
        runs = slim[_bool(fac[center].astype(object))] if center in fac.columns else slim.iloc[:0]
        reached = reach_within(travel, seats, Points.from_xy(runs.index.tolist(), runs.geometry.x, runs.geometry.y),
                               rule.max_minutes)
        # As dicts: a Series.get per county and center was most of this check for the country's counties.
        covered_by = pd.Series(pop * reached).groupby(town_county).sum().to_dict()
        total_by = pd.Series(pop).groupby(town_county).sum().to_dict()
        own = set(runs.loc[runs["admin_level"] == "county", "county_code"].astype(str).tolist())
        for county in counties:
            name = names.get(county, county)
            covered, total = int(covered_by.get(county, 0)), int(total_by.get(county, 0))
            written = lookup.get((county, center))
            if not tables_from_rule:
                pass
            elif written is None:
                found.append(_v(rule, county, name, f"the coverage table has no row for {en}", f"覆盖表缺少{zh}一行"))
            elif written != covered:
                found.append(_v(rule, county, name, f"the coverage table says {written:,} residents within reach of "
                                f"{en}, the data give {covered:,}", f"覆盖表{zh}可及人口为{written:,}，按数据为{covered:,}"))
            if rule.require_in_county and county not in own:
                found.append(_v(rule, county, name, f"no county-level hospital runs a {en} center ({zh})",
                                f"县级医院未建{zh}"))
            if rule.min_covered_share and total and covered / total < rule.min_covered_share:
                found.append(_v(rule, county, name, f"{covered / total:.1%} of residents within {rule.max_minutes:g} min of "
                                f"{en}, below {rule.min_covered_share:.0%}",
                                f"{rule.max_minutes:g}分钟内可及{zh}的常住人口占{covered / total:.1%}，低于{rule.min_covered_share:.0%}"))
    ups = tables.get("emergency_upgrades", pd.DataFrame()) if tables_from_rule else pd.DataFrame()
    # The upgraded facilities' cells read once (a row of the wide facility frame per upgrade cost ~1 ms).
    named = sorted({str(x) for x in ups["facility_id"].tolist()} & set(fac.index.tolist())) if len(ups) else []
    wanted = [c for c in dict.fromkeys(["county_code", "admin_level", "kind", "name", *rule.centers]) if c in fac.columns]
    cells = dict(zip(named, (dict(zip(wanted, r)) for r in zip(*(fac.loc[named, c].tolist() for c in wanted))))) \
        if named else {}
    for row in ups.itertuples():
        county, fid, center = str(row.county), str(row.facility_id), str(row.center)
        name = names.get(county, county)
        if fid not in fac.index:
            found.append(_v(rule, county, name, f"upgrade {fid} is not a facility of the region", f"升级对象{fid}不在本地区"))
            continue
        f = cells[fid]
        if str(f["county_code"]) != county or f["admin_level"] != "county" or f["kind"] not in rule.kinds_for(center) \
                or bool(f.get(center, False)):
            found.append(_v(rule, county, name, f"upgrade of {f['name']} to {EMERGENCY_CENTERS[center][1]} is not allowed "
                            "(a county-level hospital of an allowed kind, not yet running it)",
                            f"{f['name']}不符合升级{EMERGENCY_CENTERS[center][0]}的条件"))
    if len(ups):
        per_k = ups.groupby(["county", "k"]).size()
        for (county, k), n in per_k.items():
            if n > int(k):
                found.append(_v(rule, str(county), names.get(str(county), str(county)), f"{n} upgrades for k = {k}",
                                f"k = {k}时提出{n}项升级"))
    return RuleStatus(rule, len(counties), tuple(found))


def check_shared(region: Region, plan: Plan, tables: dict[str, pd.DataFrame], rule, travel: TravelModel,
                 scopes: dict[str, tuple[str, tuple[str, ...], str]]) -> RuleStatus:
    """Every covered community has a host for every center, the host is allowed and able (required centers
    run now), and the courier trips visit every member once within the limit, their minutes as written."""
    found: list[Violation] = []
    names = county_names(region)
    fac = region.facilities
    hosts = tables.get("shared_hosts", pd.DataFrame())
    trips = tables.get("courier_trips", pd.DataFrame())
    if len(hosts):
        hosts = hosts[hosts["rule_id"] == rule.id]
    if len(trips):
        trips = trips[trips["rule_id"] == rule.id]
    checked = 0
    host_rows = {(str(r["community"]), str(r["center"])): r for r in hosts.to_dict("records")} if len(hosts) else {}
    hosts_in = {}
    for (comm, _), r in host_rows.items():
        hosts_in.setdefault(comm, set()).add(str(r["host"]))
    trips_of: dict[tuple[str, str], list[dict]] = {}
    for r in (trips.to_dict("records") if len(trips) else []):
        trips_of.setdefault((str(r["community"]), str(r["host"])), []).append(r)
    members_in: dict[str, list[str]] = {}
    ctx = fac["context"].astype(bool) if "context" in fac.columns else pd.Series(False, index=fac.index)
    mem = fac[fac["kind"].isin(MEMBER_KINDS) & ~ctx]
    for fid, town in zip(mem.index.tolist(), mem["township_code"].astype(str).tolist()):
        members_in.setdefault(town, []).append(str(fid))
    lon = dict(zip(fac.index.tolist(), fac.geometry.x.tolist()))
    lat = dict(zip(fac.index.tolist(), fac.geometry.y.tolist()))
    # Cells of the facilities that lead or host (never village clinics) read once, not a pandas look-up each.
    big = fac[fac["kind"] != "village_clinic"]
    cells = {col: dict(zip(big.index.tolist(), big[col].tolist()))
             for col in ("name", "county_code", "kind", "central_thc", "township_code", *rule.centers) if col in big.columns}

    def at(fid: str, col: str):
        column = cells.get(col)
        return column[fid] if column is not None and fid in column else fac.at[fid, col]
    for c in sorted(plan.communities(), key=lambda c: c.id):
        scope, counties, city = scopes.get(c.unit, ("county", (c.unit,), ""))
        if not rule.applies_to(scope, counties, city) or c.lead not in fac.index:
            continue
        checked += 1
        county = str(at(c.lead, "county_code"))
        where = names.get(county, county)
        label, label_zh = f"the community led by {at(c.lead, 'name')}", f"{at(c.lead, 'name')}牵头的医共体"
        towns = set(c.townships)
        for center in rule.centers:
            zh, en = SHARED_CENTERS[center]
            row = host_rows.get((c.id, center))
            if row is None:
                found.append(_v(rule, c.unit, where, f"{label} has no {en} host in the table", f"{label_zh}共享中心表缺少{zh}"))
                continue
            host = str(row["host"])
            able = host in fac.index and center in fac.columns and bool(at(host, center))
            allowed = host == c.lead or (rule.hosts == "lead_or_central" and host in fac.index
                                         and at(host, "kind") == "township_health_center"
                                         and bool(at(host, "central_thc")) and at(host, "township_code") in towns)
            if not allowed:
                found.append(_v(rule, c.unit, where, f"{label}: {en} host {host} is neither its lead nor an allowed central "
                                "township health center", f"{label_zh}：{zh}承担机构{host}不是牵头医院或本医共体中心乡镇卫生院"))
            if center in rule.required and not able:
                found.append(_v(rule, c.unit, where, f"{label} has no {en} center ({zh}): no member runs one",
                                f"{label_zh}未建成{zh}"))
            if str(row["status"]) == "existing" and not able:
                found.append(_v(rule, c.unit, where, f"{label}: the table says {at(host, 'name')} runs {en}, the data "
                                "say it cannot", f"{label_zh}：表称{at(host, 'name')}已具备{zh}，数据不符"))
        members = sorted({f for t in towns for f in members_in.get(t, [])} | {c.lead})
        for host in sorted(hosts_in.get(c.id, set())):
            mine_trips = trips_of.get((c.id, host), [])
            seen = [s for trip in mine_trips for s in str(trip["stops"]).split(";") if s]
            want = [m for m in members if m != host]
            if sorted(seen) != sorted(want):
                missing = sorted(set(want) - set(seen))
                extra = sorted(set(seen) - set(want)) + sorted({s for s in seen if seen.count(s) > 1})
                found.append(_v(rule, c.unit, where, f"{label}: courier trips from {at(host, 'name')} miss {missing[:5]} "
                                f"or visit {extra[:5]} wrongly", f"{label_zh}：{at(host, 'name')}物流线路漏访{missing[:5]}或误访{extra[:5]}"))
            for trip in mine_trips:
                stops = [s for s in str(trip["stops"]).split(";") if s]
                number, written = trip["trip"], float(trip["minutes"])
                ids = [host, *stops, host]
                if not all(i in lon for i in ids):
                    found.append(_v(rule, c.unit, where, f"{label}: trip {number} names a facility not in the region",
                                    f"{label_zh}：第{number}条线路含本地区以外的机构"))
                    continue
                pts = Points.from_xy(ids, [lon[i] for i in ids], [lat[i] for i in ids])
                t = travel.minutes(pts, pts)
                minutes = float(sum(t[k, k + 1] for k in range(len(ids) - 1)) + rule.stop_min * len(stops))
                if abs(minutes - written) > 0.05:
                    found.append(_v(rule, c.unit, where, f"{label}: trip {number} takes {minutes:.1f} min, the table "
                                    f"says {written:.1f}", f"{label_zh}：第{number}条线路实为{minutes:.1f}分钟，表中为{written:.1f}"))
                if rule.enforce_round_trip and minutes > rule.max_round_trip_min + 1e-6:
                    found.append(_v(rule, c.unit, where, f"{label}: courier trip {number} from {at(host, 'name')} "
                                    f"takes {minutes:.0f} min, over {rule.max_round_trip_min:g}",
                                    f"{label_zh}：{at(host, 'name')}第{number}条物流往返{minutes:.0f}分钟，"
                                    f"超过{rule.max_round_trip_min:g}分钟"))
    return RuleStatus(rule, checked, tuple(found))


def _pairwise_gini(v: np.ndarray, w: np.ndarray) -> float:
    total, mean = w.sum(), (v * w).sum() / w.sum() if w.sum() else 0.0
    if total <= 0 or mean <= 0:
        return 0.0
    return float((w[:, None] * w[None, :] * np.abs(v[:, None] - v[None, :])).sum() / (2 * total * total * mean))


def check_indicators(region: Region, tables: dict[str, pd.DataFrame], rule) -> RuleStatus:
    """The equity table's Gini follows from the township table (pairwise formula); counties over `max_gini`."""
    found: list[Violation] = []
    towns = tables.get("access_townships", pd.DataFrame())
    equity = tables.get("access_equity", pd.DataFrame())
    names = county_names(region)
    rows_of = rows_by(towns["county"].to_numpy()) if len(towns) else {}
    # The two columns as arrays once, each county's rows taken from them (a frame slice per county cost more).
    per_1000 = towns["physicians_per_1000"].to_numpy(float) if len(towns) else np.zeros(0)
    people = towns["population"].to_numpy(float) if len(towns) else np.zeros(0)
    for row in equity.itertuples():
        county = str(row.county)
        name = names.get(county, county)
        at = rows_of.get(county, np.zeros(0, dtype=int))
        g = _pairwise_gini(per_1000[at], people[at])
        if abs(g - float(row.physicians_gini)) > 1e-4:
            found.append(_v(rule, county, name, f"Gini of physician access is {g:.4f} from the township table, "
                            f"{float(row.physicians_gini):.4f} in the equity table", f"医师可及性基尼系数表间不一致（{g:.4f}）"))
        if rule.max_gini is not None and float(row.physicians_gini) > rule.max_gini:
            found.append(_v(rule, county, name, f"Gini of physician access {float(row.physicians_gini):.3f}, over "
                            f"{rule.max_gini:g}", f"医师可及性基尼系数{float(row.physicians_gini):.3f}，超过{rule.max_gini:g}"))
    return RuleStatus(rule, len(equity), tuple(found))


def check_targets(region: Region, tables: dict[str, pd.DataFrame], rule) -> RuleStatus:
    """Counties whose ESTIMATED share (the visit-share table) is below the target."""
    found: list[Violation] = []
    shares = tables.get("visit_shares", pd.DataFrame())
    col = "primary_share_est" if rule.measure == "primary" else "in_county_share_est"
    zh, en = MEASURES[rule.measure]
    n = 0
    names = county_names(region)
    for row in shares.itertuples():
        county = str(row.county)
        est = getattr(row, col)
        if (rule.counties is not None and county not in rule.counties) or pd.isna(est):
            continue
        n += 1
        if float(est) < rule.min_share:
            found.append(_v(rule, county, names.get(county, county),
                            f"estimated {en} {float(est):.1%} (model estimate), {100 * (rule.min_share - float(est)):.1f} "
                            f"points below the target {rule.min_share:.0%}",
                            f"{zh}估算值{float(est):.1%}（模型估算），低于目标{rule.min_share:.0%} "
                            f"{100 * (rule.min_share - float(est)):.1f}个百分点"))
    return RuleStatus(rule, n, tuple(found))


def check_access(region: Region, plan: Plan, tables: dict[str, pd.DataFrame], rules: Sequence, travel: TravelModel,
                 scopes: dict[str, tuple[str, tuple[str, ...], str]]) -> list[RuleStatus]:
    """Check every enabled access rule against the tables (as written) and the region."""
    out = []
    first = next((r for r in rules if r.enabled and r.kind == "emergency_centers"), None)
    for rule in rules:
        if not rule.enabled or type(rule).stage != "access":
            continue
        if rule.kind == "emergency_centers":
            out.append(check_emergency(region, tables, rule, travel, tables_from_rule=rule is first))
        elif rule.kind == "shared_centers":
            out.append(check_shared(region, plan, tables, rule, travel, scopes))
        elif rule.kind == "access_indicators":
            out.append(check_indicators(region, tables, rule))
        elif rule.kind == "visit_share_target" and "visit_shares" in tables:
            out.append(check_targets(region, tables, rule))
    return out
