"""Writing a table as an XLSX workbook or a CSV file. Every cell is written as text,
never as a formula; escape cells a spreadsheet would run as formulas
(spreadsheets.cells.escape_cell) where the text comes from users."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell


def write_xlsx(header: Sequence[str], rows: Sequence[Sequence[str]], *, sheet: str) -> bytes:
    """A one-sheet workbook named `sheet`: the header row, then the rows."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    for row in [header, *rows]:
        cells = []
        for text in row:
            cell = WriteOnlyCell(worksheet, value=text)
            cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        worksheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark (Excel then opens Chinese text correctly)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
