"""CPU seconds per phase of regions.py's one-run (浙江省, jobs 1, maps), two trees interleaved in both orders.

Each run is a fresh process running benchmarks/regions.py --one of its tree with time.perf_counter
replaced by time.process_time before anything is imported, so every phase figure regions.py and the
pipeline report (import, load, build, solve, ..., maps, total) is the process's CPU seconds in that phase.
Order per round alternates: A B, B A, A B, ...
"""
import json, os, statistics, subprocess, sys
A, B, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
out_json = sys.argv[4] if len(sys.argv) > 4 else None
KEYS = ("import_s", "load_s", "build_s", "solve_s", "check_s", "dispatch_s", "dialysis_s", "access_s", "villages_s",
        "villages_check_s", "write_s", "maps_s", "total_s", "cpu_s")
CHILD = ("import time, runpy, sys; time.perf_counter = time.process_time; "
         "sys.argv = [sys.argv[1], '--one', '浙江省', '--jobs', '1']; runpy.run_path(sys.argv[0], run_name='__main__')")
runs = {A: [], B: []}
for r in range(rounds):
    for tree in ((A, B) if r % 2 == 0 else (B, A)):
        env = {**os.environ, "PYTHONPATH": tree}
        p = subprocess.run(["nice", "-n", "5", sys.executable, "-c", CHILD, os.path.join(tree, "benchmarks/regions.py")],
                           capture_output=True, text=True, check=True, env=env, cwd=tree)
        row = json.loads(p.stdout.strip().splitlines()[-1])
        runs[tree].append(row)
        print(f"round {r} {'A' if tree == A else 'B'} total {row['total_s']:.2f} cpu {row['cpu_s']:.2f} load {os.getloadavg()[0]:.1f}", flush=True)
print(f"{'phase (CPU s)':18s} {'A':>8s} {'B':>8s} {'A/B':>6s}   A = {A}, B = {B}, medians of {rounds}")
for k in KEYS:
    a = statistics.median(x[k] for x in runs[A]); b = statistics.median(x[k] for x in runs[B])
    print(f"{k:18s} {a:8.3f} {b:8.3f} {a / b if b else float('nan'):6.2f}")
if out_json:
    json.dump({"A": A, "B": B, "runs": runs}, open(out_json, "w"), ensure_ascii=False, indent=1)
