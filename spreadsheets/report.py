"""The problem report of an import or export (questions, rosters, registrations).

Every problem names the file, where in it (a spreadsheet row, or a line of a text file
such as Moodle XML or GIFT), the column (its letter and its header, or the part of the
record) and a message. Messages are lazy translations, so a report renders in whatever language is
active when it is shown: the command line's, or the organizer page's (use
spreadsheets.i18n.gettext_lazy for messages with values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

ERROR = "error"
WARNING = "warning"

ROW = "row"  # a spreadsheet row as the spreadsheet shows it (the header is row 1)
LINE = "line"  # a line of a text file (Moodle XML, GIFT), counted from 1


@dataclass
class Entry:
    file: str
    row: int | None  # None: the whole file
    column: str  # a column letter ("C"), or "" when the problem is not in one column
    header: str  # the column's header as the file spells it, or the part of the question
    message: Any  # str or lazy translation
    severity: str = ERROR
    kind: str = ROW

    def where(self) -> str:
        parts = [self.file]
        if self.row is not None:
            if self.kind == ROW:
                parts.append(_("row %(row)s") % {"row": self.row})
            else:
                parts.append(_("line %(line)s") % {"line": self.row})
        if self.column and self.header:
            parts.append(
                _("column %(column)s (%(header)s)") % {"column": self.column, "header": self.header}
            )
        elif self.column:
            parts.append(_("column %(column)s") % {"column": self.column})
        elif self.header:
            parts.append(str(self.header))
        return ", ".join(parts)

    def severity_label(self) -> str:
        return _("error") if self.severity == ERROR else _("warning")

    def __str__(self) -> str:
        return _("%(where)s: %(severity)s: %(message)s") % {
            "where": self.where(),
            "severity": self.severity_label(),
            "message": self.message,
        }

    def as_dict(self) -> dict[str, Any]:
        """For pages and JSON: every text rendered in the active language."""
        return {
            "file": self.file,
            "row": self.row,
            "kind": self.kind,
            "column": self.column,
            "header": self.header,
            "message": str(self.message),
            "severity": self.severity,
            "where": self.where(),
        }


@dataclass
class Report:
    file: str
    entries: list[Entry] = field(default_factory=list)

    def add(
        self,
        message: Any,
        *,
        row: int | None = None,
        column: str = "",
        header: str = "",
        severity: str = ERROR,
        kind: str = ROW,
    ) -> Entry:
        entry = Entry(self.file, row, column, header, message, severity, kind)
        self.entries.append(entry)
        return entry

    def error(self, message: Any, **where: Any) -> Entry:
        return self.add(message, severity=ERROR, **where)

    def warning(self, message: Any, **where: Any) -> Entry:
        return self.add(message, severity=WARNING, **where)

    @property
    def errors(self) -> list[Entry]:
        return [e for e in self.entries if e.severity == ERROR]

    @property
    def warnings(self) -> list[Entry]:
        return [e for e in self.entries if e.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted(self) -> list[Entry]:
        """File-level problems first, then by row, errors before warnings."""
        return sorted(
            self.entries,
            key=lambda e: (e.row is not None, e.row or 0, e.severity != ERROR),
        )

    def lines(self) -> list[str]:
        return [str(entry) for entry in self.sorted()]

    def render(self) -> str:
        return "\n".join(self.lines())

    def as_dicts(self) -> list[dict[str, Any]]:
        return [entry.as_dict() for entry in self.sorted()]
