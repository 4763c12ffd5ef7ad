"""check_villages repeated on pickled tables: CPU and wall per run, and a digest of the violations.
usage: vt.py TABLES.pkl REPEAT [perturb] [profile_out]"""
import resource, os, hashlib, pickle, sys, time, cProfile, pstats
from planner import regions
from planner.rulefile import load_rules
from planner.villages.check import check_villages

path, rep = sys.argv[1], int(sys.argv[2])
perturb = len(sys.argv) > 3 and sys.argv[3] == "perturb"
prof = sys.argv[4] if len(sys.argv) > 4 else None
with open(path, "rb") as f:
    name, rules_name, plan, travel, tables = pickle.load(f)
rules = list(load_rules(rules_name).rules)
region = regions.load(name)
if perturb:
    tables = dict(tables)
    r = tables["routes"]; tables["routes"] = r[[i % 7 != 0 for i in range(len(r))]]
    t = tables["timetable"]; tables["timetable"] = t[[i % 5 != 0 for i in range(len(t))]]
    m = tables["village_modes"]; tables["village_modes"] = m[[i % 11 != 0 for i in range(len(m))]]
region.villages; region.facilities; region.staff; region.village_counties()  # loaded before timing
for k in range(rep):
    p = cProfile.Profile() if prof and k == rep - 1 else None
    w0, c0, r0 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if p: p.enable()
    st = check_villages(region, plan, tables, rules, travel, **({"jobs": int(os.environ["JOBS"])} if os.environ.get("JOBS") else {}))
    if p: p.disable()
    w1, c1, r1 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN); kid = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    h = hashlib.sha256()
    n = []
    for s in st:
        n.append((s.rule.id, s.units_checked, len(s.violations)))
        for v in s.violations:
            h.update(repr((v.unit, v.unit_name, v.rule_id, v.citation, str(v.message), getattr(v.message, "zh", None), v.hard)).encode())
    print(f"{name} perturb={perturb} run {k}: wall {w1-w0:.3f} cpu {c1-c0:.3f} children {kid:.3f} {n} digest {h.hexdigest()[:16]}", flush=True)
    if p:
        p.dump_stats(prof + ".prof")
        with open(prof + ".txt", "w") as fh:
            s_ = pstats.Stats(p, stream=fh); s_.sort_stats("tottime").print_stats(50); s_.sort_stats("cumulative").print_stats(50)
