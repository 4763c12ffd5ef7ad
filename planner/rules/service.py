"""Rules that send people and services down: physician dispatch, city experts, dialysis sites, reserved capacity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..vocabulary import FacilityKind, Title, parse_title
from .base import KindField, Rule, Selector, register


class _RegionWide(Rule):
    """Service rules apply to the whole region: one dispatch, dialysis or capacity setting each."""

    @field_validator("counties")
    @classmethod
    def _no_counties(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            msg = "service rules apply to the whole region; `counties` works on community rules only"
            raise ValueError(msg)
        return value


def _title(value: object) -> object:
    if isinstance(value, Title) or value is None:
        return value
    return parse_title(value).value


@register
class AttendingDispatch(_RegionWide):
    """Each community's lead sends at least `min_per_center` physicians of `min_title` or above,
    year-round, to every township health center and community health service center of its
    community (000 (四)), never more than a hospital may release.

    `release_share` caps the share of a hospital's physicians of `min_title` or above that may
    be sent out (a facility's own `release_share` overrides it); `specialty_weights` rewards
    sending a specialty a center lacks (person-minutes of travel one such match is worth);
    `borrow_from_city` lets a county short of physicians borrow from the city's tertiary
    hospitals at `borrow_penalty` person-minutes per physician.
    """

    kind: Literal["attending_dispatch"] = "attending_dispatch"
    min_per_center: int = Field(default=1, ge=0)
    min_title: Title = Title.ATTENDING
    target_kinds: list[KindField] = Field(default_factory=lambda: [FacilityKind.TOWNSHIP_HEALTH_CENTER,
                                                                   FacilityKind.COMMUNITY_HEALTH_CENTER])
    release_share: float = Field(default=0.2, gt=0, le=1)
    specialty_weights: dict[str, int] = Field(default_factory=dict)
    borrow_from_city: bool = False
    borrow_penalty: int = Field(default=120, ge=0)
    stage = "dispatch"

    _min_title = field_validator("min_title", mode="before")(staticmethod(_title))

    @field_validator("specialty_weights")
    @classmethod
    def _weights(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if v < 0}
        if bad:
            msg = f"weights must be >= 0 (got {bad})"
            raise ValueError(msg)
        return value

    def describe(self) -> str:
        kinds = "/".join(k.zh for k in self.target_kinds)
        return (f"every {kinds} gets at least {self.min_per_center} {self.min_title.zh}-or-above physician(s) from its "
                f"lead, year-round; a hospital releases at most {self.release_share:.0%} of them")


@register
class ExpertDispatch(_RegionWide):
    """Each community gets at least `min_per_community` experts (`min_title` or above) stationed
    year-round from the city's public tertiary hospitals (000 (四)), within their release caps.

    `sources` selects the supporting hospitals; `same_city` keeps them in the community's city
    (false: anywhere in the province).
    """

    kind: Literal["expert_dispatch"] = "expert_dispatch"
    min_per_community: int = Field(default=3, ge=0)
    min_title: Title = Title.ASSOCIATE_CHIEF
    sources: Selector = Field(default_factory=lambda: Selector(min_grade="三级", ownership=["public"],
                                                                admin_levels=["city", "provincial"]))
    same_city: bool = True
    release_share: float = Field(default=0.2, gt=0, le=1)
    stage = "dispatch"

    _min_title = field_validator("min_title", mode="before")(staticmethod(_title))

    def describe(self) -> str:
        where = "the same city" if self.same_city else "the province"
        return (f"every community gets at least {self.min_per_community} experts ({self.min_title.zh} or above) from "
                f"{self.sources.words()} of {where}")


@register
class DialysisSiting(_RegionWide):
    """Dialysis at central township health centers of populous townships, only in counties whose
    resident population reaches `min_county_population` (000 (六)).

    At most `max_sites_per_county` new sites per county, chosen among central THCs in the
    county's `top_townships` most populous townships, to maximise the residents within
    `coverage_minutes` of a dialysis site (existing sites, such as the county hospital, count),
    then to minimise population-weighted travel to the nearest site.
    """

    kind: Literal["dialysis_siting"] = "dialysis_siting"
    min_county_population: int = Field(default=200_000, ge=0)
    max_sites_per_county: int = Field(default=2, ge=0)
    top_townships: int = Field(default=5, ge=1)
    coverage_minutes: float = Field(default=30.0, gt=0)
    stage = "dialysis"

    def describe(self) -> str:
        return (f"dialysis at up to {self.max_sites_per_county} central township health centers per county of "
                f"{self.min_county_population:,}+ residents (among its {self.top_townships} most populous townships)")


@register
class ReservedCapacity(_RegionWide):
    """Each city medical group's lead reserves at least `outpatient_share` of its outpatient slots and
    `bed_share` of its beds for family-doctor teams and primary institutions (003 9.).

    The check reports the numbers to reserve per lead, and flags a lead whose reserved share
    falls short of the grid's expected referral demand: `referral_visits_per_10k_per_day`
    outpatient referrals and `referral_beds_per_10k` occupied beds per 10,000 residents of
    the grid (assumptions the reviewer sets; 0 switches the demand test off).
    """

    kind: Literal["reserved_capacity"] = "reserved_capacity"
    scope: Literal["city"] = "city"
    outpatient_share: float = Field(default=1 / 3, gt=0, le=1)
    bed_share: float = Field(default=0.25, gt=0, le=1)
    referral_visits_per_10k_per_day: float = Field(default=0.0, ge=0)
    referral_beds_per_10k: float = Field(default=0.0, ge=0)
    stage = "capacity"

    def describe(self) -> str:
        return (f"each grid lead reserves at least {self.outpatient_share:.0%} of outpatient slots and "
                f"{self.bed_share:.0%} of beds for family-doctor teams")
