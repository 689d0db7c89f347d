"""WebSocket consumers. Consumers only hold connections: game state lives in the
database and is changed by services (DESIGN.md, live-round rules)."""

from __future__ import annotations

import json
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings


class ClockConsumer(AsyncWebsocketConsumer):
    """Answers pings with the server's clock so a client can measure its offset
    (NTP-style: offset = server_now - (sent + received) / 2).

    Also the smallest end-to-end check that WebSockets, the origin check, the size
    cap and the rate limit work in a deployment.
    """

    async def connect(self) -> None:
        from .security import TokenBucket

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
            message = json.loads(text_data)
        except json.JSONDecodeError:
            await self._error("bad_json")
            return
        if not isinstance(message, dict) or message.get("type") != "ping":
            await self._error("unknown_type")
            return
        client_ts = message.get("t")
        if client_ts is not None and not isinstance(client_ts, (int, float)):
            await self._error("bad_field")
            return
        await self.send(
            text_data=json.dumps(
                {"type": "pong", "t": client_ts, "server_now": round(time.time() * 1000)}
            )
        )

    async def _error(self, code: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "code": code}))
