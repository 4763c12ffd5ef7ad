"""Read constraint files (TOML) into rule sets, reporting every problem with file, rule id and key."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import Problem, RuleFileError, raise_if
from .i18n import Text
from .rules import RULE_KINDS, Rule
from .rules.consistency import contradictions
from .travel import DEFAULT_DETOUR_FACTOR, DEFAULT_SPEED_KPH

TOP_KEYS = ("policy", "travel", "rule")


class TravelSettings(BaseModel):
    """The [travel] table: how travel minutes are estimated without a road graph."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detour_factor: float = Field(default=DEFAULT_DETOUR_FACTOR, ge=1.0, le=3.0)
    speed_kph: float = Field(default=DEFAULT_SPEED_KPH, gt=0, le=200)


class PolicyInfo(BaseModel):
    """The [policy] table: what the file encodes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    title: str = ""
    source: str = ""
    extends: str = ""
    note: str = ""


@dataclass(frozen=True)
class RuleSet:
    """The rules of one constraint file (after `extends`), in file order.

    `digest` changes whenever any rule or setting changes; `rule_digest(rule)` fingerprints a
    single rule, so caches can tell which units a change touches.
    """

    name: str
    path: str
    title: str
    source: str
    rules: tuple[Rule, ...]
    travel: TravelSettings = field(default_factory=TravelSettings)
    origins: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)
    """Rule id -> key -> where its value was set: "file:line", or "inherited from <parent> (file:line)"."""

    @property
    def digest(self) -> str:
        """Fingerprint of every rule and setting."""
        payload = json.dumps([self.travel.model_dump(mode="json")] + [rule_digest(r) for r in self.rules]
                             + [[r.id, r.except_counties] for r in self.rules if r.except_counties])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def stage(self, stage: str) -> list[Rule]:
        """Enabled rules of one stage (communities, dispatch, dialysis, capacity)."""
        return [r for r in self.rules if r.enabled and type(r).stage == stage]

    def replace(self, rule_id: str, /, **changes: object) -> RuleSet:
        """A copy with one rule's keys changed, validated as the same change in a rule file would be.

        ``rules.replace("county.max_communities", max=2)``; with ``counties=["330782"]`` the change
        applies there only, as a file override does. Raises RuleFileError naming the rule, key,
        bad value and fix (``max="two"`` fails here, not later in the solver). See planner.ruleedit.
        """
        from .ruleedit import replace_rule

        return replace_rule(self, rule_id, changes)

    def save(self, path: str | Path, *, name: str | None = None, title: str = "") -> RuleSet:
        """Write the changes as a rule file extending this set's file, and return the rules read back from it."""
        from .ruleedit import save_rules

        return save_rules(self, path, name=name, title=title)

    def by_id(self, rule_id: str) -> Rule:
        """The rule with this id."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def rule_digest(rule: Rule) -> str:
    """Fingerprint of one rule's content where it applies.

    `except_counties` is left out: which other counties an override took from the rule changes
    nothing where the rule applies, so a one-county override re-solves that county alone (the
    set's `digest` includes it).
    """
    payload = json.dumps(rule.model_dump(mode="json", exclude={"except_counties"}), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def builtin_dir() -> Path:
    """Where the shipped constraint files are (the checkout's constraints/, else the installed copy)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "constraints", here / "_constraints"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    return here.parent / "constraints"


def builtin_names() -> list[str]:
    """Names of the shipped constraint files (zhejiang-2026, jilin-2021, ...)."""
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def resolve_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A rule file path from a path, or the name of a shipped file (zhejiang-2026)."""
    p = Path(name_or_path)
    candidates = [p] if p.suffix == ".toml" else []
    if relative_to is not None:
        candidates += [relative_to / f"{name_or_path}.toml", relative_to / name_or_path]
    for c in candidates:
        if c.exists() and c.suffix == ".toml" and c.is_file():
            return c
    odd = next((c for c in [p, *candidates] if c.exists() and (c.suffix != ".toml" or not c.is_file())
                and (c.suffix == ".toml" or c.is_absolute() or relative_to is not None)), None)
    builtin = builtin_dir() / f"{p.stem if p.suffix == '.toml' else name_or_path}.toml"
    if p.suffix != ".toml" and "/" not in str(name_or_path) and builtin.is_file():
        return builtin
    if odd is not None and odd.is_dir():
        raise RuleFileError(Problem(str(odd), "", Text("is a folder where a file is expected", "是文件夹，此处需要文件"),
                                    Text("give the path of a file", "请给出文件的路径")))
    if odd is not None:
        raise RuleFileError(Problem(str(name_or_path), "", Text("is not a regular .toml file", "不是普通的 .toml 文件"),
                                    Text("name a rule file ending in .toml (or a shipped rule file by name)",
                                         "请指定以 .toml 结尾的规则文件（或自带规则文件的名称）")))
    raise RuleFileError(Problem(str(name_or_path), "", Text("no such rule file", "没有这个规则文件"),
                                Text(f"give a path to a .toml file or one of: {', '.join(builtin_names())}",
                                     f"请给出 .toml 文件路径，或以下之一：{', '.join(builtin_names())}")))


def load_rules(name_or_path: str | Path) -> RuleSet:
    """Read a constraint file (following `extends`) and validate every rule.

    Raises
    ------
    RuleFileError
        Listing every problem: TOML syntax, unknown keys or kinds, bad values with the allowed
        ones, duplicate ids, contradictory pins.
    """
    path = resolve_path(str(name_or_path))
    return _load(path, seen=())


RULE_FILE_MAX_BYTES = 1 << 20
"""Largest rule file read (the shipped ones are under 40 kB)."""
RULE_FILE_MAX_DEPTH = 12
"""Deepest nesting of tables and arrays in a rule file (the shipped ones need 5)."""
EXTENDS_MAX_DEPTH = 8
"""Longest chain of `extends` followed."""
MAX_NUMBER = 1_000_000_000
"""Largest magnitude of a number in a rule file: the solvers' integer models multiply values by
populations and minutes, and must stay within 64-bit integers."""


def _read_toml(path: Path) -> tuple[dict, str]:
    label = str(path)
    try:
        size = path.stat().st_size
        if size > RULE_FILE_MAX_BYTES:
            raise RuleFileError(Problem(label, "", Text(f"is {size:,} bytes, larger than a rule file may be "
                                                        f"({RULE_FILE_MAX_BYTES:,})", f"大小为 {size:,} 字节，超过规则文件上限"
                                                        f"（{RULE_FILE_MAX_BYTES:,}）"),
                                        Text("give a rule file (a few kB of TOML)", "请给出规则文件（几 kB 的 TOML）")))
        with open(path, "rb") as f:
            data = f.read(RULE_FILE_MAX_BYTES + 1)
    except PermissionError:
        raise   # an environment fault: the command line's one-line message names the path and the fix
    except OSError as exc:
        raise RuleFileError(Problem(label, "", Text(f"cannot be read ({exc.strerror or exc})", f"无法读取（{exc.strerror or exc}）"),
                                    Text("check the path and its permissions", "请检查路径和权限"))) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleFileError(Problem(label, "", Text("is not UTF-8 text", "不是 UTF-8 文本"),
                                    Text("save the rule file as UTF-8", "请将规则文件另存为 UTF-8"))) from None
    if "\x00" in text:
        raise RuleFileError(Problem(label, "", Text("holds NUL characters: not a text file", "含有 NUL 字符，不是文本文件"),
                                    Text("give a TOML rule file", "请给出 TOML 规则文件")))
    deep = Problem(label, "", Text(f"nests tables or arrays deeper than {RULE_FILE_MAX_DEPTH} levels",
                                   f"表或数组嵌套超过 {RULE_FILE_MAX_DEPTH} 层"),
                   Text("write rules as [[rule]] tables with plain values", "请用 [[rule]] 表和普通取值书写规则"))
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise RuleFileError(deep) from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(Problem(label, "", Text(f"is not valid TOML ({exc})", f"不是有效的 TOML（{exc}）"),
                                    Text("fix the syntax at that line (strings in quotes, one key per line)",
                                         "请修正该行语法（字符串加引号，每行一个键）"))) from None
    if _depth(doc) > RULE_FILE_MAX_DEPTH:
        raise RuleFileError(deep)
    return doc, text


def _depth(doc: object) -> int:
    """Nesting depth of tables and arrays, walked without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, d)
            if d <= RULE_FILE_MAX_DEPTH + 1:
                stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


def _load(path: Path, seen: tuple[Path, ...]) -> RuleSet:
    if path.resolve() in seen:
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise RuleFileError(Problem(str(path), "policy.extends", Text(f"extends itself in a circle ({chain})",
                                                                      f"循环继承（{chain}）"),
                                    Text("remove one of the `extends` keys", "请删除其中一个 `extends`")))
    if len(seen) >= EXTENDS_MAX_DEPTH:
        raise RuleFileError(Problem(str(path), "policy.extends",
                                    Text(f"is reached through {len(seen)} `extends`, more than {EXTENDS_MAX_DEPTH}",
                                         f"经过 {len(seen)} 层 `extends`，超过 {EXTENDS_MAX_DEPTH} 层"),
                                    Text("extend a shipped rule file directly", "请直接继承自带规则文件")))
    data, text = _read_toml(path)
    label = str(path)
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_KEYS:
            problems.append(Problem(label, key, Text(f"unknown table {key!r}", f"未知的表 {key!r}"),
                                    Text(f"use only {', '.join(TOP_KEYS)}", f"只能使用 {', '.join(TOP_KEYS)}")))
    policy_raw = data.get("policy", {})
    policy = _model(PolicyInfo, policy_raw if isinstance(policy_raw, dict) else {}, label, "policy", problems)
    if "policy" not in data:
        problems.append(Problem(label, "policy", Text("has no [policy] table", "缺少 [policy] 表"),
                                Text('add [policy] with name = "..."', '请添加 [policy] 表并写 name = "..."')))
    base_rules: list[dict] = []
    base_travel: dict = {}
    base: RuleSet | None = None
    if policy is not None and policy.extends:
        try:
            base_path = resolve_path(policy.extends, relative_to=path.parent)
        except RuleFileError as exc:  # named from this file: which key points nowhere
            problems.extend(Problem(label, "policy.extends", Text(f"extends {p.source}: ", f"继承 {p.source}：") + p.message,
                                    p.fix) for p in exc.problems)
            base_path = None
        try:
            base = _load(base_path, (*seen, path.resolve())) if base_path is not None else None
        except RuleFileError as exc:
            problems.extend(exc.problems)
            base = None
        if base is not None:
            base_rules = [r.model_dump(mode="json", exclude_defaults=False) for r in base.rules]
            base_travel = base.travel.model_dump()
    travel_here = data.get("travel", {})
    strict_travel: list[Problem] = []
    if isinstance(travel_here, dict):
        _strict_model(travel_here, TravelSettings, label, "travel", strict_travel)
    travel_raw = {**base_travel, **travel_here} if isinstance(travel_here, dict) else base_travel
    travel_schema: list[Problem] = []
    travel = _model(TravelSettings, travel_raw, label, "travel", travel_schema) or TravelSettings()
    said = {str(p.message).split(":", 1)[0] for p in strict_travel}
    problems.extend(strict_travel + [p for p in travel_schema if str(p.message).split(":", 1)[0] not in said])
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        problems.append(Problem(label, "rule", Text("must be an array of tables", "必须是表数组"),
                                Text("write each rule as [[rule]]", "每条规则写成 [[rule]]")))
        raw_rules = []
    base_by = {r["id"]: r for r in base_rules}
    before = len(problems)
    for n, r in enumerate(raw_rules, start=1):
        if isinstance(r, dict):
            rid = r.get("id")
            _strict_rule(r, base_by.get(rid) if isinstance(rid, str) else None, label,
                         f"rule {rid}" if isinstance(rid, str) and rid else f"rule #{n}", problems)
    # The schema would repeat a strict problem in its own words ("Input should be a valid integer"): say it once.
    strict = {(p.where, str(p.message).split(":", 1)[0]) for p in problems[before:]}
    origins = _origins(base, raw_rules, _rule_key_lines(text), label)
    merged = _merge(base_rules, raw_rules, label, problems, parent=base.name if base is not None else "",
                    origins=origins)
    rules: list[Rule] = []
    schema: list[Problem] = []
    for position, raw in merged:
        if "kind" not in raw and raw.get("id") not in base_by:
            # An override whose id matches no inherited rule (a typo): say so, not "kind None is not a rule kind".
            rid = str(raw.get("id"))
            close = difflib.get_close_matches(rid, list(base_by), n=1, cutoff=0.6)
            hint_en = f" (did you mean {close[0]!r}?)" if close else ""
            hint_zh = f"（是否为 {close[0]!r}？）" if close else ""
            parent = base.name if base is not None else "no parent file"
            problems.append(Problem(label, position, Text(f"overrides no rule: {parent} has no rule {rid!r}{hint_en}",
                                                          f"没有可覆盖的规则：{parent} 中没有规则 {rid!r}{hint_zh}"),
                                    Text("correct the id, or give a new rule its kind = \"...\"",
                                         "请改正 id，或为新规则写明 kind = \"...\"")))
            continue
        rule = _rule(raw, label, position, schema)
        if rule is not None:
            rules.append(rule)
    problems.extend(p for p in schema if (p.where.split(" (", 1)[0], str(p.message).split(":", 1)[0]) not in strict)
    problems.extend(_pin_problems(rules, label))
    problems.extend(reference_problems(rules, label))
    if not problems:  # rules that contradict each other (planner.rules.consistency)
        problems.extend(Problem(label, f"rule {c.rule}", c.message, c.fix) for c in contradictions(rules))
    raise_if(problems, RuleFileError)
    assert policy is not None
    return RuleSet(policy.name, label, policy.title, policy.source, tuple(rules), travel,
                   origins={r.id: origins.get(r.id, {}) for r in rules})


# --- where each value came from -------------------------------------------------------------------


def _rule_key_lines(text: str) -> list[dict[str, int]]:
    """For each [[rule]] table of a file, in order: key -> the line it is set on (nested tables by their key)."""
    import re

    blocks: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    key = re.compile(r'^([A-Za-z0-9_-]+|"[^"]+")(\.[A-Za-z0-9_."-]+)?\s*=')
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s.startswith("["):
            name = s.split("#", 1)[0].strip().strip("[]").strip()
            if name == "rule" and s.startswith("[["):
                current = {"[[rule]]": n}
                blocks.append(current)
            elif name.startswith("rule.") and current is not None:
                current.setdefault(name[5:].split(".")[0].strip('"'), n)
            else:
                current = None
            continue
        m = key.match(s)
        if m and current is not None:
            current.setdefault(m.group(1).strip('"'), n)
    return blocks


def _origins(base: RuleSet | None, raw_rules: list, lines: list[dict[str, int]], label: str) -> dict[str, dict[str, str]]:
    """Rule id -> key -> where the value is set: this file's line, else the parent's record."""
    out: dict[str, dict[str, str]] = {}
    if base is not None:
        for r in base.rules:
            out[r.id] = {k: v if v.startswith("inherited from ") else f"inherited from {base.name} ({v})"
                         for k, v in base.origins.get(r.id, {}).items()}
    for n, r in enumerate(raw_rules):
        if not isinstance(r, dict) or not isinstance(r.get("id"), str):
            continue
        at = lines[n] if n < len(lines) else {}
        here = {k: f"{label}:{at[k]}" if k in at else label for k in r}
        parent_counties = sorted(base.by_id(r["id"]).counties or []) if base is not None and r["id"] in out else None
        if (parent_counties is not None and isinstance(r.get("counties"), list) and r["counties"]
                and sorted(map(str, r["counties"])) != parent_counties):
            out[f"{r['id']}@{','.join(sorted(dict.fromkeys(map(str, r['counties']))))}"] = {**out[r["id"]], **here}
        else:
            out.setdefault(r["id"], {}).update(here)
    return out


def rule_origin(rules: RuleSet, rule_id: str, key: str) -> str:
    """Where a rule's value was set ("file:line", "inherited from …"), or "default" when no file sets it."""
    return rules.origins.get(rule_id, {}).get(key, "default")


SHOWN_ELSEWHERE = ("id", "kind", "source", "source_zh", "quote", "title", "note", "assumptions")
"""Rule keys `planner rules` shows in the heading and clause lines rather than as values."""


def rule_value_lines(rules: RuleSet, rule: Rule) -> list[Text]:
    """One line per value of a rule: `key = value`, and where it was set (file:line, the parent file, or the default)."""
    from .ruleedit import value_text

    out = []
    for key in type(rule).model_fields:
        value = getattr(rule, key)
        if key in SHOWN_ELSEWHERE or value is None:
            continue
        at = rule_origin(rules, rule.id, key)
        if key == "except_counties":
            out.append(Text(f"except_counties = {value_text(value)}   (the override {rule.id}@… applies there)",
                            f"except_counties = {value_text(value)}   （这些县适用覆盖规则 {rule.id}@…）"))
            continue
        if at == "default" and key in Rule.model_fields:
            continue  # enabled, hard, scope at their defaults: the [hard]/[soft]/[off] mark says it
        where_en = "default of the rule kind" if at == "default" else _short_origin(at)
        where_zh = "规则类型的默认值" if at == "default" else _short_origin(at).replace("inherited from", "继承自")
        out.append(Text(f"{key} = {value_text(value)}   ({where_en})", f"{key} = {value_text(value)}   （{where_zh}）"))
    return out


def _short_origin(origin: str) -> str:
    """An origin with shipped files named by their file name and others relative to the current folder."""
    import os

    def short(path: str) -> str:
        p = Path(path)
        if p.parent.resolve() == builtin_dir().resolve():
            return p.name
        try:
            rel = os.path.relpath(p)
        except ValueError:
            return path
        return rel if not rel.startswith("..") else path

    import re

    return re.sub(r"(/[^\s():]+\.toml)", lambda m: short(m.group(1)), origin)


def _merge(base: list[dict], raw: list, label: str, problems: list[Problem], *, parent: str = "",
           origins: dict[str, dict[str, str]] | None = None) -> list[tuple[str, dict]]:
    """Base rules overridden key by key by same-id rules of this file, then this file's new rules.

    An override of an inherited rule with `counties` other than the parent's changes the rule in
    those counties only: the parent keeps its values everywhere else (its `except_counties` gain
    them) and the changed copy, `<id>@<counties>`, applies there. Several such overrides of one
    rule may stand side by side when their counties do not overlap.
    """
    out: dict[str, tuple[str, dict]] = {}
    order: list[str] = []
    for r in base:
        out[r["id"]] = (f"rule {r['id']} (inherited)", dict(r))
        order.append(r["id"])
    inherited_ids = set(out)
    ids_here: dict[str, int] = {}
    taken: dict[str, dict[str, int]] = {}  # inherited id -> county -> the rule number that overrides it there
    for n, r in enumerate(raw, start=1):
        if not isinstance(r, dict):
            problems.append(Problem(label, f"rule #{n}", Text("is not a table", "不是表"),
                                    Text("write each rule as [[rule]] with key = value lines",
                                         "每条规则写成 [[rule]]，每行 key = value")))
            continue
        rid = r.get("id")
        if not isinstance(rid, str) or not rid:
            problems.append(Problem(label, f"rule #{n}", Text("has no id", "缺少 id"),
                                    Text('give it id = "county.max_communities" or similar',
                                         '请写 id = "county.max_communities" 之类')))
            continue
        counties = r.get("counties")
        splits = (rid in inherited_ids and isinstance(counties, list) and bool(counties)
                  and all(isinstance(c, str) for c in counties)
                  and sorted(counties) != sorted(out[rid][1].get("counties") or []))
        if rid in ids_here and not splits:
            problems.append(Problem(label, f"rule {rid}", Text(f"id is used twice (rules #{ids_here[rid]} and #{n})",
                                                               f"id 重复使用（第 {ids_here[rid]} 条和第 {n} 条）"),
                                    Text("give every rule its own id (an inherited rule may be overridden several times "
                                         "for counties that do not overlap)",
                                         "每条规则使用不同的 id（继承的规则可按互不重叠的县多次覆盖）")))
            continue
        ids_here.setdefault(rid, n)
        if splits:
            mine = taken.setdefault(rid, {})
            clash = sorted(c for c in counties if c in mine)
            if clash:
                problems.append(Problem(label, f"rule {rid}",
                                        Text(f"overrides {', '.join(clash)} again (rule #{mine[clash[0]]} already does)",
                                             f"再次覆盖 {'、'.join(clash)}（第 {mine[clash[0]]} 条已覆盖）"),
                                        Text("give each county one override", "每个县只写一次覆盖")))
                continue
            mine.update({c: n for c in counties})
            _split(out, order, rid, r)
            continue
        if rid in out:
            out[rid] = (f"rule {rid}", _overlay(out[rid][1], r))
        else:
            out[rid] = (f"rule {rid}", dict(r))
            order.append(rid)
    return [out[rid] for rid in order]


def _overlay(previous: dict, r: dict) -> dict:
    merged = dict(previous)
    for key, value in r.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _split(out: dict[str, tuple[str, dict]], order: list[str], rid: str, r: dict) -> None:
    """Change inherited rule `rid` in `r["counties"]` only: a copy `<id>@<counties>` there, the parent elsewhere."""
    counties = sorted(dict.fromkeys(r["counties"]))
    position, previous = out[rid]
    split_id = f"{rid}@{','.join(counties)}"
    copy = _overlay(out[split_id][1] if split_id in out else previous, r)
    copy.update(id=split_id, counties=counties, except_counties=None)
    kept = dict(previous)
    kept["except_counties"] = sorted(set(previous.get("except_counties") or []) | set(counties))
    out[rid] = (position, kept)
    if split_id not in out:
        order.insert(order.index(rid) + 1, split_id)
    out[split_id] = (f"rule {rid} (for {', '.join(counties)})", copy)


def _model(cls: type[BaseModel], raw: dict, label: str, where: str, problems: list[Problem]) -> BaseModel | None:
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, cls, label, where))
        return None


def _rule(raw: dict, label: str, position: str, problems: list[Problem]) -> Rule | None:
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        close = difflib.get_close_matches(str(kind), list(RULE_KINDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(Problem(label, position, f"kind {kind!r} is not a rule kind{hint}",
                                f"use one of {', '.join(sorted(RULE_KINDS))}"))
        return None
    cls = RULE_KINDS[kind]
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, cls, label, position))
        return None


def _problems_from(exc: ValidationError, cls: type[BaseModel], label: str, where: str) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or ""
        key = f"key `{loc}`" if loc else "the rule"
        value = err.get("input")
        kind = err["type"]
        key_zh = f"键 `{loc}`" if loc else "该规则"
        if kind == "extra_forbidden":
            allowed = _allowed_keys(cls, err["loc"])
            close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            hint_zh = f"（是否为 {close[0]!r}？）" if close else ""
            out.append(Problem(label, where, Text(f"unknown key `{loc}`{hint}", f"未知的键 `{loc}`{hint_zh}"),
                               Text(f"allowed keys: {', '.join(allowed)}", f"可用的键：{', '.join(allowed)}")))
        elif kind == "missing":
            out.append(Problem(label, where, Text(f"{key} is missing", f"缺少{key_zh}"),
                               Text(f"add {loc} = ...", f"请添加 {loc} = ...")))
        else:
            msg = err["msg"].removeprefix("Value error, ")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            shown_zh = "" if isinstance(value, dict) else f"（实际为 {value!r}）"
            # The schema's own words have no Chinese wording; the key, the value and the fix do.
            out.append(Problem(label, where, Text(f"{key}: {msg}{shown}", f"{key_zh}：{msg}{shown_zh}"), _fix_for(kind, err)))
    return out


def _allowed_keys(cls: type[BaseModel], loc: tuple) -> list[str]:
    model: type[BaseModel] = cls
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        nested = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return sorted(model.model_fields)


def _fix_for(kind: str, err: dict) -> Text:
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        expected = ctx.get("expected", "one of the allowed values")
        return Text(f"use {expected}", f"请使用 {expected}")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return Text("use a value within the allowed range", "请使用允许范围内的值")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return Text("use a value of the right type (numbers without quotes, text in quotes, lists in [ ])",
                    "请使用正确类型的值（数字不加引号，文本加引号，列表用 [ ]）")
    return Text("correct the value", "请改正该值")


def _pin_problems(rules: list[Rule], label: str) -> list[Problem]:
    """Pins that contradict each other or a veto."""
    out = []
    pinned: dict[str, tuple[str, str]] = {}
    forbidden = {f: r.id for r in rules if r.enabled and r.kind == "forbid_lead" for f in getattr(r, "facilities", [])}
    for r in rules:
        if not r.enabled or r.kind != "pin":
            continue
        lead = getattr(r, "lead")
        if lead in forbidden:
            out.append(Problem(label, f"rule {r.id}", f"pins townships to {lead}, which rule {forbidden[lead]} forbids to lead",
                               "remove the pin or the veto"))
        for t in getattr(r, "townships"):
            if t in pinned and pinned[t][0] != lead:
                out.append(Problem(label, f"rule {r.id}", f"pins township {t} to {lead}, but rule {pinned[t][1]} pins it to {pinned[t][0]}",
                                   "keep one pin per township"))
            pinned.setdefault(t, (lead, r.id))
    return out


# --- strict values: true is not 1, no inf or nan, numbers the solvers accept ------------------------------


def _strict_rule(raw: dict, base_raw: dict | None, label: str, where: str, problems: list[Problem]) -> None:
    """Refuse values pydantic would coerce: a boolean for a number (`max = true`), a fraction for a whole
    number (`max = 2.5`), text or numbers for a flag, inf/nan, and numbers beyond MAX_NUMBER."""
    kind = raw.get("kind", (base_raw or {}).get("kind"))
    cls = RULE_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is not None:
        _strict_model(raw, cls, label, where, problems)


def _strict_model(raw: dict, cls: type[BaseModel], label: str, where: str, problems: list[Problem], prefix: str = "") -> None:
    for key, value in raw.items():
        field = cls.model_fields.get(str(key))
        if field is None:
            continue  # unknown keys are the schema's to report
        _strict_value(value, field.annotation, f"{prefix}{key}", label, where, problems)


def _strict_value(value: object, annotation: object, key: str, label: str, where: str, problems: list[Problem]) -> None:
    import math
    import types
    import typing

    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _strict_value(value, args[0], key, label, where, problems)
    if origin in (typing.Union, types.UnionType):
        if len(args) == 1:
            return _strict_value(value, args[0], key, label, where, problems)
        return None
    if origin is list and isinstance(value, list) and args:
        for v in value:
            _strict_value(v, args[0], key, label, where, problems)
        return None
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        for v in value.values():
            _strict_value(v, args[1], key, label, where, problems)
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, dict):
        return _strict_model(value, annotation, label, where, problems, prefix=f"{key}.")

    def bad(en: str, zh: str, fix_en: str, fix_zh: str) -> None:
        problems.append(Problem(label, where, Text(f"key `{key}`: {en} (got {value!r})", f"键 `{key}`：{zh}（实际为 {value!r}）"),
                                Text(fix_en, fix_zh)))

    if annotation is bool and not isinstance(value, bool):
        bad("is a flag: give true or false", "是开关：只能写 true 或 false", "write true or false without quotes",
            "请写 true 或 false（不加引号）")
    elif annotation is int:
        if isinstance(value, bool):
            bad("is a whole number, not a flag (true is not 1)", "是整数，不是开关（true 不等于 1）",
                "write the number, e.g. 3", "请直接写数字，例如 3")
        elif isinstance(value, float):
            bad("is a whole number", "须为整数", "write it without a decimal point, e.g. 3", "请写不带小数点的整数，例如 3")
        elif isinstance(value, int) and abs(value) > MAX_NUMBER:
            bad(f"is beyond {MAX_NUMBER:,}, the largest value the solvers accept", f"超过求解器可接受的最大值 {MAX_NUMBER:,}",
                f"use a value up to {MAX_NUMBER:,}", f"请使用不超过 {MAX_NUMBER:,} 的值")
    elif annotation is float:
        if isinstance(value, bool):
            bad("is a number, not a flag (true is not 1)", "是数值，不是开关（true 不等于 1）", "write the number",
                "请直接写数字")
        elif isinstance(value, (int, float)) and not math.isfinite(value):
            bad("must be a finite number (inf and nan are not)", "须为有限数值（不能是 inf 或 nan）",
                "write a number", "请写一个数字")
        elif isinstance(value, (int, float)) and abs(value) > MAX_NUMBER:
            bad(f"is beyond {MAX_NUMBER:,}, the largest value the solvers accept", f"超过求解器可接受的最大值 {MAX_NUMBER:,}",
                f"use a value up to {MAX_NUMBER:,}", f"请使用不超过 {MAX_NUMBER:,} 的值")
    return None


# --- references: counties, townships, facilities that match nothing are errors ------------------------------


def _ascii_code(text: str) -> str | None:
    """The code in ASCII digits when `text` is written in other digits (full-width ３３０７８２, Arabic-Indic)."""
    import unicodedata

    if text.isascii() or not text or not all(unicodedata.category(ch) == "Nd" for ch in text):
        return None
    return "".join(str(unicodedata.digit(ch)) for ch in text)


def _catalog() -> tuple[set[str], set[str], dict[str, list[str]]] | None:
    """County adcodes, city codes, and name -> codes of the embedded data (None when it is missing)."""
    try:
        from .regions import data_dir

        path = data_dir() / "catalog.csv"
        stamp = path.stat()
    except Exception:  # noqa: BLE001  (no embedded data: references cannot be looked up, the region will say so)
        return None
    return _catalog_at(str(path), stamp.st_size, stamp.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _catalog_at(path: str, _size: int, _mtime_ns: int) -> tuple[set[str], set[str], dict[str, list[str]]] | None:
    """_catalog, read once per catalog file version (rule files are loaded often: the review page, tests)."""
    try:
        from .regions import catalog

        cat = catalog()
    except Exception:  # noqa: BLE001
        return None
    names: dict[str, list[str]] = {}
    for code, name in zip(cat["adcode"].tolist(), cat["name"].tolist()):
        names.setdefault(str(name), []).append(str(code))
    for code, name in zip(cat["city_code"].tolist(), cat["city_name"].tolist()):
        if str(code) not in names.get(str(name), []):
            names.setdefault(str(name), []).append(str(code))
    return set(cat["adcode"].astype(str).tolist()), set(cat["city_code"].astype(str).tolist()), names


def _code_problem(code: str, label: str, where: str, key: str, what: Text, known: set[str] | None,
                  names: dict[str, list[str]], digits: int) -> Problem | None:
    """A problem with one code a rule names, or None when it names a place."""
    fixed = _ascii_code(code)
    if fixed is not None:
        return Problem(label, where, Text(f"{key}: {code!r} is not written in ASCII digits", f"{key}：{code!r} 不是半角数字"),
                       Text(f"write {fixed}", f"请写作 {fixed}"))
    if not (code.isascii() and code.isdigit()):
        hits = names.get(code) or names.get(code.rstrip("市县区")) or []
        if hits:
            return Problem(label, where, Text(f"{key}: {code!r} is a name; {key} takes codes", f"{key}：{code!r} 是名称，{key} 须填代码"),
                           Text(f"use the code {' or '.join(sorted(hits))}", f"请改用代码 {' 或 '.join(sorted(hits))}"))
        return Problem(label, where, Text(f"{key}: {code!r} is not a code", f"{key}：{code!r} 不是代码"),
                       Text(f"give {what.en} codes of {digits} digits (planner show REGION lists them)",
                            f"请填写 {digits} 位{what.zh}代码（planner show 地区 可列出）"))
    if known is not None and code not in known:
        return Problem(label, where, Text(f"{key}: {code} matches no {what.en}", f"{key}：{code} 不对应任何{what.zh}"),
                       Text(f"give an existing {what.en} code (planner regions, planner show REGION list them)",
                            f"请填写现有的{what.zh}代码（planner regions、planner show 地区 可列出）"))
    return None


def reference_problems(rules: list[Rule] | tuple[Rule, ...], label: str, *, known: set[str] | None = None,
                       county_codes: set[str] | None = None) -> list[Problem]:
    """Counties and townships named by rules that cannot match anything.

    Always: `counties` must be codes in ASCII digits (a name or full-width digits is an error with
    the code to use) and pinned townships 9-digit codes. With `known` (county and city codes that
    exist: the embedded data's, plus the region's own) a code outside it is an error too, and with
    `county_codes` a pinned township must lie in one of them.
    """
    cat = _catalog()
    names = cat[2] if cat is not None else {}
    out: list[Problem] = []
    for r in rules:
        where = f"rule {r.id.split('@', 1)[0]}"
        for code in r.counties or []:
            p = _code_problem(code, label, where, "counties", Text("county or city", "县（市、区）或城市"), known, names, 6)
            if p is not None:
                out.append(p)
        if r.kind == "pin":
            for t in getattr(r, "townships"):
                fixed = _ascii_code(t)
                if fixed is not None:
                    out.append(Problem(label, where, Text(f"townships: {t!r} is not written in ASCII digits",
                                                          f"townships：{t!r} 不是半角数字"), Text(f"write {fixed}", f"请写作 {fixed}")))
                elif not (t.isascii() and t.isdigit() and len(t) == 9):
                    out.append(Problem(label, where, Text(f"townships: {t!r} is not a 9-digit township code",
                                                          f"townships：{t!r} 不是 9 位乡镇代码"),
                                       Text("give 9-digit township codes (planner export REGION lists them)",
                                            "请填写 9 位乡镇代码（planner export 地区 可列出）")))
                elif county_codes is not None and t[:6] not in county_codes:
                    out.append(Problem(label, where, Text(f"townships: {t} matches no township (no county {t[:6]})",
                                                          f"townships：{t} 不对应任何乡镇（没有县级代码 {t[:6]}）"),
                                       Text("give an existing township code", "请填写现有的乡镇代码")))
    return out


def catalog_reference_problems(rules: list[Rule] | tuple[Rule, ...], label: str, region=None) -> list[Problem]:
    """reference_problems against the places that exist: the embedded data's counties and cities, and the region's."""
    cat = _catalog()
    counties = set(cat[0]) if cat is not None else set()
    cities = set(cat[1]) if cat is not None else set()
    if region is not None:
        counties |= set(region.counties.index.astype(str).tolist())
        cities |= set(region.counties["city_code"].astype(str))
    if cat is None and region is None:
        return []
    problems = reference_problems(rules, label, known=counties | cities, county_codes=counties)
    # Only what the format check alone does not already say.
    return [p for p in problems if p not in set(reference_problems(rules, label))]


def region_reference_problems(rules: list[Rule] | tuple[Rule, ...], region, label: str) -> list[Problem]:
    """Pins and vetoes that name townships or facilities the region planned should have but has not.

    A pinned township of a county in the region must be one of its townships, and the pinned lead
    a facility of the region; a vetoed facility whose id carries a county code of the region (as
    the embedded ids do, H330782-03) must exist. References to other regions' places apply to no
    unit here (the checker reports such rules as N/A).
    """
    import re

    out: list[Problem] = catalog_reference_problems(rules, label, region)
    counties = set(region.counties.index.astype(str).tolist())
    towns = set(region.townships.index.astype(str).tolist())
    facs = set(region.facilities.index.astype(str).tolist())
    ctx = getattr(region, "context_facilities", None)
    if ctx is not None:
        facs |= set(ctx.index.astype(str).tolist())
    embedded = re.compile(r"^[A-Z](\d{6})-\d+$")
    for r in rules:
        if not r.enabled:
            continue
        where = f"rule {r.id.split('@', 1)[0]}"
        if r.kind == "pin":
            here = [t for t in getattr(r, "townships") if t[:6] in counties]
            missing = [t for t in here if t not in towns]
            if missing:
                out.append(Problem(label, where, Text(f"townships: {', '.join(missing)} {'is not a township' if len(missing) == 1 else 'are not townships'} of {region.name}",
                                                      f"townships：{'、'.join(missing)} 不是{region.name}的乡镇"),
                                   Text(f"give township codes of {region.name} (planner export {region.name} lists them)",
                                        f"请填写{region.name}的乡镇代码（planner export {region.name} 可列出）")))
            lead = getattr(r, "lead")
            if [t for t in here if t in towns] and lead not in facs:
                out.append(Problem(label, where, Text(f"lead: {lead} is not a facility of {region.name}",
                                                      f"lead：{lead} 不是{region.name}的机构"),
                                   Text(f"give a facility id of {region.name} (planner show {region.name} --facilities lists them)",
                                        f"请填写{region.name}的机构代码（planner show {region.name} --facilities 可列出）")))
        if r.kind == "forbid_lead":
            for fid in getattr(r, "facilities"):
                m = embedded.match(fid)
                if fid not in facs and (m is None or m.group(1) in counties):
                    out.append(Problem(label, where, Text(f"facilities: {fid} is not a facility of {region.name}",
                                                          f"facilities：{fid} 不是{region.name}的机构"),
                                       Text(f"give facility ids of {region.name} (planner show {region.name} --facilities lists them)",
                                            f"请填写{region.name}的机构代码（planner show {region.name} --facilities 可列出）")))
    return out
