"""Communities from rules on hand-drawn counties: optimal plans, checked, with conflicts explained."""

from __future__ import annotations

import pytest
from fixtures import Fac, grid_region
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.check import check_plan
from planner.milp import Status
from planner.pipeline import run_plan
from planner.planning import SolveOptions, build_model, region_units
from planner.rulefile import load_rules


def _solve(region, rules: str, backend: str = "cpsat"):
    result = run_plan(region, load_rules(rules), SolveOptions(backend=backend), services=False)
    return result, next(iter(result.plan.units.values()))


@pytest.mark.parametrize("backend", ["cpsat", "cbc", "highs"])
def test_zhejiang_splits_a_two_hospital_county_between_its_leads(two_hospital_county, backend: str) -> None:
    result, unit = _solve(two_hospital_county, "zhejiang-2026", backend)
    assert unit.status is Status.OPTIMAL
    assert [c.lead for c in unit.communities] == ["H1", "H2"]
    assert result.hard_violations == 0
    # The heavy corners go to their own hospital.
    assignment = unit.assignment()
    assert assignment["330001001"] == "H1" and assignment["330001009"] == "H2"


def test_backends_reach_the_same_objective(two_hospital_county) -> None:
    objectives = {b: _solve(two_hospital_county, "zhejiang-2026", b)[1].objective for b in ("cpsat", "cbc", "highs")}
    assert len(set(objectives.values())) == 1


def test_yuxi_forms_one_community_led_by_the_peoples_hospital(two_hospital_county) -> None:
    result, unit = _solve(two_hospital_county, "yuxi-2025")
    assert unit.status is Status.OPTIMAL
    assert [c.lead for c in unit.communities] == ["H1"]
    assert len(unit.communities[0].townships) == 9
    assert result.hard_violations == 0


def test_jilin_tcm_hospital_leads_at_least_30_percent() -> None:
    """
    The TCM hospital sits in a light corner; left to travel time alone its community would be
    small, so the 30 % rule has to pull townships towards it::

        +------+------+------+
        | 60 H |  30  |  30  |
        +------+------+------+
        |  30  |  30  |  30  |
        +------+------+------+
        |  30  |  30  |  5 T |
        +------+------+------+
    """
    pops = [[60_000, 30_000, 30_000], [30_000, 30_000, 30_000], [30_000, 30_000, 5_000]]
    region = grid_region(pops, [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
                                Fac("H2", "测试县中医院", "tcm_hospital", "二乙", (2, 2))])
    result, unit = _solve(region, "jilin-2021")
    assert unit.status is Status.OPTIMAL
    tcm = next(c for c in unit.communities if c.lead == "H2")
    total = sum(sum(r) for r in pops)
    covered = sum(region.townships.loc[list(tcm.townships), "population"])
    assert covered >= 0.30 * total
    assert result.hard_violations == 0


def test_lowering_grades_below_the_rule_is_explained_with_the_conflicting_rules() -> None:
    region = grid_region([[10_000, 10_000]], [Fac("H1", "测试县人民医院", "general_hospital", "二乙", (0, 0))])
    result, unit = _solve(region, "zhejiang-2026")
    assert unit.status is Status.INFEASIBLE
    first = unit.explanation[0]
    assert first.startswith("测试县: `lead.min_grade = 二甲`")
    assert "leaves no eligible lead" in first and "测试县人民医院 (二乙)" in first
    assert "rules in conflict: county.lead_grade (000 (二))" in first
    assert any("relaxing county.lead_grade: a plan exists" in line for line in unit.explanation)
    # The checker reports the unplanned county instead of passing it.
    assert result.hard_violations >= 1


def test_leads_a_hard_rule_closes_get_no_assignment_variables_and_the_plan_is_the_same() -> None:
    # H2 (二乙) is below zhejiang-2026's lead grade: build_model leaves out its assignment and
    # flow variables; the model with them has the same optimum and the same communities.
    region = grid_region([[50_000, 10_000, 10_000], [10_000, 10_000, 50_000]],
                         [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
                          Fac("H2", "测试县第二医院", "general_hospital", "二乙", (1, 1)),
                          Fac("H3", "测试县中医院", "tcm_hospital", "二甲", (1, 2))])
    rules = load_rules("zhejiang-2026")
    unit = region_units(region, rules)[0]
    reduced, full = build_model(unit, rules.rules), build_model(unit, rules.rules, reduce=False)
    closed = unit.candidates.index("H2")
    assert reduced.closed == {closed} and not reduced.members(closed) and full.members(closed)
    assert len(reduced.model.vars) < len(full.model.vars)
    a, b = reduced.solve(), full.solve()
    assert a.status is b.status is Status.OPTIMAL and a.objective == b.objective
    assert reduced.groups_of(a) == full.groups_of(b) and len(reduced.groups_of(a)) == 2


def test_warm_start_from_a_previous_plan_gives_the_same_optimum(two_hospital_county) -> None:
    rules = load_rules("zhejiang-2026")
    first = run_plan(two_hospital_county, rules, services=False)
    again = run_plan(two_hospital_county, rules, previous=first.plan, services=False)
    assert again.plan.assignment() == first.plan.assignment()
    assert [u.objective for u in again.plan.units.values()] == [u.objective for u in first.plan.units.values()]


GRADES = ["二乙", "二甲", "三乙", "三甲"]


@st.composite
def small_counties(draw):
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    pops = [[draw(st.integers(1, 40)) * 1000 for _ in range(cols)] for _ in range(rows)]
    n_fac = draw(st.integers(1, 3))
    cells = draw(st.lists(st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 1)), min_size=n_fac, max_size=n_fac))
    facs = [Fac(f"H{k}", f"测试县第{k}医院", draw(st.sampled_from(["general_hospital", "tcm_hospital"])),
                draw(st.sampled_from(GRADES)), cell) for k, cell in enumerate(cells)]
    return grid_region(pops, facs)


RULE_TEXT = """
[policy]
name = "random"
[[rule]]
id = "count"
kind = "community_count"
source = "test"
min = 1
max = {max_k}
[[rule]]
id = "lead"
kind = "lead_eligibility"
source = "test"
lead.min_grade = "{grade}"
[[rule]]
id = "coverage"
kind = "coverage"
source = "test"
[[rule]]
id = "contiguity"
kind = "contiguity"
source = "test"
enabled = {contiguity}
[[rule]]
id = "balance"
kind = "population_balance"
source = "test"
max_share = {max_share}
hard = {hard}
penalty = 50
"""


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(region=small_counties(), max_k=st.integers(1, 3), grade=st.sampled_from(GRADES), contiguity=st.booleans(),
       max_share=st.sampled_from([0.5, 0.7, 1.0]), hard=st.booleans())
def test_every_returned_plan_passes_every_rule_and_backends_agree(tmp_path_factory, region, max_k, grade, contiguity,
                                                                  max_share, hard) -> None:
    path = tmp_path_factory.mktemp("rules") / "random.toml"
    path.write_text(RULE_TEXT.format(max_k=max_k, grade=grade, contiguity=str(contiguity).lower(),
                                     max_share=max_share, hard=str(hard).lower()), encoding="utf-8")
    rules = load_rules(path)
    results = {b: run_plan(region, rules, SolveOptions(backend=b), services=False) for b in ("cpsat", "cbc")}
    units = {b: next(iter(r.plan.units.values())) for b, r in results.items()}
    assert units["cpsat"].status is units["cbc"].status
    if units["cpsat"].status is Status.OPTIMAL:
        assert units["cpsat"].objective == pytest.approx(units["cbc"].objective)
        for r in results.values():
            hard_broken = [v for s in check_plan(r.plan, r.units, rules.rules) for v in s.violations if v.hard]
            assert hard_broken == []
    else:
        assert units["cpsat"].status is Status.INFEASIBLE
        assert units["cpsat"].explanation and "rules in conflict" in units["cpsat"].explanation[0]
