"""The one publish path (docs/architecture.md, layers: events): after commit, one group message
per round, carrying a frame serialised once.

A publish that fails (the channel layer away) is logged and dropped: what it announced
is already committed, and the relay's feeds resync their sockets with a snapshot once
the layer is back (realtime.relay), so the command that caused it still succeeds."""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def dumps(frame: dict[str, Any]) -> str:
    """A frame as JSON text; never NaN or Infinity, which are not JSON (a ValueError)."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def publish(
    group: str,
    frame: dict[str, Any],
    *,
    to: int | None = None,
    roles: list[str] | None = None,
    per_player: dict[int, dict[str, Any]] | None = None,
) -> None:
    """Send `frame` to the round's sockets once the current transaction commits.
    A frame that carries `server_now` gets the server's clock at that moment, so that
    clients measure the countdown from when the frame left, not from before the commit."""

    def send() -> None:
        if "server_now" in frame:
            frame["server_now"] = time.time_ns() // 1_000_000
        message: dict[str, Any] = {"type": "relay.frame", "frame": dumps(frame)}
        if to is not None:
            message["to"] = to
        if roles is not None:
            message["roles"] = roles
        if per_player:
            message["per_player"] = {str(pid): dumps(part) for pid, part in per_player.items()}
        async_to_sync(get_channel_layer().group_send)(group, message)

    transaction.on_commit(send, robust=True)
