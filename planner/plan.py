"""Plans: communities and grids per county or city, with how each was solved and checked."""

from __future__ import annotations

from dataclasses import dataclass, field

from .milp import Status


@dataclass(frozen=True)
class Community:
    """One community (县域医共体) or grid group (城市医疗集团): a lead and its townships.

    Parameters
    ----------
    id
        Stable id: the unit id and the lead, e.g. "330782:H330782-01".
    unit
        The county adcode, or "city:<city code>" for a city grid.
    lead
        Facility id of the lead hospital.
    townships
        Township codes, ordered.
    """

    id: str
    unit: str
    lead: str
    townships: tuple[str, ...]


@dataclass(frozen=True)
class UnitPlan:
    """The plan for one subproblem (a county's communities, or a city's grids).

    `status` is what the solver proved (OPTIMAL only when proven); plans read from a file have
    status None. `objective` is person-minutes of travel to the lead plus soft-rule penalties;
    `travel_person_min` is the travel part alone.
    """

    unit: str
    scope: str
    name: str
    communities: tuple[Community, ...]
    status: Status | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    backend: str = ""
    time_s: float = 0.0
    travel_person_min: float | None = None
    penalties: tuple[tuple[str, float], ...] = ()
    explanation: tuple[str, ...] = ()
    reused: bool = False

    @property
    def solved(self) -> bool:
        """True when the unit has a plan (proven or time-limited)."""
        return self.status in (Status.OPTIMAL, Status.FEASIBLE) or (self.status is None and bool(self.communities))

    def assignment(self) -> dict[str, str]:
        """Township code -> lead facility id."""
        return {t: c.lead for c in self.communities for t in c.townships}


@dataclass
class Plan:
    """A plan for a region: one UnitPlan per county or city, in unit order."""

    region: str
    rules_name: str
    units: dict[str, UnitPlan] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)

    def communities(self) -> list[Community]:
        """Every community of every unit, in order."""
        return [c for u in self.units.values() for c in u.communities]

    def assignment(self) -> dict[str, str]:
        """Township code -> lead facility id, over all units."""
        out: dict[str, str] = {}
        for u in self.units.values():
            out.update(u.assignment())
        return out

    def community_of(self) -> dict[str, Community]:
        """Township code -> its community."""
        return {t: c for c in self.communities() for t in c.townships}

    @property
    def all_optimal(self) -> bool:
        """True when every unit was solved to proven optimality."""
        return all(u.status is Status.OPTIMAL for u in self.units.values())

    def status_counts(self) -> dict[str, int]:
        """Units by status."""
        out: dict[str, int] = {}
        for u in self.units.values():
            key = u.status.value if u.status is not None else "GIVEN"
            out[key] = out.get(key, 0) + 1
        return out
