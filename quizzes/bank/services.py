"""Writes to the question bank: create, edit, review, publish, retire. Each writes an
audit entry; state changes are conditional updates so that they happen once."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.bank.content import clean_question, search_text
from quizzes.models import OPEN_STATUSES, AuditEntry, Bank, Question, QuestionVersion, VersionStatus

CONTENT_FIELDS = (
    "type", "stem", "options", "key", "explanation", "source", "difficulty", "dimension",
    "benchmark", "topic", "audience", "grade_band", "collection", "stem_en", "explanation_en",
)  # fmt: skip


def _audit(*, bank, actor, action, question=None, version=None, changes=None) -> None:
    AuditEntry.objects.create(
        bank=bank,
        question=question,
        version=version,
        actor=actor,
        action=action,
        changes=changes or {},
    )


def _can_edit(bank: Bank, user: User) -> bool:
    return user.is_superuser or bank.owners.filter(pk=user.pk).exists()


def _can_review(bank: Bank, user: User) -> bool:
    return (
        user.is_superuser
        or bank.owners.filter(pk=user.pk).exists()
        or bank.reviewers.filter(pk=user.pk).exists()
    )


@transaction.atomic
def bank_create(*, name: str, owner: User, description: str = "", is_demo: bool = False) -> Bank:
    bank = Bank.objects.create(name=name, description=description, is_demo=is_demo)
    bank.owners.add(owner)
    _audit(bank=bank, actor=owner, action="bank_create", changes={"name": name})
    return bank


def version_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A QuestionVersion's content fields from clean_question()'s data, with the
    search text (the editor's writes and the importer's bulk insert use it)."""
    fields = {name: data[name] for name in CONTENT_FIELDS}
    fields["search_text"] = search_text(data["stem"])
    return fields


def _cleaned(raw: dict[str, Any]) -> dict[str, Any]:
    result = clean_question(raw)
    if not result.ok:
        raise ValidationError({p.field: [str(p)] for p in result.errors})
    return result.data


@transaction.atomic
def question_create(
    *,
    bank: Bank,
    author: User,
    raw: dict[str, Any],
    is_demo: bool = False,
    uid: uuid.UUID | None = None,
) -> Question:
    """A new question, cleaned by clean_question(), with version 1 as a draft."""
    if not _can_edit(bank, author):
        raise PermissionDenied(_("Only the bank's owners add questions."))
    data = _cleaned(raw)
    question = Question.objects.create(
        bank=bank, created_by=author, is_demo=is_demo, uid=uid or uuid.uuid4()
    )
    version = QuestionVersion.objects.create(
        question=question, number=1, author=author, **version_fields(data)
    )
    _audit(bank=bank, actor=author, action="question_create", question=question, version=version)
    return question


@transaction.atomic
def question_edit(*, question: Question, editor: User, raw: dict[str, Any]) -> QuestionVersion:
    """Edit the open (draft or in-review) version in place, or, if there is none,
    start a new draft from the edit: a published version is never changed."""
    if not _can_edit(question.bank, editor):
        raise PermissionDenied(_("Only the bank's owners edit questions."))
    data = _cleaned(raw)
    Question.objects.select_for_update().filter(pk=question.pk).first()
    fields = version_fields(data)
    open_version = question.versions.filter(status__in=OPEN_STATUSES).first()
    if open_version is not None:
        before = {name: getattr(open_version, name) for name in CONTENT_FIELDS}
        for name, value in fields.items():
            setattr(open_version, name, value)
        open_version.author = editor
        open_version.status = VersionStatus.DRAFT
        open_version.save()
        version = open_version
    else:
        latest = question.versions.order_by("-number").first()
        before = {name: getattr(latest, name) for name in CONTENT_FIELDS} if latest else {}
        version = QuestionVersion.objects.create(
            question=question,
            number=(latest.number + 1) if latest else 1,
            author=editor,
            **fields,
        )
    changes = {
        name: [before.get(name), data[name]]
        for name in CONTENT_FIELDS
        if before.get(name) != data[name]
    }
    _audit(
        bank=question.bank,
        actor=editor,
        action="question_edit",
        question=question,
        version=version,
        changes=changes,
    )
    return version


def _move(version: QuestionVersion, *, from_status: str | tuple, to_status: str, **extra) -> None:
    """Conditional update: the change happens once, or not at all."""
    statuses = (from_status,) if isinstance(from_status, str) else from_status
    moved = QuestionVersion.objects.filter(pk=version.pk, status__in=statuses).update(
        status=to_status, **extra
    )
    if not moved:
        raise ValidationError(
            _("This version is no longer %(status)s.") % {"status": "/".join(statuses)}
        )
    version.refresh_from_db()


@transaction.atomic
def version_submit(*, version: QuestionVersion, actor: User) -> None:
    bank = version.question.bank
    if not _can_edit(bank, actor):
        raise PermissionDenied(_("Only the bank's owners submit questions for review."))
    _move(version, from_status=VersionStatus.DRAFT, to_status=VersionStatus.IN_REVIEW)
    _audit(
        bank=bank, actor=actor, action="version_submit", question=version.question, version=version
    )


@transaction.atomic
def version_publish(*, version: QuestionVersion, reviewer: User) -> None:
    """Publish a version under review; the reviewer must not be its author. The
    previously published version, if any, is superseded."""
    question = version.question
    if not _can_review(question.bank, reviewer):
        raise PermissionDenied(_("Only the bank's reviewers and owners publish questions."))
    if version.author_id == reviewer.pk:
        raise PermissionDenied(_("A question is reviewed by someone other than its author."))
    Question.objects.select_for_update().filter(pk=question.pk).first()
    question.versions.filter(status=VersionStatus.PUBLISHED).update(status=VersionStatus.SUPERSEDED)
    _move(
        version,
        from_status=VersionStatus.IN_REVIEW,
        to_status=VersionStatus.PUBLISHED,
        reviewer=reviewer,
        published_at=timezone.now(),
    )
    _audit(
        bank=question.bank,
        actor=reviewer,
        action="version_publish",
        question=question,
        version=version,
    )


@transaction.atomic
def version_reject(*, version: QuestionVersion, reviewer: User, reason: str) -> None:
    question = version.question
    if not _can_review(question.bank, reviewer):
        raise PermissionDenied(_("Only the bank's reviewers and owners review questions."))
    _move(version, from_status=VersionStatus.IN_REVIEW, to_status=VersionStatus.DRAFT)
    _audit(
        bank=question.bank,
        actor=reviewer,
        action="version_reject",
        question=question,
        version=version,
        changes={"reason": reason},
    )


@transaction.atomic
def question_retire(*, question: Question, actor: User) -> None:
    if not _can_edit(question.bank, actor):
        raise PermissionDenied(_("Only the bank's owners retire questions."))
    published = question.versions.filter(status=VersionStatus.PUBLISHED).first()
    if published is None:
        raise ValidationError(_("Only a published question can be retired."))
    _move(published, from_status=VersionStatus.PUBLISHED, to_status=VersionStatus.RETIRED)
    _audit(
        bank=question.bank,
        actor=actor,
        action="question_retire",
        question=question,
        version=published,
    )
