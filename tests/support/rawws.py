"""A WebSocket client built by hand over a TCP socket, for the frames a well-behaved
library refuses to send: a frame header that declares more bytes than the server's cap
(and never sends them), text frames that are not UTF-8, unmasked frames, reserved
opcodes and bits.

It tells a close frame (`Closed.code`) from a dropped TCP connection (`Closed.code` is
None), which is what tests/realtime/test_hostile_frames.py checks: a documented close
code, never a bare drop. RFC 6455 is small enough for this: client frames are masked,
server frames are not.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
from dataclasses import dataclass

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


@dataclass
class Closed:
    """How the connection ended: the server's close frame (code and reason) or, with
    `code` None, a TCP connection that ended without one."""

    code: int | None
    reason: str = ""

    @property
    def dropped(self) -> bool:
        return self.code is None


def frame_bytes(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    declared: int | None = None,
    rsv: int = 0,
    masked: bool = True,
) -> bytes:
    """One client frame carrying `payload`, masked as RFC 6455 requires unless
    `masked` is False. `declared` puts another length in its header (the payload that
    follows is then cut short or runs into the next frame); `rsv` sets the reserved
    bits (0-7), which mean nothing without an extension."""
    length = len(payload) if declared is None else declared
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    bit = 0x80 if masked else 0
    if length < 126:
        header = struct.pack("!BB", first, bit | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, bit | 127, length)
    if not masked:
        return header + payload
    mask = os.urandom(4)
    return header + mask + bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))


class RawSocket:
    """One hand-made WebSocket connection (no extensions, no subprotocol)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.closed: Closed | None = None

    @classmethod
    async def connect(cls, host: str, port: int, path: str, origin: str) -> RawSocket:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            writer.close()
            raise ConnectionError(f"handshake refused: {status!r}")
        return cls(reader, writer)

    async def send_bytes(self, data: bytes) -> None:
        """Write `data` as it is (frames from `frame_bytes`); a connection the server
        has already closed is not an error here (`receive` tells how it ended)."""
        self.writer.write(data)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def send_text(self, text: str) -> None:
        await self.send_bytes(frame_bytes(TEXT, text.encode()))

    async def _frame(self) -> tuple[int, bytes] | None:
        """The next whole server frame, or None at the end of the TCP stream."""
        try:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            if second & 0x80:
                raise AssertionError("the server masked a frame (RFC 6455 5.1)")
            return first & 0x0F, await self.reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def receive(self) -> str | Closed:
        """The next text message, or how the connection ended (the server's close frame,
        or the end of the TCP stream without one). Pings are answered."""
        while self.closed is None:
            frame = await self._frame()
            if frame is None:
                self.closed = Closed(None)
                break
            opcode, payload = frame
            if opcode == TEXT:
                return payload.decode("utf-8")
            if opcode == PING:
                await self.send_bytes(frame_bytes(PONG, payload))
            elif opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.closed = Closed(code, payload[2:].decode("utf-8", "replace"))
            elif opcode != PONG:
                raise AssertionError(f"unexpected server frame, opcode {opcode:#x}")
        return self.closed

    async def until_eof(self) -> None:
        """Read (and discard) until the server ends the TCP connection, without
        answering its close frame: how long a client that never answers is kept."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(1 << 16):
                pass

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2)
