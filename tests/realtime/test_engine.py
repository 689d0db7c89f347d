"""The live-round state machine (realtime.engine): pure, no database."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime import engine
from realtime.engine import (
    ABORT,
    CLOSE,
    COMMANDS,
    FINISH,
    LEADERBOARD,
    NEXT,
    PAUSE,
    RESUME,
    REVEAL,
    START,
    VOID,
    Command,
    IllegalCommand,
    RoundState,
    Status,
    allowed_commands,
    answer_accepted,
    apply,
    check_invariants,
    close_due_at,
    elapsed_ms,
)

T0 = 1_700_000_000_000  # server ms
SECONDS_20 = 20_000


def start(duration_ms: int = SECONDS_20) -> Command:
    return Command(START, duration_ms=duration_ms)


def next_question(duration_ms: int = SECONDS_20) -> Command:
    return Command(NEXT, duration_ms=duration_ms)


def void(index: int) -> Command:
    return Command(VOID, question_index=index)


def run(state: RoundState, *steps: tuple[Command | str, int]) -> RoundState:
    for command, now in steps:
        state, _events = apply(state, command, now)
    return state


def lobby(total: int = 3) -> RoundState:
    return RoundState(total_questions=total)


# ─── purity ──────────────────────────────────────────────────────────────────────


# ─── a round played through ──────────────────────────────────────────────────────


def test_a_round_goes_lobby_open_closed_revealed_leaderboard_next_and_finished():
    state = lobby(2)
    assert state.status == Status.LOBBY and state.seq == 0 and state.question_index == -1

    state, events = apply(state, start(), T0)
    assert state.status == Status.QUESTION_OPEN
    assert (state.question_index, state.opened_at, state.closes_at) == (0, T0, T0 + SECONDS_20)
    assert [e.as_dict() for e in events] == [
        {
            "type": "question_opened",
            "seq": 1,
            "question_index": 0,
            "opened_at": T0,
            "closes_at": T0 + SECONDS_20,
        }
    ]

    state, events = apply(state, CLOSE, T0 + SECONDS_20 + 500)
    assert state.status == Status.QUESTION_CLOSED
    assert state.closes_at == T0 + SECONDS_20  # a close after the deadline keeps it
    assert events[0].type == "question_closed"

    state, events = apply(state, REVEAL, T0 + 21_000)
    assert (state.status, events[0].type) == (Status.REVEALED, "revealed")
    state, events = apply(state, LEADERBOARD, T0 + 25_000)
    assert (state.status, events[0].type) == (Status.LEADERBOARD, "leaderboard")

    state, events = apply(state, next_question(30_000), T0 + 30_000)
    assert state.status == Status.QUESTION_OPEN
    assert (state.question_index, state.closes_at) == (1, T0 + 60_000)

    state = run(state, (CLOSE, T0 + 40_000), (REVEAL, T0 + 41_000))
    state, events = apply(state, FINISH, T0 + 42_000)
    assert state.status == Status.FINISHED and events[0].type == "finished"
    assert state.seq == 8


def test_closing_early_moves_the_deadline_to_the_close_time():
    state = run(lobby(), (start(), T0))
    state, events = apply(state, CLOSE, T0 + 4_000)
    assert state.closes_at == T0 + 4_000
    assert events[0].data == {"question_index": 0, "closes_at": T0 + 4_000}


def test_next_may_skip_the_leaderboard_after_a_reveal():
    state = run(lobby(), (start(), T0), (CLOSE, T0 + 1), (REVEAL, T0 + 2))
    state, _ = apply(state, next_question(), T0 + 3)
    assert (state.status, state.question_index) == (Status.QUESTION_OPEN, 1)


def test_finish_is_allowed_from_the_leaderboard_before_the_last_question():
    state = run(lobby(5), (start(), T0), (CLOSE, T0 + 1), (REVEAL, T0 + 2), (LEADERBOARD, T0 + 3))
    state, _ = apply(state, FINISH, T0 + 4)
    assert state.status == Status.FINISHED and state.question_index == 0


def test_next_after_the_last_question_is_refused_so_the_host_finishes():
    state = run(lobby(1), (start(), T0), (CLOSE, T0 + 1), (REVEAL, T0 + 2))
    with pytest.raises(IllegalCommand) as error:
        apply(state, next_question(), T0 + 3)
    assert error.value.code == engine.NO_MORE_QUESTIONS
    assert NEXT not in allowed_commands(state) and FINISH in allowed_commands(state)


def test_a_round_without_questions_cannot_start():
    with pytest.raises(IllegalCommand) as error:
        apply(lobby(0), start(), T0)
    assert error.value.code == engine.NO_QUESTIONS


@pytest.mark.parametrize("duration", [None, 0, -5, True, 1.5])
def test_opening_a_question_needs_a_positive_whole_duration(duration):
    with pytest.raises(IllegalCommand) as error:
        apply(lobby(), Command(START, duration_ms=duration), T0)
    assert error.value.code == engine.DURATION_REQUIRED


def test_an_unknown_command_is_refused_with_its_own_code():
    with pytest.raises(IllegalCommand) as error:
        apply(lobby(), "dance", T0)
    assert error.value.code == engine.UNKNOWN_COMMAND
    with pytest.raises(IllegalCommand):
        apply(lobby(), 42, T0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "command, status",
    [
        (CLOSE, Status.LOBBY),
        (REVEAL, Status.QUESTION_OPEN),
        (LEADERBOARD, Status.QUESTION_CLOSED),
        (FINISH, Status.QUESTION_OPEN),
        (RESUME, Status.LEADERBOARD),
    ],
)
def test_a_command_out_of_turn_is_refused_as_not_allowed(command, status):
    state = {
        Status.LOBBY: lobby(),
        Status.QUESTION_OPEN: run(lobby(), (start(), T0)),
        Status.QUESTION_CLOSED: run(lobby(), (start(), T0), (CLOSE, T0 + 1)),
        Status.LEADERBOARD: run(
            lobby(), (start(), T0), (CLOSE, T0 + 1), (REVEAL, T0 + 2), (LEADERBOARD, T0 + 3)
        ),
    }[status]
    with pytest.raises(IllegalCommand) as error:
        apply(state, command, T0 + 10)
    assert error.value.code == engine.NOT_ALLOWED


def test_every_command_on_an_aborted_round_is_refused_as_round_over():
    aborted = run(lobby(), (ABORT, T0))
    for name in COMMANDS:
        with pytest.raises(IllegalCommand) as error:
            apply(aborted, Command(name, duration_ms=1, question_index=0), T0 + 1)
        assert error.value.code == engine.ROUND_OVER


def test_a_finished_round_accepts_only_void():
    finished = run(lobby(1), (start(), T0), (CLOSE, T0 + 1), (REVEAL, T0 + 2), (FINISH, T0 + 3))
    assert allowed_commands(finished) == {VOID}
    state, events = apply(finished, void(0), T0 + 100)
    assert state.status == Status.FINISHED and state.seq == finished.seq + 1
    assert events[0].as_dict() == {"type": "question_voided", "seq": state.seq, "question_index": 0}


@pytest.mark.parametrize("index", [-1, 1, 7, None, True])
def test_only_a_question_already_played_can_be_voided(index):
    state = run(lobby(3), (start(), T0), (CLOSE, T0 + 1), (REVEAL, T0 + 2))
    with pytest.raises(IllegalCommand) as error:
        apply(state, Command(VOID, question_index=index), T0 + 3)
    assert error.value.code == engine.BAD_QUESTION_INDEX


def test_void_is_not_allowed_while_a_question_is_open():
    state = run(lobby(3), (start(), T0))
    with pytest.raises(IllegalCommand) as error:
        apply(state, void(0), T0 + 1)
    assert error.value.code == engine.NOT_ALLOWED


# ─── pause and resume ────────────────────────────────────────────────────────────


def test_pausing_an_open_question_keeps_its_remaining_time_for_the_resume():
    state = run(lobby(), (start(), T0))
    paused, events = apply(state, PAUSE, T0 + 8_000)
    assert paused.status == Status.PAUSED and paused.paused_from == Status.QUESTION_OPEN
    assert paused.remaining_ms == 12_000
    assert events[0].data == {"paused_from": "question_open", "remaining_ms": 12_000}
    assert not answer_accepted(paused, T0 + 9_000, 500)

    resumed, events = apply(paused, RESUME, T0 + 60_000)
    assert resumed.status == Status.QUESTION_OPEN
    assert resumed.closes_at == T0 + 72_000
    assert resumed.opened_at == T0 + 52_000  # the clock stood still for 52 s
    assert (resumed.paused_from, resumed.remaining_ms) == (None, None)
    assert events[0].data == {
        "status": "question_open",
        "question_index": 0,
        "closes_at": T0 + 72_000,
    }
    assert elapsed_ms(resumed, T0 + 61_000) == 9_000  # 8 s before the pause + 1 s after


def test_pausing_after_the_deadline_but_before_the_close_leaves_no_time():
    state = run(lobby(), (start(), T0))
    paused, _ = apply(state, PAUSE, T0 + 25_000)
    assert paused.remaining_ms == 0
    resumed, _ = apply(paused, RESUME, T0 + 30_000)
    assert resumed.closes_at == T0 + 30_000


@pytest.mark.parametrize("steps", [0, 2, 3, 4])
def test_resume_returns_to_the_state_it_paused_from_with_times_unchanged(steps):
    plan = [(start(), T0), (CLOSE, T0 + 1), (REVEAL, T0 + 2), (LEADERBOARD, T0 + 3)]
    before = run(lobby(), *plan[:steps])
    paused, _ = apply(before, PAUSE, T0 + 10)
    assert paused.remaining_ms is None
    resumed, _ = apply(paused, RESUME, T0 + 99_000)
    assert resumed == replace(before, seq=before.seq + 2)


def test_a_paused_round_cannot_be_paused_again_but_can_be_aborted():
    paused = run(lobby(), (PAUSE, T0))
    with pytest.raises(IllegalCommand) as error:
        apply(paused, PAUSE, T0 + 1)
    assert error.value.code == engine.NOT_ALLOWED
    aborted, events = apply(paused, ABORT, T0 + 2)
    assert aborted.status == Status.ABORTED and aborted.paused_from is None
    assert events[0].type == "aborted"


def test_a_state_loaded_from_the_database_accepts_plain_strings():
    state = RoundState(status="paused", paused_from="lobby", total_questions=2)
    assert state.status is Status.PAUSED and state.paused_from is Status.LOBBY
    assert RoundState(status="lobby", paused_from="").paused_from is None
    with pytest.raises(ValueError):
        RoundState(status="sleeping")


# ─── answers ─────────────────────────────────────────────────────────────────────


def test_an_answer_counts_up_to_the_deadline_plus_the_grace_and_not_a_millisecond_later():
    state = run(lobby(), (start(), T0))
    assert answer_accepted(state, T0, 300)
    assert answer_accepted(state, T0 + SECONDS_20, 300)
    assert answer_accepted(state, T0 + SECONDS_20 + 300, 300)
    late = answer_accepted(state, T0 + SECONDS_20 + 301, 300)
    assert not late and late.reason == engine.TOO_LATE


def test_an_answer_before_the_question_opened_is_too_early():
    state = run(lobby(), (start(), T0))
    verdict = answer_accepted(state, T0 - 1, 300)
    assert not verdict and verdict.reason == engine.TOO_EARLY


def test_an_answer_after_the_close_is_refused_even_within_the_grace():
    state = run(lobby(), (start(), T0), (CLOSE, T0 + 1_000))
    verdict = answer_accepted(state, T0 + 1_100, 300)
    assert not verdict and verdict.reason == engine.NOT_OPEN


def test_the_close_timer_is_due_only_after_the_grace():
    state = run(lobby(), (start(), T0))
    assert close_due_at(state, 300) == T0 + SECONDS_20 + 300
    assert close_due_at(lobby(), 300) is None


def test_a_verdict_is_truthy_only_when_accepted():
    assert bool(engine.ACCEPTED) is True
    assert bool(engine.Verdict(False, "too_late")) is False


# ─── properties ──────────────────────────────────────────────────────────────────

command_strategy = st.one_of(
    st.sampled_from(sorted(COMMANDS - {START, NEXT, VOID})).map(Command),
    st.builds(Command, st.just(START), duration_ms=st.integers(1, 60_000)),
    st.builds(Command, st.just(NEXT), duration_ms=st.integers(1, 60_000)),
    st.builds(Command, st.just(VOID), question_index=st.integers(-1, 5)),
    st.builds(Command, st.just(START), duration_ms=st.sampled_from([None, 0, -1])),
    st.just(Command("dance")),
)
steps_strategy = st.lists(st.tuples(command_strategy, st.integers(0, 30_000)), max_size=40)
FAST = settings(max_examples=150, deadline=None)


def play(total: int, steps):
    """Apply each (command, delay) in turn, yielding (before, command, now, outcome)."""
    state = lobby(total)
    now = T0
    for command, delay in steps:
        now += delay
        try:
            new, events = apply(state, command, now)
        except IllegalCommand as error:
            yield state, command, now, error
            continue
        yield state, command, now, (new, events)
        state = new


@FAST
@given(total=st.integers(0, 5), steps=steps_strategy)
def test_random_command_sequences_only_ever_reach_well_defined_states(total, steps):
    for _before, _command, _now, outcome in play(total, steps):
        if isinstance(outcome, tuple):
            new, events = outcome
            check_invariants(new)
            assert new.status in Status
            assert new.total_questions == total
            assert len(events) == 1 and events[0].seq == new.seq


@FAST
@given(total=st.integers(0, 5), steps=steps_strategy)
def test_every_accepted_command_bumps_seq_by_exactly_one(total, steps):
    for before, _command, _now, outcome in play(total, steps):
        if isinstance(outcome, tuple):
            assert outcome[0].seq == before.seq + 1


@FAST
@given(total=st.integers(0, 5), steps=steps_strategy)
def test_an_illegal_command_changes_nothing_and_carries_a_known_code(total, steps):
    for before, command, now, outcome in play(total, steps):
        if isinstance(outcome, IllegalCommand):
            assert outcome.code in engine.ILLEGAL_CODES
            snapshot = replace(before)
            with pytest.raises(IllegalCommand):
                apply(before, command, now)
            assert before == snapshot


@FAST
@given(total=st.integers(0, 5), steps=steps_strategy)
def test_abort_is_allowed_from_every_reachable_state_unless_the_round_is_over(total, steps):
    for before, _command, now, outcome in play(total, steps):
        states = [before] + ([outcome[0]] if isinstance(outcome, tuple) else [])
        for state in states:
            if state.status in (Status.FINISHED, Status.ABORTED):
                with pytest.raises(IllegalCommand) as error:
                    apply(state, ABORT, now)
                assert error.value.code == engine.ROUND_OVER
            else:
                aborted, _ = apply(state, ABORT, now)
                assert aborted.status == Status.ABORTED


@FAST
@given(total=st.integers(0, 5), steps=steps_strategy)
def test_allowed_commands_predicts_exactly_which_bare_commands_succeed(total, steps):
    for before, _command, now, _outcome in play(total, steps):
        for name in COMMANDS - {VOID}:
            command = Command(name, duration_ms=1_000)
            try:
                apply(before, command, now)
                succeeded = True
            except IllegalCommand:
                succeeded = False
            assert succeeded == (name in allowed_commands(before)), (name, before)


@FAST
@given(
    total=st.integers(1, 5),
    steps=steps_strategy,
    offset=st.integers(-5_000, 70_000),
    grace=st.integers(0, 2_000),
)
def test_an_answer_is_accepted_only_while_open_and_before_the_deadline_plus_grace(
    total, steps, offset, grace
):
    for before, _command, now, _outcome in play(total, [(start(), 0), *steps]):
        received = now + offset
        verdict = answer_accepted(before, received, grace)
        expected = (
            before.status == Status.QUESTION_OPEN
            and before.opened_at <= received <= before.closes_at + grace
        )
        assert bool(verdict) == expected
        assert verdict.reason in (None, engine.NOT_OPEN, engine.TOO_EARLY, engine.TOO_LATE)


@FAST
@given(
    duration=st.integers(1, 60_000),
    pause_after=st.integers(0, 80_000),
    pause_length=st.integers(0, 600_000),
)
def test_a_pause_preserves_the_open_question_remaining_time(duration, pause_after, pause_length):
    state = run(lobby(), (start(duration), T0))
    paused, _ = apply(state, PAUSE, T0 + pause_after)
    resume_at = T0 + pause_after + pause_length
    resumed, _ = apply(paused, RESUME, resume_at)
    remaining = max(0, duration - pause_after)
    assert resumed.closes_at - resume_at == remaining == paused.remaining_ms
    assert resumed.closes_at - resumed.opened_at == duration
