"""Hostile frames against a real daphne process (issue 11): a live round with honest
players answering, and one socket that sends what no client should. Each hostile input
is refused as docs/protocol.md says: the documented `error` frame (and the socket stays
open), or the documented close code with a closing handshake (never a dropped TCP
connection, never 1011); every frame back is strict JSON that validates against
realtime.protocol; the honest players' answers are acked and stored, their frames keep
coming and the round ends; and the database holds no answer of the hostile socket.

The hostile socket is built by hand (tests/support/rawws.py), so it can send frames
that a WebSocket library refuses to: invalid UTF-8, a header that declares more than
the cap. The honest ones are real `websockets` clients (tests/support/daphne.Peer).

One daphne process serves the module, on the test database (SQLite file, or
PostgreSQL when DATABASE_URL names it) with its own in-memory channel layer (Redis
when REDIS_URL is set). The round tests are transactional: their rows are committed
for daphne to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from realtime import protocol
from realtime.live import services
from realtime.models import LiveAnswer, LivePlayer, LiveRound
from tests.support.daphne import (
    ORIGIN,
    STEP_S,
    DaphneProcess,
    Peer,
    daphne_processes,
    print_logs,
    run,
    server_database_url,
)
from tests.support.live import make_round
from tests.support.rawws import BINARY, CONTINUATION, TEXT, Closed, RawSocket, frame_bytes

CAP = settings.WS_MAX_MESSAGE_BYTES
CONFIGURED_DATABASE = settings.DATABASES["default"]["NAME"]  # before pytest-django's test one
HONEST = 3
CLOSE_HANDSHAKE_S = 1  # autobahn's closeHandshakeTimeout: a client's time to answer a close
MARK = 424242  # the `t` of the hostile socket's own ping, after its hostile input
EVENT = {
    "start": "question_opened",
    "close": "question_closed",
    "reveal": "revealed",
    "finish": "finished",
}


@pytest.fixture(scope="module")
def daphne_server(django_db_setup):
    assert connection.settings_dict["NAME"] != CONFIGURED_DATABASE, "no test database"
    env = {"DJANGO_ALLOW_ASYNC_UNSAFE": "", "WS_MAX_MESSAGE_BYTES": str(CAP)}
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(connection.settings_dict["NAME"])
    else:
        env["DATABASE_URL"] = server_database_url()
    with daphne_processes(1, env=env) as (server,):
        yield server


@contextlib.contextmanager
def unharmed(server: DaphneProcess):
    """Fails if the server raised in an application meanwhile (what daphne turns into
    a 1011 close) or died."""
    log_from = server.log_path.stat().st_size
    yield server
    print_logs([server])  # shown when the test failed
    with open(server.log_path, "rb") as log:
        log.seek(log_from)
        written = log.read().decode(errors="replace")
    crash = written.find("Exception inside application")
    assert crash < 0, written[crash : crash + 4000]
    assert server.alive(), server.log_tail()


@pytest.fixture
def server(daphne_server, districts_loaded):
    """For a round's test: committed rows (a transactional test) that daphne reads."""
    with unharmed(daphne_server) as server:
        yield server


@pytest.fixture
def clock_server(daphne_server, db):
    """/ws/clock/ reads no database, so no transactional test (no flush after each);
    `db` only makes pytest-django create the test database the module's daphne is
    pointed at, when these are the only tests that run."""
    with unharmed(daphne_server) as server:
        yield server


# --- The frames -------------------------------------------------------------------------------


def _no_constant(name: str):
    raise AssertionError(f"the server sent {name}, which is not JSON")


def strict(text: str) -> dict:
    """A server frame: strict JSON (no NaN or Infinity) and valid by the protocol."""
    frame = json.loads(text, parse_constant=_no_constant)
    protocol.validate("server", frame)
    return frame


def answer_text(choice: str) -> str:
    return f'{{"type":"answer","answer_id":"hostile","question":0,"choice":{choice}}}'


def ping_text(t: str) -> str:
    return f'{{"type":"ping","t":{t}}}'


LONG_NUMBER = "9" * 5000
DEEP_ARRAY = "[" * 5000 + "]" * 5000  # 10 KB
DEEP_OBJECT = '{"a":' * 1700 + "1" + "}" * 1700  # 10 KB


def answer_bytes(option: str, **extra) -> bytes:
    """A well-formed answer naming `option`: were it let through, it would be stored,
    which the database check at the end of each round would see."""
    message = {"type": "answer", "answer_id": "hostile", "question": 0, "choice": option}
    return json.dumps({**message, **extra}).encode()


def too_big(option: str) -> bytes:
    return answer_bytes(option, pad="x" * (CAP + 1000))


def mangled(option: str, bad: bytes) -> bytes:
    """The answer with `bad` bytes (not UTF-8) in its answer_id."""
    return answer_bytes(option).replace(b'"hostile"', b'"host' + bad + b'ile"')


@dataclass
class Hostile:
    """What the hostile socket sends, the bytes of its frames (`frames`, given an
    option id of the open question), and what it must get: an `error` code
    (`refused`), or a close frame with a code (`closed`)."""

    frames: Callable[[str], bytes]
    refused: str = ""
    closed: int = 0


def text(message: str) -> Callable[[str], bytes]:
    return lambda _option: frame_bytes(TEXT, message.encode())


HOSTILE = {
    "answer NaN": Hostile(text(answer_text("NaN")), refused="bad_json"),
    "answer Infinity": Hostile(text(answer_text("Infinity")), refused="bad_json"),
    "answer -Infinity": Hostile(text(answer_text("-Infinity")), refused="bad_json"),
    "answer 1e999": Hostile(text(answer_text("1e999")), refused="bad_json"),
    "ping NaN": Hostile(text(ping_text("NaN")), refused="bad_json"),
    "ping Infinity": Hostile(text(ping_text("Infinity")), refused="bad_json"),
    "ping -Infinity": Hostile(text(ping_text("-Infinity")), refused="bad_json"),
    "answer 5000 digits": Hostile(text(answer_text(LONG_NUMBER)), refused="bad_json"),
    "ping 5000 digits": Hostile(text(ping_text(LONG_NUMBER)), refused="bad_json"),
    "answer 5000 decimals": Hostile(text(answer_text("0." + LONG_NUMBER)), refused="bad_json"),
    "deeply nested array": Hostile(text(answer_text(DEEP_ARRAY)), refused="bad_json"),
    "deeply nested object": Hostile(text(answer_text(DEEP_OBJECT)), refused="bad_json"),
    "escaped lone surrogate": Hostile(text(answer_text('"\\ud800"')), refused="bad_json"),
    "escaped NUL": Hostile(text(answer_text('"a\\u0000b"')), refused="bad_json"),
    "binary frame": Hostile(lambda o: frame_bytes(BINARY, answer_bytes(o)), refused="text_only"),
    "frame over the cap": Hostile(lambda o: frame_bytes(TEXT, too_big(o)), closed=1009),
    "header declaring 1 GiB": Hostile(
        lambda o: frame_bytes(TEXT, answer_bytes(o), declared=1 << 30), closed=1009
    ),
    "fragments over the cap": Hostile(
        lambda o: (
            frame_bytes(TEXT, too_big(o)[: CAP // 2], fin=False)
            + frame_bytes(CONTINUATION, too_big(o)[CAP // 2 :])
        ),
        closed=1009,
    ),
    "invalid UTF-8": Hostile(lambda o: frame_bytes(TEXT, mangled(o, b"\xff\xfe")), closed=1007),
    "UTF-8 surrogate": Hostile(
        lambda o: frame_bytes(TEXT, mangled(o, b"\xed\xa0\x80")), closed=1007
    ),
    "code point cut at the end": Hostile(
        lambda o: (
            frame_bytes(TEXT, answer_bytes(o), fin=False) + frame_bytes(CONTINUATION, b"\xe4\xb8")
        ),
        closed=1007,
    ),
    "unmasked frame": Hostile(
        lambda o: frame_bytes(TEXT, answer_bytes(o), masked=False), closed=1002
    ),
    "reserved opcode": Hostile(lambda o: frame_bytes(0x3, answer_bytes(o)), closed=1002),
    "reserved bit, no extension": Hostile(
        lambda o: frame_bytes(TEXT, answer_bytes(o), rsv=4), closed=1002
    ),
}


# --- The round ------------------------------------------------------------------------------


def host_cookie(live: LiveRound) -> str:
    client = Client()
    client.force_login(live.host)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


class HostileSocket:
    """The hand-made socket, read all the time: every frame it gets is kept (checked by
    `strict`), and how its connection ended."""

    def __init__(self, raw: RawSocket) -> None:
        self.raw = raw
        self.frames: list[dict] = []
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def join(cls, server: DaphneProcess, pin: str) -> HostileSocket:
        raw = await RawSocket.connect("127.0.0.1", server.port, f"/ws/live/{pin}/", ORIGIN)
        hostile = cls(raw)
        await raw.send_text(json.dumps({"type": "join", "nickname": "hostile"}))
        welcome = await hostile.expect(lambda f: f["type"] in ("welcome", "error"))
        assert welcome["type"] == "welcome", welcome
        return hostile

    async def _read(self) -> Closed:
        try:
            while isinstance(message := await self.raw.receive(), str):
                self.frames.append(strict(message))
                self.arrived.set()
            return message
        finally:
            self.arrived.set()

    async def send(self, hostile: Hostile, option: str) -> None:
        await self.raw.send_bytes(hostile.frames(option))

    async def expect(self, match, timeout: float = STEP_S, what: str = "") -> dict:
        """The first frame (of all it got) that `match` accepts, waiting for it."""

        async def found() -> dict:
            seen = 0
            while True:
                for frame in self.frames[seen:]:
                    if match(frame):
                        return frame
                seen = len(self.frames)
                if self.reader.done():
                    raise AssertionError(f"hostile socket ended: {self.reader.result()}")
                self.arrived.clear()
                await self.arrived.wait()

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:  # as an AssertionError: run() reports any TimeoutError as its own
            raise AssertionError(
                f"hostile socket: no {what} within {timeout} s; last frames: {self.frames[-5:]}"
            ) from None

    def replies(self) -> list[dict]:
        """The replies to its messages, in order (messages are handled one by one)."""
        return [f for f in self.frames if f["type"] in ("pong", "error", "ack", "reject")]

    async def mark(self) -> list[dict]:
        """Ping with MARK and wait for its pong: the replies to everything sent before
        it (pong, error, ack, reject), in order; messages are handled one by one."""
        await self.raw.send_text(ping_text(str(MARK)))
        await self.expect(lambda f: f["type"] == "pong" and f["t"] == MARK, what="pong to MARK")
        return self.replies()[:-1]

    async def ended(self, timeout: float = STEP_S) -> Closed:
        try:
            return await asyncio.wait_for(asyncio.shield(self.reader), timeout)
        except TimeoutError:
            raise AssertionError(f"the hostile socket stayed open for {timeout} s") from None

    async def dropped(self, within: float) -> None:
        try:
            await asyncio.wait_for(self.raw.until_eof(), within)
        except TimeoutError:
            raise AssertionError(
                f"the server kept the TCP connection {within} s after its close frame"
            ) from None

    async def close(self) -> None:
        await self.raw.close()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


class Table:
    """A round's host and honest players on the server; closed on the way out."""

    def __init__(self, server: DaphneProcess, live: LiveRound, cookie: str) -> None:
        self.server = server
        self.pin = live.pin
        self.cookie = cookie
        self.host = Peer("host", self.pin)
        self.players = [Peer(f"honest{n}", self.pin) for n in range(HONEST)]
        self.hostiles: list[HostileSocket] = []

    async def __aenter__(self) -> Table:
        welcome = await self.host.open(self.server, {"type": "host"}, cookie=self.cookie)
        assert welcome.get("role") == "host", welcome
        for player in self.players:
            welcome = await player.open(self.server, {"type": "join", "nickname": player.label})
            assert welcome["type"] == "welcome", welcome
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(
            *(peer.close() for peer in [self.host, *self.players]),
            *(hostile.close() for hostile in self.hostiles),
        )

    async def hostile(self) -> HostileSocket:
        hostile = await HostileSocket.join(self.server, self.pin)
        self.hostiles.append(hostile)
        return hostile

    async def command(self, name: str) -> dict:
        await self.host.send({"type": "command", "name": name})
        frame = await self.host.expect(EVENT[name], "error", what=f"after {name!r}")
        assert frame["type"] != "error", (name, frame)
        for player in self.players:
            await player.expect(EVENT[name], what=f"after {name!r}")
        return frame

    async def honest_answers(self, index: int = 0) -> None:
        """Each honest player answers with an option of the question it was shown; each
        gets its ack."""

        async def answer(n: int, player: Peer) -> None:
            shown = next(
                f
                for f in reversed(player.frames)
                if f["type"] == "question_opened" and f["question_index"] == index
            )
            option = shown["question"]["options"][n % len(shown["question"]["options"])]["id"]
            answer_id = f"{player.label}-{index}"
            await player.send(
                {"type": "answer", "answer_id": answer_id, "question": index, "choice": option}
            )
            reply = await player.expect("ack", "reject", what=answer_id)
            assert reply == {**reply, "type": "ack", "answer_id": answer_id}, reply

        await asyncio.gather(*(answer(n, p) for n, p in enumerate(self.players)))

    async def finish_question(self) -> dict:
        """Close and reveal; the reveal the host saw."""
        await self.command("close")
        return await self.command("reveal")

    def check_frames(self) -> None:
        for peer in [self.host, *self.players]:
            for text in peer.raw:
                strict(text)


def answers_by_player(live: LiveRound) -> dict[str, int]:
    counts: dict[str, int] = {}
    for nickname in LiveAnswer.objects.filter(round=live).values_list(
        "player__nickname", flat=True
    ):
        counts[nickname] = counts.get(nickname, 0) + 1
    return counts


HONEST_ANSWERS = {f"honest{n}": 1 for n in range(HONEST)}


# --- The tests ------------------------------------------------------------------------------


async def play_on(table: Table) -> None:
    """The question closed and revealed with the honest answers, the round finished."""
    reveal = await table.finish_question()
    assert reveal["reveal"]["answers"] == HONEST, reveal
    await table.command("finish")


@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_frame_is_refused_as_documented_while_the_round_goes_on(server, hostile):
    live = make_round(types=["single"], seconds=30)
    cookie = host_cookie(live)

    async def scenario():
        async with Table(server, live, cookie) as table:
            attacker = await table.hostile()
            await table.command("start")
            opened = await attacker.expect(lambda f: f["type"] == "question_opened")
            option = opened["question"]["options"][0]["id"]
            await asyncio.gather(attacker.send(hostile, option), table.honest_answers())
            if hostile.refused:
                replies = await attacker.mark()
                assert [(f["type"], f.get("code")) for f in replies] == [
                    ("error", hostile.refused)
                ], replies
                await play_on(table)
                await attacker.expect(lambda f: f["type"] == "finished")  # still served
            else:
                closed = await attacker.ended()
                assert closed.code == hostile.closed, f"{closed} (None: TCP dropped, no close)"
                # Its close frame is never answered: autobahn gives up after 1 s, while
                # the round goes on.
                await asyncio.gather(attacker.dropped(within=CLOSE_HANDSHAKE_S + 2), play_on(table))
            table.check_frames()

    run(scenario())
    assert answers_by_player(live) == HONEST_ANSWERS
    assert LivePlayer.objects.filter(round=live, nickname="hostile").exists()


def test_an_option_id_from_an_earlier_round_names_no_option(server):
    """Round 1 reveals the key's option id; round 2 asks the same question: that id,
    replayed, is no option of round 2's question (ids are opaque per round)."""
    first = make_round(types=["single"], seconds=30)
    version = first.questions.get().version
    second = services.round_create(
        host=first.host, title="again", versions=[version], seconds_per_question=30
    )
    cookies = host_cookie(first), host_cookie(second)

    async def scenario():
        async with Table(server, first, cookies[0]) as table:
            await table.command("start")
            await table.honest_answers()
            key = (await table.finish_question())["reveal"]["key"]["options"][0]
        async with Table(server, second, cookies[1]) as table:
            attacker = await table.hostile()
            await table.command("start")
            await attacker.raw.send_text(answer_text(json.dumps(key)))
            await table.honest_answers()
            replies = await attacker.mark()
            assert [(f["type"], f.get("reason")) for f in replies] == [
                ("reject", "bad_response")
            ], f"round 1's key {key!r} replayed in round 2: {replies}"
            await table.finish_question()
            table.check_frames()

    run(scenario())
    assert answers_by_player(second) == HONEST_ANSWERS


FLOOD = 300


def test_a_flood_from_one_socket_is_rate_limited_and_the_others_play_on(server):
    live = make_round(types=["single"], seconds=30)
    cookie = host_cookie(live)

    async def flood(attacker: HostileSocket) -> None:
        for n in range(FLOOD):
            if n % 2:
                message = f'{{"type":"answer","answer_id":"flood{n}","question":0,"choice":"x"}}'
            else:
                message = ping_text(str(n))
            await attacker.raw.send_text(message)

    async def scenario():
        async with Table(server, live, cookie) as table:
            attacker = await table.hostile()
            await table.command("start")
            loop = asyncio.get_running_loop()
            began = loop.time()
            await asyncio.gather(flood(attacker), table.honest_answers())
            await attacker.expect(lambda f: len(attacker.replies()) >= FLOOD, what="replies")
            took_s = loop.time() - began  # the bucket refilled for at most this long
            await asyncio.sleep(0.5)  # and now for MARK, which must not be dropped
            replies = await attacker.mark()
            assert len(replies) == FLOOD, f"{len(replies)} replies to {FLOOD} messages"
            kinds = [(f["type"], f.get("code") or f.get("reason")) for f in replies]
            limited = kinds.count(("error", "rate_limited"))
            let_through = FLOOD - limited
            assert let_through <= 20 + 5 * took_s + 1, (let_through, took_s)
            assert set(kinds) <= {
                ("pong", None),
                ("error", "rate_limited"),
                ("reject", "bad_response"),
            }
            reveal = await table.finish_question()
            assert reveal["reveal"]["answers"] == HONEST, reveal
            await table.command("finish")
            await attacker.expect(lambda f: f["type"] == "finished")
            table.check_frames()

    run(scenario())
    assert answers_by_player(live) == HONEST_ANSWERS


@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=list(HOSTILE))
def test_the_clock_socket_refuses_them_the_same_way(clock_server, hostile):
    """/ws/clock/ needs no round and no sign-in: anyone can send it anything."""

    async def scenario():
        raw = await RawSocket.connect("127.0.0.1", clock_server.port, "/ws/clock/", ORIGIN)
        clock = HostileSocket(raw)
        try:
            await clock.send(hostile, "x")
            if hostile.refused:
                replies = await clock.mark()
                assert [(f["type"], f.get("code")) for f in replies] == [
                    ("error", hostile.refused)
                ], replies
            else:
                closed = await clock.ended()
                assert closed.code == hostile.closed, f"{closed} (None: TCP dropped, no close)"
        finally:
            await clock.close()

    run(scenario())
