"""A live round's state as the engine sees it (realtime.engine.RoundState), read from
and written back to its row, and the server clock every deadline is measured on."""

from __future__ import annotations

import time
from typing import Any

from accounts.models import User

from .. import engine
from ..models import LiveRound


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class CommandRefused(Exception):  # noqa: N818 - a refusal the protocol reports, not a bug
    """A host command that was not applied; `code` goes into the error frame."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


def round_state(live: LiveRound, total_questions: int | None = None) -> engine.RoundState:
    if total_questions is None:
        total_questions = live.questions.count()
    return engine.RoundState(
        status=live.status,
        question_index=live.question_index,
        total_questions=total_questions,
        opened_at=live.opened_at,
        closes_at=live.closes_at,
        paused_from=live.paused_from or None,
        remaining_ms=live.remaining_ms,
        seq=live.seq,
    )


def timing_state(live: LiveRound) -> engine.RoundState:
    """The round's state for deadline checks (answers, buzzes, the close timer), which
    do not need the number of questions: saves a count query on the hot path."""
    return round_state(live, total_questions=live.question_index + 1)


def state_fields(state: engine.RoundState) -> dict[str, Any]:
    """The row's fields that hold `state` (for a conditional UPDATE)."""
    return {
        "status": str(state.status),
        "question_index": state.question_index,
        "opened_at": state.opened_at,
        "closes_at": state.closes_at,
        "paused_from": str(state.paused_from or ""),
        "remaining_ms": state.remaining_ms,
        "seq": state.seq,
    }


def is_host(live: LiveRound, user: User | None) -> bool:
    return bool(user and user.is_authenticated and (user.pk == live.host_id or user.is_superuser))


def scored_until(state: engine.RoundState) -> int:
    """Questions whose points may be shown: those revealed so far."""
    if state.status in (engine.Status.REVEALED, engine.Status.LEADERBOARD, engine.Status.FINISHED):
        return state.question_index + 1
    if state.status == engine.Status.PAUSED and state.paused_from in (
        engine.Status.REVEALED,
        engine.Status.LEADERBOARD,
    ):
        return state.question_index + 1
    return max(state.question_index, 0)


def visible_status(state: engine.RoundState) -> engine.Status | None:
    """What players see of the round: a paused round shows the state it was paused in."""
    return state.status if state.status != engine.Status.PAUSED else state.paused_from
