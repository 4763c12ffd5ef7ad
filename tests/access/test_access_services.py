"""Shared centers, emergency coverage and visit shares on a tiny hand-drawn county, with the independent checker."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import Fac, grid_region

from planner.access.check import check_access
from planner.access.choice import choice_inputs, county_shares, huff
from planner.access.matrix import build_matrix
from planner.access.rules import EmergencyCenters, SharedCenters, VisitShareModel, VisitShareTarget
from planner.access.run import plan_scopes, run_access
from planner.plan import Community, Plan, UnitPlan
from planner.travel import TravelModel

# A 1 x 4 county, about 10 km a cell: the people's hospital in the west, a central THC in the east.
#   [ H / T1 ] [ T2 ] [ T3 ] [ C4 (central) ]


def _county(pathology: bool = True, chest_pain_at_h: bool = False):
    facs = [Fac("H", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
            Fac("M", "测试县妇幼保健院", "maternal_child_hospital", "二乙", (0, 0)),
            Fac("T1", "一镇卫生院", "township_health_center", "一甲", (0, 0)),
            Fac("T2", "二镇卫生院", "township_health_center", "一甲", (0, 1)),
            Fac("T3", "三镇卫生院", "township_health_center", "一甲", (0, 2)),
            Fac("C4", "四镇中心卫生院", "township_health_center", "一甲", (0, 3), central_thc=True)]
    region = grid_region([[40_000, 10_000, 10_000, 30_000]], facs)
    fac = region.facilities
    for col in ("lab_center", "imaging_center", "ecg_center", "pathology_center", "sterile_center", "pharmacy_center",
                "chest_pain_center", "stroke_center", "trauma_center", "maternal_critical_center", "neonatal_critical_center"):
        fac[col] = False
    fac.loc["H", ["lab_center", "imaging_center", "ecg_center", "sterile_center"]] = True
    fac.loc["H", "pathology_center"] = pathology
    fac.loc["C4", ["lab_center", "ecg_center"]] = True
    fac.loc["H", "chest_pain_center"] = chest_pain_at_h
    towns = tuple(sorted(region.townships.index))
    plan = Plan(region.name, "test", {"330001": UnitPlan("330001", "county", "测试县",
                                                         (Community("330001:H", "330001", "H", towns),))})
    return region, plan


def test_pathology_host_is_named_when_missing_and_passes_when_present():
    rule = SharedCenters(id="shared", source="002_54ea4458f9478aee.txt (七)", required=["pathology_center"])
    for pathology, n in ((True, 0), (False, 1)):
        region, plan = _county(pathology)
        acc = run_access(region, plan, [rule], TravelModel())
        hosts = acc.table("shared_hosts").set_index("center")
        assert hosts.at["pathology_center", "status"] == ("existing" if pathology else "missing")
        assert hosts.at["pharmacy_center", "status"] == "to_build" and hosts.at["lab_center", "host"] == "H"
        status = check_access(region, plan, acc.tables, [rule], TravelModel(), plan_scopes(plan, region))[0]
        assert len(status.violations) == n
        if n:
            assert "测试县人民医院" in status.violations[0].message and "pathology" in status.violations[0].message
            assert "病理诊断中心" in status.violations[0].message.zh
    trips = acc.table("courier_trips")
    assert sorted(";".join(trips["stops"]).split(";")) == ["C4", "T1", "T2", "T3"]


def test_checker_catches_a_tampered_courier_table():
    rule = SharedCenters(id="shared", source="s")
    region, plan = _county()
    acc = run_access(region, plan, [rule], TravelModel())
    trips = acc.tables["courier_trips"]
    trips.loc[trips.index[0], "minutes"] = float(trips["minutes"].iloc[0]) + 10
    trips.loc[trips.index[0], "stops"] = "T1;T2"
    status = check_access(region, plan, acc.tables, [rule], TravelModel(), plan_scopes(plan, region))[0]
    text = " ".join(str(v) for v in status.violations)
    assert "miss" in text and "the table says" in text


def test_emergency_coverage_and_upgrades():
    rule = EmergencyCenters(id="ec", source="000_daed78e4f2e6cfdf.txt (五)", centers=["chest_pain_center",
                                                                                      "maternal_critical_center"],
                            max_minutes=30, max_new_centers=2)
    region, plan = _county(chest_pain_at_h=True)
    acc = run_access(region, plan, [rule], TravelModel())
    cov = acc.table("emergency_coverage").set_index("center")
    # Chest pain at H (west end): the two western cells are within 30 min (a cell is 9.7 km: 19 min at 40 km/h x 1.3).
    assert cov.at["chest_pain_center", "covered"] == 50_000 and cov.at["maternal_critical_center", "covered"] == 0
    ups = acc.table("emergency_upgrades")
    assert set(ups["status"]) == {"OPTIMAL"} and (ups["facility_id"].isin(["H", "M"])).all()
    k1 = ups[ups["k"] == 1]
    assert len(k1) == 1 and k1["center"].iloc[0] == "maternal_critical_center" and k1["facility_id"].iloc[0] == "H" and k1["marginal_gain"].iloc[0] == 50_000
    status = check_access(region, plan, acc.tables, [rule], TravelModel(), plan_scopes(plan, region))[0]
    assert any("critical maternal" in v.message for v in status.violations)  # no county hospital runs it yet
    assert not any("the data give" in v.message for v in status.violations)


def test_huff_respects_capacity_and_gives_shares():
    region, plan = _county()
    m = build_matrix(region, TravelModel())
    inp = choice_inputs(region, m, 250)
    model = VisitShareModel(id="v", source="s", visits_per_capita=2.0, max_utilization=1.0)
    res = huff(inp, model)
    assert np.all(res.load <= inp.capacity * (1 + 1e-6))
    assert res.visits.sum() + res.unserved == pytest.approx(inp.demand_pop.sum() * 2.0)
    shares = county_shares(inp, res, region)
    assert 0 < shares["primary_share_est"].iloc[0] < 1 and shares["in_county_share_est"].iloc[0] == pytest.approx(1.0)
    target = VisitShareTarget(id="t", source="s", measure="primary", min_share=0.99)
    acc = run_access(region, plan, [model, target], TravelModel())
    status = check_access(region, plan, acc.tables, [model, target], TravelModel(), plan_scopes(plan, region))
    assert status[0].violations and "model estimate" in status[0].violations[0].message
    assert not status[0].rule.hard


def test_access_indicators_before_and_after_dispatch():
    from planner.access.rules import AccessIndicators
    from planner.dispatch import RosterRow

    region, plan = _county()
    rule = AccessIndicators(id="acc", source="s", max_minutes=60, decay="none")
    moved = [RosterRow("attending", "330001:H", "H", "C4", "attending", "内科", 5, 30.0)]
    acc = run_access(region, plan, [rule], TravelModel(), roster=moved)
    towns = acc.table("access_townships").set_index("township")
    east = towns.index[-1]
    assert towns.at[east, "physicians_per_1000_after"] >= towns.at[east, "physicians_per_1000"]
    eq = acc.table("access_equity")
    assert 0 <= eq["physicians_gini"].iloc[0] < 1
    assert not check_access(region, plan, acc.tables, [rule], TravelModel(), plan_scopes(plan, region))[0].violations


def test_a_rule_for_some_counties_checks_only_those(tmp_path):
    from click.testing import CliRunner

    from planner.access.outputs import write_access
    from planner.cli import main

    region, plan = _county(chest_pain_at_h=True)
    everywhere = EmergencyCenters(id="ec", source="s", centers=["chest_pain_center", "trauma_center"], max_minutes=30)
    elsewhere = EmergencyCenters(id="mountain", source="s", centers=["trauma_center"], counties=["330999"])
    acc = run_access(region, plan, [everywhere, elsewhere], TravelModel())
    statuses = check_access(region, plan, acc.tables, [everywhere, elsewhere], TravelModel(), plan_scopes(plan, region))
    assert statuses[0].violations and statuses[1].units_checked == 0 and not statuses[1].violations
    write_access(acc, tmp_path)
    out = CliRunner().invoke(main, ["access", str(tmp_path), "--county", "测试县"])
    assert out.exit_code == 0, out.output
    assert "创伤中心" in out.output and "k=1: 测试县人民医院 + 创伤中心" in out.output and "OPTIMAL" in out.output
    bad = CliRunner().invoke(main, ["access", str(tmp_path), "--county", "无此县"])
    assert bad.exit_code != 0 and "无此县" in bad.output
