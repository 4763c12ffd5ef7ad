import gc, time, sys
ev = []
st = {}
def cb(phase, info):
    if phase == "start": st["t"] = time.process_time()
    else: ev.append((info["generation"], time.process_time() - st["t"], info["collected"]))
gc.callbacks.append(cb)
c0 = time.process_time()
from planner import regions
from planner.pipeline import run_plan, write_outputs
from planner.planning import SolveOptions
from planner.rulefile import load_rules
c1 = time.process_time()
g = {0: 0, 1: 0, 2: 0}
for gen, t, _ in ev: g[gen] += t
print(f"import cpu {c1-c0:.3f}; gc time by gen", {k: round(v, 3) for k, v in g.items()}, "counts", [sum(1 for e in ev if e[0]==k) for k in range(3)], "objects", len(gc.get_objects()))
