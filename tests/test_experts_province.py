"""City experts planned province-wide: shared caps, rural county communities only, four professions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import Fac, grid_region

from planner.check import check_dispatch
from planner.dispatch import dispatch_region
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.rulefile import load_rules

RULES = '''
[policy]
name = "experts-test"
extends = "zhejiang-2026"
[[rule]]
id = "dialysis.central_thc"
enabled = false
[[rule]]
id = "dispatch.attending"
enabled = false
[[rule]]
id = "dispatch.experts"
{extra}
'''


def rules_file(tmp_path: Path, extra: str = ""):
    path = tmp_path / "experts.toml"
    path.write_text(RULES.format(extra=extra), encoding="utf-8")
    return load_rules(path)


@pytest.fixture
def two_cities():
    """
    Four units in a row (甲县 of two townships, the others of one), in two cities of one province::

        330001 甲县 (city 330100) | 330002 乙区 (city 330100, urban district) | 330003 丙县 (city 330200) | 330004 丁县 (330200)
        [H1 county hospital] [ ]   | [CA 市人民医院 三甲, city level; H2]     | [H3 county hospital]     | [H4]

    CA is the only tertiary hospital; its 3 nurses and 12 physicians of associate-chief rank or
    above give it a release cap of 3 (20 % of its 15 attending-or-above staff): one community's
    experts. 乙区 is an urban district with its own county hospital H2.
    """
    facs = [Fac("H1", "甲县人民医院", "general_hospital", "二甲", (0, 0), county="330001"),
            Fac("CA", "测试市人民医院", "general_hospital", "三甲", (0, 2), county="330002", admin_level="city"),
            Fac("H2", "乙区人民医院", "general_hospital", "二甲", (0, 2), county="330002", offset=2),
            Fac("H3", "丙县人民医院", "general_hospital", "二甲", (0, 3), county="330003"),
            Fac("H4", "丁县人民医院", "general_hospital", "二甲", (0, 4), county="330004")]
    staff = [("CA", "associate_chief", "护理", 3), ("CA", "associate_chief", "内科", 12)]
    region = grid_region([[50_000, 20_000, 80_000, 40_000, 30_000]], facs, staff=staff,
                         county_of=[["330001", "330001", "330002", "330003", "330004"]],
                         names={"330001": "甲县", "330002": "乙区", "330003": "丙县", "330004": "丁县"})
    region.staff["profession"] = ["nursing", "medicine"]
    # 丙县 and 丁县 belong to another city of the province.
    other = region.counties.index.isin(["330003", "330004"])
    region.counties.loc[other, "city_code"] = "330200"
    region.counties.loc[other, "city_name"] = "另一市"
    return region


def _experts(out) -> dict[str, int]:
    got: dict[str, int] = {}
    for d in out:
        for r in d.rows:
            if r.role == "expert":
                got[r.community.split(":")[0]] = got.get(r.community.split(":")[0], 0) + r.count
    return got


def test_one_model_per_province_shares_each_hospitals_cap(two_cities, tmp_path: Path) -> None:
    rules = rules_file(tmp_path)
    result = run_plan(two_cities, rules, SolveOptions(), services=False)
    out = dispatch_region(two_cities, result.plan, rules.rules, result.travel)
    assert sorted(d.city for d in out) == ["330100", "330200"]   # split back per city
    sent = sum(r.count for d in out for r in d.rows if r.source == "CA")
    assert sent == 3   # the cap, across both cities (each city solved alone sent 3 + 3)
    got = _experts(out)
    # 乙区 (urban district) and CA's own community are not supported; the three counties share 3.
    assert set(got) <= {"330001", "330003", "330004"} and sum(got.values()) == 3
    # The nearest county gets all 3: 丙县, in the other city (never so under same_city = true).
    assert got == {"330003": 3}
    short = [s for d in out for s in d.shortfalls]
    assert len(short) == 2 and all("city experts" in s and "城市专家" in s.zh for s in short)
    statuses = check_dispatch(two_cities, result.plan, [r for d in out for r in d.rows], rules.rules)
    messages = [v.message for s in statuses for v in s.violations]
    assert not any("release cap" in m for m in messages)       # the checker sums caps over the province
    assert sum("experts" in m for m in messages) == 2
    # Nurses count as experts (医疗、药学、护理、管理), labelled with their profession.
    assert {r.profession for d in out for r in d.rows if r.role == "expert"} <= {"nursing", "medicine"}


def test_the_checker_refuses_caps_exceeded_across_cities(two_cities, tmp_path: Path) -> None:
    from planner.dispatch import RosterRow

    rules = rules_file(tmp_path)
    result = run_plan(two_cities, rules, SolveOptions(), services=False)
    comm = {c.unit: c for c in result.plan.communities()}
    rows = [RosterRow("expert", comm[u].id, "CA", comm[u].lead, "associate_chief", "内科", 2, 10.0)
            for u in ("330001", "330003")]   # 2 to a county of each city: 4 against a cap of 3
    statuses = check_dispatch(two_cities, result.plan, rows, rules.rules)
    assert any("sends 4 physicians, over its release cap 3" in v.message for s in statuses for v in s.violations)


def test_recipients_and_professions_are_keys(two_cities, tmp_path: Path) -> None:
    rules = rules_file(tmp_path, 'recipients = "county_units"\nprofessions = ["medicine"]\nmin_per_community = 1')
    result = run_plan(two_cities, rules, SolveOptions(), services=False)
    out = dispatch_region(two_cities, result.plan, rules.rules, result.travel)
    got = _experts(out)
    own = {c.unit for c in result.plan.communities() if c.lead == "CA"}
    assert set(got) == {"330001", "330002", "330003", "330004"} - own
    assert {r.profession for d in out for r in d.rows if r.role == "expert"} == {"medicine"}
    rule = rules.by_id("dispatch.experts")
    assert "every county community" in rule.describe() and "medicine" in rule.describe()
    mix = rules_file(tmp_path, 'profession_min = { pharmacy = 1 }')
    result = run_plan(two_cities, mix, SolveOptions(), services=False)
    out = dispatch_region(two_cities, result.plan, mix.rules, result.travel)
    assert any("pharmacy expert" in s for d in out for s in d.shortfalls)   # CA has no pharmacist


def test_attending_physicians_are_physicians_not_nurses(tmp_path: Path) -> None:
    """A lead with one attending physician and five nurses of attending level (主管护师) staffs one
    of its two centers; the nurses are not sent as attending physicians, and a roster that
    sends one is refused by the checker."""
    from planner.dispatch import RosterRow

    facs = [Fac("H", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
            Fac("TB", "乙镇卫生院", "township_health_center", "一甲", (0, 1)),
            Fac("TC", "丙镇卫生院", "township_health_center", "一甲", (0, 2))]
    staff = [("H", "attending", "内科", 1), ("H", "attending", "护理", 5)]
    region = grid_region([[60_000, 30_000, 20_000]], facs, staff=staff)
    region.staff["profession"] = ["medicine", "nursing"]
    path = tmp_path / "nurses.toml"
    path.write_text('[policy]\nname = "nurses"\nextends = "zhejiang-2026"\n'
                    '[[rule]]\nid = "dispatch.attending"\nrelease_share = 1.0\nspecialty_weights = {}\n'
                    '[[rule]]\nid = "dispatch.experts"\nenabled = false\n'
                    '[[rule]]\nid = "dialysis.central_thc"\nenabled = false\n', encoding="utf-8")
    rules = load_rules(path)
    result = run_plan(region, rules, SolveOptions(), services=False)
    [d] = dispatch_region(region, result.plan, rules.rules, result.travel)
    sent = [(r.target, r.specialty, r.profession, r.count) for r in d.rows]
    assert len(sent) == 1 and sent[0][1:] == ("内科", "medicine", 1)
    assert len(d.shortfalls) == 1 and "missing 1" in d.shortfalls[0]
    [comm] = result.plan.communities()
    rows = [RosterRow("attending", comm.id, "H", "TB", "attending", "内科", 1, 5.0),
            RosterRow("attending", comm.id, "H", "TC", "attending", "护理", 1, 9.0, profession="nursing")]
    statuses = check_dispatch(region, result.plan, rows, rules.rules)
    assert any("nursing staff to 丙镇卫生院 as attending physicians" in v.message for s in statuses for v in s.violations)
