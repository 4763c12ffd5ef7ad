"""Shared centers per community: the host of each center and the daily courier round trips to the members."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..plan import Community, Plan
from ..region import Region
from ..schema import SHARED_CENTERS
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


@dataclass(frozen=True)
class _Fac:
    """What host choice and routing need of one facility."""

    fid: str
    kind: str
    central: bool
    county: str
    lon: float
    lat: float
    able: frozenset[str]


class FacilityIndex:
    """The region's facilities (village clinics left out) by township, built once for every community.

    Plain records, not frame look-ups: a province has a few hundred communities, each needing
    a handful of facilities.
    """

    def __init__(self, region: Region) -> None:
        fac = region.facilities
        frame = slim(fac[fac["kind"] != "village_clinic"])
        centers = [c for c in SHARED_CENTERS if c in frame.columns]
        able = {c: frame[c].to_numpy() for c in centers}
        self.records: dict[str, _Fac] = {}
        self.by_town: dict[str, list[str]] = {}
        for k, (fid, kind, central, county, town, lon, lat, ctx) in enumerate(zip(
                frame.index, frame["kind"], frame["central_thc"], frame["county_code"], frame["township_code"],
                frame["lon"], frame["lat"], frame["context"])):
            fid = str(fid)
            # Context hospitals (other counties of the city) are kept as records: one may lead a community.
            self.records[fid] = _Fac(fid, str(kind), bool(central), str(county), float(lon), float(lat),
                                     frozenset(c for c in centers if able[c][k]))
            if not ctx:
                self.by_town.setdefault(str(town), []).append(fid)

    def members(self, c: Community) -> list[_Fac]:
        """The community's facilities (other than village clinics) in its townships, by id."""
        return [self.records[f] for f in sorted(f for t in c.townships for f in self.by_town.get(t, []))]


def choose_host(lead: _Fac, here: list[_Fac], center: str, rule: SharedCenters,
                minutes_to: dict[str, float]) -> tuple[str, str]:
    """(host, status) for one center: the lead if it can host it, else the central THC nearest its members, else build at the lead."""
    if center in lead.able:
        return lead.fid, "existing"
    if rule.hosts == "lead_or_central":
        able = [f.fid for f in here if f.kind == "township_health_center" and f.central and center in f.able]
        if able:
            return min(able, key=lambda f: (minutes_to.get(f, np.inf), f)), "existing"
    return lead.fid, ("missing" if center in rule.required else "to_build")


SHARED_CHUNK = 16
"""Communities per task when the shared centers are planned on worker processes."""


def plan_shared(region: Region, plan: Plan, rule: SharedCenters, travel: TravelModel,
                scopes: dict[str, tuple[str, tuple[str, ...], str]], *, jobs: int = 1, executor: str = "process",
                address: str | None = None) -> SharedPlan:
    """Hosts and courier trips per community of the plan that the rule covers.

    `scopes` maps a unit id to (scope, county codes, city code), to tell which units the rule covers.
    With `jobs` > 1 the communities are planned in chunks on worker processes (planner.executor):
    each community on its own, so the hosts and trips are the same, in the same order.
    """
    return start_shared(region, plan, rule, travel, scopes, jobs=jobs, executor=executor, address=address)()


def start_shared(region: Region, plan: Plan, rule: SharedCenters, travel: TravelModel,
                 scopes: dict[str, tuple[str, tuple[str, ...], str]], *, jobs: int = 1, executor: str = "process",
                 address: str | None = None) -> Callable[[], SharedPlan]:
    """`plan_shared` with its tasks sent to the workers now (planner.executor.start_map); the function
    returned waits for them and gives the SharedPlan, so this process can work in between."""
    from ..executor import start_map

    out = SharedPlan(rule)
    index = FacilityIndex(region)
    tasks = []
    for c in sorted(plan.communities(), key=lambda c: c.id):
        scope, counties, city = scopes.get(c.unit, ("county", (c.unit,), ""))
        lead = index.records.get(c.lead)
        if not rule.applies_to(scope, counties, city) or lead is None:
            continue
        tasks.append((c.id, c.unit, lead, index.members(c)))
    chunks = [(tasks[a:a + SHARED_CHUNK], rule, travel) for a in range(0, len(tasks), SHARED_CHUNK)]
    done = start_map(_plan_chunk, chunks, jobs=jobs, executor=executor, address=address)

    def finish() -> SharedPlan:
        for hosts, trips in done():
            out.hosts += hosts
            out.trips += trips
        return out

    return finish


def _plan_chunk(tasks: list, rule: SharedCenters, travel: TravelModel) -> tuple[list[HostChoice], list[CourierTrip]]:
    """Hosts and trips of a few communities (a worker's task: plain records in, plain records out)."""
    hosts, trips = [], []
    for cid, unit, lead, here in tasks:
        h, t = _plan_community(cid, unit, lead, here, rule, travel)
        hosts += h
        trips += t
    return hosts, trips


def _plan_community(cid: str, unit: str, lead: _Fac, here: list[_Fac], rule: SharedCenters,
                    travel: TravelModel) -> tuple[list[HostChoice], list[CourierTrip]]:
    """The hosts of one community's shared centers and each host's courier trips."""
    out_hosts: list[HostChoice] = []
    out_trips: list[CourierTrip] = []
    stops = [f for f in here if f.kind in MEMBER_KINDS and f.fid != lead.fid]
    cand = [f for f in here if f.kind == "township_health_center" and f.central and f not in stops]
    people = [lead, *stops, *cand]
    pts = Points.from_xy([f.fid for f in people], [f.lon for f in people], [f.lat for f in people])
    t_all = travel.minutes(pts, pts)
    pos = {f.fid: k for k, f in enumerate(people)}
    ids = [lead.fid, *[f.fid for f in stops]]
    member_pos = [pos[f] for f in ids]
    minutes_to = {f.fid: float(t_all[pos[f.fid], member_pos].sum()) for f in people}
    hosts_here: list[str] = []
    for center in rule.centers:
        host, status = choose_host(lead, here, center, rule, minutes_to)
        out_hosts.append(HostChoice(cid, unit, lead.county, lead.fid, center, host, status, center in rule.required))
        if host not in hosts_here:
            hosts_here.append(host)
    for host in hosts_here:
        visit = [f for f in ids if f != host]
        order = [pos[host], *[pos[f] for f in visit]]
        t = t_all[np.ix_(order, order)]
        trips = plan_trips(t, rule.max_round_trip_min, rule.stop_min, time_limit_s=rule.routing_time_limit_s)
        for k, (trip, minutes) in enumerate(zip(trips.trips, trips.minutes), start=1):
            status = "OVER_LIMIT" if set(trip) & set(trips.over_limit) else trips.status
            out_trips.append(CourierTrip(cid, unit, lead.county, host, k, tuple(visit[s - 1] for s in trip),
                                         round(minutes, 2), status))
    return out_hosts, out_trips
