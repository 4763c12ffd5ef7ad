"""Travel minutes from township seats to the facilities access is measured to: the pairs within the rules' reach."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..region import Region
from ..travel import EARTH_RADIUS_KM, Points, TravelModel

PHYSICIAN_COLUMNS = ("chief", "associate_chief", "attending", "resident")

BLOCK_TOWNS = 2048
"""Township seats per block when the pairs are gathered through the spatial grid (bounds the memory
of the candidate pairs to a few tens of MB, whatever the region)."""

BLOCK_CELLS = 4_000_000
"""Seat-facility minutes computed at once where every pair is computed (a road graph, an OD table,
an unbounded reach, or the exact nearest-facility fallback): 32 MB of float64 per block."""

TREE_CELLS = 200_000
"""Above this many seat-facility cells the exact nearest facility beyond the bound is found through a k-d tree
(`_nearest_straight`, great-circle model only) instead of every pair (the country: ~40,000 seats beyond 90 min
of some center kinds, each against thousands of facilities); the same minutes either way."""


@dataclass
class AccessMatrix:
    """Township seats (rows) and facilities (columns) with the minutes between them, as sparse pairs.

    Every pair within `bound_min` minutes is stored, and each facility's pair with its own
    township whatever its minutes (the choice model always offers a township's own health
    centers); other pairs are not stored. The stored pairs are in row-major order (by
    township, then facility column), in compressed-row form: row i's pairs are
    `indptr[i]:indptr[i + 1]` of `rows`, `cols`, `minutes`. The minutes are the travel
    model's own, to the last bit. `nearest` answers beyond the bound exactly.

    Village clinics are left out of the columns (tens of thousands, no licensed physicians,
    no beds): the choice model counts them per township, at the seat.
    """

    towns: pd.DataFrame
    facilities: pd.DataFrame
    bound_min: float
    indptr: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    minutes: np.ndarray
    travel: TravelModel
    seats: Points
    points: Points
    _nearest: dict = field(default_factory=dict, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """(townships, facilities)."""
        return len(self.towns), len(self.facilities)

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

    def pairs(self, max_minutes: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, minutes) of every pair within `max_minutes`, in row-major order.

        Raises ValueError when `max_minutes` is beyond the stored bound (pairs would be missing).
        """
        if max_minutes > self.bound_min:
            msg = f"the access matrix holds pairs within {self.bound_min:g} min, not {max_minutes:g}"
            raise ValueError(msg)
        keep = self.minutes <= max_minutes
        return self.rows[keep], self.cols[keep], self.minutes[keep]

    def within(self, mask: np.ndarray, max_minutes: float) -> np.ndarray:
        """Whether each township has a facility of `mask` within `max_minutes`, shape (n,)."""
        rows, cols, _ = self.pairs(max_minutes)
        out = np.zeros(len(self.towns), dtype=bool)
        out[rows[mask[cols]]] = True
        return out

    def nearest(self, mask: np.ndarray) -> np.ndarray:
        """Minutes from each township seat to the nearest facility of `mask` (inf where there is none).

        Exact: from the stored pairs where the nearest is within the bound (all such pairs are
        stored), else computed from the seat to every facility of `mask` by the travel model.
        """
        mask = np.asarray(mask, dtype=bool)
        key = mask.tobytes()
        if key in self._nearest:
            return self._nearest[key].copy()
        n = len(self.towns)
        best = np.full(n, np.inf)
        if mask.any():
            sel = mask[self.cols]
            np.minimum.at(best, self.rows[sel], self.minutes[sel])
            missing = np.flatnonzero(~(best <= self.bound_min))
            if len(missing):
                cols = np.flatnonzero(mask)
                dest = _subset(self.points, cols)
                if self.travel.straight_only and len(missing) * len(cols) > TREE_CELLS:
                    best[missing] = _nearest_straight(self.travel, _subset(self.seats, missing), dest)
                else:
                    step = max(1, BLOCK_CELLS // len(cols))
                    for a in range(0, len(missing), step):
                        part = missing[a:a + step]
                        best[part] = self.travel.minutes(_subset(self.seats, part), dest).min(axis=1)
        self._nearest[key] = best
        return best.copy()


def _nearest_straight(travel: TravelModel, seats: Points, dest: Points) -> np.ndarray:
    """Minutes from each seat to its nearest destination under the great-circle model, without the whole matrix.

    The great-circle distance grows with the straight-line chord between the points on the unit
    sphere, so the nearest destination is among those whose chord is within a hair (1e-6 relative,
    far above the rounding of either figure) of the seat's shortest chord (a k-d tree finds both);
    those pairs' minutes are computed exactly (`straight_pair_minutes`: the same operations, element by
    element, as the dense matrix) and their minimum is the dense row minimum, to the last bit."""
    from scipy.spatial import cKDTree

    seat_xyz = _unit(seats)
    tree = cKDTree(_unit(dest))
    shortest, _ = tree.query(seat_xyz, k=1)
    near = tree.query_ball_point(seat_xyz, shortest * (1 + 1e-6) + 1e-12)
    rows = np.repeat(np.arange(len(seats)), [len(c) for c in near])
    cols = np.fromiter((k for c in near for k in c), dtype=np.int64, count=len(rows))
    out = np.full(len(seats), np.inf)
    np.minimum.at(out, rows, travel.straight_pair_minutes(_coords(seats, rows), _coords(dest, cols)))
    return out


def _subset(points: Points, positions: np.ndarray) -> Points:
    return Points(tuple(points.ids[k] for k in positions), points.lon[positions], points.lat[positions])


def _coords(points: Points, positions: np.ndarray) -> Points:
    """Only the coordinates (no ids: millions of pairs), for the great-circle model."""
    return Points((), points.lon[positions], points.lat[positions])


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


def reach_bound(rules: list) -> float:
    """The largest reach (minutes) the access rules that read the matrix need.

    The first enabled emergency-center rule (coverage and upgrades), the access indicators
    (2SFCA catchment) and the visit-share model (farthest facility considered); inf when none
    of them is there, so that every pair is kept.
    """
    bound = []
    for kind in ("emergency_centers", "access_indicators", "visit_share_model"):
        rule = next((r for r in rules if r.enabled and r.kind == kind), None)
        if rule is not None:
            bound.append(float(rule.max_minutes))
    return max(bound) if bound else float("inf")


def build_matrix(region: Region, travel: TravelModel, bound_min: float = float("inf")) -> AccessMatrix:
    """Minutes from each township seat of the region to each non-clinic facility (context hospitals included),
    for the pairs within `bound_min` and each facility's own township (see AccessMatrix)."""
    towns = region.townships.sort_index()
    fac = region.facilities[region.facilities["kind"] != "village_clinic"].sort_index()
    seats = Points.from_xy(list(towns.index), towns["seat_lon"], towns["seat_lat"])
    points = Points.from_xy(list(fac.index), fac.geometry.x, fac.geometry.y)
    n, m = len(seats), len(points)
    own_row = (towns.index.astype(str).get_indexer(fac["township_code"].astype(str)) if "township_code" in fac.columns
               else np.full(m, -1))
    has = own_row >= 0
    own_keys = _sorted_unique(own_row[has].astype(np.int64) * max(m, 1) + np.flatnonzero(has))
    radius = _chord_radius(bound_min, travel)
    finite = bool(np.isfinite(seats.lon).all() and np.isfinite(seats.lat).all()
                  and np.isfinite(points.lon).all() and np.isfinite(points.lat).all())
    if n and m and travel.straight_only and radius is not None and finite:
        keys, minutes = _grid_pairs(seats, points, radius, bound_min, own_keys, travel)
    else:
        keys, minutes = _block_pairs(seats, points, bound_min, own_keys, travel)
    rows = (keys // max(m, 1)).astype(np.intp)
    cols = (keys % max(m, 1)).astype(np.intp)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.intp)
    return AccessMatrix(towns, fac, float(bound_min), indptr, rows, cols, minutes, travel, seats, points)


def _chord_radius(bound_min: float, travel: TravelModel) -> float | None:
    """Straight-line chord (unit sphere) that every pair within `bound_min` lies within; None when unbounded."""
    if not np.isfinite(bound_min) or travel.speed_kph <= 0 or travel.detour_factor <= 0:
        return None
    theta = bound_min * travel.speed_kph / (travel.detour_factor * 60.0) / EARTH_RADIUS_KM
    if theta >= 1.0:  # over 6,000 km: a grid would hold everything anyway
        return None
    # A margin far above the rounding of the haversine figures: the grid only selects candidates,
    # each kept or dropped by its exact minutes.
    return 2.0 * np.sin(theta / 2.0) * (1 + 1e-6) + 1e-9


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct keys (a sort and a comparison: numpy's hash-based `unique` is slower here)."""
    keys = np.sort(keys)
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys


def _unit(points: Points) -> np.ndarray:
    lon, lat = np.radians(points.lon), np.radians(points.lat)
    c = np.cos(lat)
    return np.column_stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)])


def _grid_pairs(seats: Points, points: Points, radius: float, bound_min: float, own_keys: np.ndarray,
                travel: TravelModel) -> tuple[np.ndarray, np.ndarray]:
    """Pair keys (row * m + col, sorted) and minutes: candidates from a 3-D grid of cells `radius` wide on the
    unit sphere (a pair within reach is at most one cell apart on each axis), kept by their exact minutes."""
    n, m = len(seats), len(points)
    cell = max(radius, 1e-5)
    lo = int(np.floor(-1.0 / cell)) - 2
    size = int(np.ceil(2.0 / cell)) + 5

    def cell_keys(xyz: np.ndarray) -> np.ndarray:
        ijk = np.floor(xyz / cell).astype(np.int64) - lo
        return (ijk[:, 0] * size + ijk[:, 1]) * size + ijk[:, 2]

    fkey = cell_keys(_unit(points))
    order = np.argsort(fkey, kind="stable")
    sorted_keys = fkey[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    cells = sorted_keys[starts]
    ends = np.append(starts[1:], m)
    tkey = cell_keys(_unit(seats))
    offsets = [(di * size + dj) * size + dk for di in (-1, 0, 1) for dj in (-1, 0, 1) for dk in (-1, 0, 1)]
    out_keys, out_min = [], []
    own_rows = own_keys // m
    for a in range(0, n, BLOCK_TOWNS):
        block = np.arange(a, min(n, a + BLOCK_TOWNS))
        parts = [own_keys[(own_rows >= block[0]) & (own_rows <= block[-1])]]
        for off in offsets:
            want = tkey[block] + off
            pos = np.minimum(np.searchsorted(cells, want), len(cells) - 1)
            hit = cells[pos] == want
            rows, s = block[hit], starts[pos[hit]]
            counts = ends[pos[hit]] - s
            total = int(counts.sum())
            if not total:
                continue
            first = np.cumsum(counts) - counts
            within = np.arange(total) - np.repeat(first, counts)
            cols = order[np.repeat(s, counts) + within]
            parts.append(np.repeat(rows.astype(np.int64), counts) * m + cols)
        keys = _sorted_unique(np.concatenate(parts))
        r, c = keys // m, keys % m
        minutes = travel.straight_pair_minutes(_coords(seats, r), _coords(points, c))
        keep = (minutes <= bound_min) | np.isin(keys, own_keys, assume_unique=True)
        out_keys.append(keys[keep])
        out_min.append(minutes[keep])
    return (np.concatenate(out_keys) if out_keys else np.zeros(0, np.int64),
            np.concatenate(out_min) if out_min else np.zeros(0))


def _block_pairs(seats: Points, points: Points, bound_min: float, own_keys: np.ndarray,
                 travel: TravelModel) -> tuple[np.ndarray, np.ndarray]:
    """Pair keys and minutes computing every pair, a block of seats at a time (road graphs, OD tables,
    unbounded reach): the memory of one block, not of the whole matrix."""
    n, m = len(seats), len(points)
    if not n or not m:
        return np.zeros(0, np.int64), np.zeros(0)
    step = max(1, BLOCK_CELLS // m)
    out_keys, out_min = [], []
    for a in range(0, n, step):
        b = min(n, a + step)
        t = travel.minutes(_subset(seats, np.arange(a, b)), points)
        keep = t <= bound_min
        own = own_keys[(own_keys >= a * m) & (own_keys < b * m)] - a * m
        keep.flat[own] = True
        r, c = np.nonzero(keep)
        out_keys.append((r.astype(np.int64) + a) * m + c)
        out_min.append(t[r, c])
    return np.concatenate(out_keys), np.concatenate(out_min)
