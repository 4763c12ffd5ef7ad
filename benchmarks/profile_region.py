"""Profile one region end to end (cProfile) and keep the output: a .prof file and the top functions as text.

    python benchmarks/profile_region.py --region 浙江省 --out benchmarks/results/profile_zhejiang
    python benchmarks/profile_region.py --region 浙江省 --maps --out benchmarks/results/profile_zhejiang_maps

Runs what benchmarks/regions.py times (load, build, solve, check, dispatch, dialysis, write and,
with --maps, the maps and reports) under cProfile in this process with one worker, then writes
OUT.prof (read it with `python -m pstats OUT.prof` or snakeviz) and OUT.txt: the phase times and
the functions ranked by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--maps", action="store_true", help="also render the maps and reports")
    ap.add_argument("--top", type=int, default=60)
    ap.add_argument("--out", required=True, help="output path without extension")
    args = ap.parse_args()
    from planner import regions
    from planner.pipeline import run_plan, write_outputs
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    rules = load_rules(args.rules)
    prof = cProfile.Profile()
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        prof.enable()
        reg = regions.load(args.region)
        phases["load_s"] = time.perf_counter() - t0
        result = run_plan(reg, rules, SolveOptions(), jobs=1)
        phases.update(result.timings_s)
        t1 = time.perf_counter()
        write_outputs(result, Path(tmp) / "plan")
        phases["write_s"] = time.perf_counter() - t1
        if args.maps:
            from planner.render import render_run

            t2 = time.perf_counter()
            render_run(result, Path(tmp) / "maps", jobs=1)
            phases["maps_s"] = time.perf_counter() - t2
        prof.disable()
        phases["total_s"] = time.perf_counter() - t0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    prof.dump_stats(str(out.with_suffix(".prof")))
    buf = io.StringIO()
    buf.write(f"region {args.region}, rules {args.rules}, one worker, under cProfile (times inflated by it)\n")
    buf.write("phases: " + ", ".join(f"{k}={v:.2f}" for k, v in phases.items()) + "\n\n")
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("cumulative").print_stats(args.top)
    st.sort_stats("tottime").print_stats(args.top)
    out.with_suffix(".txt").write_text(buf.getvalue(), encoding="utf-8")
    print(buf.getvalue().splitlines()[1])


if __name__ == "__main__":
    main()
