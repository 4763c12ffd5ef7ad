"""Time each part of the jobs>1 plan-folder write (pipeline._parallel_parts), one after the other, in one process.

usage: python parts.py RESULT.pkl [--profile OUT.txt]
Prints wall and CPU seconds per part (in the order the two processes claim them), then run.json, the
manifest and the sum: the parts' sizes decide how well two processes share the write."""
import gc, pickle, sys, tempfile, time
from pathlib import Path

from planner import pipeline, planfile
from planner._gc import fewer_collections


def main() -> None:
    t = time.perf_counter()
    with open(sys.argv[1], "rb") as f:
        result = pickle.load(f)
    print(f"unpickled in {time.perf_counter() - t:.1f} s", flush=True)
    prof = None
    if "--profile" in sys.argv:
        import cProfile
        prof = cProfile.Profile()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp, fewer_collections():
        work = Path(tmp)
        if "run_id" not in result.plan.meta:
            pipeline.assign_run_id(result.plan)
        rows = []
        def timed(label, fn):
            w, c = time.perf_counter(), time.process_time()
            if prof: prof.enable()
            fn()
            if prof: prof.disable()
            rows.append((label, time.perf_counter() - w, time.process_time() - c))
            print(f"{rows[-1][1]:7.2f} s wall {rows[-1][2]:7.2f} s CPU  {label}", flush=True)
        timed("community tables (before the fork)", lambda: planfile.run_community_tables(result))
        for k, part in enumerate(pipeline._parallel_parts(result, True)):
            before = set(p.name for p in work.iterdir())
            timed(f"part {k}", lambda: part(result, work))
            new = sorted(set(p.name for p in work.iterdir()) - before)
            print("          ", ", ".join(new))
        timed("run.json", lambda: pipeline._write_run_json(result, work))
        timed("manifest", lambda: planfile.write_manifest(work))
        print(f"{sum(r[1] for r in rows):7.2f} s wall {sum(r[2] for r in rows):7.2f} s CPU  total; "
              f"{sum(p.stat().st_size for p in work.iterdir()) / 1e6:.0f} MB")
    if prof:
        import pstats
        with open(sys.argv[sys.argv.index("--profile") + 1], "w") as out:
            st = pstats.Stats(prof, stream=out)
            st.sort_stats("cumulative").print_stats(80)
            st.sort_stats("tottime").print_stats(50)


if __name__ == "__main__":
    main()
