"""The review page's server over real HTTP: sessions, edits validated like files, warm re-solves, diffs, saving."""

from __future__ import annotations

import http.cookiejar
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import planner


class Client:
    """A browser session: its own cookie, JSON in and out."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, path: str, body: dict | None = None, *, headers: dict | None = None, raw: bytes | None = None):
        data = raw if raw is not None else (None if body is None else json.dumps({"lang": "en", **body}).encode())
        req = urllib.request.Request(self.base + path, data=data, headers={
            "Accept-Language": "en", **({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})})
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, self._body(r.headers, r.read())
        except urllib.error.HTTPError as e:
            return e.code, self._body(e.headers, e.read())

    @staticmethod
    def _body(headers, data: bytes):
        return json.loads(data) if headers.get("content-type", "").startswith("application/json") else data


@pytest.fixture(scope="module")
def opened(review_server):
    base, folder = review_server
    c = Client(base)
    status, view = c.call("/api/open", {"region": "义乌市", "rules": "zhejiang-2026"})
    assert status == 200, view
    status, first = c.call("/api/solve", {"unit": "330782"})
    assert status == 200, first
    return c, view, first, folder


def test_opening_lists_the_units_and_the_rules_in_force(opened) -> None:
    _c, view, first, _ = opened
    assert view["units"] == [{"id": "330782", "name": "义乌市", "scope": "county"}]
    rule = next(r for r in view["form"] if r["id"] == "county.max_communities")
    assert {v["key"]: v["text"] for v in rule["values"]}["max"] == "3"
    assert first["summary"]["communities"] == 2 and first["passed"] and first["diff"] is None


def test_an_edit_for_one_county_resolves_warm_with_a_diff_and_maps(opened) -> None:
    c, _view, _first, _ = opened
    status, view = c.call("/api/edit", {"rule_id": "county.max_communities", "unit": "330782", "values": {"max": "1"}})
    assert status == 200, view
    assert view["edited"] and view["edits"][0]["id"] == "county.max_communities" and view["edits"][0]["max"] == 1
    status, solved = c.call("/api/solve", {"unit": "330782"})
    assert status == 200 and solved["summary"]["communities"] == 1
    assert solved["diff"]["lines"][0].startswith("Diff: 6 townships moved; leads added 0, removed 1")
    assert solved["diff"]["leads_removed"] == ["H330782-02"]
    status, page = c.call(solved["map"])
    assert status == 200 and b"../assets/planner-map.js" in page and "义乌市".encode() in page
    status, diff_map = c.call(solved["diff_map"])
    assert status == 200 and "规划对比".encode() in diff_map
    status, _ = Client(c.base).call(solved["map"])  # another session cannot see this session's maps
    assert status == 404
    c.call("/api/reset", {})


def test_editing_a_countys_override_again_changes_it_in_place_and_nowhere_else(opened) -> None:
    c, _view, _first, _ = opened
    for value in ("1", "2"):
        status, view = c.call("/api/edit", {"rule_id": "county.max_communities", "unit": "330782", "values": {"max": value}})
        assert status == 200, view
        rule = next(r for r in view["form"] if r["id"] == "county.max_communities")   # shown under its own id
        assert {v["key"]: v["text"] for v in rule["values"]}["max"] == value
    status, region_wide = c.call("/api/edit", {"rule_id": "county.max_communities", "unit": None, "values": {}})
    assert status == 200
    rule = next(r for r in region_wide["form"] if r["id"] == "county.max_communities")
    assert {v["key"]: v["text"] for v in rule["values"]}["max"] == "3"                # elsewhere: the parent's
    c.call("/api/reset", {})


def test_a_bad_value_gets_the_message_the_rule_file_gets(opened, tmp_path: Path) -> None:
    c, _view, _first, _ = opened
    status, out = c.call("/api/edit", {"rule_id": "county.max_communities", "unit": None, "values": {"max": "two"}})
    assert status == 400
    bad = tmp_path / "zhejiang-2026-review.toml"
    bad.write_text('[policy]\nname = "r"\nextends = "zhejiang-2026"\n[[rule]]\nid = "county.max_communities"\nmax = "two"\n',
                   encoding="utf-8")
    with pytest.raises(planner.RuleFileError) as cli:
        planner.load_rules(bad)
    assert out["error"] == ["Error: " + str(cli.value).replace(str(bad), "zhejiang-2026-review.toml")]
    assert "key `max`: Input should be a valid integer" in out["error"][0]


def test_saving_writes_a_rule_file_in_the_save_folder_only(opened) -> None:
    c, _view, _first, folder = opened
    c.call("/api/edit", {"rule_id": "dispatch.attending", "unit": "330782", "values": {"release_share": "0.3"}})
    status, saved = c.call("/api/save", {"name": "yiwu-review.toml"})
    assert status == 200, saved
    path = Path(saved["path"])
    assert path.parent == folder.resolve() and saved["same"]
    assert planner.load_rules(path).by_id("dispatch.attending").release_share == 0.3
    for name in ("../escape.toml", "/tmp/abs.toml", "sub/x.toml", "notes.txt", ""):
        status, out = c.call("/api/save", {"name": name})
        assert status == 400 and out["error"], name
    (folder / "mine.toml").write_text("# a reviewer's own file\n", encoding="utf-8")
    status, out = c.call("/api/save", {"name": "mine.toml"})
    assert status == 400 and "was not written by the planner" in out["error"][0]
    assert (folder / "mine.toml").read_text(encoding="utf-8") == "# a reviewer's own file\n"
    assert not (folder.parent / "escape.toml").exists()
    status, options = c.call("/api/options")
    assert {"value": "yiwu-review.toml", "label": "yiwu-review.toml", "kind": "saved"} in options["rules"]
    c.call("/api/reset", {})


def test_sessions_are_kept_apart_under_concurrent_requests(review_server) -> None:
    base, _ = review_server
    a, b = Client(base), Client(base)
    for c in (a, b):
        assert c.call("/api/open", {"region": "义乌市", "rules": "zhejiang-2026"})[0] == 200
    results: dict[str, object] = {}

    def work(name: str, c: Client, bound: str) -> None:
        c.call("/api/edit", {"rule_id": "county.max_communities", "unit": None, "values": {"max": bound}})
        results[name] = c.call("/api/solve", {"unit": "330782"})

    threads = [threading.Thread(target=work, args=("a", a, "1")), threading.Thread(target=work, args=("b", b, "2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results["a"][0] == 200 and results["b"][0] == 200
    assert results["a"][1]["summary"]["communities"] == 1 and results["b"][1]["summary"]["communities"] == 2
    view_a = a.call("/api/view")[1]
    assert next(r for r in view_a["form"] if r["id"] == "county.max_communities")["values"][-1]["text"] == "1"


def test_requests_from_elsewhere_are_refused(review_server) -> None:
    base, _ = review_server
    c = Client(base)
    assert c.call("/api/options", headers={"Host": "evil.example:80"})[0] == 403
    assert c.call("/api/open", {"region": "义乌市", "rules": "zhejiang-2026"}, headers={"Origin": "http://evil.example"})[0] == 403
    assert c.call("/api/open", raw=b"region=x", headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert c.call("/api/open", {"region": "义乌市", "rules": "/etc/passwd"})[1]["error"][0].startswith("Error: /etc/passwd: ")
