"""The dispatch models of a region solved by HiGHS with and without the dispatch options, and as LPs first: how fast?

    python benchmarks/dispatch_highs.py --region 浙江省 > benchmarks/results/dispatch_highs.txt

Plans the region's communities, captures every dispatch model `planner.dispatch` solves (the
relaxation trials included), then solves each with the planner's HiGHS settings minus
`DISPATCH_HIGHS_OPTIONS` ("before") and with them ("after"), both as MIPs, then as the planner
solves them (`Model.lp_first`: the LP relaxation first, its optimum returned when integral). Prints
per model its size, the three times, whether before and after have identical values, whether the
LP relaxation is integral, and whether the LP-first objective equals the MIP's.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--dump", help="also pickle the captured models to this file (to study one)")
    args = ap.parse_args()
    import dataclasses

    import planner.milp as milp
    from planner import regions
    from planner.dispatch import DISPATCH_HIGHS_OPTIONS, dispatch_region
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    models: list[milp.Model] = []
    orig = milp._solve_highs

    def capture(model, *a):
        if model.name == "dispatch":
            models.append(model)
        return orig(model, *a)

    milp._solve_highs = capture
    reg = regions.load(args.region)
    res = run_plan(reg, load_rules(args.rules), SolveOptions(), jobs=1, services=False)
    dispatch_region(reg, res.plan, list(res.rules.rules), res.travel)
    milp._solve_highs = orig
    if args.dump:
        import pickle

        with open(args.dump, "wb") as fh:
            pickle.dump(models, fh)
    print(f"{args.region}: {len(models)} dispatch models; load average {os.getloadavg()[0]:.1f}")
    print(f"{'vars':>6} {'rows':>5} {'before s':>9} {'after s':>8} {'LP-first s':>10} identical  LP integral  "
          "LP-first objective equal")
    totals = [0.0, 0.0, 0.0]
    same = integral = equal = 0
    for m in models:
        before = dataclasses.replace(m, highs_options={}, lp_first=False)
        after = dataclasses.replace(m, highs_options=dict(DISPATCH_HIGHS_OPTIONS), lp_first=False)
        planner_way = dataclasses.replace(m, highs_options=dict(DISPATCH_HIGHS_OPTIONS), lp_first=True)
        t0 = time.perf_counter()
        a = milp.solve(before, "highs")
        t1 = time.perf_counter()
        b = milp.solve(after, "highs")
        t2 = time.perf_counter()
        c = milp.solve(planner_way, "highs")
        t3 = time.perf_counter()
        is_int = c.message == "LP relaxation integral"
        ok = a.status == b.status and a.values == b.values
        same += ok
        integral += is_int
        equal += c.status == b.status and c.objective == b.objective
        totals[0] += t1 - t0
        totals[1] += t2 - t1
        totals[2] += t3 - t2
        print(f"{len(m.vars):6d} {len(m.constraints):5d} {t1 - t0:9.3f} {t2 - t1:8.3f} {t3 - t2:10.3f} {str(ok):>9}  "
              f"{str(is_int):>11}  {c.status == b.status and c.objective == b.objective}")
    print(f"total wall: before {totals[0]:.2f} s, after {totals[1]:.2f} s, LP first {totals[2]:.2f} s "
          f"(x{totals[1] / max(totals[2], 1e-9):.2f} over after); identical {same}/{len(models)}; "
          f"LP relaxation integral {integral}/{len(models)}; LP-first objective equal {equal}/{len(models)}; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
