"""The `planner` command: exact output, exit codes, one-line errors, every command documented."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_regions_lists_the_default_province_with_its_figures() -> None:
    code, out = run("regions")
    assert code == 0
    assert "Embedded regions (default: 浙江省)" in out
    assert "  浙江省 (330000): 11 cities, 90 county-level units, 1,387 townships, 64,567,588 residents" in out


def test_show_summarises_zhejiang_and_explains_the_hangzhou_redraw() -> None:
    code, out = run("show", "浙江省")
    assert code == 0
    assert out.startswith("浙江省: 90 county-level units, 1,387 townships, 25,547 villages, population 64,567,588 (2020 census)\n")
    assert "临平区 (330113) 1,082,768" in out and "杭州's 2021 redraw" in out
    assert "facilities synthesized 21,412" in out


def test_an_ambiguous_county_name_is_a_one_line_error_listing_the_candidates() -> None:
    code, out = run("show", "朝阳区")
    assert code == 2
    assert out.startswith("Error: region: '朝阳区': is ambiguous: 北京市/北京市/朝阳区 (110105), 吉林省/长春市/朝阳区 (220104)")
    assert "Fix: give the adcode or qualify it as 省/市/县" in out
    assert run("show", "吉林省/长春市/朝阳区")[0] == 0


def test_rules_lists_every_rule_with_its_citation() -> None:
    code, out = run("rules", "jilin-2021")
    assert code == 0
    # The heading is built from the rule's values; the clause is quoted beside it, verbatim.
    assert "  [hard] county.tcm_leads (001 (四)) must_lead: 公立县级中医医院（二级及以上）全部牵头组建医共体，人口覆盖率不低于30%\n" in out
    assert "原文: 「政府舉辦的二級及以上中醫院全部牽頭組建緊密型醫共體,其人口覆蓋率不低于縣域人口的30%。」（001 (四)）" in out
    assert "[hard] county.contiguity (planner assumption) contiguity: 每个医共体（网格）连片" in out


@pytest.fixture(scope="module")
def yiwu_plan(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plans") / "yiwu"
    code, text = run("plan", "--region", "义乌市", "--out", str(out), "--quiet", "--no-cache",
                     "--maps-dir", str(out.parent / "maps"))
    assert code == 0, text
    assert text.startswith("义乌市 under zhejiang-2026: 1 units (OPTIMAL 1), 2 communities, population 1,859,390\n")
    assert "Checker: 12/12 hard rules hold" in text  # the rules, and the plan's own structure (plan.structure)
    return out


def test_plan_writes_the_plan_folder(yiwu_plan: Path) -> None:
    names = {p.name for p in yiwu_plan.iterdir()}
    assert {"plan.json", "assignments.csv", "communities.csv", "members.csv", "plan.gpkg", "plan.geojson",
            "check.txt", "roster.csv", "services.xlsx", "run.json"} <= names
    doc = json.loads((yiwu_plan / "plan.json").read_text(encoding="utf-8"))
    assert doc["region"] == "义乌市" and doc["units"][0]["status"] == "OPTIMAL"


def test_resolving_with_a_changed_rule_and_previous_prints_the_diff(yiwu_plan: Path, tmp_path: Path) -> None:
    rules = tmp_path / "one.toml"
    rules.write_text('[policy]\nname = "one"\nextends = "zhejiang-2026"\n[[rule]]\nid = "county.max_communities"\nmax = 1\n',
                     encoding="utf-8")
    code, out = run("plan", "--region", "义乌市", "--rules", str(rules), "--previous", str(yiwu_plan),
                    "--out", str(tmp_path / "after"), "--quiet", "--no-cache", "--no-maps")
    assert code == 0
    diff = re.search(r"^Diff: (\d+) townships moved; leads added 0, removed 1; objective ([\d,]+) -> ([\d,]+)", out, re.M)
    assert diff and int(diff.group(1)) > 0
    assert int(diff.group(3).replace(",", "")) > int(diff.group(2).replace(",", ""))
    assert "  lead removed: 义乌市中医院 (H330782-02)" in out


def test_check_passes_our_plan_and_fails_a_hand_made_layout(yiwu_plan: Path) -> None:
    code, out = run("check", str(yiwu_plan), "--rules", "zhejiang-2026")
    assert code == 0 and out.endswith("All rules hold.\n")
    code, out = run("check", str(REPO / "tests/data/layouts/yiwu_mch_layout.csv"), "--region", "义乌市")
    assert code == 2
    assert ("      义乌市: county.lead_grade (000 (二)): lead 义乌市妇幼保健院 (二甲) is not eligible: needs non-profit "
            "general/TCM hospitals graded 二甲 or above\n") in out
    assert "      义乌市: county.coverage (000 (二)): 1 townships (40,351 residents) are in no community: 大陈镇 (330782106)\n" in out
    assert out.endswith("2 hard-rule violations\n")


def test_map_check_and_dispatch_reload_the_files_a_plan_was_made_from(tmp_path: Path) -> None:
    from planner import io, regions
    from planner.vocabulary import Grade

    fac = regions.load("义乌市").facilities
    fac = fac.drop(columns=["context"]).assign(grade=lambda f: [Grade(int(g)).zh for g in f["grade"]])
    lead = "H330782-01"
    fac.loc[lead, "name"] = "改名<b>测试</b>医院"
    io.write_layers({"facilities": fac.reset_index(drop=True)}, tmp_path / "fac.gpkg")
    od = tmp_path / "od.csv"
    od.write_text("origin,destination,travel_min\n330782001,H330782-01,4.5\n", encoding="utf-8")
    plan = tmp_path / "plan"
    code, text = run("plan", "--region", "义乌市", "--facilities", str(tmp_path / "fac.gpkg"), "--od", str(od),
                     "--out", str(plan), "--quiet", "--no-cache", "--no-maps")
    assert code == 0 and "origin-destination matrix (1 pairs)" in text, text
    assert "Checker: 12/12 hard rules hold" in text   # the city's hospitals in 金华 proper still send experts
    inputs = json.loads((plan / "plan.json").read_text(encoding="utf-8"))["meta"]["inputs"]
    assert [Path(e["path"]).name for k in ("files", "od") for e in inputs[k]] == ["fac.gpkg", "od.csv"]

    code, text = run("check", str(plan), "--rules", "zhejiang-2026")
    assert code == 0 and text.endswith("All rules hold.\n"), text
    code, text = run("dispatch", str(plan), "--out", str(tmp_path / "roster.csv"))
    assert code == 0 and "改名<b>测试</b>医院" in (tmp_path / "roster.csv").read_text(encoding="utf-8-sig"), text
    code, text = run("map", str(plan), "--out", str(tmp_path / "maps"), "--tiles", "none")
    assert code == 0, text
    # A unit's page and its data file (units/<unit>.html loads units/<unit>.js).
    page = "".join(p.read_text(encoding="utf-8") for p in sorted((tmp_path / "maps" / "units").iterdir()))
    assert "改名\\u0026lt;b\\u0026gt;测试" in page and "改名<b>" not in page   # the user's name, escaped, in the page's data
    assert "travel minutes recomputed" not in page                          # the OD matrix was reloaded

    # Without the very files the plan was made from, the commands refuse and name every file.
    od.unlink()
    fac.loc[lead, "name"] = "又改名医院"
    io.write_layers({"facilities": fac.reset_index(drop=True)}, tmp_path / "fac.gpkg")
    for args in (["map", str(plan), "--out", str(tmp_path / "maps2")], ["check", str(plan)]):
        code, text = run(*args)
        assert code == 2 and text.startswith("Error: 2 problems found:\n"), text
        assert f"{tmp_path / 'fac.gpkg'}: was given as --facilities when the plan was made and has changed since" in text
        assert (f"{od}: was given as --od when the plan was made and is missing. Fix: put the file back there, "
                "or make the plan again with `planner plan`") in text
    assert not (tmp_path / "maps2").exists()


def test_a_broken_rule_file_is_reported_line_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nname = "bad"\n[[rule]]\nid = "x"\nkind = "community_count"\nsource = "s"\nmin = 3\nmax = "two"\n',
                   encoding="utf-8")
    code, out = run("plan", "--region", "义乌市", "--rules", str(bad), "--no-cache")
    assert code == 2
    assert out == f"Error: {bad}: rule x: key `max`: Input should be a valid integer, unable to parse string as an integer (got 'two'). Fix: use a value of the right type (numbers without quotes, text in quotes, lists in [ ])\n"


def test_an_internal_error_asks_for_a_bug_report_with_a_debug_bundle(monkeypatch, tmp_path: Path) -> None:
    import planner.regions

    def broken(*_a, **_k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(planner.regions, "load", broken)
    monkeypatch.chdir(tmp_path)
    code, out = run("show", "浙江省")
    assert code == 1
    m = re.match(r"Internal error \(ZeroDivisionError: simulated bug\)\. This is a bug in the planner; please report it "
                 r"with the debug bundle saved at (.+\.zip)\n$", out)
    assert m
    with zipfile.ZipFile(m.group(1)) as z:
        assert {"traceback.txt", "command.json", "versions.json", "inputs.json"} <= set(z.namelist())
        assert "ZeroDivisionError: simulated bug" in z.read("traceback.txt").decode()


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert f"planner {name}" in readme, f"README does not mention `planner {name}`"
