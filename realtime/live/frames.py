"""Every frame of the live-round protocol is shaped here (docs/protocol.md; schemas in
realtime.protocol), from what the services return and the selectors read. No query and
no write: a frame builder only arranges data. Nothing that reveals the key goes into a
frame before the reveal (docs/architecture.md, live-round rule 3): `question` carries opaque
option ids only, `reveal` is built only once the question is revealed. Option ids are the
round's own (realtime.live.responses.public_ids), never the version's."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from quizzes.models import QuestionType

from .. import engine, scoring
from ..models import LivePlayer, LiveQuestion, LiveRound, PkPlayer, PkQuestion
from ..protocol import PROTOCOL_VERSION
from .responses import public_ids, public_key, public_options

if TYPE_CHECKING:
    from ..scoring import Buzz, BuzzOutcome
    from .answers import AnswerResult
    from .finals import BuzzResult, StakeResult

Frame = dict[str, Any]


# --- the socket: welcome, errors, clock ---------------------------------------------------


def welcome(role: str, player: LivePlayer | None = None) -> Frame:
    if player is None:
        return {"type": "welcome", "v": PROTOCOL_VERSION, "role": role}
    return {
        "type": "welcome",
        "v": PROTOCOL_VERSION,
        "role": role,
        "player": {"id": player.pk, "nickname": player.nickname},
        "token": player.token,
    }


def error(code: str, detail: str = "") -> Frame:
    frame = {"type": "error", "code": code}
    if detail:
        frame["detail"] = detail
    return frame


def pong(client_t: Any, server_now: int) -> Frame:
    return {"type": "pong", "t": client_t, "server_now": server_now}


# --- questions ------------------------------------------------------------------------------


def option_order(player: LivePlayer | PkPlayer, question: LiveQuestion | PkQuestion) -> list[int]:
    """This player's order of the question's options, as indexes into the shared
    frame's option list. Derived from a secret seed, sent only to this player."""
    order = list(range(len(question.version.options)))
    random.Random(f"{player.permutation_seed}:{question.position}").shuffle(order)
    return order


def permutations(
    player: LivePlayer | PkPlayer, questions: list[LiveQuestion] | list[PkQuestion]
) -> list[list[int]]:
    return [option_order(player, q) for q in questions]


def question(live: LiveRound, question: LiveQuestion, state: engine.RoundState) -> Frame:
    """The one shared frame of an open question: stem and options with the round's
    opaque ids. No key, no explanation, no correct flag."""
    version = question.version
    frame = {
        "index": question.position,
        "type": version.type,
        "stem": version.stem,
        "options": public_options(question),
        "points": question.points,
        "opens_at": state.opened_at,
        "closes_at": state.closes_at,
    }
    if live.kind == LiveRound.Kind.FINALS:
        frame.update(turn=question.turn, team=question.team_id, value=question.value)
    return frame


def reveal(question: LiveQuestion, responses: list[Any], answers: int) -> Frame:
    """The key, the explanation and how the answers (`responses`, as stored) spread over
    the options, all in the round's option ids; typed answers are not charted."""
    version = question.version
    counts: dict[str, int] = {}
    if version.type not in (QuestionType.FILL, QuestionType.NUMERIC):
        shown = public_ids(question)
        for response in responses:
            for choice in response if isinstance(response, list) else [response]:
                label = (
                    shown.get(choice, choice) if isinstance(choice, str) else str(choice).lower()
                )
                counts[label] = counts.get(label, 0) + 1
    return {
        "index": question.position,
        "key": public_key(question),
        "explanation": version.explanation,
        "distribution": counts,
        "answers": answers,
        "voided": question.voided,
    }


# --- broadcasts -----------------------------------------------------------------------------


def round_event(event: engine.Event, **parts: Any) -> Frame:
    """A state change as broadcast: the engine's event (type, seq, data) and the parts
    that go with it (question, reveal, leaderboard, opened_at, server_now), in order."""
    frame: Frame = {"type": event.type, "seq": event.seq, **event.data}
    frame.update((name, part) for name, part in parts.items() if part is not None)
    return frame


def kicked(player_id: int) -> Frame:
    return {"type": "kicked", "player": player_id}


def player_left(player_id: int) -> Frame:
    return {"type": "player_left", "player": player_id}


def replaced(player_id: int, device: int) -> Frame:
    """To the player's sockets: device number `device` holds the seat now. `device`
    comes first: the consumer reads it from the text (realtime.consumers.REPLACED_PREFIX)."""
    return {"type": "replaced", "device": device, "player": player_id}


def player_replaced(player: LivePlayer, name: str) -> Frame:
    """To the host: another device took this player's seat. `name`: as the host may
    see it (realtime.live.names.for_host)."""
    return {
        "type": "player_replaced",
        "player": {
            "id": player.pk,
            "nickname": name,
            "team": player.team_id,
            "captain": player.is_captain,
        },
    }


def locked(is_locked: bool) -> Frame:
    return {"type": "locked", "locked": is_locked}


def player_joined(player: LivePlayer, name: str) -> Frame:
    """A player joined; `name` as the frame's audience may see it (realtime.live.names:
    the public name for the screen, the host's view for the host)."""
    return {
        "type": "player_joined",
        "player": {
            "id": player.pk,
            "nickname": name,
            "team": player.team_id,
            "captain": player.is_captain,
        },
    }


def buzzed(question_index: int, buzz: Buzz) -> Frame:
    """A buzz leads now; `awarded` when the host gave it the question after a tie."""
    return {"type": "buzzed", "question": question_index, **buzz_lead(buzz)}


def buzz_tie(question_index: int, tied: tuple[Buzz, ...]) -> Frame:
    return {"type": "buzz_tie", "question": question_index, **buzz_tied(tied)}


def staked(question_index: int, team: int, stake: int) -> Frame:
    return {"type": "staked", "question": question_index, "team": team, "stake": stake}


def answer_count(question_index: int, answers: int) -> Frame:
    return {"type": "answer_count", "question": question_index, "answers": answers}


# --- replies to one player ------------------------------------------------------------------


def answer_reply(result: AnswerResult) -> Frame:
    """An answer's ack (after its row is committed) or reject."""
    if result.accepted:
        return {"type": "ack", "answer_id": result.answer_id, "received_at": result.received_at}
    return {"type": "reject", "answer_id": result.answer_id, "reason": result.reason}


def buzz_reply(result: BuzzResult) -> Frame:
    if result.reason:
        return {"type": "buzz_reject", "question": result.question, "reason": result.reason}
    return {
        "type": "buzz_ack",
        "question": result.question,
        "received_at": result.received_at,
        "received_us": result.received_us,
        "first": result.first,
    }


def stake_reply(result: StakeResult) -> Frame:
    if result.reason:
        return {"type": "stake_reject", "question": result.question, "reason": result.reason}
    return {"type": "stake_ack", "question": result.question, "stake": result.stake}


# --- standings ------------------------------------------------------------------------------


def player_row(rank: int, player: int, nickname: str, points: int) -> Frame:
    """A leaderboard row; `nickname` is the public name (realtime.live.names.public)."""
    return {"rank": rank, "player": player, "nickname": nickname, "points": points}


def team_row(rank: int, team: int, name: str, points: int) -> Frame:
    return {"rank": rank, "team": team, "name": name, "points": points}


def your_team(row: Frame) -> Frame:
    """A player's team part of "you", from the team's leaderboard row."""
    return {"id": row["team"], "name": row["name"], "points": row["points"], "rank": row["rank"]}


# --- snapshots ------------------------------------------------------------------------------


def snapshot_head(
    live: LiveRound, state: engine.RoundState, players: int, server_now: int
) -> Frame:
    return {
        "type": "snapshot",
        "v": PROTOCOL_VERSION,
        "seq": state.seq,
        "status": str(state.status),
        "paused_from": str(state.paused_from or ""),
        "question_index": state.question_index,
        "total_questions": state.total_questions,
        "title": live.title,
        "pin": live.pin,
        "locked": live.locked,
        "players": players,
        "server_now": server_now,
    }


def host_player_list(rows: list[tuple[int, str, int | None, bool]]) -> list[Frame]:
    """The host console's list: id, nickname, team and whether they are its captain."""
    return [
        {"id": pk, "nickname": nickname, "team": team, "captain": captain}
        for pk, nickname, team, captain in rows
    ]


def player_list_page(snapshot_seq: int, rows: list[Frame], more: int) -> Frame:
    """A page of the host's list that follows its snapshot (realtime.live.snapshots.in_pages):
    the snapshot's seq, the rows, how many rows follow this page."""
    return {"type": "player_list", "snapshot_seq": snapshot_seq, "players": rows, "more": more}


def team_list(teams: list[tuple[int, str]]) -> list[Frame]:
    return [{"id": pk, "name": name} for pk, name in teams]


def buzz_lead(buzz: Buzz) -> Frame:
    lead = {"team": buzz.team, "received_at": buzz.received_at_ms, "received_us": buzz.stamp_us}
    if buzz.awarded:
        lead["awarded"] = True
    return lead


def buzz_tied(tied: tuple[Buzz, ...]) -> Frame:
    """The teams tied for first, in receive order, and the tie window."""
    return {
        "teams": [
            {"team": b.team, "received_at": b.received_at_ms, "received_us": b.stamp_us}
            for b in tied
        ],
        "window_us": scoring.BUZZ_TIE_US,
    }


def buzz_parts(outcome: BuzzOutcome) -> Frame:
    """A snapshot's part of a buzzer question: who answers (`buzz`), and the tie, if
    any (`buzz_tie`: kept after the host's award, which `buzz.awarded` shows)."""
    parts: Frame = {}
    if outcome.winner is not None:
        parts["buzz"] = buzz_lead(outcome.winner)
    if outcome.tied:
        parts["buzz_tie"] = buzz_tied(outcome.tied)
    return parts


def stakes(rows: list[tuple[int, int, int]]) -> list[Frame]:
    return [{"question": position, "team": team, "stake": stake} for position, team, stake in rows]


def you_in_snapshot(
    player: LivePlayer,
    mine: Frame,
    *,
    answered: str | None,
    revealed: bool,
    team_row: Frame | None,
    finals: bool,
    plays_as_teams: bool,
) -> Frame:
    """A player's own part of a snapshot: scores so far (`mine`, from the standings),
    the answer given to the current question; a question's result only with its reveal.
    `team_row`: the team's leaderboard row for a player who joined since the standings."""
    you = {
        "points": 0,
        "streak": 0,
        "rank": None,
        **mine,
        "player": player.pk,
        "nickname": player.nickname,
        "answered": answered,
    }
    if not revealed:  # the result of a question belongs to its reveal
        you.pop("correct", None)
        you.pop("gained", None)
    if plays_as_teams:
        you["captain"] = player.is_captain
        if team_row is not None and "team" not in you:
            you["team"] = your_team(team_row)
            if finals:
                you.update(points=team_row["points"], rank=team_row["rank"])
    return you
