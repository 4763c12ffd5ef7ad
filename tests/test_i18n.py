"""Bilingual Text: behaves as its English string, carries Chinese, survives pickling."""

import pickle

from planner.i18n import Text, join, tr


def test_text_is_its_english_string_and_carries_chinese():
    t = Text("3 communities; the rule allows 1-2", "3个医共体；规则允许1-2个")
    assert t == "3 communities; the rule allows 1-2"
    assert f"{t}" == t.en and t.zh == "3个医共体；规则允许1-2个"
    assert tr(t, "zh") == t.zh and tr(t, "en") == t.en


def test_text_without_chinese_falls_back_to_english_and_plain_strings_pass_through():
    assert Text("only English").zh == "only English"
    assert tr("plain", "zh") == "plain"


def test_text_survives_pickling_and_concatenation():
    t = pickle.loads(pickle.dumps(Text("a", "甲")))
    assert isinstance(t, Text) and t.zh == "甲"
    both = "x " + t + Text(" b", "乙")
    assert both == "x a b" and both.zh == "x 甲乙"
    j = join([Text("a", "甲"), "id-1"])
    assert j == "a; id-1" and j.zh == "甲；id-1"
