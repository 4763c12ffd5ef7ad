"""Screenshots of the maps and of a PDF sheet, taken by Debian's headless Chromium (and pypdfium2 for the PDF).

Plans 浙江省 (overview; 庆元县's county page: shortfalls), 贵阳市 under the Guizhou rules (a city's grid
page), 金华市 twice (the default rules and a copy allowing one community per county: the diff map),
draws the maps without base tiles (no network needed) and saves under maps/screenshots/:
overview.png, county.png, grid.png, diff.png and pdf.png (the first page of 庆元县's PDF sheet).

    python maps/make_screenshots.py                 # about 2 minutes on two cores
    python maps/make_screenshots.py --only pdf,grid

Chinese labels need a CJK font in the browser's system (Debian: apt-get install fonts-wqy-microhei).
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import zlib
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
"""A small laptop screen, the hardest case for panels."""


def png_bytes(rgb) -> bytes:
    """An RGB array as PNG bytes (no imaging library needed)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _shoot(pages: list[tuple[Path, Path, str | None]]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        for source, target, script in pages:
            page.goto(source.as_uri(), wait_until="load")
            page.wait_for_function("window.PM && PM.map !== null")
            if script:
                page.evaluate(script)
            page.wait_for_timeout(700)
            page.screenshot(path=str(target))
            print(target)
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "screenshots"), help="folder for the PNG files")
    parser.add_argument("--only", default="overview,county,grid,diff,pdf")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))

    from planner import regions
    from planner.pipeline import run_plan, write_outputs
    from planner.render import render_diff, render_run
    from planner.rulefile import load_rules

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shots: list[tuple[Path, Path, str | None]] = []
        if only & {"overview", "county", "pdf"}:
            zj = run_plan(regions.load("浙江省"), load_rules("zhejiang-2026"), jobs=2)
            render_run(zj, base / "zj", tiles="none", units=["331126"])
            if "overview" in only:
                shots.append((base / "zj" / "index.html", out / "overview.png", None))
            if "county" in only:
                shots.append((base / "zj" / "units" / "331126.html", out / "county.png", None))
            if "pdf" in only:
                import pypdfium2 as pdfium
                import numpy as np

                from planner.sheet import write_sheets

                write_sheets(zj, base / "rep", units=["331126"])
                doc = pdfium.PdfDocument(str(base / "rep" / "pdf" / "331126.pdf"))
                rgb = np.ascontiguousarray(doc[0].render(scale=1.5, rev_byteorder=True).to_numpy()[:, :, :3])
                (out / "pdf.png").write_bytes(png_bytes(rgb))
                print(out / "pdf.png")
        if "grid" in only:
            gy = run_plan(regions.load("贵阳市"), load_rules("guizhou-2024"))
            render_run(gy, base / "gy", tiles="none", units=["city:520100"])
            shots.append((base / "gy" / "units" / "city_520100.html", out / "grid.png", None))
        if "diff" in only:
            jh = regions.load("金华市")
            strict = base / "jinhua-max1.toml"
            strict.write_text('[policy]\nname = "jinhua-max1"\ntitle = "评审稿：每县一个医共体"\nextends = "zhejiang-2026"\n\n'
                              '[[rule]]\nid = "county.max_communities"\nmax = 1\n', encoding="utf-8")
            a = write_outputs(run_plan(jh, load_rules("zhejiang-2026")), base / "a")
            b = write_outputs(run_plan(jh, load_rules(str(strict))), base / "b")
            render_diff(a, b, base / "diff" / "diff.html", tiles="none")
            shots.append((base / "diff" / "diff.html", out / "diff.png", None))
        _shoot(shots)
    return 0


if __name__ == "__main__":
    sys.exit(main())
