"""One-page sheets for meetings: a static map (SVG) with names, legend, key figures, rule results and shortfalls
per county or city grid and for the region, as HTML and as PDF printed by headless Chromium."""

from __future__ import annotations

import html
import math
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from . import __version__, io
from ._errors import PlannerError
from .i18n import tr
from .mapstyle import grouped, minutes, wan
from .report import cached_facts, cite, mark_text, rules_label, status_text

MAP_W, MAP_H = 690, 600
"""Size of the sheet's map in CSS pixels (about 182 x 159 mm on A4 landscape)."""

MAX_RULES, MAX_SHORT, MAX_COMMS = 9, 6, 10
"""What fits on one page; the rest is counted and left to summary.html."""


class SheetError(PlannerError):
    """The PDF sheets cannot be printed (no Chromium, or it failed)."""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _w(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


class _Frame:
    """Lon/lat -> sheet pixels: equirectangular with the cosine of the middle latitude, fitted into the map box."""

    def __init__(self, bounds: Sequence[float], w: int = MAP_W, h: int = MAP_H, pad: int = 12) -> None:
        minx, miny, maxx, maxy = bounds
        self.k = math.cos(math.radians((miny + maxy) / 2))
        sx = (w - 2 * pad) / max((maxx - minx) * self.k, 1e-9)
        sy = (h - 2 * pad) / max(maxy - miny, 1e-9)
        self.s = min(sx, sy)
        self.ox = pad + ((w - 2 * pad) - (maxx - minx) * self.k * self.s) / 2 - minx * self.k * self.s
        self.oy = pad + ((h - 2 * pad) - (maxy - miny) * self.s) / 2 + maxy * self.s

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return self.ox + x * self.k * self.s, self.oy - y * self.s

    def path(self, geom: shapely.Geometry) -> str:
        parts = []
        polys = getattr(geom, "geoms", [geom])
        for g in polys:
            if g.geom_type == "Polygon":
                rings = [g.exterior, *g.interiors]
            elif g.geom_type in ("LineString", "LinearRing"):
                rings = [g]
            elif g.geom_type == "MultiLineString":
                rings = list(g.geoms)
            else:
                continue
            for ring in rings:
                c = np.asarray(ring.coords)
                if len(c) < 2:
                    continue
                px = self.ox + c[:, 0] * self.k * self.s
                py = self.oy - c[:, 1] * self.s
                d = "M" + " L".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))
                parts.append(d + ("Z" if g.geom_type == "Polygon" else ""))
        return " ".join(parts)


def _text_w(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in text)


def _labels(items: list[tuple[float, float, str, float, str, int]]) -> str:
    """Names placed greedily by priority where they do not overlap: (x, y, text, size, css class, priority)."""
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for x, y, text, size, cls, pri in sorted(items, key=lambda r: r[5]):
        w, h = _text_w(text, size) + 4, size + 3
        for dx, dy in ((0, 0), (0, -h), (0, h), (w * 0.6, 0), (-w * 0.6, 0)):
            box = (x + dx - w / 2, y + dy - h / 2, w, h)
            if not any(box[0] < b[0] + b[2] and b[0] < box[0] + box[2] and box[1] < b[1] + b[3] and b[1] < box[1] + box[3]
                       for b in placed):
                placed.append(box)
                out.append(f'<text class="{cls}" x="{x + dx:.1f}" y="{y + dy + size * 0.36:.1f}" font-size="{size}">{_e(text)}</text>')
                break
        else:
            if pri == 0:
                out.append(f'<text class="{cls}" x="{x:.1f}" y="{y + size * 0.36:.1f}" font-size="{size}">{_e(text)}</text>')
    return "".join(out)


def _num(n: object, lang: str, numbers: str) -> str:
    return wan(n) if lang == "zh" and numbers == "wan" else grouped(n)


def unit_map_svg(run: Any, unit: Any, lang: str = "zh", numbers: str = "grouped") -> str:
    """A county's (or city grid's) communities as a static SVG: townships by community, outlines, leads,
    shortfall marks, community, lead and township names."""
    towns = run.towns.loc[[x for x in unit.townships if x in run.towns.index]]
    up = run.result.plan.units.get(unit.id)
    comms = list(up.communities) if up is not None and up.solved else []
    colour = {x: run.colors.get(c.id, "#999999") for c in comms for x in c.townships}
    if not len(towns):
        return f'<svg width="{MAP_W}" height="{MAP_H}"></svg>'
    fr = _Frame(shapely.total_bounds(np.asarray(towns.geometry.values, dtype=object)))
    shorts = {s.township for s in run.short_by_unit.get(unit.id, []) if s.kind == "attending"}
    body, labels = [], []
    for code, geom, name in zip(towns.index, towns.geometry.values, towns["name"].astype(str)):
        fill = colour.get(code, "#bdbdbd")
        body.append(f'<path d="{fr.path(geom)}" fill="{fill}" fill-opacity="0.62" stroke="#fff" stroke-width="0.8"/>')
        rep = shapely.point_on_surface(geom)
        x, y = fr.xy(rep.x, rep.y)
        labels.append((x, y, name, 9.5, "tw", 4))
    for code in sorted(shorts):
        if code in towns.index:
            geom = towns.at[code, "geometry"]
            body.append(f'<path d="{fr.path(geom)}" fill="none" stroke="#c62828" stroke-width="2.6"/>')
            rep = shapely.point_on_surface(geom)
            x, y = fr.xy(rep.x, rep.y)
            body.append(f'<circle cx="{x:.1f}" cy="{y + 9:.1f}" r="6" fill="#c62828" stroke="#fff"/>'
                        f'<text x="{x:.1f}" y="{y + 12.5:.1f}" font-size="9" fill="#fff" text-anchor="middle" font-weight="bold">!</text>')
    for c in comms:
        codes = [x for x in c.townships if x in towns.index]
        if not codes:
            continue
        shape = shapely.union_all(towns.loc[codes].geometry.values)
        body.append(f'<path d="{fr.path(shape.boundary)}" fill="none" stroke="#222" stroke-width="2.2"/>')
        rep = shapely.point_on_surface(shape)
        x, y = fr.xy(rep.x, rep.y)
        suffix = _w(lang, "医共体", " community") if unit.scope == "county" else _w(lang, "网格", " grid")
        labels.append((x, y, run.name(c.lead) + suffix, 12.5, "cm", 0))
        if c.lead in run.fac.index:
            g = run.fac.at[c.lead, "geometry"]
            lx, ly = fr.xy(g.x, g.y)
            body.append(f'<rect x="{lx - 6:.1f}" y="{ly - 6:.1f}" width="12" height="12" rx="2" fill="#e07b00" stroke="#000" '
                        f'stroke-width="1.6"/><text x="{lx + 7:.1f}" y="{ly - 5:.1f}" font-size="11" fill="#b58900">★</text>')
    for code in unit.county_codes:
        if code in run.region.counties.index:
            body.append(f'<path d="{fr.path(run.region.counties.at[code, "geometry"].boundary)}" fill="none" stroke="#444" '
                        'stroke-width="1.3" stroke-dasharray="5 3"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{MAP_W}" height="{MAP_H}" viewBox="0 0 {MAP_W} {MAP_H}">'
            + "".join(body) + _labels(labels) + _scale_bar(fr) + "</svg>")


def region_map_svg(run: Any, lang: str = "zh") -> str:
    """The region: dissolved communities by colour, county outlines (red where a hard rule fails), county names."""
    from .render import OVERVIEW_TOLERANCE_DEG, _dissolve

    counties = run.region.counties
    fr = _Frame(shapely.total_bounds(np.asarray(counties.geometry.values, dtype=object)))
    tol = max(OVERVIEW_TOLERANCE_DEG, 0.6 / fr.s)
    comms = [c for c in run.result.plan.communities() if any(x in run.towns.index for x in c.townships)]
    shapes = _dissolve(run.towns, {c.id: [x for x in c.townships if x in run.towns.index] for c in comms}, tol)
    body = [f'<path d="{fr.path(shapes[c.id])}" fill="{run.colors.get(c.id, "#999")}" fill-opacity="0.62" stroke="#fff" '
            'stroke-width="0.5"/>' for c in comms]
    unit_of = {c: u for u in run.result.units for c in u.county_codes}
    labels = []
    for code, geom, name in zip(counties.index, counties.geometry.values, counties["name"].astype(str)):
        u = unit_of.get(code)
        bad = u is not None and (int(run.unit_rows[u.id]["hard_violations"] or 0) > 0 or run.infeasible(u))
        g = shapely.simplify(geom, tol)
        body.append(f'<path d="{fr.path(g.boundary)}" fill="none" stroke="{"#c62828" if bad else "#444"}" '
                    f'stroke-width="{2.4 if bad else 0.8}"/>')
        rep = shapely.point_on_surface(geom)
        x, y = fr.xy(rep.x, rep.y)
        labels.append((x, y, name + (" ⚠" if bad else ""), 10.5 if bad else 9.5, "bad" if bad else "ct", 1 if bad else 2))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{MAP_W}" height="{MAP_H}" viewBox="0 0 {MAP_W} {MAP_H}">'
            + "".join(body) + _labels(labels) + _scale_bar(fr) + "</svg>")


def _scale_bar(fr: _Frame) -> str:
    km_per_px = 111.32 / fr.s
    target = km_per_px * 120
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if s >= target / 2)
    px = step / km_per_px
    y = MAP_H - 14
    return (f'<line x1="14" y1="{y}" x2="{14 + px:.1f}" y2="{y}" stroke="#000" stroke-width="2.5"/>'
            f'<text x="14" y="{y - 5}" font-size="10">{step} km</text>')


_CSS = """
@page { size: A4 landscape; margin: 7mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; height: 196mm; overflow: hidden; }
body { width: 283mm; height: 196mm; overflow: hidden; color: #1a1a1a;
  font: 10.5px/1.4 "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
.sheet { display: grid; grid-template-columns: 184mm 1fr; grid-template-rows: auto 1fr auto; gap: 2mm 4mm; height: 196mm; }
header { grid-column: 1 / 3; border-bottom: 2px solid #333; padding-bottom: 1mm; }
h1 { font-size: 19px; margin: 0; display: inline; } .sub { color: #444; margin-left: 8px; }
.map { border: 1px solid #999; } .side { overflow: hidden; max-height: 176mm; }
h2 { font-size: 12px; margin: 2mm 0 1mm; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; width: 100%; } td { padding: 0 3px; vertical-align: top; } td.n { text-align: right; white-space: nowrap; }
.fail { color: #c62828; font-weight: bold; } .pass { color: #1a7f37; } .soft { color: #b26a00; }
ul { margin: 0; padding-left: 14px; } li { margin: 0 0 1px; }
.sw { display: inline-block; width: 12px; height: 9px; border: 1px solid #555; margin-right: 4px; vertical-align: middle; }
footer { grid-column: 1 / 3; border-top: 1px solid #999; font-size: 9px; color: #333; padding-top: 1mm; }
.warn { background: #fff3cd; border: 1px solid #d9a900; padding: 1px 6px; font-weight: bold; color: #8a2a00; }
.key { font-size: 12px; } .key b { font-size: 15px; } .bad { color: #c62828; }
text { font-family: "Helvetica Neue", Arial, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; text-anchor: middle;
  paint-order: stroke; stroke: #fff; stroke-width: 2.6px; stroke-linejoin: round; }
text.cm { font-weight: bold; } text.tw { fill: #333; } text.bad { fill: #b71c1c; font-weight: bold; } text.ct { fill: #222; }
"""


def _rules_html(rows: list[dict], lang: str) -> str:
    cls = {"FAIL": "fail", "CONFLICT": "fail", "SOFT": "soft", "PASS": "pass"}
    shown = [r for r in rows if r["mark"] != "N/A"][:MAX_RULES]
    items = []
    for r in shown:
        heading = r["heading"] if lang == "zh" and r["heading"] != r["description"] else tr(r["description"], lang)
        n = len(r["violations"])
        items.append(f'<li><span class="{cls.get(r["mark"], "")}">{_e(tr(mark_text(r["mark"]), lang))}</span> {_e(heading)}'
                     + (f" ({n})" if n else "") + f' <span style="color:#555">{_e(tr(cite(r["source"]), lang))}</span></li>')
    rest = len([r for r in rows if r["mark"] != "N/A"]) - len(shown)
    if rest > 0:
        items.append(f"<li>{_e(_w(lang, f'另有 {rest} 条规则，见 summary.html', f'{rest} more rules in summary.html'))}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _sheet(title: str, sub: str, key: str, map_svg: str, side: str, footer: str, lang: str) -> str:
    return ("<!DOCTYPE html>" f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><div class=\"sheet\">"
            f"<header><h1>{_e(title)}</h1><span class=\"sub\">{sub}</span><div class=\"key\">{key}</div></header>"
            f'<div class="map">{map_svg}</div><div class="side">{side}</div><footer>{footer}</footer></div></body></html>')


def _footer(run: Any, lang: str, date: str) -> str:
    synth = (f'<span class="warn">{_e(_w(lang, "设施为合成数据，并非真实机构", "Facilities are synthesized, not real institutions"))}</span> '
             if run.synthesized else "")
    return (synth + _e(_w(lang, "乡镇边界与人口为估算；示意图，界线不作为权属依据。", "Township borders and populations are estimated; "
                          "schematic map, boundaries are not authoritative.")) + "<br>"
            + _e(f"{date} · planner {__version__} · " + _w(lang, "规则文件 ", "rule file ") + rules_label(run.result, lang)))


def unit_sheet(run: Any, unit: Any, lang: str, numbers: str, date: str) -> str:
    """A county or city grid on one A4 page."""
    up = run.result.plan.units.get(unit.id)
    row = run.unit_rows[unit.id]
    infeasible = run.infeasible(unit)
    comms = list(up.communities) if up is not None and up.solved else []
    shorts = run.short_by_unit.get(unit.id, [])
    pop = int(run.towns.loc[[x for x in unit.townships if x in run.towns.index], "population"].sum()) if infeasible \
        else row["population"]
    w = lambda zh, en: _w(lang, zh, en)  # noqa: E731
    key = (f"<b>{len(comms)}</b> {w('个医共体/网格', 'communities/grids')} · <b>{_num(pop, lang, numbers)}</b> {w('人', 'residents')} · "
           + (f'<b class="bad">{w("无可行方案", "no feasible plan")}</b>' if infeasible else
              f'<b class="{"bad" if row["hard_violations"] else ""}">{grouped(row["hard_violations"])}</b> '
              f'{w("项硬性规则违反", "hard-rule violations")}')
           + f" · {_e(tr(status_text(row['status']), lang))}")
    comm_rows = []
    for c in comms[:MAX_COMMS]:
        cr = run.comm_rows.get(c.id, {})
        comm_rows.append(f'<tr><td><span class="sw" style="background:{run.colors.get(c.id, "#999")}"></span>'
                         f"{_e(run.name(c.lead))}</td><td class=\"n\">{len(c.townships)}</td>"
                         f"<td class=\"n\">≈{_num(cr.get('population', 0), lang, numbers)}</td>"
                         f"<td class=\"n\">≈{minutes(cr.get('mean_travel_min'))}</td></tr>")
    legend = (f"<h2>{w('医共体（牵头医院 · 乡镇 · 人口 · 平均车程分钟）', 'Communities (lead · townships · population · mean minutes)')}</h2>"
              f"<table>{''.join(comm_rows)}</table>"
              f"<div>★ {w('牵头医院', 'lead hospital')} · <span style=\"color:#c62828\">● ! {w('红框：缺派驻医师的乡镇', 'red: township without its physician')}</span>"
              f" · {w('粗线：医共体边界；虚线：县界', 'thick: community boundary; dashed: county')}</div>")
    short_items = []
    for s in shorts[:MAX_SHORT]:
        if s.kind == "attending":
            short_items.append(f"<li>{_e(run.name(s.target))}：{w('接收主治医师以上', 'gets')} {s.got} / {s.need}</li>")
        else:
            short_items.append(f"<li>{_e(run.name(run.comms[s.target].lead))}{w('医共体：城市专家', ' community: city experts')} {s.got} / {s.need}</li>")
    if len(shorts) > MAX_SHORT:
        short_items.append(f"<li>{w(f'另有 {len(shorts) - MAX_SHORT} 项', f'{len(shorts) - MAX_SHORT} more')}</li>")
    why = ""
    if infeasible and up is not None and up.explanation:
        why = f"<h2>{w('为何无可行方案', 'Why there is no plan')}</h2><ul>" + "".join(
            f"<li>{_e(tr(x, lang))}</li>" for x in up.explanation[:4]) + "</ul>"
    figures = (f"<h2>{w('主要指标', 'Key figures')}</h2><table>"
               f"<tr><td>{w('乡镇（街道）', 'Townships')}</td><td class=\"n\">{grouped(len(unit.townships))}</td></tr>"
               f"<tr><td>{w('平均/最长到牵头医院', 'Mean / max travel to lead')}</td><td class=\"n\">≈{minutes(row['mean_travel_min'])} / "
               f"≈{minutes(row['max_travel_min'])} {w('分钟', 'min')}</td></tr>"
               f"<tr><td>{w('派驻医师 / 城市专家', 'Physicians / city experts dispatched')}</td><td class=\"n\">"
               f"{grouped(row['physicians_dispatched'])} / {grouped(row['experts_dispatched'])}</td></tr>"
               f"<tr><td>{w('新增血透点', 'New dialysis sites')}</td><td class=\"n\">{grouped(row['dialysis_new_sites'])}</td></tr></table>")
    side = (why + legend + figures + f"<h2>{w('规则核查（未通过的在前）', 'Rules (failures first)')}</h2>"
            + _rules_html(run.unit_statuses(unit), lang)
            + (f"<h2>{w('缺口', 'Shortfalls')}</h2><ul>{''.join(short_items)}</ul>" if short_items else ""))
    kind = w("城市医疗集团网格", "city medical group grids") if unit.scope == "city" else w("县域医共体", "county medical communities")
    sub = _e(f"{kind} · {run.result.region.name} · {run.result.rules.title or run.result.rules.name}")
    return _sheet(unit.name, sub, key, unit_map_svg(run, unit, lang, numbers), side, _footer(run, lang, date), lang)


def region_sheet(run: Any, lang: str, numbers: str, date: str) -> str:
    """The region on one A4 page: the map, key figures, rules, the counties to look at."""
    w = lambda zh, en: _w(lang, zh, en)  # noqa: E731
    total = run.facts.total
    bad = sorted((u for u in run.result.units if int(run.unit_rows[u.id]["hard_violations"] or 0) > 0 or run.infeasible(u)),
                 key=lambda u: (-run.infeasible(u), -int(run.unit_rows[u.id]["hard_violations"] or 0), u.id))
    key = (f"<b>{grouped(total['communities'])}</b> {w('个医共体/网格', 'communities/grids')} · "
           f"<b>{_num(total['population'], lang, numbers)}</b> {w('人', 'residents')} · "
           f'<b class="{"bad" if bad else ""}">{len(bad)}</b> {w("个县（市、区）需关注", "counties to look at")}')
    units = "".join(f"<li>{_e(u.name)}：" + (w("无可行方案", "infeasible") if run.infeasible(u) else
                                             w(f"硬性规则违反 {run.unit_rows[u.id]['hard_violations']} 项",
                                               f"{run.unit_rows[u.id]['hard_violations']} hard-rule violations")) + "</li>"
                    for u in bad[:MAX_SHORT])
    if len(bad) > MAX_SHORT:
        units += f"<li>{w(f'另有 {len(bad) - MAX_SHORT} 个', f'{len(bad) - MAX_SHORT} more')}</li>"
    figures = (f"<h2>{w('主要指标', 'Key figures')}</h2><table>"
               f"<tr><td>{w('县级单位', 'County-level units')}</td><td class=\"n\">{grouped(len(run.result.units))}</td></tr>"
               f"<tr><td>{w('平均/最长到牵头医院', 'Mean / max travel to lead')}</td><td class=\"n\">≈{minutes(total['mean_travel_min'])} / "
               f"≈{minutes(total['max_travel_min'])} {w('分钟', 'min')}</td></tr>"
               f"<tr><td>{w('派驻医师 / 城市专家', 'Physicians / city experts')}</td><td class=\"n\">"
               f"{grouped(total['physicians_dispatched'])} / {grouped(total['experts_dispatched'])}</td></tr>"
               f"<tr><td>{w('新增血透点', 'New dialysis sites')}</td><td class=\"n\">{grouped(total['dialysis_new_sites'])}</td></tr>"
               f"<tr><td>{w('求解状态', 'Solve status')}</td><td class=\"n\">{_e(tr(status_text(total['status']), lang))}</td></tr></table>")
    side = (figures + f"<h2>{w('规则核查（未通过的在前）', 'Rules (failures first)')}</h2>" + _rules_html(run.region_statuses(), lang)
            + (f"<h2>{w('需关注的县（市、区）', 'Counties to look at')}</h2><ul>{units}</ul>" if units else "")
            + f"<div>{w('红色粗线：有硬性规则未通过的县（市、区）；相邻医共体颜色不同。', 'Red: counties breaking a hard rule; neighbouring communities never share a colour.')}</div>")
    sub = _e(f"{w('县域医共体与城市医疗集团规划', 'County medical communities and city medical groups')} · "
             f"{run.result.rules.title or run.result.rules.name}")
    return _sheet(run.result.region.name, sub, key, region_map_svg(run, lang), side, _footer(run, lang, date), lang)


def find_chromium(path: str | None = None) -> str:
    """The Chromium to print with: `path`, PLANNER_CHROMIUM, chromium/chromium-browser/google-chrome on PATH."""
    for cand in (path, os.environ.get("PLANNER_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome"), "/usr/bin/chromium"):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return str(cand)
    raise SheetError("the PDF sheets are printed by headless Chromium, which was not found. Fix: install it "
                     "(Debian/Ubuntu: apt-get install chromium fonts-wqy-microhei), or pass --chromium PATH "
                     "(or set PLANNER_CHROMIUM)")


_ARGS = ["--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions"]


def print_pdfs(pages: Sequence[tuple[Path, Path]], chromium: str | None = None) -> list[Path]:
    """Print HTML files to PDF (A4 landscape, one page each) with headless Chromium: (html, pdf) pairs.

    With Playwright installed one browser prints every page; otherwise each page is one
    `chromium --print-to-pdf` call. No page loads anything from the network.
    """
    exe = find_chromium(chromium)
    args = _ARGS + (["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])
    out = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    import asyncio

    if asyncio._get_running_loop() is not None:   # inside an event loop (a notebook, a server): one process per page
        sync_playwright = None
    if sync_playwright is not None:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, headless=True, args=args)
            try:
                ctx = browser.new_context()
                ctx.route("http*://**", lambda route: route.abort())
                page = ctx.new_page()
                for src, dst in pages:
                    page.goto(src.resolve().as_uri(), wait_until="load")
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    tmp = dst.with_name(f".{dst.name}.tmp")
                    page.pdf(path=str(tmp), format="A4", landscape=True, print_background=True, prefer_css_page_size=True,
                             page_ranges="1")   # one sheet: what does not fit is left to summary.html
                    os.replace(tmp, dst)
                    out.append(dst)
            finally:
                browser.close()
        return out
    for src, dst in pages:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.tmp")
        cmd = [exe, *args, "--no-pdf-header-footer", f"--print-to-pdf={tmp}", src.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SheetError(f"{exe} could not print {src}: {exc}. Fix: check that Chromium starts headless") from None
        if done.returncode != 0 or not tmp.exists():
            raise SheetError(f"{exe} could not print {src} (exit {done.returncode}): {done.stderr.strip()[:300]}")
        os.replace(tmp, dst)
        out.append(dst)
    return out


def write_sheets(result: Any, out_dir: str | Path, *, lang: str = "zh", numbers: str = "grouped",
                 units: Sequence[str] | None = None, chromium: str | None = None, date: str | None = None,
                 pdf: bool = True) -> list[Path]:
    """Write `sheets/<unit>.html` and `pdf/<unit>.pdf` per county or city grid, and `region` for the whole region.

    Returns the files written (HTML, then PDF). `units` limits the unit sheets (the region
    sheet is always made); `pdf=False` writes the printable HTML only.
    """
    from .mapstyle import MapOptions
    from .render import _new_run, _today, unit_filename

    run = _new_run(result, MapOptions(lang=lang, numbers=numbers).checked(), (), cached_facts(result), None)
    day = date or _today()
    out = Path(out_dir)
    chosen = [u for u in result.units if units is None or u.id in set(units)]
    if units is not None:
        unknown = sorted(set(units) - {u.id for u in result.units})
        if unknown:
            raise SheetError(f"no unit {', '.join(unknown)} in this plan; use adcodes or city:<code> of its units "
                             f"(e.g. {result.units[0].id})")
    pages = [(out / "sheets" / "region.html", out / "pdf" / "region.pdf", region_sheet(run, lang, numbers, day))]
    for u in chosen:
        stem = unit_filename(u.id).removesuffix(".html")
        pages.append((out / "sheets" / f"{stem}.html", out / "pdf" / f"{stem}.pdf", unit_sheet(run, u, lang, numbers, day)))
    written = [io.write_text(src, text) for src, _dst, text in pages]
    if pdf:
        written += print_pdfs([(src, dst) for src, dst, _text in pages], chromium)
    return written
