"""Snapshots: everything a client needs to draw the round now (after a join, a
reconnect or a gap in seq; docs/architecture.md, live-round rule 4). Read through the selectors,
shaped by realtime.live.frames. What a snapshot holds depends on the state: the key only
once revealed. Its queries are pinned in tests (a whole hall joins through it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .. import engine
from ..events import dumps
from ..models import LivePlayer, LiveQuestion, LiveRound
from . import frames, names, selectors
from .standings import NO_STANDINGS, Standings, standings
from .state import now_ms, round_state, visible_status

REVEALED = (engine.Status.REVEALED, engine.Status.LEADERBOARD, engine.Status.FINISHED)


def snapshot(live: LiveRound, *, role: str, player: LivePlayer | None = None) -> dict[str, Any]:
    """The snapshot `role` (and `player`, for a player) gets of the round now; the
    host's with its whole player list, which `in_pages` splits for sending."""
    questions = selectors.round_questions(live)
    state = round_state(live, len(questions))
    # The host's list of players also gives the count, in the same query.
    player_list = host_list(live) if role == "host" else None
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
        frame["player_list"], frame["player_list_more"] = player_list, 0
        if 0 <= state.question_index < len(questions):
            frame["answers"] = selectors.answer_count(questions[state.question_index])
    if player is not None:
        frame["you"] = you_part(live, player, questions, state, standing, "reveal" in frame)
        frame["permutations"] = frames.permutations(player, questions)
    return frame


def host_list(live: LiveRound) -> list[dict[str, Any]]:
    """The host console's list of players, named as the host may see them."""
    rows = selectors.host_players(live)
    shown = names.for_host(live, [(pk, user, nickname) for pk, user, nickname, *_ in rows])
    return frames.host_player_list(
        [(pk, shown[pk], team, captain) for pk, _user, _nickname, team, captain in rows]
    )


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


# --- the host's player list, in pages ----------------------------------------------------

PLAYER_PAGE = 50  # rows of the host's player list in one frame, at most


def in_pages(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """A snapshot as it is sent: one frame, or for the host the snapshot and then the
    `player_list` frames that carry the rest of its list.

    A server frame is held to the client's cap (WS_MAX_MESSAGE_BYTES: autobahn refuses
    a larger outgoing message), and a hall of 2,000 is some 150 KB of list. So the host's
    snapshot carries the first rows (at most PLAYER_PAGE, fewer when the snapshot is
    large already: it stays within 3/4 of the cap) and says in `player_list_more` how
    many follow; each page carries at most PLAYER_PAGE rows, within the same bound, the
    seq of its snapshot (`snapshot_seq`) and how many rows follow it (`more`)."""
    rows = frame.get("player_list")
    if not rows:
        return [frame]
    budget = settings.WS_MAX_MESSAGE_BYTES * 3 // 4
    sizes = [len(dumps(row).encode()) + 1 for row in rows]  # a row and its comma

    def page(start: int, end: int) -> dict[str, Any]:
        return frames.player_list_page(frame["seq"], rows[start:end], len(rows) - end)

    def fitting(start: int, room: int) -> int:
        """How many rows from `start` (a page at most) fit in `room` bytes."""
        count = 0
        for size in sizes[start : start + PLAYER_PAGE]:
            room -= size
            if room < 0:
                break
            count += 1
        return count

    # Each frame is sized with the largest count of rows to come, which it never outgrows.
    first = fitting(0, budget - _size({**frame, "player_list": [], "player_list_more": len(rows)}))
    sent = [{**frame, "player_list": rows[:first], "player_list_more": len(rows) - first}]
    room = budget - _size(page(0, 0))
    start = first
    while start < len(rows):
        end = start + max(1, fitting(start, room))  # a page takes one row whatever it weighs
        sent.append(page(start, end))
        start = end
    return sent


def _size(frame: dict[str, Any]) -> int:
    return len(dumps(frame).encode())
