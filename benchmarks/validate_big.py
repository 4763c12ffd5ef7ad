"""Validate a large facility file against an embedded region; print the time and the peak memory.

    python benchmarks/validate_big.py                  # 1,000,000 facilities in 义乌市
    python benchmarks/validate_big.py --rows 100000 --region 330782

Writes a synthesized facility CSV (clinics at random points inside the county's townships, every
value made up) to a temporary folder, then times what `planner validate --region R FILE` does:
read the file, parse and check every cell, place every point in its county and township. The
target (issue 13): 1,000,000 rows in under 30 s and 2 GB. The validation runs in a fresh process;
its peak resident memory (VmHWM) includes the imports and the embedded region.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path


def write_facilities(path: Path, region, rows: int, seed: int = 7) -> None:
    """A facility CSV of `rows` village clinics at random points inside the region's townships."""
    import numpy as np
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    towns = region.townships
    pick = rng.integers(0, len(towns), rows)
    # A point inside each township: its seat, nudged within a small box, kept when still inside.
    seats = np.column_stack([towns["seat_lon"].to_numpy(float), towns["seat_lat"].to_numpy(float)])[pick]
    jitter = rng.uniform(-0.004, 0.004, size=(rows, 2))
    pts = seats + jitter
    polys = np.asarray(towns.geometry.values)[pick]
    inside = shapely.contains_xy(polys, pts[:, 0], pts[:, 1])
    pts[~inside] = seats[~inside]
    frame = pd.DataFrame({
        "facility_id": [f"C{n:07d}" for n in range(rows)],
        "name": [f"合成村卫生室{n}" for n in range(rows)],
        "kind": "村卫生室", "grade": "未定级", "ownership": "公立",
        "county_code": towns["county_code"].to_numpy()[pick],
        "township_code": towns.index.to_numpy()[pick],
        "lon": np.round(pts[:, 0], 6), "lat": np.round(pts[:, 1], 6),
    })
    frame.to_csv(path, index=False)


def peak_mb() -> float:
    """This process's peak resident memory: VmHWM (reset by exec, unlike ru_maxrss, which keeps the forking
    parent's), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def validate(path: Path, region_spec: str) -> None:
    """Read and validate one facility file against the region, in this (fresh) process; print the figures."""
    from planner import io, regions
    from planner.validate import region_from_tables

    base = regions.load(region_spec)
    rss_before = peak_mb()
    t1, c1 = time.perf_counter(), time.process_time()
    tables = io.read_tables(path)
    read_s, read_cpu = time.perf_counter() - t1, time.process_time() - c1
    region = region_from_tables(tables, name=base.name, base=base)
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    peak = peak_mb()
    print(f"validate: {wall:.1f} s wall ({cpu:.1f} s CPU), of which reading {read_s:.1f} s ({read_cpu:.1f} s CPU); "
          f"{len(region.facilities):,} facilities kept")
    print(f"peak RSS {peak:,.0f} MB (the region loaded, before reading: {rss_before:,.0f} MB)")
    ok = wall < 30 and peak < 2048
    print("target (< 30 s wall and < 2 GB):", "met" if ok else "NOT met",
          "" if ok or cpu >= 30 else f"(CPU {cpu:.1f} s: the wall time is the shared machine's load)")
    sys.exit(0 if ok else 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--region", default="义乌市")
    ap.add_argument("--validate", default=None, help=argparse.SUPPRESS)  # the child process: validate this file
    args = ap.parse_args()
    if args.validate:
        validate(Path(args.validate), args.region)
    import subprocess

    from planner import regions

    base = regions.load(args.region)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "facilities.csv"
        t0 = time.perf_counter()
        write_facilities(path, base, args.rows)
        print(f"{args.rows:,} facility rows in {base.name}: file of {path.stat().st_size / 2**20:,.0f} MB written in "
              f"{time.perf_counter() - t0:.1f} s")
        # A fresh process, so that the peak memory is the validation's, not the generator's.
        done = subprocess.run([sys.executable, __file__, "--region", args.region, "--validate", str(path)], check=False)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
