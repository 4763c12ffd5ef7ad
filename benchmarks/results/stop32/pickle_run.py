"""Run a region's plan once (zhejiang-2026, two workers) and pickle the RunResult: `python pickle_run.py 全国 /tmp/country.pkl` (for maps_profile.py)."""
import pickle, sys, time
def main():
    from planner import regions
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules
    region = sys.argv[1]; out = sys.argv[2]
    t=time.perf_counter()
    reg = regions.load(region)
    res = run_plan(reg, load_rules("zhejiang-2026"), SolveOptions(), jobs=2)
    print("plan", time.perf_counter()-t, res.timings_s, flush=True)
    with open(out, "wb") as f:
        pickle.dump(res, f, protocol=5)
    print("pickled", time.perf_counter()-t)
if __name__ == "__main__":
    main()
