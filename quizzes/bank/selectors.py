"""Reads for the organizer's question-bank pages (and the banks a host may run live
rounds from), and the items the statistics flagged."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.models import User
from quizzes.bank.answers import normalise_answer_text
from quizzes.models import (
    AuditEntry,
    Bank,
    ItemStatistics,
    Question,
    QuestionVersion,
    VersionStatus,
)


def banks_for(*, user: User) -> QuerySet[Bank]:
    """Banks a user owns, reviews or has been shared; every bank for a superuser."""
    banks = Bank.objects.all()
    if not user.is_superuser:
        banks = banks.filter(Q(owners=user) | Q(reviewers=user) | Q(shared_with=user)).distinct()
    return banks.order_by("name")


def bank_role(*, bank: Bank, user: User) -> str | None:
    """owner, reviewer, shared or None. Only owners and reviewers see answer keys."""
    if user.is_superuser or bank.owners.filter(pk=user.pk).exists():
        return "owner"
    if bank.reviewers.filter(pk=user.pk).exists():
        return "reviewer"
    if bank.shared_with.filter(pk=user.pk).exists():
        return "shared"
    return None


def sees_keys(role: str | None) -> bool:
    return role in {"owner", "reviewer"}


def latest_versions(*, bank: Bank, filters: dict) -> QuerySet[QuestionVersion]:
    """The newest version of every question of the bank, filtered by any tag.

    The open (draft or in-review) version, when there is one, is always the newest.
    """
    newest = (
        QuestionVersion.objects.filter(question=OuterRef("question"))
        .order_by("-number")
        .values("number")[:1]
    )
    versions = QuestionVersion.objects.filter(question__bank=bank, number=Subquery(newest))
    for name in ("status", "type", "dimension", "topic", "difficulty", "grade_band", "benchmark"):
        if filters.get(name) not in (None, ""):
            versions = versions.filter(**{name: filters[name]})
    if filters.get("collection"):
        versions = versions.filter(collection__icontains=filters["collection"].strip())
    if filters.get("audience"):
        # JSON list membership that works on SQLite and PostgreSQL alike: the audience
        # values are fixed identifiers, so matching the quoted word is exact.
        versions = versions.filter(audience__icontains=f'"{filters["audience"]}"')
    if filters.get("q"):
        versions = versions.filter(search_text__contains=normalise_answer_text(filters["q"]))
    return versions.select_related("question", "author").order_by("-question_id")


def review_queue(*, bank: Bank, reviewer: User) -> QuerySet[QuestionVersion]:
    """Versions waiting for review that this reviewer did not write."""
    return (
        QuestionVersion.objects.filter(question__bank=bank, status=VersionStatus.IN_REVIEW)
        .exclude(author=reviewer)
        .select_related("question", "author")
        .order_by("created_at")
    )


def question_history(*, question: Question) -> dict:
    return {
        "versions": list(
            question.versions.select_related("author", "reviewer").order_by("-number")
        ),
        "audit": list(
            AuditEntry.objects.filter(question=question)
            .select_related("actor")
            .order_by("-at", "-id")
        ),
    }


def flagged_items(*, bank: Bank) -> QuerySet[ItemStatistics]:
    """Item statistics of the bank's versions with at least one flag, worst first."""
    return (
        ItemStatistics.objects.filter(version__question__bank=bank)
        .exclude(flags=[])
        .select_related("version", "version__question")
        .order_by("discrimination", "version_id")
    )
