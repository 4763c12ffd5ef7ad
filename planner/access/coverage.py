"""Residents within reach of each emergency-center type, per county, before and after upgrades."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..region import Region
from ..schema import EMERGENCY_CENTERS
from .matrix import AccessMatrix


def center_mask(facilities: pd.DataFrame, center: str, extra: set[str] | frozenset[str] = frozenset()) -> np.ndarray:
    """Which facilities run `center` (the column, plus the facility ids in `extra`, e.g. proposed upgrades)."""
    has = facilities[center].fillna(False).astype(bool).to_numpy() if center in facilities.columns else np.zeros(len(facilities), bool)
    if extra:
        has = has | facilities.index.isin(list(extra))
    return has


def nearest_minutes(matrix: AccessMatrix, mask: np.ndarray) -> np.ndarray:
    """Minutes from each township seat to the nearest facility of `mask` (inf where there is none)."""
    if not mask.any():
        return np.full(len(matrix.towns), np.inf)
    return matrix.minutes[:, mask].min(axis=1)


def coverage_frame(matrix: AccessMatrix, region: Region, centers: list[str], max_minutes: float,
                   upgrades: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """One row per county and center: residents within `max_minutes`, share, mean minutes, in-county hospital.

    `upgrades` (center -> facility ids) adds proposed centers: the `*_after` columns count them.
    """
    towns = matrix.towns
    pop = towns["population"].to_numpy(dtype=np.int64)
    county_of = towns["county_code"].to_numpy()
    fac = matrix.facilities
    rows = []
    own = region.facilities
    for center in centers:
        zh, en = EMERGENCY_CENTERS[center]
        near = nearest_minutes(matrix, center_mask(fac, center))
        extra = (upgrades or {}).get(center, set())
        near_after = nearest_minutes(matrix, center_mask(fac, center, extra)) if extra else near
        runs = own[own[center].fillna(False).astype(bool)] if center in own.columns else own.iloc[:0]
        for county in sorted(region.counties.index):
            sel = county_of == county
            p = pop[sel]
            total = int(p.sum())
            within = int(p[near[sel] <= max_minutes].sum())
            after = int(p[near_after[sel] <= max_minutes].sum())
            finite = np.isfinite(near[sel])
            mean = float((p[finite] * near[sel][finite]).sum() / p[finite].sum()) if p[finite].sum() else float("nan")
            in_county = runs[(runs["county_code"] == county) & (runs["admin_level"] == "county")]
            rows.append({"county": county, "county_name": region.county_name(county), "center": center,
                         "center_zh": zh, "center_en": en, "population": total, "covered": within,
                         "share": round(within / total, 4) if total else 0.0,
                         "mean_nearest_min": round(mean, 2) if np.isfinite(mean) else None,
                         "county_hospitals_running": len(in_county),
                         "covered_after": after, "share_after": round(after / total, 4) if total else 0.0,
                         "max_minutes": max_minutes})
    return pd.DataFrame(rows)
