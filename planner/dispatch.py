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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .i18n import Text
from .milp import Model, Status, solve
from .plan import Community, Plan
from .region import Region, RegionCutter
from .rules.service import PROFESSION_WORDS, AttendingDispatch, ExpertDispatch
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
    profession: str = "medicine"


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
    shortfall_cities: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every center and community got what the rules ask."""
        return not self.shortfalls and self.status in (Status.OPTIMAL, Status.FEASIBLE)


def eligible_titles(min_title: Title) -> list[Title]:
    """Titles at or above `min_title`, highest first."""
    return [t for t in TITLES_DOWN if t.rank >= min_title.rank]


def staff_by_profession(region: Region, facility_ids: Sequence[str],
                        titles: Sequence[Title]) -> dict[tuple[str, str, str, str], int]:
    """(facility, profession, specialty, title) -> staff, from the staff roster (or the facility's title counts).

    A facility without roster rows has its title columns, read as physicians (medicine).
    """
    ids = set(facility_ids)
    wanted = {t.value for t in titles}
    pool: dict[tuple[str, str, str, str], int] = {}
    staff = region.staff
    if len(staff):
        rows = staff[staff["facility_id"].isin(ids) & staff["title"].isin(wanted)]
        prof = rows["profession"].fillna("medicine").replace("", "medicine") if "profession" in rows.columns else None
        keyed = rows.assign(profession=prof if prof is not None else "medicine")
        for (fid, p, spec, title), n in keyed.groupby(["facility_id", "profession", "specialty", "title"])["count"].sum().items():
            if int(n) > 0:
                pool[str(fid), str(p), str(spec), str(title)] = int(n)
    # Facilities of `ids` with roster rows (any title): only those, not every id of the region's roster.
    listed = set(staff.loc[staff["facility_id"].isin(ids), "facility_id"].tolist()) if len(staff) else set()
    with_roster = {k[0] for k in pool} | listed
    for fid in sorted(ids - with_roster):
        for t in titles:
            n = int(region.facilities.at[fid, t.value] or 0) if t.value in region.facilities.columns else 0
            if n > 0:
                pool[fid, "medicine", "未注明", t.value] = n
    return pool


def staff_pool(region: Region, facility_ids: Sequence[str], titles: Sequence[Title],
               professions: Sequence[str] | None = ("medicine",)) -> dict[tuple[str, str, str], int]:
    """(facility, specialty, title) -> staff of the given professions (default physicians; None: all)."""
    pool: dict[tuple[str, str, str], int] = {}
    for (fid, p, spec, title), n in staff_by_profession(region, facility_ids, titles).items():
        if professions is None or p in professions:
            pool[fid, spec, title] = pool.get((fid, spec, title), 0) + n
    return pool


def release_cap(region: Region, fid: str, default_share: float) -> tuple[int, int, float]:
    """(cap, physicians of attending rank or above, share) for a hospital."""
    return release_caps(region, [fid], default_share)[fid]


def release_caps(region: Region, ids: Sequence[str], default_share: float | dict[str, float]) -> dict[str, tuple[int, int, float]]:
    """`release_cap` of many hospitals at once (their cells read in one look-up, not a row per hospital: a wide
    frame's row cost ~0.5 ms, and a national run asks for thousands); `default_share` per id or for all."""
    fac = region.facilities
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    titles = [t.value for t in eligible_titles(Title.ATTENDING)]
    cols = [c for c in [*titles, "release_share"] if c in fac.columns]
    at = fac.index.get_indexer(ids)
    if (at < 0).any():
        raise KeyError(ids[int(np.flatnonzero(at < 0)[0])])
    values = {c: fac[c].to_numpy()[at].tolist() for c in cols}
    out = {}
    for k, fid in enumerate(ids):
        eligible = sum(int(values[t][k] or 0) if t in values else 0 for t in titles)
        own = values["release_share"][k] if "release_share" in values else None
        default = default_share[fid] if isinstance(default_share, dict) else default_share
        share = float(own) if own is not None and not pd.isna(own) else default
        out[fid] = (int(math.floor(share * eligible + 1e-9)), eligible, share)
    return out


def specialties_present(region: Region, facility_ids: Sequence[str]) -> dict[str, set[str]]:
    """Facility -> specialties it already has physicians in (a center lacks the others)."""
    staff = region.staff
    out: dict[str, set[str]] = {str(f): set() for f in facility_ids}
    if len(staff):
        rows = staff[staff["facility_id"].isin(out) & (staff["count"] > 0)]
        for fid, spec in zip(rows["facility_id"].tolist(), rows["specialty"].tolist()):
            out[str(fid)].add(str(spec))
    return out


@dataclass
class _CityModel:
    model: Model
    attend: dict[tuple[str, str, str, str], object]
    expert: dict[tuple[str, str, str, str], object]
    short_t: dict[str, object]
    short_c: dict[str, object]
    minutes: _Minutes
    pool: dict[tuple[str, str, str, str], int]
    short_p: dict[tuple[str, str], object] = field(default_factory=dict)
    recipients: list = field(default_factory=list)
    pools: dict[str, list[str]] = field(default_factory=dict)


ANY = "*"
"""Specialty key of generic variables: any specialty the hospital still has free."""

MEDICINE = "medicine"
REST = "*professions"
"""Pool key of expert variables that take any allowed profession not kept apart by profession_min."""


def _split(remaining: dict[tuple[str, str, str, str], int], h: str, profession: str, title: str,
           n: int, index: dict[tuple[str, str, str], list[str]] | None = None) -> list[tuple[str, int]]:
    """Take n staff of a profession and title from a hospital's free specialties, largest first (ties by name).

    `index` ((hospital, profession, title) -> specialties) saves scanning every key per call.
    """
    out = []
    specs = index.get((h, profession, title), []) if index is not None else \
        [k[2] for k in remaining if k[0] == h and k[1] == profession and k[3] == title]
    free = sorted(((sp, remaining[h, profession, sp, title]) for sp in specs if remaining[h, profession, sp, title] > 0),
                  key=lambda sv: (-sv[1], sv[0]))
    for spec, have in free:
        if n == 0:
            break
        k = min(n, have)
        remaining[h, profession, spec, title] -= k
        out.append((spec, k))
        n -= k
    return out


def _split_index(pool: dict[tuple[str, str, str, str], int]) -> dict[tuple[str, str, str], list[str]]:
    index: dict[tuple[str, str, str], list[str]] = {}
    for h, p, spec, title in pool:
        index.setdefault((h, p, title), []).append(spec)
    return index


def province_area(region: Region, province: str) -> list[str]:
    """Adcodes of a province's counties in the region, with the context counties of its cities
    (whose city and provincial hospitals a county's or city's region carries along)."""
    own = region.counties[region.counties["province_code"].astype(str) == str(province)]
    cities = set(own["city_code"].astype(str))
    ctx = region.context_counties
    extra = list(ctx.index[ctx["city_code"].astype(str).isin(cities)]) if len(ctx) and "city_code" in ctx.columns else []
    return sorted(set(own.index) | set(extra))


def expert_sources_in(region: Region, expert: ExpertDispatch, counties: Sequence[str]) -> list[str]:
    """The hospitals of these counties that may send experts under the rule (sorted ids)."""
    fac = region.facilities
    pool = fac[fac["county_code"].isin(list(counties))]
    return sorted(pool.index[expert.sources.matches(pool)])


def expert_recipients(region: Region, communities: Sequence, expert: ExpertDispatch, sources: Sequence[str]) -> list:
    """The communities the expert rule supports (rural county communities by default; never a source's own)."""
    ids = set(sources)
    out = []
    for c in communities:
        scope = "city" if str(c.unit).startswith("city:") else "county"
        name = region.county_name(c.unit) if scope == "county" and c.unit in region.counties.index else ""
        if expert.receives(scope, name, c.lead, ids):
            out.append(c)
    return out


def dispatch_city(region: Region, city: str, communities: Sequence, attending: AttendingDispatch | None,
                  expert: ExpertDispatch | None, travel: TravelModel, *, backend: str = "cpsat",
                  time_limit_s: float = 60.0, explain: bool = True, name: str | None = None,
                  area: Sequence[str] | None = None, attend: Sequence | None = None,
                  support: Sequence | None = None) -> DispatchResult:
    """Solve the dispatch of one city's communities (or a province's: `name` and the experts' `area`
    given); explain any shortfall and what would close it.

    `attend` limits the attending-physician part to those communities (default: all); experts
    go to the supported communities among `support` (default: `communities`; empty: the
    expert sources only lend, when borrowing is allowed).
    """
    fac = region.facilities
    targets: dict[str, tuple[str, str]] = {}   # target -> (community id, lead)
    if attending is not None and attending.min_per_center > 0:
        kinds = {k.value for k in attending.target_kinds}
        centers = fac[fac["kind"].astype(str).isin(kinds)]
        in_town: dict[str, list[str]] = {}
        for fid, town in zip(centers.index.tolist(), centers["township_code"].astype(str).tolist()):
            in_town.setdefault(town, []).append(str(fid))
        for c in (communities if attend is None else attend):
            for fid in sorted(f for t in set(c.townships) for f in in_town.get(str(t), [])):
                if fid != c.lead:
                    targets[fid] = (c.id, c.lead)
    expert_sources: list[str] = []
    if expert is not None and expert.min_per_community > 0:
        if area is None:
            if expert.same_city:
                area = region.city_counties(city)
            else:
                province = region.counties.loc[region.counties["city_code"] == city, "province_code"].iloc[0]
                area = province_area(region, province)
        expert_sources = expert_sources_in(region, expert, area)
    borrow_sources = expert_sources if attending is not None and attending.borrow_from_city else []
    built = _build(region, communities, targets, attending, expert, expert_sources, borrow_sources, travel,
                   support=support)
    sol = solve(built.model, backend, time_limit_s=time_limit_s)
    city_name = name if name is not None else region.city_name(city)
    result = DispatchResult(city, city_name, sol.status, sol.objective, sol.bound, sol.gap, sol.time_s)
    if sol.status not in (Status.OPTIMAL, Status.FEASIBLE):
        result.shortfalls.append(Text(f"{city_name}: the dispatch model found no plan ({sol.status.value})",
                                      f"{city_name}：派驻模型未找到方案（{sol.status.value}）"))
        result.shortfall_cities.append(city)
        return result
    minutes = built.minutes
    leads = {c.id: c.lead for c in communities}
    remaining = dict(built.pool)
    index = _split_index(remaining)
    counts: list[tuple[str, str, str, str, str, int, str]] = []   # role, community, source, target, title, n, profession
    # Named specialties first (they were chosen for a lacking specialty), then the generic
    # counts, which take any specialty still free: the per-title totals make this always fit.
    attend_vars = sorted(built.attend.items())
    for (h, t, spec, title), var in attend_vars:
        n = int(round(sol.value(var)))
        if n and spec != ANY:
            remaining[h, MEDICINE, spec, title] -= n
            result.rows.append(RosterRow("attending", targets[t][0], h, t, title, spec, n, round(minutes[h, t], 2),
                                         borrowed=h != targets[t][1]))
    for (h, t, spec, title), var in attend_vars:
        n = int(round(sol.value(var)))
        if n and spec == ANY:
            counts.append(("attending", targets[t][0], h, t, title, n, MEDICINE))
    pooled: list[tuple[str, str, str, int]] = []   # community, source, pool, n
    for (h, cid, prof, title), var in sorted(built.expert.items()):
        n = int(round(sol.value(var)))
        if n and title != ANY:
            counts.append(("expert", cid, h, leads[cid], title, n, prof))
        elif n:
            pooled.append((cid, h, prof, n))
    for role, comm, h, t, title, n, prof in counts:
        for spec, k in _split(remaining, h, prof, title, n, index):
            result.rows.append(RosterRow(role, comm, h, t, title, spec, k, round(minutes[h, t], 2),
                                         borrowed=role == "attending" and h != targets[t][1], profession=prof))
    e_titles = [t.value for t in eligible_titles(expert.title_floor())] if expert is not None else []
    for cid, h, key, n in pooled:
        # Senior titles first, then the pool's professions in the rule's order.
        for prof in built.pools.get(key, [key]):
            for title in e_titles:
                if n == 0:
                    break
                for spec, k in _split(remaining, h, prof, title, n, index):
                    result.rows.append(RosterRow("expert", cid, h, leads[cid], title, spec, k,
                                                 round(minutes[h, leads[cid]], 2), profession=prof))
                    n -= k
    _describe_shortfalls(result, region, sol, built, targets, communities, attending, expert)
    if result.shortfalls and explain:
        result.relaxations = _relaxations(region, city, communities, attending, expert, travel, backend,
                                          time_limit_s, result, name=name, area=area, attend=attend, support=support)
    return result


DISPATCH_HIGHS_OPTIONS = {"mip_heuristic_run_feasibility_jump": "false", "mip_detect_symmetry": "false"}
"""HiGHS options of the dispatch models. Their LP relaxation came out integral on every model of 浙江省
and 河南省 (transport-like rows), so the root LP is the optimum: the feasibility-jump heuristic
(whose plan the root LP replaces) and symmetry detection (for branching, which does not happen)
only cost time, a quarter of HiGHS's on 浙江省's 14 models, which return the same values with
and without them (benchmarks/results/dispatch_highs.txt). Since the models are solved as LPs first
(`Model.lp_first`), these apply only to a model whose LP optimum is fractional."""


def _build(region: Region, communities: Sequence, targets: dict[str, tuple[str, str]], attending: AttendingDispatch | None,
           expert: ExpertDispatch | None, expert_sources: list[str], borrow_sources: list[str],
           travel: TravelModel, support: Sequence | None = None) -> _CityModel:
    """The city's (or province's) model. Travel does not depend on specialty, so a target's
    physicians are generic counts per title, plus named variables only for specialties it lacks
    and the rule rewards; experts are counts per profession and title. Specialties are assigned
    afterwards from what each hospital has free (exact, because every constraint on specialties
    is a per-title total). Attending physicians are physicians (medicine) only."""
    # lp_first: the LP relaxation of these transport-like models came out integral on every model of
    # 浙江省 and 河南省, and solving it as an LP skips HiGHS's MIP presolve (27 of 31 s on 河南省's
    # province model); a fractional LP optimum falls back to the MIP.
    m = Model("dispatch", highs_options=DISPATCH_HIGHS_OPTIONS, lp_first=True)
    obj = m.objective
    a_titles = eligible_titles(attending.min_title) if attending is not None else []
    e_titles = eligible_titles(expert.title_floor()) if expert is not None else []
    professions = list(expert.professions) if expert is not None else []
    # The titles' values once (an enum member's `.value` costs a descriptor call, ~150,000 a province model).
    a_values, e_values = [t.value for t in a_titles], [t.value for t in e_titles]
    leads = sorted({lead for _, lead in targets.values()})
    sources = sorted(set(leads) | set(expert_sources) | set(borrow_sources))
    pool = staff_by_profession(region, sources, [t for t in TITLES_DOWN if t in set(a_titles) | set(e_titles)])
    med = {(h, spec, title): n for (h, p, spec, title), n in pool.items() if p == MEDICINE}
    per_title: dict[tuple[str, str, str], int] = {}
    for (h, p, _spec, title), n in pool.items():
        per_title[h, p, title] = per_title.get((h, p, title), 0) + n
    recipients = (expert_recipients(region, communities if support is None else support, expert, expert_sources)
                  if expert is not None and expert.min_per_community > 0 else [])
    minutes = _minutes(region, travel, sources, sorted(set(targets) | {c.lead for c in communities}))
    built = _CityModel(m, {}, {}, {}, {}, minutes, pool, recipients=recipients)
    # Variables are indexed as they are made, so each constraint sums only its own.
    by_title: dict[tuple[str, str, str], list] = {}
    by_spec: dict[tuple[str, str, str], list] = {}
    by_pool: dict[tuple[str, str], list] = {}
    per_source: dict[str, list] = {}
    weights = attending.specialty_weights if attending is not None else {}
    present_at = specialties_present(region, list(targets)) if weights else {}
    for t, (_cid, lead) in sorted(targets.items()):
        here: list = []
        lacking = [sp for sp, w in sorted(weights.items()) if w > 0 and sp not in present_at.get(t, set())]
        fills: dict[str, list] = {}
        for h in [lead] + [b for b in borrow_sources if b != lead]:
            cost = int(round(minutes[h, t])) + (attending.borrow_penalty if h != lead else 0)
            for title in a_values:
                have = per_title.get((h, MEDICINE, title), 0)
                if not have:
                    continue
                options = [(ANY, have)] + [(sp, med.get((h, sp, title), 0)) for sp in lacking]
                for spec, n in options:
                    if not n:
                        continue
                    var = m.integer(f"a[{h},{t},{spec},{title}]", 0, min(n, attending.min_per_center))
                    built.attend[h, t, spec, title] = var
                    if cost:
                        obj[var.index] = cost   # m.minimize([(cost, var)]) for a new variable
                    here.append(var)
                    by_title.setdefault((h, MEDICINE, title), []).append(var)
                    per_source.setdefault(h, []).append(var)
                    if spec != ANY:
                        by_spec.setdefault((h, spec, title), []).append(var)
                        fills.setdefault(spec, []).append(var)
        short = m.integer(f"short[{t}]", 0, attending.min_per_center)
        built.short_t[t] = short
        m.minimize([(SHORTFALL_PENALTY, short)])
        # Exactly N: a specialty reward picks which physicians go, it never sends extra ones.
        m.add_coefs(_ones(here, short), lb=attending.min_per_center, ub=attending.min_per_center,
                   name=f"center[{t}]", group=attending.id)
        for spec, sent in sorted(fills.items()):
            b = m.binary(f"fills[{t},{spec}]")
            m.add_coefs(_ones(sent) | {b.index: -1}, lb=0, name=f"fills[{t},{spec}]", group="structure")
            m.minimize([(-int(weights[spec]), b)])
    if expert is not None and expert.min_per_community > 0:
        # A hospital that sends no attending physicians here gives experts from one pool per
        # profession kept apart by profession_min (the rest pooled): travel depends on neither
        # profession nor title, so one variable per (hospital, community, pool) is exact; the
        # roster takes titles and specialties from what the hospital has free afterwards.
        # A hospital that also sends attending physicians keeps a variable per profession and
        # title, since its physicians serve both.
        coupled = set(per_source)
        kept = sorted(p for p, n in expert.profession_min.items() if n > 0 and p in professions)
        pools: dict[str, list[str]] = {p: [p] for p in kept}
        rest = [p for p in professions if p not in kept]
        if rest:
            pools[REST] = rest
        supply: dict[tuple[str, str], int] = {}
        for h in expert_sources:
            if h in coupled:
                continue
            for key, profs in pools.items():
                n = sum(per_title.get((h, p, t), 0) for p in profs for t in e_values)
                if n:
                    supply[h, key] = n
        for c in recipients:
            here = []
            of_prof: dict[str, list] = {}
            for h in expert_sources:
                if h == c.lead:
                    continue
                cost = int(round(minutes[h, c.lead]))
                if h not in coupled:
                    for key in pools:
                        have = supply.get((h, key), 0)
                        if not have:
                            continue
                        var = m.integer(f"e[{h},{c.id},{key}]", 0, min(have, expert.min_per_community))
                        built.expert[h, c.id, key, ANY] = var
                        if cost:
                            obj[var.index] = cost   # m.minimize([(cost, var)]) for a new variable
                        here.append(var)
                        of_prof.setdefault(key, []).append(var)
                        by_pool.setdefault((h, key), []).append(var)
                        per_source.setdefault(h, []).append(var)
                    continue
                for prof in professions:
                    for title in e_values:
                        have = per_title.get((h, prof, title), 0)
                        if not have:
                            continue
                        var = m.integer(f"e[{h},{c.id},{prof},{title}]", 0, min(have, expert.min_per_community))
                        built.expert[h, c.id, prof, title] = var
                        if cost:
                            obj[var.index] = cost   # m.minimize([(cost, var)]) for a new variable
                        here.append(var)
                        of_prof.setdefault(prof, []).append(var)
                        by_title.setdefault((h, prof, title), []).append(var)
                        per_source.setdefault(h, []).append(var)
            short = m.integer(f"eshort[{c.id}]", 0, expert.min_per_community)
            built.short_c[c.id] = short
            m.minimize([(SHORTFALL_PENALTY, short)])
            m.add_coefs(_ones(here, short), lb=expert.min_per_community, ub=expert.min_per_community,
                       name=f"experts[{c.id}]", group=expert.id)
            for prof, need in sorted(expert.profession_min.items()):
                if need <= 0:
                    continue
                ps = m.integer(f"pshort[{c.id},{prof}]", 0, need)
                built.short_p[c.id, prof] = ps
                m.minimize([(SHORTFALL_PENALTY, ps)])
                m.add_coefs(_ones(of_prof.get(prof, []), ps), lb=need, name=f"mix[{c.id},{prof}]",
                           group=expert.id)
        built.pools = pools
        for (h, key), used in sorted(by_pool.items()):
            m.add_coefs(_ones(used), ub=supply[h, key], name=f"have[{h},{key}]", group="staff")
    for (h, prof, title), used in sorted(by_title.items()):
        m.add_coefs(_ones(used), ub=per_title[h, prof, title], name=f"have[{h},{prof},{title}]",
                   group="staff")
    for (h, spec, title), used in sorted(by_spec.items()):
        m.add_coefs(_ones(used), ub=med[h, spec, title], name=f"have[{h},{spec},{title}]", group="staff")
    default_share = attending.release_share if attending is not None else (expert.release_share if expert else 0.2)
    shares = {h: expert.release_share if (expert is not None and h in expert_sources and h not in leads) else default_share
              for h in sorted(per_source)}
    caps = release_caps(region, list(shares), shares)
    for h, used in sorted(per_source.items()):
        m.add_coefs(_ones(used), ub=caps[h][0], name=f"cap[{h}]", group="release_cap")
    return built


def _ones(variables: Sequence, last: object | None = None) -> dict[int, int]:
    """{index: 1} of distinct variables (and `last`), in order: the row that
    `LinExpr.sum((1, v) for v in variables) + last` gives, for `Model.add_coefs`, without building
    expressions (a large share of the model's build time)."""
    out = dict.fromkeys((v.index for v in variables), 1)
    if last is not None:
        out[last.index] = 1
    return out


class _Minutes:
    """Travel minutes by (source, place), read from the matrix's rows: `minutes[s, p]` is
    `float(matrix[i, j])`. A dict of every pair (sources x places: 150,000 for a province model)
    cost more to make than the model reads of it."""

    __slots__ = ("_rows", "_col")

    def __init__(self, sources: Sequence[str], places: Sequence[str], matrix: np.ndarray) -> None:
        rows = matrix.tolist()
        self._rows = {s: rows[i] for i, s in enumerate(sources)}
        self._col = {p: j for j, p in enumerate(places)}

    def __getitem__(self, key: tuple[str, str]) -> float:
        return self._rows[key[0]][self._col[key[1]]]


def _minutes(region: Region, travel: TravelModel, sources: Sequence[str], places: Sequence[str]) -> _Minutes:
    """Travel minutes between facilities, by (source, place)."""
    fac = region.facilities
    if not sources or not places:
        return _Minutes([], [], np.zeros((0, 0)))
    geom = fac.geometry   # the points only: `fac.loc[ids]` copied every column of the wide frame, twice per side
    ga, gb = geom.loc[list(sources)], geom.loc[list(places)]
    a = Points.from_xy(list(sources), ga.x, ga.y)
    b = Points.from_xy(list(places), gb.x, gb.y)
    return _Minutes(sources, places, np.asarray(travel.minutes(a, b), dtype=float))


def _describe_shortfalls(result: DispatchResult, region: Region, sol, built: _CityModel, targets: dict[str, tuple[str, str]],
                         communities: Sequence, attending: AttendingDispatch | None, expert: ExpertDispatch | None) -> None:
    fac = region.facilities
    by_lead: dict[str, list[str]] = {}
    for t, var in built.short_t.items():
        if sol.value(var) > 0.5:
            by_lead.setdefault(targets[t][1], []).append(t)
    # What the county's leads could release together, against the center posts they must fill:
    # a shortfall either has no cure inside the county or comes from how the county is grouped.
    county_need: dict[str, int] = {}
    county_cap: dict[str, int] = {}
    counted: set[str] = set()
    # Every lead's cap in one look-up (release_caps), not a call per lead: the same values.
    caps = release_caps(region, [lead for _cid, lead in targets.values()], attending.release_share) if targets else {}
    county_of = dict(zip(caps, fac["county_code"].to_numpy()[fac.index.get_indexer(list(caps))].tolist())) if caps else {}
    for t, (_cid, lead) in targets.items():
        county = str(county_of[lead])
        county_need[county] = county_need.get(county, 0) + attending.min_per_center
        if lead not in counted:
            counted.add(lead)
            county_cap[county] = county_cap.get(county, 0) + caps[lead][0]
    for lead, ts in sorted(by_lead.items()):
        missing = int(sum(round(sol.value(built.short_t[t])) for t in ts))
        cap, eligible, share = caps[lead]
        code = str(county_of[lead])
        county = region.county_name(code)
        title = attending.min_title.zh
        lead_name = fac.at[lead, "name"]
        shown = [str(fac.at[t, "name"]) for t in ts[:4]]
        names_en = ", ".join(shown) + (f" and {len(ts) - 4} more" if len(ts) > 4 else "")
        names_zh = "、".join(shown) + (f"等{len(ts)}个" if len(ts) > 4 else "")
        together, need = county_cap.get(code, 0), county_need.get(code, 0)
        if together < need:
            why = Text(f"; the county as a whole lacks physicians: its leads together may release {together} for "
                       f"{need} center posts",
                       f"；全县整体缺少医师：各牵头医院合计最多可派{together}名，而卫生院岗位需{need}名")
        else:
            why = Text(f"; the county's leads together may release {together} for {need} center posts, but the "
                       "other rules keep this grouping",
                       f"；各牵头医院合计可派{together}名，足以覆盖{need}个岗位，但其他规则限定了当前分组")
        result.short_counties.append(county)
        result.short_leads[lead] = missing
        result.shortfall_cities.append(_city_of(region, code))
        result.shortfalls.append(Text(
            f"{county}: {len(ts)} centers get no {title}-or-above physician from {lead_name} ({names_en}); missing "
            f"{missing} {title}-or-above physicians — the lead has {eligible} such physicians and may release {cap} "
            f"({share:.0%}) [{attending.label()}]",
            f"{county}：{len(ts)}个卫生院（中心）未获{lead_name}派出{title}以上职称人员（{names_zh}）；缺{missing}名——"
            f"牵头医院有{eligible}名此类人员，最多可派{cap}名（{share:.0%}）［{attending.label()}］") + why)
    by_id = {c.id: c for c in communities}

    def short_of_experts(cid: str, missing: int) -> tuple[Community, str]:
        """Record an expert shortfall of community `cid` (its county and city); the community and county name."""
        c = by_id[cid]
        code = str(c.unit) if c.unit in region.counties.index else str(fac.at[c.lead, "county_code"])
        county = region.county_name(code)
        result.short_counties.append(county)
        result.shortfall_cities.append(_city_of(region, code))
        result.short_experts += missing
        return c, county

    for cid, var in built.short_c.items():
        if sol.value(var) > 0.5:
            missing = int(round(sol.value(var)))
            c, county = short_of_experts(cid, missing)
            lead_name = fac.at[c.lead, "name"]
            got = expert.min_per_community - missing
            result.shortfalls.append(Text(
                f"{county}: the community led by {lead_name} gets {got} of {expert.min_per_community} city experts; "
                f"missing {missing} [{expert.label()}]",
                f"{county}：{lead_name}牵头的医共体获派城市专家{got}名（应至少{expert.min_per_community}名），缺{missing}名"
                f"［{expert.label()}］"))
    for (cid, prof), var in sorted(built.short_p.items()):
        if sol.value(var) > 0.5:
            missing = int(round(sol.value(var)))
            c, county = short_of_experts(cid, missing)
            en, zh = PROFESSION_WORDS[prof]
            result.shortfalls.append(Text(
                f"{county}: the community led by {fac.at[c.lead, 'name']} is missing {missing} {en} expert(s) of the "
                f"{expert.profession_min[prof]} asked [{expert.label()}]",
                f"{county}：{fac.at[c.lead, 'name']}牵头的医共体缺{zh}专家{missing}名（要求{expert.profession_min[prof]}名）"
                f"［{expert.label()}］"))


def _city_of(region: Region, county: str) -> str:
    """City code of a county adcode (context counties too), '' when unknown."""
    for frame in (region.counties, region.context_counties):
        if county in frame.index and "city_code" in frame.columns:
            return str(frame.at[county, "city_code"])
    return ""


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
                 base: DispatchResult, *, name: str | None = None, area: Sequence[str] | None = None,
                 attend: Sequence | None = None, support: Sequence | None = None) -> list[str]:
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
                              time_limit_s=time_limit_s, explain=False, name=name, area=area, attend=attend,
                              support=support)
        after = set(trial.short_counties)
        closed = [c for c in before if c not in after]
        still = list(dict.fromkeys(trial.short_counties))
        if not still:
            out.append(Text(f"{base.city_name}: setting {label} closes every shortfall",
                            f"{base.city_name}：设置 {label} 可补足全部缺口"))
        elif closed:
            out.append(Text(f"{base.city_name}: setting {label} closes {', '.join(closed)}; still short: {', '.join(still)}",
                            f"{base.city_name}：设置 {label} 可补足{'、'.join(closed)}；仍有缺口：{'、'.join(still)}"))
        else:
            out.append(Text(f"{base.city_name}: setting {label} closes none; still short: {', '.join(still)}",
                            f"{base.city_name}：设置 {label} 不能补足任何缺口；仍有缺口：{'、'.join(still)}"))
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
    provincial hospitals of the city as context), so the tasks are small and run in parallel
    with identical results; when experts may come from anywhere in the province, the experts
    are one model per province (`_dispatch_provinces`).
    """
    from .executor import forked_map, forks

    attending = next((r for r in rules if r.enabled and r.kind == "attending_dispatch"), None)
    expert = next((r for r in rules if r.enabled and r.kind == "expert_dispatch"), None)
    if attending is None and expert is None:
        return []
    by_city = communities_by_city(region, plan)
    if expert is not None and not expert.same_city and expert.min_per_community > 0:
        return _dispatch_provinces(region, by_city, attending, expert, travel, backend, time_limit_s, jobs, executor,
                                   address)
    groups = []
    for city in by_city:
        counties = region.city_counties(city)
        groups.append([c for c in counties if c in region.counties.index])
    parts = _parts(region, groups, forks(jobs, executor, len(groups)))
    items = [(part, city, comms, attending, expert, travel, backend, time_limit_s)
             for part, (city, comms) in zip(parts, by_city.items())]
    return forked_map(_dispatch_task, items, jobs=jobs, executor=executor, address=address)


class _Part:
    """A sub-region a forked worker cuts for its own task (Region.cutter), instead of this process cutting
    every part before the first task can start (the country's 396 parts: about 2.6 s CPU here)."""

    def __init__(self, cut: RegionCutter, group: list[str]) -> None:
        self.cut, self.group = cut, group

    def region(self) -> Region:
        return self.cut.part(self.group)


def _parts(region: Region, groups: list[list[str]], lazy: bool) -> list:
    """`region.partition(groups)`, or (`lazy`: the tasks run on forked workers) a _Part per group."""
    if not lazy:
        return region.partition(groups)
    cut = region.cutter()
    return [_Part(cut, group) for group in groups]


def _region(part: Region | _Part) -> Region:
    return part.region() if isinstance(part, _Part) else part


def _dispatch_provinces(region: Region, by_city: dict[str, list], attending: AttendingDispatch | None,
                        expert: ExpertDispatch, travel: TravelModel, backend: str, time_limit_s: float, jobs: int,
                        executor: str, address: str | None) -> list[DispatchResult]:
    """One expert model per province: every urban tertiary hospital's cap is shared by all the cities it supports.

    Exact decomposition: a lead that is not an expert source shares no staff or cap with the
    experts (unless leads may borrow from the city hospitals), so its centers are dispatched
    per city as before; the province model holds the experts and the centers of the
    communities the supporting hospitals lead themselves. With `borrow_from_city`, everything
    of a province is one model. Results are split back into one per city (rows by community,
    shortfalls by the county they name), so tables and maps read as before.
    """
    from .executor import forked_map, forks

    province_of = region.counties["province_code"].to_dict()
    city_counties = {city: [c for c in region.city_counties(city) if c in region.counties.index] for city in by_city}
    provinces: dict[str, list[str]] = {}
    for city, counties in city_counties.items():
        for p in sorted({province_of.get(c) for c in counties} - {None}):
            provinces.setdefault(str(p), [])
            if city not in provinces[str(p)]:
                provinces[str(p)].append(city)
    order = sorted(provinces)
    groups = [sorted(c for c, p in province_of.items() if str(p) == prov) for prov in order]
    joint = attending is not None and attending.borrow_from_city
    sources = set(expert_sources_in(region, expert, list(region.facilities["county_code"].unique())))
    everything = set(region.counties.index)
    cities = [city for prov in order for city in provinces[prov]] if not joint and attending is not None else []
    city_groups = [city_counties[city] for city in cities]
    # A region of one province is its own part (partitioning a province's staff roster is slow). The provinces'
    # and the cities' parts are cut in one call (the layers' row positions found once, not twice).
    # With forked workers each cuts its own task's part (_Part), and the province's area is read from it there.
    lazy = forks(jobs, executor, len(groups) + len(city_groups))
    if len(groups) == 1 and set(groups[0]) == everything:
        parts, city_parts = [region], _parts(region, city_groups, lazy) if city_groups else []
    else:
        cut = _parts(region, groups + city_groups, lazy)
        parts, city_parts = cut[:len(groups)], cut[len(groups):]
    items = []
    for part, prov, counties in zip(parts, order, groups):
        comms = [c for city in provinces[prov] for c in by_city[city]]
        name = str(region.counties.loc[counties[0], "province_name"]) if "province_name" in region.counties.columns else prov
        attend = None if joint else [c for c in comms if c.lead in sources]
        items.append((part, prov, comms, attending, expert, travel, backend, time_limit_s, name,
                      None if isinstance(part, _Part) else province_area(part, prov), attend))
    city_items = []
    for part, city in zip(city_parts, cities):
        comms = [c for c in by_city[city] if c.lead not in sources]
        city_items.append((part, city, comms, attending, expert, travel, backend, time_limit_s, []))
    # One task list for both (each task is solved on its own, so the results are the same): the cities'
    # small models fill the workers while the provinces' large ones run, instead of waiting for the last.
    done = forked_map(_dispatch_part_task, [(_province_task, item) for item in items]
                       + [(_attending_task, item) for item in city_items], jobs=jobs, executor=executor, address=address)
    solved, per_city = done[:len(items)], done[len(items):]
    out: dict[str, DispatchResult] = {d.city: d for d in per_city}
    for prov, result in zip(order, solved):
        comm_city = {c.id: city for city in provinces[prov] for c in by_city[city]}
        for city in provinces[prov]:
            d = out.get(city)
            if d is None:
                out[city] = DispatchResult(city, region.city_name(city), result.status, result.objective,
                                           result.bound, result.gap, result.time_s)
            else:
                # Both parts must be solved for the city's dispatch to be OPTIMAL.
                worse = d.status if d.status is not Status.OPTIMAL else result.status
                out[city] = DispatchResult(city, d.city_name, worse, None, None,
                                           max(d.gap or 0.0, result.gap or 0.0) or d.gap, d.time_s + result.time_s,
                                           rows=d.rows, shortfalls=d.shortfalls, relaxations=d.relaxations,
                                           short_counties=d.short_counties, short_leads=d.short_leads,
                                           short_experts=d.short_experts, shortfall_cities=d.shortfall_cities)
        for row in result.rows:
            out[comm_city.get(row.community, provinces[prov][0])].rows.append(row)
        counties = list(result.short_counties)
        touched: set[str] = set()
        for k, (text, city) in enumerate(zip(result.shortfalls, result.shortfall_cities)):
            target = out.get(city) or out[provinces[prov][0]]
            target.shortfalls.append(text)
            target.shortfall_cities.append(target.city)
            touched.add(target.city)
            if k < len(counties):
                target.short_counties.append(counties[k])
        for lead, n in result.short_leads.items():
            city = _city_of(region, str(region.facilities.at[lead, "county_code"]))
            (out.get(city) or out[provinces[prov][0]]).short_leads[lead] = n
        for city in sorted(touched):
            out[city].relaxations = list(out[city].relaxations) + list(result.relaxations)
            out[city].short_experts += sum(1 for t in out[city].shortfalls if "city experts" in t)
    return [out[city] for city in sorted(out)]


def _dispatch_part_task(task: Callable[..., DispatchResult], item: tuple) -> DispatchResult:
    """`task(*item)`: a province's or a city's model in one task list (its region cut here if not yet)."""
    return task(_region(item[0]), *item[1:])


def _dispatch_task(region: Region | _Part, city: str, communities: Sequence, attending: AttendingDispatch | None,
                   expert: ExpertDispatch | None, travel: TravelModel, backend: str, time_limit_s: float) -> DispatchResult:
    return dispatch_city(_region(region), city, communities, attending, expert, travel, backend=backend,
                         time_limit_s=time_limit_s)


def _attending_task(region: Region, city: str, communities: Sequence, attending: AttendingDispatch | None,
                    expert: ExpertDispatch | None, travel: TravelModel, backend: str, time_limit_s: float,
                    support: Sequence) -> DispatchResult:
    return dispatch_city(region, city, communities, attending, expert, travel, backend=backend,
                         time_limit_s=time_limit_s, support=support)


def _province_task(region: Region, province: str, communities: Sequence, attending: AttendingDispatch | None,
                   expert: ExpertDispatch | None, travel: TravelModel, backend: str, time_limit_s: float, name: str,
                   counties: list[str] | None, attend: Sequence | None) -> DispatchResult:
    if counties is None:   # a part cut by this worker (_Part): its area as the caller would have read it
        counties = province_area(region, province)
    return dispatch_city(region, province, communities, attending, expert, travel, backend=backend,
                         time_limit_s=time_limit_s, name=name, area=counties, attend=attend)


def roster_frame(results: Sequence[DispatchResult], region: Region) -> pd.DataFrame:
    """The roster as a table: who (title, specialty, count), from where, to where, travel time."""
    rows = [(r.city_name, row) for r in results for row in r.rows]
    # The facilities' names in one look-up per column (a `.at` per row was most of the reports' time: 3,000 of
    # them for 浙江省's roster); `.loc` raises on an unknown facility as `.at` did.
    names = region.facilities["name"]
    from_names = names.loc[[row.source for _, row in rows]].tolist() if rows else []
    to_names = names.loc[[row.target for _, row in rows]].tolist() if rows else []
    records = [{"city": city, "role": row.role, "community_id": row.community,
                "from_id": row.source, "from_name": from_name, "to_id": row.target, "to_name": to_name,
                "title": Title(row.title).zh, "specialty": row.specialty, "profession": row.profession,
                "count": row.count, "travel_min": row.travel_min, "borrowed": row.borrowed}
               for (city, row), from_name, to_name in zip(rows, from_names, to_names)]
    columns = ["city", "role", "community_id", "from_id", "from_name", "to_id", "to_name", "title", "specialty",
               "profession", "count", "travel_min", "borrowed"]
    return pd.DataFrame(records, columns=columns)

