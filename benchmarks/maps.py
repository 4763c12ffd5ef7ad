"""Benchmark the map phase: every page of a region drawn cold, then re-drawn with nothing changed, then after one county changed.

    python benchmarks/maps.py                          # 浙江省, 2 workers
    python benchmarks/maps.py --regions 浙江省,全国 --jobs 2

Each region is planned once (solve, dispatch, dialysis; not timed here, see benchmarks/regions.py),
its plan folder written, and then the maps phase is timed as `planner plan` runs it:

- cold: `render_run` into an empty folder (every page drawn);
- cached re-run: `render_run(..., reuse=<the cold folder>)` for the same plan, as a second
  `planner plan` after a rule change that touched no county (every unit's data reused);
- one county changed: the same, with one county's plan replaced by its mirror image (two
  townships swapped between communities when possible), so exactly one unit is drawn again.

Figures are wall seconds in this process (plus forked workers), with the page counts and sizes, and the CPU
seconds of this process and its workers (`*_cpu_s`) with the load average before and after each phase
(`*_load`): on a shared machine the CPU figure is the one to compare.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path


def _changed_plan(result):
    """The plan with one county's communities altered (a township moved to a neighbouring community)."""
    for uid, unit in sorted(result.plan.units.items()):
        if len(unit.communities) < 2:
            continue
        a, b = unit.communities[0], unit.communities[1]
        of = {t: c.id for c in unit.communities for t in c.townships}
        for t in a.townships[1:]:
            if any(of.get(n) == b.id for n in result.graph.neighbors(t)):
                new_a = dataclasses.replace(a, townships=tuple(x for x in a.townships if x != t))
                new_b = dataclasses.replace(b, townships=tuple(sorted(b.townships + (t,))))
                plan = dataclasses.replace(result.plan, units=dict(result.plan.units))
                plan.units[uid] = dataclasses.replace(unit, communities=(new_a, new_b, *unit.communities[2:]))
                return plan, uid
    return result.plan, None


def _size(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 1e6


def one(region: str, jobs: int, rules: str, services: bool = True) -> dict:
    from planner import regions
    from planner.pipeline import run_plan, write_outputs
    from planner.render import render_run
    from planner.rulefile import load_rules

    t0 = time.perf_counter()
    result = run_plan(regions.load(region), load_rules(rules), jobs=jobs, services=services)
    plan_s = time.perf_counter() - t0
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "region": region, "jobs": jobs, "units": len(result.units), "communities": len(result.plan.communities()),
                 "services": services, "plan_s": round(plan_s, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        t1 = time.perf_counter()
        write_outputs(result, base / "plan")          # also computes the figures the maps share (cached on the run)
        out["write_s"] = round(time.perf_counter() - t1, 1)
        runs = [("cold", result, None), ("cached", result, base / "cold")]
        changed, uid = _changed_plan(result)
        if uid is not None:
            runs.append(("one_changed", dataclasses.replace(result, plan=changed), base / "cached"))
        for name, res, reuse in runs:
            stats: dict[str, int] = {}
            c0, load0 = os.times(), os.getloadavg()[0]
            t = time.perf_counter()
            render_run(res, base / name, tiles="none", jobs=jobs, reuse=reuse, stats=stats)
            out[f"{name}_s"] = round(time.perf_counter() - t, 2)
            c1 = os.times()
            # CPU of this process and of the (joined) workers: the figure to compare on a loaded machine.
            out[f"{name}_cpu_s"] = round(c1.user - c0.user + c1.system - c0.system + c1.children_user - c0.children_user
                                         + c1.children_system - c0.children_system, 2)
            out[f"{name}_load"] = [round(load0, 1), round(os.getloadavg()[0], 1)]
            out[f"{name}_drawn"] = stats["drawn"]
            files, mb = _size(base / name)
            out[f"{name}_files"], out[f"{name}_mb"] = files, round(mb, 1)
        out["overview_mb"] = round((base / "cold" / "index.html").stat().st_size / 1e6, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["worker_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", default="浙江省")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--no-services", action="store_true",
                    help="plan the communities only (no dispatch, dialysis, access or village phases, so no layers of "
                         "theirs on the maps): for a machine that cannot hold the country's service phases in memory")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, python {platform.python_version()}, load {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for region in args.regions.split(","):
        row = one(region, args.jobs, args.rules, services=not args.no_services)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        print(f"{region}: {row['units']} unit pages, map phase cold {row['cold_s']:.1f} s ({row['cold_cpu_s']:.1f} s CPU), "
              f"cached re-run {row['cached_s']:.1f} s ({row['cached_cpu_s']:.1f} s CPU) "
              f"({row['cached_drawn']} drawn), one county changed {row.get('one_changed_s', float('nan')):.1f} s "
              f"({row.get('one_changed_drawn', '-')} drawn); load average now {os.getloadavg()[0]:.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
