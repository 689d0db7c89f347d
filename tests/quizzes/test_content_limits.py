"""What a question may carry is bounded where it is written, since it travels whole in
live-round frames held to the client's message cap (quizzes.bank.content, MAX_*;
docs/protocol.md, "Frame sizes"): the editor form and every import refuse a longer
text with a clear error, an import at the row and column of the problem, and nothing
of the file is written."""

from __future__ import annotations

import pytest
from django.utils import translation

from quizzes.bank import content, services
from quizzes.bank.forms import QuestionForm
from quizzes.bank.io import import_questions
from quizzes.models import Question
from tests.factories import UserFactory
from tests.quizzes import sheets

pytestmark = pytest.mark.django_db

BASE = {"dimension": "knowledge", "topic": "health", "source": "教材"}
EDITOR = {
    "type": "single",
    "stem": "人体最大的器官是？",
    "option_0": "皮肤",
    "option_1": "心脏",
    "key": "A",
    "difficulty": "medium",
    "dimension": "knowledge",
    "topic": "health",
}


def clean(**raw):
    return content.clean_question({**BASE, **raw})


def problems(result) -> list[tuple[str, int | None]]:
    return [(p.field, p.option) for p in result.errors]


def test_texts_at_their_limits_are_taken_and_one_character_more_is_refused():
    at_limits = clean(
        type="multiple",
        stem="题" * content.MAX_STEM,
        options=["项" * content.MAX_OPTION] * content.MAX_OPTIONS,
        key="AB",
        explanation="解" * content.MAX_EXPLANATION,
    )
    assert at_limits.ok, at_limits.errors
    over = clean(
        type="multiple",
        stem="题" * (content.MAX_STEM + 1),
        options=["甲", "乙", "项" * (content.MAX_OPTION + 1)],
        key="AB",
        explanation="解" * (content.MAX_EXPLANATION + 1),
    )
    assert problems(over) == [("stem", None), ("explanation", None), ("options", 2)]
    with translation.override("en"):
        assert str(over.errors[0]) == (
            "This text is too long: 601 characters, at most 600 (formatting counts too)."
        )


def test_the_stored_text_counts_with_its_markup():
    """A stem is stored as sanitised HTML, and that is what a frame carries."""
    plain = "题" * (content.MAX_STEM - 3)
    assert clean(type="true_false", stem=plain, key="对").ok
    assert problems(clean(type="true_false", stem=f"<b>{plain}</b>", key="对")) == [("stem", None)]


def test_too_many_options_or_accepted_answers_and_long_units_are_refused():
    nine = clean(type="single", stem="题", options=list("一二三四五六七八九"), key="A")
    assert problems(nine) == [("options", content.MAX_OPTIONS)]
    many = clean(type="fill", stem="题", key="|".join(str(n) for n in range(11)))
    long = clean(type="fill", stem="题", key="水|" + "水" * (content.MAX_ACCEPTED_TEXT + 1))
    assert problems(many) == problems(long) == [("key", None)]
    unit = clean(type="numeric", stem="题", key="9.8", unit="米" * (content.MAX_UNIT + 1))
    assert problems(unit) == [("unit", None)]


def test_control_characters_become_spaces():
    result = clean(type="true_false", stem="声音\x0b在真空中\x01不能传播", key="对")
    assert result.data["stem"] == "声音 在真空中 不能传播"


def test_the_question_form_refuses_an_over_long_text_at_its_field():
    form = QuestionForm(data={**EDITOR, "stem": "题" * (content.MAX_STEM + 1)})
    assert not form.is_valid()
    assert list(form.errors) == ["stem"]
    assert form.fields["stem"].widget.attrs["maxlength"] == str(content.MAX_STEM)
    # Within the field's own limit, but longer once sanitised ("<" is stored as "&lt;").
    with translation.override("en"):  # the messages are made in the language active
        form = QuestionForm(data={**EDITOR, "option_1": "<" * (content.MAX_OPTION - 10)})
        assert not form.is_valid()
        assert form.errors["option_1"] == [
            f"This text is too long: {(content.MAX_OPTION - 10) * 4} characters, at most "
            f"{content.MAX_OPTION} (formatting counts too)."
        ]


def test_an_import_refuses_over_long_texts_at_their_row_and_column_and_writes_nothing():
    owner = UserFactory(role="organizer")
    bank = services.bank_create(name="长度检查", owner=owner)
    rows = [
        sheets.good_row(),  # row 2 is valid, and still not imported
        sheets.row("判断", "题" * (content.MAX_STEM + 1), sheets.NO_OPTIONS, "对"),  # 3
        sheets.row("单选", "题", ("甲", "乙", "丙" * (content.MAX_OPTION + 1)), "A"),  # 4
        sheets.row("判断", "题", sheets.NO_OPTIONS, "对", "解" * (content.MAX_EXPLANATION + 1)),
        sheets.row("填空", "题", sheets.NO_OPTIONS, "|".join("一二三四五六七八九十百")),  # 6
    ]
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=sheets.xlsx(rows), filename="q.xlsx")
        errors = {(e.row, e.column, e.header): str(e.message) for e in result.report.errors}
    too_long = "This text is too long: %s characters, at most %s (formatting counts too)."
    assert errors == {
        (3, "C", "题干"): too_long % (content.MAX_STEM + 1, content.MAX_STEM),
        (4, "F", "选项C"): too_long % (content.MAX_OPTION + 1, content.MAX_OPTION),
        (5, "H", "解析"): too_long % (content.MAX_EXPLANATION + 1, content.MAX_EXPLANATION),
        (6, "G", "答案"): "A fill-in question has at most 10 accepted answers.",
    }
    assert not result.ok and result.created == 0
    assert Question.objects.filter(bank=bank).count() == 0
