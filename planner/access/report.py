"""The access report: one section per county with coverage, shared centers, 2SFCA equity and visit-share ESTIMATES."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io
from ..region import positions_by
from ..schema import EMERGENCY_CENTERS, SHARED_CENTERS
from .charts import bars_svg, lorenz_svg
from .equity import lorenz

ESTIMATE_NOTE = ("估算值：就诊率为容量约束哈夫模型对合成机构数据的模型估算，并非统计数据。"
                 "Estimates: visit shares are MODEL ESTIMATES (capacity-constrained Huff model on synthesized facilities), "
                 "not observed statistics.")


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _pct(x: object) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    return "—" if np.isnan(v) else f"{v:.1%}"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return str(value)


class _Rows:
    """Some rows of a table as column lists (the values `frame[k].tolist()` gives), in row order.

    What a county's section reads, without a frame (and pandas' per-operation overhead) per
    county and table: a national report has 2,800 counties and eight tables.
    """

    def __init__(self, cols: dict[str, list], n: int) -> None:
        self.cols, self.n = cols, n

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Rows:
        return cls({str(k): frame[k].tolist() for k in frame.columns}, len(frame))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, column: str) -> list:
        return self.cols[column]

    @property
    def empty(self) -> bool:   # as DataFrame.empty: no rows or no columns
        return self.n == 0 or not self.cols

    def with_columns(self, **cols: list) -> _Rows:
        return _Rows({**self.cols, **cols}, self.n)


def _table(frame: pd.DataFrame | _Rows, columns: dict[str, str]) -> str:
    rows = _Rows.of(frame) if isinstance(frame, pd.DataFrame) else frame
    if rows.empty:
        return "<p>—</p>"
    head = "".join(f"<th>{_e(v)}</th>" for v in columns.values())
    # Column lists, not to_dict("records"): the same Python values, without a dict per row.
    cols = [rows.cols[k] if k in rows.cols else [""] * len(rows) for k in columns]
    body = "".join("<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>" for row in zip(*cols))
    return f"<table><tr>{head}</tr>{body}</table>"


class _ByCounty:
    """An access result's tables split by county once, row order kept (filtering per county is O(counties x rows))."""

    def __init__(self, access) -> None:
        self._access = access
        self._split: dict[str, tuple[dict[str, list], dict[str, list[int]]]] = {}
        self.county = ""

    def table(self, name: str) -> pd.DataFrame:
        return self._access.table(name)

    def mine(self, name: str) -> _Rows:
        """The rows of table `name` whose county is the current one."""
        if name not in self._split:
            frame = self._access.table(name)
            cols = {str(k): frame[k].tolist() for k in frame.columns}
            groups: dict[str, list[int]] = {}
            if len(frame):
                groups = {str(u): rows.tolist() for u, rows in positions_by(frame["county"].astype(str)).items()}
            self._split[name] = (cols, groups)
        cols, groups = self._split[name]
        rows = groups.get(self.county, [])
        return _Rows({k: [v[i] for i in rows] for k, v in cols.items()}, len(rows))


def _first_max(values: list) -> int:
    """The position of the first largest value, NaN skipped (as frame[frame[k] == frame[k].max()] takes first)."""
    top = max(v for v in values if v == v)
    return next(i for i, v in enumerate(values) if v == top)


def county_section(access, county: str, county_name: str, split: _ByCounty | None = None) -> str:
    """The HTML section of one county (escaped; charts inline as SVG)."""
    t = access.table
    if split is None:
        split = _ByCounty(access)
    split.county = county
    mine_of = split.mine
    parts = [f'<section id="c{_e(county)}"><h2>{_e(county_name)} ({_e(county)})</h2>']
    cov = t("emergency_coverage")
    if len(cov):
        values = mine_of("emergency_coverage")
        mine = values.with_columns(share=[_pct(v) for v in values["share"]],
                                   share_after=[_pct(v) for v in values["share_after"]])
        parts.append("<h3>急诊急救五大中心 / Emergency centers</h3>")
        parts.append(_table(mine, {"center_zh": "中心 / center", "covered": "可及人口 / residents within reach",
                                   "share": "比例 / share", "mean_nearest_min": "最近中心平均分钟 / mean minutes",
                                   "county_hospitals_running": "县级医院已建 / county hospitals running",
                                   "covered_after": "升级后可及 / after upgrades", "share_after": "升级后比例 / share after"}))
        parts.append(bars_svg([(str(c), float(v)) for c, v in zip(values["center_zh"], values["share"])],
                              f"{county_name}: residents within reach of each center",
                              targets=[]))
    ups = t("emergency_upgrades")
    if len(ups):
        mine = mine_of("emergency_upgrades")
        if len(mine):
            nested = mine["nested"][_first_max(mine["k"])]
            parts.append("<h4>覆盖模型提出的升级顺序 / Upgrade order of the covering model (exact)</h4>")
            parts.append(_table(mine, {"k": "新建中心数 k", "center_zh": "中心", "facility_name": "医院 / hospital",
                                       "order": "顺序 / order", "marginal_gain": "边际增加人口 / marginal gain",
                                       "gained_total": "累计增加 / total gain", "status": "求解状态 / status"}))
            if not bool(nested):
                parts.append("<p>各 k 的最优解不嵌套，按 k 分别列出 / The optima for each k are not nested; listed per k.</p>")
    hosts = t("shared_hosts")
    if len(hosts):
        mine = mine_of("shared_hosts")
        parts.append("<h3>共享中心 / Shared centers</h3>")
        parts.append(_table(mine, {"lead_name": "医共体牵头医院 / community lead", "center_zh": "中心", "host_name": "承担机构 / host",
                                   "status": "状态 / status", "required": "必须已建 / required"}))
    trips = t("courier_trips")
    if len(trips):
        mine = mine_of("courier_trips")
        parts.append(_table(mine, {"host_name": "出发机构 / host", "trip": "线路 / trip", "n_stops": "站数 / stops",
                                   "minutes": "往返分钟 / minutes", "status": "求解状态 / status"}))
    eq = t("access_equity")
    if len(eq):
        row = mine_of("access_equity")
        if len(row):
            parts.append("<h3>空间可及性（2SFCA）/ Accessibility (2SFCA)</h3>")
            parts.append(_table(row, {"physicians_mean": "医师/千人 / physicians per 1,000",
                                      "physicians_after_mean": "派驻后 / after dispatch",
                                      "physicians_gini": "基尼 / Gini", "physicians_after_gini": "派驻后基尼 / Gini after",
                                      "physicians_low_share": "低可及人口比例 / share below threshold",
                                      "beds_mean": "床位/千人 / beds per 1,000", "beds_gini": "床位基尼 / beds Gini"}))
            part = mine_of("access_townships")
            if len(part):
                w = np.asarray(part["population"], dtype=float)
                curves = [(f"physicians before (Gini {float(row['physicians_gini'][0]):.3f})",
                           *lorenz(np.asarray(part["physicians_per_1000"], dtype=float), w)),
                          (f"after dispatch (Gini {float(row['physicians_after_gini'][0]):.3f})",
                           *lorenz(np.asarray(part["physicians_per_1000_after"], dtype=float), w)),
                          (f"beds (Gini {float(row['beds_gini'][0]):.3f})",
                           *lorenz(np.asarray(part["beds_per_1000"], dtype=float), w))]
                parts.append('<div class="charts">' + lorenz_svg(curves, f"{county_name}: Lorenz curves of access")
                             + "</div>")
    shares = t("visit_shares")
    targets = t("visit_targets")
    if len(shares):
        row = mine_of("visit_shares")
        if len(row):
            parts.append("<h3>就诊率估算 / Visit shares (model estimates)</h3>")
            parts.append(f'<p class="est">{_e(ESTIMATE_NOTE)}</p>')
            values = mine_of("visit_targets") if len(targets) else _Rows({}, 0)
            if len(values):
                mine = values.with_columns(target=[_pct(v) for v in values["target"]],
                                           year=["—" if pd.isna(y) else str(int(y)) for y in values["year"]],
                                           estimate=[_pct(v) for v in values["estimate"]])
                parts.append(_table(mine, {"rule_id": "目标 / target rule", "year": "年份 / year", "target": "目标 / target",
                                           "estimate": "估算 / estimate", "gap_points": "差距（百分点）/ gap (points)",
                                           "source": "出处 / source"}))
            tlines = [(f"{m} target {float(v):.0%} ({y})", float(v))
                      for m, v, y in zip(values["measure"], values["target"], values["year"])] if len(values) else []
            parts.append(bars_svg([("基层就诊率（估算）primary, est.", float(row["primary_share_est"][0])),
                                   ("县域就诊率（估算）in-county, est.", float(row["in_county_share_est"][0]))],
                                  f"{county_name}: estimated visit shares against the targets", targets=tlines))
    parts.append("</section>")
    return "".join(parts)


def access_html(result) -> str:
    """The whole access report (one page, self-contained)."""
    access = result.access
    region = result.region
    e = _e
    css = ("body{font:14px/1.5 'Helvetica Neue',Arial,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;"
           "max-width:1100px;margin:1em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:4px 0}"
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;font-size:12px}.est{background:#fff3cd;"
           "border:1px solid #e0b400;padding:4px 8px}.warn{background:#fff3cd;padding:6px 10px}section{border-top:2px solid #888;"
           "margin-top:1.5em}svg{margin:4px 12px 4px 0;vertical-align:top}")
    parts = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
             f"<title>{e(region.name)} — 可及性与共享服务 / Access</title><style>{css}</style></head><body>",
             f"<h1>{e(region.name)} — 可及性与共享服务 / Access and shared services</h1>",
             f'<p class="warn"><b>设施为合成数据，并非真实机构。Facilities (and their emergency centers and shared-center '
             f"departments) are synthesized, not real institutions.</b></p>",
             f'<p class="est">{e(ESTIMATE_NOTE)}</p>']
    sens = access.table("visit_sensitivity")
    if len(sens):
        total = sens[sens["county"] == "total"].copy()
        total["primary_share_est"] = total["primary_share_est"].map(_pct)
        total["in_county_share_est"] = total["in_county_share_est"].map(_pct)
        parts.append("<h2>敏感性分析 / Sensitivity of the estimates (whole region)</h2>")
        parts.append(_table(total, {"parameter": "参数 / parameter", "factor": "倍数 / factor", "value": "取值 / value",
                                    "primary_share_est": "基层就诊率（估算）", "in_county_share_est": "县域就诊率（估算）",
                                    "overloaded_facilities": "超负荷机构 / facilities at capacity"}))
    parts.append("<p>" + " · ".join(f'<a href="#c{e(c)}">{e(region.county_name(c))}</a>'
                                    for c in sorted(region.counties.index)) + "</p>")
    split = _ByCounty(access)
    for county in sorted(region.counties.index):
        parts.append(county_section(access, str(county), region.county_name(county), split))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_access_report(result, out_dir: str | Path) -> list[Path]:
    """Write access.html into the plan folder when the run has access tables (report.write_reports calls this)."""
    if getattr(result, "access", None) is None or not result.access.tables:
        return []
    return [io.write_text(Path(out_dir) / "access.html", access_html(result))]
