"""Writes to the question bank: create, edit, review, publish, retire. Each writes an
audit entry; state changes are conditional updates so that they happen once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
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
    _audit(
        bank=bank,
        actor=owner,
        action="bank_create",
        changes={"name": name, "owners": {"before": [], "after": [owner.pk]}},
    )
    return bank


MEMBER_ROLES = ("owners", "reviewers", "shared_with")


@transaction.atomic
def bank_members_set(
    *,
    bank: Bank,
    actor: User,
    owners: Iterable[User] | None = None,
    reviewers: Iterable[User] | None = None,
    shared_with: Iterable[User] | None = None,
) -> dict[str, dict[str, list[int]]]:
    """Set who owns, reviews and shares a bank (a role left as None stays as it is).

    Membership decides who sees keys and who may publish, so only superusers change it
    here (the admin), and every change writes one audit entry with the actor and each
    changed role's user ids before and after. Setting what is already there writes
    nothing. Returns the changes."""
    if not actor.is_superuser:
        raise PermissionDenied(_("Only an administrator changes who owns or reviews a bank."))
    Bank.objects.select_for_update().filter(pk=bank.pk).first()
    wanted = {"owners": owners, "reviewers": reviewers, "shared_with": shared_with}
    changes: dict[str, dict[str, list[int]]] = {}
    for role in MEMBER_ROLES:
        if wanted[role] is None:
            continue
        manager = getattr(bank, role)
        before = sorted(manager.values_list("pk", flat=True))
        after = sorted({user.pk for user in wanted[role]})
        if role == "owners" and not after:
            raise ValidationError(_("A bank keeps at least one owner."))
        if before != after:
            manager.set(after)
            changes[role] = {"before": before, "after": after}
    if changes:
        _audit(bank=bank, actor=actor, action="bank_members", changes=changes)
    return changes


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
def question_edit(
    *, question: Question, editor: User, raw: dict[str, Any]
) -> QuestionVersion | None:
    """Edit the open (draft or in-review) version in place, or, if there is none,
    start a new draft from the edit: a published version is never changed.

    Authorship follows actual changes: a save that changes no content field changes
    nothing at all (no new version, no new author, no status change, no audit entry)
    and returns None. Whoever changes a version is recorded in its audit trail, and
    version_publish refuses every one of them as its reviewer (four-eyes rule)."""
    if not _can_edit(question.bank, editor):
        raise PermissionDenied(_("Only the bank's owners edit questions."))
    data = _cleaned(raw)
    Question.objects.select_for_update().filter(pk=question.pk).first()
    fields = version_fields(data)
    open_version = question.versions.filter(status__in=OPEN_STATUSES).first()
    base = open_version or question.versions.order_by("-number").first()
    before = {name: getattr(base, name) for name in CONTENT_FIELDS} if base else {}
    changes = {
        name: [before.get(name), data[name]]
        for name in CONTENT_FIELDS
        if before.get(name) != data[name]
    }
    if not changes:
        return None
    if open_version is not None:
        for name, value in fields.items():
            setattr(open_version, name, value)
        open_version.author = editor
        open_version.status = VersionStatus.DRAFT
        open_version.save()
        version = open_version
    else:
        version = QuestionVersion.objects.create(
            question=question,
            number=(base.number + 1) if base else 1,
            author=editor,
            **fields,
        )
    _audit(
        bank=question.bank,
        actor=editor,
        action="question_edit",
        question=question,
        version=version,
        changes=changes,
    )
    return version


# Audit actions by which someone writes a version's content.
AUTHORING_ACTIONS = ("question_create", "question_edit")


def version_contributed(*, version: QuestionVersion, user: User) -> bool:
    """Did the user write any of this version's content (its author now, or anyone
    whose edit of it is in the audit trail)?"""
    return (
        version.author_id == user.pk
        or AuditEntry.objects.filter(
            version=version, actor=user, action__in=AUTHORING_ACTIONS
        ).exists()
    )


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
    Question.objects.select_for_update().filter(pk=question.pk).first()
    if version_contributed(version=version, user=reviewer):
        raise PermissionDenied(_("A question is reviewed by someone other than its authors."))
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
