"""What a PK player's page needs: the match found, and snapshots (after a match is
found, a reconnect or a gap in seq). Read through the selectors, shaped by frames."""

from __future__ import annotations

from typing import Any

from .. import engine
from ..live.frames import permutations
from ..live.state import now_ms
from ..models import PkMatch, PkPlayer, PkQuestion
from . import frames, selectors
from .match import match_score, revealed_until, state_of, winner


def players_frame(
    match: PkMatch, questions: list[PkQuestion], until: int, players: list[PkPlayer]
) -> list[dict[str, Any]]:
    """Both players' rows (frames.players) scored on the first `until` questions."""
    score = match_score(match, questions, until, players)
    return frames.players(score, questions[until - 1] if until else None, players)


def snapshot(match: PkMatch, player: PkPlayer) -> dict[str, Any]:
    """Everything a player's page needs now. The key only once the current question is
    revealed."""
    questions, players = selectors.match_fixed(match)
    state = state_of(match, len(questions))
    rows = players_frame(match, questions, revealed_until(state), players)
    frame = frames.snapshot_head(state, len(questions), now_ms(), rows)
    if state.status in (engine.Status.LOBBY, engine.Status.REVEALED) and match.next_at:
        frame["next_at"] = match.next_at
    if 0 <= state.question_index < len(questions):
        current = questions[state.question_index]
        frame["question"] = frames.question(current, state)
        if state.status in (engine.Status.REVEALED, engine.Status.FINISHED):
            frame["reveal"] = frames.reveal(current)
    if state.status == engine.Status.FINISHED:
        frame["winner"] = winner(rows)
    answered = None
    if 0 <= state.question_index < len(questions):
        answered = selectors.answered_id(questions[state.question_index], player)
    frame["you"] = frames.you(player, answered)
    frame["permutations"] = permutations(player, questions)
    return frame


def matched_frame(player: PkPlayer) -> dict[str, Any]:
    """To one player: the match found (frames.matched)."""
    _questions, seats = selectors.match_fixed(player.match)
    return frames.matched(player, next(p for p in seats if p.pk != player.pk))
