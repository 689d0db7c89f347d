"""Every frame of the 1-v-1 PK (docs/protocol.md, "1-v-1 PK"; schemas in
realtime.protocol PK_CLIENT/PK_SERVER), shaped from what the services return and the
selectors read; no query here. The replies a PK socket shares with live rounds (ack,
reject, error, pong) are realtime.live.frames'. Nothing before a reveal carries the key;
option ids are the match's own (realtime.live.responses), never the version's."""

from __future__ import annotations

from typing import Any

from .. import engine, scoring
from ..live.responses import public_key, public_options
from ..models import PkPlayer, PkQuestion
from ..protocol import PROTOCOL_VERSION
from .match import POINTS

Frame = dict[str, Any]


def question(question: PkQuestion, state: engine.RoundState) -> Frame:
    """The one shared frame of an open question (the live rounds' shape, the match's own
    option ids): no key."""
    version = question.version
    return {
        "index": question.position,
        "type": version.type,
        "stem": version.stem,
        "options": public_options(question),
        "points": POINTS,
        "opens_at": state.opened_at,
        "closes_at": state.closes_at,
    }


def reveal(question: PkQuestion) -> Frame:
    """The key (in the match's option ids) and the explanation."""
    explanation = question.version.explanation
    return {"index": question.position, "key": public_key(question), "explanation": explanation}


def players(
    score: scoring.RoundScore, last: PkQuestion | None, seats: list[PkPlayer]
) -> list[Frame]:
    """Both players, by seat: nickname and points; with the last counted question's
    result (`correct`: null for no answer, `gained`) once it is revealed."""
    rows = []
    for player in seats:
        row: Frame = {
            "seat": player.seat,
            "nickname": player.nickname,
            "points": score.totals[player.pk].points,
        }
        if last is not None:
            result = score.per_question[last.pk].get(player.pk)
            row["correct"] = result.correct if result and result.answered else None
            row["gained"] = result.points if result else 0
        rows.append(row)
    return rows


def matched(player: PkPlayer, opponent: PkPlayer) -> Frame:
    """To one player: the match found, the resume token, and the opponent's nickname
    (nothing else of the opponent: no name, school or account)."""
    return {
        "type": "pk_matched",
        "v": PROTOCOL_VERSION,
        "token": player.token,
        "you": {"seat": player.seat, "nickname": player.nickname},
        "opponent": {"seat": opponent.seat, "nickname": opponent.nickname},
    }


def snapshot_head(
    state: engine.RoundState, total: int, server_now: int, rows: list[Frame]
) -> Frame:
    return {
        "type": "snapshot",
        "v": PROTOCOL_VERSION,
        "seq": state.seq,
        "status": str(state.status),
        "question_index": state.question_index,
        "total_questions": total,
        "server_now": server_now,
        "players": rows,
    }


def you(player: PkPlayer, answered: str | None) -> Frame:
    return {"seat": player.seat, "nickname": player.nickname, "answered": answered}


def event(engine_event: engine.Event, **parts: Any) -> Frame:
    """A step of the match as broadcast: the engine's event and what goes with it
    (question, reveal, players, next_at, winner, server_now), in order."""
    frame: Frame = {"type": engine_event.type, "seq": engine_event.seq, **engine_event.data}
    frame.update(parts)
    return frame


def answered(question_index: int, seat: int) -> Frame:
    return {"type": "pk_answered", "question_index": question_index, "seat": seat}


def found() -> Frame:
    return {"type": "pk_found"}


def waiting(until: int, server_now: int) -> Frame:
    return {"type": "pk_waiting", "until": until, "server_now": server_now}


def cancelled() -> Frame:
    return {"type": "pk_cancelled"}


def timeout() -> Frame:
    return {"type": "pk_timeout"}
