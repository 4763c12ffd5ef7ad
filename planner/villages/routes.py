"""Weekly circuit routes of a health center's mobile teams: days by visit pattern, then a VRPTW per day (PyVRP)."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

SCALE = 10
"""PyVRP works in integers: minutes x 10 (0.1-minute resolution)."""

TOO_FAR, WEEK_FULL = "too_far", "week_full"


@dataclass
class Stop:
    """One visit of a route: the village, its arrival minute after the day's start, travel from the previous stop."""

    village: str
    arrival_min: float
    travel_min: float


@dataclass
class Route:
    """One team's route on one weekday (1 = Monday), leaving from and returning to the health center."""

    team: int
    weekday: int
    stops: list[Stop]
    travel_min: float
    minutes: float
    lower_bound_min: float


@dataclass
class BasePlan:
    """A health center's week: routes, visits it cannot make (village -> reason, days it lacks), and figures."""

    base: str
    routes: list[Route] = field(default_factory=list)
    missing: dict[str, tuple[str, int]] = field(default_factory=dict)
    travel_min: float = 0.0
    lower_bound_min: float = 0.0
    solves: int = 0
    exact_days: int = 0


def day_patterns(visits: int, days: int) -> list[tuple[int, ...]]:
    """Weekday sets (0-based) for `visits` visits spread evenly over `days` days, one per starting day, deduplicated."""
    out: list[tuple[int, ...]] = []
    for s in range(days):
        p = tuple(sorted({(s + math.floor(k * days / visits)) % days for k in range(visits)}))
        if len(p) == visits and p not in out:
            out.append(p)
    return out


def assign_days(villages: list[str], visits: dict[str, int], load: dict[str, float], angle: dict[str, float],
                days: int, taken: dict[str, set[int]] | None = None) -> dict[str, list[int]]:
    """Weekdays of each village's visits: villages visited more than once get the evenly spread pattern that keeps
    the days' loads lowest; once-a-week villages fill the days in angular order around the center (a sweep), so
    each day's villages lie in one sector.

    `taken` (0-based weekdays a village is visited already, by another team) keeps those days out:
    a village gets only patterns that avoid them (any set of its free days when no even pattern
    does), and a once-a-week village whose sweep day is taken moves to its nearest free day."""
    taken = taken or {}
    day_load = [0.0] * days
    out: dict[str, list[int]] = {}
    multi = sorted((v for v in villages if visits[v] > 1), key=lambda v: (-visits[v], angle[v], v))
    for v in multi:
        pats = day_patterns(visits[v], days)
        if v in taken:
            from itertools import combinations

            free = [d for d in range(days) if d not in taken[v]]
            pats = [p for p in pats if not set(p) & taken[v]] or list(combinations(free, visits[v]))
        best = min(pats, key=lambda p: (max(day_load[d] + load[v] for d in p), p))
        for d in best:
            day_load[d] += load[v]
        out[v] = list(best)
    single = sorted((v for v in villages if visits[v] == 1), key=lambda v: (angle[v], v))
    total = sum(day_load) + sum(load[v] for v in single)
    target = total / days
    d = 0
    for v in single:
        while d < days - 1 and day_load[d] + load[v] / 2 > target:
            d += 1
        e = d
        if v in taken and d in taken[v]:
            e = min((x for x in range(days) if x not in taken[v]), key=lambda x: (abs(x - d), x))
        out[v] = [e]
        day_load[e] += load[v]
    return out


def arc_lower_bound(minutes: np.ndarray, nodes: list[int]) -> float:
    """A lower bound on the travel of any routes from node 0 visiting `nodes` (each entered once, one return at least):
    the cheapest arc into each node plus the cheapest return to the center."""
    if not nodes:
        return 0.0
    allowed = [0, *nodes]
    into = sum(min(minutes[p, n] for p in allowed if p != n) for n in nodes)
    return float(into + min(minutes[n, 0] for n in nodes))


EXACT_MAX_STOPS = 5
"""One team's day with at most this many villages is solved exactly, by enumerating every order of every subset."""


def exact_day(minutes: np.ndarray, nodes: list[int], service_min: float, day_minutes: float) -> tuple[list[int], list[int]]:
    """One team's best route: the most villages that fit the day, then the least travel (ties by node order)."""
    from itertools import permutations

    best: tuple[int, float, tuple[int, ...]] = (0, 0.0, ())
    for k in range(len(nodes), 0, -1):
        for order in permutations(nodes, k):
            t, prev = 0.0, 0
            for n in order:
                t += minutes[prev, n] + service_min
                prev = n
            t += minutes[prev, 0]
            if t <= day_minutes + 1e-9:
                travel = t - service_min * k
                if best[0] < k or travel < best[1] - 1e-9:
                    best = (k, travel, order)
        if best[0] == k:
            break
    route = list(best[2])
    return ([route] if route else []), [n for n in nodes if n not in route]


def solve_day(minutes: np.ndarray, nodes: list[int], service_min: float, day_minutes: float, teams: int,
              iterations: int, xy: np.ndarray | None = None) -> tuple[list[list[int]], list[int], bool]:
    """Routes of one day (node lists, in order), the nodes left out, and whether the routes are proven optimal;
    node 0 is the center.

    One team with at most EXACT_MAX_STOPS villages: exact enumeration. Otherwise PyVRP (hybrid
    genetic search), every node optional with a prize larger than any route's travel, so the
    search leaves a node out only when no route within the day's minutes can take it (no proof).
    """
    if not nodes:
        return [], [], True
    if teams == 1 and len(nodes) <= EXACT_MAX_STOPS:
        routes, dropped = exact_day(minutes, nodes, service_min, day_minutes)
        return routes, dropped, True
    from pyvrp import Model
    from pyvrp.stop import MaxIterations, MultipleCriteria, NoImprovement

    m = Model()
    day = int(math.floor(day_minutes * SCALE))
    m.add_vehicle_type(num_available=max(teams, 1), tw_early=0, tw_late=day, shift_duration=day)
    # Coordinates only guide the search's neighbourhoods; the edges below carry the minutes.
    pts = xy if xy is not None else np.zeros((int(max(nodes)) + 1, 2))
    locs = [m.add_location(float(pts[n, 0]), float(pts[n, 1])) for n in [0, *nodes]]
    m.add_depot(locs[0], tw_early=0, tw_late=day)
    prize = int(sum(minutes[0, n] + minutes[n, 0] for n in nodes) * SCALE * 10 + 10_000)
    for k, n in enumerate(nodes):
        m.add_client(locs[k + 1], service_duration=int(math.ceil(service_min * SCALE)), tw_early=0, tw_late=day,
                     prize=prize, required=False)
    ids = [0, *nodes]
    # Travel rounded up, so that a route the search accepts also fits in real minutes.
    scaled = np.ceil(minutes[np.ix_(ids, ids)] * SCALE).astype(np.int64)
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            if i != j:
                m.add_edge(a, b, distance=int(scaled[i, j]), duration=int(scaled[i, j]))
    import warnings

    with warnings.catch_warnings():
        # PyVRP warns when its penalties saturate; every node here is optional, so a plan within the day always
        # exists, and the routes it returns are re-checked (here and by planner.villages.check) anyway.
        from pyvrp.exceptions import PenaltyBoundWarning

        warnings.simplefilter("ignore", PenaltyBoundWarning)
        res = m.solve(stop=MultipleCriteria([NoImprovement(iterations), MaxIterations(4 * iterations)]), seed=1,
                      display=False)
    routes = [[nodes[int(a.idx)] for a in r if a.is_client()] for r in res.best.routes()]  # client idx counts from 0
    routes = [r for r in routes if r]
    seen = {n for r in routes for n in r}
    return routes, [n for n in nodes if n not in seen], False


@contextlib.contextmanager
def python_sigint_kept() -> Iterator[None]:
    """Give Ctrl-C back to Python after the village phase's native solvers.

    Measured: after the village phase (PyVRP routes, CP-SAT timetable) the process-level SIGINT
    disposition was SIG_DFL while Python still believed its own handler was in place, so a later
    Ctrl-C killed the run outright (exit -2, no message, staging folders left) instead of raising
    KeyboardInterrupt. Re-installing Python's handler restores the C-level one.
    """
    handler = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        if handler is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, handler)


def route_minutes(minutes: np.ndarray, route: list[int], service_min: float) -> tuple[float, float, list[tuple[float, float]]]:
    """Travel, total minutes (travel + service, back at the center) and (arrival, travel from previous) per stop."""
    t, travel, prev, stops = 0.0, 0.0, 0, []
    for n in route:
        leg = float(minutes[prev, n])
        t += leg
        travel += leg
        stops.append((t, leg))
        t += service_min
        prev = n
    back = float(minutes[prev, 0])
    return travel + back, t + back, stops


def plan_base(base: str, villages: list[str], visits: dict[str, int], minutes: np.ndarray, xy: np.ndarray,
              *, service_min: float, day_minutes: float, teams: int, days: int, iterations: int,
              taken: dict[str, set[int]] | None = None) -> BasePlan:
    """The week of one health center (or county lead): node 0 of `minutes` is the base, node k + 1 is villages[k].

    `taken`: 0-based weekdays each village is visited already by other teams; its visits here go
    on other days (`visits` counts only the visits still to make, at most its free days)."""
    taken = {v: set(d) for v, d in (taken or {}).items() if d}
    over = sorted(v for v in villages if visits[v] > days - len(taken.get(v, ())))
    if over:
        msg = f"{over[0]} needs {visits[over[0]]} more visits but has {days - len(taken.get(over[0], ()))} free days"
        raise ValueError(msg)
    out = BasePlan(base)
    node = {v: k + 1 for k, v in enumerate(villages)}
    angle = {v: float(np.arctan2(xy[node[v], 1] - xy[0, 1], xy[node[v], 0] - xy[0, 0])) for v in villages}
    alone = {v: minutes[0, node[v]] + service_min + minutes[node[v], 0] for v in villages}
    if teams <= 0:
        out.missing = {v: (WEEK_FULL, visits[v]) for v in villages}
        return out
    feasible = [v for v in villages if alone[v] <= day_minutes + 1e-9]
    for v in villages:
        if v not in feasible:
            out.missing[v] = (TOO_FAR, visits[v])
    days_of = assign_days(feasible, visits, alone, angle, days, taken)
    on_day: dict[int, list[str]] = {d: sorted((v for v in feasible if d in days_of[v]), key=lambda v: node[v]) for d in range(days)}
    solved: dict[int, tuple[list[list[int]], list[int], bool]] = {}
    for d in range(days):
        solved[d] = solve_day(minutes, [node[v] for v in on_day[d]], service_min, day_minutes, teams, iterations, xy)
        out.solves += 1
    # Repair: a visit left out moves to another day without a visit of the same village, inserted where it adds
    # the least time into a route that still fits the day (or as a route of a free team); no new search.
    village_of = {node[v]: v for v in villages}
    for d in range(days):
        for n in list(solved[d][1]):
            v = village_of[n]
            best = None
            for e in range(days):
                if e == d or v in on_day[e] or e in taken.get(v, ()):
                    continue
                routes_e = solved[e][0]
                if len(routes_e) < teams and alone[v] <= day_minutes + 1e-9:
                    cand = (alone[v] - service_min, e, len(routes_e), 0)
                    best = cand if best is None or cand < best else best
                for k, r in enumerate(routes_e):
                    total = route_minutes(minutes, r, service_min)[1]
                    path = [0, *r, 0]
                    for i in range(len(path) - 1):
                        extra = minutes[path[i], n] + minutes[n, path[i + 1]] - minutes[path[i], path[i + 1]]
                        if total + extra + service_min <= day_minutes + 1e-9:
                            cand = (extra, e, k, i)
                            best = cand if best is None or cand < best else best
            if best is None:
                continue
            _extra, e, k, i = best
            routes_e = [list(r) for r in solved[e][0]]
            if k == len(routes_e):
                routes_e.append([n])
            else:
                routes_e[k].insert(i, n)
            solved[e] = (routes_e, solved[e][1], False)
            on_day[e] = sorted(on_day[e] + [v], key=lambda u: node[u])
            on_day[d] = [u for u in on_day[d] if u != v]
            solved[d] = (solved[d][0], [x for x in solved[d][1] if x != n], solved[d][2])
    for d in range(days):
        routes, dropped, exact = solved[d]
        for n in dropped:
            v = village_of[n]
            reason, lacking = out.missing.get(v, (WEEK_FULL, 0))
            out.missing[v] = (reason, lacking + 1)
        served = sorted(n for r in routes for n in r)
        lb = sum(route_minutes(minutes, r, service_min)[0] for r in routes) if exact else arc_lower_bound(minutes, served)
        out.exact_days += int(exact)
        for k, r in enumerate(sorted(routes, key=lambda r: (r[0], len(r)))):
            travel, total, stops = route_minutes(minutes, r, service_min)
            out.routes.append(Route(k + 1, d + 1, [Stop(village_of[n], a, leg) for n, (a, leg) in zip(r, stops)],
                                    travel, total, lb if k == 0 else 0.0))
            out.travel_min += travel
        out.lower_bound_min += lb
    return out
