"""The `planner map` and `planner diff` commands: draw a plan folder's maps, and map what moved between two plans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from .mapstyle import LANGS, TILES


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


_OPTIONS = [
    click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True,
                 help="Language shown first (each page has a button to switch)."),
    click.option("--offline", is_flag=True,
                 help="Make every page one self-contained HTML file (Leaflet and all scripts inlined) for PCs without network."),
    click.option("--tiles", type=click.Choice(TILES), default="osm", show_default=True,
                 help="Base map: none, OpenStreetMap, Tianditu (needs --tianditu-key) or Amap (overlays shifted to GCJ-02)."),
    click.option("--tianditu-key", default=None, envvar="TIANDITU_KEY", help="Tianditu browser key (or TIANDITU_KEY)."),
]


def _map_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add the drawing options shared by `map` and `diff`."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


@click.command("map")
@click.argument("plan_path", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Maps folder (default maps/<plan folder name>).")
@_map_options
def map_command(plan_path: str, out_dir: str | None, lang: str, offline: bool, tiles: str, tianditu_key: str | None) -> None:
    """Draw the maps of a plan folder: a region overview and one page per county or city grid."""
    from .planfile import publish_dir
    from .render import render_plan_dir

    target = Path(out_dir) if out_dir else Path("maps") / Path(plan_path).absolute().name  # the link, not its target
    with publish_dir(target) as work:
        paths = render_plan_dir(plan_path, work, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key)
    paths = [target / p.relative_to(work) for p in paths]
    pages = [p for p in paths if p.suffix == ".html"]
    total = sum(p.stat().st_size for p in paths)
    click.echo(f"Overview: {pages[0]} ({_size(pages[0])}); {len(pages) - 1} county and city pages; "
               f"{len(paths)} files, {total / 1e6:.1f} MB" + (" (self-contained, offline)" if offline else ""))


@click.command("diff")
@click.argument("before", type=click.Path(exists=True, file_okay=False))
@click.argument("after", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="Diff map (default AFTER/maps/diff.html).")
@_map_options
def diff_command(before: str, after: str, out_file: str | None, lang: str, offline: bool, tiles: str,
                 tianditu_key: str | None) -> None:
    """Compare two plan folders of one region: list what moved and map it."""
    from .render import diff_summary, render_diff

    for line in diff_summary(before, after):
        click.echo(line)
    target = Path(out_file) if out_file else Path(after) / "maps" / "diff.html"
    path = render_diff(before, after, target, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key)
    click.echo(f"Diff map written to {path} ({_size(path)})")
