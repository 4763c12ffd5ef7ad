"""Maps phase of a pickled run, one process, with CPU seconds per section (wrapped functions; nested sections overlap)."""
import pickle, sys, time, collections, functools, shutil
from pathlib import Path
import planner
from planner import render, report
from planner.access import layers as al
res = pickle.load(open(sys.argv[1], "rb"))
if getattr(res, "villages", None) is not None:
    from planner.villages import layers as vl
    vl.register()
report.cached_facts(res)
acc = collections.Counter(); cnt = collections.Counter()
def wrap(mod, name, label=None):
    f = getattr(mod, name); label = label or name
    @functools.wraps(f)
    def w(*a, **k):
        t = time.process_time()
        try: return f(*a, **k)
        finally: acc[label] += time.process_time() - t; cnt[label] += 1
    setattr(mod, name, w)
    return w
for n in ["_new_run", "_unit_key", "_draw_all", "overview_page", "unit_page", "page_html", "_dialysis_minutes", "_roster_lines",
          "_facility_html", "_township_popup", "_township_tip", "_dissolve", "_tuples", "_prepare", "_rule_list", "_write_unit_shell", "_folium_shell", "_unit_towns", "community_graph", "community_colors"]:
    if hasattr(render, n): wrap(render, n)
wrap(render.Page, "data_json", "Page.data_json")
wrap(render._Proj, "geojson", "Proj.geojson")
wrap(render.io, "write_text", "io.write_text")
w = wrap(al, "access_layers"); 
if getattr(res, "villages", None) is not None:
    i = render.UNIT_LAYERS.index(vl.village_layers); render.UNIT_LAYERS[i] = wrap(vl, "village_layers")
wrap(report, "write_reports")
out = Path(sys.argv[2]); shutil.rmtree(out, ignore_errors=True); (out / "plan").mkdir(parents=True)
t = time.process_time()
render.render_run(res, out / "maps", jobs=1, stamp_date="2026-12-01")
t1 = time.process_time()
report.write_reports(res, out / "plan")
t2 = time.process_time()
print("code", planner.__file__)
print(f"render_run {t1-t:.2f} s CPU, write_reports {t2-t1:.2f}")
for k, v in acc.most_common():
    print(f"  {k:22s} {v:7.3f} s  ({cnt[k]} calls)")
