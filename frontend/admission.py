"""Admission: how many HTTP requests a process works on at once, and what it does when
more arrive than it can serve (docs/deploy.md, "Load shedding").

Django's ASGI handler runs each request's view in a thread of its own (one per request,
asgiref's ThreadSensitiveContext), with no bound: under a rush every request started a
thread, every thread waited for one of the DB_POOL_SIZE database connections, and after
the pool's 10 s they failed with a 500, while `/healthz` waited in the same crowd and
said 503 to a load balancer that then pulled busy but healthy processes out of rotation.

This ASGI layer, in front of Django for HTTP only (WebSockets never pass it), gives each
kind of request a lane with a fixed number of slots and a short, bounded queue:

- `answers`: the POSTs that carry a player's answers (a paper's autosave and submit,
  a self-test or review answer: paths ending in answers/, answer/ or submit/).
  `ANSWER_CONCURRENCY` slots of their own, so a rush of page loads (a class opening
  the sign-in page at once) never holds up the answers of those already playing.
- `pages`: every other page and endpoint, `HTTP_CONCURRENCY` slots.
  In both, at most `HTTP_QUEUE` requests wait, each at most `HTTP_QUEUE_WAIT_MS`; the
  slots of all lanes stay under the database pool, so the live-round and PK sockets of
  the process always find a connection.
- `logins`: POSTs under /accounts/ (sign-in, sign-up, password changes: PBKDF2 at
  Django's cost, about 0.3 s of CPU each). `LOGIN_CONCURRENCY` slots of their own, so a
  burst of sign-ins queues behind itself and never takes the slots answers need.
- `probes`: `/healthz`, the deep check, with two slots and no queue, so a monitoring
  probe is answered at once in a rush instead of waiting behind the pages.

A request that finds its lane's queue full, or would wait longer than its lane allows
(the requests ahead of it at the recent time a request takes), is answered at once
with `503` and `Retry-After` (a small page, or JSON for a client that
asks for it): shed, never left to fail as a 500. The layer answers two probes itself,
without Django or the database: `/livez` (200 while the process's event loop runs: what
to poll to decide a process is dead) and `/readyz` (200 `ready`, or 503 `busy` while
the process is shedding: what a load balancer polls to send new requests elsewhere).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A process that shed a request this recently still reports itself busy on /readyz, so
# a load balancer polling every second or two sees the shedding it would otherwise miss.
BUSY_FOR_S = 2.0


@dataclass
class Lane:
    """Slots and a bounded queue for one kind of request."""

    name: str
    slots: int
    queue: int
    wait_s: float
    retry_after_s: int = 1
    in_flight: int = 0
    waiting: int = 0
    served: int = 0
    shed: int = 0
    last_shed: float = 0.0
    service_s: float = 0.0
    _free: asyncio.Semaphore | None = field(default=None, repr=False)

    def _semaphore(self) -> asyncio.Semaphore:
        # Made on first use, inside the server's event loop.
        if self._free is None:
            self._free = asyncio.Semaphore(self.slots)
        return self._free

    async def enter(self) -> float:
        """Take a slot: when it was taken (monotonic), or 0.0 for a refusal: at once when
        the queue is full or the wait it would have is longer than the lane allows,
        after `wait_s` when the wait was longer than it looked."""
        free = self._semaphore()
        if not free.locked():
            await free.acquire()  # a free slot: no wait
        elif self.waiting >= self.queue or self.expected_wait() > self.wait_s:
            return self._refuse()
        else:
            self.waiting += 1
            try:
                async with asyncio.timeout(self.wait_s):
                    await free.acquire()
            except TimeoutError:
                return self._refuse()
            finally:
                self.waiting -= 1
        self.in_flight += 1
        return time.monotonic()

    def leave(self, entered: float) -> None:
        took = time.monotonic() - entered
        self.service_s += (took - self.service_s) * 0.1  # a moving mean of the last ~10
        self.in_flight -= 1
        self.served += 1
        self._semaphore().release()

    def expected_wait(self) -> float:
        """How long a request joining the queue now would wait for a slot: the requests
        ahead of it, over the slots, at the recent time a request takes."""
        return (self.waiting + 1) * self.service_s / self.slots

    def _refuse(self) -> float:
        self.shed += 1
        self.last_shed = time.monotonic()
        return 0.0

    def busy(self) -> bool:
        return time.monotonic() - self.last_shed < BUSY_FOR_S and self.last_shed > 0

    def report(self) -> dict[str, Any]:
        return {
            "slots": self.slots,
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "queue": self.queue,
            "served": self.served,
            "shed": self.shed,
        }


def lanes_from_settings() -> dict[str, Lane]:
    from django.conf import settings

    queue, wait_s = settings.HTTP_QUEUE, settings.HTTP_QUEUE_WAIT_MS / 1000
    return {
        "pages": Lane("pages", slots=settings.HTTP_CONCURRENCY, queue=queue, wait_s=wait_s),
        "answers": Lane("answers", slots=settings.ANSWER_CONCURRENCY, queue=queue, wait_s=wait_s),
        "logins": Lane(
            "logins",
            slots=settings.LOGIN_CONCURRENCY,
            queue=settings.LOGIN_QUEUE,
            wait_s=settings.LOGIN_QUEUE_WAIT_MS / 1000,
            retry_after_s=5,
        ),
        "probes": Lane("probes", slots=2, queue=0, wait_s=0.0),
    }


ANSWER_PATHS = ("/answers/", "/answer/", "/submit/")


def lane_of(scope: Scope) -> str:
    path = scope.get("path", "")
    if path == "/healthz":
        return "probes"
    if scope.get("method") == "POST":
        if path.startswith("/accounts/"):
            return "logins"
        if path.endswith(ANSWER_PATHS):
            return "answers"
    return "pages"


class Admission:
    """The ASGI layer in front of Django's HTTP handler (config/asgi.py)."""

    def __init__(self, app: ASGIApp, lanes: dict[str, Lane] | None = None) -> None:
        self.app = app
        self.lanes = lanes if lanes is not None else lanes_from_settings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == "/livez":
            await _json(send, 200, {"status": "alive"})
            return
        if path == "/readyz":
            await self._ready(send)
            return
        lane = self.lanes[lane_of(scope)]
        entered = await lane.enter()
        if not entered:
            await _shed(scope, send, lane)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            lane.leave(entered)

    async def _ready(self, send: Send) -> None:
        pages = self.lanes["pages"]
        body = {
            "status": "busy" if pages.busy() else "ready",
            "lanes": {name: lane.report() for name, lane in self.lanes.items()},
        }
        if pages.busy():
            await _json(send, 503, body, retry_after=pages.retry_after_s)
        else:
            await _json(send, 200, body)


def _wants_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept" and b"application/json" in value:
            return True
        if name == b"content-type" and value.startswith(b"application/json"):
            return True
    return False


async def _shed(scope: Scope, send: Send, lane: Lane) -> None:
    """503 with Retry-After, in the language the client's cookie or header asks for."""
    if _wants_json(scope):
        await _json(
            send,
            503,
            {"error": "busy", "retry_after": lane.retry_after_s},
            retry_after=lane.retry_after_s,
        )
        return
    refresh = scope.get("method") in ("GET", "HEAD")
    body = busy_page(_language(scope), refresh=refresh).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(lane.retry_after_s).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def busy_page(language: str, *, refresh: bool) -> str:
    """A page without the database, the session or a template: this is the moment the
    process has no room for those. Plain text in the client's language (site default
    Chinese); a page that was only asked for loads itself again after a few seconds,
    a form that was sent is left for the person to send again."""
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override(language):
        title = gettext("Very busy right now")
        if refresh:
            text = gettext(
                "Many people are playing at this moment. This page will load again by "
                "itself in a few seconds."
            )
        else:
            text = gettext(
                "Many people are playing at this moment, and what you sent was not "
                "received. Please go back and send it again in a few seconds."
            )
    again = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{again}<title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>"
    )


def _language(scope: Scope) -> str:
    from django.conf import settings

    supported = {code for code, _name in settings.LANGUAGES}
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, chosen = part.strip().partition("=")
                if key == settings.LANGUAGE_COOKIE_NAME and chosen in supported:
                    return chosen
    return settings.LANGUAGE_CODE


async def _json(send: Send, status: int, body: dict, retry_after: int | None = None) -> None:
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
