"""Handshake and per-message guards shared by every WebSocket consumer."""

from __future__ import annotations

import time

from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.conf import settings


def OriginCheck(app):  # noqa: N802 - reads like the middleware class it returns
    """Refuse handshakes from foreign origins (WS_ALLOWED_ORIGINS, else ALLOWED_HOSTS)."""
    if settings.WS_ALLOWED_ORIGINS:
        return OriginValidator(app, settings.WS_ALLOWED_ORIGINS)
    return AllowedHostsOriginValidator(app)


class TokenBucket:
    """Per-socket rate limit: `rate` messages per second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.updated = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
