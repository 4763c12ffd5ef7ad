"""A/B of the access phase on one saved plan: time it under whichever planner is on the path, compare tables.

    python benchmarks/access_ab.py plan 河南省 zhejiang-2026 /tmp/henan.pkl            # plan once, save the inputs
    PYTHONPATH=/tmp/main python benchmarks/access_ab.py run /tmp/henan.pkl /tmp/a.pkl --repeat 2
    python benchmarks/access_ab.py run /tmp/henan.pkl /tmp/b.pkl --repeat 2 [--jobs 2]
    python benchmarks/access_ab.py compare /tmp/a.pkl /tmp/b.pkl                        # ALL IDENTICAL or the diffs
    python benchmarks/access_ab.py provinces            # each province's access matrix alone: pairs, build CPU

`run` times `run_access` + `check_access` (wall and CPU of this process) --repeat times in one
process (quote the warm, later runs), prints the peak RSS, and saves every access table and check
status. `compare` checks the tables with `pd.testing.assert_frame_equal(check_exact=True)` and the
statuses (rule, units checked, every violation) for equality. Alternate the runs of the two trees.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import sys
import time


def _plan(region_name: str, rules_name: str, out: str) -> None:
    from planner import regions
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    result = run_plan(regions.load(region_name), load_rules(rules_name), SolveOptions())
    roster = [r for d in result.dispatch for r in d.rows]
    with open(out, "wb") as f:
        pickle.dump((region_name, rules_name, result.plan, roster, result.units, result.travel), f)
    print("saved", out)


def _run(inputs: str, out: str, repeat: int, jobs: int) -> None:
    import planner
    from planner import regions
    from planner.access.check import check_access
    from planner.access.run import plan_scopes, run_access
    from planner.rulefile import load_rules

    with open(inputs, "rb") as f:
        name, rules_name, plan, roster, units, travel = pickle.load(f)
    rules = list(load_rules(rules_name).rules)
    region = regions.load(name)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = {"jobs": jobs} if jobs > 1 else {}
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        acc = run_access(region, plan, rules, travel, roster=roster, units=units, **extra)
        t1, c1 = time.perf_counter(), time.process_time()
        statuses = check_access(region, plan, acc.tables, rules, travel, plan_scopes(plan, region))
        t2, c2 = time.perf_counter(), time.process_time()
        print(f"{planner.__file__.rsplit('/planner/', 1)[0]} {name}: run {t1 - t0:.2f} s wall {c1 - c0:.2f} cpu; "
              f"check {t2 - t1:.2f} wall {c2 - c1:.2f} cpu; "
              + " ".join(f"{k}={v:.2f}" for k, v in acc.timings_s.items()), flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (after load {rss0:.0f} MB)")
    with open(out, "wb") as f:
        pickle.dump((dict(acc.tables), [(s.rule.id, s.units_checked, [str(v.message) + str(v.unit) for v in s.violations])
                                        for s in statuses]), f)


def _compare(a_path: str, b_path: str) -> int:
    from _compare import same_tables  # pandas only for a compare

    with open(a_path, "rb") as f:
        a, sa = pickle.load(f)
    with open(b_path, "rb") as f:
        b, sb = pickle.load(f)
    ok = same_tables(a, b)
    print("statuses identical" if sa == sb else "STATUSES DIFFER")
    ok = ok and sa == sb
    print("ALL IDENTICAL" if ok else "DIFFERENT")
    return 0 if ok else 1


def _provinces(bound_min: float) -> None:
    """The access matrix of every province alone (not a whole-country process): pairs kept, build CPU."""
    from planner import regions
    from planner.access.matrix import build_matrix
    from planner.travel import TravelModel

    cat = regions.catalog()
    seats = facilities = pairs = 0
    cpu_s = 0.0
    for name in dict.fromkeys(cat.loc[cat["plannable"].astype(bool), "province_name"]):
        region = regions.load(name)
        c0 = time.process_time()
        m = build_matrix(region, TravelModel(), bound_min)
        cpu = time.process_time() - c0
        n, k = m.shape
        seats, facilities, pairs, cpu_s = seats + n, facilities + k, pairs + len(m.minutes), cpu_s + cpu
        print(f"{name}: {n:,} x {k:,}, pairs {len(m.minutes):,} ({len(m.minutes) / max(n * k, 1):.1%}), "
              f"build {cpu:.2f} s CPU", flush=True)
    print(f"sum over provinces: {seats:,} seats x {facilities:,} facilities ({seats * facilities * 8 / 1e9:.1f} GB "
          f"as one dense float64 matrix); pairs {pairs:,}; build {cpu_s:.1f} s CPU; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("region")
    p.add_argument("rules")
    p.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("inputs")
    r.add_argument("out")
    r.add_argument("--repeat", type=int, default=2)
    r.add_argument("--jobs", type=int, default=1)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    v = sub.add_parser("provinces")
    v.add_argument("--bound-min", type=float, default=90.0)
    args = ap.parse_args()
    if args.cmd == "provinces":
        _provinces(args.bound_min)
    elif args.cmd == "plan":
        _plan(args.region, args.rules, args.out)
    elif args.cmd == "run":
        _run(args.inputs, args.out, args.repeat, args.jobs)
    else:
        sys.exit(_compare(args.a, args.b))


if __name__ == "__main__":
    main()
