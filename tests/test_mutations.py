"""The checker as an independent judge: a real plan of 义乌市, broken in one way at a time, is caught
by the rule that breaks and in the unit (or file) where it breaks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from planner.check import compliance_lines
from planner.cli import main
from planner.pipeline import check_file, plan_inputs

YIWU = "330782"
NAME = "义乌市"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mutations") / "yiwu"
    result = CliRunner().invoke(main, ["plan", "--region", NAME, "--out", str(out), "--quiet", "--no-cache", "--no-maps"])
    assert result.exit_code == 0, result.output
    return out


# --- how to break a plan --------------------------------------------------------------------------------------


def _doc(folder: Path) -> dict:
    return json.loads((folder / "plan.json").read_text(encoding="utf-8"))


def _put(folder: Path, doc: dict) -> None:
    (folder / "plan.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def edit_plan(change: Callable[[list[dict]], None]) -> Callable[[Path], None]:
    """Change the communities of 义乌市 in plan.json (the list of community objects)."""
    def apply(folder: Path) -> None:
        doc = _doc(folder)
        change(doc["units"][0]["communities"])
        _put(folder, doc)
    return apply


def edit_unit(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        doc = _doc(folder)
        change(doc["units"][0])
        _put(folder, doc)
    return apply


def edit_csv(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        frame = pd.read_csv(folder / name, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        change(frame).to_csv(folder / name, index=False, encoding="utf-8-sig")
    return apply


def set_cell(row: int, column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame
    return change


def drop_rows(select: Callable[[pd.DataFrame], pd.Series]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame[~select(frame)]


def edit_layer(file: str, layer: str | None, change: Callable[[object], object]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / file
        layers = [name for name, _ in pyogrio.list_layers(path)]
        frames = {name: pyogrio.read_dataframe(path, layer=name) for name in layers}
        target = layer or layers[0]
        frames[target] = change(frames[target])
        path.unlink()
        for n, (name, frame) in enumerate(frames.items()):
            pyogrio.write_dataframe(frame, path, layer=name if file.endswith(".gpkg") else None,
                                    driver="GPKG" if file.endswith(".gpkg") else "GeoJSON", append=n > 0)
    return apply


def layer_cell(column: str, value: str, row: int = 0) -> Callable[[object], object]:
    def change(frame):  # type: ignore[no-untyped-def]
        frame.loc[row, column] = value
        return frame
    return change


def shift_shape(frame):  # type: ignore[no-untyped-def]
    frame.loc[0, "geometry"] = frame.geometry.iloc[0].buffer(0.01)
    return frame


def edit_xlsx(file: str, sheet: str, cell: str, value: object) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        wb = openpyxl.load_workbook(folder / file)
        wb[sheet][cell] = value
        wb.save(folder / file)
    return apply


def remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def append_text(name: str, text: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        with open(folder / name, "a", encoding="utf-8") as f:
            f.write(text)
    return apply


# --- the broken plans: (how, rule that must fail, unit or file it must name) -------------------------------------

def _move(t_from: int, t_to: int) -> Callable[[list[dict]], None]:
    """Move the first township of community `t_from` into community `t_to`."""
    def change(comms: list[dict]) -> None:
        comms[t_to]["townships"].append(comms[t_from]["townships"].pop(0))
    return change


def _four_communities(comms: list[dict]) -> None:
    # Four communities under two leads: over the county's maximum of 3, and two leads shared.
    a, b = comms
    comms[:] = [{"id": a["id"], "lead": a["lead"], "townships": a["townships"][:4]},
                {"id": a["id"] + "-b", "lead": a["lead"], "townships": a["townships"][4:]},
                {"id": b["id"], "lead": b["lead"], "townships": b["townships"][:3]},
                {"id": b["id"] + "-b", "lead": b["lead"], "townships": b["townships"][3:]}]


def _add_community(comms: list[dict], lead: str, take: int = 1) -> None:
    comms.append({"id": f"{YIWU}:{lead}", "lead": lead, "townships": [comms[0]["townships"].pop() for _ in range(take)]})


MUTATIONS: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # plan.json: the plan as written
    "township_in_two_communities": (edit_plan(lambda c: c[1]["townships"].append(c[0]["townships"][0])),
                                    "plan.structure", YIWU),
    "township_in_two_communities_coverage": (edit_plan(lambda c: c[1]["townships"].append(c[0]["townships"][0])),
                                             "county.coverage", YIWU),
    "two_communities_share_a_lead": (edit_plan(lambda c: c[1].update(lead=c[0]["lead"])), "plan.structure", YIWU),
    "four_communities_over_the_maximum": (edit_plan(_four_communities), "county.max_communities", YIWU),
    "four_communities_share_leads": (edit_plan(_four_communities), "plan.structure", YIWU),
    "township_left_out": (edit_plan(lambda c: c[0]["townships"].pop()), "county.coverage", YIWU),
    "unknown_township": (edit_plan(lambda c: c[0]["townships"].append("330782999")), "plan.structure", YIWU),
    "unknown_lead": (edit_plan(lambda c: c[1].update(lead="H330782-99")), "plan.structure", YIWU),
    "ineligible_lead": (edit_plan(lambda c: c[1].update(lead="T330782100")), "county.lead_grade", YIWU),
    "community_without_townships": (edit_plan(lambda c: c.append({"id": f"{YIWU}:H330782-03", "lead": "H330782-03",
                                                                  "townships": []})), "plan.structure", YIWU),
    "community_listed_twice": (edit_plan(lambda c: c.append(dict(c[0]))), "plan.structure", YIWU),
    "unit_infeasible_without_communities": (edit_unit(lambda u: u.update(status="INFEASIBLE", communities=[])),
                                            "county.coverage", YIWU),
    "plan_json_edited_after_the_run": (edit_plan(_move(0, 1)), "plan.tables", "plan.json"),
    "moved_township_tables_disagree": (edit_plan(_move(0, 1)), "plan.tables", YIWU),
    # the tables officials read
    "assignments_lead_changed": (edit_csv("assignments.csv", set_cell(0, "lead_id", "H330782-02")), "plan.tables", YIWU),
    "assignments_row_deleted": (edit_csv("assignments.csv", lambda f: f.iloc[1:]), "plan.tables", YIWU),
    "assignments_row_duplicated": (edit_csv("assignments.csv", lambda f: pd.concat([f, f.iloc[:1]])), "plan.tables", YIWU),
    "assignments_population_changed": (edit_csv("assignments.csv", set_cell(2, "population", "1")), "plan.tables", YIWU),
    "assignments_column_dropped": (edit_csv("assignments.csv", lambda f: f.drop(columns="lead_id")), "plan.tables",
                                   "assignments.csv"),
    "communities_population_changed": (edit_csv("communities.csv", set_cell(0, "population", "5")), "plan.tables", YIWU),
    "communities_row_deleted": (edit_csv("communities.csv", lambda f: f.iloc[1:]), "plan.tables", YIWU),
    "communities_table_removed": (remove("communities.csv"), "plan.tables", "communities.csv"),
    "members_row_deleted": (edit_csv("members.csv", lambda f: f.iloc[5:]), "plan.tables", YIWU),
    "members_moved": (edit_csv("members.csv", set_cell(10, "community_id", f"{YIWU}:H330782-01")), "plan.tables", YIWU),
    "roster_count_zero": (edit_csv("roster.csv", set_cell(0, "count", "0")), "dispatch.attending", YIWU),
    "roster_row_deleted": (edit_csv("roster.csv", lambda f: f.iloc[1:]), "dispatch.attending", YIWU),
    "roster_title_downgraded": (edit_csv("roster.csv", set_cell(0, "title", "住院医师")), "dispatch.attending", YIWU),
    "roster_experts_removed": (edit_csv("roster.csv", drop_rows(lambda f: f["role"] == "expert")), "dispatch.experts", YIWU),
    "roster_unknown_community": (edit_csv("roster.csv", set_cell(0, "community_id", f"{YIWU}:NOPE")), "plan.tables", YIWU),
    "roster_wrong_sender": (edit_csv("roster.csv", set_cell(0, "from_id", "H330782-02")), "plan.tables", YIWU),
    "dialysis_site_not_central": (edit_csv("dialysis_sites.csv", set_cell(0, "facility_id", "H330782-01")),
                                  "dialysis.central_thc", YIWU),
    "dialysis_third_site": (edit_csv("dialysis_sites.csv", lambda f: pd.concat([f, f.iloc[:1]])),
                            "dialysis.central_thc", YIWU),
    "gpkg_township_community_changed": (edit_layer("plan.gpkg", "townships", layer_cell("community_id", f"{YIWU}:H330782-02")),
                                        "plan.tables", YIWU),
    "gpkg_township_shape_moved": (edit_layer("plan.gpkg", "townships", shift_shape), "plan.tables", YIWU),
    "gpkg_lead_changed": (edit_layer("plan.gpkg", "leads", layer_cell("lead_id", "H330782-03")), "plan.tables", YIWU),
    "geojson_lead_changed": (edit_layer("plan.geojson", None, layer_cell("lead_id", "H330782-03")), "plan.tables", YIWU),
    "services_xlsx_count_changed": (edit_xlsx("services.xlsx", "roster", "J2", 7), "plan.tables", YIWU),
    "report_xlsx_edited": (edit_xlsx("report.xlsx", "region", "A1", "edited"), "plan.tables", "report.xlsx"),
    "access_table_edited": (append_text("emergency_coverage.csv", "330782,x\n"), "plan.tables", "emergency_coverage.csv"),
    "manifest_removed": (remove("manifest.json"), "plan.tables", "manifest.json"),
}


@pytest.fixture(scope="module")
def inputs(plan_dir: Path) -> tuple:
    """The region and travel model the plan was made from, loaded once (as check_file would load them)."""
    from planner.planfile import read_plan
    from planner.rulefile import load_rules

    return plan_inputs(read_plan(plan_dir), load_rules("zhejiang-2026"))


def _check(folder: Path, inputs: tuple) -> tuple[list, str]:
    region, travel = inputs
    _plan, _units, statuses = check_file(str(folder), region=region, travel=travel)
    return statuses, "\n".join(compliance_lines(statuses))


def test_the_unbroken_plan_passes_every_check(plan_dir: Path, inputs: tuple) -> None:
    statuses, text = _check(plan_dir, inputs)
    assert not [v for s in statuses if s.rule.hard for v in s.violations], text
    assert {"plan.structure", "plan.tables"} <= {s.rule.id for s in statuses}
    assert "reserved_capacity" not in text  # zhejiang-2026 has no city grids


SAME_BREAK = {"township_in_two_communities_coverage": "township_in_two_communities",
              "four_communities_share_leads": "four_communities_over_the_maximum",
              "moved_township_tables_disagree": "plan_json_edited_after_the_run"}
"""Entries that break the plan as another entry does, to assert a second rule that must catch it."""


def test_the_suite_has_at_least_30_kinds_of_broken_plan() -> None:
    kinds = [name for name in MUTATIONS if name not in SAME_BREAK]
    assert len(kinds) >= 30, len(kinds)
    assert set(SAME_BREAK.values()) <= set(MUTATIONS)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_broken_plan_is_caught_with_its_rule_and_unit(name: str, plan_dir: Path, inputs: tuple, tmp_path: Path) -> None:
    how, rule_id, where = MUTATIONS[name]
    folder = tmp_path / "yiwu"
    shutil.copytree(plan_dir, folder)
    how(folder)
    statuses, text = _check(folder, inputs)
    failing = [v for s in statuses if s.rule.id == rule_id for v in s.violations]
    assert failing, f"{rule_id} did not catch {name}:\n{text}"
    assert any(where in (v.unit, v.unit_name) for v in failing), [str(v) for v in failing]
    shown = NAME if where == YIWU else where
    assert any(line.strip().startswith(f"{shown}: {rule_id} (") for line in text.splitlines()), text
    assert f"FAIL  {rule_id} (" in text


def test_the_cli_exits_2_on_a_broken_plan_and_names_rule_and_unit(plan_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "yiwu"
    shutil.copytree(plan_dir, folder)
    edit_plan(lambda c: c[1].update(lead=c[0]["lead"]))(folder)
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 2, result.output
    assert f"{NAME}: plan.structure (planner assumption): communities {YIWU}:H330782-01 and {YIWU}:H330782-02 share the " \
           "lead H330782-01" in result.output


def test_without_rules_the_plan_is_checked_under_its_own_and_other_rules_are_noted(plan_dir: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(plan_dir), "--rules", "jilin-2021"])
    assert "Note: checked against jilin-2021 (jilin-2021); the plan was made under zhejiang-2026 (zhejiang-2026): " \
           "the rules differ" in result.output
    own = CliRunner().invoke(main, ["check", str(plan_dir)])
    assert own.exit_code == 0 and "Note:" not in own.output and "county.max_communities" in own.output


def test_a_rule_that_applies_to_no_unit_is_shown_as_such_never_pass(plan_dir: Path, tmp_path: Path) -> None:
    rules = tmp_path / "wucheng.toml"
    rules.write_text('[policy]\nname = "wucheng"\nextends = "zhejiang-2026"\n\n[[rule]]\nid = "county.max_communities"\n'
                     'counties = ["330702"]\nmax = 1\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(plan_dir), "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "county.max_communities@330702" in x)
    assert line.startswith("N/A   county.max_communities@330702 (000 (二)): 每个县（市、区）恰好1个医共体 — "
                           "applies to no unit of this plan"), line
    assert "PASS  county.max_communities (000 (二)): 每个县（市、区）1-3个医共体 — 1 units, 0 violations" in result.output


def test_reserved_capacity_is_rerun_from_the_plan_and_its_table_compared(tmp_path: Path) -> None:
    """A city-grid plan (贵阳市, guizhou-2024): the checker recomputes reserved capacity from plan.json, so an
    edited reserved_capacity.csv is caught in its unit, and the rule itself is re-run (never taken from the table)."""
    out = tmp_path / "guiyang"
    result = CliRunner().invoke(main, ["plan", "--region", "贵阳市", "--rules", "guizhou-2024", "--out", str(out),
                                       "--quiet", "--no-cache", "--no-maps"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "reserved_capacity.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert len(table) >= 2
    statuses, text = _check_folder(out)
    capacity = next(s for s in statuses if s.rule.kind == "reserved_capacity")
    assert capacity.units_checked == len(table)
    assert not [v for s in statuses if s.rule.id == "plan.tables" for v in s.violations], text
    table.loc[0, "reserve_beds"] = "0"
    table.loc[1, "flag"] = ""
    table.to_csv(out / "reserved_capacity.csv", index=False, encoding="utf-8-sig")
    statuses, text = _check_folder(out)
    found = [v for s in statuses if s.rule.id == "plan.tables" for v in s.violations]
    unit = table.loc[0, "unit"]
    assert any(v.unit == unit and "reserved_capacity.csv: row" in v.message and "reserve_beds is '0'" in v.message
               for v in found), text
    again = next(s for s in statuses if s.rule.kind == "reserved_capacity")
    assert len(again.violations) == len(capacity.violations)   # recomputed from the plan, not read from the table


def _check_folder(folder: Path) -> tuple[list, str]:
    _plan, _units, statuses = check_file(str(folder))
    return statuses, "\n".join(compliance_lines(statuses))
