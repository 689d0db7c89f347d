"""Answers of a PK match (the live rounds' rules and result type): stamped when the
socket receives them, judged by that stamp against their question's own window
(PkQuestion.opened_at/closes_at + the grace), stored once per player and question,
acked after commit.

Judged by the stamp, not by the match's state when the answer is processed: a process
gathers the answers its sockets receive (realtime.batch) and writes them in one go, and
under load that may be after the match's clock has closed, revealed or moved past the
question. An answer that arrived in time still counts (the player cannot have seen the
key before it arrived: the key goes out only after the close, which comes after the
window and its grace, or once both players have answered); one that arrived late is
refused whenever it is processed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from quizzes.bank.answers import is_correct

from .. import engine
from ..events import publish
from ..live.answers import AnswerResult
from ..live.responses import stored_response
from ..models import PkAnswer, PkPlayer, PkQuestion
from ..protocol import MAX_ANSWER_ID
from . import frames, selectors
from .clock import match_advance

# The thread (and database connection) of a process's PK answer batches: acks never
# wait behind the clock's steps and the snapshots on the process's database thread.
THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pk-answers")


@dataclass(frozen=True)
class PkAnswerRequest:
    """One answer as received: `received_at` is the server's stamp on arrival."""

    player: PkPlayer
    answer_id: Any
    question_index: Any
    response: Any
    received_at: int


def answer_submit(
    *, player: PkPlayer, answer_id: Any, question_index: Any, response: Any, received_at: int
) -> AnswerResult:
    """Record one answer (see answers_submit)."""
    request = PkAnswerRequest(player, answer_id, question_index, response, received_at)
    [result] = answers_submit([request])
    return result


def answers_submit(requests: list[PkAnswerRequest]) -> list[AnswerResult]:
    """Record a batch of answers (answers_stored), then take the steps they call for
    (both players answered: close and reveal now)."""
    stored = answers_stored(requests)
    for match_id in dict.fromkeys(step for _result, step in stored if step is not None):
        match_advance(match_id=match_id)
    return [result for result, _step in stored]


def answers_stored(requests: list[PkAnswerRequest]) -> list[tuple[AnswerResult, int | None]]:
    """Record a batch of answers of any matches, in one transaction and a few queries:
    for each, its result and, when both players have now answered its question, the
    match whose clock should step now (close and reveal at once). The socket acks
    first and asks the clock after (realtime.pk_consumer), so that acks never wait for
    the steps.

    Idempotent on `answer_id` (a resend gets the same ack); one answer per player and
    question (a second, different one: `already_answered`)."""
    results: list[AnswerResult | None] = [None] * len(requests)
    steps: list[int | None] = [None] * len(requests)
    todo: list[int] = []
    for n, r in enumerate(requests):
        if not isinstance(r.answer_id, str) or not 0 < len(r.answer_id) <= MAX_ANSWER_ID:
            results[n] = AnswerResult(str(r.answer_id)[:MAX_ANSWER_ID], False, "bad_answer_id")
        elif not isinstance(r.question_index, int) or isinstance(r.question_index, bool):
            results[n] = AnswerResult(r.answer_id, False, "not_current_question")
        else:
            todo.append(n)
    if not todo:
        return list(zip(results, steps, strict=True))  # type: ignore[arg-type]
    batch = [requests[n] for n in todo]
    with transaction.atomic():
        earlier = {
            (player, answer_id): at
            for player, answer_id, at in PkAnswer.objects.filter(
                player_id__in={r.player.pk for r in batch},
                answer_id__in={r.answer_id for r in batch},
            ).values_list("player_id", "answer_id", "received_at")
        }
        questions = {
            (q.match_id, q.position): q
            for q in PkQuestion.objects.select_related("version", "match").filter(
                match_id__in={r.player.match_id for r in batch},
                position__in={r.question_index for r in batch},
            )
        }
        rows: dict[tuple[int, int], PkAnswer] = {}
        verdicts = [_verdict(r, earlier, questions, rows) for r in batch]
        stored: dict[tuple[int, int], tuple[str, int]] = {}
        twice: list[int] = []
        if rows:
            PkAnswer.objects.bulk_create(rows.values(), ignore_conflicts=True)
            stored = {
                (question, player): (answer_id, at)
                for question, player, answer_id, at in PkAnswer.objects.filter(
                    question_id__in={q for q, _p in rows}, player_id__in={p for _q, p in rows}
                ).values_list("question_id", "player_id", "answer_id", "received_at")
            }
            for key, row in rows.items():
                if stored.get(key, ("",))[0] == row.answer_id:
                    answered = frames.answered(row.question.position, row.player.seat)
                    publish(row.match.group_name, answered)
            twice = selectors.answered_twice({q for q, _p in rows})
    for n, r, verdict in zip(todo, batch, verdicts, strict=True):
        results[n] = verdict or _stored_result(r, questions, stored)
        question = questions.get((r.player.match_id, r.question_index))
        if verdict is None and question is not None and question.pk in twice:
            steps[n] = r.player.match_id
    return list(zip(results, steps, strict=True))  # type: ignore[arg-type]


def _verdict(
    r: PkAnswerRequest,
    earlier: dict[tuple[int, str], int],
    questions: dict[tuple[int, int], PkQuestion],
    rows: dict[tuple[int, int], PkAnswer],
) -> AnswerResult | None:
    """An early result for one answer, or None when it is to be written (then `rows`
    holds it, unless the player's first answer to the question in this batch is there)."""
    previous = earlier.get((r.player.pk, r.answer_id))
    if previous is not None:
        return AnswerResult(r.answer_id, True, received_at=previous)
    question = questions.get((r.player.match_id, r.question_index))
    if question is None:
        return AnswerResult(r.answer_id, False, "not_current_question")
    opened_at, closes_at = _window(question)
    if opened_at is None or closes_at is None:
        return AnswerResult(r.answer_id, False, "not_open")
    window = engine.RoundState(
        status=engine.Status.QUESTION_OPEN,
        question_index=question.position,
        opened_at=opened_at,
        closes_at=closes_at,
    )
    verdict = engine.answer_accepted(window, r.received_at, question.match.grace_ms)
    if not verdict:
        return AnswerResult(r.answer_id, False, verdict.reason or "not_open")
    # The match's option ids back to the version's, once: stored and scored so.
    response = stored_response(question, r.response)
    if response is None:
        return AnswerResult(r.answer_id, False, "bad_response")
    version = question.version
    rows.setdefault(
        (question.pk, r.player.pk),
        PkAnswer(
            match=question.match,
            question=question,
            player=r.player,
            answer_id=r.answer_id,
            response=response,
            received_at=r.received_at,
            elapsed_ms=engine.elapsed_ms(window, r.received_at),
            correct=is_correct(version.type, version.key, response),
        ),
    )
    return None


def _window(question: PkQuestion) -> tuple[int | None, int | None]:
    """The question's window as stored when it opened; for a question without one (a
    match made before windows were stored), the match's, while it is the current one."""
    if question.opened_at is not None:
        return question.opened_at, question.closes_at
    match = question.match
    if match.question_index == question.position and match.status != engine.Status.LOBBY:
        return match.opened_at, match.closes_at
    return None, None


def _stored_result(
    r: PkAnswerRequest,
    questions: dict[tuple[int, int], PkQuestion],
    stored: dict[tuple[int, int], tuple[str, int]],
) -> AnswerResult:
    """The result of an answer that was to be written, once the batch's rows are."""
    question = questions[(r.player.match_id, r.question_index)]
    answer_id, at = stored.get((question.pk, r.player.pk), (None, None))
    if answer_id is None:  # a concurrent batch stored this answer_id first
        at = (
            PkAnswer.objects.filter(player=r.player, answer_id=r.answer_id)
            .values_list("received_at", flat=True)
            .first()
        )
        answer_id = r.answer_id if at is not None else None
    if answer_id == r.answer_id:
        return AnswerResult(r.answer_id, True, received_at=at)
    return AnswerResult(r.answer_id, False, "already_answered")
