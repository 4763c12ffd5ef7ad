"""Map layers of the access phase for a county page: emergency reach, shared-center hosts, courier trips, 2SFCA."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..schema import EMERGENCY_CENTERS, SHARED_CENTERS
from ..travel import Points

REACH_COLOURS = ("#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac")
"""Townships by how many of the five emergency-center types are within reach (0 ... 5)."""
ACCESS_COLOURS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")

DENSE_PAIRS = 20_000
"""Up to this many township x center pairs a page measures them all; beyond (a national run: a county's
townships against thousands of centers) only the centers a spatial index finds nearest (the same minutes)."""
_NEAR_SLACK = 1e-6
"""Relative slack of the nearest-center search: every center within it of the nearest is measured exactly."""


def _runs_of(fac: pd.DataFrame, center: str) -> Points:
    """The facilities that run one kind of emergency center, as Points (found once per facility table)."""
    from ..render import frame_memo

    def build(f: pd.DataFrame) -> Points:
        runs = f[f[center].fillna(False).astype(bool)] if center in f.columns else f.iloc[:0]
        return Points.from_xy(list(runs.index), runs.geometry.x, runs.geometry.y)

    return frame_memo(fac, "access.runs:" + center, build)


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: their chord distance grows with the great-circle distance."""
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def _tree_of(fac: pd.DataFrame, center: str):
    """A k-d tree of the facilities that run one kind of emergency center (built once per facility table)."""
    from scipy.spatial import cKDTree  # only for large regions: scipy is slow to import

    from ..render import frame_memo

    def build(_f: pd.DataFrame):
        runs = _runs_of(fac, center)
        return cKDTree(_unit_xyz(runs.lon, runs.lat))

    return frame_memo(fac, "access.tree:" + center, build)


def nearest_minutes(travel: Any, seats: Points, fac: pd.DataFrame, center: str) -> np.ndarray:
    """Minutes from each seat to the nearest facility running `center` (inf when none does).

    Exactly the row minima of `travel.minutes(seats, every such facility)`: with great-circle
    minutes and many centers only the centers nearest by chord distance (all those within a
    relative `_NEAR_SLACK` of the nearest, so no tie or rounding is missed) are measured, by the
    same element-wise operations (`TravelModel.straight_pair_minutes`).
    """
    runs = _runs_of(fac, center)
    n, m = len(seats), len(runs)
    if m == 0:
        return np.full(n, np.inf)
    if n == 0:
        return np.zeros(0)
    if not getattr(travel, "straight_only", False) or n * m <= DENSE_PAIRS:
        return travel.minutes(seats, runs).min(axis=1)
    tree = _tree_of(fac, center)
    q = _unit_xyz(seats.lon, seats.lat)
    d1, _ = tree.query(q, k=1)
    found = tree.query_ball_point(q, r=d1 * (1 + _NEAR_SLACK) + 1e-12)
    counts = np.fromiter((len(x) for x in found), dtype=np.intp, count=n)
    rows = np.repeat(np.arange(n), counts)
    cols = np.fromiter((j for x in found for j in x), dtype=np.intp, count=int(counts.sum()))
    a = Points(tuple(), seats.lon[rows], seats.lat[rows])
    b = Points(tuple(), runs.lon[cols], runs.lat[cols])
    minutes = travel.straight_pair_minutes(a, b)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.minimum.reduceat(minutes, starts)


def _township_access(acc: pd.DataFrame) -> tuple[dict[str, tuple[float, float, float]], np.ndarray]:
    """Township -> (physicians, physicians after, beds per 1,000), and the region's quintile edges (once per table)."""
    from ..render import frame_memo

    def build(a: pd.DataFrame):
        allv = pd.to_numeric(a["physicians_per_1000"], errors="coerce").to_numpy(float)
        edges = np.quantile(allv[np.isfinite(allv)], [0.2, 0.4, 0.6, 0.8]) if np.isfinite(allv).any() else np.zeros(4)
        vals = {}
        for code, v, after, b in zip(a["township"].astype(str).tolist(), a["physicians_per_1000"].tolist(),
                                     a["physicians_per_1000_after"].tolist(), a["beds_per_1000"].tolist()):
            vals[code] = (float(v), float(after), float(b))   # the last row of a code wins, as .at would fail on two
        return vals, edges

    return frame_memo(acc, "access.townships", build)


_EMPTY = pd.DataFrame()
"""The table a page reads when the run has none of that name (made once: a frame costs as much as a small layer)."""


def access_layers(run: Any, unit: Any, proj: Any, town_geo: dict[str, str] | None = None,
                  towns: pd.DataFrame | None = None) -> list:
    """The access layers of one county or city page (render.unit_page calls this; empty without access tables).

    `town_geo` and `towns` are the township GeoJSON texts (by code) and rows the page already has."""
    from ..render import Layer, _feature, _geometry_index, _kind_letter, columns_of, esc, positions_of, t

    access = getattr(run.result, "access", None)
    if access is None or not getattr(access, "tables", None):
        return []
    if towns is None:
        towns = run.towns.loc[[x for x in unit.townships if x in run.towns.index]]
    codes = [str(x) for x in towns.index]
    names = towns["name"].tolist()
    if town_geo is None or not all(c in town_geo for c in codes):
        town_geo = dict(zip(codes, proj.geojson(towns.geometry.values)))
    counties = sorted(set(unit.county_codes))
    fac = run.fac
    layers = []
    rule = next((r for r in run.result.rules.rules if r.enabled and r.kind == "emergency_centers"), None)
    if rule is not None and len(towns):
        seats = Points.from_xy(list(towns.index), towns["seat_lon"], towns["seat_lat"])
        near = {center: nearest_minutes(run.result.travel, seats, fac, center) for center in rule.centers}
        feats = []
        head = (f"{t('急诊急救中心可及', 'Emergency centers within reach')} (≤ {rule.max_minutes:g} {t('分钟', 'min')}): ")
        words = {c: t(*EMERGENCY_CENTERS[c]) for c in rule.centers}
        mins = t("分钟", "min")
        for k, code in enumerate(codes):
            n = sum(bool(near[c][k] <= rule.max_minutes) for c in rule.centers)
            lines = [f"<b>{esc(names[k])}</b>", f"{head}{n}/{len(rule.centers)}"]
            for c in rule.centers:
                v = near[c][k]
                lines.append(f"{words[c]}: {'—' if not np.isfinite(v) else f'{v:.0f}'} {mins}")
            feats.append(_feature(town_geo[code], tip="\n".join(lines),
                                  style={"color": "#555555", "weight": 0.6, "opacity": 0.7,
                                         "fillColor": REACH_COLOURS[min(n, 5)], "fillOpacity": 0.55}))
        layers.append(Layer("access_reach", t("急诊急救五大中心可及范围", "Emergency centers within reach"), feats, show=False))
    hosts = access.tables.get("shared_hosts", _EMPTY)      # not access.table: it builds an empty frame per call
    trips = access.tables.get("courier_trips", _EMPTY)
    if len(hosts):
        cols, pos = columns_of(hosts), positions_of(hosts, counties)
        by_host: dict[str, list[tuple[str, str]]] = {}
        for host, center, status in zip(cols["host"][pos].tolist(), cols["center"][pos].tolist(),
                                        cols["status"][pos].tolist()):
            by_host.setdefault(host, []).append((center, status))
        feats = []
        # The run's lead -> communities map, made once: a set of the plan's leads per page was ~11 s of the
        # country's map CPU (2,847 pages x every community).
        leads = run.leads
        fac_cols = columns_of(fac)
        for host in sorted(by_host):
            if host not in fac.index:
                continue
            at = _geometry_index(fac)[0][str(host)]     # the host's row: no `.loc` of the wide frame per host
            lines = [f"<b>{esc(fac_cols['name'][at])}</b>", t("共享中心承担机构", "Shared-center host")]
            for center, status in by_host[host]:
                zh, en = SHARED_CENTERS[center]
                state = {"existing": t("已具备", "running"), "to_build": t("拟建", "to build"),
                         "missing": t("未建成（必须）", "missing (required)")}.get(str(status), esc(status))
                lines.append(f"{t(zh, en)}: {state}")
            feats.append(_feature(proj.point(*run.fac_xy[str(host)]), mk="fac", fk=_kind_letter(fac_cols["kind"][at]),
                                  gl=2, lead=1 if host in leads else None,
                                  tip="\n".join(lines), pop="\n".join(lines)))
        if feats:
            layers.append(Layer("access_hosts", t("共享中心（检验、影像、心电、病理、消毒、药房）", "Shared centers"),
                                feats, kind="point", show=False))
    if len(trips):
        cols, pos = columns_of(trips), positions_of(trips, counties)
        feats = []
        for host, stops, status, trip, minutes, n_stops in zip(*(cols[c][pos].tolist() for c in (
                "host", "stops", "status", "trip", "minutes", "n_stops"))):
            ids = [str(host), *[s for s in str(stops).split(";") if s], str(host)]
            if not all(i in run.fac_xy for i in ids):
                continue
            pts = [run.fac_xy[i] for i in ids]
            over = str(status) == "OVER_LIMIT"
            tip = (f"<b>{esc(run.fac_name[str(host)])}</b>\n{t('物流往返', 'Courier round trip')} {trip}: "
                   f"{float(minutes):.0f} {t('分钟', 'min')}, {int(n_stops)} {t('站', 'stops')}"
                   + (f"\n{t('超过往返时限', 'over the round-trip limit')}" if over else ""))
            feats.append(_feature(proj.line(pts), tip=tip, style={"color": "#c2185b" if over else "#00897b", "weight": 2.5,
                                                                   "opacity": 0.85, "dashArray": "6 4" if over else None}))
        if feats:
            layers.append(Layer("access_courier", t("标本与物资物流线路", "Courier trips"), feats, show=False))
    acc = access.tables.get("access_townships", _EMPTY)
    if len(acc) and len(towns):
        vals, edges = _township_access(acc)
        feats = []
        phys, beds = t("医师可及性（2SFCA，每千人）", "Physician access (2SFCA, per 1,000)"), t("床位可及性（每千人）", "Bed access (per 1,000)")
        for k, code in enumerate(codes):
            if code not in vals:
                continue
            v, after, b = vals[code]
            tip = f"<b>{esc(names[k])}</b>\n{phys}: {v:.2f} → {after:.2f}\n{beds}: {b:.2f}"
            feats.append(_feature(town_geo[code], tip=tip,
                                  style={"color": "#555555", "weight": 0.6, "opacity": 0.7,
                                         "fillColor": ACCESS_COLOURS[int(np.searchsorted(edges, v, side="right"))],
                                         "fillOpacity": 0.6}))
        layers.append(Layer("access_2sfca", t("医师空间可及性（两步移动搜寻法）", "Physician access (2SFCA)"), feats, show=False))
    return layers


def prepare(run: Any) -> None:
    """Build the look-ups of `access_layers` once for a run (before the pages are drawn in workers)."""
    from ..render import columns_of, positions_of

    access = getattr(run.result, "access", None)
    if access is None or not getattr(access, "tables", None):
        return
    rule = next((r for r in run.result.rules.rules if r.enabled and r.kind == "emergency_centers"), None)
    for center in (rule.centers if rule is not None else ()):
        if len(_runs_of(run.fac, center)) * 10 > DENSE_PAIRS:   # some page will search the tree
            _tree_of(run.fac, center)
    for name in ("shared_hosts", "courier_trips"):
        frame = access.tables.get(name)
        if frame is not None and len(frame):
            columns_of(frame)
            positions_of(frame, ())
    acc = access.tables.get("access_townships")
    if acc is not None and len(acc):
        _township_access(acc)
