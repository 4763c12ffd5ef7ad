"""Rule files read strictly: typed and bounded values, references that match places, county overrides
that keep the parent's value elsewhere, and `planner rules` showing where every value came from."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from planner._errors import RuleFileError
from planner.cli import main
from planner.rulefile import load_rules

HEAD = '[policy]\nname = "review"\nextends = "zhejiang-2026"\n\n'


def write(tmp_path: Path, body: str, name: str = "review.toml", head: str = HEAD) -> Path:
    path = tmp_path / name
    path.write_text(head + body, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    """What loading the file says, and then what the places that exist say (as `planner rules` and `plan` do)."""
    from planner.rulefile import catalog_reference_problems

    try:
        rules = load_rules(path)
    except RuleFileError as exc:
        return [str(p) for p in exc.problems]
    found = [str(p) for p in catalog_reference_problems(rules.rules, str(path))]
    assert found, "no problem found"
    return found


def unit(code: str, city: str = "330700") -> SimpleNamespace:
    return SimpleNamespace(scope="county", id=code, city_code=city, county_codes=(code,))


OVERRIDE = '[[rule]]\nid = "county.max_communities"\ncounties = ["330782"]\nmax = 1\n'


def test_the_readme_one_county_override_keeps_the_parents_value_in_the_other_counties(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, OVERRIDE))
    counts = [r for r in rules.rules if r.kind == "community_count"]
    yiwu = [(r.id, r.max) for r in counts if r.applies(unit("330782"))]
    wucheng = [(r.id, r.max) for r in counts if r.applies(unit("330702"))]
    assert yiwu == [("county.max_communities@330782", 1)]
    assert wucheng == [("county.max_communities", 3)]   # 婺城区 keeps zhejiang-2026's 1-3


def test_a_one_county_override_is_saved_back_as_the_reviewer_wrote_it(tmp_path: Path) -> None:
    rules = load_rules("zhejiang-2026").replace("county.max_communities", counties=["330782"], max=1)
    again = rules.save(tmp_path / "saved.toml")
    text = (tmp_path / "saved.toml").read_text(encoding="utf-8")
    assert 'id = "county.max_communities"\ncounties = ["330782"]\nmax = 1' in text and "@" not in text
    assert again.digest == rules.digest


def test_two_overrides_of_one_rule_for_other_counties_stand_side_by_side(tmp_path: Path) -> None:
    body = OVERRIDE + '\n[[rule]]\nid = "county.max_communities"\ncounties = ["330702"]\nmax = 2\n'
    rules = load_rules(write(tmp_path, body))
    by_unit = {c: [(r.id, r.max) for r in rules.rules if r.kind == "community_count" and r.applies(unit(c))]
               for c in ("330782", "330702", "330703")}
    assert by_unit == {"330782": [("county.max_communities@330782", 1)], "330702": [("county.max_communities@330702", 2)],
                       "330703": [("county.max_communities", 3)]}
    clash = OVERRIDE + '\n[[rule]]\nid = "county.max_communities"\ncounties = ["330782"]\nmax = 2\n'
    assert any("overrides 330782 again (rule #1 already does)" in p for p in problems(write(tmp_path, clash, "c.toml")))


def test_the_api_change_for_one_county_keeps_the_others() -> None:
    rules = load_rules("zhejiang-2026").replace("county.max_communities", counties=["330782"], max=1)
    assert [r.max for r in rules.rules if r.kind == "community_count" and r.applies(unit("330702"))] == [3]
    assert [r.max for r in rules.rules if r.kind == "community_count" and r.applies(unit("330782"))] == [1]


@pytest.mark.parametrize(("value", "message"), [
    ('["330999"]', 'rule county.max_communities: counties: 330999 matches no county or city. Fix: give an existing county '
                   'or city code'),
    ('["义乌市"]', "rule county.max_communities: counties: '义乌市' is a name; counties takes codes. Fix: use the code 330782"),
    ('["３３０７８２"]', "rule county.max_communities: counties: '３３０７８２' is not written in ASCII digits. Fix: write 330782"),
    ('["٣٣٠٧٨٢"]', "is not written in ASCII digits. Fix: write 330782"),
])
def test_counties_that_match_no_place_are_errors_naming_the_rule_and_the_fix(tmp_path: Path, value: str, message: str) -> None:
    found = problems(write(tmp_path, f'[[rule]]\nid = "county.max_communities"\ncounties = {value}\nmax = 1\n'))
    assert any(message in p for p in found), found


@pytest.mark.parametrize(("line", "message"), [
    ("max = true", "key `max`: is a whole number, not a flag (true is not 1) (got True)"),
    ("max = 2.5", "key `max`: is a whole number (got 2.5)"),
    ("max = 10000000000", "key `max`: is beyond 1,000,000,000, the largest value the solvers accept"),
    ("enabled = 1", "key `enabled`: is a flag: give true or false (got 1)"),
    ('enabled = "false"', "key `enabled`: is a flag: give true or false (got 'false')"),
    ("hard = false\npenalty = inf", "key `penalty`: must be a finite number (inf and nan are not) (got inf)"),
    ("hard = false\npenalty = nan", "key `penalty`: must be a finite number (inf and nan are not) (got nan)"),
])
def test_values_are_typed_strictly_and_bounded(tmp_path: Path, line: str, message: str) -> None:
    found = problems(write(tmp_path, f'[[rule]]\nid = "county.max_communities"\n{line}\n'))
    assert any(message in p for p in found), found
    assert len(found) == 1, found   # said once, not again in the schema's words


def test_travel_settings_are_finite(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "[travel]\nspeed_kph = nan\n")) == [
        f"{tmp_path / 'review.toml'}: travel: key `speed_kph`: must be a finite number (inf and nan are not) (got nan). "
        "Fix: write a number"]


def test_pins_and_vetoes_that_match_nothing_are_errors(tmp_path: Path) -> None:
    body = ('[[rule]]\nid = "p"\nkind = "pin"\nsource = "s"\ntownships = ["3307821"]\nlead = "H330782-01"\n'
            '[[rule]]\nid = "q"\nkind = "pin"\nsource = "s"\ntownships = ["339999001"]\nlead = "H330782-01"\n')
    found = problems(write(tmp_path, body))
    assert any("rule p: townships: '3307821' is not a 9-digit township code" in p for p in found), found
    found = problems(write(tmp_path, body.replace('"3307821"', '"330782001"')))
    assert any("rule q: townships: 339999001 matches no township (no county 339999)" in p for p in found), found


def test_pins_and_vetoes_are_checked_against_the_region_planned(tmp_path: Path) -> None:
    from planner import regions
    from planner.rulefile import region_reference_problems

    body = ('[[rule]]\nid = "p"\nkind = "pin"\nsource = "s"\ntownships = ["330782999"]\nlead = "H330782-01"\n'
            '[[rule]]\nid = "v"\nkind = "forbid_lead"\nsource = "s"\nfacilities = ["H330782-77", "H330102-01"]\n')
    rules = load_rules(write(tmp_path, body))
    found = [str(p) for p in region_reference_problems(rules.rules, regions.load("义乌市"), "review.toml")]
    assert found == [
        "review.toml: rule p: townships: 330782999 is not a township of 义乌市. Fix: give township codes of 义乌市 "
        "(planner export 义乌市 lists them)",
        "review.toml: rule v: facilities: H330782-77 is not a facility of 义乌市. Fix: give facility ids of 义乌市 "
        "(planner show 义乌市 --facilities lists them)"]   # H330102-01 is of 杭州: the veto applies to no unit here


def test_extends_only_regular_toml_files_and_a_bounded_chain(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "", head='[policy]\nname = "x"\nextends = "/dev/zero"\n'))
    assert found == [f"{tmp_path / 'review.toml'}: policy.extends: extends /dev/zero: is not a regular .toml file. "
                     "Fix: name a rule file ending in .toml (or a shipped rule file by name)"]
    previous = "zhejiang-2026"
    for n in range(10):
        write(tmp_path, "", name=f"chain{n}.toml", head=f'[policy]\nname = "c{n}"\nextends = "{previous}"\n')
        previous = f"chain{n}.toml"
    found = problems(tmp_path / "chain9.toml")
    assert any("is reached through 8 `extends`, more than 8" in p for p in found), found


def test_deep_nesting_and_huge_files_are_refused_without_recursion(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    assert problems(deep) == [f"{deep}: nests tables or arrays deeper than 12 levels. Fix: write rules as [[rule]] "
                              "tables with plain values"]
    big = tmp_path / "big.toml"
    big.write_text("# x\n" * 400_000, encoding="utf-8")
    assert "larger than a rule file may be" in problems(big)[0]


def test_planner_rules_shows_every_value_and_where_it_came_from(tmp_path: Path) -> None:
    path = write(tmp_path, OVERRIDE)
    result = CliRunner().invoke(main, ["rules", str(path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "  [hard] county.max_communities (000 (二)) community_count: 每个县（市、区）1-3个医共体\n" in out
    assert '         except_counties = ["330782"]   (the override county.max_communities@… applies there)\n' in out
    assert "         max = 3   (inherited from zhejiang-2026 (zhejiang-2026.toml:24))\n" in out
    assert "  [hard] county.max_communities@330782 (000 (二)) community_count: 每个县（市、区）恰好1个医共体\n" in out
    assert f"         max = 1   ({path}:8)\n" in out
    assert "原文: 「各县(市、区)设置医共体数量最多不超过3个。」（000 (二)）" in out


def test_planner_rules_and_plan_exit_2_on_a_county_that_exists_nowhere(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rule]]\nid = "county.max_communities"\ncounties = ["330999"]\nmax = 1\n')
    for args in (["rules", str(path)], ["plan", "--region", "义乌市", "--rules", str(path), "--out", str(tmp_path / "o"),
                                        "--no-cache", "--quiet"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.output == (f"Error: {path}: rule county.max_communities: counties: 330999 matches no county or city. "
                                 "Fix: give an existing county or city code (planner regions, planner show REGION list "
                                 "them)\n")
    assert not (tmp_path / "o").exists()


def test_rule_file_errors_read_in_chinese(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rule]]\nid = "county.max_communities"\ncounties = ["义乌市"]\n')
    result = CliRunner().invoke(main, ["--lang", "zh", "rules", str(path)])
    assert result.exit_code == 2
    assert "counties：'义乌市' 是名称，counties 须填代码" in result.output and "请改用代码 330782" in result.output


def test_a_one_county_override_leaves_the_other_counties_cache_keys_alone(tmp_path: Path) -> None:
    from planner.rulefile import rule_digest

    base = load_rules("zhejiang-2026")
    rules = load_rules(write(tmp_path, OVERRIDE))
    assert rule_digest(rules.by_id("county.max_communities")) == rule_digest(base.by_id("county.max_communities"))
    assert rules.digest != base.digest


def test_the_readme_override_in_a_real_city_binds_every_other_county_to_the_parent(tmp_path: Path) -> None:
    """金华市 under `counties = ["330782"]`, max = 1: 义乌市 at most 1 community, 婺城区 and the rest still at most 3,
    and a 婺城区 of 4 communities fails the checker (it passed when the override narrowed the rule)."""
    from planner import regions
    from planner.adjacency import contiguity_graph
    from planner.check import check_unit
    from planner.plan import Community, UnitPlan
    from planner.travel import TravelModel
    from planner.units import build_units

    region = regions.load("金华市")
    rules = load_rules(write(tmp_path, OVERRIDE))
    units = build_units(region, rules.rules, TravelModel(), contiguity_graph(region.townships, region.counties))
    in_force = {u.id: [(r.id, r.max) for r in rules.rules if r.kind == "community_count" and r.applies(u)] for u in units}
    assert in_force.pop("330782") == [("county.max_communities@330782", 1)]
    assert in_force and all(v == [("county.max_communities", 3)] for v in in_force.values()), in_force
    wucheng = next(u for u in units if u.id == "330702")
    leads = list(wucheng.candidates[:4]) if len(wucheng.candidates) >= 4 else list(wucheng.candidates) * 4
    towns = list(wucheng.townships)
    four = tuple(Community(f"330702:{n}", "330702", leads[n % len(leads)], tuple(towns[n::4])) for n in range(4))
    found = check_unit(wucheng, UnitPlan("330702", "county", "婺城区", four), rules.rules)
    assert any(v.rule_id == "county.max_communities" and "4 communities; the rule allows 1-3" in v.message for v in found)
