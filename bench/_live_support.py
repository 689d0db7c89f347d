"""Helpers of bench/live_round.py: server processes, statistics, and the load generator.

The load generator is a separate process (`python bench/_live_support.py worker`) that
plays scripted players with the `websockets` client on one asyncio loop. It needs no
Django. bench/live_round.py drives one or two of them through JSON lines on their
stdin and stdout:

  {"op": "join", "players": [[n, url], ...], "concurrency": c, "spread_s": 3.0,
   "offset_s": 0.0}
      connect and join every player (at most c handshakes and joins at a time), then
      play: on each question_opened, answer at a random time within spread_s (after
      offset_s) with a unique answer_id and one of the frame's option ids.
  {"op": "listen", "players": [[n, url], ...], "concurrency": c}
      connect sockets that only record the frames they receive (the baselines).
  {"op": "status"}   counts so far (opened, sent, acked, rejected, revealed, …).
  {"op": "collect"}  the samples: latencies, acked answer ids, receive times.
  {"op": "close"}    close every socket; the next phase starts from none.
  {"op": "exit"}

A broadcast's latency is the client's receive time minus the frame's "server_now",
both read from the same machine clock (time.time()).

Once its sockets are open, a generator tunes its collector as the servers do
(config/gctune.py): a thousand client sockets are a few hundred thousand tracked
objects, and a full collection of them (20–45 ms) landed on the first question's
frames as they arrived. "collect" reports the full collections since the last one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import json
import math
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "http://127.0.0.1"


def now_ms() -> float:
    return time.time() * 1000


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def raise_fd_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE for this process and the servers it starts: the soft limit up
    to the hard one, and the hard one too where that is allowed (root). Returns the soft
    limit in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- server processes -----------------------------------------------------------------


class Server:
    """One `python -m bench.serve` process (daphne serving bench/asgi.py's application:
    the site plus the bench's routes), its output in a log file."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.log_path = log
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", "-b", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = json.loads(response.read())
                if body.get("status") == "ok":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"daphne on {self.port} not ready:\n{self.tail()}")
            time.sleep(0.2)

    def tail(self, size: int = 4000) -> str:
        self.log.flush()
        return self.log_path.read_bytes()[-size:].decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the orchestrator's side of a load-generator process ---------------------------------


class WorkerClient:
    """A load-generator process, driven over its stdin and stdout: `script worker SEED`
    (this module's generator; a bench with its own sets `script` to its module)."""

    script = Path(__file__).resolve()

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lock = asyncio.Lock()

    @classmethod
    async def start(cls, seed: int) -> WorkerClient:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(cls.script),
            "worker",
            str(seed),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**28,
        )
        return cls(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def call(self, op: str, **args: Any) -> dict:
        async with self.lock:
            self.proc.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
            await self.proc.stdin.drain()
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator {self.pid} exited")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"load generator {self.pid}: {reply['error']}")
        return reply

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.call("exit"), 10)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


# --- the load generator itself -------------------------------------------------------------


def connect(url: str):
    from websockets.asyncio.client import connect as ws_connect

    # As a browser does: offer permessage-deflate (the library's default), no client
    # pings (daphne pings; the library answers), the page's origin.
    return ws_connect(
        url,
        origin=ORIGIN,
        compression="deflate",
        proxy=None,
        ping_interval=None,
        open_timeout=60,
        close_timeout=5,
        max_size=2**22,
    )


class FullCollections:
    """The generator's own full (generation-2) collections: how many, the longest."""

    def __init__(self) -> None:
        self.count = 0
        self.longest_ms = 0.0
        self.started = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.count += 1
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - self.started) * 1000)

    def take(self) -> list:
        taken = [self.count, round(self.longest_ms, 1)]
        self.count, self.longest_ms = 0, 0.0
        return taken


def settle_heap() -> None:
    """config/gctune.py's tuning, loaded from its file: the package would bring Celery
    and Django into the load generator."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gctune", ROOT / "config" / "gctune.py")
    gctune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gctune)
    gctune.tune_collector()


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sockets: list[Any] = []
        self.tasks: set[asyncio.Task] = set()
        self.full_collections = FullCollections()
        self.reset()

    def reset(self) -> None:
        self.sockets = []
        self.join_ms: list[float] = []
        self.join_failed: list[str] = []
        self.extensions: collections.Counter = collections.Counter()
        self.broadcast_ms: list[float] = []
        self.ack_ms: list[float] = []
        self.broadcast_by_question: dict[int, list[float]] = collections.defaultdict(list)
        self.acked_ids: list[str] = []
        self.pending: dict[str, tuple[float, int]] = {}
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.rejected: collections.Counter = collections.Counter()
        self.received_at: dict[str, list[float]] = collections.defaultdict(list)
        self.frames = 0
        self.finished = 0
        self.errors: collections.Counter = collections.Counter()

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _open(self, n: int, url: str, hello: dict | None, gate: asyncio.Semaphore):
        async with gate:
            started = now_ms()
            try:
                ws = await connect(url)
            except Exception as failed:
                self.join_failed.append(f"{n}: {type(failed).__name__}: {failed}")
                return None
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions") or "none"
            self.extensions[extensions] += 1
            if hello is not None:
                await ws.send(json.dumps(hello))
                seen = set()
                while seen != {"welcome", "snapshot"}:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "error":
                        self.join_failed.append(f"{n}: {frame}")
                        await ws.close()
                        return None
                    seen.add(frame["type"])
            self.join_ms.append(now_ms() - started)
            self.sockets.append(ws)
            return ws

    async def join(
        self, players: list, concurrency: int, spread_s: float, offset_s: float = 0.0
    ) -> dict:
        gate = asyncio.Semaphore(concurrency)

        async def one(n: int, url: str) -> None:
            ws = await self._open(n, url, {"type": "join", "nickname": f"玩家{n}"}, gate)
            if ws is not None:
                self._spawn(self._play(n, ws, spread_s, offset_s))

        await asyncio.gather(*(one(n, url) for n, url in players))
        settle_heap()
        self.full_collections.take()
        return {
            "joined": len(self.join_ms),
            "failed": self.join_failed[:20],
            "failed_count": len(self.join_failed),
            "join_ms": self.join_ms,
            "extensions": dict(self.extensions),
        }

    async def listen(self, players: list, concurrency: int) -> dict:
        gate = asyncio.Semaphore(concurrency)

        async def one(n: int, url: str) -> None:
            ws = await self._open(n, url, None, gate)
            if ws is not None:
                self._spawn(self._record(ws))

        await asyncio.gather(*(one(n, url) for n, url in players))
        settle_heap()
        self.full_collections.take()
        return {
            "connected": len(self.sockets),
            "failed": self.join_failed[:20],
            "failed_count": len(self.join_failed),
            "extensions": dict(self.extensions),
        }

    async def _record(self, ws) -> None:
        with contextlib.suppress(Exception):
            async for text in ws:
                received = now_ms()
                frame = json.loads(text)
                self.broadcast_ms.append(received - frame["server_now"])
                self.broadcast_by_question[frame.get("bench_repeat", 0)].append(
                    received - frame["server_now"]
                )
                self.frames += 1

    async def _play(self, n: int, ws, spread_s: float, offset_s: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for text in ws:
                received = now_ms()
                frame = json.loads(text)
                kind = frame.get("type")
                if kind == "question_opened":
                    question = frame["question"]
                    q = question["index"]
                    self.broadcast_ms.append(received - frame["server_now"])
                    self.broadcast_by_question[q].append(received - frame["server_now"])
                    self.counts["opened"][q] += 1
                    self.received_at[f"opened:{q}"].append(received)
                    # A timer, not a task, while the frames of a broadcast pour in: the
                    # later frames' receive times must not carry the earlier ones' work.
                    choice = self.rng.choice([o["id"] for o in question["options"]])
                    delay = offset_s + self.rng.uniform(0, spread_s)
                    loop.call_later(delay, self._fire, n, ws, q, choice)
                elif kind in ("ack", "reject"):
                    sent = self.pending.pop(frame.get("answer_id"), None)
                    if sent is None:
                        self.errors[f"unexpected_{kind}"] += 1
                        continue
                    sent_at, q = sent
                    if kind == "ack":
                        self.ack_ms.append(received - sent_at)
                        self.acked_ids.append(frame["answer_id"])
                        self.counts["acked"][q] += 1
                    else:
                        self.rejected[frame.get("reason", "?")] += 1
                        self.counts["rejected"][q] += 1
                elif kind in ("question_closed", "revealed"):
                    q = frame.get("question_index")
                    if q is None and "reveal" in frame:
                        q = frame["reveal"]["index"]
                    self.counts[kind][q] += 1
                    self.received_at[f"{kind}:{q}"].append(received)
                elif kind == "finished":
                    self.finished += 1
                    self.received_at["finished"].append(received)
                elif kind == "error":
                    self.errors[frame.get("code", "?")] += 1
        except Exception as failed:
            self.errors[type(failed).__name__] += 1

    def _fire(self, n: int, ws, q: int, choice: str) -> None:
        self._spawn(self._answer(n, ws, q, choice))

    async def _answer(self, n: int, ws, q: int, choice: str) -> None:
        answer_id = f"{n}.{q}.{self.rng.getrandbits(48):012x}"
        self.pending[answer_id] = (now_ms(), q)
        self.counts["sent"][q] += 1
        try:
            await ws.send(
                json.dumps(
                    {"type": "answer", "answer_id": answer_id, "question": q, "choice": choice}
                )
            )
        except Exception as failed:
            self.errors[f"send_{type(failed).__name__}"] += 1

    def status(self) -> dict:
        return {
            "counts": {kind: dict(c) for kind, c in self.counts.items()},
            "finished": self.finished,
            "frames": self.frames,
            "pending": len(self.pending),
            "sockets": len(self.sockets),
            "errors": dict(self.errors),
        }

    def collect(self) -> dict:
        return {
            **self.status(),
            "broadcast_ms": self.broadcast_ms,
            "ack_ms": self.ack_ms,
            "broadcast_by_question": self.broadcast_by_question,
            "acked_ids": self.acked_ids,
            "unanswered_ids": list(self.pending),
            "rejected": dict(self.rejected),
            "received_at": self.received_at,
            "full_collections": self.full_collections.take(),
        }

    async def close(self) -> dict:
        gate = asyncio.Semaphore(200)

        async def one(ws) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await ws.close()

        await asyncio.gather(*(one(ws) for ws in self.sockets))
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        closed = len(self.sockets)
        self.reset()
        return {"closed": closed}


async def worker_main(seed: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    generator = Generator(seed)
    out = sys.stdout
    while True:
        line = await reader.readline()
        if not line:
            return
        message = json.loads(line)
        op = message.pop("op")
        try:
            if op == "exit":
                await generator.close()
                reply: dict = {"ok": True}
            elif op == "join":
                reply = await generator.join(**message)
            elif op == "listen":
                reply = await generator.listen(**message)
            elif op == "status":
                reply = generator.status()
            elif op == "collect":
                reply = generator.collect()
            elif op == "close":
                reply = await generator.close()
            else:
                reply = {"error": f"unknown op {op}"}
        except Exception as failed:
            reply = {"error": f"{type(failed).__name__}: {failed}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if op == "exit":
            return


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "worker":
        asyncio.run(worker_main(int(sys.argv[2]) if len(sys.argv) > 2 else 0))
    else:
        # Not a benchmark of its own (`make bench` runs every bench/*.py): say so, succeed.
        print("bench/_live_support.py: helpers of bench/live_round.py", file=sys.stderr)
