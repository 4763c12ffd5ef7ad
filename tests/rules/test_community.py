"""Each community rule kind: its constraints change the plan, and its check catches a bad plan on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import Fac, grid_region

from planner.plan import Community, UnitPlan
from planner.planning import SolveOptions, region_units
from planner.pipeline import run_plan
from planner.rulefile import load_rules
from planner.rules.community import (
    CityGrid,
    CommunityCount,
    Contiguity,
    Coverage,
    ForbidLead,
    GridMembership,
    LeadEligibility,
    MaxTravel,
    MustLead,
    Pin,
    PopulationBalance,
)

SRC = "test (1)"


def unit_of(region, rules_name: str = "zhejiang-2026"):
    return region_units(region, load_rules(rules_name))[0]


def plan_for(unit, groups: dict[str, list[str]]) -> UnitPlan:
    comms = tuple(Community(f"{unit.id}:{lead}", unit.id, lead, tuple(sorted(ts))) for lead, ts in sorted(groups.items()))
    return UnitPlan(unit.id, unit.scope, unit.name, comms)


@pytest.fixture
def row_county():
    """
    Four townships in a row, a people's hospital (二甲) at the west end, a TCM hospital (二乙)
    at the east end, a maternal-child hospital (二甲) in the middle::

        [001 H1]--[002 M]--[003]--[004 H2]
    """
    return grid_region([[10_000, 20_000, 30_000, 40_000]],
                       [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
                        Fac("M", "测试县妇幼保健院", "maternal_child_hospital", "二甲", (0, 1)),
                        Fac("H2", "测试县中医院", "tcm_hospital", "二乙", (0, 3))])


T = ["330001001", "330001002", "330001003", "330001004"]


def test_community_count_checks_both_bounds(row_county) -> None:
    unit = unit_of(row_county)
    rule = CommunityCount(id="n", source=SRC, min=2, max=2)
    assert rule.check(unit, plan_for(unit, {"H1": T})) == ["1 communities; the rule allows exactly 2"]
    assert rule.check(unit, plan_for(unit, {"H1": T[:2], "H2": T[2:]})) == []


def test_lead_eligibility_rejects_a_lead_below_grade(row_county) -> None:
    unit = unit_of(row_county)
    rule = LeadEligibility(id="g", source=SRC, lead={"kinds": ["general_hospital", "tcm_hospital"], "min_grade": "二甲"})
    assert rule.eligible(unit) == {"H1"}
    out = rule.check(unit, plan_for(unit, {"H1": T[:2], "H2": T[2:]}))
    assert out == ["lead 测试县中医院 (二乙) is not eligible: needs general/TCM hospitals graded 二甲 or above"]
    assert out[0].zh == "牵头机构测试县中医院 (二乙)不符合条件：须为综合医院/中医医院（二甲及以上）"


def test_city_level_fallback_brings_the_city_hospital_only_where_no_county_lead_qualifies() -> None:
    """
    Two counties side by side; the west one has only a 二乙 hospital, the east one a
    city-level 三甲 hospital::

        [330001001 H-west 二乙] | [330002002 C city 三甲]
    """
    region = grid_region([[10_000, 10_000]],
                         [Fac("HW", "西县人民医院", "general_hospital", "二乙", (0, 0), county="330001"),
                          Fac("C", "测试市人民医院", "general_hospital", "三甲", (0, 1), county="330002", admin_level="city")],
                         county_of=[["330001", "330002"]])
    rules = load_rules("jilin-2021")
    units = {u.id: u for u in region_units(region, rules)}
    west = units["330001"]
    lead_rule = rules.by_id("county.lead")
    # 001 (四) 服务能力较弱: the county's only hospital is 二乙, below the file's weak_below = 二甲,
    # so the city hospital may lead too (the city_level exception), not only where no county hospital exists.
    assert lead_rule.eligible(west) == {"HW", "C"}
    assert lead_rule.basis(west)["C"].name == "city_level" and lead_rule.basis(west)["HW"] is None
    strict = LeadEligibility(id="g", source=SRC, lead={"kinds": ["general_hospital"], "min_grade": "二甲",
                                                       "admin_levels": ["county"]}, city_level_fallback=True)
    assert strict.extra_candidates(west, region) == ["C"]
    plain = LeadEligibility(id="g", source=SRC, lead={"kinds": ["general_hospital"], "admin_levels": ["county"]},
                            city_level_fallback=True)
    assert plain.extra_candidates(west, region) == []  # the shorthand: only where no county hospital qualifies


def test_must_lead_and_its_population_share(row_county) -> None:
    unit = unit_of(row_county)
    rule = MustLead(id="tcm", source=SRC, who={"kinds": ["tcm_hospital"]}, min_population_share=0.5)
    assert rule.check(unit, plan_for(unit, {"H1": T})) == ["测试县中医院 (二乙) must lead a community but does not"]
    small = rule.check(unit, plan_for(unit, {"H1": T[:3], "H2": T[3:]}))
    assert small == ["the community led by 测试县中医院 (二乙) covers 40,000 residents (40.0%), below 50% (50,000)"]
    assert rule.check(unit, plan_for(unit, {"H1": T[:2], "H2": T[2:]})) == []
    none = MustLead(id="p", source=SRC, who={"name_pattern": "人民医院$", "kinds": ["tcm_hospital"]}, at_least_one=True)
    assert none.check(unit, plan_for(unit, {"H1": T})) == ["no facility in 测试县 is TCM hospitals named like '人民医院$'"]
    assert none.check(unit, plan_for(unit, {"H1": T}))[0].zh == "测试县没有中医医院（名称含“人民医院$”）"


def test_coverage_names_missing_and_doubled_townships(row_county) -> None:
    unit = unit_of(row_county)
    out = Coverage(id="c", source=SRC).check(unit, plan_for(unit, {"H1": T[:2], "H2": T[1:3]}))
    assert out[0].startswith("1 townships (40,000 residents) are in no community: T03镇 (330001004)")
    assert "township 330001002 is in 2 communities (H1, H2)" in out


def test_contiguity_catches_a_split_community(row_county) -> None:
    unit = unit_of(row_county)
    rule = Contiguity(id="k", source=SRC)
    assert rule.check(unit, plan_for(unit, {"H1": [T[0], T[2]], "H2": [T[1], T[3]]})) == [
        "the community led by 测试县人民医院 (二甲) is not contiguous", "the community led by 测试县中医院 (二乙) is not contiguous"]
    assert rule.check(unit, plan_for(unit, {"H1": T[:2], "H2": T[2:]})) == []


def test_population_balance_bounds_from_shares_and_numbers(row_county) -> None:
    unit = unit_of(row_county)
    rule = PopulationBalance(id="b", source=SRC, min_share=0.3, max_population=65_000)
    assert rule.bounds(unit) == (30_000, 65_000)
    assert rule.check(unit, plan_for(unit, {"H1": T[:1], "H2": T[1:]})) == [
        "the community led by 测试县人民医院 (二甲) has 10,000 residents, outside 30,000-65,000",
        "the community led by 测试县中医院 (二乙) has 90,000 residents, outside 30,000-65,000"]


def test_max_travel_forbids_far_townships(row_county) -> None:
    unit = unit_of(row_county)
    far = MaxTravel(id="t", source=SRC, max_minutes=30)
    out = far.check(unit, plan_for(unit, {"H1": T}))
    assert len(out) == 2 and out[0].startswith("T02镇 (330001003) is ") and "over 30" in out[0]


def test_pin_and_forbid_lead_are_enforced_and_checked(row_county, tmp_path: Path) -> None:
    text = '''[policy]
name = "review"
extends = "zhejiang-2026"
[[rule]]
id = "county.lead_grade"
lead.min_grade = "二乙"
[[rule]]
id = "pin.far_town"
kind = "pin"
source = "review note 1"
townships = ["330001004"]
lead = "H1"
[[rule]]
id = "veto.mch"
kind = "forbid_lead"
source = "review note 2"
facilities = ["M"]
'''
    path = tmp_path / "review.toml"
    path.write_text(text, encoding="utf-8")
    rules = load_rules(path)
    result = run_plan(row_county, rules, SolveOptions(), services=False)
    unit = result.units[0]
    plan = next(iter(result.plan.units.values()))
    assert plan.assignment()["330001004"] == "H1"
    assert "M" not in {c.lead for c in plan.communities}
    assert result.hard_violations == 0
    assert Pin(id="p", source=SRC, townships=["330001004"], lead="H2").check(unit, plan) == [
        "township 330001004 is with H1, pinned to H2"]
    assert ForbidLead(id="f", source=SRC, facilities=["H1"]).check(unit, plan) == ["测试县人民医院 (二甲) leads but must not"]


def test_city_grid_and_grid_membership_on_a_two_district_city() -> None:
    """
    A city of two districts (区), each with a tertiary hospital, and a secondary hospital in
    the east district::

        [330001001 A 三甲] | [330002002 B 三乙, S 二甲]
    """
    region = grid_region([[50_000, 50_000]],
                         [Fac("A", "测试市人民医院", "general_hospital", "三甲", (0, 0), county="330001", admin_level="city"),
                          Fac("B", "测试市中医院", "tcm_hospital", "三乙", (0, 1), county="330002", admin_level="city"),
                          Fac("S", "东区人民医院", "general_hospital", "二甲", (0, 1), county="330002")],
                         county_of=[["330001", "330002"]], names={"330001": "西区", "330002": "东区"},
                         town_kinds=[["街道", "街道"]])
    rules = load_rules("guizhou-2024")
    result = run_plan(region, rules, SolveOptions(), services=False)
    assert [u.id for u in result.units] == ["city:330100"]
    plan = next(iter(result.plan.units.values()))
    assert sorted(c.lead for c in plan.communities) == ["A", "B"]
    assert result.hard_violations == 0
    unit = result.units[0]
    grids = CityGrid(id="g", source=SRC, min_grids=3)
    assert grids.check(unit, plan) == ["2 grids; the rule asks for at least 3 grids"]
    members = GridMembership(id="m", source=SRC, hospitals={"kinds": ["general_hospital"], "min_grade": "二级"})
    wrong = {"A": ["city:330100:A"], "B": ["city:330100:B"], "S": ["city:330100:A"]}
    assert members.check(unit, plan, wrong) == ["东区人民医院 lies in grid city:330100:B but is not its member"]
