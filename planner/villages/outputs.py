"""Write the village tables into a plan folder (through planner.io) and read them back for the checker and the maps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io
from ..region import positions_by
from .run import COLUMNS, TABLES, VillageResult

FILES = {"village_modes": "village_modes.csv", "routes": "routes.csv", "circuit_plan": "circuit_plan.csv",
         "timetable": "timetable.csv", "timetable_shortfalls": "timetable_shortfalls.csv"}
INT_COLUMNS = {"population", "licensed_at_clinic", "visits_required", "visits_planned", "remote_sessions", "remote_required",
               "weekday", "stop", "bases", "lead_bases", "lead_routes", "lead_visits", "villages", "resident", "urban", "circuit", "unreachable", "routes", "solves", "half_day",
               "seat", "minutes", "missing", "days", "exact_days", "sessions", "sessions_missing"}
FLOAT_COLUMNS = {"nearest_licensed_min", "base_min", "travel_min", "service_min", "route_travel_min", "route_minutes",
                 "lower_bound_min", "gap"}
TEXT_COLUMNS = {"county", "township", "village", "clinic", "base", "nearest_licensed", "facility", "center", "team",
                "consultant", "arrival", "start"}

MAX_CENTER_SHEETS = 250
"""A sheet per health center in villages.xlsx up to this many centers (a county or a city); a province's workbook
keeps the region-wide sheets only (its CSV files hold every row)."""


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:28] or "center"
    out, k = base, 2
    while out in used:
        out, k = f"{base[:26]}~{k}", k + 1
    used.add(out)
    return out


def center_sheets(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One sheet per health center: its circuit stops by weekday, then the remote sessions its consultants give."""
    routes = tables.get("routes", pd.DataFrame(columns=COLUMNS["routes"]))
    tt = tables.get("timetable", pd.DataFrame(columns=COLUMNS["timetable"]))
    # Columns read as lists (a pandas string column is iterated one Python call per cell), the centers counted
    # before their names are looked up: a province's workbook has no center sheets.
    centers = sorted(set(routes["base"].tolist()) | set(tt.loc[tt["role"] == "township_center", "facility"].tolist()))
    if len(centers) > MAX_CENTER_SHEETS:
        return {}
    names = (dict(zip(routes["base"].tolist(), routes["base_name"].tolist()))
             | dict(zip(tt["facility"].tolist(), tt["facility_name"].tolist())))
    out: dict[str, pd.DataFrame] = {}
    used: set[str] = set()
    # Row positions per center, found once (a boolean mask over both tables per center was most of this).
    route_rows = positions_by(routes["base"]) if len(routes) else {}
    tt_rows = positions_by(tt["facility"]) if len(tt) else {}
    empty = np.array([], dtype=np.intp)
    for c in centers:
        r = routes.iloc[route_rows.get(c, empty)]
        rows = [{"what": "巡回诊疗 circuit", "team": x.team, "weekday": x.weekday_zh, "order": x.stop, "time": x.arrival,
                 "place": x.village_name, "code": x.village, "minutes": x.service_min,
                 "note": f"路线共{x.route_minutes:.0f}分钟 route {x.route_minutes:.0f} min"} for x in r.itertuples()]
        s = tt.iloc[tt_rows.get(c, empty)].sort_values(["weekday", "half_day", "seat", "consultant"])
        rows += [{"what": "远程诊疗 remote", "team": x.consultant, "weekday": f"{x.weekday_zh}{x.half_day_zh}",
                  "order": x.seat, "time": x.start, "place": x.clinic_name, "code": x.clinic, "minutes": x.minutes,
                  "note": ""} for x in s.itertuples()]
        out[_sheet_name(str(names.get(c, c)), used)] = pd.DataFrame(
            rows, columns=["what", "team", "weekday", "order", "time", "place", "code", "minutes", "note"])
    return out


def write_villages(result: VillageResult | None, folder: Path) -> list[Path]:
    """Write each village table as CSV and one villages.xlsx (the tables, then a sheet per health center)."""
    if result is None:
        return []
    return [write_village_table(result, folder, name) for name in TABLES] + [write_village_workbook(result, folder)]


def write_village_table(result: VillageResult, folder: Path, name: str) -> Path:
    """One village table (a name of TABLES) as CSV (a part of write_villages: the writer may run parts in parallel)."""
    return io.write_csv(result.table(name), Path(folder) / FILES[name])


def write_village_workbook(result: VillageResult, folder: Path) -> Path:
    """villages.xlsx: the village tables, then a sheet per health center (a part of write_villages)."""
    sheets = {name: result.table(name) for name in TABLES}
    sheets.update(center_sheets(result.tables))
    return io.write_xlsx(sheets, Path(folder) / "villages.xlsx")


def read_villages(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The village tables a plan folder holds (codes as text, numbers converted back), by name."""
    out = {}
    for name in TABLES:
        path = Path(folder) / FILES[name]
        if not path.exists():
            continue
        frame = io.read_csv_text(path)  # spreadsheet_safe undone: the cells as the run wrote them
        for col in frame.columns:
            if col in INT_COLUMNS:
                frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce").fillna(0).astype("int64")
            elif col in FLOAT_COLUMNS:
                frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce")
        out[name] = frame
    return out


def load_villages(folder: str | Path) -> VillageResult | None:
    """The village tables of a plan folder as a VillageResult (None when it has none), for redrawing maps."""
    tables = read_villages(folder)
    return VillageResult(tables=tables) if tables else None


def summary_lines(tables: dict[str, pd.DataFrame]) -> list:
    """A few lines for the terminal: modes, circuit routes (with the lower bound), remote sessions, shortfalls."""
    from ..i18n import Text

    lines = []
    modes = tables.get("village_modes", pd.DataFrame())
    plan = tables.get("circuit_plan", pd.DataFrame())
    if len(modes):
        counts = modes["mode"].value_counts().to_dict()
        lines.append(Text(
            f"Villages: {len(modes):,}; resident licensed physician {counts.get('resident', 0):,}, urban communities "
            f"(community health center) {counts.get('urban', 0):,}, circuit visits "
            f"{counts.get('circuit', 0):,}, unreachable {counts.get('unreachable', 0) + counts.get('no_base', 0):,}",
            f"行政村 {len(modes):,} 个：驻村执业医师 {counts.get('resident', 0):,}，城镇社区（社区卫生服务中心）"
            f"{counts.get('urban', 0):,}，巡回诊疗 {counts.get('circuit', 0):,}，"
            f"无法到达 {counts.get('unreachable', 0) + counts.get('no_base', 0):,}"))
    if len(plan):
        travel, lb = float(plan["travel_min"].sum()), float(plan["lower_bound_min"].sum())
        gap = (travel - lb) / travel if travel else 0.0
        exact, days = int(plan["exact_days"].sum()), int(plan["days"].sum())
        how = "every center-day exact" if exact == days else f"{exact} of {days} center-days exact, the rest PyVRP"
        how_zh = "全部精确求解" if exact == days else f"{days}个卫生院日中{exact}个精确求解，其余PyVRP"
        lead = int(plan["lead_routes"].sum()) if "lead_routes" in plan.columns else 0
        if lead:
            how, how_zh = f"{how}; {lead:,} team-days by county leads", f"{how_zh}；其中县级牵头医院 {lead:,} 队日"
        lines.append(Text(
            f"  Circuit routes: {int(plan['routes'].sum()):,} team-days, {int(plan['visits_planned'].sum()):,} of "
            f"{int(plan['visits_required'].sum()):,} visits a week, travel {travel:,.0f} min (lower bound {lb:,.0f}, gap "
            f"at most {gap:.1%}; {how})",
            f"  巡回路线：{int(plan['routes'].sum()):,} 队日，每周 {int(plan['visits_planned'].sum()):,}/"
            f"{int(plan['visits_required'].sum()):,} 次，路程 {travel:,.0f} 分钟（下界 {lb:,.0f}，差距不超过 {gap:.1%}；{how_zh}）"))
    if len(modes):
        bad = modes[modes["mode"].isin(["unreachable", "no_base"])]
        for r in bad.head(10).itertuples():
            lines.append(Text(f"  Unreachable: {r.village_name} ({r.village}): {r.reason}",
                              f"  无法到达：{r.village_name}（{r.village}）：{r.reason}"))
        if len(bad) > 10:
            lines.append(Text(f"  ... and {len(bad) - 10} more (village_modes.csv)", f"  ……另有 {len(bad) - 10} 个（见 village_modes.csv）"))
    tt = tables.get("timetable", pd.DataFrame())
    if len(modes) and "remote_required" in modes.columns and int(modes["remote_required"].max() or 0) > 0:
        clinics = modes[modes["remote_required"] > 0]
        ok = int((clinics["remote_sessions"] >= clinics["remote_required"]).sum())
        lines.append(Text(f"  Remote consultations: {len(tt):,} sessions a week; {ok:,} of {len(clinics):,} village clinics "
                          f"get their {int(clinics['remote_required'].max())} a week",
                          f"  远程诊疗：每周 {len(tt):,} 场；{len(clinics):,} 个村卫生室中 {ok:,} 个达到每周 "
                          f"{int(clinics['remote_required'].max())} 次"))
    shorts = tables.get("timetable_shortfalls", pd.DataFrame())
    for r in shorts.head(10).itertuples():
        lines.append(Text(f"  Remote shortfall: {r.message}", f"  远程诊疗缺口：{r.message_zh}"))
    return lines
