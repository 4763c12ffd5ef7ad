"""Access rule kinds: emergency centers, shared centers, accessibility indicators, the visit-share model and targets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..i18n import Text
from ..rules.base import KindField, Rule, register
from ..schema import EMERGENCY_CENTERS, SHARED_CENTERS
from ..vocabulary import FacilityKind


class AccessRule(Rule):
    """An access rule: checked and reported after planning, never a constraint of the grouping model.

    Access rules are soft by default (`hard = false`, no penalty needed): they describe the
    services and targets a plan is judged by, which the grouping cannot make true, so their
    violations are reported by name (check.txt, the report) without failing `--strict`. A
    reviewer may set `hard = true` to make `--strict` fail on them.
    """

    stage = "access"
    soft_ok = True
    hard: bool = False

    @model_validator(mode="after")
    def _soft_needs_penalty(self) -> AccessRule:  # overrides the base: no penalty, nothing is optimised
        return self

    @field_validator("counties")
    @classmethod
    def _no_counties(cls, value: list[str] | None) -> list[str] | None:
        return value


def _centers(value: list[str], known: dict[str, tuple[str, str]], what: str) -> list[str]:
    bad = [c for c in value if c not in known]
    if bad:
        msg = f"unknown {what} {bad}; use {', '.join(known)}"
        raise ValueError(msg)
    if len(set(value)) != len(value):
        msg = f"{what} listed twice in {value}"
        raise ValueError(msg)
    return value


def center_words(centers: list[str], lang: str = "en") -> str:
    """The centers' names, e.g. "chest pain/stroke" or "胸痛中心、卒中中心"."""
    table = {**EMERGENCY_CENTERS, **SHARED_CENTERS}
    return "、".join(table[c][0] for c in centers) if lang == "zh" else "/".join(table[c][1] for c in centers)


_DEFAULT_CANDIDATES = {
    "chest_pain_center": ["general_hospital", "tcm_hospital"],
    "stroke_center": ["general_hospital", "tcm_hospital"],
    "trauma_center": ["general_hospital"],
    "maternal_critical_center": ["general_hospital", "maternal_child_hospital"],
    "neonatal_critical_center": ["general_hospital", "maternal_child_hospital"],
}


@register
class EmergencyCenters(AccessRule):
    """Each county builds the five emergency centers (胸痛, 卒中, 创伤, 危重孕产妇, 危重新生儿和儿童救治) at its
    county-level hospitals (000 (五), 001 (十八)), and residents reach each within `max_minutes`.

    The check names every county without one of `centers` at a county-level hospital
    (`require_in_county`), and every county whose share of residents within `max_minutes` of a
    center is below `min_covered_share` (when set). The covering model proposes, per county, which
    county hospitals to upgrade (`candidate_kinds` per center, county-level, not yet running it) to
    cover the most residents with 1 ... `max_new_centers` new centers, each proven optimal.
    """

    kind: Literal["emergency_centers"] = "emergency_centers"
    centers: list[str] = Field(default_factory=lambda: list(EMERGENCY_CENTERS))
    max_minutes: float = Field(default=60.0, gt=0, le=600)
    require_in_county: bool = True
    min_covered_share: float | None = Field(default=None, gt=0, le=1)
    max_new_centers: int = Field(default=3, ge=0, le=20)
    candidate_kinds: dict[str, list[KindField]] = Field(
        default_factory=lambda: {c: [FacilityKind(k) for k in ks] for c, ks in _DEFAULT_CANDIDATES.items()})
    time_limit_s: float = Field(default=10.0, gt=0, le=3600)

    @field_validator("centers")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _centers(value, EMERGENCY_CENTERS, "emergency centers")

    @field_validator("candidate_kinds")
    @classmethod
    def _known_keys(cls, value: dict[str, list[FacilityKind]]) -> dict[str, list[FacilityKind]]:
        _centers(list(value), EMERGENCY_CENTERS, "emergency centers")
        return value

    def kinds_for(self, center: str) -> set[str]:
        """Facility kinds that may be upgraded to run `center`."""
        kinds = self.candidate_kinds.get(center, _DEFAULT_CANDIDATES[center])
        return {k.value if isinstance(k, FacilityKind) else str(k) for k in kinds}

    def describe(self) -> Text:
        share = (f"; at least {self.min_covered_share:.0%} of residents within {self.max_minutes:g} min of each"
                 if self.min_covered_share else "")
        share_zh = (f"；每类中心{self.max_minutes:g}分钟内覆盖至少{self.min_covered_share:.0%}的常住人口"
                    if self.min_covered_share else "")
        where = "every county has" if self.require_in_county else "residents are counted within reach of"
        where_zh = "每县县级医院建有" if self.require_in_county else "统计可及人口："
        return Text(f"{where} the {center_words(self.centers)} centers (reach: {self.max_minutes:g} min){share}",
                    f"{where_zh}{center_words(self.centers, 'zh')}（可及：{self.max_minutes:g}分钟）{share_zh}")


HOST_CHOICES = ("lead", "lead_or_central")


@register
class SharedCenters(AccessRule):
    """Every community runs the shared `centers` (lab, imaging, ECG, pathology, sterile supply,
    pharmacy), each hosted by its lead or (`hosts = "lead_or_central"`) a central township health
    center of the community (000 (六), 001 (八), 002 (七) (九), 003 9., 004 三 3.).

    A center's host is the member able to host it (the facility's `*_center` column) that needs
    the fewest courier minutes; where no member can, the lead is proposed to build it. Centers in
    `required` must already have an able host (002 (七): by 2025 every community of 玉溪 has a
    pathology center): the check names each community without one. Specimens and supplies travel
    on daily courier round trips from each host to every member health center, at most
    `max_round_trip_min` each with `stop_min` at every stop (a small vehicle-routing problem per host);
    a member too far for any trip within the limit gets a trip of its own, marked OVER_LIMIT, which
    is a violation only with `enforce_round_trip = true` (the limit is a planner assumption).
    """

    kind: Literal["shared_centers"] = "shared_centers"
    centers: list[str] = Field(default_factory=lambda: list(SHARED_CENTERS))
    hosts: Literal["lead", "lead_or_central"] = "lead_or_central"
    required: list[str] = Field(default_factory=list)
    max_round_trip_min: float = Field(default=240.0, gt=0, le=1440)
    enforce_round_trip: bool = False
    stop_min: float = Field(default=5.0, ge=0, le=120)
    routing_time_limit_s: float = Field(default=10.0, gt=0, le=600)
    """A safety limit only: the local search stops at its local optimum long before (so runs repeat exactly). It also
    bounds each neighbour's completion (OR-Tools' own 100 ms wall-clock default let a starved process return other
    trips)."""

    @field_validator("centers", "required")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _centers(value, SHARED_CENTERS, "shared centers")

    @model_validator(mode="after")
    def _required_listed(self) -> SharedCenters:
        missing = [c for c in self.required if c not in self.centers]
        if missing:
            msg = f"required centers {missing} are not among `centers`; add them there"
            raise ValueError(msg)
        return self

    def applies_to(self, scope: str, county_codes: list[str] | tuple[str, ...], city_code: str) -> bool:
        """Whether the rule covers a community of this unit scope and these counties."""
        if not self.enabled or scope != self.scope:
            return False
        return self.counties is None or bool(set(self.counties) & ({city_code} | set(county_codes)))

    def describe(self) -> Text:
        who = "its lead" if self.hosts == "lead" else "its lead or a central township health center"
        who_zh = "牵头医院" if self.hosts == "lead" else "牵头医院或中心乡镇卫生院"
        req = f"; {center_words(self.required)} already running" if self.required else ""
        req_zh = f"；{center_words(self.required, 'zh')}须已建成" if self.required else ""
        return Text(f"every community runs shared {center_words(self.centers)} centers hosted by {who}{req}; daily "
                    f"courier round trips of at most {self.max_round_trip_min:g} min",
                    f"每个医共体建设{center_words(self.centers, 'zh')}等共享中心，由{who_zh}承担{req_zh}；"
                    f"每日物流往返不超过{self.max_round_trip_min:g}分钟")


@register
class AccessIndicators(AccessRule):
    """Two-step floating catchment access (2SFCA, Gaussian decay) to physicians and beds per township,
    before and after the plan's dispatch, with equity per county (Gini, residents below a threshold).

    `max_minutes` is the catchment, `sigma_min` the Gaussian width (default half the catchment);
    a township is "low access" below `low_share_of_mean` of the region's population-weighted
    mean. `max_gini` (when set) makes a county above it a violation.
    """

    kind: Literal["access_indicators"] = "access_indicators"
    max_minutes: float = Field(default=60.0, gt=0, le=600)
    decay: Literal["gaussian", "none"] = "gaussian"
    sigma_min: float | None = Field(default=None, gt=0, le=600)
    low_share_of_mean: float = Field(default=0.5, gt=0, le=1)
    max_gini: float | None = Field(default=None, gt=0, le=1)

    def describe(self) -> Text:
        return Text(f"2SFCA access to physicians and beds within {self.max_minutes:g} min ({self.decay} decay); equity "
                    f"per county" + (f", Gini at most {self.max_gini:g}" if self.max_gini else ""),
                    f"{self.max_minutes:g}分钟两步移动搜寻法（2SFCA）医师与床位可及性；各县公平性"
                    + (f"，基尼系数不超过{self.max_gini:g}" if self.max_gini else ""))


@register
class VisitShareModel(AccessRule):
    """The capacity-constrained gravity (Huff) model that estimates where residents seek care.

    Residents of a township make `visits_per_capita` outpatient visits a year; they choose among
    facilities within `max_minutes` (their own township's health center and village clinics
    always) with probability proportional to capacity^`alpha` x exp(-`beta_per_min` x minutes),
    primary institutions weighted by `primary_weight`; a facility's annual capacity is its daily
    outpatient slots x `working_days`, of which it serves at most `max_utilization` times; residents
    who find it full go elsewhere (shadow prices, `iterations`), and visits no modelled facility
    can take are left out of the shares. Every parameter is a planner assumption unless its
    `source` says otherwise.
    """

    kind: Literal["visit_share_model"] = "visit_share_model"
    visits_per_capita: float = Field(default=5.5, gt=0, le=50)
    working_days: int = Field(default=250, ge=1, le=366)
    max_minutes: float = Field(default=120.0, gt=0, le=1440)
    alpha: float = Field(default=1.0, ge=0, le=5)
    beta_per_min: float = Field(default=0.05, ge=0, le=5)
    primary_weight: float = Field(default=1.0, gt=0, le=100)
    max_utilization: float = Field(default=1.0, gt=0, le=10)
    iterations: int = Field(default=50, ge=0, le=1000)
    sensitivity: list[float] = Field(default_factory=lambda: [0.5, 1.0, 2.0])

    @field_validator("sensitivity")
    @classmethod
    def _factors(cls, value: list[float]) -> list[float]:
        if any(not (0 < v <= 10) for v in value):
            msg = f"sensitivity factors must lie in (0, 10], got {value}"
            raise ValueError(msg)
        return value

    def describe(self) -> Text:
        return Text(f"visit shares estimated by a capacity-constrained Huff model (alpha {self.alpha:g}, beta "
                    f"{self.beta_per_min:g}/min, {self.visits_per_capita:g} visits per resident a year)",
                    f"就诊流向以容量约束的哈夫（Huff）模型估算（alpha {self.alpha:g}，beta {self.beta_per_min:g}/分钟，"
                    f"人均年诊疗{self.visits_per_capita:g}人次）")


MEASURES = {"primary": ("基层就诊率", "primary-care visit share"), "in_county": ("县域就诊率", "in-county visit share")}


@register
class VisitShareTarget(AccessRule):
    """A document's target for the primary-care (基层就诊率) or in-county (县域就诊率) visit share,
    compared per county with the visit-share model's ESTIMATE (000 一, 001 (三), 004 二).

    The check names each county whose estimated share is below `min_share` (soft, as every
    access rule: a model estimate is reported, not a hard violation).
    """

    kind: Literal["visit_share_target"] = "visit_share_target"
    measure: Literal["primary", "in_county"]
    min_share: float = Field(gt=0, le=1)
    year: int | None = Field(default=None, ge=2000, le=2100)

    def describe(self) -> Text:
        zh, en = MEASURES[self.measure]
        by = f" by {self.year}" if self.year else ""
        by_zh = f"（{self.year}年）" if self.year else ""
        return Text(f"{en} at least {self.min_share:.0%}{by} (compared with model estimates)",
                    f"{zh}不低于{self.min_share:.0%}{by_zh}（与模型估算比较）")
