"""Explain why rules cannot all hold in a unit: an irreducible set of conflicting rules, and what relaxing each does."""

from __future__ import annotations

from collections.abc import Sequence

from .districting import DistrictingModel
from .milp import Model, Status, solve
from .rules import Rule
from .units import Unit


def _feasible(model: Model, keep: set[str], all_groups: set[str], time_limit_s: float) -> bool | None:
    sol = solve(model.without(all_groups - keep), "cpsat", time_limit_s=time_limit_s)
    if sol.status is Status.INFEASIBLE:
        return False
    if sol.status in (Status.OPTIMAL, Status.FEASIBLE):
        return True
    return None


def conflict_groups(model: Model, time_limit_s: float = 10.0) -> tuple[str, ...]:
    """An irreducible set of constraint groups that cannot hold together, or () if feasible.

    CP-SAT guards each group with an assumption literal and returns a sufficient set of
    assumptions for infeasibility; a deletion filter then drops every group whose removal
    keeps the rest infeasible, so each group left is needed for the conflict.
    """
    first = solve(model, "cpsat", time_limit_s=time_limit_s, explain=True)
    if first.status is not Status.INFEASIBLE:
        return ()
    all_groups = set(model.groups) - {"structure"}
    core = list(first.conflict) or sorted(all_groups)
    for g in list(core):
        trial = set(core) - {g}
        if _feasible(model, trial, all_groups, time_limit_s) is False:
            core = sorted(trial)
    return tuple(core)


def explain_unit(unit: Unit, rules: Sequence[Rule], dm: DistrictingModel, time_limit_s: float = 10.0) -> list[str]:
    """Lines saying which rules conflict in this unit, in the rules' own words, and what relaxing each would do."""
    model = dm.model
    by_id = {r.id: r for r in rules}
    if not unit.candidates:
        return [f"{unit.name}: no hospital or secondary-capable primary institution can lead here "
                f"({len(unit.facilities)} facilities, none a hospital)"]
    core = conflict_groups(model, time_limit_s)
    if not core:
        return [f"{unit.name}: the solver found no plan within the time limit, but could not prove the rules conflict"]
    named = [by_id[g] for g in core if g in by_id]
    details = "; ".join(dict.fromkeys(r.detail(unit) for r in named))
    lines = [f"{unit.name}: {details}; rules in conflict: {', '.join(r.label() for r in named)}"]
    for r in named:
        sol = solve(model.without({r.id}), "cpsat", time_limit_s=time_limit_s)
        if sol.status in (Status.OPTIMAL, Status.FEASIBLE):
            k = sum(1 for y in dm.y if sol.value(y) > 0.5)
            lines.append(f"  relaxing {r.id}: a plan exists ({k} {'community' if k == 1 else 'communities'}, "
                         f"{sol.objective / max(unit.total_population, 1):.1f} min mean travel incl. penalties)")
        elif sol.status is Status.INFEASIBLE:
            lines.append(f"  relaxing {r.id} alone is not enough")
        else:
            lines.append(f"  relaxing {r.id}: undecided within {time_limit_s:g} s")
    return lines
