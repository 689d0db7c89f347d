"""All-or-nothing import of a question file into a bank.

Every row is read and cleaned by content.clean_question() (the one validation path),
uids and near-duplicate questions (stem and options) are checked, and only when no row
has an error is anything written, in one transaction. A dry run (the organizer page's preview) stops
before writing and returns the same report and the cleaned questions.

The write is a bulk path, because question_create() (three INSERTs and an audit row per
question) is too slow for a 10,000-row file. It writes the same rows question_create()
would: a Question (bank, created_by, uid) and its QuestionVersion number 1 as a draft
authored by the importer, with the fields of services.version_fields() (the cleaned
content plus search_text). Instead of one "question_create" audit entry per question it
writes one AuditEntry for the whole import (action "question_import", with the file,
its format and the number of questions).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _now

from accounts.models import User
from quizzes.bank import services
from quizzes.bank.content import clean_question, search_text
from quizzes.bank.io import duplicates, gift, moodle, tabular
from quizzes.bank.io.common import SourceItem
from quizzes.models import AuditEntry, Bank, Question, QuestionVersion
from spreadsheets import Limits, too_large_message
from spreadsheets.i18n import gettext_lazy as _
from spreadsheets.report import LINE, ROW, Report

logger = logging.getLogger(__name__)

FORMATS = ("xlsx", "csv", "moodle", "gift")
_BY_EXTENSION = {".xlsx": "xlsx", ".csv": "csv", ".xml": "moodle", ".gift": "gift", ".txt": "gift"}
_READERS = {
    "xlsx": tabular.read_xlsx,
    "csv": tabular.read_csv,
    "moodle": moodle.read,
    "gift": gift.read,
}
_CHUNK = 900  # SQLite's smallest variable limit, with room to spare


def detect_format(filename: str, data: bytes = b"") -> str | None:
    found = _BY_EXTENSION.get(Path(filename).suffix.lower())
    if found:
        return found
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.lstrip().startswith(b"<?xml") or b"<quiz" in data[:500]:
        return "moodle"
    return None


@dataclass
class ImportedItem:
    row: int
    uid: uuid.UUID
    data: dict[str, Any]  # clean_question()'s data: what would be (or was) stored


@dataclass
class ImportResult:
    report: Report
    format: str | None
    items: list[ImportedItem] = field(default_factory=list)
    created: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.report.ok


def import_questions(
    *,
    bank: Bank,
    actor: User,
    data: bytes,
    filename: str,
    fmt: str | None = None,
    dry_run: bool = False,
    defaults: dict[str, Any] | None = None,
) -> ImportResult:
    """Import `data` (the file's bytes) into `bank`: every question or none.

    `defaults` fills fields a row leaves empty (e.g. a dimension and topic for a
    Moodle file without our tags). With `dry_run` nothing is written.
    """
    if not (actor.is_superuser or bank.owners.filter(pk=actor.pk).exists()):
        raise PermissionDenied(_now("Only the bank's owners add questions."))
    name = Path(filename).name
    report = Report(name)
    fmt = fmt or detect_format(filename, data)
    result = ImportResult(report=report, format=fmt, dry_run=dry_run)
    if fmt not in _READERS:
        report.error(
            _("Unknown file format; use .xlsx, .csv, Moodle XML (.xml) or GIFT (.txt, .gift).")
        )
        return result
    limits = Limits.from_settings()
    if len(data) > limits.max_upload_bytes:
        report.error(too_large_message(limits))
        return result
    try:
        items = _READERS[fmt](data, name, report)
    except Exception:  # a reader's bug must not become a 500 nor a half-read file
        logger.exception("question import: the %s reader failed on %s", fmt, name)
        report.error(_("This file cannot be read as %(format)s.") % {"format": fmt})
        return result
    if not items:
        if report.ok:
            report.error(_("The file holds no questions."))
        return result
    if len(items) > limits.max_rows:
        report.error(
            _("The file holds more than %(n)s questions; split it into smaller files.")
            % {"n": limits.max_rows}
        )
        return result
    kind = ROW if fmt in ("xlsx", "csv") else LINE
    result.items = _validate(items, bank, report, kind, defaults or {})
    if dry_run or not report.ok:
        return result
    result.created = _write(bank, actor, result.items, name, fmt, report)
    return result


def _validate(items: list[SourceItem], bank, report: Report, kind: str, defaults) -> list:
    def add(item: SourceItem, severity: str, field_name: str, option, message) -> None:
        column, header = item.locate(field_name, option)
        report.add(
            message, row=item.row, column=column, header=header, severity=severity, kind=kind
        )

    cleaned: list[ImportedItem] = []
    for item in items:
        raw = item.raw
        for name, value in defaults.items():
            if raw.get(name) in (None, "", []):
                raw[name] = value
        for severity, field_name, option, message in item.problems:
            add(item, severity, field_name, option, message)
        result = clean_question(raw)
        for problem in result.errors:
            add(item, "error", problem.field, problem.option, problem.message)
        for problem in result.warnings:
            add(item, "warning", problem.field, problem.option, problem.message)
        cleaned.append(ImportedItem(row=item.row, uid=None, data=result.data))  # type: ignore[arg-type]
    _check_uids(items, cleaned, bank, add, kind)
    _check_duplicates(items, cleaned, bank, add, kind)
    return cleaned


def _where(kind: str, number: int) -> str:
    if kind == ROW:
        return _now("row %(row)s") % {"row": number}
    return _now("line %(line)s") % {"line": number}


def _check_uids(items, cleaned, bank, add, kind) -> None:
    first_row: dict[uuid.UUID, int] = {}
    for item, imported in zip(items, cleaned, strict=True):
        if not item.uid:
            imported.uid = uuid.uuid4()
            continue
        try:
            uid = uuid.UUID(item.uid)
        except ValueError:
            add(item, "error", "uid", None, _("“%(value)s” is not a uid.") % {"value": item.uid})
            imported.uid = uuid.uuid4()
            continue
        if uid in first_row:
            add(
                item,
                "error",
                "uid",
                None,
                _("This uid is also given at %(where)s.") % {"where": _where(kind, first_row[uid])},
            )
        first_row.setdefault(uid, item.row)
        imported.uid = uid
    given = list(first_row)
    taken: dict[uuid.UUID, int] = {}
    for start in range(0, len(given), _CHUNK):
        taken.update(
            Question.objects.filter(uid__in=given[start : start + _CHUNK]).values_list(
                "uid", "bank_id"
            )
        )
    if not taken:
        return
    for item, imported in zip(items, cleaned, strict=True):
        bank_id = taken.get(imported.uid) if item.uid else None
        if bank_id is None:
            continue
        if bank_id == bank.pk:
            add(item, "error", "uid", None, _("A question with this uid is already in this bank."))
        else:
            add(
                item,
                "warning",
                "uid",
                None,
                _("This uid belongs to a question in another bank; the import gives a new one."),
            )
            imported.uid = uuid.uuid4()


def _whole_text(stem: str, options: list) -> str:
    """A question as the duplicate check compares it: stem and options, normalised."""
    texts = [search_text(o.get("text", "") if isinstance(o, dict) else str(o)) for o in options]
    return duplicates.question_text(stem, texts)


def _existing_texts(bank) -> tuple[list[int], list[str]]:
    """The latest version of each question in the bank, as _whole_text."""
    latest: dict[int, tuple[int, str, list]] = {}
    rows = QuestionVersion.objects.filter(question__bank=bank).values_list(
        "question_id", "number", "search_text", "options"
    )
    for question_id, number, text, options in rows.iterator(chunk_size=2000):
        if question_id not in latest or latest[question_id][0] < number:
            latest[question_id] = (number, text, options or [])
    ids = list(latest)
    return ids, [_whole_text(latest[i][1], latest[i][2]) for i in ids]


def _check_duplicates(items, cleaned, bank, add, kind) -> None:
    ids, existing = _existing_texts(bank)
    texts = [
        _whole_text(search_text(c.data.get("stem", "")), c.data.get("options") or [])
        for c in cleaned
    ]
    for row, match in duplicates.near_duplicates(texts, existing).items():
        percent = round(match.similarity * 100)
        if match.in_existing:
            message = _(
                "The question (stem and options) is nearly the same as question Q%(id)s "
                "already in this bank (%(percent)s%% alike)."
            ) % {"id": ids[match.other], "percent": percent}
        else:
            message = _(
                "The question (stem and options) is nearly the same as the one at "
                "%(where)s (%(percent)s%% alike)."
            ) % {"where": _where(kind, items[match.other].row), "percent": percent}
        add(items[row], "warning", "stem", None, message)


def _write(bank, actor, items: list[ImportedItem], filename: str, fmt: str, report) -> int:
    now = timezone.now()
    with transaction.atomic():
        questions = [
            Question(bank=bank, created_by=actor, uid=item.uid, created_at=now) for item in items
        ]
        Question.objects.bulk_create(questions, batch_size=500)
        if any(q.pk is None for q in questions):  # a database that returns no ids
            pks = {}
            uids = [q.uid for q in questions]
            for start in range(0, len(uids), _CHUNK):
                pks.update(
                    Question.objects.filter(uid__in=uids[start : start + _CHUNK]).values_list(
                        "uid", "pk"
                    )
                )
            for question in questions:
                question.pk = pks[question.uid]
        versions = [
            QuestionVersion(
                question=question,
                number=1,
                author=actor,
                created_at=now,
                **services.version_fields(item.data),
            )
            for question, item in zip(questions, items, strict=True)
        ]
        QuestionVersion.objects.bulk_create(versions, batch_size=500)
        AuditEntry.objects.create(
            bank=bank,
            actor=actor,
            action="question_import",
            changes={
                "file": filename,
                "format": fmt,
                "count": len(questions),
                "warnings": len(report.warnings),
            },
            at=now,
        )
    return len(questions)
