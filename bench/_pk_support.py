"""The load generator of bench/pk_load.py: a separate process (`python
bench/_pk_support.py worker <seed>`) that plays PK players with the `websockets` client on
one asyncio loop, driven by JSON lines on its stdin and stdout. It needs no Django.

  {"op": "connect", "players": [[n, url, session key], ...], "concurrency": c}
      open every player's socket with its session cookie (at most c handshakes at once).
  {"op": "find"}     every player sends pk_find now, then plays: each answer 0.3–2.5 s
                     after its question frame arrives, one of its options at random.
  {"op": "status"}   how many players wait, play, have finished; how many were matched.
  {"op": "collect"}  the samples (match wait, ack, open lateness) and the counts.
  {"op": "close"}    close every socket.
  {"op": "exit"}

One clock (this machine's): a question frame's lateness is its arrival minus the time it
was scheduled for, the `next_at` of the frame before it (the lobby's snapshot, or the
previous `revealed`); an answer refused "in time" was sent before its question's
`closes_at`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._live_support import ORIGIN, WorkerClient, now_ms, settle_heap  # noqa: E402

ANSWER_AFTER_S = (0.3, 2.5)


class Player:
    def __init__(self, n: int, url: str, session: str) -> None:
        self.n, self.url, self.session = n, url, session
        self.ws = None
        self.find_at = 0.0
        self.matched_at: float | None = None
        self.next_at: float | None = None  # when the next question is scheduled to open
        self.answered: set[int] = set()
        self.state = "idle"  # waiting, matched, finished, out


class Worker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.players: list[Player] = []
        self.tasks: set[asyncio.Task] = set()
        self.samples: dict[str, list[float]] = collections.defaultdict(list)
        self.counts: collections.Counter = collections.Counter()
        self.refused: collections.Counter = collections.Counter()
        self.refused_in_time: collections.Counter = collections.Counter()
        self.pending: dict[str, tuple[float, int, Player]] = {}
        self.failed: list[str] = []

    async def connect(self, players: list, concurrency: int) -> dict:
        from websockets.asyncio.client import connect as ws_connect

        gate = asyncio.Semaphore(concurrency)

        async def one(n: int, url: str, session: str) -> None:
            player = Player(n, url, session)
            async with gate:
                try:
                    player.ws = await ws_connect(
                        url,
                        origin=ORIGIN,
                        additional_headers={"Cookie": f"sessionid={session}"},
                        compression="deflate",
                        proxy=None,
                        ping_interval=None,
                        open_timeout=60,
                        max_size=2**22,
                    )
                except Exception as failed:
                    self.failed.append(f"{n}: {type(failed).__name__}: {failed}")
                    return
            self.players.append(player)

        await asyncio.gather(*(one(*p) for p in players))
        settle_heap()
        return {"connected": len(self.players), "failed": self.failed[:10]}

    async def find(self) -> dict:
        """Every player sends pk_find now, then plays on its own."""
        for player in self.players:
            player.find_at = now_ms()
            player.state = "waiting"
            await player.ws.send('{"type": "pk_find"}')
            task = asyncio.create_task(self._play(player))
            self.tasks.add(task)
        return {"sent": len(self.players)}

    async def _play(self, p: Player) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for text in p.ws:
                received = now_ms()
                frame = json.loads(text)
                kind = frame.get("type")
                if kind == "pk_matched":
                    p.matched_at = received
                    p.state = "matched"
                    self.samples["match_wait_ms"].append(received - p.find_at)
                elif kind in ("snapshot", "revealed"):
                    if frame.get("next_at"):
                        p.next_at = frame["next_at"]
                    question = frame.get("question")
                    if kind == "snapshot" and frame.get("status") == "question_open":
                        self._schedule(loop, p, question, received)
                    if kind == "snapshot" and frame.get("status") == "finished":
                        self._finish(p)
                elif kind == "question_opened":
                    if p.next_at is not None:
                        self.samples["open_vs_schedule_ms"].append(received - p.next_at)
                        p.next_at = None
                    self.samples["open_vs_server_now_ms"].append(received - frame["server_now"])
                    self._schedule(loop, p, frame["question"], received)
                elif kind in ("ack", "reject"):
                    sent = self.pending.pop(frame.get("answer_id"), None)
                    if sent is None:
                        continue
                    sent_at, closes_at, _ = sent
                    self.samples["ack_ms"].append(received - sent_at)
                    if kind == "ack":
                        self.counts["acked"] += 1
                    else:
                        reason = frame.get("reason", "?")
                        self.refused[reason] += 1
                        if sent_at <= closes_at:
                            self.refused_in_time[reason] += 1
                elif kind == "finished":
                    self._finish(p)
                elif kind in ("pk_timeout", "pk_cancelled"):
                    p.state = "out"
                    self.counts[kind] += 1
                elif kind == "error":
                    self.counts[f"error_{frame.get('code')}"] += 1
                if p.state == "finished":
                    return
        except Exception as failed:
            self.counts[f"socket_{type(failed).__name__}"] += 1

    def _finish(self, p: Player) -> None:
        if p.state != "finished":
            p.state = "finished"
            self.counts["finished"] += 1

    def _schedule(self, loop, p: Player, question: dict | None, received: float) -> None:
        if not question or question["index"] in p.answered:
            return
        p.answered.add(question["index"])
        choice = self.rng.choice([o["id"] for o in question["options"]])
        delay = self.rng.uniform(*ANSWER_AFTER_S)
        loop.call_later(delay, self._fire, p, question, choice)

    def _fire(self, p: Player, question: dict, choice: str) -> None:
        answer_id = f"{p.n}.{question['index']}.{self.rng.getrandbits(40):010x}"
        self.pending[answer_id] = (now_ms(), question["closes_at"], p)
        self.counts["sent"] += 1
        message = {"type": "answer", "answer_id": answer_id, "question": question["index"]}
        message["choice"] = choice
        task = asyncio.create_task(p.ws.send(json.dumps(message)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def status(self) -> dict:
        states = collections.Counter(p.state for p in self.players)
        matched = sum(1 for p in self.players if p.matched_at is not None)
        return {"states": dict(states), "matched": matched, "players": len(self.players)}

    def collect(self) -> dict:
        return {
            **self.status(),
            "samples": self.samples,
            "counts": dict(self.counts),
            "refused": dict(self.refused),
            "refused_in_time": dict(self.refused_in_time),
            "unanswered": len(self.pending),
        }

    async def close(self) -> dict:
        for player in self.players:
            with contextlib.suppress(Exception):
                await player.ws.close()
        for task in list(self.tasks):
            task.cancel()
        return {"closed": len(self.players)}


async def worker_main(seed: int) -> None:
    worker = Worker(seed)
    reader = asyncio.StreamReader(limit=2**28)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request = json.loads(line)
        op = request.pop("op")
        if op == "exit":
            break
        reply = (
            await getattr(worker, op)(**request)
            if op in ("connect", "find", "close")
            else (getattr(worker, op)())
        )
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


class WorkerProcess(WorkerClient):
    """bench/_live_support.py's driver, starting this module's generator (`worker`)."""

    script = Path(__file__).resolve()


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        asyncio.run(worker_main(int(sys.argv[2])))
