"""Benchmark the grouping core in generic districting mode on published county instances.

Instances (``benchmarks/data/districting/``, see its README): US states at county level from
Validi, Buchanan and Lykhovyd, "Imposing contiguity constraints in political districting
models", Operations Research 70(2), 2022. The model is Hess's: choose k centers among the
counties, assign every county to one center, each district's population within [L, U]
(+-0.5 % of the mean), districts contiguous, minimising the moment of inertia

    sum_i p_i * d(i, center(i))^2 / 10^6

where d is the distance between county centroids in whole kilometres, computed exactly as the
authors did (README). Their proven optima are in ``instances.csv``; this script also checks
their published optimal plan against our cost matrix (``published`` column).

The codes get the same matrix, the same instance and the same time limit, in one run:

* ours: :class:`planner.districting.DistrictingModel` with contiguity, every county a
  candidate center, exactly k groups, balance [L, U], and the core's improvements switched on
  (``solve_districting(..., reduce=True)``: safe variable fixing, tight flow bounds and the
  separator-cut loop; see that function);
* cg (``--codes``): :func:`planner.districting_cg.solve_colgen`, column generation over connected
  balanced districts (the set-partitioning LP bound), the set-partitioning program over the
  columns found, then the assignment model on the pairs the bound's duals keep;
* fix (``--codes``): :func:`planner.districting_cg.solve_by_column_fixing`, column generation's
  duals, then every district a plan under a target can use listed (all but one of its districts)
  and the set-partitioning program over them with one free assignment-model district;
* plain: the textbook Hess assignment model with Shirabe's single-commodity flow per center
  (big-M = n - 1), built directly with OR-Tools' pywraplp on HiGHS, no fixing, no cuts.

Times are wall-clock seconds including model building. Usage::

    python benchmarks/districting.py --states ME,NM,ID --time-limit-s 600 \\
        --csv benchmarks/results/districting.csv
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DATA = Path(__file__).resolve().parent / "data" / "districting"


@dataclass
class Instance:
    """One state: counties, adjacency, populations, integer costs and the published optimum."""

    state: str
    k: int
    lower: int
    upper: int
    population: np.ndarray
    edges: list[tuple[int, int]]
    km: np.ndarray
    cost: np.ndarray
    optimum: float
    optimum_without_contiguity: float
    published: np.ndarray
    geoid: list[str]
    published_time_s: float | None = None
    published_time_model: str = ""

    @property
    def n(self) -> int:
        return len(self.population)


def kilometres(lon: np.ndarray, lat: np.ndarray, epsg: int) -> np.ndarray:
    """Centroid distances as the authors computed them: planar in the state's EPSG, rounded km."""
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4269", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    metres = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    # Python's round() (half to even) on metres / 1000, as their scripts/main.py did.
    return np.vectorize(lambda v: round(v / 1000.0))(metres).astype(np.int64)


def load_instance(state: str) -> Instance:
    """Read ``<state>.csv``, ``<state>.edges`` and the state's row of ``instances.csv``."""
    with open(DATA / "instances.csv", newline="") as fh:
        meta = {row["state"]: row for row in csv.DictReader(fh)}
    if state not in meta:
        raise SystemExit(f"unknown state {state!r}; have {', '.join(meta)}")
    row = meta[state]
    with open(DATA / f"{state}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    population = np.array([int(r["population"]) for r in rows], dtype=np.int64)
    lon = np.array([float(r["centroid_lon"]) for r in rows])
    lat = np.array([float(r["centroid_lat"]) for r in rows])
    km = kilometres(lon, lat, int(row["epsg"]))
    edges = [tuple(map(int, line.split())) for line in (DATA / f"{state}.edges").read_text().splitlines() if line]
    return Instance(
        state=state,
        k=int(row["k"]),
        lower=int(row["L"]),
        upper=int(row["U"]),
        population=population,
        edges=edges,  # type: ignore[arg-type]
        km=km,
        cost=population[:, None] * km**2,
        optimum=float(row["optimum"]),
        optimum_without_contiguity=float(row["optimum_without_contiguity"]),
        published=np.array([int(r["published_district"]) for r in rows]),
        geoid=[r["geoid"] for r in rows],
        published_time_s=float(row["published_time_s"]) if row.get("published_time_s") else None,
        published_time_model=row.get("published_time_model", ""),
    )


def plan_cost(inst: Instance, labels: np.ndarray) -> int:
    """Cost of a partition with each district at its best center (integer, person-km^2)."""
    total = 0
    for d in np.unique(labels):
        members = np.flatnonzero(labels == d)
        total += int(min(inst.cost[members, j].sum() for j in members))
    return total


@dataclass
class Run:
    """One code's result on one instance (objective in the paper's units, person-km^2 / 10^6)."""

    code: str
    status: str
    objective: float | None
    bound: float | None
    time_s: float
    detail: str = ""
    cpu_s: float = 0.0

    @property
    def gap(self) -> float | None:
        from planner.milp import relative_gap

        return None if self.objective is None else relative_gap(self.objective, self.bound)


def verify_plan(inst: Instance, groups: dict[int, object], objective: float, status: str) -> None:
    """Re-check a solver's plan independently (exit naming the state if it is wrong): each center in
    its own district, balance, contiguity and cost (`check_plan`), the reported objective equal to the
    plan's cost at its centers, and a plan reported OPTIMAL not improved by moving a center."""
    labels = np.empty(inst.n, dtype=np.int64)
    for center, members in groups.items():
        if center not in members:
            raise SystemExit(f"{inst.state}: center {center} is not in its own district")
        labels[list(members)] = center
    check_plan(inst, labels)
    # The reported objective is the plan's cost at its reported centers ...
    at_centers = int(sum(inst.cost[i, labels[i]] for i in range(inst.n)))
    if at_centers != round(objective):
        raise SystemExit(f"{inst.state}: reported objective {objective} != plan cost {at_centers}")
    # ... and a proven optimum cannot be improved by moving a center.
    if status == "OPTIMAL" and plan_cost(inst, labels) != at_centers:
        raise SystemExit(f"{inst.state}: 'optimal' plan improves to {plan_cost(inst, labels)} by moving a center")


def run_ours(inst: Instance, time_limit_s: float) -> Run:
    """The planner's core: `solve_districting(..., reduce=True)` on HiGHS."""
    from planner.districting import solve_districting

    t0 = time.perf_counter()
    c0 = time.process_time()
    res = solve_districting(inst.population, inst.cost, inst.edges, list(range(inst.n)), k=inst.k,
                            balance=(inst.lower, inst.upper), contiguity=True, backend="highs",
                            time_limit_s=time_limit_s, reduce=True)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    s = res.stats
    if s.get("method") == "enumeration":
        detail = f"enumeration: {s.get('districts')} feasible districts, {s.get('enumeration_s')} s"
    else:
        detail = (f"pairs {s.get('pairs')}->{s.get('pairs_after_lagrangian')}, centers {s.get('centers_left')}, "
                  f"rounds {s.get('rounds')}, cuts {s.get('separators')}, lp {s.get('lp_s')} s, "
                  f"heuristic {s.get('heuristic_s')} s, lagrangian {s.get('lagrangian_s')} s, mip {s.get('mip_s')} s"
                  + (", then flow" if s.get("switched_to_flow") else "")
                  + f", targets {' '.join(s.get('targets', []))}")
    if res.objective is not None:
        verify_plan(inst, res.groups, res.objective, res.status.value)
    return Run("ours", res.status.value, None if res.objective is None else res.objective / 1e6,
               None if res.bound is None else res.bound / 1e6, elapsed, detail, cpu)


def run_cg(inst: Instance, time_limit_s: float) -> Run:
    """Column generation: `planner.districting_cg.solve_colgen` (set-partitioning bound, exact pricing)."""
    from planner.districting_cg import solve_colgen

    t0 = time.perf_counter()
    c0 = time.process_time()
    res = solve_colgen(inst.population, inst.cost, inst.edges, k=inst.k, lower=inst.lower, upper=inst.upper,
                       time_limit_s=time_limit_s)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    s = res.stats
    detail = (f"cg bound {s.get('cg_bound', 0) / 1e6:.2f} in {s.get('cg_s')} s, {s.get('columns')} columns, "
              f"{s.get('cg_iterations')} iterations, {s.get('pricing_solves')} pricing MIPs, incumbent "
              f"{None if s.get('incumbent') is None else round(s['incumbent'] / 1e6, 2)}, "
              f"targets {' '.join(s.get('targets', []))}")
    if res.objective is not None:
        verify_plan(inst, res.groups, res.objective, res.status)
    return Run("cg", res.status, None if res.objective is None else res.objective / 1e6,
               None if res.bound is None else res.bound / 1e6, elapsed, detail, cpu)


def run_fix(inst: Instance, time_limit_s: float) -> Run:
    """Column fixing: `planner.districting_cg.solve_by_column_fixing` (every district a plan under a target can use)."""
    from planner.districting_cg import solve_by_column_fixing

    t0 = time.perf_counter()
    c0 = time.process_time()
    res = solve_by_column_fixing(inst.population, inst.cost, inst.edges, k=inst.k, lower=inst.lower,
                                 upper=inst.upper, time_limit_s=time_limit_s)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    s = res.stats
    ended = "converged" if s.get("converged") else "stopped"
    detail = (f"cg bound {s.get('cg_bound', 0) / 1e6:.2f} in {s.get('cg_s')} s ({ended}), "
              f"targets {' '.join(s.get('targets', []))}")
    if res.objective is not None:
        verify_plan(inst, res.groups, res.objective, res.status)
    return Run("fix", res.status, None if res.objective is None else res.objective / 1e6,
               None if res.bound is None else res.bound / 1e6, elapsed, detail, cpu)


def run_plain(inst: Instance, time_limit_s: float) -> Run:
    """Textbook Hess model + Shirabe flow (big-M n-1), built with pywraplp, solved by HiGHS."""
    from ortools.linear_solver import pywraplp

    t0 = time.perf_counter()
    c0 = time.process_time()
    n = inst.n
    solver = pywraplp.Solver.CreateSolver("HIGHS")
    solver.SuppressOutput()
    x = {(i, j): solver.BoolVar(f"x{i}_{j}") for i in range(n) for j in range(n)}
    arcs = [(u, v) for a, b in inst.edges for (u, v) in ((a, b), (b, a))]
    into: dict[int, list[tuple[int, int]]] = {i: [] for i in range(n)}
    out: dict[int, list[tuple[int, int]]] = {i: [] for i in range(n)}
    for u, v in arcs:
        out[u].append((u, v))
        into[v].append((u, v))
    for i in range(n):
        solver.Add(sum(x[i, j] for j in range(n)) == 1)
    solver.Add(sum(x[j, j] for j in range(n)) == inst.k)
    for j in range(n):
        load = sum(int(inst.population[i]) * x[i, j] for i in range(n))
        solver.Add(load >= inst.lower * x[j, j])
        solver.Add(load <= inst.upper * x[j, j])
        for i in range(n):
            if i != j:
                solver.Add(x[i, j] <= x[j, j])
        f = {a: solver.NumVar(0, solver.infinity(), "") for a in arcs}
        for i in range(n):
            if i == j:
                continue
            inflow = sum(f[a] for a in into[i])
            solver.Add(inflow - sum(f[a] for a in out[i]) == x[i, j])
            solver.Add(inflow <= (n - 1) * x[i, j])
    solver.Minimize(sum(int(inst.cost[i, j]) * x[i, j] for i in range(n) for j in range(n)))
    solver.SetTimeLimit(int(max(1.0, time_limit_s - (time.perf_counter() - t0)) * 1000))
    code = solver.Solve()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    names = {pywraplp.Solver.OPTIMAL: "OPTIMAL", pywraplp.Solver.FEASIBLE: "FEASIBLE",
             pywraplp.Solver.INFEASIBLE: "INFEASIBLE"}
    status = names.get(code, "NO_SOLUTION")
    if status in ("OPTIMAL", "FEASIBLE"):
        labels = np.array([next(j for j in range(n) if x[i, j].solution_value() > 0.5) for i in range(n)])
        check_plan(inst, labels)
        objective = float(sum(inst.cost[i, labels[i]] for i in range(n))) / 1e6
        bound = solver.Objective().BestBound() / 1e6
        return Run("plain", status, objective, bound, elapsed, cpu_s=cpu)
    return Run("plain", status, None, None, elapsed, cpu_s=cpu)


def check_plan(inst: Instance, labels: np.ndarray) -> None:
    """Independent check of a returned plan: k districts, populations in [L, U], each connected."""
    import networkx as nx

    graph = nx.Graph(inst.edges)
    graph.add_nodes_from(range(inst.n))
    districts = np.unique(labels)
    problems = []
    if len(districts) != inst.k:
        problems.append(f"{len(districts)} districts, want {inst.k}")
    for d in districts:
        members = np.flatnonzero(labels == d)
        pop = int(inst.population[members].sum())
        if not inst.lower <= pop <= inst.upper:
            problems.append(f"district {d} population {pop} outside [{inst.lower}, {inst.upper}]")
        if not nx.is_connected(graph.subgraph(members.tolist())):
            problems.append(f"district {d} is not connected")
    if problems:
        raise SystemExit(f"{inst.state}: invalid plan: " + "; ".join(problems))


def _write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _load() -> str:
    """The 1-minute load average (the machine is shared; times depend on it)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "n/a"


def fmt(run: Run) -> str:
    obj = "-" if run.objective is None else f"{run.objective:.2f}"
    gap = "" if run.gap is None or run.status == "OPTIMAL" else f" gap {run.gap:.2%}"
    return f"{run.status:<8} {obj:>10} {run.time_s:7.1f}s ({run.cpu_s:6.1f} cpu){gap}"


def summarize(rows: list[dict], load: str | None = None) -> None:
    """Print the totals, the median speed-up and the ratio to the authors' times over `rows` (both codes).

    `load`: the load average to print (the current one when None).
    """
    by = {(r["state"], r["code"]): r for r in rows}
    states = sorted({r["state"] for r in rows}, key=[r["state"] for r in rows].index)
    codes = [c for c in ("ours", "cg", "fix", "plain") if any(r["code"] == c for r in rows)]
    for code in codes:
        mine = [by[s, code] for s in states]
        print(f"{code}: optimum reached {sum(r['reached_optimum'] for r in mine)}/{len(mine)}, "
              f"proven {sum(r['proven'] for r in mine)}/{len(mine)}, total {sum(r['time_s'] for r in mine):.1f} s "
              f"({sum(r['cpu_s'] for r in mine):.1f} cpu), median {statistics.median(r['time_s'] for r in mine):.1f} s, "
              f"slowest {max(r['time_s'] for r in mine):.1f} s")
    if "cg" in codes and "plain" in codes:
        cg_up = [by[s, "plain"]["time_s"] / by[s, "cg"]["time_s"] for s in states]
        print(f"speed-up plain/cg: median {statistics.median(cg_up):.2f}x wall")
    if "ours" not in codes or "plain" not in codes:
        return
    speedups = [by[s, "plain"]["time_s"] / by[s, "ours"]["time_s"] for s in states]
    cpu_speedups = [by[s, "plain"]["cpu_s"] / max(by[s, "ours"]["cpu_s"], 0.01) for s in states]
    total_ours = sum(by[s, "ours"]["time_s"] for s in states)
    total_plain = sum(by[s, "plain"]["time_s"] for s in states)
    print(f"speed-up plain/ours: median {statistics.median(speedups):.2f}x wall "
          f"({statistics.median(cpu_speedups):.2f}x cpu), total {total_plain / total_ours:.2f}x "
          f"(the plain code's time-limited runs count at the limit); load average {load or _load()}")
    timed = [s for s in states if by[s, "ours"]["published_gurobi_s"] and by[s, "ours"]["proven"]]
    if timed:
        ratios = [by[s, "ours"]["time_s"] / max(by[s, "ours"]["published_gurobi_s"], 0.01) for s in timed]
        print(f"ours / the authors' fastest published Gurobi time, where ours proved the optimum: median "
              f"{statistics.median(ratios):.0f}x "
              f"(theirs: Gurobi, their hardware and threads; ours: HiGHS, 1 thread, this machine)")


def read_rows(paths: list[Path]) -> list[dict]:
    """Rows written by `--csv` (one or more files, e.g. states run in separate processes), typed back."""
    rows = []
    for path in paths:
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                r["reached_optimum"] = r["reached_optimum"] == "True"
                r["proven"] = r["proven"] == "True"
                r["time_s"] = float(r["time_s"])
                r["cpu_s"] = float(r["cpu_s"])
                r["published_gurobi_s"] = float(r["published_gurobi_s"]) if r["published_gurobi_s"] else None
                rows.append(r)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", default=None,
                        help="comma-separated state codes (default: every state in instances.csv)")
    parser.add_argument("--time-limit-s", type=float, default=600.0, help="per code and instance")
    parser.add_argument("--csv", type=Path, help="write the per-instance rows here")
    parser.add_argument("--summarize", type=Path, nargs="+", metavar="CSV",
                        help="solve nothing: print the summary over rows written by --csv (several files: "
                             "states run in separate processes)")
    parser.add_argument("--codes", default="ours,plain",
                        help="codes to run, in order: ours, cg (column generation), fix (column fixing), plain "
                             "(default ours,plain)")
    args = parser.parse_args(argv)
    if args.summarize:
        summarize(read_rows(args.summarize), load="not measured (rows read from CSV)")
        return 0
    from planner import __version__
    from ortools import __version__ as ortools_version

    print(f"planner {__version__}, OR-Tools {ortools_version} (HiGHS for both codes), "
          f"time limit {args.time_limit_s:.0f} s per code and instance, 1 thread; load average {_load()}")
    codes = args.codes.split(",")
    print(f"{'state':<5} {'n':>3} {'k':>2} {'optimum':>10}  " + " ".join(f"{c:<50}" for c in codes)
          + f" speed-up {codes[-1]}/{codes[0]}, {codes[0]} vs Gurobi")
    rows = []
    if args.states is None:
        with open(DATA / "instances.csv", newline="") as fh:
            args.states = ",".join(row["state"] for row in csv.DictReader(fh))
    for state in args.states.split(","):
        inst = load_instance(state)
        published = plan_cost(inst, inst.published) / 1e6
        if abs(published - inst.optimum) > 0.01:
            raise SystemExit(f"{state}: published plan costs {published:.2f} here, paper says {inst.optimum:.2f}")
        check_plan(inst, inst.published)  # the data: the published plan is connected and balanced here too
        runners = {"ours": run_ours, "cg": run_cg, "fix": run_fix, "plain": run_plain}
        runs = [runners[code](inst, args.time_limit_s) for code in args.codes.split(",")]
        first, last = runs[0], runs[-1]
        speedup = last.time_s / first.time_s
        gurobi = "" if inst.published_time_s is None else \
            (f"{first.time_s / max(inst.published_time_s, 0.01):.0f}x" if first.status == "OPTIMAL"
             else "unproven") + f" (their {inst.published_time_s:.2f} s)"
        print(f"{state:<5} {inst.n:>3} {inst.k:>2} {inst.optimum:>10.2f}  "
              + " ".join(f"{run.code}: {fmt(run):<44}" for run in runs)
              + f" {speedup:6.2f}x  {gurobi}", flush=True)
        for run in runs:
            if run.detail:
                print(f"      {run.code}: {run.detail}", flush=True)
        for run in runs:
            rows.append({"state": state, "n": inst.n, "k": inst.k, "optimum": inst.optimum, "code": run.code,
                         "status": run.status,
                         "objective": "" if run.objective is None else round(run.objective, 6),
                         "bound": "" if run.bound is None else round(run.bound, 6),
                         "reached_optimum": run.objective is not None and abs(run.objective - inst.optimum) <= 0.01,
                         "proven": run.status == "OPTIMAL", "time_s": round(run.time_s, 2),
                         "cpu_s": round(run.cpu_s, 2), "published_gurobi_s": inst.published_time_s,
                         "published_gurobi_model": inst.published_time_model, "detail": run.detail})
        if args.csv:  # after every state, so that an interrupted run keeps what it measured
            _write_csv(args.csv, rows)
    summarize(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
