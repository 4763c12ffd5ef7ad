"""The public Python API: load a region and rules, solve, check, compare, and get plans as (Geo)DataFrames."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import InputDataError, Problem

if TYPE_CHECKING:  # the heavy modules load when a function needs them, so `import planner` stays cheap
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from .cache import UnitCache
    from .check import RuleStatus
    from .pipeline import RunResult
    from .plan import Plan
    from .region import Region
    from .rulefile import RuleSet

__all__ = [
    "CheckResult", "Comparison", "Grouping", "PlanResult", "check_plan", "compare", "export_region", "group_areas",
    "load_region", "load_rules", "read_plan", "region_from_geodataframes", "solve",
]


# --- inputs ------------------------------------------------------------------------------------------


def load_region(spec: str = "浙江省", files: str | Path | Sequence[str | Path] = (), *, crs: str = "auto",
                encoding: str | None = None, rules: RuleSet | None = None, jobs: int = 1) -> Region:
    """Load an embedded region, optionally with some layers replaced by the user's files.

    Parameters
    ----------
    spec
        A province, city or county by name or adcode (浙江省, 金华市, 义乌市, 330782, 全国);
        a name shared by several places is qualified as 省/市/县.
    files
        The user's geodata files (GeoPackage, GeoJSON, Shapefile, CSV, XLSX): each layer they
        hold (facilities, staff, townships, villages, counties) replaces the embedded one. They
        are validated as `planner validate` does; a roster template written by `planner export`
        is read with its Chinese headers.
    crs
        Coordinates of the files: "auto" (the file's own CRS, WGS84 when absent), "wgs84",
        "cgcs2000" or "gcj02" (Amap/Tencent, converted to WGS84).
    encoding
        Text encoding of CSV/Shapefile attributes (default: UTF-8, else GBK/GB18030).
    rules
        Rules whose lead and expert rules the `warnings` check (no such warnings without).
    jobs
        Processes for the first read of a region of several files (the country): a forked worker
        fills the region store with some while this process reads the others. The same region.

    Returns
    -------
    Region
        Counties, townships, villages, facilities (GeoDataFrames in EPSG:4326) and staff, with
        `notes` (what was normalised on read) and `warnings` (what the files lack).

    Raises
    ------
    InputDataError
        Listing every problem of the files (file, row, bad value, fix), or an unknown region.
    """
    from . import io, regions
    from .roster import roster_warnings
    from .validate import region_from_tables

    base = regions.load(spec, jobs=jobs)
    paths = [str(files)] if isinstance(files, (str, Path)) else [str(f) for f in files]
    if not paths:
        return base
    tables = [t for f in paths for t in io.read_tables(f, encoding=encoding, crs=crs)]
    region = region_from_tables(tables, name=base.name, base=base)
    region.warnings = roster_warnings(region, tables, rules)
    return region


def region_from_geodataframes(*, counties: pd.DataFrame | None = None, townships: pd.DataFrame | None = None,
                              villages: pd.DataFrame | None = None, facilities: pd.DataFrame | None = None,
                              staff: pd.DataFrame | None = None, base: Region | str | None = None,
                              name: str | None = None) -> Region:
    """Build a region from GeoDataFrames, validated exactly as files are.

    The adapter for data already in Python: each frame goes through the same checks as a file
    of that layer (columns and their Chinese aliases, codes, types, geometry, references), so
    a frame that would be refused as a file is refused here, with every problem listed.

    Parameters
    ----------
    counties, townships, villages, facilities, staff
        The layers given (see planner.schema for the columns). Geometry must carry a CRS (it
        is converted to WGS84); a plain DataFrame of facilities may give `lon`/`lat` columns.
    base
        A region (or the name of an embedded one) that supplies the layers not given, e.g.
        ``base="义乌市"`` with only `facilities` and `staff` for a county's own roster.
    name
        What the region is called in reports (default: the base's name, else "user region").

    Returns
    -------
    Region

    Raises
    ------
    InputDataError
        Listing every problem, each naming the layer and the row (its position in the frame).
    """
    from . import io
    from .io import RawTable
    from .regions import load
    from .validate import region_from_tables

    base_region = load(base) if isinstance(base, str) else base
    tables = []
    for layer, frame in (("counties", counties), ("townships", townships), ("villages", villages),
                         ("facilities", facilities), ("staff", staff)):
        if frame is None:
            continue
        label = Path(f"{layer} (DataFrame)")
        notes: list[str] = []
        try:
            import geopandas as gpd

            if isinstance(frame, gpd.GeoDataFrame) and frame.geometry is not None and "geometry" in frame.columns:
                if frame.crs is None:
                    raise InputDataError(Problem(str(label), "", "has no CRS",
                                                 "set one with .set_crs('EPSG:4326') (or the CRS the coordinates are in)"))
                frame, notes = io._to_wgs84(frame, "auto", str(label))
        except ImportError:  # pragma: no cover - geopandas is a dependency
            pass
        if layer == "facilities" and "grade" in frame.columns:
            frame = frame.assign(grade=[_grade_text(g) for g in frame["grade"]])  # a Region's own frame holds Grade values
        text = io._as_text(frame.reset_index(drop=True))
        table = RawTable(label, layer, text, 0, notes)
        tables.append(io._points_from_columns(table, "auto") if layer == "facilities" else table)
    return region_from_tables(tables, name=name or (base_region.name if base_region is not None else "user region"),
                              base=base_region)


def _grade_text(value: object) -> object:
    from .vocabulary import Grade

    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return value
    try:
        return Grade(int(value)).zh
    except ValueError:
        return value  # not a grade value: the validator names it


def load_rules(name_or_path: str | Path = "zhejiang-2026") -> RuleSet:
    """Read a rule file (a path, or a built-in name such as zhejiang-2026) and validate every rule.

    Returns
    -------
    RuleSet
        The rules in file order (after `extends`); ``rules.replace(rule_id, key=value)`` returns
        a copy with a value changed, validated as the file would be; ``rules.save(path)``
        writes the changes as a rule file that extends this one.

    Raises
    ------
    RuleFileError
        Listing every problem with file, rule id, key, bad value and fix.
    """
    from .rulefile import load_rules as _load

    return _load(name_or_path)


def export_region(region: Region | str, path: str | Path, fmt: str = "xlsx", *,
                  layers: Sequence[str] = ("facilities", "staff", "townships", "villages")) -> list[Path]:
    """Write a region's layers as a roster template (what `planner export` writes).

    Parameters
    ----------
    region
        An embedded region's name or code, or a Region.
    path
        The .xlsx workbook, the folder of CSV files, or the .gpkg to write; an existing one is
        replaced only when the planner wrote it.
    fmt
        "xlsx" (one sheet per layer, headers 中文 (column), a data_dictionary and an about
        sheet), "csv" (one UTF-8 file per layer) or "gpkg" (English column names with the
        Chinese names as aliases).
    layers
        Which of facilities, staff, townships, villages to write. Facilities include the city's
        hospitals in its other counties, which send the city experts.

    Returns
    -------
    list of Path
        The files written.
    """
    from .regions import load, resolve
    from .roster import export_region as _export

    if isinstance(region, str):
        spec = resolve(region)
        return _export(load(spec), path, fmt, code=spec.code, layers=layers)
    return _export(region, path, fmt, layers=layers)


# --- solving -----------------------------------------------------------------------------------------


def solve(region: Region, rules: RuleSet, *, counties: str | Sequence[str] | None = None, backend: str = "cpsat",
          time_limit_s: float = 60.0, previous: PlanResult | Plan | str | Path | None = None,
          cache: str | Path | UnitCache | None = None, services: bool = True, jobs: int = 1) -> PlanResult:
    """Form the communities (and city grids) of a region under rules, dispatch, site dialysis, check.

    Parameters
    ----------
    region
        From `load_region` or `region_from_geodataframes`.
    rules
        From `load_rules` (possibly edited with `rules.replace`).
    counties
        Solve only these counties (names or adcodes; a county in a city grid brings its whole
        grid), e.g. to re-solve one county after a rule change. Default: the whole region.
    backend
        "cpsat" (OR-Tools CP-SAT), "cbc" (PuLP/CBC) or "highs".
    time_limit_s
        Solver time limit per county or city grid; a unit stopped by it keeps its best plan
        with the gap (status FEASIBLE), it is OPTIMAL only when proven.
    previous
        An earlier plan (result, Plan or plan folder): warm start, and `result.compare(previous)`.
    cache
        A folder (or UnitCache) of solved units to reuse; None (default) solves every unit.
    services
        Dispatch physicians and site dialysis too (default True).
    jobs
        Worker processes.

    Returns
    -------
    PlanResult
    """
    from .cache import UnitCache
    from .pipeline import run_plan
    from .planning import SolveOptions

    if counties is not None:
        region = _subset(region, rules, counties)
    prev = _as_plan(previous) if previous is not None else None
    store = UnitCache(cache) if isinstance(cache, (str, Path)) else cache
    result = run_plan(region, rules, SolveOptions(backend=backend, time_limit_s=time_limit_s), previous=prev,
                      services=services, jobs=jobs, cache=store)
    return PlanResult(result, previous=_as_result(previous) if previous is not None else None)


def county_codes(region: Region, counties: str | Sequence[str]) -> list[str]:
    """Adcodes of counties of the region given by name or adcode; InputDataError naming unknown ones."""
    wanted = [counties] if isinstance(counties, str) else list(counties)
    by_name: dict[str, list[str]] = {}
    for code, name in region.counties["name"].astype(str).items():
        by_name.setdefault(name, []).append(str(code))
    out, problems = [], []
    for c in wanted:
        c = str(c).strip()
        if c in region.counties.index:
            out.append(c)
        elif len(by_name.get(c, [])) == 1:
            out.append(by_name[c][0])
        else:
            names = list(by_name) + [str(x) for x in region.counties.index]
            close = difflib.get_close_matches(c, names, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            problems.append(Problem(region.name, f"county {c!r}", f"is not a county of the region{hint}",
                                    "give a county name or adcode of the region (planner show REGION lists them)"))
    if problems:
        raise InputDataError(problems)
    return sorted(dict.fromkeys(out))


def _subset(region: Region, rules: RuleSet, counties: str | Sequence[str]) -> Region:
    from .units import city_grid_members

    codes = set(county_codes(region, counties))
    for members in city_grid_members(region, rules.rules).values():
        if codes & set(members):
            codes |= set(members)  # a city grid is solved as one unit
    return subset_region(region, sorted(codes))


def subset_region(region: Region, counties: Sequence[str]) -> Region:
    """The region cut to some counties, with their cities' hospitals elsewhere kept as context (experts, leads)."""
    codes = sorted(set(counties))
    if set(codes) == set(region.counties.index):
        return region
    names = [region.county_name(c) for c in codes]
    name = "、".join(names) if len(names) <= 3 else f"{names[0]} 等 {len(names)} 个县"
    return region.partition([codes], villages=bool(len(region.villages)), names=[name])[0]


def _as_plan(obj: PlanResult | Plan | str | Path) -> Plan:
    from .planfile import read_plan as _read

    if isinstance(obj, PlanResult):
        return obj.plan
    if isinstance(obj, (str, Path)):
        return _read(obj)
    return obj


def _as_result(obj: Any) -> PlanResult | None:
    if isinstance(obj, PlanResult):
        return obj
    if isinstance(obj, (str, Path)):
        return read_plan(obj)
    return None


def read_plan(path: str | Path) -> PlanResult:
    """Read a plan folder written by `planner plan` (or `PlanResult.write`), re-checked by the checker.

    The region and the rule file are re-loaded as plan.json records them (with the user's
    input files, which must be unchanged); `notes` say what differs from the original run
    (e.g. a rule file edited since).
    """
    from .render import load_run

    result, notes = load_run(path)
    return PlanResult(result, notes=list(notes))


# --- results -----------------------------------------------------------------------------------------


class PlanResult:
    """A plan with every table the plan folder holds, as (Geo)DataFrames with the same columns.

    Attributes are computed on first use: `communities`, `townships`, `leads` (GeoDataFrames,
    EPSG:4326: the layers of plan.gpkg), `assignments` (assignments.csv), `members`
    (members.csv), `roster` and `shortfalls` (roster.csv, shortfalls.csv), `dialysis_sites` and
    `dialysis_coverage` (dialysis_sites.csv, dialysis_coverage.csv), `units` (report.csv),
    `checks` and `violations` (the independent checker's results: the `rules` and `violations`
    sheets of report.xlsx). `write(folder)` writes the plan folder, `draw(folder)` its maps.

    Parameters
    ----------
    run
        The pipeline's RunResult (region, rules, units, plan, statuses, services).
    previous
        The plan this one was re-solved from, if any (`compare()` uses it by default).
    notes
        What differs from the original run, for plans read back from a folder.
    """

    def __init__(self, run: RunResult, *, previous: PlanResult | None = None, notes: list[str] | None = None) -> None:
        self.run = run
        self.previous = previous
        self.notes = notes or []

    # --- what was planned --------------------------------------------------------------------

    @property
    def region(self) -> Region:
        """The region planned (for a one-county solve, that county with its city's hospitals)."""
        return self.run.region

    @property
    def rules(self) -> RuleSet:
        """The rules the plan was made under."""
        return self.run.rules

    @property
    def plan(self) -> Plan:
        """The plan itself: one UnitPlan per county or city grid (communities, status, gap)."""
        return self.run.plan

    @property
    def status(self) -> dict[str, int]:
        """Units by solver status, e.g. {"OPTIMAL": 90}; OPTIMAL only when the solver proved it."""
        return self.plan.status_counts()

    @property
    def optimal(self) -> bool:
        """True when every unit was solved to proven optimality."""
        return self.plan.all_optimal

    @property
    def hard_violations(self) -> int:
        """Violations of hard rules found by the independent checker (communities and services)."""
        return self.run.hard_violations

    @property
    def passed(self) -> bool:
        """True when every unit has a plan and no hard rule is broken."""
        return self.hard_violations == 0 and all(u.solved for u in self.plan.units.values())

    @property
    def statuses(self) -> list[RuleStatus]:
        """The checker's result per rule (RuleStatus objects, with their violations)."""
        return self.run.all_statuses

    def summary(self) -> dict[str, object]:
        """Key figures: units, communities, population, travel, statuses, dispatch and dialysis totals."""
        return self.run.summary()

    def explanations(self) -> list[str]:
        """Why units have no plan (conflicting rules, what relaxing each would do), one line each."""
        return [line for u in self.plan.units.values() for line in u.explanation]

    # --- tables ------------------------------------------------------------------------------

    @cached_property
    def _facts(self) -> Any:
        from .report import plan_facts

        return plan_facts(self.run)

    @cached_property
    def _tables(self) -> dict[str, pd.DataFrame]:
        from .planfile import community_tables

        return community_tables(self.plan, self.run.units, self.region, list(self.rules.rules))

    @cached_property
    def _layers(self) -> dict[str, gpd.GeoDataFrame]:
        from .planfile import community_layers

        return community_layers(self._tables, self.region)

    @property
    def communities(self) -> gpd.GeoDataFrame:
        """One row per community or city grid (communities.csv), with its dissolved polygon."""
        return self._layers["communities"].copy()

    @property
    def townships(self) -> gpd.GeoDataFrame:
        """One row per township: its unit, community, lead and travel minutes (assignments.csv), with its polygon."""
        return self._layers["townships"].copy()

    @property
    def leads(self) -> gpd.GeoDataFrame:
        """The lead hospitals as points (the `leads` layer of plan.gpkg)."""
        return self._layers["leads"].copy()

    @property
    def assignments(self) -> pd.DataFrame:
        """assignments.csv: one row per township (no geometry)."""
        return self._tables["assignments"].copy()

    @property
    def members(self) -> pd.DataFrame:
        """members.csv: each facility's community (a facility serving several has several rows)."""
        return self._tables["members"].copy()

    @property
    def roster(self) -> pd.DataFrame:
        """roster.csv: physicians sent year-round (role, from, to, title, specialty, count, travel)."""
        from .dispatch import roster_frame

        return roster_frame(self.run.dispatch, self.region)

    @property
    def shortfalls(self) -> pd.DataFrame:
        """shortfalls.csv: what dispatch could not cover, and the relaxations that would close it."""
        import pandas as pd

        rows = [{"city": d.city_name, "shortfall": s} for d in self.run.dispatch for s in d.shortfalls]
        rows += [{"city": d.city_name, "shortfall": f"relaxation: {s}"} for d in self.run.dispatch for s in d.relaxations]
        return pd.DataFrame(rows, columns=["city", "shortfall"])

    def _village_table(self, name: str) -> pd.DataFrame:
        import pandas as pd

        from .villages.run import COLUMNS

        villages = getattr(self.run, "villages", None)
        return villages.table(name) if villages is not None else pd.DataFrame(columns=COLUMNS[name])

    @property
    def village_modes(self) -> pd.DataFrame:
        """village_modes.csv: every village's service mode (resident, circuit, unreachable with the reason), visits
        and remote sessions (empty when the rules have no village rules)."""
        return self._village_table("village_modes")

    @property
    def routes(self) -> pd.DataFrame:
        """routes.csv: the weekly circuit routes (team, weekday, stop order, village, arrival, minutes)."""
        return self._village_table("routes")

    @property
    def timetable(self) -> pd.DataFrame:
        """timetable.csv: remote consultations (clinic, consultant, weekday, half-day, seat, start)."""
        return self._village_table("timetable")

    @property
    def dialysis_sites(self) -> pd.DataFrame:
        """dialysis_sites.csv: new dialysis sites at central township health centers."""
        from .dialysis import sites_frame

        return sites_frame(self.run.dialysis, self.region)

    @property
    def dialysis_coverage(self) -> pd.DataFrame:
        """dialysis_coverage.csv: per county, eligibility and residents within reach before and after."""
        return self._facts.coverage.copy()

    @property
    def units(self) -> pd.DataFrame:
        """report.csv without the total row: one row per county or city grid (status, gap, figures)."""
        return self._facts.units.copy()

    @property
    def checks(self) -> pd.DataFrame:
        """The checker's result per rule: PASS/FAIL/SOFT, citation, units checked, violations (report.xlsx `rules`)."""
        return self._facts.rules.copy()

    @property
    def violations(self) -> pd.DataFrame:
        """One row per violation: rule, citation, hard, unit, message (report.xlsx `violations`)."""
        return self._facts.violations.copy()

    def check_lines(self) -> list[str]:
        """check.txt: one line per rule (PASS/FAIL with its citation), then one per violation."""
        from .check import compliance_lines

        return compliance_lines(self.statuses)

    # --- comparing, writing, drawing ---------------------------------------------------------

    def compare(self, other: PlanResult | Plan | str | Path | None = None) -> Comparison:
        """What changed from `other` (default: the plan this one was re-solved from) to this plan."""
        before = other if other is not None else self.previous
        if before is None:
            msg = "compare() needs an earlier plan: pass one, or solve with previous=..."
            raise ValueError(msg)
        return compare(before, self)

    def write(self, folder: str | Path, *, reports: bool = True) -> Path:
        """Write the plan folder (plan.json, CSV/XLSX tables, GeoPackage, GeoJSON, check.txt, reports) atomically.

        A folder that holds an earlier plan is replaced in one step; readers see the old plan
        or the new one, never a mix. The plan records the rule file's path and digest, so
        `planner check FOLDER` and `planner map FOLDER` re-load them (rules edited in Python
        and not saved with `rules.save` are re-checked under the file, and the maps say so).
        """
        from .pipeline import write_outputs

        return write_outputs(self.run, folder, reports=reports)

    def draw(self, folder: str | Path, *, lang: str = "zh", offline: bool = False, tiles: str = "osm",
             tianditu_key: str | None = None, units: Sequence[str] | None = None) -> Path:
        """Draw the maps (index.html and one page per county or city grid) into `folder`, published atomically.

        Returns the path of index.html. See `planner map --help` for the options.
        """
        from .mapstyle import MapOptions
        from .planfile import publish_dir
        from .render import render_run

        from .pipeline import assign_run_id

        MapOptions(lang, offline, tiles, tianditu_key).checked()
        target = Path(folder)
        run_id = str(self.run.plan.meta.get("run_id") or assign_run_id(self.run.plan))  # the plan the maps show
        others = (("the plan folder", self.run.out_dir),) if self.run.out_dir is not None else ()
        with publish_dir(target, "maps", run_id, others=others) as work:
            render_run(self.run, work, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key,
                       units=units, notes=self.notes)
        return target / "index.html"

    def map_html(self, unit: str | None = None, *, lang: str = "zh", tiles: str = "none") -> str:
        """One self-contained map page as HTML text (the overview, or one county's page), for notebooks.

        In Jupyter: ``IPython.display.IFrame(srcdoc=...)`` or save it to a file and open it.
        """
        from .render import map_pages, unit_filename

        wanted = None
        if unit is not None:
            code = unit if unit in {u.id for u in self.run.units} else county_codes(self.region, unit)[0]
            owner = next((u.id for u in self.run.units if code == u.id or code in u.county_codes), code)
            wanted = [owner]
        pages = map_pages(self.run, lang=lang, offline=True, tiles=tiles, units=wanted or [], notes=self.notes)
        return pages[f"units/{unit_filename(wanted[0])}"] if wanted else pages["index.html"]

    def __repr__(self) -> str:
        s = self.summary()
        status = ", ".join(f"{k} {v}" for k, v in sorted(self.status.items()))
        return (f"<PlanResult {s['region']} under {s['rules']}: {s['units']} units ({status}), "
                f"{s['communities']} communities, {self.hard_violations} hard-rule violations>")


@dataclass(frozen=True)
class Comparison:
    """What changed between two plans of one region.

    Attributes
    ----------
    moved
        One row per township whose lead changed: township_code, township_name, lead_before,
        lead_before_name, lead_after, lead_after_name.
    leads_added, leads_removed
        Facility ids of leads that appear or disappear.
    objective_before, objective_after
        Person-minutes of travel plus soft-rule penalties, over the units of `after`.
    lines
        The same lines `planner plan --previous` prints.
    """

    before: Plan
    after: Plan
    region: Region
    moved: pd.DataFrame
    leads_added: tuple[str, ...]
    leads_removed: tuple[str, ...]
    objective_before: float
    objective_after: float
    lines: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """True when a township moved or a lead changed."""
        return bool(len(self.moved) or self.leads_added or self.leads_removed)

    def draw(self, path: str | Path, *, lang: str = "zh", offline: bool = True, tiles: str = "none") -> Path:
        """Write the diff map (moved townships in red, boundaries before and after) to an HTML file."""
        from . import io
        from .mapstyle import MapOptions
        from .render import asset_files, diff_page, page_html

        opts = MapOptions(lang, offline, tiles).checked()
        out = io.write_text(Path(path), page_html(diff_page(self.before, self.after, self.region, opts), opts))
        if not offline:
            for name, data in sorted(asset_files().items()):
                io.write_bytes(out.parent / "assets" / name, data)
        return out

    def __repr__(self) -> str:
        return f"<Comparison {self.lines[0] if self.lines else ''}>"


def compare(before: PlanResult | Plan | str | Path, after: PlanResult | Plan | str | Path, *,
            region: Region | None = None, limit: int = 20) -> Comparison:
    """Compare two plans of one region: townships that moved, leads added and removed, objective.

    Parameters
    ----------
    before, after
        PlanResults, Plans or plan folders. When `after` covers part of `before` (one county
        re-solved against a province plan), only that part is compared.
    region
        The region for names (default: that of `after`, or `before`, when they are results).
    limit
        Moved townships listed in `lines`.
    """
    import pandas as pd

    from .diff import diff_lines, diff_table

    a, b = _as_plan(before), _as_plan(after)
    if region is None:
        for obj in (after, before):
            if isinstance(obj, PlanResult):
                region = obj.region
                break
        else:
            from .regions import load

            region = load(b.region)
    inside = set(region.townships.index)
    town = region.townships["name"].to_dict()
    fac = region.facilities["name"].to_dict()
    rows = [r for r in diff_table(a, b) if r["township_code"] in inside]
    moved = pd.DataFrame([{"township_code": r["township_code"], "township_name": town.get(r["township_code"], ""),
                           "lead_before": r["lead_before"], "lead_before_name": fac.get(r["lead_before"], ""),
                           "lead_after": r["lead_after"], "lead_after_name": fac.get(r["lead_after"], "")} for r in rows],
                         columns=["township_code", "township_name", "lead_before", "lead_before_name", "lead_after",
                                  "lead_after_name"])
    la = {lead for t, lead in a.assignment().items() if t in inside}
    lb = {lead for t, lead in b.assignment().items() if t in inside}
    units = set(b.units)
    obj_a = sum(u.objective or 0.0 for uid, u in a.units.items() if uid in units)
    obj_b = sum(u.objective or 0.0 for u in b.units.values())
    return Comparison(a, b, region, moved, tuple(sorted(lb - la)), tuple(sorted(la - lb)), obj_a, obj_b,
                      tuple(diff_lines(a, b, region, limit=limit)))


@dataclass(frozen=True)
class CheckResult:
    """The independent checker's verdict on a plan: one row per rule, one per violation.

    Attributes
    ----------
    checks
        rule_id, kind, stage, scope, hard, citation, heading, description, units_checked,
        violations, status (PASS, FAIL for a broken hard rule, SOFT for a penalised soft one).
    violations
        rule_id, citation, hard, unit, named, message.
    lines
        What `planner check` prints.
    """

    statuses: tuple[RuleStatus, ...]
    checks: pd.DataFrame
    violations: pd.DataFrame
    lines: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when no hard rule is broken."""
        return not any(s.violations for s in self.statuses if s.rule.hard)


def check_plan(plan: PlanResult | str | Path, rules: RuleSet | str | Path | None = None, *,
               region: Region | str | None = None) -> CheckResult:
    """Check a plan against rules with the independent checker (what `planner check` does).

    Parameters
    ----------
    plan
        A PlanResult, a plan folder, or a hand-made layout (CSV/XLSX/GeoPackage with
        township_code and lead_id columns).
    rules
        The rules to check against (default: those the plan was made under; required for a
        layout, which records none).
    region
        For a layout: the region it lays out (name or Region). Plan folders know their own.
    """
    import pandas as pd

    from .check import compliance_lines
    from .report import rule_mark

    if isinstance(plan, PlanResult):
        statuses = _recheck(plan, _rules(rules) if rules is not None else plan.rules)
    else:
        from .pipeline import check_file

        if rules is None:
            from .planfile import read_plan as _read

            saved = _read(plan)
            rules = str(saved.meta.get("rules_path") or saved.rules_name) if saved.rules_name else None
            if rules is None:
                raise InputDataError(Problem(str(plan), "", "is a layout without rules", "pass rules=..."))
        rule_set = _rules(rules)
        reg = region if not isinstance(region, str) else None
        if reg is not None:
            from .travel import TravelModel

            travel = TravelModel(rule_set.travel.detour_factor, rule_set.travel.speed_kph)
            _, _, statuses = check_file(str(plan), rule_set.path, region=reg, travel=travel)
        else:
            _, _, statuses = check_file(str(plan), rule_set.path, region if isinstance(region, str) else None)
    checks = pd.DataFrame([{"rule_id": s.rule.id, "kind": s.rule.kind, "stage": type(s.rule).stage,
                            "scope": s.rule.scope, "hard": bool(s.rule.hard), "citation": s.rule.citation,
                            "heading": s.rule.heading(), "description": s.rule.describe(),
                            "units_checked": int(s.units_checked), "violations": len(s.violations),
                            "status": rule_mark(s)} for s in statuses],
                          columns=["rule_id", "kind", "stage", "scope", "hard", "citation", "heading", "description",
                                   "units_checked", "violations", "status"])
    violations = pd.DataFrame([{"rule_id": v.rule_id, "citation": v.citation, "hard": bool(v.hard), "unit": v.unit,
                                "named": v.unit_name, "message": v.message} for s in statuses for v in s.violations],
                              columns=["rule_id", "citation", "hard", "unit", "named", "message"])
    return CheckResult(tuple(statuses), checks, violations, tuple(compliance_lines(statuses)))


def _rules(rules: RuleSet | str | Path) -> RuleSet:
    from .rulefile import RuleSet, load_rules as _load

    return rules if isinstance(rules, RuleSet) else _load(rules)


def _recheck(result: PlanResult, rules: RuleSet) -> list[RuleStatus]:
    """Re-check a plan held in memory under (possibly other) rules, as `planner check` checks a folder."""
    from .check import check_dialysis, check_dispatch, check_plan as _check
    from .plan import Plan
    from .planfile import assign_layout_units
    from .planning import region_units

    units = region_units(result.region, rules, result.run.travel)
    layout = Plan(result.region.name, rules.name, meta={
        "layout": f"{result.region.name} (in memory)",
        "rows": [{"township_code": t, "lead_id": lead} for t, lead in sorted(result.plan.assignment().items())]})
    assign_layout_units(layout, units)
    statuses = _check(layout, units, rules.rules)
    if any(r.kind in ("attending_dispatch", "expert_dispatch") for r in rules.rules) and result.run.dispatch:
        statuses += check_dispatch(result.region, layout, [r for d in result.run.dispatch for r in d.rows], rules.rules)
    if result.run.dialysis:
        statuses += check_dialysis(result.region, [(d.county, f) for d in result.run.dialysis for f in d.sites],
                                   rules.rules)
    return statuses


# --- the matrix-level core ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """Groups found by `group_areas`: each area's center, with the solve's status and gap.

    Attributes
    ----------
    assignment
        For each area, the index of its center (-1 when uncovered, i.e. no plan).
    centers
        Indices of the open centers, ascending.
    status
        "OPTIMAL" (proven), "FEASIBLE" (time limit; see `gap`), "INFEASIBLE" or "NO_SOLUTION".
    objective, bound, gap
        Total cost of the assignment, the proven lower bound and their relative gap.
    """

    assignment: np.ndarray
    centers: tuple[int, ...]
    status: str
    objective: float | None
    bound: float | None
    gap: float | None


def group_areas(population: Sequence[int], cost: Any, edges: Sequence[tuple[int, int]], roots: Sequence[int], *,
                min_groups: int | None = 1, max_groups: int | None = None, contiguous: bool = True,
                capacity: Sequence[int] | None = None, demand: Sequence[int] | None = None,
                backend: str = "cpsat", time_limit_s: float = 60.0) -> Grouping:
    """Group areas around centers at least cost, each group contiguous (the core the planner builds on).

    The matrix-level model under every county's communities, with no hospitals or rules:
    choose between `min_groups` and `max_groups` centers and assign every area to one open
    center, minimising the total cost, each group connected in the area graph and holding its
    center's root area (exact: a flow per center, Shirabe 2005).

    Parameters
    ----------
    population
        Population of each area (n integers).
    cost
        Integer cost of assigning area i to center f, shape (n, m) (e.g. population x minutes).
    edges
        Adjacency between areas, as index pairs.
    roots
        The area each center sits in (m indices; -1 for a center outside the areas).
    min_groups, max_groups
        Bounds on the number of open centers (None: unbounded).
    contiguous
        Require every group to be connected.
    capacity, demand
        Per-center capacities (m integers): a center's group may ask at most its capacity of
        `demand` (n integers per area, default the population) — the capacitated
        location-allocation model (capacitated p-median when every area is a center).
    backend, time_limit_s
        Solver and its time limit.

    Examples
    --------
    Three areas in a row, centers in the first and the last; one group only::

        >>> g = group_areas([10, 1, 10], [[0, 20], [1, 1], [5, 0]], [(0, 1), (1, 2)], [0, 2], max_groups=1)
        >>> g.status, g.assignment.tolist()
        ('OPTIMAL', [0, 0, 0])
    """
    import numpy as np

    from .districting import DistrictingModel

    dm = DistrictingModel(np.asarray(population, dtype=np.int64), np.asarray(cost), list(edges), list(roots),
                          name="group_areas")
    if min_groups is not None or max_groups is not None:
        dm.add_count(min_groups, max_groups, "count")
    if contiguous:
        dm.add_contiguity("contiguity")
    if capacity is not None:
        dm.add_capacity(np.asarray(population if demand is None else demand, dtype=np.int64), list(capacity), "capacity")
    sol = dm.solve(backend, time_limit_s=time_limit_s)
    assignment = np.full(dm.n, -1, dtype=np.int64)
    groups = dm.groups_of(sol)
    for f, members in groups.items():
        assignment[members] = f
    return Grouping(assignment, tuple(sorted(groups)), sol.status.value, sol.objective, sol.bound, sol.gap)
