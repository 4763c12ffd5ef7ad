"""Cache solved subproblems on disk, keyed by their data and the rules that touch them."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__, io
from .i18n import Text
from .milp import Status
from .plan import Community, UnitPlan
from .rulefile import rule_digest
from .rules import Rule
from .rules.base import bind_rules
from .units import Unit

CACHE_FORMAT = 2  # 2: entries carry their key and the SHA-256 of their content


def unit_key(unit: Unit, rules: Sequence[Rule], backend: str, time_limit_s: float) -> str:
    """A fingerprint of everything a unit's plan depends on.

    Its townships (codes, populations, adjacency), its candidate leads (ids, the attributes
    rules look at, their roots), the travel minutes, the rules that apply to it (each by its
    own content digest), the backend and time limit, and the planner version. Changing a rule
    that does not apply to a unit leaves the unit's key, and so its cached plan, unchanged.
    """
    cf = unit.candidate_frame
    cols = [c for c in ("kind", "grade", "ownership", "nonprofit", "admin_level", "name", "secondary_capability",
                        "township_code", "beds", "daily_outpatient_slots", "chief", "associate_chief", "attending",
                        "release_share") if c in cf.columns]
    facility_cols = [c for c in ("kind", "grade", "ownership", "admin_level", "name", "township_code")
                     if c in unit.facilities.columns]
    payload = {
        "format": CACHE_FORMAT, "version": __version__, "backend": backend, "time_limit_s": float(time_limit_s),
        "unit": [unit.id, unit.scope, unit.name, list(unit.county_codes), unit.city_code],
        "townships": list(unit.townships), "population": [int(p) for p in unit.population],
        "edges": [list(e) for e in unit.edges],
        "candidates": [[fid, *[str(cf.at[fid, c]) for c in cols]] for fid in unit.candidates],
        "facilities": [[str(fid), *[str(v) for v in row]] for fid, row in
                       zip(unit.facilities.index, unit.facilities[facility_cols].itertuples(index=False))],
        "roots": list(unit.roots),
        "minutes": hashlib.sha256(np.round(np.asarray(unit.minutes, dtype=float), 3).tobytes()).hexdigest(),
        "rules": sorted([r.id, rule_digest(r)] for r in bind_rules(rules)
                        if (type(r).stage == "communities" and r.applies(unit)) or r.kind == "coverage"),
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class UnitCache:
    """Unit plans stored as small JSON files under a folder, one per key, each proving itself before reuse.

    Only proven results (OPTIMAL or INFEASIBLE) are stored: a time-limited plan might be
    improved by solving again. Files are written atomically, so concurrent runs sharing the
    folder never read half a file. An entry is reused only when it passes every check (see
    `validate`): its schema, the SHA-256 of its own content, its key, its unit, the unit's hard
    rules re-checked by the independent checker and its travel and objective recomputed from
    the unit's data; anything odd is a miss, solved again, replaced and listed in `rejected`
    (the run reports it). A folder that cannot be written is skipped with one warning
    (`warnings`); the run goes on without storing.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.rejected: list[Text] = []
        self.warnings: list[Text] = []
        self._writable = True

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, unit: Unit | None = None, rules: Sequence[Rule] | None = None) -> UnitPlan | None:
        """The cached plan for a key, or None (no entry, or one that failed a check: see `rejected`).

        Without `unit` and `rules` only the entry's own integrity is checked (schema, checksum, key).
        """
        path = self._path(key)
        try:
            if not path.is_file():
                return None
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return self._reject(path, unit, f"cannot be read ({type(exc).__name__})", "无法读取")
        try:
            plan = entry_plan(text, key)
        except CacheEntryError as exc:
            return self._reject(path, unit, exc.en, exc.zh)
        if unit is not None and rules is not None:
            problem = validate(plan, unit, rules)
            if problem is not None:
                return self._reject(path, unit, *problem)
        return plan

    def _reject(self, path: Path, unit: Unit | None, why_en: str, why_zh: str) -> None:
        name = f"{unit.name} ({unit.id})" if unit is not None else path.stem[:12]
        self.rejected.append(Text(f"cache entry {path} for {name} was not reused: {why_en}; solved again and replaced",
                                  f"缓存条目 {path}（{name}）未被复用：{why_zh}；已重新求解并替换"))
        return None

    def put(self, key: str, plan: UnitPlan) -> None:
        """Store a proven plan (a folder that cannot be written is skipped, with one warning)."""
        if plan.status not in (Status.OPTIMAL, Status.INFEASIBLE) or not self._writable:
            return
        content = {"unit": plan.unit, "scope": plan.scope, "name": plan.name, "status": plan.status.value,
                   "objective": plan.objective, "bound": plan.bound, "gap": plan.gap, "backend": plan.backend,
                   "travel_person_min": plan.travel_person_min, "penalties": [list(p) for p in plan.penalties],
                   "explanation": [str(x) for x in plan.explanation],
                   "communities": [{"id": c.id, "lead": c.lead, "townships": list(c.townships)} for c in plan.communities]}
        doc = {"format": CACHE_FORMAT, "key": key, "sha256": _digest(content), "content": content}
        try:
            io.write_text(self._path(key), json.dumps(doc, ensure_ascii=False, sort_keys=True))
        except OSError as exc:
            self._writable = False
            reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            self.warnings.append(Text(f"Warning: the cache folder {self.folder} cannot be written ({reason}); solved "
                                      f"counties are not stored this run. Fix: give --cache-dir a writable folder, or --no-cache",
                                      f"警告：缓存文件夹 {self.folder} 无法写入（{reason}）；本次求解结果不会存入缓存。"
                                      f"修改：为 --cache-dir 指定可写的文件夹，或使用 --no-cache"))


class CacheEntryError(Exception):
    """Why a cache entry cannot be used (English and Chinese)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en, self.zh = en, zh


def _digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


_FIELDS: dict[str, tuple[type, ...]] = {
    "unit": (str,), "scope": (str,), "name": (str,), "status": (str,), "objective": (int, float, type(None)),
    "bound": (int, float, type(None)), "gap": (int, float, type(None)), "backend": (str,),
    "travel_person_min": (int, float, type(None)), "penalties": (list,), "explanation": (list,), "communities": (list,),
}


def entry_plan(text: str, key: str) -> UnitPlan:
    """The unit plan a cache entry holds, after its schema, checksum and key are checked (CacheEntryError if not)."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise CacheEntryError("is not JSON (garbled)", "不是有效的 JSON（已损坏）") from None
    if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT or not isinstance(doc.get("content"), dict):
        raise CacheEntryError(f"is not a format-{CACHE_FORMAT} cache entry", f"不是第 {CACHE_FORMAT} 版缓存条目")
    content = doc["content"]
    if doc.get("key") != key:
        raise CacheEntryError("is filed under another key", "存放在其他键下")
    if doc.get("sha256") != _digest(content):
        raise CacheEntryError("its content does not match its checksum (edited or damaged)", "内容与校验和不符（被修改或损坏）")
    for name, types in _FIELDS.items():
        if name not in content or not isinstance(content[name], types) or isinstance(content[name], bool):
            raise CacheEntryError(f"field {name!r} is missing or of the wrong type", f"字段 {name!r} 缺失或类型错误")
    try:
        status = Status(content["status"])
        comms = []
        for c in content["communities"]:
            if not (isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("lead"), str)
                    and isinstance(c.get("townships"), list) and all(isinstance(t, str) for t in c["townships"])):
                raise ValueError("community")
            comms.append(Community(c["id"], content["unit"], c["lead"], tuple(c["townships"])))
        penalties = tuple((str(k), float(v)) for k, v in content["penalties"])
        explanation = tuple(str(x) for x in content["explanation"])
    except (ValueError, TypeError):
        raise CacheEntryError("has malformed communities, status or penalties", "医共体、状态或罚分格式错误") from None
    if status not in (Status.OPTIMAL, Status.INFEASIBLE):
        raise CacheEntryError(f"holds a {status.value} result (only proven ones are stored)", f"存放的是 {status.value} 结果（只存已证明的结果）")
    return UnitPlan(unit=content["unit"], scope=content["scope"], name=content["name"], communities=tuple(comms),
                    status=status, objective=content["objective"], bound=content["bound"], gap=content["gap"],
                    backend=content["backend"], time_s=0.0, travel_person_min=content["travel_person_min"],
                    penalties=penalties, explanation=explanation, reused=True)


def validate(plan: UnitPlan, unit: Unit, rules: Sequence[Rule]) -> tuple[str, str] | None:
    """Why a cached plan cannot stand for `unit` under `rules` (English, Chinese), or None when it can.

    The plan must be the unit's; an OPTIMAL one must cover every township exactly once with
    communities led by the unit's candidates, hold every hard rule (re-checked by planner.check),
    and its travel and objective must agree with the unit's own data: travel recomputed, and
    the objective equal to the cost of the assignment plus the recorded soft-rule penalties.
    """
    from .check import check_plan
    from .plan import Plan

    if plan.unit != unit.id or plan.scope != unit.scope:
        return (f"it is the plan of {plan.unit}, not of {unit.id}", f"它是 {plan.unit} 的规划，不是 {unit.id} 的")
    if plan.status is Status.INFEASIBLE:
        return None if not plan.communities else ("an infeasible result that lists communities", "不可行结果却列出了医共体")
    seen: dict[str, str] = {}
    for c in plan.communities:
        if c.lead not in unit.candidates:
            return (f"community {c.id} is led by {c.lead}, not a candidate lead of the unit", f"医共体 {c.id} 的牵头医院 {c.lead} 不是该单元的候选牵头医院")
        if c.id != f"{unit.id}:{c.lead}":
            return (f"community id {c.id} does not match its lead", f"医共体编号 {c.id} 与牵头医院不符")
        for t in c.townships:
            if t in seen:
                return (f"township {t} is in two communities", f"乡镇 {t} 同时属于两个医共体")
            seen[t] = c.lead
    if set(seen) != set(unit.townships):
        missing, extra = sorted(set(unit.townships) - set(seen)), sorted(set(seen) - set(unit.townships))
        return (f"its communities do not cover the unit's townships exactly (missing {missing[:3]}, extra {extra[:3]})",
                f"其医共体未恰好覆盖该单元的乡镇（缺少 {missing[:3]}，多出 {extra[:3]}）")
    if len({c.lead for c in plan.communities}) != len(plan.communities):
        return ("two communities share a lead", "两个医共体共用一家牵头医院")
    probe = Plan("cache", "cache")
    probe.units[unit.id] = plan
    broken = [v for st in check_plan(probe, [unit], list(rules)) if st.rule.hard for v in st.violations]
    if broken:
        return (f"it breaks hard rule {broken[0].rule_id} ({broken[0].message})", f"违反硬性规则 {broken[0].rule_id}（{broken[0].message}）")
    pairs = [(unit.index[t], unit.candidates.index(c.lead)) for c in plan.communities for t in c.townships]
    travel = float(sum(unit.population[i] * unit.minutes[i, f] for i, f in pairs))
    person_min = float(sum(unit.cost[i, f] for i, f in pairs))
    tol = 1e-6 * max(1.0, abs(person_min)) + 0.5
    if plan.travel_person_min is None or abs(plan.travel_person_min - travel) > tol:
        return (f"its travel ({plan.travel_person_min}) is not the unit's ({travel:.1f} person-minutes)",
                f"其出行量（{plan.travel_person_min}）与该单元数据算得的（{travel:.1f} 人·分钟）不符")
    penalty = sum(v for _k, v in plan.penalties)
    if plan.objective is None or abs(plan.objective - (person_min + penalty)) > tol + 1e-6 * abs(penalty) + 1.0:
        return (f"its objective ({plan.objective}) is not the assignment's cost plus its penalties ({person_min + penalty:.1f})",
                f"其目标值（{plan.objective}）不等于分配成本加罚分（{person_min + penalty:.1f}）")
    if plan.bound is not None and plan.bound > plan.objective + tol:
        return ("its bound is above its objective", "其下界高于目标值")
    if plan.bound is not None and plan.objective - plan.bound > max(1e-4 * abs(plan.objective), 1.0):
        return ("it says OPTIMAL but its bound is below its objective (not proven)", "标为最优但下界低于目标值（未经证明）")
    return None
