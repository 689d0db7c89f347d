"""Rosters for roster-mode live rounds: a spreadsheet of students (name, school, and
team for team rounds) becomes join slips with one token each. The whole file is taken
or none of it, with every problem named by row and column (spreadsheets.Report)."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from accounts.models import School
from spreadsheets import Report, table_rows
from spreadsheets import gettext_lazy as _

from .forms import MAX_TEAM_NAME, MAX_TEAMS
from .nicknames import MAX_LENGTH

COLUMNS = {
    "name": ("姓名", "name", "nickname", "昵称"),
    "school": ("学校", "school"),
    "team": ("队伍", "team", "队名"),
}
REQUIRED = ("name", "school")
MAX_NAME = MAX_LENGTH  # the name becomes the player's nickname


@dataclass(frozen=True)
class RosterRow:
    row: int
    name: str
    school: School
    team: str


def read_roster(data: bytes, filename: str, *, teams: bool) -> tuple[list[RosterRow], Report]:
    """Parse and check a roster file. Schools are matched by their exact name (or id)."""
    report = Report(filename)
    rows = table_rows(data, filename, report)
    if not rows:
        if report.ok:
            report.error(_("The file is empty."))
        return [], report
    (_n, header), body = rows[0], rows[1:]
    where: dict[str, int] = {}
    for index, text in enumerate(header):
        for field, names in COLUMNS.items():
            if text.strip().lower() in names:
                where[field] = index
    missing = [COLUMNS[f][0] for f in REQUIRED if f not in where]
    if teams and "team" not in where:
        missing.append(COLUMNS["team"][0])
    if missing:
        report.error(
            _("The header row lacks the column(s) %(names)s.") % {"names": "、".join(missing)},
            row=1,
        )
        return [], report
    schools = {s.name: s for s in School.objects.all()}
    by_id = {str(s.pk): s for s in schools.values()}
    seen: dict[str, int] = {}
    team_rows: dict[str, int] = {}  # each team named, and the first row naming it
    result = []
    for number, cells in body:
        if not any(cells):
            continue

        def cell(field, cells=cells):
            index = where.get(field)
            return cells[index] if index is not None and index < len(cells) else ""

        def column(field):
            return get_column_letter(where[field] + 1)

        name, school_name, team = cell("name"), cell("school"), cell("team")
        if not name:
            report.error(_("The name is empty."), row=number, column=column("name"))
        elif len(name) > MAX_NAME:
            report.error(
                _("A name has at most %(n)s characters.") % {"n": MAX_NAME},
                row=number,
                column=column("name"),
            )
        elif name in seen:
            report.error(
                _("“%(name)s” is on the roster twice (row %(first)s).")
                % {"name": name, "first": seen[name]},
                row=number,
                column=column("name"),
            )
        else:
            seen[name] = number
        school = schools.get(school_name) or by_id.get(school_name)
        if school is None:
            report.error(
                _("No school is named “%(name)s”.") % {"name": school_name},
                row=number,
                column=column("school"),
            )
        if teams:
            problem = _team_problem(team, team_rows)
            if problem:
                report.error(problem, row=number, column=column("team"))
            else:
                team_rows.setdefault(team, number)
        if school is not None and name:
            result.append(RosterRow(number, name[:MAX_NAME], school, team[:MAX_TEAM_NAME]))
    if report.ok and not result:
        report.error(_("The roster names no students."))
    return (result if report.ok else []), report


def _team_problem(team: str, team_rows: dict[str, int]) -> str | None:
    """What is wrong with a row's team (`team_rows`: the teams named above it)."""
    if not team:
        return _("Name the student's team.")
    if len(team) > MAX_TEAM_NAME:
        return _("A team name has at most %(n)s characters.") % {"n": MAX_TEAM_NAME}
    if team not in team_rows and len(team_rows) >= MAX_TEAMS:
        return _("A round has at most %(n)s teams.") % {"n": MAX_TEAMS}
    return None
