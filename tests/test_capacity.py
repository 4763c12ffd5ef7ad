"""Reserved capacity of city grid leads (003 9.): numbers to reserve, and flags against referral demand."""

from __future__ import annotations

from fixtures import Fac, grid_region

from planner.capacity import reserved_capacity
from planner.check import check_capacity
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.rulefile import load_rules
from planner.rules.service import ReservedCapacity


def test_required_numbers_and_a_flag_for_a_lead_short_of_demand() -> None:
    """
    A city of two districts, each with a tertiary lead; B is small for its grid::

        [330001001 A 三甲, 900 beds] | [330002002 B 三乙, 40 beds]
    """
    region = grid_region([[100_000, 300_000]],
                         [Fac("A", "测试市人民医院", "general_hospital", "三甲", (0, 0), county="330001", admin_level="city", beds=900),
                          Fac("B", "测试市中医院", "tcm_hospital", "三乙", (0, 1), county="330002", admin_level="city", beds=40)],
                         county_of=[["330001", "330002"]], names={"330001": "西区", "330002": "东区"},
                         town_kinds=[["街道", "街道"]])
    rules = load_rules("guizhou-2024")
    plan = run_plan(region, rules, SolveOptions(), services=False).plan
    rule = ReservedCapacity(id="cap", source="003_fbf63bb5f501bc23.txt 9.", outpatient_share=1 / 3, bed_share=0.25,
                            referral_visits_per_10k_per_day=5, referral_beds_per_10k=2)
    table = reserved_capacity(region, plan, [rule]).set_index("lead_id")
    # Slots in the fixture are 2 per bed: A 1,800 -> 600 reserved; B 80 -> 27 reserved.
    assert table.loc["A", "reserve_slots_per_day"] == 600 and table.loc["A", "reserve_beds"] == 225
    assert table.loc["B", "reserve_slots_per_day"] == 27 and table.loc["B", "reserve_beds"] == 10
    assert table.loc["A", "flag"] == ""
    assert table.loc["B", "flag"] == "reserved slots 27 < expected referrals 150/day; reserved beds 10 < expected referral beds 60"
    [status] = check_capacity(table.reset_index(), [rule])
    assert [v.unit_name for v in status.violations] == ["测试市中医院"]


def test_no_rule_no_table() -> None:
    region = grid_region([[1000, 1000]], [Fac("A", "甲院", "general_hospital", "三甲", (0, 0))])
    plan = run_plan(region, load_rules("zhejiang-2026"), SolveOptions(), services=False).plan
    assert reserved_capacity(region, plan, []).empty
