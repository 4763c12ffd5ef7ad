"""Figures of a run per region, county and city grid, as CSV, Excel and a short Markdown/HTML summary."""

from __future__ import annotations

import html
import io as _io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from .check import RuleStatus, Violation
from .i18n import Text, tr
from .mapstyle import MARK_ORDER, MARK_WORDS, STATUS_WORDS, grouped, wan
from .planfile import run_community_tables
from .region import positions_by
from .units import Unit
from .vocabulary import FacilityKind, Grade

UNIT_COLUMNS = (
    "unit", "unit_name", "scope", "n_counties", "county_codes", "status", "gap", "communities", "townships",
    "population", "mean_travel_min", "max_travel_min", "physicians_dispatched", "experts_dispatched",
    "dialysis_new_sites", "dialysis_covered_before", "dialysis_covered_after", "dialysis_share_before",
    "dialysis_share_after", "hard_violations", "soft_violations",
)
"""Columns of report.csv and of the `units` sheet of report.xlsx, in order."""

COLUMN_ZH = {
    "unit": ("单元代码", "county adcode, or city:<code> for a city grid unit; 'total' for the region"),
    "unit_name": ("单元名称", "county or city grid name"),
    "scope": ("类型", "county (医共体), city (城市医疗集团网格) or region"),
    "n_counties": ("县（区）数", "county-level units in the unit"),
    "county_codes": ("县（区）代码", "adcodes of those units"),
    "status": ("求解状态", "OPTIMAL = proven optimal; FEASIBLE = time limit, gap given; GIVEN = read from a file"),
    "gap": ("最优性差距", "relative gap to the proven bound (0 = optimal)"),
    "communities": ("医共体/网格数", "communities (county) or grids (city)"),
    "townships": ("乡镇（街道）数", "townships assigned"),
    "population": ("常住人口", "residents of the townships assigned (2020 census; township split estimated)"),
    "mean_travel_min": ("平均到牵头医院时间（分钟）", "population-weighted mean travel minutes from township seat to lead"),
    "max_travel_min": ("最长到牵头医院时间（分钟）", "longest travel minutes from a township seat to its lead"),
    "physicians_dispatched": ("派驻医师数", "attending-or-above physicians sent year-round to township/community centers"),
    "experts_dispatched": ("城市专家数", "city tertiary-hospital experts sent to the communities"),
    "dialysis_new_sites": ("新增血透点", "new dialysis sites at central township health centers"),
    "dialysis_covered_before": ("血透可及人口（前）", "residents within the rule's minutes of a dialysis site, before"),
    "dialysis_covered_after": ("血透可及人口（后）", "the same with the new sites"),
    "dialysis_share_before": ("血透可及比例（前）", "share of residents, before"),
    "dialysis_share_after": ("血透可及比例（后）", "share of residents, after"),
    "hard_violations": ("硬性规则违反数", "violations of hard rules found by the independent checker"),
    "soft_violations": ("软性规则违反数", "violations of soft rules (penalised, allowed)"),
}

SYNTHESIZED_ZH = "设施为合成数据，并非真实机构"
SYNTHESIZED_EN = "Facilities are synthesized, not real institutions"


# --- citations and words -------------------------------------------------------------------

DOCUMENTS = {
    "000_daed78e4f2e6cfdf": ("《关于深化紧密型县域医共体建设促进基层医疗卫生服务体系高质量发展的实施意见》",
                             "Zhejiang, Opinions on deepening compact county medical communities (2026)"),
    "001_5967ed6cd2f1614f": ("《关于全面推进紧密型县域医疗卫生服务共同体建设的指导意见（征求意见稿）》",
                             "Jilin, Guidance on compact county medical communities (draft, 2021)"),
    "002_54ea4458f9478aee": ("《玉溪市持续深化紧密型县域医疗卫生共同体建设17条措施》",
                             "Yuxi, 17 measures on compact county medical communities (2025)"),
    "003_fbf63bb5f501bc23": ("《贵州省加快推进紧密型城市医疗集团建设工作方案》",
                             "Guizhou, Work plan for compact city medical groups (2024)"),
    "004_cde9d266ddc3b12f": ("《关于开展紧密型县域医疗卫生共同体建设试点的指导方案》",
                             "National pilot guidance for compact county medical communities (2019)"),
}
"""The five policy documents (shared/seeds) by file stem: title as issued (Chinese), and a short English name."""


def cite(source: str) -> Text:
    """A rule's `source` as an official reads it: the document's title and the clause.

    "000_daed78e4f2e6cfdf.txt (二)" -> 《关于深化紧密型县域医共体建设促进基层医疗卫生服务体系高质量发展的实施意见》（二）.
    A source that names no known document (a planner option, a reviewer's note) is kept as
    written, with "planner option" in Chinese.
    """
    import re

    text = str(source).strip()
    zh = getattr(source, "zh", "")
    if zh and zh != str(source):                 # a rule's source_text: its own Chinese
        return Text(text, zh)
    m = re.match(r"^(\d{3}_[0-9a-f]+)(?:\.txt)?\s*(.*)$", text)
    if m and m.group(1) in DOCUMENTS:
        zh, en = DOCUMENTS[m.group(1)]
        clause = m.group(2).strip()
        clause_zh = re.sub(r"^\((.*)\)$", r"（\1）", clause)
        return Text(f"{en} {clause}".strip(), f"{zh}{clause_zh}")
    if text.startswith("planner option"):
        rest = text.split(":", 1)[1].strip() if ":" in text else ""
        return Text(text, "规划工具选项（无对应政策条款）" + ("" if not rest else ""))
    if text.startswith("planner assumption"):
        return Text(text, "规划工具假设（无对应政策条款，说明见规则文件）")
    return Text(text, text)


def status_text(status: object) -> Text:
    """A solve status (OPTIMAL, INFEASIBLE, GIVEN, "OPTIMAL 89 INFEASIBLE 1" ...) in words."""
    words = str(status).split()
    if len(words) > 1 and all(w.isdigit() or w in STATUS_WORDS for w in words):
        pairs = [(words[i], words[i + 1]) for i in range(0, len(words) - 1, 2)]
        return Text(", ".join(f"{STATUS_WORDS[k][1]} {n}" for k, n in pairs),
                    "，".join(f"{STATUS_WORDS[k][0]} {n} 个" for k, n in pairs))
    zh, en = STATUS_WORDS.get(str(status), (str(status), str(status)))
    return Text(en, zh)


def mark_text(mark: str) -> Text:
    """PASS / FAIL / SOFT / N/A / CONFLICT in words."""
    zh, en = MARK_WORDS.get(mark, (mark, mark))
    return Text(en, zh)


def count_text(n: object, lang: str = "zh", style: str = "grouped") -> str:
    """A count in the language's number style (万 only in Chinese and only with style "wan")."""
    return wan(n) if lang == "zh" and style == "wan" else grouped(n)


# --- figures ---------------------------------------------------------------------------------


@dataclass
class PlanFacts:
    """Every figure the maps and reports show, computed once from a run.

    Parameters
    ----------
    assignments
        One row per township: unit, community, lead, population, travel minutes to the lead,
        physicians received (`received`), estimated flags.
    communities
        One row per community or grid: lead, population, mean and max travel, physicians
        and experts received, and whether its population is estimated.
    members
        Facility -> community (a facility serving several communities has several rows).
    roster, sites, coverage
        Dispatch roster, new dialysis sites and dialysis coverage by county (the plan folder's tables).
    units
        One row per county or city unit (UNIT_COLUMNS).
    total
        The region row (same columns).
    rules
        One row per rule: status, citation, heading, units checked, violations.
    violations
        One row per violation, with the unit it belongs to ("" when it names no unit).
    """

    assignments: pd.DataFrame
    communities: pd.DataFrame
    members: pd.DataFrame
    roster: pd.DataFrame
    sites: pd.DataFrame
    coverage: pd.DataFrame
    units: pd.DataFrame
    total: dict[str, object]
    rules: pd.DataFrame
    violations: pd.DataFrame


def rule_mark(status: RuleStatus) -> str:
    """PASS, FAIL (a hard rule broken), SOFT (a soft rule broken, penalised) or N/A (applies to no unit), as in check.txt."""
    return status.mark


def violation_units(result, violations: Sequence[Violation]) -> list[str]:
    """The unit id each violation belongs to ("" when it names none of the plan's units).

    The checkers name units in three ways: the unit id, a county adcode (dialysis, which is
    sited per county even inside a city grid), or only a hospital's name (release caps and
    staff pools, which belong to a hospital rather than a community); each is traced back to
    the county or city unit that holds it.
    """
    unit_ids = {u.id for u in result.units}
    county_unit = {c: u.id for u in result.units for c in u.county_codes}
    fac = result.region.facilities
    name_unit: dict[str, str] = {}
    for name, county in zip(fac["name"].astype(str).tolist(), fac["county_code"].astype(str).tolist()):
        if county in county_unit:
            name_unit.setdefault(name, county_unit[county])
    out = []
    for v in violations:
        key = str(v.unit)
        if key in unit_ids:
            out.append(key)
        elif key in county_unit:
            out.append(county_unit[key])
        else:
            out.append(name_unit.get(str(v.unit_name), ""))
    return out


def rule_applies(rule, unit: Unit) -> bool:
    """Whether a rule says anything about a unit (community rules by scope, capacity by scope)."""
    stage = type(rule).stage
    if stage in ("communities", "capacity"):
        return rule.enabled and unit.scope == rule.scope
    return rule.enabled


def _round(x: float | None, digits: int = 2) -> float:
    """Round for the tables; None and NaN become NaN (an empty cell)."""
    if x is None:
        return float("nan")
    x = float(x)
    return x if math.isnan(x) else round(x, digits)


def plan_facts(result) -> PlanFacts:
    """Compute the figures of a run (RunResult) for maps and reports."""
    from .dialysis import coverage_frame, sites_frame
    from .dispatch import roster_frame

    region = result.region
    tables = run_community_tables(result)
    a = tables["assignments"].copy()
    comms = tables["communities"].copy()
    members = tables["members"].copy()
    roster = roster_frame(result.dispatch, region) if result.dispatch else roster_frame([], region)
    sites = sites_frame(result.dialysis, region) if result.dialysis else sites_frame([], region)
    coverage = coverage_frame(result.dialysis) if result.dialysis else pd.DataFrame(
        columns=["county", "county_name", "population", "eligible", "existing_sites", "new_sites", "covered_before",
                 "covered_after", "share_before", "share_after", "mean_min_before", "mean_min_after", "status", "note"])
    towns, fac = region.townships, region.facilities

    attending = roster[roster["role"] == "attending"]
    experts = roster[roster["role"] == "expert"]
    target_town = dict(zip(fac.index.tolist(), fac["township_code"].astype(str).tolist()))   # = .to_dict(), faster
    received_town: dict[str, int] = {}
    for to_id, n in zip(attending["to_id"].tolist(), attending["count"].tolist()):
        t = target_town.get(str(to_id))
        if t is not None:
            received_town[t] = received_town.get(t, 0) + int(n)
    if len(a):
        township_codes = a["township_code"].tolist()
        a["received"] = [received_town.get(str(t), 0) for t in township_codes]
        # Township flags as dicts (a Series.get per township was most of this block's time).
        est = (dict(zip(towns.index.tolist(), towns["population_estimated"].astype(bool).tolist()))
               if "population_estimated" in towns else {})
        poly = (dict(zip(towns.index.tolist(), towns["polygon_estimated"].astype(bool).tolist()))
                if "polygon_estimated" in towns else {})
        a["population_estimated"] = [bool(est.get(t, False)) for t in township_codes]
        a["polygon_estimated"] = [bool(poly.get(t, False)) for t in township_codes]
    else:
        a = pd.DataFrame(columns=["township_code", "township_name", "county_code", "unit", "community_id", "lead_id",
                                  "lead_name", "population", "travel_min", "received", "population_estimated",
                                  "polygon_estimated"])
    if len(comms):
        got = attending.groupby("community_id")["count"].sum().to_dict()
        got_x = experts.groupby("community_id")["count"].sum().to_dict()
        est_c = a.groupby("community_id")["population_estimated"].any().to_dict()
        ids = comms["community_id"].tolist()
        comms["physicians_received"] = [int(got.get(c, 0)) for c in ids]
        comms["experts_received"] = [int(got_x.get(c, 0)) for c in ids]
        comms["population_estimated"] = [bool(est_c.get(c, False)) for c in ids]
        # The leads' kind and grade in one look-up per column, not two `.at` per community.
        leads = comms["lead_id"].tolist()
        known = [lead for lead in leads if lead in fac.index]
        kind = dict(zip(known, fac["kind"].loc[known].tolist()))
        grade = dict(zip(known, fac["grade"].loc[known].tolist()))
        comms["lead_kind"] = [FacilityKind(kind[lead]).zh if lead in kind else "" for lead in leads]
        comms["lead_grade"] = [Grade(int(grade[lead])).zh if lead in grade else "" for lead in leads]

    statuses = list(result.all_statuses)
    vrows = []
    all_v = [v for s in statuses for v in s.violations]
    owners = violation_units(result, all_v)
    for v, owner in zip(all_v, owners):
        vrows.append({"rule_id": v.rule_id, "citation": v.citation, "hard": bool(v.hard), "unit": owner,
                      "named": v.unit_name, "message": v.message})
    violations = pd.DataFrame(vrows, columns=["rule_id", "citation", "hard", "unit", "named", "message"])
    rules = pd.DataFrame([{"rule_id": s.rule.id, "kind": s.rule.kind, "stage": type(s.rule).stage, "scope": s.rule.scope,
                           "hard": bool(s.rule.hard), "citation": s.rule.citation, "heading": tr(s.rule.heading(), "zh"),
                           "description": tr(s.rule.describe(), "en"), "units_checked": int(s.units_checked),
                           "violations": len(s.violations), "status": rule_mark(s)} for s in statuses],
                         columns=["rule_id", "kind", "stage", "scope", "hard", "citation", "heading", "description",
                                  "units_checked", "violations", "status"])

    unit_rows = _unit_rows(result, a, comms, roster, coverage, violations)
    units = pd.DataFrame(unit_rows, columns=list(UNIT_COLUMNS))
    total = _total_row(result, a, units, coverage)
    facts = PlanFacts(a, comms, members, roster, sites, coverage, units, total, rules, violations)
    result.__dict__["_plan_facts"] = (_facts_token(result), facts)
    return facts


def _facts_token(result) -> tuple[int, ...]:
    """What plan_facts depends on, by identity: a run whose plan, statuses or services were replaced recomputes."""
    return (id(result.plan), id(result.dispatch), id(result.dialysis), len(result.all_statuses),
            sum(len(s.violations) for s in result.all_statuses))


def made_facts(result) -> PlanFacts | None:
    """plan_facts of a run when already computed for it (by cached_facts), else None."""
    memo = result.__dict__.get("_plan_facts")
    return memo[1] if memo is not None and memo[0] == _facts_token(result) else None


def cached_facts(result) -> PlanFacts:
    """plan_facts of a run, computed once per run (the reports and the maps share them)."""
    memo = result.__dict__.get("_plan_facts")
    if memo is not None and memo[0] == _facts_token(result):
        return memo[1]
    return plan_facts(result)


def _unit_rows(result, a: pd.DataFrame, comms: pd.DataFrame, roster: pd.DataFrame, coverage: pd.DataFrame,
               violations: pd.DataFrame) -> list[dict[str, object]]:
    """One report row per unit, from frames grouped once (a national run has 2,800 units)."""
    # Row positions per unit and the columns as arrays, not a frame per unit: a national run has 2,800 units and
    # each frame's pandas sums cost more than its rows. The same sums: numpy's over the same values in row order.
    by_unit = positions_by(a["unit"]) if len(a) else {}
    population = a["population"].to_numpy() if len(a) else np.array([], dtype=np.int64)
    minutes = a["travel_min"].to_numpy(dtype=float) if len(a) else np.array([], dtype=float)
    comm_unit = dict(zip(comms["community_id"].tolist(), comms["unit"].tolist())) if len(comms) else {}
    sent: dict[tuple[str, str], int] = {}
    for cid, role, n in zip(roster["community_id"].tolist(), roster["role"].tolist(), roster["count"].tolist()):
        u = comm_unit.get(cid)
        if u is not None:
            sent[u, role] = sent.get((u, role), 0) + int(n)
    cov = {str(r.county): r for r in coverage.itertuples(index=False)} if len(coverage) else {}
    hard_v: dict[str, int] = {}
    soft_v: dict[str, int] = {}
    for u, hard in zip(violations["unit"].tolist(), violations["hard"].tolist()):
        d = hard_v if bool(hard) else soft_v
        d[u] = d.get(u, 0) + 1
    rows = []
    for unit in result.units:
        up = result.plan.units.get(unit.id)
        mine = by_unit.get(unit.id)
        pop = int(population[mine].sum()) if mine is not None else 0
        # As pandas' sum and max skip NaN (a township without a community has no travel time).
        mean = float(np.nansum(population[mine] * minutes[mine]) / pop) if pop else float("nan")
        timed = minutes[mine][~np.isnan(minutes[mine])] if mine is not None else minutes[:0]
        worst = float(timed.max()) if len(timed) else float("nan")
        here = [cov[c] for c in unit.county_codes if c in cov]
        covered_pop = sum(int(r.population) for r in here)
        before = sum(int(r.covered_before) for r in here)
        after = sum(int(r.covered_after) for r in here)
        status = "NO_PLAN" if up is None else (up.status.value if up.status is not None else "GIVEN")
        rows.append({
            "unit": unit.id, "unit_name": unit.name, "scope": unit.scope, "n_counties": len(unit.county_codes),
            "county_codes": " ".join(unit.county_codes), "status": status,
            "gap": _round(up.gap, 6) if up is not None and up.gap is not None else float("nan"),
            "communities": len(up.communities) if up is not None and up.solved else 0,
            "townships": len(mine) if mine is not None else 0,
            "population": pop, "mean_travel_min": _round(mean), "max_travel_min": _round(worst),
            "physicians_dispatched": sent.get((unit.id, "attending"), 0),
            "experts_dispatched": sent.get((unit.id, "expert"), 0),
            "dialysis_new_sites": sum(int(r.new_sites) for r in here),
            "dialysis_covered_before": before, "dialysis_covered_after": after,
            "dialysis_share_before": _round(before / covered_pop, 4) if covered_pop else float("nan"),
            "dialysis_share_after": _round(after / covered_pop, 4) if covered_pop else float("nan"),
            "hard_violations": hard_v.get(unit.id, 0), "soft_violations": soft_v.get(unit.id, 0),
        })
    return rows


def _total_row(result, a: pd.DataFrame, units: pd.DataFrame, coverage: pd.DataFrame) -> dict[str, object]:
    pop = int(a["population"].sum()) if len(a) else 0
    mean = float((a["population"] * a["travel_min"]).sum() / pop) if pop else float("nan")
    cov_pop = int(coverage["population"].sum()) if len(coverage) else 0
    before = int(coverage["covered_before"].sum()) if len(coverage) else 0
    after = int(coverage["covered_after"].sum()) if len(coverage) else 0
    counts = result.plan.status_counts()
    statuses = result.all_statuses
    return {
        "unit": "total", "unit_name": result.region.name, "scope": "region", "n_counties": len(result.region.counties),
        "county_codes": "", "status": " ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        "gap": _round(max((g for g in units["gap"] if not math.isnan(g)), default=float("nan")), 6),
        "communities": int(units["communities"].sum()), "townships": len(a), "population": pop,
        "mean_travel_min": _round(mean), "max_travel_min": _round(float(a["travel_min"].max()) if len(a) else float("nan")),
        "physicians_dispatched": int(units["physicians_dispatched"].sum()),
        "experts_dispatched": int(units["experts_dispatched"].sum()),
        "dialysis_new_sites": int(coverage["new_sites"].sum()) if len(coverage) else 0,
        "dialysis_covered_before": before, "dialysis_covered_after": after,
        "dialysis_share_before": _round(before / cov_pop, 4) if cov_pop else float("nan"),
        "dialysis_share_after": _round(after / cov_pop, 4) if cov_pop else float("nan"),
        "hard_violations": sum(len(s.violations) for s in statuses if s.rule.hard),
        "soft_violations": sum(len(s.violations) for s in statuses if not s.rule.hard),
    }


def report_frame(facts: PlanFacts) -> pd.DataFrame:
    """report.csv: one row per county or city unit, then the region total row."""
    return pd.concat([facts.units, pd.DataFrame([facts.total], columns=list(UNIT_COLUMNS))], ignore_index=True)


def unit_statuses(result, facts: PlanFacts, unit: Unit) -> list[dict[str, object]]:
    """Every rule's status in one unit: mark (PASS/FAIL/SOFT, or N/A), citation, headings, its violations."""
    out = []
    here = facts.violations[facts.violations["unit"] == unit.id]
    for s in result.all_statuses:
        mine = here[here["rule_id"] == s.rule.id]
        if not rule_applies(s.rule, unit):
            mark = "N/A"
        elif len(mine) == 0:
            mark = "PASS"
        else:
            mark = "FAIL" if s.rule.hard else "SOFT"
        out.append({"rule_id": s.rule.id, "citation": s.rule.citation, "heading": tr(s.rule.heading(), "zh"),
                    "description": tr(s.rule.describe(), "en"), "mark": mark, "violations": list(mine["message"])})
    return out


# --- writing ---------------------------------------------------------------------------------


def write_reports(result, out_dir: str | Path, facts: PlanFacts | None = None, *, lang: str = "zh",
                  numbers: str = "grouped") -> list[Path]:
    """Write report.csv, report.xlsx, summary.md and summary.html into `out_dir`.

    Parameters
    ----------
    result
        A RunResult (planner.pipeline.run_plan).
    out_dir
        The folder to write into (created if missing); usually the plan folder.
    facts
        Figures already computed by `plan_facts` (computed here when omitted).
    lang
        "zh" (default): summaries and workbook headers in Chinese; "en": in English. report.csv
        keeps its machine column names (UNIT_COLUMNS) in both.
    numbers
        "grouped" or "wan" (populations as 185.9万 in Chinese summaries).

    Returns
    -------
    list of Path
        The files written. The contents hold no timestamps: the same run writes the same bytes.
    """
    out = Path(out_dir)
    facts = facts or cached_facts(result)
    frame = report_frame(facts)
    return [
        io.write_csv(frame, out / "report.csv"),
        io.write_bytes(out / "report.xlsx", xlsx_bytes(result, facts, lang=lang)),
        io.write_text(out / "summary.md", summary_markdown(result, facts, lang, numbers)),
        io.write_text(out / "summary.html", summary_html(result, facts, lang, numbers)),
    ]


def _cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


HEADER_ZH = {
    **{k: v[0] for k, v in COLUMN_ZH.items()},
    "figure": "指标", "value": "数值", "community_id": "医共体代码", "lead_id": "牵头医院代码", "lead_name": "牵头医院",
    "lead_kind": "牵头医院类别", "lead_grade": "牵头医院等级", "n_townships": "乡镇（街道）数",
    "population_estimated": "人口为估算", "polygon_estimated": "边界为估算", "physicians_received": "接收派驻医师",
    "experts_received": "接收城市专家", "township_code": "乡镇代码", "township_name": "乡镇名称", "county_code": "县级代码",
    "travel_min": "到牵头医院时间（分钟）", "received": "接收派驻医师", "rule_id": "规则编号", "kind": "规则类型",
    "stage": "环节", "hard": "硬性", "citation": "依据", "heading": "规则", "description": "规则说明（英文）",
    "units_checked": "核查单元数", "violations": "违反数", "named": "所涉单位", "message": "说明", "item": "项目",
    "rows": "行数/说明", "column": "列名", "meaning": "含义（英文）", "中文": "中文",
}
"""Workbook column headers in Chinese (report.csv keeps the English machine names; sheet `columns` maps both)."""


def xlsx_bytes(result, facts: PlanFacts, lang: str = "zh") -> bytes:
    """The Excel workbook: region figures, units, communities, rules, violations, data notes, column meanings.

    Sheet `units` holds exactly the rows of report.csv; its header row is in Chinese (lang
    "zh") or the CSV's column names ("en"). The archive is written with fixed timestamps so
    that the same run gives the same bytes.
    """
    # Written by planner.io's workbook writer (values and layout as openpyxl wrote them here
    # before: bold headers on light blue, widths, frozen header row; a national run's
    # township sheet has 40,000 rows, which openpyxl took most of the report's time over).
    sheets: dict[str, io.XlsxSheet] = {}

    def sheet(title: str, frame: pd.DataFrame, widths: dict[str, int] | None = None, **layout) -> None:
        header = [HEADER_ZH.get(str(c), str(c)) if lang == "zh" else str(c) for c in frame.columns]
        body = pd.DataFrame({k: [_cell(v) for v in frame.iloc[:, k].tolist()] for k in range(len(frame.columns))},
                            index=range(len(frame)), dtype=object)
        sizes = [(widths or {}).get(col) or min(60, max(10, len(str(col)) + 2,
                                                         *(len(str(v)) + 2 for v in frame[col].head(200))))
                 for col in frame.columns]
        sheets[title] = io.XlsxSheet(body, header=header, header_style=io.XLSX_REPORT_HEADER, widths=sizes,
                                     freeze_header=True, **layout)

    region_rows = [{"figure": k, "中文": COLUMN_ZH.get(k, ("", ""))[0], "value": _cell(v)}
                   for k, v in facts.total.items() if k not in ("unit", "county_codes")]
    region_rows.insert(0, {"figure": "rules", "中文": "规则文件", "value": rules_label(result, lang)})
    region_rows.insert(0, {"figure": "region", "中文": "地区", "value": result.region.name})
    region = pd.DataFrame(region_rows, columns=["figure", "中文", "value"])
    sheet("region", region, {"figure": 26, "中文": 28, "value": 40},
          tail=[([], 0), (["WARNING", "注意", f"{SYNTHESIZED_ZH}. {SYNTHESIZED_EN}."], io.XLSX_WARNING)])
    sheet("units", report_frame(facts))
    comm_cols = ["community_id", "unit", "unit_name", "lead_id", "lead_name", "lead_kind", "lead_grade", "n_townships",
                 "population", "population_estimated", "mean_travel_min", "max_travel_min", "physicians_received",
                 "experts_received"]
    comms = facts.communities.reindex(columns=comm_cols)
    sheet("communities", comms)
    sheet("townships", facts.assignments.reindex(columns=[
        "township_code", "township_name", "county_code", "unit", "community_id", "lead_id", "lead_name", "population",
        "population_estimated", "polygon_estimated", "travel_min", "received"]))
    rules = facts.rules.copy()
    rules["citation"] = [tr(cite(src), lang) for src in _rule_sources(result, rules["rule_id"])]
    rules["status"] = [tr(mark_text(m), lang) for m in rules["status"]]
    rules = rules.sort_values("status", key=lambda col: col.map(
        {tr(mark_text(k), lang): v for k, v in MARK_ORDER.items()}), kind="stable")
    sheet("rules", rules, {"heading": 50, "description": 60, "citation": 50})
    viol = facts.violations.copy()
    viol["message"] = [tr(m, lang) for m in viol["message"]]
    sheet("violations", viol, {"message": 90})
    flags = result.region.estimated_flags()
    data = pd.DataFrame([{"item": k, "rows": v} for k, v in flags.items()]
                        + [{"item": f"about: {k}", "rows": v} for k, v in sorted(result.region.about.items())
                           if k in ("WARNING", "real", "estimated", "synthesized", "attribution")],
                        columns=["item", "rows"])
    sheet("data", data, {"item": 40, "rows": 120}, column_styles={1: io.XLSX_WRAP})
    cols = pd.DataFrame([{"column": k, "中文": zh, "meaning": en} for k, (zh, en) in COLUMN_ZH.items()],
                        columns=["column", "中文", "meaning"])
    sheet("columns", cols, {"column": 26, "中文": 28, "meaning": 90})
    return io.xlsx_table_bytes(sheets)


def _rule_sources(result, ids) -> list[str]:
    by_id = {s.rule.id: s.rule.source_text for s in result.all_statuses}
    return [by_id.get(i, "") for i in ids]


def _fmt(value: object, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _share(value: object) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.1%}"


def _w(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


def sorted_statuses(statuses: Sequence[RuleStatus]) -> list[RuleStatus]:
    """Rules with what is broken first (hard, then soft), then the rest in file order."""
    def mark(s: RuleStatus) -> str:
        return rule_mark(s)

    return sorted(statuses, key=lambda s: MARK_ORDER.get(mark(s), 9))


def rules_label(result, lang: str = "zh") -> str:
    """The rule file as pages name it: its title, name and path (two copies of one file differ by path)."""
    rs = result.rules
    path = str(result.plan.meta.get("rules_path") or rs.path or rs.name)
    title = f"{rs.title} " if rs.title else ""
    return f"{title}({rs.name}; {_w('文件', 'file', lang)} {path})"


def summary_items(result, facts: PlanFacts, lang: str = "zh", numbers: str = "grouped") -> dict[str, list[tuple[str, str]]]:
    """The summary's sections as (label, text) pairs in one language, plain text (escaped by each writer)."""
    t = facts.total
    w = lambda zh, en: _w(zh, en, lang)  # noqa: E731
    n = lambda x: count_text(x, lang, numbers)  # noqa: E731
    minutes = w("分钟", "min")
    key = [
        (w("地区", "Region"), w(f"{result.region.name}：{len(result.region.counties):,} 个县级单位，{len(result.region.townships):,} 个乡镇（街道）",
                              f"{result.region.name}: {len(result.region.counties):,} county-level units, "
                              f"{len(result.region.townships):,} townships")),
        (w("规则", "Rules"), rules_label(result, lang)),
        (w("医共体与网格", "Communities and grids"), _fmt(t["communities"])),
        (w("常住人口", "Population"), n(t["population"])),
        (w("平均到牵头医院时间", "Mean travel to lead"), f"≈{_fmt(t['mean_travel_min'])} {minutes}"),
        (w("最长到牵头医院时间", "Max travel to lead"), f"≈{_fmt(t['max_travel_min'])} {minutes}"),
        (w("派驻医师", "Physicians dispatched"), _fmt(t["physicians_dispatched"])),
        (w("城市专家", "City experts"), _fmt(t["experts_dispatched"])),
        (w("新增血透点", "New dialysis sites"), _fmt(t["dialysis_new_sites"])),
        (w("血透可及人口（前→后）", "Residents within reach of dialysis (before → after)"),
         f"{n(t['dialysis_covered_before'])} ({_share(t['dialysis_share_before'])}) → "
         f"{n(t['dialysis_covered_after'])} ({_share(t['dialysis_share_after'])})"),
        (w("求解状态", "Solve status"), tr(status_text(t["status"]), lang)),
        (w("硬性规则违反", "Hard-rule violations"), _fmt(t["hard_violations"])),
    ]
    rules = []
    for s in sorted_statuses(result.all_statuses):
        r = s.rule
        heading = r.heading() if lang == "zh" else r.describe()
        units_word = w(f"{s.units_checked} 个单元，{len(s.violations)} 项违反", f"{s.units_checked} units, {len(s.violations)} violations")
        rules.append((tr(mark_text(rule_mark(s)), lang), f"{tr(heading, lang)} — {tr(cite(r.source_text), lang)} [{r.id}] — {units_word}"))
    unowned = int((facts.violations["unit"] == "").sum())
    shortfalls = [(d.city_name, tr(s, lang)) for d in result.dispatch for s in d.shortfalls]
    shortfalls += [(d.city_name, w("可如何解决？", "would close it? ") + tr(s, lang)) for d in result.dispatch for s in d.relaxations]
    flags = result.region.estimated_flags()
    flag_words = {"facilities_synthesized": ("合成设施", "facilities synthesized"),
                  "township_polygon_estimated": ("估算的乡镇边界", "township polygon estimated"),
                  "township_population_estimated": ("估算的乡镇人口", "township population estimated")}
    data = [(w(*flag_words.get(k, (k, k.replace("_", " ")))), w(f"{v:,} 行", f"{v:,} rows")) for k, v in flags.items()]
    about = result.region.about
    for k in ("WARNING", "estimated", "synthesized"):
        if about.get(k):
            data.append((w({"WARNING": "注意", "estimated": "估算", "synthesized": "合成"}[k], k), str(about[k])))
    units = []
    for r in facts.units.itertuples():
        if r.hard_violations or r.status not in ("OPTIMAL",):
            units.append((str(r.unit_name), w(
                f"{tr(status_text(r.status), 'zh')}，{r.communities} 个医共体/网格，人口 {n(r.population)}，"
                f"平均/最长 {_fmt(r.mean_travel_min)} / {_fmt(r.max_travel_min)} 分钟，硬性规则违反 {r.hard_violations} 项",
                f"{r.status}, {r.communities} communities, population {_fmt(r.population)}, travel mean "
                f"{_fmt(r.mean_travel_min)} / max {_fmt(r.max_travel_min)} min, {r.hard_violations} hard violations")))
    extra = [("", w(f"{unowned} 项违反未对应到本规划的县或市", f"{unowned} violations name no county or city of the plan"))] if unowned else []
    return {"key": key, "rules": rules + extra, "shortfalls": shortfalls, "units": units, "data": data}


_SECTIONS = {
    "key": ("主要指标", "Key figures"), "rules": ("规则核查（独立核查，未通过的在前）", "Compliance (independent checker, failures first)"),
    "units": ("需关注的单元", "Units to look at"), "shortfalls": ("缺口", "Shortfalls"),
    "data": ("数据说明：估算与合成", "Data: estimated and synthesized"),
}
_NONE = {"units": ("无：每个单元均已证明最优且无硬性规则违反", "none: every unit is proven optimal and breaks no hard rule"),
         "shortfalls": ("无", "none")}


def _notice(lang: str) -> str:
    return (f"{SYNTHESIZED_ZH}。乡镇边界与人口为估算，见数据说明。" if lang == "zh"
            else f"{SYNTHESIZED_EN}. Township polygons and populations are estimated; see the data section.")


def _md(text: object) -> str:
    """Text for Markdown: HTML-escaped (Markdown passes raw HTML through) and table pipes escaped."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def summary_markdown(result, facts: PlanFacts, lang: str = "zh", numbers: str = "grouped") -> str:
    """A short Markdown summary: key figures, solve status, compliance with citations, shortfalls, data notes."""
    s = summary_items(result, facts, lang, numbers)
    w = lambda zh, en: _w(zh, en, lang)  # noqa: E731
    lines = [f"# {_md(result.region.name)} — {_md(result.rules.title or result.rules.name)}", "",
             f"> **{_md(_notice(lang))}**", "", f"## {w(*_SECTIONS['key'])}", "", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in s["key"]]
    lines += ["", f"## {w(*_SECTIONS['rules'])}", ""]
    lines += [f"- **{_md(mark)}** {_md(text)}" if mark else f"- {_md(text)}" for mark, text in s["rules"]]
    for sec in ("units", "shortfalls"):
        lines += ["", f"## {w(*_SECTIONS[sec])}", ""]
        lines += [f"- {_md(k)}: {_md(v)}" for k, v in s[sec]] or [f"- {w(*_NONE[sec])}"]
    lines += ["", f"## {w(*_SECTIONS['data'])}", ""]
    lines += [f"- {_md(k)}: {_md(v)}" for k, v in s["data"]]
    lines += ["", w("表格：report.csv / report.xlsx（每个县或城市单元一行，另有合计行）；规划文件：plan.gpkg、plan.geojson（可用 QGIS 打开）。",
                    "Tables: report.csv / report.xlsx (one row per county or city unit and a total row); plan files: "
                    "plan.gpkg, plan.geojson (open in QGIS)."), ""]
    return "\n".join(lines)


def summary_html(result, facts: PlanFacts, lang: str = "zh", numbers: str = "grouped", maps_href: str | None = None) -> str:
    """The same summary as one self-contained HTML page (every value escaped), linking to the maps when known."""
    e = html.escape
    s = summary_items(result, facts, lang, numbers)
    w = lambda zh, en: _w(zh, en, lang)  # noqa: E731
    maps_href = maps_href if maps_href is not None else result.plan.meta.get("maps_href")
    cls = {w("通过", "pass"): "pass", w("未通过", "FAIL"): "fail", w("软性未满足", "soft, penalised"): "soft"}
    parts = ["<!DOCTYPE html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', "<head>", '<meta charset="utf-8">',
             f"<title>{e(result.region.name)} — {e(result.rules.title or result.rules.name)}</title>",
             ("<style>body{font:14px/1.5 'Helvetica Neue',Arial,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',"
              "'WenQuanYi Micro Hei',sans-serif;max-width:980px;margin:1em auto;padding:0 1em;color:#222}table{border-collapse:collapse}"
              "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.warn{background:#fff3cd;border:1px solid #e0b400;"
              "padding:6px 10px}.pass{color:#1a7f37}.fail{color:#c62828;font-weight:bold}.soft{color:#b26a00}"
              "@media print{a.nav{display:none}body{max-width:none;margin:0}}</style>"),
             "</head>", "<body>", f"<h1>{e(result.region.name)} — {e(result.rules.title or result.rules.name)}</h1>"]
    if maps_href:
        parts.append(f'<p><a class="nav" id="pm-maps-link" href="{e(str(maps_href))}">{w("← 打开地图", "← Open the maps")}</a></p>')
    parts += [f'<p class="warn"><b>{e(_notice(lang))}</b></p>', f"<h2>{w(*_SECTIONS['key'])}</h2>", "<table>"]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in s["key"]]
    parts += ["</table>", f"<h2>{w(*_SECTIONS['rules'])}</h2>", "<ul>"]
    parts += [f'<li><span class="{cls.get(m, "")}">{e(m)}</span> {e(t)}</li>' for m, t in s["rules"]]
    parts.append("</ul>")
    for sec in ("units", "shortfalls"):
        parts += [f"<h2>{w(*_SECTIONS[sec])}</h2>", "<ul>"]
        parts += [f"<li>{e(k)}: {e(v)}</li>" for k, v in s[sec]] or [f"<li>{e(w(*_NONE[sec]))}</li>"]
        parts.append("</ul>")
    parts += [f"<h2>{w(*_SECTIONS['data'])}</h2>", "<ul>"]
    parts += [f"<li>{e(k)}: {e(v)}</li>" for k, v in s["data"]]
    parts += ["</ul>", "<p>" + e(w("表格：report.csv / report.xlsx；规划文件：plan.gpkg、plan.geojson（可用 QGIS 打开）。",
                                   "Tables: report.csv / report.xlsx; plan files: plan.gpkg, plan.geojson (open in QGIS).")) + "</p>",
              "</body>", "</html>", ""]
    return "\n".join(parts)
