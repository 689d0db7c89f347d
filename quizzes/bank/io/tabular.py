"""XLSX and CSV: the template of docs/question-format.md, one question per row.

Headers are the Chinese names of the template (English aliases are accepted); values
may be the template's Chinese labels or the keys. Cells a spreadsheet would run as a
formula are written with a leading apostrophe, which the reader takes off again. The
spreadsheet handling that is not about questions (reading rows, writing a workbook,
escaping cells, the problem report) is the spreadsheets package's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

import spreadsheets
from quizzes.bank.io.common import (
    LETTERS,
    SourceItem,
    dealias,
    dealias_audience,
    fold,
    label,
    option_letters,
)
from quizzes.models import CHOICE_TYPES, QuestionType, QuestionVersion
from spreadsheets import (
    Report,
    cell_text,
    csv_rows,
    escape_cell,
    plain_number,
    unescape_cell,
    xlsx_rows,
)
from spreadsheets import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    field: str  # a clean_question field, "uid", "option:N", "tolerance" or "unit"
    header: str  # the template's (Chinese) header
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("uid", "编号", ("uid", "id", "编码")),
    Column("type", "题型", ("type", "类型", "题目类型")),
    Column("stem", "题干", ("stem", "question", "题目")),
    *(
        Column(f"option:{i}", f"选项{letter}", (f"option{letter}", f"option_{letter}", letter))
        for i, letter in enumerate(LETTERS)
    ),
    Column("key", "答案", ("key", "answer", "正确答案")),
    Column("tolerance", "容差", ("tolerance", "误差")),
    Column("unit", "单位", ("unit",)),
    Column("explanation", "解析", ("explanation", "答案解析")),
    Column("source", "出处", ("source", "reference", "来源", "参考")),
    Column("difficulty", "难度", ("difficulty",)),
    Column("dimension", "维度", ("dimension", "素质维度")),
    Column("benchmark", "基准", ("benchmark", "素质基准")),
    Column("topic", "主题", ("topic",)),
    Column("audience", "适用人群", ("audience", "人群")),
    Column("grade_band", "学段", ("grade_band", "gradeband", "grade band")),
    Column("collection", "专项", ("collection", "专题")),
    Column("stem_en", "英文题干", ("stem_en", "english stem")),
    Column("explanation_en", "英文解析", ("explanation_en", "english explanation")),
)
HEADER_OF = {column.field: column.header for column in COLUMNS}
REQUIRED = ("type", "stem", "key")
_BY_NAME = {
    fold(name): column.field for column in COLUMNS for name in (column.header, *column.aliases)
}

# --- Reading ---------------------------------------------------------------------------


def read_xlsx(data: bytes, filename: str, report: Report) -> list[SourceItem]:
    rows = xlsx_rows(data, report)
    return _read_rows(iter(rows), report) if rows else []


def read_csv(data: bytes, filename: str, report: Report) -> list[SourceItem]:
    rows = csv_rows(data, report)
    return _read_rows(iter(rows), report) if rows else []


def _header_fields(header: tuple, report: Report) -> dict[str, int] | None:
    fields: dict[str, int] = {}
    for index, name in enumerate(header):
        text = cell_text(name).strip()
        if not text:
            continue
        found = _BY_NAME.get(fold(text))
        letter = get_column_letter(index + 1)
        if found is None:
            report.warning(
                _("Unknown column “%(name)s”; it is ignored.") % {"name": text},
                row=1,
                column=letter,
                header=text,
            )
        elif found in fields:
            report.error(
                _("Column “%(name)s” appears twice.") % {"name": text},
                row=1,
                column=letter,
                header=text,
            )
        else:
            fields[found] = index
    missing = [HEADER_OF[name] for name in REQUIRED if name not in fields]
    if missing:
        report.error(
            _("The header row lacks the column(s) %(names)s.") % {"names": "、".join(missing)},
            row=1,
        )
        return None
    return fields


def _read_rows(rows: Iterator, report: Report) -> list[SourceItem]:
    """`rows` is one iterator: the header is taken from it, then the body."""
    header_row = None
    for number, row in rows:
        if any(cell_text(v).strip() for v in row):
            header_row = (number, row)
            break
    if header_row is None:
        report.error(_("The file is empty."))
        return []
    _header_number, header = header_row
    fields = _header_fields(tuple(header), report)
    if fields is None:
        return []
    headers = {index: cell_text(header[index]).strip() for index in fields.values()}

    def locate_in(field: str, option: int | None) -> tuple[str, str]:
        if field == "options":
            field = f"option:{option or 0}"
        index = fields.get(field)
        if index is None:
            return "", HEADER_OF.get(field, field)
        return get_column_letter(index + 1), headers[index]

    items = []
    for number, row in rows:
        cells = {}
        formula_fields = []
        for name, index in fields.items():
            value = row[index] if index < len(row) else None
            text = cell_text(value)
            if isinstance(value, str) and text.startswith("="):
                formula_fields.append(name)  # a formula, or text that starts with "=": kept
            cells[name] = unescape_cell(text)
        if not any(v.strip() for v in cells.values()):
            continue
        item = _item(number, cells, locate_in)
        for name in formula_fields:
            _field, _sep, option = name.partition(":")
            item.warn(
                "options" if option else name,
                _("This cell starts with “=” (a formula?): it is kept as text."),
                int(option) if option else None,
            )
        items.append(item)
    return items


def _item(number: int, cells: dict[str, str], locate) -> SourceItem:
    options = [cells.get(f"option:{i}", "") for i in range(len(LETTERS))]
    while options and not options[-1].strip():
        options.pop()
    raw = {
        "type": dealias("type", cells.get("type", "")),
        "stem": cells.get("stem", ""),
        "options": options,
        "key": cells.get("key", ""),
        "tolerance": cells.get("tolerance", ""),
        "unit": cells.get("unit", ""),
        "explanation": cells.get("explanation", ""),
        "source": cells.get("source", ""),
        "difficulty": dealias("difficulty", cells.get("difficulty", "")),
        "dimension": dealias("dimension", cells.get("dimension", "")),
        "benchmark": cells.get("benchmark", "").strip(),
        "topic": dealias("topic", cells.get("topic", "")),
        "audience": dealias_audience(cells.get("audience", "")),
        "grade_band": dealias("grade_band", cells.get("grade_band", "")),
        "collection": cells.get("collection", ""),
        "stem_en": cells.get("stem_en", ""),
        "explanation_en": cells.get("explanation_en", ""),
    }
    item = SourceItem(row=number, raw=raw, locate=locate, uid=cells.get("uid", "").strip())
    for index, text in enumerate(options):
        if not text.strip():
            item.error(
                "options",
                _("Option %(letter)s is empty but a later option is filled in.")
                % {"letter": LETTERS[index]},
                index,
            )
    return item


# --- Writing ---------------------------------------------------------------------------


def row_of(uid: str, version: QuestionVersion) -> list[str] | None:
    """A version as a template row (None if it has more options than the template)."""
    if len(version.options) > len(LETTERS):
        return None
    key = version.key
    tolerance = unit = ""
    if version.type in CHOICE_TYPES:
        answer = option_letters(
            version, key["order"] if version.type == QuestionType.ORDERING else key["options"]
        )
    elif version.type == QuestionType.TRUE_FALSE:
        answer = "对" if key["value"] else "错"
    elif version.type == QuestionType.FILL:
        answer = "|".join(key["accepted"])
    else:
        answer = plain_number(key["value"])
        tolerance = plain_number(key.get("tolerance", 0))
        unit = key.get("unit", "")
    options = [o["text"] for o in version.options]
    options += [""] * (len(LETTERS) - len(options))
    values = {
        "uid": uid,
        "type": label("type", version.type),
        "stem": version.stem,
        "key": answer,
        "tolerance": tolerance,
        "unit": unit,
        "explanation": version.explanation,
        "source": version.source,
        "difficulty": label("difficulty", version.difficulty),
        "dimension": label("dimension", version.dimension),
        "benchmark": "" if version.benchmark is None else str(version.benchmark),
        "topic": label("topic", version.topic),
        "audience": ",".join(label("audience", a) for a in version.audience),
        "grade_band": label("grade_band", version.grade_band) if version.grade_band else "",
        "collection": version.collection,
        "stem_en": version.stem_en,
        "explanation_en": version.explanation_en,
        **{f"option:{i}": text for i, text in enumerate(options)},
    }
    return [escape_cell(values[column.field]) for column in COLUMNS]


def headers() -> list[str]:
    return [column.header for column in COLUMNS]


def write_xlsx(rows: list[list[str]]) -> bytes:
    return spreadsheets.write_xlsx(headers(), rows, sheet="题目")


def write_csv(rows: list[list[str]]) -> bytes:
    return spreadsheets.write_csv(headers(), rows)


def template_xlsx() -> bytes:
    """An empty template: the header row only (the organizer page offers it)."""
    return write_xlsx([])
