"""Is a unit's optimal plan its only optimal plan? Solve it, then ask CP-SAT for any other plan at most as costly.

    python benchmarks/unique_optimum.py --region 北京市 --units 110105
    python benchmarks/unique_optimum.py --region 吉林省 --units 220102

A unit whose second solve is INFEASIBLE has one optimal plan, so every exact method (any model, any search)
returns that plan: a change of model or search cannot change it. Solved with tree contiguity (the same
feasible plans as the flow model, faster on these units).
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", required=True)
    ap.add_argument("--units", required=True, help="comma-separated unit ids")
    ap.add_argument("--rules", default="zhejiang-2026")
    args = ap.parse_args()

    from planner import regions
    from planner.milp import Status
    from planner.planning import build_model, region_units
    from planner.rulefile import load_rules

    rules = load_rules(args.rules)
    wanted = args.units.split(",")
    for u in region_units(regions.load(args.region), rules):
        if u.id not in wanted:
            continue
        dm = build_model(u, rules.rules, contiguity="tree")
        t = time.process_time()
        sol = dm.solve("cpsat", time_limit_s=3000)
        if sol.status is not Status.OPTIMAL:
            print(u.id, u.name, sol.status.value)
            continue
        ones = {v.index: 1 for v in dm.x.values() if sol.value(v) > 0.5}
        dm.add_cutoff(sol.objective)
        dm.model.add_coefs(dict(ones), ub=len(ones) - 1, name="another_plan", group="another_plan")
        other = dm.solve("cpsat", time_limit_s=3000)
        print(u.id, u.name, sol.objective, "another plan as cheap:", other.status.value, other.objective,
              f"cpu {time.process_time() - t:.1f}", flush=True)


if __name__ == "__main__":
    main()
