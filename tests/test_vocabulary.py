"""Tests of ``planner.vocabulary``: the spellings users write for grades, kinds, ownership, levels and titles."""

from __future__ import annotations

import math

import pytest

from planner.vocabulary import (
    HOSPITAL_KINDS,
    PRIMARY_KINDS,
    TCM_KINDS,
    AdminLevel,
    FacilityKind,
    Grade,
    Ownership,
    Title,
    parse_admin_level,
    parse_grade,
    parse_kind,
    parse_ownership,
    parse_title,
    township_kind_from_name,
)

# --- grades ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        # the long official form
        ("三级甲等", Grade.L3A), ("三级乙等", Grade.L3B), ("三级丙等", Grade.L3C),
        ("二级甲等", Grade.L2A), ("二级乙等", Grade.L2B), ("二级丙等", Grade.L2C),
        ("一级甲等", Grade.L1A), ("一级乙等", Grade.L1B), ("一级丙等", Grade.L1C),
        # with the word 医院, as written on signs
        ("三级甲等医院", Grade.L3A), ("二级医院", Grade.L2),
        # Arabic and Roman numerals, upper and lower case, with and without 级/等
        ("3A", Grade.L3A), ("3a", Grade.L3A), ("3B", Grade.L3B), ("2C", Grade.L2C), ("1A", Grade.L1A),
        ("3级甲等", Grade.L3A), ("2级", Grade.L2),
        ("IIIA", Grade.L3A), ("iiia", Grade.L3A), ("IIA", Grade.L2A), ("IIB", Grade.L2B), ("IA", Grade.L1A),
        ("III级甲等", Grade.L3A),
        # English
        ("tertiary-A", Grade.L3A), ("Tertiary A", Grade.L3A), ("tertiary_b", Grade.L3B), ("secondary-A", Grade.L2A),
        ("secondary", Grade.L2), ("primary-c", Grade.L1C), ("PRIMARY", Grade.L1),
        # full-width characters (typed with a Chinese input method) and stray spaces
        ("３Ａ", Grade.L3A), (" 二 甲 ", Grade.L2A),
    ],
)
def test_grade_spellings_users_write_are_read(text: str, grade: Grade) -> None:
    assert parse_grade(text).value is grade


@pytest.mark.parametrize(
    ("text", "grade"),
    [("三甲", Grade.L3A), ("三乙", Grade.L3B), ("三丙", Grade.L3C), ("三级", Grade.L3),
     ("二甲", Grade.L2A), ("二乙", Grade.L2B), ("二丙", Grade.L2C), ("二级", Grade.L2),
     ("一甲", Grade.L1A), ("一乙", Grade.L1B), ("一丙", Grade.L1C), ("一级", Grade.L1),
     ("未定级", Grade.UNRATED)],
)
def test_canonical_grade_spelling_is_read_without_a_note(text: str, grade: Grade) -> None:
    result = parse_grade(text)
    assert result.value is grade
    assert result.note == ""
    assert grade.zh == text


def test_canonical_grade_with_surrounding_spaces_has_no_note() -> None:
    assert parse_grade("  三甲 ").note == ""


@pytest.mark.parametrize(
    ("text", "short"),
    [("三级甲等", "三甲"), ("3A", "三甲"), ("IIIA", "三甲"), ("tertiary-A", "三甲"), ("二级甲等", "二甲"),
     ("一级甲等", "一甲"), ("2级", "二级"), ("三级乙等", "三乙")],
)
def test_respelled_grade_gets_a_note_naming_the_input_and_the_short_form(text: str, short: str) -> None:
    note = parse_grade(text).note
    assert note == f"grade {text!r} read as {short}"


@pytest.mark.parametrize("blank", [None, "", "   ", float("nan")])
def test_blank_grade_is_unrated_without_a_note(blank: object) -> None:
    result = parse_grade(blank)
    assert result.value is Grade.UNRATED
    assert result.note == ""


@pytest.mark.parametrize("text", ["未定级", "未评级", "无", "无等级", "未定", "unrated", "None", "0"])
def test_unrated_words_read_as_unrated(text: str) -> None:
    assert parse_grade(text).value is Grade.UNRATED


@pytest.mark.parametrize("text", ["未评级", "无", "unrated"])
def test_non_canonical_unrated_spelling_gets_a_note(text: str) -> None:
    assert parse_grade(text).note != ""


@pytest.mark.parametrize(
    "text",
    ["四甲", "三丁", "3D", "甲等", "甲", "三级特等", "三甲乙", "IIII", "quaternary", "tertiary-d", "3.0", "三等甲级",
     "A3", "二级甲等甲", "top"],
)
def test_misspelled_grade_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="is not a hospital grade"):
        parse_grade(text)


def test_grades_are_ordered_from_three_a_down_to_unrated() -> None:
    spelled = ["三甲", "三乙", "三丙", "三级", "二甲", "二乙", "二丙", "二级", "一甲", "一乙", "一丙", "一级", "未定级"]
    grades = [parse_grade(s).value for s in spelled]
    assert grades == sorted(grades, reverse=True)
    assert len(set(grades)) == len(grades)
    assert parse_grade("三甲").value > parse_grade("三乙").value > parse_grade("三级").value
    assert parse_grade("三级").value > parse_grade("二甲").value > parse_grade("二级").value
    assert parse_grade("二级").value > parse_grade("一甲").value > parse_grade("一级").value > Grade.UNRATED


def test_grade_values_are_level_times_ten_plus_sub_grade() -> None:
    assert int(Grade.L3A) == 33
    assert int(Grade.L2B) == 22
    assert int(Grade.L1) == 10
    assert int(Grade.UNRATED) == 0
    assert [g.level for g in (Grade.L3C, Grade.L2A, Grade.L1B, Grade.UNRATED)] == [3, 2, 1, 0]


def test_every_grade_has_a_distinct_chinese_short_form_that_reads_back() -> None:
    names = {g.zh for g in Grade}
    assert len(names) == len(Grade)
    for g in Grade:
        assert parse_grade(g.zh).value is g


# --- facility kinds --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FacilityKind))
def test_kind_is_read_from_its_chinese_name_and_english_key_without_a_note(kind: FacilityKind) -> None:
    for text in (kind.zh, kind.value, kind.value.upper()):
        result = parse_kind(text)
        assert result.value is kind
        assert result.note == ""


@pytest.mark.parametrize(
    ("text", "kind"),
    [("中医院", FacilityKind.TCM_HOSPITAL), ("人民医院", FacilityKind.GENERAL_HOSPITAL),
     ("卫生院", FacilityKind.TOWNSHIP_HEALTH_CENTER), ("中心卫生院", FacilityKind.TOWNSHIP_HEALTH_CENTER),
     ("镇卫生院", FacilityKind.TOWNSHIP_HEALTH_CENTER), ("卫生室", FacilityKind.VILLAGE_CLINIC),
     ("村卫生所", FacilityKind.VILLAGE_CLINIC), ("妇幼", FacilityKind.MATERNAL_CHILD_HOSPITAL),
     ("妇幼保健计划生育服务中心", FacilityKind.MATERNAL_CHILD_HOSPITAL), ("中西医结合", FacilityKind.INTEGRATED_HOSPITAL),
     ("民族医院", FacilityKind.ETHNIC_MEDICINE_HOSPITAL), ("疾控中心", FacilityKind.CDC),
     ("tcm", FacilityKind.TCM_HOSPITAL), ("TCM", FacilityKind.TCM_HOSPITAL),
     ("THC", FacilityKind.TOWNSHIP_HEALTH_CENTER),
     ("chc", FacilityKind.COMMUNITY_HEALTH_CENTER), ("hospital", FacilityKind.GENERAL_HOSPITAL),
     (" 中医院 ", FacilityKind.TCM_HOSPITAL)],
)
def test_kind_alias_is_read_with_a_note(text: str, kind: FacilityKind) -> None:
    result = parse_kind(text)
    assert result.value is kind
    assert result.note == f"kind {text!r} read as {kind.value} ({kind.zh})"


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("中医医阮", "中医医院"), ("township_health_centre", "township_health_center"), ("tcm_hospitals", "tcm_hospital"),
     ("村卫生站", "村卫生室"), ("general hospital", "general_hospital")],
)
def test_unknown_kind_suggests_the_closest_kinds(text: str, suggestion: str) -> None:
    with pytest.raises(ValueError, match="is not a facility kind; did you mean") as info:
        parse_kind(text)
    assert suggestion in str(info.value)


@pytest.mark.parametrize("text", ["医馆", "xyz", ""])
def test_kind_far_from_every_known_kind_raises_without_a_suggestion(text: str) -> None:
    with pytest.raises(ValueError, match=r"^is not a facility kind$"):
        parse_kind(text)


def test_kind_groups_partition_hospitals_primary_care_and_the_rest() -> None:
    assert HOSPITAL_KINDS.isdisjoint(PRIMARY_KINDS)
    assert TCM_KINDS <= HOSPITAL_KINDS
    assert FacilityKind.GENERAL_HOSPITAL.is_hospital and not FacilityKind.GENERAL_HOSPITAL.is_tcm
    assert FacilityKind.TCM_HOSPITAL.is_tcm and FacilityKind.INTEGRATED_HOSPITAL.is_tcm
    assert FacilityKind.ETHNIC_MEDICINE_HOSPITAL.is_tcm
    assert FacilityKind.VILLAGE_CLINIC.is_primary and not FacilityKind.VILLAGE_CLINIC.is_hospital
    assert FacilityKind.TOWNSHIP_HEALTH_CENTER.is_primary
    for other in (FacilityKind.NURSING_HOME, FacilityKind.CDC):
        assert not (other.is_hospital or other.is_primary or other.is_tcm)


def test_every_kind_has_a_distinct_chinese_name() -> None:
    assert len({k.zh for k in FacilityKind}) == len(FacilityKind)


# --- ownership, admin level, titles ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "noted"),
    [("公立", Ownership.PUBLIC, False), ("public", Ownership.PUBLIC, False), ("PUBLIC", Ownership.PUBLIC, False),
     ("公办", Ownership.PUBLIC, True), ("政府办", Ownership.PUBLIC, True), ("国有", Ownership.PUBLIC, True),
     ("民营", Ownership.PRIVATE, False), ("private", Ownership.PRIVATE, False), ("私立", Ownership.PRIVATE, True),
     ("社会办医", Ownership.PRIVATE, True)],
)
def test_ownership_spellings_and_notes(text: str, value: Ownership, noted: bool) -> None:
    result = parse_ownership(text)
    assert result.value is value
    assert bool(result.note) is noted
    if noted:
        assert result.note == f"ownership {text!r} read as {value.value} ({value.zh})"


@pytest.mark.parametrize("text", ["集体", "公私合营", "", "pub"])
def test_unknown_ownership_raises(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ownership"):
        parse_ownership(text)


def test_ownership_chinese_terms() -> None:
    assert (Ownership.PUBLIC.zh, Ownership.PRIVATE.zh) == ("公立", "民营")


@pytest.mark.parametrize(
    ("text", "value", "noted"),
    [("county", AdminLevel.COUNTY, False), ("County", AdminLevel.COUNTY, False), ("县级", AdminLevel.COUNTY, False),
     ("区级", AdminLevel.COUNTY, True), ("district", AdminLevel.COUNTY, True), ("县", AdminLevel.COUNTY, True),
     ("省级", AdminLevel.PROVINCIAL, False), ("省", AdminLevel.PROVINCIAL, True), ("地市级", AdminLevel.CITY, True),
     ("市级", AdminLevel.CITY, False), ("乡镇级", AdminLevel.TOWNSHIP, False), ("乡级", AdminLevel.TOWNSHIP, True),
     ("村", AdminLevel.VILLAGE, True), ("国家级", AdminLevel.NATIONAL, False)],
)
def test_admin_level_spellings_and_notes(text: str, value: AdminLevel, noted: bool) -> None:
    result = parse_admin_level(text)
    assert result.value is value
    assert bool(result.note) is noted


@pytest.mark.parametrize("text", ["州级", "town", "", "县区"])
def test_unknown_admin_level_raises(text: str) -> None:
    with pytest.raises(ValueError, match="is not an administrative level"):
        parse_admin_level(text)


@pytest.mark.parametrize(
    ("text", "value", "noted"),
    [("主任医师", Title.CHIEF, False), ("chief", Title.CHIEF, False), ("主任", Title.CHIEF, True),
     ("正高", Title.CHIEF, True), ("副主任医师", Title.ASSOCIATE_CHIEF, False), ("副高", Title.ASSOCIATE_CHIEF, True),
     ("主治医师", Title.ATTENDING, False), ("中级", Title.ATTENDING, True), ("住院医师", Title.RESIDENT, False),
     ("初级", Title.RESIDENT, True), ("ASSOCIATE_CHIEF", Title.ASSOCIATE_CHIEF, False)],
)
def test_title_spellings_and_notes(text: str, value: Title, noted: bool) -> None:
    result = parse_title(text)
    assert result.value is value
    assert bool(result.note) is noted
    if noted:
        assert result.note == f"title {text!r} read as {value.zh}"


@pytest.mark.parametrize("text", ["院长", "护士", "主任护师", ""])
def test_unknown_title_raises(text: str) -> None:
    with pytest.raises(ValueError, match="is not a physician title"):
        parse_title(text)


def test_titles_rank_from_chief_down_to_resident() -> None:
    ranks = [t.rank for t in (Title.CHIEF, Title.ASSOCIATE_CHIEF, Title.ATTENDING, Title.RESIDENT)]
    assert ranks == [4, 3, 2, 1]
    assert [t.zh for t in Title] == ["主任医师", "副主任医师", "主治医师", "住院医师"]


# --- township kinds from names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [("西湖街道", "街道"), ("北山街道办事处", "街道"), ("城关办事处", "街道"),
     ("佛堂镇", "镇"), ("横店镇", "镇"),
     ("岭洋乡", "乡"), ("景宁畲族自治县鹤溪乡", "乡"), ("泰顺县司前畲族镇", "镇"), ("柳城畲族乡", "乡"),
     ("巴彦苏木", "乡"), ("鄂温克民族苏木", "乡"), ("某某民族乡", "乡"),
     ("杭州经济技术开发区", "其他"), ("某某工业园区", "其他"), ("国营某某农场", "其他"), ("某某林场", "其他"),
     ("某某管委会", "其他"), (" 佛堂镇 ", "镇"), ("", "其他")],
)
def test_township_kind_is_read_from_the_name(name: str, kind: str) -> None:
    assert township_kind_from_name(name) == kind


def test_township_kind_is_one_of_the_four_kinds() -> None:
    from planner.vocabulary import TOWNSHIP_KINDS

    for name in ("佛堂镇", "西湖街道", "岭洋乡", "农场", "巴彦苏木"):
        assert township_kind_from_name(name) in TOWNSHIP_KINDS


def test_nan_is_not_a_valid_text_for_kind_title_or_ownership() -> None:
    # Blank cells reach the parsers only as text; a NaN must not silently become a value.
    for parser in (parse_kind, parse_title, parse_ownership, parse_admin_level):
        with pytest.raises(ValueError):
            parser(math.nan)
