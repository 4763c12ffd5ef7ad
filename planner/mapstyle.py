"""Map choices shared by the command line and the renderer, importable without folium."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._errors import PlannerError

TILES = ("none", "osm", "tianditu", "amap")
"""Base maps: none (offline, no requests), OpenStreetMap, 天地图 Tianditu (needs a key), 高德 Amap (GCJ-02)."""

LANGS = ("zh", "en")
"""Languages of the pages; both are embedded and a button switches between them."""


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
        inlined. False: pages share `assets/` beside them (no CDN either way).
    tiles
        One of TILES. "amap" shifts every overlay coordinate to GCJ-02.
    tianditu_key
        The browser key (tk) for Tianditu tiles.
    """

    lang: str = "zh"
    offline: bool = False
    tiles: str = "osm"
    tianditu_key: str | None = None

    def checked(self) -> MapOptions:
        """These options, or MapError saying what to change."""
        if self.lang not in LANGS:
            raise MapError(f"unknown language {self.lang!r}; use one of {', '.join(LANGS)}")
        if self.tiles not in TILES:
            raise MapError(f"unknown tiles {self.tiles!r}; use one of {', '.join(TILES)}")
        if self.tiles == "tianditu":
            if not self.tianditu_key:
                raise MapError("tiles 'tianditu' need a key: pass --tianditu-key (free at console.tianditu.gov.cn)")
            if not re.fullmatch(r"[A-Za-z0-9]{8,64}", self.tianditu_key):
                raise MapError("the Tianditu key should be 8-64 letters and digits")
        return self

    @property
    def gcj02(self) -> bool:
        """True when overlays must be shifted to GCJ-02 (Amap tiles)."""
        return self.tiles == "amap"
