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
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.content import is_correct
from quizzes.models import QuestionType

from . import engine, scoring
from .events import publish
from .models import (
    LiveAnswer,
    LiveBuzz,
    LivePlayer,
    LiveQuestion,
    LiveRound,
    LiveStake,
    PkPlayer,
    PkQuestion,
)
from .protocol import PROTOCOL_VERSION

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


def timing_state(live: LiveRound) -> engine.RoundState:
    """The round's state for deadline checks (answers, buzzes, the close timer), which
    do not need the number of questions: saves a count query on the hot path."""
    return round_state(live, total_questions=live.question_index + 1)


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


def option_order(player: LivePlayer | PkPlayer, question: LiveQuestion | PkQuestion) -> list[int]:
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
    frame = {
        "index": question.position,
        "type": version.type,
        "stem": version.stem,
        "options": [{"id": o["id"], "text": o["text"]} for o in version.options],
        "points": question.points,
        "opens_at": state.opened_at,
        "closes_at": state.closes_at,
    }
    if live.kind == LiveRound.Kind.FINALS:
        frame.update(turn=question.turn, team=question.team_id, value=question.value)
    return frame


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


def _scores_key(live: LiveRound, state: engine.RoundState, questions) -> tuple:
    """What the scores shown depend on: seq (moves on every reveal and void), the
    voided questions, and who has been kicked (a kick does not move seq)."""
    kicked = LivePlayer.objects.filter(round=live, kicked=True).count()
    return (live.created_at, state.seq, tuple((q.pk, q.voided) for q in questions), kicked)


def round_score(live: LiveRound, state: engine.RoundState) -> scoring.RoundScore:
    """Scores from the recorded answers of the questions revealed so far (never the
    open one). Cached per process by round and seq: seq moves on every reveal and void."""
    questions = [q for q in _questions(live) if q.position < _scored_until(state)]
    cache_key = _scores_key(live, state, questions)
    cached = _score_cache.get(live.pk)
    if cached is not None and cached[0] == cache_key:
        return cached[1]
    seconds = live.seconds_per_question
    answers = LiveAnswer.objects.filter(
        question__in=[q.pk for q in questions], player__kicked=False
    ).values_list("player_id", "question_id", "correct", "elapsed_ms")
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


@dataclass(frozen=True)
class Standings:
    """What players may see of the scores now: the ranked leaderboard rows (players,
    or teams in team rounds and the finals) and each player's own part ("you")."""

    rows: list[dict[str, Any]]
    you: dict[int, dict[str, Any]]

    def top(self) -> list[dict[str, Any]]:
        return self.rows[:LEADERBOARD_TOP]


_standings_cache: dict[int, tuple[tuple, Standings]] = {}


NO_STANDINGS = Standings(rows=[], you={})


def standings(
    live: LiveRound, state: engine.RoundState, questions: list[LiveQuestion] | None = None
) -> Standings:
    """Scores of the questions revealed so far, ranked (docs/scoring.md); `questions`
    are the round's, if the caller has them.

    Cached per process by round, seq and voided questions: scores change only when seq
    does (a reveal, a void), so the joins and reconnects of a whole hall between two
    reveals cost one computation. A player who joined since is not ranked yet."""
    if questions is None:
        questions = _questions(live)
    questions = [q for q in questions if q.position < _scored_until(state)]
    cache_key = _scores_key(live, state, questions)
    cached = _standings_cache.get(live.pk)
    if cached is not None and cached[0] == cache_key:
        return cached[1]
    result = _standings(live, state, questions)
    _standings_cache[live.pk] = (cache_key, result)
    return result


def _standings(live: LiveRound, state: engine.RoundState, questions) -> Standings:
    last = questions[-1] if questions else None
    players = list(
        LivePlayer.objects.filter(round=live, kicked=False).values_list("pk", "nickname", "team_id")
    )
    if live.kind == LiveRound.Kind.FINALS:
        return _finals_standings(live, questions, players)
    score = round_score(live, state)
    ranked = scoring.rank_round(score)
    ranks = {r.id: r.rank for r in ranked}
    names = {pk: name for pk, name, _team in players}
    you: dict[int, dict[str, Any]] = {}
    for pk, total in score.totals.items():
        mine: dict[str, Any] = {
            "points": total.points,
            "streak": total.streak,
            "rank": ranks.get(pk),
        }
        result = score.per_question.get(last.pk, {}).get(pk) if last else None
        if result is not None:
            mine.update(correct=result.correct, gained=result.points)
        you[pk] = mine
    if not live.plays_as_teams:
        rows = [
            {"rank": r.rank, "player": r.id, "nickname": names.get(r.id, ""),
             "points": r.row["points"]}
            for r in ranked
        ]  # fmt: skip
        return Standings(rows, you)
    # Team rounds: the mean of the members' points, or one device per team (the
    # captain is the only member who answers, so the sum is the captain's points).
    members: dict[int, list[int]] = {}
    for pk, _name, team in players:
        if team is not None:
            members.setdefault(team, []).append(pk)
    points = score.points()
    if live.team_mode == LiveRound.TeamMode.MEAN:
        team_points = scoring.team_scores(points, members)
    else:
        team_points = {t: sum(points.get(m, 0) for m in ms) for t, ms in members.items()}
    return _team_standings(live, team_points, {}, players, you)


def _team_standings(live, team_points, tiebreak, players, you) -> Standings:
    teams = dict(live.teams.values_list("pk", "name"))
    for team in teams:
        team_points.setdefault(team, 0)
    ranked = scoring.competition_ranking(
        [{"id": t, "score": p, "tiebreak": tiebreak.get(t)} for t, p in team_points.items()],
        scoring.FINALS_CHAIN,
    )
    rows = [
        {"rank": r.rank, "team": r.id, "name": teams.get(r.id, ""), "points": r.row["score"]}
        for r in ranked
    ]
    by_team = {row["team"]: row for row in rows}
    for pk, _name, team in players:
        if team in by_team:
            row = by_team[team]
            you.setdefault(pk, {}).update(
                team={"id": team, "name": row["name"], "points": row["points"], "rank": row["rank"]}
            )
    return Standings(rows, you)


def _finals_standings(live, questions, players) -> Standings:
    """Stage finals: every team starts at 100; each question is a finals event
    (realtime.scoring.score_finals) decided by the team captains' answers."""
    teams = list(live.teams.values_list("pk", flat=True))
    answers = {
        (question, team): correct
        for question, team, correct in LiveAnswer.objects.filter(
            question__in=[q.pk for q in questions], player__is_captain=True
        ).values_list("question_id", "player__team_id", "correct")
    }
    buzzes: dict[int, list[scoring.Buzz]] = {}
    for question, team, at, pk in LiveBuzz.objects.filter(
        question__in=[q.pk for q in questions]
    ).values_list("question_id", "team_id", "received_at", "pk"):
        buzzes.setdefault(question, []).append(scoring.Buzz(team, at, pk))
    stakes = {
        (question, team): (stake, chosen_at)
        for question, team, stake, chosen_at in LiveStake.objects.filter(
            question__in=[q.pk for q in questions]
        ).values_list("question_id", "team_id", "stake", "chosen_at")
    }
    totals = dict.fromkeys(teams, scoring.START_SCORE)
    tiebreak: dict[int, Any] = {}
    gained: dict[int, int] = {}
    for q in questions:
        events = finals_events(live, q, teams, answers, buzzes.get(q.pk, []), stakes)
        deltas: dict[int, int] = {}
        for event in events:
            for team, delta in scoring.finals_delta(event, teams).items():
                deltas[team] = deltas.get(team, 0) + delta
        for team, delta in deltas.items():
            totals[team] += delta
        if q.turn == LiveQuestion.Turn.TIEBREAK and not q.voided:
            elapsed = dict(
                LiveAnswer.objects.filter(question=q, player__is_captain=True).values_list(
                    "player__team_id", "elapsed_ms"
                )
            )
            for team in teams:
                tiebreak[team] = scoring.tiebreak_result(
                    answers.get((q.pk, team)), elapsed.get(team)
                )
        gained = deltas
    you: dict[int, dict[str, Any]] = {}
    last = questions[-1] if questions else None
    for pk, _name, team in players:
        if team is None:
            continue
        mine: dict[str, Any] = {"points": totals.get(team, 0)}
        if last is not None:
            mine["gained"] = gained.get(team, 0)
            if (last.pk, team) in answers:
                mine["correct"] = bool(answers[(last.pk, team)])
        you[pk] = mine
    standing = _team_standings(live, totals, tiebreak, players, you)
    for mine in standing.you.values():
        if "team" in mine:
            mine["rank"] = mine["team"]["rank"]
    return standing


def finals_events(live, q, teams, answers, buzzes, stakes) -> list[scoring.FinalsEvent]:
    """The finals events of one question, from what was recorded."""
    void = q.voided
    if q.turn == LiveQuestion.Turn.TIEBREAK:
        return []
    if q.turn == LiveQuestion.Turn.ALL:
        return [
            scoring.CompulsoryTurn(team, answers[(q.pk, team)], q.value, void)
            for team in teams
            if (q.pk, team) in answers
        ]
    if q.turn == LiveQuestion.Turn.COMPULSORY:
        return [scoring.CompulsoryTurn(q.team_id, answers.get((q.pk, q.team_id)), q.value, void)]
    if q.turn == LiveQuestion.Turn.BUZZER:
        opened = q.opened_at or 0
        window = (q.seconds or live.seconds_per_question) * 1000
        winner = scoring.buzzer_winner(buzzes, opened_at_ms=opened, window_ms=window)
        correct = answers.get((q.pk, winner.team)) if winner else None
        return [scoring.BuzzerQuestion(tuple(buzzes), opened, correct, window, q.value, void)]
    # Risk: a team that chose no stake in time plays for the smallest one.
    opened = q.opened_at or 0
    stake, chosen_at = stakes.get((q.pk, q.team_id), (scoring.RISK_STAKES[0], opened - 1))
    return [
        scoring.RiskTurn(q.team_id, stake, chosen_at, opened, answers.get((q.pk, q.team_id)), void)
    ]


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


def host_player_list(live: LiveRound) -> list[dict[str, Any]]:
    """The host console's list: the players not kicked, in joining order, with their
    team and whether they are its captain (LivePlayer.is_captain, a stored flag: the
    first to join the team, kept even if kicked, so no client can work it out)."""
    return [
        {"id": pk, "nickname": nickname, "team": team, "captain": captain}
        for pk, nickname, team, captain in LivePlayer.objects.filter(
            round=live, kicked=False
        ).values_list("pk", "nickname", "team_id", "is_captain")
    ]


def snapshot(live: LiveRound, *, role: str, player: LivePlayer | None = None) -> dict:
    """Everything a client needs to draw the round now (after a join, a reconnect or
    a gap in seq). What it holds depends on the state: the key only once revealed."""
    questions = _questions(live)
    state = round_state(live, len(questions))
    # The host's list of players also gives the count, in the same query.
    player_list = host_player_list(live) if role == "host" else None
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
        "players": (
            len(player_list)
            if player_list is not None
            else LivePlayer.objects.filter(round=live, kicked=False).count()
        ),
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
    if visible in (None, engine.Status.LOBBY) and not live.plays_as_teams:
        standing = NO_STANDINGS  # nothing scored yet: the lobby's joins skip the scores
    else:
        standing = standings(live, state, questions)
    if visible in (engine.Status.LEADERBOARD, engine.Status.FINISHED):
        frame["leaderboard"] = standing.top()
    if live.plays_as_teams:
        frame["teams"] = [
            {"id": pk, "name": name} for pk, name in live.teams.values_list("pk", "name")
        ]
    if live.kind == LiveRound.Kind.FINALS:
        _finals_snapshot(frame, questions, state)
    if role == "host":
        frame["allowed"] = sorted(engine.allowed_commands(state))
        frame["player_list"] = player_list
        if 0 <= state.question_index < len(questions):
            frame["answers"] = LiveAnswer.objects.filter(
                question=questions[state.question_index]
            ).count()
    if player is not None:
        mine = None
        if 0 <= state.question_index < len(questions):
            mine = (
                LiveAnswer.objects.filter(question=questions[state.question_index], player=player)
                .values_list("answer_id", flat=True)
                .first()
            )
        frame["you"] = {
            "points": 0,
            "streak": 0,
            "rank": None,
            **standing.you.get(player.pk, {}),
            "player": player.pk,
            "nickname": player.nickname,
            "answered": mine,
        }
        if "reveal" not in frame:  # the result of a question belongs to its reveal
            frame["you"].pop("correct", None)
            frame["you"].pop("gained", None)
        if live.plays_as_teams:
            frame["you"]["captain"] = player.is_captain
            if player.team_id is not None and "team" not in frame["you"]:
                # Joined since the standings were computed: the team's row is there.
                row = next((r for r in standing.rows if r.get("team") == player.team_id), None)
                if row is not None:
                    frame["you"]["team"] = {
                        "id": row["team"], "name": row["name"],
                        "points": row["points"], "rank": row["rank"],
                    }  # fmt: skip
                    if live.kind == LiveRound.Kind.FINALS:
                        frame["you"].update(points=row["points"], rank=row["rank"])
        frame["permutations"] = permutations(player, questions)
    return frame


def _finals_snapshot(frame: dict, questions: list[LiveQuestion], state) -> None:
    """What a reconnecting captain or screen needs of the finals: who leads the buzz
    on the current question, and the stakes of the current and the next question."""
    index = state.question_index
    if 0 <= index < len(questions) and questions[index].turn == LiveQuestion.Turn.BUZZER:
        leader = buzz_leader(questions[index])
        if leader is not None:
            frame["buzz"] = {"team": leader.team_id, "received_at": leader.received_at}
    near = [q.pk for q in questions[max(index, 0) : index + 2]]
    frame["stakes"] = [
        {"question": position, "team": team, "stake": stake}
        for position, team, stake in LiveStake.objects.filter(question__in=near).values_list(
            "question__position", "team_id", "stake"
        )
    ]


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
            if name in (engine.START, engine.NEXT):
                LiveQuestion.objects.filter(round=fresh, position=new.question_index).update(
                    opened_at=new.opened_at
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
            standing = standings(live, state)
            frame["leaderboard"] = standing.top()
            per_player = standing.you
        elif event.type == "resumed" and state.status == engine.Status.QUESTION_OPEN:
            frame["opened_at"] = state.opened_at
            frame["server_now"] = now_ms()
        publish(live.group_name, frame, per_player=per_player)


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


def response_fits(question: LiveQuestion | PkQuestion, response: Any) -> bool:
    """The shape of a response: choices must name options of this question (of a live
    round or a 1-v-1 PK)."""
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


def answer_turn(live: LiveRound, question: LiveQuestion, player: LivePlayer) -> str:
    """ "" if the player may answer this question, else why not (a reject reason)."""
    if live.captains_answer and not player.is_captain:
        return "not_captain"
    turn = question.turn
    if turn in (LiveQuestion.Turn.COMPULSORY, LiveQuestion.Turn.RISK):
        return "" if player.team_id == question.team_id else "not_your_turn"
    if turn == LiveQuestion.Turn.BUZZER:
        buzzes = [
            scoring.Buzz(team, at, pk)
            for team, at, pk in LiveBuzz.objects.filter(question=question).values_list(
                "team_id", "received_at", "pk"
            )
        ]
        winner = scoring.buzzer_winner(
            buzzes,
            opened_at_ms=question.opened_at or 0,
            window_ms=(question.seconds or live.seconds_per_question) * 1000,
        )
        if winner is None or winner.team != player.team_id:
            return "not_your_turn"
    return ""


def _round_for_answer(pk: int) -> LiveRound:
    """The round, share-locked until the answer's transaction ends (PostgreSQL): a host
    command's conditional UPDATE waits for the answers being stored, and an answer
    waits for a command being applied and then reads its result. SQLite's IMMEDIATE
    transactions already serialise the two."""
    if connection.vendor == "postgresql":
        sql = f'SELECT * FROM "{LiveRound._meta.db_table}" WHERE id = %s FOR SHARE'  # noqa: S608
        return LiveRound.objects.raw(sql, [pk])[0]
    return LiveRound.objects.get(pk=pk)


@dataclass(frozen=True)
class AnswerRequest:
    """One answer as received: `received_at` is the server's receive time."""

    player: LivePlayer
    answer_id: Any
    question_index: int
    response: Any
    received_at: int


def answer_submit(
    *,
    player: LivePlayer,
    answer_id: str,
    question_index: int,
    response: Any,
    received_at: int,
) -> AnswerResult:
    """Record one answer (see answers_submit)."""
    [result] = answers_submit(
        [AnswerRequest(player, answer_id, question_index, response, received_at)]
    )
    return result


def answers_submit(requests: list[AnswerRequest]) -> list[AnswerResult]:
    """Record a batch of answers, each decided by the server's receive time alone.

    Idempotent on `answer_id`: a resend gets the same ack and stores nothing new. One
    answer per player and question: a second, different answer is rejected. One
    transaction per round in the batch, with the round share-locked (so a reveal waits
    for it), a few queries whatever the batch size. The caller sends the acks only
    after this returns, so after the rows are committed. realtime.batch gathers the
    answers a process receives while the previous batch is being written.
    """
    results: list[AnswerResult | None] = [None] * len(requests)
    by_round: dict[int, list[int]] = {}
    for n, request in enumerate(requests):
        answer_id = request.answer_id
        if not isinstance(answer_id, str) or not 0 < len(answer_id) <= MAX_ANSWER_ID:
            results[n] = AnswerResult(str(answer_id)[:MAX_ANSWER_ID], False, "bad_answer_id")
        else:
            by_round.setdefault(request.player.round_id, []).append(n)
    for round_id, numbers in by_round.items():
        batch = [requests[n] for n in numbers]
        for n, result in zip(numbers, _round_answers(round_id, batch), strict=True):
            results[n] = result
    return results  # type: ignore[return-value]


def _round_answers(round_id: int, batch: list[AnswerRequest]) -> list[AnswerResult]:
    players = {r.player.pk for r in batch}
    with transaction.atomic():
        live = _round_for_answer(round_id)
        earlier = {
            (player, answer_id): at
            for player, answer_id, at in LiveAnswer.objects.filter(
                player_id__in=players, answer_id__in={r.answer_id for r in batch}
            ).values_list("player_id", "answer_id", "received_at")
        }
        kicked = set(
            LivePlayer.objects.filter(pk__in=players, kicked=True).values_list("pk", flat=True)
        )
        state = timing_state(live)
        # The close may already have happened (early, or by the timer): what counts is
        # whether the server received the answer in time, until the key is revealed.
        if state.status == engine.Status.QUESTION_CLOSED:
            state = replace(state, status=engine.Status.QUESTION_OPEN)
        question = (
            LiveQuestion.objects.select_related("version")
            .filter(round=live, position=state.question_index)
            .first()
        )
        verdicts: list[AnswerResult | None] = []
        rows: dict[int, LiveAnswer] = {}  # the first valid answer of each player
        for r in batch:
            verdicts.append(_answer_verdict(live, state, question, r, earlier, kicked, rows))
        if rows:
            LiveAnswer.objects.bulk_create(rows.values(), ignore_conflicts=True)
            stored = {
                player: (answer_id, at)
                for player, answer_id, at in LiveAnswer.objects.filter(
                    question=question, player_id__in=rows
                ).values_list("player_id", "answer_id", "received_at")
            }
    results = []
    for r, verdict in zip(batch, verdicts, strict=True):
        if verdict is None:  # written, or lost to another answer of the player's
            answer_id, at = stored.get(r.player.pk, (None, None))
            if answer_id is None:  # a concurrent batch stored this answer_id first
                at = (
                    LiveAnswer.objects.filter(player=r.player, answer_id=r.answer_id)
                    .values_list("received_at", flat=True)
                    .first()
                )
                answer_id = r.answer_id if at is not None else None
            verdict = (
                AnswerResult(r.answer_id, True, received_at=at)
                if answer_id == r.answer_id
                else AnswerResult(r.answer_id, False, "already_answered")
            )
        results.append(verdict)
    return results


def _answer_verdict(live, state, question, r: AnswerRequest, earlier, kicked, rows):
    """An early result for one answer of the batch, or None when it is to be written
    (then `rows` holds it, unless the player's first answer in this batch is there)."""
    previous = earlier.get((r.player.pk, r.answer_id))
    if previous is not None:
        return AnswerResult(r.answer_id, True, received_at=previous)
    if r.player.pk in kicked:
        return AnswerResult(r.answer_id, False, "kicked")
    if r.question_index != state.question_index:
        return AnswerResult(r.answer_id, False, "not_current_question")
    verdict = engine.answer_accepted(state, r.received_at, live.grace_ms)
    if not verdict:
        return AnswerResult(r.answer_id, False, verdict.reason or "not_open")
    if question is None or question.voided:
        return AnswerResult(r.answer_id, False, "not_current_question")
    turn = answer_turn(live, question, r.player)
    if turn:
        return AnswerResult(r.answer_id, False, turn)
    if not response_fits(question, r.response):
        return AnswerResult(r.answer_id, False, "bad_response")
    if r.player.pk not in rows:
        rows[r.player.pk] = LiveAnswer(
            round=live,
            question=question,
            player=r.player,
            answer_id=r.answer_id,
            response=r.response,
            received_at=r.received_at,
            elapsed_ms=engine.elapsed_ms(state, r.received_at),
            correct=is_correct(question.version.type, question.version.key, r.response),
        )
    return None


# --- stage finals: buzz and stake ---------------------------------------------------


def _captain_of_round(player: LivePlayer) -> tuple[LiveRound, str]:
    """The round, share-locked as for an answer (call inside a transaction), and why
    this player may not buzz or stake in it ("" if they may)."""
    live = _round_for_answer(player.round_id)
    if live.kind != LiveRound.Kind.FINALS:
        return live, "not_finals"
    if not player.is_captain or player.team_id is None:
        return live, "not_captain"
    if LivePlayer.objects.filter(pk=player.pk, kicked=True).exists():
        return live, "kicked"
    return live, ""


@transaction.atomic
def buzz_submit(*, player: LivePlayer, question_index: int, received_at: int) -> dict[str, Any]:
    """抢答: record the team's buzz on the open buzzer question, by server receive time.
    One buzz per team (a resend gets the same reply). The first valid buzz answers;
    everyone is told who leads now."""
    live, refused = _captain_of_round(player)
    if refused:
        return {"type": "buzz_reject", "question": question_index, "reason": refused}
    state = timing_state(live)
    question = LiveQuestion.objects.filter(round=live, position=question_index).first()
    if question is None or question.turn != LiveQuestion.Turn.BUZZER:
        return {"type": "buzz_reject", "question": question_index, "reason": "not_buzzer"}
    earlier = LiveBuzz.objects.filter(question=question, team_id=player.team_id).first()
    if earlier is not None:  # a resend: the same reply, whatever the state now
        return _buzz_reply(question, earlier)
    if question_index != state.question_index:
        return {"type": "buzz_reject", "question": question_index, "reason": "not_current_question"}
    verdict = engine.answer_accepted(state, received_at, 0)
    if not verdict:
        return {"type": "buzz_reject", "question": question_index, "reason": verdict.reason}
    try:
        with transaction.atomic():
            buzz = LiveBuzz.objects.create(
                question=question, team_id=player.team_id, player=player, received_at=received_at
            )
    except IntegrityError:
        return _buzz_reply(
            question, LiveBuzz.objects.get(question=question, team_id=player.team_id)
        )
    reply = _buzz_reply(question, buzz)
    if reply["first"]:
        publish(
            live.group_name,
            {
                "type": "buzzed",
                "question": question_index,
                "team": buzz.team_id,
                "received_at": buzz.received_at,
            },
        )
    return reply


def buzz_leader(question: LiveQuestion) -> LiveBuzz | None:
    return LiveBuzz.objects.filter(question=question).order_by("received_at", "pk").first()


def _buzz_reply(question: LiveQuestion, buzz: LiveBuzz) -> dict[str, Any]:
    return {
        "type": "buzz_ack",
        "question": question.position,
        "received_at": buzz.received_at,
        "first": buzz_leader(question).pk == buzz.pk,
    }


@transaction.atomic
def stake_submit(
    *, player: LivePlayer, question_index: int, stake: Any, received_at: int
) -> dict[str, Any]:
    """风险: the team whose turn it is chooses 10, 20 or 30 before the question is shown.
    One stake per team and question; a resend of the same stake gets the same reply."""
    live, refused = _captain_of_round(player)
    if refused:
        return {"type": "stake_reject", "question": question_index, "reason": refused}
    question = LiveQuestion.objects.filter(round=live, position=question_index).first()
    if question is None or question.turn != LiveQuestion.Turn.RISK:
        return {"type": "stake_reject", "question": question_index, "reason": "not_risk"}
    if question.team_id != player.team_id:
        return {"type": "stake_reject", "question": question_index, "reason": "not_your_turn"}
    existing = LiveStake.objects.filter(question=question, team_id=player.team_id).first()
    if existing is None:
        shown_at = question.opened_at if question.opened_at is not None else received_at + 1
        reason = scoring.stake_verdict(stake, chosen_at_ms=received_at, shown_at_ms=shown_at)
        if reason:
            return {"type": "stake_reject", "question": question_index, "reason": reason}
        try:
            with transaction.atomic():
                existing = LiveStake.objects.create(
                    question=question,
                    team_id=player.team_id,
                    player=player,
                    stake=stake,
                    chosen_at=received_at,
                )
        except IntegrityError:  # a concurrent stake of the same team won
            existing = LiveStake.objects.get(question=question, team_id=player.team_id)
        else:
            publish(
                live.group_name,
                {"type": "staked", "question": question_index, "team": player.team_id,
                 "stake": stake},
            )  # fmt: skip
    if existing.stake != stake:
        return {"type": "stake_reject", "question": question_index, "reason": "already_staked"}
    row = existing
    return {"type": "stake_ack", "question": question_index, "stake": row.stake}
