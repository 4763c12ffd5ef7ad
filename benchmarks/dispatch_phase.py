"""The dispatch and dialysis phases of one region's plan, this code against another checkout, runs interleaved.

    python benchmarks/dispatch_phase.py --region 浙江省 --repeat 3 --baseline /tmp/main > benchmarks/results/dispatch_phase.txt

Plans the region's communities once (this code, one worker, no services) and keeps the plan in a
temporary file; then, in fresh processes alternating between this code and the baseline, runs
`dispatch_region` and `site_region` on that same plan and times each (process CPU seconds, and
the CPU of the solver calls inside them). Besides the medians and their ratios it prints, for
every dispatch model, whether status and objective are the same in both codes (a model may
return another of several equally good plans: objectives are what must be equal), for every
county whether its dialysis status, sites, coverage and person-minutes are, whether the roster
and the dialysis sites table are byte-identical, and whether the independent checker
(`check_dispatch`, `check_dialysis`) finds the same violations in both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import statistics
import tempfile
import time
from pathlib import Path

from _child import run_child


def child(path: str) -> dict:
    """Run the two phases on the pickled plan; CPU seconds, solver results and digests."""
    import planner.milp as milp
    from planner.check import check_dialysis, check_dispatch
    from planner.dialysis import site_region, sites_frame
    from planner.dispatch import dispatch_region, roster_frame

    with open(path, "rb") as fh:
        reg, plan, rules, travel = pickle.load(fh)
    solves: list[tuple[str, str, float | None]] = []
    solver_cpu = [0.0]
    orig = milp.solve

    def solve(model, *a, **k):
        c = time.process_time()
        try:
            sol = orig(model, *a, **k)
        finally:
            solver_cpu[0] += time.process_time() - c
        if model.name == "dispatch":
            solves.append((model.name, sol.status.value, sol.objective))
        return sol

    import planner.dialysis as dialysis
    import planner.dispatch as dispatch

    dispatch.solve = dialysis.solve = solve
    out: dict = {}
    c = time.process_time()
    results = dispatch_region(reg, plan, rules, travel)
    out["dispatch"] = time.process_time() - c
    out["dispatch_solver"], solver_cpu[0] = solver_cpu[0], 0.0
    c = time.process_time()
    sites = site_region(reg, rules, travel)
    out["dialysis"] = time.process_time() - c
    out["dialysis_solver"] = solver_cpu[0]
    roster = roster_frame(results, reg)
    out["roster_sha"] = hashlib.sha256(roster.to_csv(index=False).encode()).hexdigest()[:16]
    out["roster_rows"] = len(roster)
    frame = sites_frame(sites, reg)
    out["sites_sha"] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]
    rows = [row for d in results for row in d.rows]
    statuses = check_dispatch(reg, plan, rows, rules) + check_dialysis(
        reg, [(r.county, s) for r in sites for s in r.sites], rules)
    out["violations"] = sorted(f"{s.rule.id}: {v}" for s in statuses for v in s.violations)
    out["statuses"] = sorted({d.status.value for d in results} | {r.status.value for r in sites if r.status})
    out["solves"] = solves
    # Per county: status, sites, residents within reach and person-minutes after (what phase 2 optimises).
    out["counties"] = [(r.county, r.status.value if r.status else "", r.sites, r.covered_after,
                        round(r.travel_after_person_min, 6)) for r in sites]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="workers for planning the communities (the timed phases use one)")
    ap.add_argument("--baseline", help="another checkout (e.g. `git archive main`), run interleaved with this code")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    from planner import regions
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    reg = regions.load(args.region)
    res = run_plan(reg, load_rules(args.rules), SolveOptions(), jobs=args.jobs, services=False)
    codes = [("this", None)] + ([("baseline", args.baseline)] if args.baseline else [])
    runs: dict[str, list[dict]] = {label: [] for label, _ in codes}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "plan.pkl")
        with open(path, "wb") as fh:
            pickle.dump((reg, res.plan, list(res.rules.rules), res.travel), fh)
        for _ in range(args.repeat):
            for label, code in codes:
                runs[label].append(run_child(__file__, ["--child", path], code))
                loads.append(os.getloadavg()[0])
    print(f"{args.region}, {args.rules}, one worker: CPU seconds, median of {args.repeat} interleaved runs "
          f"(load average {min(loads):.1f}-{max(loads):.1f})")
    keys = ("dispatch", "dispatch_solver", "dialysis", "dialysis_solver")
    print(f"{'phase':>16} " + " ".join(f"{label:>9}" for label, _ in codes) + ("    ratio" if args.baseline else ""))
    med = {label: {k: statistics.median(r[k] for r in rs) for k in keys} for label, rs in runs.items()}
    for k in keys:
        line = f"{k:>16} " + " ".join(f"{med[label][k]:9.2f}" for label, _ in codes)
        if args.baseline and med["this"][k] > 0:
            line += f"    x{med['baseline'][k] / med['this'][k]:.2f}"
        print(line)
    for label, rs in runs.items():
        r = rs[0]
        same = all(x["roster_sha"] == r["roster_sha"] and x["sites_sha"] == r["sites_sha"] for x in rs)
        print(f"{label}: {len(r['solves'])} dispatch models, statuses {', '.join(r['statuses'])}; roster "
              f"{r['roster_rows']} rows sha {r['roster_sha']}, dialysis sites sha {r['sites_sha']}; "
              f"identical over the {len(rs)} runs: {same}; checker violations {len(r['violations'])}")
    if args.baseline:
        a, b = runs["this"][0], runs["baseline"][0]
        pairs = list(zip(a["solves"], b["solves"]))
        equal = sum(x[:2] == y[:2] and x[2] == y[2] for x, y in pairs)
        print(f"dispatch models with equal status and objective in both codes: {equal}/{len(pairs)} "
              f"(model counts {len(a['solves'])} and {len(b['solves'])})")
        for x, y in pairs:
            if x != y:
                print(f"  differs: this {x}, baseline {y}")
        same = sum(x == y for x, y in zip(a["counties"], b["counties"]))
        print(f"dialysis: counties with the same status, sites, coverage and person-minutes: {same}/{len(a['counties'])}")
        for x, y in zip(a["counties"], b["counties"]):
            if x != y:
                print(f"  differs: this {x}, baseline {y}")
        only_a = sorted(set(a["violations"]) - set(b["violations"]))
        only_b = sorted(set(b["violations"]) - set(a["violations"]))
        for v in only_a[:5]:
            print(f"  violation of this code only: {v}")
        for v in only_b[:5]:
            print(f"  violation of the baseline only: {v}")
        print(f"roster identical to the baseline: {a['roster_sha'] == b['roster_sha']}; "
              f"dialysis sites identical: {a['sites_sha'] == b['sites_sha']}; "
              f"the checker's violations the same: {a['violations'] == b['violations']}")


if __name__ == "__main__":
    main()
