"""Write the access tables into a plan folder (through planner.io) and read them back for the checker."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import io
from .run import TABLES, AccessResult

INT_COLUMNS = {"population", "covered", "covered_after", "k", "k_max", "gained_total", "marginal_gain", "trip",
               "n_stops", "county_hospitals_running", "candidates", "covered_before_person_centers", "visits_per_year"}


def write_access(access: AccessResult | None, folder: Path, sheets: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write each access table as CSV and, with the access report, one access.xlsx workbook."""
    if access is None:
        return []
    out = []
    written = {}
    for name in TABLES:
        if name in access.tables:
            out.append(io.write_csv(access.tables[name], Path(folder) / f"{name}.csv"))
            written[name] = access.tables[name]
    if written:
        out.append(io.write_xlsx(written, Path(folder) / "access.xlsx"))
    return out


def read_access(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The access tables a plan folder holds (as text, numbers converted back), by name."""
    out = {}
    for name in TABLES:
        path = Path(folder) / f"{name}.csv"
        if not path.exists():
            continue
        frame = io.read_csv_text(path)
        for col in frame.columns:
            if col in INT_COLUMNS or col.endswith(("_share", "_min", "_est", "_mean", "_gini", "_per_1000", "minutes")) \
                    or col in ("share", "share_after", "target", "estimate", "gap_points", "physicians_per_1000_after"):
                frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce")
        out[name] = frame
    return out


def load_access(folder: str | Path) -> AccessResult | None:
    """The access tables of a plan folder as an AccessResult (None when it has none), for redrawing maps."""
    tables = read_access(folder)
    return AccessResult(tables=tables) if tables else None


def summary_lines(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A few lines for the terminal: coverage by center, shared centers, courier trips, visit-share estimates."""
    lines = []
    cov = tables.get("emergency_coverage", pd.DataFrame())
    if len(cov):
        by = cov.groupby("center_zh", sort=False)[["population", "covered"]].sum()
        minutes = float(cov["max_minutes"].iloc[0])
        lines.append(f"Access: residents within {minutes:g} min of each emergency center: "
                     + ", ".join(f"{c} {r.covered / r.population:.1%}" for c, r in by.iterrows() if r.population))
    ups = tables.get("emergency_upgrades", pd.DataFrame())
    if len(ups):
        statuses = ups.drop_duplicates(["county", "k"])["status"].value_counts().to_dict()
        lines.append(f"  Covering model: upgrades proposed in {ups['county'].nunique()} counties "
                     f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))} solves)")
    hosts = tables.get("shared_hosts", pd.DataFrame())
    if len(hosts):
        missing = hosts[hosts["status"] == "missing"]
        build = hosts[hosts["status"] == "to_build"]
        lines.append(f"  Shared centers: {hosts['community'].nunique()} communities, {len(build)} centers to build at the "
                     f"lead, {missing['community'].nunique()} communities without a required center")
    trips = tables.get("courier_trips", pd.DataFrame())
    if len(trips):
        st = trips["status"].value_counts().to_dict()
        lines.append(f"  Courier trips: {len(trips)} ({', '.join(f'{k} {v}' for k, v in sorted(st.items()))}), "
                     f"median {float(trips['minutes'].median()):.0f} min")
    shares = tables.get("visit_shares", pd.DataFrame())
    if len(shares):
        w = shares["visits_per_year"].astype(float)
        prim = float((shares["primary_share_est"].astype(float) * w).sum() / w.sum()) if w.sum() else float("nan")
        inc = float((shares["in_county_share_est"].astype(float) * w).sum() / w.sum()) if w.sum() else float("nan")
        lines.append(f"  Visit shares (MODEL ESTIMATES, not statistics): primary care {prim:.1%}, in-county {inc:.1%}")
    return lines


def county_lines(tables: dict[str, pd.DataFrame], county: str) -> list[str]:
    """Per-center coverage of one county and the upgrade order the covering model proposes for it."""
    out = []
    cov = tables.get("emergency_coverage", pd.DataFrame())
    mine = cov[cov["county"].astype(str) == county] if len(cov) else cov
    for r in mine.itertuples():
        out.append(f"  {r.center_zh:<14} {int(r.covered):>10,} of {int(r.population):,} residents within "
                   f"{float(r.max_minutes):g} min ({float(r.share):.1%}); county hospitals running it: "
                   f"{int(r.county_hospitals_running)}")
    ups = tables.get("emergency_upgrades", pd.DataFrame())
    mine = ups[ups["county"].astype(str) == county] if len(ups) else ups
    if len(mine):
        nested = bool(str(mine["nested"].iloc[0]) in ("True", "true", "1") or mine["nested"].iloc[0] is True)
        out.append("  Upgrade order (exact maximal covering, one optimum per k):" if nested else
                   "  Upgrades per k (exact maximal covering; the optima are not nested):")
        for k, grp in mine.groupby("k", sort=True):
            picks = "; ".join(f"{r.facility_name} + {r.center_zh}" for r in grp.itertuples())
            r = grp.iloc[0]
            out.append(f"    k={int(k)}: {picks} — +{int(r.marginal_gain):,} residents (total +{int(r.gained_total):,}), "
                       f"{r.status}")
    elif len(cov):
        out.append("  No upgrade proposed: every resident is within reach, or no county hospital may take a center.")
    return out
