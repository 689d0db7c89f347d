"""Reading rows from XLSX (the first sheet) and CSV files (UTF-8 or GB18030; comma,
semicolon or tab), numbered as the spreadsheet numbers them (the header is row 1).
Problems reading a file go to a Report; the rows are empty then."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from .cells import cell_text, unescape_cell
from .i18n import gettext_lazy as _
from .report import Report


def xlsx_rows(data: bytes, report: Report) -> list[tuple[int, tuple]]:
    """The first sheet's rows (cell values as openpyxl gives them), numbered."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        report.error(_("This file is not an XLSX workbook that can be read."))
        return []
    try:
        return list(enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1))
    finally:
        workbook.close()


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without a byte-order mark) or GB18030 text; None if neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def csv_rows(data: bytes, report: Report) -> list[tuple[int, list[str]]]:
    """The rows of a UTF-8 or GB18030 CSV file (comma, semicolon or tab), numbered."""
    text = decode_text(data)
    if text is None:
        report.error(_("This CSV file is neither UTF-8 nor GB18030 text."))
        return []
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(enumerate(csv.reader(io.StringIO(text, newline=""), dialect), start=1))
    except csv.Error as exc:
        report.error(_("This CSV file cannot be read: %(error)s") % {"error": exc})
        return []


def table_rows(data: bytes, filename: str, report: Report) -> list[tuple[int, list[str]]]:
    """The cells of an XLSX (first sheet, when `filename` ends in .xlsx) or CSV file
    as text, stripped and unescaped, numbered as the spreadsheet numbers its rows
    (question import, live-round rosters, registrations). Problems reading the file
    go to `report`; then the list is empty."""
    xlsx = filename.lower().endswith(".xlsx")
    rows = xlsx_rows(data, report) if xlsx else csv_rows(data, report)
    return [(n, [unescape_cell(cell_text(cell).strip()) for cell in row]) for n, row in rows]
