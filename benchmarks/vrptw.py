"""PyVRP against OR-Tools routing on Solomon VRPTW instances: gap to the best known distance at equal time.

Usage::

    python benchmarks/vrptw.py --time-limits-s 2 10 --runs 3 --json benchmarks/results/vrptw.json \
        > benchmarks/results/vrptw.txt

Each solver gets the same instance (Solomon's 100-customer files in benchmarks/data/solomon/,
provenance in its README.md), the same fleet (25 vehicles of Solomon's capacity), the same
objective (total distance; Euclidean distances x 10 rounded to integers inside both solvers)
and the same wall-clock limit, on one thread. The distance reported is recomputed in floating
point from each solver's routes, and each route is re-checked (capacity, time windows, with
real-valued times) before it counts. The best known solutions (BKS) are SINTEF's Solomon
table, which ranks vehicles first and distance second: a distance below the BKS (negative gap)
is possible with more vehicles.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "solomon"
SCALE = 10
FLEET = 25

BKS = {  # SINTEF TOP, Solomon 100-customer instances: (vehicles, distance)
    "C101": (10, 828.94), "C201": (3, 591.56), "R101": (19, 1650.80), "R201": (4, 1252.37),
    "RC101": (14, 1696.95), "RC201": (4, 1406.94),
}


def read_instance(path: Path) -> dict:
    """A Solomon instance in the source's layout: capacity on line 1, then id x y demand ready due service."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    capacity = int(lines[0][0])
    rows = np.array([[float(v) for v in ln] for ln in lines[1:]])
    xy = rows[:, 1:3]
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    return {"name": path.stem, "capacity": capacity, "demand": rows[:, 3].astype(int), "ready": rows[:, 4],
            "due": rows[:, 5], "service": rows[:, 6], "xy": xy, "dist": dist}


def check_routes(inst: dict, routes: list[list[int]]) -> tuple[bool, float, int]:
    """Feasibility of routes (every customer once, capacity, time windows in real time), distance and vehicles."""
    d = inst["dist"]
    n = len(inst["demand"])
    seen = sorted(c for r in routes for c in r)
    ok = seen == list(range(1, n))
    total = 0.0
    for r in routes:
        if not r:
            continue
        ok &= inst["demand"][r].sum() <= inst["capacity"]
        t, prev = 0.0, 0
        for c in r:
            t = max(t + inst["service"][prev] + d[prev, c], inst["ready"][c])
            ok &= t <= inst["due"][c] + 1e-6
            total += d[prev, c]
            prev = c
        total += d[prev, 0]
        ok &= t + inst["service"][prev] + d[prev, 0] <= inst["due"][0] + 1e-6
    return bool(ok), total, sum(1 for r in routes if r)


def solve_pyvrp(inst: dict, time_limit_s: float, seed: int, fleet: int = FLEET) -> list[list[int]]:
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    m.add_vehicle_type(fleet, capacity=inst["capacity"], tw_early=int(inst["ready"][0] * SCALE),
                       tw_late=int(inst["due"][0] * SCALE))
    locs = [m.add_location(float(x), float(y)) for x, y in inst["xy"]]
    m.add_depot(locs[0], tw_early=int(inst["ready"][0] * SCALE), tw_late=int(inst["due"][0] * SCALE))
    for i in range(1, len(locs)):
        m.add_client(locs[i], delivery=int(inst["demand"][i]), service_duration=int(inst["service"][i] * SCALE),
                     tw_early=int(inst["ready"][i] * SCALE), tw_late=int(inst["due"][i] * SCALE))
    scaled = np.rint(inst["dist"] * SCALE).astype(int)
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            if i != j:
                m.add_edge(a, b, distance=int(scaled[i, j]), duration=int(scaled[i, j]))
    res = m.solve(stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    return [[int(a.idx) + 1 for a in r if a.is_client()] for r in res.best.routes()]  # client idx counts from 0, after the depot


def solve_ortools(inst: dict, time_limit_s: float, seed: int, fleet: int = FLEET) -> list[list[int]]:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(inst["demand"])
    scaled = np.rint(inst["dist"] * SCALE).astype(int)
    service = (inst["service"] * SCALE).astype(int)
    manager = pywrapcp.RoutingIndexManager(n, fleet, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitCallback(lambda i, j: int(scaled[manager.IndexToNode(i), manager.IndexToNode(j)]))
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    time_cb = routing.RegisterTransitCallback(
        lambda i, j: int(scaled[manager.IndexToNode(i), manager.IndexToNode(j)] + service[manager.IndexToNode(i)]))
    horizon = int(inst["due"][0] * SCALE)
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    for node in range(1, n):
        tdim.CumulVar(manager.NodeToIndex(node)).SetRange(int(inst["ready"][node] * SCALE), int(inst["due"][node] * SCALE))
    for v in range(fleet):
        tdim.CumulVar(routing.Start(v)).SetRange(0, horizon)
        tdim.CumulVar(routing.End(v)).SetRange(0, horizon)
    dem_cb = routing.RegisterUnaryTransitCallback(lambda i: int(inst["demand"][manager.IndexToNode(i)]))
    routing.AddDimensionWithVehicleCapacity(dem_cb, 0, [inst["capacity"]] * fleet, True, "load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    sol = routing.SolveWithParameters(params)
    if sol is None:
        return []
    routes = []
    for v in range(fleet):
        idx = sol.Value(routing.NextVar(routing.Start(v)))
        r = []
        while not routing.IsEnd(idx):
            r.append(manager.IndexToNode(idx))
            idx = sol.Value(routing.NextVar(idx))
        routes.append(r)
    return routes


SOLVERS = {"pyvrp": solve_pyvrp, "ortools": solve_ortools}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", nargs="*", default=list(BKS))
    ap.add_argument("--time-limits-s", nargs="*", type=float, default=[2.0, 10.0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fleet", choices=["25", "bks"], default="25",
                    help="25 vehicles (Solomon's fleet), or the best known solution's vehicle count (gaps then compare like with like)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = []
    print(f"{'instance':<8} {'limit s':>7} {'solver':<8} {'median dist':>11} {'gap %':>7} {'veh':>4} {'feasible':>8} "
          f"{'BKS':>9} runs")
    for name in args.instances:
        inst = read_instance(DATA / f"{name}.txt")
        for limit in args.time_limits_s:
            for solver, fn in SOLVERS.items():
                runs = []
                for seed in range(args.runs):
                    t0 = time.perf_counter()
                    fleet = BKS[name][0] if args.fleet == "bks" else FLEET
                    routes = fn(inst, limit, seed, fleet)
                    wall = time.perf_counter() - t0
                    ok, dist, veh = check_routes(inst, routes) if routes else (False, math.inf, 0)
                    runs.append({"feasible": ok, "distance": round(float(dist), 2), "vehicles": veh, "wall_s": round(wall, 2)})
                dists = [r["distance"] if r["feasible"] else math.inf for r in runs]
                med = statistics.median(dists)
                bks_v, bks_d = BKS[name]
                gap = (med - bks_d) / bks_d * 100
                vehicles = statistics.median(r["vehicles"] for r in runs)
                row = {"instance": name, "time_limit_s": limit, "solver": solver, "fleet": args.fleet, "median_distance": med,
                       "gap_pct": round(gap, 2), "median_vehicles": vehicles, "all_feasible": all(r["feasible"] for r in runs),
                       "bks_distance": bks_d, "bks_vehicles": bks_v, "runs": runs}
                rows.append(row)
                print(f"{name:<8} {limit:>7g} {solver:<8} {med:>11.2f} {gap:>7.2f} {vehicles:>4g} "
                      f"{str(row['all_feasible']):>8} {bks_d:>9.2f} {[r['distance'] for r in runs]}", flush=True)
    summary = {}
    for limit in args.time_limits_s:
        for solver in SOLVERS:
            gaps = [r["gap_pct"] for r in rows if r["solver"] == solver and r["time_limit_s"] == limit]
            summary[f"{solver}@{limit:g}s"] = round(statistics.median(gaps), 2)
    print("median gap over instances:", ", ".join(f"{k} {v:+.2f} %" for k, v in summary.items()))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "median_gap_pct": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
