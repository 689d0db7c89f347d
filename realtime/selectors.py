"""Reads shared by the live-round pages and sockets, so that a page and its socket
always agree on which round a PIN names and on who may watch the projector screen."""

from __future__ import annotations

import re

from django.core import signing

from .models import LiveRound

PIN_RE = re.compile(r"^[0-9]{6}$")
SCREEN_SALT = "realtime.screen"


def round_for_pin(pin: str) -> LiveRound | None:
    """The round a PIN names: the active one, else the latest that had it."""
    if not isinstance(pin, str) or not PIN_RE.match(pin):
        return None
    rounds = LiveRound.objects.filter(pin=pin)
    return (
        rounds.exclude(status__in=[LiveRound.Status.FINISHED, LiveRound.Status.ABORTED]).first()
        or rounds.order_by("-created_at").first()
    )


def screen_key(live: LiveRound) -> str:
    """The secret in a projector screen's URL: read-only access to one round."""
    return signing.dumps(live.pk, salt=SCREEN_SALT)


def screen_key_valid(live: LiveRound, key: object) -> bool:
    try:
        return signing.loads(str(key), salt=SCREEN_SALT) == live.pk
    except signing.BadSignature:
        return False
