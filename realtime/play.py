"""Playing a live round: host commands, answers, and the frames players see.

Every state change goes through `realtime.engine.apply` and is written back with a
conditional UPDATE on `seq` (DESIGN.md, live-round rule 1), so two hosts pressing
"next" at once, or a host and the close timer, change the round once. Answers are
rows with unique constraints; an answer is acked only after its row is committed
(rule 2). Frames are built here, published after commit (realtime.events), and
nothing that reveals the key goes out before the reveal (rule 3).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.content import is_correct
from quizzes.models import QuestionType

from . import engine, scoring
from .events import publish
from .models import LiveAnswer, LivePlayer, LiveQuestion, LiveRound

PROTOCOL_VERSION = 1
LEADERBOARD_TOP = 10
MAX_ANSWER_ID = 64
MAX_TEXT_ANSWER = 200


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class CommandRefused(Exception):  # noqa: N818 - a refusal the protocol reports, not a bug
    """A host command that was not applied; `code` goes into the error frame."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


# --- state --------------------------------------------------------------------------


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


def _state_fields(state: engine.RoundState) -> dict[str, Any]:
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


# --- frames -------------------------------------------------------------------------


def option_order(player: LivePlayer, question: LiveQuestion) -> list[int]:
    """This player's order of the question's options, as indexes into the shared
    frame's option list. Derived from a secret seed, sent only to this player."""
    order = list(range(len(question.version.options)))
    random.Random(f"{player.permutation_seed}:{question.position}").shuffle(order)
    return order


def permutations(player: LivePlayer, questions: list[LiveQuestion]) -> list[list[int]]:
    return [option_order(player, q) for q in questions]


def question_frame(live: LiveRound, question: LiveQuestion, state: engine.RoundState) -> dict:
    """The one shared frame of an open question: stem and options with opaque ids.
    No key, no explanation, no correct flag."""
    version = question.version
    return {
        "index": question.position,
        "type": version.type,
        "stem": version.stem,
        "options": [{"id": o["id"], "text": o["text"]} for o in version.options],
        "points": question.points,
        "opens_at": state.opened_at,
        "closes_at": state.closes_at,
    }


def _questions(live: LiveRound) -> list[LiveQuestion]:
    return list(live.questions.select_related("version").order_by("position"))


def _scored_until(state: engine.RoundState) -> int:
    """Questions whose points may be shown: those revealed so far."""
    if state.status in (engine.Status.REVEALED, engine.Status.LEADERBOARD, engine.Status.FINISHED):
        return state.question_index + 1
    if state.status == engine.Status.PAUSED and state.paused_from in (
        engine.Status.REVEALED,
        engine.Status.LEADERBOARD,
    ):
        return state.question_index + 1
    return max(state.question_index, 0)


_score_cache: dict[int, tuple[tuple, scoring.RoundScore]] = {}


def round_score(live: LiveRound, state: engine.RoundState) -> scoring.RoundScore:
    """Scores from the recorded answers of the questions revealed so far (never the
    open one). Cached per process by round and seq: seq moves on every reveal and void."""
    questions = [q for q in _questions(live) if q.position < _scored_until(state)]
    cache_key = (state.seq, tuple((q.pk, q.voided) for q in questions))
    cached = _score_cache.get(live.pk)
    if cached is not None and cached[0] == cache_key:
        return cached[1]
    seconds = live.seconds_per_question
    answers = LiveAnswer.objects.filter(question__in=[q.pk for q in questions]).values_list(
        "player_id", "question_id", "correct", "elapsed_ms"
    )
    players = LivePlayer.objects.filter(round=live, kicked=False).values_list("pk", flat=True)
    score = scoring.score_round(
        [
            scoring.Question(
                id=q.pk,
                points=q.points,
                time_limit_ms=(q.seconds or seconds) * 1000,
                void=q.voided,
            )
            for q in questions
        ],
        [scoring.Answer(p, q, c, e) for p, q, c, e in answers],
        scoring.Settings(speed=live.kind == LiveRound.Kind.CLASSIC, streak_bonus=live.streak_bonus),
        players=players,
    )
    _score_cache[live.pk] = (cache_key, score)
    return score


def leaderboard(live: LiveRound, score: scoring.RoundScore) -> tuple[list[dict], dict[int, int]]:
    ranked = scoring.rank_round(score)
    names = dict(LivePlayer.objects.filter(round=live).values_list("pk", "nickname"))
    top = [
        {"rank": r.rank, "player": r.id, "nickname": names.get(r.id, ""), "points": r.row["points"]}
        for r in ranked[:LEADERBOARD_TOP]
    ]
    return top, {r.id: r.rank for r in ranked}


def reveal_frame(question: LiveQuestion) -> dict:
    version = question.version
    counts: dict[str, int] = {}
    for response in LiveAnswer.objects.filter(question=question).values_list("response", flat=True):
        for choice in response if isinstance(response, list) else [response]:
            label = choice if isinstance(choice, str) else str(choice).lower()
            if version.type in (QuestionType.FILL, QuestionType.NUMERIC):
                continue
            counts[label] = counts.get(label, 0) + 1
    return {
        "index": question.position,
        "key": version.key,
        "explanation": version.explanation,
        "distribution": counts,
        "answers": LiveAnswer.objects.filter(question=question).count(),
        "voided": question.voided,
    }


def snapshot(live: LiveRound, *, role: str, player: LivePlayer | None = None) -> dict:
    """Everything a client needs to draw the round now (after a join, a reconnect or
    a gap in seq). What it holds depends on the state: the key only once revealed."""
    questions = _questions(live)
    state = round_state(live, len(questions))
    frame: dict[str, Any] = {
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
        "players": LivePlayer.objects.filter(round=live, kicked=False).count(),
        "server_now": now_ms(),
    }
    visible = state.status if state.status != engine.Status.PAUSED else state.paused_from
    if 0 <= state.question_index < len(questions) and visible not in (None, engine.Status.LOBBY):
        current = questions[state.question_index]
        frame["question"] = question_frame(live, current, state)
        if state.status == engine.Status.PAUSED and state.remaining_ms is not None:
            frame["remaining_ms"] = state.remaining_ms
        if visible in (engine.Status.REVEALED, engine.Status.LEADERBOARD, engine.Status.FINISHED):
            frame["reveal"] = reveal_frame(current)
    score = round_score(live, state)
    top, ranks = leaderboard(live, score)
    if visible in (engine.Status.LEADERBOARD, engine.Status.FINISHED):
        frame["leaderboard"] = top
    if role == "host":
        frame["allowed"] = sorted(engine.allowed_commands(state))
        if 0 <= state.question_index < len(questions):
            frame["answers"] = LiveAnswer.objects.filter(
                question=questions[state.question_index]
            ).count()
    if player is not None:
        total = score.totals.get(player.pk)
        mine = None
        if 0 <= state.question_index < len(questions):
            mine = (
                LiveAnswer.objects.filter(question=questions[state.question_index], player=player)
                .values_list("answer_id", flat=True)
                .first()
            )
        frame["you"] = {
            "player": player.pk,
            "nickname": player.nickname,
            "points": total.points if total else 0,
            "streak": total.streak if total else 0,
            "rank": ranks.get(player.pk),
            "answered": mine,
        }
        frame["permutations"] = permutations(player, questions)
    return frame


# --- host commands ------------------------------------------------------------------


def _duration_ms(live: LiveRound, question: LiveQuestion) -> int:
    return (question.seconds or live.seconds_per_question) * 1000


def round_command(
    *,
    live: LiveRound,
    actor: User | None,
    name: str,
    question_index: int | None = None,
    if_seq: int | None = None,
) -> engine.RoundState:
    """Apply one host command. Raises PermissionDenied for anyone but the round's host
    and CommandRefused when the state does not allow it; nothing changes then.
    With `if_seq`, only if the round has not moved since (the close timer)."""
    if not is_host(live, actor):
        raise PermissionDenied(_("Only the host of this round can do that."))
    for _attempt in range(5):
        with transaction.atomic():
            fresh = LiveRound.objects.get(pk=live.pk)
            questions = _questions(fresh)
            state = round_state(fresh, len(questions))
            if if_seq is not None and state.seq != if_seq:
                raise CommandRefused("stale", "the round has moved on")
            duration = None
            if name in (engine.START, engine.NEXT) and state.question_index + 1 < len(questions):
                duration = _duration_ms(fresh, questions[state.question_index + 1])
            try:
                new, events = engine.apply(
                    state,
                    engine.Command(name, duration_ms=duration, question_index=question_index),
                    now_ms(),
                )
            except engine.IllegalCommand as refused:
                raise CommandRefused(refused.code, str(refused)) from None
            updated = LiveRound.objects.filter(pk=fresh.pk, seq=state.seq).update(
                **_state_fields(new)
            )
            if not updated:
                continue  # someone else moved the round first: read it again
            if name == engine.VOID:
                LiveQuestion.objects.filter(round=fresh, position=question_index).update(
                    voided=True
                )
            fresh.__dict__.update(_state_fields(new))
            _publish_events(fresh, questions, new, events)
            return new
    raise CommandRefused("busy", "the round kept changing; try again")


def _publish_events(
    live: LiveRound,
    questions: list[LiveQuestion],
    state: engine.RoundState,
    events: list[engine.Event],
) -> None:
    for event in events:
        frame: dict[str, Any] = {"type": event.type, "seq": event.seq, **event.data}
        per_player = None
        if event.type == "question_opened":
            frame["question"] = question_frame(live, questions[state.question_index], state)
            frame["server_now"] = now_ms()
        elif event.type in ("revealed", "question_voided", "leaderboard", "finished"):
            if event.type == "revealed":
                frame["reveal"] = reveal_frame(questions[state.question_index])
            score = round_score(live, state)
            top, ranks = leaderboard(live, score)
            frame["leaderboard"] = top
            per_player = {
                pid: {
                    "points": total.points,
                    "streak": total.streak,
                    "rank": ranks.get(pid),
                    **_last_result(score, questions, state, pid),
                }
                for pid, total in score.totals.items()
            }
        elif event.type == "resumed" and state.status == engine.Status.QUESTION_OPEN:
            frame["opened_at"] = state.opened_at
            frame["server_now"] = now_ms()
        publish(live.group_name, frame, per_player=per_player)


def _last_result(score, questions, state, pid) -> dict[str, Any]:
    if not 0 <= state.question_index < len(questions):
        return {}
    result = score.per_question.get(questions[state.question_index].pk, {}).get(pid)
    if result is None:
        return {}
    return {"correct": result.correct, "gained": result.points}


@transaction.atomic
def player_kick(*, live: LiveRound, actor: User | None, player_id: int) -> None:
    if not is_host(live, actor):
        raise PermissionDenied(_("Only the host of this round can do that."))
    if LivePlayer.objects.filter(round=live, pk=player_id, kicked=False).update(kicked=True):
        publish(live.group_name, {"type": "kicked", "player": player_id}, to=player_id)
        publish(
            live.group_name, {"type": "player_left", "player": player_id}, roles=["host", "screen"]
        )


@transaction.atomic
def round_lock(*, live: LiveRound, actor: User | None, locked: bool) -> None:
    if not is_host(live, actor):
        raise PermissionDenied(_("Only the host of this round can do that."))
    if LiveRound.objects.filter(pk=live.pk).exclude(locked=locked).update(locked=locked):
        publish(live.group_name, {"type": "locked", "locked": locked}, roles=["host", "screen"])


# --- answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerResult:
    """What the player is told: `accepted` with the server's receive time, or a reason."""

    answer_id: str
    accepted: bool
    reason: str = ""
    received_at: int | None = None

    def frame(self) -> dict[str, Any]:
        if self.accepted:
            return {"type": "ack", "answer_id": self.answer_id, "received_at": self.received_at}
        return {"type": "reject", "answer_id": self.answer_id, "reason": self.reason}


def _response_fits(question: LiveQuestion, response: Any) -> bool:
    """The shape of a response: choices must name options of this question."""
    version = question.version
    ids = {o["id"] for o in version.options}
    if version.type == QuestionType.SINGLE:
        return isinstance(response, str) and response in ids
    if version.type in (QuestionType.MULTIPLE, QuestionType.ORDERING):
        return (
            isinstance(response, list)
            and 0 < len(response) <= len(ids)
            and all(isinstance(r, str) and r in ids for r in response)
            and len(set(response)) == len(response)
        )
    if version.type == QuestionType.TRUE_FALSE:
        return isinstance(response, bool)
    if version.type == QuestionType.FILL:
        return isinstance(response, str) and 0 < len(response) <= MAX_TEXT_ANSWER
    if version.type == QuestionType.NUMERIC:
        return not isinstance(response, bool) and (
            isinstance(response, (int, float))
            or (isinstance(response, str) and len(response) <= 50)
        )
    return False


def answer_submit(
    *,
    player: LivePlayer,
    answer_id: str,
    question_index: int,
    response: Any,
    received_at: int,
) -> AnswerResult:
    """Record one answer, decided by the server's receive time alone.

    Idempotent on `answer_id`: a resend gets the same ack and stores nothing new. One
    answer per player and question: a second, different answer is rejected. The
    caller sends the ack only after this returns, so after the row is committed.
    """
    if not isinstance(answer_id, str) or not 0 < len(answer_id) <= MAX_ANSWER_ID:
        return AnswerResult(str(answer_id)[:MAX_ANSWER_ID], False, "bad_answer_id")
    previous = (
        LiveAnswer.objects.filter(player=player, answer_id=answer_id)
        .values_list("received_at", flat=True)
        .first()
    )
    if previous is not None:
        return AnswerResult(answer_id, True, received_at=previous)
    live = LiveRound.objects.get(pk=player.round_id)
    if LivePlayer.objects.filter(pk=player.pk, kicked=True).exists():
        return AnswerResult(answer_id, False, "kicked")
    state = round_state(live, total_questions=live.question_index + 1)
    if question_index != state.question_index:
        return AnswerResult(answer_id, False, "not_current_question")
    # The close may already have happened (early, or by the timer): what counts is
    # whether the server received the answer in time, until the key is revealed.
    if state.status == engine.Status.QUESTION_CLOSED:
        state = engine.RoundState(
            status=engine.Status.QUESTION_OPEN,
            question_index=state.question_index,
            total_questions=state.total_questions,
            opened_at=state.opened_at,
            closes_at=state.closes_at,
            seq=state.seq,
        )
    verdict = engine.answer_accepted(state, received_at, live.grace_ms)
    if not verdict:
        return AnswerResult(answer_id, False, verdict.reason or "not_open")
    question = (
        LiveQuestion.objects.select_related("version")
        .filter(round=live, position=question_index)
        .first()
    )
    if question is None or question.voided:
        return AnswerResult(answer_id, False, "not_current_question")
    if not _response_fits(question, response):
        return AnswerResult(answer_id, False, "bad_response")
    try:
        with transaction.atomic():
            LiveAnswer.objects.create(
                round=live,
                question=question,
                player=player,
                answer_id=answer_id,
                response=response,
                received_at=received_at,
                elapsed_ms=engine.elapsed_ms(state, received_at),
                correct=is_correct(question.version.type, question.version.key, response),
            )
    except IntegrityError:
        same = (
            LiveAnswer.objects.filter(player=player, answer_id=answer_id)
            .values_list("received_at", flat=True)
            .first()
        )
        if same is not None:  # a concurrent resend of the same answer won
            return AnswerResult(answer_id, True, received_at=same)
        return AnswerResult(answer_id, False, "already_answered")
    return AnswerResult(answer_id, True, received_at=received_at)
