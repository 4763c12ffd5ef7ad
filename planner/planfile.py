"""Write plans (JSON, CSV, GeoPackage, GeoJSON) into an output folder atomically, and read them back."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ._errors import InputDataError, Problem
from .io import read_tables, write_bytes
from .milp import Status
from .plan import Community, Plan, UnitPlan

PLAN_JSON = "plan.json"
FORMAT_VERSION = 1


@contextlib.contextmanager
def publish_dir(path: str | Path, kind: str = "plan", run_id: str | None = None, option: str = "--out", *,
                others: tuple[tuple[str, str | Path], ...] = ()) -> Iterator[Path]:
    """Yield a fresh folder to write into; on success make `path` point at it in one step.

    `path` must be new, empty or a folder of `kind` the planner published (planner.publish
    refuses anything else, naming it, before anything is written). It becomes a symbolic link
    to a hidden sibling folder swapped with os.replace (atomic on POSIX), so readers see either
    the whole previous output or the whole new one; a run killed mid-way leaves the previous
    output in place; two runs writing the same path take turns (a lock), and the last one wins.
    """
    from . import publish

    rid = run_id or publish.run_id(kind, str(path), str(time.time_ns()), str(os.getpid()))
    with publish.staged(path, kind, rid, option, others=others) as work:
        yield work


def _num(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(float(x), digits)


def plan_to_json(plan: Plan) -> str:
    """The plan as deterministic JSON (no timings, sorted keys), the canonical plan file."""
    units = []
    for uid, u in plan.units.items():
        units.append({
            "unit": uid, "scope": u.scope, "name": u.name,
            "status": u.status.value if u.status is not None else None,
            "objective": _num(u.objective), "bound": _num(u.bound), "gap": _num(u.gap, 6),
            "backend": u.backend, "travel_person_min": _num(u.travel_person_min, 1),
            "penalties": [[k, _num(v)] for k, v in u.penalties],
            "explanation": list(u.explanation),
            "communities": [{"id": c.id, "lead": c.lead, "townships": list(c.townships)} for c in u.communities],
        })
    doc = {"format": FORMAT_VERSION, "region": plan.region, "rules": plan.rules_name,
           "meta": plan.meta, "units": units}
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def plan_from_json(text: str, label: str) -> Plan:
    """Read a plan written by `plan_to_json`."""
    try:
        doc = json.loads(text)
        plan = Plan(doc["region"], doc["rules"], meta=doc.get("meta", {}))
        for u in doc["units"]:
            comms = tuple(Community(c["id"], u["unit"], c["lead"], tuple(c["townships"])) for c in u["communities"])
            plan.units[u["unit"]] = UnitPlan(
                unit=u["unit"], scope=u["scope"], name=u["name"], communities=comms,
                status=Status(u["status"]) if u["status"] else None, objective=u["objective"], bound=u["bound"],
                gap=u["gap"], backend=u.get("backend", ""), travel_person_min=u.get("travel_person_min"),
                penalties=tuple((k, v) for k, v in u.get("penalties", [])), explanation=tuple(u.get("explanation", [])))
        return plan
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise InputDataError(Problem(label, "", f"is not a plan file ({exc.__class__.__name__}: {exc})",
                                     "give a plan folder written by `planner plan`, or a CSV with township_code and lead_id")) from None


def read_plan(path: str | Path, *, region_name: str = "", rules_name: str = "") -> Plan:
    """Read a plan: a folder written by `planner plan`, its plan.json, or a hand-made layout.

    A hand-made layout is any table the readers accept (CSV, XLSX, GeoPackage, GeoJSON,
    Shapefile) with a `township_code` column and a `lead_id` column (the lead facility of the
    township's community); `unit` and `community_id` are optional.
    """
    p = Path(path)
    if p.is_dir():
        p = p / PLAN_JSON
    if p.name.endswith(".json") and p.exists() and not p.name.endswith(".geojson"):
        return plan_from_json(p.read_text(encoding="utf-8"), str(p))
    tables = read_tables(p)
    frame = tables[0].frame
    aliases = {"乡镇代码": "township_code", "code": "township_code", "牵头医院": "lead_id", "lead": "lead_id",
               "牵头医院代码": "lead_id"}
    frame = frame.rename(columns={c: aliases.get(str(c), str(c)) for c in frame.columns})
    problems = [Problem(str(p), "", f"has no column {c!r}", f"add a {c!r} column")
                for c in ("township_code", "lead_id") if c not in frame.columns]
    if problems:
        raise InputDataError(problems)
    plan = Plan(region_name or p.stem, rules_name)
    rows = pd.DataFrame({"township_code": frame["township_code"], "lead_id": frame["lead_id"]})
    for i, r in rows.iterrows():
        if r["township_code"] is None or r["lead_id"] is None:
            problems.append(Problem(str(p), tables[0].row(int(i)), "township_code or lead_id is blank", "fill both in"))
    if problems:
        raise InputDataError(problems)
    plan.meta["layout"] = str(p)
    plan.meta["rows"] = rows.to_dict("records")
    return plan


def assign_layout_units(plan: Plan, units: list) -> Plan:
    """Turn a hand-made layout (township -> lead rows) into unit plans over the given units."""
    rows = plan.meta.pop("rows", [])
    unit_of = {t: u for u in units for t in u.townships}
    problems = []
    per_unit: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        t, lead = str(r["township_code"]), str(r["lead_id"])
        if t not in unit_of:
            problems.append(Problem(str(plan.meta.get("layout")), f"township {t}", "is not a township of the region",
                                    "check the code, or pass the right --region"))
            continue
        per_unit.setdefault(unit_of[t].id, {}).setdefault(lead, []).append(t)
    if problems:
        raise InputDataError(problems)
    for u in units:
        groups = per_unit.get(u.id, {})
        comms = tuple(sorted((Community(f"{u.id}:{lead}", u.id, lead, tuple(sorted(ts))) for lead, ts in groups.items()),
                             key=lambda c: c.lead))
        plan.units[u.id] = UnitPlan(unit=u.id, scope=u.scope, name=u.name, communities=comms)
    return plan


def community_tables(plan: Plan, units: list, region, rules: list) -> dict[str, pd.DataFrame]:
    """Assignments (one row per township), communities and members, as tables for CSV/XLSX/GPKG."""
    from .rules.community import LeadEligibility, member_rows  # local: rules are not needed to read plans

    # Plain dicts: .at lookups per row dominate on a national plan.
    town_name = region.townships["name"].to_dict()
    town_county = region.townships["county_code"].to_dict()
    fac_name = region.facilities["name"].to_dict()
    fac_kind = region.facilities["kind"].to_dict()
    fac = region.facilities
    arows, crows, mrows = [], [], []
    for unit in units:
        up = plan.units.get(unit.id)
        if up is None or not up.solved:
            continue
        exceptions = {b.community: f"{b.rule}:{b.exception}" for rule in rules
                      if isinstance(rule, LeadEligibility) and rule.applies(unit) for b in rule.used(unit, up)}
        for c in up.communities:
            lead_frame = unit.candidate_frame if c.lead in unit.candidate_frame.index else fac
            minutes = unit.minutes_to(c.lead, lead_frame)
            idx = [unit.index[t] for t in c.townships if t in unit.index]
            pop = int(unit.population[idx].sum()) if idx else 0
            crows.append({"community_id": c.id, "unit": unit.id, "unit_name": unit.name, "lead_id": c.lead,
                          "lead_name": fac_name.get(c.lead, c.lead), "lead_exception": exceptions.get(c.id, ""),
                          "n_townships": len(c.townships), "population": pop,
                          "mean_travel_min": round(float((unit.population[idx] * minutes[idx]).sum() / max(pop, 1)), 2),
                          "max_travel_min": round(float(minutes[idx].max()), 2) if idx else 0.0})
            for t in c.townships:
                i = unit.index.get(t)
                arows.append({"township_code": t, "township_name": town_name.get(t, ""),
                              "county_code": town_county.get(t, ""), "unit": unit.id,
                              "community_id": c.id, "lead_id": c.lead, "lead_name": fac_name.get(c.lead, c.lead),
                              "population": int(unit.population[i]) if i is not None else 0,
                              "travel_min": round(float(minutes[i]), 2) if i is not None else None})
        for m in member_rows(unit, up, rules):
            # role: lead, member or a kind's own role; membership: compulsory or voluntary (000 (二)).
            mrows.append({"facility_id": m.facility_id, "facility_name": fac_name.get(m.facility_id, m.facility_id),
                          "kind": fac_kind.get(m.facility_id, ""), "community_id": m.community_id,
                          "across": m.across, "role": m.role, "membership": m.membership})
    return {"assignments": pd.DataFrame(arows), "communities": pd.DataFrame(crows), "members": pd.DataFrame(mrows)}


def community_layers(tables: dict[str, pd.DataFrame], region) -> dict[str, gpd.GeoDataFrame]:
    """GeoPackage layers: townships with their community, dissolved communities, lead points."""
    a = tables["assignments"]
    if a.empty:
        empty = gpd.GeoDataFrame({"community_id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        return {"townships": empty, "communities": empty, "leads": empty}
    tw = region.townships.loc[a["township_code"], ["geometry"]].reset_index(drop=True)
    townships = gpd.GeoDataFrame(a.reset_index(drop=True), geometry=tw.geometry.values, crs="EPSG:4326")
    dissolved = townships[["community_id", "geometry"]].dissolve(by="community_id", sort=True).reset_index()
    comms = tables["communities"].merge(dissolved, on="community_id", how="left")
    comms = gpd.GeoDataFrame(comms, geometry="geometry", crs="EPSG:4326")
    leads = tables["communities"][["community_id", "lead_id", "lead_name"]].copy()
    pts = region.facilities.loc[leads["lead_id"]].geometry.values
    leads = gpd.GeoDataFrame(leads, geometry=pts, crs="EPSG:4326")
    return {"townships": townships, "communities": comms, "leads": leads}


def write_json(path: Path, doc: dict) -> None:
    """Write a JSON document atomically (sorted keys, UTF-8)."""
    write_bytes(path, (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n").encode())
