"""Assign physicians year-round: leads to their township health centers, city experts to communities.

One integer model per prefecture-level city (its communities share the city's tertiary
hospitals). Variables count physicians by source hospital, destination, specialty and title:

    minimise   sum travel_min * sent  +  borrow penalty  -  specialty rewards  +  M * shortfall
    subject to every target center receives >= N (min_title or above) from its lead (+ shortfall)
               every community receives >= E experts from the city's tertiary hospitals (+ shortfall)
               sent by (hospital, specialty, title) <= physicians there
               sent by hospital <= its release cap (release_share x physicians of min_title or above)

Shortfall variables keep the model feasible so that a county that cannot be covered is
reported with its missing numbers (never returned as if complete); M is larger than any
travel saving, so the optimum covers everything that can be covered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from .milp import LinExpr, Model, Status, solve
from .plan import Plan
from .region import Region
from .rules.service import AttendingDispatch, ExpertDispatch
from .travel import Points, TravelModel
from .vocabulary import Title

SHORTFALL_PENALTY = 10_000_000
"""Person-minutes charged per missing physician: more than any travel a physician could save."""

TITLES_DOWN = (Title.CHIEF, Title.ASSOCIATE_CHIEF, Title.ATTENDING, Title.RESIDENT)


@dataclass(frozen=True)
class RosterRow:
    """Physicians of one title and specialty sent from one hospital to one place, year-round."""

    role: str
    community: str
    source: str
    target: str
    title: str
    specialty: str
    count: int
    travel_min: float
    borrowed: bool = False


@dataclass
class DispatchResult:
    """The dispatch of one city: roster rows, shortfalls with their explanations, and the solve status."""

    city: str
    city_name: str
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    time_s: float
    rows: list[RosterRow] = field(default_factory=list)
    shortfalls: list[str] = field(default_factory=list)
    relaxations: list[str] = field(default_factory=list)
    short_counties: list[str] = field(default_factory=list)
    short_leads: dict[str, int] = field(default_factory=dict)
    short_experts: int = 0

    @property
    def complete(self) -> bool:
        """True when every center and community got what the rules ask."""
        return not self.shortfalls and self.status in (Status.OPTIMAL, Status.FEASIBLE)


def eligible_titles(min_title: Title) -> list[Title]:
    """Titles at or above `min_title`, highest first."""
    return [t for t in TITLES_DOWN if t.rank >= min_title.rank]


def staff_pool(region: Region, facility_ids: Sequence[str], titles: Sequence[Title]) -> dict[tuple[str, str, str], int]:
    """(facility, specialty, title) -> physicians, from the staff roster (or the facility's title counts)."""
    ids = set(facility_ids)
    wanted = {t.value for t in titles}
    pool: dict[tuple[str, str, str], int] = {}
    staff = region.staff
    if len(staff):
        rows = staff[staff["facility_id"].isin(ids) & staff["title"].isin(wanted)]
        for (fid, spec, title), n in rows.groupby(["facility_id", "specialty", "title"])["count"].sum().items():
            if int(n) > 0:
                pool[str(fid), str(spec), str(title)] = int(n)
    with_roster = {k[0] for k in pool} | (set(staff["facility_id"]) if len(staff) else set())
    for fid in sorted(ids - with_roster):
        for t in titles:
            n = int(region.facilities.at[fid, t.value] or 0) if t.value in region.facilities.columns else 0
            if n > 0:
                pool[fid, "未注明", t.value] = n
    return pool


def release_cap(region: Region, fid: str, default_share: float) -> tuple[int, int, float]:
    """(cap, physicians of attending rank or above, share) for a hospital."""
    f = region.facilities.loc[fid]
    eligible = sum(int(f.get(t.value, 0) or 0) for t in eligible_titles(Title.ATTENDING))
    own = f.get("release_share")
    share = float(own) if own is not None and not pd.isna(own) else default_share
    return int(math.floor(share * eligible + 1e-9)), eligible, share


def specialties_present(region: Region, facility_ids: Sequence[str]) -> dict[str, set[str]]:
    """Facility -> specialties it already has physicians in (a center lacks the others)."""
    staff = region.staff
    out: dict[str, set[str]] = {str(f): set() for f in facility_ids}
    if len(staff):
        rows = staff[staff["facility_id"].isin(out) & (staff["count"] > 0)]
        for fid, spec in zip(rows["facility_id"], rows["specialty"]):
            out[str(fid)].add(str(spec))
    return out


@dataclass
class _CityModel:
    model: Model
    attend: dict[tuple[str, str, str, str], object]
    expert: dict[tuple[str, str, str, str], object]
    short_t: dict[str, object]
    short_c: dict[str, object]
    minutes: dict[tuple[str, str], float]
    pool: dict[tuple[str, str, str], int]


ANY = "*"
"""Specialty key of generic variables: any specialty the hospital still has free."""


def _split(remaining: dict[tuple[str, str, str], int], h: str, title: str, n: int) -> list[tuple[str, int]]:
    """Take n physicians of a title from a hospital's free specialties, largest first (ties by name)."""
    out = []
    free = sorted(((k[1], v) for k, v in remaining.items() if k[0] == h and k[2] == title and v > 0),
                  key=lambda sv: (-sv[1], sv[0]))
    for spec, have in free:
        if n == 0:
            break
        k = min(n, have)
        remaining[h, spec, title] -= k
        out.append((spec, k))
        n -= k
    return out


def dispatch_city(region: Region, city: str, communities: Sequence, attending: AttendingDispatch | None,
                  expert: ExpertDispatch | None, travel: TravelModel, *, backend: str = "cpsat",
                  time_limit_s: float = 60.0, explain: bool = True) -> DispatchResult:
    """Solve the dispatch of one city's communities; explain any shortfall and what would close it."""
    fac = region.facilities
    targets: dict[str, tuple[str, str]] = {}   # target -> (community id, lead)
    if attending is not None and attending.min_per_center > 0:
        kinds = {k.value for k in attending.target_kinds}
        # Target facilities by township, found once (not one frame filter per community).
        of_kind = fac[fac["kind"].isin(kinds)]
        by_town: dict[str, list] = {}
        for fid, town in zip(of_kind.index, of_kind["township_code"]):
            by_town.setdefault(town, []).append(fid)
        for c in communities:
            for fid in sorted(f for t in set(c.townships) for f in by_town.get(t, ())):
                if fid != c.lead:
                    targets[str(fid)] = (c.id, c.lead)
    expert_sources: list[str] = []
    if expert is not None and expert.min_per_community > 0:
        if expert.same_city:
            area = region.city_counties(city)
        else:
            province = region.counties.loc[region.counties["city_code"] == city, "province_code"].iloc[0]
            area = list(region.counties.index[region.counties["province_code"] == province])
        pool = fac[fac["county_code"].isin(area)]
        expert_sources = sorted(pool.index[expert.sources.matches(pool)])
    borrow_sources = expert_sources if attending is not None and attending.borrow_from_city else []
    built = _build(region, communities, targets, attending, expert, expert_sources, borrow_sources, travel)
    sol = solve(built.model, backend, time_limit_s=time_limit_s)
    city_name = region.city_name(city)
    result = DispatchResult(city, city_name, sol.status, sol.objective, sol.bound, sol.gap, sol.time_s)
    if sol.status not in (Status.OPTIMAL, Status.FEASIBLE):
        result.shortfalls.append(f"{city_name}: the dispatch model found no plan ({sol.status.value})")
        return result
    minutes = built.minutes
    leads = {c.id: c.lead for c in communities}
    remaining = dict(built.pool)
    counts: list[tuple[str, str, str, str, str, int]] = []   # role, community, source, target, title, n
    # Named specialties first (they were chosen for a lacking specialty), then the generic
    # counts, which take any specialty still free: the per-title totals make this always fit.
    for (h, t, spec, title), var in sorted(built.attend.items()):
        n = int(round(sol.value(var)))
        if n and spec != ANY:
            remaining[h, spec, title] -= n
            result.rows.append(RosterRow("attending", targets[t][0], h, t, title, spec, n, round(minutes[h, t], 2),
                                         borrowed=h != targets[t][1]))
    for (h, t, spec, title), var in sorted(built.attend.items()):
        n = int(round(sol.value(var)))
        if n and spec == ANY:
            counts.append(("attending", targets[t][0], h, t, title, n))
    for (h, cid, _spec, title), var in sorted(built.expert.items()):
        n = int(round(sol.value(var)))
        if n:
            counts.append(("expert", cid, h, leads[cid], title, n))
    for role, comm, h, t, title, n in counts:
        for spec, k in _split(remaining, h, title, n):
            result.rows.append(RosterRow(role, comm, h, t, title, spec, k, round(minutes[h, t], 2),
                                         borrowed=role == "attending" and h != targets[t][1]))
    _describe_shortfalls(result, region, sol, built, targets, communities, attending, expert)
    if result.shortfalls and explain:
        result.relaxations = _relaxations(region, city, communities, attending, expert, travel, backend,
                                          time_limit_s, result)
    return result


def _build(region: Region, communities: Sequence, targets: dict[str, tuple[str, str]], attending: AttendingDispatch | None,
           expert: ExpertDispatch | None, expert_sources: list[str], borrow_sources: list[str],
           travel: TravelModel) -> _CityModel:
    """The city's model. Travel does not depend on specialty, so a target's physicians are generic
    counts per title, plus named variables only for specialties it lacks and the rule rewards;
    specialties are assigned afterwards from what each hospital has free (exact, because every
    constraint on specialties is a per-title total)."""
    m = Model("dispatch")
    a_titles = eligible_titles(attending.min_title) if attending is not None else []
    e_titles = eligible_titles(expert.min_title) if expert is not None else []
    leads = sorted({lead for _, lead in targets.values()})
    sources = sorted(set(leads) | set(expert_sources) | set(borrow_sources))
    pool = staff_pool(region, sources, [t for t in TITLES_DOWN if t in set(a_titles) | set(e_titles)])
    per_title: dict[tuple[str, str], int] = {}
    for (h, _spec, title), n in pool.items():
        per_title[h, title] = per_title.get((h, title), 0) + n
    minutes = _minutes(region, travel, sources, sorted(set(targets) | {c.lead for c in communities}))
    built = _CityModel(m, {}, {}, {}, {}, minutes, pool)
    # Variables are indexed as they are made, so each constraint sums only its own.
    by_title: dict[tuple[str, str], list] = {}
    by_spec: dict[tuple[str, str, str], list] = {}
    per_source: dict[str, list] = {}
    weights = attending.specialty_weights if attending is not None else {}
    present_at = specialties_present(region, list(targets)) if weights else {}
    for t, (_cid, lead) in sorted(targets.items()):
        here: list = []
        lacking = [sp for sp, w in sorted(weights.items()) if w > 0 and sp not in present_at.get(t, set())]
        fills: dict[str, list] = {}
        for h in [lead] + [b for b in borrow_sources if b != lead]:
            cost = int(round(minutes[h, t])) + (attending.borrow_penalty if h != lead else 0)
            for title in a_titles:
                have = per_title.get((h, title.value), 0)
                if not have:
                    continue
                options = [(ANY, have)] + [(sp, pool.get((h, sp, title.value), 0)) for sp in lacking]
                for spec, n in options:
                    if not n:
                        continue
                    var = m.integer(f"a[{h},{t},{spec},{title.value}]", 0, min(n, attending.min_per_center))
                    built.attend[h, t, spec, title.value] = var
                    m.minimize([(cost, var)])
                    here.append(var)
                    by_title.setdefault((h, title.value), []).append(var)
                    per_source.setdefault(h, []).append(var)
                    if spec != ANY:
                        by_spec.setdefault((h, spec, title.value), []).append(var)
                        fills.setdefault(spec, []).append(var)
        short = m.integer(f"short[{t}]", 0, attending.min_per_center)
        built.short_t[t] = short
        m.minimize([(SHORTFALL_PENALTY, short)])
        # Exactly N: a specialty reward picks which physicians go, it never sends extra ones.
        m.add(LinExpr.sum((1, v) for v in here) + short, lb=attending.min_per_center, ub=attending.min_per_center,
              name=f"center[{t}]", group=attending.id)
        for spec, sent in sorted(fills.items()):
            b = m.binary(f"fills[{t},{spec}]")
            m.add(LinExpr.sum((1, v) for v in sent) - b, lb=0, name=f"fills[{t},{spec}]", group="structure")
            m.minimize([(-int(weights[spec]), b)])
    if expert is not None and expert.min_per_community > 0:
        for c in communities:
            here = []
            for h in expert_sources:
                if h == c.lead:
                    continue
                cost = int(round(minutes[h, c.lead]))
                for title in e_titles:
                    have = per_title.get((h, title.value), 0)
                    if not have:
                        continue
                    var = m.integer(f"e[{h},{c.id},{title.value}]", 0, min(have, expert.min_per_community))
                    built.expert[h, c.id, ANY, title.value] = var
                    m.minimize([(cost, var)])
                    here.append(var)
                    by_title.setdefault((h, title.value), []).append(var)
                    per_source.setdefault(h, []).append(var)
            short = m.integer(f"eshort[{c.id}]", 0, expert.min_per_community)
            built.short_c[c.id] = short
            m.minimize([(SHORTFALL_PENALTY, short)])
            m.add(LinExpr.sum((1, v) for v in here) + short, lb=expert.min_per_community, ub=expert.min_per_community,
                  name=f"experts[{c.id}]", group=expert.id)
    for (h, title), used in sorted(by_title.items()):
        m.add(LinExpr.sum((1, v) for v in used), ub=per_title[h, title], name=f"have[{h},{title}]", group="staff")
    for (h, spec, title), used in sorted(by_spec.items()):
        m.add(LinExpr.sum((1, v) for v in used), ub=pool[h, spec, title], name=f"have[{h},{spec},{title}]", group="staff")
    default_share = attending.release_share if attending is not None else (expert.release_share if expert else 0.2)
    for h, used in sorted(per_source.items()):
        share = expert.release_share if (expert is not None and h in expert_sources and h not in leads) else default_share
        cap, _, _ = release_cap(region, h, share)
        m.add(LinExpr.sum((1, v) for v in used), ub=cap, name=f"cap[{h}]", group="release_cap")
    return built


def _minutes(region: Region, travel: TravelModel, sources: Sequence[str], places: Sequence[str]) -> dict[tuple[str, str], float]:
    """Travel minutes between facilities, by (source, place)."""
    fac = region.facilities
    if not sources or not places:
        return {}
    a = Points.from_xy(list(sources), fac.loc[list(sources)].geometry.x, fac.loc[list(sources)].geometry.y)
    b = Points.from_xy(list(places), fac.loc[list(places)].geometry.x, fac.loc[list(places)].geometry.y)
    mat = travel.minutes(a, b)
    return {(s, p): float(mat[i, j]) for i, s in enumerate(sources) for j, p in enumerate(places)}


def _describe_shortfalls(result: DispatchResult, region: Region, sol, built: _CityModel, targets: dict[str, tuple[str, str]],
                         communities: Sequence, attending: AttendingDispatch | None, expert: ExpertDispatch | None) -> None:
    fac = region.facilities
    by_lead: dict[str, list[str]] = {}
    for t, var in built.short_t.items():
        if sol.value(var) > 0.5:
            by_lead.setdefault(targets[t][1], []).append(t)
    for lead, ts in sorted(by_lead.items()):
        missing = int(sum(round(sol.value(built.short_t[t])) for t in ts))
        cap, eligible, share = release_cap(region, lead, attending.release_share)
        county = region.county_name(fac.at[lead, "county_code"])
        names = ", ".join(fac.at[t, "name"] for t in ts[:4]) + (f" and {len(ts) - 4} more" if len(ts) > 4 else "")
        result.short_counties.append(county)
        result.short_leads[lead] = missing
        result.shortfalls.append(
            f"{county}: {len(ts)} centers get no {attending.min_title.zh}-or-above physician from {fac.at[lead, 'name']} "
            f"({names}); missing {missing} {attending.min_title.zh}-or-above physicians — the lead has {eligible} such "
            f"physicians and may release {cap} ({share:.0%}) [{attending.label()}]")
    for cid, var in built.short_c.items():
        if sol.value(var) > 0.5:
            missing = int(round(sol.value(var)))
            lead = next(c.lead for c in communities if c.id == cid)
            result.short_counties.append(region.county_name(fac.at[lead, "county_code"]))
            result.short_experts += missing
            result.shortfalls.append(
                f"{region.county_name(fac.at[lead, 'county_code'])}: the community led by {fac.at[lead, 'name']} gets "
                f"{expert.min_per_community - missing} of {expert.min_per_community} city experts; missing {missing} "
                f"[{expert.label()}]")


def _share_needed(region: Region, base: DispatchResult, attending: AttendingDispatch | None,
                  expert: ExpertDispatch | None) -> float | None:
    """The smallest release share (in steps of 0.05) that would let every short lead send what is missing.

    A lead short of `missing` physicians that already sends `sent` needs
    floor(share x eligible) >= sent + missing; expert shortfalls add one step over the rule's share.
    """
    if attending is None:
        return None
    sent: dict[str, int] = {}
    for r in base.rows:
        sent[r.source] = sent.get(r.source, 0) + r.count
    need = attending.release_share + (0.1 if base.short_experts else 0.0)
    for lead, missing in base.short_leads.items():
        _, eligible, _ = release_cap(region, lead, attending.release_share)
        if eligible:
            need = max(need, (sent.get(lead, 0) + missing) / eligible)
    share = min(1.0, math.ceil(round(need / 0.05, 9)) * 0.05)
    return round(share, 2) if share > attending.release_share else None


def _relaxations(region: Region, city: str, communities: Sequence, attending: AttendingDispatch | None,
                 expert: ExpertDispatch | None, travel: TravelModel, backend: str, time_limit_s: float,
                 base: DispatchResult) -> list[str]:
    """Re-solve with each relaxation and say whether it closes the shortfall."""
    out = []
    trials: list[tuple[str, AttendingDispatch | None, ExpertDispatch | None]] = []
    if attending is not None and not attending.borrow_from_city:
        trials.append(("borrow_from_city = true (lend from the city's tertiary hospitals)",
                       attending.model_copy(update={"borrow_from_city": True}), expert))
    share = _share_needed(region, base, attending, expert)
    if share is not None:
        trials.append((f"release_share = {share:g}", attending.model_copy(update={"release_share": share}),
                       expert.model_copy(update={"release_share": max(share, expert.release_share)}) if expert else None))
    before = list(dict.fromkeys(base.short_counties))
    for label, a, e in trials:
        trial = dispatch_city(region, city, communities, a, e, travel, backend=backend,
                              time_limit_s=time_limit_s, explain=False)
        after = set(trial.short_counties)
        closed = [c for c in before if c not in after]
        still = list(dict.fromkeys(trial.short_counties))
        if not still:
            out.append(f"{base.city_name}: setting {label} closes every shortfall")
        else:
            what = f"closes {', '.join(closed)}" if closed else "closes none"
            out.append(f"{base.city_name}: setting {label} {what}; still short: {', '.join(still)}")
    return out


def communities_by_city(region: Region, plan: Plan) -> dict[str, list]:
    """City code -> the plan's communities whose lead's county lies in that city (ordered)."""
    city_of = region.counties["city_code"].to_dict()
    out: dict[str, list] = {}
    for c in plan.communities():
        county = region.facilities.at[c.lead, "county_code"] if c.lead in region.facilities.index else None
        if c.unit.startswith("city:"):
            city = c.unit.split(":", 1)[1]
        else:
            city = city_of.get(c.unit, city_of.get(county))
        out.setdefault(str(city), []).append(c)
    return {k: sorted(v, key=lambda c: c.id) for k, v in sorted(out.items())}


def dispatch_region(region: Region, plan: Plan, rules: Sequence, travel: TravelModel, *, backend: str = "highs",
                    time_limit_s: float = 60.0, jobs: int = 1, executor: str = "process",
                    address: str | None = None) -> list[DispatchResult]:
    """Dispatch for every city of the plan under the enabled dispatch rules (empty without such rules).

    Each city is solved on its own part of the region (its counties, plus the city and
    provincial hospitals of the city as context, or the whole province when experts may come
    from anywhere in it), so the tasks are small and run in parallel with identical results.
    """
    from .executor import ordered_map

    attending = next((r for r in rules if r.enabled and r.kind == "attending_dispatch"), None)
    expert = next((r for r in rules if r.enabled and r.kind == "expert_dispatch"), None)
    if attending is None and expert is None:
        return []
    by_city = communities_by_city(region, plan)
    province_of = region.counties["province_code"].to_dict()
    groups = []
    for city in by_city:
        counties = region.city_counties(city)
        if expert is not None and not expert.same_city:
            provinces = {province_of.get(c) for c in counties}
            counties = sorted(c for c, p in province_of.items() if p in provinces)
        groups.append([c for c in counties if c in region.counties.index])
    parts = region.partition(groups)
    items = [(part, city, comms, attending, expert, travel, backend, time_limit_s)
             for part, (city, comms) in zip(parts, by_city.items())]
    return ordered_map(_dispatch_task, items, jobs=jobs, executor=executor, address=address)


def _dispatch_task(region: Region, city: str, communities: Sequence, attending: AttendingDispatch | None,
                   expert: ExpertDispatch | None, travel: TravelModel, backend: str, time_limit_s: float) -> DispatchResult:
    return dispatch_city(region, city, communities, attending, expert, travel, backend=backend, time_limit_s=time_limit_s)


def roster_frame(results: Sequence[DispatchResult], region: Region) -> pd.DataFrame:
    """The roster as a table: who (title, specialty, count), from where, to where, travel time."""
    fac = region.facilities
    rows = []
    for r in results:
        for row in r.rows:
            rows.append({"city": r.city_name, "role": row.role, "community_id": row.community,
                         "from_id": row.source, "from_name": fac.at[row.source, "name"],
                         "to_id": row.target, "to_name": fac.at[row.target, "name"],
                         "title": Title(row.title).zh, "specialty": row.specialty, "count": row.count,
                         "travel_min": row.travel_min, "borrowed": row.borrowed})
    columns = ["city", "role", "community_id", "from_id", "from_name", "to_id", "to_name", "title", "specialty",
               "count", "travel_min", "borrowed"]
    return pd.DataFrame(rows, columns=columns)

