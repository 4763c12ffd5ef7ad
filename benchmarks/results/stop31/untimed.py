"""Time the serial steps between run_plan's timed phases on one region (two workers)."""
import sys, time, functools
import planner.pipeline as pl, planner.check as ck, planner.capacity as cap
from planner import regions
from planner.planning import SolveOptions
from planner.rulefile import load_rules
spent = {}
def timed(mod, name):
    f = getattr(mod, name)
    @functools.wraps(f)
    def w(*a, **k):
        t = time.perf_counter()
        try: return f(*a, **k)
        finally: spent[name] = spent.get(name, 0) + time.perf_counter() - t
    setattr(mod, name, w)
timed(pl, "_record_policy")
for n in ("integrity_statuses", "structure_violations", "check_dispatch", "check_dialysis", "check_capacity"):
    timed(ck, n)
timed(cap, "reserved_capacity")
timed(pl, "check_plan")
if __name__ == "__main__":
    reg = regions.load(sys.argv[1])
    t0 = time.perf_counter()
    res = pl.run_plan(reg, load_rules("zhejiang-2026"), SolveOptions(), jobs=int(sys.argv[2]))
    total = time.perf_counter() - t0
    print({k: round(v, 2) for k, v in res.timings_s.items()})
    print({k: round(v, 2) for k, v in spent.items()})
    print("run_plan", round(total, 1), "phases", round(sum(v for k, v in res.timings_s.items() if k != "villages_check_s"), 1))
