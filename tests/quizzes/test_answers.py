"""What counts as an answer (quizzes.bank.answers.response_fits): the one shape rule
for papers, live rounds and PK, for every question type: blank, malformed, too long,
NaN and infinity refused; the valid shapes accepted. Pure: no database."""

from __future__ import annotations

import math

import pytest

from quizzes.bank.answers import MAX_TEXT_ANSWER, is_blank, is_correct, response_fits
from quizzes.models import QuestionType

IDS = ["a1", "b2", "c3", "d4"]


def fits(qtype: str, response) -> bool:
    return response_fits(qtype, IDS, response)


# --- the question types are plain strings ------------------------------------------------


def test_the_rule_compares_question_types_as_the_models_plain_values():
    assert {t.value for t in QuestionType} == {
        "single",
        "multiple",
        "true_false",
        "fill",
        "numeric",
        "ordering",
    }
    assert fits(QuestionType.SINGLE, "a1")  # a TextChoices member is its string


def test_an_unknown_question_type_has_no_answer():
    assert not fits("essay", "a1")
    assert not fits("", "a1")


# --- single choice ------------------------------------------------------------------------


def test_a_single_choice_answer_is_one_of_the_questions_option_ids():
    assert fits("single", "c3")


def test_a_blank_single_choice_is_not_an_answer():
    assert not fits("single", "")
    assert not fits("single", None)


@pytest.mark.parametrize("response", ["zz", ["a1"], 1, True, {"id": "a1"}])
def test_a_malformed_single_choice_is_not_an_answer(response):
    assert not fits("single", response)


# --- multiple choice and ordering ---------------------------------------------------------


@pytest.mark.parametrize("qtype", ["multiple", "ordering"])
def test_a_list_of_distinct_option_ids_is_an_answer(qtype):
    assert fits(qtype, ["b2"])
    assert fits(qtype, ["d4", "a1", "c3", "b2"])


@pytest.mark.parametrize("qtype", ["multiple", "ordering"])
def test_an_empty_choice_list_is_not_an_answer(qtype):
    assert not fits(qtype, [])
    assert not fits(qtype, None)


@pytest.mark.parametrize("qtype", ["multiple", "ordering"])
@pytest.mark.parametrize(
    "response", ["a1", ["a1", "a1"], ["a1", "zz"], [1], ("a1",), {"a1": True}, True]
)
def test_a_malformed_choice_list_is_not_an_answer(qtype, response):
    assert not fits(qtype, response)


@pytest.mark.parametrize("qtype", ["multiple", "ordering"])
def test_a_choice_list_longer_than_the_options_is_not_an_answer(qtype):
    assert not fits(qtype, [*IDS, "a1"])
    assert not response_fits(qtype, ["a1"], ["a1", "b2"])


# --- true or false ------------------------------------------------------------------------


def test_a_true_or_false_answer_is_a_bool():
    assert fits("true_false", True)
    assert fits("true_false", False)


def test_a_blank_true_or_false_is_not_an_answer():
    assert not fits("true_false", None)
    assert not fits("true_false", "")


@pytest.mark.parametrize("response", ["true", 1, 0, "对", [True]])
def test_a_malformed_true_or_false_is_not_an_answer(response):
    assert not fits("true_false", response)


# --- fill in the blank --------------------------------------------------------------------


def test_a_fill_in_answer_is_text_up_to_the_limit():
    assert fits("fill", "H2O")
    assert fits("fill", "x" * MAX_TEXT_ANSWER)
    assert MAX_TEXT_ANSWER == 200


def test_a_blank_fill_in_is_not_an_answer():
    assert not fits("fill", "")
    assert not fits("fill", "   \t ")
    assert not fits("fill", None)


def test_a_fill_in_answer_over_the_limit_is_too_long():
    assert not fits("fill", "x" * (MAX_TEXT_ANSWER + 1))
    assert not fits("fill", "x" * 500)


def test_a_fill_in_answer_is_measured_without_its_surrounding_spaces():
    assert fits("fill", "  " + "x" * MAX_TEXT_ANSWER + "  ")


@pytest.mark.parametrize("response", [42, ["H2O"], True, {"text": "H2O"}])
def test_a_malformed_fill_in_is_not_an_answer(response):
    assert not fits("fill", response)


# --- numeric ------------------------------------------------------------------------------


@pytest.mark.parametrize("response", [3, -2, 9.8, 0, 0.0, "3.14", "１２", "1e3"])
def test_a_numeric_answer_is_a_finite_number_or_short_text(response):
    assert fits("numeric", response)


def test_a_blank_numeric_answer_is_not_an_answer():
    assert not fits("numeric", "")
    assert not fits("numeric", "   ")
    assert not fits("numeric", None)


@pytest.mark.parametrize("response", [math.nan, math.inf, -math.inf, float("nan")])
def test_a_numeric_answer_of_nan_or_infinity_is_not_an_answer(response):
    assert not fits("numeric", response)


def test_a_numeric_answer_typed_as_over_fifty_characters_is_too_long():
    assert fits("numeric", "1" * 50)
    assert not fits("numeric", "1" * 51)


@pytest.mark.parametrize("response", [True, False, [3], {"value": 3}])
def test_a_malformed_numeric_answer_is_not_an_answer(response):
    assert not fits("numeric", response)


def test_nan_typed_as_text_fits_the_shape_but_never_marks_right():
    key = {"value": 1.0, "tolerance": 0.0}
    assert fits("numeric", "NaN")  # text: the marking decides, and refuses it
    assert not is_correct("numeric", key, "NaN")
    assert not is_correct("numeric", key, math.nan)
    assert not is_correct("numeric", key, math.inf)


def test_a_whole_number_too_large_for_a_float_fits_and_marks_wrong_without_an_error():
    # JSON carries any integer; float(10**400) overflows, so nothing may convert it first.
    huge = 10**400
    assert fits("numeric", huge)
    assert not is_correct("numeric", {"value": 1.0, "tolerance": 0.0}, huge)
    assert not is_correct("numeric", {"value": 1.0, "tolerance": 0.0}, -huge)


# --- blanks -------------------------------------------------------------------------------


@pytest.mark.parametrize("response", [None, "", "  ", [], ()])
def test_a_blank_is_recognised_as_no_answer(response):
    assert is_blank(response)


@pytest.mark.parametrize("response", ["0", 0, False, ["a1"], 0.0])
def test_a_falsy_value_that_is_an_answer_is_not_blank(response):
    assert not is_blank(response)


@pytest.mark.parametrize("qtype", [t.value for t in QuestionType])
def test_no_blank_fits_any_question_type(qtype):
    for blank in (None, "", "   ", []):
        assert not fits(qtype, blank)
