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
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
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
