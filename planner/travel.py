"""Travel time between townships and facilities: great-circle with detour, an OD matrix, or a road graph."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088

DEFAULT_DETOUR_FACTOR = 1.3
"""Road distance over straight-line distance. Circuity factors of national road networks lie
between about 1.2 and 1.4 (Ballou, Rahardja and Sakai 2002, "Selected country circuity factors
for road travel distance estimation", Transportation Research Part A 36(9): 843-848); 1.3 is
the middle of that range, and hilly counties sit above it."""

DEFAULT_SPEED_KPH = 40.0
"""Average door-to-door speed on county and township roads (an assumption: design speeds of
Chinese county roads, 县道, are 30-60 km/h; national and provincial roads are faster, village
roads slower). Change it with --speed-kph or the rule file's [travel] table."""


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between points (degrees); arrays broadcast."""
    lon1, lat1 = np.radians(np.asarray(lon1, dtype=float)), np.radians(np.asarray(lat1, dtype=float))
    lon2, lat2 = np.radians(np.asarray(lon2, dtype=float)), np.radians(np.asarray(lat2, dtype=float))
    a = lat2 - lat1
    if type(a) is not np.ndarray:   # scalars
        a = np.sin(a / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    # sin(dlat/2)**2 + cos(lat1) * cos(lat2) * sin(dlon/2)**2, each operation as that expression makes it (x**2 is
    # numpy's x*x), in place in the fresh differences: a province's matrices are 10^5-10^6 pairs, and each
    # temporary cost a pass over memory (the same figures to the last bit; a test compares).
    a /= 2
    np.sin(a, out=a)
    np.multiply(a, a, out=a)
    b = lon2 - lon1
    b /= 2
    np.sin(b, out=b)
    np.multiply(b, b, out=b)
    c = np.cos(lat1) * np.cos(lat2)
    c = np.multiply(c, b, out=c) if c.shape == np.broadcast_shapes(c.shape, b.shape) else c * b
    a = np.add(a, c, out=a) if a.shape == np.broadcast_shapes(a.shape, c.shape) else a + c
    np.clip(a, 0.0, 1.0, out=a)
    np.sqrt(a, out=a)
    np.arcsin(a, out=a)
    a *= 2 * EARTH_RADIUS_KM
    return a


@dataclass(frozen=True)
class Points:
    """Labelled points: ids with longitude and latitude in degrees (WGS84)."""

    ids: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray

    @classmethod
    def from_xy(cls, ids: list[str] | tuple[str, ...], lon: object, lat: object) -> Points:
        """Build from ids and coordinate sequences."""
        return cls(tuple(str(i) for i in ids), np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class RoadGraph:
    """A road network: nodes with coordinates and directed edges with travel minutes."""

    lon: np.ndarray
    lat: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    minutes: np.ndarray

    @classmethod
    def from_lines(cls, lines: object, *, speed_column: str = "speed_kph", minutes_column: str = "travel_min",
                   default_speed_kph: float = DEFAULT_SPEED_KPH) -> RoadGraph:
        """Build a road graph from a GeoDataFrame of LineStrings (both directions open).

        Each line's vertices become nodes (shared vertices join lines); edge minutes come from
        the line's `travel_min` split by length, else its `speed_kph`, else the default speed.
        """
        import shapely

        coords_all: list[np.ndarray] = []
        seg_minutes: list[np.ndarray] = []
        starts: list[int] = []
        for geom, row in zip(lines.geometry, lines.itertuples(index=False)):
            parts = list(geom.geoms) if geom.geom_type == "MultiLineString" else [geom]
            for part in parts:
                xy = np.asarray(shapely.get_coordinates(part))
                if len(xy) < 2:
                    continue
                seg_km = haversine_km(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
                given = getattr(row, minutes_column, None)
                speed = getattr(row, speed_column, None)
                if given is not None and pd.notna(given) and seg_km.sum() > 0:
                    mins = seg_km / seg_km.sum() * float(given)
                else:
                    kph = float(speed) if speed is not None and pd.notna(speed) and float(speed) > 0 else default_speed_kph
                    mins = seg_km / kph * 60.0
                starts.append(sum(len(c) for c in coords_all))
                coords_all.append(xy)
                seg_minutes.append(mins)
        if not coords_all:
            msg = "the road file has no usable lines"
            raise ValueError(msg)
        xy = np.vstack(coords_all)
        keys = np.round(xy, 6)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        tails, heads, mins = [], [], []
        for start, c, m in zip(starts, coords_all, seg_minutes):
            ids = inverse[start:start + len(c)]
            tails.append(ids[:-1])
            heads.append(ids[1:])
            mins.append(m)
        t, h, w = np.concatenate(tails), np.concatenate(heads), np.concatenate(mins)
        return cls(uniq[:, 0], uniq[:, 1], np.concatenate([t, h]), np.concatenate([h, t]), np.concatenate([w, w]))


@dataclass(frozen=True)
class TravelModel:
    """How travel minutes are computed.

    Without an OD matrix or road graph: great-circle km x `detour_factor` / `speed_kph`.
    With an OD matrix: its minutes where it has the pair, the great-circle model elsewhere
    (counted in `fallbacks`). With a road graph: snap both ends to the nearest road node,
    the access legs at the great-circle model, the rest by shortest path on the roads.

    Parameters
    ----------
    detour_factor
        Road km per straight-line km (default 1.3, see DEFAULT_DETOUR_FACTOR).
    speed_kph
        Average speed in km/h (default 40, see DEFAULT_SPEED_KPH).
    od
        Minutes by (origin id, destination id); looked up in both directions.
    road
        A road graph.
    """

    detour_factor: float = DEFAULT_DETOUR_FACTOR
    speed_kph: float = DEFAULT_SPEED_KPH
    od: pd.Series | None = None
    road: RoadGraph | None = None
    fallbacks: list[int] = field(default_factory=lambda: [0], compare=False)

    def describe(self) -> str:
        """One line saying how travel times are computed."""
        base = f"great-circle distance x {self.detour_factor:g} at {self.speed_kph:g} km/h"
        if self.road is not None:
            return f"road network ({len(self.road.lon):,} nodes), access legs by {base}"
        if self.od is not None:
            return f"origin-destination matrix ({len(self.od):,} pairs), missing pairs by {base}"
        return base

    def straight_minutes(self, a: Points, b: Points) -> np.ndarray:
        """Minutes by the great-circle model, shape (len(a), len(b))."""
        return self._minutes_of_km(haversine_km(a.lon[:, None], a.lat[:, None], b.lon[None, :], b.lat[None, :]))

    def straight_pair_minutes(self, a: Points, b: Points) -> np.ndarray:
        """Minutes by the great-circle model from a[k] to b[k] for each k, shape (len(a),).

        The same operations, element by element, as `straight_minutes` (so the same figures to the
        last bit): for sparse matrices that compute only the pairs a spatial index finds.
        """
        return self._minutes_of_km(np.asarray(haversine_km(a.lon, a.lat, b.lon, b.lat), dtype=float))

    def _minutes_of_km(self, km: np.ndarray) -> np.ndarray:
        """km * detour / speed * 60, operation by operation, in place in `km` (a fresh array): one
        function, so the dense and the pairwise minutes agree to the last bit."""
        km *= self.detour_factor
        km /= self.speed_kph
        km *= 60.0
        return km

    @property
    def straight_only(self) -> bool:
        """Whether every minute comes from the great-circle model (no OD matrix, no road graph)."""
        return self.od is None and self.road is None

    def minutes(self, origins: Points, destinations: Points) -> np.ndarray:
        """Travel minutes from every origin to every destination, shape (origins, destinations)."""
        if len(origins) == 0 or len(destinations) == 0:
            return np.zeros((len(origins), len(destinations)))
        if self.road is not None:
            return self._road_minutes(origins, destinations)
        out = self.straight_minutes(origins, destinations)
        if self.od is not None:
            out = self._apply_od(out, origins, destinations)
        return out

    def _apply_od(self, out: np.ndarray, origins: Points, destinations: Points) -> np.ndarray:
        od = self.od
        assert od is not None
        found = np.zeros(out.shape, dtype=bool)
        for i, o in enumerate(origins.ids):
            for j, d in enumerate(destinations.ids):
                value = od.get((o, d))
                if value is None:
                    value = od.get((d, o))
                if value is not None:
                    out[i, j] = float(value)
                    found[i, j] = True
        same = np.array(origins.ids)[:, None] == np.array(destinations.ids)[None, :]
        self.fallbacks[0] += int((~found & ~same).sum())
        return out

    def _road_minutes(self, origins: Points, destinations: Points) -> np.ndarray:
        road = self.road
        assert road is not None
        lat0 = float(np.mean(road.lat))
        scale = np.cos(np.radians(lat0))
        from scipy.spatial import cKDTree  # only with a road graph: scipy is slow to import on the CLI's path

        tree = cKDTree(np.column_stack([road.lon * scale, road.lat]))
        _, o_node = tree.query(np.column_stack([origins.lon * scale, origins.lat]))
        _, d_node = tree.query(np.column_stack([destinations.lon * scale, destinations.lat]))
        access = Points.from_xy(origins.ids, road.lon[o_node], road.lat[o_node])
        egress = Points.from_xy(destinations.ids, road.lon[d_node], road.lat[d_node])
        o_leg = np.diag(self.straight_minutes(origins, access)) if len(origins) else np.zeros(0)
        d_leg = np.diag(self.straight_minutes(destinations, egress)) if len(destinations) else np.zeros(0)
        n = len(road.lon)
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra

        adj = coo_matrix((road.minutes, (road.tail, road.head)), shape=(n, n)).tocsr()
        uniq_d, inv_d = np.unique(d_node, return_inverse=True)
        dist = dijkstra(adj, directed=True, indices=uniq_d)  # from destinations; the graph is symmetric
        on_road = dist[inv_d][:, o_node].T
        out = o_leg[:, None] + on_road + d_leg[None, :]
        # Places the road graph does not connect fall back to the straight-line model.
        unreachable = ~np.isfinite(on_road)
        if unreachable.any():
            straight = self.straight_minutes(origins, destinations)
            out[unreachable] = straight[unreachable]
            self.fallbacks[0] += int(unreachable.sum())
        return out


def od_series(frame: pd.DataFrame) -> pd.Series:
    """Minutes by (origin, destination) from a validated OD table (origin, destination, travel_min).

    Raises ValueError when a pair is listed twice (which minutes would count is unclear).
    """
    pairs = pd.MultiIndex.from_arrays([frame["origin"].astype(str), frame["destination"].astype(str)])
    if pairs.has_duplicates:
        first = pairs[pairs.duplicated()][0]
        msg = f"the OD pair {first[0]} -> {first[1]} is listed twice"
        raise ValueError(msg)
    return pd.Series(frame["travel_min"].astype(float).to_numpy(),
                     index=pd.MultiIndex.from_arrays([frame["origin"].astype(str), frame["destination"].astype(str)]))
