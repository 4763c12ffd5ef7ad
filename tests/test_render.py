"""The maps as HTML text: layers and features, escaping, offline pages, colouring, GCJ-02, size, determinism."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from fixtures import Fac, grid_region

from planner import regions
from planner.cli import PlannerGroup
from planner.cli_maps import diff_command, map_command
from planner.gcj02 import wgs84_to_gcj02
from planner.pipeline import run_plan, write_outputs
from planner.render import (
    MapError,
    asset_files,
    community_colors,
    community_graph,
    diff_summary,
    map_pages,
    render_diff,
    render_plan_dir,
    render_run,
    unit_filename,
)
from planner.report import cite
from planner.rulefile import load_rules

XSS = "<img src=x onerror=alert(1)>"

# The offline overview of 浙江省 (90 counties, 192 communities, Leaflet inlined) measured 1.06 MB
# (0.85 MB with shared assets): 15,300 community and 14,100 county-border vertices, 192 lead
# markers. The budget leaves room for data growth, not for township-level geometry or clinic markers.
OVERVIEW_BUDGET_BYTES = 1_500_000


# --- reading pages back ---------------------------------------------------------------------------


def page_data(page: str) -> dict:
    """The data a page (drawn with its data inline) hands the runtime."""
    m = re.search(r"var PM_DATA = (\{.*\});</script>", page)
    return json.loads(m.group(1))


def _text(html: str, lang: str) -> str:
    return "".join(re.findall(rf'<span class="{lang}">(.*?)</span>', html))


def layer_names(page: str, lang: str = "zh") -> list[str]:
    """The names of the layer control's overlays in one language, in order."""
    data = page_data(page)
    return [_text(_expanded(page, x["label"]), lang) for x in data["layers"]]


def layers(page: str) -> dict[str, list[dict]]:
    """Features by layer name (zh)."""
    data = page_data(page)
    return {_text(_expanded(page, x["label"]), "zh"): x["features"] for x in data["layers"]}


def coords(geometry: dict) -> np.ndarray:
    """Every coordinate pair of a GeoJSON geometry."""
    flat: list[list[float]] = []

    def walk(x: object) -> None:
        if isinstance(x, list) and x and isinstance(x[0], (int, float)):
            flat.append([float(x[0]), float(x[1])])
        elif isinstance(x, list):
            for y in x:
                walk(y)

    walk(geometry["coordinates"])
    return np.asarray(flat)


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def yiwu():
    return run_plan(regions.load("义乌市"), load_rules("zhejiang-2026"))


@pytest.fixture(scope="module")
def yiwu_pages(yiwu):
    return map_pages(yiwu, tiles="none")


@pytest.fixture(scope="module")
def zhejiang():
    # Communities only: the overview's size and colours do not depend on dispatch or dialysis.
    return run_plan(regions.load("浙江省"), load_rules("zhejiang-2026"), services=False)


@pytest.fixture(scope="module")
def xss_region():
    pops = [[30_000, 10_000, 10_000], [10_000, 10_000, 10_000], [10_000, 10_000, 30_000]]
    facs = [Fac("H1", XSS, "general_hospital", "二甲", (0, 0), dialysis=True),
            Fac("H2", "测试县中医院", "tcm_hospital", "二甲", (2, 2)),
            Fac("T1", "T01镇卫生院", "township_health_center", "一甲", (0, 1), beds=20),
            Fac("T2", "T11镇卫生院", "township_health_center", "一甲", (1, 1), beds=20, central_thc=True),
            Fac("V1", XSS + "卫生室", "village_clinic", "未定级", (1, 2), beds=0)]
    return grid_region(pops, facs, names={"330001005": XSS})


def test_unit_filenames():
    assert unit_filename("330782") == "330782.html"
    assert unit_filename("city:520100") == "city_520100.html"
    assert unit_filename("../x:y") == "___x_y.html"


def test_county_page_layers_and_features(yiwu, yiwu_pages):
    page = yiwu_pages["units/330782.html"]
    names = layer_names(page)
    for name in ("乡镇（按医共体着色）", "医共体边界", "县（市、区）界", "牵头医院", "乡镇卫生院、社区卫生服务中心", "村卫生室",
                 "派驻医师", "血透点", "血透可及范围"):
        assert name in names
    feats = layers(page)
    unit = next(u for u in yiwu.units if u.id == "330782")
    towns = feats["乡镇（按医共体着色）"]
    assert sorted(f["properties"]["id"] for f in towns) == sorted(unit.townships)
    comms = yiwu.plan.units["330782"].communities
    assert sorted(f["properties"]["id"] for f in feats["牵头医院"]) == sorted(f"fac:{c.lead}" for c in comms)
    clinics = yiwu.region.facilities_of("330782").query("kind == 'village_clinic'")
    assert len(feats["村卫生室"]) == len(clinics) > 100
    rows = [r for d in yiwu.dispatch for r in d.rows if r.role == "attending"]
    lines = [f for f in feats["派驻医师"] if f["geometry"]["type"] == "LineString"]
    labels = [f for f in feats["派驻医师"] if f["properties"].get("mk") == "cnt"]
    assert len(lines) == len(labels) == len({(r.source, r.target) for r in rows}) > 0
    assert sum(f["properties"]["n"] for f in labels) == sum(r.count for r in rows)
    # Township tooltips: name, population (estimated), travel minutes, physicians received, rule status.
    first = next(f for f in towns if f["properties"]["id"] == "330782001")["properties"]
    assert "稠城街道" in first["tip"] and "≈198,405" in first["tip"]
    tip = _expanded(page, first["tip"])
    assert "到牵头医院" in tip and "规则通过" in tip and tip.count("<br>") <= 2     # three lines at most
    popup = _expanded(page, first["tip"] + first["px"])
    for label in ("接收派驻医师", "边界为估算", "医共体"):
        assert label in popup
    # Colours: adjacent townships of different communities never share a fill.
    fill = {f["properties"]["id"]: f["properties"]["style"]["fillColor"] for f in towns}
    comm = yiwu.plan.community_of()
    for a, b in yiwu.graph.subgraph(unit.townships).edges():
        if comm[a].id != comm[b].id:
            assert fill[a] != fill[b]


def panels(page: str) -> dict[str, str]:
    """The page's panels (title, info, legend) by class, labels expanded."""
    return {p["cls"].split()[0]: _expanded(page, p["html"]) for p in page_data(page)["panels"]}


def _expanded(page: str, text: str) -> str:
    """A tooltip with its label tokens replaced by the labels the page carries."""
    labels = page_data(page)["labels"]
    return re.sub(r"%%([0-9a-f]{8})%%", lambda m: labels[m.group(1)], text)


def test_overview_links_every_unit_and_marks_leads(yiwu, yiwu_pages):
    page = yiwu_pages["index.html"]
    assert layer_names(page) == ["医共体与网格", "县（市、区）界", "牵头医院"]
    feats = layers(page)
    assert len(feats["医共体与网格"]) == len(feats["牵头医院"]) == len(yiwu.plan.communities())
    for f in feats["医共体与网格"]:
        assert 'href="units/330782.html"' in f["properties"]["px"]
    assert set(yiwu_pages) == {"index.html", "units/330782.html"}
    assert '<a href="../index.html">' in panels(yiwu_pages["units/330782.html"])["pm-title"]


def test_key_figures_and_compliance_panel(yiwu, yiwu_pages):
    page = yiwu_pages["units/330782.html"]
    info = panels(page)["pm-info"]
    assert "1,859,390" in info                     # population of 义乌市
    for s in yiwu.all_statuses:                    # every rule with its document and clause
        assert s.rule.id in info and cite(s.rule.source_text).zh in info
    assert "《关于深化紧密型县域医共体建设促进基层医疗卫生服务体系高质量发展的实施意见》（二）" in info
    assert "(000 (二))" not in info
    assert "派驻医师" in info and "血透可及人口" in info


def test_synthesized_and_estimated_banner(yiwu_pages):
    for page in yiwu_pages.values():
        banner = _expanded(page, page_data(page)["banner"])
        assert "设施为合成数据" in banner and "Facilities are synthesized" in banner
        assert "乡镇边界与人口为估算" in banner


def test_names_are_escaped_in_the_source(xss_region):
    result = run_plan(xss_region, load_rules("zhejiang-2026"))
    assert any(c.lead == "H1" for c in result.plan.communities())
    pages = map_pages(result, tiles="none", offline=True)
    for page in pages.values():
        assert XSS not in page
        assert "<img" not in page.lower()
    unit = pages["units/330001.html"]
    feats = layers(unit)
    lead = next(f for f in feats["牵头医院"] if f["properties"]["id"] == "fac:H1")["properties"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in lead["tip"]
    clinic = feats["村卫生室"][0]["properties"]
    assert clinic["nm"] == XSS + "卫生室"          # plain text, set with textContent in the page
    town = next(f for f in feats["乡镇（按医共体着色）"] if f["properties"]["id"] == "330001005")["properties"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in town["tip"]


def test_offline_page_is_self_contained(yiwu):
    for tiles in ("none", "osm"):
        pages = map_pages(yiwu, tiles=tiles, offline=True)
        for page in pages.values():
            assert not re.search(r"<script[^>]+src=", page)
            assert not re.search(r"<link[^>]+href=", page)
            assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
            assert "@import" not in page and "sourceMappingURL" not in page
            for cdn in ("jsdelivr", "jquery", "bootstrap", "cdnjs", "fontawesome", "awesome-markers", "netdna"):
                assert cdn not in page
            urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
            # Not references: an SVG namespace, and links in comments of leaflet.js and leaflet.css.
            allowed = {"http://www.w3.org/2000/svg", "https://leafletjs.com",
                       "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
                       "https://bugzilla.mozilla.org/show_bug.cgi?id=888319"}
            if tiles == "osm":
                allowed.add("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
            assert urls <= allowed, urls - allowed


def test_linked_pages_share_local_assets(yiwu_pages):
    page = yiwu_pages["units/330782.html"]
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == ["../assets/leaflet.js", "../assets/leaflet.markercluster.js", "../assets/planner-map.js"]
    assert re.findall(r'<script src="([^"]+)"', yiwu_pages["index.html"])[0] == "assets/leaflet.js"
    names = {p.split("/")[-1] for p in scripts} | set(re.findall(r'href="(?:\.\./)?assets/([^"]+)"', page))
    assert names <= set(asset_files())
    assert b"data:image/png;base64," in asset_files()["leaflet.css"]     # the layer-control icon inlined


def test_tiles_and_options(yiwu):
    osm = map_pages(yiwu, tiles="osm")["index.html"]
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in osm
    none = map_pages(yiwu, tiles="none")["index.html"]
    assert "L.tileLayer" not in none and '"blank":true' in none
    amap = map_pages(yiwu, tiles="amap")["index.html"]
    assert "autonavi.com" in amap and "GCJ-02" in amap
    with pytest.raises(MapError, match="tianditu-key"):
        map_pages(yiwu, tiles="tianditu")
    with pytest.raises(MapError, match="letters and digits"):
        map_pages(yiwu, tiles="tianditu", tianditu_key="abc'def12")
    tdt = map_pages(yiwu, tiles="tianditu", tianditu_key="0123456789abcdef")["index.html"]
    assert "tianditu.gov.cn/vec_w/wmts" in tdt and "tk=0123456789abcdef" in tdt and "cva_w" in tdt
    with pytest.raises(MapError, match="unknown tiles"):
        map_pages(yiwu, tiles="google")
    with pytest.raises(MapError, match="unknown language"):
        map_pages(yiwu, lang="fr")


def test_language(yiwu):
    zh = map_pages(yiwu, tiles="none")["index.html"]
    en = map_pages(yiwu, tiles="none", lang="en")["index.html"]
    assert '<html lang="zh-CN" class="lang-zh">' in zh
    assert '<html lang="en" class="lang-en">' in en
    assert zh.replace('lang="zh-CN" class="lang-zh"', 'lang="en" class="lang-en"') == en
    assert "Lead hospitals" in "".join(layer_names(en, "en")) and "牵头医院" in layer_names(en)
    assert "Key figures" in panels(en)["pm-info"] and "主要指标" in panels(en)["pm-info"]


def test_gcj02_shift_applies_to_every_overlay(yiwu):
    osm = {k: layers(v) for k, v in map_pages(yiwu, tiles="osm").items()}
    amap = {k: layers(v) for k, v in map_pages(yiwu, tiles="amap").items()}
    seen = set()
    for page, by_name in osm.items():
        for name, feats in by_name.items():
            for fa, fb in zip(feats, amap[page][name], strict=True):
                a, b = coords(fa["geometry"]), coords(fb["geometry"])
                assert a.shape == b.shape
                lon, lat = wgs84_to_gcj02(a[:, 0], a[:, 1])
                tolerance = 1.1e-4 if page == "index.html" else 1.1e-5             # both roundings (4 or 5 digits)
                assert np.abs(np.column_stack([lon, lat]) - b).max() < tolerance    # the shift, up to rounding
                assert np.abs(a - b).max() > 1e-3                                     # hundreds of metres in 义乌
                seen.add(fa["geometry"]["type"])
    assert {"Polygon", "MultiLineString", "Point", "LineString"} <= seen | {"MultiPolygon"}
    bounds = [page_data(map_pages(yiwu, tiles=t)["index.html"])["bounds"] for t in ("osm", "amap")]
    lon, lat = wgs84_to_gcj02(bounds[0][0][1], bounds[0][0][0])
    assert abs(bounds[1][0][1] - lon) < 1.1e-4 and abs(bounds[1][0][0] - lat) < 1.1e-4


def test_same_run_gives_identical_pages(yiwu, yiwu_pages, tmp_path):
    again = map_pages(yiwu, tiles="none")
    assert again == yiwu_pages
    for page in again.values():
        assert not re.search(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", page.split("</head>", 1)[1])
    # Another process with another string-hash seed draws the same bytes.
    script = ("import sys; from planner import regions; from planner.rulefile import load_rules; "
              "from planner.pipeline import run_plan; from planner.render import map_pages; "
              "r = run_plan(regions.load('义乌市'), load_rules('zhejiang-2026')); "
              "sys.stdout.buffer.write(map_pages(r, tiles='none')['units/330782.html'].encode())")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=True, timeout=300).stdout
    assert out.decode() == yiwu_pages["units/330782.html"]


def test_render_run_writes_pages_and_assets(yiwu, tmp_path):
    paths = render_run(yiwu, tmp_path / "maps", tiles="none")
    assert paths[0] == tmp_path / "maps" / "index.html"
    assert tmp_path / "maps" / "units" / "330782.html" in paths
    assert (tmp_path / "maps" / "assets" / "leaflet.js").exists()
    offline = render_run(yiwu, tmp_path / "offline", tiles="none", offline=True)
    assert sorted(p.relative_to(tmp_path / "offline").as_posix() for p in offline) == ["index.html", "units/330782.html"]


def test_plan_folder_draws_the_same_maps(yiwu, tmp_path):
    out = write_outputs(yiwu, tmp_path / "plan")
    a = render_run(yiwu, tmp_path / "from_run", tiles="none")
    b = render_plan_dir(out, tmp_path / "from_dir", tiles="none")
    assert [p.name for p in a] == [p.name for p in b]
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name
    default = render_plan_dir(out, tiles="none")
    assert default[0] == out / "maps" / "index.html"
    with pytest.raises(MapError, match="not a plan folder"):
        render_plan_dir(tmp_path, tmp_path / "x")


def test_city_grid_page():
    result = run_plan(regions.load("贵阳市"), load_rules("guizhou-2024"))
    pages = map_pages(result, tiles="none")
    page = pages["units/city_520100.html"]
    names = layer_names(page)
    assert "网格边界" in names and "乡镇（按网格着色）" in names
    unit = next(u for u in result.units if u.id == "city:520100")
    feats = layers(page)
    assert len(feats["网格边界"]) == len(result.plan.units["city:520100"].communities) >= 2
    assert len(feats["县（市、区）界"]) == len(unit.county_codes)
    assert "派驻医师" not in "".join(panels(page).values())   # no dispatch rule in guizhou-2024
    over = layers(pages["index.html"])
    assert len(over["城市医疗集团网格边界"]) == len(result.plan.units["city:520100"].communities)


def test_colouring_on_the_overview(zhejiang):
    g = community_graph(zhejiang.plan, zhejiang.graph)
    assert g.number_of_nodes() == len(zhejiang.plan.communities()) == 192
    assert g.number_of_edges() > 300
    colours = community_colors(zhejiang.plan, zhejiang.graph)
    for a, b in g.edges():
        assert colours[a] != colours[b], (a, b)
    # Across counties too: some neighbouring communities lie in different counties.
    unit_of = {c.id: c.unit for c in zhejiang.plan.communities()}
    assert any(unit_of[a] != unit_of[b] for a, b in g.edges())
    page = map_pages(zhejiang, tiles="none", units=[])["index.html"]
    fill = {f["properties"]["id"]: f["properties"]["style"]["fillColor"] for f in layers(page)["医共体与网格"]}
    assert fill == colours
    assert community_colors(zhejiang.plan, zhejiang.graph) == colours


def test_zhejiang_overview_size_budget(zhejiang):
    pages = map_pages(zhejiang, tiles="osm", offline=True, units=[])
    page = pages["index.html"]
    size = len(page.encode())
    assert size < OVERVIEW_BUDGET_BYTES, f"overview is {size / 1e6:.2f} MB"
    feats = layers(page)
    assert len(feats["牵头医院"]) == 192                      # leads only: no village clinic markers
    assert sum(len(f) for f in feats.values()) == 192 + 90 + 192
    points = sum(len(coords(f["geometry"])) for f in feats["医共体与网格"])
    assert points < 20_000                                    # dissolved and simplified (townships: 33,316)
    assert set(pages) == {"index.html"}


def _moved_plan(result):
    """The plan with one border township moved to the neighbouring community (a re-solve stand-in)."""
    unit = result.plan.units["330782"]
    a, b = unit.communities
    comm = result.plan.community_of()
    moved = next(t for t in a.townships if any(comm.get(n) is b for n in result.graph.neighbors(t)) and t != "330782001")
    new_a = dataclasses.replace(a, townships=tuple(x for x in a.townships if x != moved))
    new_b = dataclasses.replace(b, townships=tuple(sorted(b.townships + (moved,))))
    plan = dataclasses.replace(result.plan, units=dict(result.plan.units))
    plan.units["330782"] = dataclasses.replace(unit, communities=(new_a, new_b), objective=(unit.objective or 0) + 1000.0)
    return plan, moved


def test_diff_map(yiwu, tmp_path):
    before = write_outputs(yiwu, tmp_path / "before")
    plan, moved = _moved_plan(yiwu)
    after = write_outputs(dataclasses.replace(yiwu, plan=plan), tmp_path / "after")
    lines = diff_summary(before, after)
    assert lines[0].startswith("Diff: 1 townships moved")
    path = render_diff(before, after, tmp_path / "diff.html", tiles="none")
    page = path.read_text(encoding="utf-8")
    feats = layers(page)
    red = [f["properties"]["id"] for f in feats["乡镇（红色为调整）"] if "pm-moved" in f["properties"]["cls"]]
    assert red == [moved]
    assert len(feats["乡镇（红色为调整）"]) == 14 and "调整前边界" in layer_names(page)
    title, info = panels(page)["pm-title"], panels(page)["pm-info"]
    assert "个乡镇调整" in title and "调整前后对比" in info and "为何调整" in info
    assert "规则相同" in info                          # the same rule file: the change is not a rule change
    names = [n[2] for n in page_data(page)["names"]]
    assert "义乌市" in names                             # the county is named
    assert any(yiwu.region.townships.at[moved, "name"] in n for n in names)
    assert (tmp_path / "assets" / "leaflet.js").exists()
    with pytest.raises(MapError, match="different regions"):
        other = write_outputs(run_plan(regions.load("浦江县"), load_rules("zhejiang-2026"), services=False),
                              tmp_path / "other")
        render_diff(before, other, tmp_path / "x.html")


def test_cli_map_and_diff(yiwu, tmp_path):
    group = PlannerGroup(commands={"map": map_command, "diff": diff_command})
    plan = write_outputs(yiwu, tmp_path / "plan")
    runner = CliRunner()
    res = runner.invoke(group, ["map", str(plan), "--out", str(tmp_path / "m1"), "--tiles", "none", "--offline",
                                "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "1 county/city pages (1 drawn, 0 unchanged and reused" in res.output and "self-contained" in res.output
    assert f"Maps: {tmp_path / 'm1' / 'index.html'} and" in res.output
    page = (tmp_path / "m1" / "index.html").read_text(encoding="utf-8")
    assert 'class="lang-en"' in page and "<script src=" not in page
    res = runner.invoke(group, ["map", str(plan), "--out", str(tmp_path / "m"), "--tiles", "tianditu"])
    assert res.exit_code == 2 and res.output.strip().startswith("Error: tiles 'tianditu' need a key")
    res = runner.invoke(group, ["diff", str(plan), str(plan), "--out", str(tmp_path / "d.html"), "--tiles", "none"])
    assert res.exit_code == 0, res.output
    assert "对比：0 个乡镇调整了医共体" in res.output and (tmp_path / "d.html").exists()
    res = runner.invoke(group, ["map", "--help"])
    assert "--offline" in res.output and "--tianditu-key" in res.output


def test_options_reach_folium_without_cdn(yiwu):
    for page in map_pages(yiwu, tiles="none").values():
        assert "cdn" not in page.lower()
        assert "L.AwesomeMarkers" not in page and "$(" not in page


def test_plan_folder_made_under_other_rules_says_so(yiwu, tmp_path):
    out = write_outputs(yiwu, tmp_path / "plan")
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    doc["meta"]["rules_digest"] = "0" * 16                 # as if the rule file was edited after planning
    (out / "plan.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    index = render_plan_dir(out, tmp_path / "maps", tiles="none")[0].read_text(encoding="utf-8")
    banner = _expanded(index, page_data(index)["banner"])
    assert "规则文件在规划后已修改" in banner and "the rule file changed" in banner
    assert "已证明最优</span><span class=\"en\">optimal (proven)</span> 1" in panels(index)["pm-info"]   # saved statuses kept


def test_redraw_only_what_changed(yiwu, tmp_path):
    stats: dict[str, int] = {}
    render_run(yiwu, tmp_path / "a", tiles="none", stats=stats)
    assert stats == {"drawn": 1, "reused": 0}
    assert (tmp_path / "a" / "units" / "330782.js").exists()          # the unit's data, apart from its page
    render_run(yiwu, tmp_path / "b", tiles="none", reuse=tmp_path / "a", stats=stats)
    assert stats == {"drawn": 0, "reused": 1}
    a, b = tmp_path / "a" / "units" / "330782.js", tmp_path / "b" / "units" / "330782.js"
    assert a.read_bytes() == b.read_bytes() and os.stat(a).st_ino == os.stat(b).st_ino   # linked, not drawn
    plan, _moved = _moved_plan(yiwu)
    render_run(dataclasses.replace(yiwu, plan=plan), tmp_path / "c", tiles="none", reuse=tmp_path / "b", stats=stats)
    assert stats == {"drawn": 1, "reused": 0}                            # the plan changed: drawn again
    render_run(yiwu, tmp_path / "d", tiles="none", reuse=tmp_path / "c", lang="en", stats=stats)
    assert stats["drawn"] == 1                                           # other options: drawn again


def test_rerun_with_other_solve_times_reuses_the_pages(yiwu, tmp_path):
    # A re-run of the same plan differs only in its solvers' wall times: its pages are reused, not redrawn.
    assert yiwu.dialysis, "the fixture county sites dialysis"
    stats: dict[str, int] = {}
    render_run(yiwu, tmp_path / "a", tiles="none", stats=stats)
    again = dataclasses.replace(yiwu, dialysis=[dataclasses.replace(d, time_s=d.time_s + 1.5) for d in yiwu.dialysis])
    render_run(again, tmp_path / "b", tiles="none", reuse=tmp_path / "a", stats=stats)
    assert stats == {"drawn": 0, "reused": 1}


def test_layer_hook_adds_a_layer_to_every_unit_page(yiwu):
    from planner import render

    def routes(ctx):
        c = ctx.communities[0]
        lead = ctx.result.region.facilities.loc[c.lead]
        feat = ctx.feature(ctx.point(lead.geometry.x, lead.geometry.y), tip=render.esc("<巡回>"))
        return [render.Layer("routes", render.t("巡回诊疗路线", "Circuit routes"), [feat], kind="point")]

    render.register_unit_layer(routes, key=lambda result, unit: "v1")
    try:
        page = map_pages(yiwu, tiles="none")["units/330782.html"]
        assert "巡回诊疗路线" in layer_names(page)
        assert layers(page)["巡回诊疗路线"][0]["properties"]["tip"] == "&lt;巡回&gt;"
    finally:
        render.UNIT_LAYERS.remove(routes)


def test_infeasible_county_is_drawn_as_such(tmp_path):
    rules = tmp_path / "qy-30.toml"
    rules.write_text('[policy]\nname = "qy-30"\nextends = "zhejiang-2026"\n\n[[rule]]\nid = "county.max_travel"\n'
                     "enabled = true\nmax_minutes = 30\n", encoding="utf-8")
    result = run_plan(regions.load("庆元县"), load_rules(str(rules)), services=False)
    assert not result.plan.units["331126"].solved
    pages = map_pages(result, tiles="none")
    unit = pages["units/331126.html"]
    title, info = panels(unit)["pm-title"], panels(unit)["pm-info"]
    assert "无可行方案" in title and "142,551" in title                  # the county's residents, not 0
    assert "为何无可行方案" in info
    conflicts = [n for n in page_data(unit)["names"] if "无可行方案" in _expanded(unit, n[2])]
    assert conflicts                                                       # said on the map itself
    marks = re.findall(r'<li class="pm-r-(\w+)"><span class="pm-mark pm-\w+"><span class="zh">(\w+)</span>.*?'
                       r'<code class="pm-id">([\w.]+)</code>', info)
    by_id = {rid: zh for _cls, zh, rid in marks}
    assert by_id["county.max_travel"] == "冲突" and by_id["county.coverage"] == "冲突"   # not 通过
    culprits = layers(unit).get("导致冲突的乡镇", [])
    names = {result.region.townships.at[f["properties"]["id"].split(":")[1], "name"] for f in culprits}
    assert names and names <= {"黄田镇", "竹口镇", "荷地镇"} | names
    over = pages["index.html"]
    assert any("无可行方案" in _expanded(over, n[2]) for n in page_data(over)["names"])
    assert any(f["properties"].get("cls") == "pm-infeasible" for f in layers(over)["有问题的县（市、区）"])


def test_moved_village_redraws_its_county_map(yiwu, tmp_path):
    """A village file that moves a village (its mode, route and timetable unchanged) redraws the county's page:
    the village layer's reuse key covers the village points it draws, not only the village tables."""
    import shapely

    stats: dict[str, int] = {}
    render_run(yiwu, tmp_path / "a", tiles="none", stats=stats)
    assert stats == {"drawn": 1, "reused": 0}
    code = str(yiwu.villages.tables["village_modes"]["village"].iloc[0])
    vil = yiwu.region.villages.copy()
    at = [str(c) for c in vil.index].index(code)
    old = vil.geometry.iloc[at]
    vil.loc[vil.index[at], "geometry"] = shapely.Point(old.x + 0.01, old.y + 0.005)     # about 1 km away
    moved = dataclasses.replace(yiwu, region=dataclasses.replace(yiwu.region, villages=vil))
    render_run(moved, tmp_path / "b", tiles="none", reuse=tmp_path / "a", stats=stats)
    assert stats == {"drawn": 1, "reused": 0}

    def village_xy(folder) -> list[float]:
        text = (folder / "units" / "330782.js").read_text(encoding="utf-8")
        data = json.loads(text[text.index("{"):text.rindex("}") + 1])
        feats = [f for layer in data["layers"] for f in layer["features"]
                 if (f.get("properties") or {}).get("id") == f"village:{code}"]
        assert len(feats) == 1
        return feats[0]["geometry"]["coordinates"]

    a, b = village_xy(tmp_path / "a"), village_xy(tmp_path / "b")
    assert a == pytest.approx([old.x, old.y], abs=1e-5) and b == pytest.approx([old.x + 0.01, old.y + 0.005], abs=1e-5)
    render_run(moved, tmp_path / "c", tiles="none", reuse=tmp_path / "b", stats=stats)
    assert stats == {"drawn": 0, "reused": 1}                             # and reused again once drawn


def test_maps_drawn_with_the_run_collector_setting(yiwu, tmp_path):
    """render_run draws with the garbage collector's young generation every 50,000 allocations (as run_plan and
    write_outputs do), and gives the caller's setting back."""
    import gc

    from planner import render

    seen: list[int] = []

    def probe(ctx):
        seen.append(gc.get_threshold()[0])
        return []

    before = gc.get_threshold()
    render.register_unit_layer(probe, key=lambda result, unit: "v1")
    try:
        render_run(yiwu, tmp_path / "m", tiles="none")
    finally:
        render.UNIT_LAYERS.remove(probe)
    assert seen and min(seen) >= 50_000 and gc.get_threshold() == before


def test_keys_made_by_the_drawing_workers_are_the_keys_a_re_run_compares(zhejiang_full_run, tmp_path):
    """With nothing to reuse, each page's key is made by the forked worker that draws it; a re-run makes them in
    this process from the same run, and finds every one equal (every page reused, the same manifest)."""
    from planner.render import MANIFEST

    n = len(zhejiang_full_run.units)
    stats: dict[str, int] = {}
    render_run(zhejiang_full_run, tmp_path / "a", tiles="none", jobs=2, stats=stats)
    assert stats == {"drawn": n, "reused": 0}
    first = json.loads((tmp_path / "a" / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(first["units"]) == sorted(u.id for u in zhejiang_full_run.units)
    render_run(zhejiang_full_run, tmp_path / "b", tiles="none", jobs=2, reuse=tmp_path / "a", stats=stats)
    assert stats == {"drawn": 0, "reused": n}
    assert json.loads((tmp_path / "b" / MANIFEST).read_text(encoding="utf-8")) == first
