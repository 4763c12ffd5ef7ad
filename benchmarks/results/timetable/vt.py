"""A/B harness: run_villages (one worker) + check_villages on a plan saved by services_ab.py plan; CPU seconds,
the timetable's CPU inside, table digests, violations by rule, sessions missing and the leads' sessions."""
import collections, hashlib, json, os, pickle, sys, time
pkl, repeat = sys.argv[1], int(sys.argv[2])
import planner
import planner.villages.run as vr
from planner import regions
from planner.rulefile import load_rules
from planner.villages.check import check_villages
with open(pkl, "rb") as f:
    name, rules_name, plan, units, statuses, graph, travel, integrity, timings = pickle.load(f)
region, rules = regions.load(name), list(load_rules(rules_name).rules)
acc = [0.0]
orig = vr.solve_timetable
def wrapped(*a, **k):
    c = time.process_time()
    try:
        return orig(*a, **k)
    finally:
        acc[0] += time.process_time() - c
vr.solve_timetable = wrapped
out = []
for r in range(repeat):
    acc[0] = 0.0
    c0 = time.process_time()
    v = vr.run_villages(region, plan, rules, travel, jobs=1)
    c1 = time.process_time()
    st = check_villages(region, plan, v.tables, rules, travel)
    c2 = time.process_time()
    out.append({"phase_cpu": round(c1 - c0, 3), "check_cpu": round(c2 - c1, 3), "timetable_cpu": round(acc[0], 3)})
sha = {n: hashlib.sha256(t.to_csv(index=False).encode()).hexdigest()[:16] for n, t in v.tables.items()}
viol = {s.rule.id: len(s.violations) for s in st}
tt = v.tables["timetable"]
info = {"sessions": len(tt)}
if "role" in tt.columns:
    info["by_role"] = tt["role"].value_counts().to_dict()
sh = v.tables.get("timetable_shortfalls")
print(json.dumps({"tree": planner.__file__, "region": name, "runs": out, "sha": sha, "violations": viol,
                  "timetable": info, "timetable_columns": list(tt.columns), "shortfall_rows": 0 if sh is None else len(sh),
                  "load": os.getloadavg()}, ensure_ascii=False))
