"""An import takes every row or none: a file with invalid rows is refused whole, with
each problem at its file, row and column; unsafe HTML is stripped with a warning."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import translation

from quizzes.bank import services
from quizzes.bank.io import import_questions
from quizzes.models import AuditEntry, Question, QuestionVersion
from tests.factories import UserFactory
from tests.quizzes import sheets

pytestmark = pytest.mark.django_db

HEADERS = ["题型", "题干", "选项A", "选项B", "选项C", "答案", "容差", "维度", "主题", "出处"]


def xlsx(rows: list[list], headers: list[str] = HEADERS) -> bytes:
    return sheets.xlsx(rows, headers)


@pytest.fixture
def owner():
    return UserFactory(role="organizer")


@pytest.fixture
def bank(owner):
    return services.bank_create(name="导入检查", owner=owner)


GOOD = sheets.good_row(HEADERS)
BAD_ROWS = [
    *sheets.bad_rows(HEADERS),  # row 2 valid; errors in 3: key, 4: type, 5: key, 6: stem
    sheets.row("数值", "光速约为多少？", sheets.NO_OPTIONS, "很快", headers=HEADERS),  # 7
]


def test_a_file_with_invalid_rows_is_refused_whole_with_a_precise_report(bank, owner):
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=xlsx(BAD_ROWS), filename="q.xlsx")
        errors = {(e.row, e.column, e.header): str(e.message) for e in result.report.errors}
        lines = result.report.lines()
    assert not result.ok and result.created == 0
    assert errors == {
        (3, "F", "答案"): "The answer key is missing.",
        (4, "A", "题型"): "Unknown question type “问答”.",
        (5, "F", "答案"): "The key “D” names no option.",
        (6, "B", "题干"): "The stem is empty.",
        (7, "F", "答案"): "A numeric answer must be a number, not “很快”.",
    }
    assert "q.xlsx, row 5, column F (答案): error: The key “D” names no option." in lines
    # Nothing is written: not even the valid row 2.
    assert Question.objects.filter(bank=bank).count() == 0
    assert not AuditEntry.objects.filter(bank=bank, action="question_import").exists()


def test_the_report_renders_in_chinese_too(bank, owner):
    with translation.override("zh-hans"):
        result = import_questions(bank=bank, actor=owner, data=xlsx(BAD_ROWS), filename="q.xlsx")
        lines = result.report.lines()
    row6 = lines[3]  # sorted by row: 3, 4, 5, 6
    assert row6.startswith("q.xlsx") and "6" in row6 and "题干" in row6
    assert "题干为空" in row6  # content.py's message, in Chinese
    # a message without arguments is lazy: the same report renders in English later
    with translation.override("en"):
        stem = [e for e in result.report.errors if e.row == 6]
        assert str(stem[0].message) == "The stem is empty."


def test_the_command_refuses_the_file_and_exits_with_an_error(bank, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx(BAD_ROWS))
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_questions", str(path), bank=bank.name, stdout=out, language="en")
    assert "bad.xlsx, row 4, column A (题型): error: Unknown question type" in out.getvalue()
    assert Question.objects.filter(bank=bank).count() == 0


def test_script_tags_and_event_handlers_are_stripped_and_reported_as_warnings(bank, owner):
    rows = [
        [
            "单选",
            '<p onclick="steal()">哪个对？<script>alert(1)</script></p>',
            "<b>甲</b>",
            '<img src="x" onerror="alert(1)">乙',
            "",
            "A",
            "",
            "科学知识",
            "健康",
            "教材",
        ]
    ]
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=xlsx(rows), filename="x.xlsx")
        warnings = {(e.column, str(e.message)) for e in result.report.warnings}
    assert result.ok and result.created == 1
    assert ("B", "Removed unsafe content: script.") in warnings
    assert ("B", "Removed unsafe content: event handler.") in warnings
    assert ("D", "Removed unsafe content: event handler.") in warnings
    version = QuestionVersion.objects.get(question__bank=bank)
    assert "script" not in version.stem and "onclick" not in version.stem
    assert "onerror" not in version.options[1]["text"]
    assert version.options[0]["text"] == "<b>甲</b>"


def test_a_gap_in_the_options_is_an_error_at_the_empty_column(bank, owner):
    rows = [["单选", "哪个？", "甲", "", "丙", "B", "", "科学知识", "健康", "教材"]]
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=xlsx(rows), filename="g.xlsx")
        (error,) = result.report.errors
        assert "Option B is empty" in str(error.message)
    assert (error.row, error.column, error.header) == (2, "D", "选项B")


def test_a_missing_required_column_is_reported_on_the_header_row(bank, owner):
    data = xlsx([["单选", "哪个？"]], headers=["题型", "题干"])
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=data, filename="h.xlsx")
        (error,) = result.report.errors
        assert error.row == 1 and "答案" in str(error.message)
    assert Question.objects.count() == 0


def test_uids_that_repeat_or_are_already_in_the_bank_are_errors(bank, owner):
    existing = services.question_create(
        bank=bank,
        author=owner,
        raw={"type": "true_false", "stem": "已有", "key": True, "dimension": "knowledge",
             "topic": "health"},
    )  # fmt: skip
    uid = "0b6a1c2e-6a55-4a7e-9a51-6f1d2a3b4c5d"
    headers = ["编号", *HEADERS]
    rows = [
        [uid, *GOOD],
        [uid, "判断", "地球是圆的吗？", "", "", "", "对", "", "科学知识", "航天", "教材"],
        [str(existing.uid), "判断", "太阳是恒星吗？", "", "", "", "对", "", "科学知识", "航天", ""],
        ["not-a-uid", "判断", "月亮会发光吗？", "", "", "", "错", "", "科学知识", "航天", "教材"],
    ]  # fmt: skip
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=xlsx(rows, headers), filename="u")
        errors = {(e.row, e.column): str(e.message) for e in result.report.errors}
    assert errors == {
        (3, "A"): "This uid is also given at row 2.",
        (4, "A"): "A question with this uid is already in this bank.",
        (5, "A"): "“not-a-uid” is not a uid.",
    }


def test_moodle_xml_with_a_doctype_is_refused_before_parsing(bank, owner):
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<quiz><question type="truefalse"><questiontext><text>&b;</text></questiontext></question></quiz>"""
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=bomb, filename="bomb.xml")
        (error,) = result.report.errors
        assert "DOCTYPE" in str(error.message)
    assert Question.objects.count() == 0


def test_unsupported_moodle_and_gift_types_are_skipped_with_a_warning_at_their_line(bank, owner):
    gift = "::q1::Match these {=cat -> 猫 =dog -> 狗}\n\n// [tag:dimension:knowledge]\n" \
           "::q2::The sun is a star.{T}\n\n::q3::Tell us about stars. {}\n"  # fmt: skip
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=gift.encode(), filename="g.gift")
        errors = {(e.row, e.kind): str(e.message) for e in result.report.errors}
        warnings = {(e.row, e.kind): str(e.message) for e in result.report.warnings}
    assert (
        warnings[(1, "line")]
        == "SciArena has no question type like GIFT's “matching”; it is skipped."
    )
    assert (
        warnings[(6, "line")] == "SciArena has no question type like GIFT's “essay”; it is skipped."
    )
    assert errors == {(4, "line"): "This field is required."}  # q2 lacks a topic
    assert Question.objects.count() == 0

    moodle = b"""<?xml version="1.0"?><quiz>
<question type="essay"><questiontext><text>Why?</text></questiontext></question>
<question type="matching"><questiontext><text>Match</text></questiontext></question>
</quiz>"""
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=moodle, filename="m.xml")
        skipped = [str(e.message) for e in result.report.warnings]
        errors = [str(e.message) for e in result.report.errors]
    assert skipped == [
        "SciArena has no question type like Moodle's “essay”; it is skipped.",
        "SciArena has no question type like Moodle's “matching”; it is skipped.",
    ]
    assert errors == ["The file holds no questions."]
    assert Question.objects.count() == 0


def test_an_unreadable_file_is_reported_not_raised(bank, owner):
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=b"not a zip", filename="a.xlsx")
        assert "not an XLSX workbook" in str(result.report.errors[0].message)
        result = import_questions(bank=bank, actor=owner, data=b"x", filename="a.pdf")
        assert "Unknown file format" in str(result.report.errors[0].message)


def test_only_an_owner_imports(bank):
    outsider = UserFactory(role="organizer")
    with pytest.raises(PermissionDenied):
        import_questions(bank=bank, actor=outsider, data=xlsx([GOOD]), filename="a.xlsx")


def test_a_dry_run_reports_and_writes_nothing(bank, owner):
    result = import_questions(
        bank=bank, actor=owner, data=xlsx([GOOD]), filename="a.xlsx", dry_run=True
    )
    assert result.ok and result.created == 0 and len(result.items) == 1
    assert result.items[0].data["stem"] == "人体最大的器官是？"
    assert Question.objects.count() == 0
