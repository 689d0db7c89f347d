"""The 1-v-1 PK socket, /ws/pk/ (docs/protocol.md, "1-v-1 PK").

Holds the connection only: the queue, the match, its clock and the answers live in the
database and change through realtime.pk's services. Frames of the match reach both players
through this process's relay (docs/architecture.md, live-round rule 5). Roles, checked
on every message: none yet (may find, resume), "waiting" (in the queue: may cancel) and
"player" (in a match: answers for its own seat only, asks for snapshots).

The database work of the PK goes through the process's batchers (realtime.batch), as
live answers do: the finds, the waiting sockets' checks, the answers and the clock's
steps that this process's sockets ask for at about the same time are one call on the
database thread each, not one call per socket. An answer keeps the stamp its socket
gave it on arrival, whenever its batch is written."""

from __future__ import annotations

import asyncio
import contextlib
import json

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied

from .batch import batcher
from .consumers import ProtocolConsumer
from .live import frames as live_frames
from .live.state import now_ms
from .models import PkPlayer
from .pk import answers, clock, frames, matching, selectors, snapshots
from .protocol import MAX_TOKEN
from .relay import Listener, relay

POLL_S = 1.0  # a waiting socket also checks the queue this often (the nudge is at most once)
# Seat 1's clock steps this long after a step is due, unless seat 0's has taken it
# meanwhile (its frame tells seat 1 when the next one is due): each step is tried once,
# not twice, while seat 0's socket is there, and still happens when it is not.
BACKUP_MS = 250


class PkConsumer(ProtocolConsumer):
    ROLE_MESSAGES = {
        None: {"pk_find", "pk_resume", "ping"},
        "waiting": {"pk_find", "pk_cancel", "ping"},
        "player": {"answer", "snapshot", "ping"},
    }

    async def connect(self) -> None:
        self.init_protocol()
        self.player: PkPlayer | None = None
        self.groups_in: set[str] = set()
        self.nudge = asyncio.Event()
        self.due: int | None = None  # when the clock's next step is due, from the frames
        await self.accept()

    async def disconnect(self, code) -> None:
        self._stop_tasks()
        for group in list(self.groups_in):
            await self._leave(group)

    # --- relay subscriptions ------------------------------------------------------------

    async def _join(self, group: str, send, resync) -> None:
        listener = Listener(
            send, self.role or "player", self.player.pk if self.player else None, resync=resync
        )
        await relay().subscribe(get_channel_layer(), group, id(self), listener)
        self.groups_in.add(group)

    async def _leave(self, group: str) -> None:
        if group in self.groups_in:
            self.groups_in.discard(group)
            await relay().unsubscribe(group, id(self))

    async def _woken(self, _text: str = "") -> None:
        self.nudge.set()

    async def _relayed(self, text: str) -> None:
        """A frame of the match: to the socket; a step of the match (a frame with
        `seq`) also tells the clock task when the next step is due."""
        await self.write_text(text)
        if '"seq"' not in text or self.player is None:
            return
        frame = json.loads(text)
        kind = frame.get("type")
        if kind == "question_opened":
            self.due = frame["closes_at"] + self.player.match.grace_ms + 1
        elif kind == "revealed":
            self.due = frame["next_at"]
        elif kind == "finished":
            self.due = None
        else:  # closed: the reveal is due now
            self.due = now_ms()
        self.nudge.set()

    # --- the queue --------------------------------------------------------------------

    def _user(self):
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated else None

    async def on_pk_find(self, _message, _received_at) -> None:
        user = self._user()
        if user is None:
            return await self.error("sign_in_required")
        found = await batcher(matching.pk_finds).submit(user)
        if isinstance(found, PermissionDenied):
            return await self.error("consent_required")
        if isinstance(found, matching.NoQuestions):
            return await self.error("no_questions")
        if isinstance(found, PkPlayer):
            return await self._enter(found)
        if self.role != "waiting":
            self.role = "waiting"
            # After the layer was away, a match found meanwhile is in the database.
            await self._join(matching.user_group(user.pk), self._woken, resync=self._woken)
            self._spawn(self._wait)
        until = found.since + settings.PK_WAIT_MS
        await self.send_frame(frames.waiting(until, now_ms()))

    async def on_pk_cancel(self, _message, _received_at) -> None:
        player = await database_sync_to_async(matching.pk_cancel)(user=self._user())
        if player is not None:
            return await self._enter(player)
        await self._stop_waiting()
        await self.send_frame(frames.cancelled())

    async def _stop_waiting(self) -> None:
        self.role = None
        self._stop_tasks()
        await self._leave(matching.user_group(self._user().pk))

    async def _wait(self) -> None:
        """Until a match is found (by this socket's find or another process's) or the
        wait is over."""
        user = self._user()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.nudge.wait(), POLL_S)
            self.nudge.clear()
            player, until = await batcher(matching.pk_waitings).submit(user)
            if player is not None:
                self.tasks.discard(asyncio.current_task())
                return await self._enter(player)
            if until is None:
                self.role = None
                await self._leave(matching.user_group(user.pk))
                return await self.send_frame(frames.timeout())

    # --- the match ----------------------------------------------------------------------

    async def on_pk_resume(self, message, _received_at) -> None:
        token = message.get("token")
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN:
            return await self.error("bad_field", "token")
        user = self._user()
        if user is None:
            return await self.error("sign_in_required")
        player = await database_sync_to_async(selectors.player_for_token)(user=user, token=token)
        if player is None:
            return await self.error("unknown_player")
        await self._enter(player)

    async def _enter(self, player: PkPlayer) -> None:
        if self.role == "waiting":
            await self._stop_waiting()
        self.role, self.player = "player", player
        # Subscribe first, then the snapshot: a frame in between is a duplicate the
        # client drops by seq, never a gap.
        await self._join(player.match.group_name, self._relayed, resync=self._resync)
        matched, snapshot = await database_sync_to_async(self._entered)()
        await self.send_frame(matched)
        await self.send_frame(snapshot)
        self._spawn(self._clock)

    def _entered(self) -> tuple[dict, dict]:
        """pk_matched and the snapshot, in one call on the database thread."""
        return snapshots.matched_frame(self.player), self._snapshot()

    async def on_snapshot(self, _message, _received_at) -> None:
        frame = await database_sync_to_async(self._snapshot)()
        await self.send_frame(frame)

    async def _resync(self) -> None:
        """The relay lost broadcasts (the layer was away): a fresh snapshot, and the
        clock looks at the match again."""
        await self.on_snapshot({}, 0)
        self.due = now_ms()
        self.nudge.set()

    def _snapshot(self) -> dict:
        match = selectors.match_refreshed(self.player.match)
        return snapshots.snapshot(match, self.player)

    async def on_answer(self, message, received_at) -> None:
        request = answers.PkAnswerRequest(
            self.player,
            message.get("answer_id"),
            message.get("question"),
            message.get("choice"),
            received_at,  # stamped on arrival (ProtocolConsumer.receive): judged by it
        )
        result, step = await batcher(answers.answers_stored, answers.THREAD).submit(request)
        await self.send_frame(live_frames.answer_reply(result))
        if step is not None:  # both have answered: close and reveal now, after the ack
            await batcher(clock.match_advances).submit(step)

    async def _clock(self) -> None:
        """Move the match on when it is due. Both players' sockets run this; the
        conditional updates make every step happen once, and seat 1 waits BACKUP_MS
        longer, so that it steps only when seat 0's socket did not. A step taken
        elsewhere reaches this socket as a frame, which says when the next is due
        (_relayed): no database read for it. Only announces: answers are judged by
        their arrival stamps whether or not this runs (realtime.pk.answers)."""
        match_id = self.player.match_id
        backup = BACKUP_MS if self.player.seat else 0
        due = await batcher(clock.match_advances).submit(match_id)
        while due is not None:
            self.nudge.clear()
            try:
                await asyncio.wait_for(self.nudge.wait(), max(0, due + backup - now_ms()) / 1000)
            except TimeoutError:
                due = await batcher(clock.match_advances).submit(match_id)
            else:
                due = self.due
