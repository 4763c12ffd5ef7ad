"""Village rule kinds: circuit coverage (巡回诊疗) and remote consultation (远程诊疗) of every village."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..i18n import Text
from ..rules.base import Rule, register, short_source

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HALVES_ZH = ("上午", "下午")
HALVES_EN = ("morning", "afternoon")


class VillageRule(Rule):
    """A village rule: planned and checked after dispatch (routes and timetables), never a constraint of the grouping.

    Hard by default (the clauses say every rural area, at least twice a week); `hard = false`
    reports the violations without failing `--strict` (no penalty: nothing is traded off).
    """

    stage = "villages"
    soft_ok = True

    @model_validator(mode="after")
    def _soft_needs_penalty(self) -> VillageRule:  # overrides the base: no penalty, nothing is optimised
        return self

    @field_validator("counties")
    @classmethod
    def _no_counties(cls, value: list[str] | None) -> list[str] | None:
        return value

    def covers_county(self, county: str, city: str = "") -> bool:
        """Whether the rule applies to a county (all counties unless `counties` names some, or their city)."""
        return self.enabled and (self.counties is None or bool({county, city} & set(self.counties)))


class LeadTeams(BaseModel):
    """Mobile teams of the county lead hospital for the circuit visits its township health centers' teams cannot make.

    `source` cites the clause (e.g. 002 (十一) "县乡巡诊": county and township circuit visits), or
    says "planner assumption: ..." with `source_zh` its Chinese wording where no clause names the
    county's teams. The teams work the circuit rule's days (`working_days`, `day_minutes`,
    `day_start`, `service_min`) from the lead of the village's community.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    teams: int = Field(default=1, ge=0, le=50)
    source: str = Field(min_length=1)
    source_zh: str = ""
    quote: str = ""

    @model_validator(mode="after")
    def _zh_for_assumption(self) -> LeadTeams:
        if self.source.strip().lower().startswith("planner assumption") and not self.source_zh:
            msg = "lead.source is a planner assumption: give its Chinese wording in lead.source_zh"
            raise ValueError(msg)
        return self

    @property
    def source_text(self) -> Text:
        """The source in English and Chinese (a clause cited as is)."""
        return Text(self.source, self.source_zh or self.source)

    def clause(self, quoted: str = "") -> Text:
        """「quote」 (citation) of a cited clause (the quote left out when it is `quoted` already), or the assumption
        in English and Chinese."""
        if self.source.strip().lower().startswith("planner assumption"):
            return self.source_text
        cite = short_source(self.source)
        quote = f"「{self.quote}」 " if self.quote and self.quote != quoted else ""
        return Text(f"{quote}({cite})", f"{quote}（{cite}）" + (f"；{self.source_zh}" if self.source_zh else ""))


class Frequency(BaseModel):
    """Circuit visits a week for villages of at least `min_population` residents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_population: int = Field(ge=0, le=10_000_000)
    visits_per_week: int = Field(ge=1, le=7)


@register
class CircuitCoverage(VillageRule):
    """Every village is served: by a licensed (assistant) physician within `resident_max_minutes`
    (fixed care), else by circuit visits (流动) of its township health center's mobile teams, at
    `frequency` visits a week by population, on weekly routes (000 (四): "固定+流动+互联网+AI"
    circuit care covers all rural areas; 002 (十一): 执业（助理）医师派驻、县乡巡诊).

    A team works `day_minutes` a day (travel and `service_min` at each stop, leaving from and
    returning to its health center) on `working_days` days; each health center of `base_kinds`
    has `teams_per_center` teams. The checker names every village no route reaches, with the
    reason (too far for one day, or the teams' week is full), and re-checks every route: each
    required visit made on distinct weekdays, day length, team count.

    `lead` (optional) gives the county lead hospital (the lead of the village's community in the
    plan) `lead.teams` mobile teams of its own, which take the visits the township health
    centers' teams have no room or reach for (002 (十一): 县乡巡诊, county and township circuit
    visits); their routes start and end at the lead and are checked like the centers'.
    """

    kind: Literal["circuit_coverage"] = "circuit_coverage"
    resident_max_minutes: float = Field(default=5.0, ge=0, le=240)
    frequency: list[Frequency] = Field(default_factory=lambda: [Frequency(min_population=0, visits_per_week=1),
                                                                 Frequency(min_population=2000, visits_per_week=2)])
    working_days: int = Field(default=5, ge=1, le=7)
    day_minutes: float = Field(default=480.0, gt=0, le=1440)
    day_start: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    service_min: float = Field(default=90.0, ge=0, le=720)
    teams_per_center: int = Field(default=1, ge=0, le=50)
    base_kinds: list[Literal["township_health_center", "community_health_center"]] = Field(
        default_factory=lambda: ["township_health_center", "community_health_center"])
    lead: LeadTeams | None = None
    """The county lead's own mobile teams (None: the township health centers' teams alone)."""
    village_kinds: list[str] = Field(default_factory=lambda: ["村委会"])
    """Kinds of village-level units circuit care is for (the villages layer's `kind`): rural village committees
    (村委会); urban residents' committees (居委会) are served by their community health center."""
    routing_iterations: int = Field(default=300, ge=1, le=100_000)
    """How long the routing search runs on each health center's day (iterations without improvement):
    an iteration count, not seconds, so that runs repeat exactly."""

    @field_validator("frequency")
    @classmethod
    def _tiers(cls, value: list[Frequency]) -> list[Frequency]:
        if not value:
            msg = "frequency needs at least one tier ({min_population = 0, visits_per_week = 1})"
            raise ValueError(msg)
        if value[0].min_population != 0:
            msg = f"the first frequency tier must start at min_population = 0 (got {value[0].min_population})"
            raise ValueError(msg)
        pops = [t.min_population for t in value]
        if pops != sorted(set(pops)):
            msg = f"frequency tiers must rise in min_population, each once (got {pops})"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _fits_week(self) -> CircuitCoverage:
        most = max(t.visits_per_week for t in self.frequency)
        if most > self.working_days:
            msg = f"a tier asks {most} visits a week but teams work {self.working_days} days; lower it or add days"
            raise ValueError(msg)
        return self

    def rural(self, kind: object) -> bool:
        """Whether a village of this kind (村委会, 居委会, ...) is one circuit care is for."""
        return str(kind) in self.village_kinds

    def visits_for(self, population: int) -> int:
        """Required circuit visits a week for a village of this population."""
        return max(t.visits_per_week for t in self.frequency if population >= t.min_population)

    @property
    def lead_teams(self) -> int:
        """Mobile teams of each county lead (0 without `lead`)."""
        return self.lead.teams if self.lead is not None else 0

    def clause(self) -> Text:
        """The rule's clause, and with `lead` teams the clause (or assumption) the county lead's teams rest on."""
        base = super().clause()
        if not self.lead_teams:
            return base
        lead = self.lead.clause(quoted=self.quote)
        return Text(f"{base}; the county lead's mobile teams: {lead.en}", f"{base.zh}；县级牵头医院巡回医疗队：{lead.zh}")

    @property
    def start_min(self) -> int:
        """The working day's start in minutes after midnight."""
        h, m = self.day_start.split(":")
        return int(h) * 60 + int(m)

    def describe(self) -> Text:
        tiers = ", ".join(f"{t.visits_per_week}/week from {t.min_population:,} residents" for t in self.frequency)
        tiers_zh = "，".join(f"常住{t.min_population:,}人起每周{t.visits_per_week}次" for t in self.frequency)
        lead_en = (f", and {self.lead_teams} team(s) of the county lead for the visits the centers cannot make"
                   if self.lead_teams else "")
        lead_zh = f"，卫生院排不下的由县级牵头医院巡回医疗队（{self.lead_teams}队）承担" if self.lead_teams else ""
        return Text(f"every village has a licensed physician within {self.resident_max_minutes:g} min, or circuit visits "
                    f"({tiers}) by {self.teams_per_center} mobile team(s) per health center{lead_en}, days of "
                    f"{self.day_minutes:g} min with {self.service_min:g} min per stop",
                    f"每个行政村{self.resident_max_minutes:g}分钟内有执业（助理）医师，否则由乡镇卫生院巡回医疗队"
                    f"（每院{self.teams_per_center}队）巡回诊疗（{tiers_zh}）{lead_zh}，每日工作{self.day_minutes:g}分钟，"
                    f"每站{self.service_min:g}分钟")


@register
class RemoteConsultation(VillageRule):
    """Every village clinic gets at least `sessions_per_week` remote consultations (远程诊疗) a week,
    on distinct days, from its township health center or the county hospital leading its community
    (002 (十一): 县级医院和卫生院每周至少两次向村卫生室提供远程诊疗服务; 004 三 4.).

    Consultants are the health center's licensed physicians (`center_consultants`, all of them
    when unset) and `lead_consultants` physicians of the lead hospital; each gives remote
    sessions on at most `half_days_per_consultant` half-days a week, `sessions_per_half_day`
    sessions of `session_min` minutes in each half-day, one clinic per session (no
    double-booking). An exact assignment model (CP-SAT) fills the timetable; where seats are
    short, the shortfall is named by health center and half-day.
    """

    kind: Literal["remote_consultation"] = "remote_consultation"
    sessions_per_week: int = Field(default=2, ge=1, le=14)
    working_days: int = Field(default=5, ge=1, le=7)
    center_consultants: int | None = Field(default=None, ge=0, le=500)
    lead_consultants: int = Field(default=20, ge=0, le=2000)
    half_days_per_consultant: int = Field(default=2, ge=1, le=14)
    sessions_per_half_day: int = Field(default=3, ge=1, le=12)
    session_min: int = Field(default=60, ge=10, le=240)
    morning_start: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    afternoon_start: str = Field(default="14:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    time_limit_s: float = Field(default=10.0, gt=0, le=600)

    @model_validator(mode="after")
    def _fits(self) -> RemoteConsultation:
        if self.sessions_per_week > self.working_days:
            msg = (f"sessions_per_week = {self.sessions_per_week} on distinct days needs at least that many working days "
                   f"(working_days = {self.working_days})")
            raise ValueError(msg)
        if self.half_days_per_consultant > 2 * self.working_days:
            msg = f"half_days_per_consultant = {self.half_days_per_consultant} exceeds the week's {2 * self.working_days} half-days"
            raise ValueError(msg)
        for key in ("morning_start", "afternoon_start"):
            h, m = getattr(self, key).split(":")
            end = int(h) * 60 + int(m) + self.sessions_per_half_day * self.session_min
            if end > 24 * 60:
                msg = f"{key} {getattr(self, key)} + {self.sessions_per_half_day} sessions of {self.session_min} min passes midnight"
                raise ValueError(msg)
        return self

    def session_start(self, half: int, seat: int) -> str:
        """Clock time (HH:MM) of a half-day's seat (0-based), e.g. 09:30."""
        h, m = (self.morning_start if half == 0 else self.afternoon_start).split(":")
        t = int(h) * 60 + int(m) + seat * self.session_min
        return f"{t // 60:02d}:{t % 60:02d}"

    def describe(self) -> Text:
        return Text(f"every village clinic gets at least {self.sessions_per_week} remote consultations a week on distinct days "
                    f"from its township health center or county hospital; each consultant at most "
                    f"{self.half_days_per_consultant} half-days, {self.sessions_per_half_day} sessions each",
                    f"县级医院和乡镇卫生院每周至少{self.sessions_per_week}次（分不同日）向每个村卫生室提供远程诊疗；"
                    f"每名会诊医师每周至多{self.half_days_per_consultant}个半天，每半天{self.sessions_per_half_day}场")
