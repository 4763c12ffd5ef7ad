"""Scratch driver of the 2026-12-02 Alabama experiments (al_*.log here): solve_reduced on one state with keyword options.

Usage: python al_run.py REPO STATE TIME_LIMIT_S CARRY(0/1) [LADDER or -] [PYTHON-DICT of solve_reduced options].
Some logs came from variants of the branch that were measured and not kept (floors, spread_separators:
BENCHMARKS §3, 2026-12-02); with the code as committed only the options solve_reduced has exist.
"""
import sys, time
sys.path.insert(0, sys.argv[1] + "/benchmarks"); sys.path.insert(0, sys.argv[1])
from districting import load_instance, verify_plan
import planner.districting as d
print(d.__file__)
inst = load_instance(sys.argv[2])
kw = {}
if len(sys.argv) > 4: kw["carry_separators"] = sys.argv[4] == "1"
if len(sys.argv) > 6: kw.update(eval(sys.argv[6]))
if len(sys.argv) > 5 and sys.argv[5] != "-": kw["ladder"] = tuple(float(x) for x in sys.argv[5].split(",") if x)
t0 = time.perf_counter(); c0 = time.process_time()
res = d.solve_reduced(inst.population, inst.cost, inst.edges, k=inst.k, balance=(inst.lower, inst.upper), contiguity=True, backend="highs", time_limit_s=float(sys.argv[3]), **kw)
print(res.status.value, None if res.objective is None else res.objective/1e6, inst.optimum, f"{time.perf_counter()-t0:.1f}s wall {time.process_time()-c0:.1f}s cpu")
for k_, v in res.stats.items(): print(" ", k_, v)
if res.objective is not None:
    verify_plan(inst, res.groups, res.objective, res.status.value); print("verified")
