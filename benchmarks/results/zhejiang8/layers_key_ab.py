import pickle, time, sys, importlib.util
res = pickle.load(open('/tmp/z8_zj.pkl', 'rb'))
def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=None)
    m = importlib.util.module_from_spec(spec); m.__package__ = "planner.villages"; spec.loader.exec_module(m); return m
new = load('/work/wt/zhejiang8/planner/villages/layers.py', 'planner.villages.layers_new')
old = load('/tmp/base_z8/planner/villages/layers.py', 'planner.villages.layers_old')
new.prepare(res); old.prepare(res)
for rep in range(3):
    for name, m in (("old", old), ("new", new)):
        t = time.process_time(); keys = [m.layers_key(res, u) for u in res.units]; print(name, round(time.process_time() - t, 4))
