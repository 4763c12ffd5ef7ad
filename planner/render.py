"""Interactive maps of a plan (folium/Leaflet): a region overview, one page per county or city grid, and plan diffs.

Each page is a small shell (drawn once per run with folium: the map element, Leaflet and the
planner's runtime) plus the page's data (features, labels, panels) as JSON. With shared assets
the data of a unit page is its own file (`units/<unit>.js`), so a re-run rewrites only the data
of the units whose plan changed (`render_run(..., reuse=PREVIOUS_MAPS)`); offline pages inline
everything. Map layers of other subpackages plug in through `UNIT_LAYERS` (see `UnitLayerContext`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import json
import math
import multiprocessing
import os
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
import functools
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from . import __version__, io
from ._gc import fewer_collections
from .gcj02 import wgs84_to_gcj02
from .i18n import Text
from .mapstyle import MARK_ORDER, MARK_WORDS, STATUS_WORDS, MapError, MapOptions, grouped, minutes, wan
from .plan import Plan
from .region import positions_by
from .report import PlanFacts, cached_facts, cite, rule_applies
from .units import Unit
from .vocabulary import TCM_KINDS, FacilityKind, Grade

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#8cd17d", "#d37295", "#a0cbe8", "#ffbe7d", "#86bcb6")
"""Community colours (Tableau 10 and 4 lighter hues); more are generated when a plan needs them."""

OVERVIEW_TOLERANCE_DEG = 0.0025
"""Simplification of dissolved communities and county borders on the overview (about 250 m; a pixel is
about 1 km at zoom 7, the zoom that shows a province)."""

OVERVIEW_DIGITS = 4
"""Decimal places of overview coordinates (about 10 m)."""

UNIT_DIGITS = 5
"""Decimal places of county-page coordinates (about 1 m, the precision of the embedded data)."""

MANIFEST = "manifest.json"
"""The maps folder's record of what each data file was drawn from (for re-runs that reuse pages)."""

_JS = ("leaflet/leaflet.js", "leaflet.markercluster/leaflet.markercluster.js", "planner-map.js")
_CSS = ("leaflet/leaflet.css", "leaflet.markercluster/MarkerCluster.css",
        "leaflet.markercluster/MarkerCluster.Default.css", "planner-map.css")
_ASSET_DIR = Path(__file__).parent / "_assets"
_SHELL_FILE = "page-shell.html"
"""The page shell as folium draws it (`_folium_shell`), kept beside the assets: no page needs folium imported."""

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


@cache
def renderer_digest() -> str:
    """A digest of the drawing code and assets: pages drawn by another version are never reused."""
    h = hashlib.sha256(__version__.encode())
    for path in sorted([Path(__file__), Path(__file__).with_name("report.py"), Path(__file__).with_name("mapstyle.py"),
                        *(_ASSET_DIR / rel for rel in _JS + _CSS), _ASSET_DIR / _SHELL_FILE]):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _asset_head(offline: bool, prefix: str) -> str:
    if offline:
        css = "".join(f"<style>\n{_asset(rel)}\n</style>\n" for rel in _CSS)
        js = "".join(f"<script>\n{_asset(rel)}\n</script>\n" for rel in _JS)
    else:
        css = "".join(f'<link rel="stylesheet" href="{prefix}assets/{Path(rel).name}">\n' for rel in _CSS)
        js = "".join(f'<script src="{prefix}assets/{Path(rel).name}"></script>\n' for rel in _JS)
    return css + js


# --- small helpers ------------------------------------------------------------------------------


_HTML_SPECIAL = re.compile("[&<>\"']")


_HTML_SEARCH = _HTML_SPECIAL.search


def esc(value: object) -> str:
    """Text from data, escaped for HTML (names, messages)."""
    text = value if type(value) is str else str(value)     # a province's pages escape 200,000 texts
    # Most names have nothing to escape: one scan instead of html.escape's five replacements.
    return html.escape(text, quote=True) if _HTML_SEARCH(text) else text


_LABELS: dict[str, tuple[str, str]] = {}
_TOKEN = re.compile(r"%%([0-9a-f]{8})%%")
_TOKEN_BYTES = re.compile(_TOKEN.pattern.encode("ascii"))


def t(zh: str, en: str) -> str:
    """A label in both languages, as a short token (`%%<8 hex>%%`, a digest of the two texts).

    Pages carry each label's HTML once (`<span class="zh">…</span><span class="en">…</span>`,
    the page shows one language at a time) and the page's script expands the tokens in
    tooltips, popups, names and panels. Tooltips of a county page repeat the same dozen labels
    hundreds of times, so this halves their size.
    """
    return _token(zh, en)


@cache
def _token(zh: str, en: str) -> str:
    # Cached: a national run asks for the same few hundred labels millions of times.
    key = hashlib.sha1(f"{zh}\x00{en}".encode()).hexdigest()[:8]
    _LABELS[key] = (zh, en)
    return f"%%{key}%%"


def _label_html(key: str) -> str:
    zh, en = _LABELS[key]
    return f'<span class="zh">{esc(zh)}</span><span class="en">{esc(en)}</span>'


def expand(text: str) -> str:
    """Text with every label token replaced by its bilingual HTML."""
    return _TOKEN.sub(lambda m: _label_html(m.group(1)) if m.group(1) in _LABELS else m.group(0), text)


def msg(message: object) -> str:
    """A message from another part of the planner (violation, shortfall, explanation), escaped.

    A `planner.i18n.Text` shows its Chinese in Chinese mode and its English in English mode; a
    plain string (not yet translated by its producer) shows as written. Either way it is marked
    `pm-x`, so the language test can tell the producers' words from the maps' own.
    """
    if isinstance(message, Text) and message.zh != message.en:
        return (f'<span class="pm-x"><span class="zh">{_ids_marked(esc(message.zh))}</span>'
                f'<span class="en">{esc(message.en)}</span></span>')
    return f'<span class="pm-x">{esc(message)}</span>'


# Identifiers inside a Chinese message (rule ids such as villages.circuit, exception names such as
# secondary_capable_primary, file names): dotted or snake_case lower-case tokens, shown as ids.
_ID_TOKEN = re.compile(r"(?<![A-Za-z0-9_.@-])[a-z][a-z0-9]*(?:[._@][a-z0-9]+)+(?![A-Za-z0-9_@-])")


def _ids_marked(html: str) -> str:
    return _ID_TOKEN.sub(lambda m: f'<code class="pm-id">{m.group(0)}</code>', html)


def idc(value: object) -> str:
    """An identifier (rule id, facility id, code): shown small, as an id, in both languages."""
    return f'<code class="pm-id">{esc(value)}</code>'


def _by_text(fn: Callable[..., str]) -> Callable[..., str]:
    """`fn` of texts (`str` or `planner.i18n.Text`) remembered by each argument's type, text and Chinese
    (a `Text` hashes as its English alone): every county page words the same few dozen rules."""
    memo: dict[tuple, str] = {}

    @functools.wraps(fn)
    def remembered(*args: Any) -> str:
        key = tuple((type(a), str(a), getattr(a, "zh", None)) for a in args)
        got = memo.get(key)
        if got is None:
            got = fn(*args)
            if len(memo) < 4096:
                memo[key] = got
        return got

    return remembered


@_by_text
def cite_html(source: str) -> str:
    """A rule's citation: document title and clause in Chinese, the document's short name in English."""
    c = cite(source)
    return f'<span class="pm-cite"><span class="zh">{esc(c.zh)}</span><span class="en">{esc(c.en)}</span></span>'


def words(pair: tuple[str, str]) -> str:
    return t(pair[0], pair[1])


def status_label(status: object) -> str:
    return words(STATUS_WORDS.get(str(status), (str(status), str(status))))


def mark_label(mark: str) -> str:
    return words(MARK_WORDS.get(mark, (mark, mark)))


def _share(x: object) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):.1%}"


def unit_filename(unit_id: str) -> str:
    """The page of a unit under units/: "330782" -> "330782.html", "city:520100" -> "city_520100.html"."""
    return re.sub(r"[^0-9A-Za-z_-]", "_", unit_id) + ".html"


def _json(obj: object) -> str:
    """JSON safe inside a <script> element."""
    return _script_safe(_json_raw(obj))


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
# The C encoder that _ENCODER.encode makes on every call, made once (the same text; no circular-reference
# check, which plain data does not need): tens of thousands of small feature properties per province.
_C_ENCODE = (json.encoder.c_make_encoder(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True,
                                         False, True)
             if json.encoder.c_make_encoder is not None else None)
_STR = json.encoder.encode_basestring


def _json_raw(obj: object) -> str:
    """Compact JSON with sorted keys, not yet safe inside a <script> element (see `_script_safe`)."""
    if _C_ENCODE is None or isinstance(obj, str):
        return _ENCODER.encode(obj)
    return "".join(_C_ENCODE(obj, 0))


_KEY_JSON: dict[str, str] = {}
_STYLE_JSON: dict[tuple, str] = {}


def _value_json(v: Any) -> str:
    """One property value as `_json_raw` writes it inside an object (plain str, int, float and style dicts
    directly; anything else through the encoder)."""
    tv = type(v)
    if tv is str:
        return _STR(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if tv is int:
        return int.__repr__(v)
    if tv is float and math.isfinite(v):
        return float.__repr__(v)
    if tv is dict:
        # A style: its text cached by items and their types (1, 1.0 and True are equal keys, not equal JSON);
        # not with a zero among its values (0.0 and -0.0 are equal too), nor an unhashable value.
        try:
            key = (tuple(v.items()), tuple(map(type, v.values())))
            got = _STYLE_JSON.get(key)
        except TypeError:
            return _json_raw(v)
        if got is None:
            got = _json_raw(v)
            if len(_STYLE_JSON) < 4096 and 0 not in v.values():
                _STYLE_JSON[key] = got
        return got
    return _json_raw(v)


_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


_SCRIPT_ESCAPES_UTF8 = tuple((ch.encode("utf-8"), rep.encode("ascii")) for ch, rep in _SCRIPT_ESCAPES)


def _script_safe_bytes(data: bytes) -> bytes:
    """`_script_safe` of UTF-8 text, on its bytes."""
    for ch, rep in _SCRIPT_ESCAPES_UTF8:
        data = data.replace(ch, rep)
    return data


def _script_safe(text: str) -> str:
    """JSON text made safe inside a <script> element: <, >, & and the JavaScript line separators as escapes.

    The characters only occur inside JSON strings, and the escapes contain none of them, so
    escaping a whole page's data once gives the same text as escaping each of its parts.
    """
    for ch, rep in _SCRIPT_ESCAPES:
        text = text.replace(ch, rep)
    return text


def _grade_en(g: int) -> str:
    grade = Grade(int(g))
    if grade is Grade.UNRATED:
        return "unrated"
    word = {1: "primary", 2: "secondary", 3: "tertiary"}[grade.level]
    sub = {0: "", 1: " C", 2: " B", 3: " A"}[int(grade) % 10]
    return word + sub


@cache
def _kind_label(kind: str) -> str:
    k = FacilityKind(kind)
    return t(k.zh, k.value.replace("_", " "))


@cache
def _grade_label(g: int) -> str:
    return t(Grade(int(g)).zh, _grade_en(int(g)))


@cache
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


def _tip(*lines: str) -> str:
    """A tooltip: at most three short lines (the popup holds the rest)."""
    shown = [x for x in lines if x]
    if len(shown) > 3:
        raise ValueError(f"a tooltip has at most 3 lines, got {len(shown)}")
    return "<br>".join(shown)


def _pop(*lines: str) -> str:
    return "<br>".join(x for x in lines if x)


_FRAME_MEMO: dict[tuple[int, str], tuple[Any, int, Any]] = {}


def frame_memo(frame: pd.DataFrame, key: str, build: Callable[[pd.DataFrame], Any]) -> Any:
    """`build(frame)`, computed once per frame (and key) while the frame lives.

    Pages of a national run are drawn from the tables of the whole country: a look-up built
    once (in the parent, before the workers fork, when the parent asks first) replaces a scan
    of the table for each of 2,800 pages. A frame whose length changed is indexed again.
    """
    k = (id(frame), key)
    got = _FRAME_MEMO.get(k)
    if got is None or got[0]() is not frame or got[1] != len(frame):
        ref = weakref.ref(frame, lambda _r, k=k: _FRAME_MEMO.pop(k, None))
        got = _FRAME_MEMO[k] = (ref, len(frame), build(frame))
    return got[2]


def positions_of(frame: pd.DataFrame, keys: Iterable[str], column: str = "county") -> np.ndarray:
    """Positions of the rows of `frame` whose `column` (as text) is one of `keys`, ascending (indexed once per frame)."""
    if not len(frame) or column not in frame.columns:
        return np.zeros(0, dtype=np.intp)
    groups = frame_memo(frame, "rows_of:" + column,
                        lambda f: positions_by(f[column].astype(str).to_numpy()))
    parts = [groups[x] for x in dict.fromkeys(keys) if x in groups]
    if not parts:
        return np.zeros(0, dtype=np.intp)
    return np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]


def rows_of(frame: pd.DataFrame, keys: Iterable[str], column: str = "county") -> pd.DataFrame:
    """The rows of `frame` whose `column` (as text) is one of `keys`, in the frame's order (indexed once per frame)."""
    return frame.iloc[positions_of(frame, keys, column)]


def columns_of(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The frame's columns as NumPy arrays (made once per frame): taking a few rows of a few columns from
    these costs microseconds, where `DataFrame.iloc` of a wide frame costs a millisecond."""
    return frame_memo(frame, "columns_of", lambda f: {str(c): f[c].to_numpy() for c in f.columns})


def row_hashes(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> np.ndarray:
    """One 64-bit hash per row of the frame (index excluded), of all its columns or of those of `columns` it has,
    made once per frame (and columns)."""
    if columns is None:
        return frame_memo(frame, "row_hashes", lambda f: _hash_rows(f, index=False))
    present = [c for c in columns if c in frame.columns]
    return frame_memo(frame, "row_hashes:" + "\x1f".join(present), lambda f: _hash_rows(f[present], index=False))


def _hash_rows(frame: pd.DataFrame, *, index: bool) -> np.ndarray:
    """One 64-bit hash per row: of the values as they are (fast), else of their text (a cell pandas cannot hash).

    `categorize=False`: the same hashes (pandas hashes a text column's distinct values and spreads them, or
    every value; either gives each value its hash), without factorizing the mostly distinct text columns
    first: 浙江省's village tables 0.09 -> 0.06 s."""
    try:
        return pd.util.hash_pandas_object(frame, index=index, categorize=False).to_numpy(np.uint64)
    except TypeError:
        pass
    try:
        return pd.util.hash_pandas_object(frame.astype(str), index=index, categorize=False).to_numpy(np.uint64)
    except TypeError:  # an unhashable cell: hash the rows' text
        return np.array([hash(tuple(map(str, r))) for r in frame.itertuples(index=index)],
                        dtype=np.int64).view(np.uint64)


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

    def geojson(self, geoms: Sequence[shapely.Geometry]) -> list[str]:
        """GeoJSON geometry texts of many geometries at once (shifted, rounded)."""
        arr = np.asarray(list(geoms), dtype=object)
        if not len(arr):
            return []
        moved = shapely.transform(arr, self._coords)
        return [str(x) for x in shapely.to_geojson(moved)]

    def geometry(self, geom: shapely.Geometry) -> str:
        return self.geojson([geom])[0]

    def point(self, lon: float, lat: float) -> str:
        x, y = self.xy([lon], [lat])
        return f'{{"type":"Point","coordinates":[{float(x[0])!r},{float(y[0])!r}]}}'

    def points(self, lon: Any, lat: Any) -> list[str]:
        """GeoJSON Point texts of many points at once (as `point` gives each)."""
        x, y = self.xy(lon, lat)
        return [f'{{"type":"Point","coordinates":[{a!r},{b!r}]}}' for a, b in zip(x.tolist(), y.tolist())]

    def latlng(self, lon: float, lat: float) -> list[float]:
        x, y = self.xy([lon], [lat])
        return [float(y[0]), float(x[0])]

    def lines(self, paths: Sequence[Sequence[tuple[float, float]]], *, spaced: bool = False) -> list[str]:
        """GeoJSON LineString texts of many paths at once (shifted, rounded; one projection for all).

        Compact (the village layers) or, with ``spaced``, as `json.dumps` writes them (the pages'
        dispatch and courier lines); either way the floats as `repr` gives them, as `json` does.
        """
        if not paths:
            return []
        x, y = self.xy([p[0] for path in paths for p in path], [p[1] for path in paths for p in path])
        xs, ys = x.tolist(), y.tolist()
        comma, colon = (", ", ": ") if spaced else (",", ":")
        starts = np.cumsum([0] + [len(p) for p in paths[:-1]]).tolist()
        if not (np.isfinite(x).all() and np.isfinite(y).all()):     # NaN and Infinity: json.dumps' words
            return [json.dumps({"type": "LineString", "coordinates": [[xs[i], ys[i]] for i in range(k, k + len(path))]},
                               separators=(comma, colon))
                    for k, path in zip(starts, paths)]
        head = '{"type"' + colon + '"LineString"' + comma + '"coordinates"' + colon + "["
        return [head + comma.join(f"[{xs[i]!r}{comma}{ys[i]!r}]" for i in range(k, k + len(path))) + "]}"
                for k, path in zip(starts, paths)]

    def line(self, pts: Sequence[tuple[float, float]]) -> str:
        """A LineString's text as `json.dumps` writes it (spaced: the pages' dispatch and courier lines)."""
        return self.lines([pts], spaced=True)[0]

    def bounds(self, geoms: Sequence[shapely.Geometry]) -> list[list[float]]:
        minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(list(geoms), dtype=object))
        x, y = self.xy([minx, maxx], [miny, maxy])
        return [[float(y[0]), float(x[0])], [float(y[1]), float(x[1])]]


def _feature(geometry: str, **props: Any) -> str:
    """A GeoJSON feature as JSON text (geometry already serialized); a popup that extends the tooltip
    is stored as the extra part only (`px`). The text is made script-safe with the page's data
    (`Page.data_json`), once for the whole page."""
    tip, pop = props.get("tip"), props.get("pop")
    if tip is not None and pop is not None and pop.startswith(tip):
        props["px"] = pop[len(tip):]
        del props["pop"]
    # The properties' JSON written here, key by key in sorted order (the text `_json_raw` gives the dict):
    # a province has 80,000 features, and most of their styles repeat.
    parts = []
    for k in sorted(props):
        v = props[k]
        if v is None:
            continue
        kj = _KEY_JSON.get(k)
        if kj is None:
            kj = _KEY_JSON[k] = _STR(k) + ":"
        parts.append(kj + _value_json(v))
    return '{"geometry":' + geometry + ',"properties":{' + ",".join(parts) + '},"type":"Feature"}'


def feature_maker(varying: Sequence[str], **fixed: Any) -> Callable[..., str]:
    """`make(geometry, tip, pop, *values)`: the text of `_feature(geometry, tip=tip, pop=pop, **fixed,
    **dict(zip(varying, values)))`, with everything but the geometry, the tooltip, the popup and the
    `varying` properties written once (a village layer has thousands of features of a few styles).
    """
    fixed = {k: v for k, v in fixed.items() if v is not None and k not in varying}
    slots = {*varying, "tip", "px"}
    pieces, order, text = [], [], ',"properties":{'
    for k in sorted(slots | set(fixed)):
        text += ("" if text.endswith("{") else ",") + _STR(k) + ":"
        if k in slots:
            pieces.append(text)
            order.append(k)
            text = ""
        else:
            text += _value_json(fixed[k])
    tail = text + '},"type":"Feature"}'
    names = tuple(varying)

    def make(geometry: str, tip: str, pop: str, *values: Any) -> str:
        if not (type(tip) is str and type(pop) is str and pop.startswith(tip)) or None in values:
            return _feature(geometry, tip=tip, pop=pop, **fixed, **dict(zip(names, values)))
        got = dict(zip(names, values))
        got["tip"], got["px"] = tip, pop[len(tip):]
        return '{"geometry":' + geometry + "".join([p + _value_json(got[k]) for p, k in zip(pieces, order)]) + tail

    return make


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


def _preferred(cid: str, k: int) -> int:
    return int(hashlib.sha1(cid.encode()).hexdigest()[:8], 16) % k


def community_colors(plan: Plan, graph: nx.Graph, palette: Sequence[str] = PALETTE) -> dict[str, str]:
    """Community id -> colour: adjacent communities never share one, nor do two of one county or city.

    Communities are coloured one by one, most constrained first (neighbours, ties by id); each
    takes the colour its id hashes to when no coloured neighbour has it, else the next free
    one. The same plan always gets the same colours, and a community keeps its colour in a
    smaller run (one county) unless a neighbour took it in the larger one. Distinct colours
    within a unit let its legend name every community or grid. More colours than the palette
    get extra hues.
    """
    g = community_graph(plan, graph)
    by_unit: dict[str, list[str]] = {}
    for c in plan.communities():
        by_unit.setdefault(c.unit, []).append(c.id)
    for ids in by_unit.values():
        ids = sorted(ids)
        g.add_edges_from((a, b) for i, a in enumerate(ids) for b in ids[i + 1:])
    order = sorted(g.nodes, key=lambda n: (-g.degree(n), n))
    k = len(palette)
    index: dict[str, int] = {}
    for n in order:
        taken = {index[m] for m in g.neighbors(n) if m in index}
        start = _preferred(n, k)
        choice = next((c % k for c in range(start, start + k) if c % k not in taken), None)
        if choice is None:
            choice = next(c for c in range(k, k + len(taken) + 1) if c not in taken)
        index[n] = choice
    return {n: palette[i] if i < k else _extra_colour(i - k) for n, i in sorted(index.items())}


def _extra_colour(k: int) -> str:
    import colorsys

    r, g, b = colorsys.hls_to_rgb(((k * 0.618033988749895) + 0.05) % 1.0, 0.55, 0.55)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


# --- the page model -------------------------------------------------------------------------------


@dataclass
class Layer:
    """One entry of the layer control: features of one kind.

    `features` are GeoJSON Feature texts (see `_feature`); `kind` is shape (polygons, lines),
    point (markers), mixed (lines and count badges) or cluster (clustered markers); `spread`
    marks point layers whose markers fan out when they sit on one spot (leads on top).
    """

    key: str
    label: str
    features: list[str]
    kind: str = "shape"
    show: bool = True
    interactive: bool = True
    spread: bool = False
    legend: str = ""


@dataclass
class Name:
    """A label drawn on the map (not a tooltip): shown when there is room, by priority.

    `priority` 0 is always shown (moved around to avoid others); higher numbers give way.
    `min_zoom` is relative to the zoom the page opens at (1: from one level closer).
    """

    latlng: list[float]
    html: str
    cls: str
    priority: int = 1
    min_zoom: int = 0
    movable: bool = True
    offset: tuple[int, int] = (0, 0)

    def row(self) -> list[Any]:
        return [self.latlng[0], self.latlng[1], self.html, self.cls, self.priority, self.min_zoom,
                1 if self.movable else 0, list(self.offset)]


@dataclass
class Page:
    """Everything one HTML page shows, before it becomes JSON and HTML."""

    title: str
    bounds: list[list[float]]
    layers: list[Layer]
    panels: list[dict[str, str]]
    banner: str = ""
    prefix: str = ""
    names: list[Name] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        """The page's data as the runtime reads it (label tokens resolved into `labels`)."""
        layers = [{"key": x.key, "label": x.label, "kind": x.kind, "show": 1 if x.show else 0,
                   "int": 1 if x.interactive else 0, "spread": 1 if x.spread else 0, "features": "@@F%d@@" % i}
                  for i, x in enumerate(self.layers)]
        return {"title": self.title, "bounds": self.bounds, "layers": layers, "panels": self.panels,
                "banner": self.banner, "names": [n.row() for n in self.names]}

    def data_json(self) -> str:
        """The data as JSON text, safe inside a <script> element: feature texts are spliced in unparsed."""
        return self.data_bytes().decode("utf-8")

    def data_bytes(self) -> bytes:
        """`data_json` encoded as UTF-8 (what a unit's data file holds).

        The label tokens are found and the script escapes made on the bytes: the same matches and
        replacements as on the text (both involve ASCII only, and U+2028/U+2029 have one UTF-8 form), where
        each pass over a county page's megabyte of mostly Chinese text is a fast byte scan (a twentieth of a
        page's CPU on the text)."""
        text = _json_raw(self.data())
        done: set[int] = set()

        def splice(m: re.Match[str]) -> str:   # each layer's placeholder, first occurrence only, in one pass
            i = int(m.group(1))
            if i in done or i >= len(self.layers):
                return m.group(0)
            done.add(i)
            return "[" + ",".join(self.layers[i].features) + "]"

        data = _PLACEHOLDER.sub(splice, text).encode("utf-8")
        used = sorted(k.decode("ascii") for k in set(_TOKEN_BYTES.findall(data)))
        labels = {k: _label_html(k) for k in used if k in _LABELS}
        return _script_safe_bytes(data[:-1] + b',"labels":' + _json_raw(labels).encode("utf-8") + b"}")


_PLACEHOLDER = re.compile(r'"@@F(\d+)@@"')


@dataclass
class UnitLayerContext:
    """What a map layer of another subpackage gets to draw on one county or city page.

    Attributes
    ----------
    result
        The RunResult (region, rules, plan, dispatch, dialysis, ...).
    unit
        The county or city unit of the page.
    communities
        The unit's communities (planner.plan.Community), empty when it has no plan.
    colors
        Community id -> its fill colour on this page.
    project
        `project(lon, lat) -> GeoJSON Point text` and `geometry(shapely geometry) -> GeoJSON text`
        (shifted to GCJ-02 when the page uses Amap tiles; use these, never raw coordinates).
    points
        `points(lons, lats) -> [GeoJSON Point text]`, `geometries([geometry]) -> [GeoJSON text]` and
        `lines([[(lon, lat), ...], ...]) -> [GeoJSON LineString text]`: the same for many at once (a
        county has hundreds of villages).
    """

    result: Any
    unit: Unit
    communities: list
    colors: dict[str, str]
    point: Callable[[float, float], str]
    geometry: Callable[[shapely.Geometry], str]
    points: Callable[[Any, Any], list[str]] | None = None
    geometries: Callable[[Sequence[shapely.Geometry]], list[str]] | None = None
    lines: Callable[[Sequence[Sequence[tuple[float, float]]]], list[str]] | None = None

    def feature(self, geometry: str, *, tip: str | None = None, pop: str | None = None, style: dict | None = None,
                cls: str | None = None, **props: Any) -> str:
        """A feature for a Layer: `tip` (at most 3 lines, HTML, escape data with `esc`), `pop`, a Leaflet `style`."""
        return _feature(geometry, tip=tip, pop=pop, style=style, cls=cls, **props)


UNIT_LAYERS: list[Callable[[UnitLayerContext], Sequence[Layer]]] = []
"""Layer builders of other subpackages, called for every county and city page, in order.

A builder takes a `UnitLayerContext` and returns `Layer`s (an empty list when it has nothing
for the unit); each appears in the layer control after the planner's own layers, e.g.::

    from planner import render

    def village_routes(ctx):
        feats = [ctx.feature(ctx.geometry(line), tip=render.esc(name), style={"color": "#00838f", "weight": 3})
                 for name, line in routes_of(ctx.unit)]
        return [render.Layer("routes", render.t("巡回诊疗路线", "Circuit routes"), feats)] if feats else []

    render.register_unit_layer(village_routes)

Marker layers use kind="point" with properties mk="fac" (facility symbols) or plain shapes.
A builder that raises stops the drawing (a bug, reported as such). Pages are redrawn only when
their inputs change: a builder whose output depends on more than the RunResult's plan, roster
and dialysis should give `UnitLayerContext` users a `key` (see `register_unit_layer`).
"""

_LAYER_KEYS: dict[Callable, Callable[[Any, Unit], str]] = {}


_LAYER_PREPARE: dict[Callable, Callable[[Any], None]] = {}


def register_unit_layer(builder: Callable[[UnitLayerContext], Sequence[Layer]],
                        key: Callable[[Any, Unit], str] | None = None,
                        prepare: Callable[[Any], None] | None = None) -> None:
    """Add a layer builder to every unit page (once; registering it again is a no-op).

    `key(result, unit)` returns a short text that changes whenever the builder would draw
    something else for the unit (e.g. a digest of its routes); a re-run redraws a reused page
    when the key changes. Without it, the builder's pages are redrawn on every run.
    `prepare(result)`, when given, is called once before the pages are drawn in workers, to
    build look-ups every page needs (see `frame_memo`) once instead of once per worker.
    """
    if builder not in UNIT_LAYERS:
        UNIT_LAYERS.append(builder)
    if key is not None:
        _LAYER_KEYS[builder] = key
    if prepare is not None:
        _LAYER_PREPARE[builder] = prepare


# --- facts shared by every page of a run ----------------------------------------------------------


@dataclass
class Shortfall:
    """A center short of its dispatched physicians, or a community short of city experts."""

    kind: str            # "attending" or "expert"
    unit: str
    target: str          # facility id (center) or community id
    township: str        # township of the center ("" for a community)
    got: int
    need: int


@dataclass
class _Run:
    """A run with its figures, colours and look-ups, shared by all the pages drawn from it."""

    result: Any
    facts: PlanFacts
    colors: dict[str, str]
    opts: MapOptions
    notes: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        r = self.result
        f = self.facts
        self.region = r.region
        self.fac = r.region.facilities
        self.towns = r.region.townships
        ids = [str(i) for i in self.fac.index.tolist()]     # tolist: one call, not a pandas access per label
        self.fac_name = dict(zip(ids, self.fac["name"].astype(str).tolist()))   # tolist: no per-cell pandas access
        self.fac_xy = dict(zip(ids, zip(self.fac.geometry.x.tolist(), self.fac.geometry.y.tolist())))
        self.comms = {c.id: c for c in r.plan.communities()}
        self.comm_rows = {str(row["community_id"]): row for row in f.communities.to_dict("records")} if len(f.communities) else {}
        self.assign = {str(row["township_code"]): row for row in f.assignments.to_dict("records")} if len(f.assignments) else {}
        self.unit_rows = {str(row["unit"]): row for row in f.units.to_dict("records")}
        self.units = {u.id: u for u in r.units}
        self.lead_of = {c.id: c.lead for c in r.plan.communities()}
        self.leads: dict[str, list[str]] = {}
        for cid, lead in self.lead_of.items():
            self.leads.setdefault(lead, []).append(cid)
        members: dict[str, list[tuple[str, str]]] = {}
        mem = f.members
        how = mem["membership"].astype(str).tolist() if "membership" in mem.columns else [""] * len(mem)
        for fid, cid, m in zip(_as_list(mem.get("facility_id", [])), _as_list(mem.get("community_id", [])), how):
            members.setdefault(str(fid), []).append((str(cid), "" if m in ("nan", "None") else m))
        self.members = members
        rules = list(r.rules.rules)
        self.attending = next((x for x in rules if x.enabled and x.kind == "attending_dispatch"), None)
        self.expert = next((x for x in rules if x.enabled and x.kind == "expert_dispatch"), None)
        self.coverage_rule = next((x for x in rules if x.enabled and x.kind == "coverage"), None)
        self.dialysis_rule = next((x for x in rules if x.enabled and x.kind == "dialysis_siting"), None)
        self.dialysis = {d.county: d for d in r.dialysis}
        self.stages = {type(x).stage for x in rules if x.enabled}
        roster = f.roster
        att = roster[roster["role"] == "attending"]
        received, sent = att.groupby("to_id")["count"].sum(), roster.groupby("from_id")["count"].sum()
        self.received_by_target = {str(k): int(v) for k, v in zip(received.index.tolist(), received.tolist())}
        self.sent_by_source = {str(k): int(v) for k, v in zip(sent.index.tolist(), sent.tolist())}
        # Each community's roster rows as tuples of the columns the pages show, and as whole records (for the keys).
        self.roster_rows: dict[str, list[tuple]] = {}
        self.roster_records: dict[str, list[list]] = {}
        if len(roster):
            recs = roster.to_dict("split")["data"]
            for cid, rec, row in zip(roster["community_id"].astype(str).tolist(), recs, zip(
                    roster["role"].astype(str).tolist(), roster["from_id"].astype(str).tolist(),
                    roster["to_id"].astype(str).tolist(), roster["title"].tolist(), roster["specialty"].tolist(),
                    roster["count"].tolist(), roster["travel_min"].tolist(), roster["borrowed"].tolist())):
                self.roster_rows.setdefault(cid, []).append(row)
                self.roster_records.setdefault(cid, []).append(rec)
        self.centers_in: dict[str, list[str]] = {}
        if self.attending is not None:
            kinds = {k.value for k in self.attending.target_kinds}
            centers = self.fac[self.fac["kind"].isin(kinds)]
            for fid, town in zip(centers.index.tolist(), centers["township_code"].tolist()):
                self.centers_in.setdefault(str(town), []).append(str(fid))
        self.violations: dict[str, list[tuple[str, object, bool]]] = {}
        for unit, rid, message, hard in zip(f.violations["unit"].tolist(), f.violations["rule_id"].tolist(),
                                            f.violations["message"].tolist(), f.violations["hard"].tolist()):
            self.violations.setdefault(str(unit), []).append((str(rid), message, bool(hard)))
        self.rule_ids = [s.rule.id for s in r.all_statuses]
        flags = r.region.estimated_flags()
        self.synthesized = flags["facilities_synthesized"] > 0
        self.estimated_polygons = flags["township_polygon_estimated"] > 0
        self.estimated_population = flags["township_population_estimated"] > 0
        self.shortfalls = self._shortfalls()
        self.unions: dict[tuple[str, ...], shapely.Geometry] = {}
        """Communities' township unions by their codes (`_dissolve`): the overview's, reused by the county pages
        drawn after it in the same process."""
        self.short_by_unit: dict[str, list[Shortfall]] = {}
        for s in self.shortfalls:
            self.short_by_unit.setdefault(s.unit, []).append(s)

    # -- problems ------------------------------------------------------------------------------

    def _shortfalls(self) -> list[Shortfall]:
        out = []
        rule = self.attending
        if rule is not None:
            for code, row in sorted(self.assign.items()):
                for fid in sorted(self.centers_in.get(code, [])):
                    if fid == str(row["lead_id"]):
                        continue
                    got = self.received_by_target.get(fid, 0)
                    if got < rule.min_per_center:
                        out.append(Shortfall("attending", str(row["unit"]), fid, code, got, rule.min_per_center))
        if self.expert is not None and "dispatch" in self.stages:
            for cid, row in sorted(self.comm_rows.items()):
                got = int(row.get("experts_received", 0) or 0)
                if got < self.expert.min_per_community:
                    out.append(Shortfall("expert", str(row["unit"]), cid, "", got, self.expert.min_per_community))
        return out

    def infeasible(self, unit: Unit) -> bool:
        up = self.result.plan.units.get(unit.id)
        return up is None or not up.solved

    def conflicts(self, unit: Unit) -> set[str]:
        """Rule ids named in the unit's explanation of infeasibility."""
        up = self.result.plan.units.get(unit.id)
        text = " ".join(str(x) for x in (up.explanation if up is not None else ()))
        return {rid for rid in self.rule_ids if re.search(rf"(?<![\w.]){re.escape(rid)}(?![\w])", text)}

    def _rule_texts(self) -> list[tuple[Any, str, str, str, str]]:
        """(rule, id, source, heading, description) of every status, worded once per run (not once per page)."""
        memo = self.__dict__.get("_rule_texts_memo")
        if memo is None:
            memo = self.__dict__["_rule_texts_memo"] = [
                (s.rule, s.rule.id, s.rule.source_text, s.rule.heading(), s.rule.describe()) for s in self.result.all_statuses]
        return memo

    def unit_statuses(self, unit: Unit) -> list[dict[str, object]]:
        """Every rule in this unit: mark, source, heading, description, violations; broken rules first."""
        by_rule: dict[str, list[object]] = {}
        for rid, m, _ in self.violations.get(unit.id, []):
            by_rule.setdefault(rid, []).append(m)
        conflicts = self.conflicts(unit) if self.infeasible(unit) else set()
        out = []
        for rule, rid, source, heading, description in self._rule_texts():
            v = list(by_rule.get(rid, ()))
            if not rule_applies(rule, unit):
                mark = "N/A"
            elif rid in conflicts:
                mark = "CONFLICT"
            elif v:
                mark = "FAIL" if rule.hard else "SOFT"
            else:
                mark = "PASS"
            out.append({"rule_id": rid, "source": source, "heading": heading, "description": description, "mark": mark,
                        "violations": v})
        return sorted(out, key=lambda x: MARK_ORDER.get(str(x["mark"]), 9))

    def region_statuses(self) -> list[dict[str, object]]:
        out = []
        for s in self.result.all_statuses:
            mark = s.mark  # N/A for a rule that applied to no unit: never shown as PASS
            out.append({"rule_id": s.rule.id, "source": s.rule.source_text, "heading": s.rule.heading(),
                        "description": s.rule.describe(), "mark": mark,
                        "violations": [_Placed(v.unit_name, v.message) for v in s.violations]})
        return sorted(out, key=lambda x: MARK_ORDER.get(str(x["mark"]), 9))

    def name(self, fid: str) -> str:
        return self.fac_name.get(str(fid), str(fid))

    def row_digest(self, table: str, ids: Sequence[str]) -> str:
        """A digest of some rows of the townships ("towns") or facilities ("fac"), geometry included.

        Every row is hashed once per run (vectorized); a unit's digest combines its rows' hashes.
        """
        cache = self.__dict__.setdefault("_row_hashes", {})
        if table not in cache:
            frame = self.towns if table == "towns" else self.fac
            plain = frame.drop(columns=[frame.geometry.name])
            h = _hash_rows(plain, index=True)
            wkb = shapely.to_wkb(np.asarray(frame.geometry.values, dtype=object))
            g = pd.util.hash_array(np.asarray(wkb, dtype=object), categorize=False)   # distinct: not factorized
            cache[table] = dict(zip(map(str, frame.index.tolist()), (h ^ (g * np.uint64(0x9E3779B97F4A7C15))).tolist()))
        rows = cache[table]
        return hashlib.sha256(np.asarray([rows.get(i, 0) for i in ids], dtype=np.uint64).tobytes()).hexdigest()[:24]

    def num(self, n: object) -> str:
        """A count: grouped, or in 万 in Chinese text when the options say so (English always grouped)."""
        if self.opts.numbers == "wan" and not (n is None or (isinstance(n, float) and math.isnan(n))) and abs(float(n)) >= 10_000:
            return f'<span class="zh">{wan(n)}</span><span class="en">{grouped(n)}</span>'
        return grouped(n)

    def community_name(self, cid: str) -> str:
        """The community's name as officials say it: the lead's name and 医共体 (or 城市医疗集团 for a grid)."""
        c = self.comms[cid]
        unit = self.units.get(c.unit)
        grid = unit is not None and unit.scope == "city"
        return esc(self.name(c.lead)) + (t("城市医疗集团", " city medical group") if grid else t("医共体", " community"))


# --- panels shared by the pages ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """A violation shown on the overview: where, and the producer's message."""

    where: str
    message: object


def _violation_html(v: object) -> str:
    if isinstance(v, _Placed):
        return f"{esc(v.where)}：{msg(v.message)}"
    return msg(v)


def _rule_heading(rule_row: dict[str, object]) -> str:
    return _heading_html(rule_row["heading"], rule_row["description"])


@_by_text
def _heading_html(heading: object, desc: object) -> str:
    zh = esc(heading) if heading != desc else msg(desc)
    en = msg(desc)
    return f'<span class="zh">{zh}</span><span class="en">{en}</span>'


def _rule_list(rows: Sequence[dict[str, object]], limit: int = 8) -> str:
    """Rules, broken first: result, the rule in words, its document and clause, its id; violations under it."""
    items = []
    for r in rows:
        mark = str(r["mark"])
        n = len(r["violations"])  # type: ignore[arg-type]
        count = f" ({n} {t('项', 'violations')})" if n else ""
        sub = ""
        if n:
            shown = list(r["violations"])[:limit]  # type: ignore[arg-type]
            more = f"<li>… {t('另有', 'and')} {n - limit} {t('项', 'more')}</li>" if n > limit else ""
            sub = "<ul>" + "".join(f"<li>{_violation_html(m)}</li>" for m in shown) + more + "</ul>"
        cls = {"N/A": "NA", "CONFLICT": "FAIL"}.get(mark, mark)
        items.append(f'<li class="pm-r-{cls}"><span class="pm-mark pm-{cls}">{mark_label(mark)}</span> '
                     f"{_rule_heading(r)}{count} {cite_html(r['source'])} {idc(r['rule_id'])}{sub}</li>")
    return '<ul class="pm-rules">' + "".join(items) + "</ul>"


def _figures_table(rows: Sequence[tuple[str, str]]) -> str:
    return '<table class="pm-figures">' + "".join(f'<tr><td>{k}</td><td class="n">{v}</td></tr>' for k, v in rows) + "</table>"


def _figure_rows(run: _Run, row: dict[str, object], estimated: bool) -> list[tuple[str, str]]:
    """Key figures of a unit or the region; dispatch and dialysis only when the rules have them."""
    approx = "≈" if estimated else ""
    mins = t("分钟", "min")
    rows = [
        (t("医共体/网格", "Communities/grids"), grouped(row["communities"])),
        (t("乡镇（街道）", "Townships"), grouped(row["townships"])),
        (t("常住人口", "Population"), approx + run.num(row["population"])),
        (t("平均到牵头医院", "Mean travel to lead"), f"≈{minutes(row['mean_travel_min'])} {mins}"),
        (t("最长到牵头医院", "Max travel to lead"), f"≈{minutes(row['max_travel_min'])} {mins}"),
    ]
    if "dispatch" in run.stages:
        rows += [(t("派驻医师", "Physicians dispatched"), grouped(row["physicians_dispatched"])),
                 (t("城市专家", "City experts"), grouped(row["experts_dispatched"]))]
    if "dialysis" in run.stages:
        dialysis = (f"{run.num(row['dialysis_covered_before'])} → {run.num(row['dialysis_covered_after'])} "
                    f"({_share(row['dialysis_share_before'])} → {_share(row['dialysis_share_after'])})")
        rows += [(t("新增血透点", "New dialysis sites"), grouped(row["dialysis_new_sites"])),
                 (t("血透可及人口（前→后）", "Within reach of dialysis (before → after)"), dialysis)]
    rows += [(t("求解状态", "Solve status"), _status_words(str(row["status"]))),
             (t("硬性规则违反", "Hard-rule violations"), grouped(row["hard_violations"]))]
    return rows


def _status_words(status: str) -> str:
    parts = status.split()
    if len(parts) > 1:
        return "，".join(f"{status_label(parts[i])} {esc(parts[i + 1])}" for i in range(0, len(parts) - 1, 2))
    return status_label(status)


def _key_strip(run: _Run, items: Sequence[tuple[str, str, str]]) -> str:
    """The figures that stay on screen when every panel is folded: (value, label, css class)."""
    cells = "".join(f'<span class="pm-k {cls}"><b>{v}</b> {label}</span>' for v, label, cls in items)
    return f'<div class="pm-key" id="pm-key">{cells}</div>'


def _links(run: _Run, prefix: str, back: bool) -> str:
    parts = []
    if back:
        parts.append(f'<a href="{prefix}index.html">← {t("返回总览", "Back to the overview")}</a>')
    if run.links.get("summary"):
        parts.append(f'<a id="pm-summary-link" href="{esc(prefix + run.links["summary"])}">{t("汇总报告", "Summary report")}</a>')
    parts.append(f'<a href="javascript:window.print()" class="pm-noprint">{t("打印", "Print")}</a>')
    return '<div class="pm-links">' + " · ".join(parts) + "</div>"


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
    "short": '<svg width="18" height="18" viewBox="0 0 22 22"><circle cx="11" cy="11" r="9" fill="#c62828" stroke="#fff" '
             'stroke-width="2"/><text x="11" y="15.5" font-size="13" font-weight="bold" text-anchor="middle" fill="#fff" '
             'font-family="Arial, sans-serif">!</text></svg>',
    "short_exp": '<svg width="18" height="18" viewBox="0 0 22 22"><rect x="2" y="2" width="18" height="18" rx="4" fill="#6a1b9a" '
                 'stroke="#fff" stroke-width="2"/><text x="11" y="15.5" font-size="13" font-weight="bold" text-anchor="middle" '
                 'fill="#fff" font-family="Arial, sans-serif">!</text></svg>',
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
        "short": (_LEGEND_ICONS["short"], t("缺派驻医师的乡镇卫生院（红框为其乡镇）", "Center without its dispatched physician (red: its township)")),
        "short_exp": (_LEGEND_ICONS["short_exp"], t("城市专家不足的医共体", "Community short of city experts")),
        "estimated": ('<span class="sw" style="border:1px dashed #333;background:#fff"></span>',
                      t("虚线边界：估算边界", "Dashed border: estimated boundary")),
        "county": ('<span class="ln" style="border-top:2px dashed #444"></span>', t("县（市、区）界", "County boundary")),
        "grid": ('<span class="ln" style="border-top:3px solid #5b2c83"></span>', t("城市医疗集团网格边界", "City grid boundary")),
        "community": ('<span class="ln" style="border-top:3px solid #222"></span>', t("医共体/网格边界", "Community/grid boundary")),
        "failing": ('<span class="ln" style="border-top:3px solid #c62828"></span>',
                    t("有硬性规则未通过的县（市、区）", "County breaking a hard rule")),
        "infeasible": ('<span class="sw pm-hatch"></span>', t("无可行方案（规则相互冲突）", "Infeasible: rules in conflict")),
        "conflict": ('<span class="sw" style="background:#fff;border:2px solid #6a1b9a"></span>',
                     t("导致冲突的乡镇", "Townships behind the conflict")),
    }
    return "".join(f'<div class="row"><span class="ic">{rows[k][0]}</span>{rows[k][1]}</div>' for k in keys if k in rows)


def _panel(title: str, body: str, *, open_: bool = True, key: str = "") -> str:
    """A panel that folds to its title (the key figures never sit in one)."""
    return (f'<details class="pm-fold" data-key="{esc(key)}"{" open" if open_ else ""}><summary>{title}</summary>'
            f"{body}</details>")


def _banner(run: _Run, extra: Sequence[str] = ()) -> str:
    parts = []
    if run.synthesized:
        parts.append("<b>" + t("设施为合成数据，并非真实机构", "Facilities are synthesized, not real institutions") + "</b>")
    if run.estimated_polygons or run.estimated_population:
        parts.append(t("乡镇边界与人口为估算（虚线边界、≈）", "township boundaries and populations are estimated (dashed borders, ≈)"))
    parts.extend(extra)
    return " · ".join(parts)


# --- overview -----------------------------------------------------------------------------------------


def _geometry_index(frame: pd.DataFrame) -> tuple[dict[str, int], np.ndarray]:
    """Row position by index (as text) and the geometries of a frame as an array (made once per frame)."""
    return frame_memo(frame, "geometry_index", lambda f: ({str(c): i for i, c in enumerate(f.index.tolist())},
                                                          np.asarray(f.geometry.values, dtype=object)))


def _as_list(values: Any) -> list:
    """A column's values as a list (Series.tolist: one call, not one pandas access per cell)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


@cache
def _row_type(fields: tuple[str, ...]) -> type:
    from collections import namedtuple

    return namedtuple("Row", fields)


def _tuples(frame: pd.DataFrame, fields: Sequence[str]) -> list[Any]:
    """The frame's rows as named tuples of `Index` and those of `fields` it has, like `itertuples` (same values)
    but reading only these columns: itertuples of a wide frame makes a Series of every column."""
    present = tuple(f for f in fields if f in frame.columns)
    row = _row_type(("Index", *present))
    return [row(*vals) for vals in zip(frame.index.tolist(), *(frame[f].tolist() for f in present))]


_TOWN_FIELDS = ("name", "population", "population_estimated", "polygon_estimated", "seat_source")
_FAC_FIELDS = ("name", "kind", "grade", "beds", "synthesized", "dialysis", "chief", "associate_chief", "attending",
               "resident")


def _dissolve(towns: pd.DataFrame, groups: dict[str, list[str]], tolerance: float,
              unions: dict[tuple[str, ...], shapely.Geometry] | None = None) -> dict[str, shapely.Geometry]:
    """Each group of townships as one simplified shape (coverage union: the townships tile the region).

    `unions`, when given, keeps each group's union (before simplifying) by its township codes, for the next
    call: the overview and the county pages dissolve the same communities (`_Run.unions`)."""
    out = {}
    row, garr = _geometry_index(towns)
    for key, codes in groups.items():
        names = tuple(map(str, codes))
        geoms = garr[[row[c] for c in names]]
        if unions is not None and names in unions:
            geom = unions[names]
        elif len(geoms) == 1:
            geom = geoms[0]
        else:
            try:
                geom = shapely.coverage_union_all(geoms)
            except Exception:  # not a clean coverage (overlaps from user files): the general union
                geom = shapely.union_all(geoms)
            if not geom.is_valid:
                geom = shapely.union_all(geoms)
            if unions is not None:
                unions[names] = geom
        out[key] = shapely.simplify(geom, tolerance, preserve_topology=True)
    return out


def overview_page(run: _Run) -> Page:
    """The region overview: dissolved communities and grids, county names, problems, leads."""
    r = run.result
    proj = _Proj(run.opts.gcj02, OVERVIEW_DIGITS)
    towns = run.towns
    comms = [c for c in r.plan.communities() if any(x in towns.index for x in c.townships)]
    shapes = _dissolve(towns, {c.id: [x for x in c.townships if x in towns.index] for c in comms}, OVERVIEW_TOLERANCE_DEG,
                       run.unions)
    geo = dict(zip([c.id for c in comms], proj.geojson([shapes[c.id] for c in comms])))
    comm_feats, lead_feats, grid_lines, names = [], [], [], []
    mins = t("分钟", "min")
    fac_unique = run.fac.index.is_unique
    fac_row = _geometry_index(run.fac)[0] if fac_unique else {}
    fac_cols = columns_of(run.fac)
    fac_gx, fac_gy = run.fac.geometry.x.to_numpy(), run.fac.geometry.y.to_numpy()
    for c in comms:
        row = run.comm_rows.get(c.id)
        unit = run.units.get(c.unit)
        unit_name = unit.name if unit else c.unit
        is_grid = unit is not None and unit.scope == "city"
        link = f"units/{unit_filename(c.unit)}"
        n_bad = len([v for v in run.violations.get(c.unit, []) if v[2]])
        approx = "≈" if row is not None and bool(row["population_estimated"]) else ""
        kind = t("城市医疗集团网格", "City medical group grid") if is_grid else t("县域医共体", "County medical community")
        pop_n = run.num(int(row["population"]) if row is not None else 0)
        rules_line = (f'<span class="pm-PASS">{t("硬性规则全部通过", "every hard rule holds")}</span>' if not n_bad else
                      f'<span class="pm-FAIL">{t("本县硬性规则违反", "hard-rule violations here")}: {n_bad}</span>')
        tip = _tip(f"<b>{run.community_name(c.id)}</b>",
                   f"{esc(unit_name)} · {t('人口', 'pop.')} {approx}{pop_n} · "
                   f"{t('平均', 'mean')} ≈{minutes(row['mean_travel_min'] if row is not None else None)} {mins}",
                   rules_line)
        pop = _pop(tip, f"{kind} · {t('乡镇（街道）', 'Townships')}: {len(c.townships)}",
                   f"{t('最长到牵头医院', 'Max travel to lead')}: ≈{minutes(row['max_travel_min'] if row is not None else None)} {mins}",
                   f"{t('接收派驻医师', 'Physicians received')}: {grouped(row['physicians_received'] if row is not None else 0)} · "
                   f"{t('城市专家', 'City experts')}: {grouped(row['experts_received'] if row is not None else 0)}",
                   f'<a href="{esc(link)}">{t("打开本县地图 →", "Open the county map →")}</a>')
        colour = run.colors.get(c.id, "#999999")
        comm_feats.append(_feature(geo[c.id], id=c.id, cls="pm-comm", tip=tip, pop=pop,
                                   style={"color": "#ffffff", "weight": 1, "fillColor": colour, "fillOpacity": 0.6,
                                          "opacity": 0.9}))
        k = fac_row.get(c.lead) if fac_unique else None
        if k is not None or (not fac_unique and c.lead in run.fac.index):
            f = run.fac.loc[c.lead] if k is None else None
            name, kind, grade = (f["name"], f["kind"], f["grade"]) if k is None else (fac_cols["name"][k], fac_cols["kind"][k],
                                                                                   fac_cols["grade"][k])
            lx, ly = (f.geometry.x, f.geometry.y) if k is None else (fac_gx[k], fac_gy[k])
            ltip = _tip(f"<b>{esc(name)}</b>", f"{_kind_label(kind)} · {_grade_label(grade)}",
                        f"{t('牵头', 'Leads')}: {esc(unit_name)}")
            lpop = _pop(ltip, f'<a href="{esc(link)}">{t("打开本县地图 →", "Open the county map →")}</a>')
            lead_feats.append(_feature(proj.point(lx, ly), mk="fac", fk=_kind_letter(kind),
                                       gl=Grade(int(grade)).level, lead=1, sm=1, id=f"lead:{c.id}", tip=ltip,
                                       pop=lpop))
        pt = shapely.point_on_surface(shapes[c.id])
        names.append(Name(proj.latlng(pt.x, pt.y), esc(run.name(c.lead)), "pm-n-comm", priority=3, min_zoom=1))
        if is_grid:
            grid_lines.append(_feature(proj.geometry(shapes[c.id].boundary),
                                       style={"color": "#5b2c83", "weight": 3, "opacity": 0.9, "fill": False}))
    counties = run.region.counties.sort_index()
    county_geoms = shapely.simplify(np.asarray(counties.geometry.values, dtype=object), OVERVIEW_TOLERANCE_DEG,
                                    preserve_topology=True)
    county_lines = [_feature(g, style={"color": "#444444", "weight": 1.2, "opacity": 0.8, "dashArray": "5 4", "fill": False})
                    for g in proj.geojson(shapely.boundary(county_geoms))]
    unit_of_county = {c: u for u in r.units for c in u.county_codes}
    reps = shapely.point_on_surface(county_geoms)
    problem_feats = []
    for code, geom, rep in zip(counties.index, county_geoms, reps):
        u = unit_of_county.get(code)
        bad = u is not None and int(run.unit_rows.get(u.id, {}).get("hard_violations", 0) or 0) > 0
        infeasible = u is not None and run.infeasible(u)
        label = esc(counties.at[code, "name"])
        cls = "pm-n-county"
        if infeasible:
            label += f'<br><span class="pm-n-warn">{t("无可行方案", "infeasible")}</span>'
            cls += " pm-n-bad"
        elif bad:
            label += " ⚠"
            cls += " pm-n-bad"
        names.append(Name(proj.latlng(rep.x, rep.y), label, cls, priority=1 if (bad or infeasible) else 2,
                          movable=False))
        if u is not None and (bad or infeasible):
            link = f"units/{unit_filename(u.id)}"
            row = run.unit_rows.get(u.id, {})
            failing = sorted({rid for rid, _m, hard in run.violations.get(u.id, []) if hard})
            tip = _tip(f"<b>{esc(counties.at[code, 'name'])}</b>",
                       (f'<span class="pm-FAIL">{t("无可行方案：规则相互冲突", "infeasible: rules in conflict")}</span>' if infeasible
                        else f'<span class="pm-FAIL">{t("硬性规则违反", "hard-rule violations")}: {grouped(row.get("hard_violations", 0))}</span>'),
                       f"{t('涉及规则', 'rules')}: {len(failing) or len(run.conflicts(u))} · {t('点击查看', 'click for the county')}")
            pop = _pop(tip, f'<a href="{esc(link)}">{t("打开本县地图 →", "Open the county map →")}</a>')
            style = ({"color": "#6a1b9a", "weight": 2.5, "fillColor": "#9e9e9e", "fillOpacity": 0.55, "opacity": 1}
                     if infeasible else {"color": "#c62828", "weight": 3, "opacity": 0.95, "fillOpacity": 0.0, "fill": True})
            problem_feats.append(_feature(proj.geometry(geom), id=f"problem:{code}",
                                          cls="pm-infeasible" if infeasible else "pm-failing", tip=tip, pop=pop, style=style))
    layers = [Layer("communities", t("医共体与网格", "Communities and grids"), comm_feats),
              Layer("counties", t("县（市、区）界", "County boundaries"), county_lines, interactive=False)]
    if grid_lines:
        layers.append(Layer("grids", t("城市医疗集团网格边界", "City grid boundaries"), grid_lines, interactive=False))
    if problem_feats:
        layers.append(Layer("problems", t("有问题的县（市、区）", "Counties with problems"), problem_feats))
    layers.append(Layer("leads", t("牵头医院", "Lead hospitals"), lead_feats, kind="point", spread=True))
    title = f"{r.region.name} — {r.rules.title or r.rules.name}"
    total = run.facts.total
    n_bad_units = sum(1 for u in r.units if int(run.unit_rows[u.id]["hard_violations"] or 0) > 0)
    n_infeasible = sum(1 for u in r.units if run.infeasible(u))
    unit_links = []
    for u in sorted(r.units, key=lambda u: (-int(run.unit_rows[u.id]["hard_violations"] or 0) - 1000 * run.infeasible(u), u.id)):
        row = run.unit_rows[u.id]
        bad = int(row["hard_violations"] or 0)
        mark = (f'<span class="pm-FAIL">{t("无可行方案", "infeasible")}</span>' if run.infeasible(u) else
                f'<span class="pm-FAIL">✘ {bad}</span>' if bad else '<span class="pm-PASS">✔</span>')
        unit_links.append(f'<li><a href="units/{esc(unit_filename(u.id))}">{esc(u.name)}</a> {mark} '
                          f'<span class="pm-cite">{int(row["communities"])} · {run.num(int(row["population"]))}</span></li>')
    key = _key_strip(run, [
        (grouped(total["communities"]), t("个医共体/网格", "communities/grids"), ""),
        (run.num(total["population"]), t("人", "residents"), ""),
        (grouped(n_bad_units), t("个县有硬性规则违反", "counties break a hard rule"), "pm-bad" if n_bad_units else "pm-good"),
    ] + ([(grouped(n_infeasible), t("个县无可行方案", "counties infeasible"), "pm-bad")] if n_infeasible else []))
    head = (f"<h1>{esc(r.region.name)}</h1><div>{t('县域医共体与城市医疗集团规划', 'County medical communities and city medical groups')}"
            f"</div><div class=\"pm-cite\">{t('规则', 'Rules')}: {esc(r.rules.title or r.rules.name)} {idc(r.rules.name)}</div>"
            f"{key}{_links(run, '', back=False)}"
            + _panel(f"{t('各县（市、区）地图', 'County and city maps')} ({len(r.units)}，{t('有问题的在前', 'problems first')})",
                     f'<ul class="pm-scroll pm-units">{"".join(unit_links)}</ul>', open_=False, key="units"))
    info = (_panel(f"{t('规则核查', 'Compliance')}（{t('独立核查，未通过的在前', 'independent checker, failures first')}）",
                   f'<div class="pm-scroll">{_rule_list(run.region_statuses())}</div>', key="rules")
            + _panel(t("主要指标", "Key figures"), _figures_table(_figure_rows(run, total, run.estimated_population)),
                     open_=False, key="figures"))
    legend = _panel(t("图例", "Legend"),
                    f"<div>{t('相邻的医共体颜色不同', 'Neighbouring communities never share a colour')}</div>"
                    + _legend_symbols(["lead", "grades", "county", "grid", "failing"] + (["infeasible"] if n_infeasible else []))
                    + f"<div>{t('点击医共体打开本县地图；放大显示医共体名称', 'Click a community for its county map; zoom in for community names')}</div>",
                    key="legend")
    panels = [{"pos": "topleft", "html": head, "cls": "pm-title"},
              {"pos": "topright", "html": info, "cls": "pm-info"},
              {"pos": "bottomleft", "html": legend, "cls": "pm-legend"}]
    geoms = list(run.region.counties.geometry.values)
    return Page(title, proj.bounds(geoms), layers, panels, _banner(run, run.notes), prefix="", names=names)


# --- county / city pages ----------------------------------------------------------------------------


def _facility_html(run: _Run, fid: str, f: Any, *, popup: bool, short: Shortfall | None = None) -> str:
    """Tooltip (3 lines) or popup of a facility; `f` is its row (a namedtuple or Series)."""
    lead_of = run.leads.get(fid, [])
    kind_line = f"{_kind_label(f.kind)} · {_grade_label(int(f.grade))}"
    third = []
    if lead_of:
        kind_line += " · ★ " + t("牵头医院", "lead hospital")
    member = [(c, how) for c, how in run.members.get(fid, []) if c not in lead_of]
    if member and not lead_of:
        how = {m for _, m in member if m}
        kind_line += " · " + t("成员单位", "member") + (
            "（" + "、".join(esc(_MEMBERSHIP.get(m, (m, m))[0]) for m in sorted(how)) + "）" if how else "")
    if short is not None:
        third.append(f'<span class="pm-FAIL">{t("缺派驻医师", "no dispatched physician")}: '
                     f"{t('接收', 'gets')} {short.got} / {short.need}</span>")
    if bool(getattr(f, "synthesized", False)):
        third.append(f'<span class="pm-syn">{t("合成数据", "synthesized")}</span>')
    tip = _tip(f"<b>{esc(f.name)}</b>", kind_line, " · ".join(third))
    if not popup:
        return tip
    lines = [tip]
    if lead_of:
        lines.append(t("牵头", "Leads") + ": " + "、".join(run.community_name(c) for c in lead_of))
    if member:
        lines.append(t("所属医共体", "Member of") + ": " + "、".join(
            run.community_name(c) + (f"（{esc(_MEMBERSHIP.get(m, (m, m))[0])}）" if m else "") for c, m in member
            if c in run.comms))
    docs = sum(int(getattr(f, k, 0) or 0) for k in ("chief", "associate_chief", "attending", "resident"))
    rows = [(t("床位", "Beds"), grouped(int(f.beds or 0))), (t("执业医师", "Physicians"), grouped(docs))]
    if fid in run.sent_by_source:
        rows.append((t("派出医师", "Physicians sent"), grouped(run.sent_by_source[fid])))
    if fid in run.received_by_target:
        rows.append((t("接收派驻医师", "Physicians received"), grouped(run.received_by_target[fid])))
    if bool(getattr(f, "dialysis", False)):
        rows.append((t("血透", "Dialysis"), t("有", "yes")))
    lines.append(_figures_table(rows))
    lines.append(idc(fid))
    return _pop(*lines)


_MEMBERSHIP = {"compulsory": ("必须纳入", "compulsory"), "voluntary": ("自愿加入", "voluntary")}


def _township_tip(run: _Run, code: str, tw: Any, shorts: list[Shortfall], bad_rules: int) -> str:
    a = run.assign.get(code)
    approx = "≈" if bool(getattr(tw, "population_estimated", False)) else ""
    first = f"<b>{esc(tw.name)}</b>"
    if a is not None:
        first += f" · {esc(run.name(str(a['lead_id'])))}"
    second = f"{t('人口', 'pop.')} {approx}{run.num(int(tw.population))}"
    if a is not None:
        second += f" · {t('到牵头医院', 'to lead')} ≈{minutes(a['travel_min'])} {t('分钟', 'min')}"
    if a is None:
        third = f'<span class="pm-FAIL">{t("未纳入医共体", "in no community")}</span>'
    elif shorts:
        third = (f'<span class="pm-FAIL">{t("缺派驻医师", "no dispatched physician")}: '
                 + "、".join(f"{esc(run.name(s.target))} {s.got}/{s.need}" for s in shorts[:2]) + "</span>")
    elif bad_rules:
        third = f'<span class="pm-FAIL">{bad_rules} {t("项规则未通过", "rules failing")}</span>'
    else:
        third = f'<span class="pm-PASS">{t("本乡镇规则通过", "rules hold here")}</span>'
    return _tip(first, second, third)


def _township_popup(run: _Run, code: str, tw: Any, tip: str, shorts: list[Shortfall],
                    dialysis: dict[str, tuple[float, float]]) -> str:
    lines = [tip, idc(code)]
    a = run.assign.get(code)
    if a is not None:
        lines.append(f"{t('医共体', 'Community')}: {run.community_name(str(a['community_id']))}")
        lines.append(f"{t('接收派驻医师', 'Physicians received')}: {grouped(int(a['received']))}")
    if run.coverage_rule is not None:
        ok = a is not None
        lines.append(f'<span class="pm-mark pm-{"PASS" if ok else "FAIL"}">{mark_label("PASS" if ok else "FAIL")}</span> '
                     + (t("已纳入医共体", "in a community") if ok else t("未纳入医共体", "in no community"))
                     + f" {cite_html(run.coverage_rule.source_text)}")
    rule = run.attending
    if rule is not None and a is not None:
        for fid in sorted(run.centers_in.get(code, [])):
            if fid == str(a["lead_id"]):
                continue
            got = run.received_by_target.get(fid, 0)
            mark = "PASS" if got >= rule.min_per_center else ("FAIL" if rule.hard else "SOFT")
            lines.append(f'<span class="pm-mark pm-{mark}">{mark_label(mark)}</span> {esc(run.name(fid))} '
                         f"{t('接收派驻医师', 'receives')} {got} / {rule.min_per_center} {cite_html(rule.source_text)}")
    if code in dialysis:
        before, after = dialysis[code]
        lines.append(f"{t('最近血透点（前→后）', 'Nearest dialysis (before → after)')}: ≈{minutes(before)} → ≈{minutes(after)} "
                     f"{t('分钟', 'min')}")
    if bool(getattr(tw, "population_estimated", False)):
        lines.append(f'<span class="pm-est">{t("人口为估算", "population estimated")}</span>')
    if bool(getattr(tw, "polygon_estimated", False)):
        lines.append(f'<span class="pm-est">{t("边界为估算（泰森多边形）", "estimated boundary (Voronoi cell)")}</span>')
    if str(getattr(tw, "seat_source", "")) == "synthesized":
        lines.append(f'<span class="pm-est">{t("驻地位置为估算", "seat location estimated")}</span>')
    return _pop(*lines)


def _nearest(run: _Run, seats, ids: list[str]) -> np.ndarray:
    """Minutes from each township seat to the nearest of the facilities `ids` (inf without any)."""
    from .travel import Points

    if not ids:
        return np.full(len(seats), np.inf)
    xy = [run.fac_xy[str(i)] for i in ids]
    return run.result.travel.minutes(seats, Points.from_xy(ids, [p[0] for p in xy], [p[1] for p in xy])).min(axis=1)


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
        pos = positions_of(run.towns, [county], "county_code")        # region.townships_of, indexed once
        if not len(pos):
            continue
        codes = run.towns.index.to_numpy()[pos]
        pos = pos[np.argsort(codes, kind="stable")]                       # by code, as townships_of
        cols = columns_of(run.towns)
        codes = run.towns.index.to_numpy()[pos].tolist()
        seats = Points.from_xy(codes, cols["seat_lon"][pos], cols["seat_lat"][pos])
        before_ids = list(d.existing)
        after_ids = before_ids + list(d.sites)
        b, a = _nearest(run, seats, before_ids), _nearest(run, seats, after_ids)
        for code, x, y in zip(codes, b, a):
            out[str(code)] = (float(x) if np.isfinite(x) else float("nan"), float(y) if np.isfinite(y) else float("nan"))
        here, sc = positions_of(new_sites, [county]), columns_of(new_sites)
        served = dict(zip(sc["facility_id"][here].tolist(), sc["residents_served"][here].tolist())) if len(here) else {}
        for fid in d.existing:
            sites.append({"fid": fid, "new": False, "served": None, "county": d})
        for fid in d.sites:
            sites.append({"fid": fid, "new": True, "served": int(served.get(fid, d.served.get(fid, 0))), "county": d})
    return out, sites


def _culprits(run: _Run, unit: Unit, towns: pd.DataFrame) -> list[str]:
    """Townships an infeasibility explanation names (by name), in index order."""
    up = run.result.plan.units.get(unit.id)
    text = " ".join(str(x) for x in (up.explanation if up is not None else ()))
    return [str(code) for code, name in zip(towns.index, towns["name"].astype(str)) if len(name) >= 2 and name in text]


_UNIT_TOWN_FIELDS = (*_TOWN_FIELDS, "seat_lon", "seat_lat")
"""The township columns a unit page reads (its own and `access.layers.access_layers`'), besides the geometry."""


def _unit_towns(run: _Run, unit: Unit) -> pd.DataFrame:
    """The rows of the region's townships that are the unit's, in the unit's order (`.loc` of them), with the
    columns a page reads (`_UNIT_TOWN_FIELDS` and the geometry).

    Every unit's rows are taken at once, one unit after another (`_stacked_towns`), and a page gets a slice of
    them: a row selection of the township frame per page was a tenth of a page's CPU."""
    if not run.towns.index.is_unique:
        return run.towns.loc[[x for x in unit.townships if x in run.towns.index]]
    stacked, spans = _stacked_towns(run)
    a, b = spans[unit.id]
    return stacked.iloc[a:b]


def _stacked_towns(run: _Run) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """The township rows of every unit of the run, unit after unit (the page's columns only), and each unit's span
    (made once per run; before the workers fork, `_prepare`)."""
    got = run.__dict__.get("_stacked_towns")
    if got is None:
        row = _geometry_index(run.towns)[0]
        pos, spans = [], {}
        for u in run.result.units:
            mine = [row[x] for x in map(str, u.townships) if x in row]
            spans[u.id] = (len(pos), len(pos) + len(mine))
            pos += mine
        f = run.towns
        narrow = f[[c for c in f.columns if c in _UNIT_TOWN_FIELDS or c == f.geometry.name]]
        got = run.__dict__["_stacked_towns"] = (narrow.iloc[pos], spans)
    return got


def _town_tuples(run: _Run, unit: Unit, towns: pd.DataFrame) -> list[Any]:
    """`_tuples(towns, _TOWN_FIELDS)` of a unit's towns (`_unit_towns`), read from the stacked frame's columns."""
    if not run.towns.index.is_unique:
        return _tuples(towns, _TOWN_FIELDS)
    stacked, spans = _stacked_towns(run)
    a, b = spans[unit.id]
    cols = columns_of(stacked)
    present = tuple(f for f in _TOWN_FIELDS if f in cols)
    row = _row_type(("Index", *present))
    return [row(*vals) for vals in zip(frame_memo(stacked, "index", lambda f: f.index.to_numpy())[a:b].tolist(),
                                       *(cols[f][a:b].tolist() for f in present))]


def unit_page(run: _Run, unit: Unit) -> Page:
    """One county's communities (or one city's grids) with facilities, dispatch, dialysis, problems and compliance."""
    r = run.result
    proj = _Proj(run.opts.gcj02, UNIT_DIGITS)
    towns = _unit_towns(run, unit)
    up = r.plan.units.get(unit.id)
    comms = list(up.communities) if up is not None and up.solved else []
    infeasible = run.infeasible(unit)
    colour_of = {x: run.colors.get(c.id, "#999999") for c in comms for x in c.townships}
    dia_minutes, dia_sites = _dialysis_minutes(run, unit)
    is_city = unit.scope == "city"
    shorts = run.short_by_unit.get(unit.id, [])
    short_town: dict[str, list[Shortfall]] = {}
    short_center: dict[str, Shortfall] = {}
    for s in shorts:
        if s.kind == "attending":
            short_town.setdefault(s.township, []).append(s)
            short_center[s.target] = s
    bad_rules = len({rid for rid, _m, hard in run.violations.get(unit.id, []) if hard})
    culprits = set(_culprits(run, unit, towns)) if infeasible else set()

    town_shapes = np.asarray(towns.geometry.values, dtype=object)     # the property builds a GeoSeries: read once
    town_codes = towns.index.tolist()
    town_set = set(town_codes)
    town_geo = proj.geojson(town_shapes)
    geo_of = dict(zip(map(str, town_codes), town_geo))
    town_feats, names = [], []
    town_rows = _town_tuples(run, unit, towns)
    town_name = {str(tw.Index): tw.name for tw in town_rows}
    reps = shapely.point_on_surface(town_shapes)
    rx, ry = (v.tolist() for v in proj.xy(shapely.get_x(reps), shapely.get_y(reps))) if len(reps) else ([], [])
    rep_of = {}
    for k, (tw, geo, rep) in enumerate(zip(town_rows, town_geo, reps)):
        code = str(tw.Index)
        rep_of[code] = rep
        style = {"color": "#ffffff", "weight": 1.2, "opacity": 1.0, "fillColor": colour_of.get(code, "#bdbdbd"),
                 "fillOpacity": 0.6 if code in colour_of else 0.45}
        if bool(getattr(tw, "polygon_estimated", False)):
            style["dashArray"] = "4 3"
        tip = _township_tip(run, code, tw, short_town.get(code, []), bad_rules)
        town_feats.append(_feature(geo, id=code, cls=f"pm-t-{code}" + (" pm-infeasible" if infeasible else ""), tip=tip,
                                   pop=_township_popup(run, code, tw, tip, short_town.get(code, []), dia_minutes), style=style))
        names.append(Name([float(ry[k]), float(rx[k])], esc(tw.name), "pm-n-town", priority=4, movable=False))
    outline_feats = []
    comm_shapes = {}
    for c in comms:
        codes = [x for x in c.townships if x in town_set]
        if codes:
            comm_shapes[c.id] = _dissolve(run.towns, {c.id: codes}, 0.0, run.unions)[c.id]
            outline_feats.append(_feature(proj.geometry(comm_shapes[c.id].boundary),
                                          style={"color": "#5b2c83" if is_city else "#222222", "weight": 3, "opacity": 0.9,
                                                 "fill": False}))
    county_feats = []
    for code in unit.county_codes:
        if code in run.region.counties.index:
            geom = run.region.counties.at[code, "geometry"].boundary
            county_feats.append(_feature(proj.geometry(geom), style={"color": "#444444", "weight": 1.5, "opacity": 0.8,
                                                                      "dashArray": "6 4", "fill": False}))

    leads = {c.lead for c in comms}
    fac_here = unit.facilities
    if not fac_here.index.is_monotonic_increasing:     # units are made sorted: no copy of a sorted frame
        fac_here = fac_here.sort_index()
    extra = sorted(x for x in leads if x not in fac_here.index and x in run.fac.index)
    rows = pd.concat([fac_here, run.fac.loc[extra]]) if extra else fac_here
    lead_feats, hosp_feats, center_feats, clinic_feats = [], [], [], []
    lead_xy: dict[str, tuple[float, float]] = {}
    garr = np.asarray(rows.geometry.values, dtype=object)
    gx, gy = shapely.get_x(garr), shapely.get_y(garr)
    px, py = (v.tolist() for v in proj.xy(gx, gy))
    kinds = rows["kind"].astype(str).tolist()
    syn = rows["synthesized"].astype(bool).tolist() if "synthesized" in rows.columns else [False] * len(rows)
    names_ = rows["name"].astype(str).tolist()
    others = []
    for i, fid in enumerate(map(str, rows.index.tolist())):
        if _kind_letter(kinds[i]) == "v" and fid not in leads:
            # Many per county: the tooltip is built in the page from the plain name (set as text; made
            # script-safe with the whole page, `Page.data_json`).
            props = '{"fk":"v","mk":"fac","nm":' + _STR(names_[i]) + (',"syn":1}' if syn[i] else "}")
            clinic_feats.append(f'{{"geometry":{{"type":"Point","coordinates":[{px[i]!r},{py[i]!r}]}},'
                                f'"properties":{props},"type":"Feature"}}')
        else:
            others.append(i)
    fac_rows = _tuples(rows, _FAC_FIELDS)     # the frame's few columns read whole: no `.iloc` of a wide frame
    for i in others:
        f = fac_rows[i]
        fid = str(f.Index)
        letter = _kind_letter(f.kind)
        x, y = float(gx[i]), float(gy[i])
        geom = f'{{"type":"Point","coordinates":[{px[i]!r},{py[i]!r}]}}'
        short = short_center.get(fid)
        props = {"mk": "fac", "fk": letter, "gl": Grade(int(f.grade)).level, "id": f"fac:{fid}",
                 "dia": 1 if bool(getattr(f, "dialysis", False)) else None, "bad": 1 if short is not None else None}
        tip, pop = _facility_html(run, fid, f, popup=False, short=short), _facility_html(run, fid, f, popup=True, short=short)
        if fid in leads:
            lead_xy[fid] = (x, y)
            lead_feats.append(_feature(geom, lead=1, tip=tip, pop=pop, **props))
            names.append(Name([float(py[i]), float(px[i])], esc(f.name), "pm-n-lead", priority=1, movable=True, offset=(0, 24)))
        elif letter == "c":
            center_feats.append(_feature(geom, tip=tip, pop=pop, **props))
        else:
            hosp_feats.append(_feature(geom, tip=tip, pop=pop, **props))

    # Problems where they are: each center without its physician (a marker in its township and a red
    # outline of the township), each community short of city experts (a marker by its lead).
    short_feats = []
    for s in shorts:
        if s.kind == "attending" and s.township in rep_of:
            rep = rep_of[s.township]
            tip = _tip(f"<b>{esc(run.name(s.target))}</b>",
                       f'<span class="pm-FAIL">{t("未派驻主治医师以上人员", "no attending-or-above physician dispatched")}</span>',
                       f"{t('接收', 'gets')} {s.got} / {s.need} · {esc(run.towns.at[s.township, 'name'])}")
            short_feats.append(_feature(proj.point(rep.x, rep.y), mk="short", st="att", id=f"short:{s.target}", tip=tip,
                                        pop=_pop(tip, cite_html(run.attending.source_text) if run.attending else "")))
            short_feats.append(_feature(proj.geometry(run.towns.at[s.township, "geometry"].boundary),
                                        style={"color": "#c62828", "weight": 3.5, "opacity": 0.95, "fill": False}))
        elif s.kind == "expert" and s.target in run.comms:
            lead = run.comms[s.target].lead
            if lead in lead_xy:
                tip = _tip(f"<b>{run.community_name(s.target)}</b>",
                           f'<span class="pm-FAIL">{t("城市专家不足", "short of city experts")}</span>',
                           f"{t('接收', 'gets')} {s.got} / {s.need}")
                short_feats.append(_feature(proj.point(*lead_xy[lead]), mk="short", st="exp", id=f"shortx:{s.target}",
                                            tip=tip, pop=_pop(tip, cite_html(run.expert.source_text) if run.expert else "")))

    cids = {c.id for c in comms}
    roster = [row for c in sorted(cids) for row in run.roster_rows.get(c, ())]
    dispatch_feats, dispatch_labels = _roster_lines(run, proj, [x for x in roster if x[0] == "attending"], expert=False)
    expert_feats, expert_labels = _roster_lines(run, proj, [x for x in roster if x[0] == "expert"], expert=True)

    site_feats, reach_feats = [], []
    cov_min = run.dialysis_rule.coverage_minutes if run.dialysis_rule is not None else None
    fac_row, fac_cols = _geometry_index(run.fac)[0], columns_of(run.fac)
    for s in dia_sites:
        fid = str(s["fid"])
        d = s["county"]
        kind = t("新增血透点", "New dialysis site") if s["new"] else t("现有血透点", "Existing dialysis site")
        if s["new"]:
            kind += f" · {t('服务人口', 'serves')} ≈{run.num(int(s['served']))}"
        tip = _tip(f"<b>{esc(run.fac_name[fid])}</b>", kind,
                   f"{esc(d.county_name)}: {t('可及人口', 'within reach')} {run.num(int(d.covered_before))} → "
                   f"{run.num(int(d.covered_after))}" + (f" (≤ {cov_min:g} {t('分钟', 'min')})" if cov_min else ""))
        synthesized = "synthesized" in fac_cols and bool(fac_cols["synthesized"][fac_row[fid]])
        pop = _pop(tip, f'<span class="pm-syn">{t("合成数据", "synthesized")}</span>' if synthesized else "")
        site_feats.append(_feature(proj.point(*run.fac_xy[fid]), mk="dia", st="new" if s["new"] else "old",
                                   id=f"dia:{s['fid']}", tip=tip, pop=pop))
    if cov_min is not None:
        for code, (before, after) in sorted(dia_minutes.items()):
            if code not in town_set:
                continue
            was, now = before <= cov_min, after <= cov_min
            if not now:
                continue
            label = t("原已可及", "already within reach") if was else t("新增可及", "newly within reach")
            tip = _tip(f"<b>{esc(town_name[code])}</b>", label,
                       f"{t('最近血透点', 'Nearest dialysis')}: ≈{minutes(before)} → ≈{minutes(after)} {t('分钟', 'min')}")
            reach_feats.append(_feature(geo_of[code], tip=tip,
                                        style={"color": "#08519c", "weight": 1, "opacity": 0.8,
                                               "fillColor": "#6baed6" if was else "#08519c", "fillOpacity": 0.45}))
    conflict_feats = []
    for code in sorted(culprits):
        tip = _tip(f"<b>{esc(town_name[code])}</b>",
                   f'<span class="pm-FAIL">{t("导致规则冲突的乡镇", "a township behind the conflict")}</span>',
                   t("见右侧“为何无可行方案”", "see 'Why no plan' in the panel"))
        conflict_feats.append(_feature(geo_of[code], id=f"conflict:{code}", tip=tip,
                                       style={"color": "#6a1b9a", "weight": 4, "opacity": 1, "fillColor": "#ce93d8",
                                              "fillOpacity": 0.5}))

    layers = [Layer("townships", t("乡镇（按网格着色）", "Townships by grid") if is_city
                    else t("乡镇（按医共体着色）", "Townships by community"), town_feats),
              Layer("outlines", (t("网格边界", "Grid boundaries") if is_city else t("医共体边界", "Community boundaries")),
                    outline_feats, interactive=False),
              Layer("counties", t("县（市、区）界", "County boundaries"), county_feats, interactive=False),
              Layer("conflict", t("导致冲突的乡镇", "Townships behind the conflict"), conflict_feats),
              Layer("shortfalls", t("缺口（未派驻医师、专家不足）", "Shortfalls (physicians, experts)"), short_feats, kind="mixed"),
              Layer("leads", t("牵头医院", "Lead hospitals"), lead_feats, kind="point", spread=True),
              Layer("hospitals", t("其他医院", "Other hospitals"), hosp_feats, kind="point", spread=True),
              Layer("centers", t("乡镇卫生院、社区卫生服务中心", "Health centers"), center_feats, kind="point", spread=True),
              Layer("clinics", t("村卫生室", "Village clinics"), clinic_feats, kind="cluster", show=False),
              Layer("dispatch", t("派驻医师", "Physicians dispatched"), dispatch_feats + dispatch_labels, kind="mixed"),
              Layer("experts", t("城市专家", "City experts"), expert_feats + expert_labels, kind="mixed"),
              Layer("dialysis", t("血透点", "Dialysis sites"), site_feats, kind="point"),
              Layer("reach", t("血透可及范围", "Within reach of dialysis"), reach_feats, show=False)]
    from .access.layers import access_layers

    layers += access_layers(run, unit, proj, geo_of, towns)
    if UNIT_LAYERS:
        ctx = UnitLayerContext(r, unit, comms, {c.id: run.colors.get(c.id, "#999999") for c in comms}, proj.point,
                               proj.geometry, proj.points, proj.geojson, proj.lines)
        for builder in UNIT_LAYERS:
            layers.extend(builder(ctx))
    layers = [x for x in layers if x.features]

    # Community names: always shown (moved to avoid each other), with their figures and expert shortfall.
    for c in comms:
        if c.id not in comm_shapes:
            continue
        cr = run.comm_rows.get(c.id)
        approx = "≈" if cr is not None and bool(cr["population_estimated"]) else ""
        pt = shapely.point_on_surface(comm_shapes[c.id])
        line2 = (f"{len(c.townships)} {t('个乡镇', 'townships')} · {approx}"
                 f"{run.num(int(cr['population']) if cr is not None else 0)} {t('人', 'residents')}")
        exp = next((s for s in shorts if s.kind == "expert" and s.target == c.id), None)
        if exp is not None:
            line2 += f'<br><span class="pm-n-warn">⚠ {t("城市专家", "city experts")} {exp.got}/{exp.need}</span>'
        names.append(Name(proj.latlng(pt.x, pt.y), f"<b>{run.community_name(c.id)}</b><br>{line2}", "pm-n-comm",
                          priority=0, movable=True))
    if infeasible:
        pt = shapely.point_on_surface(_dissolve(run.towns, {"all": list(towns.index)}, 0.001)["all"]) if len(towns) else None
        if pt is not None:
            names.append(Name(proj.latlng(pt.x, pt.y), f'<b class="pm-n-warn">{t("无可行方案", "No feasible plan")}</b><br>'
                              f"{t('规则相互冲突，见右侧说明', 'rules conflict: see the panel')}", "pm-n-comm pm-n-bad",
                              priority=0))

    row = dict(run.unit_rows[unit.id])
    if infeasible:    # no plan: the county's own figures, not those of an empty plan
        row["population"] = int(towns["population"].sum()) if len(towns) else 0
        row["townships"] = len(towns)
    kind = t("城市医疗集团网格", "City medical group grids") if is_city else t("县域医共体", "County medical communities")
    n_att = sum(1 for s in shorts if s.kind == "attending")
    n_exp = sum(1 for s in shorts if s.kind == "expert")
    status = str(row["status"])
    key_items = [(grouped(len(comms)), t("个网格", "grids") if is_city else t("个医共体", "communities"), ""),
                 (grouped(row["townships"]), t("个乡镇", "townships"), ""),
                 (run.num(row["population"]), t("人", "residents"), "")]
    if infeasible:
        key_items.insert(0, (t("无可行方案", "No feasible plan"), "", "pm-bad"))
    else:
        key_items.append((grouped(row["hard_violations"]), t("项硬性规则违反", "hard-rule violations"),
                          "pm-bad" if int(row["hard_violations"] or 0) else "pm-good"))
    if n_att:
        key_items.append((grouped(n_att), t("个卫生院缺派驻医师", "centers without their physician"), "pm-bad"))
    if n_exp:
        key_items.append((grouped(n_exp), t("个医共体专家不足", "communities short of experts"), "pm-bad"))
    head = (f"<h1>{esc(unit.name)}</h1><div>{kind} · {esc(r.region.name)} · {_status_words(status)}</div>"
            f"<div class=\"pm-cite\">{t('规则', 'Rules')}: {esc(r.rules.title or r.rules.name)} {idc(r.rules.name)}</div>"
            f"{_key_strip(run, key_items)}{_links(run, '../', back=True)}")
    why = ""
    if infeasible and up is not None and up.explanation:
        why = _panel(t("为何无可行方案", "Why there is no plan"),
                     '<ul class="pm-lines">' + "".join(f"<li>{msg(x)}</li>" for x in up.explanation) + "</ul>", key="why")
    objective = ""
    if up is not None and up.objective is not None:
        objective = (f"<div class=\"pm-cite\">{t('目标值（人口加权车程）', 'Objective (population-weighted travel)')}: "
                     f"{grouped(up.objective)} {t('人·分钟', 'person-minutes')}"
                     + (f"，{t('差距', 'gap')} {up.gap:.2%}" if up.gap else "") + "</div>")
    info = (why + _panel(f"{t('规则核查', 'Compliance')}（{t('本单元，未通过的在前', 'this unit, failures first')}）",
                         f'<div class="pm-scroll">{_rule_list(run.unit_statuses(unit))}</div>', key="rules")
            + _panel(t("主要指标", "Key figures"), _figures_table(_figure_rows(run, row, run.estimated_population)) + objective,
                     open_=False, key="figures"))
    comm_rows = []
    for c in comms:
        cr = run.comm_rows.get(c.id)
        approx = "≈" if cr is not None and bool(cr["population_estimated"]) else ""
        comm_rows.append(f'<div class="row"><span class="sw" style="background:{run.colors.get(c.id, "#999")}"></span>'
                         f"{run.community_name(c.id)} <span class=\"pm-cite\">{len(c.townships)} · {approx}"
                         f"{run.num(int(cr['population']) if cr is not None else 0)}</span></div>")
    symbols = ["lead", "grades", "center", "clinic"]
    symbols += ["short"] if n_att else []
    symbols += ["short_exp"] if n_exp else []
    symbols += ["dispatch"] if dispatch_feats else []
    symbols += ["experts"] if expert_feats else []
    symbols += ["dialysis"] if site_feats else []
    symbols += ["conflict", "infeasible"] if infeasible else []
    symbols += ["grid" if is_city else "community", "estimated"]
    extra_legend = "".join(f'<div class="row">{x.legend}</div>' for x in layers if x.legend)
    legend = _panel(t("图例", "Legend"),
                    f"<h3>{(t('网格', 'Grids') if is_city else t('医共体', 'Communities'))}"
                    f" ({t('乡镇数 · 人口', 'townships · population')})</h3>"
                    + "".join(comm_rows) + "<h3>" + t("符号", "Symbols") + "</h3>" + _legend_symbols(symbols) + extra_legend,
                    key="legend")
    panels = [{"pos": "topleft", "html": head, "cls": "pm-title"},
              {"pos": "topright", "html": info, "cls": "pm-info"},
              {"pos": "bottomleft", "html": legend, "cls": "pm-legend"}]
    geoms = list(town_shapes) or list(run.region.counties.loc[list(unit.county_codes)].geometry.values)
    banner = _banner(run, run.notes)
    return Page(f"{unit.name} — {r.region.name}", proj.bounds(geoms), layers, panels, banner, prefix="../", names=names)


def _roster_lines(run: _Run, proj: _Proj, rows: Sequence[tuple], *, expert: bool) -> tuple[list[str], list[str]]:
    """Lines from each sending hospital to each receiver, with the count (tooltip and a label near the receiver).

    `rows` are the roster's (role, from_id, to_id, title, specialty, count, travel_min, borrowed)."""
    lines: list[str] = []
    labels: list[str] = []
    if not rows:
        return lines, labels
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for _role, src, dst, title, spec, n, minutes_, borrowed in rows:
        p = pairs.setdefault((src, dst), {"n": 0, "detail": {}, "min": 0.0, "borrowed": False})
        p["n"] += int(n)
        p["detail"][(str(title), str(spec))] = p["detail"].get((str(title), str(spec)), 0) + int(n)
        p["min"] = max(p["min"], float(minutes_))
        p["borrowed"] |= str(borrowed).lower() == "true"
    style = {"color": "#6a1b9a" if expert else "#d35400", "opacity": 0.85}
    who = t("名城市专家", "city experts") if expert else t("名医师", "physicians")
    drawn = [(src, dst, p, run.fac_xy[src], run.fac_xy[dst]) for (src, dst), p in sorted(pairs.items())
             if src in run.fac_xy and dst in run.fac_xy]
    k = 0.8     # the count's label: 4/5 of the way to the receiver
    geoms = proj.lines([[a, b] for _s, _d, _p, a, b in drawn], spaced=True)
    spots = proj.points([a[0] + k * (b[0] - a[0]) for _s, _d, _p, a, b in drawn],
                        [a[1] + k * (b[1] - a[1]) for _s, _d, _p, a, b in drawn])
    for (src, dst, p, a, b), geom, spot in zip(drawn, geoms, spots):
        n = p["n"]
        detail = "、".join(f"{esc(title)} {esc(spec)} ×{k}" for (title, spec), k in sorted(p["detail"].items()))
        tip = _tip(f"<b>{esc(run.name(src))}</b> → <b>{esc(run.name(dst))}</b>", f"{n} {who}: {detail}",
                   f"{t('路程', 'Travel')} ≈{minutes(p['min'])} {t('分钟', 'min')}"
                   + (f" · {t('借调自城市医院', 'borrowed from a city hospital')}" if p["borrowed"] else ""))
        s = dict(style, weight=min(2 + n, 8))
        if expert:
            s["dashArray"] = "6 4"
        lines.append(_feature(geom, tip=tip, pop=tip, style=s, cls="pm-expert" if expert else "pm-dispatch"))
        labels.append(_feature(spot, mk="cnt", n=n, x=1 if expert else None))
    return lines, labels


# --- pages as HTML ------------------------------------------------------------------------------------


def _tile_config(opts: MapOptions) -> list[dict[str, Any]]:
    """Base-map tile layers for the runtime (none offline)."""
    tiles = opts.base_map
    if tiles == "osm":
        return [{"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "name": "OpenStreetMap",
                 "attr": "&copy; OpenStreetMap contributors", "maxZoom": 19}]
    if tiles == "amap":
        return [{"url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                 "name": "高德地图 Amap", "attr": "&copy; 高德地图 AutoNavi (GCJ-02)", "subdomains": "1234", "maxZoom": 18}]
    if tiles == "tianditu":
        base = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
                "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + str(opts.tianditu_key))
        return [{"url": base.replace("{layer}", "vec"), "name": "天地图 Tianditu", "attr": "&copy; 天地图 Tianditu",
                 "subdomains": "01234567", "maxZoom": 18},
                {"url": base.replace("{layer}", "cva"), "name": "天地图注记", "attr": "", "subdomains": "01234567",
                 "maxZoom": 18}]
    return []


_SHELL_MARK = "@@PM_BODY@@"


@cache
@cache
def _page_shell() -> str:
    """The HTML around every page: `_folium_shell("@@PM_TITLE@@")`, read from the vendored copy.

    Importing folium (and jinja2, branca) to draw it cost a sixth of a second of every run;
    tests/test_render_json.py checks that the copy is what folium draws. Read once per process (every page).
    """
    return (_ASSET_DIR / _SHELL_FILE).read_text(encoding="utf-8")


def _folium_shell(title_mark: str) -> str:
    """The HTML around a page as folium draws it: the map element and Leaflet map (no tiles, no CDN).

    The map options are fixed (zoom steps of a quarter level so that fitBounds fills the
    window); the page's head (assets) and body script are spliced in at the marks. Pages use
    the vendored copy of this text (`_page_shell`); regenerate it after changing this function:
    ``python -c "from planner import render; open('planner/_assets/page-shell.html', 'w', encoding='utf-8',
    newline='').write(render._folium_shell('@@PM_TITLE@@'))"``.
    """
    import folium
    from branca.element import Element, MacroElement
    from folium.template import Template

    class _Start(MacroElement):
        _template = Template("""
            {% macro script(this, kwargs) %}
            PM.start({{ this._parent.get_name() }}, PM_DATA, PM_CFG);
            {% endmacro %}
        """)

    m = folium.Map(location=None, tiles=None, control_scale=False, prefer_canvas=False, zoom_control=True,
                   maxZoom=18, minZoom=3, zoomSnap=0.25, zoomDelta=0.5)
    m.default_js, m.default_css = [], []
    fig = m.get_root()
    fig.header.add_child(Element(f"<title>{title_mark}</title>\n@@PM_HEAD@@\n"), name="pm_head")
    fig.html.add_child(Element(_SHELL_MARK), name="pm_body")
    s = _Start()
    s._name = "PlannerStart"
    m.add_child(s)
    counter = 0

    def walk(el: Any) -> None:
        nonlocal counter
        el._id = f"{counter:05d}"
        counter += 1
        for child in list(el._children.values()):
            walk(child)

    walk(fig)
    text = fig.render()
    if _UUID_RE.search(text):
        raise RuntimeError("a random folium element id survived in the page; the output would not be reproducible")
    return text


def stamp_html(result, opts: MapOptions, date: str | None = None) -> str:
    """The page stamp: date, planner version, rule file, data status (synthesized, estimated, user files)."""
    day = date or _today()
    rules = result.rules
    path = str(result.plan.meta.get("rules_path") or rules.path or rules.name)
    inputs = result.plan.meta.get("inputs") or {}
    user = [Path(e["path"]).name for entries in inputs.values() for e in entries]
    flags = result.region.estimated_flags()
    data = [t("内嵌数据：2020年人口普查、行政区划", "embedded data: 2020 census, administrative divisions")]
    if user:
        data.append(t("用户文件", "user files") + ": " + esc(", ".join(sorted(user))))
    if flags["facilities_synthesized"] > 0:
        data.append(f'<b class="pm-syn">{t("设施为合成数据", "facilities synthesized")}</b>')
    if flags["township_polygon_estimated"] > 0 or flags["township_population_estimated"] > 0:
        data.append(t("乡镇边界与人口为估算", "township borders and populations estimated"))
    return (f'<span class="pm-stamp-date">{esc(day)}</span> · planner {esc(__version__)} · {t("规则文件", "rule file")} '
            f"{esc(rules.title or rules.name)} {idc(path)} · " + " · ".join(data)
            + f" · {t('示意图，界线不作为权属依据', 'schematic map: boundaries are not authoritative')}")


def _today() -> str:
    """Today's date, or the date of SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc).date().isoformat()
    return _dt.date.today().isoformat()


def _config(opts: MapOptions, stamp: str) -> dict[str, Any]:
    tiles = _tile_config(opts)
    if opts.offline:
        notice = t("离线版：未加载底图（无网络请求）", "Offline copy: no base map loaded (no network requests)")
    elif not tiles:
        notice = t("未加载底图", "No base map")
    else:
        notice = ""
    return {"tiles": tiles, "blank": not tiles, "notice": notice, "stamp": stamp,
            "tileError": t("底图未能加载（无网络，或无法访问底图服务）", "The base map did not load (no network, or the tile server is unreachable)")}


def _labels_of(text: str) -> dict[str, str]:
    return {k: _label_html(k) for k in sorted(set(_TOKEN.findall(text))) if k in _LABELS}


def page_html(page: Page, opts: MapOptions, *, stamp: str = "", data_src: str | None = None,
              data_json: str | None = None) -> str:
    """A Page as HTML: the folium shell with the vendored assets (inlined or linked), the run's config and the
    page's data inline, or from `data_src` (a script beside the page) when given."""
    shell = _page_shell()
    head = _page_head(opts, stamp, page.prefix)
    if data_src is not None:
        head += f'<script src="{esc(data_src)}"></script>\n'
        body = ""
    else:
        body = f"<script>var PM_DATA = {data_json if data_json is not None else page.data_json()};</script>\n"
    text = shell.replace("@@PM_TITLE@@", esc(page.title), 1).replace("@@PM_HEAD@@", head, 1).replace(_SHELL_MARK, body, 1)
    return text.replace("<html>", f'<html lang="{"en" if opts.lang == "en" else "zh-CN"}" class="lang-{opts.lang}">', 1)


@functools.lru_cache(maxsize=64)
def _page_head(opts: MapOptions, stamp: str, prefix: str) -> str:
    """The assets and the run's config of `page_html`, the same for every page of a run (made once per run)."""
    cfg_json = _json(_config(opts, stamp))
    cfg_json = cfg_json[:-1] + ',"labels":' + _json(_labels_of(cfg_json)) + "}"
    return _asset_head(opts.offline, prefix) + f"<script>var PM_CFG = {cfg_json};</script>\n"


def data_script(data_json: str) -> str:
    """A unit page's data file (units/<unit>.js)."""
    return f"var PM_DATA = {data_json};\n"


def _data_script_bytes(data: bytes) -> bytes:
    """`data_script` of `Page.data_bytes`, encoded."""
    return b"var PM_DATA = " + data + b";\n"


# --- runs and plan folders ---------------------------------------------------------------------------------


def _unit_key(run: _Run, unit: Unit) -> str:
    """A digest of everything a unit page shows, cheaper to compute than the page (for reuse on re-runs)."""
    r = run.result
    up = r.plan.units.get(unit.id)
    comms = list(up.communities) if up is not None else []
    row = _geometry_index(run.towns)[0]
    codes = [x for x in unit.townships if str(x) in row] if run.towns.index.is_unique else \
        [x for x in unit.townships if x in run.towns.index]
    fac_ids = [str(x) for x in unit.facilities.index.tolist()]
    cids = sorted(c.id for c in comms)
    roster = [run.roster_records[c] for c in cids if c in run.roster_records]
    payload = {
        "renderer": renderer_digest(), "opts": [run.opts.lang, run.opts.base_map, run.opts.numbers, run.opts.offline],
        "rules": [r.rules.name, r.rules.title, str(r.plan.meta.get("rules_path") or r.rules.path)],
        "region": r.region.name, "notes": list(run.notes), "links": run.links,
        "unit": [unit.id, unit.name, unit.scope, list(unit.county_codes)],
        "plan": None if up is None else [up.status.value if up.status else None, up.objective, up.gap,
                                          [str(x) for x in up.explanation],
                                          [[c.id, c.lead, list(c.townships)] for c in comms]],
        "colors": [run.colors.get(c) for c in cids],
        "comm_rows": [run.comm_rows.get(c) for c in cids],
        "lead_names": [run.name(c.lead) for c in comms],
        "unit_row": run.unit_rows.get(unit.id),
        "statuses": [[s["rule_id"], s["mark"], [str(getattr(v, "zh", v)) + "|" + str(v) for v in s["violations"]]]
                     for s in run.unit_statuses(unit)],
        "towns": run.row_digest("towns", codes),
        "facilities": run.row_digest("fac", fac_ids),
        "roster": roster,
        "dialysis": [repr(run.dialysis.get(c)) for c in unit.county_codes],
        "members": [[fid, run.members.get(fid)] for fid in fac_ids if fid in run.members],
        "hooks": [(_LAYER_KEYS[b](r, unit) if b in _LAYER_KEYS else os.urandom(8).hex()) for b in UNIT_LAYERS],
    }
    text = "".join(_KEY_ENCODE(payload, 0)) if _KEY_ENCODE is not None else \
        json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)'s C encoder, made once (2,800 units a run).
_KEY_ENCODE = (json.encoder.c_make_encoder(None, str, json.encoder.encode_basestring, None, ": ", ", ", True, False, True)
               if json.encoder.c_make_encoder is not None else None)


def _new_run(result, opts: MapOptions, notes: Sequence[str], facts: PlanFacts | None, links: dict[str, str] | None) -> _Run:
    facts = facts or cached_facts(result)
    return _Run(result, facts, community_colors(result.plan, result.graph), opts, list(notes), dict(links or {}))


def map_pages(result, *, lang: str = "zh", offline: bool = False, tiles: str = "osm", tianditu_key: str | None = None,
              notes: Sequence[str] = (), facts: PlanFacts | None = None, units: Sequence[str] | None = None, jobs: int = 1,
              numbers: str = "grouped", stamp_date: str | None = None, links: dict[str, str] | None = None) -> dict[str, str]:
    """Every page of a run as self-contained HTML text, by path relative to the maps folder (pure; nothing is written).

    Parameters are those of `render_run`; the pages carry their data inline (as `--offline`
    pages do), so each opens alone.
    """
    opts = MapOptions(lang, offline, tiles, tianditu_key, numbers).checked()
    run = _new_run(result, opts, notes, facts, links)
    stamp = stamp_html(result, opts, stamp_date)
    pages = {"index.html": page_html(overview_page(run), opts, stamp=stamp)}
    chosen = [u for u in result.units if units is None or u.id in units]
    for rel, data in _unit_data(run, chosen, jobs):
        pages[rel + ".html"] = page_html(_PageStub(data), opts, stamp=stamp, data_json=data)
    return pages


@dataclass
class _PageStub:
    """A unit page known only by its data text (drawn in a worker): title and prefix for the shell."""

    data: str

    @property
    def title(self) -> str:
        return json.loads(self.data)["title"]

    prefix: str = "../"


_FORKED_RUN: _Run | None = None


def _unit_data(run: _Run, chosen: Sequence[Unit], jobs: int) -> list[tuple[str, str]]:
    """(units/<name> without suffix, data JSON) of each chosen unit, in unit order; forked workers when jobs > 1."""
    if jobs > 1 and len(chosen) > 1 and "fork" in multiprocessing.get_all_start_methods():
        global _FORKED_RUN
        _FORKED_RUN = run
        try:
            _prepare(run)
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                parts = pool.map(_unit_data_worker, [[u.id for u in chosen[k::jobs]] for k in range(jobs)])
        finally:
            _FORKED_RUN = None
        got = dict(x for part in parts for x in part)
        return [(_unit_rel(u), got[_unit_rel(u)]) for u in chosen]
    return [(_unit_rel(u), unit_page(run, u).data_json()) for u in chosen]


def _unit_data_worker(ids: list[str]) -> list[tuple[str, str]]:
    """Data of some units, in a forked worker that inherited the parent's _Run (labels registered there too)."""
    run = _FORKED_RUN
    assert run is not None
    return [(_unit_rel(run.units[uid]), unit_page(run, run.units[uid]).data_json()) for uid in ids]


def _unit_rel(unit: Unit) -> str:
    return "units/" + unit_filename(unit.id).removesuffix(".html")


def _read_manifest(folder: Path | None) -> dict[str, Any]:
    if folder is None:
        return {}
    try:
        doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) and doc.get("renderer") == renderer_digest() else {}


def _reuse(old: Path, new: Path) -> bool:
    """Put a file of the previous maps folder into the new one (hard link, else copy)."""
    import shutil

    try:
        new.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(old, new)
        except OSError:
            shutil.copy2(old, new)
        return True
    except OSError:
        return False


def _with_fewer_collections(draw: Callable) -> Callable:
    """`draw` with the garbage collector's young generation run every 50,000 allocations (pipeline's setting for
    a run: pages allocate millions of small objects while the region's frames stay alive; forked workers inherit
    it). 浙江省's maps, one process, alternating: 3-6 % less CPU, the same files."""
    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        with fewer_collections():
            return draw(*args, **kwargs)

    return drawn


@_with_fewer_collections
def render_run(result, maps_dir: str | Path, *, lang: str = "zh", offline: bool = False, tiles: str = "osm",
               tianditu_key: str | None = None, notes: Sequence[str] = (),
               units: Sequence[str] | None = None, facts: PlanFacts | None = None, jobs: int = 1,
               numbers: str = "grouped", reuse: str | Path | None = None, stamp_date: str | None = None,
               links: dict[str, str] | None = None, stats: dict[str, int] | None = None) -> list[Path]:
    """Write the maps of a run: `index.html` (region overview) and `units/<unit>.html` per county or city grid.

    Parameters
    ----------
    result
        A RunResult (planner.pipeline.run_plan).
    maps_dir
        The folder to write into (created if missing); the renderer writes only there.
    lang
        "zh" (default) or "en": the language shown first; each page has a button to switch.
    offline
        True: each page is one self-contained HTML file (Leaflet, scripts, styles, data inlined)
        that opens on a PC with no network, and no base map is requested. False: pages share
        `assets/` beside them, and each unit's data is its own file `units/<unit>.js`.
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
    jobs
        Worker processes for the unit pages (forked; the pages are the same whatever the number).
    numbers
        "grouped" (1,859,390) or "wan" (185.9万 in Chinese text).
    reuse
        The previous maps folder of the same plan (e.g. the published one being replaced): the
        data of every unit whose inputs are unchanged (see `manifest.json`) is linked from there
        instead of drawn again, and the shared assets likewise.
    stamp_date
        The date on the pages (default today, or SOURCE_DATE_EPOCH).
    links
        Relative links from the maps folder: {"summary": "../../plans/X/summary.html"}.
    stats
        When given, filled with {"drawn": n, "reused": n} unit pages.

    Returns
    -------
    list of Path
        index.html first, then the unit pages (and their data files), then the shared assets.

    Raises
    ------
    MapError
        For an unknown option or Tianditu without a key.
    """
    opts = MapOptions(lang, offline, tiles, tianditu_key, numbers).checked()
    out = Path(maps_dir)
    run = _new_run(result, opts, notes, facts, links)
    stamp = stamp_html(result, opts, stamp_date)
    shell = hashlib.sha256(page_html(Page("", [], [], [], prefix="../"), opts, stamp=stamp,
                                     data_src="_.js").encode()).hexdigest()[:32]
    prev_dir = Path(reuse) if reuse is not None else None
    old = _read_manifest(prev_dir)
    old_units: dict[str, str] = old.get("units", {}) if old.get("offline") == opts.offline else {}
    chosen = [u for u in result.units if units is None or u.id in units]
    reused: set[str] = set()
    if prev_dir is None or not old:
        # Nothing to reuse, so every page is drawn, and each page's key is made by the worker that draws it:
        # made here before the drawing, the country's 2,847 keys took ~5 s of this process, the other core idle.
        drawn_keys = _draw_all(run, out, stamp, True, chosen, jobs, keyed=True)
        keys = {u.id: drawn_keys[u.id] for u in chosen}
        overview_key = _overview_key(keys, stamp, shell, opts, len(result.units))
    else:
        keys = {u.id: _unit_key(run, u) for u in chosen}
        overview_key = _overview_key(keys, stamp, shell, opts, len(result.units))
        draw_overview = not (old.get("overview") == overview_key and units is None and (prev_dir / "index.html").exists()
                             and _reuse(prev_dir / "index.html", out / "index.html"))
        same_shell = old.get("shell") == shell
        todo = []
        for u in chosen:
            rel = _unit_rel(u)
            data_file = rel + (".html" if opts.offline else ".js")
            if old_units.get(u.id) == keys[u.id] and (prev_dir / data_file).exists() \
                    and (not opts.offline or old.get("stamp") == stamp) and _reuse(prev_dir / data_file, out / data_file):
                reused.add(u.id)
                if not opts.offline and not (same_shell and (prev_dir / f"{rel}.html").exists()
                                             and _reuse(prev_dir / f"{rel}.html", out / f"{rel}.html")):
                    _write_unit_shell(out, u, f"{u.name} — {result.region.name}", opts, stamp)
            else:
                todo.append(u)
        _draw_all(run, out, stamp, draw_overview, todo, jobs)
    written = [out / "index.html"]
    for u in chosen:
        rel = _unit_rel(u)
        written += [out / f"{rel}.html"] if opts.offline else [out / f"{rel}.html", out / f"{rel}.js"]
    if not opts.offline:
        for name, data in sorted(asset_files().items()):
            target = out / "assets" / name
            prev = prev_dir / "assets" / name if prev_dir is not None else None
            if prev is not None and prev.exists() and prev.read_bytes() == data and _reuse(prev, target):
                written.append(target)
            else:
                written.append(io.write_bytes(target, data))
    manifest = {"renderer": renderer_digest(), "offline": opts.offline, "stamp": stamp, "shell": shell,
                "overview": overview_key, "units": {**({k: v for k, v in old_units.items() if units is not None}), **keys}}
    io.write_text(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=0))
    if stats is not None:
        stats.update({"drawn": len(chosen) - len(reused), "reused": len(reused)})
    return written


def _overview_key(keys: dict[str, str], stamp: str, shell: str, opts: MapOptions, n_units: int) -> str:
    """The overview page's reuse key: the renderer, every unit page's key, the stamp and shell."""
    return hashlib.sha256(json.dumps([renderer_digest(), sorted(keys.items()), stamp, shell, opts.offline,
                                      n_units]).encode()).hexdigest()[:32]


UNITS_PER_TASK = 12
"""Unit pages per worker task: small enough that two workers finish together, large enough to cost little to send."""


@dataclass(frozen=True)
class _Task:
    """Pages a worker draws and writes into the maps folder: the overview, or some unit pages."""

    out: Path
    stamp: str
    overview: bool = False
    units: tuple[str, ...] = ()
    keyed: bool = False


def _draw_all(run: _Run, out: Path, stamp: str, overview: bool, todo: Sequence[Unit], jobs: int, *,
              keyed: bool = False) -> dict[str, str]:
    """Draw and write the overview (when `overview`) and the `todo` unit pages, in forked workers when jobs > 1.

    Workers inherit the run (nothing of the region is pickled), write their pages themselves and
    return nothing but, with `keyed`, each drawn page's reuse key (`_unit_key`, by unit id); the
    overview, the largest single page, is the first task.
    """
    ids = [u.id for u in todo]
    tasks = ([_Task(out, stamp, overview=True)] if overview else []) + [
        _Task(out, stamp, units=tuple(ids[k:k + UNITS_PER_TASK]), keyed=keyed) for k in range(0, len(ids), UNITS_PER_TASK)]
    keys: dict[str, str] = {}
    global _FORKED_RUN
    _FORKED_RUN = run
    try:
        if jobs > 1 and len(tasks) > 1 and "fork" in multiprocessing.get_all_start_methods():
            _prepare(run)       # look-ups every page needs, built once here rather than in every worker
            with multiprocessing.get_context("fork").Pool(min(jobs, len(tasks))) as pool:
                for made in pool.imap_unordered(_draw_task, tasks):
                    keys.update(made)
        else:
            for task in tasks:
                keys.update(_draw_task(task))
    finally:
        _FORKED_RUN = None
    return keys


def _draw_task(task: _Task) -> dict[str, str]:
    """One task of `_draw_all` (in a forked worker that inherited the parent's _Run, or in the parent); with
    `task.keyed`, the key of each page drawn."""
    run = _FORKED_RUN
    assert run is not None
    if task.overview:
        io.write_text(task.out / "index.html", page_html(overview_page(run), run.opts, stamp=task.stamp))
    keys = {}
    for uid in task.units:
        unit = run.units[uid]
        page = unit_page(run, unit)
        data = page.data_bytes()
        rel = _unit_rel(unit)
        if run.opts.offline:
            io.write_text(task.out / f"{rel}.html", page_html(page, run.opts, stamp=task.stamp,
                                                             data_json=data.decode("utf-8")))
        else:
            io.write_bytes(task.out / f"{rel}.js", _data_script_bytes(data))
            _write_unit_shell(task.out, unit, page.title, run.opts, task.stamp)
        if task.keyed:
            keys[uid] = _unit_key(run, unit)
    return keys


def _write_unit_shell(out: Path, unit: Unit, title: str, opts: MapOptions, stamp: str) -> None:
    """The HTML of a linked unit page: the shell that loads its data file beside it."""
    rel = _unit_rel(unit)
    io.write_text(out / f"{rel}.html", page_html(Page(title, [], [], [], prefix="../"), opts, stamp=stamp,
                                                 data_src=f"{Path(rel).name}.js"))


def _prepare(run: _Run) -> None:
    """Build the run's shared look-ups before workers fork (each would otherwise build its own)."""
    _geometry_index(run.towns)
    columns_of(run.towns)
    if run.towns.index.is_unique:
        columns_of(_stacked_towns(run)[0])
    positions_of(run.towns, (), "county_code")
    positions_of(run.facts.sites, ())
    from .access.layers import prepare as access_prepare

    access_prepare(run)
    for builder in UNIT_LAYERS:
        if builder in _LAYER_PREPARE:
            _LAYER_PREPARE[builder](run.result)


# --- plan folders ---------------------------------------------------------------------------------


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
    rules = load_rules(str(saved.meta.get("rules_path") or saved.rules_name))  # a rule file of the user's too
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
    services = [s for s in statuses if type(s.rule).stage not in ("communities", "access", "integrity", "villages")]
    result = RunResult(region, rules, units, plan, community, graph, travel, out_dir=folder)
    result.dispatch = _read_dispatch(folder, region, plan)
    result.dialysis = _read_dialysis(folder, region)
    result.capacity = reserved_capacity(region, plan, list(rules.rules))
    # check_file re-runs the capacity rule itself (from the plan); older checkers did not.
    has_capacity = any(s.rule.kind == "reserved_capacity" for s in services)
    result.service_statuses = services + ([] if has_capacity else check_capacity(result.capacity, list(rules.rules)))
    from .access.outputs import load_access

    result.access = load_access(folder)
    result.access_statuses = [s for s in statuses if type(s.rule).stage == "access"]
    # The folder's tables against plan.json: shown only when they disagree, so that a folder draws the
    # same maps as the run that wrote it (the run itself has no folder to compare).
    result.integrity_statuses = [s for s in statuses if type(s.rule).stage == "integrity"
                                 and (s.rule.id != "plan.tables" or s.violations)]
    from .villages.outputs import load_villages

    result.villages = load_villages(folder)
    if result.villages is not None:
        from .villages.layers import register

        register()
    result.village_statuses = [s for s in statuses if type(s.rule).stage == "villages"]
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
                                        str(r.borrowed).lower() == "true", str(getattr(r, "profession", "") or "medicine")))
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
                    tiles: str = "osm", tianditu_key: str | None = None, units: Sequence[str] | None = None,
                    numbers: str = "grouped", reuse: str | Path | None = None, links: dict[str, str] | None = None,
                    stamp_date: str | None = None) -> list[Path]:
    """Draw the maps of a plan folder (`planner map PLAN`) into `maps_dir`, by default PLAN/maps.

    Same options as render_run; the plan is re-read and re-checked by `load_run`, and the
    pages say so when the rule file changed since the plan was made.
    """
    MapOptions(lang, offline, tiles, tianditu_key, numbers).checked()
    result, notes = load_run(plan_dir)
    target = Path(maps_dir) if maps_dir is not None else Path(plan_dir) / "maps"
    return render_run(result, target, lang=lang, offline=offline, tiles=tiles, tianditu_key=tianditu_key, notes=notes,
                      units=units, numbers=numbers, reuse=reuse, links=links, stamp_date=stamp_date)


# --- diff ------------------------------------------------------------------------------------------------


@dataclass
class _Side:
    """One plan folder of a diff: the plan, its rule file, its per-township table and problems."""

    plan: Plan
    folder: Path
    rules: Any = None
    towns: dict[str, dict[str, Any]] = field(default_factory=dict)
    shortfalls: int = 0

    @property
    def label(self) -> str:
        rules = self.rules
        title = (rules.title or rules.name) if rules is not None else self.plan.rules_name
        path = str(self.plan.meta.get("rules_path") or (rules.path if rules is not None else self.plan.rules_name))
        return f"{esc(title)} {idc(path)} · {t('规划', 'plan')} {idc(self.folder.name)}"


def _side(folder: str | Path) -> _Side:
    from . import planfile
    from .rulefile import load_rules

    plan = planfile.read_plan(folder)
    side = _Side(plan, Path(folder))
    try:
        side.rules = load_rules(str(plan.meta.get("rules_path") or plan.rules_name))
    except Exception:  # the rule file moved: the diff still shows the plans, without the rule changes
        side.rules = None
    frame = _table(Path(folder) / "assignments.csv")
    if frame is not None:
        side.towns = {str(r["township_code"]): r for r in frame.to_dict("records")}
    short = _table(Path(folder) / "shortfalls.csv")
    if short is not None:
        side.shortfalls = int((~short["shortfall"].astype(str).str.startswith("relaxation: ")).sum())
    return side


def diff_page(before: _Side | Plan, after: _Side | Plan, region, opts: MapOptions, numbers: str = "grouped") -> Page:
    """What moved between two plans, readable without the CLI: names, outlines, legend, the rule change behind it,
    and the figures before and after side by side."""
    from .diff import diff_lines, diff_table, rule_changes

    a_side = before if isinstance(before, _Side) else _Side(before, Path("before"))
    b_side = after if isinstance(after, _Side) else _Side(after, Path("after"))
    a_plan, b_plan = a_side.plan, b_side.plan
    proj = _Proj(opts.gcj02, OVERVIEW_DIGITS + 1)
    towns = region.townships
    fac = region.facilities
    moved = {r["township_code"]: r for r in diff_table(a_plan, b_plan) if r["township_code"] in towns.index}
    a_of, b_of = a_plan.community_of(), b_plan.community_of()

    def lead_name(fid: str | None) -> str:
        return str(fac.at[fid, "name"]) if fid and fid in fac.index else (fid or "—")

    def num(n: object) -> str:
        if numbers == "wan" and n is not None and not (isinstance(n, float) and math.isnan(n)) and abs(float(n)) >= 10_000:
            return f'<span class="zh">{wan(n)}</span><span class="en">{grouped(n)}</span>'
        return grouped(n)

    units_touched = {c.unit for c in a_plan.communities() + b_plan.communities() if any(x in moved for x in c.townships)}
    shown = sorted(x for x in towns.index if (a_of.get(x) and a_of[x].unit in units_touched)
                   or (b_of.get(x) and b_of[x].unit in units_touched)) if moved else list(towns.index)
    town_feats, names = [], []
    geoms = shapely.simplify(np.asarray(towns.loc[shown].geometry.values, dtype=object), 0.0005, preserve_topology=True)
    reps = shapely.point_on_surface(geoms)
    for code, geo, rep in zip(shown, proj.geojson(geoms), reps):
        tw = towns.loc[code]
        was, now = a_of.get(code), b_of.get(code)
        is_moved = code in moved
        ra, rb = a_side.towns.get(code, {}), b_side.towns.get(code, {})
        tip = _tip(f"<b>{esc(tw['name'])}</b>" + (f' <span class="pm-moved">{t("已调整", "moved")}</span>' if is_moved else ""),
                   f"{t('调整前', 'Before')}: {esc(lead_name(was.lead if was else None))}",
                   f"{t('调整后', 'After')}: {esc(lead_name(now.lead if now else None))}")
        pop = _pop(tip, idc(code), f"{t('常住人口', 'Population')}: ≈{num(int(tw['population']))}",
                   f"{t('到牵头医院（前→后）', 'Travel to lead (before → after)')}: ≈{minutes(ra.get('travel_min'))} → "
                   f"≈{minutes(rb.get('travel_min'))} {t('分钟', 'min')}")
        style = {"color": "#ffffff", "weight": 1, "fillColor": "#e53935" if is_moved else "#b0bec5",
                 "fillOpacity": 0.7 if is_moved else 0.35}
        town_feats.append(_feature(geo, id=str(code), cls=f"pm-t-{code}" + (" pm-moved" if is_moved else ""),
                                   tip=tip, pop=pop, style=style))
        names.append(Name(proj.latlng(rep.x, rep.y), esc(tw["name"]), "pm-n-town" + (" pm-n-moved" if is_moved else ""),
                          priority=2 if is_moved else 4, movable=is_moved))

    def outlines(plan: Plan, colour: str, dash: str | None) -> list[str]:
        feats = []
        for c in plan.communities():
            if c.unit not in units_touched and moved:
                continue
            codes = [x for x in c.townships if x in towns.index]
            if codes:
                g = shapely.simplify(_dissolve(towns, {c.id: codes}, 0.0)[c.id].boundary, 0.0005)
                style = {"color": colour, "weight": 2.5, "opacity": 0.9, "fill": False}
                if dash:
                    style["dashArray"] = dash
                feats.append(_feature(proj.geometry(g), style=style))
        return feats

    counties = region.counties.sort_index()
    cgeoms = shapely.simplify(np.asarray(counties.geometry.values, dtype=object), OVERVIEW_TOLERANCE_DEG, preserve_topology=True)
    county_feats = [_feature(g, style={"color": "#444444", "weight": 1.2, "opacity": 0.8, "dashArray": "5 4", "fill": False})
                    for g in proj.geojson(shapely.boundary(cgeoms))]
    outline = shapely.simplify(shapely.union_all(cgeoms), OVERVIEW_TOLERANCE_DEG)
    region_feats = [_feature(proj.geometry(outline.boundary), style={"color": "#111111", "weight": 2.5, "opacity": 0.9,
                                                                      "fill": False})]
    for code, rep in zip(counties.index, shapely.point_on_surface(cgeoms)):
        names.append(Name(proj.latlng(rep.x, rep.y), esc(counties.at[code, "name"]), "pm-n-county", priority=1,
                          movable=False))
    leads_a = {c.lead for c in a_plan.communities()}
    leads_b = {c.lead for c in b_plan.communities()}
    lead_feats = []
    for fid, state in sorted([(f, "added") for f in leads_b - leads_a] + [(f, "removed") for f in leads_a - leads_b]):
        if fid not in fac.index:
            continue
        f = fac.loc[fid]
        label = (f'<span class="pm-PASS">{t("新增牵头医院", "Lead added")}</span>' if state == "added"
                 else f'<span class="pm-FAIL">{t("不再牵头", "Lead removed")}</span>')
        tip = _tip(f"<b>{esc(f['name'])}</b>", label, f"{_kind_label(f['kind'])} · {_grade_label(f['grade'])}")
        lead_feats.append(_feature(proj.point(f.geometry.x, f.geometry.y), mk="fac", fk=_kind_letter(f["kind"]),
                                   gl=Grade(int(f["grade"])).level, lead=1 if state == "added" else None,
                                   id=f"{state}:{fid}", tip=tip, pop=tip))
    layers = [Layer("region", t("地区边界", "Region boundary"), region_feats, interactive=False),
              Layer("counties", t("县（市、区）界", "County boundaries"), county_feats, interactive=False),
              Layer("townships", t("乡镇（红色为调整）", "Townships (red: moved)"), town_feats),
              Layer("before", t("调整前边界", "Boundaries before"), outlines(a_plan, "#555555", "6 4"), interactive=False),
              Layer("after", t("调整后边界", "Boundaries after"), outlines(b_plan, "#111111", None), interactive=False),
              Layer("leads", t("牵头医院变化", "Lead changes"), lead_feats, kind="point", spread=True)]
    layers = [x for x in layers if x.features]

    def figures(plan: Plan, side: _Side) -> dict[str, str]:
        comms = [c for c in plan.communities() if c.unit in units_touched] if moved else plan.communities()
        rows = [r for code, r in side.towns.items() if (not moved or code in shown)]
        pop = sum(float(r.get("population") or 0) for r in rows)
        mean = (sum(float(r.get("population") or 0) * float(r.get("travel_min") or 0) for r in rows) / pop) if pop else None
        obj = sum(u.objective or 0.0 for uid, u in plan.units.items() if (not moved or uid in units_touched))
        return {"comms": grouped(len(comms)), "mean": f"≈{minutes(mean)}", "obj": grouped(obj),
                "short": grouped(side.shortfalls)}

    fa, fb = figures(a_plan, a_side), figures(b_plan, b_side)
    rows = [(t("医共体/网格数", "Communities/grids"), fa["comms"], fb["comms"]),
            (t("平均到牵头医院（分钟）", "Mean travel to lead (min)"), fa["mean"], fb["mean"]),
            (t("目标值（人·分钟）", "Objective (person-minutes)"), fa["obj"], fb["obj"]),
            (t("派驻缺口（全规划）", "Dispatch shortfalls (whole plan)"), fa["short"], fb["short"])]
    table = (f'<table class="pm-figures pm-side"><tr><th></th><th>{t("调整前", "Before")}</th><th>{t("调整后", "After")}</th></tr>'
             + "".join(f'<tr><td>{k}</td><td class="n">{x}</td><td class="n">{y}</td></tr>' for k, x, y in rows) + "</table>")
    why = rule_changes(a_side.rules.rules, b_side.rules.rules) if a_side.rules is not None and b_side.rules is not None else []
    why_html = ('<ul class="pm-lines">' + "".join(f"<li>{msg(x)}</li>" for x in why[:12]) + "</ul>" if why else
                f"<div>{t('两份规划的规则相同（差异来自数据或求解设置）', 'Both plans use the same rules (the change comes from data or solver settings)')}</div>")
    lines = diff_lines(a_plan, b_plan, region, limit=30)
    touched = "、".join(esc(b_plan.units[u].name if u in b_plan.units else u) for u in sorted(units_touched))
    key = _key_strip(None, [(grouped(len(moved)), t("个乡镇调整", "townships moved"), "pm-bad" if moved else "pm-good"),
                            (grouped(len(leads_b - leads_a)), t("家新增牵头", "leads added"), ""),
                            (grouped(len(leads_a - leads_b)), t("家不再牵头", "leads removed"), "")])
    head = (f"<h1>{t('规划对比', 'Plan diff')}: {esc(region.name)}</h1>"
            f"<div>{t('调整前', 'Before')}: {a_side.label}</div><div>{t('调整后', 'After')}: {b_side.label}</div>"
            f"{key}" + (f"<div>{t('涉及', 'Where')}: {touched}</div>" if touched else ""))
    info = (_panel(t("为何调整（规则变化）", "Why (rule changes)"), why_html, key="why")
            + _panel(t("调整前后对比", "Before and after"), table, key="figures")
            + _panel(t("明细", "Details"), '<ul class="pm-lines pm-scroll">' + "".join(f"<li>{msg(x)}</li>" for x in lines)
                     + "</ul>", open_=False, key="details"))
    legend = _panel(t("图例", "Legend"),
                    '<div class="row"><span class="sw" style="background:#e53935"></span>' + t("调整了医共体的乡镇", "Township moved") + "</div>"
                    '<div class="row"><span class="sw" style="background:#b0bec5"></span>' + t("未调整", "Unchanged") + "</div>"
                    '<div class="row"><span class="ln" style="border-top:2.5px dashed #555"></span>' + t("调整前医共体边界", "Community boundary before") + "</div>"
                    '<div class="row"><span class="ln" style="border-top:2.5px solid #111"></span>' + t("调整后医共体边界", "Community boundary after") + "</div>"
                    + _legend_symbols(["county"])
                    + f'<div class="row"><span class="ic">{_LEGEND_ICONS["lead"]}</span>{t("★ 新增牵头医院；无★ 不再牵头", "★ lead added; no ★: lead removed")}</div>',
                    key="legend")
    panels = [{"pos": "topleft", "html": head, "cls": "pm-title pm-diff"},
              {"pos": "topright", "html": info, "cls": "pm-info"},
              {"pos": "bottomleft", "html": legend, "cls": "pm-legend"}]
    bounds_geoms = list(towns.loc[shown].geometry.values) if shown else list(region.counties.geometry.values)
    synthesized = bool(np.asarray(fac.get("synthesized", False), dtype=bool).any())
    banner_parts = []
    if synthesized:
        banner_parts.append("<b>" + t("设施为合成数据，并非真实机构", "Facilities are synthesized, not real institutions") + "</b>")
    banner_parts.append(t("乡镇边界与人口为估算", "township boundaries and populations are estimated"))
    return Page(f"{region.name} — 规划对比 / plan diff", proj.bounds(bounds_geoms), layers, panels, " · ".join(banner_parts), prefix="", names=names)


def _load_diff(before_dir: str | Path, after_dir: str | Path) -> tuple[_Side, _Side, Any]:
    from . import regions

    before, after = _side(before_dir), _side(after_dir)
    if before.plan.region != after.plan.region:
        raise MapError(f"the plans are of different regions ({before.plan.region} and {after.plan.region}); "
                       "compare plans of one region")
    return before, after, regions.load(after.plan.region)


def diff_summary(before_dir: str | Path, after_dir: str | Path, limit: int = 20) -> list[Text]:
    """The lines of planner.diff.diff_lines for two plan folders, then the rule changes behind them."""
    from .diff import diff_lines, rule_changes

    before, after, region = _load_diff(before_dir, after_dir)
    lines = diff_lines(before.plan, after.plan, region, limit=limit)
    if before.rules is not None and after.rules is not None:
        lines += [Text("  rule change: " + x, "  规则变化：" + x.zh) for x in rule_changes(before.rules.rules, after.rules.rules)]
    return lines


def render_diff(before_dir: str | Path, after_dir: str | Path, out_html: str | Path, *, lang: str = "zh",
                offline: bool = False, tiles: str = "osm", tianditu_key: str | None = None, numbers: str = "grouped",
                stamp_date: str | None = None) -> Path:
    """Write a map of what moved between two plan folders of one region (`planner diff`).

    Townships whose lead changed are red and named, leads added or removed are marked, both
    plans' boundaries are layers over the region's outline and county names, and the panels
    give the rule changes behind the diff and the figures before and after side by side.
    Only the units where something moved are drawn (the whole region when nothing did).
    Without `offline`, the shared assets are written to `assets/` beside `out_html`.

    Raises
    ------
    MapError
        When the plans are of different regions, or for a bad option.
    """
    opts = MapOptions(lang, offline, tiles, tianditu_key, numbers).checked()
    before, after, region = _load_diff(before_dir, after_dir)
    page = diff_page(before, after, region, opts, numbers)
    stamp = stamp_html(_StampRun(after, region), opts, stamp_date)
    out = Path(out_html)
    path = io.write_text(out, page_html(page, opts, stamp=stamp))
    if not offline:
        for name, data in sorted(asset_files().items()):
            io.write_bytes(out.parent / "assets" / name, data)
    return path


@dataclass
class _StampRun:
    """Enough of a run for `stamp_html`: the after plan of a diff, its rules and region."""

    side: _Side
    region: Any

    @property
    def rules(self) -> Any:
        return self.side.rules if self.side.rules is not None else _NamedRules(self.side.plan.rules_name)

    @property
    def plan(self) -> Plan:
        return self.side.plan


@dataclass
class _NamedRules:
    name: str
    title: str = ""
    path: str = ""
