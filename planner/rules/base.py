"""The Rule base class, facility selectors and the registry of rule kinds."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..vocabulary import AdminLevel, FacilityKind, Grade, Ownership, parse_admin_level, parse_grade, parse_kind, parse_ownership

if TYPE_CHECKING:
    from ..districting import DistrictingModel
    from ..plan import UnitPlan
    from ..region import Region
    from ..units import Unit

RULE_KINDS: dict[str, type[Rule]] = {}
"""Every rule kind by the name used in rule files; filled by `register`."""


def register(cls: type[Rule]) -> type[Rule]:
    """Add a rule class to RULE_KINDS under its `kind`."""
    kind = cls.model_fields["kind"].default
    RULE_KINDS[kind] = cls
    return cls


def _parsed(parser: Any) -> Any:
    def check(value: object) -> object:
        if value is None or isinstance(value, (Grade, FacilityKind, Ownership, AdminLevel)):
            return value
        if parser is parse_grade and isinstance(value, int) and value in {g.value for g in Grade}:
            return Grade(value)  # a grade written back as its ordered value (rules inherited via extends)
        try:
            return parser(value).value
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    return check


GradeField = Annotated[Grade, BeforeValidator(_parsed(parse_grade))]
KindField = Annotated[FacilityKind, BeforeValidator(_parsed(parse_kind))]
OwnershipField = Annotated[Ownership, BeforeValidator(_parsed(parse_ownership))]
LevelField = Annotated[AdminLevel, BeforeValidator(_parsed(parse_admin_level))]


def short_source(source: str) -> str:
    """"000_daed78e4f2e6cfdf.txt (二)" -> "000 (二)", for compact citations."""
    m = re.match(r"^(\d{3})_[0-9a-f]+\.txt\s*(.*)$", source.strip())
    return f"{m.group(1)} {m.group(2)}".strip() if m else source


class Rule(BaseModel):
    """A policy rule read from a constraint file.

    Every rule has an `id` (unique in its file), a `kind` (the class), the `source` clause it
    encodes, and may be disabled (`enabled = false`) or made soft (`hard = false` with a
    `penalty` in person-minutes per unit of violation) where its kind allows it. `counties`
    (adcodes, or city codes for city grids) limits a community rule to some places, so a
    reviewer can change a number for one county only. Subclasses
    add their own keys as fields, add constraints to a unit's model (`add`), check a finished
    plan on their own (`check`), and describe themselves (`describe`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    id: str = Field(min_length=1)
    kind: str
    source: str = Field(min_length=1)
    enabled: bool = True
    hard: bool = True
    penalty: float | None = Field(default=None, gt=0)
    scope: Literal["county", "city"] = "county"
    counties: list[str] | None = None
    title: str = ""
    note: str = ""

    soft_ok: ClassVar[bool] = False
    """Whether `hard = false` is meaningful for this kind."""
    stage: ClassVar[str] = "communities"
    """Which part of planning the rule constrains: communities, dispatch, dialysis, capacity."""

    @model_validator(mode="after")
    def _soft_needs_penalty(self) -> Rule:
        if not self.hard and not type(self).soft_ok:
            msg = f"rule kind {self.kind!r} cannot be soft; remove `hard = false` or disable it with `enabled = false`"
            raise ValueError(msg)
        if not self.hard and self.penalty is None:
            msg = "a soft rule (hard = false) needs a `penalty` (person-minutes per unit of violation)"
            raise ValueError(msg)
        return self

    # --- behaviour ---------------------------------------------------------------------

    def applies(self, unit: Unit) -> bool:
        """Whether the rule constrains this unit (enabled, of its scope, and among `counties` if given)."""
        return self.enabled and unit.scope == self.scope and self.covers(unit)

    def covers(self, unit: Unit) -> bool:
        """True when `counties` is unset, or names one of the unit's counties (or its city code)."""
        if self.counties is None:
            return True
        return bool(set(self.counties) & ({unit.id, unit.city_code} | set(unit.county_codes)))

    @property
    def soft_penalty(self) -> float | None:
        """The penalty when the rule is soft, else None (hard)."""
        return None if self.hard else self.penalty

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        """Add this rule's constraints (group = rule id) to a unit's model."""

    def check(self, unit: Unit, plan: UnitPlan) -> list[str]:
        """Violations of this rule by a finished plan of one unit, one message each."""
        return []

    def describe(self) -> str:
        """What the rule requires, in words (English)."""
        return self.kind

    def heading(self) -> str:
        """The reviewer's title when the file gives one (often Chinese), else `describe()`."""
        return self.title or self.describe()

    def detail(self, unit: Unit) -> str:
        """What the rule means in this unit, for explanations of conflicts (without the unit's name)."""
        return self.describe()

    def extra_candidates(self, unit: Unit, region: Region) -> list[str]:
        """Facilities outside the unit that this rule lets lead it (e.g. city hospitals)."""
        return []

    @property
    def citation(self) -> str:
        """Short citation, e.g. "000 (二)"."""
        return short_source(self.source)

    def label(self) -> str:
        """`id (citation)` for messages."""
        return f"{self.id} ({self.citation})"


class Selector(BaseModel):
    """Which facilities a rule is about: kinds, minimum grade, ownership, level, name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[KindField] | None = None
    min_grade: GradeField | None = None
    ownership: list[OwnershipField] | None = None
    nonprofit: bool | None = None
    admin_levels: list[LevelField] | None = None
    name_pattern: str | None = None

    def matches(self, facilities: pd.DataFrame) -> pd.Series:
        """Boolean mask of the facilities that match every given criterion."""
        ok = pd.Series(True, index=facilities.index)
        if self.kinds is not None:
            ok &= facilities["kind"].isin([k.value for k in self.kinds])
        if self.min_grade is not None:
            ok &= facilities["grade"].astype(int) >= int(self.min_grade)
        if self.ownership is not None:
            ok &= facilities["ownership"].isin([o.value for o in self.ownership])
        if self.nonprofit is not None:
            ok &= facilities["nonprofit"].fillna(True).astype(bool) == self.nonprofit
        if self.admin_levels is not None:
            ok &= facilities["admin_level"].isin([lv.value for lv in self.admin_levels])
        if self.name_pattern:
            ok &= facilities["name"].astype(str).str.contains(self.name_pattern, regex=True)
        return ok

    def words(self) -> str:
        """The criteria in words, e.g. "public general/TCM hospitals graded 二甲 or above"."""
        parts = []
        if self.ownership:
            parts.append("/".join(o.value for o in self.ownership))
        if self.nonprofit:
            parts.append("non-profit")
        if self.admin_levels:
            parts.append("/".join(lv.value for lv in self.admin_levels) + "-level")
        parts.append("/".join(k.zh for k in self.kinds) if self.kinds else "facilities")
        if self.name_pattern:
            parts.append(f"named like {self.name_pattern!r}")
        if self.min_grade is not None:
            parts.append(f"graded {self.min_grade.zh} or above")
        return " ".join(parts)
