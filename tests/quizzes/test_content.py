"""clean_question: the one validation path for editor, imports and seed content."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quizzes.bank.answers import is_correct, normalise_answer_text
from quizzes.bank.content import clean_question

BASE = {"dimension": "knowledge", "topic": "health", "source": "《中国公民科学素质基准》"}


def q(**kwargs):
    return clean_question({**BASE, **kwargs})


def fields(result):
    return {p.field for p in result.errors}


def test_a_single_choice_key_by_letter_is_stored_as_an_opaque_option_id():
    result = q(type="single", stem="水的化学式是？", options=["CO2", "H2O", "O2", "NaCl"], key="B")
    assert result.ok, result.errors
    ids = [o["id"] for o in result.data["options"]]
    assert result.data["key"] == {"options": [ids[1]]}
    assert len(set(ids)) == 4
    assert all(len(i) == 8 and i.isalnum() for i in ids)


def test_a_multiple_choice_key_accepts_letters_in_any_spelling():
    for key in ("AC", "A,C", "a、c", ["A", "C"], "Ａ，Ｃ"):
        result = q(
            type="multiple", stem="哪些是哺乳动物？", options=["鲸", "鲨", "蝙蝠", "企鹅"], key=key
        )
        ids = [o["id"] for o in result.data["options"]]
        assert result.data["key"] == {"options": [ids[0], ids[2]]}, key


@pytest.mark.parametrize(
    "raw, field",
    [
        ({"type": "single", "stem": "x", "options": ["a", "b"], "key": ""}, "key"),
        ({"type": "essay", "stem": "x", "key": "A"}, "type"),
        ({"type": "single", "stem": "x", "options": ["a", "b"], "key": "D"}, "key"),
        ({"type": "single", "stem": "  ", "options": ["a", "b"], "key": "A"}, "stem"),
        ({"type": "numeric", "stem": "x", "key": "about ten"}, "key"),
        ({"type": "single", "stem": "x", "options": ["a", "b"], "key": "AB"}, "key"),
        ({"type": "multiple", "stem": "x", "options": ["a", "b"], "key": "A"}, "key"),
        ({"type": "ordering", "stem": "x", "options": ["a", "b", "c"], "key": "AB"}, "key"),
        ({"type": "true_false", "stem": "x", "key": "maybe"}, "key"),
        (
            {"type": "single", "stem": "x", "options": ["a", "b"], "key": "A", "benchmark": 27},
            "benchmark",
        ),
        (
            {
                "type": "single",
                "stem": "x",
                "options": ["a", "b"],
                "key": "A",
                "audience": "aliens",
            },
            "audience",
        ),
        (
            {"type": "single", "stem": "x", "options": ["a", "b"], "key": "A", "dimension": ""},
            "dimension",
        ),
    ],
)
def test_invalid_questions_name_the_field_at_fault(raw, field):
    result = clean_question({**BASE, **raw})
    assert not result.ok
    assert field in fields(result)


def test_scripts_and_event_handlers_are_stripped_and_reported_as_warnings():
    result = q(
        type="true_false",
        stem='地球是圆的<script>alert(1)</script><img src=x onerror="alert(2)">',
        explanation='<a href="javascript:alert(3)">看这里</a>',
        key="对",
    )
    assert result.ok
    assert result.data["stem"] == "地球是圆的"
    assert "javascript" not in result.data["explanation"]
    warned = {(p.field, str(p.message)) for p in result.warnings}
    assert any(f == "stem" and "script" in m for f, m in warned)
    assert any(f == "stem" and "event handler" in m for f, m in warned)
    assert any(f == "explanation" and "javascript" in m for f, m in warned)


def test_a_cell_that_looks_like_a_formula_is_kept_as_text():
    result = q(type="fill", stem="=1+1 等于几？", key="2|二")
    assert result.data["stem"] == "=1+1 等于几？"
    assert result.data["key"] == {"accepted": ["2", "二"]}


def test_fill_answers_ignore_width_case_and_spaces():
    key = {"accepted": ["CO2", "二氧化碳"]}
    assert is_correct("fill", key, "ｃｏ２")
    assert is_correct("fill", key, " co 2 ")
    assert is_correct("fill", key, "二氧化碳")
    assert not is_correct("fill", key, "O2")
    assert not is_correct("fill", key, None)


def test_numeric_answers_are_right_within_the_tolerance():
    result = q(
        type="numeric",
        stem="成人胸外按压频率下限（次/分）？",
        key="100",
        tolerance="0",
        unit="次/分",
    )
    key = result.data["key"]
    assert key == {"value": 100.0, "tolerance": 0.0, "unit": "次/分"}
    assert is_correct("numeric", key, "100")
    assert is_correct("numeric", key, 100.0)
    assert not is_correct("numeric", key, "101")
    assert not is_correct("numeric", key, "NaN")
    assert not is_correct("numeric", {"value": 3.0, "tolerance": 0.5}, True)


def test_ordering_and_true_false_keys():
    result = q(type="ordering", stem="排序", options=["二", "一", "三"], key="BAC")
    ids = [o["id"] for o in result.data["options"]]
    order = result.data["key"]["order"]
    assert order == [ids[1], ids[0], ids[2]]
    assert is_correct("ordering", result.data["key"], order)
    assert not is_correct("ordering", result.data["key"], ids)
    assert q(type="true_false", stem="x", key="错").data["key"] == {"value": False}
    assert is_correct("true_false", {"value": False}, False)
    assert not is_correct("true_false", {"value": False}, "false")


def test_single_choice_is_correct_only_for_the_one_keyed_option():
    key = {"options": ["aa11"]}
    assert is_correct("single", key, "aa11")
    assert not is_correct("single", key, ["aa11"])
    assert not is_correct("single", key, "bb22")
    assert is_correct("multiple", {"options": ["a", "b"]}, ["b", "a"])
    assert not is_correct("multiple", {"options": ["a", "b"]}, ["a"])


@given(st.text(max_size=30))
def test_normalising_an_answer_twice_changes_nothing(text):
    once = normalise_answer_text(text)
    assert normalise_answer_text(once) == once


def test_problems_with_values_render_in_the_language_active_when_shown():
    from django.utils import translation

    with translation.override("zh-hans"):
        result = clean_question({"type": "essay", "stem": "题", "key": "A"})
    [problem] = [p for p in result.errors if p.field == "type"]
    with translation.override("en"):
        assert str(problem) == "Unknown question type “essay”."
    with translation.override("zh-hans"):
        shown = str(problem)
    assert "essay" in shown and "Unknown" not in shown
