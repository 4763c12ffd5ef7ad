"""Roster templates: `planner export` writes what `planner validate` reads back OK; Chinese headers; every warning."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.schema import HEADERS_ZH, LAYERS, header_name
from planner.validate import COLUMN_ALIASES


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("roster") / "yiwu.xlsx"
    code, text = run("export", "义乌市", "--format", "xlsx", "--out", str(out))
    assert code == 0, text
    from planner.regions import load

    r = load("义乌市")
    counts = f"facilities {len(r.facilities):,}, staff {len(r.staff):,}, townships 14, villages {len(r.villages):,}"
    assert "Roster template of 义乌市 written to" in text and counts in text
    return out


def test_export_then_validate_prints_ok_without_warnings(template: Path) -> None:
    code, out = run("validate", str(template))
    assert code == 0, out
    assert out.startswith("OK: 1 files, 1 counties, 14 townships, 544 villages, 452 facilities\n"), out
    assert "template names" in out and "Warning" not in out


def test_the_template_has_chinese_and_english_headers_a_dictionary_and_the_city_hospitals(template: Path) -> None:
    wb = openpyxl.load_workbook(template, read_only=True)
    assert wb.sheetnames == ["facilities", "staff", "townships", "villages", "data_dictionary", "about"]
    header = [c.value for c in next(wb["facilities"].iter_rows(max_row=1))]
    assert header[:3] == ["机构编码 (facility_id)", "机构名称 (name)", "机构类别 (kind)"]
    assert "主治医师 (attending)" in header and "副主任医师 (associate_chief)" in header and "经度 (lon)" in header
    ids = [r[0] for r in wb["facilities"].iter_rows(min_row=2, values_only=True)]
    assert {"C330700-01", "C330700-02"} <= set(ids)  # 金华市's hospitals in 婺城区: they send the city experts
    dictionary = list(wb["data_dictionary"].iter_rows(values_only=True))
    assert dictionary[0][:4] == ("layer", "header", "中文", "column")
    assert ("facilities", "主治医师 (attending)", "主治医师", "attending") in {row[:4] for row in dictionary}
    about = dict(wb["about"].iter_rows(min_row=2, values_only=True))
    assert about["region_code"] == "330782" and "SYNTHESIZED" in about["WARNING"]
    wb.close()


def test_a_renamed_column_is_named_in_a_warning(template: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(template)
    ws = wb["facilities"]
    for cell in ws[1]:
        if cell.value == "床位数 (beds)":
            cell.value = "病床总数"
    wb.save(tmp_path / "renamed.xlsx")
    code, out = run("validate", str(tmp_path / "renamed.xlsx"))
    assert code == 0 and "(1 warning)" in out
    assert ("Warning: " + str(tmp_path / "renamed.xlsx") + "[facilities]: column '病床总数' is not a column of the "
            "facilities layer and was ignored") in out


def test_a_hand_typed_chinese_csv_is_read_with_its_physicians_and_warned_about(tmp_path: Path) -> None:
    # The commission's GBK file from the user review: 主治医师 and 副主任医师 used to be dropped silently.
    csv = tmp_path / "roster.csv"
    csv.write_bytes(("机构编码,机构名称,类别,等级,性质,所属区县代码,经度,纬度,床位数,主治医师,副主任医师,备注\n"
                     "H1,义乌市中心医院,综合医院,三乙,公立,330782,120.07,29.30,800,120,40,\n"
                     "H2,义乌市中医医院,中医院,二甲,公立,330782,120.08,29.31,400,60,20,\n"
                     "T1,佛堂镇卫生院,乡镇卫生院,一甲,公立,330782,120.02,29.19,40,5,0,新建\n").encode("gb18030"))
    from planner.api import load_region

    region = load_region("义乌市", files=[csv], rules=__import__("planner").load_rules("zhejiang-2026"))
    assert int(region.facilities.at["H1", "attending"]) == 120 and int(region.facilities.at["H1", "associate_chief"]) == 40
    text = "\n".join(region.warnings)
    assert "column '备注' is not a column of the facilities layer and was ignored" in text
    assert "13 of 14 townships have no township or community health center" in text
    assert "金华市: no hospital in the facilities can send the city experts dispatch.experts asks for" in text
    code, out = run("validate", str(csv), "--region", "义乌市")
    assert code == 0 and "(3 warnings)" in out
    assert run("validate", str(csv), "--region", "义乌市", "--strict")[0] == 2
    code, out = run("--lang", "zh", "validate", str(csv), "--region", "义乌市")
    assert code == 0 and out.startswith("通过：1 个文件，1 个区县，14 个乡镇（街道），544 个村（居），3 个机构（3 条警告）\n")
    assert "警告：义乌市（330782）：14 个乡镇（街道）中有 13 个在机构表中没有乡镇卫生院或社区卫生服务中心" in out


def test_facilities_without_physicians_and_counties_without_a_lead_are_warned_about(tmp_path: Path) -> None:
    csv = tmp_path / "weak.csv"
    csv.write_text("机构编码,机构名称,机构类别,医院等级,所属区县代码,经度,纬度\n"
                   "H9,义乌市某医院,综合医院,一级,330782,120.07,29.30\n", encoding="utf-8")
    code, out = run("validate", str(csv), "--region", "义乌市")
    assert code == 0
    assert "1 hospitals and health centers have no physicians: no rows in the staff layer" in out
    assert "义乌市 (330782): no facility may lead a community under county.lead_grade of zhejiang-2026" in out


@pytest.mark.parametrize("fmt", ["csv", "gpkg"])
def test_csv_and_geopackage_templates_validate_ok(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / ("yiwu" if fmt == "csv" else "yiwu.gpkg")
    layers = "facilities,staff" if fmt == "csv" else "facilities,staff,townships,villages"
    code, text = run("export", "义乌市", "--format", fmt, "--out", str(out), "--layers", layers)
    assert code == 0, text
    code, text = run("validate", str(out))
    assert code == 0 and text.startswith("OK: 4 files" if fmt == "csv" else "OK: 1 files"), text
    assert "Warning" not in text
    if fmt == "gpkg":
        import pyogrio

        assert {"facilities", "staff", "townships", "villages", "data_dictionary", "about"} <= {
            str(n) for n, _ in pyogrio.list_layers(out)}
        code, text = run("export", "义乌市", "--format", fmt, "--out", str(out))  # its own template may be replaced
        assert code == 0


def test_export_never_replaces_the_users_file(tmp_path: Path) -> None:
    mine = tmp_path / "mine.xlsx"
    mine.write_bytes(b"my own workbook")
    code, out = run("export", "义乌市", "--out", str(mine))
    assert code == 2 and "exists and is not a roster template the planner wrote" in out
    assert mine.read_bytes() == b"my own workbook"


def test_chinese_headers_are_unambiguous_aliases() -> None:
    for layer, names in HEADERS_ZH.items():
        assert set(names) == {c.name for c in LAYERS[layer].columns}, layer
        for column, zh in names.items():
            assert COLUMN_ALIASES[zh] == column, (layer, zh)
            assert header_name(f"{zh} ({column})") == column and header_name(f"{zh}（{column}）") == column
    assert header_name("备注 (notes)") == "备注 (notes)"  # not a column: kept as written, so warned about


def test_show_points_to_the_ids_and_lists_them() -> None:
    code, out = run("show", "义乌市")
    assert code == 0 and "planner show 义乌市 --facilities lists them; planner export 义乌市 writes" in out
    code, out = run("show", "义乌市", "--facilities")
    assert code == 0
    assert "H330782-01  义乌市人民医院  综合医院  三乙  义乌市" in out
    assert "C330700-01  金华市人民医院  综合医院  三甲  婺城区  *" in out
    assert "432 village clinics and stations not listed (--all lists them)" in out


def test_messages_follow_lang_and_the_locale() -> None:
    code, out = run("show", "义乌市", env={"LANG": "zh_CN.UTF-8", "LC_ALL": "", "PLANNER_LANG": ""})
    assert code == 0 and out.startswith("义乌市：1 个县级单位，14 个乡镇（街道），544 个村（居），常住人口 1,859,390（2020 年普查）\n")
    code, out = run("validate", "missing.csv", "--lang", "zh")
    assert code == 2 and out.startswith("错误：")
    code, out = run("validate", "missing.csv", env={"LANG": "C.UTF-8", "LC_ALL": "", "PLANNER_LANG": "zh"})
    assert out.startswith("错误：")
    code, out = run("validate", "missing.csv", env={"LANG": "C.UTF-8", "LC_ALL": "", "PLANNER_LANG": ""})
    assert out.startswith("Error: missing.csv: no such file.")


def test_nurses_and_village_doctors_round_trip(tmp_path: Path) -> None:
    """Staff of other professions keep their level's key; village doctors (乡村医生) have no title."""
    import pandas as pd

    from planner.regions import load
    from planner.roster import export_region

    region = load("义乌市")
    clinic = region.facilities.index[region.facilities["kind"] == "village_clinic"][0]
    extra = pd.DataFrame([{"facility_id": "H330782-01", "title": "attending", "specialty": "护理", "count": 40,
                           "person": "", "profession": "nursing", "synthesized": True, "qualification": "licensed"},
                          {"facility_id": clinic, "title": "", "specialty": "乡村医生", "count": 2, "person": "",
                           "profession": "medicine", "synthesized": True, "qualification": "village_doctor"}])
    region.staff = pd.concat([region.staff, extra.reindex(columns=region.staff.columns)], ignore_index=True)
    out = tmp_path / "staff.xlsx"
    export_region(region, out, "xlsx", code="330782", layers=("facilities", "staff"))
    code, text = run("validate", str(out))
    assert code == 0 and "Warning" not in text, text
    from planner.api import load_region

    again = load_region("义乌市", files=[out])
    cols = ["facility_id", "title", "specialty", "count", "profession", "qualification"]

    def rows(frame: pd.DataFrame) -> list[tuple]:
        return sorted(tuple(str(v) for v in r) for r in frame[cols].itertuples(index=False))

    assert rows(again.staff) == rows(region.staff)  # every row back, nurses and village doctors included
    assert ((again.staff["qualification"] == "village_doctor") & (again.staff["title"] == "")).any()
