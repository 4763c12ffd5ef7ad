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


PROFESSION_WORDS = {"medicine": ("medicine", "医疗"), "pharmacy": ("pharmacy", "药学"), "nursing": ("nursing", "护理"),
                    "management": ("management", "管理")}
"""The professions experts come from (000 (四): 医疗、药学、护理、管理), in English and Chinese."""

URBAN_DISTRICT_ENDINGS = ("区",)
"""Names of urban districts (市辖区) end so; 特区 and 林区 are county-type units, not districts."""

COUNTY_TYPE_ENDINGS = ("特区", "林区")


def is_urban_district(name: str) -> bool:
    """True for a 市辖区 (name ending in 区, but not 特区 or 林区, which are county-type units)."""
    n = str(name).strip()
    return n.endswith(URBAN_DISTRICT_ENDINGS) and not n.endswith(COUNTY_TYPE_ENDINGS)


@register
class ExpertDispatch(_RegionWide):
    """Each supported community gets at least `min_per_community` experts stationed year-round
    from the urban public tertiary hospitals (000 (四): "开展帮扶的城市公立三级医院向医共体至少派出3名
    以上专家给予医疗、药学、护理、管理等常年驻守指导"), within their release caps.

    `sources` selects the supporting hospitals (city- or provincial-level public tertiary
    hospitals); with `same_city = false` (the default) any of them in the province may support
    any community, and one model per province shares each hospital's cap across all its cities;
    `same_city = true` keeps them in the community's own city. `recipients` says which
    communities are supported: "rural_counties" (default: county communities of counties,
    county-level cities, 特区 and 林区, not of urban districts), "county_units" (every county
    community) or "all" (city grids too); a community led by a supporting hospital itself is
    never a recipient. `professions` are the staff experts may come from (医疗、药学、护理、管理:
    medicine, pharmacy, nursing, management); `min_title` (optional) is the lowest title that
    counts, read for every profession at its level (副主任医师/副主任药师/副主任护师/副高级);
    `profession_min` (optional) asks at least that many experts of a profession per community.
    A hospital's release cap counts everyone it sends, at `release_share` of its attending-or-above
    physicians.
    """

    kind: Literal["expert_dispatch"] = "expert_dispatch"
    min_per_community: int = Field(default=3, ge=0)
    min_title: Title | None = None
    sources: Selector = Field(default_factory=lambda: Selector(min_grade="三级", ownership=["public"],
                                                                admin_levels=["city", "provincial"]))
    same_city: bool = False
    recipients: Literal["rural_counties", "county_units", "all"] = "rural_counties"
    professions: list[Literal["medicine", "pharmacy", "nursing", "management"]] = Field(
        default_factory=lambda: ["medicine", "pharmacy", "nursing", "management"], min_length=1)
    profession_min: dict[str, int] = Field(default_factory=dict)
    release_share: float = Field(default=0.2, gt=0, le=1)
    stage = "dispatch"
    assumed = {
        "recipients": Text("城市支援农村 is read as support for the county communities of counties (县、县级市、特区), "
                           "not of urban districts (市辖区) or of communities the supporting hospitals lead themselves",
                           "“城市支援农村”理解为支援县（县级市、特区）的医共体，不含市辖区及支援医院自身牵头的医共体"),
        "release_share": Text("the share of a hospital's senior staff it may send out: the clause sets no cap",
                              "条文未规定医院派出人员上限"),
    }

    _min_title = field_validator("min_title", mode="before")(staticmethod(_title))

    @field_validator("profession_min")
    @classmethod
    def _mix(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(k for k in value if k not in PROFESSION_WORDS)
        if bad:
            msg = f"profession_min names {', '.join(bad)}; use {', '.join(PROFESSION_WORDS)}"
            raise ValueError(msg)
        neg = {k: v for k, v in value.items() if v < 0}
        if neg:
            msg = f"profession_min counts must be >= 0 (got {neg})"
            raise ValueError(msg)
        return value

    def title_floor(self) -> Title:
        """The lowest title that counts (any title when `min_title` is unset)."""
        return self.min_title if self.min_title is not None else Title.RESIDENT

    def receives(self, scope: str, county_name: str, lead: str, source_ids: set[str]) -> bool:
        """Whether a community (its unit's scope, its lead's county name, its lead) is supported."""
        if lead in source_ids:
            return False
        if self.recipients == "all":
            return True
        if scope != "county":
            return False
        return self.recipients == "county_units" or not is_urban_district(county_name)

    def _who(self) -> Text:
        return {"rural_counties": Text("every county community of a county (not of an urban district)",
                                       "每个县（县级市、特区）的医共体（不含市辖区）"),
                "county_units": Text("every county community", "每个县域医共体"),
                "all": Text("every community and grid", "每个医共体和网格")}[self.recipients]

    def describe(self) -> Text:
        src = self.sources.words()
        where = Text("the same city", "本市") if self.same_city else Text("the province", "全省")
        profs = Text("/".join(PROFESSION_WORDS[p][0] for p in self.professions),
                     "、".join(PROFESSION_WORDS[p][1] for p in self.professions))
        rank = (Text(f", {self.min_title.zh} level or above", f"（{self.min_title.zh}及同级以上）")
                if self.min_title is not None else Text("", ""))
        mix = Text("", "")
        if self.profession_min:
            mix = Text(", including " + ", ".join(f"{n} {PROFESSION_WORDS[p][0]}" for p, n in sorted(self.profession_min.items())),
                       "，其中" + "、".join(f"{PROFESSION_WORDS[p][1]}{n}名" for p, n in sorted(self.profession_min.items())))
        who = self._who()
        return Text(f"{who.en} gets at least {self.min_per_community} experts ({profs.en}{rank.en}) stationed "
                    f"year-round from {src.en} of {where.en}{mix.en}",
                    f"{where.zh}{src.zh}向{who.zh}至少派出{self.min_per_community}名专家（{profs.zh}{rank.zh}）"
                    f"常年驻守指导{mix.zh}")


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
