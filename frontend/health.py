"""What /healthz reports: can we reach the database, the cache and the channel layer, and
what the apps above register (`register`): realtime adds whether this process's round
feeds are cut off from the channel layer, and whether the fast write path is on."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.db import connection


class Unhealthy(Exception):  # noqa: N818 - a finding, not a crash
    """A check's own verdict: reported with its message (which must hold no personal
    data), unlike other exceptions, whose messages may."""


_registered: dict[str, Callable[[], Any]] = {}


def register(name: str, check: Callable[[], Any]) -> None:
    """Add a check to /healthz: it returns what to report (`backend`), or raises
    (Unhealthy with a message to show) to fail it. Apps call this in ready()."""
    _registered[name] = check


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
    except Unhealthy as finding:
        return {"ok": False, "error": "Unhealthy", "detail": str(finding), "ms": _ms(started)}
    except Exception as exc:  # a health check reports every failure, whatever it is
        return {"ok": False, "error": type(exc).__name__, "ms": _ms(started)}
    return {"ok": True, "backend": detail, "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


# The longest a check may wait for its backend. A pooled connection is otherwise waited
# for up to the pool's timeout (10 s): /healthz would hang through an outage instead of
# saying 503, and a load balancer's probe would time out rather than see it.
CHECK_TIMEOUT_S = 2.0


def check_database() -> str:
    pool = getattr(connection, "pool", None)  # PostgreSQL with psycopg's pool
    if pool is not None:
        pool.open()  # as Django does before its first connection (a no-op once open)
        deadline = time.monotonic() + CHECK_TIMEOUT_S
        while True:
            with pool.connection(timeout=max(0.1, deadline - time.monotonic())) as pooled:
                try:
                    pooled.execute("SELECT 1").fetchone()
                except Exception:
                    # A connection a database restart left dead: the pool drops it on
                    # its return; the next one is tried, within the same bound.
                    if time.monotonic() >= deadline:
                        raise
                    continue
            return connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_cache() -> str:
    cache = caches["default"]
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)
    return type(cache).__name__


def check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "healthz"})
        message = await layer.receive(channel)
        if message.get("type") != "healthz":
            raise RuntimeError("channel layer returned another message")

    async def bounded() -> None:
        await asyncio.wait_for(round_trip(), timeout=CHECK_TIMEOUT_S)

    async_to_sync(bounded)()
    return type(layer).__name__


def run_checks() -> dict:
    return {
        "database": _timed(check_database),
        "cache": _timed(check_cache),
        "channel_layer": _timed(check_channel_layer),
        **{name: _timed(check) for name, check in _registered.items()},
    }
