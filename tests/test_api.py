"""The public Python API: the README's Python section as written, examples/, tables equal to the plan files, rule edits."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from fixtures import Fac, grid_region

import planner
from planner import api

REPO = Path(__file__).resolve().parents[1]


def _readme_python() -> list[str]:
    """The ```python blocks of the README's "## Python" section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_python_section_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    blocks = _readme_python()
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md (Python section)", "exec"), scope)  # noqa: S102 - the documented code itself
    out = capsys.readouterr().out
    assert "<PlanResult 义乌市 under zhejiang-2026: 1 units (OPTIMAL 1), 2 communities, 0 hard-rule violations>" in out
    assert "Diff: 6 townships moved; leads added 0, removed 1" in out
    assert (tmp_path / "plans" / "yiwu-max1" / "plan.json").exists()
    assert (tmp_path / "maps" / "yiwu-max1" / "units" / "330782.html").exists()
    saved = planner.load_rules(tmp_path / "yiwu-max1.toml")
    assert saved.by_id("county.max_communities").max == 1 and saved.digest == scope["one"].digest
    assert scope["mine"].warnings == []
    again = planner.read_plan(tmp_path / "plans" / "yiwu-max1")  # the folder read back, re-checked
    pd.testing.assert_frame_equal(again.assignments, scope["after"].assignments)
    assert list(again.checks["status"]) == list(scope["after"].checks["status"])


def test_examples_run(tmp_path: Path) -> None:
    scripts = sorted((REPO / "examples").glob("*.py"))
    assert scripts
    for script in scripts:
        done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / script.stem)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(tmp_path / "community_count_sweep" / "sweep.csv")
    assert list(table["max_communities"]) == [3, 2, 1] and list(table["communities"]) == [2, 2, 1]
    assert (table["hard_violations"] == 0).all()
    layer = gpd.read_file(tmp_path / "community_count_sweep" / "communities.gpkg", layer="communities")
    assert len(layer) == 1 and layer.crs.to_epsg() == 4326


def test_import_planner_loads_no_heavy_module() -> None:
    code = "import sys, planner; print(sorted(m for m in ('pandas', 'geopandas', 'numpy', 'ortools', 'pydantic') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_public_names_are_not_shadowed_by_submodules() -> None:
    import planner.check  # noqa: F401  (submodules set package attributes when imported)
    import planner.plan  # noqa: F401

    assert callable(planner.solve) and planner.solve is api.solve
    assert planner.check_plan is api.check_plan
    assert set(planner.__all__) <= set(dir(planner))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        planner.nothing  # noqa: B018


@pytest.fixture(scope="module")
def county():
    """
    A 3 x 3 county: a people's hospital (二甲) north-west, a TCM hospital (二甲) south-east, a
    township health center in the middle::

        +------+------+------+
        | 50 H |  10  |  10  |
        +------+------+------+
        |  10  | 10 T |  10  |
        +------+------+------+
        |  10  |  10  | 50 Z |
        +------+------+------+
    """
    pops = [[50_000, 10_000, 10_000], [10_000, 10_000, 10_000], [10_000, 10_000, 50_000]]
    facs = [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
            Fac("H2", "测试县中医院", "tcm_hospital", "二甲", (2, 2)),
            Fac("T1", "T11镇卫生院", "township_health_center", "一甲", (1, 1), beds=20)]
    return grid_region(pops, facs)


@pytest.fixture(scope="module")
def solved(county, tmp_path_factory):
    rules = planner.load_rules("zhejiang-2026")
    result = planner.solve(county, rules)
    folder = result.write(tmp_path_factory.mktemp("plan") / "county")
    return result, folder


def test_tables_have_the_columns_and_rows_of_the_plan_files(solved) -> None:
    result, folder = solved
    for name, frame in (("communities", result.communities), ("assignments", result.assignments),
                        ("members", result.members), ("roster", result.roster), ("dialysis_sites", result.dialysis_sites),
                        ("dialysis_coverage", result.dialysis_coverage)):
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        written = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        assert list(written.columns) == [c for c in frame.columns if c != "geometry"], name
        assert len(written) == len(frame), name
    for layer in ("communities", "townships", "leads"):
        written = gpd.read_file(folder / "plan.gpkg", layer=layer)
        mine = getattr(result, layer)
        assert list(written.columns) == list(mine.columns) and len(written) == len(mine)
        assert mine.crs.to_epsg() == 4326
    checks = pd.read_excel(folder / "report.xlsx", sheet_name="rules")
    # The workbook is the officials' copy: its header row is the Chinese of the frame's column names.
    from planner.report import HEADER_ZH

    assert list(checks.columns) == [HEADER_ZH.get(c, c) for c in result.checks.columns]
    # Its rows are the frame's, failing rules first, statuses in words (通过, 未通过, ...).
    from planner.report import mark_text

    sheet = dict(zip(checks[HEADER_ZH["rule_id"]], checks[HEADER_ZH["status"]]))
    assert sheet == {r: mark_text(m).zh for r, m in zip(result.checks["rule_id"], result.checks["status"])}


def test_replace_validates_like_a_rule_file() -> None:
    rules = planner.load_rules("zhejiang-2026")
    assert rules.replace("county.max_communities", max=2).by_id("county.max_communities").max == 2
    assert rules.by_id("county.max_communities").max == 3  # the original is unchanged
    with pytest.raises(planner.RuleFileError, match=r"rule county\.max_communities: key `max`: Input should be a valid "
                                                     r"integer.*\(got 'two'\)\. Fix: "):
        rules.replace("county.max_communities", max="two")
    with pytest.raises(planner.RuleFileError, match=r"unknown key `maxx` \(did you mean 'max'\?\)"):
        rules.replace("county.max_communities", maxx=2)
    with pytest.raises(planner.RuleFileError, match=r"no rule 'county\.max_comunities'.*did you mean 'county\.max_communities'"):
        rules.replace("county.max_comunities", max=2)
    with pytest.raises(planner.RuleFileError, match=r"key `kind` cannot be changed"):
        rules.replace("county.max_communities", kind="coverage")
    lead = rules.replace("county.lead_grade", lead={"min_grade": "三乙"}).by_id("county.lead_grade")
    assert lead.lead.min_grade.zh == "三乙" and lead.lead.nonprofit is True  # the other keys are kept


def test_a_bad_value_never_reaches_the_solver(county) -> None:
    rules = planner.load_rules("zhejiang-2026")
    with pytest.raises(planner.RuleFileError):
        planner.solve(county, rules.replace("county.max_communities", max=0))


def test_save_writes_only_the_changes_and_reads_back_the_same_rules(tmp_path: Path) -> None:
    rules = planner.load_rules("zhejiang-2026")
    edited = rules.replace("county.max_communities", max=2).replace("dispatch.attending", release_share=0.25)
    saved = edited.save(tmp_path / "review.toml", title="评审稿")
    text = (tmp_path / "review.toml").read_text(encoding="utf-8")
    assert text.startswith("# Saved by medcommunity-planner on top of zhejiang-2026.")
    assert 'extends = "zhejiang-2026"' in text and "max = 2" in text and "release_share = 0.25" in text
    assert "county.coverage" not in text  # unchanged rules are inherited, not copied
    assert saved.digest == edited.digest and saved.path == str(tmp_path / "review.toml")
    assert edited.save(tmp_path / "review.toml").digest == edited.digest  # its own file may be replaced
    (tmp_path / "mine.toml").write_text("# my notes\n", encoding="utf-8")
    with pytest.raises(planner.RuleFileError, match="exists and was not written by the planner"):
        edited.save(tmp_path / "mine.toml")
    from planner.rulefile import builtin_dir

    with pytest.raises(planner.RuleFileError, match="shipped rule file"):
        edited.save(builtin_dir() / "zhejiang-2026.toml")
    assert (tmp_path / "mine.toml").read_text(encoding="utf-8") == "# my notes\n"


def test_solving_one_county_of_a_region_keeps_its_city_hospitals() -> None:
    pops = [[20_000, 20_000], [20_000, 20_000]]
    facs = [Fac("A1", "甲县人民医院", "general_hospital", "二甲", (0, 0), county="330001"),
            Fac("B1", "乙县人民医院", "general_hospital", "二甲", (1, 1), county="330002"),
            Fac("C1", "测试市人民医院", "general_hospital", "三甲", (1, 0), county="330002", admin_level="city")]
    region = grid_region(pops, facs, county_of=[["330001", "330001"], ["330002", "330002"]])
    rules = planner.load_rules("zhejiang-2026")
    one = planner.solve(region, rules, counties="330001")
    assert [u.id for u in one.run.units] == ["330001"]
    assert "C1" in one.region.facilities.index and bool(one.region.facilities.at["C1", "context"])
    with pytest.raises(planner.InputDataError, match="'330009': is not a county of the region"):
        planner.solve(region, rules, counties="330009")


def test_region_from_geodataframes_validates_like_files(county) -> None:
    facilities = county.facilities.drop(columns=["context"], errors="ignore").copy()
    region = planner.region_from_geodataframes(facilities=facilities, townships=county.townships,
                                               counties=county.counties, name="测试县")
    assert set(region.facilities.index) == set(county.facilities.index)
    bad = facilities.astype({"grade": object})
    bad.loc["H1", "grade"] = "特级"
    bad = bad.set_crs(None, allow_override=True)
    with pytest.raises(planner.InputDataError, match=r"facilities \(DataFrame\): has no CRS"):
        planner.region_from_geodataframes(facilities=bad, base=county)
    with pytest.raises(planner.InputDataError, match=r"facilities \(DataFrame\): row 0: grade '特级' is not a hospital grade"):
        planner.region_from_geodataframes(facilities=bad.set_crs("EPSG:4326"), base=county)


def test_check_plan_of_a_hand_made_layout(county, tmp_path: Path) -> None:
    layout = tmp_path / "layout.csv"
    codes = sorted(county.townships.index)
    layout.write_text("township_code,lead_id\n" + "".join(f"{c},H1\n" for c in codes), encoding="utf-8")
    verdict = planner.check_plan(layout, "zhejiang-2026", region=county)
    assert verdict.passed
    assert set(verdict.checks["rule_id"]) >= {"county.max_communities", "county.lead_grade", "county.contiguity"}


def test_group_areas_is_the_matrix_core() -> None:
    assert doctest.run_docstring_examples(api.group_areas, {"group_areas": api.group_areas}, verbose=False) is None
    failures, _ = doctest.testmod(api, verbose=False, raise_on_error=False, optionflags=doctest.ELLIPSIS)
    assert failures == 0
    # Two centers at the ends of a path of five areas; contiguity keeps each group a run of the path.
    g = planner.group_areas([5, 1, 1, 1, 5], [[0, 40], [1, 30], [20, 20], [30, 1], [40, 0]],
                            [(0, 1), (1, 2), (2, 3), (3, 4)], [0, 4], min_groups=2, max_groups=2)
    assert g.status == "OPTIMAL" and g.centers == (0, 1)
    assert g.assignment.tolist() in ([0, 0, 0, 1, 1], [0, 0, 1, 1, 1])


def test_map_html_is_one_self_contained_page(solved) -> None:
    result, _ = solved
    page = result.map_html("330001", tiles="none")
    assert page.startswith("<!DOCTYPE html>") and "assets/" not in page and "测试县" in page
