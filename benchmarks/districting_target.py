"""One state's reduced solve with a chosen ladder of targets (why Alabama misses 300 s)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from districting import load_instance, verify_plan  # noqa: E402

from planner.districting import solve_reduced  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Solve one state with `solve_reduced(ladder=...)` and print status, objective and times."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--state", default="AL")
    ap.add_argument("--ladder", default="",
                    help="comma-separated fractions above the LP bound; empty: only the heuristic's plan as target")
    ap.add_argument("--time-limit-s", type=float, default=900.0)
    args = ap.parse_args(argv)
    ladder = tuple(float(x) for x in args.ladder.split(",") if x)
    inst = load_instance(args.state)
    t0, c0 = time.perf_counter(), time.process_time()
    res = solve_reduced(inst.population, inst.cost, inst.edges, k=inst.k, balance=(inst.lower, inst.upper),
                        contiguity=True, backend="highs", time_limit_s=args.time_limit_s, ladder=ladder)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    objective = None if res.objective is None else res.objective / 1e6
    print(f"{args.state} ladder {ladder}: {res.status.value} {objective} (published {inst.optimum}), "
          f"{wall:.1f} s wall, {cpu:.1f} s cpu; targets {' '.join(res.stats.get('targets', []))}; "
          f"pairs {res.stats.get('pairs_after_lagrangian')}, rounds {res.stats.get('rounds')}", flush=True)
    if res.objective is not None:
        verify_plan(inst, res.groups, res.objective, res.status.value)
        print("plan re-checked: k districts, bounds, connectivity, cost")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
