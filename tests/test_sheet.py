"""`planner report PLAN --pdf`: one-page PDF sheets per county or city grid and for the region, rendered and looked at."""

from __future__ import annotations

import re
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from planner import regions
from planner.cli import main
from planner.pipeline import run_plan, write_outputs
from planner.rulefile import load_rules


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB array as PNG bytes (no imaging library needed)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def qingyuan_plan(tmp_path_factory):
    # 景宁畲族自治县: a county whose leads together cannot staff every center (18 for 21), so its
    # sheet names shortfalls (庆元县, used before, is fully staffed since communities know their
    # leads' capacity).
    result = run_plan(regions.load("景宁畲族自治县"), load_rules("zhejiang-2026"))
    return write_outputs(result, tmp_path_factory.mktemp("jn") / "plan")


def test_report_pdf_writes_one_page_per_unit_and_region(qingyuan_plan, tmp_path):
    pdfium = pytest.importorskip("pypdfium2", reason="the sheet test renders PDFs with pypdfium2 (pip install '.[test]')")
    res = CliRunner().invoke(main, ["report", str(qingyuan_plan), "--pdf", "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    pdfs = sorted(p.name for p in (tmp_path / "rep" / "pdf").iterdir())
    assert pdfs == ["331127.pdf", "region.pdf"]
    for name in pdfs:
        doc = pdfium.PdfDocument(str(tmp_path / "rep" / "pdf" / name))
        assert len(doc) == 1                                      # one page to take to a meeting
        w, h = doc[0].get_size()
        assert w > h                                              # A4 landscape
        rgb = np.ascontiguousarray(doc[0].render(scale=1.0, rev_byteorder=True).to_numpy()[:, :, :3])
        png = png_bytes(rgb)
        (tmp_path / f"{name}.png").write_bytes(png)
        assert png.startswith(b"\x89PNG") and len(png) > 30_000
        ink = (rgb.min(axis=2) < 235).mean()
        colours = len(np.unique(rgb[::3, ::3].reshape(-1, 3) // 16, axis=0))
        assert ink > 0.08 and colours > 40, (name, ink, colours)   # a map, tables and text: not a blank page
        text = doc[0].get_textpage().get_text_range()
        assert "景宁畲族自治县" in text and "设施为合成数据" in text and "planner" in text
    sheet = (tmp_path / "rep" / "sheets" / "331127.html").read_text(encoding="utf-8")
    assert "《关于深化紧密型县域医共体建设" in sheet                      # rules by document and clause
    assert re.search(r"<li>(毛垟乡|秋炉乡|九龙乡)\S*卫生院：接收主治医师以上 0 / 1</li>", sheet)   # shortfalls named
    assert (tmp_path / "rep" / "summary.html").exists()


def test_report_refuses_unknown_units(qingyuan_plan, tmp_path):
    res = CliRunner().invoke(main, ["report", str(qingyuan_plan), "--pdf", "--units", "999999", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no unit 999999" in res.output
