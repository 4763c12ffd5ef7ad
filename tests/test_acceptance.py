"""What the issues ask to see, on the embedded real regions: plans, checks, explanations, dispatch, dialysis."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
import shapely

from planner import regions
from planner.adjacency import contiguity_graph
from planner.check import check_dialysis
from planner.dialysis import site_region
from planner.milp import Status
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.rulefile import load_rules
from planner.vocabulary import Grade


@pytest.fixture(scope="module")
def zhejiang(zhejiang_full_run):
    return zhejiang_full_run.region


@pytest.fixture(scope="module")
def zhejiang_run(zhejiang_full_run):
    assert SolveOptions().backend == "cpsat"   # the tests below compare CBC with it
    return zhejiang_full_run


def test_zhejiang_is_90_counties_1387_townships_and_its_census_population(zhejiang) -> None:
    assert (len(zhejiang.counties), len(zhejiang.townships), len(zhejiang.villages)) == (90, 1387, 25547)
    assert zhejiang.population == 64_567_588
    assert int(zhejiang.townships["population"].sum()) == 64_567_588


def test_every_zhejiang_township_has_polygon_seat_population_and_neighbours(zhejiang) -> None:
    t = zhejiang.townships
    assert t.geometry.is_valid.all() and not t.geometry.is_empty.any()
    assert (t["population"] > 0).all()
    assert shapely.contains(shapely.buffer(t.geometry.values, 1e-9), zhejiang.seats().values).all()
    graph = contiguity_graph(t, zhejiang.counties)
    assert all(graph.degree(code) > 0 for code in t.index)
    for county, members in t.groupby("county_code").groups.items():
        assert nx.is_connected(graph.subgraph(members)), county
    islands = {t.at[n, "county_code"] for n, d in graph.nodes(data=True) if d["island"]}
    assert {"330922", "330921"} <= islands  # 嵊泗, 岱山: island counties joined by island links


def test_zhejiang_every_county_gets_1_to_3_contiguous_communities_all_optimal(zhejiang_run) -> None:
    plan = zhejiang_run.plan
    assert len(plan.units) == 90 and plan.all_optimal
    assert all(1 <= len(u.communities) <= 3 for u in plan.units.values())
    community_rules = [s for s in zhejiang_run.statuses]
    assert all(s.passed for s in community_rules), [str(v) for s in community_rules for v in s.violations]


def test_zhejiang_cbc_and_cpsat_reach_equal_objectives_in_every_county(zhejiang, zhejiang_run) -> None:
    cbc = run_plan(zhejiang, load_rules("zhejiang-2026"), SolveOptions(backend="cbc"), services=False)
    assert cbc.plan.all_optimal
    for uid, unit in zhejiang_run.plan.units.items():
        assert cbc.plan.units[uid].objective == pytest.approx(unit.objective), uid


@pytest.mark.parametrize(("region", "rules"), [("四平市", "jilin-2021"), ("玉溪市", "yuxi-2025"), ("贵阳市", "guizhou-2024")])
def test_other_policies_solve_and_pass_the_checker(region: str, rules: str) -> None:
    result = run_plan(regions.load(region), load_rules(rules), SolveOptions())
    assert result.plan.all_optimal
    assert result.hard_violations == 0, [str(v) for s in result.all_statuses for v in s.violations]


def test_jilin_tcm_hospitals_lead_30_percent_in_siping() -> None:
    region = regions.load("四平市")
    result = run_plan(region, load_rules("jilin-2021"), SolveOptions(), services=False)
    fac = region.facilities
    for unit in result.plan.units.values():
        total = int(region.townships_of(unit.unit)["population"].sum())
        for c in unit.communities:
            if fac.at[c.lead, "kind"] == "tcm_hospital":
                assert region.townships.loc[list(c.townships), "population"].sum() >= 0.3 * total


def test_yuxi_forms_one_community_per_county_led_by_the_peoples_hospital() -> None:
    region = regions.load("玉溪市")
    result = run_plan(region, load_rules("yuxi-2025"), SolveOptions(), services=False)
    for unit in result.plan.units.values():
        [c] = unit.communities
        assert region.facilities.at[c.lead, "name"].endswith("人民医院")


def test_guiyang_forms_at_least_two_grids_led_by_tertiary_public_hospitals() -> None:
    region = regions.load("贵阳市")
    result = run_plan(region, load_rules("guizhou-2024"), SolveOptions(), services=False)
    grid = next(u for u in result.plan.units.values() if u.scope == "city")
    assert len(grid.communities) >= 2
    assert all(int(region.facilities.at[c.lead, "grade"]) >= int(Grade.L3) for c in grid.communities)


def test_lowering_longquan_hospitals_below_the_grade_rule_names_the_conflicting_rules() -> None:
    region = regions.load("龙泉市")
    hospitals = region.facilities["kind"].isin(["general_hospital", "tcm_hospital"])
    region.facilities.loc[hospitals, "grade"] = int(Grade.L2B)
    result = run_plan(region, load_rules("zhejiang-2026"), SolveOptions(), services=False)
    [unit] = result.plan.units.values()
    assert unit.status is Status.INFEASIBLE
    assert unit.explanation[0].startswith("龙泉市: `lead.min_grade = 二甲`")
    assert "rules in conflict: county.lead_grade (000 (二))" in unit.explanation[0]


def test_zhejiang_dispatch_covers_every_center_or_reports_the_shortfall(zhejiang_run) -> None:
    assert zhejiang_run.dispatch and all(d.status is Status.OPTIMAL for d in zhejiang_run.dispatch)
    short_counties = {c for d in zhejiang_run.dispatch for c in d.short_counties}
    for status in zhejiang_run.service_statuses:
        for v in status.violations:
            assert v.unit_name in short_counties or any(v.unit_name in s for d in zhejiang_run.dispatch for s in d.shortfalls), str(v)
    assert sum(r.count for d in zhejiang_run.dispatch for r in d.rows if r.role == "attending") > 1000


def test_zhejiang_dialysis_only_in_big_counties_at_central_centers_and_the_threshold_is_a_number(zhejiang, zhejiang_run,
                                                                                                   tmp_path: Path) -> None:
    sites = [(d.county, f) for d in zhejiang_run.dialysis for f in d.sites]
    assert sites
    fac = zhejiang.facilities
    for county, fid in sites:
        assert zhejiang.counties.at[county, "population"] >= 200_000
        assert fac.at[fid, "central_thc"] and fac.at[fid, "kind"] == "township_health_center"
    copy = tmp_path / "zj-500k.toml"
    copy.write_text('[policy]\nname = "zj-500k"\nextends = "zhejiang-2026"\n[[rule]]\nid = "dialysis.central_thc"\n'
                    "min_county_population = 500000\n", encoding="utf-8")
    rules = load_rules(copy)
    again = site_region(zhejiang, rules.rules, zhejiang_run.travel)
    kept = {d.county for d in again if d.sites}
    dropped = {county for county, _ in sites} - kept
    assert dropped and all(zhejiang.counties.at[c, "population"] < 500_000 for c in dropped)
    assert all(zhejiang.counties.at[c, "population"] >= 500_000 for c in kept)
    assert check_dialysis(zhejiang, [(d.county, f) for d in again for f in d.sites], rules.rules)[0].passed


def test_liupanshui_grids_take_only_urban_districts_and_county_hospitals_lead() -> None:
    # Issue #12: 六枝特区 is in no city grid (003 一: 城市所在区 not running county communities), the
    # rural 水城区 keeps its county community, and 盘州市人民医院 leads (004 三 1. 以县级医疗机构为龙头).
    region = regions.load("六盘水市")
    result = run_plan(region, load_rules("guizhou-2024"), SolveOptions(), services=False)
    units = {u.id: u for u in result.units}
    assert units["city:520200"].county_codes == ("520201",)  # 钟山区
    assert {"520203", "520204", "520281"} <= set(units)       # 六枝特区, 水城区, 盘州市 as county units
    districts = {d["name"]: d for d in result.plan.meta["city_grid_districts"]}
    assert not districts["六枝特区"]["in_city_grid"] and "特区" in districts["六枝特区"]["reason"]
    fac = region.facilities
    panzhou = result.plan.units["520281"]
    assert "盘州市人民医院" in {fac.at[c.lead, "name"] for c in panzhou.communities}
    for uid, up in result.plan.units.items():
        if up.scope == "county":
            kinds = {fac.at[c.lead, "kind"] for c in up.communities}
            assert kinds <= {"general_hospital", "tcm_hospital"}, (uid, kinds)
    assert result.hard_violations == 0


def test_yiwu_gets_a_dialysis_site_at_a_populous_central_center() -> None:
    # 000 (六): 人口较多的中心乡镇卫生院 ranks central THCs, not the five 街道 ahead of 佛堂镇.
    region = regions.load("义乌市")
    rules = load_rules("zhejiang-2026")
    [r] = site_region(region, rules.rules, regions_travel(rules))
    assert r.eligible and r.sites
    assert check_dialysis(region, [(r.county, f) for f in r.sites], rules.rules)[0].passed


def regions_travel(rules):
    from planner.travel import TravelModel

    return TravelModel(rules.travel.detour_factor, rules.travel.speed_kph)
