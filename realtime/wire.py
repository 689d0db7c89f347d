"""Frames written to the socket as wire bytes, a broadcast's built once
(docs/architecture.md, live-round rule 5).

Through ASGI, every broadcast costs each socket a trip through daphne and autobahn:
the text encoded, a WebSocket frame built around it, and Twisted's write, which only
buffers and registers the socket with the event loop, so the `send` happens on a later
turn, after which the socket is unregistered again. For a frame that a thousand sockets
get, that is most of a broadcast's time.

A server-to-client text frame is not masked (RFC 6455, 5.1), so without compression its
bytes are the same for every socket: `text_frame` builds them once, and
`SocketWriter.write` hands them to the kernel at once when nothing is queued before
them, as asyncio's own transports do (gorilla/websocket's PreparedMessage is the same
idea). Whatever cannot take that path (compression negotiated, data queued, a closing
or TLS socket, another server than daphne) goes through the ordinary ASGI send, so the
order of frames on a socket never changes.

daphne offers no ASGI extension for this. `DaphneWire` (outermost in config/asgi.py)
recognises daphne's `send` (`functools.partial(Server.handle_reply, protocol)`) and puts
a writer for the socket into the scope's extensions as "sciarena.wire"; elsewhere
(WebsocketCommunicator, other servers) the extension is absent. The game consumers write
every frame through it (ProtocolConsumer.write_text).

settings.WS_WRITE_PATH chooses the writer: "direct" (SocketWriter, above: reads
autobahn's and Twisted's private state to send at once), "prepared" (PreparedWriter:
autobahn's public sendPreparedMessage, Twisted's buffered write) or "asgi" (none). The
three are equivalent for clients: no server frame exceeds the client cap autobahn also
holds outgoing messages to (the host's player list is paged, question texts bounded:
docs/protocol.md, "Frame sizes"), and frames keep their order on a socket. The path a
socket took, and why a fast one was off, is counted, logged once per process and kind,
and shown in /healthz (`status`).
"""

from __future__ import annotations

import functools
import logging
import struct
import sys
from typing import Protocol

logger = logging.getLogger(__name__)
EXTENSION = "sciarena.wire"


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame carrying `payload` (UTF-8)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class Writer(Protocol):
    """What the relay and the consumers write frames through (SocketWriter or
    PreparedWriter): `write` returns False, writing nothing, when the socket must take
    the ordinary ASGI path instead."""

    def write(self, frame: bytes) -> bool: ...


class SocketWriter:
    """Writes whole frames to one daphne WebSocket connection (an autobahn protocol on a
    Twisted TCP transport)."""

    __slots__ = ("protocol", "transport")

    def __init__(self, protocol) -> None:
        self.protocol = protocol
        self.transport = protocol.transport

    def write(self, frame: bytes) -> bool:
        """Write `frame` (from `text_frame`); False, writing nothing, when this socket
        must take the ordinary path instead."""
        protocol = self.protocol
        if (
            protocol.state != protocol.STATE_OPEN
            or protocol.send_queue
            or protocol._perMessageCompress is not None
        ):
            return False
        transport = self.transport
        if not transport.connected or transport.disconnecting or transport._writeDisconnected:
            return False
        if transport._tempDataLen or transport.offset != len(transport.dataBuffer):
            # Data is waiting for the socket: queue behind it, in order.
            transport.write(frame)
            return True
        sent = transport.writeSomeData(frame)  # one send(); 0 if it would block
        if isinstance(sent, Exception):
            # The connection is lost: let Twisted find that out and close it.
            transport.write(frame)
        elif sent < len(frame):
            transport.write(frame[sent:])
        return True


class _Prepared:
    """What autobahn's public sendPreparedMessage reads of a PreparedMessage: the frame
    bytes, already built once for every socket (`text_frame`), never compressed."""

    __slots__ = ("payloadHybi",)
    doNotCompress = True  # noqa: N815 - autobahn's attribute name

    def __init__(self, frame: bytes) -> None:
        self.payloadHybi = frame


class PreparedWriter:
    """The same frame bytes through autobahn's public API (sendPreparedMessage, then
    Twisted's buffered write): no private attribute read, one more loop turn per write
    than SocketWriter. WS_WRITE_PATH=prepared."""

    __slots__ = ("protocol",)

    def __init__(self, protocol) -> None:
        self.protocol = protocol

    def write(self, frame: bytes) -> bool:
        protocol = self.protocol
        if protocol.state != protocol.STATE_OPEN:
            return False
        protocol.sendPreparedMessage(_Prepared(frame))
        return True


# What SocketWriter reads and calls; a daphne, autobahn or Twisted without them gets the
# ordinary path rather than an error in the middle of a broadcast.
_PROTOCOL_NEEDS = ("state", "STATE_OPEN", "send_queue", "_perMessageCompress", "transport")
_TRANSPORT_NEEDS = (
    "connected",
    "disconnecting",
    "_writeDisconnected",
    "_tempDataLen",
    "offset",
    "dataBuffer",
    "writeSomeData",
    "write",
)


def writer_for(send, path: str = "direct") -> Writer | None:
    """A writer for the socket daphne's `send` serves, or None (the ordinary path).
    `path` is settings.WS_WRITE_PATH: "direct" (SocketWriter), "prepared"
    (PreparedWriter) or "asgi" (never: every frame through daphne's ASGI send)."""
    if path == "asgi":
        _note("off: WS_WRITE_PATH=asgi")
        return None
    writer, reason = _probe(send)
    if writer is not None and path == "prepared":
        writer, reason = PreparedWriter(writer.protocol), "on (prepared)"
    _note(reason)
    return writer


_status: dict[str, int] = {}  # this process's sockets so far, by why the wire is on or off


def _note(reason: str) -> None:
    """Count the decision, logging the first of each kind once per process: an operator
    sees in the log and in /healthz whether the fast path is in use, and if not, why."""
    if reason not in _status:
        level = logging.INFO if reason.startswith(ON) else logging.WARNING
        logger.log(level, "fast WebSocket write path: %s", reason)
    _status[reason] = _status.get(reason, 0) + 1


def status() -> dict[str, int] | str:
    """For /healthz: how many of this process's sockets took the fast path ("on") and
    why the others did not; "no socket yet" before the first."""
    return dict(_status) or "no socket yet"


ON = "on"


def _probe(send) -> tuple[SocketWriter | None, str]:
    server_module = sys.modules.get("daphne.server")
    if server_module is None:  # not under daphne (importing it would install a reactor)
        return None, "off: not under daphne"
    from autobahn.twisted.websocket import WebSocketServerProtocol
    from twisted.internet.tcp import Connection

    if not (
        isinstance(send, functools.partial)
        and getattr(send.func, "__name__", "") == "handle_reply"
        and isinstance(getattr(send.func, "__self__", None), server_module.Server)
        and len(send.args) == 1
    ):
        return None, "off: daphne's send is not the one this was written for"
    protocol = send.args[0]
    if not isinstance(protocol, WebSocketServerProtocol):
        return None, "off: not an autobahn WebSocket"
    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, Connection) or getattr(transport, "TLS", False):
        return None, "off: TLS or another transport at daphne"
    if getattr(protocol, "autoFragmentSize", 0):
        return None, "off: autobahn fragments outgoing messages"
    missing = [name for name in _PROTOCOL_NEEDS if not hasattr(protocol, name)] + [
        name for name in _TRANSPORT_NEEDS if not hasattr(transport, name)
    ]
    if missing:
        return None, f"off: autobahn or Twisted lacks {', '.join(missing)}"
    return SocketWriter(protocol), ON


class DaphneWire:
    """ASGI middleware: offers "sciarena.wire" to WebSocket applications under daphne."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            from django.conf import settings

            writer = writer_for(send, settings.WS_WRITE_PATH)
            if writer is not None:
                extensions = dict(scope.get("extensions") or {})
                extensions[EXTENSION] = writer
                scope = dict(scope, extensions=extensions)
        return await self.app(scope, receive, send)
