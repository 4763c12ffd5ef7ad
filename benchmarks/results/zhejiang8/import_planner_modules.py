import sys, time, os, importlib
t = time.process_time(); w = time.perf_counter()
for m in open("benchmarks/results/zhejiang8/planner_modules.txt").read().split():
    importlib.import_module(m)
print(f"{time.process_time() - t:.3f} {time.perf_counter() - w:.3f}")
