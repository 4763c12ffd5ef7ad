import pickle, sys, time
import planner.pipeline
from planner import report, planfile
res = pickle.load(open(sys.argv[1], "rb"))
planfile.run_community_tables(res)
ts = []
for _ in range(5):
    res.__dict__.pop("_plan_facts", None)
    c = time.process_time(); report.plan_facts(res); ts.append(time.process_time() - c)
print(sys.argv[2], " ".join(f"{t:.3f}" for t in ts), "min", f"{min(ts):.3f}")
