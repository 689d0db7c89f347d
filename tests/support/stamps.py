"""The receive stamps of the live-round sockets, chosen by a test: realtime.consumers
stamps every message it receives with `time.time_ns()` (µs resolution), and buzzes are
ordered and found tied by that stamp. Two presses less than a millisecond apart cannot
be timed over a test socket, so a test queues the stamps the next messages get."""

from __future__ import annotations

import time
from typing import Any

from realtime import consumers


class ReceiveStamps:
    """Stands in for the `time` module in realtime.consumers: `time_ns()` gives the next
    queued stamp (ns since the epoch), else the real clock; everything else is `time`'s."""

    def __init__(self) -> None:
        self.queue: list[int] = []

    def time_ns(self) -> int:
        return self.queue.pop(0) if self.queue else time.time_ns()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def receive_stamps(monkeypatch) -> ReceiveStamps:
    """Queue the consumers' next receive stamps: `receive_stamps(monkeypatch).queue`."""
    stamps = ReceiveStamps()
    monkeypatch.setattr(consumers, "time", stamps)
    return stamps
