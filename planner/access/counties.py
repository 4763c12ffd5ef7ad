"""County look-ups built once per run: names (Region.county_name is a pandas look-up per call) and rows per county."""

from __future__ import annotations

import numpy as np

from ..region import Region, positions_by


def county_names(region: Region) -> dict[str, str]:
    """County code -> name, the region's counties and the context counties of its cities, as
    `Region.county_name` gives them (look up with `.get(code, code)`)."""
    out: dict[str, str] = {}
    ctx = region.context_counties
    if len(ctx):
        out.update(zip(ctx.index, (str(x) for x in ctx["name"].tolist())))
    out.update(zip(region.counties.index, (str(x) for x in region.counties["name"].tolist())))
    return out


def rows_by(values: np.ndarray) -> dict[str, np.ndarray]:
    """Value (as str) -> the ascending positions holding it: what `np.flatnonzero(values == v)` gives for
    each v, in one pass instead of a scan of the whole array per value (`positions_by` with str keys)."""
    return {str(k): rows for k, rows in positions_by(np.asarray(values).astype(str)).items()}


__all__ = ["county_names", "rows_by"]
