"""County map layers of the village phase: villages coloured by service mode (with their week) and routes by weekday."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .modes import MODE_WORDS
from .rules import HALVES_EN, HALVES_ZH, WEEKDAYS_EN, WEEKDAYS_ZH

MODE_COLOURS = {"resident": "#2e7d32", "urban": "#9e9d24", "circuit": "#1565c0", "unreachable": "#c62828", "no_base": "#6a1b9a"}
DAY_COLOURS = ("#e65100", "#00838f", "#6a1b9a", "#2e7d32", "#ad1457", "#5d4037", "#37474f")
VILLAGE_RADIUS_M = 250
"""Villages are drawn as small discs (a circle of 250 m drawn by the page, coloured by mode)."""


def _tables(result: Any) -> dict[str, pd.DataFrame] | None:
    villages = getattr(result, "villages", None)
    return getattr(villages, "tables", None) or None


_COLUMNS = {
    "village_modes": ("county", "village", "village_name", "mode", "nearest_licensed", "nearest_licensed_min",
                      "visits_required", "visits_planned", "clinic", "remote_sessions", "remote_required", "reason_zh",
                      "reason"),
    "routes": ("county", "village", "village_name", "weekday", "arrival", "base", "base_name", "team", "stop",
               "route_minutes"),
    "timetable": ("county", "clinic", "weekday", "half_day", "seat", "start", "facility_name"),
}
"""The columns of each village table the layers draw from: the only ones `_mine` gives them, and the only ones
`layers_key` hashes (a national run's village tables have 600,000 rows; the other columns do not show)."""
_TABLES = tuple(_COLUMNS)


def _mine(tables: dict[str, pd.DataFrame], name: str, counties: set[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A village table's drawn columns (`_COLUMNS`) and the positions of the rows of these counties (in table order)."""
    from ..render import columns_of, positions_of

    frame = tables.get(name)
    if frame is None or not len(frame) or "county" not in frame.columns:
        return {}, np.zeros(0, dtype=np.intp)
    cols = columns_of(frame)
    return {c: cols[c] for c in _COLUMNS[name] if c in cols}, positions_of(frame, sorted(counties))


def layers_key(result: Any, unit: Any) -> str:
    """A digest of everything the village layers draw for a unit.

    That is its rows of the village tables (their drawn columns) and what the layers look up in the region for
    them: the point of every village those rows name (the discs and the route stops; the tables do not carry
    the points, so a village file that moves a village changes only the region) and the name and point of every
    facility they name (the nearest licensed physician's and the route bases, which may lie outside the unit).
    The look-ups are made once per run (`_region_rows`, `_facility_hashes`): the parent computes the key of
    each of a national run's 2,847 units before any page is drawn.
    """
    from ..render import row_hashes

    tables = _tables(result)
    if not tables:
        return "none"
    h = hashlib.sha256()
    counties = set(unit.county_codes)
    region = getattr(result, "region", None)
    villages: list[np.ndarray] = []
    facilities: list[np.ndarray] = []
    for name in _TABLES:
        cols, pos = _mine(tables, name, counties)
        h.update(name.encode())
        h.update(row_hashes(tables[name], _COLUMNS[name])[pos].tobytes() if len(pos) else b"-")
        if region is None or not len(pos):
            continue
        if "village" in cols:
            villages.append(_region_rows(tables[name], "village", region, "villages")[pos])
        for c in ("nearest_licensed", "base"):
            if c in cols:
                facilities.append(_region_rows(tables[name], c, region, "facilities")[pos])
    if villages:
        _row, vx, vy, _names, _xy = _lookups(region)
        at = np.concatenate(villages)
        found = at >= 0
        h.update(b"villages")
        h.update(found.tobytes())                       # a village missing from the region is not drawn
        h.update(vx[at[found]].tobytes())
        h.update(vy[at[found]].tobytes())
    if facilities:
        at = np.concatenate(facilities)
        h.update(b"facilities")
        h.update(_facility_hashes(region)[np.unique(at[at >= 0])].tobytes())   # each named facility once
    return h.hexdigest()[:16]


def _region_rows(table: pd.DataFrame, column: str, region: Any, frame: str) -> np.ndarray:
    """For each row of a village table, the row of `region.<frame>` (villages or facilities) that its `column`
    names, -1 where none: made once per table, column and region frame."""
    import weakref

    from ..render import columns_of, frame_memo

    target = getattr(region, frame)
    memo = frame_memo(table, f"villages.layers_key:{column}", lambda _f: {})
    got = memo.get(id(target))
    if got is None or got[0]() is not target or got[1] != len(target):
        index = _index_rows(target)
        rows = np.fromiter((index.get(c, -1) for c in _text(columns_of(table)[column])), dtype=np.intp,
                           count=len(table))
        got = memo[id(target)] = (weakref.ref(target), len(target), rows)
    return got[2]


def _facility_hashes(region: Any) -> np.ndarray:
    """One 64-bit hash per facility of the region of what the layers show of it: its name and point."""
    from ..render import frame_memo

    def build(fac: pd.DataFrame) -> np.ndarray:
        geo = np.asarray(fac.geometry.values, dtype=object)
        names = pd.util.hash_array(np.asarray(fac["name"].astype(str).tolist(), dtype=object), categorize=False)
        x = pd.util.hash_array(np.ascontiguousarray(shapely.get_x(geo), dtype=np.float64))
        y = pd.util.hash_array(np.ascontiguousarray(shapely.get_y(geo), dtype=np.float64))
        return names ^ (x * np.uint64(0x9E3779B97F4A7C15)) ^ (y * np.uint64(0xC2B2AE3D27D4EB4F))

    return frame_memo(region.facilities, "villages.layers_key", build)


def _index_rows(frame: pd.DataFrame) -> dict[str, int]:
    """Index label (as text) -> row of a region frame, built once per frame (the country has 620,573 villages)."""
    from ..render import frame_memo

    return frame_memo(frame, "villages.rows", lambda f: {str(c): i for i, c in enumerate(f.index.tolist())})


def _lookups(region: Any) -> tuple[dict[str, int], np.ndarray, np.ndarray, dict[str, str], dict[str, tuple[float, float]]]:
    """Village code -> row and the villages' x, y; facility names and points (built once per region)."""
    from ..render import frame_memo

    def villages(vil: pd.DataFrame):
        geo = np.asarray(vil.geometry.values, dtype=object)
        return (_index_rows(vil), shapely.get_x(geo), shapely.get_y(geo))

    def facilities(fac: pd.DataFrame):
        ids = [str(i) for i in fac.index.tolist()]
        geo = np.asarray(fac.geometry.values, dtype=object)
        return (dict(zip(ids, fac["name"].astype(str).tolist())),
                dict(zip(ids, zip(shapely.get_x(geo).tolist(), shapely.get_y(geo).tolist()))))

    row, vx, vy = frame_memo(region.villages, "villages.layers", villages)
    names, xy = frame_memo(region.facilities, "villages.layers", facilities)
    return row, vx, vy, names, xy


def _text(values: np.ndarray) -> list[str]:
    return [str(v) for v in values.tolist()]


def village_layers(ctx: Any) -> list:
    """Villages by service mode, with popups giving each village's week, and the circuit routes, one layer per weekday."""
    from ..render import Layer, esc, feature_maker, t

    tables = _tables(ctx.result)
    if not tables:
        return []
    counties = set(ctx.unit.county_codes)
    mc, mpos = _mine(tables, "village_modes", counties)
    if not len(mpos):
        return []
    rc, rpos = _mine(tables, "routes", counties)
    tc, tpos = _mine(tables, "timetable", counties)
    vrow, vx, vy, fac_name, fac_xy = _lookups(ctx.result.region)
    visits: dict[str, list[str]] = {}
    if len(rpos):
        p = rpos[np.lexsort((rc["arrival"][rpos], rc["weekday"][rpos]))]      # by weekday, then arrival (stable)
        team_word, stop_zh, stop_en = t("医疗队", "team"), t("第", "stop "), t("站", "")
        days = {d: t(WEEKDAYS_ZH[d - 1], WEEKDAYS_EN[d - 1]) for d in range(1, 8)}
        for v, day, arrival, base_name, team, stop in zip(_text(rc["village"][p]), rc["weekday"][p].tolist(),
                                                          rc["arrival"][p].tolist(), rc["base_name"][p].tolist(),
                                                          _text(rc["team"][p]), rc["stop"][p].tolist()):
            visits.setdefault(v, []).append(
                f"{days[int(day)]} {esc(arrival)} · {esc(base_name)} {team_word} {esc(team.rsplit('-', 1)[-1])}, "
                f"{stop_zh}{int(stop)}{stop_en}")
    sessions: dict[str, list[str]] = {}
    if len(tpos):
        p = tpos[np.lexsort((tc["seat"][tpos], tc["half_day"][tpos], tc["weekday"][tpos]))]
        for clinic, day, half, start, fname in zip(_text(tc["clinic"][p]), tc["weekday"][p].tolist(),
                                                   tc["half_day"][p].tolist(), tc["start"][p].tolist(),
                                                   tc["facility_name"][p].tolist()):
            d, h = int(day) - 1, int(half)
            sessions.setdefault(clinic, []).append(
                f"{t(WEEKDAYS_ZH[d] + HALVES_ZH[h], WEEKDAYS_EN[d] + ' ' + HALVES_EN[h])} {esc(start)} · {esc(fname)}")
    codes = _text(mc["village"][mpos])
    at = [vrow.get(c, -1) for c in codes]
    keep = [i for i, k in enumerate(at) if k >= 0]
    pos = np.asarray([at[i] for i in keep], dtype=np.intp)
    points = ctx.points(vx[pos], vy[pos]) if ctx.points is not None else \
        [ctx.point(float(x), float(y)) for x, y in zip(vx[pos], vy[pos])]
    col = {c: mc[c][mpos].tolist() for c in ("village_name", "mode", "nearest_licensed", "nearest_licensed_min",
                                            "visits_required", "visits_planned", "clinic", "remote_sessions",
                                            "remote_required")}
    reason_zh = mc["reason_zh"][mpos].tolist() if "reason_zh" in mc else [""] * len(mpos)
    reason_en = mc["reason"][mpos].tolist() if "reason" in mc else [""] * len(mpos)
    words = {m: t(zh, en) for m, (zh, en) in MODE_WORDS.items()}
    nearest_word, min_word = t("最近执业（助理）医师", "Nearest licensed physician"), t("分钟", "min")
    circuit_word, week_word = t("巡回诊疗", "Circuit visits"), t("次/周", "a week")
    remote_word = t("远程诊疗", "Remote consultations")
    makers: dict[str, Any] = {}     # by mode: the style, class and radius written once (`ctx.feature`'s text)
    feats = []
    for i, point in zip(keep, points):
        code = codes[i]
        mode = str(col["mode"][i])
        tip = f"<b>{esc(col['village_name'][i])}</b>\n{words.get(mode) or t(mode, mode)}"
        lines = [tip]
        if mode == "resident":
            near = col["nearest_licensed"][i]
            lines.append(f"{nearest_word}: {esc(fac_name[near]) if near in fac_name else ''} "
                         f"≈{float(col['nearest_licensed_min'][i]):.0f} {min_word}")
        if int(col["visits_required"][i]):
            lines.append(f"{circuit_word}: {int(col['visits_planned'][i])}/{int(col['visits_required'][i])} {week_word}")
            lines += visits.get(code, [])
        if str(reason_zh[i] or ""):
            lines.append(f'<span class="pm-FAIL">{t(str(reason_zh[i]), str(reason_en[i]))}</span>')
        clinic = str(col["clinic"][i])
        if clinic:
            lines.append(f"{remote_word}: {int(col['remote_sessions'][i])}/{int(col['remote_required'][i])} {week_word}")
            lines += sessions.get(clinic, [])
        make = makers.get(mode)
        if make is None:
            make = makers[mode] = feature_maker(("id",), style={"color": "#ffffff", "weight": 0.8, "opacity": 0.9,
                                                                "fillColor": MODE_COLOURS.get(mode, "#757575"),
                                                                "fillOpacity": 0.9},
                                                r=VILLAGE_RADIUS_M, cls=f"pm-village pm-mode-{mode}")
        feats.append(make(point, tip, "\n".join(lines), f"village:{code}"))
    legend = " ".join(f'<span style="color:{MODE_COLOURS[m]}">●</span> {t(*MODE_WORDS[m])}' for m in MODE_COLOURS)
    out = [Layer("village_modes", t("行政村服务方式（固定、巡回、远程）", "Villages by service mode"), feats, legend=legend)]
    if not len(rpos):
        return out
    teams = rc["team"][rpos].astype(str)
    p = rpos[np.lexsort((rc["stop"][rpos], teams, rc["weekday"][rpos]))]     # by weekday, team, stop
    rows = list(zip(rc["weekday"][p].tolist(), _text(rc["team"][p]), _text(rc["base"][p]), rc["base_name"][p].tolist(),
                    _text(rc["village"][p]), rc["village_name"][p].tolist(), rc["route_minutes"][p].tolist()))
    found: list[tuple[int, str, list[tuple[float, float]]]] = []
    k = 0
    while k < len(rows):
        day, team = int(rows[k][0]), rows[k][1]
        j = k
        while j < len(rows) and int(rows[j][0]) == day and rows[j][1] == team:
            j += 1
        stops, k = rows[k:j], j
        base = stops[0][2]
        if base not in fac_xy or not all(s[4] in vrow for s in stops):
            continue
        b = fac_xy[base]
        pts = [b] + [(float(vx[vrow[s[4]]]), float(vy[vrow[s[4]]])) for s in stops] + [b]
        names = "、".join(esc(s[5]) for s in stops)
        tip = (f"<b>{esc(stops[0][3])}</b> {t('医疗队', 'team')} {esc(team.rsplit('-', 1)[-1])} · "
               f"{t(WEEKDAYS_ZH[day - 1], WEEKDAYS_EN[day - 1])}\n{names}\n"
               f"{float(stops[0][6]):.0f} {t('分钟（含路程与服务）', 'min (travel and service)')}")
        found.append((day, tip, pts))
    geoms = ctx.lines([p for _d, _t, p in found]) if ctx.lines is not None else \
        [ctx.geometry(shapely.LineString(p)) for _d, _t, p in found]
    by_day: dict[int, list[str]] = {}
    for (day, tip, _p), geom in zip(found, geoms):
        by_day.setdefault(day, []).append(ctx.feature(geom, tip=tip, style={"color": DAY_COLOURS[(day - 1) % len(DAY_COLOURS)],
                                                                            "weight": 3, "opacity": 0.85},
                                                      cls=f"pm-route pm-route-{day}"))
    for day in sorted(by_day):
        out.append(Layer(f"circuit_day{day}", t(f"巡回诊疗路线（{WEEKDAYS_ZH[day - 1]}）",
                                                  f"Circuit routes ({WEEKDAYS_EN[day - 1]})"), by_day[day]))
    return out


def register() -> None:
    """Add the village layers to every county and city page (idempotent)."""
    from .. import render

    render.register_unit_layer(village_layers, key=layers_key, prepare=prepare)


def prepare(result: Any) -> None:
    """Build the look-ups of `village_layers` once for a run (before the pages are drawn in workers)."""
    tables = _tables(result)
    if tables:
        _lookups(result.region)
        for name in _TABLES:
            _mine(tables, name, set())
