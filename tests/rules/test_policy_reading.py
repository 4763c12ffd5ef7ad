"""Each clause read as the documents state it: one test per misreading of issue #12 (lead hierarchy, scopes, members, honest rule files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import Fac, grid_region

from planner._errors import RuleFileError
from planner.check import check_plan, compliance_lines
from planner.i18n import Text
from planner.milp import Status
from planner.plan import Community, UnitPlan
from planner.planning import SolveOptions, region_units
from planner.pipeline import run_plan, write_outputs
from planner.rulefile import load_rules


def solve(region, rules_name_or_path) -> tuple:
    result = run_plan(region, load_rules(rules_name_or_path), SolveOptions(), services=False)
    return result, next(iter(result.plan.units.values()))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "review.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- 004 三 1.: county-level hospitals lead; capable primary institutions only as the exception -----


@pytest.fixture
def panzhou_like():
    """
    A county like 盘州市: a 三乙 people's hospital in a small corner township, four 二乙 central
    township health centers with secondary-level capability in the populous rest::

        [001 H 三乙 5k]--[002 T2]--[003 T3]--[004 T4]--[005 T5]   (50k each)
    """
    facs = [Fac("H", "测试县人民医院", "general_hospital", "三乙", (0, 0), beds=2000)]
    facs += [Fac(f"T{i}", f"T0{i - 1}镇中心卫生院", "township_health_center", "二乙", (0, i - 1), central_thc=True,
                 secondary_capability=True) for i in (2, 3, 4, 5)]
    return grid_region([[5_000, 50_000, 50_000, 50_000, 50_000]], facs)


def test_the_county_hospital_leads_and_capable_centers_lead_only_without_one(panzhou_like) -> None:
    # Travel alone would pick three centers (as 盘州市's three 二乙 centers did) and leave the
    # 三乙 people's hospital a plain member: the county hospital is the 龙头 (以县级医疗机构为龙头).
    _, plan = solve(panzhou_like, "guizhou-2024")
    assert plan.status is Status.OPTIMAL
    assert {c.lead for c in plan.communities} == {"H"}


def test_a_capable_center_leads_where_no_county_hospital_qualifies_and_the_plan_says_so(panzhou_like) -> None:
    from planner.rules.community import lead_exceptions

    region = panzhou_like
    region.facilities.loc["H", "grade"] = 22  # 二乙: below the rule's 二甲, so no county hospital qualifies
    result, plan = solve(region, "guizhou-2024")
    leads = {c.lead for c in plan.communities}
    assert plan.status is Status.OPTIMAL and "H" not in leads and leads <= {"T2", "T3", "T4", "T5"}
    used = lead_exceptions(result.units, result.plan, result.rules.rules)
    assert {(b.lead, b.rule, b.exception, b.citation) for b in used} == {
        (lead, "county.lead", "secondary_capable_primary", "004 三 1.") for lead in leads}
    assert result.plan.meta["lead_exceptions"][0]["condition"] == "only where no facility meets the lead rule"


def test_a_maternal_child_hospital_is_a_member_with_its_role_not_a_lead() -> None:
    """[001 H 二甲]--[002]--[003 M 二甲 妇幼]--[004]--[005]: the MCH hospital sits where it would cut travel."""
    from planner.planfile import community_tables

    region = grid_region([[10_000, 40_000, 40_000, 40_000, 40_000]],
                         [Fac("H", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
                          Fac("M", "测试县妇幼保健院", "maternal_child_hospital", "二甲", (0, 2))])
    result, plan = solve(region, "national-2019")
    assert {c.lead for c in plan.communities} == {"H"}
    members = community_tables(result.plan, result.units, region, list(result.rules.rules))["members"].set_index("facility_id")
    assert members.at["M", "role"] == "妇幼健康技术指导" and members.at["M", "membership"] == "compulsory"


# --- 001 (四), Jilin: the must-lead TCM rule and the lead rule agree; weak capability --------------


def test_a_must_lead_rule_the_lead_rule_forbids_is_a_rule_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[policy]\nname = "jl"\nextends = "jilin-2021"\n[[rule]]\nid = "county.tcm_leads"\n'
                           'who.kinds = ["tcm_hospital", "integrated_hospital"]\n')
    with pytest.raises(RuleFileError) as info:
        load_rules(path)
    [line] = info.value.lines()
    assert line.startswith(f"{path}: rule county.tcm_leads: requires public county-level TCM/integrated (中西医结合) "
                           "hospitals graded 二级 or above to lead, but rule county.lead admits only county-level general/TCM")
    assert "not admitted: kinds integrated_hospital" in line and "Fix: make the two agree" in line


def test_jilin_a_county_with_an_integrated_hospital_is_feasible_and_it_need_not_lead() -> None:
    # 政府举办的二级及以上中医院 names 中医院 only; as first encoded, a public 二级 中西医结合医院 had to lead
    # while county.lead forbade it, and the county was infeasible.
    region = grid_region([[30_000, 30_000, 30_000]],
                         [Fac("H", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
                          Fac("I", "测试县中西医结合医院", "integrated_hospital", "二级", (0, 2))])
    _, plan = solve(region, "jilin-2021")
    assert plan.status is Status.OPTIMAL and {c.lead for c in plan.communities} == {"H"}


# --- 002 (二), Yuxi: "县级人民医院" is one hospital per county ---------------------------------------


def test_yuxi_the_best_of_several_peoples_hospitals_leads_and_a_tie_names_them() -> None:
    facs = [Fac("P1", "测试县第一人民医院", "general_hospital", "三乙", (0, 0), beds=800),
            Fac("P2", "测试县第二人民医院", "general_hospital", "二甲", (0, 2), beds=300)]
    _, plan = solve(grid_region([[30_000, 30_000, 30_000]], facs), "yuxi-2025")
    assert plan.status is Status.OPTIMAL and [c.lead for c in plan.communities] == ["P1"]
    facs[1] = Fac("P2", "测试县第二人民医院", "general_hospital", "三乙", (0, 2), beds=800)
    _, tied = solve(grid_region([[30_000, 30_000, 30_000]], facs), "yuxi-2025")
    assert tied.status is Status.INFEASIBLE
    assert "测试县第一人民医院 (三乙), 测试县第二人民医院 (三乙) all match" in tied.explanation[0]
    assert "county.peoples_hospital_leads (002 (二))" in tied.explanation[0]


def test_yuxi_coverage_cites_clause_two_not_the_pathology_sentence() -> None:
    rule = load_rules("yuxi-2025").by_id("county.coverage")
    assert rule.citation == "002 (二)" and "病理" not in rule.quote and "县域医共体" in rule.quote


def test_jilin_coverage_cites_the_member_list_of_clause_four() -> None:
    rule = load_rules("jilin-2021").by_id("county.coverage")
    assert rule.citation == "001 (四)" and "鄉鎮衛生院、社區衛生服務中心為成員單位" in rule.quote


# --- 003 一, 三 (二), Guizhou: which districts form city grids ---------------------------------------


@pytest.fixture
def lps_like():
    """
    A city like 六盘水市: an urban district (街道), a 特区 and a rural district (镇) beside a county::

        [330001 甲区 街道 C1 C2 H1] | [330002 乙特区 街道 H2] | [330003 丙区 镇 H3] | [330004 丁县 镇 H4]
    """
    facs = [Fac("C1", "测试市人民医院", "general_hospital", "三甲", (0, 0), county="330001", admin_level="city"),
            Fac("C2", "测试市中医院", "tcm_hospital", "三乙", (0, 1), county="330001", admin_level="city")]
    facs += [Fac(f"H{i}", f"县{i}人民医院", "general_hospital", "二甲", (0, 2 * i - 2), county=f"33000{i}")
             for i in (2, 3, 4)]
    return grid_region([[40_000] * 8], facs,
                       county_of=[["330001", "330001", "330002", "330002", "330003", "330003", "330004", "330004"]],
                       names={"330001": "甲区", "330002": "乙特区", "330003": "丙区", "330004": "丁县"},
                       town_kinds=[["街道", "街道", "街道", "街道", "镇", "镇", "镇", "镇"]])


def test_city_grids_take_urban_districts_never_a_special_district_or_a_rural_one(lps_like, tmp_path: Path) -> None:
    from planner.rules.community import city_grid_districts

    rules = load_rules("guizhou-2024")
    units = {u.id: u for u in region_units(lps_like, rules)}
    assert sorted(units) == ["330002", "330003", "330004", "city:330100"]
    assert units["city:330100"].county_codes == ("330001",)
    why = {d.adcode: (d.in_grid, d.reason.en) for d in city_grid_districts(lps_like, rules.rules)}
    assert why["330002"][0] is False and why["330002"][1].startswith("特区: a county-type unit")
    assert why["330003"] == (False, "0% of residents live in 街道 (< 50%): presumed to run a county community")
    assert why["330001"] == (True, "100% of residents live in 街道 (>= 50%): an urban district not running a county community")
    # A reviewer lists districts in or out; `counties` changes the rule in some cities only (the others keep
    # the parent's), so limiting it to a city is: off everywhere, on there.
    review = write(tmp_path, '[policy]\nname = "gz"\nextends = "guizhou-2024"\n[[rule]]\nid = "city.grids"\n'
                             'districts = ["330003"]\nexclude = []\n')
    units = {u.id: u for u in region_units(lps_like, load_rules(review))}
    assert units["city:330100"].county_codes == ("330001", "330003")
    other_city = write(tmp_path, '[policy]\nname = "gz"\nextends = "guizhou-2024"\n[[rule]]\nid = "city.grids"\n'
                                 'enabled = false\n[[rule]]\nid = "city.grids"\ncounties = ["520100"]\nenabled = true\n')
    assert "city:330100" not in {u.id for u in region_units(lps_like, load_rules(other_city))}


def test_the_plan_lists_every_district_with_its_reason(lps_like, tmp_path: Path) -> None:
    import pandas as pd

    result, _ = solve(lps_like, "guizhou-2024")
    rows = {d["adcode"]: d for d in result.plan.meta["city_grid_districts"]}
    assert set(rows) == {"330001", "330002", "330003", "330004"}
    assert rows["330001"]["unit"] == "city:330100" and rows["330002"]["unit"] == "330002"
    out = write_outputs(result, tmp_path / "plan", reports=False)
    table = pd.read_csv(out / "districts.csv", dtype=str)
    assert list(table["adcode"]) == ["330001", "330002", "330003", "330004"]
    assert table["reason"].str.len().gt(10).all() and table["reason_zh"].str.len().gt(5).all()
    grid_towns = {t for c in result.plan.units["city:330100"].communities for t in c.townships}
    assert {lps_like.townships.at[t, "county_code"] for t in grid_towns} == {"330001"}


# --- 000 (二), 002 (二), 004 三 1.: compulsory and voluntary members -----------------------------


def test_members_are_compulsory_or_voluntary_by_ownership_and_kind() -> None:
    from planner.planfile import community_tables

    region = grid_region([[30_000, 30_000]],
                         [Fac("H", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
                          Fac("T", "T01镇卫生院", "township_health_center", "一甲", (0, 1)),
                          Fac("V", "甲村卫生室", "village_clinic", "未定级", (0, 1)),
                          Fac("P", "乙村卫生室", "village_clinic", "未定级", (0, 1), ownership="private"),
                          Fac("X", "民营测试医院", "general_hospital", "一级", (0, 1), ownership="private", nonprofit=False)])
    result, _ = solve(region, "zhejiang-2026")
    members = community_tables(result.plan, result.units, region, list(result.rules.rules))["members"]
    got = dict(zip(members["facility_id"], members["membership"]))
    assert got == {"H": "lead", "T": "compulsory", "V": "compulsory", "P": "voluntary", "X": "voluntary"}
    summary = result.plan.meta["membership"]
    assert summary["voluntary"] == {"330001:H": ["P", "X"]} and summary["counts"]["330001:H"]["compulsory"] == 2


# --- honest rule files: headings from current values, assumptions labelled, bilingual -----------


def test_an_overridden_number_never_shows_the_parents_title(tmp_path: Path) -> None:
    path = write(tmp_path, '[policy]\nname = "zj-2"\nextends = "zhejiang-2026"\n[[rule]]\nid = "county.max_communities"\nmax = 2\n')
    rules = load_rules(path)
    rule = rules.by_id("county.max_communities")
    assert rule.heading() == "1-2 communities per county" and rule.heading().zh == "每个县（市、区）1-2个医共体"
    region = grid_region([[10_000, 10_000, 10_000]], [Fac(f"H{i}", f"医院{i}", "general_hospital", "二甲", (0, i))
                                                      for i in range(3)])
    [unit] = region_units(region, rules)
    three = UnitPlan(unit.id, unit.scope, unit.name, tuple(Community(f"{unit.id}:H{i}", unit.id, f"H{i}", (t,))
                                                           for i, t in enumerate(unit.townships)))
    from planner.plan import Plan

    lines = compliance_lines(check_plan(Plan("r", "zj-2", {unit.id: three}), [unit], [rule]))
    assert lines[0] == "FAIL  county.max_communities (000 (二)): 每个县（市、区）1-2个医共体 — 1 units, 1 violations"
    assert lines[2] == "      clause: 「各县(市、区)设置医共体数量最多不超过3个。」（000 (二)）"
    assert lines[3].endswith("3 communities; the rule allows 1-2")
    assert "最多不超过3个" not in lines[0] and "最多不超过3个" not in lines[3]


def test_zhejiang_contiguity_is_a_labelled_planner_assumption_not_the_development_axis() -> None:
    rule = load_rules("zhejiang-2026").by_id("county.contiguity")
    assert rule.is_assumption and rule.citation == "planner assumption" and rule.quote == ""
    assert "发展轴" not in rule.heading().zh


def test_the_numbers_no_clause_sets_are_labelled_assumptions() -> None:
    rules = load_rules("zhejiang-2026")
    assert set(rules.by_id("dialysis.central_thc").assumption_notes()) >= {"max_sites_per_county", "top_centers",
                                                                            "coverage_minutes"}
    assert set(rules.by_id("dispatch.attending").assumption_notes()) >= {"release_share", "specialty_weights"}


def test_every_community_rule_speaks_both_languages(panzhou_like) -> None:
    rules = load_rules("guizhou-2024")
    [unit] = region_units(panzhou_like, rules)
    bad = UnitPlan(unit.id, unit.scope, unit.name, (Community(f"{unit.id}:T2", unit.id, "T2", unit.townships[:2]),
                                                    Community(f"{unit.id}:T5", unit.id, "T5", unit.townships[1:4])))
    messages = [m for r in rules.rules if r.applies(unit) and type(r).stage == "communities" for m in r.check(unit, bad)]
    assert len(messages) >= 4  # lead not eligible (x2), the county hospital does not lead, coverage
    for m in messages:
        assert isinstance(m, Text) and m.zh != m.en, m
    for r in rules.rules:
        assert isinstance(r.describe(), Text) and r.describe().zh != r.describe().en, r.id
