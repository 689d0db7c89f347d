"""Import and export of question files: round trips through every format, the
template's aliases, formula escaping, near-duplicates, the commands."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import translation

import spreadsheets
from quizzes.bank import services
from quizzes.bank.content import search_text
from quizzes.bank.io import export_bank, import_questions, template_xlsx
from quizzes.bank.io.duplicates import near_duplicates
from quizzes.models import AuditEntry, Question, QuestionVersion
from quizzes.rich_text import plain_text
from tests.factories import UserFactory
from tests.quizzes import sheets

pytestmark = pytest.mark.django_db

TAGS = {
    "dimension": "method",
    "topic": "emergency",
    "difficulty": "hard",
    "benchmark": 7,
    "audience": ["elderly", "student"],
    "grade_band": "junior",
    "collection": "应急避险 2026",
    "source": "《应急科普读本》，第 3 章 {1}: 2=2",
}
QUESTIONS = [
    {
        "type": "single",
        "stem": "<p>水的化学式是 H<sub>2</sub>O 吗？选<b>正确</b>的一项：</p>",
        "options": ["H<sub>2</sub>O", "CO<sub>2</sub>", "=SUM(A1:A2)", "a ~ b = {c} # d: e"],
        "key": "A",
        "explanation": "<p>水由<b>氢</b>和氧组成。</p>",
        "stem_en": "Is water H<sub>2</sub>O?",
        "explanation_en": "Water is hydrogen and oxygen.",
    },
    {
        "type": "multiple",
        "stem": "以下哪些是可再生能源？",
        "options": ["太阳能", "煤炭", "风能", "水能", "石油"],
        "key": "ACD",
        "explanation": "太阳能、风能和水能可再生。",
    },
    {
        "type": "true_false",
        "stem": "-1 是负数，+1 是正数，@某人 不是公式。",
        "key": "错",
        "explanation": "判断题的解析",
    },
    {
        "type": "fill",
        "stem": "地球绕太阳公转一周约需 ____ 天。",
        "key": "365|三百六十五|365.25",
        "explanation": "一年约 365 天。",
    },
    {
        "type": "numeric",
        "stem": "重力加速度约为多少 m/s²？",
        "key": "-9.8",
        "tolerance": "0.05",
        "unit": "m/s²",
        "explanation": "约 9.8 m/s²（向下为负）。",
    },
    {
        "type": "ordering",
        "stem": "按发生先后排序：",
        "options": ["看到闪电", "听到雷声", "乌云聚集"],
        "key": "CAB",
        "explanation": "光比声音快。",
    },
]


@pytest.fixture
def owner():
    return UserFactory(role="organizer")


@pytest.fixture
def source_bank(owner):
    bank = services.bank_create(name="源题库", owner=owner)
    for raw in QUESTIONS:
        services.question_create(bank=bank, author=owner, raw={**TAGS, **raw})
    return bank


def snapshot(version: QuestionVersion) -> dict:
    """What must survive a round trip; option ids are fresh on import, so the key is
    compared by option position."""
    position = {o["id"]: i for i, o in enumerate(version.options)}
    key = dict(version.key)
    if "options" in key:
        key["options"] = sorted(position[i] for i in key["options"])
    if "order" in key:
        key["order"] = [position[i] for i in key["order"]]
    return {
        "uid": version.question.uid,
        "type": version.type,
        "stem": version.stem,
        "plain_stem": plain_text(version.stem),
        "options": [o["text"] for o in version.options],
        "key": key,
        "explanation": version.explanation,
        "source": version.source,
        "tags": {
            name: getattr(version, name)
            for name in (
                "dimension",
                "topic",
                "difficulty",
                "benchmark",
                "audience",
                "grade_band",
                "collection",
            )
        },
        "english": (version.stem_en, version.explanation_en),
        "search_text": version.search_text,
    }


def snapshots(bank) -> list[dict]:
    versions = QuestionVersion.objects.filter(question__bank=bank).select_related("question")
    return sorted((snapshot(v) for v in versions), key=lambda s: s["plain_stem"])


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "moodle", "gift"])
def test_a_bank_exported_and_imported_into_an_empty_bank_keeps_every_question(
    fmt, source_bank, owner
):
    exported = export_bank(bank=source_bank, fmt=fmt)
    assert exported.count == len(QUESTIONS)
    # The same database: the uids are taken, so the copy gets new ones (with a warning).
    source = snapshots(source_bank)
    for item in source:
        item.pop("uid")
    target = services.bank_create(name="空题库", owner=owner)
    result = import_questions(
        bank=target, actor=owner, data=exported.data, filename=exported.filename
    )
    assert result.ok, result.report.render()
    assert result.created == len(QUESTIONS)
    copied = snapshots(target)
    for item in copied:
        item.pop("uid")
    assert copied == source


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "moodle", "gift"])
def test_a_round_trip_into_a_fresh_database_keeps_the_uids(fmt, source_bank, owner):
    exported = export_bank(bank=source_bank, fmt=fmt)
    source = snapshots(source_bank)
    Question.objects.filter(bank=source_bank).delete()  # as if in another installation
    target = services.bank_create(name="空题库", owner=owner)
    result = import_questions(
        bank=target, actor=owner, data=exported.data, filename=exported.filename
    )
    assert result.ok, result.report.render()
    assert snapshots(target) == source
    uid_warnings = [e for e in result.report.warnings if "uid" in str(e.message)]
    assert uid_warnings == []


def test_gift_export_reports_that_ordering_is_written_as_an_extension(source_bank):
    exported = export_bank(bank=source_bank, fmt="gift")
    with translation.override("en"):
        (warning,) = exported.report.warnings
        assert "ordering" in str(warning)
    text = exported.data.decode()
    assert "// @type: ordering" in text
    assert "//@ ::" in text  # a comment to Moodle, which skips it
    assert "{F ####" in text  # the true/false item, with its general feedback


def test_imported_rows_are_the_rows_question_create_writes(owner):
    raw = {**TAGS, **QUESTIONS[0]}
    by_service = services.bank_create(name="逐题", owner=owner)
    services.question_create(bank=by_service, author=owner, raw=raw)
    exported = export_bank(bank=by_service, fmt="xlsx")
    by_import = services.bank_create(name="批量", owner=owner)
    Question.objects.filter(bank=by_service).delete()
    import_questions(bank=by_import, actor=owner, data=exported.data, filename="a.xlsx")
    (created,) = QuestionVersion.objects.filter(question__bank=by_import)
    service_bank = services.bank_create(name="逐题2", owner=owner)
    reference = services.question_create(bank=service_bank, author=owner, raw=raw).versions.get()
    ignore = {"_state", "id", "question_id", "created_at", "options", "key"}
    assert {k: v for k, v in vars(created).items() if k not in ignore} == {
        k: v for k, v in vars(reference).items() if k not in ignore
    }
    assert created.number == 1 and created.status == "draft" and created.author == owner
    assert created.question.created_by == owner
    (audit,) = AuditEntry.objects.filter(bank=by_import, action="question_import")
    assert audit.changes["count"] == 1 and audit.actor == owner


def test_export_escapes_cells_a_spreadsheet_would_run_as_formulas(source_bank):
    workbook = openpyxl.load_workbook(io.BytesIO(export_bank(bank=source_bank, fmt="xlsx").data))
    cells = [c for row in workbook.active.iter_rows() for c in row if c.value]
    assert all(c.data_type == "s" for c in cells)  # text, never a formula
    values = {c.value for c in cells}
    assert "'=SUM(A1:A2)" in values
    assert "'-9.8" in values
    assert any(str(v).startswith("'-1 是负数") for v in values)
    assert not any(str(v).startswith(spreadsheets.FORMULA_START) for v in values)

    text = export_bank(bank=source_bank, fmt="csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    flat = {cell for row in rows for cell in row}
    assert "'=SUM(A1:A2)" in flat
    assert not any(cell.startswith(spreadsheets.FORMULA_START) for cell in flat)


@pytest.mark.parametrize(
    "text", ["=1+1", "+86", "-5", "@user", "\tx", "'=already", "''+two", "'plain", "plain"]
)
def test_formula_escaping_round_trips_exactly(text):
    escaped = spreadsheets.escape_cell(text)
    assert not escaped.startswith(spreadsheets.FORMULA_START)
    assert spreadsheets.unescape_cell(escaped) == text


def xlsx(rows: list[list], headers: list[str] | None = None) -> bytes:
    short = ["题型", "题干", "选项A", "选项B", "选项C", "答案", "维度", "主题"]
    return sheets.xlsx(rows, headers or short)


def test_a_cell_that_is_a_formula_is_kept_as_text_with_a_warning(owner):
    bank = services.bank_create(name="公式", owner=owner)
    data = xlsx([["单选", "=1+1", "二", "三", "", "A", "科学知识", "健康"]])
    result = import_questions(bank=bank, actor=owner, data=data, filename="f.xlsx")
    assert result.ok, result.report.render()
    version = QuestionVersion.objects.get(question__bank=bank)
    assert version.stem == "=1+1"
    with translation.override("en"):
        assert any(
            e.column == "B" and "kept as text" in str(e.message) for e in result.report.warnings
        )
    # and escaped again on the way out
    again = openpyxl.load_workbook(io.BytesIO(export_bank(bank=bank, fmt="xlsx").data))
    assert again.active["C2"].value == "'=1+1"


def test_the_template_accepts_english_headers_and_the_keys_of_every_value(owner):
    bank = services.bank_create(name="英文表头", owner=owner)
    headers = [
        "Type", "Stem", "Option A", "option_b", "Answer", "Dimension", "Topic", "Audience",
        "Difficulty", "Grade band", "Benchmark", "Source",
    ]  # fmt: skip
    data = xlsx(
        [
            [
                "single",
                "Which?",
                "a",
                "b",
                "B",
                "spirit",
                "space",
                "farmer,worker",
                "easy",
                "senior",
                26,
                "src",
            ],
            [
                "判断",
                "对吗？",
                None,
                None,
                "对",
                "科学应用",
                "防范诈骗",
                "老年人，学生",
                "难",
                "小学",
                "3",
                "src",
            ],
        ],
        headers,
    )
    result = import_questions(bank=bank, actor=owner, data=data, filename="e.xlsx")
    assert result.ok, result.report.render()
    first, second = (i.data for i in result.items)
    assert (first["dimension"], first["topic"], first["difficulty"]) == ("spirit", "space", "easy")
    assert first["audience"] == ["farmer", "worker"] and first["benchmark"] == 26
    assert first["grade_band"] == "senior"
    assert second["type"] == "true_false" and second["key"] == {"value": True}
    assert (second["dimension"], second["topic"]) == ("application", "anti_fraud")
    assert second["audience"] == ["elderly", "student"] and second["grade_band"] == "primary"


def test_a_csv_saved_by_chinese_excel_in_gb18030_is_read(owner):
    bank = services.bank_create(name="GBK", owner=owner)
    text = "题型,题干,选项A,选项B,答案,维度,主题\r\n单选,哪一个？,甲,乙,B,科学知识,健康\r\n"
    result = import_questions(bank=bank, actor=owner, data=text.encode("gb18030"), filename="g.csv")
    assert result.ok, result.report.render()
    assert result.created == 1


def test_the_empty_template_has_the_documented_chinese_headers():
    sheet = openpyxl.load_workbook(io.BytesIO(template_xlsx())).active
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["编号", "题型", "题干", "选项A"]
    assert headers[-2:] == ["英文题干", "英文解析"]
    assert len(headers) == 25


def test_near_duplicate_questions_are_flagged_in_the_file_and_against_the_bank(owner):
    bank = services.bank_create(name="查重", owner=owner)
    existing = services.question_create(
        bank=bank,
        author=owner,
        raw={
            **TAGS,
            **QUESTIONS[1],
            "stem": "下列哪些属于可再生能源，请选出全部正确选项？",
            "options": ["太阳能", "煤炭", "风能"],
            "key": "AC",
        },
    )
    rows = [
        ["单选", "人体最大的器官是下面哪一个器官呢？", "皮肤", "心脏", "", "A", "科学知识", "健康"],
        ["单选", "人体最大的器官是下面哪一个器官呢?", "皮肤", "心脏", "", "A", "科学知识", "健康"],
        ["单选", "下列哪些属于可再生能源，请选出全部正确选项", "太阳能", "煤炭", "风能", "A",
         "科学知识", "能源"],
        ["单选", "月球绕地球一周大约需要多少天？", "27", "365", "", "A", "科学知识", "航天"],
    ]  # fmt: skip
    with translation.override("en"):
        result = import_questions(
            bank=bank, actor=owner, data=xlsx(rows), filename="d.xlsx", dry_run=True
        )
        flagged = {e.row: str(e.message) for e in result.report.warnings if "nearly" in str(e)}
    assert set(flagged) == {3, 4}
    assert "row 2" in flagged[3]
    assert f"Q{existing.pk}" in flagged[4]
    assert all(e.column == "B" for e in result.report.warnings if "nearly" in str(e.message))
    assert result.ok and result.created == 0 and Question.objects.filter(bank=bank).count() == 1


def test_near_duplicate_search_matches_a_brute_force_comparison():
    import random

    rng = random.Random(7)
    words = [*"水火电光声热力能气土金木", "植物", "动物", "细菌", "病毒", "地球", "月亮"]
    stems = ["".join(rng.choice(words) for _n in range(rng.randint(4, 12))) for _i in range(300)]
    stems += [s + "吗" for s in stems[:30]] + [s[:-1] for s in stems[30:60]]
    texts = [search_text(s) for s in stems]
    found = near_duplicates(texts)

    from quizzes.bank.io.duplicates import bigrams

    def jaccard(a, b):
        x, y = bigrams(a), bigrams(b)
        return len(x & y) / len(x | y) if x | y else 0

    expected = {
        i
        for i in range(len(texts))
        if any(texts[j] == texts[i] or jaccard(texts[i], texts[j]) >= 0.85 for j in range(i))
    }
    assert set(found) == expected


STOCK_STEM = "下列说法中，正确的是（　）"


def _statement(rng, number: int) -> str:
    subjects = ["高血压患者", "家庭厨房", "城市雨水", "光伏电站", "北斗卫星", "流感病毒"]
    verbs = ["应当", "可以", "不宜", "通常", "必须"]
    acts = ["按时服药", "开窗通风", "拨打电话", "查看官网", "断开电源", "保存证据"]
    return f"{rng.choice(subjects)}{rng.choice(verbs)}{rng.choice(acts)}（{number}）"


def test_questions_sharing_a_stock_stem_are_told_apart_by_their_options(owner):
    import random

    rng = random.Random(3)
    rows = []
    for n in range(60):
        options = [_statement(rng, n * 10 + k) for k in range(3)]
        rows.append(["单选", STOCK_STEM, *options, "A", "科学知识", "健康"])
    rows.append(["单选", STOCK_STEM, *rows[5][2:5], "B", "科学知识", "健康"])  # row 62: a copy
    bank = services.bank_create(name="同题干", owner=owner)
    with translation.override("en"):
        result = import_questions(
            bank=bank, actor=owner, data=xlsx(rows), filename="s.xlsx", dry_run=True
        )
        flagged = {e.row: str(e.message) for e in result.report.warnings if "nearly" in str(e)}
    assert set(flagged) == {62}
    assert "row 7" in flagged[62]


def test_the_duplicate_check_takes_linear_time_on_a_file_of_near_copies():
    """Near-copies (one number differs) are every pair's match: a pairwise search is
    quadratic there (the 10,000 rows of issue 12 took 111 s); four times the rows must
    cost well under sixteen times the time."""
    import time

    from quizzes.bank.io.duplicates import question_text

    def run(count: int) -> float:
        texts = [
            question_text(
                search_text(STOCK_STEM),
                ["水的沸点是一百摄氏度", "冰的熔点是零摄氏度", f"光速约为每秒{n}公里"],
            )
            for n in range(count)
        ]
        started = time.perf_counter()
        found = near_duplicates(texts)
        assert len(found) == count - 1  # each one is near an earlier one
        return time.perf_counter() - started

    run(200)  # warm up
    small, large = min(run(750) for _ in range(2)), min(run(3000) for _ in range(2))
    assert large / small < 8, (small, large)


def test_near_duplicates_never_flag_a_pair_below_the_threshold():
    import random

    from quizzes.bank.io.duplicates import THRESHOLD, bigrams, question_text

    rng = random.Random(11)
    texts = [
        question_text(search_text(STOCK_STEM), [_statement(rng, rng.randint(1, 50)) for _ in "ab"])
        for _ in range(400)
    ]
    for row, match in near_duplicates(texts).items():
        x, y = bigrams(texts[row]), bigrams(texts[match.other])
        assert len(x & y) / len(x | y) >= THRESHOLD
        assert match.other < row


def test_the_commands_export_and_import_a_bank(source_bank, owner, tmp_path):
    path = tmp_path / "bank.xlsx"
    out = io.StringIO()
    call_command(
        "export_questions", str(path), bank=source_bank.name, format="xlsx", stdout=out,
        language="en",
    )  # fmt: skip
    assert "6 questions written" in out.getvalue()
    Question.objects.filter(bank=source_bank).delete()
    target = services.bank_create(name="命令导入", owner=owner)

    out = io.StringIO()
    call_command("import_questions", str(path), bank=target.name, dry_run=True, stdout=out,
                 language="en")  # fmt: skip
    assert "Dry run: 6 questions would be imported" in out.getvalue()
    assert Question.objects.filter(bank=target).count() == 0

    out = io.StringIO()
    call_command("import_questions", str(path), bank=target.name, stdout=out)
    assert Question.objects.filter(bank=target).count() == 6
    assert "6" in out.getvalue()


def test_a_moodle_file_without_our_tags_takes_defaults(owner):
    bank = services.bank_create(name="Moodle", owner=owner)
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/top/Default</text></category></question>
  <question type="multichoice">
    <name><text>Q1</text></name>
    <questiontext format="html"><text><![CDATA[<p>Which is a planet?</p>]]></text></questiontext>
    <single>true</single>
    <answer fraction="0"><text>Sun</text></answer>
    <answer fraction="100"><text>Mars</text></answer>
    <tags><tag><text>astronomy</text></tag></tags>
  </question>
</quiz>"""
    result = import_questions(
        bank=bank,
        actor=owner,
        data=data,
        filename="moodle.xml",
        defaults={"dimension": "knowledge", "topic": "space"},
    )
    assert result.ok, result.report.render()
    version = QuestionVersion.objects.get(question__bank=bank)
    assert version.key == {"options": [version.options[1]["id"]]}
    assert (version.dimension, version.topic) == ("knowledge", "space")


# --- Moodle and GIFT: every change of meaning is a warning at its line -------------------

MOODLE_CHANGES = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice">
    <questiontext format="html"><text>Two right answers in a single choice?</text></questiontext>
    <single>true</single>
    <answer fraction="100"><text>Mars</text></answer>
    <answer fraction="100"><text>Venus</text></answer>
    <answer fraction="0"><text>Sun</text></answer>
  </question>
  <question type="multichoice">
    <questiontext format="html"><text>Partial credit in a single choice?</text></questiontext>
    <single>true</single>
    <answer fraction="100"><text>Mars</text></answer>
    <answer fraction="50"><text>Phobos</text></answer>
    <answer fraction="0"><text>Sun</text></answer>
  </question>
  <question type="multichoice">
    <questiontext format="html"><text>Unequal weights in a multiple choice?</text></questiontext>
    <single>false</single>
    <answer fraction="60"><text>Mars</text></answer>
    <answer fraction="40"><text>Venus</text></answer>
    <answer fraction="-100"><text>Sun</text></answer>
  </question>
  <question type="shortanswer">
    <questiontext format="html"><text>The chemical symbol of water?</text></questiontext>
    <answer fraction="100"><text>H2O</text></answer>
    <answer fraction="50"><text>HO</text></answer>
  </question>
  <question type="numerical">
    <questiontext format="html"><text>g in m/s²?</text></questiontext>
    <answer fraction="100"><text>9.8</text><tolerance>0.1</tolerance></answer>
    <answer fraction="50"><text>10</text><tolerance>0</tolerance></answer>
  </question>
  <question type="truefalse">
    <questiontext format="html">
      <text><![CDATA[A picture: <img src="@@PLUGINFILE@@/sun.png">]]></text>
      <file name="sun.png" path="/" encoding="base64">iVBORw0KGgo=</file></questiontext>
    <answer fraction="100"><text>true</text></answer>
    <answer fraction="0"><text>false</text></answer>
  </question>
  <question type="essay">
    <questiontext format="html"><text>Tell us about the sun.</text></questiontext>
  </question>
</quiz>
"""


def test_every_change_of_meaning_in_a_moodle_file_is_a_warning_at_its_question(owner):
    bank = services.bank_create(name="Moodle 含义", owner=owner)
    with translation.override("en"):
        result = import_questions(
            bank=bank,
            actor=owner,
            data=MOODLE_CHANGES.encode(),
            filename="m.xml",
            defaults={"dimension": "knowledge", "topic": "space"},
        )
        warnings = {}
        for entry in result.report.warnings:
            if "source" not in str(entry.message).lower():  # no source given: not a change
                warnings.setdefault(entry.row, []).append(str(entry.message))
    assert result.ok, result.report.render()
    assert result.created == 6  # the essay is skipped
    lines = sorted(warnings)
    assert len(lines) == 7
    expected = [
        "2 answers are fully right in this single-choice question; only the first "
        "(answer 1) is kept as the key.",
        "Moodle gives partial credit (50%) here; SciArena marks an answer right or wrong, "
        "so only the key is right.",
        "The right answers weigh differently in Moodle (60%, 40%); here the question is "
        "right when exactly the answers with a positive weight are chosen.",
        "Answers worth partial credit (HO) are dropped: only answers worth 100% are accepted.",
        "Only the first fully right answer is kept; the others (1: other values, or "
        "partial credit) are dropped.",
        "The question's embedded files (images) are not imported: sun.png; upload them to "
        "the bank and add them in the editor.",
        "SciArena has no question type like Moodle's “essay”; it is skipped.",
    ]
    for line, message in zip(lines, expected, strict=True):
        assert message in warnings[line], (line, warnings[line])
    versions = {v.stem: v for v in QuestionVersion.objects.filter(question__bank=bank)}
    two = versions["Two right answers in a single choice?"]
    assert two.type == "single" and two.key == {"options": [two.options[0]["id"]]}


def test_every_change_of_meaning_in_a_gift_file_is_a_warning_at_its_question(owner):
    tags = "// [tag:dimension:knowledge] [tag:topic:space]\n"
    gift = (
        tags + "::a::Which are planets? {=Mars =Venus ~Sun}\n\n"
        + tags + "::b::Weights? {~%70%Mars ~%30%Venus ~%-100%Sun}\n\n"
        + tags + "::c::Water? {=H2O =%50%HO}\n\n"
        + tags + "::d::g? {#=9.8:0.1 =%50%10:0}\n\n"
        + tags + "::e::Match {=cat -> 猫 =dog -> 狗}\n"
    )  # fmt: skip
    bank = services.bank_create(name="GIFT 含义", owner=owner)
    with translation.override("en"):
        result = import_questions(bank=bank, actor=owner, data=gift.encode(), filename="g.gift")
        warnings = {
            e.row: str(e.message) for e in result.report.warnings if "source" not in str(e.message)
        }
    assert result.ok, result.report.render()
    assert result.created == 4
    assert warnings == {
        2: "2 answers are marked fully right with “=”, which Moodle reads as a single choice "
        "where any of them is right; here all of them must be chosen.",
        5: "The right answers weigh differently (70%, 30%); here the question is right when "
        "exactly the answers with a positive weight are chosen.",
        8: "Answers worth partial credit (HO) are dropped: only answers worth 100% are accepted.",
        11: "Only the first fully right answer is kept; the others (1: other values, or "
        "partial credit) are dropped.",
        14: "SciArena has no question type like GIFT's “matching”; it is skipped.",
    }


@pytest.mark.parametrize("fmt", ["moodle", "gift"])
def test_a_bank_of_our_own_export_reads_back_without_a_change_of_meaning(fmt, source_bank, owner):
    exported = export_bank(bank=source_bank, fmt=fmt)
    target = services.bank_create(name="往返", owner=owner)
    with translation.override("en"):
        result = import_questions(
            bank=target, actor=owner, data=exported.data, filename=exported.filename
        )
        messages = [str(e.message) for e in result.report.warnings]
    assert result.ok
    changes = ("partial", "weigh", "fully right", "skipped", "embedded", "dropped")
    assert not [m for m in messages if any(word in m for word in changes)], messages
