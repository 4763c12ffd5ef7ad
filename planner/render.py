"""Interactive maps of a plan (folium/Leaflet): a region overview, one page per county or city grid, and plan diffs."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import math
import multiprocessing
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import folium
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template
from folium.utilities import JsCode

from . import io
from .gcj02 import wgs84_to_gcj02
from .i18n import tr
from .mapstyle import MapError, MapOptions
from .plan import Plan
from .report import PlanFacts, plan_facts, unit_statuses
from .units import Unit
from .vocabulary import TCM_KINDS, FacilityKind, Grade

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#8cd17d", "#d37295", "#a0cbe8")
"""Community colours, in the order greedy colouring hands them out (Tableau 10 plus two)."""

OVERVIEW_TOLERANCE_DEG = 0.0025
"""Simplification of dissolved communities and county borders on the overview (about 250 m; a pixel is
about 1 km at zoom 7, the zoom that shows a province)."""

OVERVIEW_DIGITS = 4
"""Decimal places of overview coordinates (about 10 m)."""

UNIT_DIGITS = 5
"""Decimal places of county-page coordinates (about 1 m, the precision of the embedded data)."""

_JS = ("leaflet/leaflet.js", "leaflet.markercluster/leaflet.markercluster.js", "planner-map.js")
_CSS = ("leaflet/leaflet.css", "leaflet.markercluster/MarkerCluster.css",
        "leaflet.markercluster/MarkerCluster.Default.css", "planner-map.css")
_ASSET_DIR = Path(__file__).parent / "_assets"

_UUID_RE = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


# --- assets -----------------------------------------------------------------------------------


@cache
def _asset(rel: str) -> str:
    """A vendored asset as text, without its source-map comment; Leaflet's images become data URIs."""
    text = (_ASSET_DIR / rel).read_text(encoding="utf-8")
    text = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", text)
    if rel.endswith(".css"):
        def data_uri(m: re.Match[str]) -> str:
            img = (_ASSET_DIR / Path(rel).parent / m.group(1)).read_bytes()
            return f"url(data:image/png;base64,{base64.b64encode(img).decode()})"

        text = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, text)
    if re.search(r"</(script|style)|<!--", text, flags=re.IGNORECASE):
        msg = f"asset {rel} cannot be inlined: it contains a closing tag or an HTML comment"
        raise ValueError(msg)
    return text


def asset_files() -> dict[str, bytes]:
    """The files of `assets/` for pages that link them: flat names -> contents."""
    return {Path(rel).name: _asset(rel).encode("utf-8") for rel in _JS + _CSS}


def _asset_head(offline: bool, prefix: str) -> str:
    if offline:
        css = "".join(f"<style>\n{_asset(rel)}\n</style>\n" for rel in _CSS)
        js = "".join(f"<script>\n{_asset(rel)}\n</script>\n" for rel in _JS)
    else:
        css = "".join(f'<link rel="stylesheet" href="{prefix}assets/{Path(rel).name}">\n' for rel in _CSS)
        js = "".join(f'<script src="{prefix}assets/{Path(rel).name}"></script>\n' for rel in _JS)
    return css + js


# --- small helpers ------------------------------------------------------------------------------


def esc(value: object) -> str:
    """Text from data, escaped for HTML (names, messages)."""
    return html.escape(str(value), quote=True)


_LABELS: dict[str, tuple[str, str]] = {}
_TOKEN = re.compile(r"%%([0-9a-f]{8})%%")


def t(zh: str, en: str) -> str:
    """A label in both languages, as a short token (`%%<8 hex>%%`, a digest of the two texts).

    Pages carry each label's HTML once (`<span class="zh">…</span><span class="en">…</span>`,
    the page shows one language at a time) and expand the tokens: in Python for the layer list
    and the banner, in the page's script for tooltips, popups and panels. Tooltips of a county
    page repeat the same dozen labels hundreds of times, so this halves their size.
    """
    key = hashlib.sha1(f"{zh}\x00{en}".encode()).hexdigest()[:8]
    _LABELS[key] = (zh, en)
    return f"%%{key}%%"


def _label_html(key: str) -> str:
    zh, en = _LABELS[key]
    return f'<span class="zh">{esc(zh)}</span><span class="en">{esc(en)}</span>'


def expand(text: str) -> str:
    """Text with every label token replaced by its bilingual HTML."""
    return _TOKEN.sub(lambda m: _label_html(m.group(1)) if m.group(1) in _LABELS else m.group(0), text)


def _num(x: object) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return f"{float(x):,.1f}"


def _share(x: object) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):.1%}"


def unit_filename(unit_id: str) -> str:
    """The page of a unit under units/: "330782" -> "330782.html", "city:520100" -> "city_520100.html"."""
    return re.sub(r"[^0-9A-Za-z_-]", "_", unit_id) + ".html"


def _json(obj: object) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def _grade_en(g: int) -> str:
    grade = Grade(int(g))
    if grade is Grade.UNRATED:
        return "unrated"
    word = {1: "primary", 2: "secondary", 3: "tertiary"}[grade.level]
    sub = {0: "", 1: " C", 2: " B", 3: " A"}[int(grade) % 10]
    return word + sub


def _kind_label(kind: str) -> str:
    k = FacilityKind(kind)
    return t(k.zh, k.value.replace("_", " "))


def _grade_label(g: int) -> str:
    return t(Grade(int(g)).zh, _grade_en(int(g)))


def _kind_letter(kind: str) -> str:
    k = FacilityKind(kind)
    if k is FacilityKind.VILLAGE_CLINIC:
        return "v"
    if k in (FacilityKind.TOWNSHIP_HEALTH_CENTER, FacilityKind.COMMUNITY_HEALTH_CENTER,
             FacilityKind.COMMUNITY_HEALTH_STATION):
        return "c"
    if k is FacilityKind.GENERAL_HOSPITAL:
        return "h"
    if k in TCM_KINDS:
        return "t"
    if k is FacilityKind.MATERNAL_CHILD_HOSPITAL:
        return "m"
    return "o"


class _Proj:
    """Coordinates as they go into a page: shifted to GCJ-02 for Amap tiles, then rounded."""

    def __init__(self, gcj02: bool, digits: int) -> None:
        self.gcj02, self.digits = gcj02, digits

    def xy(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if self.gcj02:
            lon, lat = wgs84_to_gcj02(lon, lat)
        return np.round(lon, self.digits), np.round(lat, self.digits)

    def _coords(self, xy: np.ndarray) -> np.ndarray:
        x, y = self.xy(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def geometry(self, geom: shapely.Geometry) -> dict[str, Any]:
        return json.loads(shapely.to_geojson(shapely.transform(geom, self._coords)))

    def point(self, lon: float, lat: float) -> dict[str, Any]:
        x, y = self.xy([lon], [lat])
        return {"type": "Point", "coordinates": [float(x[0]), float(y[0])]}

    def line(self, pts: Sequence[tuple[float, float]]) -> dict[str, Any]:
        x, y = self.xy([p[0] for p in pts], [p[1] for p in pts])
        return {"type": "LineString", "coordinates": [[float(a), float(b)] for a, b in zip(x, y)]}

    def bounds(self, geoms: Sequence[shapely.Geometry]) -> list[list[float]]:
        minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
        x, y = self.xy([minx, maxx], [miny, maxy])
        return [[float(y[0]), float(x[0])], [float(y[1]), float(x[1])]]


def _feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    """A GeoJSON feature; a popup that extends the tooltip is stored as the extra part only (`px`)."""
    tip, pop = props.get("tip"), props.get("pop")
    if tip is not None and pop is not None and pop.startswith(tip):
        props["px"] = pop[len(tip):]
        del props["pop"]
    return {"type": "Feature", "geometry": geometry, "properties": {k: v for k, v in props.items() if v is not None}}


# --- colouring --------------------------------------------------------------------------------


def community_graph(plan: Plan, graph: nx.Graph) -> nx.Graph:
    """Communities as nodes, an edge where two communities have adjacent townships (sorted, deterministic)."""
    of = {t: c.id for c in plan.communities() for t in c.townships}
    g = nx.Graph()
    g.add_nodes_from(sorted(of.values()))
    edges = set()
    for u, v in graph.edges():
        a, b = of.get(u), of.get(v)
        if a is not None and b is not None and a != b:
            edges.add((min(a, b), max(a, b)))
    g.add_edges_from(sorted(edges))
    return g


def community_colors(plan: Plan, graph: nx.Graph, palette: Sequence[str] = PALETTE) -> dict[str, str]:
    """Community id -> colour, so that adjacent communities never share one.

    Greedy colouring (networkx, "largest_first": by degree, ties in sorted id order) of the
    community adjacency built from township adjacency; the same plan always gets the same
    colours. More colours than the palette (not seen on real plans) get extra hues.
    """
    g = community_graph(plan, graph)
    index = {n: i for i, n in enumerate(g.nodes)}
    h = nx.relabel_nodes(g, index)            # integer nodes: no dependence on string hashing
    colours = nx.greedy_color(h, strategy="largest_first")
    out = {}
    for node, i in index.items():
        k = colours[i]
        out[node] = palette[k] if k < len(palette) else _extra_colour(k - len(palette))
    return out


def _extra_colour(k: int) -> str:
    import colorsys

    r, g, b = colorsys.hls_to_rgb(((k * 0.618033988749895) + 0.05) % 1.0, 0.55, 0.55)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


# --- the page model -------------------------------------------------------------------------------


@dataclass
class Layer:
    """One entry of the layer control: features of one kind."""

    key: str
    label: str
    features: list[dict[str, Any]]
    kind: str = "shape"    # shape (polygons, lines), point (markers), mixed (lines and labels), cluster (clustered markers)
    show: bool = True
    interactive: bool = True


@dataclass
class Page:
    """Everything one HTML page shows, before it becomes folium objects."""

    title: str
    bounds: list[list[float]]
    layers: list[Layer]
    panels: list[dict[str, str]]
    banner: str
    prefix: str = ""


# --- facts shared by every page of a run ----------------------------------------------------------


@dataclass
class _Run:
    """A run with its figures, colours and look-ups, shared by all the pages drawn from it."""

    result: Any
    facts: PlanFacts
    colors: dict[str, str]
    opts: MapOptions
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        r = self.result
        self.region = r.region
        self.fac = r.region.facilities
        self.towns = r.region.townships
        self.comms = {c.id: c for c in r.plan.communities()}
        self.comm_rows = self.facts.communities.set_index("community_id") if len(self.facts.communities) else pd.DataFrame()
        self.assign = self.facts.assignments.set_index("township_code") if len(self.facts.assignments) else pd.DataFrame()
        self.unit_rows = self.facts.units.set_index("unit")
        self.units = {u.id: u for u in r.units}
        self.lead_of = {c.id: c.lead for c in r.plan.communities()}
        members: dict[str, list[str]] = {}
        for fid, cid in zip(self.facts.members.get("facility_id", []), self.facts.members.get("community_id", [])):
            members.setdefault(str(fid), []).append(str(cid))
        self.members = members
        rules = list(r.rules.rules)
        self.attending = next((x for x in rules if x.enabled and x.kind == "attending_dispatch"), None)
        self.coverage_rule = next((x for x in rules if x.enabled and x.kind == "coverage"), None)
        self.dialysis_rule = next((x for x in rules if x.enabled and x.kind == "dialysis_siting"), None)
        self.dialysis = {d.county: d for d in r.dialysis}
        self.stages = {type(x).stage for x in rules if x.enabled}
        roster = self.facts.roster
        self.received_by_target = roster[roster["role"] == "attending"].groupby("to_id")["count"].sum().to_dict()
        self.sent_by_source = roster.groupby("from_id")["count"].sum().to_dict()
        # Look-ups built once: per-township and per-unit filters of big frames dominate a national render.
        self.centers_in: dict[str, list[str]] = {}
        if self.attending is not None:
            kinds = {k.value for k in self.attending.target_kinds}
            centers = self.fac[self.fac["kind"].isin(kinds)]
            for fid, town in zip(centers.index, centers["township_code"]):
                self.centers_in.setdefault(str(town), []).append(str(fid))
        self._statuses: dict[str, list[dict[str, object]]] = {}
        flags = r.region.estimated_flags()
        self.synthesized = flags["facilities_synthesized"] > 0
        self.estimated_polygons = flags["township_polygon_estimated"] > 0
        self.estimated_population = flags["township_population_estimated"] > 0

    def unit_statuses(self, unit: Unit) -> list[dict[str, object]]:
        if unit.id not in self._statuses:
            self._statuses[unit.id] = unit_statuses(self.result, self.facts, unit)
        return self._statuses[unit.id]

    def name(self, fid: str) -> str:
        return str(self.fac.at[fid, "name"]) if fid in self.fac.index else str(fid)


def _banner(run: _Run, extra: Sequence[str] = ()) -> str:
    parts = []
    if run.synthesized:
        parts.append("<b>" + t("设施为合成数据，并非真实机构", "Facilities are synthesized, not real institutions") + "</b>")
    if run.estimated_polygons or run.estimated_population:
        parts.append(t("乡镇边界与人口为估算（虚线边界、≈）", "township boundaries and populations are estimated (dashed borders, ≈)"))
    parts.extend(extra)
    return '<div class="pm-banner" id="pm-banner">' + " · ".join(parts) + "</div>" if parts else ""


def _rule_list(rows: Sequence[dict[str, object]], limit: int = 12) -> str:
    items = []
    for r in rows:
        mark = str(r["mark"])
        label = {"PASS": t("通过", "PASS"), "FAIL": t("未通过", "FAIL"), "SOFT": t("软性", "SOFT"),
                 "N/A": t("不适用", "N/A")}[mark]
        n = len(r["violations"])  # type: ignore[arg-type]
        count = f" ({n} {t('项违反', 'violations')})" if n else ""
        sub = ""
        if n:
            shown = list(r["violations"])[:limit]  # type: ignore[arg-type]
            more = f"<li>… {t('另有', 'and')} {n - limit} {t('项', 'more')}</li>" if n > limit else ""
            sub = "<ul>" + "".join(f"<li>{esc(m)}</li>" for m in shown) + more + "</ul>"
        items.append(f'<li><span class="pm-mark pm-{mark.replace("/", "")}">{label}</span> <b>{esc(r["rule_id"])}</b> '
                     f'<span class="pm-cite">({esc(r["citation"])})</span> '
                     f'<span class="zh">{esc(r["heading"])}</span><span class="en">{esc(r["description"])}</span>{count}{sub}</li>')
    return '<ul class="pm-rules">' + "".join(items) + "</ul>"


def _figures_table(rows: Sequence[tuple[str, str]]) -> str:
    return '<table class="pm-figures">' + "".join(f'<tr><td>{k}</td><td class="n">{v}</td></tr>' for k, v in rows) + "</table>"


def _figure_rows(row: dict[str, object], estimated: bool, stages: set[str]) -> list[tuple[str, str]]:
    """Key figures of a unit or the region; dispatch and dialysis only when the rules have them."""
    approx = "≈" if estimated else ""
    rows = [
        (t("医共体/网格", "Communities/grids"), _num(row["communities"])),
        (t("乡镇（街道）", "Townships"), _num(row["townships"])),
        (t("常住人口", "Population"), _num(row["population"])),
        (t("平均到牵头医院", "Mean travel to lead"), f"{approx}{_num(row['mean_travel_min'])} {t('分钟', 'min')}"),
        (t("最长到牵头医院", "Max travel to lead"), f"{_num(row['max_travel_min'])} {t('分钟', 'min')}"),
    ]
    if "dispatch" in stages:
        rows += [(t("派驻医师", "Physicians dispatched"), _num(row["physicians_dispatched"])),
                 (t("城市专家", "City experts"), _num(row["experts_dispatched"]))]
    if "dialysis" in stages:
        dialysis = (f"{_num(row['dialysis_covered_before'])} → {_num(row['dialysis_covered_after'])} "
                    f"({_share(row['dialysis_share_before'])} → {_share(row['dialysis_share_after'])})")
        rows += [(t("新增血透点", "New dialysis sites"), _num(row["dialysis_new_sites"])),
                 (t("血透可及人口（前→后）", "Within reach of dialysis (before → after)"), dialysis)]
    rows += [(t("求解状态", "Solve status"), esc(row["status"])),
             (t("硬性规则违反", "Hard-rule violations"), _num(row["hard_violations"]))]
    return rows


_LEGEND_ICONS = {
    "lead": '<svg width="20" height="20" viewBox="0 0 28 28"><rect x="3" y="3" width="22" height="22" rx="3" fill="#e07b00" '
            'stroke="#000" stroke-width="2.5"/><polygon points="23,0 24.2,3.4 27.8,3.5 25,5.7 26,9.1 23,7.1 20,9.1 21,5.7 '
            '18.2,3.5 21.8,3.4" fill="#ffd400" stroke="#5a4500" stroke-width="0.8"/></svg>',
    "g3": '<svg width="14" height="14"><rect x="1" y="1" width="12" height="12" rx="2" fill="#b3261e"/></svg>',
    "g2": '<svg width="14" height="14"><rect x="1" y="1" width="12" height="12" rx="2" fill="#e07b00"/></svg>',
    "g1": '<svg width="14" height="14"><rect x="1" y="1" width="12" height="12" rx="2" fill="#2b6cb0"/></svg>',
    "g0": '<svg width="14" height="14"><rect x="1" y="1" width="12" height="12" rx="2" fill="#6e6e6e"/></svg>',
    "center": '<svg width="14" height="14"><circle cx="7" cy="7" r="5.5" fill="#2b6cb0" stroke="#fff" stroke-width="1.5"/></svg>',
    "clinic": '<svg width="10" height="10"><circle cx="5" cy="5" r="3.5" fill="#2e7d32" stroke="#fff"/></svg>',
    "dia_new": '<svg width="16" height="16" viewBox="0 0 22 22"><path d="M11 2 C11 2 4 10 4 14 a7 7 0 0 0 14 0 C18 10 11 2 11 2 Z" '
               'fill="#1565c0" stroke="#1565c0" stroke-width="2"/></svg>',
    "dia_old": '<svg width="16" height="16" viewBox="0 0 22 22"><path d="M11 2 C11 2 4 10 4 14 a7 7 0 0 0 14 0 C18 10 11 2 11 2 Z" '
               'fill="#fff" stroke="#1565c0" stroke-width="2"/></svg>',
}


def _legend_symbols(keys: Sequence[str]) -> str:
    rows = {
        "lead": (_LEGEND_ICONS["lead"], t("牵头医院（颜色=等级）", "Lead hospital (colour = grade)")),
        "grades": (_LEGEND_ICONS["g3"] + _LEGEND_ICONS["g2"] + _LEGEND_ICONS["g1"] + _LEGEND_ICONS["g0"],
                   t("三级 / 二级 / 一级 / 未定级", "tertiary / secondary / primary / unrated")),
        "center": (_LEGEND_ICONS["center"], t("乡镇卫生院、社区卫生服务中心", "Township / community health center")),
        "clinic": (_LEGEND_ICONS["clinic"], t("村卫生室（数字为聚合数）", "Village clinic (numbers: clustered)")),
        "dispatch": ('<span class="ln"></span>', t("派驻医师（数字为人数）", "Physicians dispatched (number)")),
        "experts": ('<span class="ln" style="border-top:3px dashed #6a1b9a"></span>', t("城市专家", "City experts")),
        "dialysis": (_LEGEND_ICONS["dia_new"] + _LEGEND_ICONS["dia_old"], t("新增 / 现有血透点", "New / existing dialysis site")),
        "estimated": ('<span class="sw" style="border:1px dashed #333;background:#fff"></span>',
                      t("虚线边界：估算边界", "Dashed border: estimated boundary")),
        "county": ('<span class="ln" style="border-top:2px dashed #444"></span>', t("县（市、区）界", "County boundary")),
        "grid": ('<span class="ln" style="border-top:3px solid #5b2c83"></span>', t("城市医疗集团网格边界", "City grid boundary")),
        "community": ('<span class="ln" style="border-top:3px solid #222"></span>', t("医共体/网格边界", "Community/grid boundary")),
    }
    return "".join(f'<div class="row"><span class="ic">{rows[k][0]}</span>{rows[k][1]}</div>' for k in keys if k in rows)


# --- overview -----------------------------------------------------------------------------------------


def overview_page(run: _Run) -> Page:
    """The region overview: dissolved communities and grids, county and grid boundaries, leads."""
    r = run.result
    proj = _Proj(run.opts.gcj02, OVERVIEW_DIGITS)
    towns = run.towns
    comm_feats, lead_feats, grid_lines = [], [], []
    unit_marks = {u.id: u for u in r.units}
    for c in r.plan.communities():
        codes = [x for x in c.townships if x in towns.index]
        if not codes:
            continue
        geom = shapely.union_all(towns.loc[codes].geometry.values)
        geom = shapely.simplify(geom, OVERVIEW_TOLERANCE_DEG, preserve_topology=True)
        row = run.comm_rows.loc[c.id] if c.id in run.comm_rows.index else None
        unit = unit_marks.get(c.unit)
        unit_name = unit.name if unit else c.unit
        is_grid = unit is not None and unit.scope == "city"
        link = f'units/{unit_filename(c.unit)}'
        status_rows = run.unit_statuses(unit) if unit is not None else []
        fails = [s for s in status_rows if s["mark"] in ("FAIL", "SOFT")]
        rules_line = (t("规则：全部通过", "Rules: all pass") if not fails else
                      t("规则未通过：", "Rules failing: ") + ", ".join(esc(s["rule_id"]) for s in fails))
        approx = "≈" if row is not None and bool(row["population_estimated"]) else ""
        kind = t("城市医疗集团网格", "City medical group grid") if is_grid else t("县域医共体", "County medical community")
        tip = (f"<b>{esc(run.name(c.lead))}</b> {kind}\n{esc(unit_name)}\n"
               f"{t('常住人口', 'Population')}: {approx}{_num(int(row['population']) if row is not None else 0)}\n"
               f"{t('平均/最长到牵头医院', 'Mean/max travel to lead')}: "
               f"{_num(row['mean_travel_min'] if row is not None else None)} / "
               f"{_num(row['max_travel_min'] if row is not None else None)} {t('分钟', 'min')}")
        pop = (tip + f"\n{t('乡镇（街道）', 'Townships')}: {len(codes)}"
               f"\n{t('接收派驻医师', 'Physicians received')}: {_num(int(row['physicians_received']) if row is not None else 0)}"
               f"\n{t('城市专家', 'City experts')}: {_num(int(row['experts_received']) if row is not None else 0)}"
               f"\n{rules_line}\n<a href=\"{esc(link)}\">{t('打开本县地图 →', 'Open the county map →')}</a>")
        colour = run.colors.get(c.id, "#999999")
        comm_feats.append(_feature(proj.geometry(geom), id=c.id, cls="pm-comm", tip=tip, pop=pop,
                                   style={"color": "#ffffff", "weight": 1, "fillColor": colour, "fillOpacity": 0.6,
                                          "opacity": 0.9}))
        if c.lead in run.fac.index:
            f = run.fac.loc[c.lead]
            ltip = (f"<b>{esc(f['name'])}</b>\n{_kind_label(f['kind'])} · {_grade_label(f['grade'])}\n"
                    f"{t('牵头', 'Leads')}: {kind} · {esc(unit_name)}")
            lpop = ltip + f"\n<a href=\"{esc(link)}\">{t('打开本县地图 →', 'Open the county map →')}</a>"
            lead_feats.append(_feature(proj.point(f.geometry.x, f.geometry.y), mk="fac", fk=_kind_letter(f["kind"]),
                                       gl=Grade(int(f["grade"])).level, lead=1, sm=1, id=f"lead:{c.id}", tip=ltip,
                                       pop=lpop))
        if is_grid:
            grid_lines.append(_feature(proj.geometry(geom.boundary), style={"color": "#5b2c83", "weight": 3, "opacity": 0.9,
                                                                               "fill": False}))
    county_lines = []
    for code, row in run.region.counties.sort_index().iterrows():
        geom = shapely.simplify(row.geometry.boundary, OVERVIEW_TOLERANCE_DEG)
        county_lines.append(_feature(proj.geometry(geom), style={"color": "#444444", "weight": 1.2, "opacity": 0.8,
                                                                  "dashArray": "5 4", "fill": False}))
    layers = [Layer("communities", t("医共体与网格", "Communities and grids"), comm_feats),
              Layer("counties", t("县（市、区）界", "County boundaries"), county_lines, interactive=False)]
    if grid_lines:
        layers.append(Layer("grids", t("城市医疗集团网格边界", "City grid boundaries"), grid_lines, interactive=False))
    layers.append(Layer("leads", t("牵头医院", "Lead hospitals"), lead_feats, kind="point"))
    geoms = list(run.region.counties.geometry.values)
    title = f"{r.region.name} — {r.rules.name}"
    unit_links = []
    for u in r.units:
        row = run.unit_rows.loc[u.id]
        mark = "pm-FAIL" if int(row["hard_violations"]) else "pm-PASS"
        unit_links.append(f'<li><a href="units/{esc(unit_filename(u.id))}">{esc(u.name)}</a> '
                          f'<span class="{mark}">{"✘" if int(row["hard_violations"]) else "✔"}</span> '
                          f'<span class="pm-cite">{int(row["communities"])} · {_num(int(row["population"]))}</span></li>')
    head = (f"<h1>{esc(r.region.name)}</h1><div>{t('县域医共体与城市医疗集团规划', 'County medical communities and city medical groups')}"
            f"</div><div class=\"pm-cite\">{t('规则', 'Rules')}: {esc(r.rules.name)}"
            f"{(' — ' + esc(r.rules.title)) if r.rules.title else ''}</div>"
            f"<details><summary>{t('各县（市、区）地图', 'County and city maps')} ({len(r.units)})</summary>"
            f'<ul class="pm-scroll" style="padding-left:16px;margin:2px 0">{"".join(unit_links)}</ul></details>')
    info = (f"<details open><summary>{t('主要指标', 'Key figures')}</summary>"
            f"{_figures_table(_figure_rows(run.facts.total, run.estimated_population, run.stages))}</details>"
            f"<details open><summary>{t('规则核查', 'Compliance')} ({t('独立核查', 'independent checker')})</summary>"
            f'<div class="pm-scroll">{_rule_list(_region_statuses(run))}</div></details>')
    legend = (f"<h2>{t('图例', 'Legend')}</h2>"
              f"<div>{t('相邻的医共体颜色不同', 'Neighbouring communities never share a colour')}</div>"
              + _legend_symbols(["lead", "grades", "county", "grid"])
              + f"<div>{t('点击医共体打开本县地图', 'Click a community to open its county map')}</div>")
    panels = [{"pos": "topleft", "html": head, "cls": "pm-title"},
              {"pos": "bottomright", "html": info, "cls": "pm-info"},
              {"pos": "bottomleft", "html": legend, "cls": "pm-legend"}]
    return Page(title, proj.bounds(geoms), layers, panels, _banner(run, run.notes), prefix="")


def _region_statuses(run: _Run) -> list[dict[str, object]]:
    out = []
    for s in run.result.all_statuses:
        mark = "PASS" if s.passed else ("SOFT" if not s.rule.hard else "FAIL")
        # heading() and describe() are bilingual Text: the zh span shows the Chinese, the en span the English.
        out.append({"rule_id": s.rule.id, "citation": s.rule.citation, "heading": tr(s.rule.heading(), "zh"),
                    "description": tr(s.rule.describe(), "en"), "mark": mark, "violations": [str(v) for v in s.violations]})
    return out


# --- county / city pages ----------------------------------------------------------------------------


def _facility_html(run: _Run, fid: str, *, popup: bool) -> str:
    f = run.fac.loc[fid]
    lead_of = [cid for cid, lead in run.lead_of.items() if lead == fid]
    parts = [f"<b>{esc(f['name'])}</b>", f"{_kind_label(f['kind'])} · {_grade_label(f['grade'])}"]
    if lead_of:
        parts.append("★ " + t("牵头医院", "Lead hospital") + ": " + ", ".join(esc(run.result.plan.units[run.comms[c].unit].name)
                                                                            if run.comms[c].unit in run.result.plan.units
                                                                            else esc(c) for c in lead_of))
    member = [c for c in run.members.get(fid, []) if c not in lead_of]
    if member:
        parts.append(t("所属医共体", "Member of") + ": " + ", ".join(esc(run.name(run.lead_of.get(c, c))) for c in member))
    if bool(f.get("synthesized", False)):
        parts.append(f'<span class="pm-syn">{t("合成数据", "synthesized")}</span>')
    if popup:
        rows = [(t("床位", "Beds"), _num(int(f["beds"] or 0))),
                (t("执业医师", "Physicians"), _num(sum(int(f.get(k, 0) or 0) for k in ("chief", "associate_chief",
                                                                                          "attending", "resident"))))]
        if fid in run.sent_by_source:
            rows.append((t("派出医师", "Physicians sent"), _num(int(run.sent_by_source[fid]))))
        if fid in run.received_by_target:
            rows.append((t("接收派驻医师", "Physicians received"), _num(int(run.received_by_target[fid]))))
        if bool(f.get("dialysis", False)):
            rows.append((t("血透", "Dialysis"), t("有", "yes")))
        parts.append(_figures_table(rows))
        parts.append(f'<span class="pm-cite">{esc(fid)}</span>')
    return "\n".join(parts)


def _township_status(run: _Run, code: str) -> list[tuple[str, str]]:
    """(mark, text) lines: the rules a township's own data answers (coverage, dispatch to its centers)."""
    out = []
    in_comm = code in run.assign.index
    if run.coverage_rule is not None:
        out.append(("PASS" if in_comm else "FAIL",
                    f"{esc(run.coverage_rule.id)} ({esc(run.coverage_rule.citation)}): "
                    + (t("已纳入医共体", "in a community") if in_comm else t("未纳入医共体", "in no community"))))
    rule = run.attending
    if rule is not None and in_comm:
        lead = str(run.assign.at[code, "lead_id"])
        for fid in sorted(run.centers_in.get(code, [])):
            if fid == lead:
                continue
            got = int(run.received_by_target.get(fid, 0))
            mark = "PASS" if got >= rule.min_per_center else ("FAIL" if rule.hard else "SOFT")
            out.append((mark, (f"{esc(rule.id)} ({esc(rule.citation)}): {esc(run.fac.at[fid, 'name'])} "
                              f"{t('接收', 'receives')} {got} / {rule.min_per_center}")))
    return out


def _township_html(run: _Run, code: str, *, popup: bool, dialysis: dict[str, tuple[float, float]]) -> str:
    """Tooltip of a township; the popup is the tooltip plus rule details, dialysis reach and data notes."""
    tw = run.towns.loc[code]
    a = run.assign.loc[code] if code in run.assign.index else None
    pop_est = bool(tw.get("population_estimated", False))
    poly_est = bool(tw.get("polygon_estimated", False))
    approx = "≈" if pop_est else ""
    est = f' <span class="pm-est">{t("估算", "estimated")}</span>' if pop_est else ""
    parts = [f"<b>{esc(tw['name'])}</b> <span class=\"pm-cite\">{esc(code)}</span>"]
    if a is not None:
        parts.append(f"{t('医共体', 'Community')}: {esc(run.name(str(a['lead_id'])))}")
    else:
        parts.append(f'<span class="pm-FAIL">{t("未纳入医共体", "In no community")}</span>')
    parts.append(f"{t('常住人口', 'Population')}: {approx}{_num(int(tw['population']))}{est}")
    if a is not None:
        parts.append(f"{t('到牵头医院', 'Travel to lead')}: {_num(float(a['travel_min']))} {t('分钟', 'min')}")
        parts.append(f"{t('接收派驻医师', 'Physicians received')}: {_num(int(a['received']))}")
    status = _township_status(run, code)
    if status:
        bad = [s for s in status if s[0] != "PASS"]
        parts.append(t("规则", "Rules") + ": " + (f'<span class="pm-PASS">{t("通过", "pass")}</span>' if not bad
                                                  else f'<span class="pm-FAIL">{len(bad)} {t("项未通过", "failing")}</span>'))
    if poly_est:
        parts.append(f'<span class="pm-est">{t("边界为估算（泰森多边形）", "estimated boundary (Voronoi cell)")}</span>')
    if not popup:
        return "\n".join(parts)
    parts += [f'<span class="pm-mark pm-{m}">{m}</span> {text}' for m, text in status]
    if code in dialysis:
        before, after = dialysis[code]
        parts.append(f"{t('最近血透点（前→后）', 'Nearest dialysis (before → after)')}: {_num(before)} → {_num(after)} "
                     f"{t('分钟', 'min')}")
    if str(tw.get("seat_source", "")) == "synthesized":
        parts.append(f'<span class="pm-est">{t("驻地位置为估算", "seat location estimated")}</span>')
    return "\n".join(parts)


def _nearest(run: _Run, seats, ids: list[str]) -> np.ndarray:
    """Minutes from each township seat to the nearest of the facilities `ids` (inf without any)."""
    from .travel import Points

    if not ids:
        return np.full(len(seats), np.inf)
    f = run.fac.loc[ids]
    return run.result.travel.minutes(seats, Points.from_xy(ids, f.geometry.x, f.geometry.y)).min(axis=1)


def _dialysis_minutes(run: _Run, unit: Unit) -> tuple[dict[str, tuple[float, float]], list[dict[str, Any]]]:
    """Township -> minutes to the nearest dialysis site before and after; and the site rows of the unit."""
    from .travel import Points

    out: dict[str, tuple[float, float]] = {}
    sites = []
    new_sites = run.facts.sites
    for county in unit.county_codes:
        d = run.dialysis.get(county)
        if d is None:
            continue
        towns = run.region.townships_of(county)
        if towns.empty:
            continue
        seats = Points.from_xy(list(towns.index), towns["seat_lon"], towns["seat_lat"])
        before_ids = list(d.existing)
        after_ids = before_ids + list(d.sites)

        b, a = _nearest(run, seats, before_ids), _nearest(run, seats, after_ids)
        for code, x, y in zip(towns.index, b, a):
            out[str(code)] = (float(x) if np.isfinite(x) else float("nan"), float(y) if np.isfinite(y) else float("nan"))
        served = dict(zip(new_sites.loc[new_sites["county"] == county, "facility_id"],
                          new_sites.loc[new_sites["county"] == county, "residents_served"]))
        for fid in d.existing:
            sites.append({"fid": fid, "new": False, "served": None, "county": d})
        for fid in d.sites:
            sites.append({"fid": fid, "new": True, "served": int(served.get(fid, d.served.get(fid, 0))), "county": d})
    return out, sites


def unit_page(run: _Run, unit: Unit) -> Page:
    """One county's communities (or one city's grids) with facilities, dispatch, dialysis and compliance."""
    r = run.result
    proj = _Proj(run.opts.gcj02, UNIT_DIGITS)
    towns = run.towns.loc[[x for x in unit.townships if x in run.towns.index]]
    up = r.plan.units.get(unit.id)
    comms = list(up.communities) if up is not None and up.solved else []
    colour_of = {x: run.colors.get(c.id, "#999999") for c in comms for x in c.townships}
    dia_minutes, dia_sites = _dialysis_minutes(run, unit)
    is_city = unit.scope == "city"

    town_feats = []
    for code, tw in towns.iterrows():
        est = bool(tw.get("polygon_estimated", False))
        style = {"color": "#ffffff", "weight": 1.2, "opacity": 1.0, "fillColor": colour_of.get(code, "#dddddd"),
                 "fillOpacity": 0.6 if code in colour_of else 0.25}
        if est:
            style["dashArray"] = "4 3"
        town_feats.append(_feature(proj.geometry(tw.geometry), id=str(code), cls=f"pm-t-{code}",
                                   tip=_township_html(run, str(code), popup=False, dialysis=dia_minutes),
                                   pop=_township_html(run, str(code), popup=True, dialysis=dia_minutes), style=style))
    outline_feats = []
    for c in comms:
        codes = [x for x in c.townships if x in towns.index]
        if codes:
            geom = shapely.union_all(towns.loc[codes].geometry.values).boundary
            outline_feats.append(_feature(proj.geometry(geom), style={"color": "#5b2c83" if is_city else "#222222",
                                                                       "weight": 3, "opacity": 0.9, "fill": False}))
    county_feats = []
    for code in unit.county_codes:
        if code in run.region.counties.index:
            geom = run.region.counties.at[code, "geometry"].boundary
            county_feats.append(_feature(proj.geometry(geom), style={"color": "#444444", "weight": 1.5, "opacity": 0.8,
                                                                      "dashArray": "6 4", "fill": False}))

    leads = {c.lead for c in comms}
    fac_here = unit.facilities.sort_index()
    lead_feats, hosp_feats, center_feats, clinic_feats = [], [], [], []
    for fid in sorted(leads | set(fac_here.index)):
        if fid not in run.fac.index:
            continue
        f = run.fac.loc[fid]
        letter = _kind_letter(f["kind"])
        props = {"mk": "fac", "fk": letter, "gl": Grade(int(f["grade"])).level, "id": f"fac:{fid}",
                 "dia": 1 if bool(f.get("dialysis", False)) else None}
        geom = proj.point(f.geometry.x, f.geometry.y)
        if fid in leads:
            lead_feats.append(_feature(geom, lead=1, tip=_facility_html(run, fid, popup=False),
                                       pop=_facility_html(run, fid, popup=True), **props))
        elif letter == "v":
            # Many per county: the tooltip is built in the page from the plain name (set as text).
            clinic_feats.append(_feature(geom, mk="fac", fk="v", nm=str(f["name"]),
                                         syn=1 if bool(f.get("synthesized", False)) else None))
        elif letter == "c":
            center_feats.append(_feature(geom, tip=_facility_html(run, fid, popup=False),
                                         pop=_facility_html(run, fid, popup=True), **props))
        else:
            hosp_feats.append(_feature(geom, tip=_facility_html(run, fid, popup=False),
                                       pop=_facility_html(run, fid, popup=True), **props))

    cids = {c.id for c in comms}
    roster = run.facts.roster[run.facts.roster["community_id"].isin(cids)]
    dispatch_feats, dispatch_labels = _roster_lines(run, proj, roster[roster["role"] == "attending"], expert=False)
    expert_feats, expert_labels = _roster_lines(run, proj, roster[roster["role"] == "expert"], expert=True)

    site_feats, reach_feats = [], []
    cov_min = run.dialysis_rule.coverage_minutes if run.dialysis_rule is not None else None
    for s in dia_sites:
        f = run.fac.loc[s["fid"]]
        lines = [f"<b>{esc(f['name'])}</b>",
                 t("新增血透点", "New dialysis site") if s["new"] else t("现有血透点", "Existing dialysis site")]
        if s["new"]:
            lines.append(f"{t('服务人口', 'Residents served')}: ≈{_num(int(s['served']))}")
        d = s["county"]
        lines.append(f"{esc(d.county_name)}: {t('可及人口', 'within reach')} {_num(int(d.covered_before))} → "
                     f"{_num(int(d.covered_after))}" + (f" (≤ {cov_min:g} {t('分钟', 'min')})" if cov_min else ""))
        if bool(f.get("synthesized", False)):
            lines.append(f'<span class="pm-syn">{t("合成数据", "synthesized")}</span>')
        site_feats.append(_feature(proj.point(f.geometry.x, f.geometry.y), mk="dia", st="new" if s["new"] else "old",
                                   id=f"dia:{s['fid']}", tip="\n".join(lines), pop="\n".join(lines)))
    if cov_min is not None:
        for code, (before, after) in sorted(dia_minutes.items()):
            if code not in towns.index:
                continue
            was, now = before <= cov_min, after <= cov_min
            if not now:
                continue
            label = t("原已可及", "already within reach") if was else t("新增可及", "newly within reach")
            tip = (f"<b>{esc(towns.at[code, 'name'])}</b>\n{label}\n{t('最近血透点', 'Nearest dialysis')}: "
                   f"{_num(before)} → {_num(after)} {t('分钟', 'min')}")
            reach_feats.append(_feature(proj.geometry(towns.at[code, "geometry"]), tip=tip,
                                        style={"color": "#08519c", "weight": 1, "opacity": 0.8,
                                               "fillColor": "#6baed6" if was else "#08519c", "fillOpacity": 0.45}))

    layers = [Layer("townships", t("乡镇（按网格着色）", "Townships by grid") if is_city
                    else t("乡镇（按医共体着色）", "Townships by community"), town_feats),
              Layer("outlines", (t("网格边界", "Grid boundaries") if is_city else t("医共体边界", "Community boundaries")),
                    outline_feats, interactive=False),
              Layer("counties", t("县（市、区）界", "County boundaries"), county_feats, interactive=False),
              Layer("leads", t("牵头医院", "Lead hospitals"), lead_feats, kind="point"),
              Layer("hospitals", t("其他医院", "Other hospitals"), hosp_feats, kind="point"),
              Layer("centers", t("乡镇卫生院、社区卫生服务中心", "Health centers"), center_feats, kind="point"),
              Layer("clinics", t("村卫生室", "Village clinics"), clinic_feats, kind="cluster"),
              Layer("dispatch", t("派驻医师", "Physicians dispatched"), dispatch_feats + dispatch_labels, kind="mixed"),
              Layer("experts", t("城市专家", "City experts"), expert_feats + expert_labels, kind="mixed"),
              Layer("dialysis", t("血透点", "Dialysis sites"), site_feats, kind="point"),
              Layer("reach", t("血透可及范围", "Within reach of dialysis"), reach_feats, show=False)]
    from .access.layers import access_layers

    layers += access_layers(run, unit, proj)
    layers = [x for x in layers if x.features]

    row = run.unit_rows.loc[unit.id].to_dict()
    row["unit"] = unit.id
    objective = ""
    if up is not None and up.objective is not None:
        objective = (f"<div class=\"pm-cite\">{t('目标值', 'Objective')}: {up.objective:,.0f} "
                     f"{t('人·分钟', 'person-minutes')}" + (f", gap {up.gap:.2%}" if up.gap else "") + "</div>")
    kind = t("城市医疗集团网格", "City medical group grids") if is_city else t("县域医共体", "County medical communities")
    head = (f"<h1>{esc(unit.name)}</h1><div>{kind} · {esc(r.region.name)}</div>"
            f"<div class=\"pm-cite\">{t('规则', 'Rules')}: {esc(r.rules.name)}</div>"
            f'<div><a href="../index.html">← {t("返回总览", "Back to the overview")}</a></div>')
    info = (f"<details open><summary>{t('主要指标', 'Key figures')}</summary>"
            f"{_figures_table(_figure_rows(row, run.estimated_population, run.stages))}{objective}</details>"
            f"<details open><summary>{t('规则核查', 'Compliance')} ({t('本单元', 'this unit')})</summary>"
            f'<div class="pm-scroll">{_rule_list(run.unit_statuses(unit))}</div></details>')
    comm_rows = []
    for c in comms:
        cr = run.comm_rows.loc[c.id] if c.id in run.comm_rows.index else None
        approx = "≈" if cr is not None and bool(cr["population_estimated"]) else ""
        comm_rows.append(f'<div class="row"><span class="sw" style="background:{run.colors.get(c.id, "#999")}"></span>'
                         f"{esc(run.name(c.lead))} <span class=\"pm-cite\">{len(c.townships)} · {approx}"
                         f"{_num(int(cr['population']) if cr is not None else 0)}</span></div>")
    symbols = ["lead", "grades", "center", "clinic"]
    symbols += ["dispatch"] if dispatch_feats else []
    symbols += ["experts"] if expert_feats else []
    symbols += ["dialysis"] if site_feats else []
    symbols += ["grid" if is_city else "community", "estimated"]
    legend = (f"<h2>{t('图例', 'Legend')}</h2><h3>{(t('网格', 'Grids') if is_city else t('医共体', 'Communities'))}"
              f" ({t('牵头医院 · 乡镇数 · 人口', 'lead · townships · population')})</h3>"
              + "".join(comm_rows) + "<h3>" + t("符号", "Symbols") + "</h3>" + _legend_symbols(symbols))
    panels = [{"pos": "topleft", "html": head, "cls": "pm-title"},
              {"pos": "bottomright", "html": info, "cls": "pm-info"},
              {"pos": "bottomleft", "html": legend, "cls": "pm-legend"}]
    geoms = list(towns.geometry.values) or list(run.region.counties.loc[list(unit.county_codes)].geometry.values)
    return Page(f"{unit.name} — {r.region.name}", proj.bounds(geoms), layers, panels, _banner(run, run.notes), prefix="../")


def _roster_lines(run: _Run, proj: _Proj, rows: pd.DataFrame, *, expert: bool) -> tuple[list[dict], list[dict]]:
    """Lines from each sending hospital to each receiver, with the count (tooltip and a label near the receiver)."""
    lines, labels = [], []
    if rows.empty:
        return lines, labels
    style = {"color": "#6a1b9a" if expert else "#d35400", "opacity": 0.85}
    for (src, dst), grp in rows.groupby(["from_id", "to_id"], sort=True):
        if src not in run.fac.index or dst not in run.fac.index:
            continue
        n = int(grp["count"].sum())
        a, b = run.fac.at[src, "geometry"], run.fac.at[dst, "geometry"]
        detail = ", ".join(f"{esc(title)} {esc(spec)} ×{int(k)}" for (title, spec), k in
                           grp.groupby(["title", "specialty"], sort=True)["count"].sum().items())
        minutes = float(grp["travel_min"].max())
        who = t("城市专家", "city experts") if expert else t("名医师", "physicians")
        tip = (f"<b>{esc(run.name(src))}</b> → <b>{esc(run.name(dst))}</b>\n{n} {who}: {detail}\n"
               f"{t('路程', 'Travel')}: {_num(minutes)} {t('分钟', 'min')}")
        if bool(grp["borrowed"].astype(str).str.lower().eq("true").any()):
            tip += f"\n{t('借调自城市医院', 'borrowed from a city hospital')}"
        s = dict(style, weight=min(2 + n, 8))
        if expert:
            s["dashArray"] = "6 4"
        lines.append(_feature(proj.line([(a.x, a.y), (b.x, b.y)]), tip=tip, pop=tip, style=s,
                              cls="pm-expert" if expert else "pm-dispatch"))
        k = 0.8
        labels.append(_feature(proj.point(a.x + k * (b.x - a.x), a.y + k * (b.y - a.y)), mk="cnt", n=n,
                               x=1 if expert else None))
    return lines, labels


# --- folium ------------------------------------------------------------------------------------------


class _Init(MacroElement):
    """Calls PM.init(map, config) after every layer: panels and the language button."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        PM.init({{ this._parent.get_name() }}, {{ this.config }});
        {% endmacro %}
    """)

    def __init__(self, config: str) -> None:
        super().__init__()
        self._name = "PlannerInit"
        self.config = config


def _tile_layers(opts: MapOptions) -> list[folium.TileLayer]:
    if opts.tiles == "osm":
        return [folium.TileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", name="OpenStreetMap",
                                 attr="&copy; OpenStreetMap contributors", max_zoom=19)]
    if opts.tiles == "amap":
        return [folium.TileLayer("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                                 name="高德地图 Amap", attr="&copy; 高德地图 AutoNavi (GCJ-02)", subdomains="1234", max_zoom=18)]
    if opts.tiles == "tianditu":
        key = opts.tianditu_key
        base = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
                "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + str(key))
        return [folium.TileLayer(base.replace("{layer}", "vec"), name="天地图 Tianditu", attr="&copy; 天地图 Tianditu",
                                 subdomains="01234567", max_zoom=18),
                folium.TileLayer(base.replace("{layer}", "cva"), name="天地图注记", attr="&copy; 天地图 Tianditu",
                                 subdomains="01234567", max_zoom=18, overlay=True, control=False)]
    return []


@contextlib.contextmanager
def _utf8_json() -> Iterator[None]:
    """Let folium's `tojson` write Chinese as UTF-8 rather than \\uXXXX (half the bytes), for one render.

    The filter still escapes <, >, & and ' (Jinja's htmlsafe_json_dumps), so data cannot close
    the script element. The setting is folium's shared template environment; it is restored after.
    """
    env = folium.GeoJson._template.environment
    old = env.policies.get("json.dumps_kwargs")
    env.policies["json.dumps_kwargs"] = {**(old or {}), "ensure_ascii": False}
    try:
        yield
    finally:
        env.policies["json.dumps_kwargs"] = old


def _fix_ids(root: Figure) -> None:
    """Replace folium's random element ids by their order in the tree, so output is byte-identical."""
    counter = 0

    def walk(el: Any) -> None:
        nonlocal counter
        el._id = f"{counter:05d}"
        counter += 1
        for child in list(el._children.values()):
            walk(child)

    walk(root)


def page_html(page: Page, opts: MapOptions) -> str:
    """A Page as HTML: folium map, vendored Leaflet (inlined or linked), panels; no random ids."""
    m = folium.Map(location=None, tiles=None, control_scale=True, prefer_canvas=False, zoom_control=True,
                   maxZoom=18, minZoom=4)  # a Leaflet option: marker clusters need it even without tiles
    m.default_js, m.default_css = [], []
    fig = m.get_root()
    fig.header.add_child(Element(f"<title>{esc(page.title)}</title>\n"), name="pm_title")
    fig.header.add_child(Element(_asset_head(opts.offline, page.prefix)), name="pm_assets")
    used = sorted(set(_TOKEN.findall(json.dumps([[x.features for x in page.layers], page.panels], ensure_ascii=False))))
    labels = {k: _label_html(k) for k in used if k in _LABELS}
    fig.header.add_child(Element(f"<script>PM.labels = {_json(labels)};</script>\n"), name="pm_labels")
    for tile in _tile_layers(opts):
        tile.add_to(m)
    for layer in page.layers:
        collection = {"type": "FeatureCollection", "features": layer.features}
        common = {"on_each_feature": JsCode("PM.bind")}
        if layer.kind == "cluster":
            cluster = MarkerCluster(name=expand(layer.label), show=layer.show, icon_create_function="PM.cluster",
                                    options={"maxClusterRadius": 45, "disableClusteringAtZoom": 15,
                                             "showCoverageOnHover": False, "chunkedLoading": True})
            cluster.default_js, cluster.default_css = [], []
            folium.GeoJson(collection, control=False, point_to_layer=JsCode("PM.point"), **common).add_to(cluster)
            cluster.add_to(m)
        elif layer.kind in ("point", "mixed"):
            folium.GeoJson(collection, name=expand(layer.label), show=layer.show, point_to_layer=JsCode("PM.point"),
                           class_name=f"pm-{layer.key}", **common).add_to(m)
        else:
            kwargs: dict[str, Any] = {"class_name": f"pm-{layer.key}"}
            if not layer.interactive:
                kwargs["interactive"] = False
            folium.GeoJson(collection, name=expand(layer.label), show=layer.show, **kwargs, **common).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    # Keep the area clear of the panels: the title and legend on the left, the figures on the right.
    m.fit_bounds(page.bounds, padding_top_left=(40, 30), padding_bottom_right=(300, 30))
    if page.banner:
        fig.html.add_child(Element(expand(page.banner)), name="pm_banner")
    _fix_ids(fig)
    m.add_child(_Init(_json({"panels": page.panels, "blank": opts.tiles == "none"})))
    with _utf8_json():
        text = fig.render()
    text = text.replace("<html>", f'<html lang="{"en" if opts.lang == "en" else "zh-CN"}" class="lang-{opts.lang}">', 1)
    if _UUID_RE.search(text.split("</head>", 1)[-1]):
        msg = "a random folium element id survived in the page; the output would not be reproducible"
        raise RuntimeError(msg)
    return text


# --- runs and plan folders ---------------------------------------------------------------------------------


def map_pages(result, *, lang: str = "zh", offline: bool = False, tiles: str = "osm", tianditu_key: str | None = None,
              notes: Sequence[str] = (), facts: PlanFacts | None = None,
              units: Sequence[str] | None = None, jobs: int = 1) -> dict[str, str]:
    """Every page of a run as HTML text, by path relative to the maps folder (pure; nothing is written).

    Parameters
    ----------
    result
        A RunResult.
    lang, offline, tiles, tianditu_key
        See MapOptions.
    notes
        Extra lines for the banner (already HTML).
    facts
        Figures from report.plan_facts, when already computed.
    units
        Only these unit pages (default: every unit).
    jobs
        Worker processes for the unit pages. Workers are forked (on Linux) so that they share
        the run's data instead of receiving a copy; the pages are the same whatever the number.
    """
    opts = MapOptions(lang, offline, tiles, tianditu_key).checked()
    facts = facts or plan_facts(result)
    run = _Run(result, facts, community_colors(result.plan, result.graph), opts, list(notes))
    pages = {"index.html": page_html(overview_page(run), opts)}
    chosen = [u for u in result.units if units is None or u.id in units]
    if jobs > 1 and len(chosen) > 1 and "fork" in multiprocessing.get_all_start_methods():
        global _FORKED_RUN
        _FORKED_RUN = run
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                parts = pool.map(_unit_pages, [list(range(k, len(chosen), jobs)) for k in range(jobs)])
        finally:
            _FORKED_RUN = None
        rendered = {rel: html for part in parts for rel, html in part}
        for u in chosen:
            rel = f"units/{unit_filename(u.id)}"
            pages[rel] = rendered[rel]
        return pages
    for u in chosen:
        pages[f"units/{unit_filename(u.id)}"] = page_html(unit_page(run, u), opts)
    return pages


_FORKED_RUN: _Run | None = None


def _unit_pages(positions: list[int]) -> list[tuple[str, str]]:
    """Pages of some units, in a forked worker that inherited the parent's _Run."""
    run = _FORKED_RUN
    assert run is not None
    chosen = list(run.result.units)
    return [(f"units/{unit_filename(chosen[k].id)}", page_html(unit_page(run, chosen[k]), run.opts)) for k in positions]


def render_run(result, maps_dir: str | Path, *, lang: str = "zh", offline: bool = False, tiles: str = "osm",
               tianditu_key: str | None = None, notes: Sequence[str] = (),
               units: Sequence[str] | None = None, facts: PlanFacts | None = None, jobs: int = 1) -> list[Path]:
    """Write the maps of a run: `index.html` (region overview) and `units/<unit>.html` per county or city grid.

    Parameters
    ----------
    result
        A RunResult (planner.pipeline.run_plan).
    maps_dir
        The folder to write into (created if missing).
    lang
        "zh" (default) or "en": the language shown first; each page has a button to switch.
    offline
        True: each page is one self-contained HTML file (Leaflet, scripts, styles inlined) that
        opens on a PC with no network. False: pages share `assets/` beside them (no CDN).
    tiles
        "none", "osm" (default), "tianditu" (needs `tianditu_key`) or "amap" (overlays shifted to GCJ-02).
    tianditu_key
        Browser key for Tianditu.
    notes
        Extra banner lines (HTML), e.g. how a plan folder was re-read.
    units
        Only these unit pages (default: every county and city unit); the overview always.
    facts
        Figures from report.plan_facts, when already computed (e.g. for write_reports).

    Returns
    -------
    list of Path
        index.html first, then the unit pages, then the shared assets (if any).

    Raises
    ------
    MapError
        For an unknown option or Tianditu without a key.
    """
    pages = map_pages(result, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key, notes=notes,
                      units=units, facts=facts, jobs=jobs)
    out = Path(maps_dir)
    written = [io.write_text(out / rel, text) for rel, text in pages.items()]
    if not offline:
        written += [io.write_bytes(out / "assets" / name, data) for name, data in sorted(asset_files().items())]
    return written


def load_run(plan_dir: str | Path):
    """Rebuild a RunResult from a plan folder written by `planner plan`.

    The region (with the user's input files, checked unchanged) and the rule file are re-loaded
    as plan.json records them; the plan is re-checked by the independent checker
    (pipeline.check_file); the roster and dialysis sites are read from roster.csv and
    dialysis_sites.csv / dialysis_coverage.csv (check_file re-checks them too) and reserved
    capacity is re-derived from the plan.
    Solver statuses of dispatch and dialysis are not stored in the folder (status None, as for
    any plan read from a file). Returns (result, notes), notes saying what differs from the run.
    """
    from . import planfile
    from .adjacency import contiguity_graph
    from .capacity import reserved_capacity
    from .check import check_capacity
    from .pipeline import RunResult, check_file, plan_inputs
    from .rulefile import load_rules

    folder = Path(plan_dir)
    if not (folder / planfile.PLAN_JSON).exists():
        raise MapError(f"{folder} is not a plan folder (no {planfile.PLAN_JSON}); give a folder written by `planner plan`")
    saved = planfile.read_plan(folder)
    rules = load_rules(saved.rules_name)
    region, travel = plan_inputs(saved, rules)   # with the user's files the plan was made from, if any
    checked_plan, units, statuses = check_file(str(folder), rules.path, region=region, travel=travel)
    notes = []
    # The saved plan keeps its solver statuses; it is replaced by the checker's re-cut only when the
    # current rules cut the region into other units (e.g. city grids of other districts).
    same_units = {u.id for u in units} == set(saved.units) and all(
        set(saved.units[u.id].assignment()) <= set(u.townships) for u in units)
    plan = saved if same_units else checked_plan
    if saved.meta.get("rules_digest") and saved.meta.get("rules_digest") != rules.digest:
        notes.append(t("规则文件在规划后已修改，按当前规则重新核查", "the rule file changed since the plan was made; re-checked "
                       "under the current rules"))
    if saved.meta.get("travel") and saved.meta.get("travel") != travel.describe():
        # A plan made before plan.json recorded its OD matrix or road file, or under changed travel rules.
        notes.append(t("路程时间已按当前设置重算", "travel minutes recomputed") + f": {travel.describe()}")
    graph = contiguity_graph(region.townships, region.counties)
    # check_file re-checks the communities and the saved roster and dialysis sites; capacity is re-derived.
    community = [s for s in statuses if type(s.rule).stage == "communities"]
    services = [s for s in statuses if type(s.rule).stage not in ("communities", "access")]
    result = RunResult(region, rules, units, plan, community, graph, travel, out_dir=folder)
    result.dispatch = _read_dispatch(folder, region, plan)
    result.dialysis = _read_dialysis(folder, region)
    result.capacity = reserved_capacity(region, plan, list(rules.rules))
    result.service_statuses = services + check_capacity(result.capacity, list(rules.rules))
    from .access.outputs import load_access

    result.access = load_access(folder)
    result.access_statuses = [s for s in statuses if type(s.rule).stage == "access"]
    return result, notes


def _table(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    return io.read_tables(path)[0].frame


def _read_dispatch(folder: Path, region, plan: Plan) -> list:
    from .dispatch import DispatchResult, RosterRow, communities_by_city
    from .vocabulary import parse_title

    frame = _table(folder / "roster.csv")
    short = _table(folder / "shortfalls.csv")
    if frame is None:
        return []
    city_of_comm = {c.id: city for city, cs in communities_by_city(region, plan).items() for c in cs}
    by_city: dict[str, DispatchResult] = {}

    def get(city: str) -> DispatchResult:
        if city not in by_city:
            by_city[city] = DispatchResult(city, region.city_name(city), None, None, None, None, 0.0)  # type: ignore[arg-type]
        return by_city[city]

    for r in frame.itertuples(index=False):
        city = city_of_comm.get(str(r.community_id))
        if city is None:
            continue
        title = parse_title(r.title).value.value
        get(city).rows.append(RosterRow(str(r.role), str(r.community_id), str(r.from_id), str(r.to_id), title,
                                        str(r.specialty), int(r.count), float(r.travel_min),
                                        str(r.borrowed).lower() == "true"))
    if short is not None:
        names = {region.city_name(c): c for c in region.cities}
        for r in short.itertuples(index=False):
            city = names.get(str(r.city))
            if city is None:
                continue
            text = str(r.shortfall)
            if text.startswith("relaxation: "):
                get(city).relaxations.append(text[len("relaxation: "):])
            else:
                get(city).shortfalls.append(text)
    return [by_city[k] for k in sorted(by_city)]


def _read_dialysis(folder: Path, region) -> list:
    from .dialysis import DialysisResult
    from .milp import Status

    cover = _table(folder / "dialysis_coverage.csv")
    sites = _table(folder / "dialysis_sites.csv")
    if cover is None:
        return []
    fac = region.facilities
    out = []
    for r in cover.itertuples(index=False):
        county = str(r.county)
        if county not in region.counties.index:
            continue
        mine = sites[sites["county"] == county] if sites is not None else pd.DataFrame(columns=["facility_id"])
        here = fac[fac["county_code"] == county]
        d = DialysisResult(county, str(r.county_name), int(r.population), str(r.eligible).lower() == "true",
                           Status(r.status) if r.status else None,
                           sites=[str(x) for x in mine["facility_id"]],
                           existing=sorted(here.index[here["dialysis"].astype(bool)]),
                           covered_before=int(r.covered_before), covered_after=int(r.covered_after),
                           served={str(f): int(n) for f, n in zip(mine.get("facility_id", []), mine.get("residents_served", []))},
                           note=str(r.note or ""))
        d.travel_before_person_min = float(r.mean_min_before) * d.population
        d.travel_after_person_min = float(r.mean_min_after) * d.population
        out.append(d)
    return out


def render_plan_dir(plan_dir: str | Path, maps_dir: str | Path | None = None, *, lang: str = "zh", offline: bool = False,
                    tiles: str = "osm", tianditu_key: str | None = None, units: Sequence[str] | None = None) -> list[Path]:
    """Draw the maps of a plan folder (`planner map PLAN`) into `maps_dir`, by default PLAN/maps.

    Same options as render_run; the plan is re-read and re-checked by `load_run`, and the
    pages say so when the rule file changed since the plan was made.
    """
    MapOptions(lang, offline, tiles, tianditu_key).checked()
    result, notes = load_run(plan_dir)
    target = Path(maps_dir) if maps_dir is not None else Path(plan_dir) / "maps"
    return render_run(result, target, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key, notes=notes,
                      units=units)


# --- diff ------------------------------------------------------------------------------------------------


def diff_page(before: Plan, after: Plan, region, opts: MapOptions) -> Page:
    """What moved between two plans: townships whose lead changed, leads added and removed, a summary."""
    from .diff import diff_lines, diff_table

    proj = _Proj(opts.gcj02, OVERVIEW_DIGITS + 1)
    towns = region.townships
    fac = region.facilities
    moved = {r["township_code"]: r for r in diff_table(before, after)}
    a_of, b_of = before.community_of(), after.community_of()

    def lead_name(fid: str) -> str:
        return str(fac.at[fid, "name"]) if fid in fac.index else (fid or "—")

    units_touched = {c.unit for c in before.communities() + after.communities()
                     if any(x in moved for x in c.townships)}
    shown = [x for x in towns.index if (a_of.get(x) and a_of[x].unit in units_touched)
             or (b_of.get(x) and b_of[x].unit in units_touched)] if moved else list(towns.index)
    town_feats = []
    for code in sorted(shown):
        tw = towns.loc[code]
        geom = shapely.simplify(tw.geometry, 0.0005, preserve_topology=True)
        was, now = a_of.get(code), b_of.get(code)
        is_moved = code in moved
        tip = (f"<b>{esc(tw['name'])}</b> <span class=\"pm-cite\">{esc(code)}</span>\n"
               f"{t('调整前', 'Before')}: {esc(lead_name(was.lead) if was else '—')}\n"
               f"{t('调整后', 'After')}: {esc(lead_name(now.lead) if now else '—')}")
        if is_moved:
            tip += f'\n<span class="pm-moved">{t("已调整", "moved")}</span>'
        style = {"color": "#ffffff", "weight": 1, "fillColor": "#e53935" if is_moved else "#b0bec5",
                 "fillOpacity": 0.7 if is_moved else 0.35}
        town_feats.append(_feature(proj.geometry(geom), id=str(code), cls=f"pm-t-{code}" + (" pm-moved" if is_moved else ""),
                                   tip=tip, pop=tip, style=style))

    def outlines(plan: Plan, colour: str, dash: str | None) -> list[dict]:
        feats = []
        for c in plan.communities():
            if c.unit not in units_touched and moved:
                continue
            codes = [x for x in c.townships if x in towns.index]
            if codes:
                g = shapely.simplify(shapely.union_all(towns.loc[codes].geometry.values).boundary, 0.0005)
                style = {"color": colour, "weight": 2.5, "opacity": 0.9, "fill": False}
                if dash:
                    style["dashArray"] = dash
                feats.append(_feature(proj.geometry(g), style=style))
        return feats

    leads_a = {c.lead for c in before.communities()}
    leads_b = {c.lead for c in after.communities()}
    lead_feats = []
    for fid, state in sorted([(f, "added") for f in leads_b - leads_a] + [(f, "removed") for f in leads_a - leads_b]):
        if fid not in fac.index:
            continue
        f = fac.loc[fid]
        label = t("新增牵头医院", "Lead added") if state == "added" else t("不再牵头", "Lead removed")
        tip = f"<b>{esc(f['name'])}</b>\n{label}"
        lead_feats.append(_feature(proj.point(f.geometry.x, f.geometry.y), mk="fac", fk=_kind_letter(f["kind"]),
                                   gl=Grade(int(f["grade"])).level, lead=1 if state == "added" else None,
                                   id=f"{state}:{fid}", tip=tip, pop=tip))
    layers = [Layer("townships", t("乡镇（红色为调整）", "Townships (red: moved)"), town_feats),
              Layer("before", t("调整前边界", "Boundaries before"), outlines(before, "#555555", "6 4"), interactive=False),
              Layer("after", t("调整后边界", "Boundaries after"), outlines(after, "#111111", None), interactive=False),
              Layer("leads", t("牵头医院变化", "Lead changes"), lead_feats, kind="point")]
    layers = [x for x in layers if x.features]
    lines = diff_lines(before, after, region, limit=30)
    obj_a = sum(u.objective or 0.0 for u in before.units.values())
    obj_b = sum(u.objective or 0.0 for u in after.units.values())
    figures = [(t("调整的乡镇", "Townships moved"), _num(len(moved))),
               (t("新增牵头医院", "Leads added"), _num(len(leads_b - leads_a))),
               (t("不再牵头", "Leads removed"), _num(len(leads_a - leads_b))),
               (t("目标值（前）", "Objective before"), f"{obj_a:,.0f}"),
               (t("目标值（后）", "Objective after"), f"{obj_b:,.0f}"),
               (t("变化", "Change"), f"{obj_b - obj_a:+,.0f}")]
    details = "\n".join(esc(x) for x in lines)
    info = (f"<h1>{t('规划对比', 'Plan diff')}: {esc(region.name)}</h1>"
            f"<div class=\"pm-cite\">{esc(before.rules_name)} → {esc(after.rules_name)}</div>"
            f"{_figures_table(figures)}<details><summary>{t('明细', 'Details')}</summary>"
            f'<div class="pm-scroll pm-lines">{details}</div></details>')
    panels = [{"pos": "topleft", "html": info, "cls": "pm-title pm-diff"}]
    geoms = list(towns.loc[shown].geometry.values) if shown else list(region.counties.geometry.values)
    synthesized = bool(np.asarray(fac.get("synthesized", False), dtype=bool).any())
    banner = ('<div class="pm-banner" id="pm-banner"><b>' + t("设施为合成数据，并非真实机构",
              "Facilities are synthesized, not real institutions") + "</b></div>") if synthesized else ""
    return Page(f"{region.name} — diff", proj.bounds(geoms), layers, panels, banner, prefix="")


def _load_diff(before_dir: str | Path, after_dir: str | Path) -> tuple[Plan, Plan, Any]:
    from . import planfile, regions

    before, after = planfile.read_plan(before_dir), planfile.read_plan(after_dir)
    if before.region != after.region:
        raise MapError(f"the plans are of different regions ({before.region} and {after.region}); compare plans of one region")
    return before, after, regions.load(after.region)


def diff_summary(before_dir: str | Path, after_dir: str | Path, limit: int = 20) -> list[str]:
    """The lines of planner.diff.diff_lines for two plan folders."""
    from .diff import diff_lines

    before, after, region = _load_diff(before_dir, after_dir)
    return diff_lines(before, after, region, limit=limit)


def render_diff(before_dir: str | Path, after_dir: str | Path, out_html: str | Path, *, lang: str = "zh",
                offline: bool = False, tiles: str = "osm", tianditu_key: str | None = None) -> Path:
    """Write a map of what moved between two plan folders of one region (`planner diff`).

    Townships whose lead changed are red, leads added or removed are marked, both plans'
    boundaries are layers, and a panel gives the counts and the objective before and after.
    Only the units where something moved are drawn (the whole region when nothing did).
    Without `offline`, the shared assets are written to `assets/` beside `out_html`.

    Raises
    ------
    MapError
        When the plans are of different regions, or for a bad option.
    """
    opts = MapOptions(lang, offline, tiles, tianditu_key).checked()
    before, after, region = _load_diff(before_dir, after_dir)
    text = page_html(diff_page(before, after, region, opts), opts)
    out = Path(out_html)
    path = io.write_text(out, text)
    if not offline:
        for name, data in sorted(asset_files().items()):
            io.write_bytes(out.parent / "assets" / name, data)
    return path
