"""Cell text: formula-injection escaping (OWASP CSV injection) and a cell's value as
text, for every import and export of spreadsheets."""

from __future__ import annotations

from typing import Any

# OWASP CSV injection: characters that make a spreadsheet read a cell as a formula
# (full-width forms too, which some spreadsheet input methods turn into formulas).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def escape_cell(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would run as a formula. Text that
    already starts with apostrophes before such a character gets one more, so that
    unescape_cell() gives back exactly what was written."""
    if text.lstrip("'").startswith(FORMULA_START):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_START):
        return text[1:]
    return text


def plain_number(value: float) -> str:
    """9.8 → "9.8", 5.0 → "5": the shortest text that reads back as the same float."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def cell_text(value: Any) -> str:
    """A cell's value as the text it shows ("" for an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return plain_number(value)
    if isinstance(value, int):
        return str(value)
    return str(value)
