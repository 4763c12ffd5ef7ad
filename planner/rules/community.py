"""Rules that shape communities and city grids: count, leads, coverage, contiguity, balance, travel, pins."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..milp import LinExpr
from ..vocabulary import AdminLevel, FacilityKind, Grade
from .base import KindField, Rule, Selector, register

if TYPE_CHECKING:
    from ..districting import DistrictingModel
    from ..plan import Community, UnitPlan
    from ..region import Region
    from ..units import Unit


def _int_penalty(value: float | None) -> int | None:
    # CP-SAT needs integer objective coefficients; penalties are person-minutes.
    return None if value is None else max(1, int(round(value)))


def _range_words(lo: int | None, hi: int | None, noun: str) -> str:
    if noun and (hi if hi is not None else lo) == 1:
        noun = noun.replace("communities", "community").replace("grids", "grid")
    if lo is not None and hi is not None:
        return f"exactly {lo} {noun}" if lo == hi else f"{lo}-{hi} {noun}"
    if hi is not None:
        return f"at most {hi} {noun}"
    return f"at least {lo} {noun}"


def _community_population(unit: Unit, c: Community) -> int:
    return int(sum(unit.population[unit.index[t]] for t in c.townships if t in unit.index))


@register
class CommunityCount(Rule):
    """How many communities (or grids) a unit forms: `min` and/or `max`.

    Example: at most 3 per county (000 (二)), 1-2 (001 (四)), exactly 1 (002 (二)).
    """

    kind: Literal["community_count"] = "community_count"
    min: int | None = Field(default=None, ge=1)
    max: int | None = Field(default=None, ge=1)
    soft_ok = True

    @model_validator(mode="after")
    def _range(self) -> CommunityCount:
        if self.min is None and self.max is None:
            msg = "give `min`, `max` or both"
            raise ValueError(msg)
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"min = {self.min} is greater than max = {self.max}"
            raise ValueError(msg)
        return self

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        dm.add_count(self.min, self.max, self.id, penalty=_int_penalty(self.soft_penalty))

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        k = len(plan.communities)
        if (self.min is not None and k < self.min) or (self.max is not None and k > self.max):
            return [f"{k} {'communities' if unit.scope == 'county' else 'grids'}; the rule allows "
                    f"{_range_words(self.min, self.max, '')}".rstrip()]
        return []

    def describe(self) -> str:
        noun = "communities per county" if self.scope == "county" else "grids per city"
        return _range_words(self.min, self.max, noun)

    def detail(self, unit: Unit) -> str:
        return f"must form {_range_words(self.min, self.max, 'communities' if unit.scope == 'county' else 'grids')}"


@register
class LeadEligibility(Rule):
    """Who may lead: `lead` selects eligible hospitals (kinds, min_grade, ownership, level).

    `allow_secondary_capable_primary` also admits primary institutions with secondary-level
    capability (004 1.); `city_level_fallback` admits the city's own hospitals where no
    county-level hospital qualifies (001 (四)).
    """

    kind: Literal["lead_eligibility"] = "lead_eligibility"
    lead: Selector
    allow_secondary_capable_primary: bool = False
    city_level_fallback: bool = False
    soft_ok = True

    def _eligible(self, frame: pd.DataFrame) -> pd.Series:
        ok = self.lead.matches(frame)
        if self.allow_secondary_capable_primary:
            primary = frame["kind"].isin([k.value for k in FacilityKind if k.is_primary])
            ok |= primary & frame["secondary_capability"].astype(bool)
        return ok

    def _fallback_selector(self) -> Selector:
        return self.lead.model_copy(update={"admin_levels": [AdminLevel.CITY]})

    def _in_unit_eligible(self, unit: Unit) -> list[str]:
        frame = unit.candidate_frame[unit.candidate_frame["township_code"].isin(unit.index)]
        return list(frame.index[self._eligible(frame)])

    def extra_candidates(self, unit: Unit, region: Region) -> list[str]:
        if not self.city_level_fallback or self._in_unit_eligible(unit):
            return []
        pool = region.facilities[region.facilities["county_code"].isin(region.city_counties(unit.city_code))]
        return sorted(pool.index[self._fallback_selector().matches(pool)])

    def eligible(self, unit: Unit) -> set[str]:
        """Candidate leads of the unit that this rule admits."""
        ok = set(self._in_unit_eligible(unit))
        if self.city_level_fallback and not ok:
            outside = unit.candidate_frame[~unit.candidate_frame["township_code"].isin(unit.index)]
            ok |= set(outside.index[self._fallback_selector().matches(outside)])
        return ok

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        ok = self.eligible(unit)
        penalty = _int_penalty(self.soft_penalty)
        for f, fid in enumerate(unit.candidates):
            if fid in ok:
                continue
            if penalty is None:
                dm.fix_open(f, 0, self.id)
            else:
                dm.penalise_open(f, penalty)

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        ok = self.eligible(unit)
        out = []
        for c in plan.communities:
            if c.lead not in ok:
                out.append(f"lead {_facility_words(unit, c.lead)} is not eligible: needs {self._words()}")
        return out

    def _words(self) -> str:
        words = self.lead.words()
        if self.allow_secondary_capable_primary:
            words += ", or a primary institution with secondary-level capability"
        if self.city_level_fallback:
            words += " (city-level hospitals where no county-level one qualifies)"
        return words

    def describe(self) -> str:
        return f"leads are {self._words()}"

    def detail(self, unit: Unit) -> str:
        ok = self.eligible(unit)
        if ok:
            return f"eligible leads are {', '.join(sorted(_facility_words(unit, f) for f in ok))}"
        hospitals = unit.candidate_frame.sort_values("grade", ascending=False)
        best = ", ".join(_facility_words(unit, f) for f in hospitals.index[:3]) or "none"
        keys = []
        if self.lead.min_grade is not None:
            keys.append(f"`lead.min_grade = {self.lead.min_grade.zh}`")
        if self.lead.kinds is not None:
            keys.append("`lead.kinds`")
        if self.lead.ownership is not None:
            keys.append("`lead.ownership`")
        if self.lead.admin_levels is not None:
            keys.append("`lead.admin_levels`")
        return f"{' / '.join(keys) or 'the lead rule'} leaves no eligible lead (hospitals there: {best})"


def _facility_words(unit: Unit, fid: str) -> str:
    frame = unit.candidate_frame if fid in unit.candidate_frame.index else unit.facilities
    if fid not in frame.index:
        return fid
    row = frame.loc[fid]
    return f"{row['name']} ({Grade(int(row['grade'])).zh})"


@register
class MustLead(Rule):
    """Facilities that must each lead a community, optionally covering a minimum population share.

    Example: every public secondary-or-higher TCM hospital leads a community covering >= 30 %
    of the county (001 (四)); the county people's hospital leads the one community (002 (二)).
    `at_least_one` makes a unit without any such facility a conflict rather than a pass.
    """

    kind: Literal["must_lead"] = "must_lead"
    who: Selector
    min_population_share: float | None = Field(default=None, gt=0, le=1)
    at_least_one: bool = False
    soft_ok = True

    def required(self, unit: Unit) -> list[str]:
        """Facilities of the unit that must lead."""
        return list(unit.facilities.index[self.who.matches(unit.facilities)])

    def _share_target(self, unit: Unit) -> int:
        assert self.min_population_share is not None
        return int(math.ceil(self.min_population_share * unit.total_population - 1e-9))

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        must = self.required(unit)
        penalty = _int_penalty(self.soft_penalty)
        if self.at_least_one and not must:
            dm.model.add(LinExpr(), lb=1, name=f"{self.id}:none_in_unit", group=self.id)
            return
        for fid in must:
            if fid not in unit.candidates:
                dm.model.add(LinExpr(), lb=1, name=f"{self.id}:{fid}_cannot_lead", group=self.id)
                continue
            f = unit.candidates.index(fid)
            if penalty is None:
                dm.fix_open(f, 1, self.id)
            else:
                # Charge the penalty unless the facility leads: penalty * (1 - open).
                dm.model.minimize([(-penalty, dm.y[f])], constant=penalty)
            if self.min_population_share is not None:
                target = self._share_target(unit)
                dm._bounded(dm.group_population(f), target, None, self.id, f"{self.id}:share[{f}]", penalty,
                            scale=unit.total_population, gate=dm.y[f])

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        out = []
        must = self.required(unit)
        if self.at_least_one and not must:
            out.append(f"no facility in {unit.name} is {self.who.words()}")
        led = {c.lead: c for c in plan.communities}
        for fid in must:
            if fid not in led:
                out.append(f"{_facility_words(unit, fid)} must lead a community but does not")
            elif self.min_population_share is not None:
                pop = _community_population(unit, led[fid])
                target = self._share_target(unit)
                if pop < target:
                    out.append(f"the community led by {_facility_words(unit, fid)} covers {pop:,} residents "
                               f"({pop / max(unit.total_population, 1):.1%}), below {self.min_population_share:.0%} ({target:,})")
        return out

    def describe(self) -> str:
        share = f", each covering at least {self.min_population_share:.0%} of the population" if self.min_population_share else ""
        return f"every {self.who.words()} leads a community{share}"

    def detail(self, unit: Unit) -> str:
        must = self.required(unit)
        if not must:
            return f"there is no {self.who.words()}"
        names = ", ".join(_facility_words(unit, f) for f in must)
        share = f" covering >= {self.min_population_share:.0%} of {unit.total_population:,} residents" if self.min_population_share else ""
        return f"{names} must lead{share}"


@register
class Coverage(Rule):
    """Every township belongs to exactly one community or grid (the whole resident population).

    Soft, a township may stay out at `penalty` person-minutes per resident.
    """

    kind: Literal["coverage"] = "coverage"
    soft_ok = True

    def applies(self, unit: Unit) -> bool:
        return self.enabled and self.covers(unit)

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        seen: dict[str, list[str]] = {}
        for c in plan.communities:
            for t in c.townships:
                seen.setdefault(t, []).append(c.lead)
        out = []
        missing = [t for t in unit.townships if t not in seen]
        if missing:
            pop = int(sum(unit.population[unit.index[t]] for t in missing))
            names = ", ".join(f"{unit.township_names[unit.index[t]]} ({t})" for t in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            out.append(f"{len(missing)} townships ({pop:,} residents) are in no community: {names}{more}")
        for t, leads in seen.items():
            if len(leads) > 1:
                out.append(f"township {t} is in {len(leads)} communities ({', '.join(leads)})")
            if t not in unit.index:
                out.append(f"township {t} is not part of {unit.name}")
        return out

    def describe(self) -> str:
        return "every township is in exactly one community or grid"

    def detail(self, unit: Unit) -> str:
        return f"all {len(unit.townships)} townships ({unit.total_population:,} residents) must be covered"


def community_is_connected(unit: Unit, c: Community) -> bool:
    """Whether a community's townships (plus its lead's own township) form a connected set."""
    nodes = set(c.townships)
    root = unit.candidate_frame["township_code"].get(c.lead) if c.lead in unit.candidate_frame.index else None
    if root is None and c.lead in unit.facilities.index:
        root = unit.facilities.at[c.lead, "township_code"]
    if root in unit.index:
        nodes.add(str(root))
    nodes &= set(unit.graph.nodes)
    return len(nodes) <= 1 or nx.is_connected(unit.graph.subgraph(nodes))


@register
class Contiguity(Rule):
    """Each community (grid) is one connected area, through shared borders or island links."""

    kind: Literal["contiguity"] = "contiguity"

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        dm.add_contiguity(self.id)

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        return [f"the community led by {_facility_words(unit, c.lead)} is not contiguous"
                for c in plan.communities if not community_is_connected(unit, c)]

    def describe(self) -> str:
        return "every community is contiguous"

    def detail(self, unit: Unit) -> str:
        return "communities must be contiguous"


@register
class PopulationBalance(Rule):
    """Each community's population between bounds: shares of the unit and/or absolute numbers."""

    kind: Literal["population_balance"] = "population_balance"
    min_share: float | None = Field(default=None, ge=0, le=1)
    max_share: float | None = Field(default=None, ge=0, le=1)
    min_population: int | None = Field(default=None, ge=0)
    max_population: int | None = Field(default=None, ge=0)
    soft_ok = True

    @model_validator(mode="after")
    def _range(self) -> PopulationBalance:
        if all(v is None for v in (self.min_share, self.max_share, self.min_population, self.max_population)):
            msg = "give at least one of min_share, max_share, min_population, max_population"
            raise ValueError(msg)
        if self.min_share is not None and self.max_share is not None and self.min_share > self.max_share:
            msg = f"min_share = {self.min_share} is greater than max_share = {self.max_share}"
            raise ValueError(msg)
        if self.min_population is not None and self.max_population is not None and self.min_population > self.max_population:
            msg = f"min_population = {self.min_population} is greater than max_population = {self.max_population}"
            raise ValueError(msg)
        return self

    def bounds(self, unit: Unit) -> tuple[int | None, int | None]:
        """(lowest, highest) population allowed per community in this unit."""
        total = unit.total_population
        los = [v for v in (None if self.min_share is None else int(math.ceil(self.min_share * total - 1e-9)),
                           self.min_population) if v is not None]
        his = [v for v in (None if self.max_share is None else int(math.floor(self.max_share * total + 1e-9)),
                           self.max_population) if v is not None]
        return (max(los) if los else None, min(his) if his else None)

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        lo, hi = self.bounds(unit)
        dm.add_balance(lo, hi, self.id, penalty=_int_penalty(self.soft_penalty))

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        lo, hi = self.bounds(unit)
        out = []
        for c in plan.communities:
            pop = _community_population(unit, c)
            if (lo is not None and pop < lo) or (hi is not None and pop > hi):
                allowed = f"{lo or 0:,}-{hi:,}" if hi is not None else f"at least {lo:,}"
                out.append(f"the community led by {_facility_words(unit, c.lead)} has {pop:,} residents, "
                           f"outside {allowed}")
        return out

    def describe(self) -> str:
        parts = []
        if self.min_share is not None or self.max_share is not None:
            parts.append(f"{(self.min_share or 0):.0%}-{(self.max_share if self.max_share is not None else 1):.0%} of the population")
        if self.min_population is not None or self.max_population is not None:
            parts.append(f"{self.min_population or 0:,}-{self.max_population if self.max_population is not None else 'any'} residents")
        return "each community has " + " and ".join(parts)

    def detail(self, unit: Unit) -> str:
        lo, hi = self.bounds(unit)
        return f"each community needs {lo or 0:,}-{hi if hi is not None else 'any'} residents of {unit.total_population:,}"


@register
class MaxTravel(Rule):
    """No township more than `max_minutes` from its lead (soft: penalty per resident-minute beyond)."""

    kind: Literal["max_travel"] = "max_travel"
    max_minutes: float = Field(gt=0)
    soft_ok = True

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        penalty = self.soft_penalty
        for (i, f), var in dm.x.items():
            over = float(unit.minutes[i, f]) - self.max_minutes
            if over <= 0:
                continue
            if penalty is None:
                dm.forbid(i, f, self.id)
            else:
                dm.model.minimize([(int(round(penalty * over * int(unit.population[i]))), var)])

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        out = []
        for c in plan.communities:
            minutes = unit.minutes_to(c.lead, unit.candidate_frame if c.lead in unit.candidate_frame.index else unit.facilities)
            for t in c.townships:
                if t in unit.index and minutes[unit.index[t]] > self.max_minutes + 1e-9:
                    out.append(f"{unit.township_names[unit.index[t]]} ({t}) is {minutes[unit.index[t]]:.1f} min from its lead "
                               f"{_facility_words(unit, c.lead)}, over {self.max_minutes:g}")
        return out

    def describe(self) -> str:
        return f"every township within {self.max_minutes:g} minutes of its lead"

    def detail(self, unit: Unit) -> str:
        far = [unit.township_names[i] for i in range(len(unit.townships))
               if unit.minutes.size and float(np.min(unit.minutes[i])) > self.max_minutes]
        if far:
            return f"{', '.join(far[:3])} lie more than {self.max_minutes:g} min from every candidate lead"
        return f"every township within {self.max_minutes:g} min of its lead"


@register
class Pin(Rule):
    """A reviewer's pin: these townships stay with this lead."""

    kind: Literal["pin"] = "pin"
    townships: list[str] = Field(min_length=1)
    lead: str = Field(min_length=1)

    def applies(self, unit: Unit) -> bool:
        return self.enabled and any(t in unit.index for t in self.townships)

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        if self.lead not in unit.candidates:
            dm.model.add(LinExpr(), lb=1, name=f"{self.id}:lead_not_candidate", group=self.id)
            return
        f = unit.candidates.index(self.lead)
        dm.fix_open(f, 1, self.id)
        for t in self.townships:
            if t in unit.index:
                dm.pin(unit.index[t], f, self.id)

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        assignment = plan.assignment()
        return [f"township {t} is with {assignment.get(t, 'no lead')}, pinned to {self.lead}"
                for t in self.townships if t in unit.index and assignment.get(t) != self.lead]

    def describe(self) -> str:
        return f"townships {', '.join(self.townships)} stay with {self.lead}"

    def detail(self, unit: Unit) -> str:
        if self.lead not in unit.candidates:
            return f"pinned lead {self.lead} cannot lead here (not a hospital of {unit.name})"
        return f"{', '.join(t for t in self.townships if t in unit.index)} pinned to {_facility_words(unit, self.lead)}"


@register
class ForbidLead(Rule):
    """A reviewer's veto: these facilities must not lead."""

    kind: Literal["forbid_lead"] = "forbid_lead"
    facilities: list[str] = Field(min_length=1)

    def applies(self, unit: Unit) -> bool:
        return self.enabled and any(f in unit.candidates for f in self.facilities)

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        for fid in self.facilities:
            if fid in unit.candidates:
                dm.fix_open(unit.candidates.index(fid), 0, self.id)

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        return [f"{_facility_words(unit, c.lead)} leads but must not" for c in plan.communities if c.lead in self.facilities]

    def describe(self) -> str:
        return f"{', '.join(self.facilities)} must not lead"

    def detail(self, unit: Unit) -> str:
        names = [_facility_words(unit, f) for f in self.facilities if f in unit.candidates]
        return f"{', '.join(names)} may not lead"


@register
class CityGrid(Rule):
    """City grids: which county-level units form the city's grid area, and at least `min_grids` grids.

    `members = "districts"` puts every 区 of a city into one city unit (003 1.: urban districts
    not in a county community join a city medical group); 县 and 县级市 stay county units.
    """

    kind: Literal["city_grid"] = "city_grid"
    scope: Literal["city"] = "city"
    members: Literal["districts", "all"] = "districts"
    min_grids: int = Field(default=2, ge=1)
    max_grids: int | None = Field(default=None, ge=1)
    soft_ok = True

    @model_validator(mode="after")
    def _range(self) -> CityGrid:
        if self.max_grids is not None and self.max_grids < self.min_grids:
            msg = f"min_grids = {self.min_grids} is greater than max_grids = {self.max_grids}"
            raise ValueError(msg)
        return self

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        dm.add_count(self.min_grids, self.max_grids, self.id, penalty=_int_penalty(self.soft_penalty))

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        k = len(plan.communities)
        if k < self.min_grids or (self.max_grids is not None and k > self.max_grids):
            return [f"{k} grids; the rule asks for {_range_words(self.min_grids, self.max_grids, 'grids')}"]
        return []

    def describe(self) -> str:
        who = "the urban districts (区)" if self.members == "districts" else "all county-level units"
        return f"{who} of each city form {_range_words(self.min_grids, self.max_grids, 'grids')}"

    def detail(self, unit: Unit) -> str:
        return f"must form {_range_words(self.min_grids, self.max_grids, 'grids')}"


def plan_members(unit: Unit, plan: UnitPlan, across: set[str]) -> dict[str, list[str]]:
    """Facility id -> ids of the communities it belongs to.

    A lead belongs to the community it leads (even when it sits in a town of another: two
    hospitals in one county seat); kinds in `across` serve every community of the unit; any
    other facility belongs to the community of the township it sits in.
    """
    community_of = {t: c.id for c in plan.communities for t in c.townships}
    out: dict[str, list[str]] = {c.lead: [c.id] for c in plan.communities}
    all_ids = [c.id for c in plan.communities]
    f = unit.facilities
    for fid, kind, town in zip(f.index, f["kind"], f["township_code"]):
        if str(fid) in out:
            continue
        if kind in across:
            out[str(fid)] = list(all_ids)
        elif town in community_of:
            out[str(fid)] = [community_of[town]]
    return out


@register
class GridMembership(Rule):
    """Each grid contains every selected hospital inside it; some kinds may serve across grids.

    In plans the planner makes, a facility belongs to the grid of its township, so this holds
    by construction; the check verifies any plan, including membership lists made by hand.
    """

    kind: Literal["grid_membership"] = "grid_membership"
    scope: Literal["city"] = "city"
    hospitals: Selector
    may_serve_across: list[KindField] = Field(default_factory=list)

    def check(self, unit: Unit, plan: UnitPlan, members: dict[str, list[str]] | None = None) -> list[str]:
        across = {k.value for k in self.may_serve_across}
        members = members if members is not None else plan_members(unit, plan, across)
        community_of = {t: c.id for c in plan.communities for t in c.townships}
        led = {c.lead: c.id for c in plan.communities}
        out = []
        selected = unit.facilities[self.hospitals.matches(unit.facilities)]
        for fid, row in selected.iterrows():
            # A lead's grid is the one it leads; any other hospital's is the grid of its town.
            home = led.get(str(fid), community_of.get(row["township_code"]))
            have = members.get(str(fid), [])
            if home is None:
                out.append(f"{row['name']} lies in township {row['township_code']}, which is in no grid")
            elif home not in have:
                out.append(f"{row['name']} lies in grid {home} but is not its member")
            elif len(have) > 1 and row["kind"] not in across:
                out.append(f"{row['name']} is a member of {len(have)} grids; only {', '.join(sorted(across)) or 'none'} may serve across")
        return out

    def describe(self) -> str:
        across = ", ".join(k.zh for k in self.may_serve_across)
        tail = f"; {across} may serve across grids" if across else ""
        return f"each grid contains every {self.hospitals.words()} inside it{tail}"

    def detail(self, unit: Unit) -> str:
        return f"grids contain their {self.hospitals.words()}"
