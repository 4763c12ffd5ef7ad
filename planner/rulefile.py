"""Read constraint files (TOML) into rule sets, reporting every problem with file, rule id and key."""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import Problem, RuleFileError, raise_if
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

    @property
    def digest(self) -> str:
        """Fingerprint of every rule and setting."""
        payload = json.dumps([self.travel.model_dump(mode="json")] + [rule_digest(r) for r in self.rules])
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
    """Fingerprint of one rule's content."""
    payload = json.dumps(rule.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
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
    if p.suffix == ".toml" and p.exists():
        return p
    if relative_to is not None and (relative_to / f"{name_or_path}.toml").exists():
        return relative_to / f"{name_or_path}.toml"
    if relative_to is not None and (relative_to / name_or_path).exists():
        return relative_to / name_or_path
    builtin = builtin_dir() / f"{p.stem if p.suffix == '.toml' else name_or_path}.toml"
    if p.suffix != ".toml" and builtin.exists():
        return builtin
    raise RuleFileError(Problem(str(name_or_path), "", "no such rule file",
                                f"give a path to a .toml file or one of: {', '.join(builtin_names())}"))


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


def _read_toml(path: Path) -> dict:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleFileError(Problem(str(path), "", "is not UTF-8 text", "save the rule file as UTF-8")) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(Problem(str(path), "", f"is not valid TOML ({exc})",
                                    "fix the syntax at that line (strings in quotes, one key per line)")) from None


def _load(path: Path, seen: tuple[Path, ...]) -> RuleSet:
    if path.resolve() in seen:
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise RuleFileError(Problem(str(path), "policy.extends", f"extends itself in a circle ({chain})",
                                    "remove one of the `extends` keys"))
    data = _read_toml(path)
    label = str(path)
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_KEYS:
            problems.append(Problem(label, key, f"unknown table {key!r}", f"use only {', '.join(TOP_KEYS)}"))
    policy_raw = data.get("policy", {})
    policy = _model(PolicyInfo, policy_raw if isinstance(policy_raw, dict) else {}, label, "policy", problems)
    if "policy" not in data:
        problems.append(Problem(label, "policy", "has no [policy] table", 'add [policy] with name = "..."'))
    base_rules: list[dict] = []
    base_travel: dict = {}
    if policy is not None and policy.extends:
        try:
            base_path = resolve_path(policy.extends, relative_to=path.parent)
            base = _load(base_path, (*seen, path.resolve()))
        except RuleFileError as exc:
            problems.extend(exc.problems)
            base = None
        if base is not None:
            base_rules = [r.model_dump(mode="json", exclude_defaults=False) for r in base.rules]
            base_travel = base.travel.model_dump()
    travel_raw = {**base_travel, **data.get("travel", {})} if isinstance(data.get("travel", {}), dict) else base_travel
    travel = _model(TravelSettings, travel_raw, label, "travel", problems) or TravelSettings()
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        problems.append(Problem(label, "rule", "must be an array of tables", "write each rule as [[rule]]"))
        raw_rules = []
    merged = _merge(base_rules, raw_rules, label, problems)
    rules: list[Rule] = []
    for position, raw in merged:
        rule = _rule(raw, label, position, problems)
        if rule is not None:
            rules.append(rule)
    problems.extend(_pin_problems(rules, label))
    if not problems:  # rules that contradict each other (planner.rules.consistency)
        problems.extend(Problem(label, f"rule {c.rule}", str(c.message), str(c.fix)) for c in contradictions(rules))
    raise_if(problems, RuleFileError)
    assert policy is not None
    return RuleSet(policy.name, label, policy.title, policy.source, tuple(rules), travel)


def _merge(base: list[dict], raw: list, label: str, problems: list[Problem]) -> list[tuple[str, dict]]:
    """Base rules overridden key by key by same-id rules of this file, then this file's new rules."""
    out: dict[str, tuple[str, dict]] = {}
    order: list[str] = []
    for r in base:
        out[r["id"]] = (f"rule {r['id']} (inherited)", dict(r))
        order.append(r["id"])
    ids_here: dict[str, int] = {}
    for n, r in enumerate(raw, start=1):
        if not isinstance(r, dict):
            problems.append(Problem(label, f"rule #{n}", "is not a table", "write each rule as [[rule]] with key = value lines"))
            continue
        rid = r.get("id")
        if not isinstance(rid, str) or not rid:
            problems.append(Problem(label, f"rule #{n}", "has no id", 'give it id = "county.max_communities" or similar'))
            continue
        if rid in ids_here:
            problems.append(Problem(label, f"rule {rid}", f"id is used twice (rules #{ids_here[rid]} and #{n})",
                                    "give every rule its own id"))
            continue
        ids_here[rid] = n
        if rid in out:
            position, previous = out[rid]
            merged = dict(previous)
            for key, value in r.items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
            out[rid] = (f"rule {rid}", merged)
        else:
            out[rid] = (f"rule {rid}", dict(r))
            order.append(rid)
    return [out[rid] for rid in order]


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
        if kind == "extra_forbidden":
            allowed = _allowed_keys(cls, err["loc"])
            close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(Problem(label, where, f"unknown key `{loc}`{hint}", f"allowed keys: {', '.join(allowed)}"))
        elif kind == "missing":
            out.append(Problem(label, where, f"{key} is missing", f"add {loc} = ..."))
        else:
            msg = err["msg"].removeprefix("Value error, ")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            out.append(Problem(label, where, f"{key}: {msg}{shown}", _fix_for(kind, err)))
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


def _fix_for(kind: str, err: dict) -> str:
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        return f"use {ctx.get('expected', 'one of the allowed values')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "use a value within the allowed range"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return "use a value of the right type (numbers without quotes, text in quotes, lists in [ ])"
    return "correct the value"


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
