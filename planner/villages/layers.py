"""County map layers of the village phase: villages coloured by service mode (with their week) and routes by weekday."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import shapely

from .modes import MODE_WORDS
from .rules import HALVES_EN, HALVES_ZH, WEEKDAYS_EN, WEEKDAYS_ZH

MODE_COLOURS = {"resident": "#2e7d32", "urban": "#9e9d24", "circuit": "#1565c0", "unreachable": "#c62828", "no_base": "#6a1b9a"}
DAY_COLOURS = ("#e65100", "#00838f", "#6a1b9a", "#2e7d32", "#ad1457", "#5d4037", "#37474f")
VILLAGE_RADIUS_DEG = 0.0025
"""Villages are drawn as small discs (about 250 m), a shape layer the page colours by mode."""


def _tables(result: Any) -> dict[str, pd.DataFrame] | None:
    villages = getattr(result, "villages", None)
    return getattr(villages, "tables", None) or None


def _mine(tables: dict[str, pd.DataFrame], name: str, counties: set[str]) -> pd.DataFrame:
    frame = tables.get(name, pd.DataFrame())
    if not len(frame) or "county" not in frame.columns:
        return frame.iloc[0:0] if len(frame.columns) else pd.DataFrame()
    return frame[frame["county"].astype(str).isin(counties)]


def layers_key(result: Any, unit: Any) -> str:
    """A digest of what the village layers draw for a unit (its rows of the village tables)."""
    tables = _tables(result)
    if not tables:
        return "none"
    h = hashlib.sha256()
    counties = set(unit.county_codes)
    for name in ("village_modes", "routes", "timetable"):
        frame = _mine(tables, name, counties)
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).values.tobytes() if len(frame) else b"-")
    return h.hexdigest()[:16]


def village_layers(ctx: Any) -> list:
    """Villages by service mode, with popups giving each village's week, and the circuit routes, one layer per weekday."""
    from ..render import Layer, esc, t

    tables = _tables(ctx.result)
    if not tables:
        return []
    counties = set(ctx.unit.county_codes)
    modes = _mine(tables, "village_modes", counties)
    routes = _mine(tables, "routes", counties)
    tt = _mine(tables, "timetable", counties)
    if not len(modes):
        return []
    region = ctx.result.region
    vil = region.villages
    fac = region.facilities
    visits: dict[str, list[str]] = {}
    for r in routes.sort_values(["weekday", "arrival"]).itertuples():
        visits.setdefault(str(r.village), []).append(
            f"{t(WEEKDAYS_ZH[int(r.weekday) - 1], WEEKDAYS_EN[int(r.weekday) - 1])} {esc(r.arrival)} · "
            f"{esc(r.base_name)} {t('医疗队', 'team')} {esc(str(r.team).rsplit('-', 1)[-1])}, "
            f"{t('第', 'stop ')}{int(r.stop)}{t('站', '')}")
    sessions: dict[str, list[str]] = {}
    for r in tt.sort_values(["weekday", "half_day", "seat"]).itertuples():
        sessions.setdefault(str(r.clinic), []).append(
            f"{t(WEEKDAYS_ZH[int(r.weekday) - 1] + HALVES_ZH[int(r.half_day)], WEEKDAYS_EN[int(r.weekday) - 1] + ' ' + HALVES_EN[int(r.half_day)])}"
            f" {esc(r.start)} · {esc(r.facility_name)}")
    feats = []
    for r in modes.itertuples():
        code = str(r.village)
        if code not in vil.index:
            continue
        p = vil.at[code, "geometry"]
        mode = str(r.mode)
        zh, en = MODE_WORDS.get(mode, (mode, mode))
        tip = f"<b>{esc(r.village_name)}</b>\n{t(zh, en)}"
        lines = [tip]
        if mode == "resident":
            lines.append(f"{t('最近执业（助理）医师', 'Nearest licensed physician')}: "
                         f"{esc(fac.at[r.nearest_licensed, 'name']) if r.nearest_licensed in fac.index else ''} "
                         f"≈{float(r.nearest_licensed_min):.0f} {t('分钟', 'min')}")
        if int(r.visits_required):
            lines.append(f"{t('巡回诊疗', 'Circuit visits')}: {int(r.visits_planned)}/{int(r.visits_required)} "
                         f"{t('次/周', 'a week')}")
            lines += visits.get(code, [])
        if str(getattr(r, "reason_zh", "") or ""):
            lines.append(f'<span class="pm-FAIL">{t(str(r.reason_zh), str(r.reason))}</span>')
        if str(r.clinic):
            lines.append(f"{t('远程诊疗', 'Remote consultations')}: {int(r.remote_sessions)}/{int(r.remote_required)} "
                         f"{t('次/周', 'a week')}")
            lines += sessions.get(str(r.clinic), [])
        disc = shapely.buffer(p, VILLAGE_RADIUS_DEG, quad_segs=3)
        feats.append(ctx.feature(ctx.geometry(disc), tip=tip, pop="\n".join(lines),
                                 style={"color": "#ffffff", "weight": 0.8, "opacity": 0.9,
                                        "fillColor": MODE_COLOURS.get(mode, "#757575"), "fillOpacity": 0.9},
                                 cls=f"pm-village pm-mode-{mode}", id=f"village:{code}"))
    legend = " ".join(f'<span style="color:{MODE_COLOURS[m]}">●</span> {t(*MODE_WORDS[m])}' for m in MODE_COLOURS)
    out = [Layer("village_modes", t("行政村服务方式（固定、巡回、远程）", "Villages by service mode"), feats, legend=legend)]
    for day, grp in routes.groupby("weekday", sort=True):
        day = int(day)
        line_feats = []
        for team, stops in grp.groupby("team", sort=True):
            stops = stops.sort_values("stop")
            base = str(stops["base"].iloc[0])
            if base not in fac.index or not all(str(v) in vil.index for v in stops["village"]):
                continue
            b = fac.at[base, "geometry"]
            pts = [(b.x, b.y)] + [(vil.at[str(v), "geometry"].x, vil.at[str(v), "geometry"].y) for v in stops["village"]] \
                + [(b.x, b.y)]
            names = "、".join(esc(n) for n in stops["village_name"])
            tip = (f"<b>{esc(stops['base_name'].iloc[0])}</b> {t('医疗队', 'team')} {esc(str(team).rsplit('-', 1)[-1])} · "
                   f"{t(WEEKDAYS_ZH[day - 1], WEEKDAYS_EN[day - 1])}\n{names}\n"
                   f"{float(stops['route_minutes'].iloc[0]):.0f} {t('分钟（含路程与服务）', 'min (travel and service)')}")
            line_feats.append(ctx.feature(ctx.geometry(shapely.LineString(pts)), tip=tip,
                                          style={"color": DAY_COLOURS[(day - 1) % len(DAY_COLOURS)], "weight": 3,
                                                 "opacity": 0.85}, cls=f"pm-route pm-route-{day}"))
        if line_feats:
            out.append(Layer(f"circuit_day{day}", t(f"巡回诊疗路线（{WEEKDAYS_ZH[day - 1]}）",
                                                      f"Circuit routes ({WEEKDAYS_EN[day - 1]})"), line_feats))
    return out


def register() -> None:
    """Add the village layers to every county and city page (idempotent)."""
    from .. import render

    render.register_unit_layer(village_layers, key=layers_key)
