"""Reading rows from XLSX (the first sheet) and CSV files, numbered as the spreadsheet
numbers them (the header is row 1), within spreadsheets.limits. Problems reading a file
go to a Report; the rows are empty then, so nothing of a refused file is used.

XLSX: before openpyxl sees a file, the archive is checked in one streaming pass
(`_check_archive`): entries and their declared sizes, then every entry unpacked in
64 KiB chunks with the bytes counted (a declared size can lie), and every XML part fed
to expat as it comes, counting elements and depth and refusing a DOCTYPE. Only then
does openpyxl read the first sheet, in read-only mode (it streams the sheet's rows),
asked for at most the row and column limits plus one, so a lying `<dimension>` cannot
make it pad rows to 16,384 columns or a million rows.

CSV, one fixed dialect (RFC 4180): fields separated by commas (or, when the header row
has more of them outside quotes, semicolons or tabs), quoted with double quotes, a
double quote inside a quoted field doubled (`"买""无糖""的"` reads `买"无糖"的`), a
quoted field may hold commas and line breaks; a quote that does not close its field
where a separator or the end of the line follows is an error with its line, never a
guess. Encodings: UTF-8 with
or without a byte-order mark, UTF-16 with a byte-order mark (Excel's "Unicode text"), or
GB18030 (what Chinese Excel writes), each decoded strictly in that order.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Iterable
from typing import Any
from xml.parsers import expat

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .cells import cell_text, unescape_cell
from .i18n import gettext_lazy as _
from .limits import Limits, megabytes
from .report import Report

CHUNK = 64 * 1024
MAX_CELL_REPORTS = 20  # oversized cells named before reading stops
DELIMITERS = (",", ";", "\t")


class _RefusedError(Exception):
    def __init__(self, message: Any, **where: Any) -> None:
        super().__init__(str(message))
        self.message = message
        self.where = where  # row and column, for report.error()


def too_large_message(limits: Limits | None = None) -> Any:
    limits = limits or Limits.from_settings()
    return _("The file is larger than %(mb)s MB; split it into smaller files.") % {
        "mb": megabytes(limits.max_upload_bytes)
    }


def read_upload(stream: Any, limits: Limits | None = None) -> bytes | None:
    """At most SPREADSHEET_MAX_UPLOAD_BYTES of a file object (an upload, an open
    file); None when it holds more, read no further than one byte past the limit."""
    limits = limits or Limits.from_settings()
    data = stream.read(limits.max_upload_bytes + 1)
    return None if len(data) > limits.max_upload_bytes else data


def _size_ok(data: bytes, report: Report, limits: Limits) -> bool:
    if len(data) > limits.max_upload_bytes:
        report.error(too_large_message(limits))
        return False
    if not data.strip():
        report.error(_("The file is empty."))
        return False
    return True


# --- XLSX ---------------------------------------------------------------------------


def _record_tag(part: str) -> str | None:
    """The element openpyxl clears as it streams a part (a sheet's rows, the shared
    strings' items); None for a part it reads whole."""
    part = part.lower()
    if part.startswith("xl/worksheets/") and part.count("/") == 2:
        return "row"
    if part.endswith("sharedstrings.xml"):
        return "si"
    return None


def _xml_guard(limits: Limits, counted: dict[str, int], record: str | None) -> Any:
    """An expat parser that counts elements (in `counted`: all, and those outside a
    `record` element) and depth, and refuses a DOCTYPE or entity declaration."""
    parser = expat.ParserCreate()
    depth = [0, 0]  # current depth; depth of the record being read (0: none)
    # In a sheet: the row's number, the next cell's column, the current cell's column.
    place = {"row": 0, "next": 1, "cell": 0}

    def in_sheet(name: str, attrs: Any) -> None:
        """openpyxl drops a cell beyond the columns it is asked for: refuse a value
        there instead of losing it."""
        if name == "row":
            place["row"] = _int(attrs.get("r"), place["row"] + 1)
            place["next"] = 1
        elif name == "c":
            column = _column(attrs.get("r")) or place["next"]
            place["next"] = column + 1
            place["cell"] = column
        elif name in ("v", "is", "f") and place["cell"] > limits.max_columns:
            raise _RefusedError(
                _("The row has a value beyond column %(letter)s (%(n)s columns at most).")
                % {"letter": get_column_letter(limits.max_columns), "n": limits.max_columns},
                row=place["row"],
                column=get_column_letter(min(place["cell"], 16384)),
            )

    def refuse(*_args: Any) -> None:
        raise _RefusedError(_("The workbook's XML declares a DOCTYPE or entities; it is refused."))

    def start(name: str, _attrs: Any) -> None:
        counted["all"] += 1
        depth[0] += 1
        local = name.rpartition(":")[2]
        if not depth[1]:
            if record is not None and local == record:
                depth[1] = depth[0]
            else:
                counted["loose"] += 1
        if record == "row" and depth[1] and depth[0] - depth[1] <= 2:
            in_sheet(local, _attrs)
        if counted["all"] > limits.max_xml_elements:
            raise _RefusedError(
                _("The workbook holds more than %(n)s XML elements; split it into smaller files.")
                % {"n": limits.max_xml_elements}
            )
        if counted["loose"] > limits.max_xml_loose_elements:
            raise _RefusedError(
                _(
                    "The workbook holds more than %(n)s XML elements outside its rows and "
                    "texts (styles, formatting); it is refused."
                )
                % {"n": limits.max_xml_loose_elements}
            )
        if depth[0] > limits.max_xml_depth:
            raise _RefusedError(
                _("The workbook's XML is nested more than %(n)s levels deep; it is refused.")
                % {"n": limits.max_xml_depth}
            )

    def end(_name: str) -> None:
        if depth[0] == depth[1]:
            depth[1] = 0
        depth[0] -= 1

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return parser


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _column(reference: str | None) -> int:
    """ "AB12" → 28; 0 when there is no reference or it is not one."""
    letters = (reference or "").rstrip("0123456789").upper()
    if not letters or len(letters) > 3 or not letters.isalpha() or not letters.isascii():
        return 0
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _not_xlsx(data: bytes) -> Any:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return _(
            "This file is a web page (HTML), not an XLSX workbook; save it from Excel as .xlsx."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _("This is an old Excel file (.xls); save it from Excel as .xlsx.")
    return _("This file is not an XLSX workbook that can be read.")


def _check_archive(data: bytes, limits: Limits) -> None:
    """Raise _RefusedError with the reason when the archive exceeds a limit or is damaged."""
    unpacked_limit = _(
        "Unpacked, the workbook would be larger than %(mb)s MB (a “zip bomb”?); it is refused."
    ) % {"mb": megabytes(limits.max_unpacked_bytes)}
    damaged = _("The workbook is damaged or truncated; save it again from Excel.")
    if not data.startswith(b"PK\x03\x04"):
        raise _RefusedError(_not_xlsx(data))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise _RefusedError(damaged) from exc
    if len(entries) > limits.max_zip_entries:
        raise _RefusedError(
            _("The workbook's archive holds more than %(n)s files; it is refused.")
            % {"n": limits.max_zip_entries}
        )
    if sum(entry.file_size for entry in entries) > limits.max_unpacked_bytes:
        raise _RefusedError(unpacked_limit)
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise _RefusedError(
                _("The workbook is encrypted (password protected); save it without.")
            )
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _RefusedError(damaged)
    unpacked = 0
    elements = {"all": 0, "loose": 0}
    try:
        for entry in entries:
            xml = entry.filename.lower().endswith((".xml", ".rels"))
            record = _record_tag(entry.filename)
            parser = _xml_guard(limits, elements, record) if xml else None
            with archive.open(entry) as stream:
                while chunk := stream.read(CHUNK):
                    unpacked += len(chunk)
                    if unpacked > limits.max_unpacked_bytes:
                        raise _RefusedError(unpacked_limit)
                    if parser is not None:
                        parser.Parse(chunk, False)
            if parser is not None:
                parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _RefusedError(
            _("The workbook's part %(part)s is not well-formed XML: %(error)s")
            % {"part": entry.filename, "error": exc}
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise _RefusedError(damaged) from exc
    except NotImplementedError as exc:
        raise _RefusedError(damaged) from exc


def _cell_too_long(report: Report, limits: Limits, number: int, index: int) -> None:
    report.error(
        _("A cell holds more than %(n)s characters.") % {"n": limits.max_cell_chars},
        row=number,
        column=get_column_letter(index + 1),
    )


def _check_row(number: int, row: Any, report: Report, limits: Limits) -> tuple[Any, bool]:
    """(the row within the limits, trailing empty cells dropped, or None after an
    error in `report`; whether reading must stop)."""
    if number > limits.max_rows:
        report.error(
            _("The file has more than %(n)s rows; split it into smaller files.")
            % {"n": limits.max_rows},
            row=number,
        )
        return None, True
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    if end > limits.max_columns:
        report.error(
            _("The row has a value beyond column %(letter)s (%(n)s columns at most).")
            % {"letter": get_column_letter(limits.max_columns), "n": limits.max_columns},
            row=number,
            column=get_column_letter(end),
        )
        return None, True
    ok = True
    for index in range(end):
        value = row[index]
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            _cell_too_long(report, limits, number, index)
            ok = False
    if ok:
        return row[:end], False
    return None, len(report.errors) >= MAX_CELL_REPORTS


def _collect(rows: Iterable[tuple[int, Any]], report: Report, limits: Limits) -> list:
    """Rows checked one by one as they stream; reading stops at a row or column limit
    or after MAX_CELL_REPORTS oversized cells. Empty when anything was wrong."""
    kept: list = []
    for number, row in rows:
        checked, stop = _check_row(number, row, report, limits)
        if checked is not None:
            kept.append((number, checked))
        if stop:
            break
    return kept if report.ok else []


def xlsx_rows(
    data: bytes, report: Report, *, limits: Limits | None = None
) -> list[tuple[int, tuple]]:
    """The first sheet's rows (cell values as openpyxl gives them, trailing empty cells
    dropped), numbered."""
    limits = limits or Limits.from_settings()
    if not _size_ok(data, report, limits):
        return []
    try:
        _check_archive(data, limits)
    except _RefusedError as refused:
        report.error(refused.message, **refused.where)
        return []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        report.error(_("This file is not an XLSX workbook that can be read."))
        return []
    try:
        if not workbook.worksheets:
            report.error(_("The workbook has no worksheet."))
            return []
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(
            min_row=1,
            max_row=limits.max_rows + 1,
            max_col=limits.max_columns + 1,
            values_only=True,
        )
        return _collect(enumerate(rows, start=1), report, limits)
    except Exception:  # a sheet that passed the archive check and still breaks openpyxl
        report.error(_("This file is not an XLSX workbook that can be read."))
        return []
    finally:
        workbook.close()


# --- CSV ----------------------------------------------------------------------------


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, or
    GB18030 text, each decoded strictly; None if none of them."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def delimiter_of(text: str) -> str:
    """The separator: the one of comma, semicolon and tab that the first non-blank line
    holds most often outside quotes; a comma when it holds none (one column)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    started = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            if started:
                break
            continue
        elif not quoted and char in counts:
            counts[char] += 1
        if not char.isspace():
            started = True
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def csv_rows(
    data: bytes, report: Report, *, limits: Limits | None = None
) -> list[tuple[int, list[str]]]:
    """The rows of a CSV file in the fixed dialect of this module's docstring, numbered."""
    limits = limits or Limits.from_settings()
    if not _size_ok(data, report, limits):
        return []
    if data.startswith(b"PK\x03\x04"):
        report.error(_("This is an XLSX workbook, not a CSV file; name it .xlsx."))
        return []
    text = decode_text(data)
    if text is None:
        report.error(_("This CSV file is neither UTF-8 nor GB18030 text."))
        return []
    if "\x00" in text:
        report.error(
            _("This file holds NUL characters: it is not CSV text; save it from Excel as CSV.")
        )
        return []
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter_of(text),
        quotechar='"',
        doublequote=True,
        escapechar=None,
        skipinitialspace=False,
        strict=True,
        quoting=csv.QUOTE_MINIMAL,
    )

    def numbered():
        number = 0
        try:
            for number, row in enumerate(reader, start=1):
                yield number, row
        except csv.Error as exc:
            report.error(
                _("This CSV file cannot be read at line %(line)s: %(error)s")
                % {"line": reader.line_num, "error": exc},
                row=number + 1,
            )

    rows = _collect(numbered(), report, limits)
    return rows if report.ok else []


# --- Either -------------------------------------------------------------------------


def table_rows(
    data: bytes, filename: str, report: Report, *, limits: Limits | None = None
) -> list[tuple[int, list[str]]]:
    """The cells of an XLSX (first sheet, when `filename` ends in .xlsx) or CSV file
    as text, stripped and unescaped, numbered as the spreadsheet numbers its rows
    (question import, live-round rosters, registrations, the school directory), within
    spreadsheets.limits. Problems reading the file go to `report`; then the list is
    empty."""
    xlsx = filename.lower().endswith(".xlsx")
    rows = xlsx_rows(data, report, limits=limits) if xlsx else csv_rows(data, report, limits=limits)
    return [(n, [unescape_cell(cell_text(cell).strip()) for cell in row]) for n, row in rows]
