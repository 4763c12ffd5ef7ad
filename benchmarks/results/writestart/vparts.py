"""Time the village tables' parts in one process (CPU s, thread CPU included): each CSV, the workbook."""
import pickle, sys, time, tempfile, resource
from pathlib import Path
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF); return u.ru_utime + u.ru_stime
import planner.pipeline
from planner import io
from planner.villages import outputs as vo
from planner.villages.run import TABLES
res = pickle.load(open(sys.argv[1], "rb"))
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
v = res.villages
for name in TABLES:
    t = v.table(name); print(name, t.shape, dict(t.dtypes.astype(str).value_counts()))
with tempfile.TemporaryDirectory() as tmp:
    for r in range(reps):
        out = {}
        for name in TABLES:
            c = cpu(); vo.write_village_table(v, Path(tmp), name); out[name] = cpu() - c
        c = cpu(); vo.write_village_workbook(v, Path(tmp)); out["xlsx"] = cpu() - c
        print(" ".join(f"{k}={x:.3f}" for k, x in out.items()), f"total={sum(out.values()):.3f}")
