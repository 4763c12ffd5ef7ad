import pickle, time, sys
from planner import render as R
res = pickle.load(open("/tmp/mf2/hn.pkl", "rb"))
from planner.villages import layers as vl; vl.register()
run = R._new_run(res, R.MapOptions("zh", False, "osm", None, "grouped").checked(), [], None, None)
t = time.process_time(); [R._unit_key(run, u) for u in res.units]; a = time.process_time() - t
t = time.process_time(); [R._unit_key(run, u) for u in res.units]; b = time.process_time() - t
print(R.__file__, "first", round(a, 3), "second", round(b, 3))
