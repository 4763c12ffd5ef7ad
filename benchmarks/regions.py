"""Benchmark the planner end to end on growing regions with 1 and 2 workers; print a table of figures.

    python benchmarks/regions.py                                  # 义乌市, 金华市, 浙江省, 全国 x jobs 1, 2
    python benchmarks/regions.py --regions 浙江省 --jobs 2 --repeat 3
    python benchmarks/regions.py --regions 浙江省 --jobs 1 --repeat 3 --baseline /tmp/main   # A/B, interleaved

Each configuration runs in a fresh process (so peak memory is its own): load, build (contiguity
graph and subproblems), solve communities, check, dispatch, dialysis, write the plan folder,
render the maps (the reports are written with the plan folder, as `planner plan` does). Figures are medians over --repeat runs; wall time and peak
resident memory (the main process plus its workers) are measured, not estimated.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = ("load_s", "build_s", "solve_s", "check_s", "dispatch_s", "dialysis_s", "access_s", "villages_s",
          "villages_check_s", "write_s", "maps_s", "plan_s", "total_s", "cpu_s")
"""Figures of a run, in seconds. villages_s is the whole village phase, its independent check
(villages_check_s) included; access_s includes the access check."""


def one(region: str, jobs: int, rules: str, maps: bool) -> dict:
    """Run one configuration in this process and return its figures."""
    t0 = time.perf_counter()
    from planner import regions
    from planner.pipeline import run_plan, write_outputs
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    # As `planner plan --jobs`: the first read of several files fills the store in two processes
    # (a baseline whose load takes no jobs reads them in turn).
    reg = regions.load(region, **({"jobs": jobs} if "jobs" in inspect.signature(regions.load).parameters else {}))
    load_s = time.perf_counter() - t1
    result = run_plan(reg, load_rules(rules), SolveOptions(), jobs=jobs)
    with tempfile.TemporaryDirectory() as tmp:
        t2 = time.perf_counter()
        # With jobs > 1 the village tables are written by a forked worker (as `planner plan --jobs` writes);
        # a baseline whose write_outputs takes no jobs writes in turn.
        takes_jobs = "jobs" in inspect.signature(write_outputs).parameters
        write_outputs(result, Path(tmp) / "plan", **({"jobs": jobs} if takes_jobs else {}))
        write_s = time.perf_counter() - t2
        maps_s = 0.0
        if maps:
            t3 = time.perf_counter()
            try:
                from planner.render import render_run
                from planner.report import write_reports
            except ImportError:
                maps = False
            else:
                render_run(result, Path(tmp) / "maps", jobs=jobs)
                # As `planner plan`: the reports are written once, with the plan folder, when write_outputs
                # writes them (its `reports` option, default on); a baseline whose plan folder has none
                # writes them here, as this phase did before they moved there.
                if "reports" not in inspect.signature(write_outputs).parameters:
                    write_reports(result, Path(tmp) / "plan")
            maps_s = time.perf_counter() - t3
    total = time.perf_counter() - t0
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    t = result.timings_s
    return {"region": region, "jobs": jobs, "units": len(result.units), "townships": len(reg.townships),
            "statuses": result.plan.status_counts(), "import_s": t_import, "load_s": load_s,
            "build_s": t.get("build_s", 0.0), "solve_s": t.get("solve_s", 0.0), "check_s": t.get("check_s", 0.0),
            "dispatch_s": t.get("dispatch_s", 0.0), "dialysis_s": t.get("dialysis_s", 0.0),
            "access_s": t.get("access_s", 0.0), "villages_s": t.get("villages_s", 0.0),
            "villages_check_s": t.get("villages_check_s", 0.0), "write_s": write_s, "maps_s": maps_s, "maps": maps,
            "plan_s": total - maps_s, "total_s": total, "cpu_s": cpu, "peak_rss_mb": self_rss,
            "worker_peak_rss_mb": child_rss}


def _bytecode_note(tree: Path) -> str:
    """Why every run of the planner in `tree` compiles its modules from source, or "" when it does not.

    With PYTHONDONTWRITEBYTECODE set (as in this project's shared machine) and no __pycache__ beside the
    planner's sources, each fresh process compiles the ~60 modules a run imports: about 0.35 s of CPU
    (BENCHMARKS §10), counted in the import phase and, spread, in the phases that import lazily. An
    installed planner (pip compiles on install) or `python -m compileall -q planner` does not pay it.
    """
    import importlib.util

    init = tree / "planner" / "__init__.py"
    if not init.exists() or not sys.flags.dont_write_bytecode and not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return ""
    if Path(importlib.util.cache_from_source(str(init))).exists():
        return ""
    return (f"PYTHONDONTWRITEBYTECODE is set and {tree / 'planner'} has no bytecode cache: every run compiles the "
            "planner's modules (about 0.35 s CPU; `python -m compileall -q planner` as pip install does avoids it)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", default="义乌市,金华市,浙江省,全国")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-maps", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--baseline", help="a checkout of other code (e.g. `git archive main`) to run interleaved "
                                       "with this one, run for run; prints both and their ratios")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, int(args.jobs), args.rules, not args.no_maps), ensure_ascii=False))
        return
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, python {platform.python_version()}")
    for label, tree in [("this", Path(__file__).resolve().parents[1])] + ([("baseline", Path(args.baseline))] if args.baseline else []):
        note = _bytecode_note(tree)
        if note:
            print(f"note ({label}): {note}")
    rows: list[dict] = []
    base_rows: list[dict] = []
    # "this" runs its own tree too: run from a copy (e.g. `git archive`), the installed planner may be other code.
    codes = [("this", str(Path(__file__).resolve().parents[1]))] + ([("baseline", args.baseline)] if args.baseline else [])
    for region in args.regions.split(","):
        for jobs in (int(j) for j in args.jobs.split(",")):
            runs: dict[str, list[dict]] = {label: [] for label, _ in codes}
            for _ in range(args.repeat):
                for label, path in codes:   # interleaved: both codes see the same load
                    cmd = [sys.executable, __file__, "--one", region, "--jobs", str(jobs), "--rules", args.rules]
                    cmd += ["--no-maps"] if args.no_maps else []
                    env = None
                    if path:
                        env = {**os.environ, "PYTHONPATH": str(Path(path).resolve())}
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
                    runs[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
            for label, _ in codes:
                rs = runs[label]
                med = {k: statistics.median(r[k] for r in rs) for k in (*PHASES, "import_s", "peak_rss_mb", "worker_peak_rss_mb")}
                row = {**rs[0], **med, "repeat": args.repeat, "code": label, "load_avg": os.getloadavg()[0]}
                row["units_per_s"] = row["units"] / row["solve_s"] if row["solve_s"] else float("nan")
                if label == "this":
                    rows.append(row)
                else:
                    row["code"] = "baseline"
                    base_rows.append(row)
                print(f"{label:>8} {region:>6} jobs={jobs} units={row['units']:5d} total={row['total_s']:7.1f}s "
                      f"import={row['import_s']:4.1f} load={row['load_s']:5.1f} "
                      f"build={row['build_s']:5.1f} solve={row['solve_s']:6.1f} ({row['units_per_s']:6.1f} units/s) "
                      f"check={row['check_s']:5.1f} dispatch={row['dispatch_s']:5.1f} dialysis={row['dialysis_s']:5.1f} "
                      f"access={row['access_s']:5.1f} villages={row['villages_s']:5.1f} "
                      f"(check {row['villages_check_s']:4.1f}) write={row['write_s']:5.1f} maps={row['maps_s']:5.1f} "
                      f"without-maps={row['plan_s']:6.1f}s cpu={row['cpu_s']:6.1f}s peak={row['peak_rss_mb']:.0f}MB "
                      f"(+workers {row['worker_peak_rss_mb']:.0f}MB) {row['statuses']} loadavg={row['load_avg']:.1f}",
                      flush=True)
            if args.baseline:
                a, b = base_rows[-1], rows[-1]
                ratios = ", ".join(f"{k[:-2]} x{a[k] / b[k]:.2f}" for k in PHASES if b[k] > 0.05 and a[k] > 0.05)
                print(f"  baseline / this (medians of {args.repeat}, interleaved): {ratios}", flush=True)
    by = {(r["region"], r["jobs"]): r for r in rows}
    for region in args.regions.split(","):
        if (region, 1) in by and (region, 2) in by:
            a, b = by[region, 1], by[region, 2]
            print(f"{region}: 2 workers vs 1 — solve x{a['solve_s'] / max(b['solve_s'], 1e-9):.2f}, "
                  f"total x{a['total_s'] / max(b['total_s'], 1e-9):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows + base_rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
