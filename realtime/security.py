"""Handshake and per-message guards shared by every WebSocket consumer."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as `https://sciarena.example.org:8443`,
    the port filled in for http and https; None for anything else (`null`, another
    scheme, a path, user info, a bad port)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def _header(scope, name: bytes) -> str | None:
    """The one value of a header; None when it is missing, repeated or not latin-1."""
    values = [value for key, value in scope.get("headers", []) if key.lower() == name]
    if len(values) != 1:
        return None
    try:
        return values[0].decode("latin1")
    except UnicodeDecodeError:
        return None


def handshake_origin(scope) -> tuple[str, str, int] | None:
    """The origin the socket itself was opened on, as Django's CSRF check sees a
    request's own origin: the scheme of the connection (behind the proxy, the
    SECURE_PROXY_SSL_HEADER it sends), host and port from the Host header, which must
    be one of ALLOWED_HOSTS (so a rebound DNS name is not its own origin)."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed):
        return None
    secure = scope.get("scheme") in ("wss", "https")
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, value = proxy
        if not name.startswith("HTTP_"):
            return None
        sent = _header(scope, name[5:].lower().replace("_", "-").encode("latin1"))
        if sent is not None:
            secure = sent.split(",", 1)[0].strip() == value
    return parse_origin(("https://" if secure else "http://") + host)


def allowed_origin(scope, origin: str | None) -> bool:
    """Whether a handshake's Origin may open a socket: exactly (scheme, host and port)
    the socket's own origin, or one of WS_ALLOWED_ORIGINS, where a host starting with
    `.` or `*.` also allows its subdomains, with the same scheme and port."""
    theirs = parse_origin(origin) if origin else None
    if theirs is None:
        return False
    if theirs == handshake_origin(scope):
        return True
    scheme, host, port = theirs
    for entry in settings.WS_ALLOWED_ORIGINS:
        pattern = parse_origin(entry.replace("://*.", "://."))
        if pattern is None or pattern[0] != scheme or pattern[2] != port:
            continue
        wanted = pattern[1]
        if host == wanted or (wanted.startswith(".") and host.endswith(wanted)):
            return True
        if wanted.startswith(".") and host == wanted[1:]:
            return True
    return False


class OriginCheck:
    """Refuse handshakes from foreign origins: the Origin header must be the socket's
    own origin (scheme, host and port, as Django's CSRF check compares a form's) or one
    of WS_ALLOWED_ORIGINS, compared just as exactly. A handshake without an Origin, or
    with two, is refused."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("OriginCheck guards WebSocket connections only")
        if allowed_origin(scope, _header(scope, b"origin")):
            return await self.app(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


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
