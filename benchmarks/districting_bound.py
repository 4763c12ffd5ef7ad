"""How far below the published optimum the relaxations lie: the assignment LP, then with separator cuts.

A diagnostic for the districting benchmark (``benchmarks/districting.py``, same instances and
costs). For each state: the LP relaxation of the Hess assignment model after the safe balance
exclusions (``planner.districting.hess_lp``, the bound the target ladder starts from), then the
same LP with Validi, Buchanan and Lykhovyd's a-b separator inequalities
``x[i, j] <= sum_{s in S} x[s, j]`` added for fractional points until none is violated (the LP
bound of their CUT formulation): each round, for every open center j and area i with
x[i, j] > 0, a minimum vertex cut between j and i with capacities x[s, j] (networkx max-flow on
the vertex-split graph) is added when it is below x[i, j]. Next to them the published optima with
and without contiguity, so one sees which part of the gap is balance (the integer optimum without
contiguity) and which is contiguity. ``--colgen``: the set-partitioning LP bound by column
generation; ``--certify``: that bound checked by independent flow-model pricing of every area at the
final duals (``planner.districting_cg.certify``); ``--branch-and-price``: Ryan-Foster
branch-and-price on it, its log node by node. Usage::

    python benchmarks/districting_bound.py --states AL,NM
    python benchmarks/districting_bound.py --states AL --certify --time-limit-s 600
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from districting import load_instance  # noqa: E402  (the benchmark's loader: same data, same costs)


def separator_lp(state: str, max_rounds: int = 40) -> tuple[float, float, int, float]:
    """(assignment LP bound, bound with separator cuts, cuts added, seconds), in the paper's units."""
    import networkx as nx
    from ortools.linear_solver import pywraplp

    from planner.districting import contiguity_exclusions

    t0 = time.perf_counter()
    inst = load_instance(state)
    n, k, lower, upper, pop = inst.n, inst.k, inst.lower, inst.upper, inst.population
    ex = contiguity_exclusions(pop, inst.edges, list(range(n)), lower, upper)
    scale = float(inst.cost.max())
    solver = pywraplp.Solver.CreateSolver("GLOP")
    solver.SetSolverSpecificParametersAsString("use_dual_simplex: true")
    centers = [j for j in range(n) if not ex.closed[j]]
    x = {(i, j): solver.NumVar(0, 1, "") for j in centers for i in range(n) if ex.allowed[i, j] or i == j}
    for i in range(n):
        solver.Add(sum(x[i, j] for j in centers if (i, j) in x) == 1)
    solver.Add(sum(x[j, j] for j in centers) == k)
    for j in centers:
        load = sum(int(pop[i]) / upper * x[i, j] for i in range(n) if (i, j) in x)
        solver.Add(load <= x[j, j])
        solver.Add(load >= lower / upper * x[j, j])
        for i in range(n):
            if (i, j) in x and i != j:
                solver.Add(x[i, j] <= x[j, j])
    solver.Minimize(sum(float(inst.cost[i, j] / scale) * v for (i, j), v in x.items()))
    graph = nx.Graph(inst.edges)
    graph.add_nodes_from(range(n))

    def value() -> float:
        if solver.Solve() != pywraplp.Solver.OPTIMAL:
            raise SystemExit(f"{state}: the LP did not solve to optimality")
        return solver.Objective().Value() * scale / 1e6

    lp = current = value()
    cuts = 0
    for _ in range(max_rounds):
        val = {key: v.solution_value() for key, v in x.items()}
        added = 0
        for j in centers:
            if val[j, j] < 1e-6:
                continue
            for i in range(n):
                if i == j or val.get((i, j), 0.0) < 1e-4 or graph.has_edge(i, j):
                    continue
                # Vertex-split digraph: area s becomes (s, 0) -> (s, 1) with capacity x[s, j].
                digraph = nx.DiGraph()
                for s in range(n):
                    if s not in (i, j):
                        digraph.add_edge((s, 0), (s, 1), capacity=val.get((s, j), 0.0))
                for a, b in inst.edges:
                    for u, v in ((a, b), (b, a)):
                        if u != i and v != j:
                            digraph.add_edge("j" if u == j else (u, 1), "i" if v == i else (v, 0))
                cut, (near, _far) = nx.minimum_cut(digraph, "j", "i")
                if cut < val[i, j] - 1e-4:
                    sep = [s for s in range(n) if s not in (i, j) and (s, 0) in near and (s, 1) not in near]
                    solver.Add(sum(x[s, j] for s in sep if (s, j) in x) >= x[i, j])
                    added += 1
        cuts += added
        if not added:
            break
        current = value()  # re-solved with the new cuts; the next round separates its point
    return lp, current, cuts, time.perf_counter() - t0


def colgen_bound(state: str, time_limit_s: float) -> tuple[float, bool, int, float, float]:
    """(set-partitioning bound, converged, columns, wall s, CPU s), the bound in the paper's units."""
    from planner.districting_cg import ColumnGeneration

    inst = load_instance(state)
    t0, c0 = time.perf_counter(), time.process_time()
    cg = ColumnGeneration(inst.population, inst.cost, inst.edges, inst.k, inst.lower, inst.upper)
    bound = cg.run(time_limit_s) * cg.scale / 1e6
    return bound, cg.converged, len(cg.columns), time.perf_counter() - t0, time.process_time() - c0


def certify_colgen(state: str, time_limit_s: float) -> str:
    """Column generation, then `planner.districting_cg.certify`: the bound checked without the pricer's shortcuts."""
    from planner.districting_cg import ColumnGeneration, certify

    inst = load_instance(state)
    t0, c0 = time.perf_counter(), time.process_time()
    cg = ColumnGeneration(inst.population, inst.cost, inst.edges, inst.k, inst.lower, inst.upper)
    bound = cg.run(time_limit_s) * cg.scale / 1e6
    cg_wall, cg_cpu = time.perf_counter() - t0, time.process_time() - c0
    cert = certify(cg)
    s = cg.scale / 1e6
    return (f"{state:<5} column generation {bound:.4f} ({'converged' if cg.converged else 'stopped'}, "
            f"{len(cg.columns)} columns, {cg_wall:.1f} s wall, {cg_cpu:.1f} s CPU); check "
            f"({time.perf_counter() - t0 - cg_wall:.1f} s wall, {time.process_time() - c0 - cg_cpu:.1f} s CPU): "
            f"plain master LP {cert.master_lp * s:.4f}, its final duals' value {cert.dual_value * s:.4f}, "
            f"least reduced cost of a master column {cert.dual_infeasibility * s:.2e}, flow pricing of all "
            f"{inst.n} areas as centers: least reduced cost {cert.min_reduced_cost * s:.2e}, Lagrangian bound "
            f"{cert.lagrangian * s:.4f}; optimum {inst.optimum:.2f} ({1 - cert.lagrangian * s / inst.optimum:.2%} "
            "below it)")


def bp(state: str, time_limit_s: float, node_limit_s: float) -> str:
    """`planner.districting_cg.branch_and_price` on one state: status, bound, nodes, wall and CPU seconds."""
    from planner.districting_cg import branch_and_price

    inst = load_instance(state)
    t0, c0 = time.perf_counter(), time.process_time()
    res = branch_and_price(inst.population, inst.cost, inst.edges, k=inst.k, lower=inst.lower, upper=inst.upper,
                           time_limit_s=time_limit_s, node_limit_s=node_limit_s,
                           progress=lambda line: print(f"  {line}", flush=True))
    obj = "-" if res.objective is None else f"{res.objective / 1e6:.2f}"
    return "\n".join([f"{state:<5} branch-and-price {res.status} {obj}, bound {res.bound / 1e6:.2f} "
                       f"({1 - res.bound / 1e6 / inst.optimum:.2%} below the optimum {inst.optimum:.2f}), "
                       f"{res.nodes} nodes, {time.perf_counter() - t0:.1f} s wall, "
                       f"{time.process_time() - c0:.1f} s CPU"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", default="AL", help="comma-separated state codes")
    parser.add_argument("--colgen", action="store_true", help="also the set-partitioning (column generation) bound")
    parser.add_argument("--no-separator-lp", action="store_true", help="skip the LP bounds (with --colgen)")
    parser.add_argument("--time-limit-s", type=float, default=600.0, help="column generation's limit per state")
    parser.add_argument("--certify", action="store_true",
                        help="check the column generation's bound by independent flow pricing at its final duals")
    parser.add_argument("--branch-and-price", action="store_true", help="run branch-and-price (Ryan-Foster)")
    parser.add_argument("--node-limit-s", type=float, default=120.0, help="branch-and-price: per node")
    args = parser.parse_args(argv)
    if args.certify or args.branch_and_price:
        print(f"load average {Path('/proc/loadavg').read_text().split()[0]}", flush=True)
        for state in args.states.split(","):
            if args.certify:
                print(certify_colgen(state, args.time_limit_s), flush=True)
            if args.branch_and_price:
                print(bp(state, args.time_limit_s, args.node_limit_s), flush=True)
        return 0
    if args.colgen:
        print(f"load average {Path('/proc/loadavg').read_text().split()[0]}")
    for state in args.states.split(","):
        inst = load_instance(state)
        if args.colgen:
            bound, converged, columns, wall, cpu = colgen_bound(state, args.time_limit_s)
            print(f"{state:<5} set-partitioning bound {bound:10.2f} ({'converged' if converged else 'stopped'}, "
                  f"{columns} columns, {wall:.1f} s wall, {cpu:.1f} s CPU), optimum {inst.optimum:.2f}: "
                  f"{1 - bound / inst.optimum:.2%} below it; without contiguity {inst.optimum_without_contiguity:.2f}",
                  flush=True)
        if args.no_separator_lp:
            continue
        print(f"{'state':<5} {'LP':>10} {'+cuts':>10} {'cuts':>5} {'no contig.':>10} {'optimum':>10}  "
              "gaps above the LP+cuts bound")
        lp, cut_lp, cuts, seconds = separator_lp(state)
        free, opt = inst.optimum_without_contiguity, inst.optimum
        print(f"{state:<5} {lp:>10.2f} {cut_lp:>10.2f} {cuts:>5} {free:>10.2f} {opt:>10.2f}  "
              f"without contiguity +{free / cut_lp - 1:.1%}, optimum +{opt / cut_lp - 1:.1%} ({seconds:.1f} s)",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
