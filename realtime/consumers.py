"""WebSocket consumers. Consumers only hold connections: game state lives in the
database and is changed by services (docs/architecture.md, live-round rules)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError

from accounts.roles import mfa_pending

from . import engine, wire
from .batch import batcher
from .events import dumps
from .live import answers, commands, finals, frames, selectors, services, snapshots
from .live.pins import PinThrottled, client_address, round_for_pin_throttled
from .live.state import CommandRefused, is_host, now_ms, timing_state
from .messages import BadJson, parse_message
from .models import LivePlayer, LiveRound
from .relay import Listener, relay
from .security import TokenBucket

__all__ = ["ClockConsumer", "RoundConsumer"]

logger = logging.getLogger(__name__)
COUNT_EVERY_S = 1.0
# A socket's background task (the close timer, the answer count, PK's clock) that failed
# (the database away) starts again after this, doubling up to the cap.
TASK_RETRY_FIRST_S = 0.5
TASK_RETRY_MAX_S = 5.0
KICKED_PREFIX = '{"type":"kicked"'  # the frame realtime.live.commands.player_kick sends
CLOSE_KICKED = 4001
# The frame realtime.live.services.roster_join sends when a slip takes a seat over.
REPLACED_PREFIX = '{"type":"replaced","device":'
CLOSE_REPLACED = 4002
# Too many wrong PINs from this address or session (realtime.live.pins).
CLOSE_PIN_THROTTLED = 4003


class ClockConsumer(AsyncWebsocketConsumer):
    """Answers pings with the server's clock so a client can measure its offset
    (NTP-style: offset = server_now - (sent + received) / 2).

    Also the smallest end-to-end check that WebSockets, the origin check, the size
    cap and the rate limit work in a deployment.
    """

    async def connect(self) -> None:
        self.bucket = TokenBucket(rate=5, burst=10)
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if bytes_data is not None or text_data is None:
            await self._error("text_only")
            return
        if len(text_data.encode()) > settings.WS_MAX_MESSAGE_BYTES:
            await self.close(code=1009)
            return
        if not self.bucket.allow():
            await self._error("rate_limited")
            return
        try:
            message = parse_message(text_data)
        except BadJson as bad:
            await self._error("bad_json", bad.detail)
            return
        if not isinstance(message, dict) or message.get("type") != "ping":
            await self._error("unknown_type")
            return
        client_ts = message.get("t")
        if client_ts is not None and not _is_number(client_ts):
            await self._error("bad_field")
            return
        await self.send(text_data=dumps(frames.pong(client_ts, round(time.time() * 1000))))

    async def _error(self, code: str, detail: str = "") -> None:
        await self.send(text_data=dumps(frames.error(code, detail)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class ProtocolConsumer(AsyncWebsocketConsumer):
    """What every game socket shares (docs/architecture.md, live-round rule 6): text
    frames only, the size cap, a per-socket rate limit, JSON objects with a string
    `type`, and the role check on every message (ROLE_MESSAGES: role → the message
    types it may send; None: a socket that has not said who it is yet).
    `on_<type>(message, received_at)` handles a message; `received_at` is the server's
    receive time, taken first."""

    ROLE_MESSAGES: dict[str | None, set[str]] = {None: {"ping"}}
    # No channel-layer channel per socket: broadcasts come through the process's relay,
    # and nothing else is ever sent to one socket's channel. Channels gives a consumer
    # whose alias names no configured layer none, so a thousand players are not a
    # thousand receive loops on the layer (each socket's second task in
    # await_many_dispatch, and channels_redis's receivers queueing for its read lock).
    channel_layer_alias = "sockets-have-no-channel"

    def init_protocol(self) -> None:
        # daphne's socket, when it offers one (realtime.wire): frames written as bytes.
        self.wire: wire.Writer | None = (self.scope.get("extensions") or {}).get(wire.EXTENSION)
        self.role: str | None = None
        self.tasks: set[asyncio.Task] = set()
        # Generous enough for a phone that resends after a reconnect, tight enough that
        # one socket cannot flood the database.
        self.bucket = TokenBucket(rate=5, burst=20)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # The receive stamp, first and once: in µs for buzzes (ordered, ties found by
        # it), in ms for everything else (answers judged against closes_at).
        self.received_us = time.time_ns() // 1000
        received_at = self.received_us // 1000
        if bytes_data is not None or text_data is None:
            return await self.error("text_only")
        if len(text_data.encode()) > settings.WS_MAX_MESSAGE_BYTES:
            return await self.close(code=1009)
        if not self.bucket.allow():
            return await self.error("rate_limited")
        try:
            message = parse_message(text_data)
        except BadJson as bad:
            return await self.error("bad_json", bad.detail)
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return await self.error("bad_message")
        kind = message["type"]
        if kind not in self.ROLE_MESSAGES[self.role]:
            known = set().union(*self.ROLE_MESSAGES.values())
            return await self.error("forbidden" if kind in known else "unknown_type", kind)
        handler = getattr(self, f"on_{kind}")
        try:
            await handler(message, received_at)
        except PinThrottled:
            # Too many wrong PINs from this address or session (realtime.live.pins):
            # said once, then the socket is closed; the client does not retry it.
            await self.error("pin_throttled")
            await self.close(code=CLOSE_PIN_THROTTLED)
        except DatabaseError:
            # The database failed under the message (a lost connection, a deadlock it
            # broke): its transaction was rolled back, so nothing of it is stored. The
            # socket stays; the client sends the message again.
            logger.exception("a %s message failed on the database", kind)
            await self.error("retry", kind)
        except Exception:
            # A fault of ours, not the client's: the socket stays (closing it with 1011
            # would cost the player the round); the log has the traceback.
            logger.exception("a %s message failed", kind)
            await self.error("server_error", kind)

    async def write_text(self, text: str) -> None:
        """Every frame this socket gets: through the write path daphne's socket offers
        (realtime.wire, WS_WRITE_PATH), else the ordinary ASGI send. Either way the
        frame is within the client's cap (docs/protocol.md, "Frame sizes")."""
        if self.wire is not None and self.wire.write(wire.text_frame(text.encode())):
            return
        await self.base_send({"type": "websocket.send", "text": text})

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.write_text(dumps(frame))

    async def error(self, code: str, detail: str = "") -> None:
        await self.send_frame(frames.error(code, detail))

    async def on_ping(self, message, _received_at) -> None:
        client = message.get("t")
        if client is not None and not _is_number(client):
            return await self.error("bad_field", "t")
        await self.send_frame(frames.pong(client, now_ms()))

    def _spawn(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` beside the socket until it returns or the socket goes; if it
        fails (the database or the layer away), start it again after a backoff: a
        host's close timer or a match's clock must outlive a restart. Each `work` is
        written to be started again (its steps are conditional updates)."""

        async def supervised() -> None:
            delay = TASK_RETRY_FIRST_S
            while True:
                try:
                    return await work()
                except Exception:
                    name = work.__name__
                    logger.warning("%s failed; again in %.1f s", name, delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, TASK_RETRY_MAX_S)

        task = asyncio.create_task(supervised(), name=work.__name__)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _stop_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()


class RoundConsumer(ProtocolConsumer):
    """One live round's socket: /ws/live/<pin>/. The first message says who this is
    (join, resume, host or screen); every later message is checked against that role.
    Game state is read and written only through realtime.live's selectors and services;
    broadcasts arrive through this process's relay (docs/architecture.md, live-round
    rule 5). Protocol: docs/protocol.md."""

    ROLE_MESSAGES = {
        None: {"join", "resume", "host", "screen", "ping"},
        "player": {"answer", "buzz", "stake", "snapshot", "ping"},
        "screen": {"snapshot", "ping"},
        "host": {"command", "snapshot", "ping"},
    }

    async def connect(self) -> None:
        self.init_protocol()
        self.pin = self.scope["url_route"]["kwargs"]["pin"]
        self.player: LivePlayer | None = None
        self.live: LiveRound | None = None
        self.subscribed = False
        await self.accept()

    async def disconnect(self, code) -> None:
        self._stop_tasks()
        if self.subscribed and self.live is not None:
            await relay().unsubscribe(self.live.group_name, id(self))

    # --- output ---------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        """The relay's write to this socket when it does not write the wire bytes
        itself (a message for this player alone, or no wire)."""
        if self.role == "player" and text.startswith(REPLACED_PREFIX):
            # Another device took the seat: the sockets of earlier devices are told and
            # closed; the socket of that device (or of a later one) drops the notice,
            # whether it came before or after it subscribed.
            device = int(text[len(REPLACED_PREFIX) :].split(",", 1)[0])
            if device <= self.player.device:
                return
            await self.write_text(text)
            return await self.close(code=CLOSE_REPLACED)
        await self.write_text(text)
        if self.role == "player" and text.startswith(KICKED_PREFIX):
            await self.close(code=CLOSE_KICKED)

    # --- who is this ----------------------------------------------------------------

    async def _active_round(self) -> LiveRound | None:
        """The round of this socket's PIN, under the PIN throttle (PinThrottled goes up
        to `receive`, which closes the socket with CLOSE_PIN_THROTTLED)."""
        session = self.scope.get("session")
        return await database_sync_to_async(round_for_pin_throttled)(
            self.pin,
            address=client_address(self.scope),
            session=getattr(session, "session_key", None),
        )

    async def _begin(self, role: str, player: LivePlayer | None = None) -> None:
        self.role, self.player = role, player
        # Subscribe first, then take the snapshot: a frame in between is a duplicate
        # the client drops by seq, never a gap.
        await relay().subscribe(
            get_channel_layer(),
            self.live.group_name,
            id(self),
            Listener(
                self.send_text,
                role,
                player.pk if player else None,
                self.wire,
                resync=self._resync,
            ),
        )
        self.subscribed = True
        await self.send_frame(frames.welcome(role, player))
        await self.on_snapshot({}, 0)
        if role in ("host", "screen"):
            self._spawn(self._count_answers)
        if role == "host":
            self._spawn(self._close_when_due)

    async def on_join(self, message, _received_at) -> None:
        self.live = await self._active_round()
        if self.live is None:
            return await self.error("no_round")
        user = self.scope.get("user")
        token = message.get("roster_token")
        if token is not None:
            if not isinstance(token, str) or len(token) > 64:
                return await self.error("bad_field", "roster_token")
            try:
                player = await database_sync_to_async(services.roster_join)(
                    live=self.live, token=token, user=user, device_cookies=self.scope.get("cookies")
                )
            except ValidationError as refused:
                return await self.error(refused.code or "refused", " ".join(refused.messages))
            except PermissionDenied as refused:
                return await self.error("consent_required", str(refused))
            return await self._begin("player", player)
        nickname = message.get("nickname", "")
        if not isinstance(nickname, str):
            return await self.error("bad_field", "nickname")
        team_id = message.get("team")
        if team_id is not None and (not isinstance(team_id, int) or isinstance(team_id, bool)):
            return await self.error("bad_field", "team")
        try:
            team = None
            if team_id is not None:
                team = await database_sync_to_async(selectors.team_in_round)(self.live, team_id)
            player = await database_sync_to_async(services.player_join)(
                live=self.live,
                nickname=nickname,
                user=user,
                team=team,
                device_cookies=self.scope.get("cookies"),
            )
        except ValidationError as refused:
            return await self.error(refused.code or "refused", " ".join(refused.messages))
        except PermissionDenied as refused:
            return await self.error("consent_required", str(refused))
        await self._begin("player", player)

    async def on_resume(self, message, _received_at) -> None:
        token = message.get("token")
        if not isinstance(token, str) or len(token) > 64:
            return await self.error("bad_field", "token")
        player = await database_sync_to_async(selectors.player_for_token)(token)
        if player is None or player.round.pin != self.pin:
            return await self.error("unknown_player")
        self.live = player.round
        await self._begin("player", player)

    async def on_host(self, _message, _received_at) -> None:
        self.live = await self._active_round()
        if self.live is None:
            return await self.error("no_round")
        user = self.scope.get("user")
        # The host of a round who must set TOTP up first (accounts.roles) gets no further
        # over a socket than over the pages, which send them to the set-up.
        if not is_host(self.live, user) or await database_sync_to_async(mfa_pending)(user):
            return await self.error("forbidden", "host")
        await self._begin("host")

    async def on_screen(self, message, _received_at) -> None:
        self.live = await self._active_round()
        if self.live is None:
            return await self.error("no_round")
        if not selectors.screen_key_valid(self.live, message.get("key", "")):
            return await self.error("forbidden", "screen")
        await self._begin("screen")

    # --- in the round ---------------------------------------------------------------

    async def on_snapshot(self, _message, _received_at) -> None:
        # The host's player list follows its snapshot in pages (realtime.live.snapshots).
        for frame in await database_sync_to_async(self._snapshot)():
            await self.send_frame(frame)

    async def _resync(self) -> None:
        """The relay lost broadcasts (the channel layer was away): a fresh snapshot
        puts the client back on the round as it is now. A host's close timer is
        started again too, as the command that needed it may have come meanwhile."""
        await self.on_snapshot({}, 0)
        if self.role == "host":
            self._spawn(self._close_when_due)

    def _snapshot(self) -> list[dict]:
        self.live = selectors.round_refreshed(self.live)
        return snapshots.in_pages(snapshots.snapshot(self.live, role=self.role, player=self.player))

    async def on_answer(self, message, received_at) -> None:
        question = message.get("question")
        if not isinstance(question, int) or isinstance(question, bool):
            return await self.error("bad_field", "question")
        try:
            result = await batcher().submit(
                answers.AnswerRequest(
                    self.player, message.get("answer_id"), question, message.get("choice"),
                    received_at,
                )
            )  # fmt: skip
        except Exception:  # the batch failed: nothing acked, the client resends
            return await self.error("retry", "answer")
        await self.send_frame(frames.answer_reply(result))

    async def on_buzz(self, message, received_at) -> None:
        question = message.get("question")
        if not isinstance(question, int) or isinstance(question, bool):
            return await self.error("bad_field", "question")
        result = await database_sync_to_async(finals.buzz_submit)(
            player=self.player,
            question_index=question,
            received_at=received_at,
            received_us=self.received_us,
        )
        await self.send_frame(frames.buzz_reply(result))

    async def on_stake(self, message, received_at) -> None:
        question = message.get("question")
        if not isinstance(question, int) or isinstance(question, bool):
            return await self.error("bad_field", "question")
        result = await database_sync_to_async(finals.stake_submit)(
            player=self.player,
            question_index=question,
            stake=message.get("stake"),
            received_at=received_at,
        )
        await self.send_frame(frames.stake_reply(result))

    async def on_command(self, message, _received_at) -> None:
        name = message.get("name")
        user = self.scope.get("user")
        try:
            if name == "kick":
                player = message.get("player")
                if not isinstance(player, int):
                    return await self.error("bad_field", "player")
                await database_sync_to_async(commands.player_kick)(
                    live=self.live, actor=user, player_id=player
                )
            elif name in ("lock", "unlock"):
                await database_sync_to_async(commands.round_lock)(
                    live=self.live, actor=user, locked=name == "lock"
                )
            elif name == "buzz_award":
                index, team = message.get("question"), message.get("team")
                for field, value in (("question", index), ("team", team)):
                    if not isinstance(value, int) or isinstance(value, bool):
                        return await self.error("bad_field", field)
                await database_sync_to_async(commands.buzz_award)(
                    live=self.live, actor=user, question_index=index, team_id=team
                )
            elif name in engine.COMMANDS:
                index = message.get("question")
                if index is not None and not isinstance(index, int):
                    return await self.error("bad_field", "question")
                await database_sync_to_async(commands.round_command)(
                    live=self.live, actor=user, name=name, question_index=index
                )
                if name in (engine.START, engine.NEXT, engine.RESUME):
                    self._spawn(self._close_when_due)
            else:
                return await self.error("unknown_command", str(name)[:30])
        except CommandRefused as refused:
            return await self.error(refused.code, str(refused))
        except PermissionDenied:
            return await self.error("forbidden", str(name))

    # --- host helpers: the close timer and the live answer count ---------------------

    async def _close_when_due(self) -> None:
        """Close the open question once its time and grace are over. Only announces:
        late answers are refused by their receive time whether or not this runs, and
        the conditional update makes a second timer (another host tab) a no-op."""
        live = await database_sync_to_async(selectors.round_by_pk)(self.live.pk)
        state = timing_state(live)
        due = engine.close_due_at(state, live.grace_ms)
        if due is None:
            return
        await asyncio.sleep(max(0, due - now_ms()) / 1000)
        with contextlib.suppress(CommandRefused, PermissionDenied):
            await database_sync_to_async(commands.round_command)(
                live=live, actor=self.scope.get("user"), name=engine.CLOSE, if_seq=state.seq
            )

    async def _count_answers(self) -> None:
        last = None
        while True:
            await asyncio.sleep(COUNT_EVERY_S)
            count = await database_sync_to_async(selectors.current_answer_count)(self.live.pk)
            if count is not None and count != last:
                last = count
                await self.send_frame(frames.answer_count(*count))
