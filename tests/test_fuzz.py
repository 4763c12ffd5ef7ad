"""Fuzzing: random rule files and random tables give a region, a rule set or the planner's own error, nothing else.

CI runs a bounded number of examples; a longer run on demand:
    PLANNER_FUZZ_EXAMPLES=10000 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import os
import string
import tempfile
from pathlib import Path

from fixtures import Fac, grid_region
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner._errors import InputDataError, RuleFileError
from planner.io import read_tables
from planner.rulefile import load_rules
from planner.rules import RULE_KINDS
from planner.schema import LAYERS
from planner.validate import region_from_tables

EXAMPLES = int(os.environ.get("PLANNER_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="PLANNER_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

KEYS = sorted({f for cls in RULE_KINDS.values() for f in cls.model_fields} | {"lead", "who", "sources", "hospitals", "junk"})
SELECTOR_KEYS = ["kinds", "min_grade", "ownership", "nonprofit", "admin_levels", "name_pattern", "colour"]
WORDS = ["二甲", "三级", "3A", "四甲", "general_hospital", "tcm_hospital", "中医院", "public", "公立", "county", "city",
         "主治医师", "x", "", "人民医院", "330782001", "H1", "county.max", "000_daed78e4f2e6cfdf.txt (二)"]


def toml_value():
    scalar = st.one_of(st.integers(-5, 400_000), st.floats(-2, 2, allow_nan=False), st.booleans(),
                       st.sampled_from(WORDS), st.text(max_size=6))
    return st.one_of(scalar, st.lists(scalar, max_size=3),
                     st.dictionaries(st.sampled_from(SELECTOR_KEYS), scalar, max_size=3))


def dump(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {dump(v)}" for k, v in value.items()) + " }"


@st.composite
def rule_files(draw) -> str:
    lines = []
    if draw(st.booleans()):
        lines += ["[policy]", f"name = {dump(draw(st.sampled_from(['fuzz', '', 'x'])))}"]
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"extends = {dump(draw(st.sampled_from(['zhejiang-2026', 'nope', 'fuzz'])))}")
    for _ in range(draw(st.integers(0, 4))):
        lines.append("[[rule]]")
        keys = draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=True))
        if draw(st.booleans()):
            keys = ["id", "kind", "source", *keys]
        for key in dict.fromkeys(keys):
            if key == "kind":
                value = draw(st.sampled_from(sorted(RULE_KINDS) + ["nope"]))
            elif key == "id":
                value = draw(st.sampled_from(["a", "b", "a"]))
            else:
                value = draw(toml_value())
            lines.append(f"{key} = {dump(value)}")
    if draw(st.integers(0, 5)) == 0:
        lines.append(draw(st.text(alphabet="[]=\"'\\n#{}.,abc", max_size=20)))
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=rule_files())
def test_random_rule_files_load_or_raise_a_rule_file_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(text, encoding="utf-8")
        try:
            rules = load_rules(path)
        except RuleFileError as exc:
            assert exc.lines() and all(line.startswith(str(path)) or "no such rule file" in line for line in exc.lines())
        else:
            assert all(r.id and r.source for r in rules.rules)


COLUMNS = sorted({c.name for layer in LAYERS.values() for c in layer.columns} |
                 {"lon", "lat", "经度", "纬度", "常住人口", "区划代码", "geometry", "junk"})
CELLS = st.one_of(st.sampled_from(["330001001", "330001", "3.3E+05", "330001001.0", "-5", "12.5", "1.2万", "二甲", "三级甲等",
                                   "四甲", "综合医院", "村卫生室", "公立", "集体", "true", "是", "120.05", "29.05", "29.05",
                                   "POINT (120.05 28.95)", "POLYGON ((120 28.9, 120.1 28.9, 120.1 29, 120 28.9))", "",
                                   "H1", "主治医师", "院长"]),
                  st.text(alphabet=string.printable + "中医院镇村乡", max_size=8))


@st.composite
def tables(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(["facilities", "townships", "villages", "staff", "counties", "x"]))
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=9))
    rows = draw(st.lists(st.lists(CELLS, min_size=len(header), max_size=len(header) + draw(st.integers(0, 1))), max_size=5))
    sep = draw(st.sampled_from([",", "\t", ";"]))
    quote = lambda v: '"' + v.replace('"', '""') + '"' if (sep in v or '"' in v or "\n" in v or "\r" in v) else v  # noqa: E731
    text = "\n".join(sep.join(quote(v) for v in row) for row in [header, *rows]) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return f"{name}.csv", text.encode(encoding, errors="replace")


BASE = grid_region([[1000, 2000]], [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0))])


@FUZZ
@given(table=tables(), with_base=st.booleans())
def test_random_tables_validate_or_raise_an_input_data_error(table: tuple[str, bytes], with_base: bool) -> None:
    name, data = table
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            region = region_from_tables(read_tables(path), name="fuzz", base=BASE if with_base else None, partial=True)
        except InputDataError as exc:
            assert exc.lines() and all(line.startswith(str(path)) or line.startswith("fuzz") for line in exc.lines())
        else:
            assert region.name == "fuzz"


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".gpkg", ".geojson", ".xlsx", ".zip", ".shp", ".csv"]))
def test_random_bytes_in_any_format_are_an_input_data_error_or_a_table(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"facilities{suffix}"
        path.write_bytes(data)
        try:
            region_from_tables(read_tables(path), name="fuzz", partial=True)
        except InputDataError as exc:
            assert exc.lines()
