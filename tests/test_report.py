"""Reports: report.csv and report.xlsx hold the same numbers, agree with the run, and summaries are escaped."""

from __future__ import annotations

import csv
import math
import zipfile

import openpyxl
import pytest
from fixtures import Fac, grid_region

from planner import regions
from planner.check import Violation
from planner.pipeline import run_plan
from planner.report import HEADER_ZH, UNIT_COLUMNS, cite, plan_facts, report_frame, violation_units, write_reports
from planner.rulefile import load_rules

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def yiwu():
    return run_plan(regions.load("义乌市"), load_rules("zhejiang-2026"))


@pytest.fixture(scope="module")
def guiyang():
    return run_plan(regions.load("贵阳市"), load_rules("guizhou-2024"))


def _csv_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _same(csv_cell: str, xlsx_cell: object) -> bool:
    if xlsx_cell is None:
        return csv_cell == ""
    if isinstance(xlsx_cell, bool):
        return csv_cell == str(xlsx_cell)
    if isinstance(xlsx_cell, (int, float)):
        return csv_cell != "" and math.isclose(float(csv_cell), float(xlsx_cell), rel_tol=0, abs_tol=0)
    return csv_cell == str(xlsx_cell)


@pytest.mark.parametrize("name", ["yiwu", "guiyang"])
def test_xlsx_holds_the_csv_numbers(name, request, tmp_path):
    result = request.getfixturevalue(name)
    paths = write_reports(result, tmp_path)
    assert [p.name for p in paths] == ["report.csv", "report.xlsx", "summary.md", "summary.html"]
    rows = _csv_rows(tmp_path / "report.csv")
    assert rows[0] == list(UNIT_COLUMNS)
    assert len(rows) == len(result.units) + 2 and rows[-1][0] == "total"
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["region", "units"]
    sheet = [list(r) for r in wb["units"].iter_rows(values_only=True)]
    assert len(sheet) == len(rows)
    assert sheet[0] == [HEADER_ZH[c] for c in UNIT_COLUMNS]          # Chinese headers in the workbook
    numbers = 0
    for r_csv, r_xlsx in zip(rows[1:], sheet[1:], strict=True):
        for a, b in zip(r_csv, r_xlsx, strict=True):
            assert _same(a, b), (r_csv[0], a, b)
            numbers += isinstance(b, (int, float)) and not isinstance(b, bool)
    assert numbers >= 14 * len(rows[1:])
    region = {r[0]: r[2] for r in wb["region"].iter_rows(min_row=2, values_only=True) if r[0]}
    total = dict(zip(rows[0], rows[-1], strict=True))
    for key in ("communities", "population", "mean_travel_min", "hard_violations"):
        assert _same(total[key], region[key])
    wb.close()


def test_total_row_agrees_with_the_run(yiwu):
    facts = plan_facts(yiwu)
    s = yiwu.summary()
    total = facts.total
    assert total["communities"] == s["communities"]
    assert total["population"] == s["population"]
    assert total["mean_travel_min"] == pytest.approx(s["mean_travel_min"], abs=0.011)
    assert total["max_travel_min"] == pytest.approx(s["max_travel_min"], abs=0.011)
    assert total["physicians_dispatched"] == s["physicians_dispatched"]
    assert total["experts_dispatched"] == s["experts_dispatched"]
    assert total["dialysis_new_sites"] == s["dialysis_sites"]
    assert total["dialysis_covered_before"] == s["dialysis_covered_before"]
    assert total["dialysis_covered_after"] == s["dialysis_covered_after"]
    assert total["hard_violations"] == s["hard_violations"]
    units = report_frame(facts)
    assert units["population"].iloc[:-1].sum() == total["population"]


def test_city_grid_row(guiyang):
    facts = plan_facts(guiyang)
    row = facts.units.set_index("unit").loc["city:520100"]
    # The five urban districts where most residents live in 街道 (乌当区, 49 %, keeps its county community).
    assert row["scope"] == "city" and row["n_counties"] == 5 and row["communities"] >= 2
    assert row["population"] == sum(guiyang.region.counties.loc[c, "population"] for c in row["county_codes"].split())


def test_reports_are_deterministic(yiwu, tmp_path):
    a = write_reports(yiwu, tmp_path / "a")
    b = write_reports(yiwu, tmp_path / "b")
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.name
    with zipfile.ZipFile(a[1]) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z" in z.read("docProps/core.xml")


def test_summary_lists_rules_with_citations_and_data_notes(yiwu, tmp_path):
    write_reports(yiwu, tmp_path)
    md = (tmp_path / "summary.md").read_text(encoding="utf-8")
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    for s in yiwu.all_statuses:                    # by document title and clause, and the rule id
        assert f"{cite(s.rule.source_text).zh} [{s.rule.id}]" in md
        assert s.rule.id in page and cite(s.rule.source_text).zh in page
    assert "设施为合成数据" in md and "设施为合成数据" in page
    assert "估算的乡镇边界" in md
    assert "1,859,390" in md
    assert "Key figures" not in page and "Compliance" not in md     # Chinese by default ...
    write_reports(yiwu, tmp_path / "en", lang="en", numbers="wan")
    en = (tmp_path / "en" / "summary.html").read_text(encoding="utf-8")
    assert "Key figures" in en and "主要指标" not in en and "1,859,390" in en   # ... English on request, 万 only in Chinese
    write_reports(yiwu, tmp_path / "wan", numbers="wan")
    assert "185.9万" in (tmp_path / "wan" / "summary.md").read_text(encoding="utf-8")


def test_names_are_escaped_in_summaries(tmp_path):
    pops = [[30_000, 10_000], [10_000, 30_000]]
    facs = [Fac("H1", XSS + "|x", "general_hospital", "二甲", (0, 0)),
            Fac("T1", "T01镇卫生院", "township_health_center", "一甲", (0, 1), beds=20)]
    region = grid_region(pops, facs, name=XSS)
    result = run_plan(region, load_rules("zhejiang-2026"))
    write_reports(result, tmp_path)
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    md = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert XSS not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert XSS in [r[4] for r in wb["communities"].iter_rows(values_only=True)][1]   # data stays data in Excel
    wb.close()


def test_violations_are_traced_to_their_unit(guiyang):
    city = next(u for u in guiyang.units if u.scope == "city")
    county = next(u for u in guiyang.units if u.scope == "county")
    community = guiyang.plan.units[city.id].communities[0]
    lead_name = guiyang.region.facilities.at[community.lead, "name"]
    found = violation_units(guiyang, [
        Violation(county.id, county.name, "r", "c", "by unit id"),
        Violation(city.county_codes[0], "x", "r", "c", "by county in a city grid"),
        Violation("", lead_name, "r", "c", "by hospital name"),
        Violation("", "no such place", "r", "c", "nowhere"),
    ])
    assert found == [county.id, city.id, city.id, ""]
