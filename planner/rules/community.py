"""Rules that shape communities and city grids: count, leads, coverage, contiguity, balance, travel, pins, members."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import compress
from typing import TYPE_CHECKING, Literal

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..i18n import Text, join
from ..milp import LinExpr
from ..vocabulary import PRIMARY_KINDS, AdminLevel, FacilityKind, Grade, parse_kind
from .base import GradeField, KindField, Rule, Selector, kind_words, register, short_source

if TYPE_CHECKING:
    from ..districting import DistrictingModel
    from ..plan import Community, Plan, UnitPlan
    from ..region import Region
    from ..units import Unit


def _int_penalty(value: float | None) -> int | None:
    # CP-SAT needs integer objective coefficients; penalties are person-minutes.
    return None if value is None else max(1, int(round(value)))


_NOUNS = {"communities": ("communities", "community", "个医共体"), "grids": ("grids", "grid", "个网格"),
          "": ("", "", "个")}


def _range_words(lo: int | None, hi: int | None, noun: str) -> Text:
    """"1-3 communities" / "1-3个医共体" (noun: "communities", "grids" or "")."""
    plural, single, zh = _NOUNS[noun]
    en_noun = single if (hi if hi is not None else lo) == 1 else plural
    tail = f" {en_noun}" if en_noun else ""
    if lo is not None and hi is not None:
        if lo == hi:
            return Text(f"exactly {lo}{tail}", f"恰好{lo}{zh}")
        return Text(f"{lo}-{hi}{tail}", f"{lo}-{hi}{zh}")
    if hi is not None:
        return Text(f"at most {hi}{tail}", f"最多{hi}{zh}")
    return Text(f"at least {lo}{tail}", f"至少{lo}{zh}")


def _community_population(unit: Unit, c: Community) -> int:
    return int(sum(unit.population[unit.index[t]] for t in c.townships if t in unit.index))


def _noun(unit_or_scope: Unit | str) -> str:
    scope = unit_or_scope if isinstance(unit_or_scope, str) else unit_or_scope.scope
    return "communities" if scope == "county" else "grids"


def _facility_words(unit: Unit, fid: str) -> str:
    frame = unit.candidate_frame if fid in unit.candidate_frame.index else unit.facilities
    if fid not in frame.index:
        return fid
    row = frame.loc[fid]
    return f"{row['name']} ({Grade(int(row['grade'])).zh})"


def _led_by(unit: Unit, fid: str) -> Text:
    name = _facility_words(unit, fid)
    return Text(f"the community led by {name}", f"{name}牵头的医共体")


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

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        k = len(plan.communities)
        if (self.min is not None and k < self.min) or (self.max is not None and k > self.max):
            allowed = _range_words(self.min, self.max, "")
            noun_zh = "个医共体" if unit.scope == "county" else "个网格"
            return [Text(f"{k} {_noun(unit)}; the rule allows {allowed.en}".rstrip(), f"{k}{noun_zh}；规则允许{allowed.zh}")]
        return []

    def describe(self) -> Text:
        words = _range_words(self.min, self.max, _noun(self.scope))
        if self.scope == "county":
            return Text(f"{words.en} per county", f"每个县（市、区）{words.zh}")
        return Text(f"{words.en} per city", f"每个城市{words.zh}")

    def detail(self, unit: Unit) -> Text:
        words = _range_words(self.min, self.max, _noun(unit))
        return Text(f"must form {words.en}", f"须组建{words.zh}")


# --- who leads ------------------------------------------------------------------------------------


class LeadException(BaseModel):
    """An exception of a lead rule: facilities `who` may also lead, but only where `when` holds.

    `when`: "no_eligible_lead" (no facility of the unit meets the rule's `lead`), "weak_capability"
    (none that does is graded `weak_below` or above, e.g. Jilin's 服务能力较弱), or "always".
    `pool`: where they come from, the unit's own facilities ("unit") or the city's others ("city").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    who: Selector
    when: Literal["no_eligible_lead", "weak_capability", "always"] = "no_eligible_lead"
    weak_below: GradeField | None = None
    pool: Literal["unit", "city"] = "unit"
    source: str = ""
    quote: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _threshold(self) -> LeadException:
        if self.when == "weak_capability" and self.weak_below is None:
            msg = 'when = "weak_capability" needs `weak_below`, the grade below which the county counts as weak (e.g. "二甲")'
            raise ValueError(msg)
        return self

    @property
    def citation(self) -> str:
        """Short citation of the exception's own clause ("" when it shares the rule's)."""
        return short_source(self.source) if self.source else ""

    def condition(self) -> Text:
        """When the exception holds, in words."""
        if self.when == "always":
            return Text("always", "任何情况下")
        if self.when == "no_eligible_lead":
            return Text("only where no facility meets the lead rule", "仅在没有符合牵头条件的机构时")
        assert self.weak_below is not None
        g = self.weak_below.zh
        return Text(f"only where no facility meeting the lead rule is graded {g} or above (weak capability)",
                    f"仅在符合牵头条件的机构均低于{g}（服务能力较弱）时")

    def words(self) -> Text:
        where = Text(" of the city", "（本市）") if self.pool == "city" else Text("", "")
        who = self.who.words()
        cond = self.condition()
        return Text(f"{who.en}{where.en}, {cond.en}", f"{who.zh}{where.zh}，{cond.zh}")


def _secondary_primary() -> LeadException:
    return LeadException(name="secondary_capable_primary",
                         who=Selector(kinds=sorted(PRIMARY_KINDS, key=lambda k: k.value), secondary_capability=True))


@dataclass(frozen=True)
class LeadBasis:
    """Why one community's lead may lead: the regular rule, or which exception (and its condition)."""

    community: str
    unit: str
    lead: str
    rule: str
    exception: str
    condition: str
    citation: str

    def as_dict(self) -> dict[str, str]:
        """The record plan.json keeps."""
        return {"community": self.community, "unit": self.unit, "lead": self.lead, "rule": self.rule,
                "exception": self.exception, "condition": self.condition, "citation": self.citation}


@register
class LeadEligibility(Rule):
    """Who may lead: `lead` selects the eligible facilities; `exceptions` admit others where their condition holds.

    004 三 1.: county-level institutions lead, in principle 二甲 or above; a primary institution with
    secondary-level capability *may* lead (an exception, `when = "no_eligible_lead"`). 001 (四): a
    city-level hospital may lead where county capability is weak (`when = "weak_capability"`,
    `weak_below`, `pool = "city"`). Shorthands kept for older files:
    `allow_secondary_capable_primary = true` adds the first exception, `city_level_fallback = true`
    a city-level exception that holds where no county facility meets `lead`.
    """

    kind: Literal["lead_eligibility"] = "lead_eligibility"
    lead: Selector
    exceptions: list[LeadException] = Field(default_factory=list)
    allow_secondary_capable_primary: bool = False
    city_level_fallback: bool = False
    soft_ok = True

    @model_validator(mode="after")
    def _unique_names(self) -> LeadEligibility:
        names = [e.name for e in self.exceptions]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            msg = f"exception names must be unique (twice: {', '.join(twice)})"
            raise ValueError(msg)
        return self

    @property
    def all_exceptions(self) -> list[LeadException]:
        """The explicit exceptions, then those the shorthand keys add."""
        out = list(self.exceptions)
        names = {e.name for e in out}
        if self.allow_secondary_capable_primary and "secondary_capable_primary" not in names:
            out.append(_secondary_primary())
        if self.city_level_fallback and "city_level" not in names:
            out.append(LeadException(name="city_level", who=self.lead.model_copy(update={"admin_levels": [AdminLevel.CITY]}),
                                     pool="city"))
        return out

    def _inside(self, unit: Unit) -> np.ndarray:
        towns = unit.facility_column("township_code", candidates=True)
        return np.fromiter((t in unit.index for t in towns), dtype=bool, count=len(towns))

    def _regular(self, unit: Unit) -> tuple[list[str], np.ndarray]:
        """Candidates inside the unit that `lead` admits, and their grades (masks, not row copies:
        filtering GeoDataFrames row by row dominated the checker)."""
        frame = unit.candidate_frame
        ok = self._inside(unit) & self.lead.matches(frame).to_numpy()
        return [str(f) for f in frame.index[ok]], frame["grade"].to_numpy()[ok].astype(int)

    def holds(self, exc: LeadException, unit: Unit) -> bool:
        """Whether an exception's condition holds in this unit."""
        return self._holds(exc, *self._regular(unit)) if exc.when != "always" else True

    @staticmethod
    def _holds(exc: LeadException, regular: list[str], grades: np.ndarray) -> bool:
        """`holds` given the unit's `_regular` candidates and grades."""
        if exc.when == "always":
            return True
        if exc.when == "no_eligible_lead":
            return not regular
        assert exc.weak_below is not None
        return not bool((grades >= int(exc.weak_below)).any())

    def extra_candidates(self, unit: Unit, region: Region) -> list[str]:
        out: set[str] = set()
        for exc in self.all_exceptions:
            if exc.pool != "city" or not self.holds(exc, unit):
                continue
            pool = region.facilities[region.facilities["county_code"].isin(region.city_counties(unit.city_code))]
            pool = pool[~pool["township_code"].isin(unit.index)]
            out |= set(pool.index[exc.who.matches(pool)])
        return sorted(out)

    def basis(self, unit: Unit) -> dict[str, LeadException | None]:
        """Eligible facility -> None when the lead rule admits it, else the exception that does."""
        # Memoised per unit and rule content (never by object id: units travel to worker processes).
        memo = unit.__dict__.setdefault("_lead_basis", {})
        key = (self.model_dump_json(), unit.candidates)
        if key in memo:
            return memo[key]
        # The unit's masks once (each exception's condition reads the same regular candidates).
        regular, grades = self._regular(unit)
        out: dict[str, LeadException | None] = {f: None for f in regular}
        inside = self._inside(unit)
        frame = unit.candidate_frame
        for exc in self.all_exceptions:
            if not self._holds(exc, regular, grades):
                continue
            ok = (inside if exc.pool == "unit" else ~inside) & exc.who.matches(frame).to_numpy()
            for fid in frame.index[ok]:
                out.setdefault(str(fid), exc)
        memo[key] = out
        return out

    def eligible(self, unit: Unit) -> set[str]:
        """Candidate leads of the unit that this rule admits (regularly or by an exception that holds)."""
        return set(self.basis(unit))

    def closes(self, unit: Unit) -> set[int]:
        if self.soft_penalty is not None:
            return set()
        ok = self.eligible(unit)
        return {f for f, fid in enumerate(unit.candidates) if fid not in ok}

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

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        ok = self.eligible(unit)
        need = self._words()
        return [Text(f"lead {_facility_words(unit, c.lead)} is not eligible: needs {need.en}",
                     f"牵头机构{_facility_words(unit, c.lead)}不符合条件：须为{need.zh}")
                for c in plan.communities if c.lead not in ok]

    def used(self, unit: Unit, plan: UnitPlan) -> list[LeadBasis]:
        """The communities of a plan whose lead leads under an exception, and which one."""
        basis = self.basis(unit)
        out = []
        for c in plan.communities:
            exc = basis.get(c.lead)
            if exc is not None:
                out.append(LeadBasis(c.id, unit.id, c.lead, self.id, exc.name, exc.condition().en,
                                     exc.citation or self.citation))
        return out

    def _words(self) -> Text:
        parts = [self.lead.words()]
        for exc in self.all_exceptions:
            w = exc.words()
            parts.append(Text(f"or, as exception {exc.name}, {w.en}", f"例外（{exc.name}）：{w.zh}"))
        return join(parts, "; ", "；")

    def describe(self) -> Text:
        words = self._words()
        return Text(f"leads are {words.en}", f"牵头机构为{words.zh}")

    def detail(self, unit: Unit) -> Text:
        ok = self.eligible(unit)
        if ok:
            names = ", ".join(sorted(_facility_words(unit, f) for f in ok))
            return Text(f"eligible leads are {names}", f"可牵头的机构：{names}")
        hospitals = unit.candidate_frame.sort_values("grade", ascending=False)
        best = ", ".join(_facility_words(unit, f) for f in hospitals.index[:3]) or "none"
        keys = []
        if self.lead.min_grade is not None:
            keys.append(f"`lead.min_grade = {self.lead.min_grade.zh}`")
        for key in ("kinds", "ownership", "admin_levels"):
            if getattr(self.lead, key) is not None:
                keys.append(f"`lead.{key}`")
        which = " / ".join(keys) or "the lead rule"
        return Text(f"{which} leaves no eligible lead (hospitals there: {best})",
                    f"{which}使本地没有可牵头的机构（现有医院：{best}）")


@register
class MustLead(Rule):
    """Facilities that must each lead a community, optionally covering a minimum population share.

    Example: every public secondary-or-higher TCM hospital leads a community covering >= 30 %
    of the county (001 (四)); the county people's hospital leads the one community (002 (二)).
    `pick = "best"` reads a singular ("the county people's hospital"): of the facilities that
    match, only the best-graded (then the one with most beds) must lead; a tie is an error that
    names them. `at_least_one` makes a unit without any such facility a conflict rather than a pass.
    """

    kind: Literal["must_lead"] = "must_lead"
    who: Selector
    pick: Literal["all", "best"] = "all"
    min_population_share: float | None = Field(default=None, gt=0, le=1)
    at_least_one: bool = False
    soft_ok = True

    def _matching(self, unit: Unit) -> list[tuple[str, tuple[int, int]]]:
        """(facility id, (grade, beds)) of the unit's facilities that `who` selects."""
        f = unit.facilities
        ok = self.who.matches(f).to_numpy()
        grades = f["grade"].to_numpy()[ok].astype(int)
        beds = pd.to_numeric(f["beds"], errors="coerce").fillna(0).to_numpy()[ok].astype(int)
        return [(str(fid), (int(g), int(b))) for fid, g, b in zip(f.index[ok], grades, beds)]

    def tied(self, unit: Unit) -> list[str]:
        """With `pick = "best"`, the facilities that tie for best (empty when one is best)."""
        if self.pick != "best":
            return []
        m = self._matching(unit)
        if len(m) < 2:
            return []
        top = max(k for _, k in m)
        tied = sorted(f for f, k in m if k == top)
        return tied if len(tied) > 1 else []

    def required(self, unit: Unit) -> list[str]:
        """Facilities of the unit that must lead."""
        m = self._matching(unit)
        if self.pick == "best" and len(m) > 1:
            if self.tied(unit):
                return []
            return [max(m, key=lambda fk: fk[1])[0]]
        return [f for f, _ in m]

    def _share_target(self, unit: Unit) -> int:
        assert self.min_population_share is not None
        return int(math.ceil(self.min_population_share * unit.total_population - 1e-9))

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        must = self.required(unit)
        penalty = _int_penalty(self.soft_penalty)
        if self.tied(unit):
            dm.model.add(LinExpr(), lb=1, name=f"{self.id}:tie", group=self.id)
            return
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

    def _tie_words(self, unit: Unit) -> Text:
        names = ", ".join(_facility_words(unit, f) for f in self.tied(unit))
        return Text(f"{names} all match {self.who.words().en} with the same grade and beds, and the rule means one: "
                    f"name it with `who.name_pattern` or a pin",
                    f"{names}均符合{self.who.words().zh}且等级、床位相同，而规则只指一家：请用 `who.name_pattern` 或 pin 指定")

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        out: list[Text] = []
        if self.tied(unit):
            return [self._tie_words(unit)]
        must = self.required(unit)
        who = self.who.words()
        if self.at_least_one and not must:
            out.append(Text(f"no facility in {unit.name} is {who.en}", f"{unit.name}没有{who.zh}"))
        led = {c.lead: c for c in plan.communities}
        for fid in must:
            name = _facility_words(unit, fid)
            if fid not in led:
                out.append(Text(f"{name} must lead a community but does not", f"{name}应牵头组建医共体，但未牵头"))
            elif self.min_population_share is not None:
                pop = _community_population(unit, led[fid])
                target = self._share_target(unit)
                share = pop / max(unit.total_population, 1)
                if pop < target:
                    out.append(Text(f"the community led by {name} covers {pop:,} residents ({share:.1%}), below "
                                    f"{self.min_population_share:.0%} ({target:,})",
                                    f"{name}牵头的医共体覆盖{pop:,}人（{share:.1%}），低于{self.min_population_share:.0%}（{target:,}人）"))
        return out

    def describe(self) -> Text:
        who = self.who.words()
        share_en = f", each covering at least {self.min_population_share:.0%} of the population" if self.min_population_share else ""
        share_zh = f"，人口覆盖率不低于{self.min_population_share:.0%}" if self.min_population_share else ""
        if self.pick == "best":
            return Text(f"in each county the best-graded (then largest) of its {who.en} leads a community{share_en}",
                        f"每县由{who.zh}（多家时取等级最高、床位最多者）牵头组建医共体{share_zh}")
        return Text(f"all {who.en} lead a community{share_en}", f"{who.zh}全部牵头组建医共体{share_zh}")

    def detail(self, unit: Unit) -> Text:
        if self.tied(unit):
            return self._tie_words(unit)
        must = self.required(unit)
        who = self.who.words()
        if not must:
            return Text(f"there is no {who.en}", f"没有{who.zh}")
        names = ", ".join(_facility_words(unit, f) for f in must)
        share_en = f" covering >= {self.min_population_share:.0%} of {unit.total_population:,} residents" if self.min_population_share else ""
        share_zh = f"，覆盖不少于{unit.total_population:,}人的{self.min_population_share:.0%}" if self.min_population_share else ""
        return Text(f"{names} must lead{share_en}", f"{names}须牵头{share_zh}")


# --- coverage, shape, travel, reviewer's pins --------------------------------------------------


@register
class Coverage(Rule):
    """Every township belongs to exactly one community or grid (the whole resident population).

    Soft, a township may stay out at `penalty` person-minutes per resident.
    """

    kind: Literal["coverage"] = "coverage"
    soft_ok = True

    def applies(self, unit: Unit) -> bool:
        return self.enabled and self.covers(unit)

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        seen: dict[str, list[str]] = {}
        for c in plan.communities:
            for t in c.townships:
                seen.setdefault(t, []).append(c.lead)
        out: list[Text] = []
        missing = [t for t in unit.townships if t not in seen]
        if missing:
            pop = int(sum(unit.population[unit.index[t]] for t in missing))
            names = ", ".join(f"{unit.township_names[unit.index[t]]} ({t})" for t in missing[:5])
            more_en = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            more_zh = f"等{len(missing)}个" if len(missing) > 5 else ""
            out.append(Text(f"{len(missing)} townships ({pop:,} residents) are in no community: {names}{more_en}",
                            f"{len(missing)}个乡镇（{pop:,}人）不属于任何医共体：{names}{more_zh}"))
        for t, leads in seen.items():
            if len(leads) > 1:
                out.append(Text(f"township {t} is in {len(leads)} communities ({', '.join(leads)})",
                                f"乡镇{t}属于{len(leads)}个医共体（{', '.join(leads)}）"))
            if t not in unit.index:
                out.append(Text(f"township {t} is not part of {unit.name}", f"乡镇{t}不属于{unit.name}"))
        return out

    def describe(self) -> Text:
        return Text("every township is in exactly one community or grid", "每个乡镇（街道）纳入且只纳入一个医共体或网格")

    def detail(self, unit: Unit) -> Text:
        return Text(f"all {len(unit.townships)} townships ({unit.total_population:,} residents) must be covered",
                    f"全部{len(unit.townships)}个乡镇（{unit.total_population:,}人）须纳入")


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

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        out = []
        for c in plan.communities:
            if not community_is_connected(unit, c):
                led = _led_by(unit, c.lead)
                out.append(Text(f"{led.en} is not contiguous", f"{led.zh}不连片"))
        return out

    def describe(self) -> Text:
        return Text("every community is contiguous", "每个医共体（网格）连片")

    def detail(self, unit: Unit) -> Text:
        return Text("communities must be contiguous", "医共体须连片")


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

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        lo, hi = self.bounds(unit)
        out = []
        for c in plan.communities:
            pop = _community_population(unit, c)
            if (lo is not None and pop < lo) or (hi is not None and pop > hi):
                allowed_en = f"{lo or 0:,}-{hi:,}" if hi is not None else f"at least {lo:,}"
                allowed_zh = f"{lo or 0:,}-{hi:,}" if hi is not None else f"不少于{lo:,}"
                led = _led_by(unit, c.lead)
                out.append(Text(f"{led.en} has {pop:,} residents, outside {allowed_en}",
                                f"{led.zh}有{pop:,}人，超出{allowed_zh}"))
        return out

    def describe(self) -> Text:
        en, zh = [], []
        if self.min_share is not None or self.max_share is not None:
            lo, hi = self.min_share or 0, self.max_share if self.max_share is not None else 1
            en.append(f"{lo:.0%}-{hi:.0%} of the population")
            zh.append(f"占全县人口{lo:.0%}-{hi:.0%}")
        if self.min_population is not None or self.max_population is not None:
            hi_en = f"{self.max_population:,}" if self.max_population is not None else "any"
            hi_zh = f"{self.max_population:,}" if self.max_population is not None else "不限"
            en.append(f"{self.min_population or 0:,}-{hi_en} residents")
            zh.append(f"人口{self.min_population or 0:,}-{hi_zh}")
        return Text("each community has " + " and ".join(en), "每个医共体" + "且".join(zh))

    def detail(self, unit: Unit) -> Text:
        lo, hi = self.bounds(unit)
        hi_s = f"{hi:,}" if hi is not None else "any"
        return Text(f"each community needs {lo or 0:,}-{hi_s} residents of {unit.total_population:,}",
                    f"每个医共体须有{lo or 0:,}-{hi_s if hi is not None else '不限'}人（共{unit.total_population:,}人）")


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

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        out = []
        for c in plan.communities:
            minutes = unit.minutes_to(c.lead, unit.candidate_frame if c.lead in unit.candidate_frame.index else unit.facilities)
            lead = _facility_words(unit, c.lead)
            for t in c.townships:
                if t in unit.index and minutes[unit.index[t]] > self.max_minutes + 1e-9:
                    m, name = minutes[unit.index[t]], unit.township_names[unit.index[t]]
                    out.append(Text(f"{name} ({t}) is {m:.1f} min from its lead {lead}, over {self.max_minutes:g}",
                                    f"{name}（{t}）到牵头机构{lead}{m:.1f}分钟，超过{self.max_minutes:g}分钟"))
        return out

    def describe(self) -> Text:
        return Text(f"every township within {self.max_minutes:g} minutes of its lead",
                    f"每个乡镇到牵头机构车程不超过{self.max_minutes:g}分钟")

    def detail(self, unit: Unit) -> Text:
        far = [unit.township_names[i] for i in range(len(unit.townships))
               if unit.minutes.size and float(np.min(unit.minutes[i])) > self.max_minutes]
        if far:
            names = ", ".join(far[:3])
            return Text(f"{names} lie more than {self.max_minutes:g} min from every candidate lead",
                        f"{names}到任何候选牵头机构都超过{self.max_minutes:g}分钟")
        return self.describe()


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

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        assignment = plan.assignment()
        return [Text(f"township {t} is with {assignment.get(t, 'no lead')}, pinned to {self.lead}",
                     f"乡镇{t}归属{assignment.get(t, '无')}，但被指定给{self.lead}")
                for t in self.townships if t in unit.index and assignment.get(t) != self.lead]

    def describe(self) -> Text:
        towns = ", ".join(self.townships)
        return Text(f"townships {towns} stay with {self.lead}", f"乡镇{towns}归{self.lead}牵头的医共体")

    def detail(self, unit: Unit) -> Text:
        if self.lead not in unit.candidates:
            return Text(f"pinned lead {self.lead} cannot lead here (not a hospital of {unit.name})",
                        f"指定的牵头机构{self.lead}不能在此牵头（不是{unit.name}的医院）")
        towns = ", ".join(t for t in self.townships if t in unit.index)
        lead = _facility_words(unit, self.lead)
        return Text(f"{towns} pinned to {lead}", f"{towns}指定给{lead}")


@register
class ForbidLead(Rule):
    """A reviewer's veto: these facilities must not lead."""

    kind: Literal["forbid_lead"] = "forbid_lead"
    facilities: list[str] = Field(min_length=1)

    def applies(self, unit: Unit) -> bool:
        return self.enabled and any(f in unit.candidates for f in self.facilities)

    def closes(self, unit: Unit) -> set[int]:
        return {unit.candidates.index(fid) for fid in self.facilities if fid in unit.candidates}

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        for fid in self.facilities:
            if fid in unit.candidates:
                dm.fix_open(unit.candidates.index(fid), 0, self.id)

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        out = []
        for c in plan.communities:
            if c.lead in self.facilities:
                name = _facility_words(unit, c.lead)
                out.append(Text(f"{name} leads but must not", f"{name}不得牵头，但牵头了"))
        return out

    def describe(self) -> Text:
        ids = ", ".join(self.facilities)
        return Text(f"{ids} must not lead", f"{ids}不牵头")

    def detail(self, unit: Unit) -> Text:
        names = ", ".join(_facility_words(unit, f) for f in self.facilities if f in unit.candidates)
        return Text(f"{names} may not lead", f"{names}不得牵头")


# --- city grids -----------------------------------------------------------------------------------


COUNTY_TYPE_DISTRICTS = ("特区", "林区")
"""Names ending like a 区 that are county-type units: 六枝特区 (003 lists 县〔市、区、特区〕), 神农架林区."""


@dataclass(frozen=True)
class DistrictDecision:
    """Where one county-level unit of a city with a city-grid rule goes, and why."""

    adcode: str
    name: str
    city_code: str
    city_name: str
    in_grid: bool
    reason: Text
    street_share: float | None
    rule: str

    def as_dict(self) -> dict[str, object]:
        """The row of districts.csv and the record of plan.json."""
        return {"adcode": self.adcode, "name": self.name, "city_code": self.city_code, "city_name": self.city_name,
                "unit": f"city:{self.city_code}" if self.in_grid else self.adcode, "in_city_grid": self.in_grid,
                "street_share": None if self.street_share is None else round(self.street_share, 4),
                "reason": self.reason.en, "reason_zh": self.reason.zh, "rule": self.rule}


@register
class CityGrid(Rule):
    """City grids: which districts form the city's grid area, and how many grids (at least `min_grids`).

    003 一 and 三（二）: "未开展紧密型县域医共体建设的城市所在区" join city medical groups. With
    `members = "districts"` a city's 区 join, except 特区/林区 (county-type units) and districts
    presumed to run county communities: those where fewer than `street_share` of the residents
    live in 街道 (a planner assumption: the data do not say which districts run county
    communities). A reviewer lists districts in (`districts`) or out (`exclude`) by adcode, which
    overrides the test; `members = "all"` takes every county-level unit of the city.
    """

    kind: Literal["city_grid"] = "city_grid"
    scope: Literal["city"] = "city"
    members: Literal["districts", "all"] = "districts"
    districts: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    street_share: float | None = Field(default=0.5, ge=0, le=1)
    min_grids: int = Field(default=2, ge=1)
    max_grids: int | None = Field(default=None, ge=1)
    soft_ok = True
    assumed = {"street_share": Text(
        "which districts already run county communities is not in the data: a 区 where fewer than this share of "
        "residents live in 街道 is presumed rural, running a county community",
        "数据中没有哪些区已开展县域医共体建设：街道人口占比低于此值的区视为农村区、已建县域医共体")}

    @model_validator(mode="after")
    def _range(self) -> CityGrid:
        if self.max_grids is not None and self.max_grids < self.min_grids:
            msg = f"min_grids = {self.min_grids} is greater than max_grids = {self.max_grids}"
            raise ValueError(msg)
        both = sorted(set(self.districts) & set(self.exclude))
        if both:
            msg = f"{', '.join(both)} listed both in `districts` and in `exclude`; keep each adcode in one list"
            raise ValueError(msg)
        return self

    def covers_city(self, city_code: str, adcodes: list[str]) -> bool:
        """Whether this rule forms a grid in the city (`counties` names the city or one of its units)."""
        return self.counties is None or bool(set(self.counties) & ({city_code} | set(adcodes)))

    def decide(self, adcode: str, name: str, towns: pd.DataFrame) -> tuple[bool, Text, float | None]:
        """Whether one county-level unit joins its city's grid area, why, and its 街道 share of residents."""
        pop = float(towns["population"].sum())
        share = float(towns.loc[towns["kind"].astype(str) == "街道", "population"].sum() / pop) if pop > 0 and "kind" in towns else None
        if adcode in self.districts:
            return True, Text("listed in `districts` by the rule file", "规则文件 districts 列入"), share
        if adcode in self.exclude:
            return False, Text("listed in `exclude` by the rule file (runs a county community)",
                               "规则文件 exclude 排除（已建县域医共体）"), share
        if self.members == "all":
            return True, Text("members = all: every county-level unit of the city", "members = all：全市各县级单位"), share
        if name.endswith(COUNTY_TYPE_DISTRICTS):
            return False, Text(f"{name[-2:]}: a county-type unit (003 lists 县〔市、区、特区〕), keeps its county community",
                               f"{name[-2:]}属县级单位（003列明县〔市、区、特区〕），保留县域医共体"), share
        if not name.endswith("区"):
            return False, Text("a county or county-level city (县/市): county community", "县或县级市：县域医共体"), share
        if self.street_share is None:
            return True, Text("an urban district (区); street_share test off", "市辖区（未启用街道占比检验）"), share
        if share is None:
            return False, Text("no township kinds or population to test: kept as a county unit",
                               "无乡镇类别或人口，无法检验：保留为县级单元"), share
        if share >= self.street_share:
            return True, Text(f"{share:.0%} of residents live in 街道 (>= {self.street_share:.0%}): an urban district "
                              "not running a county community", f"街道人口占{share:.0%}（≥{self.street_share:.0%}）：城市所在区"), share
        return False, Text(f"{share:.0%} of residents live in 街道 (< {self.street_share:.0%}): presumed to run a county "
                           "community", f"街道人口占{share:.0%}（<{self.street_share:.0%}）：视为已建县域医共体"), share

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        dm.add_count(self.min_grids, self.max_grids, self.id, penalty=_int_penalty(self.soft_penalty))

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        k = len(plan.communities)
        if k < self.min_grids or (self.max_grids is not None and k > self.max_grids):
            words = _range_words(self.min_grids, self.max_grids, "grids")
            return [Text(f"{k} grids; the rule asks for {words.en}", f"{k}个网格；规则要求{words.zh}")]
        return []

    def describe(self) -> Text:
        words = _range_words(self.min_grids, self.max_grids, "grids")
        if self.members == "all":
            return Text(f"all county-level units of each city form {words.en}", f"每个城市全部县级单位规划{words.zh}")
        listed_en = "".join([f"; in: {', '.join(self.districts)}" if self.districts else "",
                             f"; out: {', '.join(self.exclude)}" if self.exclude else ""])
        listed_zh = "".join([f"；列入：{'、'.join(self.districts)}" if self.districts else "",
                             f"；排除：{'、'.join(self.exclude)}" if self.exclude else ""])
        if self.street_share is None:
            test_en, test_zh = "every 区 except 特区/林区", "除特区、林区外的全部市辖区"
        else:
            test_en = f"the 区 (not 特区/林区) where at least {self.street_share:.0%} of residents live in 街道"
            test_zh = f"街道人口占比不低于{self.street_share:.0%}的市辖区（不含特区、林区）"
        return Text(f"{test_en}{listed_en} form each city's grid area, of {words.en}",
                    f"{test_zh}{listed_zh}纳入城市医疗集团，每个城市规划{words.zh}")

    def detail(self, unit: Unit) -> Text:
        words = _range_words(self.min_grids, self.max_grids, "grids")
        return Text(f"must form {words.en}", f"须规划{words.zh}")


def city_grid_districts(region: Region, rules: list[Rule] | tuple[Rule, ...]) -> list[DistrictDecision]:
    """Every county-level unit of each city a city_grid rule covers: in the city's grid area or not, and why.

    Each city follows the first enabled city_grid rule that covers it.
    """
    grid_rules = [r for r in rules if r.enabled and isinstance(r, CityGrid)]
    if not grid_rules:
        return []
    towns_by = {c: f for c, f in region.townships.groupby("county_code", sort=False)}
    empty = region.townships.iloc[0:0]
    out = []
    counties = region.counties.sort_index()
    for city, part in counties.groupby("city_code", sort=True):
        adcodes = [str(a) for a in part.index]
        rule = next((r for r in grid_rules if r.covers_city(str(city), adcodes)), None)
        if rule is None:
            continue
        for adcode, row in part.iterrows():
            towns = towns_by.get(adcode, empty)
            ok, why, share = rule.decide(str(adcode), str(row["name"]), towns)
            out.append(DistrictDecision(str(adcode), str(row["name"]), str(city), region.city_name(str(city)), ok, why,
                                        share, rule.id))
    return out


# --- members ----------------------------------------------------------------------------------------


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
    # Plain lists: iterating pandas string arrays element by element is ten times slower.
    for fid, kind, town in zip(f.index.tolist(), f["kind"].tolist(), f["township_code"].tolist()):
        if str(fid) in out:
            continue
        if kind in across:
            out[str(fid)] = list(all_ids)
        elif town in community_of:
            out[str(fid)] = [community_of[town]]
    return out


def _kind_key(value: object) -> str:
    if isinstance(value, FacilityKind):
        return value.value
    try:
        return parse_kind(value).value.value
    except ValueError as exc:
        raise ValueError(f"{value!r} {exc}") from None


@register
class CommunityMembership(Rule):
    """Who is a member of the community their township is in, compulsorily or voluntarily, and in what role.

    Facilities matching any `compulsory` selector are brought in (e.g. public township health
    centers and qualifying public village clinics, 000 (二)); every other facility in the area
    (private institutions, other village clinics) may join voluntarily and is listed as a
    voluntary member. `roles` gives kinds a role of their own (e.g. maternal-child and CDC
    institutions give technical guidance, 001 (四)); those serve every community of their county.
    """

    kind: Literal["membership"] = "membership"
    compulsory: list[Selector] = Field(min_length=1)
    roles: dict[str, str] = Field(default_factory=dict)

    @field_validator("roles")
    @classmethod
    def _role_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        return {_kind_key(k): str(v) for k, v in value.items()}

    def compulsory_mask(self, facilities: pd.DataFrame) -> pd.Series:
        """Facilities that are compulsory members where they are located."""
        ok = np.zeros(len(facilities), dtype=bool)
        for sel in self.compulsory:
            ok |= sel.matches(facilities).to_numpy()
        return pd.Series(ok, index=facilities.index)

    def check(self, unit: Unit, plan: UnitPlan, members: dict[str, list[str]] | None = None) -> list[Text]:
        members = members if members is not None else plan_members(unit, plan, set(self.roles))
        community_of = {t: c.id for c in plan.communities for t in c.townships}
        leads = {c.lead for c in plan.communities}
        out = []
        f = unit.facilities
        mask = self.compulsory_mask(f).to_numpy()
        for fid, town, name in zip(f.index[mask].tolist(), f["township_code"].to_numpy()[mask].tolist(),
                                   f["name"].to_numpy()[mask].tolist()):
            home = community_of.get(town)
            if home is not None and str(fid) not in leads and home not in members.get(str(fid), []):
                out.append(Text(f"{name} is a compulsory member of {home} but is not listed",
                                f"{name}应为{home}的成员单位，但未列入"))
        return out

    def describe(self) -> Text:
        comp = join([s.words() for s in self.compulsory], ", ", "、")
        roles = ", ".join(f"{FacilityKind(k).zh}: {v}" for k, v in self.roles.items())
        tail_en = f"; roles: {roles}" if roles else ""
        tail_zh = f"；职能：{roles}" if roles else ""
        return Text(f"members: {comp.en} compulsorily; any other facility of the area voluntarily{tail_en}",
                    f"成员单位：{comp.zh}必须纳入；其他机构自愿加入{tail_zh}")


@dataclass(frozen=True)
class MemberRow:
    """One facility's membership of one community."""

    facility_id: str
    community_id: str
    role: str
    membership: str
    across: bool


def member_rows(unit: Unit, plan: UnitPlan, rules: list[Rule] | tuple[Rule, ...]) -> list[MemberRow]:
    """Members of every community of a unit: role (lead, member or a kind's own role) and membership.

    `membership` is "lead", "compulsory" or "voluntary" under the unit's membership rule, or
    "member" when the rule file has none. Kinds with a role, or allowed to serve across grids,
    are members of every community of the unit.
    """
    applicable = [r for r in rules if r.applies(unit)]
    # The plan records, the tables and the reports each ask: memoised per unit, plan and rules.
    memo = unit.__dict__.setdefault("_member_rows", {})
    key = (plan.communities, tuple(r.model_dump_json() for r in applicable))
    if key in memo:
        return memo[key]
    rule = next((r for r in applicable if isinstance(r, CommunityMembership)), None)
    across = {k.value for r in applicable for k in getattr(r, "may_serve_across", [])}
    roles = dict(rule.roles) if rule is not None else {}
    members = plan_members(unit, plan, across | set(roles))
    leads = {c.lead for c in plan.communities}
    ids = [str(f) for f in unit.facilities.index.tolist()]
    kind_of = dict(zip(ids, unit.facilities["kind"].astype(str).tolist()))
    compulsory = set(compress(ids, rule.compulsory_mask(unit.facilities).tolist())) if rule is not None else None
    out = []
    for fid, comms in sorted(members.items()):
        if fid in leads:
            role, membership = "lead", "lead"
        else:
            role = roles.get(kind_of.get(fid, ""), "member")
            membership = "member" if compulsory is None else ("compulsory" if fid in compulsory else "voluntary")
        out.extend(MemberRow(fid, cid, role, membership, len(comms) > 1) for cid in comms)
    memo.clear()  # one plan per unit at a time: keep memory flat on a national run
    memo[key] = out
    return out


def lead_exceptions(units: list[Unit] | tuple[Unit, ...], plan: Plan, rules: list[Rule] | tuple[Rule, ...]) -> list[LeadBasis]:
    """Every community whose lead leads under an exception of a lead rule, with the exception and its condition."""
    out: list[LeadBasis] = []
    for unit in units:
        up = plan.units.get(unit.id)
        if up is None or not up.solved:
            continue
        for rule in rules:
            if isinstance(rule, LeadEligibility) and rule.applies(unit):
                out.extend(rule.used(unit, up))
    return out


def membership_summary(units: list[Unit] | tuple[Unit, ...], plan: Plan,
                       rules: list[Rule] | tuple[Rule, ...]) -> dict[str, object]:
    """For plan.json: per community, how many compulsory and voluntary members, and who the voluntary ones are."""
    counts: dict[str, dict[str, int]] = {}
    voluntary: dict[str, list[str]] = {}
    for unit in units:
        up = plan.units.get(unit.id)
        if up is None or not up.solved:
            continue
        for row in member_rows(unit, up, rules):
            counts.setdefault(row.community_id, {}).setdefault(row.membership, 0)
            counts[row.community_id][row.membership] += 1
            if row.membership == "voluntary":
                voluntary.setdefault(row.community_id, []).append(row.facility_id)
    return {"counts": counts, "voluntary": voluntary}


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

    def check(self, unit: Unit, plan: UnitPlan, members: dict[str, list[str]] | None = None) -> list[Text]:
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
            name = row["name"]
            if home is None:
                out.append(Text(f"{name} lies in township {row['township_code']}, which is in no grid",
                                f"{name}所在乡镇{row['township_code']}不属于任何网格"))
            elif home not in have:
                out.append(Text(f"{name} lies in grid {home} but is not its member", f"{name}位于网格{home}，但不是其成员"))
            elif len(have) > 1 and row["kind"] not in across:
                allowed = ", ".join(sorted(across)) or "none"
                out.append(Text(f"{name} is a member of {len(have)} grids; only {allowed} may serve across",
                                f"{name}属于{len(have)}个网格；只有{allowed}可跨网格服务"))
        return out

    def describe(self) -> Text:
        who = self.hospitals.words()
        if self.may_serve_across:
            across = kind_words(self.may_serve_across)
            return Text(f"each grid contains every {who.en} inside it; {across.en} may serve across grids",
                        f"每个网格的成员单位包括网格内全部{who.zh}；{across.zh}可跨网格服务")
        return Text(f"each grid contains every {who.en} inside it", f"每个网格的成员单位包括网格内全部{who.zh}")

    def detail(self, unit: Unit) -> Text:
        who = self.hospitals.words()
        return Text(f"grids contain their {who.en}", f"网格包含其{who.zh}")
