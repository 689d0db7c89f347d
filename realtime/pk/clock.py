"""The PK match's clock: open, close and reveal, next, finish, each step once whichever
player's socket asks (a conditional UPDATE on `seq` under the row lock); frames
published after commit; XP for both players at the end.

The clock keeps to its schedule, not to when its steps happen to run: a question opens
at the `next_at` announced before (its window, `opens_at`/`closes_at`, is counted from
there and stored on the question), and the pause after a reveal is counted from when the
question's time was up. A step that runs late under load therefore neither shifts the
windows that answers are judged by nor pushes the rest of the match later; the lateness
shows as the distance between `opens_at` and when the frame arrives (docs/protocol.md,
"1-v-1 PK"). Only a step later than half a question's time opens the question when it
runs, so that a player still gets most of the time."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from quizzes.play.progress import activity_finished

from .. import engine
from ..events import publish
from ..live.state import now_ms
from ..models import PkMatch, PkPlayer, PkQuestion
from . import frames, selectors
from .match import match_score, state_of, winner
from .snapshots import players_frame


def locked_match(match_id: int) -> PkMatch:
    """The match row, locked until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
    transactions serialise writers already)."""
    return PkMatch.objects.select_for_update().get(pk=match_id)


def _due(match: PkMatch, state: engine.RoundState, answers: int, now: int) -> str | None:
    """The command the clock (or both players having answered) calls for now."""
    if state.status == engine.Status.LOBBY:
        return engine.START if now >= (match.next_at or 0) else None
    if state.status == engine.Status.QUESTION_OPEN:
        late = state.closes_at is not None and now > state.closes_at + match.grace_ms
        return engine.CLOSE if late or answers >= 2 else None
    if state.status == engine.Status.QUESTION_CLOSED:
        return engine.REVEAL
    if state.status == engine.Status.REVEALED and now >= (match.next_at or 0):
        last = state.question_index + 1 >= state.total_questions
        return engine.FINISH if last else engine.NEXT
    return None


def due_at(match: PkMatch) -> int | None:
    """When the clock next moves this match on (server ms); None once finished."""
    if match.status == engine.Status.QUESTION_OPEN:
        return (match.closes_at or 0) + match.grace_ms + 1
    if match.status in (engine.Status.LOBBY, engine.Status.REVEALED):
        return match.next_at
    if match.status == engine.Status.QUESTION_CLOSED:
        return now_ms()
    return None


def scheduled(match: PkMatch, now: int) -> int:
    """When the question opening now counts as opened: at `next_at` as scheduled, unless
    that is more than half a question's time ago."""
    if match.next_at is None or now - match.next_at > match.question_ms // 2:
        return now
    return min(match.next_at, now)


STEP_CHUNK = 20  # matches stepped in one transaction


def match_advances(match_ids: list[int]) -> list[int | None]:
    """match_advance for the matches a process's sockets asked about at once
    (realtime.batch): each match once, one thread hop for all, a transaction for up to
    STEP_CHUNK of them (their frames go out at its commit). Their rows are locked in
    one order (by id), so two processes stepping overlapping sets never deadlock."""
    ids = sorted(set(match_ids))
    due: dict[int, int | None] = {}
    for start in range(0, len(ids), STEP_CHUNK):
        with transaction.atomic():
            chunk = ids[start : start + STEP_CHUNK]
            locked = PkMatch.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
            for match in locked:
                while step(match):
                    pass
                due[match.pk] = due_at(match)
    return [due.get(match_id) for match_id in match_ids]


def match_advance(*, match_id: int) -> int | None:
    """Take every step that is due (open, close and reveal, next, finish), each once
    whichever socket asks, in one transaction under the match's row lock (the frames go
    out in order after the commit); return when the next one is due (None: finished)."""
    with transaction.atomic():
        match = locked_match(match_id)
        while step(match):
            pass
    return due_at(match)


def step(match: PkMatch, now: int | None = None) -> bool:
    """One due step of a locked match, published after commit. False if none is due."""
    now = now_ms() if now is None else now
    questions, players = selectors.match_fixed(match)
    state = state_of(match, len(questions))
    answers = 0
    late = state.closes_at is not None and now > state.closes_at + match.grace_ms
    if state.status == engine.Status.QUESTION_OPEN and not late:
        answers = selectors.answers_at(questions[state.question_index])
    name = _due(match, state, answers, now)
    if name is None:
        return False
    opening = name in (engine.START, engine.NEXT)
    duration = match.question_ms if opening else None
    at = scheduled(match, now) if opening else now
    new, events = engine.apply(state, engine.Command(name, duration_ms=duration), at)
    fields: dict[str, Any] = {
        "status": str(new.status),
        "question_index": new.question_index,
        "opened_at": new.opened_at,
        "closes_at": new.closes_at,
        "seq": new.seq,
    }
    if name == engine.REVEAL:
        # From when the question's time was up (its close was due), or from now if
        # both answered before that.
        ended = (match.closes_at or now) + match.grace_ms + 1
        fields["next_at"] = min(now, ended) + match.reveal_ms
    if not PkMatch.objects.filter(pk=match.pk, seq=state.seq).update(**fields):
        match.refresh_from_db()  # moved by someone else meanwhile: read it again
        return True
    if opening:
        PkQuestion.objects.filter(match=match, position=new.question_index).update(
            opened_at=new.opened_at, closes_at=new.closes_at
        )
    match.__dict__.update(fields)
    for event in events:
        publish(match.group_name, _event_frame(match, questions, new, event, players))
    if name == engine.FINISH:
        _award(match, questions, players)
    return True


def _event_frame(
    match: PkMatch,
    questions: list[PkQuestion],
    state: engine.RoundState,
    event: engine.Event,
    players: list[PkPlayer],
) -> dict[str, Any]:
    if event.type == "question_opened":
        return frames.event(
            event,
            question=frames.question(questions[state.question_index], state),
            server_now=now_ms(),
        )
    if event.type == "revealed":
        return frames.event(
            event,
            reveal=frames.reveal(questions[state.question_index]),
            players=players_frame(match, questions, state.question_index + 1, players),
            next_at=match.next_at,
        )
    if event.type == "finished":
        rows = players_frame(match, questions, len(questions), players)
        return frames.event(event, players=rows, winner=winner(rows))
    return frames.event(event)


def _award(match: PkMatch, questions: list[PkQuestion], players: list[PkPlayer]) -> None:
    """XP for both players (quizzes.play.progress), once per match."""
    score = match_score(match, questions, len(questions), players)
    topics = {q.pk: q.version.topic for q in questions}
    mine: dict[int, list[tuple[str, bool]]] = {}
    for player_id, question_id, correct in selectors.match_answers(match):
        mine.setdefault(player_id, []).append((topics[question_id], correct))
    for player in players:
        total = score.totals[player.pk]
        activity_finished(
            user=player.user,
            kind="pk",
            ref=match.pk,
            correct=total.correct,
            answered=total.answered,
            topics=mine.get(player.pk, []),
            best=total.points,
        )
