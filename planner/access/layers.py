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


def access_layers(run: Any, unit: Any, proj: Any) -> list:
    """The access layers of one county or city page (render.unit_page calls this; empty without access tables)."""
    from ..render import Layer, _feature, _kind_letter, esc, t

    access = getattr(run.result, "access", None)
    if access is None or not getattr(access, "tables", None):
        return []
    region = run.region
    towns = run.towns.loc[[x for x in unit.townships if x in run.towns.index]]
    counties = set(unit.county_codes)
    fac = run.fac
    layers = []
    rule = next((r for r in run.result.rules.rules if r.enabled and r.kind == "emergency_centers"), None)
    if rule is not None and len(towns):
        seats = Points.from_xy(list(towns.index), towns["seat_lon"], towns["seat_lat"])
        near = {}
        for center in rule.centers:
            runs = fac[fac[center].fillna(False).astype(bool)] if center in fac.columns else fac.iloc[:0]
            m = run.result.travel.minutes(seats, Points.from_xy(list(runs.index), runs.geometry.x, runs.geometry.y))
            near[center] = m.min(axis=1) if m.shape[1] else np.full(len(towns), np.inf)
        feats = []
        for k, (code, tw) in enumerate(towns.iterrows()):
            n = sum(bool(near[c][k] <= rule.max_minutes) for c in rule.centers)
            lines = [f"<b>{esc(tw['name'])}</b>",
                     f"{t('急诊急救中心可及', 'Emergency centers within reach')} (≤ {rule.max_minutes:g} {t('分钟', 'min')}): "
                     f"{n}/{len(rule.centers)}"]
            for c in rule.centers:
                zh, en = EMERGENCY_CENTERS[c]
                v = near[c][k]
                lines.append(f"{t(zh, en)}: {'—' if not np.isfinite(v) else f'{v:.0f}'} {t('分钟', 'min')}")
            feats.append(_feature(proj.geometry(tw.geometry), tip="\n".join(lines),
                                  style={"color": "#555555", "weight": 0.6, "opacity": 0.7,
                                         "fillColor": REACH_COLOURS[min(n, 5)], "fillOpacity": 0.55}))
        layers.append(Layer("access_reach", t("急诊急救五大中心可及范围", "Emergency centers within reach"), feats, show=False))
    hosts = access.table("shared_hosts")
    trips = access.table("courier_trips")
    if len(hosts):
        mine = hosts[hosts["county"].astype(str).isin(counties)]
        feats = []
        for host, grp in mine.groupby("host", sort=True):
            if host not in fac.index:
                continue
            f = fac.loc[host]
            lines = [f"<b>{esc(f['name'])}</b>", t("共享中心承担机构", "Shared-center host")]
            for row in grp.itertuples():
                zh, en = SHARED_CENTERS[row.center]
                state = {"existing": t("已具备", "running"), "to_build": t("拟建", "to build"),
                         "missing": t("未建成（必须）", "missing (required)")}.get(str(row.status), esc(row.status))
                lines.append(f"{t(zh, en)}: {state}")
            feats.append(_feature(proj.point(f.geometry.x, f.geometry.y), mk="fac", fk=_kind_letter(f["kind"]),
                                  gl=2, lead=1 if host in {c.lead for c in run.result.plan.communities()} else None,
                                  tip="\n".join(lines), pop="\n".join(lines)))
        if feats:
            layers.append(Layer("access_hosts", t("共享中心（检验、影像、心电、病理、消毒、药房）", "Shared centers"),
                                feats, kind="point", show=False))
    if len(trips):
        mine = trips[trips["county"].astype(str).isin(counties)]
        feats = []
        for row in mine.itertuples():
            ids = [str(row.host), *[s for s in str(row.stops).split(";") if s], str(row.host)]
            if not all(i in fac.index for i in ids):
                continue
            pts = [(fac.at[i, "geometry"].x, fac.at[i, "geometry"].y) for i in ids]
            over = str(row.status) == "OVER_LIMIT"
            tip = (f"<b>{esc(fac.at[str(row.host), 'name'])}</b>\n{t('物流往返', 'Courier round trip')} {row.trip}: "
                   f"{float(row.minutes):.0f} {t('分钟', 'min')}, {int(row.n_stops)} {t('站', 'stops')}"
                   + (f"\n{t('超过往返时限', 'over the round-trip limit')}" if over else ""))
            feats.append(_feature(proj.line(pts), tip=tip, style={"color": "#c2185b" if over else "#00897b", "weight": 2.5,
                                                                   "opacity": 0.85, "dashArray": "6 4" if over else None}))
        if feats:
            layers.append(Layer("access_courier", t("标本与物资物流线路", "Courier trips"), feats, show=False))
    acc = access.table("access_townships")
    if len(acc) and len(towns):
        vals = acc.set_index(acc["township"].astype(str))
        allv = pd.to_numeric(acc["physicians_per_1000"], errors="coerce").to_numpy(float)
        edges = np.quantile(allv[np.isfinite(allv)], [0.2, 0.4, 0.6, 0.8]) if np.isfinite(allv).any() else np.zeros(4)
        feats = []
        for code, tw in towns.iterrows():
            if code not in vals.index:
                continue
            v, after = float(vals.at[code, "physicians_per_1000"]), float(vals.at[code, "physicians_per_1000_after"])
            b = float(vals.at[code, "beds_per_1000"])
            tip = (f"<b>{esc(tw['name'])}</b>\n{t('医师可及性（2SFCA，每千人）', 'Physician access (2SFCA, per 1,000)')}: "
                   f"{v:.2f} → {after:.2f}\n{t('床位可及性（每千人）', 'Bed access (per 1,000)')}: {b:.2f}")
            feats.append(_feature(proj.geometry(tw.geometry), tip=tip,
                                  style={"color": "#555555", "weight": 0.6, "opacity": 0.7,
                                         "fillColor": ACCESS_COLOURS[int(np.searchsorted(edges, v, side="right"))],
                                         "fillOpacity": 0.6}))
        layers.append(Layer("access_2sfca", t("医师空间可及性（两步移动搜寻法）", "Physician access (2SFCA)"), feats, show=False))
    return layers
