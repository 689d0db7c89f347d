"""The live-round state machine: pure, standard library only, no Django import.

The database row (realtime.models.LiveRound) stores a `RoundState`; services load it,
call `apply(state, command, now_ms)` and write the new state back with a conditional
update on `seq` (docs/architecture.md, live-round rule 1). Timers only announce: whether an answer
counts is decided by `answer_accepted` from server timestamps alone.

    lobby ─start→ question_open ─close→ question_closed ─reveal→ revealed
    revealed ─leaderboard→ leaderboard
    revealed | leaderboard ─next→ question_open (next question)
    revealed | leaderboard ─finish→ finished
    lobby | question_open | question_closed | revealed | leaderboard ─pause→ paused
    paused ─resume→ the state it was paused from
    any state but finished/aborted ─abort→ aborted
    revealed | leaderboard | finished ─void(i)→ same state (question i marked void)

Times are integers: milliseconds of server time since the epoch.

`opened_at` is the question's clock origin. A pause stops that clock: on resume both
`opened_at` and `closes_at` move forward by the length of the pause, so the question
keeps its remaining time and `received_at - opened_at` is the answering time without
the pause.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    LOBBY = "lobby"
    QUESTION_OPEN = "question_open"
    QUESTION_CLOSED = "question_closed"
    REVEALED = "revealed"
    LEADERBOARD = "leaderboard"
    PAUSED = "paused"
    FINISHED = "finished"
    ABORTED = "aborted"


FINAL_STATUSES = frozenset({Status.FINISHED, Status.ABORTED})
PAUSABLE_STATUSES = frozenset(
    {
        Status.LOBBY,
        Status.QUESTION_OPEN,
        Status.QUESTION_CLOSED,
        Status.REVEALED,
        Status.LEADERBOARD,
    }
)

START = "start"
CLOSE = "close"
REVEAL = "reveal"
LEADERBOARD = "leaderboard"
NEXT = "next"
PAUSE = "pause"
RESUME = "resume"
ABORT = "abort"
FINISH = "finish"
VOID = "void"

COMMANDS = frozenset({START, CLOSE, REVEAL, LEADERBOARD, NEXT, PAUSE, RESUME, ABORT, FINISH, VOID})

# In which statuses each command is allowed (before the argument checks).
ALLOWED_IN: dict[str, frozenset[Status]] = {
    START: frozenset({Status.LOBBY}),
    CLOSE: frozenset({Status.QUESTION_OPEN}),
    REVEAL: frozenset({Status.QUESTION_CLOSED}),
    LEADERBOARD: frozenset({Status.REVEALED}),
    NEXT: frozenset({Status.REVEALED, Status.LEADERBOARD}),
    PAUSE: PAUSABLE_STATUSES,
    RESUME: frozenset({Status.PAUSED}),
    ABORT: frozenset(Status) - FINAL_STATUSES,
    FINISH: frozenset({Status.REVEALED, Status.LEADERBOARD}),
    VOID: frozenset({Status.REVEALED, Status.LEADERBOARD, Status.FINISHED}),
}

# Machine-readable reasons an `IllegalCommand` carries in `code`.
UNKNOWN_COMMAND = "unknown_command"
NOT_ALLOWED = "not_allowed_in_status"  # the command does not apply in this status
ROUND_OVER = "round_over"  # the round is finished or aborted
NO_QUESTIONS = "no_questions"  # start with total_questions == 0
NO_MORE_QUESTIONS = "no_more_questions"  # next after the last question: use finish
DURATION_REQUIRED = "duration_required"  # start/next need a positive duration_ms
BAD_QUESTION_INDEX = "bad_question_index"  # void of a question not yet played
ILLEGAL_CODES = frozenset(
    {
        UNKNOWN_COMMAND,
        NOT_ALLOWED,
        ROUND_OVER,
        NO_QUESTIONS,
        NO_MORE_QUESTIONS,
        DURATION_REQUIRED,
        BAD_QUESTION_INDEX,
    }
)


class IllegalCommand(Exception):  # noqa: N818 (the name the protocol and services use)
    """A command that the round's current state does not allow. Nothing changed."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class Command:
    """A host command. `duration_ms` is the question's time for start/next;
    `question_index` names the question for void."""

    name: str
    duration_ms: int | None = None
    question_index: int | None = None


@dataclass(frozen=True)
class Event:
    """Something to announce after the state change commits, stamped with the new seq."""

    type: str
    seq: int
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "seq": self.seq, **self.data}


@dataclass(frozen=True)
class RoundState:
    status: Status = Status.LOBBY
    question_index: int = -1  # -1 until the first question opens
    total_questions: int = 0
    opened_at: int | None = None
    closes_at: int | None = None
    paused_from: Status | None = None
    remaining_ms: int | None = None  # time left on an open question paused mid-way
    seq: int = 0

    def __post_init__(self) -> None:
        # Accept the database's plain strings ("" for no paused_from) as well as enums.
        object.__setattr__(self, "status", Status(self.status))
        if self.paused_from in ("", None):
            object.__setattr__(self, "paused_from", None)
        else:
            object.__setattr__(self, "paused_from", Status(self.paused_from))


@dataclass(frozen=True)
class Verdict:
    """Whether an answer counts, and if not, why. Truthy only when accepted (a bare
    reason string would be truthy too, so the engine never returns one)."""

    accepted: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.accepted


ACCEPTED = Verdict(True)
# Reasons an answer is rejected.
NOT_OPEN = "not_open"  # no question is open (closed, paused, revealed, …)
TOO_EARLY = "too_early"  # received before the question opened
TOO_LATE = "too_late"  # received after closes_at + grace


def _as_command(command: Command | str) -> Command:
    if isinstance(command, Command):
        return command
    if isinstance(command, str):
        return Command(command)
    raise IllegalCommand(UNKNOWN_COMMAND, f"not a command: {command!r}")


def allowed_commands(state: RoundState) -> frozenset[str]:
    """Commands whose status rule admits them now (for the host console's buttons).
    `next` is left out after the last question, `start` when there are no questions."""
    names = {name for name, statuses in ALLOWED_IN.items() if state.status in statuses}
    if state.question_index + 1 >= state.total_questions:
        names.discard(NEXT)
    if state.total_questions < 1:
        names.discard(START)
    if state.question_index < 0:
        names.discard(VOID)
    return frozenset(names)


def apply(state: RoundState, command: Command | str, now_ms: int) -> tuple[RoundState, list[Event]]:
    """Apply a host command at server time `now_ms`.

    Returns the new state (seq bumped by exactly one) and the events to publish.
    Raises IllegalCommand, with the state untouched, when the command is not allowed.
    """
    cmd = _as_command(command)
    if cmd.name not in COMMANDS:
        raise IllegalCommand(UNKNOWN_COMMAND, f"unknown command {cmd.name!r}")
    status = state.status
    if status not in ALLOWED_IN[cmd.name]:
        code = ROUND_OVER if status in FINAL_STATUSES else NOT_ALLOWED
        raise IllegalCommand(code, f"{cmd.name} is not allowed while the round is {status}")
    seq = state.seq + 1

    if cmd.name in (START, NEXT):
        if cmd.name == START and state.total_questions < 1:
            raise IllegalCommand(NO_QUESTIONS, "the round has no questions")
        index = state.question_index + 1
        if index >= state.total_questions:
            raise IllegalCommand(NO_MORE_QUESTIONS, "that was the last question: finish")
        if (
            not isinstance(cmd.duration_ms, int)
            or isinstance(cmd.duration_ms, bool)
            or cmd.duration_ms <= 0
        ):
            raise IllegalCommand(DURATION_REQUIRED, f"{cmd.name} needs a positive duration_ms")
        new = replace(
            state,
            status=Status.QUESTION_OPEN,
            question_index=index,
            opened_at=now_ms,
            closes_at=now_ms + cmd.duration_ms,
            paused_from=None,
            remaining_ms=None,
            seq=seq,
        )
        return new, [
            Event(
                "question_opened",
                seq,
                {"question_index": index, "opened_at": now_ms, "closes_at": new.closes_at},
            )
        ]

    if cmd.name == CLOSE:
        # Closing early moves the deadline to now; a late timer-driven close keeps it.
        assert state.closes_at is not None
        closes_at = min(state.closes_at, now_ms)
        if state.opened_at is not None:
            closes_at = max(closes_at, state.opened_at)
        new = replace(state, status=Status.QUESTION_CLOSED, closes_at=closes_at, seq=seq)
        return new, [
            Event(
                "question_closed",
                seq,
                {"question_index": state.question_index, "closes_at": closes_at},
            )
        ]

    if cmd.name == REVEAL:
        new = replace(state, status=Status.REVEALED, seq=seq)
        return new, [Event("revealed", seq, {"question_index": state.question_index})]

    if cmd.name == LEADERBOARD:
        new = replace(state, status=Status.LEADERBOARD, seq=seq)
        return new, [Event("leaderboard", seq, {"question_index": state.question_index})]

    if cmd.name == PAUSE:
        remaining = None
        if status == Status.QUESTION_OPEN:
            assert state.closes_at is not None
            remaining = max(0, state.closes_at - now_ms)
        new = replace(
            state, status=Status.PAUSED, paused_from=status, remaining_ms=remaining, seq=seq
        )
        data: dict[str, Any] = {"paused_from": str(status)}
        if remaining is not None:
            data["remaining_ms"] = remaining
        return new, [Event("paused", seq, data)]

    if cmd.name == RESUME:
        resumed = state.paused_from
        assert resumed is not None
        resumed_opened, resumed_closes = state.opened_at, state.closes_at
        if resumed == Status.QUESTION_OPEN:
            assert state.remaining_ms is not None
            assert resumed_opened is not None and resumed_closes is not None
            duration = resumed_closes - resumed_opened
            resumed_closes = now_ms + state.remaining_ms
            resumed_opened = resumed_closes - duration
        new = replace(
            state,
            status=resumed,
            opened_at=resumed_opened,
            closes_at=resumed_closes,
            paused_from=None,
            remaining_ms=None,
            seq=seq,
        )
        data = {"status": str(resumed)}
        if resumed == Status.QUESTION_OPEN:
            data.update(question_index=state.question_index, closes_at=resumed_closes)
        return new, [Event("resumed", seq, data)]

    if cmd.name == ABORT:
        new = replace(state, status=Status.ABORTED, paused_from=None, remaining_ms=None, seq=seq)
        return new, [Event("aborted", seq, {})]

    if cmd.name == FINISH:
        new = replace(state, status=Status.FINISHED, seq=seq)
        return new, [Event("finished", seq, {})]

    # VOID: any question already shown (0..question_index); the state itself only
    # moves seq, the scores are recomputed by realtime.scoring.score_round.
    voided = cmd.question_index
    if (
        not isinstance(voided, int)
        or isinstance(voided, bool)
        or not 0 <= voided <= state.question_index
    ):
        raise IllegalCommand(BAD_QUESTION_INDEX, f"question {voided!r} has not been played")
    new = replace(state, seq=seq)
    return new, [Event("question_voided", seq, {"question_index": voided})]


def answer_accepted(state: RoundState, received_at_ms: int, grace_ms: int) -> Verdict:
    """Whether an answer received (by the server) at `received_at_ms` counts: only while
    a question is open and no later than closes_at + grace (docs/architecture.md,
    live-round rule 1)."""
    if state.status != Status.QUESTION_OPEN or state.closes_at is None:
        return Verdict(False, NOT_OPEN)
    if state.opened_at is not None and received_at_ms < state.opened_at:
        return Verdict(False, TOO_EARLY)
    if received_at_ms > state.closes_at + grace_ms:
        return Verdict(False, TOO_LATE)
    return ACCEPTED


def close_due_at(state: RoundState, grace_ms: int) -> int | None:
    """When a timer should send `close` for the open question: after the grace, so that
    no answer the rules accept is turned away by the status check."""
    if state.status != Status.QUESTION_OPEN or state.closes_at is None:
        return None
    return state.closes_at + grace_ms


def elapsed_ms(state: RoundState, received_at_ms: int) -> int:
    """Answering time of an answer to the open question (pauses excluded), ≥ 0."""
    if state.opened_at is None:
        raise ValueError("no question has been opened")
    return max(0, received_at_ms - state.opened_at)


def check_invariants(state: RoundState) -> None:
    """Raise ValueError if `state` is not one that `apply` can reach from a lobby."""
    problems: list[str] = []
    s = state.status
    if state.seq < 0:
        problems.append("negative seq")
    if state.total_questions < 0:
        problems.append("negative total_questions")
    if not -1 <= state.question_index < max(state.total_questions, 0) or (
        state.question_index == -1 and s not in (Status.LOBBY, Status.PAUSED, Status.ABORTED)
    ):
        problems.append("question_index out of range")
    if s == Status.PAUSED:
        if state.paused_from is None or state.paused_from not in PAUSABLE_STATUSES:
            problems.append("paused without a pausable paused_from")
        if (state.paused_from == Status.QUESTION_OPEN) != (state.remaining_ms is not None):
            problems.append("remaining_ms must be set exactly for a paused open question")
        if state.paused_from == Status.LOBBY and state.question_index != -1:
            problems.append("paused lobby with a question index")
    else:
        if state.paused_from is not None or state.remaining_ms is not None:
            problems.append("paused_from/remaining_ms set outside paused")
    if state.remaining_ms is not None and state.remaining_ms < 0:
        problems.append("negative remaining_ms")
    if state.question_index >= 0:
        if state.opened_at is None or state.closes_at is None:
            problems.append("a question was opened without opened_at/closes_at")
        elif state.closes_at < state.opened_at:
            problems.append("closes_at before opened_at")
    elif s == Status.LOBBY and (state.opened_at is not None or state.closes_at is not None):
        problems.append("lobby with question times")
    if problems:
        raise ValueError("; ".join(problems))
