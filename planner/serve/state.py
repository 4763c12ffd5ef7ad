"""A reviewer's workspace on the review page: region, rule file, edited rules, solves and their diffs.

Concurrency: each workspace (one per browser session) has its own lock, held for every
request that reads or changes it, so one reviewer's requests run one at a time in order; a
process-wide lock serialises solves and region loads (CP-SAT runs one thread, the machine
has few cores, and the loaded regions are shared read-only by every workspace).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import InputDataError, Problem, RuleFileError
from ..i18n import Text

if TYPE_CHECKING:
    from ..api import Comparison, PlanResult
    from ..region import Region
    from ..rulefile import RuleSet

MAX_WORKSPACES = 32
"""Browser sessions kept; the least recently used one is dropped past this."""

MAX_REGIONS = 4
"""Loaded regions kept in memory (a province is a few hundred MB)."""

EDITABLE_SKIP = ("id", "kind", "source", "source_zh", "scope", "counties", "except_counties", "title", "note")
"""Rule keys the form does not offer: identity, citation and where the rule applies (the form's scope)."""

_NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .()（）-]{0,80}\.toml$")


@dataclass
class Solved:
    """One solve of one unit: the result, its diff against the unit's previous solve, pages drawn on demand."""

    token: str
    unit: str
    result: PlanResult
    diff: Comparison | None
    solve_s: float
    rules_digest: str
    pages: dict[str, str] = field(default_factory=dict)


class Server:
    """What every workspace shares: the save folder, map options, the region cache and the solve lock."""

    def __init__(self, save_dir: str | Path, *, tiles: str = "osm", rule_files: tuple[str, ...] = (),
                 region: str = "义乌市") -> None:
        from ..mapstyle import MapOptions

        self.save_dir = Path(save_dir).resolve()
        self.tiles = MapOptions(tiles=tiles).checked().tiles
        self.rule_files = tuple(str(Path(f).resolve()) for f in rule_files)
        self.default_region = region
        self.solve_lock = threading.Lock()
        self._regions: OrderedDict[str, Region] = OrderedDict()
        self._subsets: dict[tuple[str, tuple[str, ...]], Region] = {}
        self._workspaces: OrderedDict[str, Workspace] = OrderedDict()
        self._tokens: dict[str, tuple[str, Solved]] = {}
        self._lock = threading.Lock()

    # --- sessions ------------------------------------------------------------------------

    def workspace(self, sid: str | None) -> tuple[str, Workspace]:
        """The session's workspace (a new session id and workspace when `sid` is unknown)."""
        with self._lock:
            if sid and sid in self._workspaces:
                self._workspaces.move_to_end(sid)
                return sid, self._workspaces[sid]
            sid = secrets.token_urlsafe(24)
            ws = Workspace(self, sid)
            self._workspaces[sid] = ws
            while len(self._workspaces) > MAX_WORKSPACES:
                old, _ = self._workspaces.popitem(last=False)
                self._tokens = {t: v for t, v in self._tokens.items() if v[0] != old}
            return sid, ws

    def register(self, sid: str, solved: Solved) -> None:
        with self._lock:
            self._tokens[solved.token] = (sid, solved)

    def forget(self, tokens: list[str]) -> None:
        with self._lock:
            for t in tokens:
                self._tokens.pop(t, None)

    def solved(self, sid: str | None, token: str) -> Solved | None:
        """A solve by its map token, only for the session that made it."""
        with self._lock:
            owner = self._tokens.get(token)
        return owner[1] if owner is not None and owner[0] == sid else None

    # --- data ----------------------------------------------------------------------------

    def region(self, spec: str) -> Region:
        """An embedded region, loaded once and shared (read-only) by every workspace."""
        from ..regions import load, resolve

        key = resolve(spec).code
        with self._lock:
            if key in self._regions:
                self._regions.move_to_end(key)
                return self._regions[key]
        with self.solve_lock:
            region = load(spec)
        with self._lock:
            self._regions[key] = region
            while len(self._regions) > MAX_REGIONS:
                old, _ = self._regions.popitem(last=False)
                self._subsets = {k: v for k, v in self._subsets.items() if k[0] != old}
        return region

    def subset(self, spec: str, region: Region, counties: tuple[str, ...]) -> Region:
        """The region cut to some counties (with their city's hospitals), built once per set."""
        from ..regions import resolve

        key = (resolve(spec).code, counties)
        with self._lock:
            hit = self._subsets.get(key)
        if hit is not None:
            return hit
        from ..api import subset_region

        part = subset_region(region, counties)
        with self._lock:
            self._subsets[key] = part
        return part

    def rule_choices(self) -> list[dict[str, str]]:
        """Rule files to pick from: the shipped ones, those given at start, the .toml files in the save folder."""
        from ..rulefile import builtin_names

        out = [{"value": name, "label": name, "kind": "builtin"} for name in builtin_names()]
        seen = set()
        for f in self.rule_files:
            out.append({"value": f, "label": f, "kind": "file"})
            seen.add(f)
        if self.save_dir.is_dir():
            for p in sorted(self.save_dir.glob("*.toml")):
                if str(p.resolve()) not in seen:
                    out.append({"value": p.name, "label": p.name, "kind": "saved"})
        return out

    def rules_path(self, choice: str) -> str:
        """The rule file for a choice of `rule_choices` (nothing else is opened)."""
        for c in self.rule_choices():
            if c["value"] == choice:
                return str(self.save_dir / choice) if c["kind"] == "saved" else choice
        raise RuleFileError(Problem(str(choice), "", Text("is not one of the rule files offered",
                                                          "不在可选的规则文件之中"),
                                    Text("pick a shipped rule file, or one in the save folder",
                                         "请选择自带的规则文件，或保存文件夹中的规则文件")))


class Workspace:
    """One reviewer's state; every method runs under the workspace's lock (see the module docstring)."""

    def __init__(self, server: Server, sid: str) -> None:
        self.server = server
        self.sid = sid
        self.lock = threading.Lock()
        self.region_spec = ""
        self.region: Region | None = None
        self.file_rules: RuleSet | None = None
        self.rules: RuleSet | None = None
        self.target = ""
        self.history: dict[str, list[Solved]] = {}

    # --- opening ---------------------------------------------------------------------------

    def open(self, region_spec: str, rules_choice: str) -> dict[str, Any]:
        """Load a region and a rule file; the edits and solves of the previous choice are dropped."""
        from ..rulefile import load_rules

        region = self.server.region(region_spec)
        rules = load_rules(self.server.rules_path(rules_choice))
        self.server.forget([s.token for solves in self.history.values() for s in solves])
        self.region_spec, self.region, self.file_rules, self.rules = region_spec, region, rules, rules
        self.history = {}
        stem = Path(rules.path).stem
        self.target = f"{stem}-review.toml" if not stem.endswith("-review") else f"{stem}.toml"
        return self.view()

    def _ready(self) -> tuple[Region, RuleSet]:
        if self.region is None or self.rules is None:
            raise InputDataError(Problem("review page", "", Text("no region and rule file are open", "尚未打开地区和规则文件"),
                                         Text("pick a region and a rule file, then Open", "请选择地区和规则文件，然后点“打开”")))
        return self.region, self.rules

    def units(self) -> list[dict[str, str]]:
        """The region's units under the current rules: counties, and city grids where a rule forms them."""
        from ..units import city_grid_members

        region, rules = self._ready()
        grids = city_grid_members(region, rules.rules)
        in_grid = {c for members in grids.values() for c in members}
        out = [{"id": str(code), "name": str(row["name"]), "scope": "county"}
               for code, row in region.counties.sort_index().iterrows() if code not in in_grid]
        out += [{"id": f"city:{city}", "name": f"{region.city_name(city)}（城市网格）", "scope": "city"}
                for city in sorted(grids)]
        return out

    def _unit_counties(self, unit: str) -> tuple[str, ...]:
        from ..units import city_grid_members

        region, rules = self._ready()
        if unit.startswith("city:"):
            members = city_grid_members(region, rules.rules).get(unit[5:])
            if not members:
                raise InputDataError(Problem(region.name, f"unit {unit}", "is not a city grid under these rules",
                                             "pick a unit from the list"))
            return tuple(sorted(members))
        if unit not in region.counties.index:
            raise InputDataError(Problem(region.name, f"unit {unit!r}", Text("is not a county of the region",
                                                                             "不是该地区的区县"),
                                         Text("pick a unit from the list", "请从列表中选择")))
        for members in city_grid_members(region, rules.rules).values():
            if unit in members:
                return tuple(sorted(members))
        return (unit,)

    # --- the form ---------------------------------------------------------------------------

    def rules_view(self, unit: str | None) -> list[dict[str, Any]]:
        """The rules as the form shows them: for a unit, the rules in force there; else the region-wide ones."""
        from ..ruleedit import value_text

        region, rules = self._ready()
        codes: set[str] = set()
        if unit:
            counties = self._unit_counties(unit)
            codes = set(counties) | {unit, region.city_of(counties[0])}
        out = []
        for r in rules.rules:
            counties = set(r.counties or [])
            excluded = set(getattr(r, "except_counties", None) or [])
            if unit:
                if r.counties is not None and not counties & codes:
                    continue
                if excluded & codes:
                    continue
            elif r.counties is not None:
                continue
            keys = [k for k in type(r).model_fields if k not in EDITABLE_SKIP]
            # An override for some counties (`<id>@<counties>`, split off by the loader) is shown and edited
            # under the rule's own id, as the reviewer wrote it; the parent is hidden there (except_counties).
            shown_id = r.id.split("@", 1)[0] if "@" in r.id and _has_rule(rules, r.id.split("@", 1)[0]) else r.id
            out.append({
                "id": shown_id, "kind": r.kind, "title": r.title, "citation": r.citation, "heading": r.heading(),
                "stage": type(r).stage, "counties": list(r.counties or []),
                "per_unit": type(r).stage == "communities",
                "values": [{"key": k, "text": value_text(getattr(r, k)), "doc": _field_doc(type(r), k)} for k in keys],
            })
        return out

    def edit(self, rule_id: str, unit: str | None, values: dict[str, str]) -> dict[str, Any]:
        """Change rule values from the form, validated as the same change in the saved file would be.

        `unit` limits the change to that county (or city grid), the way `counties = [...]` does
        in a file; None changes the rule everywhere. Raises RuleFileError with the messages a
        rule file gets (naming the file this review will be saved to).
        """
        from ..ruleedit import parse_value, replace_rule, value_text

        region, rules = self._ready()
        try:
            rule = rules.by_id(rule_id)
        except KeyError:
            raise RuleFileError(Problem(self.target, f"rule {rule_id}", Text("is not a rule of this file", "不是该文件中的规则"),
                                        Text("reload the page", "请刷新页面"))) from None
        if unit is not None:
            # The form showed this unit's override of the rule, if it has one: compare the values with it.
            codes = set(self._unit_counties(unit)) | {unit, unit[5:] if unit.startswith("city:") else unit}
            rule = next((r for r in rules.rules if r.id.startswith(f"{rule_id}@") and set(r.counties or []) & codes), rule)
        changes = {}
        for key, text in values.items():
            if not isinstance(key, str) or not isinstance(text, str):
                raise RuleFileError(Problem(self.target, f"rule {rule_id}", "the form sent a value that is not text",
                                            "reload the page"))
            if key in type(rule).model_fields and key not in EDITABLE_SKIP and text.strip() == value_text(getattr(rule, key)):
                continue
            if not text.strip():
                raise RuleFileError(Problem(self.target, f"rule {rule_id}", Text(
                    f"key `{key}`: a value cannot be removed in a rule file", f"键 `{key}`：规则文件中不能删除取值"),
                    Text("give a value, or switch the rule off with enabled = false",
                         "请给出取值，或用 enabled = false 关闭该规则")))
            changes[key] = parse_value(text)
        if not changes:
            return self.view(unit)
        scoped = unit is not None and type(rule).stage == "communities"
        if scoped:
            counties = list(self._unit_counties(unit)) if not unit.startswith("city:") else [unit[5:]]
            if rule.counties is not None and set(rule.counties) == set(counties):
                scoped = False  # the rule is already this unit's own: change it in place
            else:
                changes["counties"] = counties
        # The unit's own override (or a rule already limited to it) changes in place, under its own id.
        self.rules = replace_rule(rules, rule_id if scoped else rule.id, changes, label=self.target)
        return self.view(unit)

    def reset(self) -> dict[str, Any]:
        """Drop every edit: back to the rule file as it is on disk."""
        self._ready()
        self.rules = self.file_rules
        return self.view()

    # --- solving ----------------------------------------------------------------------------

    def solve(self, unit: str) -> Solved:
        """Re-solve one unit (a county, or a city grid) under the current rules, with its diff to the previous solve."""
        from ..api import PlanResult, compare
        from ..pipeline import run_plan

        region, rules = self._ready()
        counties = self._unit_counties(unit)
        part = self.server.subset(self.region_spec, region, counties)
        t0 = time.perf_counter()
        with self.server.solve_lock:
            run = run_plan(part, rules)
        result = PlanResult(run)
        elapsed = time.perf_counter() - t0
        earlier = self.history.get(unit, [])
        diff = compare(earlier[-1].result, result, region=part) if earlier else None
        solved = Solved(secrets.token_hex(8), unit, result, diff, elapsed, rules.digest)
        self.history.setdefault(unit, []).append(solved)
        if len(self.history[unit]) > 2:  # keep the previous solve (for the diff) and this one
            self.server.forget([s.token for s in self.history[unit][:-2]])
            self.history[unit] = self.history[unit][-2:]
        self.server.register(self.sid, solved)
        return solved

    def save(self, name: str) -> dict[str, Any]:
        """Save the edited rules as `name` in the save folder (a new file, or one the planner wrote there)."""
        from ..ruleedit import save_rules

        _region, rules = self._ready()
        assert self.file_rules is not None
        name = name.strip()
        folder = self.server.save_dir
        target = (folder / name).resolve()
        if not _NAME.match(name) or target.parent != folder:
            raise RuleFileError(Problem(name or "(no name)", "", Text("is not a file name for a rule file in the save folder",
                                                                      "不是保存文件夹中规则文件的文件名"),
                                        Text("give a name like yiwu-review.toml (letters, digits, - and _; no folders)",
                                             "请给出类似 yiwu-review.toml 的文件名（字母、数字、- 和 _；不含文件夹）")))
        folder.mkdir(parents=True, exist_ok=True)
        saved = save_rules(rules, target, name=Path(name).stem, base=self.file_rules)
        self.target = name
        return {"path": str(target), "name": name, "rules_digest": saved.digest, "same": same_rules(saved, rules)}

    # --- what the page shows ------------------------------------------------------------------

    def view(self, unit: str | None = None) -> dict[str, Any]:
        """The workspace for the page: region, rule file, units, the form, and whether rules were edited."""
        region, rules = self._ready()
        assert self.file_rules is not None
        from ..ruleedit import changed_tables

        edits = changed_tables(rules, self.file_rules)
        return {"region": region.name, "region_spec": self.region_spec, "rules": rules.name,
                "rules_path": rules.path, "title": rules.title, "target": self.target,
                "save_dir": str(self.server.save_dir), "units": self.units(), "unit": unit,
                "form": self.rules_view(unit), "edits": edits, "edited": bool(edits)}


def same_rules(a: RuleSet, b: RuleSet) -> bool:
    """True when two rule sets hold the same rules and travel settings, in any order (a file read back
    lists the rules it adds after the inherited ones)."""
    from ..rulefile import rule_digest

    return a.travel == b.travel and sorted(map(rule_digest, a.rules)) == sorted(map(rule_digest, b.rules))


def _field_doc(cls: type, key: str) -> str:
    info = cls.model_fields.get(key)
    return (info.description or "") if info is not None else ""


def solved_view(solved: Solved, lang: str) -> dict[str, Any]:
    """A solve for the page: key figures, the checker's results, the diff, and the map pages' addresses."""
    r = solved.result
    s = r.summary()
    checks = r.checks
    violations = r.violations
    diff = solved.diff
    return {
        "token": solved.token, "unit": solved.unit, "solve_s": round(solved.solve_s, 3),
        "summary": {k: (v if not isinstance(v, float) or v == v else None) for k, v in s.items()},
        "status": r.status, "passed": r.passed, "explanations": r.explanations(),
        "checks": checks[["rule_id", "status", "hard", "citation", "heading", "units_checked", "violations"]]
        .to_dict("records"),
        "violations": violations[["rule_id", "hard", "message"]].astype({"message": str}).to_dict("records"),
        "communities": r.communities.drop(columns="geometry").to_dict("records") if len(r.communities) else [],
        "diff": None if diff is None else {
            "lines": list(diff.lines), "moved": diff.moved.to_dict("records"), "leads_added": list(diff.leads_added),
            "leads_removed": list(diff.leads_removed), "objective_before": diff.objective_before,
            "objective_after": diff.objective_after, "changed": diff.changed},
        "map": f"/maps/{solved.token}/units/{_unit_file(solved.unit)}",
        "diff_map": f"/maps/{solved.token}/diff.html" if diff is not None else None,
    }


def _unit_file(unit: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]", "_", unit) + ".html"


def unit_page(solved: Solved, tiles: str, lang: str) -> str:
    """The unit's map page (the maps engineer's renderer, with assets linked from ../assets/)."""
    key = f"unit:{lang}"
    if key not in solved.pages:
        from ..render import map_pages, unit_filename

        pages = map_pages(solved.result.run, lang=lang, tiles=tiles, units=[solved.unit])
        solved.pages[key] = pages[f"units/{unit_filename(solved.unit)}"]
    return solved.pages[key]


def diff_page(solved: Solved, tiles: str, lang: str) -> str | None:
    """The map of what moved since the unit's previous solve."""
    if solved.diff is None:
        return None
    key = f"diff:{lang}"
    if key not in solved.pages:
        from ..mapstyle import MapOptions
        from ..render import diff_page as draw, page_html

        opts = MapOptions(lang, False, tiles).checked()
        d = solved.diff
        solved.pages[key] = page_html(draw(d.before, d.after, d.region, opts), opts)
    return solved.pages[key]


def _has_rule(rules: Any, rule_id: str) -> bool:
    return any(r.id == rule_id for r in rules.rules)
