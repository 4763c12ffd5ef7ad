import pickle, sys, time
import planner.pipeline
from planner import io
from planner.villages.run import TABLES
res = pickle.load(open(sys.argv[1], "rb"))
sheets = {name: res.villages.table(name) for name in TABLES}
ts = []
for _ in range(5):
    c = time.process_time()
    for fr in sheets.values():
        for piece in io._xlsx_sheet_parts(io.XlsxSheet(fr)): pass
    ts.append(time.process_time() - c)
print(sys.argv[2], " ".join(f"{t:.3f}" for t in ts), "median", f"{sorted(ts)[2]:.3f}")
