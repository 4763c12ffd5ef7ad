"""Write the plan folder (write_outputs, jobs 1) and the maps (render_run, jobs 1, fixed stamp) of a pickled run into OUT
with whatever planner PYTHONPATH gives, then print CPU seconds per phase and the SHA-256 of every file (for diffing).

usage: PYTHONPATH=<tree> python write_folder.py PICKLE OUT"""
import hashlib, os, pickle, shutil, sys, time
from pathlib import Path
import planner
from planner.pipeline import write_outputs
from planner.render import render_run
res = pickle.load(open(sys.argv[1], "rb"))
if getattr(res, "villages", None) is not None:
    from planner.villages.layers import register
    register()
out = Path(sys.argv[2]); shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
c0 = time.process_time(); w0 = time.perf_counter()
write_outputs(res, out / "plan")
c1 = time.process_time(); w1 = time.perf_counter()
render_run(res, out / "maps", jobs=1, tiles="none", stamp_date="2026-12-01")
c2 = time.process_time(); w2 = time.perf_counter()
print(f"code {planner.__file__}: write {c1-c0:.2f} s CPU ({w1-w0:.2f} wall), maps {c2-c1:.2f} s CPU ({w2-w1:.2f} wall)", file=sys.stderr)
for p in sorted(out.rglob("*")):
    if p.is_file():
        print(hashlib.sha256(p.read_bytes()).hexdigest()[:16], p.relative_to(out))
