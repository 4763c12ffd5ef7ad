"""Check any plan, ours or a planner's own layout, against every rule, independently of the solver."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from .i18n import Text
from .plan import Community, Plan, UnitPlan
from .region import positions_by
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

    @property
    def mark(self) -> str:
        """PASS, FAIL (a hard rule broken), SOFT (a soft rule broken, penalised), or N/A: a rule that
        applied to no unit has held nowhere, so it is never shown as PASS."""
        if self.violations:
            return "SOFT" if not self.rule.hard else "FAIL"
        return "PASS" if self.units_checked else "N/A"


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
        mark = s.mark
        heading = s.rule.heading()  # built from the rule's current values, never a stale title
        counts = (f"{s.units_checked} units, {len(s.violations)} violations" if mark != "N/A"
                  else tr("applies to no unit of this plan", "不适用于本规划的任何单元"))
        lines.append(f"{mark:<4}  {s.rule.id} ({s.rule.citation}): {tr(heading, 'zh')} — {counts}")
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


class _Cells(dict):
    """`frame.at[key, column]` for the keys asked, each read once (the same values and KeyError)."""

    def __init__(self, frame: pd.DataFrame, column: str) -> None:
        super().__init__()
        self.frame, self.column = frame, column

    def __missing__(self, key):
        value = self[key] = self.frame.at[key, self.column]
        return value


def check_dispatch(region, plan: Plan, rows: Sequence, rules: Sequence[Rule]) -> list[RuleStatus]:
    """Re-check a dispatch roster against the dispatch rules, from the roster rows and the data alone.

    Every target center has enough physicians of the required rank from its lead (or, where
    the rule allows borrowing, from the city's tertiary hospitals); every community has its
    experts from allowed sources; no hospital sends more than its release cap or than it has.
    """
    from .dispatch import eligible_titles, release_caps, staff_by_profession
    from .i18n import Text
    from .vocabulary import Title

    out: list[RuleStatus] = []
    fac = region.facilities
    # Cells read once each (`fac.at` on the wide frame cost ~0.1 ms a call; a national roster asks ~30,000 times).
    name_of, county_of = _Cells(fac, "name"), _Cells(fac, "county_code")
    county_name = functools.cache(region.county_name)
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
            county = county_name(county_of[c.lead])
            here = {f for t in c.townships for f in centers_in.get(t, [])}
            for t in sorted(here - {c.lead}):
                got = sum(r.count for r in to_target.get(t, []) if r.title in ok_titles
                          and (r.source == c.lead or (attending.borrow_from_city and r.borrowed)))
                if got < attending.min_per_center:
                    found.append(Violation(c.unit, county, attending.id, attending.citation,
                                           Text(f"{name_of[t]} gets {got} of {attending.min_per_center} "
                                                f"{attending.min_title.zh}-or-above physicians from {name_of[c.lead]}",
                                                f"{name_of[t]}从{name_of[c.lead]}获派{attending.min_title.zh}及以上"
                                                f"医师{got}名（应至少{attending.min_per_center}名）")))
        by_id = {c.id: c for c in comms}
        for r in rows:
            if r.role == "attending" and r.title not in ok_titles:
                # Named like the shortfalls above: the community's unit and the county of its lead.
                c = by_id.get(r.community)
                unit = c.unit if c is not None else ""
                county = county_name(county_of[c.lead if c is not None else r.source])
                found.append(Violation(unit, county, attending.id, attending.citation,
                                       Text(f"{name_of[r.target]} gets a {Title(r.title).zh} from "
                                            f"{name_of[r.source]}, below {attending.min_title.zh}",
                                            f"{name_of[r.target]}从{name_of[r.source]}获派的{Title(r.title).zh}"
                                            f"低于{attending.min_title.zh}")))
        out.append(_status(attending, len(comms), found))
    if expert is not None:
        from .dispatch import expert_recipients, expert_sources_in

        found = []
        ok_titles = {t.value for t in eligible_titles(expert.title_floor())}
        ok_professions = set(expert.professions)
        allowed = set(fac.index[expert.sources.matches(fac)])
        supported = expert_recipients(region, comms, expert, expert_sources_in(region, expert, list(fac["county_code"].unique())))
        for c in supported:
            lead_city = city_of.get(county_of[c.lead])
            good = 0
            by_prof: dict[str, int] = {}
            for r in to_community.get(c.id, []):
                if r.title not in ok_titles or r.profession not in ok_professions:
                    continue
                same = city_of.get(county_of[r.source]) == lead_city or not expert.same_city
                if same and r.source in allowed:
                    good += r.count
                    by_prof[r.profession] = by_prof.get(r.profession, 0) + r.count
            county = county_name(c.unit) if c.unit in region.counties.index else \
                county_name(county_of[c.lead])
            if good < expert.min_per_community:
                found.append(Violation(c.unit, county, expert.id, expert.citation,
                                       Text(f"the community led by {name_of[c.lead]} has {good} of "
                                            f"{expert.min_per_community} experts",
                                            f"{name_of[c.lead]}牵头的医共体有专家{good}名（应至少{expert.min_per_community}名）")))
            for prof, need in sorted(expert.profession_min.items()):
                if by_prof.get(prof, 0) < need:
                    found.append(Violation(c.unit, county, expert.id, expert.citation,
                                           Text(f"the community led by {name_of[c.lead]} has {by_prof.get(prof, 0)} "
                                                f"of {need} {prof} experts",
                                                f"{name_of[c.lead]}牵头的医共体有{prof}专家{by_prof.get(prof, 0)}名"
                                                f"（应至少{need}名）")))
        out.append(_status(expert, len(supported), found))
    cap_rule = attending or expert
    if cap_rule is not None:
        found = []
        share = attending.release_share if attending is not None else expert.release_share
        leads = {c.lead for c in comms}
        caps = release_caps(region, sorted(sent_by), {h: share if h in leads or expert is None else expert.release_share
                                                      for h in sorted(sent_by)})
        for h, n in sorted(sent_by.items()):
            cap, eligible, s = caps[h]
            if n > cap:
                found.append(Violation("", name_of[h], cap_rule.id, cap_rule.citation,
                                       f"sends {n} physicians, over its release cap {cap} ({s:.0%} of {eligible})"))
        titles = [Title.CHIEF, Title.ASSOCIATE_CHIEF, Title.ATTENDING, Title.RESIDENT]
        pool = staff_by_profession(region, sorted(sent_by), titles)
        used: dict[tuple[str, str, str, str], int] = {}
        for r in rows:
            key = (r.source, r.profession, r.specialty, r.title)
            used[key] = used.get(key, 0) + r.count
            if r.role == "attending" and r.profession != "medicine":
                found.append(Violation("", name_of[r.source], cap_rule.id, cap_rule.citation,
                                       Text(f"sends {r.count} {r.profession} staff to {name_of[r.target]} as "
                                            "attending physicians", f"向{name_of[r.target]}派出的{r.count}名"
                                            f"{r.profession}人员不是医师")))
        for key, n in sorted(used.items()):
            if n > pool.get(key, 0):
                found.append(Violation("", name_of[key[0]], cap_rule.id, cap_rule.citation,
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
    # The central THCs once, then each county's by position (in facility order): filtering the
    # whole facility table per county was quadratic in a national run (500,000 rows x 2,000 counties).
    central = fac[(fac["kind"] == "township_health_center") & fac["central_thc"].fillna(False).astype(bool)]
    central_at = positions_by(central["county_code"])
    # The sites' rows read once (a row Series per site cost about a millisecond: the country has thousands).
    ids = list(dict.fromkeys(fid for _, fid in sites))
    cols = ["name", "kind", "central_thc", "dialysis"]
    rows_of = dict(zip(ids, (dict(zip(cols, r)) for r in zip(*(fac.loc[ids, c].tolist() for c in cols))))) if ids else {}
    county_pop = region.counties["population"].to_dict()
    central_id, central_town = central.index.tolist(), central["township_code"].tolist()
    town_pop = towns["population"].to_dict()
    for county, fid in sites:
        name = region.county_name(county)
        per_county[county] = per_county.get(county, 0) + 1
        pop = int(county_pop[county])
        row = rows_of[fid]
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
            at = central_at[county].tolist() if county in central_at else []
            ranked = sorted(((central_id[k], central_town[k]) for k in at),
                            key=lambda ft: (-int(town_pop[ft[1]]), str(ft[1])))
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


# --- the plan as written: structure, and every table against plan.json ---------------------------


class PlanIntegrity(Rule):
    """What the checker itself requires of a plan as written (not a policy rule, never registered).

    `plan.structure`: every community listed once, under its own lead, with townships and a lead
    of the region, and no township in two communities. `plan.tables`: every table, layer and
    workbook of the plan folder agrees with plan.json and is the file the run wrote.
    """

    kind: Literal["plan_integrity"] = "plan_integrity"
    what: Literal["structure", "tables"] = "structure"
    stage: ClassVar[str] = "integrity"

    def describe(self) -> Text:
        if self.what == "structure":
            return Text("every community is listed once, under a lead of its own, over townships of the region; "
                        "no township is in two communities",
                        "每个医共体只列一次、牵头医院各不相同、乡镇均属本地区；乡镇不重复归属")
        return Text("every table, map layer and workbook of the plan folder agrees with plan.json and is the file "
                    "the run wrote", "规划文件夹中的每张表、图层和工作簿与 plan.json 一致，且未在写出后被修改")


STRUCTURE = PlanIntegrity(id="plan.structure", what="structure",
                          source="planner assumption: a plan lists each community once, each under its own lead",
                          source_zh="规划工具假设：规划中每个医共体只列一次，各由一家医院牵头")
TABLES = PlanIntegrity(id="plan.tables", what="tables",
                       source="planner assumption: the tables a plan folder publishes are those of its plan.json",
                       source_zh="规划工具假设：规划文件夹发布的各表与其 plan.json 一致")

MAX_TABLE_MESSAGES = 20
"""Disagreements reported per table before the rest are counted."""


def structure_violations(plan: Plan, townships: set[str], facilities: set[str]) -> list[Violation]:
    """Problems of the plan as listed: duplicate communities, shared leads, townships in two communities,
    townships or leads not of the region, communities without townships."""
    out: list[Violation] = []
    ids: dict[str, str] = {}
    lead_of: dict[str, tuple[str, str]] = {}
    town_in: dict[str, list[tuple[str, str]]] = {}
    for up in plan.units.values():
        for c in up.communities:
            v = lambda en, zh, up=up: out.append(Violation(up.unit, up.name, STRUCTURE.id, STRUCTURE.citation, Text(en, zh)))  # noqa: E731
            if c.id in ids:
                v(f"community {c.id} is listed twice", f"医共体 {c.id} 重复列出")
            ids.setdefault(c.id, up.unit)
            if c.lead not in facilities:
                v(f"community {c.id}: lead {c.lead} is not a facility of the region",
                  f"医共体 {c.id}：牵头医院 {c.lead} 不是本地区的机构")
            elif c.lead in lead_of and lead_of[c.lead][0] != c.id:
                v(f"communities {lead_of[c.lead][0]} and {c.id} share the lead {c.lead}",
                  f"医共体 {lead_of[c.lead][0]} 与 {c.id} 由同一家医院 {c.lead} 牵头")
            lead_of.setdefault(c.lead, (c.id, up.unit))
            if not c.townships:
                v(f"community {c.id} has no townships", f"医共体 {c.id} 没有乡镇")
            unknown = [t for t in c.townships if t not in townships]
            if unknown:
                v(f"community {c.id}: {', '.join(unknown[:5])} {'is not a township' if len(unknown) == 1 else 'are not townships'}"
                  " of the region", f"医共体 {c.id}：{'、'.join(unknown[:5])} 不是本地区的乡镇")
            for t in c.townships:
                town_in.setdefault(t, []).append((c.id, up.unit))
    names = {u.unit: u.name for u in plan.units.values()}
    for t, where in town_in.items():
        if len(where) > 1:
            comms = ", ".join(c for c, _ in where)
            out.append(Violation(where[-1][1], names.get(where[-1][1], where[-1][1]), STRUCTURE.id, STRUCTURE.citation,
                                 Text(f"township {t} is in {len(where)} communities ({comms})",
                                      f"乡镇 {t} 同时属于 {len(where)} 个医共体（{comms}）")))
    return out


def recut(plan: Plan, units: Sequence[Unit], townships: set[str], facilities: set[str]) -> Plan:
    """The plan as listed, cut into the checker's units: every community kept (duplicates included),
    each limited to its townships in the unit; leads and townships not of the region left out
    (structure_violations reports them). A unit of the same id keeps its solver status."""
    unit_of = {t: u.id for u in units for t in u.townships}
    parts: dict[str, list[Community]] = {u.id: [] for u in units}
    for up in plan.units.values():
        for c in up.communities:
            if c.lead not in facilities:
                continue
            by_unit: dict[str, list[str]] = {}
            for t in c.townships:
                if t in townships and t in unit_of:
                    by_unit.setdefault(unit_of[t], []).append(t)
            for uid, ts in by_unit.items():
                parts[uid].append(Community(c.id, uid, c.lead, tuple(ts)))
    out = Plan(plan.region, plan.rules_name, meta=dict(plan.meta))
    for u in units:
        old = plan.units.get(u.id)
        comms = tuple(parts[u.id])
        if old is not None and old.scope == u.scope:
            out.units[u.id] = dataclasses.replace(old, communities=comms)
        else:
            out.units[u.id] = UnitPlan(unit=u.id, scope=u.scope, name=u.name, communities=comms)
    return out


@dataclass
class SavedFolder:
    """What a plan folder holds besides plan.json, as read by planner.planfile (text cells)."""

    tables: dict[str, pd.DataFrame]
    layers: dict[str, pd.DataFrame]
    workbooks: dict[str, dict[str, pd.DataFrame]]
    manifest: dict[str, str] | None
    digests: dict[str, str | None]


KEYS = {"assignments.csv": ("township_code", "community_id"), "communities.csv": ("community_id",),
        "members.csv": ("facility_id", "community_id"), "reserved_capacity.csv": ("community_id",)}


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table's cells as the CSV writer spells them (written to CSV text and read back)."""
    import io as _io

    text = pd.DataFrame(frame).drop(columns="geometry", errors="ignore").to_csv(index=False, lineterminator="\n")
    if not text.strip():
        return pd.DataFrame()
    return pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False)


def _cell(value: object) -> str:
    s = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    # A cell neutralised for spreadsheets ('=…) reads as the text it guards.
    return s[1:] if s[:1] == "'" and s[1:2] in ("=", "+", "-", "@", "\t", "\r") else s


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a.lower() in ("true", "false") and a.lower() == b.lower()
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))


def compare_table(name: str, expected: pd.DataFrame, actual: pd.DataFrame | None, keys: tuple[str, ...],
                  unit_of: Callable[[dict[str, str]], tuple[str, str]], *, columns: Sequence[str] | None = None) -> list[Violation]:
    """Rows and cells of `actual` (as read) that differ from `expected` (built from plan.json), keyed by `keys`.

    Each violation names the table, the row's key and the column; `unit_of(row)` gives the unit and its
    name. At most MAX_TABLE_MESSAGES messages, then one counting the rest.
    """
    out: list[Text] = []
    units: list[tuple[str, str]] = []
    exp = _text_frame(expected)
    if actual is None:
        if len(exp):
            return [Violation("", name, TABLES.id, TABLES.citation,
                              Text(f"{name} is missing ({len(exp)} rows expected)", f"缺少 {name}（应有 {len(exp)} 行）"))]
        return []
    cols = list(columns) if columns is not None else list(exp.columns)
    missing = [c for c in [*keys, *cols] if c not in actual.columns and (len(exp) or c in keys)]
    if missing:
        return [Violation("", name, TABLES.id, TABLES.citation,
                          Text(f"{name} has no column {', '.join(dict.fromkeys(missing))}",
                               f"{name} 缺少列 {'、'.join(dict.fromkeys(missing))}"))]

    def rows(frame: pd.DataFrame) -> dict[tuple[str, ...], list[dict[str, str]]]:
        got: dict[tuple[str, ...], list[dict[str, str]]] = {}
        for rec in frame.to_dict("records") if len(frame) else []:
            rec = {k: _cell(v) for k, v in rec.items()}
            got.setdefault(tuple(rec.get(k, "") for k in keys), []).append(rec)
        return got

    want, have = rows(exp), rows(actual)
    for key in sorted(set(want) | set(have)):
        a, b = want.get(key, []), have.get(key, [])
        label = "/".join(key)
        ref = (a or b)[0]
        if len(a) != len(b):
            if not b:
                out.append(Text(f"{name}: row {label} is missing (plan.json has it)", f"{name}：缺少 {label} 一行（plan.json 中有）"))
            elif not a:
                out.append(Text(f"{name}: row {label} is not in plan.json", f"{name}：{label} 一行不在 plan.json 中"))
            else:
                out.append(Text(f"{name}: row {label} appears {len(b)} times, plan.json gives {len(a)}",
                                f"{name}：{label} 出现 {len(b)} 次，plan.json 中为 {len(a)} 次"))
            units.append(unit_of(ref))
            continue
        for ra, rb in zip(a, b):
            for c in cols:
                if c in keys or _same(ra.get(c, ""), rb.get(c, "")):
                    continue
                out.append(Text(f"{name}: row {label}, {c} is {rb.get(c, '')!r}, plan.json gives {ra.get(c, '')!r}",
                                f"{name}：{label} 行的 {c} 为 {rb.get(c, '')!r}，plan.json 中为 {ra.get(c, '')!r}"))
                units.append(unit_of(ra))
    found = [Violation(u, n, TABLES.id, TABLES.citation, m) for m, (u, n) in zip(out[:MAX_TABLE_MESSAGES], units)]
    if len(out) > MAX_TABLE_MESSAGES:
        rest = len(out) - MAX_TABLE_MESSAGES
        found.append(Violation("", name, TABLES.id, TABLES.citation,
                               Text(f"{name}: {rest} more disagreements", f"{name}：另有 {rest} 处不一致")))
    return found


def digest_violations(saved: SavedFolder) -> list[Violation]:
    """Files the manifest lists that are missing or changed since the run wrote them."""
    out: list[Violation] = []
    if saved.manifest is None:
        return [Violation("", "manifest.json", TABLES.id, TABLES.citation,
                          Text("the plan folder has no manifest.json: its tables cannot be shown to be the run's",
                               "规划文件夹缺少 manifest.json，无法证明各表为本次运行写出"))]
    for name, recorded in sorted(saved.manifest.items()):
        actual = saved.digests.get(name)
        if actual is None:
            out.append(Violation("", name, TABLES.id, TABLES.citation,
                                 Text(f"{name} is missing (the run wrote it)", f"缺少 {name}（本次运行写出过）")))
        elif actual != recorded:
            out.append(Violation("", name, TABLES.id, TABLES.citation,
                                 Text(f"{name} was changed after the run wrote it (SHA-256 {actual[:12]}, the manifest "
                                      f"records {recorded[:12]})",
                                      f"{name} 在写出后被修改（SHA-256 {actual[:12]}，清单记录为 {recorded[:12]}）")))
    return out


def check_tables(plan: Plan, units: Sequence[Unit], region, rules: Sequence[Rule], saved: SavedFolder,
                 capacity: pd.DataFrame | None = None) -> list[Violation]:
    """Every table, layer and workbook of a plan folder against plan.json (as re-cut by `recut`).

    assignments, communities and members are rebuilt from plan.json and compared cell by cell;
    the GeoPackage and GeoJSON layers by community, lead and township (and each township's
    shape); roster and dialysis sites name communities, leads and counties of the plan; the
    workbook's sheets equal their CSVs; reserved capacity equals its recomputation.
    """
    from .planfile import community_tables

    names = {u.id: u.name for u in units}
    expected = community_tables(plan, list(units), region, list(rules))
    found: list[Violation] = []

    def by_unit(row: dict[str, str]) -> tuple[str, str]:
        uid = row.get("unit") or str(row.get("community_id", "")).split(":")[0]
        return uid, names.get(uid, uid)

    comm_unit = {c.id: c.unit for c in plan.communities()}

    def by_community(row: dict[str, str]) -> tuple[str, str]:
        uid = comm_unit.get(row.get("community_id", ""), str(row.get("community_id", "")).split(":")[0])
        return uid, names.get(uid, uid)

    for table in ("assignments", "communities", "members"):
        name = f"{table}.csv"
        found += compare_table(name, expected[table], saved.tables.get(name), KEYS[name],
                               by_unit if table != "members" else by_community)
    a = expected["assignments"]
    layer_cols = {"plan.gpkg:townships": (("township_code", "community_id"), ["lead_id", "unit"], a),
                  "plan.gpkg:communities": (("community_id",), ["lead_id", "unit", "n_townships"], expected["communities"]),
                  "plan.gpkg:leads": (("community_id",), ["lead_id"], expected["communities"][["community_id", "lead_id"]]
                                      if len(expected["communities"]) else expected["communities"]),
                  "plan.geojson": (("community_id",), ["lead_id", "unit", "n_townships"], expected["communities"])}
    for name, (keys, cols, frame) in layer_cols.items():
        layer = saved.layers.get(name)
        found += compare_table(name, frame, None if layer is None else _text_frame(layer), keys,
                               by_unit if name != "plan.gpkg:leads" else by_community, columns=cols)
    found += _shape_violations(saved.layers.get("plan.gpkg:townships"), region, names)
    found += _service_table_violations(plan, region, saved, names)
    if capacity is not None and (len(capacity) or "reserved_capacity.csv" in saved.tables):
        found += compare_table("reserved_capacity.csv", capacity, saved.tables.get("reserved_capacity.csv"),
                               KEYS["reserved_capacity.csv"], by_community)
    for book, sheets in saved.workbooks.items():
        for sheet, frame in sheets.items():
            csv = saved.tables.get(f"{sheet}.csv")
            if csv is None:
                continue
            found += _sheet_violations(book, sheet, csv, frame, names)
    return found


def _sheet_violations(book: str, sheet: str, csv: pd.DataFrame, frame: pd.DataFrame,
                      names: dict[str, str]) -> list[Violation]:
    """A workbook sheet against the CSV of the same table: the same columns and cells, row by row."""
    name = f"{book}:{sheet}"
    if list(frame.columns) != list(csv.columns) or len(frame) != len(csv):
        return [Violation("", name, TABLES.id, TABLES.citation,
                          Text(f"{name} has {len(frame)} rows and columns {', '.join(map(str, frame.columns))}; {sheet}.csv has "
                               f"{len(csv)} rows and {', '.join(csv.columns)}",
                               f"{name} 有 {len(frame)} 行，与 {sheet}.csv（{len(csv)} 行）不一致"))]
    out: list[Violation] = []
    for i, (ra, rb) in enumerate(zip(csv.to_dict("records"), frame.to_dict("records")), start=2):
        for c in csv.columns:
            if not _same(_cell(ra[c]), _cell(rb[c])):
                uid = ra.get("community_id", "").split(":")[0] or ra.get("county", "")
                out.append(Violation(uid, names.get(uid, name), TABLES.id,
                                     TABLES.citation, Text(f"{name}: row {i}, {c} is {_cell(rb[c])!r}; {sheet}.csv has {_cell(ra[c])!r}",
                                                           f"{name}：第 {i} 行 {c} 为 {_cell(rb[c])!r}，{sheet}.csv 中为 {_cell(ra[c])!r}")))
    return out[:MAX_TABLE_MESSAGES]


def _shape_violations(layer: pd.DataFrame | None, region, names: dict[str, str]) -> list[Violation]:
    """Townships of plan.gpkg whose shape is not the region's township (moved or redrawn after the run)."""
    if layer is None or not len(layer) or "geometry" not in layer.columns:
        return []
    import shapely

    towns = region.townships
    codes = layer["township_code"].astype(str).to_numpy()
    known = np.isin(codes, towns.index.to_numpy())
    got = np.asarray(layer.geometry.values)[known]
    want = towns.geometry.loc[codes[known]].to_numpy()
    same = shapely.equals_exact(got, want, tolerance=1e-6) | shapely.equals(got, want)
    out = []
    for code, unit in zip(codes[known][~same][:MAX_TABLE_MESSAGES], layer["unit"].astype(str).to_numpy()[known][~same]):
        out.append(Violation(unit, names.get(unit, unit), TABLES.id, TABLES.citation,
                             Text(f"plan.gpkg:townships: the shape of township {code} is not the region's",
                                  f"plan.gpkg:townships：乡镇 {code} 的边界与本地区数据不一致")))
    return out


def _service_table_violations(plan: Plan, region, saved: SavedFolder, names: dict[str, str]) -> list[Violation]:
    """Roster rows must name communities of plan.json and facilities of the region; dialysis sites counties of it."""
    out: list[Violation] = []
    comms = {c.id: c for c in plan.communities()}
    fac = set(region.facilities.index)
    roster = saved.tables.get("roster.csv")
    if roster is not None and len(roster):
        for i, r in enumerate(roster.to_dict("records"), start=2):
            cid = r.get("community_id", "")
            c = comms.get(cid)
            uid = c.unit if c is not None else cid.split(":")[0]
            bad = []
            if c is None:
                bad.append(Text(f"community {cid} is not in plan.json", f"医共体 {cid} 不在 plan.json 中"))
            for key in ("from_id", "to_id"):
                if r.get(key, "") not in fac and not (key == "to_id" and r.get("role") == "expert" and r.get(key, "") in comms):
                    bad.append(Text(f"{key} {r.get(key, '')} is not a facility of the region", f"{key} {r.get(key, '')} 不是本地区的机构"))
            if (c is not None and r.get("role") == "attending" and r.get("borrowed") != "True"
                    and r.get("from_id") != c.lead):
                bad.append(Text(f"sent by {r.get('from_id')}, not by the community's lead {c.lead}",
                                f"由 {r.get('from_id')} 派出，而非医共体牵头医院 {c.lead}"))
            out += [Violation(uid, names.get(uid, uid), TABLES.id, TABLES.citation, Text(f"roster.csv row {i}: ", f"roster.csv 第 {i} 行：") + b)
                    for b in bad]
    sites = saved.tables.get("dialysis_sites.csv")
    if sites is not None and len(sites):
        counties = set(region.counties.index)
        for i, r in enumerate(sites.to_dict("records"), start=2):
            if r.get("county", "") not in counties or r.get("facility_id", "") not in fac:
                out.append(Violation(r.get("county", ""), r.get("county_name", ""), TABLES.id, TABLES.citation,
                                     Text(f"dialysis_sites.csv row {i}: county {r.get('county', '')} or facility "
                                          f"{r.get('facility_id', '')} is not of the region",
                                          f"dialysis_sites.csv 第 {i} 行：县 {r.get('county', '')} 或机构 {r.get('facility_id', '')} 不属于本地区")))
    return out[: MAX_TABLE_MESSAGES * 2]


def integrity_statuses(plan: Plan, structure: list[Violation], tables: list[Violation] | None,
                       units: int) -> list[RuleStatus]:
    """The checker's own two statuses: the plan's structure, and (for a plan folder) its tables."""
    out = [RuleStatus(STRUCTURE, units, tuple(structure))]
    if tables is not None:
        out.append(RuleStatus(TABLES, units, tuple(tables)))
    return out
