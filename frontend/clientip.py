"""The client's address, read one way for HTTP and WebSocket alike.

Behind the documented proxy (docs/deploy.md, section 8) nginx *overwrites*
X-Forwarded-For with the address its TCP connection came from
(`proxy_set_header X-Forwarded-For $remote_addr;`) and daphne, started with
`--proxy-headers`, takes that one value as the client of every request and socket: it
becomes `REMOTE_ADDR` of an HTTP request and `scope["client"]` of a WebSocket. Nothing
in SciArena reads X-Forwarded-For itself, so a client-supplied header never reaches a
per-IP limit: nginx replaced it. allauth's rate limits read `REMOTE_ADDR` too
(ALLAUTH_TRUSTED_PROXY_COUNT 0, no ALLAUTH_TRUSTED_CLIENT_IP_HEADER; frontend.checks
holds them there).

Running `make run` (no proxy) the address is the TCP peer's. More proxies in front of
nginx (a load balancer, a CDN) are nginx's business: its realip module
(`set_real_ip_from`, `real_ip_header`) makes `$remote_addr` the client's, and the rest
stays as it is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any


def _normalised(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return str(address)


def client_ip(request_or_scope: Any) -> str | None:
    """The client's address of an HTTP request (its REMOTE_ADDR) or of an ASGI scope
    (`scope["client"][0]`, a WebSocket's), in canonical form; None when there is none
    or it is not an IP address (a Unix socket, a test scope without a client)."""
    if isinstance(request_or_scope, Mapping):
        client = request_or_scope.get("client")
        if not client:
            return None
        return _normalised(client[0])
    meta = getattr(request_or_scope, "META", None)
    if meta is None:
        return None
    return _normalised(meta.get("REMOTE_ADDR"))
