"""Edit rule sets in code and save them as rule files: every change validated as the same change in a file would be."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import Problem, RuleFileError, raise_if
from .i18n import Text

if TYPE_CHECKING:
    from .rulefile import RuleSet
    from .rules import Rule

SAVED_MARKER = "# Saved by medcommunity-planner"
"""The first line of a rule file the planner wrote (`RuleSet.save`, `planner serve`): only those it replaces."""

_LOADER_KEYS = ("except_counties",)
"""Keys the loader sets when it splits an inherited rule (never written as a reviewer's change)."""


def replace_rule(rules: RuleSet, rule_id: str, changes: dict[str, object], *, label: str | None = None) -> RuleSet:
    """A copy of `rules` with one rule's keys changed, validated as a rule file extending `rules` would be.

    The change goes through the loader's own merge: unknown ids and keys, values of the wrong
    type or out of range, and contradictory pins are refused with the messages a rule file
    gets; `counties` narrows the change to those counties the way a file override does.

    Raises
    ------
    RuleFileError
        Listing every problem, each naming `label` (default "<rules> (edited)") and the rule.
    """
    from . import rulefile

    label = label or f"{rules.name} (edited)"
    where = f"rule {rule_id}"
    ids = [r.id for r in rules.rules]
    if rule_id not in ids:
        import difflib

        close = difflib.get_close_matches(rule_id, ids, n=1, cutoff=0.6)
        hint = Text(f" (did you mean {close[0]!r}?)", f"（是否为 {close[0]!r}？）") if close else Text("", "")
        raise RuleFileError(Problem(label, where, Text(f"no rule {rule_id!r} in {rules.name}", f"{rules.name} 中没有规则 {rule_id!r}")
                                    + hint, Text(f"use one of {', '.join(ids)}", f"请使用以下之一：{', '.join(ids)}")))
    problems: list[Problem] = []
    for key in ("id", "kind"):
        if key in changes and changes[key] != rules.by_id(rule_id).model_dump(mode="json")[key]:
            problems.append(Problem(label, where, Text(f"key `{key}` cannot be changed", f"键 `{key}` 不能修改"),
                                    Text("add a new rule instead", "请另加一条规则")))
    raise_if(problems, RuleFileError)
    override = {"id": rule_id, **{k: _plain(v) for k, v in changes.items() if k not in ("id", "kind")}}
    base = [r.model_dump(mode="json", exclude_defaults=False) for r in rules.rules]
    strict = getattr(rulefile, "_strict_rule", None)
    if strict is not None:  # the loader's strict typing (true is not 1, 3.0 is not 3), where it has one
        strict(override, base[ids.index(rule_id)], label, where, problems)
    merged = _merge(base, [override], label, problems, rules.name)
    new_rules = []
    for position, raw in merged:
        rule = rulefile._rule(raw, label, position, problems)
        if rule is not None:
            new_rules.append(rule)
    problems.extend(rulefile._pin_problems(new_rules, label))
    raise_if(problems, RuleFileError)
    return dataclasses.replace(rules, rules=tuple(new_rules))


def _merge(base: list[dict], raw: list[dict], label: str, problems: list[Problem], parent: str) -> list:
    import inspect

    from . import rulefile

    params = inspect.signature(rulefile._merge).parameters
    return rulefile._merge(base, raw, label, problems, **({"parent": parent} if "parent" in params else {}))


def _plain(value: object) -> object:
    """A value as a rule file holds it: enums by their file spelling, tuples as lists, nested tables as dicts."""
    if isinstance(value, enum.Enum):
        return _enum_text(value)
    if hasattr(value, "model_dump"):  # a nested table (a selector, an exception): its set keys
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields if getattr(value, k) is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _enum_text(value: enum.Enum) -> object:
    from .vocabulary import Grade, Title

    if isinstance(value, (Grade, Title)):
        return value.zh  # as the shipped rule files write them: 二甲, 主治医师
    return value.value


# --- saving ------------------------------------------------------------------------------------------------


def changed_tables(rules: RuleSet, base: RuleSet) -> list[dict[str, object]]:
    """The [[rule]] tables a file extending `base` needs to give `rules`, in rule order.

    An inherited rule changed in some counties (split by the loader into the parent with
    `except_counties` and `<id>@<counties>`) is written as the reviewer wrote it: the parent's
    id with `counties` and the changed keys. Rules `base` has and `rules` lacks are disabled.
    """
    base_by = {r.id: r for r in base.rules}
    mine = {r.id: r for r in rules.rules}
    tables: list[dict[str, object]] = []
    natural: dict[str, list[str]] = {}  # parent id -> split ids written in the reviewer's form
    splits: dict[str, list[Rule]] = {}
    for r in rules.rules:
        if r.id not in base_by and "@" in r.id and r.id.split("@", 1)[0] in base_by:
            splits.setdefault(r.id.split("@", 1)[0], []).append(r)
    for parent_id, parts in splits.items():
        parent_now = mine.get(parent_id)
        excluded = set(getattr(parent_now, "except_counties", None) or []) if parent_now is not None else None
        own = set(getattr(base_by[parent_id], "except_counties", None) or [])
        counties = [c for p in parts for c in (p.counties or [])]
        if len(parts) == 1 and (excluded is None or excluded - own == set(counties)):
            natural[parent_id] = [parts[0].id]
    written_parents = set()
    for r in rules.rules:
        if r.id in base_by:
            if r.id in natural:
                continue  # written with its split part below
            diff = _diff(r, base_by[r.id])
            if diff:
                tables.append({"id": r.id, **diff})
            continue
        parent_id = r.id.split("@", 1)[0]
        if parent_id in natural and natural[parent_id] == [r.id]:
            diff = _diff(r, base_by[parent_id], keep_counties=True)
            tables.append({"id": parent_id, "counties": list(r.counties or []), **diff})
            written_parents.add(parent_id)
            continue
        tables.append(_full(r))
    for rid, r in base_by.items():
        if rid not in mine and rid not in natural and rid not in written_parents and r.enabled:
            tables.append({"id": rid, "enabled": False})
    return tables


def _dump(rule: Rule) -> dict[str, object]:
    return json.loads(json.dumps(rule.model_dump(mode="json"), ensure_ascii=False))


def _diff(rule: Rule, base: Rule, *, keep_counties: bool = False) -> dict[str, object]:
    """Keys whose value differs from `base`, in the rule's own spelling (nested tables by changed key)."""
    now, was = _dump(rule), _dump(base)
    python = rule.model_dump(mode="python")
    out: dict[str, object] = {}
    for key, value in now.items():
        if key in ("id", "kind") or (keep_counties and key in ("counties", *_LOADER_KEYS)):
            continue
        if value == was.get(key):
            continue
        if isinstance(value, dict) and isinstance(was.get(key), dict) and key != "specialty_weights":
            sub = {k: _plain(python[key][k]) if isinstance(python[key], dict) else v
                   for k, v in value.items() if v != was[key].get(k) and v is not None}
            if sub:
                out[key] = sub
            continue
        if value is None:
            continue  # TOML has no null: an unset key keeps the inherited value
        out[key] = _file_value(python.get(key, value))
    return out


def _full(rule: Rule) -> dict[str, object]:
    python = rule.model_dump(mode="python")
    out: dict[str, object] = {}
    for key, value in _dump(rule).items():
        if value is None or (isinstance(value, dict) and not any(v is not None for v in value.values())):
            continue
        out[key] = _file_value(python[key])
    return out


def _file_value(value: object) -> object:
    return _plain(value)


def to_toml(rules: RuleSet, base: RuleSet, *, name: str, extends: str, title: str = "", note: str = "") -> str:
    """A rule file that extends `extends` (the file of `base`) with the changes that give `rules`."""
    lines = [f"{SAVED_MARKER} on top of {extends}.",
             "# Each [[rule]] below changes a rule of the file it extends; `counties` limits a change to those",
             "# counties (the others keep the inherited value). Re-solve with:",
             "#   planner plan --region REGION --rules THIS_FILE",
             "", "[policy]", f"name = {_value(name)}"]
    if title:
        lines.append(f"title = {_value(title)}")
    lines.append(f"extends = {_value(extends)}")
    if note:
        lines.append(f"note = {_value(note)}")
    if rules.travel != base.travel:
        lines += ["", "[travel]"]
        for key, value in rules.travel.model_dump().items():
            if value != getattr(base.travel, key):
                lines.append(f"{key} = {_value(value)}")
    old = {r.id: r for r in base.rules}
    for table in changed_tables(rules, base):
        lines.append("")
        parent = old.get(str(table["id"]))
        if parent is not None and parent.title:
            lines.append(f"# {parent.title} ({parent.citation})")
        lines.append("[[rule]]")
        for key, value in table.items():
            lines.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"


def save_rules(rules: RuleSet, path: str | Path, *, name: str | None = None, title: str = "",
               base: RuleSet | None = None) -> RuleSet:
    """Write `rules` as a rule file extending the file they were loaded from, and load it back.

    Only the changes are written (each rule that differs, by its changed keys). The file is
    replaced only when the planner wrote it (its first line is SAVED_MARKER); a shipped rule
    file, the file being extended, or any other existing file is refused.

    Returns
    -------
    RuleSet
        The rules read back from the new file (equal to `rules`; plans then record its path).
    """
    from . import io
    from .rulefile import builtin_dir, load_rules

    target = Path(path)
    origin = Path(rules.path)
    base = base or load_rules(rules.path)
    problems = []
    if target.suffix != ".toml":
        problems.append(Problem(str(target), "", Text("is not a .toml file name", "不是 .toml 文件名"),
                                Text("name the file like my-review.toml", "文件名请以 .toml 结尾，例如 my-review.toml")))
    resolved = target.resolve()
    if resolved.parent == builtin_dir().resolve() or resolved == origin.resolve():
        problems.append(Problem(str(target), "", Text("is a shipped rule file or the file being extended",
                                                      "是自带规则文件或被继承的文件"),
                                Text("save under another name, in your own folder", "请另存为其他文件名，放在您自己的文件夹中")))
    elif target.exists() and not is_saved_by_planner(target):
        problems.append(Problem(str(target), "", Text("exists and was not written by the planner",
                                                      "已存在，且不是规划器写入的文件"),
                                Text("choose another name (the planner never replaces your files)",
                                     "请换一个文件名（规划器不会覆盖您的文件）")))
    raise_if(problems, RuleFileError)
    extends = _extends_text(origin, target)
    text = to_toml(rules, base, name=name or f"{rules.name}-edited", extends=extends, title=title or rules.title)
    io.write_text(target, text)
    return load_rules(target)


def is_saved_by_planner(path: Path) -> bool:
    """True when the rule file's first line says the planner wrote it."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().startswith(SAVED_MARKER)
    except (OSError, UnicodeDecodeError):
        return False


def _extends_text(origin: Path, target: Path) -> str:
    """How the new file names the one it extends: a shipped file by name, else a path relative to the new file."""
    import os

    from .rulefile import builtin_dir

    if origin.parent.resolve() == builtin_dir().resolve():
        return origin.stem
    try:
        return os.path.relpath(origin.resolve(), target.resolve().parent)
    except ValueError:  # another drive (Windows)
        return str(origin.resolve())


# --- TOML text ---------------------------------------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: object) -> str:
    """A TOML literal for a rule value (strings, numbers, booleans, lists, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{value} cannot be written to a rule file"
            raise ValueError(msg)
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, enum.Enum):
        return _value(_enum_text(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None) + " }"
    msg = f"cannot write {type(value).__name__} to a rule file"
    raise TypeError(msg)


def value_text(value: object) -> str:
    """A rule value as a reviewer edits it in a form: its TOML literal (the same as in the file); "" when unset."""
    if value is None:
        return ""
    return _value(_file_value(value))


def parse_value(text: str) -> object:
    """What a value typed in a form means, read as a TOML value would be: `2` a number, `"二甲"` or 二甲 text,
    `true` a flag, `["330782"]` a list, `{ min_grade = "二甲" }` a table."""
    s = text.strip()
    try:
        return tomllib.loads(f"v = {s}")["v"]
    except tomllib.TOMLDecodeError:
        return s  # bare text, e.g. 二甲 or "two" typed without quotes: the rule's schema judges it
