"""Draw the maps and reports of a pickled run (as the maps phase of regions.py): render_run + write_reports.

usage: draw.py PICKLE OUTDIR [--jobs N] [--profile F] [--reps N]; prints CPU and wall per rep."""
import argparse, os, pickle, shutil, sys, time, cProfile
from pathlib import Path
ap = argparse.ArgumentParser()
ap.add_argument("pickle"); ap.add_argument("out"); ap.add_argument("--jobs", type=int, default=1)
ap.add_argument("--profile"); ap.add_argument("--reps", type=int, default=1); ap.add_argument("--offline", action="store_true")
ap.add_argument("--tiles", default="osm"); ap.add_argument("--dense-pairs", type=int)
a = ap.parse_args()
import planner
from planner.render import render_run
from planner.report import write_reports, cached_facts
t0 = time.perf_counter()
with open(a.pickle, "rb") as f:
    res = pickle.load(f)
if getattr(res, 'villages', None) is not None:
    from planner.villages.layers import register
    register()   # as run_plan does
if a.dense_pairs is not None:
    import planner.access.layers as _al; _al.DENSE_PAIRS = a.dense_pairs
cached_facts(res)   # the write phase computed them before the maps phase
print("code", planner.__file__, "load", round(time.perf_counter() - t0, 2), flush=True)
for rep in range(a.reps):
    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    (out / "plan").mkdir(parents=True)
    prof = cProfile.Profile(time.process_time) if a.profile else None
    c0 = os.times(); t = time.perf_counter()
    if prof: prof.enable()
    render_run(res, out / "maps", jobs=a.jobs, offline=a.offline, tiles=a.tiles, stamp_date="2026-12-01")
    c1 = os.times(); t1 = time.perf_counter()
    write_reports(res, out / "plan")
    if prof: prof.disable(); prof.dump_stats(a.profile)
    c2 = os.times(); t2 = time.perf_counter()
    cpu = lambda x, y: round(y.user - x.user + y.system - x.system + y.children_user - x.children_user + y.children_system - x.children_system, 2)
    print(f"rep {rep}: maps {t1-t:.2f} s wall {cpu(c0,c1)} s CPU; reports {t2-t1:.2f} s wall {cpu(c1,c2)} s CPU; "
          f"total CPU {cpu(c0,c2)}; load {os.getloadavg()[0]:.1f}", flush=True)
