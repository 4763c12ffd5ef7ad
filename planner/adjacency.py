"""Build the township contiguity graph from shared borders, joining islands and enclaves to their nearest neighbour."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .region import positions_by

# Polygons are in degrees. Two townships are neighbours when they share a border at least
# this long (about 50 m): a single touching corner does not make a community contiguous.
MIN_SHARED_BORDER_DEG = 0.0005
# Borders of user polygons rarely match exactly; gaps narrower than this (about 10 m) are closed.
SNAP_TOLERANCE_DEG = 0.0001


def border_pairs(polygons: gpd.GeoSeries, *, jobs: int = 1) -> list[tuple[object, object, float]]:
    """Pairs of polygons (by index label) that share a border, with its length in degrees.

    With `jobs` > 1 the shared lengths are measured in that many threads (GEOS releases the GIL); each pair's
    figure is the same GEOS call on the same two geometries, so the pairs do not depend on `jobs`.
    """
    geoms = np.asarray(polygons.values, dtype=object)
    labels = list(polygons.index)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=SNAP_TOLERANCE_DEG)
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    # Each polygon's boundary and buffer once (a polygon is in several pairs): the same values,
    # about a third of the buffering for a province.
    bounds = np.empty(len(geoms), dtype=object)
    lefts = np.unique(left)
    bounds[lefts] = shapely.boundary(geoms[lefts])
    buffers = np.empty(len(geoms), dtype=object)
    rights = np.unique(right)
    buffers[rights] = shapely.buffer(geoms[rights], SNAP_TOLERANCE_DEG)
    shared = _shared_lengths(bounds, buffers, left, right, jobs)
    return [(labels[a], labels[b], float(s)) for a, b, s in zip(left, right, shared) if s >= MIN_SHARED_BORDER_DEG]


def _shared_lengths(bounds: np.ndarray, buffers: np.ndarray, left: np.ndarray, right: np.ndarray,
                    jobs: int) -> np.ndarray:
    """Length of each left boundary inside its right buffer: the country's ~120,000 intersections were
    ~7 s of a serial build on one core, so they are cut into blocks measured in `jobs` threads."""
    if jobs <= 1 or len(left) < PARALLEL_PAIRS:
        return shapely.length(shapely.intersection(bounds[left], buffers[right]))
    from concurrent.futures import ThreadPoolExecutor

    blocks = np.array_split(np.arange(len(left)), jobs * 4)   # several per thread: pairs differ in cost
    with ThreadPoolExecutor(jobs) as pool:
        parts = list(pool.map(lambda at: shapely.length(shapely.intersection(bounds[left[at]], buffers[right[at]])),
                              blocks))
    return np.concatenate(parts)


PARALLEL_PAIRS = 20_000
"""Fewest candidate pairs measured in threads: the country's scale (~123,000). A province has 4,000-9,000
(浙江省 3,939, 四川省 9,071), measured serially in under half a second; threads would save ~0.05-0.12 s there
(浙江省 0.18 -> 0.13 s on two cores), which was not worth a second code path in every province's run."""


def _nearest_link(graph: nx.Graph, component: set, others: set, geoms: dict) -> tuple[object, object, float]:
    comp = sorted(component)
    rest = sorted(others)
    tree = shapely.STRtree([geoms[n] for n in rest])
    best: tuple[float, object, object] | None = None
    for a in comp:
        j = int(tree.nearest(geoms[a]))
        d = float(shapely.distance(geoms[a], geoms[rest[j]]))
        if best is None or (d, str(a), str(rest[j])) < (best[0], str(best[1]), str(best[2])):
            best = (d, a, rest[j])
    assert best is not None
    return best[1], best[2], best[0]


def connect_components(graph: nx.Graph, nodes: Iterable, geoms: dict, level: str, *, flag: bool = True) -> None:
    """Join the components of the subgraph on `nodes` by nearest-polygon links until it is connected.

    The mainland is the largest component (ties: the one holding the lowest code); every
    other component is an island or enclave. Each round links the smallest component (ties
    by its lowest code) to its nearest township outside it, with `kind="island_link"` and the
    `level` (county, city, province) at which the link was needed. With `flag`, townships
    outside the mainland get `island=True` (county level: a whole county joined to its city
    at city level is not an island township).
    """
    nodes = set(nodes)
    comps = _components(graph, nodes)
    if len(comps) <= 1:
        return
    mainland = max(comps, key=lambda c: (len(c), _neg_code(min(map(str, c)))))
    if flag:
        for n in nodes - mainland:
            graph.nodes[n]["island"] = True
    while True:
        comps = sorted(_components(graph, nodes), key=lambda c: (len(c), min(map(str, c))))
        if len(comps) <= 1:
            return
        small = comps[0]
        a, b, dist = _nearest_link(graph, small, nodes - small, geoms)
        graph.add_edge(a, b, kind="island_link", level=level, gap_deg=dist, gap_km=_gap_km(geoms[a], geoms[b]),
                       shared_deg=0.0)


def _components(graph: nx.Graph, nodes: set) -> list[set]:
    """The connected components of the subgraph on `nodes`, as sets (nx.connected_components of
    graph.subgraph(nodes), walking the adjacency directly: a subgraph view filters every neighbour
    through several calls, most of the contiguity graph's time for a province). Callers order the
    components by their content, so the order found here does not matter."""
    adj = graph.adj
    seen: set = set()
    out = []
    for start in nodes:
        if start in seen:
            continue
        seen.add(start)
        comp = {start}
        stack = [start]
        while stack:
            for w in adj[stack.pop()]:
                if w in nodes and w not in seen:
                    seen.add(w)
                    comp.add(w)
                    stack.append(w)
        out.append(comp)
    return out


def _neg_code(code: str) -> tuple[int, ...]:
    # Lower codes win ties for the mainland: compare negated character codes.
    return tuple(-ord(ch) for ch in code)


def _gap_km(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Great-circle length of the shortest line between two polygons, in km."""
    from .travel import haversine_km

    line = shapely.shortest_line(a, b)
    (x1, y1), (x2, y2) = shapely.get_coordinates(line)
    return float(haversine_km(x1, y1, x2, y2))


def contiguity_graph(townships: gpd.GeoDataFrame, counties: pd.DataFrame | None = None, *, jobs: int = 1) -> nx.Graph:
    """The township contiguity graph: an edge for every shared border, plus island links.

    Islands and enclaves (townships whose county part is not connected to the rest of the
    county by shared borders) are joined to their nearest township by an edge with
    `kind="island_link"`, and flagged with the node attribute `island=True`. Links are added
    within each county first, then between the counties of each city and the cities of each
    province, so every county, city and province induces a connected subgraph.

    Parameters
    ----------
    townships
        Township polygons indexed by code, with a `county_code` column.
    counties
        County table indexed by adcode with `city_code` and `province_code`; without it only
        county-level links are added.
    jobs
        Threads measuring the shared borders (`border_pairs`); the graph does not depend on it.

    Returns
    -------
    networkx.Graph
        Nodes are township codes (attributes: county_code, population, island); edges carry
        `kind` ("border" or "island_link") and `shared_deg` (shared border length).
    """
    graph = nx.Graph()
    for code, county, pop in zip(townships.index, townships["county_code"], townships["population"]):
        graph.add_node(code, county_code=county, population=int(pop), island=False)
    for a, b, shared in border_pairs(townships.geometry, jobs=jobs):
        graph.add_edge(a, b, kind="border", shared_deg=shared)
    geoms = dict(zip(townships.index, townships.geometry.values))
    by_county = townships.groupby("county_code").groups
    for county in sorted(by_county):
        connect_components(graph, by_county[county], geoms, "county")
    if counties is not None:
        # Each city's and province's townships from the counties' row positions (an isin over every
        # township per city was quadratic in the country's 333 cities); the same sets of nodes.
        towns_of = positions_by(townships["county_code"])
        for level, key in (("city", "city_code"), ("province", "province_code")):
            groups = counties.groupby(key).groups
            for unit in sorted(groups):
                members = [towns_of[c] for c in set(groups[unit]) if c in towns_of]
                rows = np.concatenate(members) if members else np.zeros(0, dtype=np.intp)
                connect_components(graph, townships.index[rows], geoms, level, flag=False)
    return graph


def island_links(graph: nx.Graph) -> pd.DataFrame:
    """The links that join islands and enclaves, one row each (for reports and maps)."""
    rows = [{"from": a, "to": b, "level": d["level"], "gap_km": d["gap_km"]}
            for a, b, d in graph.edges(data=True) if d.get("kind") == "island_link"]
    return pd.DataFrame(rows, columns=["from", "to", "level", "gap_km"])
