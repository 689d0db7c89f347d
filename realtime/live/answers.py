"""Answers, buzzes and stakes of a live round: services that record them and return
results (realtime.live.frames shapes the replies).

Answers are rows with unique constraints; an answer is acked only after its row is
committed (docs/architecture.md, live-round rule 2), judged by the server's receive time alone
(rule 1). Buzzes (抢答) and stakes (风险) of the stage finals likewise: one per team and
question, a resend gets the same reply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db import connection, transaction

from quizzes.bank.answers import is_correct

from .. import engine, scoring
from ..models import LiveAnswer, LivePlayer, LiveQuestion, LiveRound
from ..protocol import MAX_ANSWER_ID
from . import selectors
from .responses import stored_response
from .state import timing_state


@dataclass(frozen=True)
class AnswerResult:
    """What the player is told: `accepted` with the server's receive time, or a reason."""

    answer_id: str
    accepted: bool
    reason: str = ""
    received_at: int | None = None


def answer_turn(live: LiveRound, question: LiveQuestion, player: LivePlayer) -> str:
    """ "" if the player may answer this question, else why not (a reject reason)."""
    if live.captains_answer and not player.is_captain:
        return "not_captain"
    turn = question.turn
    if turn in (LiveQuestion.Turn.COMPULSORY, LiveQuestion.Turn.RISK):
        return "" if player.team_id == question.team_id else "not_your_turn"
    if turn == LiveQuestion.Turn.BUZZER:
        buzzes = selectors.question_buzzes(question)  # µs stamps and the host's award
        winner = scoring.buzzer_winner(
            buzzes,
            opened_at_ms=question.opened_at or 0,
            window_ms=(question.seconds or live.seconds_per_question) * 1000,
        )
        if winner is None or winner.team != player.team_id:
            return "not_your_turn"
    return ""


def round_for_answer(pk: int) -> LiveRound:
    """The round, share-locked until the answer's transaction ends (PostgreSQL): a host
    command's conditional UPDATE waits for the answers being stored, and an answer
    waits for a command being applied and then reads its result. SQLite's IMMEDIATE
    transactions already serialise the two."""
    if connection.vendor == "postgresql":
        sql = f'SELECT * FROM "{LiveRound._meta.db_table}" WHERE id = %s FOR SHARE'  # noqa: S608
        return LiveRound.objects.raw(sql, [pk])[0]
    return LiveRound.objects.get(pk=pk)


@dataclass(frozen=True)
class AnswerRequest:
    """One answer as received: `received_at` is the server's receive time."""

    player: LivePlayer
    answer_id: Any
    question_index: int
    response: Any
    received_at: int


def answer_submit(
    *,
    player: LivePlayer,
    answer_id: str,
    question_index: int,
    response: Any,
    received_at: int,
) -> AnswerResult:
    """Record one answer (see answers_submit)."""
    [result] = answers_submit(
        [AnswerRequest(player, answer_id, question_index, response, received_at)]
    )
    return result


def answers_submit(requests: list[AnswerRequest]) -> list[AnswerResult]:
    """Record a batch of answers, each decided by the server's receive time alone.

    Idempotent on `answer_id`: a resend gets the same ack and stores nothing new. One
    answer per player and question: a second, different answer is rejected. One
    transaction per round in the batch, with the round share-locked (so a reveal waits
    for it), a few queries whatever the batch size. The caller sends the acks only
    after this returns, so after the rows are committed. realtime.batch gathers the
    answers a process receives while the previous batch is being written.
    """
    results: list[AnswerResult | None] = [None] * len(requests)
    by_round: dict[int, list[int]] = {}
    for n, request in enumerate(requests):
        answer_id = request.answer_id
        if not isinstance(answer_id, str) or not 0 < len(answer_id) <= MAX_ANSWER_ID:
            results[n] = AnswerResult(str(answer_id)[:MAX_ANSWER_ID], False, "bad_answer_id")
        else:
            by_round.setdefault(request.player.round_id, []).append(n)
    for round_id, numbers in by_round.items():
        batch = [requests[n] for n in numbers]
        for n, result in zip(numbers, _round_answers(round_id, batch), strict=True):
            results[n] = result
    return results  # type: ignore[return-value]


def _round_answers(round_id: int, batch: list[AnswerRequest]) -> list[AnswerResult]:
    players = {r.player.pk for r in batch}
    with transaction.atomic():
        live = round_for_answer(round_id)
        earlier = {
            (player, answer_id): at
            for player, answer_id, at in LiveAnswer.objects.filter(
                player_id__in=players, answer_id__in={r.answer_id for r in batch}
            ).values_list("player_id", "answer_id", "received_at")
        }
        kicked = set(
            LivePlayer.objects.filter(pk__in=players, kicked=True).values_list("pk", flat=True)
        )
        state = timing_state(live)
        # The close may already have happened (early, or by the timer): what counts is
        # whether the server received the answer in time, until the key is revealed.
        if state.status == engine.Status.QUESTION_CLOSED:
            state = replace(state, status=engine.Status.QUESTION_OPEN)
        question = (
            LiveQuestion.objects.select_related("version")
            .filter(round=live, position=state.question_index)
            .first()
        )
        verdicts: list[AnswerResult | None] = []
        rows: dict[int, LiveAnswer] = {}  # the first valid answer of each player
        stored: dict[int, tuple[str, int]] = {}
        for r in batch:
            verdicts.append(_answer_verdict(live, state, question, r, earlier, kicked, rows))
        if rows:
            LiveAnswer.objects.bulk_create(rows.values(), ignore_conflicts=True)
            stored = {
                player: (answer_id, at)
                for player, answer_id, at in LiveAnswer.objects.filter(
                    question=question, player_id__in=rows
                ).values_list("player_id", "answer_id", "received_at")
            }
    return [_stored_result(r, verdict, stored) for r, verdict in zip(batch, verdicts, strict=True)]


def _stored_result(
    r: AnswerRequest, verdict: AnswerResult | None, stored: dict[int, tuple[str, int]]
) -> AnswerResult:
    """The result of an answer of the batch, once the batch's rows are written."""
    if verdict is not None:
        return verdict
    # Written, or lost to another answer of the player's.
    answer_id, at = stored.get(r.player.pk, (None, None))
    if answer_id is None:  # a concurrent batch stored this answer_id first
        at = (
            LiveAnswer.objects.filter(player=r.player, answer_id=r.answer_id)
            .values_list("received_at", flat=True)
            .first()
        )
        answer_id = r.answer_id if at is not None else None
    if answer_id == r.answer_id:
        return AnswerResult(r.answer_id, True, received_at=at)
    return AnswerResult(r.answer_id, False, "already_answered")


def _answer_verdict(
    live: LiveRound,
    state: engine.RoundState,
    question: LiveQuestion | None,
    r: AnswerRequest,
    earlier: dict[tuple[int, str], int],
    kicked: set[int],
    rows: dict[int, LiveAnswer],
) -> AnswerResult | None:
    """An early result for one answer of the batch, or None when it is to be written
    (then `rows` holds it, unless the player's first answer in this batch is there)."""
    previous = earlier.get((r.player.pk, r.answer_id))
    if previous is not None:
        return AnswerResult(r.answer_id, True, received_at=previous)
    if r.player.pk in kicked:
        return AnswerResult(r.answer_id, False, "kicked")
    if r.question_index != state.question_index:
        return AnswerResult(r.answer_id, False, "not_current_question")
    verdict = engine.answer_accepted(state, r.received_at, live.grace_ms)
    if not verdict:
        return AnswerResult(r.answer_id, False, verdict.reason or "not_open")
    if question is None or question.voided:
        return AnswerResult(r.answer_id, False, "not_current_question")
    turn = answer_turn(live, question, r.player)
    if turn:
        return AnswerResult(r.answer_id, False, turn)
    # The round's option ids back to the version's, once: stored, scored and exported so.
    response = stored_response(question, r.response)
    if response is None:
        return AnswerResult(r.answer_id, False, "bad_response")
    if r.player.pk not in rows:
        rows[r.player.pk] = LiveAnswer(
            round=live,
            question=question,
            player=r.player,
            answer_id=r.answer_id,
            response=response,
            received_at=r.received_at,
            elapsed_ms=engine.elapsed_ms(state, r.received_at),
            correct=is_correct(question.version.type, question.version.key, response),
        )
    return None
