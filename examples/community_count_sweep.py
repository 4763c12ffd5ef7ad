"""How a county's communities change with the allowed number: re-solve under max = 3, 2, 1 and compare.

    python examples/community_count_sweep.py [COUNTY] [--out FOLDER]

For each bound it prints the communities (lead, townships, residents, mean travel to the
lead), what moved against the previous bound, and the checker's verdict; it writes one CSV
row per bound and the last plan's communities as a GeoPackage layer into FOLDER.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import planner


def sweep(county: str, out: Path) -> pd.DataFrame:
    """Solve `county` under max = 3, 2, 1 communities; return one row per bound."""
    region = planner.load_region(county)
    rules = planner.load_rules("zhejiang-2026")
    rows, previous = [], None
    for bound in (3, 2, 1):
        result = planner.solve(region, rules.replace("county.max_communities", max=bound), previous=previous)
        comms = result.communities
        print(f"max {bound}: {len(comms)} communit{'y' if len(comms) == 1 else 'ies'}, {'OPTIMAL' if result.optimal else result.status}")
        print(comms[["lead_name", "n_townships", "population", "mean_travel_min"]].to_string(index=False))
        if previous is not None:
            print("  " + result.compare().lines[0])
        verdict = planner.check_plan(result)
        rows.append({"county": region.name, "max_communities": bound, "communities": len(comms),
                     "mean_travel_min": result.summary()["mean_travel_min"],
                     "moved_townships": len(result.compare().moved) if previous is not None else 0,
                     "hard_violations": int(verdict.checks.loc[verdict.checks["hard"], "violations"].sum())})
        previous = result
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep.csv", index=False)
    previous.communities.to_file(out / "communities.gpkg", layer="communities", driver="GPKG")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("county", nargs="?", default="义乌市")
    parser.add_argument("--out", type=Path, default=Path("sweep"))
    args = parser.parse_args()
    print(sweep(args.county, args.out).to_string(index=False))


if __name__ == "__main__":
    main()
