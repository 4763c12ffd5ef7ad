"""Rules that tell the grouping model what each candidate lead can carry: physicians it can release, residents it can serve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, field_validator

from ..i18n import Text
from ..vocabulary import FacilityKind, Title, parse_title
from .base import KindField, Rule, kind_words, register
from .community import _facility_words, _int_penalty

if TYPE_CHECKING:
    from ..districting import DistrictingModel
    from ..plan import Community, UnitPlan
    from ..units import Unit

RELEASE_TITLES = (Title.CHIEF, Title.ASSOCIATE_CHIEF, Title.ATTENDING)
"""Titles a release cap counts (attending or above), as planner.dispatch.release_cap does."""

DEFAULT_TARGETS = (FacilityKind.TOWNSHIP_HEALTH_CENTER, FacilityKind.COMMUNITY_HEALTH_CENTER)


def _title(value: object) -> object:
    if isinstance(value, Title) or value is None:
        return value
    return parse_title(value).value


def _count(row, column: str) -> int:
    value = row.get(column, 0) if hasattr(row, "get") else 0
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0
    return int(value)


@register
class LeadStaffing(Rule):
    """Communities are formed so that each lead can staff every township health center of its
    community: `min_per_center` physicians of `min_title` or above per center (000 (四):
    "医共体牵头医院向每个乡镇卫生院(社区卫生服务中心)至少派出1名主治医师以上职称人员常年服务"), out of
    what the lead may release (`release_share` of its attending-or-above physicians; a
    facility's own `release_share` overrides it).

    Unset keys take the values of the file's enabled `attending_dispatch` rule, so grouping and
    dispatch read the same numbers. The bound is kept as far as the county's leads allow: a
    center its lead cannot staff costs more than any travel the grouping could save, so the
    plan leaves centers short only where no grouping under the other rules staffs them all
    (typically because the county's leads together cannot release a physician per center).
    """

    kind: Literal["lead_staffing"] = "lead_staffing"
    min_per_center: int | None = Field(default=None, ge=0)
    min_title: Title | None = None
    release_share: float | None = Field(default=None, gt=0, le=1)
    target_kinds: list[KindField] | None = None

    _min_title = field_validator("min_title", mode="before")(staticmethod(_title))

    def bind(self, rules: Sequence[Rule]) -> LeadStaffing:
        """A copy with unset keys filled from the enabled attending_dispatch rule (or the clause's numbers)."""
        dispatch = next((r for r in rules if r.enabled and r.kind == "attending_dispatch"), None)
        fill = {
            "min_per_center": getattr(dispatch, "min_per_center", 1),
            "min_title": getattr(dispatch, "min_title", Title.ATTENDING),
            "release_share": getattr(dispatch, "release_share", 0.2),
            "target_kinds": list(getattr(dispatch, "target_kinds", DEFAULT_TARGETS)),
        }
        update = {k: v for k, v in fill.items() if getattr(self, k) is None}
        return self.model_copy(update=update) if update else self

    # Values with the fallbacks (for a rule used without `bind`).
    @property
    def per_center(self) -> int:
        """Physicians each center needs."""
        return 1 if self.min_per_center is None else self.min_per_center

    @property
    def staff_title(self) -> Title:
        """The lowest title that counts."""
        return Title.ATTENDING if self.min_title is None else self.min_title

    @property
    def share(self) -> float:
        """Default release share."""
        return 0.2 if self.release_share is None else self.release_share

    @property
    def kinds(self) -> tuple[FacilityKind, ...]:
        """Facility kinds that need staffing."""
        return tuple(self.target_kinds) if self.target_kinds is not None else DEFAULT_TARGETS

    def capacity(self, unit: Unit, fid: str) -> tuple[int, int, float]:
        """(physicians fid may release to centers, its attending-or-above physicians, its share)."""
        row = unit.facility_row(fid)
        if row is None:
            return 0, 0, self.share
        eligible = sum(_count(row, t.value) for t in RELEASE_TITLES)
        own = row.get("release_share")
        share = float(own) if own is not None and not (isinstance(own, float) and math.isnan(own)) else self.share
        cap = int(math.floor(share * eligible + 1e-9))
        senior = sum(_count(row, t.value) for t in RELEASE_TITLES if t.rank >= self.staff_title.rank)
        return min(cap, senior), eligible, share

    def targets(self, unit: Unit) -> dict[str, list[str]]:
        """Township code -> the facilities there that need staffing (the dispatch rule's targets)."""
        kinds = {k.value for k in self.kinds}
        # The two columns' lists (the unit keeps them), not the frame: taking every column's rows
        # cost most of the check, and pandas' masks most of what was left (called per unit model).
        out: dict[str, list[str]] = {}
        for fid, kind, town in zip(unit.facilities.index.tolist(), unit.facility_column("kind"),
                                   unit.facility_column("township_code")):
            if str(kind) in kinds:
                out.setdefault(str(town), []).append(str(fid))
        return out

    def demand(self, unit: Unit) -> np.ndarray:
        """Physicians township i asks of candidate f: per center, less the candidate itself if it is one."""
        targets = self.targets(unit)
        d = np.zeros((len(unit.townships), len(unit.candidates)), dtype=np.int64)
        columns: dict[str, list[int]] = {}
        for f, fid in enumerate(unit.candidates):
            columns.setdefault(fid, []).append(f)
        for i, t in enumerate(unit.townships):
            ts = targets.get(t, [])
            if not ts:
                continue
            # Every center of the township, less one for each that is the candidate itself.
            d[i, :] = len(ts)
            for x in ts:
                for f in columns.get(x, ()):
                    d[i, f] -= 1
        return d * self.per_center

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        caps = [self.capacity(unit, fid)[0] for fid in unit.candidates]
        # One missing physician outweighs any travel: the cost of sending every township to its
        # farthest candidate bounds what any regrouping can save.
        penalty = int(np.asarray(unit.cost).max(axis=1).sum()) + 1 if unit.cost.size else 1
        dm.add_capacity(self.demand(unit), caps, self.id, penalty=penalty)

    def shortfall(self, unit: Unit, c: Community, targets: dict[str, list[str]] | None = None) -> tuple[int, int, int, int]:
        """(centers, physicians needed, lead's release cap, lead's attending-or-above) of one community.

        `targets` is `self.targets(unit)` when the caller has it (the check asks for every community)."""
        targets = self.targets(unit) if targets is None else targets
        centers = sum(1 for t in c.townships for x in targets.get(t, []) if x != c.lead)
        cap, eligible, _ = self.capacity(unit, c.lead)
        return centers, centers * self.per_center, cap, eligible

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        targets = self.targets(unit)  # once per unit, not per community: it masks the unit's facilities
        rows = [(c, *self.shortfall(unit, c, targets)) for c in plan.communities]
        total_need = sum(r[2] for r in rows)
        total_cap = sum(r[3] for r in rows)
        if total_cap < total_need:
            return []  # the county's leads together cannot staff every center: no grouping could
        out = []
        for c, centers, need, cap, eligible in rows:
            if need > cap:
                name = _facility_words(unit, c.lead)
                t = self.staff_title.zh
                out.append(Text(
                    f"the community led by {name} has {centers} centers needing {need} {t}-or-above physicians, but "
                    f"its lead may release {cap} (of {eligible}); the plan's leads together may release {total_cap} "
                    f"for the {total_need} needed, so a different grouping would staff every center",
                    f"{name}牵头的医共体有{centers}个卫生院（中心）需{need}名{t}以上职称人员，牵头医院只能派出{cap}名"
                    f"（共{eligible}名）；各牵头医院合计可派{total_cap}名，满足所需{total_need}名，调整分组即可覆盖每个卫生院"))
        return out

    def describe(self) -> Text:
        kinds = kind_words(list(self.kinds))
        return Text(f"communities are formed so that each lead can send {self.per_center} {self.staff_title.zh}-or-above "
                    f"physician(s) to every center ({kinds.en}) of its community, within {self.share:.0%} of its "
                    "attending-or-above physicians, wherever the county's leads together can",
                    f"分组时使每家牵头医院能向本医共体每个{kinds.zh}派出{self.per_center}名{self.staff_title.zh}以上职称人员"
                    f"（不超过其主治医师以上人员的{self.share:.0%}），凡全县牵头医院合计能派足之处均须派足")

    def detail(self, unit: Unit) -> Text:
        need = sum(len(v) for v in self.targets(unit).values()) * self.per_center
        return Text(f"leads must be able to staff {need} center posts", f"牵头医院须能派足{need}个卫生院岗位")


@register
class LeadCapacity(Rule):
    """A lead serves no more residents than its beds (and, when set, outpatient slots) can carry:
    at most beds x 1000 / `beds_per_1000` residents, and daily outpatient slots x 1000 /
    `outpatient_slots_per_1000` when that rate is set.

    No clause sets a rate: the default 1.8 beds per 1,000 residents is the county-run hospital
    bed norm of 《全国医疗卫生服务体系规划纲要（2015—2020年）》 (国办发〔2015〕14号: 县办医院床位数
    每千常住人口1.8张), a planner assumption. A lead without a bed count on record is not bounded.
    Soft (`hard = false`): each resident above a lead's capacity costs `penalty` person-minutes.
    """

    kind: Literal["lead_capacity"] = "lead_capacity"
    beds_per_1000: float | None = Field(default=1.8, gt=0)
    outpatient_slots_per_1000: float | None = Field(default=None, gt=0)
    soft_ok = True
    assumed = {
        "beds_per_1000": Text("no clause sets beds per resident: 1.8 county-run hospital beds per 1,000 residents, "
                              "《全国医疗卫生服务体系规划纲要（2015—2020年）》",
                              "条文未规定每千人床位：取《全国医疗卫生服务体系规划纲要（2015—2020年）》县办医院每千常住人口1.8张"),
        "outpatient_slots_per_1000": Text("no clause sets outpatient slots per resident; unset, slots do not bound a lead",
                                          "条文未规定每千人门诊号源；未设置时不按号源限制"),
    }

    def residents(self, unit: Unit, fid: str) -> int | None:
        """Residents candidate fid can serve (None: no bound on record)."""
        row = unit.facility_row(fid)
        if row is None:
            return None
        bounds = []
        for column, rate in (("beds", self.beds_per_1000), ("daily_outpatient_slots", self.outpatient_slots_per_1000)):
            value = row.get(column)
            if rate is None or value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            bounds.append(int(math.floor(float(value) * 1000 / rate + 1e-9)))
        return min(bounds) if bounds else None

    def add(self, dm: DistrictingModel, unit: Unit) -> None:
        caps = [self.residents(unit, fid) for fid in unit.candidates]
        total = unit.total_population
        bounded = [f for f, c in enumerate(caps) if c is not None and c < total]
        if not bounded:
            return
        dm.add_capacity(unit.population, [total if c is None else c for c in caps], self.id,
                        penalty=_int_penalty(self.soft_penalty), centers=bounded)

    def check(self, unit: Unit, plan: UnitPlan) -> list[Text]:
        out = []
        for c in plan.communities:
            cap = self.residents(unit, c.lead)
            pop = int(sum(unit.population[unit.index[t]] for t in c.townships if t in unit.index))
            if cap is not None and pop > cap:
                name = _facility_words(unit, c.lead)
                out.append(Text(f"the community led by {name} has {pop:,} residents; its lead can serve {cap:,} "
                                f"({self._rates().en})",
                                f"{name}牵头的医共体有{pop:,}人，牵头医院可服务{cap:,}人（{self._rates().zh}）"))
        return out

    def _rates(self) -> Text:
        en, zh = [], []
        if self.beds_per_1000 is not None:
            en.append(f"{self.beds_per_1000:g} beds per 1,000 residents")
            zh.append(f"每千人{self.beds_per_1000:g}张床位")
        if self.outpatient_slots_per_1000 is not None:
            en.append(f"{self.outpatient_slots_per_1000:g} daily outpatient slots per 1,000 residents")
            zh.append(f"每千人每日{self.outpatient_slots_per_1000:g}个门诊号源")
        return Text(" and ".join(en) or "no rate set", "、".join(zh) or "未设置标准")

    def describe(self) -> Text:
        rates = self._rates()
        return Text(f"each lead serves at most the residents its capacity carries at {rates.en}",
                    f"每家牵头医院服务人口不超过其能力可承载的人数（{rates.zh}）")

    def detail(self, unit: Unit) -> Text:
        return Text(f"leads serve at most their capacity ({self._rates().en})", f"牵头医院服务人口不超过其承载能力（{self._rates().zh}）")

