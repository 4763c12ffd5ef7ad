"""Time the write phase alone: plan a region once, then write its plan folder --repeat times.

    python benchmarks/write.py --region 浙江省 --repeat 3
    python benchmarks/write.py --region 河南省 --repeat 3 --baseline /tmp/main     # A/B, interleaved
    python benchmarks/write.py --region 河南省 --repeat 3 --jobs 2 --baseline /tmp/main
    python benchmarks/write.py --region 浙江省 --profile benchmarks/results/profile_write_zhejiang.txt

The plan (`run_plan`, one worker) is made once and pickled to --cache (default
/tmp/planner-write-<region>.pkl, reused when present), so every timed run writes the same
RunResult. Each timed run is a fresh process that unpickles it and calls
`pipeline.write_outputs` into an empty temporary folder: wall seconds, CPU seconds (this
process and its joined workers) and the load average, with the split per part (reports, each
table, layers, workbooks, manifest, publish; with --jobs 2 the parts a forked worker writes are
not in the split, its CPU is in the total once joined). With --baseline the other checkout writes the
same pickle in alternate runs (its classes must read it: the RunResult's fields unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def plan(region: str, rules: str, cache: Path) -> None:
    """Plan the region (one worker) and pickle the RunResult to `cache`."""
    from planner import regions
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    t0 = time.perf_counter()
    result = run_plan(regions.load(region), load_rules(rules), SolveOptions(), jobs=1)
    tmp = cache.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cache)
    print(f"planned {region} in {time.perf_counter() - t0:.1f} s -> {cache}", file=sys.stderr)


def _instrument(parts: dict[str, float]) -> None:
    """Wrap the writers so that each part's CPU seconds (this process) are summed in `parts` (outermost call only)."""
    import planner.io as io
    import planner.pipeline as pipeline
    import planner.planfile as planfile

    depth = [0]

    def timed(label, fn, key=None):
        def wrapper(*a, **k):
            if depth[0]:
                return fn(*a, **k)
            name = key(a) if key else label
            depth[0] += 1
            c = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= 1
                parts[name] = parts.get(name, 0.0) + time.process_time() - c
        return wrapper

    def file_key(kind, arg=1):
        return lambda a: f"{kind} {Path(a[arg]).name}" if len(a) > arg else kind

    for mod in (io,):
        for name, kind, arg in (("write_csv", "csv", 1), ("write_layers", "layers", 1), ("write_xlsx", "xlsx", 1),
                                ("write_text", "text", 0), ("write_bytes", "bytes", 0)):
            if hasattr(mod, name):
                setattr(mod, name, timed(name, getattr(mod, name), file_key(kind, arg)))
    planfile.write_json = timed("json", planfile.write_json, lambda a: f"json {Path(a[0]).name}")
    planfile.write_manifest = timed("manifest.json", planfile.write_manifest)
    planfile.plan_to_json = timed("plan_to_json", planfile.plan_to_json)
    planfile.run_community_tables = timed("community tables", planfile.run_community_tables)
    planfile.community_layers = timed("community layers", planfile.community_layers)
    try:
        import planner.access.report as access_report
        import planner.report as report
        report.write_reports = timed("reports (report.*, summary.*)", report.write_reports)
        access_report.write_access_report = timed("access report", access_report.write_access_report)
    except ImportError:
        pass
    import planner.access.outputs as access_outputs
    import planner.villages.outputs as village_outputs
    access_outputs.write_access = timed("access tables", access_outputs.write_access)
    village_outputs.write_villages = timed("village tables", village_outputs.write_villages)
    del pipeline


def _write(pipeline, result, out: Path, jobs: int) -> None:
    """write_outputs with `jobs` where the code takes it (a baseline may not: it writes in turn)."""
    import inspect

    if "jobs" in inspect.signature(pipeline.write_outputs).parameters:
        pipeline.write_outputs(result, out, jobs=jobs)
    else:
        pipeline.write_outputs(result, out)


def one(cache: Path, profile: str | None, jobs: int = 1) -> dict:
    """Write the pickled plan once in this process; return the figures."""
    t0, c0 = time.perf_counter(), _cpu()
    import planner.pipeline as pipeline

    with open(cache, "rb") as f:
        result = pickle.load(f)
    setup_s = time.perf_counter() - t0
    parts: dict[str, float] = {}
    if not profile:
        _instrument(parts)
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), _cpu()
        if profile:
            import cProfile
            import io as _io
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            _write(pipeline, result, Path(tmp) / "plan", jobs)
            prof.disable()
            buf = _io.StringIO()
            st = pstats.Stats(prof, stream=buf)
            st.sort_stats("cumulative").print_stats(70)
            st.sort_stats("tottime").print_stats(40)
            Path(profile).write_text(buf.getvalue(), encoding="utf-8")
        else:
            _write(pipeline, result, Path(tmp) / "plan", jobs)
        wall, cpu = time.perf_counter() - t, _cpu() - c
        size = sum(p.stat().st_size for p in (Path(tmp) / "plan").rglob("*") if p.is_file())
        files = sum(1 for p in (Path(tmp) / "plan").rglob("*") if p.is_file())
    return {"write_wall_s": wall, "write_cpu_s": cpu, "setup_s": setup_s, "load_before": load0,
            "load_after": os.getloadavg()[0], "files": files, "bytes": size, "parts": parts,
            "process_cpu_s": _cpu() - c0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="write_outputs(jobs=): 2 lets a forked worker write the village tables")
    ap.add_argument("--cache", help="the pickled RunResult (made when absent)")
    ap.add_argument("--replan", action="store_true", help="plan again even if the cache exists")
    ap.add_argument("--baseline", help="another checkout (e.g. `git archive main`) writing the same plan, interleaved")
    ap.add_argument("--profile", help="write one cProfile text report of one write to this file (no timing runs)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one), args.profile, args.jobs), ensure_ascii=False))
        return
    cache = Path(args.cache or f"/tmp/planner-write-{args.region}-{Path(args.rules).stem}.pkl")
    if args.replan or not cache.exists():
        plan(args.region, args.rules, cache)
    codes = [("this", None)] + ([("baseline", args.baseline)] if args.baseline else [])
    runs: dict[str, list[dict]] = {label: [] for label, _ in codes}
    for _ in range(1 if args.profile else args.repeat):
        for label, path in codes:   # interleaved: both codes see the same load
            cmd = [sys.executable, __file__, "--one", str(cache), "--jobs", str(args.jobs)]
            cmd += ["--profile", args.profile] if args.profile else []
            env = {**os.environ, "PYTHONPATH": str(Path(path).resolve())} if path else None
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            runs[label].append(r)
            print(f"{label:>8} {args.region} write {r['write_wall_s']:6.2f} s wall {r['write_cpu_s']:6.2f} s CPU "
                  f"(load {r['load_before']:.1f} -> {r['load_after']:.1f}; {r['files']} files, {r['bytes'] / 1e6:.1f} MB)",
                  flush=True)
    if args.profile:
        print(f"profile -> {args.profile}")
        return
    summary = {}
    for label, _ in codes:
        rs = runs[label]
        med = {k: statistics.median(r[k] for r in rs) for k in ("write_wall_s", "write_cpu_s")}
        parts = {k: statistics.median(r["parts"].get(k, 0.0) for r in rs) for k in rs[0]["parts"]}
        summary[label] = {**med, "parts": parts, "runs": rs}
        print(f"\n{label}: median of {len(rs)}: {med['write_wall_s']:.2f} s wall, {med['write_cpu_s']:.2f} s CPU; "
              "CPU s per part (this process):")
        for k, v in sorted(parts.items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {v:7.3f} s  {k}")
    if args.baseline:
        a, b = summary["this"], summary["baseline"]
        print(f"\nbaseline / this: wall x{b['write_wall_s'] / a['write_wall_s']:.2f}, "
              f"CPU x{b['write_cpu_s'] / a['write_cpu_s']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"region": args.region, "rules": args.rules, **summary},
                                              ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
