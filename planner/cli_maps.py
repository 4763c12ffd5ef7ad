"""The `planner map`, `planner diff` and `planner report` commands: draw a plan folder's maps, map what moved
between two plans, and write the summaries and one-page PDF sheets."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .i18n import tr
from .mapstyle import LANGS, NUMBER_STYLES, TILES, TILES_HELP


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


_OPTIONS = [
    click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True,
                 help="Language shown first (each page has a button to switch)."),
    click.option("--offline", is_flag=True,
                 help="Make every page one self-contained HTML file (Leaflet and all scripts inlined) for PCs without "
                      "network: no base map and no network request at all; the pages say the base map is not loaded."),
    click.option("--tiles", type=click.Choice(TILES), default="osm", show_default=True, help=TILES_HELP),
    click.option("--tianditu-key", default=None, envvar="TIANDITU_KEY", help="Tianditu browser key (or TIANDITU_KEY)."),
    click.option("--numbers", type=click.Choice(NUMBER_STYLES), default="grouped", show_default=True,
                 help="Chinese number style: grouped (1,859,390) or wan (185.9万)."),
]


def _map_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add the drawing options shared by `map`, `diff` and `plan`."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def _summary_link(maps_dir: Path, plan_dir: Path, plan_files: Path | None = None) -> dict[str, str]:
    """The maps' link to the plan's summary page (`plan_files`: where the plan folder's files are now, if staged)."""
    summary = (plan_files or plan_dir) / "summary.html"
    return {"summary": os.path.relpath(plan_dir / "summary.html", maps_dir)} if summary.exists() else {}


def plan_run_id(result: Any) -> str:
    """The run id of the plan the maps show (plan.json records it; an older plan gets the digest of its plan file)."""
    from .pipeline import assign_run_id

    return str(result.plan.meta.get("run_id") or assign_run_id(result.plan))


def render_maps(result: Any, work: Path, target: Path, plan_dir: Path, *, lang: str, offline: bool, tiles: str,
                tianditu_key: str | None, numbers: str, jobs: int, notes: list[str] | None = None,
                plan_files: Path | None = None) -> dict[str, Any]:
    """Draw a run's maps into the staged folder `work` (to be published at `target`), reusing the pages of the
    maps published there whose plan is unchanged. Returns what say_maps prints."""
    from .render import render_run

    previous = target.resolve() if target.exists() else None
    stats: dict[str, int] = {}
    t0 = time.perf_counter()
    paths = render_run(result, work, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key, jobs=jobs,
                       numbers=numbers, reuse=previous, links=_summary_link(target, plan_dir, plan_files), stats=stats,
                       notes=notes or ())
    return {"paths": [target / p.relative_to(work) for p in paths], "stats": stats,
            "seconds": time.perf_counter() - t0, "target": target, "offline": offline}


def say_maps(drawn: dict[str, Any]) -> list[Path]:
    """Print where the published maps are and how many pages were drawn; return their paths."""
    from .cli import _say
    from .i18n import Text

    target, paths, stats, seconds, offline = (drawn[k] for k in ("target", "paths", "stats", "seconds", "offline"))
    pages = [p for p in paths if p.suffix == ".html"]
    total = sum(p.stat().st_size for p in paths if p.exists())
    _say(Text(f"Maps: {target / 'index.html'} and {len(pages) - 1} county/city pages "
              f"({stats.get('drawn', 0)} drawn, {stats.get('reused', 0)} unchanged and reused; {seconds:.1f} s; "
              f"{total / 1e6:.1f} MB)" + (" (self-contained, offline: no base map)" if offline else ""),
              f"地图：{target / 'index.html'} 及 {len(pages) - 1} 个县（市）/网格页面"
              f"（新绘 {stats.get('drawn', 0)} 个，未变复用 {stats.get('reused', 0)} 个；{seconds:.1f} 秒；"
              f"{total / 1e6:.1f} MB）" + ("（离线独立页面，无底图）" if offline else "")))
    return paths


def draw_run(result: Any, target: Path, plan_dir: Path, *, lang: str, offline: bool, tiles: str,
             tianditu_key: str | None, numbers: str, jobs: int, notes: list[str] | None = None,
             from_folder: bool = False) -> list[Path]:
    """Draw a run's maps into `target`, published in one step, reusing the pages of the maps already there
    whose plan is unchanged; print where they are and how many were drawn.

    `target` must be new, empty or a maps folder the planner wrote, and neither the plan
    folder nor inside it (or around it); its marker carries the plan's run id.
    """
    from . import publish
    from .cli import _echo_err

    stage = publish.begin(target, "maps", plan_run_id(result), "--out", others=[("the plan folder", plan_dir)])
    try:
        with publish.writing(stage):
            drawn = render_maps(result, stage.work, target, plan_dir, lang=lang, offline=offline, tiles=tiles,
                                tianditu_key=tianditu_key, numbers=numbers, jobs=jobs, notes=notes)
        publish.publish([stage], say=_echo_err)
    except BaseException:
        publish.discard([stage])
        raise
    return say_maps(drawn)


@click.command("map")
@click.argument("plan_path", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Maps folder (default maps/<plan folder name>).")
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes for the county pages.")
@_map_options
def map_command(plan_path: str, out_dir: str | None, jobs: int, lang: str, offline: bool, tiles: str,
                tianditu_key: str | None, numbers: str) -> None:
    """Draw the maps of a plan folder: a region overview and one page per county or city grid.

    Pages whose plan did not change since the maps already in the folder are reused, not drawn
    again. Base maps: none (offline), OpenStreetMap, 天地图 Tianditu (official use in China;
    free key) or 高德 Amap (no key; overlays shifted to GCJ-02).
    """
    from .mapstyle import MapOptions
    from .render import load_run

    MapOptions(lang, offline, tiles, tianditu_key, numbers).checked()
    target = Path(out_dir) if out_dir else Path("maps") / Path(plan_path).absolute().name  # the link, not its target
    from .publish import check_targets

    check_targets([(target, "maps", "--out")], others=[("the plan folder", plan_path)])  # before the slow part
    result, notes = load_run(plan_path)
    draw_run(result, target, Path(plan_path), lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key,
             numbers=numbers, jobs=jobs, notes=notes)


@click.command("diff")
@click.argument("before", type=click.Path(exists=True, file_okay=False))
@click.argument("after", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="Diff map (default AFTER/maps/diff.html).")
@_map_options
def diff_command(before: str, after: str, out_file: str | None, lang: str, offline: bool, tiles: str,
                 tianditu_key: str | None, numbers: str) -> None:
    """Compare two plan folders of one region: list what moved and why (the rule changes), and map it."""
    from .render import diff_summary, render_diff

    for line in diff_summary(before, after):
        click.echo(tr(line, lang))
    target = Path(out_file) if out_file else Path(after) / "maps" / "diff.html"
    from .publish import check_file_target

    check_file_target(target)
    path = render_diff(before, after, target, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key,
                       numbers=numbers)
    click.echo(("对比图：" if lang == "zh" else "Diff map written to ") + f"{path} ({_size(path)})")


@click.command("report")
@click.argument("plan_path", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Report folder (default reports/<plan folder name>).")
@click.option("--pdf", "pdf", is_flag=True, help="Also print a one-page PDF sheet per county or city grid and one for "
              "the region (headless Chromium; PLANNER_CHROMIUM or --chromium to choose it).")
@click.option("--units", default=None, help="Only these units' sheets (comma-separated adcodes or city:<code>).")
@click.option("--chromium", default=None, help="Chromium or Chrome executable (default: PLANNER_CHROMIUM, then chromium on PATH).")
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True, help="Language of the reports and sheets.")
@click.option("--numbers", type=click.Choice(NUMBER_STYLES), default="grouped", show_default=True,
              help="Chinese number style: grouped (1,859,390) or wan (185.9万).")
def report_command(plan_path: str, out_dir: str | None, pdf: bool, units: str | None, chromium: str | None, lang: str,
                   numbers: str) -> None:
    """Write a plan's summary (HTML, Markdown), tables (CSV, Excel) and, with --pdf, printable one-page sheets:
    map, legend, key figures, rule results, shortfalls, date, version, rule file and data notice."""
    from .planfile import publish_dir
    from .render import load_run
    from .report import write_reports
    from .sheet import write_sheets

    target = Path(out_dir) if out_dir else Path("reports") / Path(plan_path).absolute().name
    from .publish import check_targets

    check_targets([(target, "reports", "--out")], others=[("the plan folder", plan_path)])
    result, _notes = load_run(plan_path)
    chosen = [u.strip() for u in units.split(",")] if units else None
    t0 = time.perf_counter()
    with publish_dir(target, "reports", plan_run_id(result), others=(("the plan folder", plan_path),)) as work:
        written = write_reports(result, work, lang=lang, numbers=numbers)
        if pdf:
            written += write_sheets(result, work, lang=lang, numbers=numbers, units=chosen, chromium=chromium)
    pdfs = [p for p in written if p.suffix == ".pdf"]
    click.echo(f"Reports: {target}/ (summary.html, summary.md, report.csv, report.xlsx"
               + (f"; {len(pdfs)} PDF sheets in {target / 'pdf'}" if pdf else "") + f"; {time.perf_counter() - t0:.1f} s)")
