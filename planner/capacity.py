"""Reserved capacity of city medical group leads: slots and beds to keep for family-doctor teams (003 9.)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from .plan import Plan
from .region import Region
from .rules.service import ReservedCapacity


def reserved_capacity(region: Region, plan: Plan, rules: Sequence) -> pd.DataFrame:
    """One row per city-grid lead: slots and beds to reserve, the grid's expected demand, and a flag.

    A lead is flagged when it has no outpatient slots or beds on record, or when the share it
    must reserve is below the referral demand the rule's rates give for its grid's residents.
    Empty without an enabled reserved_capacity rule.
    """
    rule: ReservedCapacity | None = next((r for r in rules if r.enabled and r.kind == "reserved_capacity"), None)
    columns = ["unit", "community_id", "lead_id", "lead_name", "grid_population", "outpatient_slots_per_day",
               "reserve_slots_per_day", "referral_visits_per_day", "beds", "reserve_beds", "referral_beds", "flag"]
    if rule is None:
        return pd.DataFrame(columns=columns)
    fac, towns = region.facilities, region.townships
    rows = []
    for u in plan.units.values():
        if u.scope != rule.scope or not u.solved:
            continue
        for c in u.communities:
            pop = int(towns.loc[[t for t in c.townships if t in towns.index], "population"].sum())
            slots = int(fac.at[c.lead, "daily_outpatient_slots"] or 0)
            beds = int(fac.at[c.lead, "beds"] or 0)
            reserve_slots = math.ceil(slots * rule.outpatient_share - 1e-9)
            reserve_beds = math.ceil(beds * rule.bed_share - 1e-9)
            demand_visits = math.ceil(pop / 10_000 * rule.referral_visits_per_10k_per_day)
            demand_beds = math.ceil(pop / 10_000 * rule.referral_beds_per_10k)
            flags = []
            if slots == 0 or beds == 0:
                flags.append("no outpatient slots or beds on record")
            if reserve_slots < demand_visits:
                flags.append(f"reserved slots {reserve_slots:,} < expected referrals {demand_visits:,}/day")
            if reserve_beds < demand_beds:
                flags.append(f"reserved beds {reserve_beds:,} < expected referral beds {demand_beds:,}")
            rows.append({"unit": u.unit, "community_id": c.id, "lead_id": c.lead, "lead_name": fac.at[c.lead, "name"],
                         "grid_population": pop, "outpatient_slots_per_day": slots, "reserve_slots_per_day": reserve_slots,
                         "referral_visits_per_day": demand_visits, "beds": beds, "reserve_beds": reserve_beds,
                         "referral_beds": demand_beds, "flag": "; ".join(flags)})
    return pd.DataFrame(rows, columns=columns)
