"""Reads of live rounds: what the pages, the sockets (realtime.consumers) and the
standings need, so that a page and its socket always agree on which round a PIN names
and on who may watch the projector screen, and no consumer touches the ORM. Query
counts of the hot paths (a player's snapshot) are pinned in tests/realtime."""

from __future__ import annotations

import re
from typing import Any

from django.core import signing
from django.db.models import Count, Q, QuerySet

from .. import scoring
from ..models import (
    LiveAnswer,
    LiveBuzz,
    LivePlayer,
    LiveQuestion,
    LiveRound,
    LiveStake,
    LiveTeam,
    RosterEntry,
)

PIN_RE = re.compile(r"^[0-9]{6}$")
SCREEN_SALT = "realtime.screen"


# --- rounds ------------------------------------------------------------------------------


def round_for_pin(pin: str) -> LiveRound | None:
    """The round a PIN names: the active one, else the latest that had it."""
    if not isinstance(pin, str) or not PIN_RE.match(pin):
        return None
    rounds = LiveRound.objects.filter(pin=pin)
    return (
        rounds.exclude(status__in=[LiveRound.Status.FINISHED, LiveRound.Status.ABORTED]).first()
        or rounds.order_by("-created_at").first()
    )


def round_by_pk(pk: int) -> LiveRound:
    return LiveRound.objects.get(pk=pk)


def round_refreshed(live: LiveRound) -> LiveRound:
    """The same round object, read again (a socket's snapshot shows the round now)."""
    live.refresh_from_db()
    return live


def screen_key(live: LiveRound) -> str:
    """The secret in a projector screen's URL: read-only access to one round."""
    return signing.dumps(live.pk, salt=SCREEN_SALT)


def screen_key_valid(live: LiveRound, key: object) -> bool:
    try:
        return signing.loads(str(key), salt=SCREEN_SALT) == live.pk
    except signing.BadSignature:
        return False


def round_questions(live: LiveRound) -> list[LiveQuestion]:
    return list(live.questions.select_related("version").order_by("position"))


def question_positions(live: LiveRound) -> list[int]:
    return list(live.questions.order_by("position").values_list("position", flat=True))


def finals_turns(live: LiveRound) -> list[tuple[int, str, int | None, int]]:
    """(position, turn, team id, value) of every question of the finals."""
    return list(
        live.questions.order_by("position").values_list("position", "turn", "team_id", "value")
    )


def current_answer_count(round_id: int) -> tuple[int, int] | None:
    """(question index, answers recorded for it) of the round's current question; None
    before the first question (the host's and screen's live count)."""
    live = LiveRound.objects.only("question_index").get(pk=round_id)
    if live.question_index < 0:
        return None
    answers = LiveAnswer.objects.filter(
        round_id=live.pk, question__position=live.question_index
    ).count()
    return live.question_index, answers


# --- players and teams -------------------------------------------------------------------


def player_for_token(token: str) -> LivePlayer | None:
    """The player (not kicked) a resume token names, with the round."""
    return LivePlayer.objects.select_related("round").filter(token=token, kicked=False).first()


def player_count(live: LiveRound) -> int:
    return LivePlayer.objects.filter(round=live, kicked=False).count()


def kicked_count(live: LiveRound) -> int:
    return LivePlayer.objects.filter(round=live, kicked=True).count()


def playing_player_ids(live: LiveRound) -> QuerySet:
    return LivePlayer.objects.filter(round=live, kicked=False).values_list("pk", flat=True)


def playing_players(live: LiveRound) -> list[tuple[int, int | None, str, int | None]]:
    """(id, user id, nickname, team id) of the players not kicked, in joining order
    (the user id decides the name shown: realtime.live.names)."""
    return list(
        LivePlayer.objects.filter(round=live, kicked=False)
        .order_by("pk")
        .values_list("pk", "user_id", "nickname", "team_id")
    )


def host_players(live: LiveRound) -> list[tuple[int, int | None, str, int | None, bool]]:
    """(id, user id, nickname, team id, captain) of the players not kicked, in joining
    order."""
    return list(
        LivePlayer.objects.filter(round=live, kicked=False)
        .order_by("pk")
        .values_list("pk", "user_id", "nickname", "team_id", "is_captain")
    )


def team_in_round(live: LiveRound, team_id: int) -> LiveTeam | None:
    return LiveTeam.objects.filter(round=live, pk=team_id).first()


def team_names(live: LiveRound) -> dict[int, str]:
    return dict(live.teams.values_list("pk", "name"))


def team_list(live: LiveRound) -> list[tuple[int, str]]:
    return list(live.teams.values_list("pk", "name"))


def team_ids(live: LiveRound) -> list[int]:
    return list(live.teams.values_list("pk", flat=True))


def teams_with_members(live: LiveRound) -> QuerySet:
    """The round's teams, in order, with their school and `players` (not kicked)."""
    return (
        LiveTeam.objects.filter(round=live)
        .select_related("school")
        .annotate(players=Count("members", filter=Q(members__kicked=False)))
        .order_by("position", "pk")
    )


def roster_entry(live: LiveRound, token: str) -> RosterEntry | None:
    return live.roster.select_related("team").filter(token=token).first()


def roster_count(live: LiveRound) -> int:
    return live.roster.count()


def roster_for_slips(live: LiveRound) -> QuerySet:
    return live.roster.select_related("school", "team").order_by(
        "team__position", "team__name", "school__name", "name"
    )


# --- answers, buzzes, stakes -------------------------------------------------------------


def scoring_answers(question_ids: list[int]) -> QuerySet:
    """(player, question, correct, elapsed_ms) of the players not kicked."""
    return LiveAnswer.objects.filter(question__in=question_ids, player__kicked=False).values_list(
        "player_id", "question_id", "correct", "elapsed_ms"
    )


def answer_responses(question: LiveQuestion) -> list[Any]:
    return list(LiveAnswer.objects.filter(question=question).values_list("response", flat=True))


def answer_count(question: LiveQuestion) -> int:
    return LiveAnswer.objects.filter(question=question).count()


def answered_id(question: LiveQuestion, player: LivePlayer) -> str | None:
    """The answer_id of the player's answer to the question, if any."""
    return (
        LiveAnswer.objects.filter(question=question, player=player)
        .values_list("answer_id", flat=True)
        .first()
    )


def captain_answers(question_ids: list[int]) -> dict[tuple[int, int], bool]:
    """{(question, team): correct} of the team captains' answers."""
    return {
        (question, team): correct
        for question, team, correct in LiveAnswer.objects.filter(
            question__in=question_ids, player__is_captain=True
        ).values_list("question_id", "player__team_id", "correct")
    }


def captain_times(question: LiveQuestion) -> dict[int, int]:
    """{team: elapsed_ms} of the captains' answers to one question."""
    return dict(
        LiveAnswer.objects.filter(question=question, player__is_captain=True).values_list(
            "player__team_id", "elapsed_ms"
        )
    )


BUZZ_FIELDS = ("team_id", "received_at", "pk", "received_us", "awarded")


def buzzes_by_question(question_ids: list[int]) -> dict[int, list[scoring.Buzz]]:
    """{question: its buzzes}, as realtime.scoring judges them."""
    found: dict[int, list[scoring.Buzz]] = {}
    for question, *buzz in LiveBuzz.objects.filter(question__in=question_ids).values_list(
        "question_id", *BUZZ_FIELDS
    ):
        found.setdefault(question, []).append(scoring.Buzz(*buzz))
    return found


def question_buzzes(question: LiveQuestion) -> list[scoring.Buzz]:
    """The buzzes on one question, as realtime.scoring judges them."""
    return [
        scoring.Buzz(*buzz)
        for buzz in LiveBuzz.objects.filter(question=question).values_list(*BUZZ_FIELDS)
    ]


def buzz_outcome(live: LiveRound, question: LiveQuestion) -> scoring.BuzzOutcome:
    """Who answers buzzer question `question` now, or the tie the host is to settle
    (window: the question's time, as for answers and scores)."""
    return scoring.buzzer_outcome(
        question_buzzes(question),
        opened_at_ms=question.opened_at or 0,
        window_ms=(question.seconds or live.seconds_per_question) * 1000,
    )


def stake_rows(question_ids: list[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """{(question, team): (stake, chosen_at)}."""
    return {
        (question, team): (stake, chosen_at)
        for question, team, stake, chosen_at in LiveStake.objects.filter(
            question__in=question_ids
        ).values_list("question_id", "team_id", "stake", "chosen_at")
    }


def stakes_shown(question_ids: list[int]) -> list[tuple[int, int, int]]:
    """(question position, team, stake) of the stakes on the questions."""
    return list(
        LiveStake.objects.filter(question__in=question_ids).values_list(
            "question__position", "team_id", "stake"
        )
    )
