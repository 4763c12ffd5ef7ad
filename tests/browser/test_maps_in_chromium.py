"""The maps in a real browser: no script errors, layers and features present, popups, language, offline, XSS."""

from __future__ import annotations

from .conftest import XSS, Loaded, colours_in


def _inside(loaded: Loaded, selector: str) -> tuple[float, float]:
    """A screen point where the topmost element is the first match of `selector` (a polygon's interior)."""
    point = loaded.page.evaluate("""(sel) => {
        const el = document.querySelector(sel);
        const r = el.getBoundingClientRect();
        for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) {
            const x = r.left + r.width * i / 24, y = r.top + r.height * j / 24;
            if (document.elementFromPoint(x, y) === el) return [x, y];
        }
        return null;
    }""", selector)
    assert point is not None, f"no visible point of {selector}"
    return point[0], point[1]


def _show_layer(m: Loaded, name: str) -> None:
    """Tick a layer in the layer control (by its Chinese name)."""
    m.page.evaluate("""(name) => { const l = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
        .find(x => x.textContent.includes(name)); l.querySelector('input').click(); }""", name)
    m.page.wait_for_timeout(300)


def test_county_page_layers_features_and_popup(yiwu_maps, yiwu_result, open_map):
    m = open_map(yiwu_maps / "linked" / "units" / "330782.html")
    assert m.errors == []
    names = m.layer_names()
    assert names[:3] == ["乡镇（按医共体着色）", "医共体边界", "县（市、区）界"]
    assert {"牵头医院", "其他医院", "乡镇卫生院、社区卫生服务中心", "村卫生室", "派驻医师", "城市专家", "血透点",
            "血透可及范围",             # and planner.access layers (hidden at first)
            "急诊急救五大中心可及范围", "共享中心（检验、影像、心电、病理、消毒、药房）", "标本与物资物流线路",
            "医师空间可及性（两步移动搜寻法）"} <= set(names)
    unit = next(u for u in yiwu_result.units if u.id == "330782")
    assert m.count("path.pm-townships") == len(unit.townships) == 14
    assert m.count(".pm-lead") == 2
    assert m.count(".pm-cluster") == 0                     # village clinics: listed, off until asked for
    _show_layer(m, "村卫生室")
    assert m.count(".pm-cluster") >= 5                     # 432 village clinics, clustered
    assert m.count(".pm-fk-v") < 100                        # ... not drawn one by one at this zoom
    pairs = {(r.source, r.target) for d in yiwu_result.dispatch for r in d.rows if r.role == "attending"}
    assert m.count("path.pm-dispatch") == m.count(".pm-count:not(.pm-x-count)") == len(pairs)
    assert m.count("path.pm-reach") == 0                    # hidden layer: listed, not drawn
    # Click inside a township (where no marker or line covers it): its popup opens.
    x, y = _inside(m, "path.pm-t-330782100")
    m.page.mouse.click(x, y)
    popup = m.page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    text = popup.inner_text()
    name = yiwu_result.region.townships.at["330782100", "name"]
    assert name in text and "到牵头医院" in text and "接收派驻医师" in text and "实施意见" in text   # cited by document
    assert "Travel to lead" not in text                    # the other language is hidden
    assert m.errors == []


def test_language_button(yiwu_maps, open_map):
    m = open_map(yiwu_maps / "linked" / "units" / "330782.html")
    m.page.click(".pm-lang-button")
    assert m.page.evaluate("document.documentElement.className") == "lang-en"
    assert "Lead hospitals" in m.layer_names() and "Compliance" in m.page.inner_text(".pm-info")
    assert "规则核查" not in m.page.inner_text(".pm-info")
    m.page.mouse.click(*_inside(m, "path.pm-t-330782100"))
    assert "to lead" in m.page.locator(".leaflet-popup-content").inner_text()
    assert "到牵头医院" not in m.page.locator(".leaflet-popup-content").inner_text()
    m.page.click(".pm-lang-button")
    assert m.page.evaluate("document.documentElement.lang") == "zh-CN" and "牵头医院" in m.layer_names()


def test_overview_links_to_county_pages(yiwu_maps, open_map):
    m = open_map(yiwu_maps / "linked" / "index.html")
    assert m.errors == [] and m.layer_names()[:2] == ["医共体与网格", "县（市、区）界"] and "牵头医院" in m.layer_names()
    assert m.count("path.pm-communities") == 2 and m.count(".pm-lead") == 2
    m.page.mouse.click(*_inside(m, "path.pm-communities"))
    link = m.page.locator(".leaflet-popup-content a")
    assert link.get_attribute("href") == "units/330782.html"
    link.click()
    m.page.wait_for_function("window.PM && PM.map !== null && PM.pending === 0 && document.title.startsWith('义乌市')")
    assert m.page.url.endswith("/units/330782.html") and m.count("path.pm-townships") == 14


def test_zhejiang_overview_and_county_pages(zhejiang_maps, open_map):
    result, out = zhejiang_maps
    over = open_map(out / "index.html")
    assert over.errors == [] and over.network == []
    assert over.count("path.pm-communities") == len(result.plan.communities()) == 192
    assert over.count(".pm-lead") == 192 and over.count(".pm-fk-v") == 0      # no village clinics on the overview
    assert over.count("path.pm-counties") == 90
    links = over.page.locator(".pm-title .pm-units a")
    assert links.count() == 90
    shot = over.page.screenshot()
    assert colours_in(over, shot) > 60                    # coloured communities, not a blank page
    for unit in ("330111", "331126"):
        page = open_map(out / "units" / f"{unit}.html")
        assert page.errors == []
        assert page.count("path.pm-townships") == len(next(u for u in result.units if u.id == unit).townships)
        assert page.count("path.pm-dispatch") > 0
    failing = open_map(out / "units" / "331127.html")     # 景宁: its leads cannot staff every center
    info = failing.page.inner_text(".pm-info")
    assert "未通过" in info and "dispatch.attending" in info


def test_screenshots_are_not_blank(yiwu_maps, open_map, tmp_path):
    for path in (yiwu_maps / "linked" / "index.html", yiwu_maps / "linked" / "units" / "330782.html"):
        m = open_map(path)
        shot = m.page.screenshot(path=str(tmp_path / f"{path.stem}.png"))
        assert len(shot) > 20_000 and colours_in(m, shot) > 40


def test_offline_map_renders_the_same_without_network(yiwu_maps, open_map):
    online = open_map(yiwu_maps / "linked" / "units" / "330782.html", block_network=True)
    assert online.errors == [] and online.network == []    # shared assets are local files
    counts = {s: online.count(s) for s in ("path.pm-townships", ".pm-lead", "path.pm-dispatch", ".pm-count", ".pm-cluster")}
    bare = open_map(yiwu_maps / "offline_none" / "units" / "330782.html", block_network=True)
    assert bare.errors == [] and bare.network == []         # tiles "none": not a single request
    assert {s: bare.count(s) for s in counts} == counts
    asked = open_map(yiwu_maps / "offline_osm" / "units" / "330782.html", block_network=True)
    assert asked.errors == [] and asked.network == []      # --offline wins over --tiles osm: no request at all
    assert {s: asked.count(s) for s in counts} == counts
    assert "未加载底图" in asked.page.inner_text("#pm-banner-main")   # and the page says so


def test_markup_in_names_is_inert(xss_maps, open_map):
    result, out = xss_maps
    lead = next(c for c in result.plan.communities() if c.lead == "H1")
    for path, layer in ((out / "units" / "330001.html", "fac:H1"), (out / "index.html", f"lead:{lead.id}")):
        m = open_map(path)
        m.page.evaluate("id => { PM.layers[id].openPopup(); }", layer)
        m.page.hover(".pm-lead")
        m.page.wait_for_timeout(300)
        assert XSS in m.page.locator(".leaflet-popup-content").inner_text()   # shown as literal text
        assert m.count('img[src="x"]') == 0 and m.count("img") == 0
        assert m.dialogs == [] and m.errors == []
    unit = open_map(out / "units" / "330001.html")
    unit.page.mouse.click(*_inside(unit, "path.pm-t-330001005"))
    assert XSS in unit.page.locator(".leaflet-popup-content").inner_text()
    clinic = result.region.facilities.loc["V1", "geometry"]
    _show_layer(unit, "村卫生室")
    unit.page.evaluate("ll => { PM.map.setView(ll, 16, {animate: false}); }", [clinic.y, clinic.x])
    unit.page.wait_for_timeout(400)
    unit.page.hover(".pm-fk-v")
    assert XSS + "卫生室" in " ".join(unit.page.locator(".leaflet-tooltip").all_inner_texts())
    assert unit.dialogs == [] and unit.count("img") == 0


def test_county_page_draws_villages_by_mode_and_circuit_routes_by_weekday(zhejiang_maps, open_map):
    result, out = zhejiang_maps
    routes = result.villages.tables["routes"]
    mine = routes[routes["county"] == "331126"]                # 庆元县: a mountainous county, many circuit villages
    modes = result.villages.tables["village_modes"]
    m = open_map(out / "units" / "331126.html")
    assert m.errors == []
    names = m.layer_names()
    assert "行政村服务方式（固定、巡回、远程）" in names
    days = sorted(set(mine["weekday"]))
    assert [n for n in names if n.startswith("巡回诊疗路线")] == [f"巡回诊疗路线（{'一二三四五'[d - 1].join(['周', ''])}）" for d in days]
    assert m.count("path.pm-route") == mine.groupby(["team", "weekday"]).ngroups
    assert m.count("path.pm-village") == int((modes["county"] == "331126").sum())
    circuit = modes[(modes["county"] == "331126") & (modes["mode"] == "circuit")]
    assert m.count("path.pm-mode-circuit") == len(circuit)
    # A circuit village's popup gives its week: the visit days and times, and its clinic's remote sessions.
    v = circuit[circuit["clinic"] != ""].iloc[0]
    m.page.evaluate("id => PM.layers[id].openPopup()", f"village:{v['village']}")
    text = m.page.locator(".leaflet-popup-content").inner_text()
    visit = mine[mine["village"] == v["village"]].iloc[0]
    assert v["village_name"] in text and "巡回诊疗" in text and visit["arrival"] in text and visit["weekday_zh"] in text
    sessions = result.villages.tables["timetable"]
    first = sessions[sessions["clinic"] == v["clinic"]].iloc[0]
    assert "远程诊疗" in text and first["start"] in text and first["facility_name"] in text
    assert "Circuit visits" not in text and "Remote" not in text      # the other language is hidden
