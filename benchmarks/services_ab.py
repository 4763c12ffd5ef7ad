"""The phases after the community solve (dispatch, dialysis, service checks, access, villages and their
checks) on one saved plan: time and profile them under whichever planner is on the path, compare outputs.

    flock /work/team/country.lock nice -n 5 python benchmarks/services_ab.py plan 全国 /tmp/country.pkl --jobs 2
    PYTHONPATH=/tmp/base python benchmarks/services_ab.py run /tmp/country.pkl /tmp/a.pkl --jobs 2
    python benchmarks/services_ab.py run /tmp/country.pkl /tmp/b.pkl --jobs 2 [--profile benchmarks/results/x]
    python benchmarks/services_ab.py compare /tmp/a.pkl /tmp/b.pkl                 # ALL IDENTICAL or the diffs

`plan` solves the region's communities (no services) and pickles the plan, units and travel model
(the region is re-loaded by `run`: the embedded data are read the same way every time). `run` makes a
`RunResult` from them and runs `pipeline.run_services` with each phase timed: wall seconds, CPU
seconds of this process and of its worker processes (read from /proc before the pool is reused), as
`regions.py` names them (dispatch_s, dialysis_s, service checks, access_s, villages_s with
villages_check_s inside). `--profile DIR` writes one cProfile per phase (this process only). It saves
every output for `compare`: the roster and dialysis sites, the capacity table, every access and village
table, and every check status with its violations. `compare` checks frames with
`pd.testing.assert_frame_equal(check_exact=True)` and everything else for equality. Alternate the
runs of the two trees (worker processes import the code when they start: use frozen copies).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pickle
import pstats
import resource
import sys
import time
from pathlib import Path


def _plan(region_name: str, rules_name: str, out: str, jobs: int) -> None:
    from planner import regions
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    t0 = time.perf_counter()
    result = run_plan(regions.load(region_name), load_rules(rules_name), SolveOptions(), jobs=jobs, services=False)
    with open(out, "wb") as f:
        pickle.dump((region_name, rules_name, result.plan, result.units, result.statuses, result.graph,
                     result.travel, result.integrity_statuses, dict(result.timings_s)), f, protocol=5)
    print(f"saved {out} ({time.perf_counter() - t0:.1f} s)")


def _children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's worker processes: the live ones (read from
    /proc) and the ended ones (forked for one phase and waited for: getrusage)."""
    tick = os.sysconf("SC_CLK_TCK")
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = ended.ru_utime + ended.ru_stime
    for p in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _statuses(statuses) -> list:
    return [(s.rule.id, s.units_checked, [str(v) for v in s.violations]) for s in statuses]


def _warm(k: int) -> int:
    """A worker's first task: import what the solve phase's tasks import (a plan run's workers solved its units)."""
    import planner.planning  # noqa: F401

    return k


def _run(inputs: str, out: str, jobs: int, profile: str | None, skip_villages: bool = False) -> None:
    import planner
    import planner.pipeline as pipeline
    from planner import regions
    from planner.pipeline import RunResult
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    with open(inputs, "rb") as f:
        name, rules_name, plan, units, statuses, graph, travel, integrity, timings = pickle.load(f)
    rules = load_rules(rules_name)
    region = regions.load(name)
    result = RunResult(region, rules, units, plan, statuses, graph, travel, timings_s={},
                       integrity_statuses=integrity)
    figures: dict[str, dict[str, float]] = {}
    prof_dir = Path(profile) if profile else None
    if prof_dir:
        prof_dir.mkdir(parents=True, exist_ok=True)

    def timed(label: str, fn, *args, **kwargs):
        prof = cProfile.Profile() if prof_dir else None
        w0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
        if prof:
            prof.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            if prof:
                prof.disable()
            w1, c1, k1 = time.perf_counter(), time.process_time(), _children_cpu()
            figures[label] = {"wall": w1 - w0, "cpu": c1 - c0, "workers_cpu": max(k1 - k0, 0.0)}
            if prof:
                prof.dump_stats(str(prof_dir / f"{label}.prof"))
                with open(prof_dir / f"{label}.txt", "w") as fh:
                    st = pstats.Stats(prof, stream=fh)
                    st.sort_stats("cumulative").print_stats(60)
                    st.sort_stats("tottime").print_stats(40)

    # The phases as run_services runs them, each under its own timer.
    import planner.access.check as access_check
    import planner.access.run as access_run
    import planner.capacity as capacity
    import planner.check as check
    import planner.dialysis as dialysis
    import planner.dispatch as dispatch
    import planner.villages.check as villages_check
    import planner.villages.run as villages_run

    wrapped = {
        (dispatch, "dispatch_region"): "dispatch", (dialysis, "site_region"): "dialysis",
        (capacity, "reserved_capacity"): "capacity", (check, "check_dispatch"): "check_dispatch",
        (check, "check_dialysis"): "check_dialysis", (access_run, "run_access"): "access",
        (access_check, "check_access"): "access_check", (villages_run, "run_villages"): "villages",
        (villages_check, "check_villages"): "villages_check",
    }
    originals = {}
    for (mod, attr), label in wrapped.items():
        orig = getattr(mod, attr)
        originals[(mod, attr)] = orig

        def make(orig=orig, label=label):
            def f(*a, **k):
                return timed(label, orig, *a, **k)
            return f
        setattr(mod, attr, make())
    if skip_villages:
        pipeline._run_villages = lambda result, **kw: None
    if jobs > 1:
        # The pool started before the timers, as in a plan run (its solve phase started it).
        from planner.executor import MIN_PARALLEL_ITEMS, ordered_map

        ordered_map(_warm, [(k,) for k in range(MIN_PARALLEL_ITEMS * jobs)], jobs=jobs)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    w0 = time.perf_counter()
    pipeline.run_services(result, SolveOptions(), jobs=jobs)
    total = time.perf_counter() - w0
    for (mod, attr), orig in originals.items():
        setattr(mod, attr, orig)
    row = {"code": planner.__file__.rsplit("/planner/", 1)[0], "region": name, "jobs": jobs, "total_wall": total,
           "timings_s": result.timings_s, "phases": figures,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_after_load_mb": rss0}
    for label, f in figures.items():
        print(f"{label:15s} wall {f['wall']:7.2f}  cpu {f['cpu']:7.2f}  workers cpu {f['workers_cpu']:7.2f}", flush=True)
    from planner.dialysis import coverage_frame, sites_frame
    from planner.dispatch import roster_frame

    saved = {
        "roster": roster_frame(result.dispatch, region), "sites": sites_frame(result.dialysis, region),
        "capacity": result.capacity, "dialysis_coverage": coverage_frame(result.dialysis).astype({"note": str}),
    }
    for k, v in (result.access.tables.items() if result.access is not None else ()):
        saved[f"access/{k}"] = v
    for k, v in (result.villages.tables.items() if result.villages is not None else ()):
        saved[f"villages/{k}"] = v
    other = {"service_statuses": _statuses(result.service_statuses),
             "access_statuses": _statuses(result.access_statuses),
             "village_statuses": _statuses(result.village_statuses),
             "dispatch": [(d.city, d.status.value, d.objective, [str(t) for t in d.shortfalls],
                           [str(t) for t in d.relaxations]) for d in result.dispatch],
             "dialysis": [(r.county, r.eligible, r.status.value if r.status else None, r.sites, r.existing, r.candidates,
                           r.covered_before, r.covered_after, r.travel_before_person_min, r.travel_after_person_min,
                           r.served, str(r.note)) for r in result.dialysis]}
    with open(out, "wb") as f:
        pickle.dump((saved, other), f, protocol=5)
    print(json.dumps(row, default=str))


def _compare(a_path: str, b_path: str) -> int:
    from _compare import same_tables  # pandas only for a compare

    with open(a_path, "rb") as f:
        a, oa = pickle.load(f)
    with open(b_path, "rb") as f:
        b, ob = pickle.load(f)
    ok = same_tables(a, b)
    for k in sorted(set(oa) | set(ob)):
        same = oa.get(k) == ob.get(k)
        ok = ok and same
        print(k, "identical" if same else "DIFFERS")
    print("ALL IDENTICAL" if ok else "DIFFERENT")
    return 0 if ok else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("region")
    p.add_argument("out")
    p.add_argument("--rules", default="zhejiang-2026")
    p.add_argument("--jobs", type=int, default=1)
    r = sub.add_parser("run")
    r.add_argument("inputs")
    r.add_argument("out")
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--profile", help="write a cProfile per phase into this folder")
    r.add_argument("--skip-villages", action="store_true", help="leave the village phase out (dispatch and access only)")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = ap.parse_args()
    if args.cmd == "plan":
        _plan(args.region, args.rules, args.out, args.jobs)
    elif args.cmd == "run":
        _run(args.inputs, args.out, args.jobs, args.profile, args.skip_villages)
    else:
        sys.exit(_compare(args.a, args.b))


if __name__ == "__main__":
    main()
