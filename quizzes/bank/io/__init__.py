"""Question files in and out of a bank: XLSX and CSV (the template of
docs/question-format.md), Moodle XML and GIFT.

    result = import_questions(bank=…, actor=…, data=…, filename=…, dry_run=True)
    result.report.lines()   # every problem with file, row/line, column, message
    export_bank(bank=…, fmt="xlsx").data

The organizer pages and the management commands call these functions only.
"""

from quizzes.bank.io.exporter import ExportResult, export_bank, export_versions
from quizzes.bank.io.importer import (
    FORMATS,
    ImportedItem,
    ImportResult,
    detect_format,
    import_questions,
)
from quizzes.bank.io.tabular import template_xlsx
from spreadsheets.report import Entry, Report

__all__ = [
    "FORMATS",
    "Entry",
    "ExportResult",
    "ImportResult",
    "ImportedItem",
    "Report",
    "detect_format",
    "export_bank",
    "export_versions",
    "import_questions",
    "template_xlsx",
]
