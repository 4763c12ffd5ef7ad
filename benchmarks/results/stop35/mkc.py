import pickle, time
from pathlib import Path
from planner import regions
from planner.cache import UnitCache
from planner.pipeline import run_plan
from planner.rulefile import load_rules
from planner.villages.run import run_villages
if __name__ == '__main__':
    region = regions.load("全国", jobs=2)
    rules = load_rules("zhejiang-2026")
    res = run_plan(region, rules, services=False, jobs=2, cache=UnitCache(Path("/tmp/s35/vc")))
    t0 = time.perf_counter()
    v = run_villages(region, res.plan, list(rules.rules), res.travel, jobs=2)
    print("villages", time.perf_counter() - t0)
    with open("/tmp/s35/country_tables.pkl", "wb") as f:
        pickle.dump(("全国", "zhejiang-2026", res.plan, res.travel, v.tables), f, protocol=5)
