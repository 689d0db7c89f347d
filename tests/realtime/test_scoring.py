"""Scoring rules (realtime.scoring); the worked examples of docs/scoring.md. The ranking
rules are leaderboards.ranking's (tests/leaderboards/test_ranking.py); the examples here
rank scored rounds and finals with them."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboards.ranking import FINALS_CHAIN, competition_ranking, rank_round, tiebreak_result
from realtime.scoring import (
    ACCURACY_ONLY,
    BASE_POINTS,
    BUZZ_TIE_US,
    CLASSIC,
    DOUBLE_POINTS,
    NO_POINTS,
    POINTS_BY_KIND,
    START_SCORE,
    Answer,
    Buzz,
    BuzzerQuestion,
    CompulsoryTurn,
    Question,
    RiskTurn,
    Settings,
    accuracy_points,
    buzzer_outcome,
    buzzer_points,
    buzzer_winner,
    compulsory_points,
    compulsory_schedule,
    finals_delta,
    risk_points,
    round_half_away,
    score_finals,
    score_round,
    speed_points,
    stake_verdict,
    streak_bonus,
    team_scores,
)

FAST = settings(max_examples=200, deadline=None)
STREAKS = Settings(speed=False, streak_bonus=True)

# ─── rounding ────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "value, expected",
    [
        (Fraction(1649, 2), 825),
        (Fraction(3297, 2), 1649),
        (Fraction(-5, 2), -3),
        (Decimal("0.5"), 1),
        (Decimal("0.4999"), 0),
        (2.5, 3),
        (0, 0),
        (-0.4, 0),
    ],
)
def test_rounding_sends_halves_away_from_zero(value, expected):
    assert round_half_away(value) == expected


def test_rounding_differs_from_python_round_on_even_halves():
    assert round(824.5) == 824 and round_half_away(Fraction(1649, 2)) == 825


# ─── classic speed scoring: the table in docs/scoring.md §1 ──────────────────────


@pytest.mark.parametrize(
    "correct, elapsed, points, expected",
    [
        (True, 300, BASE_POINTS, 1000),
        (True, 500, BASE_POINTS, 1000),
        (True, 501, BASE_POINTS, 987),
        (True, 2_000, BASE_POINTS, 950),
        (True, 5_000, BASE_POINTS, 875),
        (True, 7_020, BASE_POINTS, 825),
        (True, 10_000, BASE_POINTS, 750),
        (True, 20_000, BASE_POINTS, 500),
        (True, 20_300, BASE_POINTS, 500),
        (True, 7_030, DOUBLE_POINTS, 1649),
        (True, 1_000, NO_POINTS, 0),
        (False, 1_000, BASE_POINTS, 0),
    ],
)
def test_classic_speed_points_match_the_worked_examples(correct, elapsed, points, expected):
    got = speed_points(correct=correct, elapsed_ms=elapsed, time_limit_ms=20_000, points=points)
    assert got == expected


def test_no_answer_and_a_negative_time_are_handled():
    assert speed_points(correct=True, elapsed_ms=None, time_limit_ms=20_000) == 0
    assert speed_points(correct=None, elapsed_ms=100, time_limit_ms=20_000) == 0
    assert speed_points(correct=True, elapsed_ms=-50, time_limit_ms=20_000) == 1000


def test_question_kinds_name_their_points():
    assert POINTS_BY_KIND == {"standard": 1000, "double": 2000, "none": 0}


def test_a_time_limit_of_zero_or_negative_points_are_errors():
    with pytest.raises(ValueError):
        speed_points(correct=True, elapsed_ms=1_000, time_limit_ms=0)
    with pytest.raises(ValueError):
        speed_points(correct=True, elapsed_ms=1_000, points=-1)
    with pytest.raises(ValueError):
        accuracy_points(correct=True, points=-1)


points_values = st.sampled_from([BASE_POINTS, DOUBLE_POINTS, NO_POINTS]) | st.integers(0, 5_000)
limits = st.integers(1, 120_000)


@FAST
@given(points=points_values, limit=limits, t=st.integers(-10_000, 200_000), ok=st.booleans())
def test_classic_points_stay_within_zero_and_p(points, limit, t, ok):
    got = speed_points(correct=ok, elapsed_ms=t, time_limit_ms=limit, points=points)
    assert 0 <= got <= points
    if ok:
        assert got >= round_half_away(Fraction(points, 2))
    else:
        assert got == 0


@FAST
@given(
    points=points_values, limit=limits, t1=st.integers(-1_000, 150_000), dt=st.integers(0, 90_000)
)
def test_classic_points_never_rise_for_a_slower_answer(points, limit, t1, dt):
    faster = speed_points(correct=True, elapsed_ms=t1, time_limit_ms=limit, points=points)
    slower = speed_points(correct=True, elapsed_ms=t1 + dt, time_limit_ms=limit, points=points)
    assert slower <= faster


@FAST
@given(points=points_values, limit=limits, t=st.integers(-1_000, 500))
def test_a_correct_answer_within_half_a_second_earns_full_points(points, limit, t):
    assert speed_points(correct=True, elapsed_ms=t, time_limit_ms=limit, points=points) == points


@FAST
@given(points=points_values, limit=limits, t=st.integers(501, 200_000))
def test_classic_points_follow_the_formula_after_half_a_second(points, limit, t):
    clamped = min(t, limit)
    exact = Fraction(points) * (1 - Fraction(clamped, limit) / 2)
    got = speed_points(correct=True, elapsed_ms=t, time_limit_ms=limit, points=points)
    if limit > 500:
        assert abs(got - exact) <= Fraction(1, 2)
    else:
        assert got == points  # t is clamped to T ≤ 0.5 s


# ─── accuracy-only and streaks ───────────────────────────────────────────────────


def test_accuracy_only_gives_p_for_a_correct_answer_whatever_the_time():
    assert accuracy_points(correct=True) == 1000
    assert accuracy_points(correct=True, points=DOUBLE_POINTS) == 2000
    assert accuracy_points(correct=False) == 0
    assert accuracy_points(correct=None) == 0


@FAST
@given(t1=st.integers(-1_000, 100_000), t2=st.integers(-1_000, 100_000), ok=st.booleans())
def test_accuracy_only_round_scoring_ignores_the_answer_time(t1, t2, ok):
    questions = [Question("q", time_limit_ms=20_000)]
    one = score_round(questions, [Answer("ana", "q", ok, t1)], ACCURACY_ONLY)
    two = score_round(questions, [Answer("ana", "q", ok, t2)], ACCURACY_ONLY)
    assert one.totals["ana"].points == two.totals["ana"].points == (1000 if ok else 0)


@pytest.mark.parametrize(
    "k, bonus", [(0, 0), (1, 0), (2, 100), (3, 200), (4, 300), (5, 400), (6, 500), (7, 500)]
)
def test_the_streak_bonus_grows_by_100_per_step_and_stops_at_500(k, bonus):
    assert streak_bonus(k) == bonus


def five_questions(void_third: bool = False) -> list[Question]:
    return [Question(f"q{i}", void=(void_third and i == 3)) for i in range(1, 6)]


def anas_answers(pattern: str) -> list[Answer]:
    return [
        Answer("ana", f"q{i}", mark == "✓", 3_000)
        for i, mark in enumerate(pattern, start=1)
        if mark != "-"
    ]


def test_a_wrong_answer_resets_the_streak_worked_example():
    score = score_round(five_questions(), anas_answers("✓✓✗✓✓"), STREAKS)
    assert [score.per_question[f"q{i}"]["ana"].streak for i in range(1, 6)] == [1, 2, 0, 1, 2]
    assert [score.per_question[f"q{i}"]["ana"].bonus for i in range(1, 6)] == [0, 100, 0, 0, 100]
    assert score.totals["ana"].points == 4200
    assert (score.totals["ana"].streak, score.totals["ana"].best_streak) == (2, 2)


def test_a_missing_answer_resets_the_streak_too():
    score = score_round(five_questions(), anas_answers("✓✓-✓✓"), STREAKS)
    assert score.totals["ana"].points == 4200
    assert score.per_question["q3"]["ana"].answered is False


def test_a_void_question_neither_counts_nor_breaks_the_streak_worked_example():
    voided = score_round(five_questions(void_third=True), anas_answers("✓✓✗✓✓"), STREAKS)
    assert voided.totals["ana"].points == 4600
    assert voided.per_question["q3"] == {}
    assert [voided.per_question[q]["ana"].bonus for q in ("q1", "q2", "q4", "q5")] == [
        0,
        100,
        200,
        300,
    ]
    without = score_round(
        [q for q in five_questions() if q.id != "q3"],
        [a for a in anas_answers("✓✓✗✓✓") if a.question != "q3"],
        STREAKS,
    )
    assert voided.totals == without.totals


def test_a_no_points_question_leaves_the_streak_as_it_is():
    questions = [Question("q1"), Question("warmup", points=NO_POINTS), Question("q2")]
    answers = [
        Answer("ana", "q1", True, 1_000),
        Answer("ana", "warmup", False, 1_000),
        Answer("ben", "q1", True, 1_000),
        Answer("ben", "warmup", True, 1_000),
    ] + [Answer(p, "q2", True, 1_000) for p in ("ana", "ben")]
    score = score_round(questions, answers, STREAKS)
    assert score.totals["ana"].points == score.totals["ben"].points == 2100
    assert score.per_question["warmup"]["ben"].points == 0


def test_the_streak_bonus_is_off_unless_switched_on_but_the_streak_is_still_shown():
    score = score_round(five_questions(), anas_answers("✓✓✓✓✓"), ACCURACY_ONLY)
    assert score.totals["ana"].points == 5000
    assert score.totals["ana"].streak == 5


def test_the_streak_bonus_is_capped_over_a_long_run():
    questions = [Question(i) for i in range(10)]
    answers = [Answer("ana", i, True, 0) for i in range(10)]
    score = score_round(questions, answers, STREAKS)
    assert score.totals["ana"].points == 10 * 1000 + (100 + 200 + 300 + 400) + 5 * 500


# ─── re-scoring a whole round: docs/scoring.md §4 ────────────────────────────────

WORKED_QUESTIONS = [Question("Q1"), Question("Q2", points=DOUBLE_POINTS), Question("Q3")]
WORKED_ANSWERS = [
    Answer("ana", "Q1", True, 2_000),
    Answer("ben", "Q1", True, 400),
    Answer("ana", "Q2", True, 10_000),
    Answer("ben", "Q2", False, 3_000),
    Answer("ben", "Q3", True, 7_020),
]


def test_the_worked_classic_round_gives_2450_and_1825():
    score = score_round(WORKED_QUESTIONS, WORKED_ANSWERS, CLASSIC)
    assert score.points() == {"ana": 2450, "ben": 1825}
    assert [score.per_question[q]["ana"].points for q in ("Q1", "Q2", "Q3")] == [950, 1500, 0]
    assert [score.per_question[q]["ben"].points for q in ("Q1", "Q2", "Q3")] == [1000, 0, 825]
    assert score.totals["ana"].time_ms == 32_000
    assert score.totals["ben"].time_ms == 10_420
    assert (score.totals["ana"].correct, score.totals["ana"].answered) == (2, 2)


def test_the_worked_classic_round_with_streaks_gives_ana_2550():
    score = score_round(WORKED_QUESTIONS, WORKED_ANSWERS, Settings(streak_bonus=True))
    assert score.points() == {"ana": 2550, "ben": 1825}


def test_players_who_never_answered_get_a_zero_total():
    score = score_round(WORKED_QUESTIONS, WORKED_ANSWERS, CLASSIC, players=["cai"])
    assert score.totals["cai"].points == 0
    assert score.totals["cai"].time_ms == 60_000
    assert score.per_question["Q1"]["cai"].answered is False


def test_two_answers_by_one_player_to_one_question_are_refused():
    with pytest.raises(ValueError):
        score_round(WORKED_QUESTIONS, [*WORKED_ANSWERS, Answer("ana", "Q1", False, 1)])


def test_an_answer_to_an_unknown_question_or_a_listed_twice_question_is_refused():
    with pytest.raises(ValueError):
        score_round(WORKED_QUESTIONS, [Answer("ana", "Q9", True, 1)])
    with pytest.raises(ValueError):
        score_round([Question("Q1"), Question("Q1")], [])


def test_the_live_leaderboard_ranks_by_points_then_answer_time():
    score = score_round(WORKED_QUESTIONS, WORKED_ANSWERS, CLASSIC, players=["cai", "dan"])
    ranks = [(r.rank, r.id) for r in rank_round(score)]
    assert ranks == [(1, "ana"), (2, "ben"), (3, "cai"), (3, "dan")]


players_st = st.sampled_from(["ana", "ben", "cai", 4, 5])


@st.composite
def rounds(draw):
    n = draw(st.integers(1, 6))
    questions = [
        Question(
            f"q{i}",
            points=draw(st.sampled_from([BASE_POINTS, DOUBLE_POINTS, NO_POINTS])),
            time_limit_ms=draw(st.sampled_from([10_000, 20_000, 30_000])),
            void=draw(st.booleans()) and draw(st.booleans()),
        )
        for i in range(n)
    ]
    pairs = draw(
        st.lists(
            st.tuples(players_st, st.sampled_from([q.id for q in questions])),
            unique=True,
            max_size=20,
        )
    )
    answers = [Answer(p, q, draw(st.booleans()), draw(st.integers(-100, 35_000))) for p, q in pairs]
    config = Settings(speed=draw(st.booleans()), streak_bonus=draw(st.booleans()))
    return questions, answers, config


@FAST
@given(data=rounds(), seed=st.integers(0, 2**32))
def test_rescoring_is_deterministic_and_ignores_the_order_of_answers(data, seed):
    questions, answers, config = data
    shuffled = list(answers)
    random.Random(seed).shuffle(shuffled)
    first = score_round(questions, answers, config)
    assert first == score_round(questions, answers, config)
    again = score_round(questions, shuffled, config)
    assert again == first
    assert list(again.totals) == list(first.totals)


@FAST
@given(data=rounds(), pick=st.integers(0, 5))
def test_voiding_a_question_and_rescoring_equals_scoring_without_it(data, pick):
    questions, answers, config = data
    target = questions[pick % len(questions)]
    everyone = {a.player for a in answers}
    voided = [replace(q, void=True) if q.id == target.id else q for q in questions]
    without = [q for q in questions if q.id != target.id]
    a = score_round(voided, answers, config, players=everyone)
    b = score_round(
        without, [x for x in answers if x.question != target.id], config, players=everyone
    )
    assert a.totals == b.totals
    assert {k: v for k, v in a.per_question.items() if k != target.id} == b.per_question


@FAST
@given(data=rounds())
def test_a_round_total_is_the_sum_of_its_question_points(data):
    questions, answers, config = data
    score = score_round(questions, answers, config)
    for player, total in score.totals.items():
        assert total.points == sum(
            results[player].points for results in score.per_question.values() if results
        )
        assert 0 <= total.correct <= total.answered


# ─── teams ───────────────────────────────────────────────────────────────────────


def test_a_team_scores_the_mean_of_its_members_counting_silent_members_as_zero():
    points = {"a1": 950, "a3": 700, "b1": 1000, "b2": 1001}
    teams = {"海淀": ["a1", "a2", "a3"], "朝阳": ["b1", "b2"]}
    assert team_scores(points, teams) == {"海淀": 550, "朝阳": 1001}


def test_a_member_in_two_teams_or_an_empty_team_is_refused():
    with pytest.raises(ValueError):
        team_scores({}, {"x": ["p"], "y": ["p"]})
    with pytest.raises(ValueError):
        team_scores({}, {"x": []})


def test_one_device_per_team_scores_the_team_as_a_single_player():
    answers = [Answer("海淀队", "Q1", True, 2_000), Answer("朝阳队", "Q1", False, 1_000)]
    assert score_round(WORKED_QUESTIONS[:1], answers).points() == {"海淀队": 950, "朝阳队": 0}


@FAST
@given(st.dictionaries(st.integers(0, 30), st.integers(0, 20_000), min_size=1, max_size=10))
def test_a_team_mean_lies_between_its_lowest_and_highest_member(points):
    members = list(points)
    score = team_scores(points, {"t": members})["t"]
    assert min(points.values()) <= score <= max(points.values())


# ─── stage finals: docs/scoring.md §6 ────────────────────────────────────────────


def test_compulsory_turns_go_round_the_teams_and_score_10_without_penalty():
    assert compulsory_schedule(["A", "B", "C"], rounds=2) == ["A", "B", "C", "A", "B", "C"]
    assert (compulsory_points(True), compulsory_points(False), compulsory_points(None)) == (
        10,
        0,
        0,
    )
    with pytest.raises(ValueError):
        compulsory_schedule([])


def test_the_first_buzz_by_its_microsecond_stamp_answers():
    # C 1.3 ms before B: more than the tie window, so C answers, in whatever order the
    # buzzes were stored (C's row id is not what decides).
    buzzes = [
        Buzz("B", 1_201, 5, received_us=1_201_300),
        Buzz("C", 1_200, 7, received_us=1_200_000),
        Buzz("A", 1_300, 1, received_us=1_300_000),
    ]
    assert buzzer_winner(buzzes, opened_at_ms=0).team == "C"
    assert buzzer_winner(list(reversed(buzzes)), opened_at_ms=0).team == "C"
    assert buzzer_outcome(buzzes, opened_at_ms=0).tied == ()


def test_buzzes_less_than_a_millisecond_apart_are_a_tie_nobody_answers_until_the_host_awards_it():
    # docs/scoring.md §6, worked tie: A at 5 000.950 ms, B at 5 001.700 ms (0.75 ms
    # apart, read as 5000 and 5001 in ms), C at 5 002.100 ms (1.15 ms after A).
    a = Buzz("A", 5_000, 3, received_us=5_000_950)
    b = Buzz("B", 5_001, 1, received_us=5_001_700)
    c = Buzz("C", 5_002, 2, received_us=5_002_100)
    outcome = buzzer_outcome([c, b, a], opened_at_ms=0)
    assert (outcome.winner, outcome.tied, outcome.unsettled) == (None, (a, b), True)
    assert buzzer_winner([a, b, c], opened_at_ms=0) is None
    # The host awards the tie to B (drawn by lot on stage): B answers.
    awarded = replace(b, awarded=True)
    outcome = buzzer_outcome([a, awarded, c], opened_at_ms=0)
    assert (outcome.winner, outcome.tied, outcome.unsettled) == (awarded, (a, awarded), False)
    # Unsettled, the question changes nothing; awarded, B wins or loses its value.
    unsettled = BuzzerQuestion((a, b, c), opened_at_ms=0, correct=True)
    assert finals_delta(unsettled, {"A", "B", "C"}) == {}
    assert finals_delta(replace(unsettled, buzzes=(a, awarded, c)), {"A", "B", "C"}) == {"B": 10}


def test_the_tie_window_is_one_millisecond_measured_from_the_first_buzz():
    assert BUZZ_TIE_US == 1_000
    first = Buzz("A", 0, 1, received_us=100)
    just_in = Buzz("B", 1, 2, received_us=1_099)  # 999 µs after A
    just_out = Buzz("C", 1, 3, received_us=1_100)  # 1 000 µs after A: not a tie
    assert buzzer_outcome([first, just_in, just_out], opened_at_ms=0).tied == (first, just_in)
    assert buzzer_winner([first, just_out], opened_at_ms=0) == first
    # Not chained: C is 0.8 ms after B but 1.6 ms after A, the first.
    b, c = Buzz("B", 0, 2, received_us=900), Buzz("C", 1, 3, received_us=1_700)
    assert buzzer_outcome([first, b, c], opened_at_ms=0).tied == (first, b)
    # Buzzes stamped in ms only (received_us None) in the same ms are a tie.
    same_ms = [Buzz("B", 1_200, 7), Buzz("C", 1_200, 5)]
    assert buzzer_outcome(same_ms, opened_at_ms=0).tied == (same_ms[1], same_ms[0])


def test_an_award_is_final_and_the_window_can_be_set():
    a = Buzz("A", 10, 1, received_us=10_000, awarded=True)
    b = Buzz("B", 10, 2, received_us=10_400)
    earlier = Buzz("C", 5, 3, received_us=5_000)  # processed after the award
    assert buzzer_winner([a, b, earlier], opened_at_ms=0) == a
    assert buzzer_outcome([a, b], opened_at_ms=0, tie_us=300).tied == ()


@given(
    st.lists(st.integers(0, 5_000), min_size=1, max_size=6, unique=True),
    st.randoms(use_true_random=False),
)
@FAST
def test_the_outcome_does_not_depend_on_the_order_the_buzzes_come_in(stamps, rng):
    buzzes = [Buzz(f"T{n}", us // 1000, n, received_us=us) for n, us in enumerate(stamps)]
    outcome = buzzer_outcome(buzzes, opened_at_ms=0)
    shuffled = list(buzzes)
    rng.shuffle(shuffled)
    assert buzzer_outcome(shuffled, opened_at_ms=0) == outcome
    first = min(buzzes, key=lambda b: b.stamp_us)
    second = sorted(b.stamp_us for b in buzzes)[1:2]
    tie = bool(second) and second[0] - first.stamp_us < BUZZ_TIE_US
    assert outcome.winner == (None if tie else first)


def test_a_buzz_outside_the_window_or_before_the_question_is_not_valid():
    assert buzzer_winner([Buzz("A", 20_001, 1)], opened_at_ms=0) is None
    assert buzzer_winner([Buzz("A", -1, 1), Buzz("B", 20_000, 2)], opened_at_ms=0).team == "B"
    assert buzzer_winner([], opened_at_ms=0) is None
    assert buzzer_winner([Buzz("X", 10, 1)], opened_at_ms=0, eligible={"A"}) is None


def test_the_buzzing_team_wins_or_loses_the_value():
    assert (buzzer_points(True), buzzer_points(False), buzzer_points(None)) == (10, -10, -10)


def test_a_stake_must_be_10_20_or_30_and_chosen_before_the_question_is_shown():
    assert stake_verdict(20, chosen_at_ms=99, shown_at_ms=100) is None
    assert stake_verdict(20, chosen_at_ms=100, shown_at_ms=100) == "too_late"
    assert stake_verdict(25, chosen_at_ms=0, shown_at_ms=100) == "bad_stake"
    assert stake_verdict(True, chosen_at_ms=0, shown_at_ms=100) == "bad_stake"
    assert (risk_points(30, True), risk_points(30, False), risk_points(10, None)) == (30, -30, -10)
    with pytest.raises(ValueError):
        risk_points(15, True)


FINALS = [
    CompulsoryTurn("A", True),
    CompulsoryTurn("B", False),
    CompulsoryTurn("C", True),
    BuzzerQuestion(
        (Buzz("B", 1_201, 7, received_us=1_201_300), Buzz("C", 1_200, 5, received_us=1_200_000)),
        opened_at_ms=0,
        correct=False,
    ),
    BuzzerQuestion((Buzz("A", 20_001, 9),), opened_at_ms=0, correct=True),
    RiskTurn("A", 20, chosen_at_ms=0, shown_at_ms=1, correct=True),
    RiskTurn("B", 20, chosen_at_ms=0, shown_at_ms=1, correct=False),
    RiskTurn("C", 30, chosen_at_ms=0, shown_at_ms=1, correct=True),
]


def test_the_worked_final_ends_130_80_130_from_a_start_of_100():
    assert START_SCORE == 100
    assert score_finals("ABC", FINALS) == {"A": 130, "B": 80, "C": 130}


def test_a_voided_finals_question_changes_nothing():
    voided = [*FINALS[:5], RiskTurn("A", 20, 0, 1, True, void=True), *FINALS[6:]]
    assert score_finals("ABC", voided) == {"A": 110, "B": 80, "C": 130}
    assert finals_delta(FINALS[4], {"A", "B", "C"}) == {}


def test_a_late_stake_in_the_record_is_an_error_and_scores_may_go_below_zero():
    with pytest.raises(ValueError):
        score_finals("A", [RiskTurn("A", 30, chosen_at_ms=5, shown_at_ms=5, correct=True)])
    sinking = [RiskTurn("A", 30, 0, 1, False)] * 4
    assert score_finals("A", sinking) == {"A": -20}
    with pytest.raises(ValueError):
        score_finals("A", [CompulsoryTurn("Z", True)])


# ─── ranking a final (the rules: leaderboards.ranking, tests/leaderboards) ────────


def test_the_tie_break_question_settles_a_tied_final_worked_example():
    totals = score_finals("ABC", FINALS)
    rows = [{"id": team, "score": score, "tiebreak": None} for team, score in totals.items()]
    assert [(r.rank, r.id) for r in competition_ranking(rows, FINALS_CHAIN)] == [
        (1, "A"),
        (1, "C"),
        (3, "B"),
    ]
    rows[0]["tiebreak"] = tiebreak_result(True, 4_300)
    rows[2]["tiebreak"] = tiebreak_result(True, 3_900)
    assert [(r.rank, r.id) for r in competition_ranking(rows, FINALS_CHAIN)] == [
        (1, "C"),
        (2, "A"),
        (3, "B"),
    ]
