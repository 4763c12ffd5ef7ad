"""Benchmark the capacitated core (``planner.districting.solve_capacitated``) on the 20 OR-Library
capacitated p-median instances with known optima (pmedcap1-20: Osman and Christofides 1994,
50 points x 5 medians and 100 points x 10 medians).

For each instance: the optimum from the literature, our objective and bound, whether the
optimum is matched and whether our solver proved optimality, and the wall-clock time
(model building included). Instance files and provenance: benchmarks/data/pmedcap/README.md.
Usage::

    python benchmarks/capacitated_pmedian.py --instances 1-20 --time-limit-s 1800 --jobs 2 \\
        --csv benchmarks/results/capacitated_pmedian.csv

Each row also gives the CPU seconds of the instance's process and the load average, and every
plan is re-checked here (``check_plan``) before it counts as matched.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DATA = REPO_ROOT / "benchmarks" / "data" / "pmedcap"
FIELDS = ["instance", "n", "p", "optimum", "objective", "bound", "matched", "proven", "time_s", "cpu_s", "backend",
          "lagrangian_bound", "heuristic", "lp_bound", "pairs_left", "centers_left", "heuristic_s", "mip_s",
          "checked", "load_avg"]


def parse_instances(text: str) -> list[int]:
    """"1-20", "1,5,11" or "1-5,11" -> sorted instance numbers within 1..20."""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (int(x) for x in part.split("-", 1))
            out.update(range(a, b + 1))
        elif part:
            out.add(int(part))
    if not out or min(out) < 1 or max(out) > 20:
        raise argparse.ArgumentTypeError(f"instances must be within 1..20, got {text!r}")
    return sorted(out)


def read_instance(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(distances n x n, demands, capacities, p) from a matrix-form pmedcap file."""
    tokens = path.read_text(encoding="utf-8").split()
    n, p = int(tokens[0]), int(tokens[1])
    values = np.array([int(t) for t in tokens[2:]], dtype=np.int64)
    if len(values) != n * n + 2 * n:
        msg = f"{path}: expected {n * n + 2 * n} numbers after the header, found {len(values)}"
        raise ValueError(msg)
    return values[: n * n].reshape(n, n), values[n * n: n * n + n], values[n * n + n:], p


def read_optima(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _n, _p, value = line.split()
            out[name] = int(value)
    return out


def check_plan(dist: np.ndarray, demand: np.ndarray, capacity: np.ndarray, p: int,
               groups: dict[int, tuple[int, ...]], objective: float | None) -> bool:
    """Independent check of a plan: every point in exactly one group, p groups, each group's
    demand within its median's capacity, and the objective recomputed from the distances."""
    if objective is None or len(groups) != p:
        return False
    members = sorted(i for g in groups.values() for i in g)
    if members != list(range(len(demand))):
        return False
    for median, group in groups.items():
        if median not in group or int(demand[list(group)].sum()) > int(capacity[median]):
            return False
    total = sum(int(dist[i, median]) for median, group in groups.items() for i in group)
    return total == round(objective)


def run_instance(k: int, backend: str, time_limit_s: float) -> dict[str, object]:
    """Solve pmedcap<k>, check the plan independently, and return its table row."""
    from planner.districting import solve_capacitated
    from planner.milp import Status

    optima = read_optima(DATA / "optima.txt")
    name = f"pmedcap{k}"
    dist, demand, capacity, p = read_instance(DATA / f"{name}.txt")
    t0, c0 = time.perf_counter(), time.process_time()
    r = solve_capacitated(dist, demand, capacity, p, backend=backend, time_limit_s=time_limit_s)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    checked = check_plan(dist, demand, capacity, p, r.groups, r.objective)
    obj = None if r.objective is None else round(r.objective)
    bound = None if r.bound is None else round(r.bound, 1)
    return {"instance": name, "n": len(demand), "p": p, "optimum": optima.get(name), "objective": obj,
            "bound": bound, "matched": checked and obj == optima.get(name),
            "proven": r.status is Status.OPTIMAL, "time_s": round(elapsed, 2), "cpu_s": round(cpu, 2),
            "backend": backend, "lagrangian_bound": r.stats.get("lagrangian_bound"),
            "heuristic": r.stats.get("incumbent"), "lp_bound": r.stats.get("lp_bound"),
            "pairs_left": r.stats.get("pairs_left"), "centers_left": r.stats.get("centers_left"),
            "heuristic_s": r.stats.get("heuristic_s"), "mip_s": r.stats.get("mip_s"), "checked": checked,
            "load_avg": os.getloadavg()[0]}


def _print_row(row: dict[str, object]) -> None:
    print(f"{row['instance']:<11}{row['n']:>4}{row['p']:>4}{row['optimum']!s:>9}{row['objective']!s:>9}"
          f"{row['bound']!s:>9}  {'yes' if row['matched'] else 'NO':>7} {'yes' if row['proven'] else 'no':>6} "
          f"{row['time_s']:>8.2f} {row['cpu_s']:>8.2f} {row['heuristic']!s:>6} {row['lagrangian_bound']!s:>8} "
          f"{row['pairs_left']!s:>6} {row['load_avg']:.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=parse_instances, default=parse_instances("1-20"))
    parser.add_argument("--time-limit-s", type=float, default=300.0, help="per instance")
    parser.add_argument("--backend", choices=["highs", "cpsat", "cbc"], default="highs")
    parser.add_argument("--jobs", type=int, default=1,
                        help="instances solved at once, one process each (each solve is single-threaded)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    args = parser.parse_args(argv)

    print(f"{'instance':<11}{'n':>4}{'p':>4}{'optimum':>9}{'ours':>9}{'bound':>9}  matched proven {'time_s':>8} "
          f"{'cpu_s':>8} {'heur':>6} {'lagr':>8} {'pairs':>6} load")
    t_run = time.perf_counter()
    load_start = os.getloadavg()[0]
    rows = []
    if args.jobs <= 1:
        for k in args.instances:
            rows.append(run_instance(k, args.backend, args.time_limit_s))
            _print_row(rows[-1])
    else:
        import multiprocessing as mp
        from functools import partial

        # Largest instances first, so the two processes finish together; rows print as they end.
        order = sorted(args.instances, key=lambda k: (-(k > 10), -k))
        with mp.get_context("spawn").Pool(args.jobs) as pool:
            for row in pool.imap_unordered(partial(run_instance, backend=args.backend,
                                                   time_limit_s=args.time_limit_s), order):
                rows.append(row)
                _print_row(row)
        rows.sort(key=lambda r: int(str(r["instance"])[len("pmedcap"):]))
    wall = time.perf_counter() - t_run
    matched = sum(bool(r["matched"]) for r in rows)
    proven = sum(bool(r["proven"]) for r in rows)
    times = sorted(float(r["time_s"]) for r in rows)
    cpu_total = sum(float(r["cpu_s"]) for r in rows)
    median = times[len(times) // 2] if len(times) % 2 else sum(times[len(times) // 2 - 1: len(times) // 2 + 1]) / 2
    print(f"optimum matched {matched}/{len(rows)}, proven optimal {proven}/{len(rows)}; time total {sum(times):.1f} s "
          f"(sum over instances), median {median:.2f} s, max {max(times):.2f} s; CPU total {cpu_total:.1f} s; "
          f"run wall {wall:.1f} s with {args.jobs} job(s) ({args.backend}, limit {args.time_limit_s:g} s per instance; "
          f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)")
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
