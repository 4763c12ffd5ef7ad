"""The first run's load (regions.load with an empty geodata store) of two frozen checkouts, interleaved ABBA.

    python benchmarks/cold_load.py --region 浙江省 --rounds 3 /tmp/main_copy /tmp/branch_copy
    flock /work/team/country.lock nice -n 5 python benchmarks/cold_load.py --region 全国 --rounds 2 A B

Each run is a fresh process importing the planner from that checkout (PYTHONPATH) with
PLANNER_GEODATA_CACHE at a new empty temporary folder (removed after the run; the user's cache
is never read or written). Printed: CPU and wall seconds of `regions.load` per run (then of a
second, warm load in the same folder with --warm), and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

CHILD = """
import json, sys, time
from planner import regions
c, w = time.process_time(), time.perf_counter()
regions.load(sys.argv[1])
print(json.dumps({"cpu": time.process_time() - c, "wall": time.perf_counter() - w}))
"""


def run(checkout: str, region: str, store: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=checkout, PLANNER_GEODATA_CACHE=store)
    out = subprocess.run([sys.executable, "-c", CHILD, region], env=env, cwd=checkout, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rounds", type=int, default=2, help="ABBA rounds (each runs both twice)")
    ap.add_argument("--warm", action="store_true", help="also a warm load after each cold one")
    args = ap.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    order = []
    for _ in range(args.rounds):
        order += [args.a, args.b, args.b, args.a]
    for checkout in order:
        store = tempfile.mkdtemp(prefix="coldstore_bench_")
        try:
            cold = run(checkout, args.region, store)
            warm = run(checkout, args.region, store) if args.warm else None
        finally:
            shutil.rmtree(store, ignore_errors=True)
        r = results.setdefault(checkout, {})
        r.setdefault("cold_cpu", []).append(cold["cpu"])
        r.setdefault("cold_wall", []).append(cold["wall"])
        if warm:
            r.setdefault("warm_cpu", []).append(warm["cpu"])
        load = open("/proc/loadavg").read().split()[0]
        print(f"{checkout:28s} cold cpu {cold['cpu']:6.2f} wall {cold['wall']:6.2f}"
              + (f"  warm cpu {warm['cpu']:5.2f}" if warm else "") + f"  load {load}", flush=True)
    print(f"{args.region}: medians")
    for checkout, r in results.items():
        print(f"{checkout:28s} " + "  ".join(f"{k} {statistics.median(v):6.2f}" for k, v in r.items()))
    a, b = (statistics.median(results[x]["cold_cpu"]) for x in (args.a, args.b))
    print(f"cold CPU {args.a} / {args.b}: x{a / b:.2f}")


if __name__ == "__main__":
    main()
