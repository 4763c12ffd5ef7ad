"""The village phase (modes, circuit routes, remote timetable) and its checker on a region, with one and two workers.

Usage::

    python benchmarks/villages.py --region 庆元县 --region 浙江省 --jobs 1 2 --json benchmarks/results/villages.json \
        > benchmarks/results/villages.txt

The communities are solved first (not timed; `--plan-jobs` workers, proven unit plans reused from
`--cache` when given); then `run_villages` and `check_villages` are timed (wall clock and CPU
seconds of this process and its worker processes, median of `--repeat` runs) for each worker
count. `--tables DIR` writes each region's village tables there (CSV) and prints their SHA-256,
so two revisions of the code can be compared table by table. `--profile FILE` writes a cProfile
of one more run of the phase and the check (one worker) to FILE (text: the top functions by
cumulative and by own time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path


def cpu_s() -> float:
    """CPU seconds of this process and of its live worker processes (read from /proc; the pool's workers live on)."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def profile(region, plan, rules, travel, out: Path) -> None:
    """cProfile of one run of the phase and the check in this process, top functions to `out`."""
    import cProfile
    import io
    import pstats

    from planner.villages.check import check_villages
    from planner.villages.run import run_villages

    text = io.StringIO()
    phase = cProfile.Profile()
    tables = phase.runcall(run_villages, region, plan, rules, travel, jobs=1).tables
    check = cProfile.Profile()
    check.runcall(check_villages, region, plan, tables, rules, travel)
    for label, prof in (("run_villages", phase), ("check_villages", check)):
        text.write(f"### {label} ({region.name}, one worker; cProfile inflates Python-heavy code: shares, not times)\n")
        for key in ("cumulative", "tottime"):
            pstats.Stats(prof, stream=text).sort_stats(key).print_stats(40)
    out.write_text(text.getvalue())


def main(argv: list[str] | None = None) -> int:
    from planner import regions
    from planner.cache import UnitCache
    from planner.pipeline import run_plan
    from planner.rulefile import load_rules
    from planner.villages.check import check_villages
    from planner.villages.run import run_villages

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--region", action="append", default=[])
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--jobs", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--plan-jobs", type=int, default=1, help="workers for the communities (not timed)")
    ap.add_argument("--cache", type=Path, help="unit cache folder for the communities (not timed)")
    ap.add_argument("--tables", type=Path, help="write the village tables of each region here (CSV) with their SHA-256")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the phase and the check (one worker) here")
    args = ap.parse_args(argv)
    rows = []
    for spec in args.region or ["庆元县"]:
        region = regions.load(spec)
        rules = load_rules(args.rules)
        t_plan = time.perf_counter()
        res = run_plan(region, rules, services=False, jobs=args.plan_jobs,
                       cache=UnitCache(args.cache) if args.cache else None)
        print(json.dumps({"region": region.name, "communities_s": round(time.perf_counter() - t_plan, 1),
                          "loadavg": Path("/proc/loadavg").read_text().split()[:3]}, ensure_ascii=False), flush=True)
        for jobs in args.jobs:
            phase, check, phase_cpu, check_cpu = [], [], [], []
            load_before = Path("/proc/loadavg").read_text().split()[:3]
            for _ in range(args.repeat):
                c0, t0 = cpu_s(), time.perf_counter()
                v = run_villages(region, res.plan, list(rules.rules), res.travel, jobs=jobs)
                c1, t1 = cpu_s(), time.perf_counter()
                statuses = check_villages(region, res.plan, v.tables, list(rules.rules), res.travel)
                phase.append(t1 - t0)
                check.append(time.perf_counter() - t1)
                phase_cpu.append(c1 - c0)
                check_cpu.append(cpu_s() - c1)
            modes = v.tables["village_modes"]["mode"].value_counts().to_dict()
            plan = v.tables["circuit_plan"]
            travel, lb = float(plan["travel_min"].sum()), float(plan["lower_bound_min"].sum())
            row = {"region": region.name, "rules": rules.name, "jobs": jobs, "counties": len(region.counties),
                   "villages": len(region.villages), "phase_s": round(statistics.median(phase), 2),
                   "check_s": round(statistics.median(check), 2), "phase_cpu_s": round(statistics.median(phase_cpu), 2),
                   "check_cpu_s": round(statistics.median(check_cpu), 2), "modes": modes, "routes": int(plan["routes"].sum()),
                   "visits_required": int(plan["visits_required"].sum()), "visits_planned": int(plan["visits_planned"].sum()),
                   "travel_min": round(travel, 1), "lower_bound_min": round(lb, 1),
                   "gap": round((travel - lb) / travel, 4) if travel else 0.0,
                   "exact_days": int(plan["exact_days"].sum()), "days": int(plan["days"].sum()),
                   "sessions": len(v.tables["timetable"]), "sessions_missing": int(plan["sessions_missing"].sum()),
                   "timetable_status": plan["timetable_status"].value_counts().to_dict(),
                   "violations": {s.rule.id: len(s.violations) for s in statuses},
                   "loadavg_before": load_before, "loadavg": Path("/proc/loadavg").read_text().split()[:3]}
            if args.tables:
                folder = args.tables / f"{region.name}-{jobs}"
                folder.mkdir(parents=True, exist_ok=True)
                row["sha256"] = {}
                for name, frame in sorted(v.tables.items()):
                    path = folder / f"{name}.csv"
                    frame.to_csv(path, index=False)
                    row["sha256"][name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        if args.profile:
            profile(region, res.plan, list(rules.rules), res.travel, args.profile)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
