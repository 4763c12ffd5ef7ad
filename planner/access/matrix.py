"""Travel minutes from every township seat to every facility that access is measured to, computed once per run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..region import Region
from ..travel import Points, TravelModel

PHYSICIAN_COLUMNS = ("chief", "associate_chief", "attending", "resident")


@dataclass
class AccessMatrix:
    """Township seats (rows) and facilities (columns) with the minutes between them.

    Village clinics are left out of the columns (tens of thousands, no licensed physicians,
    no beds): the choice model counts them per township, at the seat.
    """

    towns: pd.DataFrame
    facilities: pd.DataFrame
    minutes: np.ndarray

    @property
    def population(self) -> np.ndarray:
        """Residents of each township, shape (n,)."""
        return self.towns["population"].to_numpy(dtype=float)

    @property
    def physicians(self) -> np.ndarray:
        """Licensed physicians of each facility (every title), shape (m,)."""
        return self.facilities[list(PHYSICIAN_COLUMNS)].sum(axis=1).to_numpy(dtype=float)

    @property
    def beds(self) -> np.ndarray:
        """Beds of each facility, shape (m,)."""
        return self.facilities["beds"].to_numpy(dtype=float)

    def column(self, fid: str) -> int:
        """Position of a facility among the columns."""
        return int(self.facilities.index.get_loc(fid))


def slim(facilities: pd.DataFrame) -> pd.DataFrame:
    """A plain frame of the facility columns access uses (with lon/lat), fast to filter many times."""
    from ..schema import EMERGENCY_CENTERS, SHARED_CENTERS

    cols = ["name", "kind", "admin_level", "county_code", "township_code", "central_thc", "context",
            *EMERGENCY_CENTERS, *SHARED_CENTERS]
    out = pd.DataFrame({c: facilities[c].to_numpy() if c in facilities.columns else False for c in cols},
                       index=facilities.index)
    for c in ["central_thc", "context", *EMERGENCY_CENTERS, *SHARED_CENTERS]:
        out[c] = out[c].fillna(False).astype(bool)
    out["lon"] = facilities.geometry.x.to_numpy()
    out["lat"] = facilities.geometry.y.to_numpy()
    return out


def build_matrix(region: Region, travel: TravelModel) -> AccessMatrix:
    """Minutes from each township seat of the region to each non-clinic facility (context hospitals included)."""
    towns = region.townships.sort_index()
    fac = region.facilities[region.facilities["kind"] != "village_clinic"].sort_index()
    seats = Points.from_xy(list(towns.index), towns["seat_lon"], towns["seat_lat"])
    points = Points.from_xy(list(fac.index), fac.geometry.x, fac.geometry.y)
    return AccessMatrix(towns, fac, travel.minutes(seats, points))
