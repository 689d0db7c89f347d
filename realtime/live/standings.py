"""Standings of a live round: scores of the questions revealed so far, ranked
(docs/scoring.md), as the leaderboard rows and each player's own part ("you").

Scores change only when seq does (a reveal, a void) or a player is kicked, so the
joins and reconnects of a whole hall between two reveals cost one computation: the
last result of each round is kept per process, keyed by what it depends on. The
caches hold at most MAX_ROUNDS rounds (least recently used first out), so a process
that serves rounds for months does not keep every round it ever scored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from leaderboards.ranking import FINALS_CHAIN, competition_ranking, rank_round, tiebreak_result

from .. import engine, scoring
from ..models import LiveQuestion, LiveRound
from ..protocol import LEADERBOARD_TOP
from . import frames, names, selectors
from .state import scored_until

MAX_ROUNDS = 64  # rounds whose last scores a process keeps (a few play at once)

T = TypeVar("T")


class LatestByRound(Generic[T]):
    """The latest value computed for each round, valid while its key is unchanged; at
    most `size` rounds, the least recently used dropped first. Thread-safe (the sockets'
    database thread and the pages' threads share it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[int, tuple[Hashable, T]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, round_id: int, key: Hashable) -> T | None:
        with self.lock:
            found = self.items.get(round_id)
            if found is None or found[0] != key:
                return None
            self.items.move_to_end(round_id)
            return found[1]

    def put(self, round_id: int, key: Hashable, value: T) -> None:
        with self.lock:
            self.items[round_id] = (key, value)
            self.items.move_to_end(round_id)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Standings:
    """What players may see of the scores now: the ranked leaderboard rows (players,
    or teams in team rounds and the finals) and each player's own part ("you")."""

    rows: list[dict[str, Any]]
    you: dict[int, dict[str, Any]]

    def top(self) -> list[dict[str, Any]]:
        return self.rows[:LEADERBOARD_TOP]


NO_STANDINGS = Standings(rows=[], you={})

score_cache: LatestByRound[scoring.RoundScore] = LatestByRound(MAX_ROUNDS)
standings_cache: LatestByRound[Standings] = LatestByRound(MAX_ROUNDS)


def scores_key(live: LiveRound, state: engine.RoundState, questions: list[LiveQuestion]) -> tuple:
    """What the scores shown depend on: seq (moves on every reveal and void), the
    voided questions, and who has been kicked (a kick does not move seq)."""
    kicked = selectors.kicked_count(live)
    return (live.created_at, state.seq, tuple((q.pk, q.voided) for q in questions), kicked)


def round_score(live: LiveRound, state: engine.RoundState) -> scoring.RoundScore:
    """Scores from the recorded answers of the questions revealed so far (never the
    open one). Cached per process by round and seq: seq moves on every reveal and void."""
    until = scored_until(state)
    questions = [q for q in selectors.round_questions(live) if q.position < until]
    cache_key = scores_key(live, state, questions)
    cached = score_cache.get(live.pk, cache_key)
    if cached is not None:
        return cached
    seconds = live.seconds_per_question
    answers = selectors.scoring_answers([q.pk for q in questions])
    players = selectors.playing_player_ids(live)
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
    score_cache.put(live.pk, cache_key, score)
    return score


def standings(
    live: LiveRound, state: engine.RoundState, questions: list[LiveQuestion] | None = None
) -> Standings:
    """Scores of the questions revealed so far, ranked (docs/scoring.md); `questions`
    are the round's, if the caller has them.

    Cached per process by round, seq and voided questions: scores change only when seq
    does (a reveal, a void), so the joins and reconnects of a whole hall between two
    reveals cost one computation. A player who joined since is not ranked yet."""
    if questions is None:
        questions = selectors.round_questions(live)
    until = scored_until(state)
    questions = [q for q in questions if q.position < until]
    cache_key = scores_key(live, state, questions)
    cached = standings_cache.get(live.pk, cache_key)
    if cached is not None:
        return cached
    result = _computed(live, state, questions)
    standings_cache.put(live.pk, cache_key, result)
    return result


Players = list[tuple[int, int | None, str, int | None]]  # id, user, nickname, team


def _computed(
    live: LiveRound, state: engine.RoundState, questions: list[LiveQuestion]
) -> Standings:
    last = questions[-1] if questions else None
    players = selectors.playing_players(live)
    if live.kind == LiveRound.Kind.FINALS:
        return finals_standings(live, questions, players)
    score = round_score(live, state)
    ranked = rank_round(score)
    ranks = {r.id: r.rank for r in ranked}
    you: dict[int, dict[str, Any]] = {}
    for pk, total in score.totals.items():
        mine: dict[str, Any] = {
            "points": total.points,
            "streak": total.streak,
            "rank": ranks.get(pk),
        }
        result = score.per_question.get(last.pk, {}).get(pk) if last else None
        if result is not None and result.answered:
            # No answer is not a wrong answer: a player who did not answer gets no
            # result on the question at all (docs/protocol.md, `revealed`).
            mine.update(correct=result.correct, gained=result.points)
        you[pk] = mine
    if not live.plays_as_teams:
        # Names as the public may see them (accounts.display): the rows go to everyone.
        shown = names.public(live, [(pk, user, name) for pk, user, name, _team in players])
        rows = [
            frames.player_row(r.rank, r.id, shown.get(r.id, ""), r.row["points"]) for r in ranked
        ]
        return Standings(rows, you)
    # Team rounds: the mean of the members' points, or one device per team (the
    # captain is the only member who answers, so the sum is the captain's points).
    members: dict[int, list[int]] = {}
    for pk, _user, _name, team in players:
        if team is not None:
            members.setdefault(team, []).append(pk)
    points = score.points()
    if live.team_mode == LiveRound.TeamMode.MEAN:
        team_points = scoring.team_scores(points, members)
    else:
        team_points = {t: sum(points.get(m, 0) for m in ms) for t, ms in members.items()}
    return team_standings(live, team_points, {}, players, you)


def team_standings(
    live: LiveRound,
    team_points: dict[Any, int],
    tiebreak: dict[int, Any],
    players: Players,
    you: dict[int, dict[str, Any]],
) -> Standings:
    teams = selectors.team_names(live)
    for team in teams:
        team_points.setdefault(team, 0)
    ranked = competition_ranking(
        [{"id": t, "score": p, "tiebreak": tiebreak.get(t)} for t, p in team_points.items()],
        FINALS_CHAIN,
    )
    rows = [frames.team_row(r.rank, r.id, teams.get(r.id, ""), r.row["score"]) for r in ranked]
    by_team = {row["team"]: row for row in rows}
    for pk, _user, _name, team in players:
        if team in by_team:
            you.setdefault(pk, {}).update(team=frames.your_team(by_team[team]))
    return Standings(rows, you)


def finals_standings(live: LiveRound, questions: list[LiveQuestion], players: Players) -> Standings:
    """Stage finals: every team starts at 100; each question is a finals event
    (realtime.scoring.score_finals) decided by the team captains' answers."""
    teams = selectors.team_ids(live)
    ids = [q.pk for q in questions]
    answers = selectors.captain_answers(ids)
    buzzes = selectors.buzzes_by_question(ids)  # µs stamps and the host's awards
    stakes = selectors.stake_rows(ids)
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
            elapsed = selectors.captain_times(q)
            for team in teams:
                tiebreak[team] = tiebreak_result(answers.get((q.pk, team)), elapsed.get(team))
        gained = deltas
    you: dict[int, dict[str, Any]] = {}
    last = questions[-1] if questions else None
    for pk, _user, _name, team in players:
        if team is None:
            continue
        mine: dict[str, Any] = {"points": totals.get(team, 0)}
        if last is not None:
            mine["gained"] = gained.get(team, 0)
            if (last.pk, team) in answers:
                mine["correct"] = bool(answers[(last.pk, team)])
        you[pk] = mine
    standing = team_standings(live, totals, tiebreak, players, you)
    for mine in standing.you.values():
        if "team" in mine:
            mine["rank"] = mine["team"]["rank"]
    return standing


def finals_events(
    live: LiveRound,
    q: LiveQuestion,
    teams: list[int],
    answers: dict[tuple[int, int], bool],
    buzzes: list[scoring.Buzz],
    stakes: dict[tuple[int, int], tuple[int, int]],
) -> list[scoring.FinalsEvent]:
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
