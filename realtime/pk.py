"""1-v-1 PK: matchmaking, the match's clock, answers, frames (docs/protocol.md, "1-v-1 PK").

The same rules as live rounds (DESIGN.md): the database owns the match; its state is a
`realtime.engine.RoundState` moved by `engine.apply` and written back with a
conditional UPDATE on `seq`, here by the clock instead of a host (`match_advance`,
run by either player's socket; the second run is a no-op). Answers are judged by the
server's receive time (`engine.answer_accepted`), stored once per player and question
(unique constraints, idempotent `answer_id`) and scored by `realtime.scoring`. Frames
go out after commit through the match's relay group; nothing before a reveal carries
the key.

Matchmaking: the queue is the PkEntry table (one row per user). A find claims the
oldest other waiting entry and its own with conditional UPDATEs (`match IS NULL`) in
one transaction, so two server processes never pair a player twice. A wait ends after
settings.PK_WAIT_MS.

Questions: 5 published single-choice and true/false questions, drawn at random from the
banks that have a blueprint open to players (what players may practise at will), the
same for both players, each player with a private option order.

A player who leaves is not waited for: the match goes on by the clock, their questions
time out unanswered, and they may come back (resume token) until it ends. The result
is decided by points alone.
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Profile, User
from accounts.selectors import user_can_play
from quizzes.content import is_correct
from quizzes.models import QuestionType, QuestionVersion, VersionStatus
from quizzes.progress import activity_finished

from . import engine, scoring
from .events import publish
from .models import PkAnswer, PkEntry, PkMatch, PkPlayer, PkQuestion
from .nicknames import MAX_LENGTH as NICKNAME_MAX_LENGTH
from .nicknames import NicknameError, clean_nickname, generated_nickname
from .play import MAX_ANSWER_ID, AnswerResult, now_ms, option_order, response_fits
from .protocol import PROTOCOL_VERSION

QUESTIONS = 5
TYPES = (QuestionType.SINGLE, QuestionType.TRUE_FALSE)
POINTS = scoring.BASE_POINTS
CANDIDATES = 5  # waiting entries tried per find before waiting oneself


class NoQuestions(Exception):  # noqa: N818 - a refusal the protocol reports
    """No published question is open to players: no match can be made."""


class _Lost(Exception):  # noqa: N818 - another process claimed an entry first
    pass


def user_group(user_id: int) -> str:
    """The relay group a waiting player's sockets listen on to hear of a match."""
    return f"pk.user.{user_id}"


# --- state ----------------------------------------------------------------------------


def state_of(match: PkMatch, total: int) -> engine.RoundState:
    return engine.RoundState(
        status=match.status,
        question_index=match.question_index,
        total_questions=total,
        opened_at=match.opened_at,
        closes_at=match.closes_at,
        seq=match.seq,
    )


def _questions(match: PkMatch) -> list[PkQuestion]:
    return list(match.questions.select_related("version").order_by("position"))


def _revealed_until(state: engine.RoundState) -> int:
    """How many questions count in the scores shown now: those revealed so far."""
    if state.status in (engine.Status.REVEALED, engine.Status.FINISHED):
        return state.question_index + 1
    return max(state.question_index, 0)


def match_score(match: PkMatch, questions: list[PkQuestion], until: int) -> scoring.RoundScore:
    """Classic speed scores (realtime.scoring) of the first `until` questions."""
    counted = questions[:until]
    answers = PkAnswer.objects.filter(question__in=[q.pk for q in counted]).values_list(
        "player_id", "question_id", "correct", "elapsed_ms"
    )
    return scoring.score_round(
        [scoring.Question(q.pk, POINTS, match.question_ms) for q in counted],
        [scoring.Answer(p, q, c, e) for p, q, c, e in answers],
        scoring.CLASSIC,
        players=[p.pk for p in match.players.all()],
    )


def _players(match: PkMatch) -> list[PkPlayer]:
    return list(match.players.order_by("seat"))


def players_frame(
    match: PkMatch, questions: list[PkQuestion], until: int, players: list[PkPlayer]
) -> list[dict[str, Any]]:
    """Both players, by seat: nickname and points; with the last counted question's
    result (`correct`: null for no answer, `gained`) once it is revealed."""
    score = match_score(match, questions, until)
    last = questions[until - 1] if until else None
    rows = []
    for player in players:
        row: dict[str, Any] = {
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


def winner(rows: list[dict[str, Any]]) -> int | None:
    """The seat with more points; None for a draw."""
    if rows[0]["points"] == rows[1]["points"]:
        return None
    return max(rows, key=lambda row: row["points"])["seat"]


def question_frame(question: PkQuestion, state: engine.RoundState) -> dict[str, Any]:
    """The one shared frame of an open question (the live rounds' shape): no key."""
    version = question.version
    return {
        "index": question.position,
        "type": version.type,
        "stem": version.stem,
        "options": [{"id": o["id"], "text": o["text"]} for o in version.options],
        "points": POINTS,
        "opens_at": state.opened_at,
        "closes_at": state.closes_at,
    }


def reveal_frame(question: PkQuestion) -> dict[str, Any]:
    version = question.version
    return {"index": question.position, "key": version.key, "explanation": version.explanation}


def snapshot(match: PkMatch, player: PkPlayer) -> dict[str, Any]:
    """Everything a player's page needs now (after a match is found, a reconnect or a
    gap in seq). The key only once the current question is revealed."""
    questions = _questions(match)
    state = state_of(match, len(questions))
    players = _players(match)
    rows = players_frame(match, questions, _revealed_until(state), players)
    frame: dict[str, Any] = {
        "type": "snapshot",
        "v": PROTOCOL_VERSION,
        "seq": state.seq,
        "status": str(state.status),
        "question_index": state.question_index,
        "total_questions": len(questions),
        "server_now": now_ms(),
        "players": rows,
    }
    if state.status in (engine.Status.LOBBY, engine.Status.REVEALED) and match.next_at:
        frame["next_at"] = match.next_at
    if 0 <= state.question_index < len(questions):
        current = questions[state.question_index]
        frame["question"] = question_frame(current, state)
        if state.status in (engine.Status.REVEALED, engine.Status.FINISHED):
            frame["reveal"] = reveal_frame(current)
    if state.status == engine.Status.FINISHED:
        frame["winner"] = winner(rows)
    answered = None
    if 0 <= state.question_index < len(questions):
        answered = (
            PkAnswer.objects.filter(question=questions[state.question_index], player=player)
            .values_list("answer_id", flat=True)
            .first()
        )
    frame["you"] = {"seat": player.seat, "nickname": player.nickname, "answered": answered}
    frame["permutations"] = [option_order(player, q) for q in questions]
    return frame


def matched_frame(player: PkPlayer) -> dict[str, Any]:
    """To one player: the match found, the resume token, and the opponent's nickname
    (nothing else of the opponent: no name, school or account)."""
    opponent = PkPlayer.objects.filter(match_id=player.match_id).exclude(pk=player.pk).get()
    return {
        "type": "pk_matched",
        "v": PROTOCOL_VERSION,
        "token": player.token,
        "you": {"seat": player.seat, "nickname": player.nickname},
        "opponent": {"seat": opponent.seat, "nickname": opponent.nickname},
    }


# --- matchmaking ----------------------------------------------------------------------


def _current_player(user: User) -> PkPlayer | None:
    """The user's seat in a match not yet finished, if any."""
    return (
        PkPlayer.objects.select_related("match")
        .filter(user=user)
        .exclude(match__status=engine.Status.FINISHED)
        .order_by("-match__created_at")
        .first()
    )


def pk_nickname(user: User) -> str:
    """What the opponent sees: the profile's nickname, else a generated one. Never the
    username, which may be a child's real name."""
    raw = Profile.objects.filter(user=user).values_list("nickname", flat=True).first() or ""
    try:
        return clean_nickname(raw[:NICKNAME_MAX_LENGTH])
    except NicknameError:
        return generated_nickname()


def draw_questions(count: int = QUESTIONS) -> list[int]:
    """Ids of published single-choice and true/false versions from the banks with a
    blueprint open to players, one version per question, at random."""
    rows = (
        QuestionVersion.objects.filter(
            status=VersionStatus.PUBLISHED,
            type__in=TYPES,
            question__bank__blueprints__open_to_players=True,
        )
        .values_list("pk", "question_id")
        .distinct()
    )
    by_question: dict[int, int] = {}
    for pk, question in rows:
        by_question[question] = max(pk, by_question.get(question, 0))
    ids = sorted(by_question.values())
    return random.sample(ids, min(count, len(ids)))


def pk_find(*, user: User) -> PkPlayer | PkEntry:
    """Find an opponent: the user's seat if a match is on or one is found now, else the
    user's (one) waiting entry. Raises PermissionDenied for anyone who may not play and
    NoQuestions when no questions are open to players."""
    if not user_can_play(user=user):
        raise PermissionDenied(_("Sign in (and for children, a guardian's consent) to play."))
    current = _current_player(user)
    if current is not None:
        return current
    now = now_ms()
    with transaction.atomic():
        entry, created = PkEntry.objects.get_or_create(user=user, defaults={"since": now})
        if not created:
            if entry.match_id is not None:
                player = PkPlayer.objects.filter(match_id=entry.match_id, user=user).first()
                if player is not None and player.match.status != engine.Status.FINISHED:
                    return player
                PkEntry.objects.filter(pk=entry.pk, match_id=entry.match_id).update(
                    match=None, since=now
                )
            elif entry.since < now - settings.PK_WAIT_MS:
                PkEntry.objects.filter(pk=entry.pk, match__isnull=True).update(since=now)
    cutoff = now - settings.PK_WAIT_MS
    candidates = (
        PkEntry.objects.filter(match__isnull=True, since__gte=cutoff)
        .exclude(user=user)
        .order_by("since", "pk")
        .values_list("pk", "user_id")[:CANDIDATES]
    )
    for other, other_user in candidates:
        try:
            return _pair(mine=entry.pk, user=user, theirs=other, their_user=other_user, now=now)
        except _Lost:
            current = _current_player(user)
            if current is not None:  # someone paired us meanwhile
                return current
    return PkEntry.objects.get(pk=entry.pk)


def _pair(*, mine: int, user: User, theirs: int, their_user: int, now: int) -> PkPlayer:
    versions = draw_questions()
    if not versions:
        raise NoQuestions(_("No questions are open for PK yet."))
    cutoff = now - settings.PK_WAIT_MS
    with transaction.atomic():
        # Both entries locked first, in one order (by pk): two processes pairing the
        # same two players from either side would otherwise each claim its own row and
        # wait for the other's, a deadlock PostgreSQL breaks by failing one find.
        list(PkEntry.objects.select_for_update().filter(pk__in=(mine, theirs)).order_by("pk"))
        match = PkMatch.objects.create(
            next_at=now + settings.PK_READY_MS,
            question_ms=settings.PK_QUESTION_MS,
            reveal_ms=settings.PK_REVEAL_MS,
        )
        if not PkEntry.objects.filter(pk=mine, match__isnull=True).update(match=match):
            raise _Lost
        if not PkEntry.objects.filter(pk=theirs, match__isnull=True, since__gte=cutoff).update(
            match=match
        ):
            raise _Lost
        PkQuestion.objects.bulk_create(
            PkQuestion(match=match, position=n, version_id=v) for n, v in enumerate(versions)
        )
        opponent = User.objects.get(pk=their_user)
        PkPlayer.objects.create(match=match, user=opponent, seat=0, nickname=pk_nickname(opponent))
        player = PkPlayer.objects.create(match=match, user=user, seat=1, nickname=pk_nickname(user))
        # Wake the waiting player's sockets (they read the match from the database).
        publish(user_group(their_user), {"type": "pk_found"})
    return player


def pk_cancel(*, user: User) -> PkPlayer | None:
    """Leave the queue. If a match was found first, the user's seat in it."""
    if PkEntry.objects.filter(user=user, match__isnull=True).delete()[0]:
        return None
    return _current_player(user)


def pk_waiting(*, user: User) -> tuple[PkPlayer | None, int | None]:
    """(the user's seat, None) once matched; (None, when the wait ends) while waiting;
    (None, None) when not in the queue. A wait that is over is ended here, unless a
    match claimed the entry first (then that match)."""
    current = _current_player(user)
    if current is not None:
        return current, None
    entry = PkEntry.objects.filter(user=user, match__isnull=True).first()
    if entry is None:
        return None, None
    until = entry.since + settings.PK_WAIT_MS
    if now_ms() <= until:
        return None, until
    if PkEntry.objects.filter(pk=entry.pk, match__isnull=True).delete()[0]:
        return None, None
    return _current_player(user), None


def player_for_token(*, user: User, token: str) -> PkPlayer | None:
    """The seat this resume token names, if it is this user's."""
    return PkPlayer.objects.select_related("match").filter(token=token, user=user).first()


# --- the clock --------------------------------------------------------------------------


def _locked(match_id: int) -> PkMatch:
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


def match_advance(*, match_id: int) -> int | None:
    """Take every step that is due (open, close and reveal, next, finish), each once
    whichever socket asks; return when the next one is due (None: finished)."""
    while True:
        with transaction.atomic():
            match = _locked(match_id)
            stepped = _step(match)
        if not stepped:
            return due_at(match)


def _step(match: PkMatch, now: int | None = None) -> bool:
    """One due step of a locked match, published after commit. False if none is due."""
    now = now_ms() if now is None else now
    questions = _questions(match)
    state = state_of(match, len(questions))
    answers = 0
    if state.status == engine.Status.QUESTION_OPEN:
        answers = PkAnswer.objects.filter(
            match=match, question__position=state.question_index
        ).count()
    name = _due(match, state, answers, now)
    if name is None:
        return False
    duration = match.question_ms if name in (engine.START, engine.NEXT) else None
    new, events = engine.apply(state, engine.Command(name, duration_ms=duration), now)
    fields: dict[str, Any] = {
        "status": str(new.status),
        "question_index": new.question_index,
        "opened_at": new.opened_at,
        "closes_at": new.closes_at,
        "seq": new.seq,
    }
    if name == engine.REVEAL:
        fields["next_at"] = now + match.reveal_ms
    if not PkMatch.objects.filter(pk=match.pk, seq=state.seq).update(**fields):
        return True  # moved by someone else meanwhile: read it again
    match.__dict__.update(fields)
    players = _players(match)
    for event in events:
        publish(match.group_name, _event_frame(match, questions, new, event, players))
    if name == engine.FINISH:
        _award(match, questions, players)
    return True


def _event_frame(match, questions, state, event, players) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": event.type, "seq": event.seq, **event.data}
    if event.type == "question_opened":
        frame["question"] = question_frame(questions[state.question_index], state)
        frame["server_now"] = now_ms()
    elif event.type == "revealed":
        frame["reveal"] = reveal_frame(questions[state.question_index])
        frame["players"] = players_frame(match, questions, state.question_index + 1, players)
        frame["next_at"] = match.next_at
    elif event.type == "finished":
        rows = players_frame(match, questions, len(questions), players)
        frame.update(players=rows, winner=winner(rows))
    return frame


def _award(match: PkMatch, questions: list[PkQuestion], players: list[PkPlayer]) -> None:
    """XP for both players (quizzes.progress), once per match."""
    score = match_score(match, questions, len(questions))
    topics = {q.pk: q.version.topic for q in questions}
    mine: dict[int, list[tuple[str, bool]]] = {}
    for player_id, question_id, correct in PkAnswer.objects.filter(match=match).values_list(
        "player_id", "question_id", "correct"
    ):
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


# --- answers ----------------------------------------------------------------------------


def answer_submit(
    *, player: PkPlayer, answer_id: Any, question_index: Any, response: Any, received_at: int
) -> AnswerResult:
    """Record one answer, judged by the server's receive time alone (late: rejected).
    Idempotent on `answer_id`; one answer per player and question. When both players
    have answered, the question closes and is revealed in the same transaction."""
    if not isinstance(answer_id, str) or not 0 < len(answer_id) <= MAX_ANSWER_ID:
        return AnswerResult(str(answer_id)[:MAX_ANSWER_ID], False, "bad_answer_id")
    with transaction.atomic():
        match = _locked(player.match_id)
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
        if not response_fits(question, response):
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
        publish(
            match.group_name,
            {"type": "pk_answered", "question_index": question.position, "seat": player.seat},
        )
        while _step(match):  # both answered: close and reveal now
            match.refresh_from_db()
    return AnswerResult(answer_id, True, received_at=received_at)
