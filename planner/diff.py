"""Compare two plans: townships that moved, leads that changed, objective before and after."""

from __future__ import annotations

from .plan import Plan
from .region import Region


def diff_lines(before: Plan, after: Plan, region: Region, limit: int = 20) -> list[str]:
    """Lines describing what changed from `before` to `after`, within `region`.

    Only the region's townships and units are compared, so a re-solve of one county against
    a whole-province plan shows what changed in that county.
    """
    inside = set(region.townships.index)
    a = {t: lead for t, lead in before.assignment().items() if t in inside}
    b = {t: lead for t, lead in after.assignment().items() if t in inside}
    names = region.townships["name"].to_dict()
    fac = region.facilities["name"].to_dict()
    moved = sorted(t for t in set(a) | set(b) if a.get(t) != b.get(t))
    leads_a, leads_b = set(a.values()), set(b.values())
    units = set(after.units)
    obj_a = sum(u.objective or 0.0 for uid, u in before.units.items() if uid in units)
    obj_b = sum(u.objective or 0.0 for u in after.units.values())
    lines = [f"Diff: {len(moved)} townships moved; leads added {len(leads_b - leads_a)}, removed {len(leads_a - leads_b)}; "
             f"objective {obj_a:,.0f} -> {obj_b:,.0f} person-minutes ({obj_b - obj_a:+,.0f})"]
    for lead in sorted(leads_a - leads_b):
        lines.append(f"  lead removed: {fac.get(lead, lead)} ({lead})")
    for lead in sorted(leads_b - leads_a):
        lines.append(f"  lead added: {fac.get(lead, lead)} ({lead})")
    for t in moved[:limit]:
        lines.append(f"  {names.get(t, t)} ({t}): {fac.get(a.get(t), a.get(t) or '-')} -> {fac.get(b.get(t), b.get(t) or '-')}")
    if len(moved) > limit:
        lines.append(f"  ... and {len(moved) - limit} more (see the plan's assignments.csv)")
    return lines


def diff_table(before: Plan, after: Plan) -> list[dict[str, str]]:
    """One row per township whose lead changed: code, lead before, lead after."""
    a, b = before.assignment(), after.assignment()
    return [{"township_code": t, "lead_before": a.get(t, ""), "lead_after": b.get(t, "")}
            for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t)]
