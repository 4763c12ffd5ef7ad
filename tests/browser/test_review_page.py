"""The review page in Chromium: open a county, change a rule for it in the form, re-solve; map and diff update."""

from __future__ import annotations

import pytest


@pytest.fixture
def review_page(browser, review_server):
    base, _folder = review_server
    # bypass_csp: Playwright's wait_for_function evaluates strings; the page itself forbids eval.
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto(base + "/", wait_until="load")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    yield page, errors
    ctx.close()


def _drawn(page, iframe: str) -> None:
    """Wait until the iframe shows the page its src names, drawn (the renderer sets PM.map; clustered layers loaded)."""
    page.wait_for_function("""(sel) => {
        const f = document.querySelector(sel);
        const w = f && f.contentWindow;
        if (!w || !f.getAttribute('src')) return false;
        const want = new URL(f.getAttribute('src'), location.href);
        return w.location.pathname === want.pathname && w.PM && w.PM.map !== null && w.PM.pending === 0
            && w.document.readyState === 'complete';
    }""", arg=iframe, timeout=30_000)
    page.wait_for_timeout(300)  # markers and panels settle


def _leads(page) -> int:
    _drawn(page, "#map")
    return page.frame_locator("#map").locator(".pm-lead").count()


def test_change_one_countys_rule_resolve_and_see_map_and_diff_update(review_page) -> None:
    page, errors = review_page
    page.fill("#region", "义乌市")
    page.click("#open")
    page.wait_for_selector("#result-box:not([hidden])", timeout=60_000)
    assert page.input_value("#unit") == "330782"
    assert page.is_checked("input[name=scope][value=unit]")          # the change is for this county only
    assert _leads(page) == 2
    first_map = page.get_attribute("#map", "src")
    assert "首次求解" in page.inner_text("#diff")

    field = "#f-county\\.max_communities-max"
    assert page.input_value(field) == "3"
    page.fill(field, "1")
    page.click("#solve")
    page.wait_for_function("document.querySelector('#diff').textContent.startsWith('Diff:')", timeout=60_000)
    assert "6 townships moved; leads added 0, removed 1" in page.inner_text("#diff")
    assert page.get_attribute("#map", "src") != first_map                  # a new map ...
    assert _leads(page) == 1                                               # ... with one community's lead
    assert "PASS" in page.inner_text("#checks") and "FAIL" not in page.inner_text("#checks")
    assert "county.max_communities" in page.inner_text("#edits")

    page.click("#tab-diff")
    _drawn(page, "#diffmap")
    assert page.frame_locator("#diffmap").locator("path.pm-moved").count() == 6                    # the moved townships, in red

    page.fill(field, "two")
    page.click("#solve")
    page.wait_for_selector("#errors:not([hidden])", timeout=30_000)
    text = page.inner_text("#errors")
    # The page is in Chinese: the rule file's message in its Chinese wording (the key and the value as written).
    assert "rule county.max_communities" in text and "键 `max`" in text and "（实际为 'two'）" in text
    assert errors == []
