"""A live round across two real daphne processes that share PostgreSQL and Redis
(docs/architecture.md, live-round rules 2, 4, 5 and 7; issue 4's acceptance): broadcasts cross
processes once each and in order, a player keeps score and streak on the other process,
killing a process mid-question loses no acked answer, the host sees the answer counts
wherever the players are, and an answer acked on one process is in the reveal made on
the other.

The test creates its rows in the test database and commits them (transactional test);
both servers are pointed at that same database and at the same Redis, so the test, A
and B all see one round. Clients are real `websockets` connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter

import psycopg
import pytest
import websockets
from django.conf import settings
from django.db.models import Count
from django.test import Client

from realtime.live.selectors import screen_key
from realtime.models import LiveAnswer, LivePlayer, LiveRound
from tests.support.daphne import (
    STEP_S,
    DaphneProcess,
    Peer,
    daphne_pair_pool,
    print_logs,
    run,
    server_database_url,
)
from tests.support.live import choice_for, make_round
from tests.support.options import shown

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

# The broadcast each host command leads to.
EVENT = {
    "start": "question_opened",
    "next": "question_opened",
    "close": "question_closed",
    "reveal": "revealed",
    "finish": "finished",
}


@pytest.fixture(scope="module")
def server_pool(django_db_setup):
    """Daphne processes shared by this module's tests (starting them is most of the
    cost); a test that kills one gets it replaced before the next test."""
    env = {"DATABASE_URL": server_database_url(), "REDIS_URL": os.environ["REDIS_URL"]}
    with daphne_pair_pool(env) as pair:
        yield pair


@pytest.fixture
def servers(server_pool, transactional_db):
    """Two live daphne processes, A and B, on the test database and the test's Redis."""
    started = server_pool()
    yield started
    print_logs(started)


def host_cookie(live: LiveRound) -> str:
    """The Cookie header of a browser signed in as the round's host."""
    client = Client()
    client.force_login(live.host)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def answer(index: int, answer_id: str, choice) -> dict:
    return {"type": "answer", "answer_id": answer_id, "question": index, "choice": choice}


class Hall:
    """The clients of one scenario; every one is closed on the way out, whatever happened."""

    def __init__(self, live: LiveRound) -> None:
        self.pin = live.pin
        self.peers: list[Peer] = []

    async def __aenter__(self) -> Hall:
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(*(peer.close() for peer in self.peers))

    def peer(self, label: str) -> Peer:
        peer = Peer(label, self.pin)
        self.peers.append(peer)
        return peer

    async def host(self, server: DaphneProcess, cookie: str) -> Host:
        host = Host("host", self.pin)
        self.peers.append(host)
        welcome = await host.open(server, {"type": "host"}, cookie=cookie)
        assert welcome.get("role") == "host", welcome
        await host.expect("snapshot")
        return host

    async def join(self, server: DaphneProcess, nickname: str) -> Peer:
        player = self.peer(nickname)
        welcome = await player.open(server, {"type": "join", "nickname": nickname})
        assert welcome["type"] == "welcome", welcome
        player.id = welcome["player"]["id"]
        player.token = welcome["token"]
        await player.expect("snapshot")
        return player


class Host(Peer):
    async def command(self, name: str) -> dict:
        """Send a host command and wait for the broadcast it leads to."""
        await self.send({"type": "command", "name": name})
        frame = await self.expect(EVENT[name], "error", what=f"after {name!r}")
        assert frame["type"] != "error", (name, frame)
        return frame


def broadcasts(peer: Peer) -> list[tuple[str, int]]:
    """The seq-numbered broadcasts a client got on its current connection, in order."""
    return [(f["type"], f["seq"]) for f in peer.frames if "seq" in f and f["type"] != "snapshot"]


class HeldAnswers:
    """A SHARE lock on the answers table, taken from a connection of the test's own:
    SELECTs and other tables go on, every INSERT of an answer waits inside its
    transaction until `release()` (or the end of the `answers_held()` block)."""

    def __init__(self, lock, watch) -> None:
        self.lock = lock
        self.watch = watch

    async def blocked(self, statement: str) -> int:
        """How many statements starting with `statement` wait for a lock now."""
        cursor = await self.watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE %s",
            [f"{statement}%"],
        )
        (count,) = await cursor.fetchone()
        return count

    async def wait_for_inserts(self, count: int, timeout: float = STEP_S) -> None:
        """Until `count` answer INSERTs wait for the lock (polled: PostgreSQL has no
        event for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiting = 0
        while loop.time() < deadline:
            waiting = await self.blocked(f'INSERT INTO "{LiveAnswer._meta.db_table}"')
            if waiting >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{waiting} of {count} answer INSERTs reached the database")

    async def release(self) -> None:
        if not self.lock.closed:
            await self.lock.rollback()


@contextlib.asynccontextmanager
async def answers_held():
    url = server_database_url()
    lock = await psycopg.AsyncConnection.connect(url)
    watch = await psycopg.AsyncConnection.connect(url, autocommit=True)
    held = HeldAnswers(lock, watch)
    try:
        await lock.execute(f'LOCK TABLE "{LiveAnswer._meta.db_table}" IN SHARE MODE')
        yield held
    finally:
        await held.release()
        await lock.close()
        await watch.close()


def questions_of(live: LiveRound) -> list:
    return list(live.questions.select_related("version").order_by("position"))


def choice(question, right: bool):
    """A response to `question` (a LiveQuestion, its version loaded), right or wrong, in
    the option ids the round shows (no query: usable inside a scenario)."""
    return shown(question, choice_for(question.version, right))


# --- 1. broadcasts ----------------------------------------------------------------------


def test_a_broadcast_from_a_host_on_one_process_reaches_players_on_both_once_each_in_order(
    servers,
):
    a, b = servers
    live = make_round(types=["single", "true_false"], seconds=30)
    cookie = host_cookie(live)
    commands = ["start", "close", "reveal", "next", "close", "reveal", "finish"]
    expected = [(EVENT[name], seq) for seq, name in enumerate(commands, start=1)]

    async def scenario():
        async with Hall(live) as hall:
            host = await hall.host(a, cookie)
            players = [
                await hall.join(server, f"{server.name}{n}") for server in (a, b) for n in (1, 2)
            ]
            for name in commands:
                await host.command(name)
            for player in players:
                await player.expect("finished")
                await player.round_trip()  # any duplicate sent before the pong is here now
            opened = {
                p.label: [
                    t
                    for f, t in zip(p.frames, p.raw, strict=True)
                    if f["type"] == "question_opened"
                ]
                for p in players
            }
            revealed = {p.label: [f for f in p.frames if f["type"] == "revealed"] for p in players}
            return {p.label: broadcasts(p) for p in [*players, host]}, opened, revealed

    seen, opened, revealed = run(scenario())
    for label, frames in seen.items():
        assert frames == expected, f"{label} got {frames}"
    # One frame serialised once by the publisher: byte for byte the same on A and on B.
    assert len({tuple(texts) for texts in opened.values()}) == 1, opened
    # Each player's own part is spliced in on whichever process holds the socket.
    for label, frames in revealed.items():
        assert all("you" in f and f["you"]["points"] == 0 for f in frames), (label, frames)


# --- 2. moving to the other process -----------------------------------------------------


def test_a_player_who_resumes_on_the_other_process_keeps_score_and_streak_and_plays_on(
    servers,
):
    a, b = servers
    live = make_round(types=["single", "single"], seconds=30)
    cookie = host_cookie(live)
    first, second = questions_of(live)

    async def scenario():
        async with Hall(live) as hall:
            host = await hall.host(a, cookie)
            alice = await hall.join(a, "Alice")
            bob = await hall.join(a, "Bob")
            await host.command("start")
            await alice.expect("question_opened")
            await alice.send(answer(0, "alice-0", choice(first, right=True)))
            ack = await alice.expect("ack", "reject")
            assert ack["type"] == "ack", ack
            await bob.send(answer(0, "bob-0", choice(first, right=False)))
            assert (await bob.expect("ack", "reject"))["type"] == "ack"
            await alice.close()  # the phone drops off process A

            await host.command("close")
            on_host = await host.command("reveal")
            board = {row["nickname"]: row["points"] for row in on_host["leaderboard"]}

            moved = hall.peer("Alice")
            welcome = await moved.open(b, {"type": "resume", "token": alice.token})
            assert welcome["type"] == "welcome", welcome
            assert welcome["player"]["id"] == alice.id
            you = (await moved.expect("snapshot"))["you"]
            assert you["answered"] == "alice-0", you
            assert (you["streak"], you["rank"]) == (1, 1), you
            assert you["points"] == board["Alice"] > 0, (you, board)

            await host.command("next")
            opened = await moved.expect("question_opened")
            assert opened["question"]["index"] == 1
            await moved.send(answer(1, "alice-1", choice(second, right=True)))
            assert (await moved.expect("ack", "reject"))["type"] == "ack"
            await host.command("close")
            await host.command("reveal")
            mine = (await moved.expect("revealed"))["you"]
            assert (mine["correct"], mine["streak"], mine["rank"]) == (True, 2, 1), mine
            assert mine["points"] == you["points"] + mine["gained"], (you, mine)
            assert mine["gained"] > 0

    run(scenario())
    stored = dict(
        LiveAnswer.objects.filter(player__nickname="Alice").values_list(
            "answer_id", "question__position"
        )
    )
    assert stored == {"alice-0": 0, "alice-1": 1}


# --- 3. a process dies mid-question -----------------------------------------------------


def test_killing_a_process_mid_question_loses_no_acked_answer_and_stores_none_twice(servers):
    a, b = servers
    live = make_round(types=["single", "single", "single"], seconds=30)
    cookie = host_cookie(live)
    questions = questions_of(live)

    def right(index: int):
        return choice(questions[index], right=True)

    async def answered(player: Peer, index: int, answer_id: str) -> dict:
        await player.send(answer(index, answer_id, right(index)))
        frame = await player.expect(
            "ack", "reject", match=lambda f: f["answer_id"] == answer_id, what=answer_id
        )
        assert frame["type"] == "ack", (player.label, frame)
        return frame

    async def resume_elsewhere(player: Peer) -> dict:
        """What a phone does: retry with a jittered backoff, first where it was, then
        the other server, until one takes the token back. Returns the snapshot."""
        for attempt in range(20):
            server = (a, b)[attempt % 2]
            try:
                welcome = await player.open(server, {"type": "resume", "token": player.token})
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                await asyncio.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
                continue
            assert welcome["type"] == "welcome", (player.label, welcome)
            assert welcome["player"]["id"] == player.id
            return await player.expect("snapshot")
        raise AssertionError(f"{player.label} could not resume anywhere")

    async def scenario():
        async with Hall(live) as hall:
            host = await hall.host(b, cookie)  # the survivor
            on_a = [await hall.join(a, f"A{n}") for n in range(8)]
            on_b = [await hall.join(b, f"B{n}") for n in range(2)]
            everyone = on_a + on_b

            # Question 0: everyone answers right on their own process.
            await host.command("start")
            await asyncio.gather(*(answered(p, 0, f"{p.label}-q0") for p in everyone))
            await host.command("close")
            await host.command("reveal")

            # Question 1: A dies while its players answer.
            await host.command("next")
            for player in everyone:
                await player.expect("question_opened", match=lambda f: f["seq"] == 4)
            settled, in_flight, not_yet = on_a[:3], on_a[3:6], on_a[6:]
            await asyncio.gather(*(answered(p, 1, f"{p.label}-q1") for p in settled + on_b))
            async with answers_held() as held:
                # These answers reach A; the first stops inside its transaction, at the
                # INSERT, and the others wait behind it (the consumers of a process share
                # one thread for the ORM: channels' database_sync_to_async).
                for player in in_flight:
                    await player.send(answer(1, f"{player.label}-q1", right(1)))
                await held.wait_for_inserts(1)
                a.kill()
            await asyncio.gather(*(p.wait_closed() for p in on_a))
            for player in in_flight:
                assert not player.find(("ack",), lambda f: f["answer_id"].endswith("-q1")), (
                    f"{player.label} was acked although its answer never got to commit"
                )

            # Everyone from A resumes on B and carries on: resends what was never
            # acked, answers what was never sent, and one resends an acked answer.
            snapshots = await asyncio.gather(*(resume_elsewhere(p) for p in on_a))
            assert all(p.server is b for p in on_a)
            for player, snap in zip(on_a, snapshots, strict=True):
                assert (snap["status"], snap["question_index"]) == ("question_open", 1), snap
                assert snap["you"]["streak"] == 1, (player.label, snap["you"])
                if player in settled:
                    assert snap["you"]["answered"] == f"{player.label}-q1", snap["you"]
                if player in not_yet:
                    assert snap["you"]["answered"] is None, snap["you"]
            resends = [*in_flight, settled[0]]
            await asyncio.gather(*(answered(p, 1, f"{p.label}-q1") for p in resends + not_yet))

            await host.command("close")
            await host.command("reveal")
            for player in everyone:
                you = (await player.expect("revealed", match=lambda f: f["seq"] == 6))["you"]
                assert (you["correct"], you["streak"]) == (True, 2), (player.label, you)

            # Question 2, all on B.
            await host.command("next")
            await asyncio.gather(*(answered(p, 2, f"{p.label}-q2") for p in everyone))
            await host.command("close")
            await host.command("reveal")
            for player in everyone:
                you = (await player.expect("revealed", match=lambda f: f["seq"] == 9))["you"]
                assert you["streak"] == 3, (player.label, you)
                await player.round_trip()
            # A resend gets one ack on its new connection, and no reject.
            for player in resends:
                replies = [
                    f
                    for f in player.frames
                    if f["type"] in ("ack", "reject") and f["answer_id"] == f"{player.label}-q1"
                ]
                assert [f["type"] for f in replies] == ["ack"], (player.label, replies)
            acked: dict[tuple[int, str], set[int]] = {}
            for player in everyone:
                for frame in player.acks():
                    acked.setdefault((player.id, frame["answer_id"]), set()).add(
                        frame["received_at"]
                    )
            return acked

    acked = run(scenario())
    rows = {
        (player, answer_id): received_at
        for player, answer_id, received_at in LiveAnswer.objects.filter(round=live).values_list(
            "player_id", "answer_id", "received_at"
        )
    }
    for key, received in acked.items():
        stored = LiveAnswer.objects.filter(player_id=key[0], answer_id=key[1]).count()
        assert stored == 1, f"acked answer {key} stored {stored} times"
        assert received == {rows[key]}, f"acked {key} at {received}, stored at {rows[key]}"
    assert set(rows) == set(acked), "every stored answer was acked and every acked one stored"
    doubles = (
        LiveAnswer.objects.filter(round=live)
        .values("player", "question")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not doubles.exists(), list(doubles)
    assert len(rows) == 10 * 3


# --- 4. the host's view -----------------------------------------------------------------


def test_answer_counts_and_the_reveal_reach_the_host_and_screen_wherever_players_are(servers):
    a, b = servers
    live = make_round(types=["single"], seconds=30)
    cookie = host_cookie(live)
    (question,) = questions_of(live)
    key = screen_key(live)

    def is_count(n: int):
        return lambda f: (f["question"], f["answers"]) == (0, n)

    async def scenario():
        async with Hall(live) as hall:
            host = await hall.host(a, cookie)
            screen = hall.peer("screen")
            assert (await screen.open(b, {"type": "screen", "key": key}))["role"] == "screen"
            on_a = [await hall.join(a, f"A{n}") for n in range(2)]
            on_b = [await hall.join(b, f"B{n}") for n in range(3)]
            for watcher in (host, screen):
                joined = [await watcher.expect("player_joined") for _ in range(5)]
                assert sorted(f["player"]["nickname"] for f in joined) == sorted(
                    p.label for p in on_a + on_b
                ), watcher.label
            await host.command("start")
            for player in on_a + on_b:
                await player.expect("question_opened")

            # Players on B answer first (two right, one wrong), then those on A.
            for n, player in enumerate(on_b):
                await player.send(answer(0, f"{player.label}", choice(question, n < 2)))
                assert (await player.expect("ack", "reject"))["type"] == "ack"
            for watcher in (host, screen):
                await watcher.expect("answer_count", match=is_count(3), what="of 3")
            for n, player in enumerate(on_a):
                await player.send(answer(0, f"{player.label}", choice(question, n < 1)))
                assert (await player.expect("ack", "reject"))["type"] == "ack"
            for watcher in (host, screen):
                await watcher.expect("answer_count", match=is_count(5), what="of 5")

            await host.command("close")
            revealed = await host.command("reveal")
            on_screen = await screen.expect("revealed")
            return revealed, on_screen

    revealed, on_screen = run(scenario())
    right, wrong = choice(question, True), choice(question, False)
    for frame in (revealed, on_screen):
        assert frame["reveal"]["answers"] == 5
        assert frame["reveal"]["distribution"] == {right: 3, wrong: 2}
        assert Counter(row["points"] > 0 for row in frame["leaderboard"]) == {True: 3, False: 2}


# --- 5. an answer and the reveal, racing on two processes -------------------------------


def test_an_answer_acked_on_one_process_counts_in_the_reveal_made_on_the_other(servers):
    """An answer that passed its checks on A while the host reveals on B: either it is
    in the reveal (and the scores), or it is refused. Acking it after a reveal that left
    it out would show the hall a distribution and scores without an answer that counts.

    A slow INSERT on A (the answers table held by the test) widens the window between
    answer_submit's status check and its INSERT; without the hold the window is a few
    milliseconds, under load much more."""
    a, b = servers
    live = make_round(types=["single"], seconds=30)
    cookie = host_cookie(live)
    (question,) = questions_of(live)
    # A generous grace, so that the answer sent just after the close is in time
    # however slow the machine: what may refuse it here is the reveal, not the clock.
    LiveRound.objects.filter(pk=live.pk).update(grace_ms=5000)
    round_table = LiveRound._meta.db_table

    async def scenario():
        async with Hall(live) as hall:
            host = await hall.host(b, cookie)
            player = await hall.join(a, "Alice")
            await host.command("start")
            await player.expect("question_opened")
            async with answers_held() as held:
                await host.command("close")
                # Within the grace after the close: the answer counts by its receive time.
                await player.send(answer(0, "alice-0", choice(question, right=True)))
                await held.wait_for_inserts(1)
                await host.send({"type": "command", "name": "reveal"})
                # Let the answer go once the reveal is done, or waits for the answer.
                loop = asyncio.get_running_loop()
                deadline = loop.time() + STEP_S
                while not any(f["type"] == "revealed" for f in host.frames):
                    if await held.blocked(f'UPDATE "{round_table}"'):
                        break
                    assert loop.time() < deadline, "the reveal neither happened nor waited"
                    await asyncio.sleep(0.02)
                await held.release()
                reply = await player.expect("ack", "reject")
                revealed = await host.expect("revealed")
                mine = (await player.expect("revealed"))["you"]
            # What each process now tells Alice about her score, at the same seq.
            await player.send({"type": "snapshot"})
            on_a = (await player.expect("snapshot"))["you"]
            elsewhere = hall.peer("Alice")
            await elsewhere.open(b, {"type": "resume", "token": player.token})
            on_b = (await elsewhere.expect("snapshot"))["you"]
            return reply, revealed, mine, (on_a["points"], on_b["points"])

    reply, revealed, mine, scores = run(scenario())
    stored = LiveAnswer.objects.filter(round=live).count()
    if reply["type"] == "reject":
        assert reply["reason"] == "not_open", reply
        assert stored == 0
        assert revealed["reveal"]["answers"] == 0
        return
    assert stored == 1
    assert revealed["reveal"]["answers"] == 1, (
        f"alice-0 was acked (received_at {reply['received_at']}) but the reveal counted "
        f"{revealed['reveal']['answers']} answers: {revealed['reveal']}; her points "
        f"after the reveal: {mine['points']}; her points now on A and on B: {scores}"
    )
    assert (mine.get("correct"), mine["streak"]) == (True, 1), mine
    assert scores[0] == scores[1] == mine["points"], (scores, mine)


# --- 6. a big round's host list, in frames within the client's message cap -------------


def test_a_big_rounds_host_list_reaches_the_host_in_frames_within_the_client_cap(servers):
    """autobahn holds outgoing messages to the cap daphne sets for incoming ones
    (WS_MAX_MESSAGE_BYTES), whatever the write path: the host's snapshot carries the
    first page of its player list and the rest follows in player_list frames, each within
    the cap (docs/protocol.md, "Frame sizes"), so the list of a big round arrives whole."""
    _, b = servers
    live = make_round(types=["single"], seconds=30)
    LivePlayer.objects.bulk_create(
        LivePlayer(round=live, nickname=f"选手{n:04d}{'长' * 14}") for n in range(400)
    )
    cookie = host_cookie(live)

    async def scenario():
        async with Hall(live) as hall:
            host = Host("host", live.pin)
            hall.peers.append(host)
            welcome = await host.open(b, {"type": "host"}, cookie=cookie)
            assert welcome.get("role") == "host", welcome
            snapshot = await host.expect("snapshot")
            rows, more = list(snapshot["player_list"]), snapshot["player_list_more"]
            while more:
                page = await host.expect("player_list")
                assert page["snapshot_seq"] == snapshot["seq"]
                rows, more = rows + page["players"], page["more"]
            return snapshot, rows, max(len(raw.encode()) for raw in host.raw)

    snapshot, rows, largest = run(scenario())
    assert largest <= settings.WS_MAX_MESSAGE_BYTES
    assert snapshot["players"] == len({row["id"] for row in rows}) == 400
