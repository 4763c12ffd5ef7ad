"""The main job end to end: load a region and rules, solve every unit, check, and write the plan folder."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from ._gc import fewer_collections

with fewer_collections():   # the planner's and its libraries' import (see `_gc.fewer_collections`)
    import networkx as nx
    import pandas as pd

    from . import __version__, io, planfile, regions
    from ._errors import InputDataError, Problem, raise_if
    from .adjacency import contiguity_graph
    from .check import RuleStatus, check_plan, compliance_lines
    from .plan import Plan, UnitPlan
    from .planning import SolveOptions, max_travel_min, mean_travel_min, solve_units
    from .cache import UnitCache
    from .executor import worker_died
    from .region import Region
    from .rulefile import RuleSet, load_rules
    from .travel import TravelModel
    from .units import Unit, build_units
    from .validate import region_from_tables


@dataclass
class RunResult:
    """Everything a run produced, for the CLI, the maps and the reports."""

    region: Region
    rules: RuleSet
    units: list[Unit]
    plan: Plan
    statuses: list[RuleStatus]
    graph: nx.Graph
    travel: TravelModel
    out_dir: Path | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    dispatch: list = field(default_factory=list)
    dialysis: list = field(default_factory=list)
    capacity: object = None
    service_statuses: list[RuleStatus] = field(default_factory=list)
    access: object = None
    access_statuses: list[RuleStatus] = field(default_factory=list)
    cache_notes: list = field(default_factory=list)
    """Cache entries not reused (each failed a check, was solved again and replaced) and cache warnings."""
    villages: object = None
    village_statuses: list[RuleStatus] = field(default_factory=list)
    integrity_statuses: list[RuleStatus] = field(default_factory=list)

    @property
    def all_statuses(self) -> list[RuleStatus]:
        """Community rules, then dispatch, dialysis and capacity rules, then access rules, then village
        rules, then the checker's own (the plan's structure; a plan folder's tables)."""
        return (self.statuses + self.service_statuses + self.access_statuses + self.village_statuses
                + self.integrity_statuses)

    @property
    def hard_violations(self) -> int:
        """Violations of hard rules over the whole plan (communities and services)."""
        return sum(len(s.violations) for s in self.all_statuses if s.rule.hard)

    def summary(self) -> dict[str, object]:
        """Key figures: units, communities, population, travel, statuses."""
        return {
            "region": self.region.name, "rules": self.rules.name, "units": len(self.units),
            "communities": len(self.plan.communities()), "population": self.region.population,
            "mean_travel_min": round(mean_travel_min(self.plan, self.units), 2),
            "max_travel_min": round(max_travel_min(self.plan, self.units), 2),
            "status": self.plan.status_counts(), "hard_violations": self.hard_violations,
            "physicians_dispatched": int(sum(r.count for d in self.dispatch for r in d.rows if r.role == "attending")),
            "experts_dispatched": int(sum(r.count for d in self.dispatch for r in d.rows if r.role == "expert")),
            "dispatch_shortfalls": int(sum(len(d.shortfalls) for d in self.dispatch)),
            "dialysis_sites": int(sum(len(d.sites) for d in self.dialysis)),
            "dialysis_covered_before": int(sum(d.covered_before for d in self.dialysis)),
            "dialysis_covered_after": int(sum(d.covered_after for d in self.dialysis)),
        }


def load_region(spec: str, user_files: list[str] | None = None, *, crs: str = "auto",
                encoding: str | None = None) -> Region:
    """An embedded region, optionally with layers replaced by the user's files (validated)."""
    base = regions.load(spec)
    if not user_files:
        return base
    tables = [t for f in user_files for t in io.read_tables(f, encoding=encoding, crs=crs)]
    return region_from_tables(tables, name=base.name, base=base)


ROAD_REACH_KM = 20.0
"""How far a township seat may be from the nearest road node before the road file counts as not reaching it."""
MAX_ROAD_MINUTES = 24 * 60.0
"""Longest travel_min of one road line read (a day's drive)."""


def load_travel(rules: RuleSet, od_file: str | None = None, road_file: str | None = None, *,
                region: Region | None = None) -> TravelModel:
    """The travel model: the rule file's great-circle settings, plus an OD matrix or road graph if given.

    Road lines with negative, infinite or absurd minutes or speeds are refused (a negative edge
    makes shortest paths meaningless), and with `region` a road file that does not reach the
    region's townships is refused, as are OD pairs none of whose places is in the region (noted).
    """
    from .travel import RoadGraph, od_series

    od = road = None
    if od_file:
        table = io.read_tables(od_file)[0]
        frame = table.frame
        missing = [c for c in ("origin", "destination", "travel_min") if c not in frame.columns]
        if missing:
            raise InputDataError([Problem(od_file, "", f"has no column {c!r}", "give origin, destination and travel_min columns")
                                  for c in missing])
        problems = [Problem(od_file, table.row(i), f"travel_min {v!r} is not a number >= 0", "give minutes as a number")
                    for i, v in enumerate(frame["travel_min"]) if not _is_minutes(v)]
        seen: dict[tuple[str, str], int] = {}
        for i, pair in enumerate(zip(frame["origin"].astype(str), frame["destination"].astype(str))):
            if pair in seen:
                problems.append(Problem(od_file, table.row(i), f"pair {pair[0]} -> {pair[1]} is listed twice "
                                        f"(first at {table.row(seen[pair])})", "keep one row per pair"))
            seen.setdefault(pair, i)
        if problems:
            raise InputDataError(problems)
        od = od_series(frame)
    if road_file:
        table = io.read_tables(road_file)[0]
        lines = table.frame
        if "geometry" not in lines.columns or not all(g is not None and g.geom_type in ("LineString", "MultiLineString")
                                                      for g in lines.geometry):
            raise InputDataError(Problem(road_file, "", "is not a layer of road lines",
                                         "give a GeoPackage/GeoJSON/Shapefile of LineStrings with speed_kph or travel_min"))
        problems = []
        limits = {"speed_kph": (0.0, 200.0, "a speed in km/h above 0 and at most 200"),
                  "travel_min": (0.0, MAX_ROAD_MINUTES, f"minutes from 0 to {MAX_ROAD_MINUTES:,.0f}")}
        for col, (lo, hi, words) in limits.items():
            if col not in lines.columns:
                continue
            values = []
            for i, v in enumerate(lines[col]):
                try:
                    x = None if v is None else float(v)
                except (TypeError, ValueError):
                    x = float("nan")
                bad = x is not None and (x != x or x < lo or x > hi or (col == "speed_kph" and x == 0))
                if bad:
                    problems.append(Problem(road_file, table.row(i), f"{col} {v!r} is not {words}",
                                            f"give {words} (or leave it blank for the default)"))
                values.append(x)
            lines[col] = values
        if problems:
            raise_if(problems, InputDataError)
        road = RoadGraph.from_lines(lines)
    travel = TravelModel(rules.travel.detour_factor, rules.travel.speed_kph, od=od, road=road)
    if region is not None:
        _check_reach(travel, region, road_file, od_file)
    return travel


def _check_reach(travel: TravelModel, region: Region, road_file: str | None, od_file: str | None) -> None:
    """Refuse a road file far from the region's townships; note OD pairs that name no place of the region."""
    import numpy as np

    towns = region.townships
    if travel.road is not None and len(towns):
        from .travel import haversine_km

        road = travel.road
        lon, lat = towns["seat_lon"].to_numpy(float), towns["seat_lat"].to_numpy(float)
        scale = np.cos(np.radians(float(np.mean(lat))))
        from scipy.spatial import cKDTree

        _, node = cKDTree(np.column_stack([road.lon * scale, road.lat])).query(np.column_stack([lon * scale, lat]))
        km = haversine_km(lon, lat, road.lon[node], road.lat[node])
        far = km > ROAD_REACH_KM
        if far.all() or far.mean() > 0.5:
            names = ", ".join(f"{n} ({c})" for c, n in zip(towns.index[far][:3], towns["name"].to_numpy()[far][:3]))
            raise InputDataError(Problem(str(road_file), "", f"does not reach {region.name}: {int(far.sum())} of its "
                                         f"{len(towns)} townships are over {ROAD_REACH_KM:g} km from the nearest road "
                                         f"(nearest {km.min():,.0f} km; {names})",
                                         "give the roads of this region (same CRS: WGS84 degrees), or leave --roads out"))
    if travel.od is not None and od_file:
        places = set(towns.index.astype(str)) | set(region.facilities.index.astype(str))
        pairs = travel.od.index
        unused = sum(1 for o, d in pairs if o not in places and d not in places)
        if unused:
            region.notes.append(f"{od_file}: {unused:,} of {len(pairs):,} OD pairs name no township or facility of "
                                f"{region.name} and are not used")


# How plan.json names the user's input files, and the `planner plan` option each came from.
INPUT_OPTIONS = {"files": "--facilities", "od": "--od", "roads": "--roads"}


def input_record(user_files: list[str] | tuple[str, ...] = (), od_file: str | None = None,
                 road_file: str | None = None) -> dict[str, list[dict[str, str]]]:
    """The user's input files of a run, as plan.json records them: absolute path and SHA-256 of each.

    `planner map`, `check` and `dispatch` reload them from there (see plan_inputs); an empty
    record means the embedded region and the rule file's great-circle travel model.
    """
    given = {"files": list(user_files), "od": [od_file] if od_file else [], "roads": [road_file] if road_file else []}
    return {key: [{"path": str(Path(f).resolve()), "sha256": _sha256(Path(f))} for f in files]
            for key, files in given.items() if files}


def plan_inputs(plan: Plan, rules: RuleSet, region_spec: str | None = None) -> tuple[Region, TravelModel]:
    """The region and travel model a saved plan was made from, its input files checked unchanged.

    The embedded region (`region_spec`, else the plan's), with the layers of the user's files
    that plan.json records, and their OD matrix or road graph. A recorded file that is missing
    or whose content changed is an error naming it: the plan cannot be redrawn or re-checked
    faithfully without it.
    """
    inputs = plan.meta.get("inputs") or {}
    problems = []
    for key, entries in sorted(inputs.items()):
        for entry in entries:
            path = Path(entry["path"])
            how = f"was given as {INPUT_OPTIONS.get(key, key)} when the plan was made"
            if not path.is_file():
                problems.append(Problem(str(path), "", f"{how} and is missing",
                                        "put the file back there, or make the plan again with `planner plan`"))
            elif (digest := _sha256(path)) != entry["sha256"]:
                problems.append(Problem(str(path), "", f"{how} and has changed since (SHA-256 {digest[:12]}, the plan "
                                        f"records {entry['sha256'][:12]})",
                                        "restore the file the plan was made from, or make the plan again with `planner plan`"))
    if problems:
        raise InputDataError(problems)
    region = load_region(region_spec or plan.region, [e["path"] for e in inputs.get("files", [])])
    od = inputs.get("od", [{}])[0].get("path")
    roads = inputs.get("roads", [{}])[0].get("path")
    return region, load_travel(rules, od, roads, region=region)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _portable(path: str) -> str:
    """A rule file's path as recorded in plans: the built-in name for shipped files."""
    from .rulefile import builtin_dir

    p = Path(path)
    return p.stem if p.parent.resolve() == builtin_dir().resolve() else str(p)


def _is_minutes(v: object) -> bool:
    try:
        return v is not None and float(str(v)) >= 0
    except ValueError:
        return False


def run_plan(region: Region, rules: RuleSet, options: SolveOptions = SolveOptions(), *,
             travel: TravelModel | None = None, previous: Plan | None = None,
             progress: Callable[[UnitPlan], None] | None = None, jobs: int = 1, executor: str = "process",
             address: str | None = None, services: bool = True, cache: UnitCache | None = None) -> RunResult:
    """Solve the region's communities and grids under the rules and check the plan."""
    from ._errors import RuleFileError, raise_if
    from .rulefile import region_reference_problems

    # Pins and vetoes naming townships or facilities the region lacks would silently apply to nothing.
    raise_if(region_reference_problems(rules.rules, region, rules.path), RuleFileError)
    with fewer_collections():
        return _run_plan(region, rules, options, travel=travel, previous=previous, progress=progress, jobs=jobs,
                         executor=executor, address=address, services=services, cache=cache)


def _run_plan(region: Region, rules: RuleSet, options: SolveOptions, *, travel: TravelModel | None,
              previous: Plan | None, progress: Callable[[UnitPlan], None] | None, jobs: int, executor: str,
              address: str | None, services: bool, cache: UnitCache | None) -> RunResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    travel = travel or TravelModel(rules.travel.detour_factor, rules.travel.speed_kph)
    graph = contiguity_graph(region.townships, region.counties, jobs=jobs)
    units = build_units(region, rules.rules, travel, graph)
    timings["build_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    plan = solve_units(units, rules, options, previous=previous, region_name=region.name, jobs=jobs, executor=executor,
                       address=address, progress=progress, cache=cache)
    timings["solve_s"] = time.perf_counter() - t1
    from .executor import MIN_PARALLEL_ITEMS, prestart

    if services and jobs > 1 and len(units) >= MIN_PARALLEL_ITEMS:
        # The solve's workers were forked; the services' spawned ones (their stages have a task per county or
        # so) start while this process checks the plan.
        prestart(jobs, executor, SERVICE_MODULES)
    from .executor import fork_call, forks, joined_on_error

    # On a large region what plan.json records of the rules' reading is made in a forked worker while this
    # process checks the plan (the country: 2.4 s and 2.5 s, each on one core).
    policy = (fork_call(_policy_meta, plan, region, units, rules)
              if forks(jobs, executor, len(units)) and len(units) >= FORK_CHECK_UNITS else None)
    t2 = time.perf_counter()
    with joined_on_error([policy]):
        statuses = check_plan(plan, units, rules.rules)
    timings["check_s"] = time.perf_counter() - t2
    plan.meta.update(_policy_meta(plan, region, units, rules) if policy is None else policy())
    from .check import integrity_statuses, structure_violations

    structure = structure_violations(plan, set(region.townships.index.tolist()), set(region.facilities.index.tolist()))
    result = RunResult(region, rules, units, plan, statuses, graph, travel, timings_s=timings,
                       integrity_statuses=integrity_statuses(plan, structure, None, len(units)))
    if cache is not None:
        result.cache_notes = [*cache.rejected, *cache.warnings]
    if services:
        run_services(result, options, jobs=jobs, executor=executor, address=address)
    plan.meta.update({"rules_digest": rules.digest, "rules_path": _portable(rules.path), "backend": options.backend, "time_limit_s": options.time_limit_s,
                      "travel": travel.describe()})
    return result


SERVICE_MODULES = ("planner.dialysis", "planner.villages.run", "planner.access.run", "planner.access.shared")
"""Modules whose tasks the services send to spawned workers (imported by them at `prestart`)."""


def _policy_meta(plan: Plan, region: Region, units: list[Unit], rules: RuleSet) -> dict[str, object]:
    """What plan.json records of how the rules were read: lead exceptions used, city-grid districts, membership."""
    from .rules.community import city_grid_districts, lead_exceptions, membership_summary

    meta: dict[str, object] = {"lead_exceptions": [b.as_dict() for b in lead_exceptions(units, plan, rules.rules)]}
    districts = city_grid_districts(region, rules.rules)
    if districts:
        meta["city_grid_districts"] = [d.as_dict() for d in districts]
    meta["membership"] = membership_summary(units, plan, rules.rules)
    return meta


def run_services(result: RunResult, options: SolveOptions = SolveOptions(), *, jobs: int = 1,
                 executor: str = "process", address: str | None = None) -> RunResult:
    """Dispatch, dialysis and reserved capacity on a solved plan, each re-checked independently."""
    parallel = {"jobs": jobs, "executor": executor, "address": address}
    from .capacity import reserved_capacity
    from .dialysis import site_region
    from .dispatch import dispatch_region

    rules = list(result.rules.rules)
    t0 = time.perf_counter()
    result.dispatch = dispatch_region(result.region, result.plan, rules, result.travel,
                                      backend=options.service_backend, time_limit_s=options.time_limit_s, **parallel)
    result.timings_s["dispatch_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result.dialysis = site_region(result.region, rules, result.travel, backend=options.service_backend,
                                  time_limit_s=options.time_limit_s, **parallel)
    result.timings_s["dialysis_s"] = time.perf_counter() - t1
    result.capacity = reserved_capacity(result.region, result.plan, rules)
    rows = [row for d in result.dispatch for row in d.rows]
    sites = [(d.county, fid) for d in result.dialysis for fid in d.sites]
    # On a large region the services' checks run in forked workers beside the access and village phases,
    # whose own workers leave a core idle part of the time (the country: 3.4 s of checks); the statuses are
    # the same objects, collected before this returns.
    from .executor import fork_call, forks, joined_on_error

    later = forks(jobs, executor, len(result.units)) and len(result.units) >= FORK_CHECK_UNITS
    pending: list[Callable[[], None]] = []
    with joined_on_error(pending):
        if later:
            got = fork_call(_service_statuses, result.region, result.plan, rows, sites, result.capacity, rules)
            pending.append(lambda: setattr(result, "service_statuses", got()))
        else:
            result.service_statuses = _service_statuses(result.region, result.plan, rows, sites, result.capacity, rules)
        _run_access(result, rows, options, pending=pending if later else None, **parallel)
        _run_villages(result, **parallel)
    for collect in pending:
        collect()
    return result


FORK_CHECK_UNITS = 200
"""Units from which the services' checks run in forked workers (`run_services`): a province has 60-180 and
its checks take a few tenths of a second; the country has 2,847."""


def _service_statuses(region: Region, plan: Plan, rows: list, sites: list, capacity: object, rules: list) -> list:
    """The dispatch, dialysis and reserved-capacity checks' statuses, in that order."""
    from .check import check_capacity, check_dialysis, check_dispatch

    return check_dispatch(region, plan, rows, rules) + check_dialysis(region, sites, rules) + check_capacity(capacity, rules)


def _run_villages(result: RunResult, *, jobs: int = 1, executor: str = "process", address: str | None = None) -> None:
    """The village phase (planner.villages): modes, circuit routes, remote timetable and their independent check,
    when the rules have village rules (skipped otherwise)."""
    from .villages.routes import python_sigint_kept
    from .villages.run import run_villages

    t0 = time.perf_counter()
    rules = list(result.rules.rules)
    with python_sigint_kept():  # the routing library leaves Ctrl-C at the OS default: Python's handler back
        result.villages = run_villages(result.region, result.plan, rules, result.travel, jobs=jobs, executor=executor,
                                       address=address)
    if result.villages is not None:
        from .villages.check import check_villages
        from .villages.layers import register

        register()  # the county map pages draw the villages and routes
        t1 = time.perf_counter()
        result.village_statuses = check_villages(result.region, result.plan, result.villages.tables, rules, result.travel,
                                                  jobs=jobs, executor=executor)
        result.timings_s["villages_check_s"] = time.perf_counter() - t1
        result.timings_s["villages_s"] = time.perf_counter() - t0


def _run_access(result: RunResult, roster: list, options: SolveOptions, *, jobs: int = 1, executor: str = "process",
                address: str | None = None, pending: list[Callable[[], None]] | None = None) -> None:
    """The access phase (planner.access): tables and their independent check, when the rules have access rules.

    With `pending` (a list), the check runs in a forked worker and what collects its statuses is appended."""
    from .access.check import check_access
    from .access.run import run_access

    t0 = time.perf_counter()
    rules = list(result.rules.rules)
    result.access = run_access(result.region, result.plan, rules, result.travel, roster=roster, units=result.units,
                               jobs=jobs, executor=executor, address=address)
    if result.access is not None:
        scopes = {u.id: (u.scope, tuple(u.county_codes), u.city_code) for u in result.units}
        args = (result.region, result.plan, result.access.tables, rules, result.travel, scopes)
        if pending is None:
            result.access_statuses = check_access(*args)
        else:
            from .executor import fork_call

            got = fork_call(check_access, *args)
            pending.append(lambda: setattr(result, "access_statuses", got()))
        result.timings_s["access_s"] = time.perf_counter() - t0


def assign_run_id(plan: Plan) -> str:
    """Give the plan its run id (plan.json meta.run_id, and the marker of its plan and maps folders).

    The id is a digest of the plan file without it: the same run writes the same bytes, and
    a plan folder and a maps folder show one run exactly when their ids agree.
    """
    from .publish import run_id

    plan.meta.pop("run_id", None)
    plan.meta["run_id"] = run_id(planfile.plan_to_json(plan))
    return plan.meta["run_id"]


def write_outputs(result: RunResult, out_dir: str | Path, *, reports: bool = True,
                  protect: tuple[tuple[str, str | Path], ...] = (), jobs: int = 1) -> Path:
    """Write the plan folder atomically: plan.json, CSV/XLSX tables, GeoPackage, GeoJSON, check.txt,
    and (with `reports`) the report tables and summaries, all published in one step.

    `out_dir` must be new, empty or a plan folder the planner wrote (planner.publish); nothing
    is touched otherwise. `protect` names paths the folder must not hold (the input files).
    With `jobs` > 1 a province's folder is written by this process and a forked worker
    together (write_plan_folder); the files are the same.
    """
    from . import publish

    out = Path(out_dir)
    with fewer_collections(), publish.staged(out, "plan", assign_run_id(result.plan), protect=protect) as work:
        write_plan_folder(result, work, reports=reports, jobs=jobs)
    result.out_dir = out
    return out


FORK_VILLAGE_ROWS = 20_000
"""Village table rows from which, with jobs > 1, a forked worker shares the writing (a province:
浙江省 has 45,000, a county a few hundred, not worth a process)."""


def write_plan_folder(result: RunResult, work: Path, *, reports: bool = True, jobs: int = 1) -> None:
    """Write the plan folder's files into `work` (a folder being staged; see write_outputs).

    With `jobs` > 1 and a province's village tables (FORK_VILLAGE_ROWS), this process and a
    forked worker take the folder's parts in turn from one list, largest first (villages.xlsx,
    the reports, the village tables, ...); every file is the same as written one after the
    other, and run.json and the manifest come last.
    """
    # The collector as in run_plan and write_outputs: `planner plan` writes its folder through here, not through
    # write_outputs, and so wrote with the default thresholds (the same files either way).
    with fewer_collections():
        _write_plan_folder(result, work, reports=reports, jobs=jobs)


def _write_plan_folder(result: RunResult, work: Path, *, reports: bool, jobs: int) -> None:
    if "run_id" not in result.plan.meta:
        assign_run_id(result.plan)
    fork = (jobs > 1 and result.villages is not None and "fork" in multiprocessing.get_all_start_methods()
            and sum(len(t) for t in result.villages.tables.values()) >= FORK_VILLAGE_ROWS)
    if not fork:
        for part in ([_write_report_part] if reports else []) + [_write_plan_part, _write_services, _write_access_part,
                                                                 _write_villages_part, _write_check_part]:
            part(result, work)
    else:
        global _FORKED_WRITE
        parts = _parallel_parts(result, reports)
        claimed = multiprocessing.get_context("fork").Value("i", 0)
        _FORKED_WRITE = (result, work, parts, claimed)
        # Frozen, the parent's objects are left alone by the worker's garbage collector, which would
        # otherwise write to each one's header and so copy every page of a national run (10 GB).
        gc.freeze()
        try:
            # An executor, not multiprocessing.Pool: a Pool whose worker is killed (e.g. for memory)
            # replaces it and waits for the lost task forever; the executor raises BrokenProcessPool.
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
                other = pool.submit(_forked_parts)   # forks now (a fork executor starts its workers on submit)
                # The community tables the reports and the plan part share, made here while the worker takes
                # the first part (villages.xlsx, which needs none): before the fork they left the other core
                # idle (the country: 1.5 s). A worker that claims a part needing them makes the same ones.
                try:
                    planfile.run_community_tables(result)
                except BaseException:
                    _stop_claims()
                    raise
                _claim_parts()
                try:
                    other.result()   # its error, if any, raised here
                except BrokenProcessPool:
                    raise worker_died() from None
        finally:
            gc.unfreeze()
            _FORKED_WRITE = None
    _write_run_json(result, work)
    planfile.write_manifest(work)  # last: the digests `planner check` compares every file with


_FORKED_WRITE: tuple | None = None


def _parallel_parts(result: RunResult, reports: bool) -> list[Callable[[RunResult, Path], object]]:
    """The folder's parts for two processes, largest first (measured on 河南省), so that they finish together."""
    from .villages.outputs import write_village_table, write_village_workbook
    from .villages.run import TABLES as VILLAGE_TABLES

    def village_table(name: str) -> Callable[[RunResult, Path], object]:
        return lambda r, w: write_village_table(r.villages, w, name)

    villages = result.villages
    tables = [village_table(name) for name in sorted(VILLAGE_TABLES, key=lambda n: -len(villages.table(n)))]
    return ([lambda r, w: write_village_workbook(r.villages, w)] + ([_write_report_part] if reports else [])
            + tables[:1] + [_write_plan_part] + tables[1:] + [_write_services, _write_access_part, _write_check_part])


def _claim_parts() -> None:
    """Write the parts of _FORKED_WRITE not yet claimed by the other process, one at a time."""
    assert _FORKED_WRITE is not None
    result, work, parts, claimed = _FORKED_WRITE
    try:
        while True:
            with claimed.get_lock():
                k = claimed.value
                claimed.value = k + 1
            if k >= len(parts):
                return
            parts[k](result, work)
    except BaseException:
        _stop_claims()
        raise


def _stop_claims() -> None:
    """Leave no part of _FORKED_WRITE to claim: the write has failed, the other process takes no new part
    (it finishes the one it writes, then stops) and the error is raised without waiting for the rest."""
    assert _FORKED_WRITE is not None
    parts, claimed = _FORKED_WRITE[2], _FORKED_WRITE[3]
    with claimed.get_lock():
        claimed.value = len(parts)


def _forked_parts() -> None:
    """write_plan_folder's parts in a forked worker that inherited the parent's run and staged folder."""
    _claim_parts()


def _write_report_part(result: RunResult, work: Path) -> None:
    """The report tables and summaries, and the access report."""
    from .access.report import write_access_report
    from .report import write_reports

    write_reports(result, work)
    write_access_report(result, work)


def _write_plan_part(result: RunResult, work: Path) -> None:
    """plan.json, the community tables and layers, and the city-grid districts."""
    plan_json = planfile.plan_to_json(result.plan)
    io.write_text(work / planfile.PLAN_JSON, plan_json)
    tables = planfile.run_community_tables(result)
    for name, frame in tables.items():
        io.write_csv(frame, work / f"{name}.csv")
    layers = planfile.community_layers(tables, result.region)
    io.write_layers(layers, work / "plan.gpkg")
    io.write_layers({"communities": layers["communities"]}, work / "plan.geojson")
    if result.plan.meta.get("city_grid_districts"):
        # Which districts formed city grids and why (003 一): the reviewer's table.
        io.write_csv(pd.DataFrame(result.plan.meta["city_grid_districts"]), work / "districts.csv")


def _write_access_part(result: RunResult, work: Path) -> None:
    from .access.outputs import write_access

    write_access(result.access, work)


def _write_villages_part(result: RunResult, work: Path) -> None:
    from .villages.outputs import write_villages

    write_villages(result.villages, work)


def _write_check_part(result: RunResult, work: Path) -> None:
    lines = compliance_lines(result.all_statuses)
    io.write_text(work / "check.txt", "\n".join(lines) + "\n")


def _write_run_json(result: RunResult, work: Path) -> None:
    planfile.write_json(work / "run.json", {
        "summary": result.summary(), "timings_s": {k: round(v, 3) for k, v in result.timings_s.items()},
        "versions": {"planner": __version__, "python": platform.python_version()},
        "unit_times_s": {u.unit: round(u.time_s, 4) for u in result.plan.units.values()},
        "reused_units": sorted(u.unit for u in result.plan.units.values() if u.reused),
        "cache_notes": [str(n) for n in result.cache_notes],
    })


def _write_services(result: RunResult, work: Path) -> None:
    """Roster, dialysis and capacity tables (CSV, plus one XLSX workbook officials pass around)."""
    from .dialysis import coverage_frame, sites_frame
    from .dispatch import roster_frame
    from .report import made_facts

    facts = made_facts(result)   # the reports' figures hold the same roster and dialysis tables: not made twice
    sheets = {}
    if result.dispatch:
        roster = facts.roster if facts is not None else roster_frame(result.dispatch, result.region)
        io.write_csv(roster, work / "roster.csv")
        sheets["roster"] = roster
        shortfalls = [{"city": d.city_name, "shortfall": s} for d in result.dispatch for s in d.shortfalls]
        shortfalls += [{"city": d.city_name, "shortfall": f"relaxation: {s}"} for d in result.dispatch for s in d.relaxations]
        sheets["shortfalls"] = pd.DataFrame(shortfalls, columns=["city", "shortfall"])
        io.write_csv(sheets["shortfalls"], work / "shortfalls.csv")
    if result.dialysis:
        sites, cover = ((facts.sites, facts.coverage) if facts is not None
                        else (sites_frame(result.dialysis, result.region), coverage_frame(result.dialysis)))
        io.write_csv(sites, work / "dialysis_sites.csv")
        io.write_csv(cover, work / "dialysis_coverage.csv")
        sheets["dialysis_sites"], sheets["dialysis_coverage"] = sites, cover
    if result.capacity is not None and len(result.capacity):
        io.write_csv(result.capacity, work / "reserved_capacity.csv")
        sheets["reserved_capacity"] = result.capacity
    if sheets:
        io.write_xlsx(sheets, work / "services.xlsx")


def check_file(plan_path: str, rules_path: str | None = None, region_spec: str | None = None, *,
               region: Region | None = None, travel: TravelModel | None = None) -> tuple[Plan, list[Unit], list[RuleStatus]]:
    """Check a plan folder or a hand-made layout, as written, against a rule file.

    A plan folder is checked as plan.json lists it (every community, duplicates and shared leads
    reported), against the rules it records unless `rules_path` says otherwise (a note in
    `plan.meta["check_notes"]` says when they differ), with every hard rule it was made under
    re-run (dispatch, dialysis, reserved capacity, access) and every table it publishes compared
    with plan.json and with the digests the run recorded. A layout is checked against
    `rules_path` (default zhejiang-2026). The region and travel model are those the plan was
    made from (plan_inputs) unless given.
    """
    from .check import integrity_statuses, recut, structure_violations

    folder = Path(plan_path)
    is_folder = folder.is_dir() or (folder.name.endswith(".json") and not folder.name.endswith(".geojson"))
    saved = planfile.read_plan(plan_path) if is_folder else None
    notes: list[str] = []
    if saved is not None:
        recorded = str(saved.meta.get("rules_path") or saved.rules_name)
        rules = load_rules(rules_path or recorded)
        notes += _rules_notes(saved, rules, recorded, given=rules_path is not None)
        plan = saved
    else:
        rules = load_rules(rules_path or "zhejiang-2026")
        plan = planfile.read_plan(plan_path, rules_name=rules.name)
        if rules_path is None:
            notes.append(f"checked against {rules.name}: a layout records no rules (pass --rules to choose)")
    if region is None or travel is None:
        region, travel = plan_inputs(plan, rules, region_spec)
    graph = contiguity_graph(region.townships, region.counties)
    units = build_units(region, rules.rules, travel, graph)
    if saved is None:
        planfile.assign_layout_units(plan, units)
        _check_leads_exist(plan, region, plan_path)
        structure = []
    else:
        towns, facs = set(region.townships.index.tolist()), set(region.facilities.index.tolist())
        structure = structure_violations(saved, towns, facs)
        plan = recut(saved, units, towns, facs)
    plan.meta["check_notes"] = notes
    statuses = check_plan(plan, units, rules.rules)
    tables = None
    if folder.is_dir():
        services, tables = _check_saved_services(folder, region, plan, units, rules)
        statuses += services
    statuses += integrity_statuses(plan, structure, tables, len(units))
    return plan, units, statuses


def _rules_notes(saved: Plan, rules: RuleSet, recorded: str, *, given: bool) -> list[str]:
    """What the checker says about the rules: those given differ from the plan's, or the plan's file changed since."""
    digest = saved.meta.get("rules_digest")
    if digest is None or digest == rules.digest:
        return []
    if given and _portable(rules.path) != recorded:
        return [f"checked against {rules.name} ({_portable(rules.path)}); the plan was made under {saved.rules_name} "
                f"({recorded}): the rules differ"]
    return [f"the rule file {recorded} has changed since the plan was made (digest {rules.digest}, the plan records "
            f"{digest}): checked against the file as it is now"]


SAVED_CSVS = ("assignments.csv", "communities.csv", "members.csv", "roster.csv", "dialysis_sites.csv",
              "dialysis_coverage.csv", "shortfalls.csv", "reserved_capacity.csv")
"""The plan folder's tables the checker compares with plan.json (and with each other)."""


def _saved_folder(folder: Path):
    """The folder's tables, layers, workbook, manifest and current digests, for check.check_tables."""
    from .check import SavedFolder

    manifest = planfile.read_manifest(folder)
    names = set(manifest or {}) | {planfile.PLAN_JSON, *SAVED_CSVS, "plan.gpkg", "plan.geojson", "services.xlsx"}
    digests = {n: planfile.file_sha256(folder / n) if (folder / n).is_file() else None for n in sorted(names)}
    tables = {n: t for n in SAVED_CSVS if (t := planfile.read_folder_csv(folder, n)) is not None}
    books = {n: b for n in ("services.xlsx",) if (b := planfile.read_folder_xlsx(folder, n)) is not None}
    return SavedFolder(tables, planfile.read_folder_layers(folder), books, manifest, digests)


def _check_saved_services(folder: Path, region: Region, plan: Plan, units: list[Unit],
                          rules: RuleSet) -> tuple[list[RuleStatus], list]:
    """Re-run the service rules on what the folder holds (roster, dialysis sites, reserved capacity
    recomputed from the plan, access tables), and compare every table with plan.json."""
    from .capacity import reserved_capacity
    from .check import TABLES, Violation, check_capacity, check_dialysis, check_dispatch, check_tables, digest_violations
    from .dispatch import RosterRow
    from .vocabulary import parse_title

    saved = _saved_folder(folder)
    capacity = reserved_capacity(region, plan, list(rules.rules))
    found = digest_violations(saved) + check_tables(plan, units, region, list(rules.rules), saved, capacity)
    out: list[RuleStatus] = []
    fac = region.facilities.index
    roster = saved.tables.get("roster.csv")
    if roster is not None and any(r.kind in ("attending_dispatch", "expert_dispatch") for r in rules.rules):
        rows = []
        for i, r in enumerate(roster.to_dict("records"), start=2):
            try:
                if r["from_id"] not in fac or r["to_id"] not in fac and r["role"] == "attending":
                    continue  # reported by check_tables
                count = int(r["count"])
                if count < 0:
                    raise ValueError(count)
                rows.append(RosterRow(r["role"], r["community_id"], r["from_id"], r["to_id"],
                                      parse_title(r["title"]).value.value, r["specialty"], count, float(r["travel_min"]),
                                      r["borrowed"] == "True", r.get("profession", "") or "medicine"))
            except (KeyError, ValueError, AttributeError) as exc:
                found.append(Violation("", "roster.csv", TABLES.id, TABLES.citation,
                                       f"roster.csv row {i}: cannot be read ({exc.__class__.__name__}: {exc})"))
        out += check_dispatch(region, plan, rows, rules.rules)
    sites = saved.tables.get("dialysis_sites.csv")
    if sites is not None and len(sites) and {"county", "facility_id"} <= set(sites.columns):
        pairs = [(c, f) for c, f in zip(sites["county"], sites["facility_id"])
                 if c in region.counties.index and f in fac]
        out += check_dialysis(region, pairs, rules.rules)
    out += check_capacity(capacity, rules.rules)
    try:
        out += _check_saved_access(folder, region, plan, rules)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # A hand-edited access table the access checker cannot read is the folder's fault, not a bug.
        found.append(Violation("", "access tables", TABLES.id, TABLES.citation,
                               f"the access tables cannot be re-checked ({exc.__class__.__name__}: {exc})"))
    try:
        out += _check_saved_villages(folder, region, plan, rules)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # A hand-edited route or timetable table the village checker cannot read is the folder's fault.
        found.append(Violation("", "village tables", TABLES.id, TABLES.citation,
                               f"the village tables cannot be re-checked ({exc.__class__.__name__}: {exc})"))
    return out, found


def _check_saved_villages(folder: Path, region: Region, plan: Plan, rules: RuleSet) -> list[RuleStatus]:
    """Re-check the village tables a plan folder holds (routes, timetable) against the village rules."""
    from .villages.check import check_villages
    from .villages.outputs import read_villages

    tables = read_villages(folder)
    if not tables or not any(r.enabled and type(r).stage == "villages" for r in rules.rules):
        return []
    travel = plan_inputs(plan, rules)[1] if plan.meta.get("inputs") else TravelModel(rules.travel.detour_factor,
                                                                                    rules.travel.speed_kph)
    return check_villages(region, plan, tables, list(rules.rules), travel)


def _check_saved_access(folder: Path, region: Region, plan: Plan, rules: RuleSet) -> list[RuleStatus]:
    """Re-check the access tables a plan folder holds against the access rules (planner.access.check)."""
    from .access.check import check_access
    from .access.outputs import read_access

    tables = read_access(folder)
    if not tables:
        return []
    travel = plan_inputs(plan, rules)[1] if plan.meta.get("inputs") else TravelModel(rules.travel.detour_factor,
                                                                                    rules.travel.speed_kph)
    from .access.run import plan_scopes

    return check_access(region, plan, tables, list(rules.rules), travel, plan_scopes(plan, region))


def _check_leads_exist(plan: Plan, region: Region, label: str) -> None:
    missing = sorted({c.lead for c in plan.communities() if c.lead not in region.facilities.index})
    if missing:
        raise InputDataError([Problem(label, f"lead {m}", "is not a facility of the region",
                                      "use facility ids from the region (planner show REGION lists them)") for m in missing])
