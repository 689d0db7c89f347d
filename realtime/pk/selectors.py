"""Reads of PK matches and the queue, for the services and the PK socket."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from accounts.models import User
from quizzes.models import QuestionType, QuestionVersion, VersionStatus

from .. import engine
from ..models import PkAnswer, PkEntry, PkMatch, PkPlayer, PkQuestion


def match_questions(match: PkMatch) -> list[PkQuestion]:
    return list(match.questions.select_related("version").order_by("position"))


def match_players(match: PkMatch) -> list[PkPlayer]:
    return list(match.players.order_by("seat"))


# (match id, created_at) → its questions and seats, in the order they were read: a
# match's questions (with their versions) and seats never change once it is made, so
# a process reads them once, not at every step of the match's clock. created_at tells
# a match from an earlier one that had the same id (a test database emptied).
_fixed: dict[tuple[int, Any], tuple[list[PkQuestion], list[PkPlayer]]] = {}
FIXED_MAX = 4096


def match_fixed(match: PkMatch) -> tuple[list[PkQuestion], list[PkPlayer]]:
    """The match's questions (by position, with versions) and seats (by seat). Their
    windows (opened_at, closes_at) are not read from these: the match's state and
    PkQuestion rows read afresh say when a question is open."""
    key = (match.pk, match.created_at)
    found = _fixed.get(key)
    if found is None:
        found = (match_questions(match), match_players(match))
        if len(found[1]) == 2:  # complete (a match is made in one transaction)
            while len(_fixed) >= FIXED_MAX:
                _fixed.pop(next(iter(_fixed)))
            _fixed[key] = found
    return found


def match_refreshed(match: PkMatch) -> PkMatch:
    """The same match object, read again."""
    match.refresh_from_db()
    return match


def current_player(user: User) -> PkPlayer | None:
    """The user's seat in a match not yet finished, if any."""
    return (
        PkPlayer.objects.select_related("match")
        .filter(user=user)
        .exclude(match__status=engine.Status.FINISHED)
        .order_by("-match__created_at")
        .first()
    )


def current_players(user_ids: list[int]) -> dict[int, PkPlayer]:
    """{user id: seat} of these users' matches not yet finished, in one query."""
    if not user_ids:
        return {}
    seats = (
        PkPlayer.objects.select_related("match")
        .filter(user_id__in=user_ids)
        .exclude(match__status=engine.Status.FINISHED)
        .order_by("match__created_at")
    )
    return {seat.user_id: seat for seat in seats}  # the newest wins


def player_for_token(*, user: User, token: str) -> PkPlayer | None:
    """The seat this resume token names, if it is this user's."""
    return PkPlayer.objects.select_related("match").filter(token=token, user=user).first()


def drawable_versions(types: tuple[QuestionType, ...]) -> QuerySet:
    """(version, question) of published versions of `types` from the banks with a
    blueprint open to players."""
    return (
        QuestionVersion.objects.filter(
            status=VersionStatus.PUBLISHED,
            type__in=types,
            question__bank__blueprints__open_to_players=True,
        )
        .values_list("pk", "question_id")
        .distinct()
    )


def waiting_entry(user: User) -> PkEntry | None:
    return PkEntry.objects.filter(user=user).first()


def scoring_answers(question_ids: list[int]) -> QuerySet:
    """(player, question, correct, elapsed_ms) of the answers to the questions."""
    return PkAnswer.objects.filter(question__in=question_ids).values_list(
        "player_id", "question_id", "correct", "elapsed_ms"
    )


def answers_at(question: PkQuestion) -> int:
    return PkAnswer.objects.filter(question=question).count()


def answered_twice(question_ids: set[int]) -> list[int]:
    """Those of these questions both players have answered."""
    return list(
        PkAnswer.objects.filter(question_id__in=question_ids)
        .values("question_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=2)
        .values_list("question_id", flat=True)
    )


def answered_id(question: PkQuestion, player: PkPlayer) -> str | None:
    return (
        PkAnswer.objects.filter(question=question, player=player)
        .values_list("answer_id", flat=True)
        .first()
    )


def match_answers(match: PkMatch) -> QuerySet:
    """(player, question, correct) of every answer of the match."""
    return PkAnswer.objects.filter(match=match).values_list("player_id", "question_id", "correct")
