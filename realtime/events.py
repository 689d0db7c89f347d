"""The one publish path (DESIGN.md, layers: events): after commit, one group message
per round, carrying a frame serialised once."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def publish(
    group: str,
    frame: dict[str, Any],
    *,
    to: int | None = None,
    roles: list[str] | None = None,
    per_player: dict[int, dict[str, Any]] | None = None,
) -> None:
    """Send `frame` to the round's sockets once the current transaction commits."""
    message: dict[str, Any] = {"type": "relay.frame", "frame": dumps(frame)}
    if to is not None:
        message["to"] = to
    if roles is not None:
        message["roles"] = roles
    if per_player:
        message["per_player"] = {str(pid): dumps(part) for pid, part in per_player.items()}

    def send() -> None:
        async_to_sync(get_channel_layer().group_send)(group, message)

    transaction.on_commit(send)
