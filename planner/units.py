"""Cut a region into independent subproblems (a county's communities, a city's grids) with their matrices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from . import adjacency
from .districting import integer_costs
from .region import Region, positions_by
from .rules.base import Rule
from .travel import Points, TravelModel
from .vocabulary import HOSPITAL_KINDS


@dataclass
class Unit:
    """One subproblem: the townships of a county (or of a city's districts) and the candidate leads.

    Parameters
    ----------
    id
        County adcode, or "city:<city code>" for a city grid unit.
    scope
        "county" or "city"; rules apply to the units of their scope.
    name
        For reports: 义乌市, or 贵阳市 (城市网格).
    city_code, county_codes
        Where the unit lies.
    townships
        Township codes in index order; `population` and the rows of `minutes` follow it.
    edges
        Township adjacency as index pairs (borders plus island links).
    graph
        The same adjacency on township codes (for checks).
    facilities
        Every facility located in the unit's townships.
    candidates
        Facility ids that may lead (hospitals in the unit, secondary-capable primary
        institutions, and any a rule brings from outside); `roots` gives each one's township
        index (-1 outside); `minutes` is townships x candidates travel time.
    """

    id: str
    scope: str
    name: str
    city_code: str
    county_codes: tuple[str, ...]
    townships: tuple[str, ...]
    township_names: tuple[str, ...]
    population: np.ndarray
    edges: list[tuple[int, int]]
    graph: nx.Graph
    facilities: pd.DataFrame
    candidates: tuple[str, ...]
    candidate_frame: pd.DataFrame
    roots: tuple[int, ...]
    minutes: np.ndarray
    seats: Points
    travel: TravelModel
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {code: i for i, code in enumerate(self.townships)}

    @property
    def total_population(self) -> int:
        """Residents of the unit."""
        return int(self.population.sum())

    @cached_property
    def cost(self) -> np.ndarray:
        """Integer person-minutes of travel (townships x candidates): the objective's data."""
        return integer_costs(self.population, self.minutes)

    @cached_property
    def _cells(self) -> tuple[FrameCells, FrameCells]:
        return FrameCells(self.candidate_frame), FrameCells(self.facilities)

    def facility_row(self, facility_id: str) -> FrameRow | None:
        """A facility's row for `row.get(column, default)`: from `candidate_frame` when it lists the
        facility, else from `facilities`; None when neither does. The rules read a few cells of each
        candidate for every unit model; a `frame.loc[id]` row Series cost ~0.3 ms each."""
        candidates, facilities = self._cells
        return candidates.row(facility_id) or facilities.row(facility_id)

    def facility_column(self, name: str, *, candidates: bool = False) -> list | None:
        """A column of `facilities` (of `candidate_frame` with `candidates`) as a list, made once per
        unit (None when the frame has no such column)."""
        return self._cells[0 if candidates else 1].column(name)

    def minutes_to(self, facility_id: str, facility_frame: pd.DataFrame) -> np.ndarray:
        """Travel minutes from every township to a facility (any facility, not only candidates)."""
        if facility_id in self.candidates:
            return self.minutes[:, self.candidates.index(facility_id)]
        p = facility_frame.loc[facility_id, "geometry"]
        return self.travel.minutes(self.seats, Points.from_xy([facility_id], [p.x], [p.y]))[:, 0]

    def describe(self) -> str:
        """One line: name, townships, population, candidates."""
        return (f"{self.name}: {len(self.townships)} townships, {self.total_population:,} residents, "
                f"{len(self.candidates)} candidate leads")


class FrameRow:
    """One row of a `FrameCells`: `get(column, default)` as a row Series' `get` gives the value
    (as a Python scalar, `Series.tolist`'s: the same number, int or float, NaN kept)."""

    __slots__ = ("_cells", "_pos")

    def __init__(self, cells: FrameCells, pos: int) -> None:
        self._cells, self._pos = cells, pos

    def get(self, column: str, default: object = None) -> object:
        """The row's value in `column`, or `default` when the frame has no such column."""
        values = self._cells.column(column)
        return default if values is None else values[self._pos]


class FrameCells:
    """A frame's cells by row label, read from column lists made on first use (labels unique)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._pos: dict[object, int] | None = None
        self._columns: dict[str, list | None] = {}

    def row(self, label: object) -> FrameRow | None:
        """The row of `label`, or None when the frame has no such row."""
        if self._pos is None:
            self._pos = {key: i for i, key in enumerate(self._frame.index)}
        pos = self._pos.get(label)
        return None if pos is None else FrameRow(self, pos)

    def column(self, name: str) -> list | None:
        """A column's values as a list (None when the frame has no such column)."""
        if name not in self._columns:
            self._columns[name] = self._frame[name].tolist() if name in self._frame.columns else None
        return self._columns[name]


def city_grid_members(region: Region, rules: Sequence[Rule]) -> dict[str, list[str]]:
    """City code -> county adcodes that form its city grid unit, from the enabled city_grid rules.

    Which districts join, and why each does or does not, is `city_grid_districts` (003 一 and
    三（二）: urban districts not running county communities; never 特区).
    """
    from .rules.community import city_grid_districts

    out: dict[str, list[str]] = {}
    for d in city_grid_districts(region, list(rules)):
        if d.in_grid:
            out.setdefault(d.city_code, []).append(d.adcode)
    return out


def build_units(region: Region, rules: Sequence[Rule], travel: TravelModel, graph: nx.Graph,
                only: set[str] | None = None) -> list[Unit]:
    """The region's subproblems, in a stable order (counties by adcode, then city grids).

    Parameters
    ----------
    only
        Unit ids to build (others are skipped), e.g. to re-solve one county.
    """
    grids = city_grid_members(region, rules)
    in_grid = {c for members in grids.values() for c in members}
    specs: list[tuple[str, str, str, str, list[str]]] = []
    for adcode, row in region.counties.sort_index().iterrows():
        if adcode not in in_grid:
            specs.append((str(adcode), "county", str(row["name"]), str(row["city_code"]), [str(adcode)]))
    for city, members in sorted(grids.items()):
        specs.append((f"city:{city}", "city", f"{region.city_name(city)}（城市网格）", city, members))
    geoms = dict(zip(region.townships.index, region.townships.geometry.values))
    # Row positions per county, once, and the columns a unit reads as arrays: a GeoDataFrame's
    # column lookups and boolean masks, a few per unit, cost more than the rest of its building
    # (the country's 2,847 units). Rows are taken with one `iloc` each, in the order the groupby
    # frames and pd.concat gave (planner.region.positions_by).
    cols = _Columns(region)
    specs = [spec for spec in specs if only is None or spec[0] in only]
    rows = [_unit_rows(region, cols, spec[4]) for spec in specs]
    # Every unit's facility rows (then its base candidates' rows) taken from the region in one `iloc`,
    # each unit's frames then sliced from it: two takes of the wide facility frame per unit (every
    # column's block copied) were most of a unit's building; a slice of the same rows is the same frame.
    bounds = np.cumsum([0] + [n for r in rows for n in (len(r[3]), len(r[4]))])
    taken = region.facilities.iloc[np.concatenate([p for r in rows for p in (r[3], r[4])])] if rows else None
    units = []
    for k, (spec, (tpos, codes, index, _fpos, _base)) in enumerate(zip(specs, rows)):
        facilities = taken.iloc[bounds[2 * k]:bounds[2 * k + 1]]
        base_frame = taken.iloc[bounds[2 * k + 1]:bounds[2 * k + 2]]
        units.append(_unit(region, rules, travel, graph, geoms, *spec, cols, tpos, codes, index, facilities, base_frame))
    return units


class _Columns:
    """The region's townships and facilities by county, with the columns units read, as arrays."""

    def __init__(self, region: Region) -> None:
        t, f = region.townships, region.facilities
        self.towns_by = positions_by(t["county_code"])
        self.fac_by = positions_by(f["county_code"])
        self.town_codes = np.asarray([str(c) for c in t.index], dtype=object)
        self.town_names = t["name"].astype(str).to_numpy(dtype=object)
        self.town_population = t["population"].to_numpy(dtype=np.int64)
        self.seat_lon, self.seat_lat = t["seat_lon"].to_numpy(), t["seat_lat"].to_numpy()
        self.town_sorted = t.index.is_monotonic_increasing
        self.fac_town = f["township_code"].to_numpy(dtype=object)
        self.fac_ids = f.index
        self.lead_ok = (f["kind"].isin([k.value for k in HOSPITAL_KINDS]) | f["secondary_capability"].astype(bool)).to_numpy()

    def positions(self, by: dict[object, np.ndarray], counties: list[str]) -> np.ndarray:
        parts = [by[c] for c in counties if c in by]
        if not parts:
            return np.zeros(0, dtype=np.intp)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _index_order(pos: np.ndarray, index: pd.Index, index_sorted: bool) -> np.ndarray:
    """The positions reordered as `frame.iloc[pos].sort_index()` orders its rows (pandas keeps an ascending index as it is)."""
    if len(pos) < 2 or (index_sorted and bool(np.all(pos[1:] > pos[:-1]))):
        return pos
    labels = index[pos]
    if labels.is_monotonic_increasing:
        return pos
    return pd.Series(pos, index=labels).sort_index().to_numpy()  # the same sort of the same labels


def _subgraph_copy(graph: nx.Graph, nodes: tuple[str, ...]) -> nx.Graph:
    """`nx.Graph(graph.subgraph(nodes))`: the same nodes, edges and (copied) attributes, built from the
    adjacency directly (the subgraph view filters every neighbour through several calls). Node order
    may differ; the unit graph is only asked about connectivity."""
    keep = {n for n in nodes if n in graph}
    sub = nx.Graph()
    sub.graph.update(graph.graph)
    sub.add_nodes_from((n, dict(graph.nodes[n])) for n in nodes if n in keep)
    adj = graph.adj
    sub.add_edges_from((u, v, dict(d)) for u in keep for v, d in adj[u].items() if v in keep)
    return sub


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Point coordinates of a frame's geometry (GeoSeries.x / .y: the same values, without its per-call checks)."""
    values = np.asarray(frame.geometry.values, dtype=object)
    if len(values) and bool((shapely.get_type_id(values) == 0).all()):
        return shapely.get_x(values), shapely.get_y(values)
    return frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()  # raises as before on a non-point


def _unit_rows(region: Region, cols: _Columns, counties: list[str]
               ) -> tuple[np.ndarray, tuple[str, ...], dict[str, int], np.ndarray, np.ndarray]:
    """A unit's township positions, codes and index, its facilities' row positions (in the order
    `region.facilities.iloc[...]` gave them) and those of its base candidates (the facilities that
    may lead, in the same order)."""
    tpos = _index_order(cols.positions(cols.towns_by, counties), region.townships.index, cols.town_sorted)
    codes = tuple(cols.town_codes[tpos])
    index = {c: i for i, c in enumerate(codes)}
    fpos = cols.positions(cols.fac_by, counties)
    fpos = fpos[np.fromiter((t in index for t in cols.fac_town[fpos]), dtype=bool, count=len(fpos))]
    fpos = _index_order(fpos, cols.fac_ids, False)
    return tpos, codes, index, fpos, fpos[cols.lead_ok[fpos]]


def _unit(region: Region, rules: Sequence[Rule], travel: TravelModel, graph: nx.Graph, geoms: dict,
          uid: str, scope: str, name: str, city: str, counties: list[str], cols: _Columns, tpos: np.ndarray,
          codes: tuple[str, ...], index: dict[str, int], facilities: pd.DataFrame, base_frame: pd.DataFrame) -> Unit:
    """A unit from its rows (`_unit_rows`) and facility frames (the rows of its facilities and base candidates)."""
    sub = _subgraph_copy(graph, codes)
    if len(codes) and not nx.is_connected(sub):
        # Districts of a city grid can be separated by a county: join them like islands.
        adjacency.connect_components(sub, codes, geoms, "unit", flag=False)
    edges = sorted((min(index[a], index[b]), max(index[a], index[b])) for a, b in sub.edges())
    base_candidates = list(base_frame.index)
    seats = Points.from_xy(list(codes), cols.seat_lon[tpos], cols.seat_lat[tpos])
    probe = Unit(uid, scope, name, city, tuple(counties), codes, tuple(cols.town_names[tpos]),
                 cols.town_population[tpos], edges, sub, facilities, tuple(base_candidates),
                 base_frame, tuple(index[t] for t in base_frame["township_code"]),
                 np.zeros((len(codes), len(base_candidates))), seats, travel)
    extra: list[str] = []
    for rule in rules:
        if rule.applies(probe):
            extra += [f for f in rule.extra_candidates(probe, region) if f not in base_candidates and f not in extra]
    candidates = base_candidates + sorted(extra)
    # Without extra candidates the frame is base_frame: looking the ids up again in the region's
    # facilities (500,000 rows for the country) cost more than the rest of the unit.
    cframe = region.facilities.loc[candidates] if extra else base_frame
    roots = tuple(index.get(str(t), -1) for t in cframe["township_code"])
    dest = Points.from_xy(candidates, *_xy(cframe))
    minutes = travel.minutes(seats, dest)
    probe.candidates, probe.candidate_frame, probe.roots, probe.minutes = tuple(candidates), cframe, roots, minutes
    probe.__dict__.pop("cost", None)  # computed from the final candidates only
    probe.__dict__.pop("_cells", None)
    return probe
