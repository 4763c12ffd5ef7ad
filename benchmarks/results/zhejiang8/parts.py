"""CPU seconds of the write phase's parts of a pickled run, each timed alone (median of N), in one process.

usage: parts.py PICKLE [N]"""
import pickle, sys, time, statistics, tempfile
from pathlib import Path
res0 = pickle.load(open(sys.argv[1], "rb"))
n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
from planner import report, planfile, pipeline, io
from planner.villages import outputs as vo
from planner.access.report import write_access_report

def fresh():
    r = pickle.load(open(sys.argv[1], "rb"))
    return r

def timeit(label, prep, fn):
    ts = []
    for _ in range(n):
        arg = prep()
        t = time.process_time(); fn(arg); ts.append(time.process_time() - t)
    print(f"{label:28s} {statistics.median(ts):.3f} s CPU  ({', '.join(f'{x:.3f}' for x in ts)})", flush=True)

tmp = Path(tempfile.mkdtemp())
def cached():
    r = fresh(); report.cached_facts(r); return r
timeit("community_tables", fresh, lambda r: planfile.run_community_tables(r))
timeit("plan_facts", fresh, lambda r: report.plan_facts(r))
timeit("write_reports (facts made)", cached, lambda r: report.write_reports(r, tmp))
timeit("access report", cached, lambda r: write_access_report(r, tmp))
timeit("plan part", cached, lambda r: pipeline._write_plan_part(r, tmp))
timeit("services", cached, lambda r: pipeline._write_services(r, tmp))
timeit("access tables", cached, lambda r: pipeline._write_access_part(r, tmp))
timeit("village workbook", lambda: res0, lambda r: vo.write_village_workbook(r.villages, tmp))
timeit("village tables (csv)", lambda: res0, lambda r: [vo.write_village_table(r.villages, tmp, k) for k in vo.TABLES])
