"""The access report: one section per county, estimates labelled, charts inline, names escaped."""

from __future__ import annotations

from types import SimpleNamespace

from test_access_services import _county

from planner.access.report import access_html
from planner.access.rules import AccessIndicators, EmergencyCenters, SharedCenters, VisitShareModel, VisitShareTarget
from planner.access.run import run_access
from planner.travel import TravelModel


def test_report_has_a_section_per_county_with_estimates_and_charts():
    region, plan = _county(chest_pain_at_h=True)
    region.counties.loc["330001", "name"] = "<b>测试县</b>"
    rules = [EmergencyCenters(id="ec", source="s", max_minutes=30), SharedCenters(id="sc", source="s"),
             AccessIndicators(id="ai", source="s"), VisitShareModel(id="vm", source="s", sensitivity=[0.5]),
             VisitShareTarget(id="t", source="000_daed78e4f2e6cfdf.txt 一", measure="primary", min_share=0.68, year=2027)]
    acc = run_access(region, plan, rules, TravelModel())
    page = access_html(SimpleNamespace(access=acc, region=region))
    assert page.count('<section id="c330001">') == 1
    assert "MODEL ESTIMATES" in page and "模型估算" in page and "68.0%" in page and "2027" in page
    assert page.count("<svg") >= 3  # coverage bars, Lorenz curves, visit-share bars
    assert "&lt;b&gt;测试县&lt;/b&gt;" in page and "<b>测试县</b>" not in page
    assert "synthesized" in page
