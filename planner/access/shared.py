"""Shared centers per community: the host of each center and the daily courier round trips to the members."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..plan import Community, Plan
from ..region import Region
from ..travel import Points, TravelModel
from .matrix import slim
from .routing import plan_trips
from .rules import SharedCenters

MEMBER_KINDS = ("township_health_center", "community_health_center")
"""Members the courier visits: the community's township and community health centers."""


@dataclass(frozen=True)
class HostChoice:
    """Who hosts one shared center of one community.

    `status`: "existing" (the host can host it now), "to_build" (no member can; the lead is
    proposed to build it), "missing" (a required center no member can host: a violation).
    """

    community: str
    unit: str
    county: str
    lead: str
    center: str
    host: str
    status: str
    required: bool


@dataclass(frozen=True)
class CourierTrip:
    """One daily round trip of a host's courier: its stops in order and its minutes."""

    community: str
    unit: str
    county: str
    host: str
    trip: int
    stops: tuple[str, ...]
    minutes: float
    status: str


@dataclass
class SharedPlan:
    """Hosts and courier trips of every community the rule covers."""

    rule: SharedCenters
    hosts: list[HostChoice] = field(default_factory=list)
    trips: list[CourierTrip] = field(default_factory=list)


class FacilityIndex:
    """The region's facilities (village clinics left out) by township, built once for every community."""

    def __init__(self, region: Region) -> None:
        fac = region.facilities
        # Context hospitals (other counties of the city) stay in the frame: one may lead a community.
        self.frame = slim(fac[fac["kind"] != "village_clinic"])
        own = self.frame[~self.frame["context"]]
        self.by_town: dict[str, list[str]] = {}
        for fid, town in zip(own.index, own["township_code"].astype(str)):
            self.by_town.setdefault(town, []).append(str(fid))

    def members(self, c: Community) -> pd.DataFrame:
        """The community's facilities (other than village clinics) in its townships."""
        ids = sorted(f for t in c.townships for f in self.by_town.get(t, []))
        return self.frame.loc[ids]


def choose_host(fac: pd.DataFrame, here: pd.DataFrame, c: Community, center: str, rule: SharedCenters,
                minutes_to: dict[str, float]) -> tuple[str, str]:
    """(host, status) for one center: the lead if it can host it, else the central THC nearest its members, else build at the lead."""
    if center in fac.columns and c.lead in fac.index and bool(fac.at[c.lead, center]):
        return c.lead, "existing"
    if rule.hosts == "lead_or_central" and center in here.columns:
        able = [f for f, k, central, ok in zip(here.index, here["kind"], here["central_thc"], here[center])
                if k == "township_health_center" and central and ok]
        if able:
            return str(min(able, key=lambda f: (minutes_to.get(f, np.inf), f))), "existing"
    return c.lead, ("missing" if center in rule.required else "to_build")


def plan_shared(region: Region, plan: Plan, rule: SharedCenters, travel: TravelModel,
                scopes: dict[str, tuple[str, tuple[str, ...], str]]) -> SharedPlan:
    """Hosts and courier trips per community of the plan that the rule covers.

    `scopes` maps a unit id to (scope, county codes, city code), to tell which units the rule covers.
    """
    out = SharedPlan(rule)
    index = FacilityIndex(region)
    fac = index.frame
    for c in sorted(plan.communities(), key=lambda c: c.id):
        scope, counties, city = scopes.get(c.unit, ("county", (c.unit,), ""))
        if not rule.applies_to(scope, counties, city) or c.lead not in fac.index:
            continue
        county = str(fac.at[c.lead, "county_code"])
        here = index.members(c)
        stops = sorted(f for f in here.index[here["kind"].isin(MEMBER_KINDS)] if f != c.lead)
        ids = [c.lead, *[f for f in stops]]
        cand = sorted(set(here.index[(here["kind"] == "township_health_center") & here["central_thc"].astype(bool)]))
        pts = index.frame.loc[list(dict.fromkeys(ids + cand))]
        everyone = Points.from_xy(list(pts.index), pts["lon"], pts["lat"])
        t_all = travel.minutes(everyone, everyone)
        pos = {f: k for k, f in enumerate(pts.index)}
        member_pos = [pos[f] for f in ids]
        minutes_to = {f: float(t_all[pos[f], member_pos].sum()) for f in pts.index}
        hosts_here: list[str] = []
        for center in rule.centers:
            host, status = choose_host(fac, here, c, center, rule, minutes_to)
            out.hosts.append(HostChoice(c.id, c.unit, county, c.lead, center, host, status, center in rule.required))
            if host not in hosts_here:
                hosts_here.append(host)
        for host in hosts_here:
            visit = [f for f in ids if f != host]
            order = [pos[host], *[pos[f] for f in visit]]
            t = t_all[np.ix_(order, order)]
            trips = plan_trips(t, rule.max_round_trip_min, rule.stop_min, time_limit_s=rule.routing_time_limit_s)
            for k, (trip, minutes) in enumerate(zip(trips.trips, trips.minutes), start=1):
                status = "OVER_LIMIT" if set(trip) & set(trips.over_limit) else trips.status
                out.trips.append(CourierTrip(c.id, c.unit, county, host, k, tuple(visit[s - 1] for s in trip),
                                             round(minutes, 2), status))
    return out
