"""A PK match's state and scores: the engine's view of the match row, and classic
speed scores (realtime.scoring) of the questions revealed so far."""

from __future__ import annotations

from typing import Any

from quizzes.models import QuestionType

from .. import engine, scoring
from ..models import PkMatch, PkPlayer, PkQuestion
from . import selectors

QUESTIONS = 5
TYPES = (QuestionType.SINGLE, QuestionType.TRUE_FALSE)
POINTS = scoring.BASE_POINTS


def state_of(match: PkMatch, total: int) -> engine.RoundState:
    return engine.RoundState(
        status=match.status,
        question_index=match.question_index,
        total_questions=total,
        opened_at=match.opened_at,
        closes_at=match.closes_at,
        seq=match.seq,
    )


def revealed_until(state: engine.RoundState) -> int:
    """How many questions count in the scores shown now: those revealed so far."""
    if state.status in (engine.Status.REVEALED, engine.Status.FINISHED):
        return state.question_index + 1
    return max(state.question_index, 0)


def match_score(
    match: PkMatch, questions: list[PkQuestion], until: int, players: list[PkPlayer]
) -> scoring.RoundScore:
    """Classic speed scores (realtime.scoring) of the first `until` questions."""
    counted = questions[:until]
    answers = selectors.scoring_answers([q.pk for q in counted])
    return scoring.score_round(
        [scoring.Question(q.pk, POINTS, match.question_ms) for q in counted],
        [scoring.Answer(p, q, c, e) for p, q, c, e in answers],
        scoring.CLASSIC,
        players=[p.pk for p in players],
    )


def winner(rows: list[dict[str, Any]]) -> int | None:
    """The seat with more points; None for a draw."""
    if rows[0]["points"] == rows[1]["points"]:
        return None
    return max(rows, key=lambda row: row["points"])["seat"]
