"""Check any plan, ours or a planner's own layout, against every rule, independently of the solver."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .plan import Plan, UnitPlan
from .rules import Rule
from .units import Unit


@dataclass(frozen=True)
class Violation:
    """One rule broken in one unit.

    `hard` is False for a soft rule (the plan may break it at its penalty); the message
    says what is wrong in the plan's own terms.
    """

    unit: str
    unit_name: str
    rule_id: str
    citation: str
    message: str
    hard: bool = True

    def __str__(self) -> str:
        soft = " (soft rule, penalised)" if not self.hard else ""
        return f"{self.unit_name}: {self.rule_id} ({self.citation}){soft}: {self.message}"


@dataclass(frozen=True)
class RuleStatus:
    """A rule's result over a whole plan: how many units it applied to and how many broke it."""

    rule: Rule
    units_checked: int
    violations: tuple[Violation, ...]

    @property
    def passed(self) -> bool:
        """True when no unit breaks the rule."""
        return not self.violations


def check_unit(unit: Unit, plan: UnitPlan, rules: Sequence[Rule]) -> list[Violation]:
    """Violations of every applicable rule by one unit's plan."""
    out = []
    for rule in rules:
        if type(rule).stage != "communities" or not rule.applies(unit):
            continue
        for message in rule.check(unit, plan):
            out.append(Violation(unit.id, unit.name, rule.id, rule.citation, message, rule.hard))
    return out


def check_plan(plan: Plan, units: Sequence[Unit], rules: Sequence[Rule]) -> list[RuleStatus]:
    """Check every rule on every unit of a plan; one RuleStatus per rule, in rule order.

    A unit without a plan (infeasible, or missing from a hand-made layout) counts as a
    violation of the coverage rule, so an incomplete plan never passes.
    """
    found: dict[str, list[Violation]] = {r.id: [] for r in rules}
    checked: dict[str, int] = {r.id: 0 for r in rules}
    for unit in units:
        up = plan.units.get(unit.id)
        for rule in rules:
            if type(rule).stage == "communities" and rule.applies(unit):
                checked[rule.id] += 1
        if up is None or not up.solved:
            coverage = next((r for r in rules if r.kind == "coverage" and r.enabled), None)
            if coverage is not None:
                why = "; ".join(up.explanation[:1]) if up is not None and up.explanation else "no plan for this unit"
                found[coverage.id].append(Violation(unit.id, unit.name, coverage.id, coverage.citation,
                                                    f"{len(unit.townships)} townships are in no community ({why})"))
            continue
        for v in check_unit(unit, up, rules):
            found[v.rule_id].append(v)
    return [RuleStatus(r, checked[r.id], tuple(found[r.id])) for r in rules if r.enabled and type(r).stage == "communities"]


def compliance_lines(statuses: Sequence[RuleStatus]) -> list[str]:
    """One line per rule (PASS/FAIL with its citation), then one line per violation."""
    lines = []
    for s in statuses:
        mark = "PASS" if s.passed else ("SOFT" if not s.rule.hard else "FAIL")
        lines.append(f"{mark}  {s.rule.id} ({s.rule.citation}): {s.rule.heading()} — {s.units_checked} units, "
                     f"{len(s.violations)} violations")
        lines.extend(f"      {v}" for v in s.violations)
    return lines
