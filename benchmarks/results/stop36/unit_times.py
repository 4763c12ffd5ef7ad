"""Per-unit solve times on a region: build_model time, solver time, total; sorted summaries."""
import sys, time, pickle
from planner import regions
from planner.rulefile import load_rules
from planner.planning import region_units, solve_unit, build_model, SolveOptions
reg = regions.load(sys.argv[1])
rules = load_rules("zhejiang-2026")
t = time.perf_counter(); units = region_units(reg, rules); print("build", time.perf_counter() - t)
rows = []
for u in units:
    t0 = time.process_time(); dm = build_model(u, rules.rules); t1 = time.process_time()
    up = solve_unit(u, rules.rules, SolveOptions())
    t2 = time.process_time()
    rows.append((u.id, u.name, len(u.townships), len(u.candidates), up.status.name, t1 - t0, up.time_s, t2 - t1))
pickle.dump(rows, open(sys.argv[2], "wb"))
tot = sum(r[7] for r in rows); print("total solve_unit cpu", tot, "build_model", sum(r[5] for r in rows), "solver", sum(r[6] for r in rows))
rows.sort(key=lambda r: -r[7])
for r in rows[:25]: print(r)
import collections
by = collections.Counter(); cnt = collections.Counter()
for r in rows:
    k = r[4]; by[k] += r[7]; cnt[k] += 1
print(by, cnt)
