"""CPU seconds of the load and build phases (regions.load, the contiguity graph, the units) of a region, this code
against another checkout, in fresh processes run interleaved.

    python benchmarks/load_build.py --region 河南省 --baseline /tmp/main
    flock /work/team/country.lock nice -n 5 python benchmarks/load_build.py --region 全国 --baseline /tmp/main --rounds 2

Each round runs the baseline, then this code with the geodata store (planner.geostore) warm; the
first round also runs this code with an empty store first ("cold": it reads the GeoPackages and
fills the store). The store is a folder of its own under the system's temp folder, removed at the
end, so the user's cache is neither read nor changed. CPU time is the process's own (one worker);
on a shared machine it varies far less than wall time. Printed: each run, then the medians and
the ratio baseline / this (warm).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _child import run_child

PHASES = ("load", "contiguity", "units", "total")


def one(region: str, rules_name: str) -> dict[str, float]:
    """Load and build once in this process; CPU seconds per phase."""
    from planner import regions
    from planner.adjacency import contiguity_graph
    from planner.rulefile import load_rules
    from planner.travel import TravelModel
    from planner.units import build_units

    rules = load_rules(rules_name)
    cpu: dict[str, float] = {}
    c0 = time.process_time()
    reg = regions.load(region)
    c1 = time.process_time()
    graph = contiguity_graph(reg.townships, reg.counties)
    c2 = time.process_time()
    build_units(reg, rules.rules, TravelModel(rules.travel.detour_factor, rules.travel.speed_kph), graph)
    c3 = time.process_time()
    cpu.update(load=c1 - c0, contiguity=c2 - c1, units=c3 - c2, total=c3 - c0)
    return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", help="another checkout (e.g. `git worktree add /tmp/main main`), run interleaved")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.region, args.rules)))
        return
    store = Path(tempfile.mkdtemp(prefix="planner-geostore-bench-"))
    runs: dict[str, list[dict[str, float]]] = {}
    loads = []

    def run(label: str, path: str | None, store_env: str) -> None:
        loads.append(Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?")
        cpu = run_child(__file__, ["--one", "--region", args.region, "--rules", args.rules], path,
                        {"PLANNER_GEODATA_CACHE": store_env})
        runs.setdefault(label, []).append(cpu)
        print(f"  {label:9s} " + "  ".join(f"{p} {cpu[p]:6.2f}" for p in PHASES), flush=True)

    try:
        for k in range(args.rounds):
            if args.baseline:
                run("baseline", args.baseline, "off")
            if k == 0:
                run("cold", None, str(store))
            run("warm", None, str(store))
    finally:
        shutil.rmtree(store, ignore_errors=True)
    print(f"{args.region}, {args.rules}: CPU seconds, median of the runs above (1-min load average {min(loads)}-{max(loads)})")
    labels = list(runs)
    print(f"{'phase':>10} " + " ".join(f"{label:>9}" for label in labels) + ("   baseline/warm" if "baseline" in runs else ""))
    med = {label: {p: statistics.median(r[p] for r in rs) for p in PHASES} for label, rs in runs.items()}
    for p in PHASES:
        line = f"{p:>10} " + " ".join(f"{med[label][p]:9.2f}" for label in labels)
        if "baseline" in med and med["warm"][p] > 0:
            line += f"   x{med['baseline'][p] / med['warm'][p]:.2f}"
        print(line)


if __name__ == "__main__":
    main()
