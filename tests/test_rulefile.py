"""Constraint files: the shipped ones load; malformed ones report file, rule id, key, value and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner._errors import RuleFileError
from planner.rulefile import builtin_names, load_rules, rule_digest
from planner.rules import RULE_KINDS

SHIPPED = ["guizhou-2024", "jilin-2021", "national-2019", "yuxi-2025", "zhejiang-2026"]


def test_every_policy_has_a_shipped_rule_file() -> None:
    assert builtin_names() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_rule_cites_a_clause_of_its_policy_or_says_it_is_an_assumption(name: str) -> None:
    rules = load_rules(name)
    assert rules.rules
    for rule in rules.rules:
        if rule.is_assumption:
            assert rule.source.split(":", 1)[1].strip(), rule.id  # says which assumption
            continue
        seed = rule.source.split()[0]
        assert seed.endswith(".txt") and seed[:3] in {"000", "001", "002", "003", "004"}, rule.id
        assert rule.quote, f"{name}:{rule.id} cites {rule.citation} without quoting it"


def test_guizhou_extends_the_national_rules_for_its_counties() -> None:
    rules = load_rules("guizhou-2024")
    ids = [r.id for r in rules.rules]
    assert ids[:5] == ["county.communities", "county.lead", "county.general_hospital_leads", "county.coverage",
                       "county.contiguity"]
    assert "city.grids" in ids and rules.by_id("city.grids").min_grids == 2


def write(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_reviewer_overrides_one_number_through_extends(tmp_path: Path) -> None:
    path = write(tmp_path, '[policy]\nname = "zj-2"\nextends = "zhejiang-2026"\n[[rule]]\nid = "county.max_communities"\nmax = 2\n')
    rules = load_rules(path)
    assert rules.by_id("county.max_communities").max == 2
    assert rules.by_id("county.max_communities").source == "000_daed78e4f2e6cfdf.txt (二)"
    assert rule_digest(rules.by_id("county.max_communities")) != rule_digest(load_rules("zhejiang-2026").by_id("county.max_communities"))
    assert rule_digest(rules.by_id("county.lead_grade")) == rule_digest(load_rules("zhejiang-2026").by_id("county.lead_grade"))


BAD_RULES = '''
[policy]
name = "bad"

[[rule]]
id = "a"
kind = "community_count"
source = "000_daed78e4f2e6cfdf.txt (二)"
min = 3
max = 2

[[rule]]
id = "b"
kind = "lead_eligibility"
source = "000_daed78e4f2e6cfdf.txt (二)"
lead.min_grade = "四甲"
lead.colour = "red"

[[rule]]
id = "a"
kind = "contiguity"
source = "x"

[[rule]]
id = "c"
kind = "community_cuont"
source = "x"

[[rule]]
id = "d"
kind = "max_travel"
source = "x"
max_minutes = "sixty"

[[rule]]
id = "e"
kind = "contiguity"
source = "x"
hard = false
penalty = 5

[[rule]]
id = "f"
kind = "coverage"
scope = "town"
source = "x"
'''


def test_a_malformed_file_reports_every_problem_with_file_rule_key_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_RULES)
    with pytest.raises(RuleFileError) as info:
        load_rules(path)
    lines = info.value.lines()
    text = "\n".join(lines)
    assert all(line.startswith(f"{path}: rule ") for line in lines), text
    assert "rule a: the rule: min = 3 is greater than max = 2" in text
    assert "rule b: key `lead.min_grade`: is not a hospital grade (got '四甲')" in text
    assert "rule b: unknown key `lead.colour`" in text and "allowed keys: admin_levels, central_thc, kinds, min_grade" in text
    assert "rule a: id is used twice (rules #1 and #3)" in text
    assert "rule c: kind 'community_cuont' is not a rule kind (did you mean 'community_count'?)" in text
    assert "rule d: key `max_minutes`: Input should be a valid number" in text
    assert "rule e: the rule: rule kind 'contiguity' cannot be soft" in text
    assert "rule f: key `scope`: Input should be 'county' or 'city' (got 'town')" in text
    assert len(lines) == 8


def test_a_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[policy]\nname = "x"\n[[rule]]\nid = "a\n')
    with pytest.raises(RuleFileError, match=r"is not valid TOML .*line 4"):
        load_rules(path)


def test_contradictory_pins_and_a_pinned_vetoed_lead_are_reported(tmp_path: Path) -> None:
    text = '''[policy]
name = "pins"
[[rule]]
id = "p1"
kind = "pin"
source = "review"
townships = ["330782001"]
lead = "H1"
[[rule]]
id = "p2"
kind = "pin"
source = "review"
townships = ["330782001"]
lead = "H2"
[[rule]]
id = "veto"
kind = "forbid_lead"
source = "review"
facilities = ["H1"]
'''
    with pytest.raises(RuleFileError) as info:
        load_rules(write(tmp_path, text))
    text_out = "\n".join(info.value.lines())
    assert "pins township 330782001 to H2, but rule p1 pins it to H1" in text_out
    assert "pins townships to H1, which rule veto forbids to lead" in text_out


def test_circular_extends_is_reported(tmp_path: Path) -> None:
    write(tmp_path, '[policy]\nname = "a"\nextends = "b"\n', "a.toml")
    write(tmp_path, '[policy]\nname = "b"\nextends = "a"\n', "b.toml")
    with pytest.raises(RuleFileError, match="extends itself in a circle"):
        load_rules(tmp_path / "a.toml")


def test_unknown_rule_file_lists_the_shipped_ones() -> None:
    with pytest.raises(RuleFileError, match="one of: guizhou-2024, jilin-2021"):
        load_rules("hainan-2030")


def test_every_rule_kind_is_documented_used_in_an_example_and_tested() -> None:
    """Adding a rule kind touches the registry, a shipped or example file, and the tests."""
    used = {r.kind for name in SHIPPED for r in load_rules(name).rules}
    examples = Path(__file__).resolve().parents[1] / "constraints" / "examples"
    used |= {r.kind for p in examples.glob("*.toml") for r in load_rules(p).rules}
    tests_text = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).resolve().parent.rglob("test_*.py"))
    for kind, cls in RULE_KINDS.items():
        assert cls.__doc__ and len(cls.__doc__.strip()) > 20, kind
        assert kind in used, f"rule kind {kind} has no example in constraints/"
        assert cls.__name__ in tests_text or kind in tests_text, f"rule kind {kind} has no test"
