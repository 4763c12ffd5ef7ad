"""Contradictions between the rules of one file, found before any solve (a rule that must lead and may not)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..i18n import Text
from .base import Rule
from .community import LeadEligibility, MustLead


@dataclass(frozen=True)
class Contradiction:
    """Two rules that cannot both hold wherever both apply: which, why, and how to fix it."""

    rule: str
    other: str
    message: Text
    fix: Text


def _overlap(a: Rule, b: Rule) -> bool:
    """Whether two rules can apply to the same unit (same scope, and their `counties` lists meet)."""
    if a.scope != b.scope:
        return False
    return a.counties is None or b.counties is None or bool(set(a.counties) & set(b.counties))


def contradictions(rules: Sequence[Rule]) -> list[Contradiction]:
    """Every pair of enabled hard rules that contradict each other.

    A `must_lead` rule whose `who` admits facilities the unit's `lead_eligibility` rule does not
    (neither by its `lead` selector nor by an exception that always holds) would make every
    county with such a facility infeasible: the facility must lead and may not (001 (四) as
    first encoded: 中西医结合/民族医 hospitals in `county.tcm_leads` but not in `county.lead`).
    """
    out = []
    enabled = [r for r in rules if r.enabled and r.hard]
    leads = [r for r in enabled if isinstance(r, LeadEligibility)]
    for must in (r for r in enabled if isinstance(r, MustLead)):
        for lead in leads:
            if not _overlap(must, lead):
                continue
            if any(e.when == "always" and must.who.implies(e.who) for e in lead.all_exceptions):
                continue
            gaps = must.who.looser_than(lead.lead)
            if not gaps:
                continue
            en = "; ".join(g.en for g in gaps)
            zh = "；".join(g.zh for g in gaps)
            out.append(Contradiction(
                must.id, lead.id,
                Text(f"requires {must.who.words().en} to lead, but rule {lead.id} admits only {lead.lead.words().en} "
                     f"(not admitted: {en}); such a facility would have to lead and could not",
                     f"要求{must.who.words().zh}牵头，但规则{lead.id}只允许{lead.lead.words().zh}牵头（不允许：{zh}）；"
                     "这类机构将既须牵头又不得牵头"),
                Text(f"make the two agree: narrow `who` of {must.id} (e.g. drop those kinds from who.kinds) or widen "
                     f"`lead` of {lead.id}",
                     f"使两条规则一致：收窄{must.id}的 who（如从 who.kinds 去掉这些类别），或放宽{lead.id}的 lead")))
    return out
