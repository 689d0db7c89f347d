"""What this process's realtime side adds to /healthz (frontend.health.register)."""

from __future__ import annotations

import time

from frontend.health import Unhealthy

from . import wire
from .relay import feeds_health


def check_relay() -> dict:
    """Fails while any round feed of this process is cut off from the channel layer:
    its sockets here get no broadcast until it rejoins (realtime.relay)."""
    found = feeds_health()
    if not found["ok"]:
        since = time.time() - found["cut_off_since"]
        raise Unhealthy(
            f"{found['cut_off']} of {found['feeds']} round feeds cut off from the channel "
            f"layer for {since:.1f} s"
        )
    return {"feeds": found["feeds"], "rejoined": found["rejoined"]}


def check_wire() -> str:
    """Whether WebSocket frames go out through the fast write path (realtime.wire):
    information, never a failure, since the ordinary path is equivalent."""
    return wire.status()
