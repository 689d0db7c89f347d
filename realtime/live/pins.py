"""PIN lookups, throttled: a six-digit PIN is the only secret between a stranger and a
class's round, so guessing it is limited per client address (and per session, when
there is one), for the pages (/live/<pin>/…) and the sockets (/ws/live/<pin>/) alike.

Only failed lookups count: a school whose 40 students join one PIN from one address
(one NAT) is never held back, however many join. At most PIN_FAILURES_PER_MINUTE wrong
PINs per address (an IPv6 address counts by its /64, which one household or school
holds whole) and per session in a fixed window of PIN_WINDOW_S; past that every lookup
from there is refused for the rest of the window, right PINs too, so the throttle
tells nothing.

The count is atomic in the shared cache, as accounts.services.user_delete_password_try
counts password tries: each lookup takes a try first (an atomic increment) and a
lookup that finds its round gives it back. Parallel guesses cannot slip past the
limit; a burst of right PINs holds tries only for the one query of each lookup (the
database threads bound how many are in flight at once).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.counters import address_key, count, uncount
from frontend.clientip import client_ip

from ..models import LiveRound
from .selectors import round_for_pin

PIN_WINDOW_S = 60


class PinThrottled(Exception):  # noqa: N818 - a refusal the pages and the socket report
    """Too many wrong PINs from this address or session: no lookup now."""


def client_address(request_or_scope: Any) -> str | None:
    """The client's address of a request or a socket's scope: frontend.clientip's one
    reading of it, which holds behind the documented proxy."""
    return client_ip(request_or_scope)


def throttle_keys(address: str | None, session: str | None) -> list[str]:
    keys = []
    address = address_key(address)
    if address:
        keys.append(f"pin-tries:ip:{address}")
    if session:
        keys.append(f"pin-tries:session:{session}")
    return keys


def round_for_pin_throttled(
    pin: str, *, address: str | None, session: str | None = None
) -> LiveRound | None:
    """The round a PIN names (realtime.live.selectors.round_for_pin), or None; raises
    PinThrottled when this address or session has used up its wrong PINs."""
    keys = throttle_keys(address, session)
    tries = [count(key, window=PIN_WINDOW_S) for key in keys]
    if any(n > settings.PIN_FAILURES_PER_MINUTE for n in tries):
        raise PinThrottled
    live = round_for_pin(pin)
    if live is not None:
        for key in keys:  # a right PIN gives its try back
            uncount(key)
    return live
