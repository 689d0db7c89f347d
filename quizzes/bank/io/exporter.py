"""Export a bank to XLSX, CSV, Moodle XML or GIFT.

Each question is exported in its latest version (the working copy: a draft or a
version under review if there is one, else the published one); retired questions are
left out. With `published_only`, only published versions go out.
"""

from __future__ import annotations

from dataclasses import dataclass

from quizzes.bank.io import gift, moodle, tabular
from quizzes.models import Bank, QuestionType, QuestionVersion, VersionStatus
from quizzes.rich_text import plain_text
from spreadsheets.i18n import gettext_lazy as _
from spreadsheets.report import Report

EXTENSIONS = {"xlsx": ".xlsx", "csv": ".csv", "moodle": ".xml", "gift": ".txt"}
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "moodle": "application/xml; charset=utf-8",
    "gift": "text/plain; charset=utf-8",
}


@dataclass
class ExportResult:
    data: bytes
    report: Report
    count: int
    filename: str
    content_type: str


def export_versions(bank: Bank, *, published_only: bool = False) -> list[QuestionVersion]:
    versions = QuestionVersion.objects.filter(question__bank=bank).select_related("question")
    if published_only:
        return list(versions.filter(status=VersionStatus.PUBLISHED).order_by("question_id"))
    latest: dict[int, QuestionVersion] = {}
    for version in versions.order_by("question_id", "-number"):
        latest.setdefault(version.question_id, version)
    return [v for v in latest.values() if v.status != VersionStatus.RETIRED]


def _name(version: QuestionVersion) -> str:
    text = plain_text(version.stem)
    return f"Q{version.question_id} {text[:40]}".strip()


def export_bank(*, bank: Bank, fmt: str, published_only: bool = False) -> ExportResult:
    if fmt not in EXTENSIONS:
        raise ValueError(fmt)
    filename = f"{bank.name}{EXTENSIONS[fmt]}"
    report = Report(filename)
    versions = export_versions(bank, published_only=published_only)
    if fmt in ("xlsx", "csv"):
        rows = []
        for version in versions:
            row = tabular.row_of(str(version.question.uid), version)
            if row is None:
                report.warning(
                    _("Q%(id)s has more than eight options; the template cannot hold it.")
                    % {"id": version.question_id},
                    header=str(version.question.uid),
                )
                continue
            rows.append(row)
        data = tabular.write_xlsx(rows) if fmt == "xlsx" else tabular.write_csv(rows)
        count = len(rows)
    else:
        entries = [(str(v.question.uid), v, _name(v)) for v in versions]
        if fmt == "gift":
            for version in versions:
                if version.type == QuestionType.ORDERING:
                    report.warning(
                        _(
                            "Q%(id)s is an ordering question, which GIFT lacks: it is written "
                            "as a SciArena extension in comments, which Moodle skips."
                        )
                        % {"id": version.question_id},
                        header=str(version.question.uid),
                    )
        writer = moodle.write if fmt == "moodle" else gift.write
        data = writer(bank.name, entries)
        count = len(entries)
    return ExportResult(data, report, count, filename, CONTENT_TYPES[fmt])
