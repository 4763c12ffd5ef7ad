"""Plan a region (run_plan, zhejiang-2026, --jobs workers) and pickle the RunResult, for write/maps A/B runs.

usage: python plan_pickle.py REGION OUT.pkl [JOBS]"""
import os, pickle, sys, time, resource
from planner import regions
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.rulefile import load_rules
def main() -> None:
    t = time.perf_counter()
    res = run_plan(regions.load(sys.argv[1]), load_rules("zhejiang-2026"), SolveOptions(), jobs=int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    print(f"planned {sys.argv[1]} in {time.perf_counter() - t:.1f} s: {res.plan.status_counts()}", flush=True)
    with open(sys.argv[2] + ".tmp", "wb") as f:
        pickle.dump(res, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    print(f"pickled {os.path.getsize(sys.argv[2]) / 1e6:.0f} MB; peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
