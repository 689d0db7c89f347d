"""The bench's ASGI application: the site's (config.asgi.application) plus bench-only
WebSocket apps: the baselines of bench/live_round.py, collector statistics and a
profiler.

Never part of production: only bench/serve.py, which bench/live_round.py starts, serves
this application (`python -m bench.serve`, daphne with config.serve's options and
`bench.asgi:application`). Under /ws/bench/ the routes sit behind the same middleware
stack as the site's sockets (DaphneWire, the origin check, sessions and auth); every
other request goes to the site's application unchanged. The apps measure the same
question frame fanned out two other ways, through the same daphne processes and the
same channel layer as the real round:

* /ws/bench/group/<role>/: stock Channels fan-out, as the Channels tutorial writes it.
  Every "listen" socket adds its own channel to one group; a "trigger" socket's message
  becomes one `group_send` of the frame, which the channel layer turns into one
  message per socket, and each socket's consumer serialises it (`send_json`).
* /ws/bench/group-text/<role>/: the same, with the frame serialised once by the
  trigger and the text passed through the group: stock fan-out's cheapest form.
* /ws/bench/floor/<role>/: the floor. A bare ASGI app keeps its "listen" sockets in a
  process-global list; one task per process reads one channel (in one group, like the
  relay in realtime.relay) and writes the pre-serialised frame to each socket in a
  loop. What is left is daphne's own cost per frame (and that of the middleware stack,
  origin check, sessions and auth, which every route here sits behind, as the round's).

A trigger message is {"frame": {...}}: the frame is stamped with "server_now" (server
ms) just before it is handed to the channel layer, as realtime.events.publish does
after the commit, serialised once and fanned out.

/ws/bench/stats/ answers with this process's garbage-collector pauses since the last
ask (count, total and longest, by generation) and the number of objects it tracks;
{"op": "freeze"} first freezes the heap (bench/live_round.py --gc-freeze).

/ws/bench/profile/ turns cProfile on and off in this process when BENCH_PROFILE names
a directory: {"op": "start"} profiles the event-loop thread and the one thread that
runs database_sync_to_async work; {"op": "stop"} writes <pid>-loop.prof and
<pid>-sync.prof there and answers {"ok": true, "files": [...]}.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import os
import time
from pathlib import Path

from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from django.urls import path

from config.asgi import application as site_application
from config.gctune import tune_collector
from realtime.events import dumps
from realtime.live.state import now_ms
from realtime.relay import RoundFeed
from realtime.security import OriginCheck
from realtime.wire import DaphneWire

GROUP = "bench.group"
FLOOR_GROUP = "bench.floor"


def stamped(text: str) -> str:
    """The trigger's frame, stamped with the server's clock and serialised once."""
    message = json.loads(text)
    frame = dict(message.get("frame") or {"type": "bench"})
    frame["server_now"] = now_ms()
    return dumps(frame)


class GroupSendConsumer(AsyncJsonWebsocketConsumer):
    """Stock per-player fan-out: one group member per socket, each serialising the
    frame it is handed."""

    group = GROUP

    async def connect(self) -> None:
        self.role = self.scope["url_route"]["kwargs"]["role"]
        if self.role == "listen":
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code) -> None:
        if self.role == "listen":
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if self.role != "trigger" or text_data is None:
            return
        await self.channel_layer.group_send(self.group, self.message(text_data))

    def message(self, text: str) -> dict:
        frame = dict(json.loads(text).get("frame") or {"type": "bench"})
        frame["server_now"] = now_ms()
        return {"type": "bench.frame", "frame": frame}

    async def bench_frame(self, event) -> None:
        await self.send_json(event["frame"])


class GroupTextConsumer(GroupSendConsumer):
    """Stock fan-out with the frame serialised once, before the group send."""

    group = "bench.group-text"

    def message(self, text: str) -> dict:
        return {"type": "bench.frame", "text": stamped(text)}

    async def bench_frame(self, event) -> None:
        await self.send(text_data=event["text"])


class _Floor:
    """This process's floor sockets and the one task that writes to them."""

    def __init__(self) -> None:
        self.sends: dict[int, object] = {}
        self.task: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def start(self, layer) -> None:
        async with self.lock:
            if self.task is None:
                channel = await layer.new_channel()
                await layer.group_add(FLOOR_GROUP, channel)
                self.task = asyncio.create_task(self.run(layer, channel), name="bench:floor")

    async def run(self, layer, channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            out = {"type": "websocket.send", "text": message["text"]}
            for send in list(self.sends.values()):
                try:
                    await send(out)
                except Exception:  # noqa: S112 - a socket that went away; its app removes it
                    continue


_floors: dict[int, _Floor] = {}


def _floor() -> _Floor:
    loop = asyncio.get_running_loop()
    found = _floors.get(id(loop))
    if found is None:
        found = _floors[id(loop)] = _Floor()
    return found


async def floor_app(scope, receive, send) -> None:
    """A bare ASGI WebSocket app: no consumer, no per-socket channel."""
    role = scope["url_route"]["kwargs"]["role"]
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    layer = get_channel_layer()
    floor = _floor()
    await floor.start(layer)
    await send({"type": "websocket.accept"})
    key = id(send)
    if role == "listen":
        floor.sends[key] = send
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            if role == "trigger" and message.get("text"):
                text = stamped(message["text"])
                await layer.group_send(FLOOR_GROUP, {"type": "bench.floor", "text": text})
    finally:
        floor.sends.pop(key, None)


# --- garbage-collector pauses ------------------------------------------------------------


class _GcPauses:
    """How long this process's garbage collections took, by generation: a full (gen 2)
    collection with thousands of sockets' objects alive stops the event loop."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.reset()

    def reset(self) -> None:
        self.count = [0, 0, 0]
        self.total_ms = [0.0, 0.0, 0.0]
        self.max_ms = [0.0, 0.0, 0.0]

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        if self.started is None:
            return
        ms = (time.perf_counter() - self.started) * 1000
        gen = info["generation"]
        self.count[gen] += 1
        self.total_ms[gen] += ms
        self.max_ms[gen] = max(self.max_ms[gen], ms)
        self.started = None

    def take(self) -> dict:
        taken = {
            "count": self.count,
            "total_ms": [round(ms, 1) for ms in self.total_ms],
            "max_ms": [round(ms, 1) for ms in self.max_ms],
        }
        self.reset()
        return taken


gc_pauses = _GcPauses()
gc.callbacks.append(gc_pauses)


class _RelayTimings:
    """For every frame with a "server_now" that this process's relay writes to more than
    a few sockets (the question frames): when the relay got it, when its write loop
    ended and when the writes had been handed to the kernel (two loop turns later), in
    ms after "server_now"; how many sockets it went to, and how many of them got it as
    prepared wire bytes (realtime.wire) rather than through daphne's ASGI send. Wraps
    RoundFeed.deliver once this module is loaded (the bench's servers only)."""

    def __init__(self) -> None:
        self.rows: list[list[float]] = []

    def install(self) -> None:
        original = RoundFeed.deliver
        rows = self.rows

        async def deliver(feed: RoundFeed, message: dict) -> tuple[int, int]:
            got = now_ms()
            sent, wired = await original(feed, message)
            looped = now_ms()
            if sent > 10 and '"server_now":' in message["frame"]:
                stamp = json.loads(message["frame"])["server_now"]
                loop = asyncio.get_running_loop()

                def flushed() -> None:
                    rows.append([got - stamp, looped - stamp, now_ms() - stamp, sent, wired])

                loop.call_soon(loop.call_soon, flushed)
            return sent, wired

        RoundFeed.deliver = deliver

    def take(self) -> list[list[float]]:
        taken = [[round(v, 1) for v in row] for row in self.rows]
        self.rows.clear()
        return taken


relay_timings = _RelayTimings()
relay_timings.install()


async def stats_app(scope, receive, send) -> None:
    """{"op": "gc"}: this process's collections since the last ask, by generation, and
    how many objects the collector tracks. {"op": "relay"}: its relay's timings since
    the last ask (_RelayTimings). {"op": "freeze"} (a diagnosis): collect, then
    move every object alive into the permanent generation (gc.freeze), so that later
    full collections no longer walk them."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        op = json.loads(message.get("text") or "{}").get("op")
        if op == "freeze":
            gc.collect()
            gc.freeze()
        reply = {
            "pid": os.getpid(),
            "gc": gc_pauses.take(),
            "objects": len(gc.get_objects()),
            "frozen": gc.get_freeze_count(),
        }
        if op == "relay":
            reply = {"pid": os.getpid(), "relay": relay_timings.take()}
        await send({"type": "websocket.send", "text": json.dumps(reply)})


# --- profiling ------------------------------------------------------------------------

_profilers: dict[str, cProfile.Profile] = {}


async def profile_app(scope, receive, send) -> None:
    """cProfile on demand, for the bench's --profile runs (BENCH_PROFILE=<dir>)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    target = os.environ.get("BENCH_PROFILE")
    if not target:
        await send({"type": "websocket.close", "code": 4403})
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        op = json.loads(message.get("text") or "{}").get("op")
        files: list[str] = []
        if op == "start" and not _profilers:
            # CPU time of the thread, not wall time: what a function costs, without the
            # waits for the GIL, the database or a core of the crowded machine.
            _profilers["loop"] = cProfile.Profile(time.thread_time)
            _profilers["sync"] = cProfile.Profile(time.thread_time)
            _profilers["loop"].enable()
            # Thread-sensitive sync_to_async runs in the same single thread as every
            # database_sync_to_async call of the consumers: profile that thread too.
            await sync_to_async(_profilers["sync"].enable)()
        elif op == "stop" and _profilers:
            _profilers["loop"].disable()
            await sync_to_async(_profilers["sync"].disable)()
            Path(target).mkdir(parents=True, exist_ok=True)
            for name, profiler in _profilers.items():
                out = str(Path(target) / f"{os.getpid()}-{name}.prof")
                profiler.dump_stats(out)
                files.append(out)
            _profilers.clear()
        await send({"type": "websocket.send", "text": json.dumps({"ok": True, "files": files})})


websocket_urlpatterns = [
    path("ws/bench/group/<str:role>/", GroupSendConsumer.as_asgi()),
    path("ws/bench/group-text/<str:role>/", GroupTextConsumer.as_asgi()),
    path("ws/bench/floor/<str:role>/", floor_app),
    path("ws/bench/profile/", profile_app),
    path("ws/bench/stats/", stats_app),
]

bench_websocket = DaphneWire(OriginCheck(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))))


async def application(scope, receive, send):
    """The site's application, with the bench's WebSocket routes under /ws/bench/."""
    if scope["type"] == "websocket" and scope["path"].startswith("/ws/bench/"):
        return await bench_websocket(scope, receive, send)
    return await site_application(scope, receive, send)


# Last, with everything imported (config/gctune.py), as config.asgi does.
tune_collector()
