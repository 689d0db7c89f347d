"""Spreadsheets in and out, for any import or export (questions, live-round rosters,
results, contest registrations): reading rows from XLSX and CSV files within limits
(spreadsheets.limits: a hostile file is refused in bounded time and memory), writing a
workbook or a CSV file, escaping cells against formula injection, and the problem
report that names a file's rows and columns.

A plain library, not a Django app: it uses Django's translation utilities and
openpyxl, and nothing from the apps.
"""

from .cells import FORMULA_START, cell_text, escape_cell, plain_number, unescape_cell
from .i18n import LazyText, gettext_lazy
from .limits import Limits, megabytes
from .reading import (
    csv_rows,
    decode_text,
    delimiter_of,
    read_upload,
    table_rows,
    too_large_message,
    xlsx_rows,
)
from .report import ERROR, LINE, ROW, WARNING, Entry, Report
from .writing import write_csv, write_xlsx

__all__ = [
    "ERROR",
    "FORMULA_START",
    "LINE",
    "ROW",
    "WARNING",
    "Entry",
    "LazyText",
    "Limits",
    "Report",
    "cell_text",
    "csv_rows",
    "decode_text",
    "delimiter_of",
    "escape_cell",
    "gettext_lazy",
    "megabytes",
    "plain_number",
    "read_upload",
    "table_rows",
    "too_large_message",
    "unescape_cell",
    "write_csv",
    "write_xlsx",
    "xlsx_rows",
]
