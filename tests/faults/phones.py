"""The clients of the fault scenarios: real `websockets` connections that behave as the
shipped client must when the servers behind it fail (frontend/static/js/live/client.js
and player.js; docs/protocol.md):

* a dropped connection comes back with client.js's jittered exponential backoff (half
  of min(15 s, 0.5 s * 2^attempt), plus up to as much again), first to the server it
  was on, then to the other (what nginx does when an upstream is gone); the attempt
  count starts again at a welcome;
* it comes back as who it was: a player resumes with its token, the host says `host`
  with its session cookie;
* `seq`: a duplicate is dropped, a gap asks for a snapshot, and until that snapshot
  arrives broadcasts are only noted (client.js's `handle`);
* an answer is kept until the server acks or rejects it; it is sent again, with the
  same answer_id, after `error retry` (the database failed on it: nothing was stored)
  and after a reconnect whose snapshot does not hold it (player.js's reconcileAnswer);
* a hello refused with `error retry` is sent again.

`view` is what the phone shows: the (status, question index, seq) of the last snapshot
or broadcast applied, or None while it has no connection or waits for a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable

import websockets

from tests.support.daphne import ORIGIN, DaphneProcess

BACKOFF_BASE_S = 0.5  # client.js BACKOFF_BASE_MS
BACKOFF_CAP_S = 15.0  # client.js BACKOFF_CAP_MS
RETRY_S = (0.2, 0.6)  # a resend after `error retry`: soon, jittered
CLOSE_KICKED = 4001
STATUS_OF = {
    "question_opened": "question_open",
    "question_closed": "question_closed",
    "revealed": "revealed",
    "leaderboard": "leaderboard",
    "finished": "finished",
    "aborted": "aborted",
}
HELLOS = ("join", "resume", "host", "screen")


def backoff_delay(attempt: int) -> float:
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
    return ceiling / 2 + random.random() * ceiling / 2


class Phone:
    def __init__(
        self,
        label: str,
        pin: str,
        servers: Callable[[], list[DaphneProcess]],
        home: DaphneProcess,
        *,
        hello: dict,
        cookie: str | None = None,
    ) -> None:
        self.label = label
        self.pin = pin
        self.servers = servers  # every server a reconnect may go to, alive or not
        self.home = home  # where the next connection goes first
        self.first_hello = hello
        self.cookie = cookie
        self.role = "host" if hello["type"] == "host" else "player"
        self.ws = None
        self.server: DaphneProcess | None = None
        self.task: asyncio.Task | None = None
        self.stopped = False
        self.attempt = 0
        # what the connection knows
        self.welcomed = False
        self.last_seq: int | None = None
        self.max_seen = -1
        self.awaiting_snapshot = False
        self.status: str | None = None
        self.index: int | None = None
        # who this is, and what it sent
        self.id: int | None = None
        self.token: str | None = None
        self.pending: dict[str, dict] = {}  # answer_id -> message, until acked or rejected
        self.acks: dict[str, int] = {}  # answer_id -> received_at of its ack
        # the same answer acked twice, at different receive times
        self.ack_conflicts: list[tuple[str, int, int]] = []
        self.rejects: dict[str, str] = {}
        self.in_snapshot: set[str] = set()  # answers a snapshot says are stored (no ack seen)
        self.errors: list[dict] = []
        self.closes: list[tuple[str, int | None]] = []  # (server, close code)
        self.connections: list[str] = []  # the server of each welcome, in order
        self.frames: list[dict] = []  # every frame of every connection (for failures)
        self.changed = asyncio.Event()
        self.snapshot_you: dict | None = None
        self.revealed_you: dict[int, dict] = {}  # question index -> "you" of its reveal
        self.questions: dict[int, dict] = {}  # question index -> the question as shown
        self.later: set[asyncio.Task] = set()

    # --- what it shows ------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.ws is not None and self.welcomed

    @property
    def view(self) -> tuple[str, int, int] | None:
        if not self.connected or self.last_seq is None or self.awaiting_snapshot:
            return None
        return (self.status, self.index, self.last_seq)

    def describe(self) -> str:
        where = self.server.name if self.server else "-"
        return (
            f"{self.label}@{where} view={self.view} connected={self.connected} "
            f"pending={sorted(self.pending)} closes={self.closes[-3:]} "
            f"errors={self.errors[-3:]} last={[f.get('type') for f in self.frames[-6:]]}"
        )

    # --- life -------------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self._life(), name=f"phone:{self.label}")

    async def stop(self) -> None:
        self.stopped = True
        for task in list(self.later):
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task

    def _order(self) -> list[DaphneProcess]:
        servers = self.servers()
        others = [s for s in servers if s is not self.home]
        return [self.home, *others]

    async def _life(self) -> None:
        tries = 0  # connections tried since the last welcome, for the server order
        while not self.stopped:
            order = self._order()
            server = order[tries % len(order)]
            tries += 1
            welcomed = await self._connection(server)
            if welcomed:
                tries = 0
            if self.stopped:
                return
            self._note_change()
            await asyncio.sleep(backoff_delay(self.attempt))
            self.attempt += 1

    async def _connection(self, server: DaphneProcess) -> bool:
        """One connection, until it closes; whether it got a welcome."""
        self.welcomed = False
        self.last_seq, self.max_seen, self.awaiting_snapshot = None, -1, False
        try:
            ws = await websockets.connect(
                f"{server.ws_url}/ws/live/{self.pin}/",
                origin=ORIGIN,
                additional_headers={"Cookie": self.cookie} if self.cookie else None,
                open_timeout=5,
                close_timeout=1,
                max_size=None,
            )
        except (OSError, websockets.InvalidHandshake, TimeoutError, websockets.ConnectionClosed):
            self.closes.append((server.name, None))
            return False
        self.ws, self.server = ws, server
        welcomed = False
        try:
            await self._send(self.hello())
            async for text in ws:
                frame = json.loads(text)
                self.frames.append(frame)
                if frame.get("type") == "welcome":
                    welcomed = True
                    self.home = server
                await self._handle(frame)
                self._note_change()
        except websockets.ConnectionClosed:
            pass
        finally:
            code = ws.close_code
            self.ws = None
            self.welcomed = False
            self.closes.append((server.name, code))
            if code == CLOSE_KICKED:
                self.stopped = True
        return welcomed

    def hello(self) -> dict:
        if self.role == "player" and self.token:
            return {"type": "resume", "token": self.token}
        return dict(self.first_hello)

    async def _send(self, message: dict) -> bool:
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(message))
            return True
        except websockets.ConnectionClosed:
            return False

    def _note_change(self) -> None:
        self.changed.set()

    def _later(self, coroutine_factory) -> None:
        async def later():
            await asyncio.sleep(random.uniform(*RETRY_S))
            await coroutine_factory()

        task = asyncio.get_running_loop().create_task(later())
        self.later.add(task)
        task.add_done_callback(self.later.discard)

    # --- frames -------------------------------------------------------------------------

    async def _handle(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "welcome":
            self.welcomed = True
            self.attempt = 0
            self.connections.append(self.server.name)
            if "player" in frame:
                self.id = frame["player"]["id"]
                self.token = frame["token"]
            return
        if kind == "snapshot":
            await self._snapshot(frame)
            return
        if kind == "ack":
            self._acked(frame)
            return
        if kind == "reject":
            self.pending.pop(frame["answer_id"], None)
            self.rejects[frame["answer_id"]] = frame.get("reason", "")
            return
        if kind == "error":
            self.errors.append(frame)
            if frame.get("code") == "retry":
                self._retry(frame.get("detail", ""))
            return
        seq = frame.get("seq")
        if not isinstance(seq, int):
            return
        self.max_seen = max(self.max_seen, seq)
        if self.last_seq is None or self.awaiting_snapshot:
            return  # the snapshot on its way covers it
        if seq <= self.last_seq:
            return  # a duplicate
        if seq != self.last_seq + 1:
            await self.request_snapshot()  # a gap: frames were lost
            return
        self.last_seq = seq
        if kind in STATUS_OF:
            self.status = STATUS_OF[kind]
        if "question_index" in frame:
            self.index = frame["question_index"]
        if kind == "question_opened" and "question" in frame:
            self.questions[frame["question"]["index"]] = frame["question"]
        if kind == "revealed" and "you" in frame:
            self.revealed_you[frame["question_index"]] = frame["you"]

    def _acked(self, frame: dict) -> None:
        answer_id, at = frame["answer_id"], frame["received_at"]
        self.pending.pop(answer_id, None)
        if answer_id in self.acks and self.acks[answer_id] != at:
            self.ack_conflicts.append((answer_id, self.acks[answer_id], at))
        self.acks.setdefault(answer_id, at)

    def _retry(self, detail: str) -> None:
        if detail in HELLOS and not self.welcomed:
            self._later(lambda: self._send(self.hello()))
        elif detail == "answer":
            self._later(self.resend)
        elif detail == "snapshot":
            self._later(self.request_snapshot)
        # "command": the host's command() decides, from what it sees

    async def request_snapshot(self) -> None:
        self.max_seen = -1
        self.awaiting_snapshot = True
        await self._send({"type": "snapshot"})

    async def _snapshot(self, frame: dict) -> None:
        self.last_seq = frame["seq"]
        self.awaiting_snapshot = False
        self.status = frame["status"]
        self.index = frame["question_index"]
        if frame.get("question"):
            self.questions[frame["question"]["index"]] = frame["question"]
        you = frame.get("you")
        if you is not None:
            self.snapshot_you = you
            answered = you.get("answered")
            for answer_id, message in list(self.pending.items()):
                if answered == answer_id:
                    self.pending.pop(answer_id)
                    self.in_snapshot.add(answer_id)
                elif message["question"] != self.index or self.status not in (
                    "question_open",
                    "question_closed",
                ):
                    self.pending.pop(answer_id)  # its question is over: player.js forgets it
        if self.max_seen > frame["seq"]:
            await self.request_snapshot()
            return
        await self.resend()

    async def resend(self) -> None:
        if not self.connected:
            return
        for message in list(self.pending.values()):
            await self._send(message)

    # --- what a test does with it -------------------------------------------------------

    def option(self, index: int, text: str) -> str:
        """The id of the option with this text, as question `index` was shown here."""
        question = self.questions.get(index)
        assert question is not None, f"{self.label} was never shown question {index}"
        return next(o["id"] for o in question["options"] if o["text"] == text)

    async def answer(self, index: int, choice) -> str:
        """Answer question `index` (sent now if connected, else after the reconnect);
        the answer_id."""
        answer_id = f"{self.label}-{index}-{uuid.uuid4().hex[:8]}"
        message = {"type": "answer", "answer_id": answer_id, "question": index, "choice": choice}
        self.pending[answer_id] = message
        if self.connected:
            await self._send(message)
        return answer_id

    async def send(self, message: dict) -> bool:
        return await self._send(message)

    async def wait(self, condition: Callable[[], bool], deadline: float, what: str) -> None:
        """Until `condition()` holds; fails at `deadline` (time.monotonic())."""
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{what}: {self.describe()}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.25))
