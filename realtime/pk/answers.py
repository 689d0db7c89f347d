"""Answers of a PK match: judged by the server's receive time alone, stored once per
player and question, acked after commit (the live rounds' rules and result type)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from quizzes.bank.answers import is_correct

from .. import engine
from ..events import publish
from ..live.answers import AnswerResult
from ..live.responses import stored_response
from ..models import PkAnswer, PkPlayer, PkQuestion
from ..protocol import MAX_ANSWER_ID
from . import frames
from .clock import locked_match, step
from .match import state_of


def answer_submit(
    *, player: PkPlayer, answer_id: Any, question_index: Any, response: Any, received_at: int
) -> AnswerResult:
    """Record one answer, judged by the server's receive time alone (late: rejected).
    Idempotent on `answer_id`; one answer per player and question. When both players
    have answered, the question closes and is revealed in the same transaction."""
    if not isinstance(answer_id, str) or not 0 < len(answer_id) <= MAX_ANSWER_ID:
        return AnswerResult(str(answer_id)[:MAX_ANSWER_ID], False, "bad_answer_id")
    with transaction.atomic():
        match = locked_match(player.match_id)
        earlier = PkAnswer.objects.filter(player=player, answer_id=answer_id).first()
        if earlier is not None:
            return AnswerResult(answer_id, True, received_at=earlier.received_at)
        state = state_of(match, match.question_index + 1)
        if question_index != state.question_index:
            return AnswerResult(answer_id, False, "not_current_question")
        verdict = engine.answer_accepted(state, received_at, match.grace_ms)
        if not verdict:
            return AnswerResult(answer_id, False, verdict.reason or "not_open")
        question = PkQuestion.objects.select_related("version").get(
            match=match, position=state.question_index
        )
        # The match's option ids back to the version's, once: stored and scored so.
        response = stored_response(question, response)
        if response is None:
            return AnswerResult(answer_id, False, "bad_response")
        version = question.version
        try:
            with transaction.atomic():
                PkAnswer.objects.create(
                    match=match,
                    question=question,
                    player=player,
                    answer_id=answer_id,
                    response=response,
                    received_at=received_at,
                    elapsed_ms=engine.elapsed_ms(state, received_at),
                    correct=is_correct(version.type, version.key, response),
                )
        except IntegrityError:
            return AnswerResult(answer_id, False, "already_answered")
        publish(match.group_name, frames.answered(question.position, player.seat))
        while step(match):  # both answered: close and reveal now
            match.refresh_from_db()
    return AnswerResult(answer_id, True, received_at=received_at)
