"""Writing a directory file: the blank template, the directory as it is (the export)
and the demo's sample, in the columns accounts.directory.files reads."""

from __future__ import annotations

from accounts.models import School, Unit
from spreadsheets import escape_cell, write_csv, write_xlsx

from .files import COLUMNS, KIND_NAME, SCHOOLS, STAGE_NAME


def headers(kind: str) -> list[str]:
    return [column.header for column in COLUMNS[kind]]


def school_cells(school: School) -> list[str]:
    region = school.region
    if region.district_id == school.district_id:
        region_text = ""  # the district's own
    else:
        region_text = "经开区" if region.district_id is None else region.name_zh
    return [
        school.code or "",
        school.name,
        school.district.name_zh,
        region_text,
        "、".join(STAGE_NAME[value] for value in school.stage_values),
        "" if school.enrolment is None else str(school.enrolment),
    ]


def unit_cells(unit: Unit) -> list[str]:
    region = unit.region
    return [
        unit.name,
        KIND_NAME[unit.kind],
        "经开区" if region.district_id is None else region.name_zh,
    ]


def write(kind: str, rows: list[list[str]], *, fmt: str = "xlsx") -> bytes:
    safe = [[escape_cell(text) for text in row] for row in rows]
    if fmt == "csv":
        return write_csv(headers(kind), safe)
    return write_xlsx(headers(kind), safe, sheet="学校" if kind == SCHOOLS else "单位")
