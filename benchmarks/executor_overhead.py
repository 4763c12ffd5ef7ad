"""Time one region's solve phase with N workers, and the CPU the main process spends feeding them.

    python benchmarks/executor_overhead.py --region 全国 --jobs 2

Loads the region and builds its subproblems once, then solves them twice with a process pool
(first with a cold pool, then with the pool started): wall time and the main process's own CPU
seconds. On a 2-core machine every CPU second the main process spends is taken from a worker.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def main(argv: list[str] | None = None) -> int:
    """Run the measurement; return the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default="全国")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    from planner import regions
    from planner.planning import SolveOptions, region_units, solve_units
    from planner.rulefile import load_rules

    rules = load_rules(args.rules)
    units = region_units(regions.load(args.region), rules)
    print(f"{args.region}: {len(units):,} units, {args.jobs} workers")
    for label in ("cold pool", "warm pool"):
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        solve_units(units, rules, SolveOptions(), jobs=args.jobs)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        print(f"  {label}: solve phase {wall:.1f} s wall, main process CPU {cpu:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
