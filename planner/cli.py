"""The `planner` command: a thin layer over the library that turns planner errors into one-line messages."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from ._errors import PlannerError
from .mapstyle import LANGS, NUMBER_STYLES, TILES, TILES_HELP
from .milp import BACKENDS

EXIT_BAD_INPUT = 2
EXIT_BUG = 1

MESSAGE_LANGS = ("zh", "en")


def locale_lang(environ: dict[str, str] | None = None) -> str:
    """The message language the environment asks for: PLANNER_LANG, else a Chinese locale (LC_ALL,
    LC_MESSAGES, LANG, LANGUAGE starting with zh) gives "zh"; anything else "en"."""
    env = os.environ if environ is None else environ
    if env.get("PLANNER_LANG", "").lower() in MESSAGE_LANGS:
        return env["PLANNER_LANG"].lower()
    for key in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(key, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def message_lang() -> str:
    """The language of this command's messages: `--lang` (the group's, or a command's), else the locale."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    chosen = (root.meta.get("planner.lang") if root is not None else None)
    return chosen or locale_lang()


def _argv_lang(argv: list[str]) -> str:
    """The message language a command line asks for (`--lang zh|en` anywhere), else the locale's."""
    for k, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--lang=") else (argv[k + 1] if arg == "--lang" and k + 1 < len(argv) else None)
        if value in MESSAGE_LANGS:
            return value
    return locale_lang()


def _set_lang(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        ctx.find_root().meta["planner.lang"] = value
    return value


def _tr(message: object) -> str:
    from .i18n import tr

    return tr(message, message_lang())


def _echo_err(line: object) -> None:
    click.echo(_tr(line), err=True)


def _say(line: object) -> None:
    """Print a message (a Text in the message language)."""
    click.echo(_tr(line))


def _slug(text: str) -> str:
    keep = "".join(ch if (ch.isalnum() or ch in "-_") else "_" for ch in text)
    return keep.strip("_") or "region"


class PlannerGroup(click.Group):
    """Run commands so that planner errors print one line per problem and never a traceback."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if args is None and standalone_mode:  # the `planner` command itself (not a caller passing arguments)
            from .warm.client import delegate

            argv = sys.argv[1:]
            code = delegate(argv, _argv_lang(argv))  # in the warm process, when the user started one
            if code is not None:
                sys.exit(code)
        return super().main(args, prog_name, complete_var, standalone_mode, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlannerError as exc:
            from .messages import error_report

            for line in error_report(exc, message_lang()):
                click.echo(line, err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            from .publish import interrupted_message

            _echo_err(interrupted_message(message_lang()))  # true: says which folders, if any, were published
            ctx.exit(130)
        except BrokenPipeError:
            # Output piped into `head` and closed: not an error of the planner.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as exc:  # a bug, not bad input -- unless the machine said no (disk full, permission denied)
            from .debug import save_bundle
            from .publish import environment_fault

            fault = environment_fault(exc)
            if fault is not None:
                for line in fault.lines(message_lang()):
                    _echo_err(("错误：" if message_lang() == "zh" else "Error: ") + line)
                ctx.exit(EXIT_BAD_INPUT)

            path = save_bundle(exc, sys.argv)
            try:
                what = f"{type(exc).__name__}: {exc}"
            except Exception:  # noqa: BLE001  (an exception whose message itself fails)
                what = type(exc).__name__
            where = (f"with the debug bundle saved at {path}" if path is not None else
                     "(no debug bundle could be written: neither the current folder nor the temporary folder is writable)")
            _echo_err(f"Internal error ({what[:2000]}). This is a bug in the planner; please report it {where}")
            ctx.exit(EXIT_BUG)


def lang_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--lang zh|en` on a command: the language of its messages (same as `planner --lang`)."""
    return click.option("--lang", type=click.Choice(MESSAGE_LANGS), default=None, expose_value=False, is_eager=True,
                        callback=_set_lang, help="Language of messages (default: the locale; PLANNER_LANG).")(func)


@click.group(cls=PlannerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
@click.option("--lang", type=click.Choice(MESSAGE_LANGS), default=None, expose_value=False, is_eager=True,
              callback=_set_lang, help="Language of messages: zh or en (default: the locale, or PLANNER_LANG).")
def main() -> None:
    """Plan county medical communities (县域医共体) and city medical groups from provincial rules."""


# --- regions and data ------------------------------------------------------------------------


@main.command()
@click.option("--cities", is_flag=True, help="List cities too.")
def regions(cities: bool) -> None:
    """List the embedded regions (provinces, and with --cities their cities)."""
    from .regions import DEFAULT_REGION, catalog

    cat = catalog()
    plannable = cat[cat["plannable"]]
    click.echo(f"Embedded regions (default: {DEFAULT_REGION}); name or adcode works with --region:")
    click.echo(f"  全国 (000000): {plannable['province_code'].nunique()} provinces, {len(plannable):,} county-level units, "
               f"{int(plannable['n_townships'].sum()):,} townships, {int(plannable['population'].sum()):,} residents")
    for (pcode, pname), rows in plannable.groupby(["province_code", "province_name"], sort=True):
        click.echo(f"  {pname} ({pcode}): {rows['city_code'].nunique()} cities, {len(rows)} county-level units, "
                   f"{int(rows['n_townships'].sum()):,} townships, {int(rows['population'].sum()):,} residents")
        if cities:
            for (ccode, cname), crow in rows.groupby(["city_code", "city_name"], sort=True):
                click.echo(f"      {cname} ({ccode}): {len(crow)} county-level units, {int(crow['n_townships'].sum()):,} townships")
    excluded = cat[~cat["plannable"]]
    if len(excluded):
        click.echo(f"Not plannable ({len(excluded)} county-level units without township data or census population), e.g. "
                   + ", ".join(f"{r.name} ({r.adcode})" for r in excluded.head(5).itertuples()))


@main.command()
@click.argument("region")
@click.option("--facilities", "list_facilities", is_flag=True,
              help="List the facility ids, names, kinds and grades (hospitals and health centers; --all adds clinics).")
@click.option("--all", "all_facilities", is_flag=True, help="With --facilities: village clinics and stations too.")
@lang_option
def show(region: str, list_facilities: bool, all_facilities: bool) -> None:
    """Summarise a region: counties, townships, population, facilities by kind and grade (and their ids)."""
    from .i18n import Text
    from .regions import load

    r = load(region)
    c, t, v, f = r.counties, r.townships, r.villages, r.own_facilities
    _say(Text(f"{r.name}: {len(c):,} county-level units, {len(t):,} townships, {len(v):,} villages, "
              f"population {r.population:,} (2020 census)",
              f"{r.name}：{len(c):,} 个县级单位，{len(t):,} 个乡镇（街道），{len(v):,} 个村（居），"
              f"常住人口 {r.population:,}（2020 年普查）"))
    kinds = t["kind"].value_counts()
    listed = ", ".join(f"{k} {kinds.get(k, 0):,}" for k in ("街道", "镇", "乡", "其他") if kinds.get(k, 0))
    _say(Text("Townships by kind: " + listed, "乡镇（街道）类型：" + listed))
    town_pop = int(t["population"].sum())
    if town_pop != r.population:
        _say(Text(f"Township populations sum to {town_pop:,} ({town_pop - r.population:+,} against the census counties).",
                  f"乡镇人口合计 {town_pop:,}（与普查县人口相差 {town_pop - r.population:+,}）。"))
    reapp = c[(c["population_source"] != "census2020") & (c["population_note"].fillna("") != "")]
    for note, rows in reapp.groupby("population_note", sort=False):
        units = ", ".join(f"{r['name']} ({r['adcode']}) {r['population']:,}" for _, r in rows.iterrows())
        click.echo(f"  {units}: {note}")
    _say(Text(f"Facilities: {len(f):,}", f"机构：{len(f):,}"))
    table = r.facility_counts()
    if not table.empty:
        click.echo(table.to_string())
    ctx = r.facilities[r.facilities["context"].astype(bool)] if "context" in r.facilities.columns else r.facilities.iloc[0:0]
    if len(ctx):
        _say(Text(f"City hospitals in the cities' other counties (send city experts): {len(ctx)}",
                  f"所在市其他区县的市级医院（派出城市专家）：{len(ctx)} 家"))
    flags = r.estimated_flags()
    click.echo("Estimated or synthesized: " + ", ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in flags.items()))
    for note in r.notes:
        click.echo(f"Note: {note}")
    if not list_facilities:
        _say(Text(f"Facility ids: planner show {region} --facilities lists them; planner export {region} writes every "
                  f"layer as a roster template (XLSX with Chinese headers)",
                  f"机构编码：planner show {region} --facilities 列出；planner export {region} 将各图层导出为花名册模板"
                  f"（中文表头的 XLSX）"))
        return
    from .vocabulary import FacilityKind, Grade

    shown = r.facilities if all_facilities else r.facilities[~r.facilities["kind"].isin(["village_clinic",
                                                                                             "community_health_station"])]
    rows = [(fid, str(x["name"]), FacilityKind(x["kind"]).zh, Grade(int(x["grade"])).zh, r.county_name(str(x["county_code"])),
             "*" if bool(x.get("context", False)) else "") for fid, x in shown.sort_values(["county_code", "kind", "facility_id"]).iterrows()]
    width = max((len(row[0]) for row in rows), default=4)
    for fid, name, kind, grade, county, star in rows:
        click.echo(f"  {fid:<{width}}  {name}  {kind}  {grade}  {county}{'  ' + star if star else ''}")
    hidden = len(r.facilities) - len(shown)
    if hidden:
        _say(Text(f"{hidden:,} village clinics and stations not listed (--all lists them)",
                  f"另有 {hidden:,} 个村卫生室和社区卫生服务站未列出（--all 可列出）"))
    if len(ctx):
        _say(Text("* a hospital of the city in another county, kept because it sends city experts",
                  "* 该市其他区县的医院，因派出城市专家而保留"))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--crs", type=click.Choice(["auto", "wgs84", "cgcs2000", "gcj02"]), default="auto", show_default=True,
              help="Coordinate system of the files; gcj02 for Amap/Tencent coordinates (converted to WGS84).")
@click.option("--encoding", default=None, help="Text encoding of CSV/Shapefile (default: guess UTF-8, then GBK).")
@click.option("--region", "base", default=None,
              help="Check references against an embedded region (default: the one a roster template names).")
@click.option("--rules", "rules_name", default="zhejiang-2026", show_default=True,
              help="Rule file whose lead and expert rules the warnings check.")
@click.option("--strict", is_flag=True, help="Exit with status 2 when there are warnings.")
@lang_option
def validate(files: tuple[str, ...], crs: str, encoding: str | None, base: str | None, rules_name: str,
             strict: bool) -> None:
    """Check geodata files (a folder checks every file in it); list every problem with file, row and fix.

    Then warn about what the plan would feel: columns no layer reads, hospitals and health
    centers without staff, townships without a health center, counties without an eligible
    lead, cities without the hospitals that send city experts.
    """
    from . import io
    from ._errors import InputDataError
    from .i18n import Text
    from .regions import load
    from .roster import roster_warnings, template_region
    from .rulefile import load_rules
    from .validate import region_from_tables

    paths: list[Path] = []
    for f in files:
        p = Path(f)
        # Hidden files are not data: a folder the planner wrote carries its .planner-output.json marker.
        paths.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in io.SUPPORTED_SUFFIXES
                            and not q.name.startswith(".")) if p.is_dir() else [p])
    problems, tables = [], []
    for p in paths:
        try:
            tables.extend(io.read_tables(p, encoding=encoding, crs=crs))
        except InputDataError as exc:
            problems.extend(exc.problems)
    rule_set = load_rules(rules_name)
    named = template_region(tables) if base is None else None
    base_region = load(base or named) if (base or named) else None
    try:
        region = region_from_tables(tables, name=", ".join(files), base=base_region, partial=True)
    except InputDataError as exc:
        raise InputDataError(problems + exc.problems) from None
    if problems:
        raise InputDataError(problems)
    warnings = roster_warnings(region, tables, rule_set)
    suffix = Text(f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else "",
                  f"（{len(warnings)} 条警告）" if warnings else "")
    _say(Text(f"OK: {len(paths)} files, {len(region.counties):,} counties, {len(region.townships):,} townships, "
              f"{len(region.villages):,} villages, {len(region.facilities):,} facilities",
              f"通过：{len(paths)} 个文件，{len(region.counties):,} 个区县，{len(region.townships):,} 个乡镇（街道），"
              f"{len(region.villages):,} 个村（居），{len(region.facilities):,} 个机构") + suffix)
    if named:
        _say(Text(f"Note: checked against the embedded region {base_region.name} ({named}) that the template names "
                  f"(--region chooses another)",
                  f"说明：按模板所注明的内置地区 {base_region.name}（{named}）核对（可用 --region 指定其他地区）"))
    for note in region.notes:
        click.echo(f"Note: {note}")
    for w in warnings:
        _echo_err(Text(f"Warning: {w}", f"警告：{getattr(w, 'zh', w)}"))
    if warnings and strict:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.argument("region")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "gpkg"]), default="xlsx", show_default=True,
              help="One workbook, a folder of CSV files, or one GeoPackage.")
@click.option("--out", "out_path", type=click.Path(), default=None,
              help="File (or folder for csv) to write (default <region>_roster.xlsx / _roster/ / _roster.gpkg).")
@click.option("--layers", default="facilities,staff,townships,villages", show_default=True,
              help="Comma-separated layers to write.")
@lang_option
def export(region: str, fmt: str, out_path: str | None, layers: str) -> None:
    """Write a region's layers as a roster template with Chinese and English headers and a data dictionary.

    Facilities include the city's own hospitals in its other counties, which a county's roster
    needs for the city experts. Edit the template, then `planner validate FILE` and
    `planner plan --region REGION --facilities FILE`.
    """
    from .i18n import Text
    from .regions import load, resolve
    from .roster import default_path, export_region

    spec = resolve(region)
    reg = load(spec)
    target = Path(out_path) if out_path else default_path(reg.name, fmt)
    wanted = [x.strip() for x in layers.split(",") if x.strip()]
    written = export_region(reg, target, fmt, code=spec.code, layers=wanted)
    ctx = int(reg.facilities["context"].astype(bool).sum()) if "context" in reg.facilities.columns else 0
    counts = ", ".join(f"{name} {len(reg.staff if name == 'staff' else getattr(reg, name)):,}" for name in wanted)
    _say(Text(f"Roster template of {reg.name} written to {target} ({counts}; data dictionary and about sheets)",
              f"{reg.name} 的花名册模板已写入 {target}（{counts}；附数据字典和说明）"))
    if ctx:
        _say(Text(f"Facilities include {ctx} hospitals of the city in its other counties (they send the city experts)",
                  f"机构表包含该市其他区县的 {ctx} 家医院（派出城市专家）"))
    _say(Text(f"Next: edit it, then planner validate {written[0] if fmt != 'csv' else target} and "
              f"planner plan --region {spec.code} --facilities {target}",
              f"下一步：编辑后运行 planner validate {written[0] if fmt != 'csv' else target}，再运行 "
              f"planner plan --region {spec.code} --facilities {target}"))


# --- rules, planning, checking ---------------------------------------------------------------


@main.command()
@click.argument("rules", default="zhejiang-2026")
def rules(rules: str) -> None:
    """List the rules of a constraint file with their citations."""
    from .rulefile import load_rules

    from .i18n import tr

    from ._errors import RuleFileError, raise_if
    from .rulefile import catalog_reference_problems, rule_value_lines
    from .rules.base import bind_rules

    rs = load_rules(rules)
    raise_if(catalog_reference_problems(rs.rules, rs.path), RuleFileError)  # counties that exist nowhere
    click.echo(f"{rs.title or rs.name} ({rs.path})")
    for r in bind_rules(rs.rules):  # keys that follow another rule shown with its values
        state = "off " if not r.enabled else ("soft" if not r.hard else "hard")
        heading = r.heading()
        click.echo(f"  [{state}] {r.id} ({r.citation}) {r.kind}: {tr(heading, 'zh')}")
        if tr(heading, "zh") != tr(heading, "en"):
            click.echo(f"         {tr(heading, 'en')}")
        click.echo(f"         {'原文' if r.quote else '依据'}: {tr(r.clause(), 'zh')}")
        for key, why in r.assumption_notes().items():
            click.echo(f"         planner assumption `{key}`: {why}")
        if r.title:
            click.echo(f"         title (label only): {r.title}")
        for line in rule_value_lines(rs, r):
            click.echo(f"         {_tr(line)}")


def _progress(total: int, quiet: bool, label: str) -> tuple[Callable[[Any], None], Callable[[], None]]:
    if quiet or not sys.stderr.isatty():
        return (lambda _u: None), (lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   transient=True)
    bar.start()
    task = bar.add_task(label, total=total)
    return (lambda _u: bar.advance(task)), bar.stop


@main.command()
@click.option("--region", default=None, help="Embedded region: province, city or county name or adcode (default 浙江省).")
@click.option("--rules", "rules_name", default="zhejiang-2026", show_default=True, help="Constraint file or built-in name.")
@click.option("--backend", type=click.Choice(BACKENDS), default="cpsat", show_default=True)
@click.option("--time-limit-s", type=float, default=60.0, show_default=True, help="Solver time limit per county/city.")
@click.option("--previous", type=click.Path(exists=True), default=None, help="Earlier plan: warm start and diff.")
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Plan folder (default plans/<region>_<rules>).")
@click.option("--facilities", "user_files", multiple=True, type=click.Path(), help="Your own facility/staff files.")
@click.option("--od", "od_file", type=click.Path(), default=None, help="Origin-destination minutes (CSV: origin, destination, travel_min).")
@click.option("--roads", "road_file", type=click.Path(), default=None, help="Road lines (GeoPackage/GeoJSON) with speed_kph.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--executor", type=click.Choice(["process", "ray"]), default="process", show_default=True,
              help="Run subproblems in local processes or on a Ray cluster (pip install '.[ray]').")
@click.option("--address", default=None, help="Ray cluster address, e.g. 127.0.0.1:6379 (default: start a local one).")
@click.option("--cache-dir", default=".planner-cache", show_default=True, help="Reuse solved counties from here.")
@click.option("--no-cache", is_flag=True, help="Solve every county again.")
@click.option("--maps-dir", type=click.Path(), default=None,
              help="Where to draw the maps (default maps/<region>_<rules>).")
@click.option("--no-maps", is_flag=True, help="Write the plan and reports only.")
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True, help="Language the maps show first.")
@click.option("--offline", is_flag=True,
              help="Self-contained map pages (Leaflet inlined) for PCs without network; no base map, no network request.")
@click.option("--tiles", type=click.Choice(TILES), default="osm", show_default=True, help=TILES_HELP)
@click.option("--numbers", type=click.Choice(NUMBER_STYLES), default="grouped", show_default=True,
              help="Chinese number style on maps and summaries: grouped (1,859,390) or wan (185.9万).")
@click.option("--tianditu-key", default=None, envvar="TIANDITU_KEY", help="Tianditu browser key (or TIANDITU_KEY).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--strict", is_flag=True, help="Exit with status 2 when any hard rule is broken (shortfalls included).")
def plan(region: str | None, rules_name: str, backend: str, time_limit_s: float, previous: str | None,
         out_dir: str | None, user_files: tuple[str, ...], od_file: str | None, road_file: str | None, jobs: int,
         executor: str, address: str | None, cache_dir: str, no_cache: bool, maps_dir: str | None, no_maps: bool,
         lang: str, offline: bool, tiles: str, numbers: str, tianditu_key: str | None, quiet: bool, strict: bool) -> None:
    """Form communities and city grids for a region under a rule file, check them, and write the plan and maps."""
    ctx = click.get_current_context()
    if ctx.get_parameter_source("lang") is click.core.ParameterSource.COMMANDLINE:
        ctx.find_root().meta.setdefault("planner.lang", lang)  # `plan --lang en`: English maps, and messages
    from .i18n import Text
    from .mapstyle import MapOptions

    MapOptions(lang, offline, tiles, tianditu_key, numbers).checked()  # bad map options fail before the solve
    from .cache import UnitCache
    from .pipeline import assign_run_id, input_record, load_region, load_travel, run_plan, write_plan_folder
    from .planfile import read_plan
    from .planning import SolveOptions
    from .regions import DEFAULT_REGION
    from .rulefile import load_rules

    rs = load_rules(rules_name)
    from . import publish

    # Where the run will publish, refused now (before the solve) if it is not the planner's to replace.
    plan_slug = None if (out_dir and (maps_dir or no_maps)) else f"{_slug(_region_name(region or DEFAULT_REGION))}_{_slug(rs.name)}"
    plan_target = Path(out_dir) if out_dir else Path("plans") / str(plan_slug)
    maps_target = Path(maps_dir) if maps_dir else Path("maps") / str(plan_slug)
    protect = ([("the --facilities file", f) for f in user_files] + [("the --od file", f) for f in [od_file] if f]
               + [("the --roads file", f) for f in [road_file] if f] + [("the rule file", rs.path)]
               + ([] if no_cache else [("the cache folder --cache-dir", cache_dir)]))
    targets = [(plan_target, "plan", "--out")] + ([] if no_maps else [(maps_target, "maps", "--maps-dir")])
    publish.check_targets(targets, protect)
    if user_files:
        reg = load_region(region or DEFAULT_REGION, list(user_files))
    else:  # a county or city comes from its small extract in the cache folder (the province file is slow to scan)
        from .regions import load

        reg = load(region or DEFAULT_REGION, cache_dir=None if no_cache else cache_dir, jobs=jobs if executor == "process" else 1)
    travel = load_travel(rs, od_file, road_file, region=reg)
    prev = read_plan(previous) if previous else None
    units_hint = len(reg.counties)
    advance, stop = _progress(units_hint, quiet, f"Solving {reg.name}")
    try:
        result = run_plan(reg, rs, SolveOptions(backend=backend, time_limit_s=time_limit_s), travel=travel,
                          previous=prev, progress=advance, jobs=jobs, executor=executor, address=address,
                          cache=None if no_cache else UnitCache(cache_dir))
    finally:
        stop()
    for note in result.cache_notes:  # entries that failed their checks (solved again), a cache that cannot be written
        _echo_err(note if str(note).startswith("Warning: ") else Text("Warning: ", "警告：") + note)
    inputs = input_record(user_files, od_file, road_file)
    if inputs:  # so `planner map`, `check` and `dispatch` reload what the plan was made from
        result.plan.meta["inputs"] = inputs
    if not no_maps:  # the summary links to the maps, the maps back to the summary
        result.plan.meta["maps_href"] = os.path.relpath(maps_target / "index.html", plan_target)
    # Stage the plan folder and the maps completely, then publish the two together (planner.publish).
    rid = assign_run_id(result.plan)
    stages: list[Any] = []
    try:
        stages.append(publish.begin(plan_target, "plan", rid, "--out", protect=protect))
        with publish.writing(stages[0]):
            write_plan_folder(result, stages[0].work, jobs=jobs)
        result.out_dir = plan_target
        _say_plan(result, reg, rs, travel, plan_target, cache_dir, no_cache, prev)
        drawn = None
        if not no_maps:
            from .cli_maps import render_maps

            stages.append(publish.begin(maps_target, "maps", rid, "--maps-dir", protect=protect,
                                        others=[("--out", plan_target)]))
            with publish.writing(stages[1]):
                drawn = render_maps(result, stages[1].work, maps_target, plan_target, lang=lang, offline=offline,
                                    tiles=tiles, tianditu_key=tianditu_key, numbers=numbers, jobs=jobs,
                                    plan_files=stages[0].work)
        publish.publish(stages, say=_echo_err)
    except BaseException:
        publish.discard(stages)
        raise
    out = plan_target
    _say(Text(f"Plan written to {out}/ (run id {rid}; reports: report.csv, report.xlsx, summary.md, summary.html)",
              f"规划已写入 {out}/（运行编号 {rid}；报告：report.csv、report.xlsx、summary.md、summary.html）"))
    if drawn is not None:
        from .cli_maps import say_maps

        say_maps(drawn)
    failed = [st for st in result.all_statuses if st.violations and st.rule.hard]
    if failed and strict:
        sys.exit(EXIT_BAD_INPUT)


def _region_name(spec: str) -> str:
    """The name of an embedded region as the default output folders spell it."""
    from .regions import resolve

    try:
        return resolve(spec).name
    except Exception:  # an unknown region fails with its own message when it is loaded
        return spec


def _say_plan(result: Any, reg: Any, rs: Any, travel: Any, out: Path, cache_dir: str, no_cache: bool, prev: Any) -> None:
    """The run's summary lines: units and statuses, cache, travel, policy, services, checker, diff."""
    from .i18n import Text

    s = result.summary()
    status = ", ".join(f"{k} {v}" for k, v in sorted(s["status"].items()))
    _say(Text(f"{reg.name} under {rs.name}: {s['units']} units ({status}), {s['communities']} communities, "
              f"population {s['population']:,}",
              f"{reg.name}（{rs.name}）：{s['units']} 个单元（{status}），{s['communities']} 个医共体/网格，"
              f"常住人口 {s['population']:,}"))
    reused = sum(1 for u in result.plan.units.values() if u.reused)
    if not no_cache:
        _say(Text(f"Solved {s['units'] - reused} units, reused {reused} from the cache ({cache_dir})",
                  f"求解 {s['units'] - reused} 个单元，复用缓存中的 {reused} 个（{cache_dir}）"))
    _say(Text(f"Travel to lead: mean {s['mean_travel_min']:.1f} min, max {s['max_travel_min']:.1f} min "
              f"({travel.describe()})",
              f"到牵头医院时间：平均 {s['mean_travel_min']:.1f} 分钟，最长 {s['max_travel_min']:.1f} 分钟（{travel.describe()}）"))
    _echo_policy(result)
    for u in result.plan.units.values():
        for line in u.explanation:
            _say(line)
        if u.status is not None and u.status.value == "FEASIBLE":
            click.echo(f"{u.name}: time limit reached; best plan kept with gap {u.gap:.2%}")
    _echo_services(result)
    failed = [st for st in result.all_statuses if st.violations and st.rule.hard]
    soft = [st for st in result.all_statuses if st.violations and not st.rule.hard]
    hard_total = sum(1 for st in result.all_statuses if st.rule.hard)
    n_failed, n_soft = sum(len(st.violations) for st in failed), sum(len(st.violations) for st in soft)
    _say(Text(f"Checker: {hard_total - len(failed)}/{hard_total} hard rules hold"
              + (f"; {n_failed} violations (see {out}/check.txt)" if failed else "")
              + (f"; {len(soft)} soft rules penalised ({n_soft} violations)" if soft else ""),
              f"核查：{hard_total} 条硬性规则中 {hard_total - len(failed)} 条满足"
              + (f"；{n_failed} 处违反（见 {out}/check.txt）" if failed else "")
              + (f"；{len(soft)} 条软性规则被罚分（{n_soft} 处违反）" if soft else "")))
    if prev is not None:
        from .diff import diff_lines

        for line in diff_lines(prev, result.plan, reg):
            click.echo(line)


def _plan_context(plan_path: str, rules_name: str | None) -> tuple[Any, Any, Any, Any]:
    """A saved plan with its rules, and the region and travel model it was made from."""
    from .pipeline import plan_inputs
    from .planfile import read_plan
    from .rulefile import load_rules

    plan = read_plan(plan_path)
    rules = load_rules(rules_name or str(plan.meta.get("rules_path") or plan.rules_name))
    region, travel = plan_inputs(plan, rules)
    return plan, region, rules, travel


def _write_table(frame: Any, out: str) -> None:
    from . import io
    from .publish import check_file_target

    check_file_target(out)

    if out.lower().endswith(".xlsx"):
        io.write_xlsx({"table": frame}, out)
    else:
        io.write_csv(frame, out)


@main.command()
@click.argument("plan_path", type=click.Path(exists=True))
@click.option("--rules", "rules_name", default=None, help="Rule file (default: the one the plan was made with).")
@click.option("--out", "out_file", default="roster.csv", show_default=True, help="Roster file (.csv or .xlsx).")
@click.option("--backend", type=click.Choice(BACKENDS), default="highs", show_default=True)
def dispatch(plan_path: str, rules_name: str | None, out_file: str, backend: str) -> None:
    """Assign physicians to a plan's township health centers and city experts to its communities."""
    from .check import check_dispatch, compliance_lines
    from .dispatch import dispatch_region, roster_frame

    plan, region, rules, travel = _plan_context(plan_path, rules_name)
    from .publish import check_file_target

    inputs = [(f"the plan's {key} input file", e["path"]) for key, es in (plan.meta.get("inputs") or {}).items() for e in es]
    check_file_target(out_file, "--out", [*inputs, ("the rule file", rules.path)])
    results = dispatch_region(region, plan, rules.rules, travel, backend=backend)
    if not results:
        raise click.ClickException(f"{rules.path} has no enabled attending_dispatch or expert_dispatch rule")
    _write_table(roster_frame(results, region), out_file)
    for d in results:
        click.echo(f"{d.city_name}: {d.status.value}, {sum(r.count for r in d.rows):,} physicians")
        for line in d.shortfalls + d.relaxations:
            click.echo(f"  {line}")
    for line in compliance_lines(check_dispatch(region, plan, [r for d in results for r in d.rows], rules.rules)):
        click.echo(line)
    click.echo(f"Roster written to {out_file}")


@main.command()
@click.argument("plan_path", type=click.Path(exists=True, file_okay=False))
@click.option("--rules", "rules_name", default=None, help="Rule file (default: the one the plan was made with).")
@click.option("--out", "out_dir", default="villages", show_default=True,
              help="Folder for village_modes.csv, routes.csv, timetable.csv, ... and villages.xlsx.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes.")
def villages(plan_path: str, rules_name: str | None, out_dir: str, jobs: int) -> None:
    """Every village of a plan served: service modes, weekly circuit routes and the remote-consultation timetable."""
    from ._errors import InputDataError, Problem
    from .check import compliance_lines
    from .i18n import Text
    from .planfile import publish_dir
    from .villages.check import check_villages
    from .villages.outputs import summary_lines, write_villages
    from .villages.run import run_villages

    from .villages.outputs import FILES

    target = Path(out_dir)
    ours = set(FILES.values()) | {"villages.xlsx"}
    if target.exists() and not target.is_symlink() and (not target.is_dir() or any(
            p.name not in ours for p in target.iterdir())):
        raise InputDataError(Problem(out_dir, "", "exists and holds files the planner did not write (--out)",
                                     "give a new folder: the planner replaces only its own output"))
    plan, region, rules, travel = _plan_context(plan_path, rules_name)
    result = run_villages(region, plan, list(rules.rules), travel, jobs=jobs)
    if result is None:
        raise click.ClickException(f"{rules.path} has no enabled circuit_coverage or remote_consultation rule")
    statuses = check_villages(region, plan, result.tables, list(rules.rules), travel)
    with publish_dir(Path(out_dir)) as work:
        write_villages(result, work)
    for line in summary_lines(result.tables):
        _say(line)
    for line in compliance_lines(statuses):
        click.echo(line)
    _say(Text(f"Village tables written to {out_dir}/", f"行政村服务表已写入 {out_dir}/"))
    if any(s.violations and s.rule.hard for s in statuses):
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.option("--region", default=None, help="Embedded region (default 浙江省).")
@click.option("--rules", "rules_name", default="zhejiang-2026", show_default=True)
@click.option("--out", "out_file", default="dialysis_sites.csv", show_default=True, help="Site table (.csv or .xlsx).")
@click.option("--backend", type=click.Choice(BACKENDS), default="highs", show_default=True)
def dialysis(region: str | None, rules_name: str, out_file: str, backend: str) -> None:
    """Choose dialysis sites at central township health centers of large counties."""
    from .check import check_dialysis, compliance_lines
    from .dialysis import coverage_frame, site_region, sites_frame
    from .regions import DEFAULT_REGION, load
    from .rulefile import load_rules
    from .travel import TravelModel

    from .publish import check_file_target

    check_file_target(out_file)  # before the slow part
    rs = load_rules(rules_name)
    reg = load(region or DEFAULT_REGION)
    results = site_region(reg, rs.rules, TravelModel(rs.travel.detour_factor, rs.travel.speed_kph), backend=backend)
    if not results:
        raise click.ClickException(f"{rs.path} has no enabled dialysis_siting rule")
    _write_table(sites_frame(results, reg), out_file)
    cover = coverage_frame(results)
    eligible = cover[cover["eligible"]]
    click.echo(f"{reg.name}: {len(eligible)} of {len(cover)} counties eligible, {int(cover['new_sites'].sum())} new sites; "
               f"residents within reach {int(cover['covered_before'].sum()):,} -> {int(cover['covered_after'].sum()):,}")
    for line in compliance_lines(check_dialysis(reg, [(d.county, f) for d in results for f in d.sites], rs.rules)):
        click.echo(line)
    click.echo(f"Sites written to {out_file}")


def _echo_policy(result: Any) -> None:
    """How the rules were read: communities led under an exception, districts in city grids."""
    meta = result.plan.meta
    names = result.region.facilities["name"]
    units = {u.id: u.name for u in result.units}
    exceptions = meta.get("lead_exceptions") or []
    if exceptions:
        click.echo(f"Lead exceptions: {len(exceptions)} communities led under an exception of a lead rule "
                   "(communities.csv lead_exception, plan.json lead_exceptions):")
        for e in exceptions:
            click.echo(f"  {units.get(e['unit'], e['unit'])}: {names.get(e['lead'], e['lead'])} leads under "
                       f"{e['rule']}:{e['exception']} ({e['citation']}), {e['condition']}")
    districts = meta.get("city_grid_districts") or []
    if districts:
        inside = [d for d in districts if d["in_city_grid"]]
        cities = len({d["city_code"] for d in inside})
        click.echo(f"City grids: {len(inside)} districts in the grid areas of {cities} cities, "
                   f"{len(districts) - len(inside)} county-level units keep county communities (districts.csv)")


def _echo_services(result: Any) -> None:
    from .i18n import Text

    s = result.summary()
    if result.dispatch:
        status = {}
        for d in result.dispatch:
            status[d.status.value] = status.get(d.status.value, 0) + 1
        shown = ", ".join(f"{k} {v}" for k, v in sorted(status.items()))
        _say(Text(f"Dispatch: {s['physicians_dispatched']:,} physicians to centers, {s['experts_dispatched']:,} city experts "
                  f"to communities ({shown} cities)",
                  f"派驻：向卫生院派出医师 {s['physicians_dispatched']:,} 名，向医共体派出城市专家 {s['experts_dispatched']:,} 名"
                  f"（{shown} 个市）"))
        for d in result.dispatch:
            for line in d.shortfalls:
                _say(Text("  Shortfall: ", "  缺口：") + line)
            for line in d.relaxations:
                _say(Text("  Would close it? ", "  如何补足？") + line)
    if result.dialysis:
        eligible = sum(1 for d in result.dialysis if d.eligible)
        _say(Text(f"Dialysis: {s['dialysis_sites']} new sites in {eligible} eligible counties; residents within reach "
                  f"{s['dialysis_covered_before']:,} -> {s['dialysis_covered_after']:,}",
                  f"血透：{eligible} 个符合条件的县新增 {s['dialysis_sites']} 个血透点；可及人口 "
                  f"{s['dialysis_covered_before']:,} -> {s['dialysis_covered_after']:,}"))
    if result.capacity is not None and len(result.capacity):
        flagged = int((result.capacity["flag"] != "").sum())
        _say(Text(f"Reserved capacity: {len(result.capacity)} grid leads, {flagged} flagged",
                  f"预留资源：{len(result.capacity)} 家网格牵头医院，{flagged} 家需关注"))
    if getattr(result, "access", None) is not None:
        from .access.outputs import summary_lines

        for line in summary_lines(result.access.tables):
            _say(line)
    if getattr(result, "villages", None) is not None:
        from .villages.outputs import summary_lines as village_lines

        for line in village_lines(result.villages.tables):
            _say(line)


@main.command()
@click.argument("plan_path", type=click.Path(exists=True))
@click.option("--rules", "rules_name", default=None,
              help="Rule file (default: the one a plan folder records; zhejiang-2026 for a layout).")
@click.option("--region", default=None, help="Region of a hand-made layout (a plan folder knows its own).")
def check(plan_path: str, rules_name: str | None, region: str | None) -> None:
    """Re-check a plan as written (ours, or a layout CSV with township_code and lead_id) against every rule,
    and every table of a plan folder against its plan.json."""
    from .check import compliance_lines
    from .pipeline import check_file

    plan, _units, statuses = check_file(plan_path, rules_name, region)
    for note in plan.meta.pop("check_notes", []):
        click.echo(f"Note: {note}")
    for line in compliance_lines(statuses):
        click.echo(line)
    broken = sum(len(s.violations) for s in statuses if s.rule.hard)
    click.echo(f"{broken} hard-rule violations" if broken else "All rules hold.")
    if broken:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.argument("plan_path", type=click.Path(exists=True, file_okay=False))
@click.option("--county", "counties", multiple=True, help="County name or adcode: its coverage and upgrade order (repeatable).")
def access(plan_path: str, counties: tuple[str, ...]) -> None:
    """Access figures of a plan folder: emergency-center coverage per county and the covering model's upgrades."""
    from .access.outputs import county_lines, read_access, summary_lines

    tables = read_access(plan_path)
    if not tables:
        raise click.ClickException(f"{plan_path} has no access tables (its rule file has no access rules)")
    for line in summary_lines(tables):
        click.echo(line)
    cov = tables.get("emergency_coverage")
    names = {} if cov is None else dict(zip(cov["county"].astype(str), cov["county_name"].astype(str)))
    wanted = list(counties) or sorted(names)
    for spec in wanted:
        code = spec if spec in names else next((c for c, n in names.items() if n == spec), None)
        if code is None:
            raise click.ClickException(f"no county {spec!r} in {plan_path}; give a county name or adcode of the plan")
        click.echo(f"{names[code]} ({code}):")
        for line in county_lines(tables, code):
            click.echo(line)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: only this machine; anything else lets others on the network in).")
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--save-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="The folder edited rule files are saved in (and offered from); nothing is written elsewhere.")
@click.option("--rules", "rule_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Your own rule files to offer besides the shipped ones and those in --save-dir.")
@click.option("--region", default="义乌市", show_default=True, help="Region the page opens with.")
@click.option("--tiles", type=click.Choice(TILES), default="osm", show_default=True, help="Base map of the map pages.")
@lang_option
def serve(host: str, port: int, save_dir: str, rule_files: tuple[str, ...], region: str, tiles: str) -> None:
    """Open the local review page: edit rule values, re-solve a county warm, see map, checks and diff; save the file.

    Needs the serve extra: pip install ".[serve]".
    """
    from .i18n import Text

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise click.ClickException('planner serve needs the serve extra: pip install "medcommunity-planner[serve]" '
                                   '(or pip install ".[serve]" in a checkout)') from None
    from .serve import Server, run

    folder = Path(save_dir)
    if folder.exists() and not folder.is_dir():
        raise click.ClickException(f"--save-dir {save_dir} is not a folder")
    server = Server(folder, tiles=tiles, rule_files=rule_files, region=region)
    if host not in ("127.0.0.1", "localhost", "::1"):
        _echo_err(Text(f"Warning: listening on {host}: anyone who can reach this machine can use the page",
                       f"警告：正在监听 {host}，能访问本机的任何人都可以使用该页面"))

    def ready(_uv: object) -> None:
        shown = f"[{host}]" if ":" in host else host
        _say(Text(f"Review page: http://{shown}:{port}/ (edited rule files are saved in {server.save_dir}; Ctrl-C stops)",
                  f"评审页面：http://{shown}:{port}/（修改后的规则文件保存在 {server.save_dir}；按 Ctrl-C 停止）"))

    run(server, host=host, port=port, ready=ready)


@main.group()
def warm() -> None:
    """A warm planner process (opt-in): while it runs, your commands start in it and skip the imports (~1 s)."""


@warm.command("start")
@click.option("--foreground", is_flag=True, help="Run in this terminal until Ctrl-C (default: in the background).")
@click.option("--idle-timeout-s", type=float, default=8 * 3600.0, show_default=True,
              help="Exit after this long without a command (0: never).")
@lang_option
def warm_start(foreground: bool, idle_timeout_s: float) -> None:
    """Start the warm process for this planner installation and user."""
    from .i18n import Text
    from .warm import client

    if idle_timeout_s < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--idle-timeout-s")
    cmd = [sys.executable, "-P", "-m", "planner.warm.server", "--idle-timeout-s", str(idle_timeout_s)]
    # -P and the root folder: nothing in the caller's folder shadows a module. A checkout run without
    # installing (found through the current folder) goes on the path instead, so the warm process imports
    # this planner; an installed one is found as usual (a site folder must not come before the standard library).
    import site

    env = dict(os.environ)
    home = str(client.PACKAGE_DIR.parent)
    sites = {*site.getsitepackages(), site.getusersitepackages()}
    if home not in sites:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (home, os.environ.get("PYTHONPATH", "")) if p)
    if foreground:
        os.execve(sys.executable, cmd, env)
    status = _warm_status()
    if status is not None:
        _say(Text(f"A warm planner process is already running (pid {status['pid']}).",
                  f"常驻规划进程已在运行（进程号 {status['pid']}）。"))
        return
    import subprocess
    import time

    folder = client.warm_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not client.safe_dir(folder):
        raise click.ClickException(_tr(Text(f"{folder} must be a folder of yours closed to others (chmod 700 it, or "
                                            "set PLANNER_WARM_DIR to another folder)",
                                            f"{folder} 必须是您本人的、他人无法进入的文件夹（对其执行 chmod 700，"
                                            "或把 PLANNER_WARM_DIR 设为其他文件夹）")))
    log = client.socket_path().with_suffix(".log")
    with open(log, "ab") as out:  # appended: never overwrites a file that was there
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd="/", env=env,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + 300.0  # the imports take seconds on a loaded machine
    while time.monotonic() < deadline:
        status = _warm_status()
        if status is not None and status["pid"] == proc.pid:
            _say(Text(f"Warm planner process started (pid {proc.pid}): planner commands of this installation now "
                      f"run in it. `planner warm stop` ends it; PLANNER_WARM=0 bypasses it.",
                      f"常驻规划进程已启动（进程号 {proc.pid}）：此安装的 planner 命令将在其中运行。"
                      f"`planner warm stop` 结束它；PLANNER_WARM=0 可绕过它。"))
            return
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise click.ClickException(_tr(Text(f"the warm process did not start: {tail[0]}",
                                                f"常驻进程未能启动：{tail[0]}")))
        time.sleep(0.1)
    proc.terminate()
    raise click.ClickException(_tr(Text("the warm process did not answer within 300 s", "常驻进程 300 秒内没有响应")))


def _warm_status() -> dict | None:
    """The running warm process's status (pid, commands served, ...), or None."""
    from .warm import client

    sock = client.connect(timeout_s=5.0)
    if sock is None:
        return None
    with sock:
        try:
            client.send_message(sock, {"op": "status"})
            status, _ = client.recv_message(sock)
        except (OSError, ValueError):
            return None
    return status


@warm.command("status")
@lang_option
def warm_status() -> None:
    """Say whether a warm process runs, and how many commands it has run."""
    from .i18n import Text
    from .warm import client

    status = _warm_status()
    if status is None:
        _say(Text("No warm planner process is running.", "没有正在运行的常驻规划进程。"))
        sys.exit(1)
    stale = status.get("key") != client.code_key()
    _say(Text(f"Warm planner process running (pid {status['pid']}): {status['served']} commands run, "
              f"{status['running']} running" + ("; the planner's code changed since it started: it will exit at the "
                                                 "next command" if stale else ""),
              f"常驻规划进程正在运行（进程号 {status['pid']}）：已运行 {status['served']} 条命令，{status['running']} 条运行中"
              + ("；启动后规划程序代码已变更：下一条命令时它将退出" if stale else "")))


@warm.command("stop")
@lang_option
def warm_stop() -> None:
    """End the warm process (commands running in it go on to their end)."""
    from .i18n import Text
    from .warm import client

    sock = client.connect(timeout_s=5.0)
    if sock is None:
        _say(Text("No warm planner process is running.", "没有正在运行的常驻规划进程。"))
        return
    with sock:
        try:
            client.send_message(sock, {"op": "stop"})
            done, _ = client.recv_message(sock)
        except (OSError, ValueError):
            done = None
    if done and "stopping" in done:
        import time

        deadline = time.monotonic() + 10.0
        while client.socket_path().exists() and time.monotonic() < deadline:  # gone once it has stopped listening
            time.sleep(0.05)
        _say(Text(f"Warm planner process {done['stopping']} stopped.", f"常驻规划进程 {done['stopping']} 已停止。"))
    else:
        raise click.ClickException(_tr(Text("the warm process did not answer", "常驻进程没有响应")))


from .cli_maps import diff_command, map_command, report_command  # noqa: E402  (the map commands build on this module's group)

main.add_command(map_command)
main.add_command(diff_command)
main.add_command(report_command)


if __name__ == "__main__":  # pragma: no cover
    main()
    os._exit(0)
