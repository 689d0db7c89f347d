"""Per-process fan-out (docs/architecture.md, live-round rule 5).

Stock Channels fan-out puts every socket's channel in the round's group, so one
broadcast becomes one channel-layer message per player. Here each server process
joins the round's group once, with one channel from `new_channel()`, and one task
reads it and writes the already-serialised frame to this process's sockets for that
round. A broadcast costs one channel-layer message per process.

A group message is {"type": "relay.frame", "frame": "<json text>", ...} with optional
  "to":         a player id: only that player's sockets get it;
  "roles":      a list of roles ("host", "screen", "player"): only those get it;
  "per_player": {player_id: "<json text>"}: spliced into the frame as "you" for that
                player (their points, rank…), so one message still serves everyone.
Publishing happens after commit, from services (realtime.events.publish).

A listener with a `wire` (realtime.wire, under daphne) gets broadcasts as WebSocket
frame bytes built once per message; messages for one player ("to") and listeners
without one take their `send`.

The channel layer can go away (Redis restarted or unreachable): the feed's receive then
fails, and whatever was published meanwhile is lost, as is the group membership that
lived in Redis. The feed does not end: it joins the group again with a new channel,
retrying with backoff, and then calls every listener's `resync` (a socket sends its
client a fresh snapshot), so clients catch up with whatever the round did meanwhile.
`feeds_health()` tells /healthz which feeds are cut off (docs/deploy.md, failures).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .wire import Writer, text_frame

logger = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
Resync = Callable[[], Awaitable[None]]

# Rejoining the group after the layer failed: the first retry at once-ish, then doubling
# up to the cap, with jitter so a hall's worth of processes do not retry in step.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0


@dataclass(frozen=True)
class Listener:
    send: Send
    role: str
    player_id: int | None = None
    wire: Writer | None = None
    resync: Resync | None = None  # called after the feed was cut off and rejoined


def compose(frame: str, listener: Listener, per_player: dict | None) -> str:
    """The frame for one listener: the shared text, with its "you" part spliced in."""
    if per_player and listener.player_id is not None:
        mine = per_player.get(str(listener.player_id))
        if mine is not None:
            return f'{frame[:-1]},"you":{mine}}}'
    return frame


class RoundFeed:
    """This process's subscription to one round."""

    def __init__(self, layer, group: str) -> None:
        self.layer = layer
        self.group = group
        self.listeners: dict[int, Listener] = {}
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.cut_off_since: float | None = None  # time.time() the layer failed, until rejoined
        self.failures = 0  # times the layer failed under this feed

    async def start(self) -> None:
        """Join the round's group and start reading it. With the layer away, the feed
        starts cut off and joins as soon as it can (its sockets then resync)."""
        failed: Exception | None = None
        try:
            await self._join()
        except Exception as error:
            failed = error
            self.cut_off_since = time.time()
        self.task = asyncio.create_task(self._run(failed), name=f"relay:{self.group}")

    async def _join(self) -> None:
        # The default prefix on purpose: channels_redis reads every process-local
        # ("!") channel through one blocking read of one real channel per prefix,
        # held by whichever receiver has its lock. A second prefix would wait behind
        # the consumers' own receive loops and never be read.
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.channel is not None:
            with contextlib.suppress(Exception):  # the layer may be away; Redis expires it
                await self.layer.group_discard(self.group, self.channel)

    async def _run(self, failed: Exception | None) -> None:
        if failed is not None:
            await self._rejoin(failed)
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception as error:  # the layer went away: never end the feed silently
                await self._rejoin(error)
                continue
            try:
                await self.deliver(message)
            except Exception:  # one bad message must not stop the round's feed
                logger.exception("relay delivery failed for %s", self.group)

    @property
    def cut_off(self) -> bool:
        return self.cut_off_since is not None or (self.task is not None and self.task.done())

    async def _rejoin(self, error: Exception) -> None:
        """After the layer failed: join the group again with a new channel (the old
        membership may have gone with Redis), retrying with backoff, then have every
        listener resync, since what was published meanwhile never arrived."""
        self.cut_off_since = self.cut_off_since or time.time()
        self.failures += 1
        logger.warning("relay feed %s lost the channel layer (%r); rejoining", self.group, error)
        delay = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            try:
                await self._join()
            except Exception:
                delay = min(delay * 2, RETRY_MAX_S)
                logger.debug("relay feed %s: the layer is still away", self.group, exc_info=True)
                continue
            break
        logger.warning(
            "relay feed %s rejoined after %.1f s; resyncing %d sockets",
            self.group,
            time.time() - self.cut_off_since,
            len(self.listeners),
        )
        self.cut_off_since = None
        for listener in list(self.listeners.values()):
            if listener.resync is not None:
                try:
                    await listener.resync()
                except Exception:  # a socket that went away is removed by its consumer
                    logger.debug("resync of a closing socket failed", exc_info=True)

    async def deliver(self, message: dict) -> tuple[int, int]:
        """Write one group message to this process's sockets for the round; how many
        sockets got it, and how many of those as prepared wire bytes."""
        frame = message["frame"]
        to = message.get("to")
        roles = message.get("roles")
        per_player = message.get("per_player")
        shared: bytes | None = None  # the frame's wire bytes, built for the first socket
        sent = wired = 0
        for listener in list(self.listeners.values()):
            if roles is not None and listener.role not in roles:
                continue
            if to is not None and listener.player_id != to:
                continue
            try:
                text = compose(frame, listener, per_player)
                if listener.wire is not None and to is None:
                    if text is not frame:
                        data = text_frame(text.encode())
                    elif shared is None:
                        data = shared = text_frame(frame.encode())
                    else:
                        data = shared
                    if listener.wire.write(data):
                        sent += 1
                        wired += 1
                        continue
                await listener.send(text)
                sent += 1
            except Exception:  # a socket that went away is removed by its consumer
                logger.debug("send to a closing socket failed", exc_info=True)
        return sent, wired


class Relay:
    """One per process: the round feeds that have sockets in this process."""

    def __init__(self) -> None:
        self.feeds: dict[str, RoundFeed] = {}
        self.lock = asyncio.Lock()

    async def subscribe(self, layer, group: str, key: int, listener: Listener) -> None:
        async with self.lock:
            feed = self.feeds.get(group)
            if feed is None:
                feed = RoundFeed(layer, group)
                await feed.start()
                self.feeds[group] = feed
            feed.listeners[key] = listener

    async def unsubscribe(self, group: str, key: int) -> None:
        async with self.lock:
            feed = self.feeds.get(group)
            if feed is None:
                return
            feed.listeners.pop(key, None)
            if not feed.listeners:
                del self.feeds[group]
                await feed.stop()


# Keyed by the loop itself, held weakly: a new loop never inherits a closed loop's
# Relay (an id() can be reused once a loop is gone, with its locks and tasks).
_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = weakref.WeakKeyDictionary()


def feeds_health() -> dict:
    """For /healthz: this process's round feeds, and those cut off from the channel
    layer (each a round whose sockets here get no broadcast until it rejoins).

    Only running event loops count: a loop that has closed (daphne's at shutdown, a
    test's at its end) serves no socket, and its feeds' tasks, cancelled with it, would
    read as cut off for as long as the loop object lives on."""
    feeds = [
        feed
        for loop, found in list(_relays.items())
        if not loop.is_closed()
        for feed in list(found.feeds.values())
    ]
    cut_off = [feed for feed in feeds if feed.cut_off]
    return {
        "ok": not cut_off,
        "feeds": len(feeds),
        "cut_off": len(cut_off),
        "cut_off_since": min((f.cut_off_since or 0 for f in cut_off), default=None),
        "rejoined": sum(feed.failures for feed in feeds),
    }


def relay() -> Relay:
    """The relay of the running event loop (one per process in daphne; tests that
    run several loops get one each)."""
    loop = asyncio.get_running_loop()
    found = _relays.get(loop)
    if found is None:
        found = _relays[loop] = Relay()
    return found
