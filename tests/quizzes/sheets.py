"""Question spreadsheets for the import tests: rows by column name, laid out under
whichever headers a test uses, and the XLSX file they make."""

from __future__ import annotations

import io

import openpyxl

# The full layout of docs/question-format.md (the columns these tests fill).
HEADERS = ["编号", "题型", "题干", "选项A", "选项B", "选项C", "答案", "解析"]
HEADERS += ["维度", "主题", "出处"]
NO_OPTIONS = ("", "", "")


def row(
    qtype: str,
    stem: str,
    options: tuple[str, str, str] = NO_OPTIONS,
    key: str = "",
    explanation: str = "",
    topic: str = "健康",
    *,
    headers: list[str] = HEADERS,
) -> list[str]:
    """One question's row under `headers`; a column the headers lack is left out."""
    cells = {
        "题型": qtype,
        "题干": stem,
        **dict(zip(("选项A", "选项B", "选项C"), options, strict=True)),
        "答案": key,
        "解析": explanation,
        "维度": "科学知识",
        "主题": topic,
        "出处": "教材",
    }
    return [cells.get(header, "") for header in headers]


def good_row(headers: list[str] = HEADERS) -> list[str]:
    """A valid single-choice question."""
    return row(
        "单选",
        "人体最大的器官是？",
        ("皮肤", "心脏", "肝脏"),
        "A",
        "皮肤面积最大。",
        headers=headers,
    )


def bad_rows(headers: list[str] = HEADERS) -> list[list[str]]:
    """A valid row 2, then one error each in rows 3 to 6 (the report tests' file)."""
    return [
        good_row(headers),  # row 2 is valid, and still not imported
        row("单选", "缺少答案的题目", ("甲", "乙", ""), headers=headers),  # row 3: no key
        row("问答", "未知题型的题目", NO_OPTIONS, "A", headers=headers),  # row 4: unknown type
        row("单选", "答案不对应选项", ("甲", "乙", ""), "D", headers=headers),  # row 5: bad key
        row("判断", "", NO_OPTIONS, "对", headers=headers),  # row 6: empty stem
    ]  # fmt: skip


def xlsx(rows: list[list], headers: list[str] = HEADERS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for cells in rows:
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
