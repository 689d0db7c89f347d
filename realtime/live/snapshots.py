"""Snapshots: everything a client needs to draw the round now (after a join, a
reconnect or a gap in seq; docs/architecture.md, live-round rule 4). Read through the selectors,
shaped by realtime.live.frames. What a snapshot holds depends on the state: the key only
once revealed. Its queries are pinned in tests (a whole hall joins through it)."""

from __future__ import annotations

from typing import Any

from .. import engine
from ..models import LivePlayer, LiveQuestion, LiveRound
from . import frames, selectors
from .standings import NO_STANDINGS, Standings, standings
from .state import now_ms, round_state, visible_status

REVEALED = (engine.Status.REVEALED, engine.Status.LEADERBOARD, engine.Status.FINISHED)


def snapshot(live: LiveRound, *, role: str, player: LivePlayer | None = None) -> dict[str, Any]:
    """The snapshot `role` (and `player`, for a player) gets of the round now."""
    questions = selectors.round_questions(live)
    state = round_state(live, len(questions))
    # The host's list of players also gives the count, in the same query.
    player_list = frames.host_player_list(selectors.host_players(live)) if role == "host" else None
    players = len(player_list) if player_list is not None else selectors.player_count(live)
    frame = frames.snapshot_head(live, state, players, now_ms())
    visible = visible_status(state)
    current = None
    if 0 <= state.question_index < len(questions) and visible not in (None, engine.Status.LOBBY):
        current = questions[state.question_index]
        frame["question"] = frames.question(live, current, state)
        if state.status == engine.Status.PAUSED and state.remaining_ms is not None:
            frame["remaining_ms"] = state.remaining_ms
        if visible in REVEALED:
            frame["reveal"] = frames.reveal(
                current, selectors.answer_responses(current), selectors.answer_count(current)
            )
    if visible in (None, engine.Status.LOBBY) and not live.plays_as_teams:
        standing = NO_STANDINGS  # nothing scored yet: the lobby's joins skip the scores
    else:
        standing = standings(live, state, questions)
    if visible in (engine.Status.LEADERBOARD, engine.Status.FINISHED):
        frame["leaderboard"] = standing.top()
    if live.plays_as_teams:
        frame["teams"] = frames.team_list(selectors.team_list(live))
    if live.kind == LiveRound.Kind.FINALS:
        frame.update(finals_parts(questions, state))
    if role == "host":
        frame["allowed"] = sorted(engine.allowed_commands(state))
        frame["player_list"] = player_list
        if 0 <= state.question_index < len(questions):
            frame["answers"] = selectors.answer_count(questions[state.question_index])
    if player is not None:
        frame["you"] = you_part(live, player, questions, state, standing, "reveal" in frame)
        frame["permutations"] = frames.permutations(player, questions)
    return frame


def you_part(
    live: LiveRound,
    player: LivePlayer,
    questions: list[LiveQuestion],
    state: engine.RoundState,
    standing: Standings,
    revealed: bool,
) -> dict[str, Any]:
    mine = None
    if 0 <= state.question_index < len(questions):
        mine = selectors.answered_id(questions[state.question_index], player)
    team_row = None
    if live.plays_as_teams and player.team_id is not None:
        # Joined since the standings were computed: the team's row is there.
        team_row = next((r for r in standing.rows if r.get("team") == player.team_id), None)
    return frames.you_in_snapshot(
        player,
        standing.you.get(player.pk, {}),
        answered=mine,
        revealed=revealed,
        team_row=team_row,
        finals=live.kind == LiveRound.Kind.FINALS,
        plays_as_teams=live.plays_as_teams,
    )


def finals_parts(questions: list[LiveQuestion], state: engine.RoundState) -> dict[str, Any]:
    """What a reconnecting captain or screen needs of the finals: who leads the buzz
    on the current question (or the tie the host settles), and the stakes of the
    current and the next question."""
    parts: dict[str, Any] = {}
    index = state.question_index
    if 0 <= index < len(questions) and questions[index].turn == LiveQuestion.Turn.BUZZER:
        current = questions[index]  # read through its round: `round` is known, no query
        parts.update(frames.buzz_parts(selectors.buzz_outcome(current.round, current)))
    near = [q.pk for q in questions[max(index, 0) : index + 2]]
    parts["stakes"] = frames.stakes(selectors.stakes_shown(near))
    return parts
