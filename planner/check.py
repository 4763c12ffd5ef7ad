"""Check any plan, ours or a planner's own layout, against every rule, independently of the solver."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .plan import Plan, UnitPlan
from .rules import Rule
from .rules.base import bind_rules
from .units import Unit


@dataclass(frozen=True)
class Violation:
    """One rule broken in one unit.

    `hard` is False for a soft rule (the plan may break it at its penalty); the message
    says what is wrong in the plan's own terms.
    """

    unit: str
    unit_name: str
    rule_id: str
    citation: str
    message: str
    hard: bool = True

    def __str__(self) -> str:
        soft = " (soft rule, penalised)" if not self.hard else ""
        return f"{self.unit_name}: {self.rule_id} ({self.citation}){soft}: {self.message}"


@dataclass(frozen=True)
class RuleStatus:
    """A rule's result over a whole plan: how many units it applied to and how many broke it."""

    rule: Rule
    units_checked: int
    violations: tuple[Violation, ...]

    @property
    def passed(self) -> bool:
        """True when no unit breaks the rule."""
        return not self.violations


def check_unit(unit: Unit, plan: UnitPlan, rules: Sequence[Rule]) -> list[Violation]:
    """Violations of every applicable rule by one unit's plan."""
    out = []
    for rule in bind_rules(rules):
        if type(rule).stage != "communities" or not rule.applies(unit):
            continue
        for message in rule.check(unit, plan):
            out.append(Violation(unit.id, unit.name, rule.id, rule.citation, message, rule.hard))
    return out


def check_plan(plan: Plan, units: Sequence[Unit], rules: Sequence[Rule]) -> list[RuleStatus]:
    """Check every rule on every unit of a plan; one RuleStatus per rule, in rule order.

    A unit without a plan (infeasible, or missing from a hand-made layout) counts as a
    violation of the coverage rule, so an incomplete plan never passes.
    """
    rules = bind_rules(rules)  # keys that follow other rules (lead_staffing) read as the solver read them
    found: dict[str, list[Violation]] = {r.id: [] for r in rules}
    checked: dict[str, int] = {r.id: 0 for r in rules}
    for unit in units:
        up = plan.units.get(unit.id)
        for rule in rules:
            if type(rule).stage == "communities" and rule.applies(unit):
                checked[rule.id] += 1
        if up is None or not up.solved:
            coverage = next((r for r in rules if r.kind == "coverage" and r.enabled), None)
            if coverage is not None:
                why = "; ".join(up.explanation[:1]) if up is not None and up.explanation else "no plan for this unit"
                found[coverage.id].append(Violation(unit.id, unit.name, coverage.id, coverage.citation,
                                                    f"{len(unit.townships)} townships are in no community ({why})"))
            continue
        for v in check_unit(unit, up, rules):
            found[v.rule_id].append(v)
    return [RuleStatus(r, checked[r.id], tuple(found[r.id])) for r in rules if r.enabled and type(r).stage == "communities"]


def compliance_lines(statuses: Sequence[RuleStatus]) -> list[str]:
    """One line per rule (PASS/FAIL with its citation), then one line per violation."""
    from .i18n import tr

    lines = []
    for s in statuses:
        mark = "PASS" if s.passed else ("SOFT" if not s.rule.hard else "FAIL")
        heading = s.rule.heading()  # built from the rule's current values, never a stale title
        lines.append(f"{mark}  {s.rule.id} ({s.rule.citation}): {tr(heading, 'zh')} — {s.units_checked} units, "
                     f"{len(s.violations)} violations")
        if tr(heading, "zh") != tr(heading, "en"):
            lines.append(f"      rule: {tr(heading, 'en')}")
        clause = getattr(s.rule, "clause", None)
        if clause is not None:
            lines.append(f"      {'clause' if s.rule.quote else 'source'}: {tr(clause(), 'zh')}")
        lines.extend(f"      {v}" for v in s.violations)
    return lines


# --- services: dispatch, dialysis, reserved capacity ----------------------------------------


def _status(rule: Rule, units: int, found: list[Violation]) -> RuleStatus:
    return RuleStatus(rule, units, tuple(found))


def check_dispatch(region, plan: Plan, rows: Sequence, rules: Sequence[Rule]) -> list[RuleStatus]:
    """Re-check a dispatch roster against the dispatch rules, from the roster rows and the data alone.

    Every target center has enough physicians of the required rank from its lead (or, where
    the rule allows borrowing, from the city's tertiary hospitals); every community has its
    experts from allowed sources; no hospital sends more than its release cap or than it has.
    """
    from .dispatch import eligible_titles, release_cap, staff_by_profession
    from .i18n import Text
    from .vocabulary import Title

    out: list[RuleStatus] = []
    fac = region.facilities
    city_of = {**region.context_counties["city_code"].to_dict(), **region.counties["city_code"].to_dict()}
    attending = next((r for r in rules if r.enabled and r.kind == "attending_dispatch"), None)
    expert = next((r for r in rules if r.enabled and r.kind == "expert_dispatch"), None)
    comms = plan.communities()
    sent_by: dict[str, int] = {}
    for row in rows:
        sent_by[row.source] = sent_by.get(row.source, 0) + row.count
    # Rows and target centers indexed once: a national roster has tens of thousands of rows.
    to_target: dict[str, list] = {}
    to_community: dict[str, list] = {}
    for r in rows:
        (to_target if r.role == "attending" else to_community).setdefault(r.target if r.role == "attending" else r.community,
                                                                         []).append(r)
    if attending is not None:
        found: list[Violation] = []
        ok_titles = {t.value for t in eligible_titles(attending.min_title)}
        kinds = {k.value for k in attending.target_kinds}
        centers = fac[fac["kind"].isin(kinds)]
        centers_in: dict[str, list[str]] = {}
        for fid, town in zip(centers.index, centers["township_code"]):
            centers_in.setdefault(str(town), []).append(str(fid))
        for c in comms:
            county = region.county_name(fac.at[c.lead, "county_code"])
            here = {f for t in c.townships for f in centers_in.get(t, [])}
            for t in sorted(here - {c.lead}):
                got = sum(r.count for r in to_target.get(t, []) if r.title in ok_titles
                          and (r.source == c.lead or (attending.borrow_from_city and r.borrowed)))
                if got < attending.min_per_center:
                    found.append(Violation(c.unit, county, attending.id, attending.citation,
                                           f"{fac.at[t, 'name']} gets {got} of {attending.min_per_center} "
                                           f"{attending.min_title.zh}-or-above physicians from {fac.at[c.lead, 'name']}"))
        by_id = {c.id: c for c in comms}
        for r in rows:
            if r.role == "attending" and r.title not in ok_titles:
                # Named like the shortfalls above: the community's unit and the county of its lead.
                c = by_id.get(r.community)
                unit = c.unit if c is not None else ""
                county = region.county_name(fac.at[c.lead if c is not None else r.source, "county_code"])
                found.append(Violation(unit, county, attending.id, attending.citation,
                                       f"{fac.at[r.target, 'name']} gets a {Title(r.title).zh} from "
                                       f"{fac.at[r.source, 'name']}, below {attending.min_title.zh}"))
        out.append(_status(attending, len(comms), found))
    if expert is not None:
        from .dispatch import expert_recipients, expert_sources_in

        found = []
        ok_titles = {t.value for t in eligible_titles(expert.title_floor())}
        ok_professions = set(expert.professions)
        allowed = set(fac.index[expert.sources.matches(fac)])
        supported = expert_recipients(region, comms, expert, expert_sources_in(region, expert, list(fac["county_code"].unique())))
        for c in supported:
            lead_city = city_of.get(fac.at[c.lead, "county_code"])
            good = 0
            by_prof: dict[str, int] = {}
            for r in to_community.get(c.id, []):
                if r.title not in ok_titles or r.profession not in ok_professions:
                    continue
                same = city_of.get(fac.at[r.source, "county_code"]) == lead_city or not expert.same_city
                if same and r.source in allowed:
                    good += r.count
                    by_prof[r.profession] = by_prof.get(r.profession, 0) + r.count
            county = region.county_name(c.unit) if c.unit in region.counties.index else \
                region.county_name(fac.at[c.lead, "county_code"])
            if good < expert.min_per_community:
                found.append(Violation(c.unit, county, expert.id, expert.citation,
                                       Text(f"the community led by {fac.at[c.lead, 'name']} has {good} of "
                                            f"{expert.min_per_community} experts",
                                            f"{fac.at[c.lead, 'name']}牵头的医共体有专家{good}名（应至少{expert.min_per_community}名）")))
            for prof, need in sorted(expert.profession_min.items()):
                if by_prof.get(prof, 0) < need:
                    found.append(Violation(c.unit, county, expert.id, expert.citation,
                                           Text(f"the community led by {fac.at[c.lead, 'name']} has {by_prof.get(prof, 0)} "
                                                f"of {need} {prof} experts",
                                                f"{fac.at[c.lead, 'name']}牵头的医共体有{prof}专家{by_prof.get(prof, 0)}名"
                                                f"（应至少{need}名）")))
        out.append(_status(expert, len(supported), found))
    cap_rule = attending or expert
    if cap_rule is not None:
        found = []
        share = attending.release_share if attending is not None else expert.release_share
        leads = {c.lead for c in comms}
        for h, n in sorted(sent_by.items()):
            use = share if h in leads or expert is None else expert.release_share
            cap, eligible, s = release_cap(region, h, use)
            if n > cap:
                found.append(Violation("", fac.at[h, "name"], cap_rule.id, cap_rule.citation,
                                       f"sends {n} physicians, over its release cap {cap} ({s:.0%} of {eligible})"))
        titles = [Title.CHIEF, Title.ASSOCIATE_CHIEF, Title.ATTENDING, Title.RESIDENT]
        pool = staff_by_profession(region, sorted(sent_by), titles)
        used: dict[tuple[str, str, str, str], int] = {}
        for r in rows:
            key = (r.source, r.profession, r.specialty, r.title)
            used[key] = used.get(key, 0) + r.count
            if r.role == "attending" and r.profession != "medicine":
                found.append(Violation("", fac.at[r.source, "name"], cap_rule.id, cap_rule.citation,
                                       Text(f"sends {r.count} {r.profession} staff to {fac.at[r.target, 'name']} as "
                                            "attending physicians", f"向{fac.at[r.target, 'name']}派出的{r.count}名"
                                            f"{r.profession}人员不是医师")))
        for key, n in sorted(used.items()):
            if n > pool.get(key, 0):
                found.append(Violation("", fac.at[key[0], "name"], cap_rule.id, cap_rule.citation,
                                       f"sends {n} {Title(key[3]).zh} ({key[1]}, {key[2]}) but has {pool.get(key, 0)}"))
        # The cap is part of each dispatch rule; report it under the attending rule's status.
        if out:
            first = out[0]
            out[0] = RuleStatus(first.rule, first.units_checked, first.violations + tuple(found))
    return out


def check_dialysis(region, sites: Sequence[tuple[str, str]], rules: Sequence[Rule]) -> list[RuleStatus]:
    """Re-check dialysis sites (county, facility) against the dialysis rule from the data alone."""
    rule = next((r for r in rules if r.enabled and r.kind == "dialysis_siting"), None)
    if rule is None:
        return []
    from .i18n import Text

    fac, towns = region.facilities, region.townships
    found = []
    per_county: dict[str, int] = {}
    top_of: dict[str, list[str]] = {}
    for county, fid in sites:
        name = region.county_name(county)
        per_county[county] = per_county.get(county, 0) + 1
        pop = int(region.counties.at[county, "population"])
        row = fac.loc[fid]
        if pop < rule.min_county_population:
            found.append(Violation(county, name, rule.id, rule.citation,
                                   Text(f"{row['name']}: county has {pop:,} residents, below {rule.min_county_population:,}",
                                        f"{row['name']}：全县常住人口{pop:,}，低于{rule.min_county_population:,}")))
        if row["kind"] != "township_health_center" or not bool(row["central_thc"]):
            found.append(Violation(county, name, rule.id, rule.citation,
                                   Text(f"{row['name']} is not a central township health center", f"{row['name']}不是中心乡镇卫生院")))
            continue
        if bool(row["dialysis"]):
            found.append(Violation(county, name, rule.id, rule.citation,
                                   Text(f"{row['name']} already offers dialysis: not a new site", f"{row['name']}已开展血透，不是新点")))
        if county not in top_of:
            # 人口较多的中心乡镇卫生院: the county's central THCs ranked by their township's residents.
            c = fac[(fac["county_code"] == county) & (fac["kind"] == "township_health_center")
                    & fac["central_thc"].fillna(False).astype(bool)]
            ranked = sorted(zip(c.index, c["township_code"]), key=lambda ft: (-int(towns.at[ft[1], "population"]), str(ft[1])))
            top_of[county] = [str(f) for f, _ in ranked[: rule.top_centers]]
        if str(fid) not in top_of[county]:
            found.append(Violation(county, name, rule.id, rule.citation,
                                   Text(f"{row['name']} is not one of the county's {rule.top_centers} central township health "
                                        "centers with the most populous townships",
                                        f"{row['name']}不在全县乡镇人口最多的{rule.top_centers}家中心乡镇卫生院之列")))
    for county, n in sorted(per_county.items()):
        if n > rule.max_sites_per_county:
            found.append(Violation(county, region.county_name(county), rule.id, rule.citation,
                                   Text(f"{n} new sites, over {rule.max_sites_per_county}",
                                        f"新增{n}个血透点，超过{rule.max_sites_per_county}个")))
    return [_status(rule, len(region.counties), found)]


def check_capacity(table, rules: Sequence[Rule]) -> list[RuleStatus]:
    """The reserved-capacity rule's status from its table: each flagged lead is a violation."""
    rule = next((r for r in rules if r.enabled and r.kind == "reserved_capacity"), None)
    if rule is None:
        return []
    found = [Violation(row.unit, row.lead_name, rule.id, rule.citation, row.flag)
             for row in table.itertuples() if row.flag]
    return [_status(rule, len(table), found)]
