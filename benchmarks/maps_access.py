"""Benchmark the county pages' emergency-reach layer on the whole country's data: each township's minutes to the
nearest center of each of the five kinds, page by page, by every center (main before mapsfast2) and by the k-d tree.

    python benchmarks/maps_access.py                 # every 5th county both ways, then every county by the tree

Reads the embedded facilities and township seats directly (no planning, about 300 MB), groups the townships by
county (a county page each) and calls `planner.access.layers.nearest_minutes` as `access_layers` does, once with
the dense path forced (`DENSE_PAIRS` huge: the township x center matrix of the country's centers, as every page
did before) and once as shipped; prints the CPU seconds of both and whether the minutes are equal to the bit.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

CENTERS = ("chest_pain_center", "stroke_center", "trauma_center", "maternal_critical_center", "neonatal_critical_center")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=int, default=5, help="compare on every n-th county (default 5)")
    args = ap.parse_args()
    from planner.access import layers
    from planner.regions import data_dir
    from planner.travel import Points, TravelModel

    facs, towns = [], []
    for f in sorted(glob.glob(str(Path(data_dir()) / "province_*.gpkg.zip"))):
        df = pyogrio.read_dataframe(f, layer="facilities", columns=[*CENTERS, "facility_id"])
        facs.append(df[df[list(CENTERS)].fillna(False).astype(bool).any(axis=1)])
        towns.append(pyogrio.read_dataframe(f, layer="townships", columns=["county_code", "seat_lon", "seat_lat"],
                                            read_geometry=False))
    fac = gpd.GeoDataFrame(pd.concat(facs, ignore_index=True).set_index("facility_id"), geometry="geometry")
    tw = pd.concat(towns, ignore_index=True)
    lon, lat = tw["seat_lon"].to_numpy(float), tw["seat_lat"].to_numpy(float)
    groups = list(tw.groupby("county_code", sort=True).indices.items())
    counts = {c: int(fac[c].fillna(False).astype(bool).sum()) for c in CENTERS}
    print(f"load {os.getloadavg()[0]:.1f}; centers {counts}; {len(tw):,} townships in {len(groups):,} counties", flush=True)
    travel, shipped = TravelModel(), layers.DENSE_PAIRS

    def run(gs, dense: bool):
        layers.DENSE_PAIRS = 10**15 if dense else shipped
        t = time.process_time()
        out = [[layers.nearest_minutes(travel, Points.from_xy([str(i) for i in pos], lon[pos], lat[pos]), fac, c)
                for c in CENTERS] for _code, pos in gs]
        return time.process_time() - t, out

    t = time.process_time()
    for c in CENTERS:                    # built once per run, before the pages (render._prepare)
        layers._tree_of(fac, c)
    tree_build = time.process_time() - t
    sample = groups[::args.every]
    dense_s, d = run(sample, True)
    tree_s, tr = run(sample, False)
    same = all(np.array_equal(a, b) for x, y in zip(d, tr) for a, b in zip(x, y))
    print(f"{len(sample)} counties (every {args.every}th): every center {dense_s:.2f} s CPU, k-d tree {tree_s:.2f} s CPU "
          f"(x{dense_s / tree_s:.0f}); minutes equal to the bit: {same}")
    all_s, _ = run(groups, False)
    print(f"all {len(groups):,} counties: k-d tree {all_s:.2f} s CPU (+ {tree_build:.2f} s building the trees); every "
          f"center, extrapolated from the sample: {dense_s * len(groups) / len(sample):.1f} s CPU; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
