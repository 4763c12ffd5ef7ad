"""Rules that send people and services down: physician dispatch, city experts, dialysis sites, reserved capacity."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, field_validator

from ..i18n import Text
from ..vocabulary import FacilityKind, Title, parse_title
from .base import KindField, Rule, Selector, kind_words, register


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

    def describe(self) -> Text:
        kinds = kind_words(self.target_kinds)
        return Text(f"every center ({kinds.en}) gets at least {self.min_per_center} {self.min_title.zh}-or-above physician(s) from "
                    f"its lead, year-round; a hospital releases at most {self.release_share:.0%} of them",
                    f"牵头医院向每个{kinds.zh}至少派出{self.min_per_center}名{self.min_title.zh}以上职称人员常年服务；"
                    f"每家医院最多派出其{self.release_share:.0%}")


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

    def describe(self) -> Text:
        src = self.sources.words()
        where = Text("the same city", "本市") if self.same_city else Text("the province", "全省")
        return Text(f"every community gets at least {self.min_per_community} experts ({self.min_title.zh} or above) from "
                    f"{src.en} of {where.en}",
                    f"{where.zh}{src.zh}向每个医共体至少派出{self.min_per_community}名专家（{self.min_title.zh}及以上）常年驻守")


@register
class DialysisSiting(_RegionWide):
    """Dialysis at populous central township health centers, only in counties whose resident
    population reaches `min_county_population` (000 (六): "常住人口20万以上的县（市、区），可结合实际在
    人口较多的中心乡镇卫生院开展血透服务").

    "人口较多的中心乡镇卫生院" ranks the county's central THCs by the residents of their townships:
    the candidates are its `top_centers` central THCs with the most populous townships (街道 and
    other townships without a central THC take no part). At most `max_sites_per_county` new sites
    per county, chosen to maximise the residents within `coverage_minutes` of a dialysis site
    (existing sites, such as the county hospital, count), then to minimise population-weighted
    travel to the nearest site. `top_townships` is the older name of `top_centers`.
    """

    kind: Literal["dialysis_siting"] = "dialysis_siting"
    min_county_population: int = Field(default=200_000, ge=0)
    max_sites_per_county: int = Field(default=2, ge=0)
    top_centers: int = Field(default=5, ge=1, validation_alias=AliasChoices("top_centers", "top_townships"))
    coverage_minutes: float = Field(default=30.0, gt=0)
    stage = "dialysis"
    assumed = {
        "max_sites_per_county": Text("the clause sets no number of sites per county", "条文未规定每县血透点数量"),
        "top_centers": Text("人口较多 (populous) sets no cut-off: the county's central THCs with the most populous townships, "
                            "up to this many", "“人口较多”未规定名次：取全县乡镇人口最多的若干家中心乡镇卫生院"),
        "coverage_minutes": Text("the clause sets no travel time: residents within this many minutes count as covered",
                                 "条文未规定车程：此车程内的居民计为可及"),
    }

    def describe(self) -> Text:
        return Text(f"dialysis at up to {self.max_sites_per_county} central township health centers per county of "
                    f"{self.min_county_population:,}+ residents (among its {self.top_centers} central centers with the "
                    f"most populous townships; residents within {self.coverage_minutes:g} min count as covered)",
                    f"常住人口{self.min_county_population:,}以上的县（市、区）在人口较多的中心乡镇卫生院开展血透服务："
                    f"每县最多{self.max_sites_per_county}个新点，候选为乡镇人口最多的{self.top_centers}家中心乡镇卫生院，"
                    f"{self.coverage_minutes:g}分钟内计为可及")


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

    def describe(self) -> Text:
        return Text(f"each grid lead reserves at least {self.outpatient_share:.0%} of outpatient slots and "
                    f"{self.bed_share:.0%} of beds for family-doctor teams",
                    f"牵头医院至少将{self.outpatient_share:.0%}的门诊号源和{self.bed_share:.0%}的住院床位"
                    "预留家庭医生签约服务团队或基层医疗卫生机构")
