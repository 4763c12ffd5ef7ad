"""Rebuild the county districting instances in this folder from the authors' public repositories.

Inputs (snapshots of two public GitHub repositories, e.g. from ``git clone``):

* ``--validi``: github.com/hamidrezavalidi/Political-Districting-to-Minimize-Cut-Edges, whose
  ``data/county/dual_graphs/county<FIPS>.json`` are Daryl DeFord's 2010 county dual graphs
  (``TOTPOP`` population, ``C_X``/``C_Y`` centroid lon/lat, ``adjacency``);
* ``--lykhovyd``: github.com/zhelih/districting, the code and results of Validi, Buchanan and
  Lykhovyd (Operations Research 2022): ``computational_results/results/counties/
  districting_counties.csv`` (per state and model: k, L, U, objective, MIP gap, times) and
  ``.../blk/<model>/<ST>_<model>.blk`` (the plan: one ``GEOID district`` line per county).

Which states: those with k >= 2 where a contiguity model (shir, mcf, cut, lcut) reports a
feasible plan with MIP gap 0.00 (a proven optimum). The vertex order is the ``.blk`` order.

The distance projection is not in the published files (the authors computed the matrix in
QGIS): for each state the script tries the NAD83(NSRS2007) state-plane zones in metres and keeps
the first (lowest EPSG code) under which the published plan re-costs to the published optimum
to the cent; a state where none does is reported and skipped. The benchmark re-checks this on
every run.

Usage::

    python benchmarks/data/districting/extract.py --validi PATH --lykhovyd PATH [--states AL,AR]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FIPS = {"AL": "01", "AR": "05", "IA": "19", "ID": "16", "KS": "20", "LA": "22", "ME": "23", "MS": "28",
        "NE": "31", "NM": "35", "OK": "40", "WV": "54", "CO": "08", "NH": "33", "OR": "41", "SC": "45",
        "UT": "49"}
NAMES = {"AL": "Alabama", "AR": "Arkansas", "IA": "Iowa", "ID": "Idaho", "KS": "Kansas", "LA": "Louisiana",
         "ME": "Maine", "MS": "Mississippi", "NE": "Nebraska", "NM": "New Mexico", "OK": "Oklahoma",
         "WV": "West Virginia", "CO": "Colorado", "NH": "New Hampshire", "OR": "Oregon",
         "SC": "South Carolina", "UT": "Utah"}
CONTIGUITY_MODELS = ("shir", "cut", "lcut", "mcf")


def read_results(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    """``districting_counties.csv`` as {state: {model: row}}."""
    path = root / "computational_results/results/counties/districting_counties.csv"
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, skipinitialspace=True))
    header = [h.strip() for h in rows[0]]
    out: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows[1:]:
        rec = dict(zip(header, (v.strip() for v in row)))
        out.setdefault(rec["state"], {})[rec["model"]] = rec
    return out


def candidate_epsg(state: str) -> list[int]:
    """NAD83(NSRS2007) state-plane zones of the state in metres, lowest code first."""
    from pyproj.database import query_crs_info

    name = f"NAD83(NSRS2007) / {NAMES[state]}"
    codes = [int(c.code) for c in query_crs_info(auth_name="EPSG")
             if c.name.startswith(name) and "ftUS" not in c.name and "CS2000" not in c.name
             and c.name[len(name):len(name) + 1] in ("", " ")]
    return sorted(codes)


def km_matrix(lon: np.ndarray, lat: np.ndarray, epsg: int) -> np.ndarray:
    """Planar centroid distances in whole km (half to even), as ``benchmarks/districting.py``."""
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4269", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    metres = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    return np.vectorize(lambda v: round(v / 1000.0))(metres).astype(np.int64)


def centroids(state: str, validi: Path, nodes: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Centroid lon/lat: the graph's ``C_X``/``C_Y`` or, where missing (MS), the same from the shapefile.

    ``C_X``/``C_Y`` are the polygon centroids computed in NAD83 degrees (they equal
    ``shapely``'s centroid of ``data/county/shape_files/<ST>_county.shp`` to 1e-12 degrees).
    """
    if all("C_X" in n for n in nodes):
        return (np.array([float(n["C_X"]) for n in nodes]), np.array([float(n["C_Y"]) for n in nodes]))
    import warnings

    import geopandas as gpd

    shapes = gpd.read_file(validi / f"data/county/shape_files/{state}_county.shp").set_index("GEOID10")
    with warnings.catch_warnings():  # a centroid in degrees is what the authors used
        warnings.simplefilter("ignore")
        c = shapes.geometry.centroid
    geoids = [n["GEOID10"] for n in nodes]
    return c.loc[geoids].x.to_numpy(), c.loc[geoids].y.to_numpy()


def plan_cost(cost: np.ndarray, labels: np.ndarray) -> int:
    """Cost of a partition with each district at its best center."""
    total = 0
    for d in np.unique(labels):
        members = np.flatnonzero(labels == d)
        total += int(min(cost[members, j].sum() for j in members))
    return total


def extract(state: str, validi: Path, lykhovyd: Path, results: dict) -> dict[str, str] | None:
    """Write ``<state>.csv`` and ``<state>.edges``; return the ``instances.csv`` row (None: skipped)."""
    rows = results[state]
    proven = [m for m in CONTIGUITY_MODELS if m in rows and rows[m]["Found feasbile?"] == "Y"
              and rows[m]["Mipgap"] == "0.00"]
    if int(rows["hess"]["k"]) < 2 or not proven:
        print(f"{state}: skipped (k = {rows['hess']['k']}, proven contiguity models: {proven or 'none'})")
        return None
    optimum = float(rows[proven[0]]["Objval"])
    graph = json.loads((validi / f"data/county/dual_graphs/county{FIPS[state]}.json").read_text())
    by_geoid = {node["GEOID10"]: i for i, node in enumerate(graph["nodes"])}
    for model in proven:
        blk = lykhovyd / f"computational_results/results/counties/blk/{model}/{state}_{model}.blk"
        if not blk.exists():
            continue
        plan = [line.split() for line in blk.read_text().splitlines() if line.strip()]
        order = [by_geoid[g] for g, _ in plan]  # vertex i of ours = node order[i] of the dual graph
        if sorted(order) != list(range(len(graph["nodes"]))):
            raise SystemExit(f"{state}: {blk.name} does not list every county once")
        labels = np.array([int(d) for _, d in plan])
        nodes = [graph["nodes"][j] for j in order]
        pop = np.array([int(n["TOTPOP"]) for n in nodes], dtype=np.int64)
        lon, lat = centroids(state, validi, nodes)
        for epsg in candidate_epsg(state):
            cost = pop[:, None] * km_matrix(lon, lat, epsg) ** 2
            if abs(plan_cost(cost, labels) / 1e6 - optimum) <= 0.005:
                break
        else:
            print(f"{state}: {model} plan matches the optimum under none of {candidate_epsg(state)}")
            continue
        position = {j: i for i, j in enumerate(order)}
        edges = sorted({tuple(sorted((position[a], position[nb["id"]])))
                        for a, adj in enumerate(graph["adjacency"]) for nb in adj if nb["id"] != a})
        with open(HERE / f"{state}.csv", "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["index", "geoid", "population", "centroid_lon", "centroid_lat", "published_district"])
            for i, n in enumerate(nodes):
                w.writerow([i, n["GEOID10"], int(n["TOTPOP"]), repr(float(lon[i])), repr(float(lat[i])), labels[i]])
        (HERE / f"{state}.edges").write_text("".join(f"{a} {b}\n" for a, b in edges))
        hess = rows["hess"]
        print(f"{state}: n = {len(nodes)}, k = {hess['k']}, optimum {optimum:.2f} ({model} plan, EPSG {epsg})")
        return {"state": state, "fips": str(int(FIPS[state])), "epsg": str(epsg), "k": hess["k"],
                "L": hess["L"], "U": hess["U"], "optimum": f"{optimum:.2f}",
                "optimum_without_contiguity": f"{float(hess['Objval']):.2f}", "published_plan": model,
                # the authors' fastest proof (Gurobi, their "Total Time": heuristic, fixing and MIP)
                "published_time_s": f"{min(float(rows[m]['Total Time']) for m in proven):.2f}",
                "published_time_model": min(proven, key=lambda m: float(rows[m]["Total Time"])),
                "published_time_s_shir": rows["shir"]["Total Time"] if "shir" in proven else ""}
    print(f"{state}: skipped (no published plan re-costs to {optimum:.2f})")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validi", type=Path, required=True)
    parser.add_argument("--lykhovyd", type=Path, required=True)
    parser.add_argument("--states", default=",".join(FIPS))
    args = parser.parse_args(argv)
    results = read_results(args.lykhovyd)
    out = [r for s in args.states.split(",") if (r := extract(s, args.validi, args.lykhovyd, results))]
    with open(HERE / "instances.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(out[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
