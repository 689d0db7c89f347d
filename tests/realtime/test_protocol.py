"""The live-round protocol as documented: every frame that every socket (host, screen,
two or more players) receives in full rounds of every question type and both round
kinds, with pause/resume, void, kick, lock and bad messages, validates against its
schema in realtime/protocol.py, and so does every message the test sends. The schemas
are strict, so an undocumented field fails here. docs/protocol.md has a section, and
valid examples, for every message type.

PROTOCOL_EXAMPLES=/tmp/examples.json makes the run write one real frame per message
type (and role), to refresh the examples in docs/protocol.md.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quizzes.models import QuestionType
from realtime import consumers, engine, protocol, scoring
from realtime.consumers import RoundConsumer
from realtime.live import (
    answers,
    frames,
    nicknames,
    responses,
    services,
    snapshots,
    standings,
    state,
)
from realtime.live.selectors import screen_key
from realtime.models import LiveAnswer, LivePlayer, LiveQuestion, LiveRound, RosterEntry
from realtime.security import TokenBucket
from tests.factories import SchoolFactory, UserFactory, child
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.live import TYPES, Socket, choice_for, command, make_round
from tests.support.options import choice_shown, key_in_frame
from tests.support.stamps import receive_stamps

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

DOCS = Path(settings.BASE_DIR) / "docs" / "protocol.md"

# What the scenarios below saw and sent, for the coverage check at the end.
SEEN: dict[str, set] = defaultdict(set)  # server type -> roles that received it
SENT: set[str] = set()  # client message types sent
COMMANDS_SENT: set[str] = set()
REASONS: set[str] = set()
BUZZ_REASONS: set[str] = set()
STAKE_REASONS: set[str] = set()
CODES: set[str] = set()
SCENARIOS_RUN: set[str] = set()
EXAMPLES: dict[str, dict] = {}


class Client(Socket):
    """A scripted client that checks the protocol on every frame: the schema, that its
    role may receive the frame, and the seq rules (no gaps, duplicates only before)."""

    def __init__(self, live, user=None) -> None:
        super().__init__(live, user=user)
        self.role: str | None = None
        self.seq: int | None = None  # the last seq applied
        self.gap_seen: int | None = None
        self.allow_gap = False
        self.dropped: set[str] = set()  # frame types to treat as lost (gap test)

    async def send(self, message: dict) -> None:
        protocol.validate("client", message)
        SENT.add(message["type"])
        if message["type"] == "command":
            COMMANDS_SENT.add(message["name"])
        await super().send(message)

    async def send_raw(self, text: str) -> None:
        """A message that is not valid protocol, on purpose."""
        await self.comm.send_to(text_data=text)

    async def recv(self, timeout=2) -> dict:
        frame = await super().recv(timeout)
        self.check(frame)
        return frame

    def check(self, frame: dict) -> None:
        protocol.validate("server", frame)
        kind = frame["type"]
        if kind == "welcome":
            self.role = frame["role"]
        assert self.role in protocol.RECIPIENTS[kind], (kind, self.role)
        SEEN[kind].add(self.role)
        if kind == "reject":
            REASONS.add(frame["reason"])
        if kind == "buzz_reject":
            BUZZ_REASONS.add(frame["reason"])
        if kind == "stake_reject":
            STAKE_REASONS.add(frame["reason"])
        if kind == "error":
            CODES.add(frame["code"])
        if "you" in frame:
            assert self.role == "player", frame
        if os.environ.get("PROTOCOL_EXAMPLES"):
            EXAMPLES.setdefault(f"{kind}/{self.role}", frame)
        self.follow_seq(frame)

    def follow_seq(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "snapshot":
            assert self.seq is None or frame["seq"] >= self.seq, (self.seq, frame["seq"])
            self.seq = frame["seq"]
            self.gap_seen = None
            return
        if kind not in protocol.SEQUENCED:
            assert "seq" not in frame
            return
        if kind in self.dropped:  # pretend the channel layer lost it
            self.dropped.discard(kind)
            return
        assert self.seq is not None, "a broadcast before the first snapshot"
        if frame["seq"] <= self.seq:
            return  # a duplicate from between subscribing and the snapshot: dropped
        if frame["seq"] != self.seq + 1:
            assert self.allow_gap, f"gap: {self.seq} -> {frame['seq']} ({kind})"
            self.gap_seen = frame["seq"]
            return
        self.seq = frame["seq"]

    async def expect_closed(self, code: int) -> None:
        """The server hangs up (after a kick): nothing more to drain."""
        assert await self.comm.receive_output(timeout=2) == {
            "type": "websocket.close",
            "code": code,
        }
        self.closed_by_server = True

    async def close(self) -> None:
        """Check everything still in flight, then hang up."""
        if getattr(self, "closed_by_server", False):
            return
        await self.drain()
        await super().close()


async def connect(live, hello: dict, user=None) -> tuple[Client, dict]:
    client = Client(live, user=user)
    first = await client.open(hello)
    if first["type"] == "welcome":
        await client.expect("snapshot")
    return client, first


async def host_client(live) -> Client:
    host, welcome = await connect(live, {"type": "host"}, await sync_to_async(lambda: live.host)())
    assert welcome["role"] == "host"
    return host


async def screen_client(live) -> Client:
    screen, welcome = await connect(live, {"type": "screen", "key": screen_key(live)})
    assert welcome["role"] == "screen"
    return screen


async def player_client(live, nickname: str) -> tuple[Client, dict]:
    player, welcome = await connect(live, {"type": "join", "nickname": nickname})
    assert welcome["type"] == "welcome", welcome
    return player, welcome


async def close_all(*clients: Client) -> None:
    for client in clients:
        await client.close()


def versions_of(live):
    return [q.version for q in live.questions.select_related("version").order_by("position")]


def answer(index: int, answer_id: str, choice) -> dict:
    return {"type": "answer", "answer_id": answer_id, "question": index, "choice": choice}


def last(client: Client, kind: str) -> dict:
    return next(f for f in reversed(client.frames) if f["type"] == kind)


async def seen(client: Client, kind: str) -> dict:
    """A broadcast this client may have received already (before the reply to its own
    message: the broadcast goes out on commit, the reply after), or waits for it."""
    for frame in reversed(client.frames):
        if frame["type"] == kind:
            client.frames.remove(frame)
            return frame
    return await client.expect(kind)


def check_permutation(player: Client, opened: dict) -> None:
    """The player's private order covers the shared frame's options exactly once."""
    snapshot = next(f for f in player.frames if f["type"] == "snapshot")
    order = snapshot["permutations"][opened["question_index"]]
    assert sorted(order) == list(range(len(opened["question"]["options"])))


# --- full rounds --------------------------------------------------------------------


@pytest.fixture
def no_rate_limit(monkeypatch):
    """Scripted sockets send far faster than people: lift the per-socket limit (the
    refusals scenario checks it)."""
    monkeypatch.setattr(consumers, "TokenBucket", lambda rate, burst: TokenBucket(1e6, 10**6))


@pytest.mark.parametrize("kind", ["classic", "accuracy"])
@pytest.mark.usefixtures("no_rate_limit")
@pytest.mark.asyncio
async def test_every_frame_of_a_full_round_matches_its_schema(kind):
    live = await sync_to_async(make_round)(kind=kind)
    versions = await sync_to_async(versions_of)(live)
    host = await host_client(live)
    screen = await screen_client(live)
    alice, _ = await player_client(live, "Alice")
    bob, bob_welcome = await player_client(live, "小明")
    players = [alice, bob]
    everyone = [host, screen, *players]
    await host.expect("player_joined")
    await screen.expect("player_joined")

    # The clock: every role pings, with and without a client time.
    for n, client in enumerate(everyone):
        await client.send({"type": "ping", "t": 1000.5 + n} if n % 2 else {"type": "ping"})
        pong = await client.expect("pong")
        assert pong["t"] == (1000.5 + n if n % 2 else None)

    # Pause in the lobby and back.
    await command(host, "pause")
    for client in everyone:
        assert (await client.expect("paused"))["paused_from"] == "lobby"
    await alice.send({"type": "snapshot"})
    assert (await alice.expect("snapshot"))["status"] == "paused"
    await command(host, "resume")
    for client in everyone:
        assert (await client.expect("resumed"))["status"] == "lobby"

    carol = None
    for index, version in enumerate(versions):
        await command(host, "start" if index == 0 else "next")
        for client in everyone:
            opened = await client.expect("question_opened")
            assert opened["question"]["index"] == index
        for player in players:
            check_permutation(player, opened)
        await alice.send(
            answer(index, f"a{index}", choice_shown(version, opened["question"], True))
        )
        ack = await alice.expect("ack")
        if index == 0:
            # A resend is acked again with the same time; another answer_id is refused.
            await alice.send(
                answer(index, f"a{index}", choice_shown(version, opened["question"], True))
            )
            assert (await alice.expect("ack"))["received_at"] == ack["received_at"]
            await alice.send(
                answer(index, "another", choice_shown(version, opened["question"], False))
            )
            assert (await alice.expect("reject"))["reason"] == "already_answered"
        if index == 1:
            # Paused while open: the clock stops, answers wait, the snapshot says so.
            await command(host, "pause")
            for client in everyone:
                paused = await client.expect("paused")
            assert paused["paused_from"] == "question_open" and paused["remaining_ms"] > 0
            await bob.send(
                answer(index, f"b{index}-paused", choice_shown(version, opened["question"], False))
            )
            assert (await bob.expect("reject"))["reason"] == "not_open"
            for client in everyone:
                await client.send({"type": "snapshot"})
                assert "remaining_ms" in await client.expect("snapshot")
            await command(host, "resume")
            for client in everyone:
                resumed = await client.expect("resumed")
            assert resumed["status"] == "question_open"
            assert resumed["closes_at"] - resumed["opened_at"] == 20_000
        if index == 2:
            # A late joiner, seen by the host and the screen, with a snapshot to draw from.
            carol, _ = await player_client(live, "=HYPERLINK(1)")
            snap = last(carol, "snapshot")
            assert snap["status"] == "question_open" and snap["you"]["answered"] is None
            await host.expect("player_joined")
            await screen.expect("player_joined")
            players.append(carol)
            everyone.append(carol)
            await carol.send(answer(index, "c2", choice_shown(version, opened["question"], True)))
            await carol.expect("ack")
        await bob.send(answer(index, f"b{index}", choice_shown(version, opened["question"], False)))
        await bob.expect("ack")
        await bob.send({"type": "snapshot"})
        assert (await bob.expect("snapshot"))["you"]["answered"] == f"b{index}"

        await command(host, "close")
        for client in everyone:
            await client.expect("question_closed")
        for client in everyone:
            await client.send({"type": "snapshot"})
            closed = await client.expect("snapshot")
            assert closed["status"] == "question_closed" and "reveal" not in closed
        await command(host, "reveal")
        for client in everyone:
            revealed = await client.expect("revealed")
            assert revealed["reveal"]["key"] == key_in_frame(version, opened["question"])
        assert last(alice, "revealed")["you"]["correct"] is True
        assert last(bob, "revealed")["you"]["correct"] is False
        if index == 2:
            await command(host, "pause")
            for client in everyone:
                assert (await client.expect("paused"))["paused_from"] == "revealed"
            await carol.send({"type": "snapshot"})
            assert "reveal" in await carol.expect("snapshot")
            await command(host, "resume")
            for client in everyone:
                await client.expect("resumed")
        if index % 2 == 0:
            await command(host, "leaderboard")
            for client in everyone:
                board = await client.expect("leaderboard")
            assert board["leaderboard"][0]["rank"] == 1
            await screen.send({"type": "snapshot"})
            assert "leaderboard" in await screen.expect("snapshot")

    # Void the second question afterwards: everyone's scores are recomputed.
    await command(host, "void", question=1)
    for client in everyone:
        voided = await client.expect("question_voided")
        assert voided["question_index"] == 1
    await command(host, "finish")
    for client in everyone:
        await client.expect("finished")
    assert last(alice, "finished")["you"]["rank"] == 1
    for client in everyone:
        await client.send({"type": "snapshot"})
        assert (await client.expect("snapshot"))["status"] == "finished"
    # Voiding after the end is allowed too; joining is not.
    await command(host, "void", question=0)
    for client in everyone:
        await client.expect("question_voided")
    late, refused = await connect(live, {"type": "join", "nickname": "Late"})
    assert refused == {"type": "error", "code": "round_over", "detail": refused["detail"]}
    await close_all(*everyone, late)
    assert bob_welcome["player"]["nickname"] == "小明"
    SCENARIOS_RUN.add(f"full-{kind}")


@pytest.mark.usefixtures("no_rate_limit")
@pytest.mark.asyncio
async def test_an_aborted_round_and_commands_after_it():
    live = await sync_to_async(make_round)(types=["single", "fill"])
    host = await host_client(live)
    screen = await screen_client(live)
    alice, _ = await player_client(live, "Alice")
    bob, _ = await player_client(live, "Bob")
    everyone = [host, screen, alice, bob]
    await command(host, "start")
    for client in everyone:
        await client.expect("question_opened")
    await command(host, "abort")
    for client in everyone:
        await client.expect("aborted")
        await client.send({"type": "snapshot"})
        snapshot = await client.expect("snapshot")
        assert snapshot["status"] == "aborted" and "question" in snapshot
    await command(host, "next")
    assert (await host.expect("error"))["code"] == "round_over"
    await close_all(*everyone)
    SCENARIOS_RUN.add("aborted")


@pytest.mark.asyncio
async def test_a_gap_in_seq_is_filled_by_a_snapshot():
    live = await sync_to_async(make_round)(types=["true_false", "numeric"])
    host = await host_client(live)
    alice, _ = await player_client(live, "Alice")
    bob, _ = await player_client(live, "Bob")
    await command(host, "start")
    await alice.expect("question_opened")
    # Alice's copy of question_closed is lost on the way.
    alice.dropped.add("question_closed")
    alice.allow_gap = True
    await command(host, "close")
    await command(host, "reveal")
    revealed = await alice.expect("revealed")
    assert alice.gap_seen == revealed["seq"] == 3
    # The documented reaction: ask for a snapshot, which brings her up to date.
    await alice.send({"type": "snapshot"})
    snapshot = await alice.expect("snapshot")
    assert (snapshot["seq"], snapshot["status"]) == (3, "revealed")
    assert alice.seq == 3 and alice.gap_seen is None
    await close_all(host, alice, bob)
    SCENARIOS_RUN.add("gap")


FINALS_TURNS = ["compulsory", "buzzer", "risk", "tiebreak", "all", "risk"]


def finals_round(kind="finals", team_mode="", turns=FINALS_TURNS, types=None):
    """A round with teams A, B, C; in the finals, A has the compulsory question and B
    the risk question."""
    bank = BankFactory()
    types = types or ["single", "multiple", "true_false", "ordering", "fill"]
    versions = [
        QuestionFactory(bank=bank, type=types[n % len(types)]).versions.get()
        for n in range(len(turns))
    ]
    host = bank.owners.first()
    live = services.round_create(
        host=host, title="决赛", versions=versions, kind=kind, team_mode=team_mode
    )
    teams = [services.team_create(live=live, actor=host, name=name) for name in "ABC"]
    if kind == "finals":
        named = {"compulsory": teams[0], "risk": teams[1]}
        for position, turn in enumerate(turns):
            services.question_turn_set(
                live=live, actor=host, position=position, turn=turn, team=named.get(turn)
            )
    return live, [t.pk for t in teams], versions_of(live)


async def team_player(live, nickname, team) -> Client:
    player, welcome = await connect(live, {"type": "join", "nickname": nickname, "team": team})
    assert welcome["type"] == "welcome", welcome
    return player


@pytest.mark.usefixtures("no_rate_limit")
@pytest.mark.asyncio
async def test_the_frames_of_the_stage_finals_match_their_schemas():
    live, (team_a, team_b, team_c), versions = await sync_to_async(finals_round)()
    host = await host_client(live)
    screen = await screen_client(live)
    a = await team_player(live, "甲", team_a)
    a2 = await team_player(live, "甲二", team_a)  # not the captain: watches
    b = await team_player(live, "乙", team_b)
    c = await team_player(live, "丙", team_c)
    everyone = [host, screen, a, a2, b, c]
    assert [last(p, "snapshot")["you"]["captain"] for p in (a, a2, b, c)] == [1, 0, 1, 1]
    assert [t["id"] for t in last(a, "snapshot")["teams"]] == [team_a, team_b, team_c]

    # Stakes are chosen before the risk question (2) is shown, by its team's captain.
    await b.send_raw(json.dumps({"type": "stake", "question": 2, "stake": 25}))
    assert (await b.expect("stake_reject"))["reason"] == "bad_stake"
    await b.send({"type": "stake", "question": 2, "stake": 20})
    assert (await b.expect("stake_ack"))["stake"] == 20
    for client in everyone:
        assert (await seen(client, "staked"))["team"] == team_b
    for who, message, reason in [
        (b, {"type": "stake", "question": 2, "stake": 30}, "already_staked"),
        (a, {"type": "stake", "question": 2, "stake": 10}, "not_your_turn"),
        (a2, {"type": "stake", "question": 2, "stake": 10}, "not_captain"),
        (a, {"type": "stake", "question": 0, "stake": 10}, "not_risk"),
    ]:
        await who.send_raw(json.dumps(message))
        assert (await who.expect("stake_reject"))["reason"] == reason, message

    answering = {"compulsory": a, "buzzer": c, "risk": b}
    for index, turn in enumerate(FINALS_TURNS):
        version = versions[index]
        await command(host, "start" if index == 0 else "next")
        for client in everyone:
            opened = await client.expect("question_opened")
        assert opened["question"]["turn"] == turn
        assert opened["question"]["team"] == {"compulsory": team_a, "risk": team_b}.get(turn)
        if turn == "compulsory":
            await a2.send(answer(index, "a2", choice_shown(version, opened["question"], True)))
            assert (await a2.expect("reject"))["reason"] == "not_captain"
            await b.send(answer(index, "b0", choice_shown(version, opened["question"], True)))
            assert (await b.expect("reject"))["reason"] == "not_your_turn"
            await a.send({"type": "buzz", "question": index})
            assert (await a.expect("buzz_reject"))["reason"] == "not_buzzer"
        if turn == "buzzer":
            await c.send({"type": "buzz", "question": index})
            assert (await c.expect("buzz_ack"))["first"] is True
            for client in everyone:
                assert (await seen(client, "buzzed"))["team"] == team_c
            await b.send({"type": "buzz", "question": index})
            assert (await b.expect("buzz_ack"))["first"] is False
            await a2.send({"type": "buzz", "question": index})
            assert (await a2.expect("buzz_reject"))["reason"] == "not_captain"
            await c.send({"type": "buzz", "question": index + 1})
            assert (await c.expect("buzz_reject"))["reason"] == "not_buzzer"
            await b.send(answer(index, "b1", choice_shown(version, opened["question"], True)))
            assert (await b.expect("reject"))["reason"] == "not_your_turn"
        if turn == "risk":
            # The stake chosen before is acked again; none chosen in time: too late.
            await b.send({"type": "stake", "question": index, "stake": 20})
            reply = await b.expect("stake_ack", "stake_reject")
            assert reply == (
                {"type": "stake_ack", "question": 2, "stake": 20}
                if index == 2
                else {"type": "stake_reject", "question": index, "reason": "too_late"}
            )
        for player in [answering.get(turn, a), *([c] if turn in ("all", "tiebreak") else [])]:
            choice = choice_shown(version, opened["question"], True)
            await player.send(answer(index, f"x{index}-{id(player)}", choice))
            await player.expect("ack")
        await command(host, "close")
        for client in everyone:
            await client.expect("question_closed")
        if turn == "buzzer":
            # A resend of a stored buzz gets the same reply after the close; a team
            # that never buzzed is too late now.
            await b.send({"type": "buzz", "question": index})
            assert (await b.expect("buzz_ack", "buzz_reject"))["type"] == "buzz_ack"
            await a.send({"type": "buzz", "question": index})
            assert (await a.expect("buzz_ack", "buzz_reject"))["reason"] == "not_open"
        await command(host, "reveal")
        for client in everyone:
            await client.expect("revealed")
        await command(host, "leaderboard")
        for client in everyone:
            board = await client.expect("leaderboard")
        assert {row["team"] for row in board["leaderboard"]} == {team_a, team_b, team_c}
    for client in everyone:
        await client.send({"type": "snapshot"})
        await client.expect("snapshot")
    await command(host, "finish")
    for client in everyone:
        await client.expect("finished")
    you = last(a2, "finished")["you"]
    assert you["team"]["id"] == team_a and you["rank"] == you["team"]["rank"]
    await close_all(*everyone)
    SCENARIOS_RUN.add("finals")


@pytest.mark.asyncio
async def test_a_buzzer_tie_and_its_award_match_their_schemas(monkeypatch):
    live, (team_a, team_b, _team_c), _versions = await sync_to_async(finals_round)(turns=["buzzer"])
    stamps = receive_stamps(monkeypatch)  # presses 0.4 ms apart cannot be timed here
    host = await host_client(live)
    screen = await screen_client(live)
    a = await team_player(live, "甲", team_a)
    b = await team_player(live, "乙", team_b)
    everyone = [host, screen, a, b]
    await command(host, "start")
    for client in everyone:
        opened = await client.expect("question_opened")
    for n, captain in enumerate((a, b)):
        stamps.queue.append(opened["opened_at"] * 1_000_000 + 2_000_000_000 + n * 400_000)
        await captain.send({"type": "buzz", "question": 0})
        await captain.expect("buzz_ack")
    for client in everyone:
        assert (await seen(client, "buzzed"))["team"] == team_a  # A led for 0.4 ms
        tie = await seen(client, "buzz_tie")
        assert [row["team"] for row in tie["teams"]] == [team_a, team_b]
    await command(host, "buzz_award", question=0, team=team_a + team_b + 99)
    assert (await host.expect("error"))["code"] == "not_tied"
    for client in everyone:  # the lead A had is read: the next `buzzed` is the award
        client.frames = [frame for frame in client.frames if frame["type"] != "buzzed"]
    await command(host, "buzz_award", question=0, team=team_b)
    for client in everyone:
        assert (await seen(client, "buzzed"))["awarded"] is True
    for client in everyone:
        await client.send({"type": "snapshot"})
        assert (await client.expect("snapshot"))["buzz"]["team"] == team_b
    await close_all(*everyone)
    SCENARIOS_RUN.add("finals-tie")


@pytest.mark.parametrize("team_mode", ["mean", "device"])
@pytest.mark.usefixtures("no_rate_limit")
@pytest.mark.asyncio
async def test_the_frames_of_a_team_round_match_their_schemas(team_mode):
    live, (team_a, team_b, _), versions = await sync_to_async(finals_round)(
        kind="classic", team_mode=team_mode, turns=["all", "all"]
    )
    host = await host_client(live)
    screen = await screen_client(live)
    ana = await team_player(live, "Ana", team_a)
    ben = await team_player(live, "Ben", team_a)
    cai = await team_player(live, "Cai", team_b)
    everyone = [host, screen, ana, ben, cai]
    for index, version in enumerate(versions):
        await command(host, "start" if index == 0 else "next")
        for client in everyone:
            opened = await client.expect("question_opened")
        for player, right in ((ana, True), (ben, False), (cai, True)):
            choice = choice_shown(version, opened["question"], right)
            await player.send(answer(index, f"{index}-{id(player)}", choice))
            await player.expect("ack", "reject")
        await command(host, "close")
        await command(host, "reveal")
        for client in everyone:
            await client.expect("revealed")
        await command(host, "leaderboard")
        for client in everyone:
            await client.expect("leaderboard")
            await client.send({"type": "snapshot"})
            await client.expect("snapshot")
    await command(host, "finish")
    for client in everyone:
        await client.expect("finished")
    assert last(ben, "finished")["you"]["team"]["id"] == team_a
    await close_all(*everyone)
    SCENARIOS_RUN.add(f"team-{team_mode}")


# --- the host console's data ---------------------------------------------------------


async def fresh_snapshot(client: Client) -> dict:
    await client.send({"type": "snapshot"})
    return await client.expect("snapshot")


@pytest.mark.usefixtures("no_rate_limit")
@pytest.mark.asyncio
async def test_the_host_console_gets_players_captains_teams_and_the_lock_over_the_socket():
    """Everything the console draws comes over its socket: the host's snapshot lists the
    players with their team and captain flag, the teams and the lock; player_joined
    (with the captain flag), player_left and locked keep it up to date in between."""
    live, (team_a, team_b, team_c), _ = await sync_to_async(finals_round)()
    host = await host_client(live)
    screen = await screen_client(live)
    first = last(host, "snapshot")
    assert (first["player_list"], first["players"], first["locked"]) == ([], 0, False)
    assert [t["id"] for t in first["teams"]] == [team_a, team_b, team_c]
    assert "player_list" not in last(screen, "snapshot")

    # The first to join a team is its captain, and player_joined says so.
    a = await team_player(live, "甲队长", team_a)
    a2 = await team_player(live, "甲二", team_a)
    b = await team_player(live, "乙队长", team_b)
    ids = [last(p, "welcome")["player"]["id"] for p in (a, a2, b)]
    joined = [
        {"id": ids[0], "nickname": "甲队长", "team": team_a, "captain": True},
        {"id": ids[1], "nickname": "甲二", "team": team_a, "captain": False},
        {"id": ids[2], "nickname": "乙队长", "team": team_b, "captain": True},
    ]
    for client in (host, screen):
        assert [(await client.expect("player_joined"))["player"] for _ in joined] == joined
    assert all("player_list" not in last(p, "snapshot") for p in (a, a2, b))
    snapshot = await fresh_snapshot(host)
    assert (snapshot["player_list"], snapshot["players"]) == (joined, 3)

    # A kicked captain leaves the list and keeps the flag: the next to join is no captain.
    await command(host, "kick", player=ids[0])
    await a.expect("kicked")
    await a.expect_closed(4001)
    for client in (host, screen):
        assert (await client.expect("player_left"))["player"] == ids[0]
    a3 = await team_player(live, "甲三", team_a)
    late = {"id": last(a3, "welcome")["player"]["id"], "nickname": "甲三", "team": team_a,
            "captain": False}  # fmt: skip
    assert (await host.expect("player_joined"))["player"] == late
    snapshot = await fresh_snapshot(host)
    assert (snapshot["player_list"], snapshot["players"]) == ([*joined[1:], late], 3)

    # The lock: announced, and in the next snapshot of every role.
    for name, locked in (("lock", True), ("unlock", False)):
        await command(host, name)
        for client in (host, screen):
            assert (await client.expect("locked"))["locked"] is locked
        for client in (host, screen, a2):
            assert (await fresh_snapshot(client))["locked"] is locked
    await close_all(host, screen, a2, b, a3)


@pytest.mark.asyncio
async def test_a_classic_round_tells_the_host_of_players_without_team_or_captain():
    live = await sync_to_async(make_round)(types=["single"])
    host = await host_client(live)
    alice, welcome = await player_client(live, "Alice")
    alice_row = {"id": welcome["player"]["id"], "nickname": "Alice", "team": None,
                 "captain": False}  # fmt: skip
    assert (await host.expect("player_joined"))["player"] == alice_row
    assert (await fresh_snapshot(host))["player_list"] == [alice_row]
    await close_all(host, alice)


@pytest.mark.asyncio
async def test_a_big_rounds_host_list_follows_its_snapshot_in_pages():
    """The host's snapshot carries the first page of its list and how many rows follow;
    they come at once in player_list frames stamped with the snapshot's seq."""
    live = await sync_to_async(make_round)(types=["single"])
    hall = snapshots.PLAYER_PAGE * 2 + 5
    await sync_to_async(LivePlayer.objects.bulk_create)(
        LivePlayer(round=live, nickname=f"P{n}") for n in range(hall)
    )
    host = Client(live, user=await sync_to_async(lambda: live.host)())
    await host.open({"type": "host"})
    snapshot = await host.expect("snapshot")
    assert len(snapshot["player_list"]) == snapshots.PLAYER_PAGE
    assert snapshot["player_list_more"] == hall - snapshots.PLAYER_PAGE
    pages = [await host.expect("player_list") for _ in range(2)]
    assert [len(page["players"]) for page in pages] == [snapshots.PLAYER_PAGE, 5]
    assert [page["more"] for page in pages] == [5, 0]
    assert {page["snapshot_seq"] for page in pages} == {snapshot["seq"]}
    rows = snapshot["player_list"] + pages[0]["players"] + pages[1]["players"]
    assert [row["nickname"] for row in rows] == [f"P{n}" for n in range(hall)]  # joining order
    await close_all(host)
    SCENARIOS_RUN.add("pages")


def test_the_host_snapshot_lists_the_players_for_no_query_more_than_the_count():
    """The list replaces the count query in the host's snapshot; the players' snapshots
    (the join hot path) do not pay for it."""
    live = make_round(types=["single"])
    player = services.player_join(live=live, nickname="Alice")
    services.player_join(live=live, nickname="Bob")
    for role in ("host", "screen", "player"):
        snapshots.snapshot(live, role=role, player=player if role == "player" else None)  # warm
    queries = {}
    for role in ("host", "screen"):
        with CaptureQueriesContext(connection) as captured:
            frame = snapshots.snapshot(live, role=role)
        queries[role] = len(captured)
        protocol.validate("server", frame)
    assert queries["host"] == queries["screen"]
    assert "player_list" not in snapshots.snapshot(live, role="player", player=player)


# --- refusals -----------------------------------------------------------------------


BAD_CLIENT_MESSAGES = [
    {"type": "answer", "answer_id": "a", "question": "0", "choice": "x"},
    {"type": "answer", "answer_id": "", "question": 0, "choice": "x"},
    {"type": "answer", "answer_id": "a", "question": 0, "choice": "x", "extra": 1},
    {"type": "command", "name": "teleport"},
    {"type": "command", "name": "kick"},
    {"type": "command", "name": "void"},
    {"type": "command", "name": "start", "question": 1},
    {"type": "ping", "t": "yesterday"},
    {"type": "join", "nickname": 5},
    {"type": "join", "nickname": "A", "roster_token": "t"},
    {"type": "resume", "token": 5},
    {"type": "screen"},
    {"type": "teleport"},
    [1],
]


@pytest.mark.parametrize("message", BAD_CLIENT_MESSAGES)
def test_the_client_schemas_refuse_malformed_messages(message):
    with pytest.raises(jsonschema.ValidationError):
        protocol.validate("client", message)


@pytest.mark.asyncio
async def test_refusals_and_their_frames_match_the_schemas():
    live = await sync_to_async(make_round)(types=["single", "multiple", "ordering"])
    versions = await sync_to_async(versions_of)(live)
    host = await host_client(live)
    screen = await screen_client(live)
    alice, _ = await player_client(live, "Alice")
    eve, eve_welcome = await player_client(live, "Eve")

    # A socket that has not said who it is.
    stranger = Client(live)
    assert (await stranger.comm.connect())[0]
    await stranger.send({"type": "ping", "t": 1})
    await stranger.expect("pong")
    await stranger.send_raw(json.dumps({"type": "snapshot"}))
    assert (await stranger.expect("error"))["code"] == "forbidden"
    await stranger.comm.send_to(bytes_data=b"\x00")
    assert (await stranger.expect("error"))["code"] == "text_only"
    for text, code in [
        ("not json", "bad_json"),
        (json.dumps([1]), "bad_message"),
        (json.dumps({"type": 7}), "bad_message"),
        (json.dumps({"type": "teleport"}), "unknown_type"),
        (json.dumps({"type": "join", "nickname": 5}), "bad_field"),
        (json.dumps({"type": "resume", "token": 5}), "bad_field"),
        (json.dumps({"type": "ping", "t": "yesterday"}), "bad_field"),
    ]:
        await stranger.send_raw(text)
        assert (await stranger.expect("error"))["code"] == code, text
    await stranger.send({"type": "resume", "token": "no-such-token"})
    assert (await stranger.expect("error"))["code"] == "unknown_player"
    await stranger.send({"type": "join", "nickname": ""})
    assert (await stranger.expect("error"))["code"] == "nickname"
    await stranger.send({"type": "join", "nickname": "Alice"})
    assert (await stranger.expect("error"))["code"] == "nickname_taken"
    await stranger.send({"type": "screen", "key": "1:forged"})
    assert (await stranger.expect("error"))["code"] == "forbidden"
    await stranger.send({"type": "host"})  # nobody signed in
    assert (await stranger.expect("error"))["code"] == "forbidden"

    nobody, refused = await connect(SimpleNamespace(pin="000000"), {"type": "join"})
    assert refused["code"] == "no_round"
    organizer = await sync_to_async(UserFactory)(role="organizer")
    impostor, refused = await connect(live, {"type": "host"}, user=organizer)
    assert refused == {"type": "error", "code": "forbidden", "detail": "host"}
    kid, refused = await connect(live, {"type": "join", "nickname": "Kid"}, await child_user())
    assert refused["code"] == "consent_required"
    teams = await sync_to_async(make_round)(types=["single"])
    await sync_to_async(LiveRound.objects.filter(pk=teams.pk).update)(team_mode="mean")
    loner, refused = await connect(teams, {"type": "join", "nickname": "Loner"})
    assert refused["code"] == "team"  # a team round: join names no team

    # Roles: each may send only its own messages.
    await alice.send_raw(json.dumps({"type": "command", "name": "start"}))
    assert (await alice.expect("error"))["code"] == "forbidden"
    await screen.send_raw(json.dumps(answer(0, "s", "x")))
    assert (await screen.expect("error"))["code"] == "forbidden"
    await host.send_raw(json.dumps(answer(0, "h", "x")))
    assert (await host.expect("error"))["code"] == "forbidden"
    await alice.send_raw(json.dumps({"type": "join", "nickname": "Again"}))
    assert (await alice.expect("error"))["code"] == "forbidden"

    # Answers before anything is open, and host commands that do not apply.
    await alice.send(answer(0, "early", choice_for(versions[0], right=True)))
    assert (await alice.expect("reject"))["reason"] == "not_current_question"
    await command(host, "reveal")
    assert (await host.expect("error"))["code"] == "not_allowed_in_status"
    for text, code in [
        (json.dumps({"type": "command", "name": "teleport"}), "unknown_command"),
        (json.dumps({"type": "command", "name": "kick", "player": "x"}), "bad_field"),
        (json.dumps({"type": "command", "name": "void", "question": "1"}), "bad_field"),
    ]:
        await host.send_raw(text)
        assert (await host.expect("error"))["code"] == code, text

    # Lock: a late join is refused until unlock.
    await command(host, "lock")
    for client in (host, screen):
        assert (await client.expect("locked"))["locked"] is True
    late, refused = await connect(live, {"type": "join", "nickname": "Late"})
    assert refused["code"] == "locked"
    await command(host, "unlock")
    for client in (host, screen):
        assert (await client.expect("locked"))["locked"] is False
    mallory, _ = await player_client(live, "Mallory")

    # A question: the answer refusals.
    await command(host, "start")
    for client in (host, screen, alice, eve, mallory):
        opened = await client.expect("question_opened")
    choice = choice_shown(versions[0], opened["question"], True)
    for message, reason in [
        ({"type": "answer", "question": 0, "choice": choice}, "bad_answer_id"),
        (answer(0, "x" * 65, choice), "bad_answer_id"),
        (answer(5, "wrong-question", choice), "not_current_question"),
        (answer(0, "not-an-option", "nope"), "bad_response"),
        (answer(0, "a-list", [choice]), "bad_response"),
    ]:
        await alice.send_raw(json.dumps(message))
        assert (await alice.expect("reject"))["reason"] == reason, message
    await alice.send_raw(json.dumps({**answer(0, "q", choice), "question": "0"}))
    assert (await alice.expect("error")) == {
        "type": "error",
        "code": "bad_field",
        "detail": "question",
    }
    await alice.send(answer(0, "a0", choice))
    await alice.expect("ack")
    await alice.send({"type": "buzz", "question": 0})
    assert (await alice.expect("buzz_reject"))["reason"] == "not_finals"
    await alice.send({"type": "stake", "question": 0, "stake": 10})
    assert (await alice.expect("stake_reject"))["reason"] == "not_finals"
    # The host and the screen see the live count (at most once a second).
    for client in (host, screen):
        count = await client.expect("answer_count", timeout=3)
        assert count == {"type": "answer_count", "question": 0, "answers": 1}

    # Kick: the player is told, the host and screen see them leave, and the token is dead.
    await command(host, "kick", player=eve_welcome["player"]["id"])
    assert (await eve.expect("kicked"))["player"] == eve_welcome["player"]["id"]
    await eve.expect_closed(4001)  # and the server hangs up on the kicked player
    for client in (host, screen):
        assert (await client.expect("player_left"))["player"] == eve_welcome["player"]["id"]
    back, refused = await connect(live, {"type": "resume", "token": eve_welcome["token"]})
    assert refused["code"] == "unknown_player"

    # Too late by server time (the deadline moved into the past, no timer involved).
    past = state.now_ms() - live.grace_ms - 1
    await sync_to_async(LiveRound.objects.filter(pk=live.pk).update)(
        opened_at=past - 20_000, closes_at=past
    )
    await mallory.send(answer(0, "m0", choice))
    assert (await mallory.expect("reject"))["reason"] == "too_late"

    await command(host, "close")
    await command(host, "reveal")
    await host.expect("revealed")
    await command(host, "void", question=2)
    assert (await host.expect("error"))["code"] == "bad_question_index"
    await command(host, "next")
    await host.expect("question_opened")
    await command(host, "next")
    assert (await host.expect("error"))["code"] == "not_allowed_in_status"
    await command(host, "close")
    await command(host, "reveal")
    await command(host, "next")
    await command(host, "close")
    await command(host, "reveal")
    await host.expect("revealed")
    await host.expect("revealed")
    await command(host, "next")
    assert (await host.expect("error"))["code"] == "no_more_questions"

    # The per-socket rate limit: a burst over 20 messages gets refusals.
    codes = []
    for n in range(30):
        await screen.send({"type": "ping", "t": n})
    for _n in range(30):
        codes.append((await screen.expect("pong", "error"))["type"])
    assert "error" in codes and codes.count("pong") >= 20

    await close_all(host, screen, alice, eve, mallory, stranger, nobody, impostor, kid, loner)
    await close_all(late, back)
    assert await sync_to_async(LiveAnswer.objects.count)() == 1
    SCENARIOS_RUN.add("refusals")


@pytest.mark.asyncio
async def test_roster_joins_and_their_refusals_match_the_schemas():
    live = await sync_to_async(make_round)(types=["single"])
    await sync_to_async(LiveRound.objects.filter(pk=live.pk).update)(join_mode="roster")
    school = await sync_to_async(SchoolFactory)()
    slip = await sync_to_async(RosterEntry.objects.create)(round=live, name="张三", school=school)
    host = await host_client(live)
    typed, refused = await connect(live, {"type": "join", "nickname": "张三"})
    assert refused["code"] == "roster"
    forged, refused = await connect(live, {"type": "join", "roster_token": "no-such-slip"})
    assert refused["code"] == "roster_token"
    await forged.send_raw(json.dumps({"type": "join", "roster_token": 5}))
    assert (await forged.expect("error")) == {
        "type": "error",
        "code": "bad_field",
        "detail": "roster_token",
    }
    student, welcome = await connect(live, {"type": "join", "roster_token": slip.token})
    assert welcome["player"]["nickname"] == "张三"
    assert (await host.expect("player_joined"))["player"]["id"] == welcome["player"]["id"]
    again, second = await connect(live, {"type": "join", "roster_token": slip.token})
    assert second["player"] == welcome["player"]  # the same slip: the same player
    # ... on another phone, which takes the seat: the first is told and hung up on.
    assert (await student.expect("replaced"))["player"] == welcome["player"]["id"]
    await student.expect_closed(4002)
    assert (await host.expect("player_replaced"))["player"]["nickname"] == "张三"
    await command(host, "kick", player=welcome["player"]["id"])
    await again.expect("kicked")
    await again.expect_closed(4001)
    removed, refused = await connect(live, {"type": "join", "roster_token": slip.token})
    assert refused["code"] == "kicked"
    await close_all(host, typed, forged, student, again, removed)
    SCENARIOS_RUN.add("roster")


async def child_user():
    return await sync_to_async(child)()


@pytest.mark.asyncio
async def test_the_handshake_checks_the_origin_and_the_size_cap_closes_the_socket():
    from config.asgi import application

    live = await sync_to_async(make_round)(types=["single"])
    path = f"/ws/live/{live.pin}/"
    foreign = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"https://evil.example.com")]
    )
    assert not (await foreign.connect())[0]
    local = WebsocketCommunicator(
        application,
        path,
        headers=[(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")],
    )
    assert (await local.connect())[0]
    await local.send_to(
        text_data=json.dumps({"type": "ping", "t": "x" * settings.WS_MAX_MESSAGE_BYTES})
    )
    assert await local.receive_output(timeout=2) == {"type": "websocket.close", "code": 1009}
    await local.disconnect()


# --- the code and the documentation agree -------------------------------------------


def test_the_protocol_module_mirrors_the_code():
    # The limits are defined in realtime.protocol alone; the live code takes them there.
    for module in (answers, frames, responses, standings):
        source = Path(module.__file__).read_text()
        for name in ("PROTOCOL_VERSION", "LEADERBOARD_TOP", "MAX_ANSWER_ID", "MAX_TEXT_ANSWER"):
            assert not re.search(rf"^{name}\s*=", source, re.MULTILINE), (module, name)
    assert protocol.MAX_NICKNAME == nicknames.MAX_LENGTH
    assert {
        role: frozenset(kinds) for role, kinds in RoundConsumer.ROLE_MESSAGES.items()
    } == protocol.ROLE_MESSAGES
    assert set(protocol.CLIENT) == set().union(*RoundConsumer.ROLE_MESSAGES.values())
    assert set(protocol.ENGINE_COMMANDS) == engine.COMMANDS
    assert set(protocol.STATUSES) == {str(s) for s in engine.Status}
    assert set(protocol.PAUSABLE) == {str(s) for s in engine.PAUSABLE_STATUSES}
    assert set(protocol.QUESTION_TYPES) == set(QuestionType.values)
    assert set(protocol.ERROR_CODES) >= engine.ILLEGAL_CODES
    assert {engine.NOT_OPEN, engine.TOO_EARLY, engine.TOO_LATE} <= set(protocol.REJECT_REASONS)
    assert set(protocol.RECIPIENTS) == set(protocol.SERVER)
    assert set(protocol.SERVER) >= protocol.SEQUENCED
    assert set(TYPES) == set(QuestionType.values)  # the full rounds play every type
    assert set(protocol.TURNS) == set(LiveQuestion.Turn.values)
    assert protocol.RISK_STAKES == scoring.RISK_STAKES


def test_the_schemas_are_valid_json_schemas_and_closed():
    for side, schemas in protocol.SCHEMAS.items():
        for kind in schemas:
            document = protocol.schema(side, kind)
            jsonschema.Draft202012Validator.check_schema(document)
            assert document["additionalProperties"] is False, kind
            assert document["properties"]["type"] == {"const": kind}
    json.dumps(protocol.document())  # one JSON document (python -m realtime.protocol)


def test_a_frame_with_an_undocumented_field_fails_its_schema():
    pong = {"type": "pong", "t": 1, "server_now": 2}
    protocol.validate("server", pong)
    with pytest.raises(jsonschema.ValidationError):
        protocol.validate("server", {**pong, "debug": True})
    with pytest.raises(jsonschema.ValidationError):
        protocol.validate("server", {"type": "surprise"})


def test_a_snapshot_before_the_reveal_cannot_carry_the_key():
    snapshot = {
        "type": "snapshot",
        "v": protocol.PROTOCOL_VERSION,
        "seq": 2,
        "status": "question_closed",
        "paused_from": "",
        "question_index": 0,
        "total_questions": 1,
        "title": "t",
        "pin": "123456",
        "locked": False,
        "players": 1,
        "server_now": 1,
        "question": {
            "index": 0,
            "type": "true_false",
            "stem": "s",
            "options": [],
            "points": 1000,
            "opens_at": 0,
            "closes_at": 1,
        },
    }
    protocol.validate("server", snapshot)
    reveal = {
        "index": 0,
        "key": {"value": True},
        "explanation": "",
        "distribution": {},
        "answers": 0,
        "voided": False,
    }
    with pytest.raises(jsonschema.ValidationError):
        protocol.validate("server", {**snapshot, "reveal": reveal})
    protocol.validate("server", {**snapshot, "status": "revealed", "reveal": reveal})


def _doc_sections() -> dict[str, dict[str, str]]:
    """{"client"|"server": {message type: section text}} from docs/protocol.md: each
    message is a `### \\`type\\`` heading under the "Client → server" or
    "Server → client" chapter."""
    text = DOCS.read_text(encoding="utf-8")
    chapters = re.split(r"^## ", text, flags=re.MULTILINE)
    found: dict[str, dict[str, str]] = {"client": {}, "server": {}}
    for chapter in chapters:
        title = chapter.splitlines()[0] if chapter else ""
        side = (
            "client"
            if title.startswith("Client → server")
            else "server"
            if title.startswith("Server → client")
            else None
        )
        if side is None:
            continue
        for section in re.split(r"^### ", chapter, flags=re.MULTILINE)[1:]:
            match = re.match(r"`([a-z_]+)`", section)
            if match:
                found[side][match.group(1)] = section
    return found


def test_every_message_type_has_a_section_in_the_docs_with_valid_examples():
    sections = _doc_sections()
    for side, schemas in protocol.SCHEMAS.items():
        assert set(sections[side]) == set(schemas), side
        for kind, section in sections[side].items():
            examples = re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)
            assert examples, f"{side} {kind}: no example"
            for example in examples:
                protocol.validate(side, json.loads(example))
    # Every other example on the page (team rounds…) is a valid server frame too.
    # The 1-v-1 PK chapter has its own schemas (tests/realtime/test_pk.py checks it).
    text = re.sub(r"\n## 1-v-1 PK.*?(?=\n## )", "\n", DOCS.read_text(encoding="utf-8"), flags=re.S)
    client_chapter = text.split("## Client → server")[1].split("\n## ")[0]
    rest = text.replace(client_chapter, "")
    for example in re.findall(r"```json\n(.*?)```", rest, flags=re.DOTALL):
        protocol.validate("server", json.loads(example))
    words = (
        *protocol.ERROR_CODES,
        *protocol.REJECT_REASONS,
        *protocol.BUZZ_REJECT_REASONS,
        *protocol.STAKE_REJECT_REASONS,
        *protocol.HOST_COMMANDS,
        *protocol.STATUSES,
        *protocol.TURNS,
    )
    for word in words:
        assert f"`{word}`" in text, word


def test_the_scenarios_saw_every_message_type():
    """Runs last: every server frame type reached the roles it is meant for, and every
    client message, command, reject reason and reachable error code was exercised."""
    wanted = {"full-classic", "full-accuracy", "aborted", "gap", "refusals", "finals"}
    wanted |= {"team-mean", "team-device", "roster", "finals-tie", "pages"}
    if not wanted <= SCENARIOS_RUN:
        pytest.skip("needs the whole module")
    assert set(SEEN) == set(protocol.SERVER)
    for kind, roles in SEEN.items():
        assert roles <= protocol.RECIPIENTS[kind]
    assert set(protocol.CLIENT) == SENT
    assert set(protocol.HOST_COMMANDS) <= COMMANDS_SENT
    # too_early needs a clock jump; kicked, an answer in flight when the kick lands (the
    # server hangs up on a kicked player).
    assert set(protocol.REJECT_REASONS) - REASONS == {"too_early", "kicked"}
    assert set(protocol.BUZZ_REJECT_REASONS) - BUZZ_REASONS == {
        "kicked",
        "not_current_question",  # the current question is checked after its turn
        "too_early",
        "too_late",
    }
    assert set(protocol.STAKE_REJECT_REASONS) - STAKE_REASONS == {"kicked"}
    unreachable = {"refused", "no_questions", "duration_required", "busy", "retry"}
    unreachable |= {"pin_throttled"}  # tests/hostile/test_pin_guessing.py guesses PINs
    assert set(protocol.ERROR_CODES) - CODES == unreachable
    if path := os.environ.get("PROTOCOL_EXAMPLES"):
        Path(path).write_text(json.dumps(EXAMPLES, ensure_ascii=False, indent=1))
