"""The solve phase alone on worker processes: load a region (全国 by default), build its units, solve_units;
wall, CPU of the main process and of the workers, statuses, a plan digest and the slowest units.

    flock /work/team/country.lock nice -n 5 env PYTHONPATH=/tmp/base python benchmarks/country_solve.py 2
    python benchmarks/country_solve.py 2 北京市,黑龙江省
"""
import hashlib, json, os, resource, sys, time
from planner import regions, executor
from planner.planning import SolveOptions, region_units, solve_units
from planner.rulefile import load_rules
def main():
    rules = load_rules("zhejiang-2026")
    t0 = time.perf_counter()
    units = [u for name in (sys.argv[2] if len(sys.argv) > 2 else "全国").split(",") for u in region_units(regions.load(name), rules)]
    t1 = time.perf_counter(); c1 = time.process_time()
    plan = solve_units(units, rules, SolveOptions(), jobs=int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    t2 = time.perf_counter(); c2 = time.process_time()
    for pool in executor._POOLS.values():
        pool.shutdown(wait=True)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = [(u.unit, u.status.value, u.objective, [(c.lead, c.townships) for c in u.communities], u.explanation) for u in plan.units.values()]
    slow = sorted(((u.time_s, u.unit, u.name) for u in plan.units.values()), reverse=True)[:5]
    print(json.dumps({"load_build_s": round(t1 - t0, 1), "solve_wall_s": round(t2 - t1, 1), "solve_main_cpu_s": round(c2 - c1, 1),
                      "workers_cpu_s": round(kids.ru_utime + kids.ru_stime, 1), "status": plan.status_counts(),
                      "digest": hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode()).hexdigest()[:16],
                      "slowest": [(round(a, 1), b, c) for a, b, c in slow], "load": os.getloadavg()}, ensure_ascii=False), flush=True)

if __name__ == '__main__':
    main()
