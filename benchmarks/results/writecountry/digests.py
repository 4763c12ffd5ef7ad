"""Write a pickled RunResult's plan folder (write_outputs, --jobs) with whichever planner is on the path; print each file's SHA-256.

usage: python digests.py RESULT.pkl OUT_DIR JOBS > digests.txt     (compare two codes' outputs with diff)"""
import hashlib, inspect, pickle, sys, time
from pathlib import Path

import planner.pipeline as pipeline

with open(sys.argv[1], "rb") as f:
    result = pickle.load(f)
t, c = time.perf_counter(), time.process_time()
kw = {"jobs": int(sys.argv[3])} if "jobs" in inspect.signature(pipeline.write_outputs).parameters else {}
out = pipeline.write_outputs(result, Path(sys.argv[2]), **kw)
print(f"# write {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU (this process)", file=sys.stderr)
for p in sorted(Path(out).rglob("*")):
    if p.is_file():
        print(hashlib.sha256(p.read_bytes()).hexdigest(), p.relative_to(out))
