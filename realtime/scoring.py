"""Scoring rules for live rounds and stage finals: pure functions, standard library only,
no Django import. docs/scoring.md states every rule with worked examples;
tests/realtime/test_scoring.py checks those examples. Ranking (tie-break chains,
competition ranking) is leaderboards.ranking's, shared with the leaderboards.

Times are integer milliseconds. Arithmetic is exact (fractions, never floats), and every
rounding is half away from zero (`round_half_away`): 499.5 → 500, 500.5 → 501, -2.5 → -3.
Python's `round()` rounds half to even (round(500.5) == 500) and is not used.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from leaderboards.ranking import stable_key

# Live rounds (classic speed scoring).
BASE_POINTS = 1000  # P of a standard question
DOUBLE_POINTS = 2000  # P of a "double" question
NO_POINTS = 0  # P of a "no points" question (warm-up, survey)
POINTS_BY_KIND = {"standard": BASE_POINTS, "double": DOUBLE_POINTS, "none": NO_POINTS}
FULL_POINTS_WITHIN_MS = 500  # a correct answer within 0.5 s earns the full P
DEFAULT_TIME_LIMIT_MS = 20_000
STREAK_STEP = 100
STREAK_CAP = 500

# Stage finals (teams of 3, judged on stage).
START_SCORE = 100
COMPULSORY_VALUE = 10
BUZZER_VALUE = 10
BUZZER_WINDOW_MS = 20_000
# Two buzzes received less than this apart are a tie (docs/scoring.md §6): the bound on
# how far two server hosts' clocks may disagree (docs/deploy.md, "Clocks across hosts":
# 0.5 ms) plus the stamp's own delay on a busy event loop (0.5 ms). Below it the server
# cannot honestly say which press came first.
BUZZ_TIE_US = 1_000
RISK_STAKES = (10, 20, 30)


def round_half_away(value: Fraction | Decimal | int | float) -> int:
    """Round to the nearest integer, halves away from zero (2.5 → 3, -2.5 → -3)."""
    exact = Fraction(value)
    magnitude = abs(exact)
    rounded = int(magnitude + Fraction(1, 2))  # floor, since magnitude ≥ 0
    return rounded if exact >= 0 else -rounded


# ─── single answers ────────────────────────────────────────────────────────────────


def speed_points(
    *,
    correct: bool | None,
    elapsed_ms: int | None,
    time_limit_ms: int = DEFAULT_TIME_LIMIT_MS,
    points: int = BASE_POINTS,
) -> int:
    """Classic speed scoring: round(P × (1 − (t/T)/2)) for a correct answer, the full P
    within 0.5 s, 0 for a wrong answer or none. t is clamped to [0, T]."""
    if not correct or elapsed_ms is None:
        return 0
    if points < 0:
        raise ValueError("points must be ≥ 0")
    if time_limit_ms <= 0:
        raise ValueError("time_limit_ms must be > 0")
    t = min(max(elapsed_ms, 0), time_limit_ms)
    if t <= FULL_POINTS_WITHIN_MS:
        return points
    return round_half_away(Fraction(points) * (1 - Fraction(t, 2 * time_limit_ms)))


def accuracy_points(*, correct: bool | None, points: int = BASE_POINTS) -> int:
    """Accuracy-only scoring: P for a correct answer, whatever the time; else 0."""
    if points < 0:
        raise ValueError("points must be ≥ 0")
    return points if correct else 0


def streak_bonus(streak: int) -> int:
    """Bonus earned on the k-th consecutive correct answer: min(100 × (k − 1), 500)."""
    if streak <= 1:
        return 0
    return min(STREAK_STEP * (streak - 1), STREAK_CAP)


# ─── a whole live round ────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Question:
    """A question as played. `points` is P (1000, 2000 double, 0 none)."""

    id: Hashable
    points: int = BASE_POINTS
    time_limit_ms: int = DEFAULT_TIME_LIMIT_MS
    void: bool = False


@dataclass(frozen=True)
class Answer:
    """A recorded, accepted answer: `elapsed_ms` is server receive time − opened_at."""

    player: Hashable
    question: Hashable
    correct: bool
    elapsed_ms: int


@dataclass(frozen=True)
class Settings:
    """Classic: speed on. Accuracy-only: speed off. The streak bonus is off by default
    (teachers often want it off); both switches are independent."""

    speed: bool = True
    streak_bonus: bool = False


CLASSIC = Settings(speed=True)
ACCURACY_ONLY = Settings(speed=False)


@dataclass(frozen=True)
class QuestionResult:
    """One player's result on one (non-void) question."""

    answered: bool
    correct: bool
    elapsed_ms: int | None
    base: int  # speed or accuracy points
    bonus: int  # streak bonus
    streak: int  # streak after this question

    @property
    def points(self) -> int:
        return self.base + self.bonus


@dataclass(frozen=True)
class PlayerTotal:
    points: int
    correct: int  # correct answers on non-void questions
    answered: int  # answers on non-void questions
    time_ms: int  # answer times summed; an unanswered question counts its full time
    streak: int  # streak after the last non-void question
    best_streak: int


@dataclass(frozen=True)
class RoundScore:
    totals: dict[Hashable, PlayerTotal]
    # Per non-void question id, per player. Void questions map to {}.
    per_question: dict[Hashable, dict[Hashable, QuestionResult]] = field(default_factory=dict)

    def points(self) -> dict[Hashable, int]:
        return {player: total.points for player, total in self.totals.items()}


def score_round(
    questions: Sequence[Question],
    answers: Iterable[Answer],
    settings: Settings = CLASSIC,
    *,
    players: Iterable[Hashable] = (),
) -> RoundScore:
    """Score a round from its recorded answers alone.

    `questions` are in play order. Every player who answered anything, or is named in
    `players`, gets a total. Void questions count for nothing: no points, no answer
    time, and for streaks they neither count nor break one; so a round with a void
    question scores exactly like the round without it. A no-points question (P = 0)
    leaves streaks as they are too. At most one answer per player and question (the
    database's unique constraint); a duplicate, or an answer to an unknown question,
    raises ValueError. The order of `answers` does not matter.
    """
    by_id: dict[Hashable, Question] = {}
    for question in questions:
        if question.id in by_id:
            raise ValueError(f"question {question.id!r} listed twice")
        by_id[question.id] = question
    recorded: dict[tuple[Hashable, Hashable], Answer] = {}
    everyone: set[Hashable] = set(players)
    for answer in answers:
        if answer.question not in by_id:
            raise ValueError(f"answer to unknown question {answer.question!r}")
        key = (answer.player, answer.question)
        if key in recorded:
            raise ValueError(f"two answers by {answer.player!r} to {answer.question!r}")
        recorded[key] = answer
        everyone.add(answer.player)
    ordered_players = sorted(everyone, key=stable_key)

    per_question: dict[Hashable, dict[Hashable, QuestionResult]] = {}
    running = {p: [0, 0, 0, 0, 0, 0] for p in ordered_players}  # pts, ok, ans, ms, streak, best
    for question in questions:
        results: dict[Hashable, QuestionResult] = {}
        per_question[question.id] = results
        if question.void:
            continue
        for player in ordered_players:
            results[player] = _play(
                question, recorded.get((player, question.id)), running[player], settings
            )
    totals = {
        p: PlayerTotal(
            points=a[0], correct=a[1], answered=a[2], time_ms=a[3], streak=a[4], best_streak=a[5]
        )
        for p, a in running.items()
    }
    return RoundScore(totals=totals, per_question=per_question)


def _play(
    question: Question, played: Answer | None, acc: list[int], settings: Settings
) -> QuestionResult:
    """One player's result on one non-void question; `acc` (points, correct, answered,
    time, streak, best streak so far) is brought up to date."""
    streak = acc[4]
    elapsed: int | None
    if played is None:
        base, bonus, correct, elapsed = 0, 0, False, None
        if question.points > 0:
            streak = 0
        acc[3] += question.time_limit_ms
    else:
        correct = bool(played.correct)
        elapsed = min(max(played.elapsed_ms, 0), question.time_limit_ms)
        if settings.speed:
            base = speed_points(
                correct=correct,
                elapsed_ms=played.elapsed_ms,
                time_limit_ms=question.time_limit_ms,
                points=question.points,
            )
        else:
            base = accuracy_points(correct=correct, points=question.points)
        bonus = 0
        if question.points > 0:
            streak = streak + 1 if correct else 0
            if correct and settings.streak_bonus:
                bonus = streak_bonus(streak)
        acc[1] += correct
        acc[2] += 1
        acc[3] += elapsed
    acc[0] += base + bonus
    acc[4] = streak
    acc[5] = max(acc[5], streak)
    return QuestionResult(
        answered=played is not None,
        correct=correct,
        elapsed_ms=elapsed,
        base=base,
        bonus=bonus,
        streak=streak,
    )


# ─── teams ─────────────────────────────────────────────────────────────────────────


def team_scores(
    player_points: Mapping[Hashable, int], teams: Mapping[Hashable, Iterable[Hashable]]
) -> dict[Hashable, int]:
    """Team mode "mean of members": the mean of the members' totals, rounded half away
    from zero. A member who never answered counts as 0 (a team cannot raise its mean by
    leaving its weakest member's phone in a pocket). In "one device per team" mode the
    team plays as a single player: score it with `score_round`, no averaging."""
    seen: dict[Hashable, Hashable] = {}
    result: dict[Hashable, int] = {}
    for team, members in teams.items():
        roster = list(members)
        if not roster:
            raise ValueError(f"team {team!r} has no members")
        for member in roster:
            if member in seen:
                raise ValueError(f"{member!r} is in teams {seen[member]!r} and {team!r}")
            seen[member] = team
        total = sum(player_points.get(member, 0) for member in roster)
        result[team] = round_half_away(Fraction(total, len(roster)))
    return result


# ─── stage finals: compulsory, buzzer, risk ────────────────────────────────────────


def compulsory_schedule(teams: Sequence[Hashable], rounds: int = 1) -> list[Hashable]:
    """Turn order of the compulsory round (必答): question i goes to teams[i % n];
    each team answers its own question, `rounds` times over."""
    if not teams:
        raise ValueError("no teams")
    return [teams[i % len(teams)] for i in range(len(teams) * rounds)]


def compulsory_points(correct: bool | None, value: int = COMPULSORY_VALUE) -> int:
    """必答: +value if correct, 0 otherwise (no penalty)."""
    return value if correct else 0


@dataclass(frozen=True)
class Buzz:
    """A buzz as received. `received_us` is the server's receive stamp in microseconds
    (None for a buzz stamped in ms only: received_at_ms × 1000); `buzz_id` a stable id
    (e.g. the database row id) that only fixes the order in which tied buzzes are
    listed; `awarded`: the host gave this buzz the question after a tie."""

    team: Hashable
    received_at_ms: int
    buzz_id: int | str
    received_us: int | None = None
    awarded: bool = False

    @property
    def stamp_us(self) -> int:
        """The receive time that orders buzzes, in µs."""
        return self.received_us if self.received_us is not None else self.received_at_ms * 1000


@dataclass(frozen=True)
class BuzzOutcome:
    """Who answers a buzzer question. `winner`: the first valid buzz by receive stamp,
    or the tied buzz the host awarded the question to; None when nobody buzzed validly
    or while a tie is not settled. `tied`: the buzzes received less than the tie window
    after the first one, the first included, in receive order (empty: no tie)."""

    winner: Buzz | None
    tied: tuple[Buzz, ...] = ()

    @property
    def unsettled(self) -> bool:
        """A tie the host has not settled yet: nobody may answer."""
        return bool(self.tied) and self.winner is None


def buzzer_outcome(
    buzzes: Iterable[Buzz],
    *,
    opened_at_ms: int,
    window_ms: int = BUZZER_WINDOW_MS,
    eligible: Collection[Hashable] | None = None,
    tie_us: int = BUZZ_TIE_US,
) -> BuzzOutcome:
    """抢答, with ties. Valid buzzes: received within [opened_at, opened_at + window]
    (ms), from an eligible team. They are ordered by their µs receive stamp; every
    valid buzz received less than `tie_us` after the first is tied with it (measured
    from the first, not chained). One buzz in front: it answers. Two or more: a tie,
    which nobody answers until the host awards it to one of them (`Buzz.awarded`). An
    award is final: the awarded buzz answers whatever buzz is processed after it."""
    valid = sorted(
        (
            b
            for b in buzzes
            if opened_at_ms <= b.received_at_ms <= opened_at_ms + window_ms
            and (eligible is None or b.team in eligible)
        ),
        key=lambda b: (b.stamp_us, stable_key(b.buzz_id)),
    )
    if not valid:
        return BuzzOutcome(None)
    first = valid[0]
    tied = tuple(b for b in valid if b.stamp_us - first.stamp_us < tie_us)
    if len(tied) == 1:
        tied = ()
    awarded = next((b for b in valid if b.awarded), None)
    if awarded is not None:
        return BuzzOutcome(awarded, tied)
    return BuzzOutcome(None if tied else first, tied)


def buzzer_winner(
    buzzes: Iterable[Buzz],
    *,
    opened_at_ms: int,
    window_ms: int = BUZZER_WINDOW_MS,
    eligible: Collection[Hashable] | None = None,
) -> Buzz | None:
    """抢答: the team that answers (`buzzer_outcome`): the first valid buzz by receive
    stamp, or the one the host awarded a tie to. None when nobody buzzed validly within
    the window (the question is void) or while the first buzzes are an unsettled tie."""
    return buzzer_outcome(
        buzzes, opened_at_ms=opened_at_ms, window_ms=window_ms, eligible=eligible
    ).winner


def buzzer_points(correct: bool | None, value: int = BUZZER_VALUE) -> int:
    """The buzzing team's change: +value if correct, −value if wrong or no answer."""
    return value if correct else -value


def stake_verdict(stake: int, *, chosen_at_ms: int, shown_at_ms: int) -> str | None:
    """风险: None if the stake is valid, else the reason: "bad_stake" (not 10/20/30) or
    "too_late" (chosen when or after the question was shown)."""
    if isinstance(stake, bool) or stake not in RISK_STAKES:
        return "bad_stake"
    if chosen_at_ms >= shown_at_ms:
        return "too_late"
    return None


def risk_points(stake: int, correct: bool | None) -> int:
    """风险: +stake if correct, −stake if wrong or unanswered."""
    if isinstance(stake, bool) or stake not in RISK_STAKES:
        raise ValueError(f"stake must be one of {RISK_STAKES}")
    return stake if correct else -stake


@dataclass(frozen=True)
class CompulsoryTurn:
    team: Hashable
    correct: bool | None
    value: int = COMPULSORY_VALUE
    void: bool = False


@dataclass(frozen=True)
class BuzzerQuestion:
    buzzes: tuple[Buzz, ...]
    opened_at_ms: int
    correct: bool | None  # the winning team's answer
    window_ms: int = BUZZER_WINDOW_MS
    value: int = BUZZER_VALUE
    void: bool = False


@dataclass(frozen=True)
class RiskTurn:
    team: Hashable
    stake: int
    chosen_at_ms: int
    shown_at_ms: int
    correct: bool | None
    void: bool = False


FinalsEvent = CompulsoryTurn | BuzzerQuestion | RiskTurn


def finals_delta(event: FinalsEvent, teams: Collection[Hashable]) -> dict[Hashable, int]:
    """The score changes one finals question causes (empty when void)."""
    if event.void:
        return {}
    if isinstance(event, CompulsoryTurn):
        return {event.team: compulsory_points(event.correct, event.value)}
    if isinstance(event, BuzzerQuestion):
        winner = buzzer_winner(
            event.buzzes,
            opened_at_ms=event.opened_at_ms,
            window_ms=event.window_ms,
            eligible=teams,
        )
        if winner is None:
            return {}
        return {winner.team: buzzer_points(event.correct, event.value)}
    if isinstance(event, RiskTurn):
        reason = stake_verdict(
            event.stake, chosen_at_ms=event.chosen_at_ms, shown_at_ms=event.shown_at_ms
        )
        if reason is not None:
            raise ValueError(f"invalid stake for {event.team!r}: {reason}")
        return {event.team: risk_points(event.stake, event.correct)}
    raise TypeError(f"not a finals event: {event!r}")


def score_finals(
    teams: Iterable[Hashable], events: Iterable[FinalsEvent], *, start: int = START_SCORE
) -> dict[Hashable, int]:
    """Stage finals totals: every team starts at `start` (100); scores may go below 0."""
    roster = list(teams)
    totals = dict.fromkeys(roster, start)
    for event in events:
        for team, delta in finals_delta(event, totals).items():
            if team not in totals:
                raise ValueError(f"unknown team {team!r}")
            totals[team] += delta
    return totals
