"""The remote timetable's direct construction against its CP-SAT model on every county of a saved plan.

    python benchmarks/services_ab.py plan 浙江省 /tmp/zj.pkl --jobs 1
    python benchmarks/timetable_fast.py capture /tmp/zj.pkl /tmp/zj_calls.pkl     # run_villages' solve_timetable inputs
    python benchmarks/timetable_fast.py compare /tmp/zj_calls.pkl [--repeat 3]

`capture` runs the village phase (one worker) on the saved plan and pickles every county's timetable inputs.
`compare` takes each county's inputs through `_fast_counts` (the direct construction and its bound) and
`_solve_model` (CP-SAT), checks the construction's counts against the model's constraints, and prints how many
counties the fast path proves, whether every proven objective equals CP-SAT's optimum, and the CPU seconds of
`solve_timetable` over all counties with the fast path on and off (best of `--repeat`).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time


def _capture(plan_pkl: str, out: str) -> None:
    import planner.villages.run as vr
    from planner import regions
    from planner.rulefile import load_rules

    with open(plan_pkl, "rb") as f:
        name, rules_name, plan, units, statuses, graph, travel, integrity, timings = pickle.load(f)
    calls = []
    orig = vr.solve_timetable

    def cap(clinics, consultants, rule, names=None):
        calls.append(([tuple(c) for c in clinics], dict(consultants), rule, names))
        return orig(clinics, consultants, rule, names)

    vr.solve_timetable = cap
    vr.run_villages(regions.load(name), plan, list(load_rules(rules_name).rules), travel, jobs=1)
    with open(out, "wb") as f:
        pickle.dump((name, calls), f, protocol=5)
    print(f"{name}: {len(calls)} counties captured")


def objective(values, order, leads, need: int) -> int:
    """100,000 x sessions missing + the leads' sessions, of counts w[group, facility, day]."""
    given: dict = {}
    for (g, _f, _d), v in values.items():
        given[g] = given.get(g, 0) + v
    short = sum(need * len(m) - given.get(g, 0) for g, m in order)
    return 100_000 * short + sum(v for (_g, f, _d), v in values.items() if f in leads)


def feasible(values, order, consultants, rule) -> bool:
    """The counts satisfy the counting model's constraints (z taken as each facility-day's half-days needed)."""
    days, seats, need = rule.working_days, rule.sessions_per_half_day, rule.sessions_per_week
    per_fd: dict = {}
    for g, members in order:
        k = len(members)
        srcs = [f for f in g if f]
        if any(values.get((g, f, d), 0) < 0 for f in srcs for d in range(days)):
            return False
        if any(sum(values[g, f, d] for f in srcs) > k for d in range(days)):
            return False
        if sum(values[g, f, d] for f in srcs for d in range(days)) > need * k:
            return False
        for f in srcs:
            for d in range(days):
                per_fd[f, d] = per_fd.get((f, d), 0) + values[g, f, d]
    for f in {f for f, _ in per_fd}:
        n = consultants[f]
        z = [-(-per_fd.get((f, d), 0) // seats) for d in range(days)]
        if max(z) > 2 * n or sum(z) > n * rule.half_days_per_consultant:
            return False
    return True


def _inputs(call):
    from planner.villages.timetable import Clinic

    clinics, consultants, rule, names = call
    clinics = [Clinic(*c) for c in clinics]
    groups: dict = {}
    for c in clinics:
        pair = (c.center, c.lead)
        srcs = tuple(f for f in dict.fromkeys(pair) if f and consultants.get(f, 0) > 0)
        g = (srcs[0] if srcs else "", srcs[1] if len(srcs) > 1 else "")
        groups.setdefault(g, []).append(c.clinic)
    leads = {c.lead for c in clinics if c.lead and c.lead != c.center}
    return clinics, consultants, rule, names, sorted(groups.items()), leads


def _compare(calls_pkl: str, repeat: int) -> int:
    import planner.villages.timetable as tt

    with open(calls_pkl, "rb") as f:
        name, calls = pickle.load(f)
    fast = proved = bad = empty = 0
    fallback = []
    lead_total = missing_total = 0
    for call in calls:
        clinics, consultants, rule, names, order, leads = _inputs(call)
        if not clinics:
            empty += 1
            continue
        need = rule.sessions_per_week
        quick = tt._fast_counts(order, consultants, leads, rule)
        solved = tt._solve_model(order, consultants, leads, rule)
        best = objective(solved[1], order, leads, need)
        missing_total += best // 100_000
        lead_total += best % 100_000
        if quick is None:
            fallback.append(f"{clinics[0].center or clinics[0].lead}: optimum {best}")
            continue
        fast += 1
        ok = feasible(quick, order, consultants, rule) and objective(quick, order, leads, need) == best \
            and solved[0] == "OPTIMAL"
        proved += ok
        if not ok:
            bad += 1
            print("MISMATCH", clinics[0].center, objective(quick, order, leads, need), best, file=sys.stderr)
    print(f"{name}: {len(calls)} counties ({empty} without clinics), {fast} on the fast path, {proved} of them "
          f"feasible with CP-SAT's optimum, {bad} not; CP-SAT optimum over all counties: {missing_total} missing, "
          f"{lead_total} lead sessions")
    for line in fallback:
        print("  CP-SAT:", line)
    timings = {}
    original = tt._fast_counts
    for label, fn in (("fast path on", original), ("CP-SAT only", lambda *a: None)):
        tt._fast_counts = fn
        best_cpu = None
        for _ in range(repeat):
            t = time.process_time()
            for call in calls:
                c, cons, rule, names = call
                tt.solve_timetable([tt.Clinic(*x) for x in c], cons, rule, names)
            dt = time.process_time() - t
            best_cpu = dt if best_cpu is None else min(best_cpu, dt)
        timings[label] = best_cpu
    tt._fast_counts = original
    print("solve_timetable CPU s over all counties (best of %d): " % repeat
          + ", ".join(f"{k} {v:.3f}" for k, v in timings.items()))
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("capture")
    a.add_argument("plan")
    a.add_argument("out")
    b = sub.add_parser("compare")
    b.add_argument("calls")
    b.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if args.cmd == "capture":
        _capture(args.plan, args.out)
        return 0
    return _compare(args.calls, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
