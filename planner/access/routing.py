"""Daily courier round trips from a shared-center host to its member health centers: a small VRP per host.

At most `max_minutes` per trip (travel plus `stop_min` at each stop); fewest trips first, then
fewest minutes. Up to EXACT_STOPS stops a single trip is solved exactly (Held-Karp dynamic
program), and when it fits the limit it is proven optimal (one trip is the fewest, and its
minutes the least); beyond that, or when one trip cannot serve every stop, OR-Tools routing
(path-cheapest-arc, then local search to a local optimum) gives a good plan without proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

EXACT_STOPS = 8
"""Largest number of stops solved exactly (2^8 x 8^2 steps of the dynamic program)."""


@dataclass(frozen=True)
class Trips:
    """Courier trips: each a list of stop positions (1-based, 0 is the host) and its minutes."""

    trips: tuple[tuple[int, ...], ...]
    minutes: tuple[float, ...]
    status: str
    """OPTIMAL (proven) or HEURISTIC (OR-Tools local optimum), for the trips within the limit."""
    over_limit: tuple[int, ...] = ()
    """Stops whose own round trip is over the limit: each gets a trip of its own (a violation)."""


def trip_minutes(t: np.ndarray, trip: tuple[int, ...] | list[int], stop_min: float) -> float:
    """Minutes of one round trip host -> stops in order -> host, with `stop_min` at each stop."""
    if not trip:
        return 0.0
    path = [0, *trip, 0]
    return float(sum(t[a, b] for a, b in zip(path, path[1:])) + stop_min * len(trip))


VECTOR_STOPS = 6
"""From this many stops the dynamic program runs vectorised (numpy's overhead pays off: 1.7 -> 0.45 ms at 8)."""


def held_karp(t: np.ndarray, stops: list[int]) -> tuple[list[int], float]:
    """The shortest round trip from 0 through every stop (exact dynamic program).

    From VECTOR_STOPS stops vectorised over the subsets of each size: the same sums, and the same
    choice among equal ones (the lowest position), as `held_karp_reference`, which runs below.
    """
    if len(stops) < VECTOR_STOPS:
        return held_karp_reference(t, stops)
    n = len(stops)
    full = (1 << n) - 1
    idx = np.asarray(stops)
    hop = np.asarray(t, dtype=float)[np.ix_(idx, idx)]  # hop[j, k]: stop j -> stop k
    best = np.full((full + 1, n), np.inf)
    prev = np.full((full + 1, n), -1, dtype=np.int64)
    best[1 << np.arange(n), np.arange(n)] = np.asarray(t, dtype=float)[0, idx]
    masks = np.arange(full + 1)
    size = np.zeros(full + 1, dtype=np.int64)
    for k in range(n):
        size += (masks >> k) & 1
    member = ((masks[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    bit = 1 << np.arange(n)
    for m in range(2, n + 1):
        layer = masks[size == m]
        before = layer[:, None] & ~bit[None, :]  # (subset, k): the subset without k
        # cand[s, k, j] = best[subset without k, j] + hop[j, k], over the j in that subset (others inf).
        cand = best[before] + hop.T[None, :, :]
        cand[~member[before]] = np.inf
        j = np.argmin(cand, axis=2)
        value = np.take_along_axis(cand, j[:, :, None], axis=2)[:, :, 0]
        inside = member[layer]  # k in the subset
        rows = np.broadcast_to(layer[:, None], inside.shape)[inside]
        ks = np.broadcast_to(np.arange(n)[None, :], inside.shape)[inside]
        best[rows, ks] = value[inside]
        prev[rows, ks] = j[inside]
    back = best[full] + np.asarray(t, dtype=float)[idx, 0]
    last = int(np.argmin(back))
    cost = float(back[last])
    order, bits = [], full
    while last != -1:
        order.append(stops[last])
        before = int(prev[bits, last])
        bits &= ~(1 << last)
        last = before
    return order[::-1], cost


def held_karp_reference(t: np.ndarray, stops: list[int]) -> tuple[list[int], float]:
    """The shortest round trip from 0 through every stop: the plain dynamic program over dicts."""
    if not stops:
        return [], 0.0
    n = len(stops)
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for k, s in enumerate(stops):
        best[1 << k, k] = (float(t[0, s]), -1)
    for size in range(2, n + 1):
        for subset in combinations(range(n), size):
            bits = sum(1 << k for k in subset)
            for k in subset:
                prev_bits = bits & ~(1 << k)
                best[bits, k] = min((best[prev_bits, j][0] + float(t[stops[j], stops[k]]), j)
                                    for j in subset if j != k)
    full = (1 << n) - 1
    cost, last = min((best[full, k][0] + float(t[stops[k], 0]), k) for k in range(n))
    order, bits = [], full
    while last != -1:
        order.append(stops[last])
        _, prev = best[bits, last]
        bits &= ~(1 << last)
        last = prev
    return order[::-1], cost


def plan_trips(t: np.ndarray, max_minutes: float, stop_min: float, *, time_limit_s: float = 1.0) -> Trips:
    """Trips from host 0 serving stops 1 .. n-1 of the minutes matrix `t` (symmetric or not)."""
    n = t.shape[0]
    stops = list(range(1, n))
    if not stops:
        return Trips((), (), "OPTIMAL")
    alone = [s for s in stops if t[0, s] + t[s, 0] + stop_min > max_minutes + 1e-9]
    ok = [s for s in stops if s not in alone]
    extra = tuple((s,) for s in alone)
    extra_min = tuple(trip_minutes(t, trip, stop_min) for trip in extra)
    if ok and len(ok) <= EXACT_STOPS:
        order, _ = held_karp(t, ok)
        minutes = trip_minutes(t, order, stop_min)
        if minutes <= max_minutes + 1e-9:
            return Trips((tuple(order),) + extra, (minutes,) + extra_min, "OPTIMAL", tuple(alone))
    trips = _ortools_trips(t, ok, max_minutes, stop_min, time_limit_s) if ok else []
    return Trips(tuple(trips) + extra, tuple(trip_minutes(t, x, stop_min) for x in trips) + extra_min,
                 "HEURISTIC" if ok else "OPTIMAL", tuple(alone))


def _ortools_trips(t: np.ndarray, stops: list[int], max_minutes: float, stop_min: float,
                   time_limit_s: float) -> list[tuple[int, ...]]:
    nodes = [0, *stops]
    scale = 10  # tenths of a minute: the routing solver works in integers
    cost = np.rint((t[np.ix_(nodes, nodes)] + np.array([0.0] + [stop_min] * len(stops))[:, None]) * scale).astype(int)
    vehicles = _first_fit(t, stops, max_minutes, stop_min)
    trips = _solve_routing(cost, nodes, vehicles, max_minutes, scale, time_limit_s)
    if trips is None and vehicles < len(stops):
        trips = _solve_routing(cost, nodes, len(stops), max_minutes, scale, time_limit_s)
    return trips if trips is not None else [(s,) for s in stops]


def _first_fit(t: np.ndarray, stops: list[int], max_minutes: float, stop_min: float) -> int:
    """Trips enough for every stop: first-fit of the stops' own round trips (a trip through several
    stops is no longer than their round trips added up, by the triangle inequality)."""
    bins: list[float] = []
    for s in sorted(stops, key=lambda s: -(t[0, s] + t[s, 0])):
        need = t[0, s] + t[s, 0] + stop_min
        for k, used in enumerate(bins):
            if used + need <= max_minutes + 1e-9:
                bins[k] += need
                break
        else:
            bins.append(need)
    return max(1, len(bins))


def _solve_routing(cost: np.ndarray, nodes: list[int], vehicles: int, max_minutes: float, scale: int,
                   time_limit_s: float) -> list[tuple[int, ...]] | None:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    manager = pywrapcp.RoutingIndexManager(len(nodes), vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    # A matrix callback: no Python call per arc evaluation.
    cb = routing.RegisterTransitMatrix([[int(v) for v in row] for row in cost])
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    routing.AddDimension(cb, 0, int(max_minutes * scale), True, "minutes")
    # A trip costs more than any route's minutes: fewest trips first.
    routing.SetFixedCostOfAllVehicles(int(cost.sum()) + 1)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    # Each neighbour the local search tries is completed by a sub-search under `lns_time_limit`, by default
    # 100 ms of wall clock: a process descheduled for that long (a saturated machine) has the neighbour
    # rejected and the descent takes another path (at 0 ms every community's trips change; a country run
    # under load 12 returned one trip reversed). A solve takes at most ~10 ms CPU in all (浙江省, 河南省), so
    # on a quiet machine neither limit is reached; bounding each completion only by the solve's own limit
    # leaves the trips as they were and takes the load out of them (the solve's limit is never near).
    params.lns_time_limit.CopyFrom(params.time_limit)
    sol = routing.SolveWithParameters(params)
    if sol is None:
        return None
    out = []
    for v in range(vehicles):
        idx = routing.Start(v)
        trip = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            trip.append(nodes[manager.IndexToNode(idx)])
            idx = sol.Value(routing.NextVar(idx))
        if trip:
            out.append(tuple(trip))
    return sorted(out)
