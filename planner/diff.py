"""Compare two plans: townships that moved, leads that changed, the rule changes behind them, objective before and after."""

from __future__ import annotations

from collections.abc import Sequence

from .i18n import Text
from .plan import Plan
from .region import Region


def diff_lines(before: Plan, after: Plan, region: Region, limit: int = 20) -> list[Text]:
    """Lines describing what changed from `before` to `after`, within `region` (English, with `.zh`).

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
    added, removed = len(leads_b - leads_a), len(leads_a - leads_b)
    lines = [Text(f"Diff: {len(moved)} townships moved; leads added {added}, removed {removed}; "
                  f"objective {obj_a:,.0f} -> {obj_b:,.0f} person-minutes ({obj_b - obj_a:+,.0f})",
                  f"对比：{len(moved)} 个乡镇调整了医共体；新增牵头医院 {added} 家，不再牵头 {removed} 家；"
                  f"目标值 {obj_a:,.0f} → {obj_b:,.0f} 人·分钟（{obj_b - obj_a:+,.0f}）")]
    for lead in sorted(leads_a - leads_b):
        lines.append(Text(f"  lead removed: {fac.get(lead, lead)} ({lead})", f"  不再牵头：{fac.get(lead, lead)}（{lead}）"))
    for lead in sorted(leads_b - leads_a):
        lines.append(Text(f"  lead added: {fac.get(lead, lead)} ({lead})", f"  新增牵头：{fac.get(lead, lead)}（{lead}）"))
    for t in moved[:limit]:
        was = fac.get(a.get(t), a.get(t) or "-")
        now = fac.get(b.get(t), b.get(t) or "-")
        lines.append(Text(f"  {names.get(t, t)} ({t}): {was} -> {now}", f"  {names.get(t, t)}（{t}）：{was} → {now}"))
    if len(moved) > limit:
        lines.append(Text(f"  ... and {len(moved) - limit} more (see the plan's assignments.csv)",
                          f"  …… 另有 {len(moved) - limit} 个（见规划的 assignments.csv）"))
    return lines


def diff_table(before: Plan, after: Plan) -> list[dict[str, str]]:
    """One row per township whose lead changed: code, lead before, lead after."""
    a, b = before.assignment(), after.assignment()
    return [{"township_code": t, "lead_before": a.get(t, ""), "lead_after": b.get(t, "")}
            for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t)]


_SKIP = {"id", "kind", "title", "note", "source"}


def rule_changes(before: Sequence, after: Sequence) -> list[Text]:
    """What changed between two rule lists (planner.rules.Rule): rules added, removed, and each changed key.

    The "why" of a diff: e.g. "county.max_communities: max 3 -> 2". Rules are matched by id;
    keys are those of the rule file (enabled, hard, min, max, ...).
    """
    a = {r.id: r for r in before}
    b = {r.id: r for r in after}
    out = []
    for rid in sorted(set(a) - set(b)):
        out.append(Text(f"rule removed: {rid} ({a[rid].heading()})", f"删除规则：{a[rid].heading()}（{rid}）"))
    for rid in sorted(set(b) - set(a)):
        out.append(Text(f"rule added: {rid} ({b[rid].heading()})", f"新增规则：{b[rid].heading()}（{rid}）"))
    for rid in sorted(set(a) & set(b)):
        da, db = a[rid].model_dump(mode="json"), b[rid].model_dump(mode="json")
        for key in sorted(set(da) | set(db)):
            if key in _SKIP or da.get(key) == db.get(key):
                continue
            x, y = _value(da.get(key)), _value(db.get(key))
            out.append(Text(f"{rid}: {key} {x} -> {y}", f"{b[rid].heading()}（{rid}）：{key} 由 {x} 改为 {y}"))
    return out


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "—"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)
