"""Benchmark the capacitated core (``planner.districting.solve_capacitated``) on the 20 OR-Library
capacitated p-median instances with known optima (pmedcap1-20: Osman and Christofides 1994,
50 points x 5 medians and 100 points x 10 medians).

For each instance: the optimum from the literature, our objective and bound, whether the
optimum is matched and whether our solver proved optimality, and the wall-clock time
(model building included). Instance files and provenance: benchmarks/data/pmedcap/README.md.
Usage::

    python benchmarks/capacitated_pmedian.py --instances 1-20 --time-limit-s 300 \\
        --csv benchmarks/results/capacitated_pmedian.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DATA = REPO_ROOT / "benchmarks" / "data" / "pmedcap"
FIELDS = ["instance", "n", "p", "optimum", "objective", "bound", "matched", "proven", "time_s", "backend",
          "heuristic", "lp_bound", "pairs_left"]


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=parse_instances, default=parse_instances("1-20"))
    parser.add_argument("--time-limit-s", type=float, default=300.0, help="per instance")
    parser.add_argument("--backend", choices=["highs", "cpsat", "cbc"], default="highs")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    args = parser.parse_args(argv)

    from planner.districting import solve_capacitated
    from planner.milp import Status

    optima = read_optima(DATA / "optima.txt")
    rows = []
    print(f"{'instance':<11}{'n':>4}{'p':>4}{'optimum':>9}{'ours':>9}{'bound':>9}  matched proven {'time_s':>8}")
    for k in args.instances:
        name = f"pmedcap{k}"
        dist, demand, capacity, p = read_instance(DATA / f"{name}.txt")
        t0 = time.perf_counter()
        r = solve_capacitated(dist, demand, capacity, p, backend=args.backend, time_limit_s=args.time_limit_s)
        elapsed = time.perf_counter() - t0
        obj = None if r.objective is None else round(r.objective)
        bound = None if r.bound is None else round(r.bound, 1)
        row = {"instance": name, "n": len(demand), "p": p, "optimum": optima.get(name), "objective": obj,
               "bound": bound, "matched": obj is not None and obj == optima.get(name),
               "proven": r.status is Status.OPTIMAL, "time_s": round(elapsed, 2), "backend": args.backend,
               "heuristic": r.stats.get("incumbent"), "lp_bound": r.stats.get("lp_bound"),
               "pairs_left": r.stats.get("pairs_left")}
        rows.append(row)
        print(f"{name:<11}{row['n']:>4}{p:>4}{row['optimum']!s:>9}{obj!s:>9}{bound!s:>9}  "
              f"{'yes' if row['matched'] else 'NO':>7} {'yes' if row['proven'] else 'no':>6} {elapsed:>8.2f}", flush=True)
    matched = sum(r["matched"] for r in rows)
    proven = sum(r["proven"] for r in rows)
    times = sorted(r["time_s"] for r in rows)
    median = times[len(times) // 2] if len(times) % 2 else sum(times[len(times) // 2 - 1: len(times) // 2 + 1]) / 2
    print(f"optimum matched {matched}/{len(rows)}, proven optimal {proven}/{len(rows)}; time total {sum(times):.1f} s, "
          f"median {median:.2f} s, max {max(times):.2f} s ({args.backend}, limit {args.time_limit_s:g} s per instance)")
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
