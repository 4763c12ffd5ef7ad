"""Run the village phase on a saved plan (services_ab.py plan) and pickle its tables for check benchmarks."""
import pickle, sys, time
from planner import regions
from planner.rulefile import load_rules
from planner.villages.run import run_villages

if __name__ == '__main__':
    inp, out, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(inp, "rb") as f:
        name, rules_name, plan, units, statuses, graph, travel, integrity, timings = pickle.load(f)
    rules = load_rules(rules_name)
    region = regions.load(name)
    t0 = time.perf_counter()
    res = run_villages(region, plan, list(rules.rules), travel, jobs=jobs)
    print("run_villages", time.perf_counter() - t0, {k: len(v) for k, v in res.tables.items()})
    with open(out, "wb") as f:
        pickle.dump((name, rules_name, plan, travel, res.tables), f, protocol=5)
