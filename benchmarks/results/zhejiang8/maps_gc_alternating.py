import gc, pickle, sys, time, shutil
from pathlib import Path
from planner.render import render_run
from planner.report import cached_facts
res = pickle.load(open('/tmp/z8_zj.pkl', 'rb'))
from planner.villages.layers import register; register()
cached_facts(res)
old = gc.get_threshold()
for rep in range(3):
    for mode in ("default", "50k"):
        gc.set_threshold(*(old if mode == "default" else (50_000, old[1], old[2])))
        out = Path(f"/tmp/z8_gc_{mode}"); shutil.rmtree(out, ignore_errors=True)
        t = time.process_time(); render_run(res, out, jobs=1, tiles="none", stamp_date="2026-12-01")
        print(mode, round(time.process_time() - t, 3), gc.get_stats()[2]["collections"], flush=True)
        gc.set_threshold(*old)
