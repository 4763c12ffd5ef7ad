"""Plan a region once (jobs from argv) and pickle the RunResult (facts not cached) for map A/B runs."""
import pickle, sys, time


def main() -> None:
    from planner import regions
    from planner.pipeline import run_plan
    from planner.rulefile import load_rules
    region, out, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t = time.perf_counter()
    res = run_plan(regions.load(region), load_rules("zhejiang-2026"), jobs=jobs)
    print("planned", region, round(time.perf_counter() - t, 1), flush=True)
    res.__dict__.pop("_plan_facts", None)
    with open(out, "wb") as f:
        pickle.dump(res, f, protocol=5)
    print("pickled", out, flush=True)


if __name__ == "__main__":
    main()
