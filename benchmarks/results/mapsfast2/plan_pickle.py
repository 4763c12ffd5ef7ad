"""Plan a region once and pickle the RunResult (facts cached) for map A/B runs."""
import pickle, sys, time
from planner import regions
from planner.pipeline import run_plan
from planner.report import cached_facts
from planner.rulefile import load_rules
region, out = sys.argv[1], sys.argv[2]
t = time.perf_counter()
res = run_plan(regions.load(region), load_rules("zhejiang-2026"), jobs=1)
print("planned", region, round(time.perf_counter() - t, 1), flush=True)
res.__dict__.pop("_plan_facts", None)
with open(out, "wb") as f:
    pickle.dump(res, f, protocol=5)
print("pickled", out)
