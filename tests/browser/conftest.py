"""Headless Chromium (Debian's package, driven by Playwright) and maps rendered once per session."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = "<img src=x onerror=alert(1)>"
TILE = re.compile(r"^https?://")


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session; every test opens its own fresh context (no shared storage)."""
    import chromium

    found = chromium.find()  # tests/conftest.py installed it if it could
    if found is None:
        pytest.fail("Debian's Chromium is missing: the map tests need it. Install it with "
                    f"`{chromium.INSTALL}` (the test run does that when it may).", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the map tests need the playwright package: pip install \".[test]\"", pytrace=False)
    with sync_playwright() as p:
        # Playwright starts Chromium with a fresh temporary user-data-dir of its own.
        b = p.chromium.launch(executable_path=str(found), headless=True, args=ARGS)
        yield b
        b.close()


@dataclass
class Loaded:
    """A page opened in Chromium, with what it reported."""

    page: Any
    errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def count(self, selector: str) -> int:
        return int(self.page.evaluate("s => document.querySelectorAll(s).length", selector))

    def layer_names(self) -> list[str]:
        """The overlay names of the layer control in the language shown (the control may be folded)."""
        return [x.strip() for x in self.page.evaluate("""() => Array.from(
            document.querySelectorAll('.leaflet-control-layers-overlays label')).map(l => {
                const lang = document.documentElement.classList.contains('lang-en') ? 'en' : 'zh';
                return Array.from(l.querySelectorAll('span.' + lang)).map(s => s.textContent).join('');
            })""")]


@pytest.fixture
def open_map(browser):
    """Open a map file in a fresh context; `block_network` aborts every http(s) request and records it."""
    contexts = []

    def open_(path: Path, *, block_network: bool = False) -> Loaded:
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        contexts.append(ctx)
        page = ctx.new_page()
        loaded = Loaded(page)
        if block_network:
            def refuse(route: Any) -> None:
                loaded.network.append(route.request.url)
                route.abort()

            ctx.route(TILE, refuse)
        else:
            page.on("request", lambda r: loaded.network.append(r.url) if TILE.match(r.url) else None)
        page.on("console", lambda m: loaded.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: loaded.errors.append(f"page error: {e}"))

        def dialog(d: Any) -> None:
            loaded.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(Path(path).as_uri(), wait_until="load")
        try:
            page.wait_for_function("window.PM && PM.map !== null", timeout=20_000)
        except Exception as exc:  # a timeout: say what the page reported
            raise AssertionError(f"{path} did not finish drawing: {loaded.errors}") from exc
        page.wait_for_timeout(300)     # marker clusters and panels settle
        return loaded

    yield open_
    for ctx in contexts:
        ctx.close()


def colours_in(loaded: Loaded, png: bytes) -> int:
    """Distinct colours of a PNG, counted by Chromium itself (canvas), sampling every 4th pixel."""
    import base64

    return int(loaded.page.evaluate("""async (b64) => {
        const img = new Image();
        img.src = "data:image/png;base64," + b64;
        await img.decode();
        const c = document.createElement("canvas");
        c.width = img.width; c.height = img.height;
        const g = c.getContext("2d");
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size;
    }""", base64.b64encode(png).decode()))


@pytest.fixture(scope="session")
def yiwu_result():
    from planner import regions
    from planner.pipeline import run_plan
    from planner.rulefile import load_rules

    return run_plan(regions.load("义乌市"), load_rules("zhejiang-2026"))


@pytest.fixture(scope="session")
def yiwu_maps(yiwu_result, tmp_path_factory):
    """义乌市 drawn three ways: shared assets and no tiles; offline asking for OSM tiles (offline wins); offline, no tiles."""
    from planner.render import render_run

    base = tmp_path_factory.mktemp("yiwu")
    render_run(yiwu_result, base / "linked", tiles="none")
    render_run(yiwu_result, base / "offline_osm", tiles="osm", offline=True)
    render_run(yiwu_result, base / "offline_none", tiles="none", offline=True)
    return base


@pytest.fixture(scope="session")
def zhejiang_maps(tmp_path_factory, zhejiang_full_run):
    """The default region, planned in full (dispatch and dialysis too); overview and two county pages drawn."""
    from planner.render import render_run

    result = zhejiang_full_run
    out = tmp_path_factory.mktemp("zhejiang")
    render_run(result, out, tiles="none", units=["330111", "331126", "331127", "330782"])
    return result, out


@pytest.fixture(scope="session")
def guiyang_maps(tmp_path_factory):
    """贵阳市 under the Guizhou rules: a city split into grids (城市医疗集团) and its counties."""
    from planner import regions
    from planner.pipeline import run_plan
    from planner.render import render_run
    from planner.rulefile import load_rules

    result = run_plan(regions.load("贵阳市"), load_rules("guizhou-2024"))
    out = tmp_path_factory.mktemp("guiyang")
    render_run(result, out, tiles="none", units=["city:520100"])
    return result, out


@pytest.fixture(scope="session")
def xss_maps(tmp_path_factory):
    """A hand-drawn county whose lead hospital, a township and a village clinic are named like markup."""
    from fixtures import Fac, grid_region

    from planner.pipeline import run_plan
    from planner.render import render_run
    from planner.rulefile import load_rules

    pops = [[30_000, 10_000, 10_000], [10_000, 10_000, 10_000], [10_000, 10_000, 30_000]]
    facs = [Fac("H1", XSS, "general_hospital", "二甲", (0, 0), dialysis=True),
            Fac("H2", "测试县中医院", "tcm_hospital", "二甲", (2, 2)),
            Fac("T1", "T01镇卫生院", "township_health_center", "一甲", (0, 1), beds=20),
            Fac("T2", "T11镇卫生院", "township_health_center", "一甲", (1, 1), beds=20, central_thc=True),
            Fac("V1", XSS + "卫生室", "village_clinic", "未定级", (1, 2), beds=0)]
    region = grid_region(pops, facs, names={"330001005": XSS})
    result = run_plan(region, load_rules("zhejiang-2026"))
    out = tmp_path_factory.mktemp("xss")
    render_run(result, out, tiles="none", offline=True)
    return result, out
