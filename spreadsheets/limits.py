"""The limits every spreadsheet read is held to (question imports, rosters, the school
directory), so that a hostile file costs bounded time and memory and is refused with a
clear message instead.

Each limit is a Django setting (config/settings.py, README's environment variables)
with the default below; `Limits.from_settings()` reads them when a file is read, so a
test may override them with `settings`.

What they bound (docs/question-format.md, "Limits of a file"):

- the file as uploaded (`SPREADSHEET_MAX_UPLOAD_BYTES`): the page and the command
  refuse a larger file before reading it;
- an XLSX file's archive: at most `SPREADSHEET_MAX_ZIP_ENTRIES` entries, whose sizes
  when unpacked add up to at most `SPREADSHEET_MAX_UNPACKED_BYTES`, both as declared
  in the archive and as counted while unpacking (declared sizes can lie);
- its XML: at most `SPREADSHEET_MAX_XML_ELEMENTS` elements in all, of which at most
  `SPREADSHEET_MAX_XML_LOOSE_ELEMENTS` outside a sheet's rows and the shared strings'
  items (the elements openpyxl keeps in memory until the part is read: styles,
  workbook, relationships, a sheet's other parts), nested at most
  `SPREADSHEET_MAX_XML_DEPTH` deep, no DOCTYPE (no entities);
- the table, XLSX and CSV alike: at most `SPREADSHEET_MAX_ROWS` rows (the header and
  blank rows count), `SPREADSHEET_MAX_COLUMNS` columns, `SPREADSHEET_MAX_CELL_CHARS`
  characters in a cell.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

DEFAULTS = {
    "max_upload_bytes": 5 * 1024 * 1024,
    "max_unpacked_bytes": 50 * 1024 * 1024,
    "max_zip_entries": 100,
    "max_xml_elements": 1_500_000,
    "max_xml_loose_elements": 100_000,
    "max_xml_depth": 32,
    "max_rows": 12_000,
    "max_columns": 64,
    "max_cell_chars": 2_000,
}


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = DEFAULTS["max_upload_bytes"]
    max_unpacked_bytes: int = DEFAULTS["max_unpacked_bytes"]
    max_zip_entries: int = DEFAULTS["max_zip_entries"]
    max_xml_elements: int = DEFAULTS["max_xml_elements"]
    max_xml_loose_elements: int = DEFAULTS["max_xml_loose_elements"]
    max_xml_depth: int = DEFAULTS["max_xml_depth"]
    max_rows: int = DEFAULTS["max_rows"]
    max_columns: int = DEFAULTS["max_columns"]
    max_cell_chars: int = DEFAULTS["max_cell_chars"]

    @classmethod
    def from_settings(cls) -> Limits:
        """The limits as configured: setting SPREADSHEET_<NAME> for each field."""
        from django.conf import settings

        return cls(
            **{
                f.name: int(getattr(settings, "SPREADSHEET_" + f.name.upper(), DEFAULTS[f.name]))
                for f in fields(cls)
            }
        )


def megabytes(count: int) -> str:
    """5242880 → "5", 1572864 → "1.5": a byte limit as the pages state it, in MB."""
    value = count / (1024 * 1024)
    return f"{value:.1f}".removesuffix(".0")
