"""The sub-regions the country's dispatch cuts (provinces and cities), timed in this process and in forked children (CPU, page faults)."""
import time, os, gc, resource
from planner import regions
reg = regions.load("全国")
province_of = reg.counties["province_code"].to_dict()
groups = [sorted(c for c, p in province_of.items() if p == prov) for prov in sorted(set(province_of.values()))]
cities = sorted(set(reg.counties["city_code"]))
city_groups = [[c for c in reg.city_counties(city) if c in reg.counties.index] for city in cities]
cut = reg.cutter()
def run(tag):
    r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.process_time()
    for g in groups + city_groups: cut.part(g)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(tag, "cpu", round(time.process_time() - t, 2), "minflt", r1.ru_minflt - r0.ru_minflt, "majflt", r1.ru_majflt - r0.ru_majflt, "sys", round(r1.ru_stime - r0.ru_stime, 2), flush=True)
run("parent 1")
gc.freeze()
for k in range(2):
    pid = os.fork()
    if pid == 0:
        run(f"child {k} pass 1"); run(f"child {k} pass 2"); os._exit(0)
    os.waitpid(pid, 0)
run("parent 2")
