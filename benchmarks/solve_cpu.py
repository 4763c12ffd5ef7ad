"""CPU seconds of the community solve phase (solve_units, one worker) per region, this code against another checkout, interleaved.

    python benchmarks/solve_cpu.py --regions 浙江省,河南省,四川省 --repeat 3 --baseline /tmp/main

Each run is a fresh process that loads the region, builds its units, then times `solve_units`
alone (process CPU, so a loaded machine changes it far less than wall time). It also prints the
units' statuses and a digest of every unit's status, objective and communities, so a speed-up
that changed a plan shows. Faster than phase_cpu.py, which runs every phase.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics

from _child import run_child


def one(region_name: str, rules_name: str) -> dict[str, object]:
    """Solve one region's units in this process; CPU seconds, statuses and the plan digest."""
    import time
    from collections import Counter

    from planner import regions
    from planner.planning import SolveOptions, region_units, solve_units
    from planner.rulefile import load_rules

    rules = load_rules(rules_name)
    units = region_units(regions.load(region_name), rules)
    c = time.process_time()
    plan = solve_units(units, rules, SolveOptions())
    cpu = time.process_time() - c
    rows = [(u.unit, u.status.value, u.objective, [(c.lead, c.townships) for c in u.communities], u.explanation)
            for u in plan.units.values()]
    digest = hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode()).hexdigest()[:16]
    return {"cpu": cpu, "units": len(units), "status": dict(Counter(u.status.value for u in plan.units.values())),
            "digest": digest}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", help="another checkout (e.g. `git archive main`), run interleaved with this code")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.rules), ensure_ascii=False))
        return
    codes = [("this", None)] + ([("baseline", args.baseline)] if args.baseline else [])
    for region in args.regions.split(","):
        runs: dict[str, list[dict]] = {label: [] for label, _ in codes}
        loads = []
        for _ in range(args.repeat):
            for label, path in codes:
                runs[label].append(run_child(__file__, ["--one", region, "--rules", args.rules], path))
                loads.append(os.getloadavg()[0])
        cpu = {label: statistics.median(r["cpu"] for r in rs) for label, rs in runs.items()}
        line = f"{region}: {runs['this'][0]['units']} units, solve CPU s (median of {args.repeat}, load {min(loads):.1f}-{max(loads):.1f})"
        for label, _ in codes:
            rs = runs[label]
            line += f"; {label} {cpu[label]:.2f} {rs[0]['status']} plan {','.join(sorted({r['digest'] for r in rs}))}"
        if args.baseline:
            line += f"; ratio x{cpu['baseline'] / cpu['this']:.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
