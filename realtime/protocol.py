"""The live-round WebSocket protocol as JSON Schemas: one schema per message type in
each direction, as plain Python dicts (JSON Schema draft 2020-12). docs/protocol.md
describes every message in words and examples; this module is its machine-checkable
half, and tests/realtime/test_protocol.py validates every frame of full rounds against
it. Standard library and the pure answer rule (quizzes.bank.answers) only: no Django
import, and jsonschema (a test dependency) is imported only by `validate()`.

The schemas are strict: `additionalProperties: false` wherever the server builds a
fixed shape, so a field added to a frame without documenting it fails the tests. The
key-visibility rule (docs/architecture.md, live-round rule 3) is written into the snapshot schema:
a snapshot of a round whose current question is not yet revealed cannot hold `reveal`.

    python -m realtime.protocol            # every schema as one JSON document
"""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any

from quizzes.bank.answers import MAX_TEXT_ANSWER

# The version every `welcome` and `snapshot` carries in `v` (realtime.live.frames and
# realtime.pk.frames take it from here); bump it whenever a change is not backwards
# compatible.
PROTOCOL_VERSION = 1

# Limits of the protocol, defined here only; the live-round and PK code imports them.
# A fill-in answer's limit is the answer-shape rule's, shared with papers: a longer one
# is rejected (bad_response).
LEADERBOARD_TOP = 10  # rows in a leaderboard frame
MAX_ANSWER_ID = 64  # a longer answer_id is rejected (bad_answer_id)
MAX_NICKNAME = 20  # characters of a nickname (realtime.live.nicknames)
MAX_TOKEN = 64  # a resume token is refused longer than this
# What a client message may be, as JSON (realtime.messages.parse_message): nesting of
# arrays and objects, and characters of one number (a ms timestamp has 13; a double
# needs at most 24).
MAX_DEPTH = 6
MAX_NUMBER_CHARS = 32


ROLES = ("player", "host", "screen")
STATUSES = (
    "lobby",
    "question_open",
    "question_closed",
    "revealed",
    "leaderboard",
    "paused",
    "finished",
    "aborted",
)
PAUSABLE = ("lobby", "question_open", "question_closed", "revealed", "leaderboard")
QUESTION_TYPES = ("single", "multiple", "true_false", "fill", "numeric", "ordering")
CHOICE_TYPES = ("single", "multiple", "ordering")
# Commands of the round's state machine (realtime.engine.COMMANDS) and the three the
# consumer handles itself.
ENGINE_COMMANDS = (
    "start",
    "close",
    "reveal",
    "leaderboard",
    "next",
    "pause",
    "resume",
    "abort",
    "finish",
    "void",
)
HOST_COMMANDS = (*ENGINE_COMMANDS, "kick", "lock", "unlock", "buzz_award")

# Which client messages each role may send (realtime.consumers.RoundConsumer.ROLE_MESSAGES;
# None: a socket that has not said who it is yet).
ROLE_MESSAGES: dict[str | None, frozenset[str]] = {
    None: frozenset({"join", "resume", "host", "screen", "ping"}),
    "player": frozenset({"answer", "buzz", "stake", "snapshot", "ping"}),
    "screen": frozenset({"snapshot", "ping"}),
    "host": frozenset({"command", "snapshot", "ping"}),
}

# Why an answer is rejected (`reject.reason`).
REJECT_REASONS = (
    "bad_answer_id",  # answer_id missing, not a string, empty or longer than 64
    "kicked",  # the host removed this player
    "not_current_question",  # `question` is not the current one, or it was voided
    "not_open",  # no question is open (lobby, paused, revealed…)
    "too_early",  # received before the question opened (server time)
    "too_late",  # received after closes_at + grace (server time)
    "bad_response",  # `choice` does not fit the question type / names no option
    "already_answered",  # a different answer_id for a question already answered
    "not_captain",  # one device per team: only the team's captain answers
    "not_your_turn",  # finals: another team's compulsory/risk question, or buzz not won
)
# Stage finals: why a buzz (抢答) or a stake (风险) is refused.
BUZZ_REJECT_REASONS = (
    "not_finals",  # the round is not a stage final
    "not_captain",  # only a team's captain buzzes
    "kicked",
    "not_buzzer",  # the question is not a buzzer question
    "not_current_question",
    "not_open",
    "too_early",
    "too_late",  # after closes_at (no grace for buzzes)
)
STAKE_REJECT_REASONS = (
    "not_finals",
    "not_captain",
    "kicked",
    "not_risk",  # the question is not a risk question
    "not_your_turn",  # another team's risk question
    "bad_stake",  # not 10, 20 or 30
    "too_late",  # the question has been shown already
    "already_staked",  # a different stake was chosen before
)
TURNS = ("all", "compulsory", "buzzer", "risk", "tiebreak")
RISK_STAKES = (10, 20, 30)

# Every `error.code` a round socket can send (and the clock socket: a subset).
ERROR_CODES = (
    # message level
    "text_only",  # a binary frame
    "rate_limited",  # over the socket's rate limit: the message was dropped
    "bad_json",  # not JSON
    "bad_message",  # JSON, but not an object with a string `type`
    "unknown_type",  # a `type` no role may send
    "forbidden",  # a `type` this role may not send; a refused host/screen; a command
    "bad_field",  # a field of the wrong type; `detail` names it
    # join / resume
    "no_round",  # no round has this PIN
    "pin_throttled",  # too many wrong PINs from this address or session: closed with 4003
    "round_over",  # join after the round finished/aborted; or a command then
    "locked",  # join after the host locked the round
    "nickname",  # nickname refused (empty, too long, control characters, blocklist)
    "nickname_taken",  # someone in this round uses that nickname
    "consent_required",  # a child account without guardian consent
    "roster",  # a roster-mode round: join with a slip's roster_token, not a nickname
    "roster_token",  # no slip of this round has that token
    "kicked",  # the slip's player was removed by the host
    "team",  # a team round: no (valid) team chosen (join cannot name one yet)
    "refused",  # any other refused join
    "unknown_player",  # resume with a token of no (unkicked) player of this PIN
    # host commands
    "unknown_command",
    "not_allowed_in_status",
    "no_questions",
    "no_more_questions",
    "duration_required",
    "bad_question_index",
    "busy",  # the round kept changing under the command: try again
    "not_tied",  # buzz_award: that team is not in a tie still to be settled
    # answers
    "retry",  # the database failed on the message (detail: its type): nothing was stored; resend it
)

# Which roles receive each server frame (a player only ever gets its own `kicked`).
RECIPIENTS: dict[str, frozenset[str | None]] = {
    "welcome": frozenset(ROLES),
    "snapshot": frozenset(ROLES),
    "question_opened": frozenset(ROLES),
    "question_closed": frozenset(ROLES),
    "revealed": frozenset(ROLES),
    "leaderboard": frozenset(ROLES),
    "finished": frozenset(ROLES),
    "paused": frozenset(ROLES),
    "resumed": frozenset(ROLES),
    "aborted": frozenset(ROLES),
    "question_voided": frozenset(ROLES),
    "kicked": frozenset({"player"}),
    "replaced": frozenset({"player"}),
    "player_replaced": frozenset({"host"}),
    "locked": frozenset({"host", "screen"}),
    "player_joined": frozenset({"host", "screen"}),
    "player_left": frozenset({"host", "screen"}),
    "player_list": frozenset({"host"}),
    "answer_count": frozenset({"host", "screen"}),
    "ack": frozenset({"player"}),
    "reject": frozenset({"player"}),
    "buzz_ack": frozenset({"player"}),
    "buzz_reject": frozenset({"player"}),
    "stake_ack": frozenset({"player"}),
    "stake_reject": frozenset({"player"}),
    "buzzed": frozenset(ROLES),
    "buzz_tie": frozenset(ROLES),
    "staked": frozenset(ROLES),
    "pong": frozenset({*ROLES, None}),
    "error": frozenset({*ROLES, None}),
}
# Broadcasts stamped with the round's `seq` (the state machine's events). `snapshot`
# carries the current `seq` too. Everything else is unsequenced.
SEQUENCED = frozenset(
    {
        "question_opened",
        "question_closed",
        "revealed",
        "leaderboard",
        "finished",
        "paused",
        "resumed",
        "aborted",
        "question_voided",
    }
)

# --- building blocks --------------------------------------------------------------------

_DRAFT = "https://json-schema.org/draft/2020-12/schema"

MS = {"type": "integer", "minimum": 0, "description": "server time, ms since the epoch"}
SEQ = {"type": "integer", "minimum": 1}
INDEX = {"type": "integer", "minimum": 0, "description": "0-based question position"}
COUNT = {"type": "integer", "minimum": 0}
PLAYER_ID = {"type": "integer", "minimum": 1}
NICKNAME = {"type": "string", "minLength": 1, "maxLength": MAX_NICKNAME}
OPTION_ID = {"type": "string", "minLength": 1, "description": "opaque option id"}
STATUS = {"enum": list(STATUSES)}
PAUSABLE_STATUS = {"enum": list(PAUSABLE)}
NOTHING = False  # a property that must be absent: {"properties": {"x": NOTHING}}


def _absent(*names: str) -> dict[str, Any]:
    return {"properties": dict.fromkeys(names, NOTHING)}


def _required(*names: str) -> dict[str, Any]:
    return {"required": list(names)}


def _all(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"allOf": list(parts)}


def _when(name: str, values: tuple[str, ...] | list[str], then: dict[str, Any]) -> dict:
    return {
        "if": {"properties": {name: {"enum": list(values)}}, "required": [name]},
        "then": then,
    }


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict:
    """A closed object: exactly these properties, `required` (default: all) present."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def _message(
    kind: str,
    description: str,
    properties: dict[str, Any],
    required: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    props = {"type": {"const": kind}, **properties}
    req = None if required is None else ["type", *required]
    return {"description": description, **_obj(props, req, **extra)}


OPTION = _obj({"id": OPTION_ID, "text": {"type": "string", "description": "sanitised HTML"}})

QUESTION = _obj(
    {
        "index": INDEX,
        "type": {"enum": list(QUESTION_TYPES)},
        "stem": {"type": "string", "description": "sanitised HTML"},
        "options": {"type": "array", "items": OPTION},
        "points": {"type": "integer", "minimum": 0, "description": "P: 1000, 2000 double, 0"},
        "opens_at": MS,
        "closes_at": MS,
        # stage finals only
        "turn": {"enum": list(TURNS), "description": "finals: who answers"},
        "team": {"type": ["integer", "null"], "description": "finals: the named team"},
        "value": {"type": "integer", "minimum": 0, "description": "finals: points at stake"},
    },
    required=["index", "type", "stem", "options", "points", "opens_at", "closes_at"],
    dependentRequired={"turn": ["team", "value"], "team": ["turn"], "value": ["turn"]},
    allOf=[
        _when("type", CHOICE_TYPES, {"properties": {"options": {"minItems": 2}}}),
        _when(
            "type", ("true_false", "fill", "numeric"), {"properties": {"options": {"maxItems": 0}}}
        ),
    ],
    description="The one shared frame of a question: no key, no explanation.",
)

KEY = {
    "description": "The stored answer key of the question's type.",
    "anyOf": [
        _obj({"options": {"type": "array", "items": OPTION_ID, "minItems": 1}}),  # single/multiple
        _obj({"order": {"type": "array", "items": OPTION_ID, "minItems": 2}}),  # ordering
        _obj({"value": {"type": "boolean"}}),  # true_false
        _obj({"accepted": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),  # fill
        _obj(  # numeric
            {
                "value": {"type": "number"},
                "tolerance": {"type": "number", "minimum": 0},
                "unit": {"type": "string"},
            }
        ),
    ],
}

REVEAL = _obj(
    {
        "index": INDEX,
        "key": KEY,
        "explanation": {"type": "string", "description": "sanitised HTML"},
        "distribution": {
            "type": "object",
            "description": "answers per option id (true_false: 'true'/'false'); "
            "empty for fill and numeric",
            "propertyNames": {"minLength": 1},
            "additionalProperties": {"type": "integer", "minimum": 1},
        },
        "answers": COUNT,
        "voided": {"type": "boolean"},
    }
)

TEAM_ID = {"type": "integer", "minimum": 1}
CAPTAIN = {
    "type": "boolean",
    "description": "the team's captain (the first to join it in one-device-per-team rounds "
    "and the finals); false outside them",
}
RANK = {"type": "integer", "minimum": 1}
US = {"type": "integer", "minimum": 0, "description": "server time, µs since the epoch"}
BUZZ_LEAD = {
    "team": TEAM_ID,
    "received_at": MS,
    "received_us": {**US, "description": "the buzz's receive stamp, which orders buzzes"},
    "awarded": {"const": True, "description": "the host gave it the question after a tie"},
}
BUZZ_TIE = {
    "teams": {
        "type": "array",
        "minItems": 2,
        "description": "the buzzes tied for first, in receive order",
        "items": _obj({"team": TEAM_ID, "received_at": MS, "received_us": US}),
    },
    "window_us": {
        "type": "integer",
        "minimum": 1,
        "description": "buzzes less than this apart are a tie (realtime.scoring.BUZZ_TIE_US)",
    },
}

LEADERBOARD = {
    "type": "array",
    "maxItems": LEADERBOARD_TOP,
    "description": "the top ranks, best first: players, or teams in team rounds",
    "items": {
        "anyOf": [
            _obj({"rank": RANK, "player": PLAYER_ID, "nickname": NICKNAME, "points": COUNT}),
            _obj(
                {
                    "rank": RANK,
                    "team": TEAM_ID,
                    "name": {"type": "string", "minLength": 1},
                    # finals: every team starts at 100 and may fall below 0
                    "points": {"type": "integer"},
                }
            ),
        ]
    },
}

# A player's team, in team rounds: its standing.
YOUR_TEAM = _obj(
    {"id": TEAM_ID, "name": {"type": "string"}, "points": {"type": "integer"}, "rank": RANK}
)

_YOU_RESULT = {
    "correct": {"type": "boolean", "description": "on the last revealed question"},
    "gained": {"type": "integer", "description": "points it earned (finals: the team's change)"},
}

# "you" spliced into a broadcast by the relay, for each player (realtime.relay.compose).
YOU_BROADCAST = {
    "anyOf": [
        # individual and team rounds: the player's own score (and the team's standing)
        _obj(
            {"points": COUNT, "streak": COUNT, "rank": RANK, **_YOU_RESULT, "team": YOUR_TEAM},
            required=["points", "streak", "rank"],
            dependentRequired={"correct": ["gained"], "gained": ["correct"]},
        ),
        # stage finals: the team's score is the player's
        _obj(
            {"points": {"type": "integer"}, "rank": RANK, **_YOU_RESULT, "team": YOUR_TEAM},
            required=["points", "rank", "team"],
            dependentRequired={"correct": ["gained"]},
        ),
    ]
}

# "you" in a player's snapshot: the same, with who the player is.
YOU_SNAPSHOT = _obj(
    {
        "player": PLAYER_ID,
        "nickname": NICKNAME,
        "points": {"type": "integer"},
        "streak": COUNT,
        "rank": {"type": ["integer", "null"], "minimum": 1},
        "answered": {
            "type": ["string", "null"],
            "description": "answer_id of this player's answer to the current question",
        },
        **_YOU_RESULT,
        "team": YOUR_TEAM,
        "captain": {"type": "boolean", "description": "team rounds: this device answers"},
    },
    required=["player", "nickname", "points", "streak", "rank", "answered"],
    dependentRequired={"correct": ["gained"]},
)

PERMUTATIONS = {
    "type": "array",
    "description": "per question (by index), this player's order of its options: "
    "position k shows question.options[perm[k]]",
    "items": {"type": "array", "items": {"type": "integer", "minimum": 0}, "uniqueItems": True},
}


def _visible(status: str, *, paused: bool = False) -> dict[str, Any]:
    """What a snapshot holds when the current question's visible status is `status`."""
    remaining = "remaining_ms"
    if status == "lobby":
        rule = _all(
            _absent("question", "reveal", "leaderboard", remaining),
            {"properties": {"question_index": {"const": -1}}},
        )
    elif status == "question_open" and paused:
        rule = _all(_required("question", remaining), _absent("reveal", "leaderboard"))
    elif status in ("question_open", "question_closed"):
        rule = _all(_required("question"), _absent("reveal", "leaderboard", remaining))
    elif status == "revealed":
        rule = _all(_required("question", "reveal"), _absent("leaderboard", remaining))
    elif status in ("leaderboard", "finished"):
        rule = _all(_required("question", "reveal", "leaderboard"), _absent(remaining))
    else:  # aborted: the question (if one was shown) but nothing revealed with it
        rule = _absent("reveal", "leaderboard", remaining)
    return rule


_SNAPSHOT_RULES = [
    _when(
        "status",
        [s],
        _all({"properties": {"paused_from": {"const": ""}}}, _visible(s)),
    )
    for s in STATUSES
    if s != "paused"
] + [
    _when(
        "status",
        ["paused"],
        _all(
            {"properties": {"paused_from": PAUSABLE_STATUS}},
            *[_when("paused_from", [s], _visible(s, paused=True)) for s in PAUSABLE],
        ),
    ),
    # A question's result ("you.correct", "you.gained") belongs to its reveal.
    {
        "if": {"not": _required("reveal")},
        "then": {"properties": {"you": _absent("correct", "gained")}},
    },
    # Player snapshots hold "you" and "permutations"; host snapshots "allowed" (and
    # "answers" once a question has been shown); screen snapshots neither.
    {"not": _required("you", "allowed")},
]

# A row of the host's list of players (snapshot.player_list, player_list.players).
PLAYER_ROW = _obj(
    {
        "id": {"type": "integer", "minimum": 1},
        "nickname": {"type": "string"},
        "team": {"anyOf": [TEAM_ID, {"type": "null"}]},
        "captain": CAPTAIN,
    }
)

# --- server → client --------------------------------------------------------------------

_SCORES = {"leaderboard": LEADERBOARD, "you": YOU_BROADCAST}

SERVER: dict[str, dict[str, Any]] = {
    "welcome": _message(
        "welcome",
        "First reply to join/resume/host/screen; a snapshot follows at once.",
        {
            "v": {"const": PROTOCOL_VERSION},
            "role": {"enum": list(ROLES)},
            "player": _obj({"id": PLAYER_ID, "nickname": NICKNAME}),
            "token": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TOKEN,
                "description": "keep it: `resume` with it after a reconnect",
            },
        },
        required=["v", "role"],
        allOf=[
            _when("role", ["player"], _required("player", "token")),
            _when("role", ["host", "screen"], _absent("player", "token")),
        ],
    ),
    "snapshot": _message(
        "snapshot",
        "Everything needed to draw the round now: after welcome, on request, on a seq gap.",
        {
            "v": {"const": PROTOCOL_VERSION},
            "seq": {"type": "integer", "minimum": 0},
            "status": STATUS,
            "paused_from": {"enum": ["", *PAUSABLE]},
            "question_index": {"type": "integer", "minimum": -1},
            "total_questions": {"type": "integer", "minimum": 1},
            "title": {"type": "string"},
            "pin": {"type": "string", "pattern": "^[0-9]{6}$"},
            "locked": {"type": "boolean"},
            "players": {**COUNT, "description": "players in the round (not kicked)"},
            "server_now": MS,
            "question": QUESTION,
            "remaining_ms": {**COUNT, "description": "time left on a question paused open"},
            "reveal": REVEAL,
            "leaderboard": LEADERBOARD,
            "allowed": {
                "type": "array",
                "items": {"enum": list(ENGINE_COMMANDS)},
                "uniqueItems": True,
                "description": "host only: state-machine commands allowed now",
            },
            "answers": {**COUNT, "description": "host only: answers to the current question"},
            "you": YOU_SNAPSHOT,
            "permutations": PERMUTATIONS,
            "teams": {
                "type": "array",
                "description": "team rounds: the teams, in order",
                "items": _obj({"id": TEAM_ID, "name": {"type": "string", "minLength": 1}}),
            },
            "buzz": {
                **_obj(BUZZ_LEAD, ["team", "received_at", "received_us"]),
                "description": "finals, buzzer question: the buzz that answers (leads, or "
                "was awarded a tie)",
            },
            "buzz_tie": {
                **_obj(BUZZ_TIE),
                "description": "finals, buzzer question: the buzzes tied for first",
            },
            "stakes": {
                "type": "array",
                "description": "finals: stakes chosen for the current and the next question",
                "items": _obj(
                    {
                        "question": {"type": "integer", "minimum": 0},
                        "team": TEAM_ID,
                        "stake": {"enum": [10, 20, 30]},
                    }
                ),
            },
            "player_list": {
                "type": "array",
                "description": "host only: the first players not kicked, in joining order "
                "(at most a page: the rest follow in `player_list` frames)",
                "items": PLAYER_ROW,
            },
            "player_list_more": {
                **COUNT,
                "description": "host only: how many more rows of the list follow this "
                "snapshot, in `player_list` frames",
            },
        },
        required=[
            "v",
            "seq",
            "status",
            "paused_from",
            "question_index",
            "total_questions",
            "title",
            "pin",
            "locked",
            "players",
            "server_now",
        ],
        dependentRequired={
            "you": ["permutations"],
            "permutations": ["you"],
            "answers": ["allowed"],
            "player_list": ["player_list_more"],
            "player_list_more": ["player_list"],
        },
        allOf=_SNAPSHOT_RULES,
    ),
    "question_opened": _message(
        "question_opened",
        "start/next: a question is open. The same text for every socket.",
        {
            "seq": SEQ,
            "question_index": INDEX,
            "opened_at": MS,
            "closes_at": MS,
            "question": QUESTION,
            "server_now": MS,
        },
    ),
    "question_closed": _message(
        "question_closed",
        "close (host, or the timer after closes_at + grace). `closes_at` is the final "
        "deadline: earlier than announced when the host closed early.",
        {"seq": SEQ, "question_index": INDEX, "closes_at": MS},
    ),
    "revealed": _message(
        "revealed",
        "reveal: the key, the explanation, the distribution; players get `you`.",
        {"seq": SEQ, "question_index": INDEX, "reveal": REVEAL, **_SCORES},
        required=["seq", "question_index", "reveal", "leaderboard"],
    ),
    "leaderboard": _message(
        "leaderboard",
        "leaderboard: show the standings after the revealed question.",
        {"seq": SEQ, "question_index": INDEX, **_SCORES},
        required=["seq", "question_index", "leaderboard"],
    ),
    "finished": _message(
        "finished",
        "finish: the round is over; final standings.",
        {"seq": SEQ, **_SCORES},
        required=["seq", "leaderboard"],
    ),
    "paused": _message(
        "paused",
        "pause. A question paused open keeps `remaining_ms` on its clock.",
        {"seq": SEQ, "paused_from": PAUSABLE_STATUS, "remaining_ms": COUNT},
        required=["seq", "paused_from"],
        allOf=[
            _when("paused_from", ["question_open"], _required("remaining_ms")),
            _when(
                "paused_from",
                [s for s in PAUSABLE if s != "question_open"],
                _absent("remaining_ms"),
            ),
        ],
    ),
    "resumed": _message(
        "resumed",
        "resume: back to `status`. An open question gets new opened_at/closes_at "
        "(both moved by the length of the pause).",
        {
            "seq": SEQ,
            "status": PAUSABLE_STATUS,
            "question_index": INDEX,
            "opened_at": MS,
            "closes_at": MS,
            "server_now": MS,
        },
        required=["seq", "status"],
        allOf=[
            _when(
                "status",
                ["question_open"],
                _required("question_index", "opened_at", "closes_at", "server_now"),
            ),
            _when(
                "status",
                [s for s in PAUSABLE if s != "question_open"],
                _absent("question_index", "opened_at", "closes_at", "server_now"),
            ),
        ],
    ),
    "aborted": _message("aborted", "abort: the round is over, unscored.", {"seq": SEQ}),
    "question_voided": _message(
        "question_voided",
        "void: a played question counts for nothing; scores recomputed from the recorded answers.",
        {"seq": SEQ, "question_index": INDEX, **_SCORES},
        required=["seq", "question_index", "leaderboard"],
    ),
    "kicked": _message(
        "kicked", "To the kicked player only: you are out of the round.", {"player": PLAYER_ID}
    ),
    "replaced": _message(
        "replaced",
        "To the player's earlier devices: another device took the seat (the join slip was "
        "used again); the socket is closed with 4002. Do not reconnect.",
        {
            "device": {"type": "integer", "minimum": 1, "description": "the seat's device now"},
            "player": PLAYER_ID,
        },
    ),
    "player_replaced": _message(
        "player_replaced",
        "Host: another device took this player's seat; the earlier one was disconnected.",
        {
            "player": _obj(
                {
                    "id": PLAYER_ID,
                    "nickname": NICKNAME,
                    "team": {"type": ["integer", "null"]},
                    "captain": CAPTAIN,
                }
            )
        },
    ),
    "locked": _message(
        "locked",
        "Host and screen: lock/unlock (late joins refused while locked).",
        {"locked": {"type": "boolean"}},
    ),
    "player_joined": _message(
        "player_joined",
        "Host and screen: a new player (`team`: the LiveTeam id in team rounds, else null; "
        "`captain`: whether the player is the team's captain).",
        {
            "player": _obj(
                {
                    "id": PLAYER_ID,
                    "nickname": NICKNAME,
                    "team": {"type": ["integer", "null"]},
                    "captain": CAPTAIN,
                }
            )
        },
    ),
    "player_left": _message(
        "player_left", "Host and screen: a player was kicked.", {"player": PLAYER_ID}
    ),
    "player_list": _message(
        "player_list",
        "Host, right after its snapshot: the next page of the snapshot's player list.",
        {
            "snapshot_seq": {
                "type": "integer",
                "minimum": 0,
                "description": "the seq of the snapshot this page belongs to (not `seq`: "
                "a page is not a broadcast, and changes no state)",
            },
            "players": {"type": "array", "minItems": 1, "items": PLAYER_ROW},
            "more": {**COUNT, "description": "rows still to follow; 0 on the last page"},
        },
    ),
    "answer_count": _message(
        "answer_count",
        "Host and screen, at most once a second while it changes: answers to the current question.",
        {"question": INDEX, "answers": COUNT},
    ),
    "ack": _message(
        "ack",
        "The answer is committed. A resend of the same answer_id gets the same ack.",
        {
            "answer_id": {"type": "string", "minLength": 1, "maxLength": MAX_ANSWER_ID},
            "received_at": {**MS, "description": "server receive time of the stored answer"},
        },
    ),
    "reject": _message(
        "reject",
        "The answer was not stored, and why.",
        {
            "answer_id": {"type": "string", "maxLength": MAX_ANSWER_ID},
            "reason": {"enum": list(REJECT_REASONS)},
        },
    ),
    "buzz_ack": _message(
        "buzz_ack",
        "The team's buzz is stored; `received_at` is its server receive time, "
        "`received_us` the same in µs (a resend gets the first one), `first` whether it "
        "answers now.",
        {"question": INDEX, "received_at": MS, "received_us": US, "first": {"type": "boolean"}},
    ),
    "buzz_reject": _message(
        "buzz_reject",
        "The buzz was not stored, and why.",
        {"question": {"type": "integer"}, "reason": {"enum": list(BUZZ_REJECT_REASONS)}},
    ),
    "buzzed": _message(
        "buzzed",
        "Everyone: a team's buzz leads the buzzer question now (by server receive time), "
        "or the host awarded it a tie (`awarded`).",
        {"question": INDEX, **BUZZ_LEAD},
        required=["question", "team", "received_at", "received_us"],
    ),
    "buzz_tie": _message(
        "buzz_tie",
        "Everyone: buzzes less than `window_us` apart are tied for first on the buzzer "
        "question; nobody answers until the host awards it (buzz_award).",
        {"question": INDEX, **BUZZ_TIE},
    ),
    "stake_ack": _message(
        "stake_ack",
        "The team's stake is stored (a resend of the same stake gets the same reply).",
        {"question": INDEX, "stake": {"enum": list(RISK_STAKES)}},
    ),
    "stake_reject": _message(
        "stake_reject",
        "The stake was not stored, and why.",
        {"question": {"type": "integer"}, "reason": {"enum": list(STAKE_REJECT_REASONS)}},
    ),
    "staked": _message(
        "staked",
        "Everyone: a team chose its stake for a risk question.",
        {"question": INDEX, "team": TEAM_ID, "stake": {"enum": list(RISK_STAKES)}},
    ),
    "pong": _message(
        "pong",
        "Reply to ping: offset = server_now - (sent + received) / 2.",
        {"t": {"type": ["number", "null"], "description": "the ping's `t`"}, "server_now": MS},
    ),
    "error": _message(
        "error",
        "The message was refused; nothing changed.",
        {"code": {"enum": list(ERROR_CODES)}, "detail": {"type": "string", "minLength": 1}},
        required=["code"],
    ),
}

# --- client → server --------------------------------------------------------------------

CHOICE = {
    "description": "single: an option id; multiple: option ids; ordering: option ids in "
    "order; true_false: a boolean; fill: text (≤ 200); numeric: a number or its text (≤ 50)",
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_ANSWER},
        {"type": "array", "items": OPTION_ID, "minItems": 1, "uniqueItems": True},
        {"type": "boolean"},
        {"type": "number"},
    ],
}

CLIENT: dict[str, dict[str, Any]] = {
    "join": _message(
        "join",
        "Join as a new player: open mode with a nickname (and a team in team rounds), "
        "roster mode with the token of a join slip. Signed-in users rejoin as themselves.",
        {
            "nickname": {"type": "string"},
            "team": {**TEAM_ID, "description": "team rounds"},
            "roster_token": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TOKEN,
                "description": "roster mode: the join slip's token",
            },
        },
        required=[],
        dependentSchemas={"roster_token": _absent("nickname", "team")},
    ),
    "resume": _message(
        "resume",
        "Come back as the same player after a reconnect.",
        {"token": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN}},
    ),
    "host": _message("host", "Take the host role (the session's user must host this round).", {}),
    "screen": _message(
        "screen",
        "Take the read-only projector role with the signed key of the screen's URL.",
        {"key": {"type": "string", "minLength": 1}},
    ),
    "ping": _message(
        "ping",
        "Ask for the server clock; `t` (the client's clock, ms) comes back in pong.",
        {"t": {"type": ["number", "null"]}},
        required=[],
    ),
    "snapshot": _message("snapshot", "Ask for a snapshot (after a gap in seq).", {}),
    "answer": _message(
        "answer",
        "Answer the current question. Resend with the same answer_id until acked.",
        {
            "answer_id": {"type": "string", "minLength": 1, "maxLength": MAX_ANSWER_ID},
            "question": INDEX,
            "choice": CHOICE,
        },
    ),
    "buzz": _message(
        "buzz",
        "Stage finals, team captains: buzz (抢答) on the open buzzer question.",
        {"question": INDEX},
    ),
    "stake": _message(
        "stake",
        "Stage finals, the named team's captain: stake 10, 20 or 30 on a risk "
        "question (风险) before it is shown.",
        {"question": INDEX, "stake": {"enum": list(RISK_STAKES)}},
    ),
    "command": _message(
        "command",
        "A host command.",
        {
            "name": {"enum": list(HOST_COMMANDS)},
            "question": {**INDEX, "description": "void: the question to void"},
            "player": {**PLAYER_ID, "description": "kick: the player to remove"},
            "team": {**TEAM_ID, "description": "buzz_award: the tied team that answers"},
        },
        required=["name"],
        allOf=[
            _when("name", ["void"], _all(_required("question"), _absent("player", "team"))),
            _when("name", ["kick"], _all(_required("player"), _absent("question", "team"))),
            _when("name", ["buzz_award"], _all(_required("question", "team"), _absent("player"))),
            _when(
                "name",
                [n for n in HOST_COMMANDS if n not in ("void", "kick", "buzz_award")],
                _absent("question", "player", "team"),
            ),
        ],
    ),
}


# --- 1-v-1 PK (/ws/pk/; realtime.pk, realtime.pk_consumer) ------------------------------
# Its own message set: find an opponent, then a match of a few questions moved by the
# clock. The question, answer, ack/reject, ping/pong and seq rules are the live rounds'.

PK_ROLE_MESSAGES: dict[str | None, frozenset[str]] = {
    None: frozenset({"pk_find", "pk_resume", "ping"}),
    "waiting": frozenset({"pk_find", "pk_cancel", "ping"}),
    "player": frozenset({"answer", "snapshot", "ping"}),
}
PK_STATUSES = ("lobby", "question_open", "question_closed", "revealed", "finished")
PK_ERROR_CODES = (
    "text_only",
    "rate_limited",
    "bad_json",
    "bad_message",
    "unknown_type",  # a `type` no PK role may send (a host `command`, a live `join`…)
    "forbidden",  # a PK message this socket may not send now (answer before a match…)
    "bad_field",
    "sign_in_required",  # PK is for signed-in players
    "consent_required",  # a child account without guardian consent
    "no_questions",  # no published question is open to players yet
    "unknown_player",  # pk_resume with a token of no seat of this user
    "retry",  # the database failed on the message (detail: its type): nothing was stored; resend it
)
SEAT = {"enum": [0, 1], "description": "0: the player who waited first"}
PK_PLAYERS = {
    "type": "array",
    "minItems": 2,
    "maxItems": 2,
    "description": "both players by seat: nickname only (nothing else of the opponent), "
    "points of the questions revealed so far",
    "items": _obj(
        {
            "seat": SEAT,
            "nickname": NICKNAME,
            "points": COUNT,
            "correct": {
                "type": ["boolean", "null"],
                "description": "on the last revealed question; null: no answer",
            },
            "gained": {**COUNT, "description": "points it earned"},
        },
        required=["seat", "nickname", "points"],
        dependentRequired={"correct": ["gained"], "gained": ["correct"]},
    ),
}
PK_REVEAL = _obj({"index": INDEX, "key": KEY, "explanation": {"type": "string"}})
WINNER = {"type": ["integer", "null"], "enum": [0, 1, None], "description": "null: a draw"}


def _pk_visible(status: str) -> dict[str, Any]:
    if status == "lobby":
        return _all(
            _absent("question", "reveal", "winner"),
            {"properties": {"question_index": {"const": -1}}},
        )
    if status in ("question_open", "question_closed"):
        return _all(_required("question"), _absent("reveal", "winner", "next_at"))
    if status == "revealed":
        return _all(_required("question", "reveal"), _absent("winner"))
    return _all(_required("question", "reveal", "winner"), _absent("next_at"))


PK_SERVER: dict[str, dict[str, Any]] = {
    "pk_waiting": _message(
        "pk_waiting",
        "You are in the queue (a second pk_find: still the one entry) until `until`.",
        {"until": MS, "server_now": MS},
    ),
    "pk_cancelled": _message("pk_cancelled", "You left the queue.", {}),
    "pk_timeout": _message("pk_timeout", "Nobody came in time: you left the queue.", {}),
    "pk_matched": _message(
        "pk_matched",
        "To each player privately: a match, the resume token and the opponent's "
        "nickname. A snapshot follows at once.",
        {
            "v": {"const": PROTOCOL_VERSION},
            "token": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN},
            "you": _obj({"seat": SEAT, "nickname": NICKNAME}),
            "opponent": _obj({"seat": SEAT, "nickname": NICKNAME}),
        },
    ),
    "snapshot": _message(
        "snapshot",
        "The match now: after pk_matched, on request, on a seq gap.",
        {
            "v": {"const": PROTOCOL_VERSION},
            "seq": {"type": "integer", "minimum": 0},
            "status": {"enum": list(PK_STATUSES)},
            "question_index": {"type": "integer", "minimum": -1},
            "total_questions": {"type": "integer", "minimum": 1},
            "server_now": MS,
            "next_at": {**MS, "description": "lobby, revealed: when the clock moves on"},
            "players": PK_PLAYERS,
            "question": QUESTION,
            "reveal": PK_REVEAL,
            "winner": WINNER,
            "you": _obj(
                {
                    "seat": SEAT,
                    "nickname": NICKNAME,
                    "answered": {
                        "type": ["string", "null"],
                        "description": "answer_id of your answer to the current question",
                    },
                }
            ),
            "permutations": PERMUTATIONS,
        },
        required=[
            "v",
            "seq",
            "status",
            "question_index",
            "total_questions",
            "server_now",
            "players",
            "you",
            "permutations",
        ],
        allOf=[_when("status", [s], _pk_visible(s)) for s in PK_STATUSES],
    ),
    "question_opened": SERVER["question_opened"],
    "question_closed": SERVER["question_closed"],
    "pk_answered": _message(
        "pk_answered",
        "Both players: a seat answered the open question (nothing of what it chose).",
        {"question_index": INDEX, "seat": SEAT},
    ),
    "revealed": _message(
        "revealed",
        "Both answered, or the time is up: the key, and both players' results.",
        {
            "seq": SEQ,
            "question_index": INDEX,
            "reveal": PK_REVEAL,
            "players": PK_PLAYERS,
            "next_at": MS,
        },
    ),
    "finished": _message(
        "finished",
        "The match is over: final points and the winner (null: a draw).",
        {"seq": SEQ, "players": PK_PLAYERS, "winner": WINNER},
    ),
    "ack": SERVER["ack"],
    "reject": SERVER["reject"],
    "pong": SERVER["pong"],
    "error": _message(
        "error",
        "The message was refused; nothing changed.",
        {"code": {"enum": list(PK_ERROR_CODES)}, "detail": {"type": "string", "minLength": 1}},
        required=["code"],
    ),
}

PK_CLIENT: dict[str, dict[str, Any]] = {
    "pk_find": _message("pk_find", "Find an opponent (or get back to your match).", {}),
    "pk_cancel": _message("pk_cancel", "Leave the queue.", {}),
    "pk_resume": _message(
        "pk_resume",
        "Come back to your match after a reconnect, with pk_matched's token.",
        {"token": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN}},
    ),
    "answer": CLIENT["answer"],
    "snapshot": CLIENT["snapshot"],
    "ping": CLIENT["ping"],
}

SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {"client": CLIENT, "server": SERVER}
PK_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {"client": PK_CLIENT, "server": PK_SERVER}
FAMILIES = {"live": SCHEMAS, "pk": PK_SCHEMAS}
DIRECTIONS = {"client": "client", "c2s": "client", "server": "server", "s2c": "server"}


def schema(direction: str, kind: str, family: str = "live") -> dict[str, Any]:
    """The complete, standalone JSON Schema of one message type (of live rounds, or of
    the 1-v-1 PK with family="pk")."""
    side = DIRECTIONS[direction]
    body = FAMILIES[family][side][kind]
    return {
        "$schema": _DRAFT,
        "$id": f"urn:sciarena:{family}:v{PROTOCOL_VERSION}:{side}:{kind}",
        "title": f"{kind} ({'client → server' if side == 'client' else 'server → client'})",
        **body,
    }


@cache
def _validator(side: str, kind: str, family: str = "live") -> Any:
    from jsonschema import Draft202012Validator  # a test dependency only

    document = schema(side, kind, family)
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def validate(direction: str, frame: Any, family: str = "live") -> None:
    """Raise jsonschema.ValidationError unless `frame` is a valid message going in
    `direction` ("client" = client → server, "server" = server → client), of live
    rounds or (family="pk") of the 1-v-1 PK."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match

    side = DIRECTIONS[direction]
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind not in FAMILIES[family][side]:
        raise ValidationError(f"not a {side} message type: {kind!r} in {frame!r}"[:500])
    error = best_match(_validator(side, kind, family).iter_errors(frame))
    if error is not None:
        error.message = f"{kind}: {error.message} (at {list(error.absolute_path)})"
        raise error


def document() -> dict[str, Any]:
    return {
        "version": PROTOCOL_VERSION,
        "client": {kind: schema("client", kind) for kind in CLIENT},
        "server": {kind: schema("server", kind) for kind in SERVER},
        "pk": {
            side: {kind: schema(side, kind, "pk") for kind in kinds}
            for side, kinds in PK_SCHEMAS.items()
        },
    }


if __name__ == "__main__":
    json.dump(document(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
