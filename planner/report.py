"""Figures of a run per region, county and city grid, as CSV, Excel and a short Markdown/HTML summary."""

from __future__ import annotations

import html
import io as _io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import io
from .check import RuleStatus, Violation
from .i18n import tr
from .planfile import community_tables
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
    """PASS, FAIL (a hard rule broken) or SOFT (a soft rule broken, penalised), as in check.txt."""
    if status.passed:
        return "PASS"
    return "SOFT" if not status.rule.hard else "FAIL"


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
    for name, county in zip(fac["name"].astype(str), fac["county_code"].astype(str)):
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
    tables = community_tables(result.plan, result.units, region, list(result.rules.rules))
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
    target_town = fac["township_code"].astype(str).to_dict()
    received_town: dict[str, int] = {}
    for to_id, n in zip(attending["to_id"], attending["count"]):
        t = target_town.get(str(to_id))
        if t is not None:
            received_town[t] = received_town.get(t, 0) + int(n)
    if len(a):
        a["received"] = [received_town.get(str(t), 0) for t in a["township_code"]]
        est = towns["population_estimated"].astype(bool) if "population_estimated" in towns else pd.Series(False, index=towns.index)
        poly = towns["polygon_estimated"].astype(bool) if "polygon_estimated" in towns else pd.Series(False, index=towns.index)
        a["population_estimated"] = [bool(est.get(t, False)) for t in a["township_code"]]
        a["polygon_estimated"] = [bool(poly.get(t, False)) for t in a["township_code"]]
    else:
        a = pd.DataFrame(columns=["township_code", "township_name", "county_code", "unit", "community_id", "lead_id",
                                  "lead_name", "population", "travel_min", "received", "population_estimated",
                                  "polygon_estimated"])
    if len(comms):
        got = attending.groupby("community_id")["count"].sum().to_dict()
        got_x = experts.groupby("community_id")["count"].sum().to_dict()
        est_c = a.groupby("community_id")["population_estimated"].any().to_dict()
        comms["physicians_received"] = [int(got.get(c, 0)) for c in comms["community_id"]]
        comms["experts_received"] = [int(got_x.get(c, 0)) for c in comms["community_id"]]
        comms["population_estimated"] = [bool(est_c.get(c, False)) for c in comms["community_id"]]
        comms["lead_kind"] = [FacilityKind(fac.at[lead, "kind"]).zh if lead in fac.index else "" for lead in comms["lead_id"]]
        comms["lead_grade"] = [Grade(int(fac.at[lead, "grade"])).zh if lead in fac.index else "" for lead in comms["lead_id"]]

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

    unit_rows = [_unit_row(result, u, a, comms, roster, coverage, violations) for u in result.units]
    units = pd.DataFrame(unit_rows, columns=list(UNIT_COLUMNS))
    total = _total_row(result, a, units, coverage)
    return PlanFacts(a, comms, members, roster, sites, coverage, units, total, rules, violations)


def _unit_row(result, unit: Unit, a: pd.DataFrame, comms: pd.DataFrame, roster: pd.DataFrame, coverage: pd.DataFrame,
              violations: pd.DataFrame) -> dict[str, object]:
    up = result.plan.units.get(unit.id)
    mine = a[a["unit"] == unit.id]
    pop = int(mine["population"].sum()) if len(mine) else 0
    mean = float((mine["population"] * mine["travel_min"]).sum() / pop) if pop else float("nan")
    worst = float(mine["travel_min"].max()) if len(mine) else float("nan")
    cids = set(comms.loc[comms["unit"] == unit.id, "community_id"]) if len(comms) else set()
    r = roster[roster["community_id"].isin(cids)]
    cov = coverage[coverage["county"].astype(str).isin(unit.county_codes)]
    covered_pop = int(cov["population"].sum()) if len(cov) else 0
    before = int(cov["covered_before"].sum()) if len(cov) else 0
    after = int(cov["covered_after"].sum()) if len(cov) else 0
    v = violations[violations["unit"] == unit.id]
    status = "NO_PLAN" if up is None else (up.status.value if up.status is not None else "GIVEN")
    return {
        "unit": unit.id, "unit_name": unit.name, "scope": unit.scope, "n_counties": len(unit.county_codes),
        "county_codes": " ".join(unit.county_codes), "status": status,
        "gap": _round(up.gap, 6) if up is not None and up.gap is not None else float("nan"),
        "communities": len(up.communities) if up is not None and up.solved else 0, "townships": len(mine),
        "population": pop, "mean_travel_min": _round(mean), "max_travel_min": _round(worst),
        "physicians_dispatched": int(r.loc[r["role"] == "attending", "count"].sum()),
        "experts_dispatched": int(r.loc[r["role"] == "expert", "count"].sum()),
        "dialysis_new_sites": int(cov["new_sites"].sum()) if len(cov) else 0,
        "dialysis_covered_before": before, "dialysis_covered_after": after,
        "dialysis_share_before": _round(before / covered_pop, 4) if covered_pop else float("nan"),
        "dialysis_share_after": _round(after / covered_pop, 4) if covered_pop else float("nan"),
        "hard_violations": int(v["hard"].astype(bool).sum()), "soft_violations": int((~v["hard"].astype(bool)).sum()),
    }


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


def write_reports(result, out_dir: str | Path, facts: PlanFacts | None = None) -> list[Path]:
    """Write report.csv, report.xlsx, summary.md and summary.html into `out_dir`.

    Parameters
    ----------
    result
        A RunResult (planner.pipeline.run_plan).
    out_dir
        The folder to write into (created if missing); usually the plan folder.
    facts
        Figures already computed by `plan_facts` (computed here when omitted).

    Returns
    -------
    list of Path
        The files written. The contents hold no timestamps: the same run writes the same bytes.
    """
    out = Path(out_dir)
    facts = facts or plan_facts(result)
    frame = report_frame(facts)
    return [
        io.write_csv(frame, out / "report.csv"),
        io.write_bytes(out / "report.xlsx", xlsx_bytes(result, facts)),
        io.write_text(out / "summary.md", summary_markdown(result, facts)),
        io.write_text(out / "summary.html", summary_html(result, facts)),
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


def xlsx_bytes(result, facts: PlanFacts) -> bytes:
    """The Excel workbook: region figures, units, communities, rules, violations, data notes, column meanings.

    Sheet `units` holds exactly the rows and columns of report.csv. The archive is written
    with fixed timestamps so that the same run gives the same bytes.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F0")
    warn_fill = PatternFill("solid", fgColor="FFF3CD")

    def sheet(title: str, frame: pd.DataFrame, widths: dict[str, int] | None = None, first: bool = False) -> None:
        ws = wb.active if first else wb.create_sheet()
        ws.title = title
        ws.append(list(frame.columns))
        for c in ws[1]:
            c.font, c.fill = bold, head_fill
        for row in frame.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for i, col in enumerate(frame.columns, start=1):
            width = (widths or {}).get(col) or min(60, max(10, len(str(col)) + 2,
                                                          *(len(str(v)) + 2 for v in frame[col].head(200))))
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"

    region_rows = [{"figure": k, "中文": COLUMN_ZH.get(k, ("", ""))[0], "value": _cell(v)}
                   for k, v in facts.total.items() if k not in ("unit", "county_codes")]
    region_rows.insert(0, {"figure": "rules", "中文": "规则文件", "value": f"{result.rules.name} {result.rules.title}".strip()})
    region_rows.insert(0, {"figure": "region", "中文": "地区", "value": result.region.name})
    region = pd.DataFrame(region_rows, columns=["figure", "中文", "value"])
    sheet("region", region, {"figure": 26, "中文": 28, "value": 40}, first=True)
    ws = wb["region"]
    ws.append([])
    ws.append(["WARNING", "注意", f"{SYNTHESIZED_ZH}. {SYNTHESIZED_EN}."])
    for c in ws[ws.max_row]:
        c.fill, c.font = warn_fill, bold
    sheet("units", report_frame(facts))
    comm_cols = ["community_id", "unit", "unit_name", "lead_id", "lead_name", "lead_kind", "lead_grade", "n_townships",
                 "population", "population_estimated", "mean_travel_min", "max_travel_min", "physicians_received",
                 "experts_received"]
    comms = facts.communities.reindex(columns=comm_cols)
    sheet("communities", comms)
    sheet("townships", facts.assignments.reindex(columns=[
        "township_code", "township_name", "county_code", "unit", "community_id", "lead_id", "lead_name", "population",
        "population_estimated", "polygon_estimated", "travel_min", "received"]))
    sheet("rules", facts.rules, {"heading": 50, "description": 60})
    sheet("violations", facts.violations, {"message": 90})
    flags = result.region.estimated_flags()
    data = pd.DataFrame([{"item": k, "rows": v} for k, v in flags.items()]
                        + [{"item": f"about: {k}", "rows": v} for k, v in sorted(result.region.about.items())
                           if k in ("WARNING", "real", "estimated", "synthesized", "attribution")],
                        columns=["item", "rows"])
    sheet("data", data, {"item": 40, "rows": 120})
    for row in wb["data"].iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    cols = pd.DataFrame([{"column": k, "中文": zh, "meaning": en} for k, (zh, en) in COLUMN_ZH.items()],
                        columns=["column", "中文", "meaning"])
    sheet("columns", cols, {"column": 26, "中文": 28, "meaning": 90})
    buf = _io.BytesIO()
    wb.save(buf)
    return io.fixed_zip_times(buf.getvalue())


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


def summary_items(result, facts: PlanFacts) -> dict[str, list[tuple[str, str]]]:
    """The summary's sections as (label, text) pairs, plain text (escaped by each writer)."""
    t = facts.total
    key = [
        ("地区 / Region", (f"{result.region.name}: {len(result.region.counties):,} county-level units, "
                        f"{len(result.region.townships):,} townships")),
        ("规则 / Rules", f"{result.rules.name}" + (f" — {result.rules.title}" if result.rules.title else "")),
        ("医共体与网格 / Communities and grids", _fmt(t["communities"])),
        ("人口 / Population", _fmt(t["population"])),
        ("平均到牵头医院时间 / Mean travel to lead", f"{_fmt(t['mean_travel_min'])} min"),
        ("最长到牵头医院时间 / Max travel to lead", f"{_fmt(t['max_travel_min'])} min"),
        ("派驻医师 / Physicians dispatched", _fmt(t["physicians_dispatched"])),
        ("城市专家 / City experts", _fmt(t["experts_dispatched"])),
        ("新增血透点 / New dialysis sites", _fmt(t["dialysis_new_sites"])),
        ("血透可及人口 / Residents within reach of dialysis",
         (f"{_fmt(t['dialysis_covered_before'])} ({_share(t['dialysis_share_before'])}) -> "
         f"{_fmt(t['dialysis_covered_after'])} ({_share(t['dialysis_share_after'])})")),
        ("求解状态 / Solve status", str(t["status"])),
        ("硬性规则违反 / Hard-rule violations", _fmt(t["hard_violations"])),
    ]
    rules = [(str(r.status), f"{r.rule_id} ({r.citation}): {r.heading} — {r.units_checked} units, {r.violations} violations")
             for r in facts.rules.itertuples()]
    unowned = int((facts.violations["unit"] == "").sum())
    shortfalls = [(d.city_name, s) for d in result.dispatch for s in d.shortfalls]
    shortfalls += [(d.city_name, f"would close it? {s}") for d in result.dispatch for s in d.relaxations]
    flags = result.region.estimated_flags()
    data = [(k.replace("_", " "), f"{v:,} rows") for k, v in flags.items()]
    about = result.region.about
    for k in ("WARNING", "estimated", "synthesized"):
        if about.get(k):
            data.append((k, str(about[k])))
    units = [(str(r.unit_name), (f"{r.status}, {r.communities} communities, population {_fmt(r.population)}, travel mean "
              f"{_fmt(r.mean_travel_min)} / max {_fmt(r.max_travel_min)} min, {r.hard_violations} hard violations"))
             for r in facts.units.itertuples() if r.hard_violations or r.status not in ("OPTIMAL",)]
    extra = [("", f"{unowned} violations name no county or city of the plan")] if unowned else []
    return {"key": key, "rules": rules + extra, "shortfalls": shortfalls, "units": units, "data": data}


def _md(text: object) -> str:
    """Text for Markdown: HTML-escaped (Markdown passes raw HTML through) and table pipes escaped."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def summary_markdown(result, facts: PlanFacts) -> str:
    """A short Markdown summary: key figures, solve status, compliance with citations, shortfalls, data notes."""
    s = summary_items(result, facts)
    lines = [f"# {_md(result.region.name)} — {_md(result.rules.name)}", "",
             (f"> **{SYNTHESIZED_ZH}。{SYNTHESIZED_EN}.** Township polygons and populations are estimated; "
             "see the data section."), "", "## 主要指标 / Key figures", "", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in s["key"]]
    lines += ["", "## 规则核查 / Compliance (independent checker)", ""]
    lines += [f"- **{_md(mark)}** {_md(text)}" if mark else f"- {_md(text)}" for mark, text in s["rules"]]
    lines += ["", "## 需关注的单元 / Units to look at", ""]
    lines += [f"- {_md(k)}: {_md(v)}" for k, v in s["units"]] or ["- none: every unit is proven optimal and breaks no hard rule"]
    lines += ["", "## 缺口 / Shortfalls", ""]
    lines += [f"- {_md(k)}: {_md(v)}" for k, v in s["shortfalls"]] or ["- none"]
    lines += ["", "## 数据说明 / Data: estimated and synthesized", ""]
    lines += [f"- {_md(k)}: {_md(v)}" for k, v in s["data"]]
    lines += ["", ("Tables: report.csv / report.xlsx (one row per county or city unit and a total row); plan files: "
              "plan.gpkg, plan.geojson (open in QGIS)."), ""]
    return "\n".join(lines)


def summary_html(result, facts: PlanFacts) -> str:
    """The same summary as one self-contained HTML page (every value escaped)."""
    e = html.escape
    s = summary_items(result, facts)
    cls = {"PASS": "pass", "FAIL": "fail", "SOFT": "soft"}
    parts = ["<!DOCTYPE html>", '<html lang="zh-CN">', "<head>", '<meta charset="utf-8">',
             f"<title>{e(result.region.name)} — {e(result.rules.name)}</title>",
             ("<style>body{font:14px/1.5 'Helvetica Neue',Arial,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;"
             "max-width:980px;margin:1em auto;padding:0 1em;color:#222}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.warn{background:#fff3cd;border:1px solid #e0b400;"
             "padding:6px 10px}.pass{color:#1a7f37}.fail{color:#c62828;font-weight:bold}.soft{color:#b26a00}</style>"),
             "</head>", "<body>", f"<h1>{e(result.region.name)} — {e(result.rules.name)}</h1>",
             (f'<p class="warn"><b>{e(SYNTHESIZED_ZH)}。{e(SYNTHESIZED_EN)}.</b> Township polygons and populations are '
             "estimated; see the data section.</p>"), "<h2>主要指标 / Key figures</h2>", "<table>"]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in s["key"]]
    parts += ["</table>", "<h2>规则核查 / Compliance (independent checker)</h2>", "<ul>"]
    parts += [f'<li><span class="{cls.get(m, "")}">{e(m)}</span> {e(t)}</li>' for m, t in s["rules"]]
    parts += ["</ul>", "<h2>需关注的单元 / Units to look at</h2>", "<ul>"]
    parts += [f"<li>{e(k)}: {e(v)}</li>" for k, v in s["units"]] or ["<li>none: every unit is proven optimal and breaks no hard rule</li>"]
    parts += ["</ul>", "<h2>缺口 / Shortfalls</h2>", "<ul>"]
    parts += [f"<li>{e(k)}: {e(v)}</li>" for k, v in s["shortfalls"]] or ["<li>none</li>"]
    parts += ["</ul>", "<h2>数据说明 / Data: estimated and synthesized</h2>", "<ul>"]
    parts += [f"<li>{e(k)}: {e(v)}</li>" for k, v in s["data"]]
    parts += ["</ul>", "<p>Tables: report.csv / report.xlsx; plan files: plan.gpkg, plan.geojson (open in QGIS).</p>",
              "</body>", "</html>", ""]
    return "\n".join(parts)
