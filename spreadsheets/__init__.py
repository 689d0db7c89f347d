"""Spreadsheets in and out, for any import or export (questions, live-round rosters,
results, contest registrations): reading rows from XLSX and CSV files, writing a
workbook or a CSV file, escaping cells against formula injection, and the problem
report that names a file's rows and columns.

A plain library, not a Django app: it uses Django's translation utilities and
openpyxl, and nothing from the apps.
"""

from .cells import FORMULA_START, cell_text, escape_cell, plain_number, unescape_cell
from .i18n import LazyText, gettext_lazy
from .reading import csv_rows, decode_text, table_rows, xlsx_rows
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
    "Report",
    "cell_text",
    "csv_rows",
    "decode_text",
    "escape_cell",
    "gettext_lazy",
    "plain_number",
    "table_rows",
    "unescape_cell",
    "write_csv",
    "write_xlsx",
    "xlsx_rows",
]
