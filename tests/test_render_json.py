"""The map pages' hand-written feature JSON equals what the JSON encoder writes for the same properties."""

import itertools
import json

from planner import render

_REFERENCE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))

VALUES = ["a", '<b>名</b>\n"x"\u2028\\', "", 0, 1, -3, 2**70, 0.0, -0.0, 1.0, 0.5, 1e-7, float("nan"), float("inf"), True, False,
          None, [1, "x", None], {"color": "#fff", "weight": 1}, {"color": "#fff", "weight": 1.0},
          {"color": "#fff", "weight": True}, {"w": -0.0}, {"w": 0.0}, {"a": None, "b": [1]}, {"z": 1, "a": 2}]


def _reference(geometry, **props):
    tip, pop = props.get("tip"), props.get("pop")
    if tip is not None and pop is not None and pop.startswith(tip):
        props["px"] = pop[len(tip):]
        del props["pop"]
    clean = {k: v for k, v in props.items() if v is not None}
    return '{"geometry":' + geometry + ',"properties":' + _REFERENCE.encode(clean) + ',"type":"Feature"}'


def test_feature_json_equals_encoder():
    for a, b in itertools.product(VALUES, repeat=2):
        for props in ({"style": a, "id": b}, {"r": a, "cls": b, "tip": "t", "pop": "t<br>more"}, {"mk": b, "zz": a}):
            assert render._feature("{}", **dict(props)) == _reference("{}", **dict(props))
    for v in VALUES:
        assert render._json_raw(v) == _REFERENCE.encode(v)
    # a style met again with other types or a zero gets its own text, not a cached one
    assert render._feature("{}", style={"w": 1}) != render._feature("{}", style={"w": 1.0})
    assert render._feature("{}", style={"w": 0.0}) != render._feature("{}", style={"w": -0.0})


def test_feature_maker_equals_feature():
    style = {"color": "#ffffff", "weight": 0.8, "fillOpacity": 0.9}
    make = render.feature_maker(("id", "n"), style=style, r=250, cls="pm-village")
    for tip, pop, vid, n in [("<b>村</b>", "<b>村</b>\n周一", "village:1", 1), ("a", "a", "v", 0.5), ("a", "b", "v", 2),
                             (None, "p", "v", 1), ("t", "t\nx", None, 1), ("t", "t\nx", "v", None)]:
        assert make("{}", tip, pop, vid, n) == render._feature("{}", tip=tip, pop=pop, style=style, r=250, cls="pm-village",
                                                              id=vid, n=n)


def test_vendored_page_shell_is_what_folium_draws():
    assert render._page_shell() == render._folium_shell("@@PM_TITLE@@")
    assert "@@PM_TITLE@@" in render._page_shell() and render._SHELL_MARK in render._page_shell()


def test_script_safety_on_bytes_equals_on_text():
    """`Page.data_bytes` makes the page safe on its UTF-8 bytes: the same text as `_script_safe` gives."""
    for v in VALUES:
        text = render._json_raw(v) + '中文 "<\u2028\u2029&>" %%0123abcd%%%%89abcdef%%'
        assert render._script_safe_bytes(text.encode()).decode() == render._script_safe(text)
    page = render.Page("名 <b>", [[0, 0], [1, 1]], [render.Layer("x", render.t("村", "village"), [
        render._feature('{"type":"Point","coordinates":[1,2]}', tip="<b>名</b>\u2028", pop="<b>名</b>\u2028&x")])],
                       [{"pos": "topleft", "html": render.t("规则", "rules") + "<i>&</i>", "cls": "c"}])
    assert page.data_bytes() == page.data_json().encode()
    assert "<" not in page.data_json() and "%%" not in page.data_json().split('"labels"')[1]


def test_lines_equal_json_dumps():
    """`_Proj.line` and `lines` (spaced and compact) write what `json.dumps` writes for the projected path."""
    for gcj in (False, True):
        proj = render._Proj(gcj, render.UNIT_DIGITS)
        paths = [[(120.123456789, 30.987654321), (121.5, 29.25)], [(100.0, 20.0), (100.00001, 20.00002), (101.0, -0.0)]]
        got = proj.lines(paths, spaced=True)
        compact = proj.lines(paths)
        for path, text, short in zip(paths, got, compact):
            x, y = proj.xy([p[0] for p in path], [p[1] for p in path])
            geometry = {"type": "LineString", "coordinates": [[float(a), float(b)] for a, b in zip(x, y)]}
            assert text == json.dumps(geometry)
            assert short == json.dumps(geometry, separators=(",", ":"))
            assert proj.line(path) == text


def test_remembered_rule_words_tell_texts_apart():
    """Two `Text`s with one English and different Chinese are worded apart (a `Text` hashes as its English)."""
    from planner.i18n import Text

    a, b = Text("rule", "规则甲"), Text("rule", "规则乙")
    assert render._heading_html("h", a) != render._heading_html("h", b)
    assert render._heading_html("h", a) == render._heading_html("h", Text("rule", "规则甲"))
    assert render.cite_html(Text("x", "文件甲")) != render.cite_html(Text("x", "文件乙"))
