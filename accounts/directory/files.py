"""The directory file: one school (or unit) per row, read through spreadsheets.

Schools (headers in Chinese; the English aliases are accepted):

    学校标识码  optional  national school code, 10 digits, unique in the directory
    学校名称    required  at most 120 characters
    区          required  the administrative district: 海淀区, 海淀, Haidian or 110108
    赛区        optional  the competition region, when it is not the district's own:
                          经开区 (the Development Area); empty means the district's
    学段        required  one or more of 小学 初中 高中 中职 高校 特殊教育, separated by
                          、 , ; / or spaces; 九年一贯制, 完全中学 and 十二年一贯制 stand
                          for their stages
    在校生数    optional  a whole number

Units: 单位名称 (required), 类型 (街道 乡镇 企业 机关 教委 党校 社区 其他; required),
赛区 (required: a district or 经开区).

A row with a code updates the school with that code; a row without one updates the
school of the same name in the same region; otherwise it adds a school. Nothing is
ever deleted by an import. Checking a file changes nothing: `plan_schools` and
`plan_units` return what an import would do and every problem (row and column) in
a spreadsheets.Report; accounts.directory.services writes a plan without errors.
How a file names districts and regions is in accounts.directory.places; the
blank template, the export and the sample are written by accounts.directory.writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from accounts.forms import clean_school_name
from accounts.models import SCHOOL_CODE_PATTERN, School, SchoolStage, Unit
from spreadsheets import Report, table_rows
from spreadsheets import gettext_lazy as _

from .places import DEVELOPMENT_AREA_WORDS, Places, fold

SCHOOLS = "schools"
UNITS = "units"
KINDS = (SCHOOLS, UNITS)
MAX_ENROLMENT = 1_000_000
MAX_NAME = School._meta.get_field("name").max_length
UNIT_MAX_NAME = Unit._meta.get_field("name").max_length


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


SCHOOL_COLUMNS = (
    Column("code", "学校标识码", ("标识码", "code", "school code", "school_code")),
    Column("name", "学校名称", ("学校", "名称", "name", "school"), required=True),
    Column("district", "区", ("所在区", "区县", "district"), required=True),
    Column("region", "赛区", ("region", "competition region")),
    Column("stages", "学段", ("stages", "stage"), required=True),
    Column("enrolment", "在校生数", ("学生数", "enrolment", "enrollment")),
)
UNIT_COLUMNS = (
    Column("name", "单位名称", ("单位", "名称", "name", "unit"), required=True),
    Column("kind", "类型", ("kind", "type"), required=True),
    Column("region", "赛区", ("region", "district", "区"), required=True),
)
COLUMNS = {SCHOOLS: SCHOOL_COLUMNS, UNITS: UNIT_COLUMNS}

STAGE_WORDS: dict[str, tuple[str, ...]] = {
    "小学": (School.Stage.PRIMARY,),
    "初中": (School.Stage.JUNIOR,),
    "高中": (School.Stage.SENIOR,),
    "中职": (School.Stage.VOCATIONAL,),
    "职高": (School.Stage.VOCATIONAL,),
    "高校": (School.Stage.UNIVERSITY,),
    "大学": (School.Stage.UNIVERSITY,),
    "特殊教育": (School.Stage.SPECIAL,),
    "特教": (School.Stage.SPECIAL,),
    "九年一贯制": (School.Stage.PRIMARY, School.Stage.JUNIOR),
    "完全中学": (School.Stage.JUNIOR, School.Stage.SENIOR),
    "完中": (School.Stage.JUNIOR, School.Stage.SENIOR),
    "十二年一贯制": (School.Stage.PRIMARY, School.Stage.JUNIOR, School.Stage.SENIOR),
    **{value: (value,) for value in School.Stage.values},
}
STAGE_NAME = {  # the word a file uses for each stage (template, sample, export)
    School.Stage.PRIMARY: "小学",
    School.Stage.JUNIOR: "初中",
    School.Stage.SENIOR: "高中",
    School.Stage.VOCATIONAL: "中职",
    School.Stage.UNIVERSITY: "高校",
    School.Stage.SPECIAL: "特殊教育",
}
KIND_WORDS: dict[str, str] = {
    "街道": Unit.Kind.STREET_OFFICE,
    "街道办事处": Unit.Kind.STREET_OFFICE,
    "乡镇": Unit.Kind.TOWNSHIP,
    "镇": Unit.Kind.TOWNSHIP,
    "乡": Unit.Kind.TOWNSHIP,
    "企业": Unit.Kind.ENTERPRISE,
    "机关": Unit.Kind.GOVERNMENT,
    "政府机关": Unit.Kind.GOVERNMENT,
    "教委": Unit.Kind.SCHOOL_BOARD,
    "教育委员会": Unit.Kind.SCHOOL_BOARD,
    "党校": Unit.Kind.PARTY_SCHOOL,
    "社区": Unit.Kind.COMMUNITY,
    "其他": Unit.Kind.OTHER,
    **{value: value for value in Unit.Kind.values},
}
KIND_NAME = {value: word for word, value in reversed(list(KIND_WORDS.items()))}
_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_CODE = re.compile(SCHOOL_CODE_PATTERN)


# --- Rows ----------------------------------------------------------------------------------


@dataclass
class PlannedRow:
    """One row of the file and what importing it does: "create", "update" or
    "unchanged" (`target` is the existing school or unit for the last two)."""

    row: int
    values: dict[str, Any]
    action: str = "create"
    target: Any = None
    changes: list[str] = field(default_factory=list)

    @property
    def stage_labels(self) -> list[str]:
        return [str(School.Stage(value).label) for value in self.values.get("stages", [])]


@dataclass
class Plan:
    kind: str
    report: Report
    rows: list[PlannedRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


class _Sheet:
    """The header of a file and the rows under it, as cells by field."""

    def __init__(self, columns: tuple[Column, ...], report: Report) -> None:
        self.columns = {column.field: column for column in columns}
        self.by_name = {
            fold(name): column.field
            for column in columns
            for name in (column.header, *column.aliases)
        }
        self.report = report
        self.index: dict[str, int] = {}
        self.headers: dict[str, str] = {}

    def read_header(self, header: list[str]) -> bool:
        for position, text in enumerate(header):
            if not text:
                continue
            found = self.by_name.get(fold(text))
            letter = get_column_letter(position + 1)
            if found is None:
                self.report.warning(
                    _("Unknown column “%(name)s”; it is ignored.") % {"name": text},
                    row=1,
                    column=letter,
                    header=text,
                )
            elif found in self.index:
                self.report.error(
                    _("Column “%(name)s” appears twice.") % {"name": text},
                    row=1,
                    column=letter,
                    header=text,
                )
            else:
                self.index[found] = position
                self.headers[found] = text
        missing = [
            c.header for c in self.columns.values() if c.required and c.field not in self.index
        ]
        if missing:
            self.report.error(
                _("The header row lacks the column(s) %(names)s.") % {"names": "、".join(missing)},
                row=1,
            )
            return False
        return self.report.ok

    def cell(self, cells: list[str], name: str) -> str:
        position = self.index.get(name)
        return cells[position] if position is not None and position < len(cells) else ""

    def error(self, number: int, name: str, message: Any) -> None:
        position = self.index.get(name)
        self.report.error(
            message,
            row=number,
            column=get_column_letter(position + 1) if position is not None else "",
            header=self.headers.get(name, self.columns[name].header),
        )


def _body(data: bytes, filename: str, sheet: _Sheet) -> list[tuple[int, list[str]]] | None:
    rows = table_rows(data, filename, sheet.report)
    if not sheet.report.ok:
        return None
    rows = [(number, cells) for number, cells in rows if any(cells)]
    if not rows:
        sheet.report.error(_("The file is empty."))
        return None
    (_first, header), *body = rows
    if not sheet.read_header(header):
        return None
    if not body:
        sheet.report.error(_("The file has a header row and nothing under it."))
        return None
    return body


# --- Schools -------------------------------------------------------------------------------


def _stages(text: str) -> tuple[list[str], list[str]]:
    """The stages a cell names, in School.Stage's order, and the words not understood."""
    found: set[str] = set()
    unknown = []
    for word in _SEPARATORS.split(text):
        if not word:
            continue
        stages = STAGE_WORDS.get(word) or STAGE_WORDS.get(word.casefold())
        if stages is None:
            unknown.append(word)
        else:
            found.update(stages)
    return [value for value in School.Stage.values if value in found], unknown


def _read_school(sheet: _Sheet, number: int, cells: list[str], places: Places) -> dict | None:
    ok = True

    def bad(name: str, message: Any) -> None:
        nonlocal ok
        ok = False
        sheet.error(number, name, message)

    code = sheet.cell(cells, "code") or None
    if code is not None and not _CODE.match(code):
        bad("code", _("“%(value)s” is not a school code: it has 10 digits.") % {"value": code})
    raw_name = sheet.cell(cells, "name")
    name = clean_school_name(raw_name)
    if not name:
        bad("name", _("The school's name is empty."))
    elif len(" ".join(raw_name.split())) > MAX_NAME:
        bad("name", _("A name has at most %(n)s characters.") % {"n": MAX_NAME})
    district_text = sheet.cell(cells, "district")
    district = places.district(district_text) if district_text else None
    if not district_text:
        bad("district", _("The district is empty."))
    elif district is None and fold(district_text) in map(fold, DEVELOPMENT_AREA_WORDS):
        bad(
            "district",
            _(
                "The Development Area is no district: put the district the school stands in "
                "(such as 大兴区) here and 经开区 under 赛区."
            ),
        )
    elif district is None:
        bad("district", _("“%(value)s” is not a Beijing district.") % {"value": district_text})
    region_text = sheet.cell(cells, "region")
    region = places.region(region_text) if region_text else None
    if region_text and region is None:
        bad("region", _("“%(value)s” is not a competition region.") % {"value": region_text})
    elif region is None and district is not None:
        region = places.region_of[district.pk]
    elif region is not None and region.district_id not in (None, getattr(district, "pk", None)):
        bad("region", _("A school competes for its own district or for the Development Area."))
    stages, unknown = _stages(sheet.cell(cells, "stages"))
    if unknown:
        bad(
            "stages",
            _("Unknown stage “%(value)s”; use %(choices)s.")
            % {"value": "、".join(unknown), "choices": "、".join(STAGE_NAME.values())},
        )
    elif not stages:
        bad("stages", _("Name at least one stage, such as 小学 or 初中."))
    enrolment_text = sheet.cell(cells, "enrolment")
    enrolment = None
    if enrolment_text:
        try:
            enrolment = int(enrolment_text)
        except ValueError:
            bad("enrolment", _("“%(value)s” is not a whole number.") % {"value": enrolment_text})
        else:
            if not 0 <= enrolment <= MAX_ENROLMENT:
                bad(
                    "enrolment",
                    _("The enrolment is between 0 and %(n)s.") % {"n": MAX_ENROLMENT},
                )
    if not ok:
        return None
    return {
        "code": code,
        "name": name,
        "district": district,
        "region": region,
        "stages": stages,
        "enrolment": enrolment,
    }


def plan_schools(data: bytes, filename: str) -> Plan:
    """What importing this school file would do, and its problems; writes nothing."""
    report = Report(filename)
    plan = Plan(SCHOOLS, report)
    sheet = _Sheet(SCHOOL_COLUMNS, report)
    body = _body(data, filename, sheet)
    if body is None:
        return plan
    places = Places()
    schools = list(School.objects.all())
    stages_of: dict[int, set[str]] = {}
    for school_id, stage in SchoolStage.objects.values_list("school_id", "stage"):
        stages_of.setdefault(school_id, set()).add(stage)
    by_code = {s.code: s for s in schools if s.code}
    by_name = {(s.region_id, s.name): s for s in schools}
    codes_seen: dict[str, int] = {}
    names_seen: dict[tuple[int, str], int] = {}
    for number, cells in body:
        values = _read_school(sheet, number, cells, places)
        if values is None:
            continue
        code, key = values["code"], (values["region"].pk, values["name"])
        if code and code in codes_seen:
            sheet.error(
                number,
                "code",
                _("This code is also given at row %(row)s.") % {"row": codes_seen[code]},
            )
            continue
        if key in names_seen:
            sheet.error(
                number,
                "name",
                _("This school is also named at row %(row)s, in the same region.")
                % {"row": names_seen[key]},
            )
            continue
        if code:
            codes_seen[code] = number
        names_seen[key] = number
        target = by_code.get(code) if code else None
        same_name = by_name.get(key)
        if target is None and same_name is not None:
            if code and same_name.code:
                sheet.error(
                    number,
                    "code",
                    _("“%(name)s” is in the directory with the code %(code)s.")
                    % {"name": same_name.name, "code": same_name.code},
                )
                continue
            target = same_name
        elif target is not None and same_name is not None and same_name.pk != target.pk:
            sheet.error(
                number,
                "name",
                _(
                    "Another school of this region is named so (code %(code)s): merge the "
                    "two on the directory page first."
                )
                % {"code": same_name.code or "—"},
            )
            continue
        plan.rows.append(_school_change(number, values, target, stages_of))
    return plan


def _school_change(
    number: int, values: dict, target: School | None, stages_of: dict[int, set[str]]
) -> PlannedRow:
    row = PlannedRow(number, values)
    if target is None:
        return row
    row.target = target
    if values["code"] is None:
        values["code"] = target.code  # a row without a code keeps the school's
    if values["enrolment"] is None:
        values["enrolment"] = target.enrolment  # and an empty enrolment keeps it too
    current = {
        "code": target.code,
        "name": target.name,
        "district": target.district_id,
        "region": target.region_id,
        "stages": [v for v in School.Stage.values if v in stages_of.get(target.pk, ())],
        "enrolment": target.enrolment,
    }
    new = {**values, "district": values["district"].pk, "region": values["region"].pk}
    row.changes = [name for name in current if current[name] != new[name]]
    row.action = "update" if row.changes else "unchanged"
    return row


# --- Units ---------------------------------------------------------------------------------


def plan_units(data: bytes, filename: str) -> Plan:
    """What importing this unit file would do, and its problems; writes nothing."""
    report = Report(filename)
    plan = Plan(UNITS, report)
    sheet = _Sheet(UNIT_COLUMNS, report)
    body = _body(data, filename, sheet)
    if body is None:
        return plan
    places = Places()
    existing = {(u.region_id, u.name): u for u in Unit.objects.all()}
    seen: dict[tuple[int, str], int] = {}
    for number, cells in body:
        ok = True
        raw_name = sheet.cell(cells, "name")
        name = clean_school_name(raw_name)
        if not name:
            ok = False
            sheet.error(number, "name", _("The unit's name is empty."))
        elif len(" ".join(raw_name.split())) > UNIT_MAX_NAME:
            ok = False
            sheet.error(
                number, "name", _("A name has at most %(n)s characters.") % {"n": UNIT_MAX_NAME}
            )
        kind_text = sheet.cell(cells, "kind")
        kind = KIND_WORDS.get(kind_text) or KIND_WORDS.get(kind_text.casefold())
        if kind is None:
            ok = False
            sheet.error(
                number,
                "kind",
                _("Unknown kind “%(value)s”; use %(choices)s.")
                % {"value": kind_text, "choices": "、".join(dict.fromkeys(KIND_NAME.values()))},
            )
        region_text = sheet.cell(cells, "region")
        region = places.region(region_text) if region_text else None
        if region is None:
            ok = False
            sheet.error(
                number,
                "region",
                _("“%(value)s” is not a competition region.") % {"value": region_text}
                if region_text
                else _("The region is empty."),
            )
        if not ok:
            continue
        key = (region.pk, name)
        if key in seen:
            sheet.error(
                number,
                "name",
                _("This unit is also named at row %(row)s, in the same region.")
                % {"row": seen[key]},
            )
            continue
        seen[key] = number
        row = PlannedRow(number, {"name": name, "kind": kind, "region": region})
        target = existing.get(key)
        if target is not None:
            row.target = target
            row.changes = ["kind"] if target.kind != kind else []
            row.action = "update" if row.changes else "unchanged"
        plan.rows.append(row)
    return plan


def plan(kind: str, data: bytes, filename: str) -> Plan:
    return plan_schools(data, filename) if kind == SCHOOLS else plan_units(data, filename)
