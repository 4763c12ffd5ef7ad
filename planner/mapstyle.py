"""Map choices shared by the command line and the renderer (options, number style, status words), importable without folium."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ._errors import PlannerError

TILES = ("none", "osm", "tianditu", "amap")
"""Base maps: none (offline, no requests), OpenStreetMap, 天地图 Tianditu (needs a key), 高德 Amap (GCJ-02)."""

LANGS = ("zh", "en")
"""Languages of the pages; both are embedded and a button switches between them."""

NUMBER_STYLES = ("grouped", "wan")
"""How Chinese text writes large numbers: 1,859,390 (grouped) or 185.9万 (wan); English text always groups."""

TILES_HELP = (
    "Base map. none: no base map and no network request at all (implied by --offline). "
    "osm: OpenStreetMap (needs internet; often slow or unreachable inside China). "
    "tianditu: 天地图, the national platform of the Ministry of Natural Resources, the base map for official use "
    "(a free browser key from console.tianditu.gov.cn, --tianditu-key). "
    "amap: 高德 tiles, no key, fast in China; they use GCJ-02, so every overlay is shifted to match."
)
"""The --tiles help shared by `plan`, `map` and `diff`."""


class MapError(PlannerError):
    """A map option that cannot work (unknown tiles, Tianditu without a key, unknown language)."""


@dataclass(frozen=True)
class MapOptions:
    """How pages are drawn.

    Parameters
    ----------
    lang
        "zh" or "en": the language shown first (the page's button switches).
    offline
        True: every page is one self-contained file with Leaflet and all scripts and styles
        inlined, and no base map is requested (the page says so). False: pages share `assets/`
        beside them (no CDN either way).
    tiles
        One of TILES. "amap" shifts every overlay coordinate to GCJ-02. With `offline` the
        effective tiles are "none" (see `base_map`).
    tianditu_key
        The browser key (tk) for Tianditu tiles.
    numbers
        One of NUMBER_STYLES: how Chinese text writes populations ("wan": 185.9万).
    """

    lang: str = "zh"
    offline: bool = False
    tiles: str = "osm"
    tianditu_key: str | None = None
    numbers: str = "grouped"

    def checked(self) -> MapOptions:
        """These options, or MapError saying what to change."""
        if self.lang not in LANGS:
            raise MapError(f"unknown language {self.lang!r}; use one of {', '.join(LANGS)}")
        if self.tiles not in TILES:
            raise MapError(f"unknown tiles {self.tiles!r}; use one of {', '.join(TILES)}")
        if self.numbers not in NUMBER_STYLES:
            raise MapError(f"unknown number style {self.numbers!r}; use one of {', '.join(NUMBER_STYLES)}")
        if self.tiles == "tianditu" and not self.offline:
            if not self.tianditu_key:
                raise MapError("tiles 'tianditu' need a key: pass --tianditu-key (free at console.tianditu.gov.cn)")
            if not re.fullmatch(r"[A-Za-z0-9]{8,64}", self.tianditu_key):
                raise MapError("the Tianditu key should be 8-64 letters and digits")
        return self

    @property
    def base_map(self) -> str:
        """The tiles actually requested: "none" whenever the pages are offline."""
        return "none" if self.offline else self.tiles

    @property
    def gcj02(self) -> bool:
        """True when overlays must be shifted to GCJ-02 (Amap tiles are requested)."""
        return self.base_map == "amap"


# --- numbers ----------------------------------------------------------------------------------


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def grouped(x: object, digits: int = 0) -> str:
    """1,859,390 (or 18.4 with digits=1); "—" for a missing value."""
    if _missing(x):
        return "—"
    return f"{float(x):,.{digits}f}" if digits else f"{int(round(float(x))):,}"


def wan(x: object) -> str:
    """A count in Chinese style: 9,999 stays, 185,939 -> 18.6万, 64,567,588 -> 6,456.8万; "—" when missing."""
    if _missing(x):
        return "—"
    n = float(x)
    if abs(n) < 10_000:
        return f"{int(round(n)):,}"
    if abs(n) >= 1e8:
        text = f"{n / 1e8:,.2f}".rstrip("0").rstrip(".")
        return f"{text}亿"
    text = f"{n / 1e4:,.1f}".removesuffix(".0")
    return f"{text}万"


def minutes(x: object) -> str:
    """Travel minutes as officials read them: whole minutes ("—" when missing)."""
    return "—" if _missing(x) else f"{float(x):,.0f}"


# --- solver statuses in words ------------------------------------------------------------------

STATUS_WORDS = {
    "OPTIMAL": ("已证明最优", "optimal (proven)"),
    "FEASIBLE": ("可行方案（未证明最优）", "feasible (not proven optimal)"),
    "INFEASIBLE": ("无可行方案", "infeasible"),
    "NO_SOLUTION": ("未找到方案", "no solution found"),
    "GIVEN": ("读自文件", "read from a file"),
    "NO_PLAN": ("无方案", "no plan"),
}
"""Solver statuses as an official reads them (Chinese, English)."""

MARK_WORDS = {
    "PASS": ("通过", "pass"),
    "FAIL": ("未通过", "FAIL"),
    "SOFT": ("软性未满足", "soft, penalised"),
    "N/A": ("不适用", "n/a"),
    "CONFLICT": ("冲突", "in conflict"),
}
"""Rule results in words (Chinese, English)."""

MARK_ORDER = {"FAIL": 0, "CONFLICT": 0, "SOFT": 1, "PASS": 2, "N/A": 3}
"""Panels list rules in this order: what is broken first."""
