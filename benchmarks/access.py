"""Benchmark the access phase of `planner plan` (planner.access) on a region; print its parts, its share and its memory.

    python benchmarks/access.py                       # 浙江省 under zhejiang-2026, 3 repeats
    python benchmarks/access.py --region 玉溪市 --rules yuxi-2025
    flock /work/team/country.lock nice -n 5 python benchmarks/access.py --region 全国 --repeat 1 --jobs 2 \\
        --save-inputs /tmp/country_access.pkl        # the country: plan once, keep the plan for re-runs
    python benchmarks/access.py --region 全国 --inputs /tmp/country_access.pkl   # the access phase only
    ... --no-services       # plan the communities only, then time the access phase without a dispatch roster

Plans the region once (communities, dispatch, dialysis; the plan's own access phase included), then
times the access phase on that plan --repeat times: the travel matrix, emergency coverage and the
covering model, shared centers and courier trips, 2SFCA and equity, the Huff model with its
sensitivity runs, and the independent check of the tables. Figures are medians; the plan's own
phases are from its one run. Wall and CPU seconds are both printed: on a shared machine the CPU
seconds vary less. Memory: the process's peak resident set (ru_maxrss) after planning and at the
end, and the peak of the access phase itself (Linux: VmHWM reset before the phase), against the
resident set when it starts. With --inputs the plan is read from a --save-inputs pickle (same code,
same region) instead of planned.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import statistics
import time
from pathlib import Path


def _status_mb(field: str) -> float | None:
    """VmRSS / VmHWM of this process in MB (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's peak resident set (Linux clear_refs 5); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes of the plan and of the access phase's courier routing")
    ap.add_argument("--save-inputs", help="pickle the plan, roster, units and travel model here after planning")
    ap.add_argument("--inputs", help="read the plan from this --save-inputs pickle instead of planning")
    ap.add_argument("--no-services", action="store_true",
                    help="plan the communities only (no dispatch, dialysis, access or village phase): the access phase "
                         "then runs on the plan without a dispatch roster (2SFCA after dispatch = before); quicker")
    args = ap.parse_args()
    from planner import regions
    from planner.access.check import check_access
    from planner.access.run import plan_scopes, run_access
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    print(f"load average at start: {Path('/proc/loadavg').read_text().strip() if Path('/proc/loadavg').exists() else '?'}")
    rules = load_rules(args.rules)
    t_load = time.perf_counter()
    region = regions.load(args.region)
    load_s = time.perf_counter() - t_load
    t0, c0 = time.perf_counter(), time.process_time()
    if args.inputs:
        with open(args.inputs, "rb") as f:
            name, rules_name, plan, roster, units, travel = pickle.load(f)
        if (name, rules_name) != (args.region, args.rules):
            raise SystemExit(f"{args.inputs} holds {name} under {rules_name}, not {args.region} under {args.rules}")
        plan_timings: dict[str, float] = {}
    else:
        result = run_plan(region, rules, SolveOptions(), jobs=args.jobs, services=not args.no_services)
        plan, units, travel = result.plan, result.units, result.travel
        roster = [r for d in result.dispatch for r in d.rows]
        plan_timings = dict(result.timings_s)
        if args.save_inputs:
            with open(args.save_inputs, "wb") as f:
                pickle.dump((args.region, args.rules, plan, roster, units, travel), f)
    plan_s, plan_cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_plan_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs: dict[str, list[float]] = {}
    rss_before = _status_mb("VmRSS")
    reset = _reset_peak()
    for _ in range(args.repeat):
        t1, c1 = time.perf_counter(), time.process_time()
        acc = run_access(region, plan, list(rules.rules), travel, roster=roster, units=units, jobs=args.jobs)
        t2 = time.perf_counter()
        check_access(region, plan, acc.tables, list(rules.rules), travel, plan_scopes(plan, region))
        t3, c3 = time.perf_counter(), time.process_time()
        runs.setdefault("phase_cpu_s", []).append(c3 - c1)
        for k, v in acc.timings_s.items():
            runs.setdefault(k, []).append(v)
        runs.setdefault("check_s", []).append(t3 - t2)
        runs.setdefault("phase_total_s", []).append(t3 - t1)
    phase_peak = _status_mb("VmHWM") if reset else None
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"{args.region} under {args.rules}: {len(region.townships):,} townships, {len(plan.communities())} "
          f"communities; region loaded in {load_s:.1f} s")
    if plan_timings:
        other = plan_s - plan_timings.get("access_s", 0.0)
        print(f"  plan {plan_s:.1f} s wall, {plan_cpu:.1f} s CPU in the main process (jobs={args.jobs}); phases: "
              + ", ".join(f"{k} {v:.1f}" for k, v in plan_timings.items()))
        if "access_s" in plan_timings:
            print(f"  the plan's own access phase (tables + check): {plan_timings['access_s']:.2f} s")
    for k in ("matrix_s", "emergency_s", "shared_s", "fca_s", "visits_s", "check_s", "phase_total_s", "phase_cpu_s"):
        if k in med:
            print(f"  {k:14s} {med[k]:6.2f} s (median of {args.repeat})")
    if plan_timings:
        print(f"  access phase / rest of the plan (wall): {med['phase_total_s'] / other:.2f}")
        print(f"  plan CPU {plan_cpu:.1f} s in the main process, of which the access phase about "
              f"{med['phase_cpu_s']:.1f} s (CPU time is less sensitive to other load on the machine)")
    print(f"  memory: peak RSS {peak_plan_mb:,.0f} MB up to the end of planning (ru_maxrss); access phase starts at "
          f"{rss_before or float('nan'):,.0f} MB resident, peaks at "
          + (f"{phase_peak:,.0f} MB (+{phase_peak - rss_before:,.0f} MB)" if phase_peak and rss_before else "? (no VmHWM)"))
    print(f"load average at end: {Path('/proc/loadavg').read_text().strip() if Path('/proc/loadavg').exists() else '?'}")


if __name__ == "__main__":
    main()
