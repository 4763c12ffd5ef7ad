"""Tests of ``planner.adjacency``: township contiguity from shared borders, and links for islands and enclaves."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely
from fixtures import Fac, grid_region

from planner.adjacency import (
    MIN_SHARED_BORDER_DEG,
    SNAP_TOLERANCE_DEG,
    border_pairs,
    connect_components,
    contiguity_graph,
    island_links,
)
from planner.travel import haversine_km


def townships(boxes: dict[str, tuple[str, tuple[float, float, float, float]]]) -> gpd.GeoDataFrame:
    """Townships from {code: (county_code, (minx, miny, maxx, maxy))} in degrees, population 1000 each."""
    rows = [{"code": code, "county_code": county, "population": 1000, "geometry": shapely.box(*bounds)}
            for code, (county, bounds) in boxes.items()]
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").set_index("code", drop=False)
    frame.index.name = None
    return frame


def counties(rows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Counties from {adcode: (city_code, province_code)}."""
    return pd.DataFrame([{"adcode": a, "city_code": c, "province_code": p} for a, (c, p) in rows.items()]).set_index(
        "adcode", drop=False)


def edge_set(graph: nx.Graph, kind: str | None = None) -> set[frozenset]:
    return {frozenset((a, b)) for a, b, d in graph.edges(data=True) if kind is None or d["kind"] == kind}


def pairs(*edges: tuple[str, str]) -> set[frozenset]:
    return {frozenset(e) for e in edges}


# --- shared borders --------------------------------------------------------------------------


def test_rook_contiguity_on_a_grid_a_shared_border_is_an_edge_and_a_shared_corner_is_not() -> None:
    """
    A 2 x 3 grid of 0.1-degree townships (codes 330001001 ... 006)::

        +-----+-----+-----+
        | 001 | 002 | 003 |
        +-----+-----+-----+
        | 004 | 005 | 006 |
        +-----+-----+-----+

    001 and 005 meet only at a corner: not neighbours.
    """
    region = grid_region([[1, 1, 1], [1, 1, 1]], [Fac("H1", "医院", "general_hospital", "二甲", (0, 0))])
    graph = contiguity_graph(region.townships, region.counties)
    c = {i: f"330001{i:03d}" for i in range(1, 7)}
    assert edge_set(graph) == pairs((c[1], c[2]), (c[2], c[3]), (c[4], c[5]), (c[5], c[6]),
                                    (c[1], c[4]), (c[2], c[5]), (c[3], c[6]))
    assert all(d["kind"] == "border" for _, _, d in graph.edges(data=True))
    for _, _, d in graph.edges(data=True):
        assert d["shared_deg"] == pytest.approx(0.1, abs=3 * SNAP_TOLERANCE_DEG)
    assert not any(graph.nodes[n]["island"] for n in graph)
    assert graph.nodes[c[1]]["county_code"] == "330001" and graph.nodes[c[1]]["population"] == 1


def test_border_pairs_reports_each_pair_once_with_its_length() -> None:
    t = townships({"A": ("1", (120.0, 29.0, 120.1, 29.1)), "B": ("1", (120.1, 29.0, 120.2, 29.05))})
    ((a, b, shared),) = border_pairs(t.geometry)
    assert (a, b) == ("A", "B")
    assert shared == pytest.approx(0.05, abs=3 * SNAP_TOLERANCE_DEG)


@pytest.mark.parametrize(
    ("b_bounds", "neighbours"),
    [((120.1, 29.0, 120.2, 29.1), True),                                  # a whole shared side
     ((120.1, 29.1 - 2 * MIN_SHARED_BORDER_DEG, 120.2, 29.2), True),      # a short shared side, still long enough
     ((120.1, 29.1 - MIN_SHARED_BORDER_DEG / 5, 120.2, 29.2), False),     # a sliver of border (~10 m)
     ((120.1, 29.1, 120.2, 29.2), False),                                 # only a corner
     ((120.1 + SNAP_TOLERANCE_DEG / 2, 29.0, 120.2, 29.1), True),         # a 5 m gap from digitising: closed
     ((120.11, 29.0, 120.2, 29.1), False)],                               # a 1 km gap (a river): not neighbours
    ids=["side", "short-side", "sliver", "corner", "tiny-gap", "river"],
)
def test_two_townships_are_neighbours_only_when_they_share_enough_border(b_bounds, neighbours: bool) -> None:
    """
    A is fixed; B is placed to its east::

        +-----+-----+
        |  A  |  B  |
        +-----+-----+
    """
    t = townships({"A": ("1", (120.0, 29.0, 120.1, 29.1)), "B": ("1", b_bounds)})
    assert bool(border_pairs(t.geometry)) is neighbours


# --- islands and enclaves --------------------------------------------------------------------


def test_island_across_water_is_linked_to_its_nearest_township_and_flagged() -> None:
    """
    A county of three townships; I is an island 0.05 degrees (about 5 km) off the coast of B::

        +-----+-----+
        |  A  |  B  |   ~~~  +---+
        +-----+-----+   ~~~  | I |
                             +---+
    """
    t = townships({"A": ("330001", (120.0, 29.0, 120.1, 29.1)),
                   "B": ("330001", (120.1, 29.0, 120.2, 29.1)),
                   "I": ("330001", (120.25, 28.95, 120.3, 29.0))})
    graph = contiguity_graph(t)
    assert edge_set(graph, "border") == pairs(("A", "B"))
    assert edge_set(graph, "island_link") == pairs(("I", "B"))
    link = graph.edges["I", "B"]
    assert link["level"] == "county"
    assert link["gap_deg"] == pytest.approx(0.05)
    assert link["shared_deg"] == 0.0
    assert {n: graph.nodes[n]["island"] for n in graph} == {"A": False, "B": False, "I": True}
    assert nx.is_connected(graph)
    ((_, row),) = island_links(graph).iterrows()
    assert {row["from"], row["to"]} == {"I", "B"}
    assert row["level"] == "county" and row["gap_km"] > 0


def test_island_link_gap_km_is_the_ground_distance() -> None:
    t = townships({"B": ("330001", (120.1, 29.0, 120.2, 29.1)), "I": ("330001", (120.25, 28.95, 120.3, 29.0))})
    ((_, row),) = island_links(contiguity_graph(t)).iterrows()
    assert row["gap_km"] == pytest.approx(haversine_km(120.2, 29.0, 120.25, 29.0), rel=0.02)


def test_enclave_inside_another_county_is_linked_to_the_nearest_township_of_its_own_county() -> None:
    """
    County 330001 (A) has a mainland of two townships and an enclave E surrounded by county 330002 (b)::

        +-----+-----+-----+-----+-----+
        |  A  |  A  |  b  |  b  |  b  |
        +-----+-----+-----+-----+-----+
        |  b  |  b  |  b  |  E  |  b  |
        +-----+-----+-----+-----+-----+
        |  b  |  b  |  b  |  b  |  b  |
        +-----+-----+-----+-----+-----+

    E borders only county 330002; the nearest township of its own county is the second A
    (0.1 degrees away across one b).
    """
    a, b = "330001", "330002"
    county_of = [[a, a, b, b, b], [b, b, b, a, b], [b, b, b, b, b]]
    region = grid_region([[1] * 5] * 3, [Fac("H1", "医院", "general_hospital", "二甲", (0, 0))], county_of=county_of)
    graph = contiguity_graph(region.townships, region.counties)
    enclave, mainland_east = f"{a}009", f"{a}002"
    assert {n for n in graph if graph.nodes[n]["island"]} == {enclave}
    (link,) = [(u, v, d) for u, v, d in graph.edges(data=True) if d["kind"] == "island_link"]
    assert frozenset(link[:2]) == frozenset((enclave, mainland_east))
    assert link[2]["level"] == "county"
    assert link[2]["gap_deg"] == pytest.approx(0.1)
    # E still borders its four b neighbours
    assert sum(1 for n in graph[enclave] if graph.edges[enclave, n]["kind"] == "border") == 4


def test_after_linking_every_county_induces_a_connected_subgraph() -> None:
    """
    Two interleaved counties on a 3 x 4 grid, each in several pieces::

        +---+---+---+---+
        | a | b | a | b |
        +---+---+---+---+
        | b | a | b | a |
        +---+---+---+---+
        | a | b | a | b |
        +---+---+---+---+

    (a checkerboard: no two cells of a county share a border).
    """
    a, b = "330001", "330002"
    county_of = [[a if (r + c) % 2 == 0 else b for c in range(4)] for r in range(3)]
    region = grid_region([[1] * 4] * 3, [Fac("H1", "医院", "general_hospital", "二甲", (0, 0))], county_of=county_of)
    graph = contiguity_graph(region.townships, region.counties)
    for county in (a, b):
        nodes = region.townships.index[region.townships["county_code"] == county]
        sub = graph.subgraph(nodes)
        assert nx.is_connected(sub), county
        # n townships, no shared border inside the county: exactly n - 1 links
        assert sum(1 for *_, d in sub.edges(data=True) if d["kind"] == "island_link") == len(nodes) - 1
        assert sum(1 for *_, d in sub.edges(data=True) if d["kind"] == "border") == 0


def pieces(sizes: tuple[int, int, int]) -> gpd.GeoDataFrame:
    """One county in three pieces P, Q, R of the given sizes along a line, 0.1-degree gaps between them::

        +--+--+--+--+      +--+--+      +--+
        |P1|P2|..|Pn|      |Q1|Q2|      |R1|
        +--+--+--+--+      +--+--+      +--+
    """
    w, x, boxes = 0.1, 120.0, {}
    for letter, n in zip("PQR", sizes):
        for i in range(1, n + 1):
            boxes[f"{letter}{i}"] = ("1", (x, 29.0, x + w, 29.1))
            x += w
        x += w
    return townships(boxes)


def test_smallest_component_is_linked_first_to_its_nearest_township_and_flagged() -> None:
    graph = contiguity_graph(pieces((4, 2, 1)))
    # R1 joins Q (its nearest piece); then Q+R (3) is smaller than P (4) and joins P.
    assert edge_set(graph, "island_link") == pairs(("R1", "Q2"), ("Q1", "P4"))
    assert {n for n in graph if graph.nodes[n]["island"]} == {"R1", "Q1", "Q2"}
    assert nx.is_connected(graph)


def test_mainland_is_not_flagged_as_an_island_when_linked_pieces_grow_to_its_size() -> None:
    graph = contiguity_graph(pieces((3, 2, 1)))
    assert {n for n in graph if graph.nodes[n]["island"]} == {"R1", "Q1", "Q2"}


def test_connect_components_on_a_connected_set_adds_nothing() -> None:
    t = townships({"A": ("1", (120.0, 29.0, 120.1, 29.1)), "B": ("1", (120.1, 29.0, 120.2, 29.1))})
    graph = contiguity_graph(t)
    before = set(graph.edges)
    connect_components(graph, ["A", "B"], dict(zip(t.index, t.geometry)), "county")
    assert set(graph.edges) == before


# --- cities and provinces --------------------------------------------------------------------


def apart() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """
    Three counties that touch no other: 330101 and 330102 in city 330100, 330201 in city 330200,
    all in province 330000; each county is two townships side by side::

        [330101]  ~0.3~  [330102]  ~0.8~  [330201]
    """
    t = townships({
        "330101001": ("330101", (120.0, 29.0, 120.1, 29.1)), "330101002": ("330101", (120.1, 29.0, 120.2, 29.1)),
        "330102001": ("330102", (120.5, 29.0, 120.6, 29.1)), "330102002": ("330102", (120.6, 29.0, 120.7, 29.1)),
        "330201001": ("330201", (121.5, 29.0, 121.6, 29.1)), "330201002": ("330201", (121.6, 29.0, 121.7, 29.1)),
    })
    c = counties({"330101": ("330100", "330000"), "330102": ("330100", "330000"), "330201": ("330200", "330000")})
    return t, c


def test_counties_of_a_city_that_do_not_touch_are_joined_by_a_city_level_link() -> None:
    t, c = apart()
    graph = contiguity_graph(t, c)
    city_links = [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("level") == "city"]
    assert [frozenset((u, v)) for u, v, _ in city_links] == [frozenset(("330101002", "330102001"))]
    assert city_links[0][2]["gap_deg"] == pytest.approx(0.3)
    assert nx.is_connected(graph.subgraph([n for n in graph if n[:6] in ("330101", "330102")]))


def test_cities_of_a_province_that_do_not_touch_are_joined_by_a_province_level_link() -> None:
    t, c = apart()
    graph = contiguity_graph(t, c)
    province_links = [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("level") == "province"]
    assert [frozenset((u, v)) for u, v, _ in province_links] == [frozenset(("330102002", "330201001"))]
    assert province_links[0][2]["gap_deg"] == pytest.approx(0.8)
    assert nx.is_connected(graph)
    assert sorted(island_links(graph)["level"]) == ["city", "province"]


def test_without_a_county_table_only_county_level_links_are_added() -> None:
    t, _ = apart()
    graph = contiguity_graph(t)
    assert edge_set(graph, "island_link") == set()
    assert nx.number_connected_components(graph) == 3


def test_island_links_of_a_graph_without_islands_is_an_empty_table_with_columns() -> None:
    region = grid_region([[1, 1]], [Fac("H1", "医院", "general_hospital", "二甲", (0, 0))])
    links = island_links(contiguity_graph(region.townships, region.counties))
    assert links.empty
    assert list(links.columns) == ["from", "to", "level", "gap_km"]


def test_border_pairs_measured_in_threads_are_the_pairs_measured_in_one(monkeypatch) -> None:
    """jobs > 1 cuts the shared-length measurement into blocks for threads: the same pairs, lengths and order."""
    import planner.adjacency as adjacency
    from planner import regions

    towns = regions.load("金华市").townships.geometry
    one = adjacency.border_pairs(towns)
    monkeypatch.setattr(adjacency, "PARALLEL_PAIRS", 1)
    assert adjacency.border_pairs(towns, jobs=3) == one and len(one) > 100
