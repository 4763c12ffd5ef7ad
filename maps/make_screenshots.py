"""Screenshots of the 浙江省 overview and one county page, taken by Debian's headless Chromium.

Plans the default region (or reads a plan folder), draws the maps without base tiles (no
network needed) and saves maps/screenshots/overview.png and maps/screenshots/county.png.

    python maps/make_screenshots.py                       # plan 浙江省 (about 20 s), then shoot
    python maps/make_screenshots.py --plan plans/浙江省_zhejiang-2026 --county 330111

Chinese labels need a CJK font in the browser's system (Debian: apt-get install fonts-wqy-microhei).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", help="a plan folder written by `planner plan` (default: plan 浙江省 now)")
    parser.add_argument("--county", default="330111", help="unit id of the county page (default 330111 富阳区)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "screenshots"), help="folder for the PNG files")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from planner.render import render_plan_dir, render_run

    with tempfile.TemporaryDirectory() as tmp:
        maps = Path(tmp) / "maps"
        if args.plan:
            render_plan_dir(args.plan, maps, tiles="none", lang=args.lang, units=[args.county])
        else:
            from planner import regions
            from planner.pipeline import run_plan
            from planner.rulefile import load_rules

            result = run_plan(regions.load("浙江省"), load_rules("zhejiang-2026"))
            render_run(result, maps, tiles="none", lang=args.lang, units=[args.county])
        county = maps / "units" / f"{args.county}.html"
        if not county.exists():
            print(f"no page for unit {args.county} in {maps / 'units'}", file=sys.stderr)
            return 2
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for source, name in ((maps / "index.html", "overview.png"), (county, "county.png")):
                page.goto(source.as_uri(), wait_until="load")
                page.wait_for_function("window.PM && PM.map !== null")
                page.wait_for_timeout(500)
                page.screenshot(path=str(out / name))
                print(out / name)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
