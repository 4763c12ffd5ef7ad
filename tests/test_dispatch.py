"""Physician dispatch: rosters known by inspection, caps, specialties, shortfalls and their relaxations."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import Fac, grid_region

from planner.check import check_dispatch
from planner.dispatch import dispatch_region, roster_frame
from planner.milp import Status
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.rulefile import load_rules

RULES = '''
[policy]
name = "dispatch-test"
extends = "zhejiang-2026"
[[rule]]
id = "dispatch.attending"
release_share = {share}
specialty_weights = {{ "儿科" = 30 }}
borrow_from_city = {borrow}
[[rule]]
id = "dialysis.central_thc"
enabled = false
'''


def rules_file(tmp_path: Path, share: float = 0.5, borrow: bool = False):
    path = tmp_path / "dispatch.toml"
    path.write_text(RULES.format(share=share, borrow=str(borrow).lower()), encoding="utf-8")
    return load_rules(path)


@pytest.fixture
def county_with_city():
    """
    One county (330001) of three townships in a row, and a city district (330002) east of it::

        330001: [001 H 人民医院] -- [002 TB 卫生院] -- [003 TC 中心卫生院]  |  330002: [004 C 市人民医院 三甲]

    H has 5 internal-medicine and 1 paediatric attending; TB has no paediatrician, TC has
    one. C (city-level, tertiary) has 3 associate chiefs, who are the community's experts.
    """
    facs = [Fac("H", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
            Fac("TB", "乙镇卫生院", "township_health_center", "一甲", (0, 1)),
            Fac("TC", "丙镇中心卫生院", "township_health_center", "一甲", (0, 2), central_thc=True),
            Fac("C", "测试市人民医院", "general_hospital", "三甲", (0, 3), county="330002", admin_level="city")]
    staff = [("H", "attending", "内科", 5), ("H", "attending", "儿科", 1),
             ("TB", "attending", "全科", 2), ("TC", "attending", "全科", 2), ("TC", "attending", "儿科", 1),
             ("C", "associate_chief", "内科", 3), ("C", "attending", "内科", 30)]
    return grid_region([[60_000, 30_000, 120_000, 50_000]], facs, staff=staff,
                       county_of=[["330001", "330001", "330001", "330002"]])


def county_plan(region, rules):
    return run_plan(region, rules, SolveOptions(), services=False)


@pytest.mark.parametrize("backend", ["highs", "cbc", "cpsat"])
def test_the_roster_known_by_inspection_on_every_backend(county_with_city, tmp_path: Path, backend: str) -> None:
    rules = rules_file(tmp_path)
    result = county_plan(county_with_city, rules)
    out = dispatch_region(county_with_city, result.plan, rules.rules, result.travel, backend=backend)
    [city] = out
    assert city.status is Status.OPTIMAL
    rows = sorted((r.role, r.source, r.target, r.title, r.specialty, r.count) for r in city.rows if r.community.startswith("330001"))
    assert rows == [
        ("attending", "H", "TB", "attending", "儿科", 1),    # TB lacks a paediatrician: the one goes there
        ("attending", "H", "TC", "attending", "内科", 1),
        ("expert", "C", "H", "associate_chief", "内科", 3),
    ]
    # The city hospital's own community (the district) supports others; it is not supported itself (000 (四)).
    assert city.shortfalls == []
    statuses = check_dispatch(county_with_city, result.plan, city.rows, rules.rules)
    assert [v.unit for s in statuses for v in s.violations] == []


def test_a_release_cap_too_low_is_a_shortfall_with_numbers_and_relaxations(county_with_city, tmp_path: Path) -> None:
    rules = rules_file(tmp_path, share=0.2)   # 20 % of 6 attendings: 1 may go, 2 are needed
    result = county_plan(county_with_city, rules)
    out = dispatch_region(county_with_city, result.plan, rules.rules, result.travel)
    [county] = out
    assert not county.complete
    assert county.shortfalls[0].startswith("测试县: 1 centers get no 主治医师-or-above physician from 测试县人民医院")
    assert "missing 1 主治医师-or-above physicians — the lead has 6 such physicians and may release 1 (20%)" in county.shortfalls[0]
    # (The district's community, led by the city hospital, is not supported by experts: no other shortfall.)
    assert any("borrow_from_city = true" in line and "closes every shortfall" in line for line in county.relaxations)
    # 2 of 6 attendings must be free to go: a third, rounded up to 0.35.
    assert any("release_share = 0.35 closes every shortfall" in line for line in county.relaxations)
    statuses = check_dispatch(county_with_city, result.plan, [r for d in out for r in d.rows], rules.rules)
    broken = [v for s in statuses for v in s.violations if v.unit == "330001"]
    assert len(broken) == 1 and "gets 0 of 1" in broken[0].message


def test_borrowing_from_the_city_closes_the_gap_and_is_marked(county_with_city, tmp_path: Path) -> None:
    rules = rules_file(tmp_path, share=0.2, borrow=True)
    result = county_plan(county_with_city, rules)
    out = dispatch_region(county_with_city, result.plan, rules.rules, result.travel)
    rows = [r for d in out for r in d.rows]
    assert not any(s.startswith("测试县:") for d in out for s in d.shortfalls)
    borrowed = [r for r in rows if r.borrowed]
    assert len(borrowed) == 1 and borrowed[0].source == "C" and borrowed[0].role == "attending"
    statuses = check_dispatch(county_with_city, result.plan, rows, rules.rules)
    assert [v for s in statuses for v in s.violations if v.unit == "330001"] == []


def test_the_checker_catches_a_roster_over_the_cap(county_with_city, tmp_path: Path) -> None:
    from planner.dispatch import RosterRow

    rules = rules_file(tmp_path, share=0.2)
    result = county_plan(county_with_city, rules)
    rows = [RosterRow("attending", "330001:H", "H", "TB", "attending", "内科", 1, 10.0),
            RosterRow("attending", "330001:H", "H", "TC", "attending", "内科", 1, 20.0)]
    statuses = check_dispatch(county_with_city, result.plan, rows, rules.rules)
    messages = [v.message for s in statuses for v in s.violations]
    assert "sends 2 physicians, over its release cap 1 (20% of 6)" in messages


def test_the_checker_names_the_unit_of_a_physician_below_the_title(county_with_city, tmp_path: Path) -> None:
    from planner.dispatch import RosterRow

    rules = rules_file(tmp_path)
    result = county_plan(county_with_city, rules)
    [community] = [c for c in result.plan.communities() if c.lead == "H"]
    rows = [RosterRow("attending", community.id, "H", "TB", "resident", "儿科", 1, 10.0),
            RosterRow("attending", community.id, "H", "TC", "attending", "内科", 1, 20.0)]
    statuses = check_dispatch(county_with_city, result.plan, rows, rules.rules)
    below = [v for s in statuses for v in s.violations if "below" in v.message]
    assert [(v.unit, v.unit_name) for v in below] == [(community.unit, "测试县")]
    assert below[0].message.endswith("gets a 住院医师 from 测试县人民医院, below 主治医师")


def test_the_roster_table_names_both_ends_in_chinese(county_with_city, tmp_path: Path) -> None:
    rules = rules_file(tmp_path)
    result = county_plan(county_with_city, rules)
    out = dispatch_region(county_with_city, result.plan, rules.rules, result.travel)
    table = roster_frame(out, county_with_city)
    row = table[(table["from_id"] == "H") & (table["to_id"] == "TB")].iloc[0]
    assert (row["from_name"], row["to_name"], row["title"], row["specialty"]) == ("测试县人民医院", "乙镇卫生院", "主治医师", "儿科")
    assert row["travel_min"] > 0
