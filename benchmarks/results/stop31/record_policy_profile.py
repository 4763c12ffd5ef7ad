"""Profile run_plan's _record_policy on one region (services off)."""
import sys, cProfile, pstats
import planner.pipeline as pl
from planner import regions
from planner.planning import SolveOptions
from planner.rulefile import load_rules
f = pl._record_policy
pr = cProfile.Profile()   # kept in memory: the script writes no file
def w(*a, **k):
    pr.enable()
    try: return f(*a, **k)
    finally: pr.disable()
pl._record_policy = w
if __name__ == "__main__":
    reg = regions.load(sys.argv[1])
    pl.run_plan(reg, load_rules("zhejiang-2026"), SolveOptions(), jobs=2, services=False)
    pstats.Stats(pr).sort_stats("cumulative").print_stats(25)
