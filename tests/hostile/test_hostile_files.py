"""Hostile spreadsheet and question files (issue 12, point 8): zip bombs (honest and
lying declared sizes, many entries, an XML element flood, deep nesting, a lying sheet
dimension), truncated and oversize files, files that are not what their name says, and
a corpus of tricky CSV files. Each is refused with a clear error, on the import page and
the command alike, with nothing written; the cost of reading them is measured in a
subprocess (time and peak memory), since a zip bomb took 321 s and 8.6 GB before."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from quizzes.bank import services
from quizzes.bank.io import import_questions
from quizzes.models import AuditEntry, Bank, Question
from spreadsheets import Report, csv_rows, table_rows
from tests.factories import UserFactory
from tests.quizzes import sheets

ROOT = Path(__file__).resolve().parents[2]
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"
MB = 1024 * 1024

# --- Building hostile workbooks ---------------------------------------------------------


def _skeleton() -> dict[str, bytes]:
    """The entries of a real one-sheet workbook (openpyxl's), holding a good question."""
    archive = zipfile.ZipFile(io.BytesIO(sheets.xlsx([sheets.good_row()])))
    return {info.filename: archive.read(info) for info in archive.infolist()}


def workbook(replace: dict[str, Callable[[], Iterable[bytes]]], extra: int = 0) -> bytes:
    """The skeleton with some entries' contents streamed from generators (so a bomb is
    never held whole in memory), plus `extra` tiny entries."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in _skeleton().items():
            if name in replace:
                with archive.open(name, "w") as stream:
                    for chunk in replace[name]():
                        stream.write(chunk)
            else:
                archive.writestr(name, content)
        for number in range(extra):
            archive.writestr(f"customXml/item{number}.bin", b"x")
    return out.getvalue()


def sheet(rows: Callable[[], Iterable[bytes]], head: bytes = b"") -> Callable[[], Iterator[bytes]]:
    def generate() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="' + MAIN + b'">'
        yield head + b"<sheetData>"
        yield from rows()
        yield b"</sheetData></worksheet>"

    return generate


def cell_row(number: int, cells: Iterable[tuple[str, str]]) -> bytes:
    inner = b"".join(
        f'<c r="{ref}{number}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()
        for ref, text in cells
    )
    return f'<row r="{number}">'.encode() + inner + b"</row>"


def honest_bomb() -> bytes:
    """200 MB of one cell's text in a 200 KB file, every size declared truly."""

    def rows():
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
        for _ in range(200):
            yield b"x" * MB
        yield b"</t></is></c></row>"

    return workbook({SHEET: sheet(rows)})


def lying_bomb() -> bytes:
    """The honest bomb with its sheet's declared unpacked size rewritten to 1 KB, in
    the local header and in the central directory: the declared total is tiny."""
    data = bytearray(honest_bomb())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET)
    data[info.header_offset + 22 : info.header_offset + 26] = (1024).to_bytes(4, "little")
    end = data.rfind(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16 : end + 20], "little")
    while data[offset : offset + 4] == b"PK\x01\x02":
        name_length = int.from_bytes(data[offset + 28 : offset + 30], "little")
        extra = int.from_bytes(data[offset + 30 : offset + 34], "little")  # + comment
        name = bytes(data[offset + 46 : offset + 46 + name_length])
        if name == SHEET.encode():
            data[offset + 24 : offset + 28] = (1024).to_bytes(4, "little")
        offset += 46 + name_length + (extra & 0xFFFF) + (extra >> 16)
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET).file_size == 1024
    return bytes(data)


def many_entries() -> bytes:
    return workbook({}, extra=5000)


def loose_flood() -> bytes:
    """Two million empty elements in the styles, which openpyxl parses whole."""

    def styles():
        yield b'<styleSheet xmlns="' + MAIN + b'">'
        for _ in range(2000):
            yield b"<a/>" * 1000
        yield b"</styleSheet>"

    return workbook({"xl/styles.xml": styles})


def cell_flood() -> bytes:
    """One row of two million cells."""

    def rows():
        yield b'<row r="1">'
        for _ in range(2000):
            yield b"<c/>" * 1000
        yield b"</row>"

    return workbook({SHEET: sheet(rows)})


def deep_xml() -> bytes:
    """A cell nested 100,000 elements deep."""

    def rows():
        yield b'<row r="1"><c r="A1">' + b"<x>" * 100_000 + b"</x>" * 100_000 + b"</c></row>"

    return workbook({SHEET: sheet(rows)})


def far_columns() -> bytes:
    """12,000 rows, each with a cell in the last column (XFD): padded to it, each row
    would be 16,384 cells."""

    def rows():
        for number in range(1, 12_001):
            yield cell_row(number, [("A", "题干"), ("XFD", "x")])

    return workbook({SHEET: sheet(rows)})


def far_row() -> bytes:
    """One cell in the sheet's last row (1,048,576): every row above it is empty."""
    return workbook({SHEET: sheet(lambda: [cell_row(1_048_576, [("A", "x")])])})


def lying_dimension() -> bytes:
    """A sheet that declares A1:XFD1048576 and holds two small rows."""
    head = b'<dimension ref="A1:XFD1048576"/>'
    rows = [cell_row(1, [("A", "题干"), ("B", "答案")]), cell_row(2, [("A", "问"), ("B", "A")])]
    return workbook({SHEET: sheet(lambda: rows, head)})


REFUSED_WORKBOOKS = {
    "honest_bomb": (honest_bomb, "Unpacked, the workbook would be larger than 50 MB"),
    "lying_bomb": (lying_bomb, "damaged or truncated"),
    "many_entries": (many_entries, "holds more than 100 files"),
    "loose_flood": (loose_flood, "outside its rows and texts"),
    "cell_flood": (cell_flood, "more than 1500000 XML elements"),
    "deep_xml": (deep_xml, "nested more than 32 levels deep"),
    "far_columns": (far_columns, "row 1, column XFD: error: The row has a value beyond column BL"),
    "far_row": (far_row, "more than 12000 rows"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    """Each hostile workbook, built once, as a file."""
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, (build, _message) in REFUSED_WORKBOOKS.items():
        paths[name] = folder / f"{name}.xlsx"
        paths[name].write_bytes(build())
    return paths


def errors_of(data: bytes, filename: str) -> tuple[list, list[str]]:
    report = Report(filename)
    with translation.override("en"):
        rows = table_rows(data, filename, report)
        return rows, [str(e) for e in report.errors]


# --- The spreadsheet module refuses each, quickly --------------------------------------


@pytest.mark.parametrize("name", list(REFUSED_WORKBOOKS))
def test_each_hostile_workbook_is_refused_with_a_clear_error(hostile, name):
    data = hostile[name].read_bytes()
    assert len(data) < 2 * MB  # small files, every one of them
    rows, errors = errors_of(data, "hostile.xlsx")
    assert rows == []
    assert len(errors) == 1, errors
    assert REFUSED_WORKBOOKS[name][1] in errors[0]


def test_a_sheet_whose_dimension_lies_is_read_as_it_is(hostile):
    rows, errors = errors_of(lying_dimension(), "dim.xlsx")
    assert errors == []
    assert rows == [(1, ["题干", "答案"]), (2, ["问", "A"])]


MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, sys.argv[2])
    from django.conf import settings
    settings.configure(USE_I18N=False)
    from spreadsheets import Report, table_rows
    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = Report("hostile.xlsx")
    rows = table_rows(data, "hostile.xlsx", report)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "growth_kb": peak - before,
                      "rows": len(rows), "errors": len(report.errors)}))
    """
)


def measure(path: Path) -> dict:
    """Read `path` with the spreadsheet module in a fresh process: its time, and how
    much its peak resident memory grew while reading (ru_maxrss, KB on Linux)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "name", ["honest_bomb", "lying_bomb", "loose_flood", "cell_flood", "far_columns", "far_row"]
)
def test_reading_a_hostile_workbook_costs_bounded_time_and_memory(hostile, name):
    """Before the limits, the honest bomb alone took minutes and gigabytes; now each is
    refused within seconds (on a loaded two-core machine) and 64 MB of memory."""
    figures = measure(hostile[name])
    assert figures["rows"] == 0 and figures["errors"] == 1
    assert figures["growth_kb"] < 64 * 1024, figures
    assert figures["seconds"] < 15, figures


# --- Truncated, oversize and disguised files ---------------------------------------------


def test_a_truncated_workbook_is_refused_wherever_it_is_cut():
    data = sheets.xlsx([sheets.good_row()] * 50)
    for cut in (1, 4, 30, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1):
        rows, errors = errors_of(data[:cut], "cut.xlsx")
        assert rows == [] and len(errors) == 1, (cut, errors)
        assert "damaged or truncated" in errors[0] or "not an XLSX workbook" in errors[0]


def test_a_workbook_with_a_damaged_entry_is_refused():
    data = bytearray(sheets.xlsx([sheets.good_row()] * 50))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET)
    start = info.header_offset + 30 + len(SHEET) + 10
    data[start : start + 40] = b"\xff" * 40  # inside the sheet's deflate stream
    rows, errors = errors_of(bytes(data), "bad.xlsx")
    assert rows == [] and len(errors) == 1 and "damaged or truncated" in errors[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"   \n", "The file is empty."),
        (b"not a zip at all", "not an XLSX workbook"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "web page (HTML)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "old Excel file (.xls)"),
        (b"PK\x03\x04" + b"\x00" * 100, "damaged or truncated"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused(data, message):
    rows, errors = errors_of(data, "fake.xlsx")
    assert rows == [] and len(errors) == 1 and message in errors[0], errors


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    rows, errors = errors_of(out.getvalue(), "zip.xlsx")
    assert rows == [] and errors == [
        "zip.xlsx: error: This file is not an XLSX workbook that can be read."
    ]


def test_a_file_over_the_upload_cap_is_refused_by_the_module_too(settings):
    settings.SPREADSHEET_MAX_UPLOAD_BYTES = 1000
    for name in ("big.xlsx", "big.csv"):
        rows, errors = errors_of(b"a" * 1001, name)
        assert rows == [] and errors == [
            f"{name}: error: The file is larger than 0 MB; split it into smaller files."
        ]


# --- Rows, columns and cells over the limits -------------------------------------------


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_rows_columns_and_cells_over_the_limits_are_named_by_row_and_column(settings, kind):
    settings.SPREADSHEET_MAX_ROWS = 5
    settings.SPREADSHEET_MAX_COLUMNS = 4
    settings.SPREADSHEET_MAX_CELL_CHARS = 10

    def file(rows):
        if kind == "xlsx":
            return sheets.xlsx(rows[1:], rows[0])
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode()

    header = ["题干", "答案"]
    _rows, errors = errors_of(file([header] + [["问", "A"]] * 5), f"f.{kind}")
    assert errors == [
        f"f.{kind}, row 6: error: The file has more than 5 rows; split it into smaller files."
    ]
    _rows, errors = errors_of(file([header, ["问", "A", "", "", "x"]]), f"f.{kind}")
    assert errors == [
        f"f.{kind}, row 2, column E: error: "
        "The row has a value beyond column D (4 columns at most)."
    ]
    rows, errors = errors_of(file([header, ["问", "A", "", "", "", ""]]), f"f.{kind}")
    assert errors == [] and rows[1] == (2, ["问", "A"])  # empty cells past the limit: fine
    _rows, errors = errors_of(file([header, ["问" * 11, "A"], ["问", "B" * 11]]), f"f.{kind}")
    assert errors == [
        f"f.{kind}, row 2, column A: error: A cell holds more than 10 characters.",
        f"f.{kind}, row 3, column B: error: A cell holds more than 10 characters.",
    ]


# --- CSV: one fixed dialect, and a corpus whose every cell round-trips ------------------

CORPUS_CELLS = [
    ["题干", "选项A", "答案"],
    ['买"无糖"的饮料', '"无糖"', '""'],
    ["无糖, 低脂", '他说："无糖，真的？"', "a,b,c"],
    ["第一行\n第二行", "回车\r\n换行", "\n"],
    [" 前后空格 ", "\t制表符", ";分号;"],
    ["", "'=1+1", "单引号'"],
    ["𠀀𪚥 (outside the BMP)", "ℌ full-width：，", "é"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
@pytest.mark.parametrize("terminator", ["\r\n", "\n"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_every_cell_of_the_csv_corpus_round_trips(encoding, terminator, delimiter):
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=terminator).writerows(CORPUS_CELLS)
    report = Report("corpus.csv")
    rows = csv_rows(out.getvalue().encode(encoding), report)
    assert report.entries == []
    assert [cells for _n, cells in rows] == CORPUS_CELLS
    assert [n for n, _cells in rows] == list(range(1, len(CORPUS_CELLS) + 1))


def test_hand_written_rfc_4180_quoting_is_read_exactly():
    text = (
        "题干,选项A,答案\r\n"
        '"买""无糖""的饮料，还是""低脂""的？","甲, 乙",A\r\n'
        '"多行\r\n题干",乙,B\r\n'
        '他说"无糖",丙,C\r\n'
        '"买""无糖""饮料, 好吗？",好,D\r\n'
    )
    report = Report("q.csv")
    rows = csv_rows(text.encode("gb18030"), report)
    assert report.entries == []
    assert rows == [
        (1, ["题干", "选项A", "答案"]),
        (2, ['买"无糖"的饮料，还是"低脂"的？', "甲, 乙", "A"]),
        (3, ["多行\r\n题干", "乙", "B"]),
        (4, ['他说"无糖"', "丙", "C"]),
        (5, ['买"无糖"饮料, 好吗？', "好", "D"]),
    ]


GARBLED_BY_SNIFFING = [
    # (stem, option A): issue 12's cases, where csv.Sniffer guessed "no doubled quotes"
    # and the row came back cut at the comma, its cells shifted one column right.
    ('买"无糖"饮料, 好吗？', "好"),
    ('标注"无糖"的饮料, 一定不含糖吗？', "是"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("stem", "option"), GARBLED_BY_SNIFFING)
def test_doubled_quotes_with_a_comma_in_the_cell_import_exactly(owner, bank, stem, option):
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # as Excel writes: "买""无糖""饮料, 好吗？"
    writer.writerow(["题型", "题干", "选项A", "选项B", "答案", "维度", "主题", "出处"])
    writer.writerow(["单选", stem, option, "不好", "A", "科学知识", "健康", "教材"])
    result = import_questions(
        bank=bank, actor=owner, data=out.getvalue().encode("utf-8-sig"), filename="q.csv"
    )
    assert result.ok, result.report.render()
    version = Question.objects.get(bank=bank).versions.get()
    assert (version.stem, [o["text"] for o in version.options]) == (stem, [option, "不好"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            '题干,答案\n"无糖"饮料,A\n'.encode(),
            "row 2: error: This CSV file cannot be read at line 2",
        ),
        (
            '题干,答案\n"未闭合,A\n'.encode(),
            "row 2: error: This CSV file cannot be read at line 2: unexpected end of data",
        ),
        ("题干,答案\n问\x00,A\n".encode(), "holds NUL characters"),
        ("问\x00".encode("utf-16"), "holds NUL characters"),
        (b"\x80\x81\xff abc", "neither UTF-8 nor GB18030"),
        (sheets.xlsx([sheets.good_row()]), "This is an XLSX workbook, not a CSV file"),
    ],
)
def test_a_csv_that_cannot_be_read_exactly_is_refused_not_guessed(data, message):
    rows, errors = errors_of(data, "bad.csv")
    assert rows == [] and len(errors) == 1 and message in errors[0], errors


# --- On the page and the command: refused, nothing written ---------------------------------


@pytest.fixture
def owner():
    return UserFactory(role="organizer")


@pytest.fixture
def bank(owner):
    return services.bank_create(name="防护题库", owner=owner)


def truncated() -> bytes:
    data = sheets.xlsx([sheets.good_row()] * 20)
    return data[: len(data) // 2]


PAGE_FILES = {
    "truncated.xlsx": (truncated, "damaged or truncated"),
    "bomb.xlsx": (honest_bomb, "larger than 50 MB"),
    "lying.xlsx": (lying_bomb, "damaged or truncated"),
    "page.xlsx": (lambda: b"<html><body>login</body></html>", "web page (HTML)"),
    "nul.csv": (lambda: "题型,题干\n单选,问\x00\n".encode(), "NUL characters"),
    "quote.csv": (
        lambda: '题型,题干,答案\n单选,"无糖"饮料,A\n'.encode(),
        "cannot be read at line 2",
    ),
    "flood.xml": (
        lambda: b"<quiz>" + b"<a/>" * 1_000_000 + b"</quiz>",
        "more than 100000 XML elements outside its questions",
    ),
    "question.xml": (
        lambda: b'<quiz><question type="truefalse">' + b"<a/>" * 200_000 + b"</question></quiz>",
        "The question at line 1 holds more than 100000 XML elements.",
    ),
    "many.xml": (
        lambda: b"<quiz>" + b'<question type="category"/>' * 12_001 + b"</quiz>",
        "more than 12000 questions",
    ),
    "deep.xml": (
        lambda: b"<quiz>" + b"<q>" * 1000 + b"</q>" * 1000 + b"</quiz>",
        "nested more than 32 levels deep",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(PAGE_FILES))
def test_the_import_page_refuses_each_hostile_file_with_a_clear_error(client, owner, bank, name):
    build, message = PAGE_FILES[name]
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        response = client.post(
            reverse("quizzes:bank_import", args=[bank.pk]),
            {"file": SimpleUploadedFile(name, build())},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        errors = [str(e.message) for e in response.context["errors"]]
    assert response.status_code == 200
    assert len(errors) == 1 and message in errors[0], errors
    assert response.context["staged"] is None
    assert Question.objects.count() == 0
    assert not AuditEntry.objects.filter(action="question_import").exists()


@pytest.mark.django_db
def test_the_import_page_refuses_an_oversize_upload_before_reading_it(client, owner, bank):
    client.force_login(owner)
    data = b"x" * (settings.SPREADSHEET_MAX_UPLOAD_BYTES + 1)
    response = client.post(
        reverse("quizzes:bank_import", args=[bank.pk]),
        {"file": SimpleUploadedFile("big.xlsx", data)},
    )
    assert response.status_code == 200 and response.context["form"].errors["file"]
    assert "result" not in response.context and Question.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(PAGE_FILES))
def test_the_command_refuses_each_hostile_file_and_creates_no_bank(owner, tmp_path, name):
    build, message = PAGE_FILES[name]
    path = tmp_path / name
    path.write_bytes(build())
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_questions", str(path), bank="新题库", create=True, user=owner.username,
            language="en", stdout=out,
        )  # fmt: skip
    assert message in out.getvalue()
    assert not Bank.objects.filter(name="新题库").exists()
    assert Question.objects.count() == 0


@pytest.mark.django_db
def test_the_command_refuses_an_oversize_file_before_reading_it(owner, bank, tmp_path, settings):
    settings.SPREADSHEET_MAX_UPLOAD_BYTES = 2000
    path = tmp_path / "big.xlsx"
    path.write_bytes(sheets.xlsx([sheets.good_row()] * 40))
    assert path.stat().st_size > 2000
    with translation.override("en"), pytest.raises(CommandError, match="larger than 0 MB"):
        call_command("import_questions", str(path), bank=bank.name, language="en")
    assert Question.objects.count() == 0


@pytest.mark.django_db
def test_a_dry_run_with_create_creates_no_bank(owner, tmp_path):
    path = tmp_path / "good.xlsx"
    path.write_bytes(sheets.xlsx([sheets.good_row()]))
    out = io.StringIO()
    call_command(
        "import_questions", str(path), bank="试运行", create=True, dry_run=True,
        user=owner.username, language="en", stdout=out,
    )  # fmt: skip
    assert "Dry run: 1 questions would be imported" in out.getvalue()
    assert not Bank.objects.filter(name="试运行").exists()
    assert Question.objects.count() == 0 and AuditEntry.objects.count() == 0

    call_command(
        "import_questions", str(path), bank="试运行", create=True, user=owner.username,
        stdout=io.StringIO(),
    )  # fmt: skip
    assert Question.objects.filter(bank__name="试运行").count() == 1


@pytest.mark.django_db
def test_the_csv_quoting_corpus_imports_every_text_exactly(owner, bank):
    """The issue's case: the sniffer garbled doubled quotes and shifted cells when a
    cell also held a comma."""
    questions = [
        ('买"无糖"的饮料, 是否健康？', '"无糖"', "a,b"),
        ("第一行\n第二行：哪个对？", '""x""', "甲，乙, 丙"),
        ('他说"低脂"，对吗？', "x;y", '"'),
    ]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["题型", "题干", "选项A", "选项B", "答案", "维度", "主题", "出处"])
    for stem, first, second in questions:
        writer.writerow(["单选", stem, first, second, "A", "科学知识", "健康", "教材"])
    for encoding in ("utf-8-sig", "gb18030"):
        Question.objects.all().delete()
        result = import_questions(
            bank=bank, actor=owner, data=out.getvalue().encode(encoding), filename="q.csv"
        )
        assert result.ok, result.report.render()
        stored = sorted(
            (v.stem, v.options[0]["text"], v.options[1]["text"])
            for q in Question.objects.filter(bank=bank)
            for v in q.versions.all()
        )
        assert stored == sorted(questions)
