"""Dialysis siting: only in large counties, only at central township health centers, sites known by inspection."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import Fac, grid_region

from planner.check import check_dialysis
from planner.dialysis import coverage_frame, site_county, site_region
from planner.milp import Status
from planner.rulefile import load_rules
from planner.rules.service import DialysisSiting
from planner.travel import TravelModel


@pytest.fixture
def long_county():
    """
    A county of five townships in a row, about 11 km apart (about 21 min by the default model);
    the county hospital (dialysis) sits at the west end, central THCs at 003 and 005::

        [001 H*]--[002 T2]--[003 C3 中心]--[004 T4]--[005 C5 中心]
          50k       20k        40k            20k        90k
    """
    facs = [Fac("H", "测试县人民医院", "general_hospital", "二甲", (0, 0), dialysis=True),
            Fac("T2", "二镇卫生院", "township_health_center", "一甲", (0, 1)),
            Fac("C3", "三镇中心卫生院", "township_health_center", "一甲", (0, 2), central_thc=True),
            Fac("T4", "四镇卫生院", "township_health_center", "一甲", (0, 3)),
            Fac("C5", "五镇中心卫生院", "township_health_center", "一甲", (0, 4), central_thc=True)]
    return grid_region([[50_000, 20_000, 40_000, 20_000, 90_000]], facs)


def rule(**kw) -> DialysisSiting:
    return DialysisSiting(id="d", source="000_daed78e4f2e6cfdf.txt (六)", **{"coverage_minutes": 25.0, **kw})


@pytest.mark.parametrize("backend", ["highs", "cbc", "cpsat"])
def test_one_site_goes_to_the_far_populous_central_center(long_county, backend: str) -> None:
    r = site_county(long_county, "330001", rule(max_sites_per_county=1), TravelModel(), backend=backend)
    assert r.eligible and r.status is Status.OPTIMAL
    assert r.sites == ["C5"]               # covers 004 and 005 (110k) against 002-004 for C3
    assert r.covered_before == 70_000      # 001 and 002 are within 25 min of the county hospital
    assert r.covered_after == 180_000
    assert r.served == {"C5": 110_000}


def test_two_sites_cover_everyone_and_lower_travel(long_county) -> None:
    r = site_county(long_county, "330001", rule(max_sites_per_county=2), TravelModel())
    assert r.sites == ["C3", "C5"]
    assert r.covered_after == 220_000
    assert r.travel_after_person_min < r.travel_before_person_min


def test_no_site_below_the_population_threshold_and_raising_it_removes_sites(long_county) -> None:
    small = site_county(long_county, "330001", rule(min_county_population=500_000), TravelModel())
    assert not small.eligible and small.sites == [] and small.status is None
    assert small.note == "220,000 residents, below 500,000: no dialysis at township health centers"
    assert small.covered_after == small.covered_before


def test_only_central_centers_ranked_by_their_townships_are_candidates(long_county) -> None:
    r = site_county(long_county, "330001", rule(top_centers=1), TravelModel())
    # Central THCs ranked by their township's residents: C5 (90k) before C3 (40k).
    assert r.candidates == ["C5"] and r.sites == ["C5"]
    assert site_county(long_county, "330001", rule(top_townships=2), TravelModel()).candidates == ["C3", "C5"]  # older key


def test_populous_streets_do_not_crowd_out_the_central_centers() -> None:
    """
    A county like 义乌市: five populous 街道 (CHCs, never central THCs) and one central THC in the
    sixth most populous township, far from the county hospital::

        [001 H* 街道 200k]-[002 街道 190k]-[003 街道 180k]-[004 街道 170k]-[005 街道 160k]-[006 C 镇 140k]
    """
    facs = [Fac("H", "测试市人民医院", "general_hospital", "二甲", (0, 0), dialysis=True),
            Fac("C", "佛堂镇中心卫生院", "township_health_center", "一甲", (0, 5), central_thc=True)]
    region = grid_region([[200_000, 190_000, 180_000, 170_000, 160_000, 140_000]], facs,
                         town_kinds=[["街道"] * 5 + ["镇"]])
    zj = load_rules("zhejiang-2026")
    [r] = site_region(region, zj.rules, TravelModel())
    assert r.eligible and r.candidates == ["C"] and r.sites == ["C"]
    assert check_dialysis(region, [("330001", "C")], zj.rules)[0].passed


def test_an_eligible_county_without_a_site_says_why(long_county) -> None:
    long_county.facilities["central_thc"] = False
    r = site_county(long_county, "330001", rule(), TravelModel())
    assert r.eligible and r.sites == [] and r.note == "no central township health center in the county (中心乡镇卫生院): no candidate"


def test_the_checker_rejects_a_site_that_breaks_the_rule(long_county) -> None:
    rules = [rule(max_sites_per_county=1, top_centers=1)]
    broken = check_dialysis(long_county, [("330001", "T2"), ("330001", "C3")], rules)[0].violations
    messages = [v.message for v in broken]
    assert "二镇卫生院 is not a central township health center" in messages
    assert "三镇中心卫生院 is not one of the county's 1 central township health centers with the most populous townships" in messages
    assert "2 new sites, over 1" in messages
    assert [m.zh for m in messages][-1] == "新增2个血透点，超过1个"
    big = [rule(min_county_population=500_000)]
    assert "五镇中心卫生院: county has 220,000 residents, below 500,000" in [
        v.message for v in check_dialysis(long_county, [("330001", "C5")], big)[0].violations]
    assert "测试县人民医院 is not a central township health center" in [
        v.message for v in check_dialysis(long_county, [("330001", "H")], rules)[0].violations]


def test_the_zhejiang_rule_file_sites_and_a_copy_with_a_higher_threshold(long_county, tmp_path: Path) -> None:
    zj = load_rules("zhejiang-2026")
    out = site_region(long_county, zj.rules, TravelModel())
    assert out[0].eligible and out[0].sites
    copy = tmp_path / "zj-500k.toml"
    copy.write_text('[policy]\nname = "zj-500k"\nextends = "zhejiang-2026"\n[[rule]]\nid = "dialysis.central_thc"\n'
                    "min_county_population = 500000\n", encoding="utf-8")
    out = site_region(long_county, load_rules(copy).rules, TravelModel())
    assert out[0].sites == []
    table = coverage_frame(out)
    assert table.loc[0, "eligible"] == False  # noqa: E712  (numpy bool)


def test_site_region_by_city_equals_each_county_on_its_own() -> None:
    # Sited city by city (one task per city): each county's result is what it gets alone.
    from dataclasses import asdict

    from planner import regions

    region = regions.load("金华市")
    rule = next(r for r in load_rules("zhejiang-2026").rules if r.kind == "dialysis_siting")
    travel = TravelModel()
    by_city = site_region(region, [rule], travel)
    counties = sorted(region.counties.index)
    alone = [site_county(region.subset([c]), c, rule, travel) for c in counties]
    assert [r.county for r in by_city] == counties
    assert [asdict(r) | {"time_s": 0} for r in by_city] == [asdict(r) | {"time_s": 0} for r in alone]
    assert any(r.sites for r in by_city)


@pytest.mark.parametrize("seed", range(6))
def test_phase_one_by_enumeration_gives_the_solvers_optimum(seed: int, monkeypatch) -> None:
    # Phase 1 tries every set of sites when there are few; its value must be the one HiGHS proves.
    import numpy as np

    import planner.dialysis as dialysis

    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(3, 12)), int(rng.integers(1, 7))
    w = rng.integers(1_000, 90_000, n).astype(np.int64)
    t = rng.uniform(5, 60, (n, k))
    base = np.where(rng.random(n) < 0.3, rng.uniform(10, 50, n), np.inf)
    rule = DialysisSiting(id="d", source="000_daed78e4f2e6cfdf.txt (六)", max_sites_per_county=int(rng.integers(1, 4)))
    enumerated = dialysis._max_cover(w, t, base, rule, "highs", 30.0)
    monkeypatch.setattr(dialysis, "MAX_COVER_SUBSETS", 0)
    solved = dialysis._max_cover(w, t, base, rule, "highs", 30.0)
    assert enumerated[:2] == solved[:2] and solved[1] is Status.OPTIMAL


@pytest.mark.parametrize("seed", range(8))
def test_phase_two_by_enumeration_gives_the_models_optimum(seed: int) -> None:
    # Phase 2 tries every set of sites when there are few: the same optimum (integer person-minutes)
    # as the model, with phase 1's coverage kept and only used sites opened.
    import numpy as np

    import planner.dialysis as dialysis

    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(3, 14)), int(rng.integers(1, 7))
    w = rng.integers(0 if seed % 2 else 1_000, 90_000, n).astype(np.int64)
    t = np.round(rng.uniform(5, 60, (n, k)), 1 if seed < 4 else 3)   # coarse minutes: ties between sites
    base = np.where(rng.random(n) < 0.4, np.round(rng.uniform(10, 50, n), 1), np.inf)
    rule = DialysisSiting(id="d", source="000_daed78e4f2e6cfdf.txt (六)", max_sites_per_county=int(rng.integers(1, 4)),
                          coverage_minutes=30)
    covered = dialysis._max_cover(w, t, base, rule, "highs", 30.0)[0]

    def cost(sites: list[int]) -> float:
        options = [np.where(np.isfinite(base), np.rint(w * base), np.inf)] + [np.rint(w * t[:, j]) for j in sites]
        return float(np.column_stack(options).min(axis=1).sum())

    model = dialysis._min_travel_model(w, t, base, covered, rule, "highs", 30.0)
    enumerated = dialysis._min_travel_enumerated(w, t, base, covered, rule)
    assert model[3] is enumerated[3] is Status.OPTIMAL
    assert cost(enumerated[0]) == cost(model[0])
    assert len(enumerated[0]) <= rule.max_sites_per_county and set(enumerated[1]) == set(enumerated[0])
    reach = np.minimum(base, t[:, enumerated[0]].min(axis=1) if enumerated[0] else np.inf) <= rule.coverage_minutes
    assert int(w[reach].sum()) >= covered


def test_the_dialysis_check_flags_a_site_outside_the_top_centers(long_county) -> None:
    # The checker ranks each county's central THCs from one grouping of the facility table;
    # with top_centers = 1 only the most populous township's center (C5, 90k) may be a site.
    region = long_county
    county = str(region.counties.index[0])
    statuses = check_dialysis(region, [(county, "C3"), (county, "C5")], [rule(top_centers=1)])
    texts = [str(v) for s in statuses for v in s.violations]
    assert len(texts) == 1 and "C3" not in texts[0] and "三镇中心卫生院" in texts[0]


def test_region_inputs_are_what_site_county_reads_from_each_citys_part() -> None:
    # site_region cuts each county's inputs from the region's columns once (no region part per city): they
    # must be the ones site_county reads from the city's part, a township outside the city ranking as 0.
    from dataclasses import fields

    import numpy as np

    from planner import regions
    from planner.dialysis import county_inputs, region_inputs

    region = regions.load("浙江省")
    fac = region.facilities.copy()
    central = fac.index[(fac["kind"] == "township_health_center") & fac["central_thc"].astype(bool)]
    hz = sorted(c for c in region.counties.index if c.startswith("3301"))
    nb = sorted(c for c in region.counties.index if c.startswith("3302"))
    moved = next(f for f in sorted(central) if fac.at[f, "county_code"] in hz)
    fac.loc[moved, "township_code"] = region.townships.index[region.townships["county_code"] == nb[0]][0]
    region.facilities = fac
    groups = [hz, nb]
    got = region_inputs(region, groups)
    for part, group, inputs in zip(region.partition(groups, context=False, staff=False), groups, got):
        for county, c in zip(group, inputs):
            want = county_inputs(part, county, part.townships_of(county).sort_index(),
                                 part.facilities_of(county).sort_index())
            for f in fields(c):
                a, b = getattr(c, f.name), getattr(want, f.name)
                assert (np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b), (county, f.name)
    home = next(c for c in got[0] if moved in c.fac_ids)
    assert home.rank_population[home.fac_ids.index(moved)] == 0
