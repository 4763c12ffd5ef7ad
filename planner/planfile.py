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
from .io import read_csv_text, read_tables, write_bytes
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


PLAN_JSON_MAX_BYTES = 256 * 1024 * 1024
"""Largest plan.json read (a national plan is about 10 MB)."""
PLAN_JSON_MAX_DEPTH = 32
"""Deepest nesting of lists and objects a plan.json may have (a plan file needs 6)."""


def _too_deep(doc: object, limit: int) -> bool:
    """True when lists and objects nest deeper than `limit` (walked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return False


def plan_from_json(text: str, label: str) -> Plan:
    """Read a plan written by `plan_to_json`; anything else (wrong types, too large, too deep) is an InputDataError."""
    fix = "give a plan folder written by `planner plan`, or a CSV with township_code and lead_id"
    if len(text) > PLAN_JSON_MAX_BYTES:
        raise InputDataError(Problem(label, "", f"is larger than {PLAN_JSON_MAX_BYTES // 2**20} MB", fix))
    deep = Problem(label, "", f"nests lists or objects deeper than {PLAN_JSON_MAX_DEPTH} levels", fix)
    try:
        doc = json.loads(text)
    except RecursionError:
        raise InputDataError(deep) from None
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputDataError(Problem(label, "", f"is not a plan file ({exc.__class__.__name__}: {exc})", fix)) from None
    if _too_deep(doc, PLAN_JSON_MAX_DEPTH):
        raise InputDataError(deep)
    try:
        problems = _plan_doc_problems(doc, label)
        if problems:
            raise InputDataError(problems)
        plan = Plan(doc["region"], doc["rules"], meta=doc.get("meta", {}))
        for u in doc["units"]:
            comms = tuple(Community(c["id"], u["unit"], c["lead"], tuple(c["townships"])) for c in u["communities"])
            plan.units[u["unit"]] = UnitPlan(
                unit=u["unit"], scope=u["scope"], name=u["name"], communities=comms,
                status=Status(u["status"]) if u["status"] else None, objective=u["objective"], bound=u["bound"],
                gap=u["gap"], backend=u.get("backend", ""), travel_person_min=u.get("travel_person_min"),
                penalties=tuple((k, v) for k, v in u.get("penalties", [])), explanation=tuple(u.get("explanation", [])))
        return plan
    except (KeyError, TypeError, ValueError, RecursionError, json.JSONDecodeError) as exc:
        raise InputDataError(Problem(label, "", f"is not a plan file ({exc.__class__.__name__}: {exc})", fix)) from None


def _plan_doc_problems(doc: object, label: str) -> list[Problem]:
    """Type problems of a plan document: every unit, community, lead and township where the reader needs them."""
    fix = "restore plan.json as `planner plan` wrote it (or make the plan again)"
    if not isinstance(doc, dict):
        return [Problem(label, "", "is not a JSON object", fix)]
    out = [Problem(label, key, f"`{key}` is missing or not text", fix)
           for key in ("region", "rules") if not isinstance(doc.get(key), str)]
    if not isinstance(doc.get("meta", {}), dict):
        out.append(Problem(label, "meta", "`meta` is not an object", fix))
    units = doc.get("units")
    if not isinstance(units, list):
        return [*out, Problem(label, "units", "`units` is missing or not a list", fix)]
    seen_units: set[str] = set()
    for n, u in enumerate(units, start=1):
        where = f"units[{n}]"
        if not isinstance(u, dict):
            out.append(Problem(label, where, "is not an object", fix))
            continue
        uid = u.get("unit")
        if not isinstance(uid, str) or not uid:
            out.append(Problem(label, where, "`unit` is missing or not text", fix))
            continue
        where = f"unit {uid}"
        if uid in seen_units:
            out.append(Problem(label, where, "is listed twice", "keep one entry per unit"))
        seen_units.add(uid)
        for key in ("scope", "name"):
            if not isinstance(u.get(key), str):
                out.append(Problem(label, where, f"`{key}` is missing or not text", fix))
        status = u.get("status")
        if status is not None and status not in {s.value for s in Status}:
            out.append(Problem(label, where, f"status {status!r} is not a solver status",
                               f"use one of {', '.join(s.value for s in Status)}"))
        for key in ("objective", "bound", "gap", "travel_person_min"):
            v = u.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf"))):
                out.append(Problem(label, where, f"`{key}` {v!r} is not a finite number", fix))
        comms = u.get("communities")
        if not isinstance(comms, list):
            out.append(Problem(label, where, "`communities` is missing or not a list", fix))
            continue
        for m, c in enumerate(comms, start=1):
            cw = f"{where} community #{m}"
            if not isinstance(c, dict):
                out.append(Problem(label, cw, "is not an object", fix))
                continue
            for key in ("id", "lead"):
                if not isinstance(c.get(key), str) or not c.get(key):
                    out.append(Problem(label, cw, f"`{key}` is missing or not text", fix))
            towns = c.get("townships")
            if not isinstance(towns, list) or not all(isinstance(t, str) for t in towns):
                out.append(Problem(label, cw, "`townships` is not a list of township codes (text)", fix))
        for key in ("penalties", "explanation"):
            if not isinstance(u.get(key, []), list):
                out.append(Problem(label, where, f"`{key}` is not a list", fix))
    return out


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
        if p.stat().st_size > PLAN_JSON_MAX_BYTES:
            raise InputDataError(Problem(str(p), "", f"is larger than {PLAN_JSON_MAX_BYTES // 2**20} MB",
                                         "give a plan folder written by `planner plan`"))
        try:
            text = p.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputDataError(Problem(str(p), "", "is not UTF-8 text", "give a plan folder written by `planner plan`")) from None
        return plan_from_json(text, str(p))
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


def _column_dict(column: pd.Series) -> dict:
    """`column.to_dict()`: index label -> value as a Python object (`tolist` converts as to_dict does), faster."""
    # The index as a list too: iterating pandas 3's `str` index boxes label by label (30 % of community_tables).
    return dict(zip(column.index.tolist(), column.tolist()))


def community_tables(plan: Plan, units: list, region, rules: list) -> dict[str, pd.DataFrame]:
    """Assignments (one row per township), communities and members, as tables for CSV/XLSX/GPKG."""
    from .rules.community import LeadEligibility, member_rows  # local: rules are not needed to read plans

    # Plain dicts: .at lookups per row dominate on a national plan. Made from the column's list, the same
    # dict as Series.to_dict gives (which boxes value by value through pandas: 浙江省's 21,000 facilities twice).
    town_name = _column_dict(region.townships["name"])
    town_county = _column_dict(region.townships["county_code"])
    fac_name = _column_dict(region.facilities["name"])
    fac_kind = _column_dict(region.facilities["kind"])
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


def run_community_tables(result) -> dict[str, pd.DataFrame]:
    """community_tables of a run (RunResult), computed once: the plan folder and the reports share them.

    Recomputed when the plan's unit plans, the units, the region or the rules were replaced
    (compared by identity; unit plans are frozen, so a re-solved county is a new object).
    Callers must not modify the frames.
    """
    plan = result.plan
    token = (id(plan), tuple(map(id, plan.units.values())), id(result.units), id(result.region), id(result.rules))
    memo = result.__dict__.get("_community_tables")
    if memo is not None and memo[0] == token:
        return memo[1]
    tables = community_tables(plan, result.units, result.region, list(result.rules.rules))
    result.__dict__["_community_tables"] = (token, tables)
    return tables


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


# --- the manifest: what the run wrote, for the checker ----------------------------------------------

MANIFEST = "manifest.json"
"""The plan folder's list of the files the run wrote, with the SHA-256 of each (written last)."""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path) -> dict[str, str]:
    """Record every file the run wrote in `folder` (name -> SHA-256) in manifest.json; returns the record.

    Written as the last file of a plan folder, so the checker can tell that a table was edited
    after the run (`planner check` compares each file with its digest). run.json is left out: its
    timings differ between identical runs, and it is no table anyone reads as the plan.
    """
    from concurrent.futures import ThreadPoolExecutor

    # run.json (timings, versions) differs between identical runs: the log of the run, not a published table.
    paths = [p for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith(".") and p.name not in (MANIFEST, "run.json")]
    # Two threads (hashlib and file reads release the GIL): the manifest is the last step of the write, when
    # both cores are free (the country's 508 MB: ~0.3 s CPU). map keeps the order; an error is raised here.
    with ThreadPoolExecutor(2) as pool:
        files = dict(zip((p.name for p in paths), pool.map(file_sha256, paths)))
    write_json(folder / MANIFEST, {"format": FORMAT_VERSION, "files": files})
    return files


def read_manifest(folder: Path) -> dict[str, str] | None:
    """The manifest's file -> SHA-256 record, None when the folder has none; a broken manifest is an error."""
    p = Path(folder) / MANIFEST
    if not p.is_file():
        return None
    fix = "make the plan again with `planner plan` (the manifest records what it wrote)"
    try:
        doc = json.loads(p.read_bytes().decode("utf-8")) if p.stat().st_size < 16 * 2**20 else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        doc = None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise InputDataError(Problem(str(p), "", "is not a manifest written by `planner plan`", fix))
    return dict(files)


def read_folder_csv(folder: Path, name: str) -> pd.DataFrame | None:
    """A CSV table of a plan folder as text cells ("" for blanks), None when absent."""
    p = Path(folder) / name
    if not p.is_file():
        return None
    try:
        return read_csv_text(p)   # spreadsheet_safe undone: the cells as plan.json spells them
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputDataError(Problem(str(p), "", f"is not a readable CSV table ({exc.__class__.__name__})",
                                     "restore the table as `planner plan` wrote it")) from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def read_folder_layers(folder: Path) -> dict[str, pd.DataFrame]:
    """The plan folder's map layers: plan.gpkg's townships/communities/leads and plan.geojson's communities."""
    import pyogrio

    out: dict[str, pd.DataFrame] = {}
    gpkg, geojson = Path(folder) / "plan.gpkg", Path(folder) / "plan.geojson"
    try:
        if gpkg.is_file():
            for name, _geom in pyogrio.list_layers(gpkg):
                out[f"plan.gpkg:{name}"] = pyogrio.read_dataframe(gpkg, layer=name)
        if geojson.is_file():
            out["plan.geojson"] = pyogrio.read_dataframe(geojson)
    except Exception as exc:  # noqa: BLE001  (GDAL raises many kinds on a damaged file)
        raise InputDataError(Problem(str(folder), "", f"has a map layer that cannot be read ({exc.__class__.__name__}: {exc})",
                                     "restore plan.gpkg and plan.geojson as `planner plan` wrote them")) from None
    return out


def read_folder_xlsx(folder: Path, name: str) -> dict[str, pd.DataFrame] | None:
    """Sheets of a workbook of a plan folder as text cells, None when absent."""
    p = Path(folder) / name
    if not p.is_file():
        return None
    try:
        sheets = pd.read_excel(p, sheet_name=None, dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001  (openpyxl raises many kinds on a damaged workbook)
        raise InputDataError(Problem(str(p), "", f"is not a readable workbook ({exc.__class__.__name__})",
                                     "restore the workbook as `planner plan` wrote it")) from None
    return {str(k): v for k, v in sheets.items()}
