"""Units by candidates left open by the hard rules: count, CP-SAT s, solve_unit s (from unit_times.py's pickle)."""
import sys
import pickle, collections
from planner import regions
from planner.rulefile import load_rules
from planner.planning import region_units, build_model
rows = {r[0]: r for r in pickle.load(open(sys.argv[1], "rb"))}
reg = regions.load("全国"); rules = load_rules("zhejiang-2026")
units = region_units(reg, rules)
agg = collections.defaultdict(lambda: [0, 0.0, 0.0])
for u in units:
    dm = build_model(u, rules.rules)
    k = len(u.candidates) - len(dm.closed)
    key = min(k, 6)
    r = rows[u.id]
    a = agg[(key, r[4])]; a[0] += 1; a[1] += r[6]; a[2] += r[7]
for k in sorted(agg): print(k, agg[k][0], round(agg[k][1], 1), round(agg[k][2], 1))
