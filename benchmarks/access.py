"""Benchmark the access phase of `planner plan` (planner.access) on a region; print its parts and its share.

    python benchmarks/access.py                       # 浙江省 under zhejiang-2026, 3 repeats
    python benchmarks/access.py --region 玉溪市 --rules yuxi-2025

Plans the region once (communities, dispatch, dialysis), then times the access phase on that
plan --repeat times: the travel matrix, emergency coverage and the covering model, shared
centers and courier trips, 2SFCA and equity, the Huff model with its sensitivity runs, and the
independent check of the tables. Figures are medians; the plan's own phases are from its one run.
Wall and CPU seconds are both printed: on a shared machine the CPU seconds vary less.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from planner import regions
    from planner.access.check import check_access
    from planner.access.run import plan_scopes, run_access
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    rules = load_rules(args.rules)
    region = regions.load(args.region)
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_plan(region, rules, SolveOptions())
    plan_s, plan_cpu = time.perf_counter() - t0, time.process_time() - c0
    roster = [r for d in result.dispatch for r in d.rows]
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        t1, c1 = time.perf_counter(), time.process_time()
        acc = run_access(region, result.plan, list(rules.rules), result.travel, roster=roster, units=result.units)
        t2 = time.perf_counter()
        check_access(region, result.plan, acc.tables, list(rules.rules), result.travel, plan_scopes(result.plan, region))
        t3, c3 = time.perf_counter(), time.process_time()
        runs.setdefault("phase_cpu_s", []).append(c3 - c1)
        for k, v in acc.timings_s.items():
            runs.setdefault(k, []).append(v)
        runs.setdefault("check_s", []).append(t3 - t2)
        runs.setdefault("phase_total_s", []).append(t3 - t1)
    med = {k: statistics.median(v) for k, v in runs.items()}
    other = plan_s - result.timings_s.get("access_s", 0.0)
    print(f"{args.region} under {args.rules}: {len(region.townships):,} townships, {len(result.plan.communities())} "
          f"communities; plan without the access phase {other:.1f} s (one run)")
    for k in ("matrix_s", "emergency_s", "shared_s", "fca_s", "visits_s", "check_s", "phase_total_s", "phase_cpu_s"):
        if k in med:
            print(f"  {k:14s} {med[k]:6.2f} s (median of {args.repeat})")
    print(f"  access phase / rest of the plan (wall): {med['phase_total_s'] / other:.2f}")
    print(f"  plan CPU {plan_cpu:.1f} s in the main process, of which the access phase about "
          f"{med['phase_cpu_s']:.1f} s (CPU time is less sensitive to other load on the machine)")


if __name__ == "__main__":
    main()
