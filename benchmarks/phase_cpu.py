"""CPU seconds per phase of one region's plan (no maps), this code against another checkout, runs interleaved.

    python benchmarks/phase_cpu.py --region 浙江省 --repeat 3 --baseline /tmp/main > benchmarks/results/phase_cpu.txt

CPU time (the process's own, one worker) is what a quiet machine's wall time approaches; on
a shared machine it varies far less than wall time. Each run is a fresh process; this code
and the baseline alternate, and the medians of --repeat runs are printed with their ratio.
The phases: import, load, contiguity, units, solve, check (communities and services),
dispatch, dialysis, access (and its check), villages (the village phase), villages_check (its
independent check), write (plan folder with reports).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from _child import run_child

PHASES = ("import", "load", "contiguity", "units", "solve", "check", "dispatch", "dialysis", "access", "villages",
          "villages_check", "write", "total")


def one(region: str, rules_name: str) -> dict[str, float]:
    """Run the plan once in this process and return CPU seconds per phase."""
    t0 = time.process_time()
    import tempfile

    import planner.access.check as access_check
    import planner.access.run as access_run
    import planner.check as check
    import planner.dialysis as dialysis
    import planner.dispatch as dispatch
    import planner.pipeline as pipeline
    import planner.villages.check as villages_check
    import planner.villages.run as villages_run
    from planner import regions
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    cpu = {"import": time.process_time() - t0}

    def timed(name, fn):
        def wrapper(*a, **k):
            c = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - c
        return wrapper

    pipeline.contiguity_graph = timed("contiguity", pipeline.contiguity_graph)
    pipeline.build_units = timed("units", pipeline.build_units)
    pipeline.solve_units = timed("solve", pipeline.solve_units)
    pipeline.check_plan = timed("check", pipeline.check_plan)
    check.check_dispatch = timed("check", check.check_dispatch)
    check.check_dialysis = timed("check", check.check_dialysis)
    dispatch.dispatch_region = timed("dispatch", dispatch.dispatch_region)
    dialysis.site_region = timed("dialysis", dialysis.site_region)
    access_run.run_access = timed("access", access_run.run_access)
    access_check.check_access = timed("access", access_check.check_access)
    villages_run.run_villages = timed("villages", villages_run.run_villages)
    villages_check.check_villages = timed("villages_check", villages_check.check_villages)
    rules = load_rules(rules_name)
    c = time.process_time()
    reg = regions.load(region)
    cpu["load"] = time.process_time() - c
    result = pipeline.run_plan(reg, rules, SolveOptions())
    with tempfile.TemporaryDirectory() as tmp:
        c = time.process_time()
        pipeline.write_outputs(result, Path(tmp) / "plan")
        cpu["write"] = time.process_time() - c
    cpu["total"] = time.process_time() - t0
    return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", help="another checkout (e.g. `git archive main`), run interleaved with this code")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.region, args.rules)))
        return
    codes = [("this", None)] + ([("baseline", args.baseline)] if args.baseline else [])
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in codes}
    loads = []
    for _ in range(args.repeat):
        for label, path in codes:
            runs[label].append(run_child(__file__, ["--one", "--region", args.region, "--rules", args.rules], path))
            loads.append(os.getloadavg()[0])
    print(f"{args.region}, {args.rules}, one worker, no maps: CPU seconds per phase, median of {args.repeat} "
          f"interleaved runs (load average {min(loads):.1f}-{max(loads):.1f})")
    print(f"{'phase':>10} " + " ".join(f"{label:>9}" for label, _ in codes) + ("    ratio" if args.baseline else ""))
    med = {label: {p: statistics.median(r.get(p, 0.0) for r in rs) for p in PHASES} for label, rs in runs.items()}
    for p in PHASES:
        line = f"{p:>10} " + " ".join(f"{med[label][p]:9.2f}" for label, _ in codes)
        if args.baseline and med["this"][p] > 0:
            line += f"    x{med['baseline'][p] / med['this'][p]:.2f}"
        print(line)


if __name__ == "__main__":
    main()
