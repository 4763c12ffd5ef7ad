"""The identical solve of every Nth unit of the country, repeated in one process: the pass-to-pass spread."""
import time, sys, resource
from planner import regions
from planner.rulefile import load_rules
from planner.planning import region_units, SolveOptions, solve_unit
reg = regions.load("全国"); rules = load_rules("zhejiang-2026")
units = region_units(reg, rules)[:: int(sys.argv[1])]
for p in range(int(sys.argv[2])):
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.process_time(); w = time.perf_counter(); out = [solve_unit(u, rules.rules, SolveOptions()) for u in units]
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(f"pass {p}: cpu {time.process_time() - t:.2f} wall {time.perf_counter() - w:.2f} solver {sum(o.time_s for o in out):.2f} minflt {r1.ru_minflt - r0.ru_minflt} sys {r1.ru_stime - r0.ru_stime:.2f}", flush=True)
