"""Counters in the shared cache, which every per-person and per-address limit counts
with (docs/security.md): wrong passwords and codes, texts, guest starts, wrong PINs.

A count is taken atomically (`cache.add` then `cache.incr`: one command each in Redis),
so parallel requests cannot slip past a limit, and it expires with its window. Callers
count *before* doing the limited thing and compare the new value with their limit.
"""

from __future__ import annotations

import contextlib
import ipaddress

from django.core.cache import cache

# An IPv6 client usually holds a whole /64 (one household, one school): counting by
# single address would let it rotate through 2^64 of them.
IPV6_PREFIX = 64


def count(key: str, *, window: int) -> int:
    """One more on the counter `key`, which lives `window` seconds from its first
    count; returns the new value."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add() and incr()
        cache.add(key, 1, timeout=window)
        return 1


def uncount(key: str) -> None:
    """Give one count back (a right password, a right PIN); nothing if the window has
    ended meanwhile."""
    with contextlib.suppress(ValueError):
        cache.decr(key)


def address_key(address: str | None) -> str | None:
    """The part of a client address that limits count by: an IPv4 address whole, an
    IPv6 address by its /64 network; None for no address or one that is not an IP."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)
