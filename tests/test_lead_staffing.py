"""Capacity-aware communities: leads that can staff their centers, residents within beds, the capacitated core."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures import Fac, grid_region

from planner.check import check_plan
from planner.dispatch import dispatch_region
from planner.districting import DistrictingModel
from planner.milp import Status
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.rulefile import load_rules
from planner.rules.capacity import LeadCapacity, LeadStaffing

SRC = "000_daed78e4f2e6cfdf.txt (四)"


def test_capacity_bounds_each_center_of_the_core() -> None:
    """Four areas in a row, centers at both ends: the cheap plan puts three areas on center 0,
    a capacity of 2 areas moves the third to center 1 (the capacitated location-allocation core)."""
    cost = np.array([[0, 30], [1, 20], [2, 10], [30, 0]])
    pop = [1, 1, 1, 1]
    edges = [(0, 1), (1, 2), (2, 3)]
    free = DistrictingModel(pop, cost, edges, [0, 3])
    free.add_contiguity("contiguity")
    assert free.groups_of(free.solve("cpsat")) == {0: [0, 1, 2], 1: [3]}
    for backend in ("cpsat", "highs", "cbc"):
        dm = DistrictingModel(pop, cost, edges, [0, 3])
        dm.add_contiguity("contiguity")
        dm.add_capacity([1, 1, 1, 1], [2, 2], "capacity")
        sol = dm.solve(backend)
        assert sol.status is Status.OPTIMAL and dm.groups_of(sol) == {0: [0, 1], 1: [2, 3]}, backend
    # Soft: an excess is allowed at its penalty, and taken when it costs less than the travel.
    soft = DistrictingModel(pop, cost, edges, [0, 3])
    excess = soft.add_capacity([1, 1, 1, 1], [2, 2], "capacity", penalty=5)
    sol = soft.solve("cpsat")
    assert soft.groups_of(sol) == {0: [0, 1, 2], 1: [3]} and round(sol.value(excess[0])) == 1


RULES = '''
[policy]
name = "staffing-test"
extends = "zhejiang-2026"
[[rule]]
id = "dialysis.central_thc"
enabled = false
[[rule]]
id = "dispatch.experts"
enabled = false
{extra}
'''


def rules_file(tmp_path: Path, extra: str = ""):
    path = tmp_path / "staffing.toml"
    path.write_text(RULES.format(extra=extra), encoding="utf-8")
    return load_rules(path)


@pytest.fixture
def two_leads():
    """
    One county of five townships in a row::

        [001 H1 人民医院] -- [002 T1] -- [003 T2] -- [004] -- [005 H2 中医院, T3]

    H1 has 5 attending-or-above physicians (releases 1 at 20 %), H2 has 10 (releases 2). By
    travel alone H1 takes 001-003 (two centers) and H2 004-005 (one): H1 cannot staff both.
    """
    facs = [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0), beds=1000),
            Fac("T1", "乙镇卫生院", "township_health_center", "一甲", (0, 1)),
            Fac("T2", "丙镇卫生院", "township_health_center", "一甲", (0, 2)),
            Fac("H2", "测试县中医院", "tcm_hospital", "二甲", (0, 4), beds=2000),
            Fac("T3", "戊镇卫生院", "township_health_center", "一甲", (0, 4), offset=2)]
    staff = [("H1", "attending", "内科", 5), ("H2", "attending", "内科", 10),
             ("T1", "attending", "全科", 1), ("T2", "attending", "全科", 1), ("T3", "attending", "全科", 1)]
    return grid_region([[100_000, 40_000, 40_000, 10_000, 30_000]], facs, staff=staff)


def _groups(result) -> dict[str, tuple[str, ...]]:
    return {c.lead: tuple(t[-3:] for t in c.townships) for c in result.plan.communities()}


def test_leads_get_the_centers_they_can_staff(two_leads, tmp_path: Path) -> None:
    without = rules_file(tmp_path, '[[rule]]\nid = "county.lead_staffing"\nenabled = false')
    before = run_plan(two_leads, without, SolveOptions(), services=False)
    assert _groups(before) == {"H1": ("001", "002", "003"), "H2": ("004", "005")}
    rules = rules_file(tmp_path)
    after = run_plan(two_leads, rules, SolveOptions(), services=False)
    assert after.plan.units["330001"].status is Status.OPTIMAL
    assert _groups(after) == {"H1": ("001", "002"), "H2": ("003", "004", "005")}
    out = dispatch_region(two_leads, after.plan, rules.rules, after.travel)
    assert [d.shortfalls for d in out] == [[]]
    # The independent checker reads the plan made without the rule as breaking it.
    statuses = {s.rule.id: s for s in check_plan(before.plan, before.units, rules.rules)}
    [v] = statuses["county.lead_staffing"].violations
    assert "has 2 centers needing 2 主治医师-or-above physicians" in v.message and "may release 1" in v.message
    assert "2个卫生院（中心）" in v.message.zh
    assert statuses["county.lead_staffing"].rule.release_share == 0.2   # bound to dispatch.attending


def test_a_county_short_of_physicians_as_a_whole_says_so(two_leads, tmp_path: Path) -> None:
    rules = rules_file(tmp_path, '[[rule]]\nid = "dispatch.attending"\nrelease_share = 0.1')
    result = run_plan(two_leads, rules, SolveOptions(), services=False)
    # 10 % of 5 and of 10: the leads may release 0 + 1 for 3 centers; no grouping staffs them all.
    [d] = dispatch_region(two_leads, result.plan, rules.rules, result.travel)
    assert d.shortfalls and all("the county as a whole lacks physicians: its leads together may release 1 for 3"
                                in s for s in d.shortfalls)
    assert all("全县整体缺少医师" in s.zh for s in d.shortfalls)
    statuses = {s.rule.id: s for s in check_plan(result.plan, result.units, rules.rules)}
    assert statuses["county.lead_staffing"].passed   # nothing a grouping could fix
    assert statuses["county.lead_staffing"].rule.release_share == 0.1


def test_lead_staffing_follows_the_dispatch_rule_and_describes_its_values() -> None:
    rule = LeadStaffing(id="s", source=SRC)
    rules = load_rules("zhejiang-2026").replace("dispatch.attending", release_share=0.3).rules
    bound = rule.bind(rules)
    assert bound.release_share == 0.3 and bound.min_per_center == 1
    assert "30%" in bound.describe() and "30%" in bound.describe().zh
    own = LeadStaffing(id="s", source=SRC, release_share=0.25).bind(rules)
    assert own.release_share == 0.25   # a value of its own is kept


def test_lead_capacity_bounds_residents_by_beds(two_leads, tmp_path: Path) -> None:
    rule = LeadCapacity(id="c", source="planner assumption: test", beds_per_1000=2.0)
    rules = rules_file(tmp_path, '[[rule]]\nid = "county.lead_staffing"\nenabled = false\n'
                       '[[rule]]\nid = "county.lead_capacity"\nhard = true\nbeds_per_1000 = 10.0')
    # 1,000 and 2,000 beds at 10 per 1,000 residents: H1 serves at most 100,000 residents, so it
    # keeps only its own township (100,000) and the rest go to H2.
    result = run_plan(two_leads, rules, SolveOptions(), services=False)
    assert _groups(result) == {"H1": ("001",), "H2": ("002", "003", "004", "005")}
    loose = rules_file(tmp_path, '[[rule]]\nid = "county.lead_staffing"\nenabled = false')
    before = run_plan(two_leads, loose, SolveOptions(), services=False)
    statuses = {s.rule.id: s for s in check_plan(before.plan, before.units, rules.rules)}
    [v] = statuses["county.lead_capacity"].violations
    assert "180,000 residents; its lead can serve 100,000" in v.message
    assert rule.assumption_notes()["beds_per_1000"].startswith("no clause sets beds per resident")
    assert "2 beds per 1,000 residents" in rule.describe()


def test_the_capacitated_p_median_core_matches_brute_force() -> None:
    """Eight points on a line, two medians of capacity 5 (demand 1 each, 3 at the ends): the
    cheapest capacitated plan, found by trying every pair of medians and every split, is proven."""
    from itertools import combinations

    import planner
    from planner.districting import solve_capacitated

    xs = np.array([0, 1, 2, 3, 10, 11, 12, 30])
    cost = np.abs(xs[:, None] - xs[None, :])
    demand = np.array([3, 1, 1, 1, 1, 1, 1, 3])
    capacity = np.full(8, 6)
    best = None
    for a, b in combinations(range(8), 2):
        for mask in range(1 << 8):
            side = [(mask >> i) & 1 for i in range(8)]
            if side[a] != 0 or side[b] != 1:
                continue
            load = [int(sum(demand[i] for i in range(8) if side[i] == s)) for s in (0, 1)]
            if max(load[0], load[1]) > 6:
                continue
            value = int(sum(cost[i, a if side[i] == 0 else b] for i in range(8)))
            best = value if best is None else min(best, value)
    r = solve_capacitated(cost, demand, capacity, 2, backend="highs", time_limit_s=20)
    assert r.status is Status.OPTIMAL and round(r.objective) == best
    loads = sorted(int(demand[list(m)].sum()) for m in r.groups.values())
    assert max(loads) <= 6
    g = planner.group_areas(demand, cost, [], list(range(8)), min_groups=2, max_groups=2, contiguous=False,
                            capacity=capacity)
    assert g.status == "OPTIMAL" and round(g.objective) == best
