"""Cache solved subproblems on disk, keyed by their data and the rules that touch them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__, io
from .milp import Status
from .plan import Community, UnitPlan
from .rulefile import rule_digest
from .rules import Rule
from .rules.base import bind_rules
from .units import Unit

CACHE_FORMAT = 2


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
    """Unit plans stored as small JSON files under a folder, one per key.

    Only proven results (OPTIMAL or INFEASIBLE) are stored: a time-limited plan might be
    improved by solving again. Files are written atomically, so concurrent runs sharing the
    folder never read half a file.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> UnitPlan | None:
        """The cached plan for a key, or None."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # an unreadable entry is a miss, not an error
        comms = tuple(Community(c["id"], doc["unit"], c["lead"], tuple(c["townships"])) for c in doc["communities"])
        return UnitPlan(unit=doc["unit"], scope=doc["scope"], name=doc["name"], communities=comms,
                        status=Status(doc["status"]), objective=doc["objective"], bound=doc["bound"], gap=doc["gap"],
                        backend=doc["backend"], time_s=0.0, travel_person_min=doc["travel_person_min"],
                        penalties=tuple((k, v) for k, v in doc["penalties"]), explanation=tuple(doc["explanation"]),
                        reused=True)

    def put(self, key: str, plan: UnitPlan) -> None:
        """Store a proven plan."""
        if plan.status not in (Status.OPTIMAL, Status.INFEASIBLE):
            return
        doc = {"unit": plan.unit, "scope": plan.scope, "name": plan.name, "status": plan.status.value,
               "objective": plan.objective, "bound": plan.bound, "gap": plan.gap, "backend": plan.backend,
               "travel_person_min": plan.travel_person_min, "penalties": [list(p) for p in plan.penalties],
               "explanation": list(plan.explanation),
               "communities": [{"id": c.id, "lead": c.lead, "townships": list(c.townships)} for c in plan.communities]}
        io.write_text(self._path(key), json.dumps(doc, ensure_ascii=False, sort_keys=True))
