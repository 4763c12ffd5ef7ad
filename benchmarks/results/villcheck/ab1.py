"""Country A/B in one process: main's villages/check.py (loaded from the frozen copy, its imports resolve to this
tree's planner modules, unchanged between the two) against this branch's, alternating; then the perturbed tables."""
import hashlib, importlib.util, pickle, resource, sys, time
from planner import regions
from planner.rulefile import load_rules
import planner.villages.check as new

spec = importlib.util.spec_from_file_location("planner.villages._check_main", "/tmp/vc/base/planner/villages/check.py")
old = importlib.util.module_from_spec(spec); sys.modules[spec.name] = old; spec.loader.exec_module(old)

path = sys.argv[1]
with open(path, "rb") as f:
    name, rules_name, plan, travel, tables = pickle.load(f)
rules = list(load_rules(rules_name).rules)
region = regions.load(name)
region.villages; region.facilities; region.staff; region.village_counties()

def key(st):
    return [(s.rule.id, s.units_checked, [(v.unit, v.unit_name, v.rule_id, v.citation, str(v.message), v.message.zh, v.hard) for v in s.violations]) for s in st]

def run(label, fn, tabs, **kw):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0, c0 = time.perf_counter(), time.process_time()
    st = fn(region, plan, tabs, rules, travel, **kw)
    w1, c1 = time.perf_counter(), time.process_time()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    kid = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    k = key(st)
    d = hashlib.sha256(repr(k).encode()).hexdigest()[:16]
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[0]
    print(f"{time.strftime('%H:%M:%S', time.gmtime())} {label:12s} wall {w1-w0:6.2f} cpu {c1-c0:6.2f} workers {kid:5.2f} "
          f"load {load} {[(a, b, len(c)) for a, b, c in k]} {d}", flush=True)
    return k

ref = None
for label in sys.argv[2].split(","):
    fn, kw = (old.check_villages, {}) if label == "main" else (new.check_villages, {"jobs": 2 if label == "new2" else 1})
    k = run(label, fn, tables, **kw)
    ref = ref or k
    assert k == ref, label
pt = dict(tables)
r = pt["routes"]; pt["routes"] = r[[i % 7 != 0 for i in range(len(r))]]
t = pt["timetable"]; pt["timetable"] = t[[i % 5 != 0 for i in range(len(t))]]
m = pt["village_modes"]; pt["village_modes"] = m[[i % 11 != 0 for i in range(len(m))]]
a = run("main perturb", old.check_villages, pt)
b = run("new2 perturb", new.check_villages, pt, jobs=2)
print("perturbed identical:", a == b, flush=True)
