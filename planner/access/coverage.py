"""Residents within reach of each emergency-center type, per county, before and after upgrades."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..region import Region
from ..schema import EMERGENCY_CENTERS
from .matrix import AccessMatrix
from .counties import county_names


def center_mask(facilities: pd.DataFrame, center: str, extra: set[str] | frozenset[str] = frozenset()) -> np.ndarray:
    """Which facilities run `center` (the column, plus the facility ids in `extra`, e.g. proposed upgrades)."""
    has = facilities[center].fillna(False).astype(bool).to_numpy() if center in facilities.columns else np.zeros(len(facilities), bool)
    if extra:
        has = has | facilities.index.isin(list(extra))
    return has


def nearest_minutes(matrix: AccessMatrix, mask: np.ndarray) -> np.ndarray:
    """Minutes from each township seat to the nearest facility of `mask` (inf where there is none), exact
    beyond the matrix's bound too."""
    return matrix.nearest(mask)


def coverage_frame(matrix: AccessMatrix, region: Region, centers: list[str], max_minutes: float,
                   upgrades: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """One row per county and center: residents within `max_minutes`, share, mean minutes, in-county hospitals.

    `upgrades` (center -> facility ids) adds proposed centers: the `*_after` columns count them.
    """
    towns = matrix.towns
    pop = towns["population"].to_numpy(dtype=float)
    counties = sorted(region.counties.index)
    pos = {c: k for k, c in enumerate(counties)}
    idx = np.array([pos.get(c, -1) for c in towns["county_code"]])
    ok = idx >= 0
    n = len(counties)

    def per_county(weights: np.ndarray) -> np.ndarray:
        return np.bincount(idx[ok], weights=weights[ok], minlength=n)

    total = per_county(pop)
    fac = matrix.facilities
    own = region.facilities
    rows = []
    names = county_names(region)
    for center in centers:
        zh, en = EMERGENCY_CENTERS[center]
        near = nearest_minutes(matrix, center_mask(fac, center))
        extra = (upgrades or {}).get(center, set())
        near_after = nearest_minutes(matrix, center_mask(fac, center, extra)) if extra else near
        finite = np.isfinite(near)
        within, after = per_county(pop * (near <= max_minutes)), per_county(pop * (near_after <= max_minutes))
        reached, minutes = per_county(pop * finite), per_county(np.where(finite, pop * near, 0.0))
        runs = own[own[center].fillna(False).astype(bool) & (own["admin_level"] == "county")] if center in own.columns \
            else own.iloc[:0]
        running = runs["county_code"].value_counts()
        for k, county in enumerate(counties):
            t = int(total[k])
            rows.append({"county": county, "county_name": names.get(county, str(county)), "center": center,
                         "center_zh": zh, "center_en": en, "population": t, "covered": int(round(within[k])),
                         "share": round(within[k] / t, 4) if t else 0.0,
                         "mean_nearest_min": round(minutes[k] / reached[k], 2) if reached[k] else None,
                         "county_hospitals_running": int(running.get(county, 0)),
                         "covered_after": int(round(after[k])), "share_after": round(after[k] / t, 4) if t else 0.0,
                         "max_minutes": max_minutes})
    return pd.DataFrame(rows)
