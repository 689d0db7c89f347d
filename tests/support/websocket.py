"""Reading server WebSocket frames in tests."""

from __future__ import annotations

from django.conf import settings
from websockets.frames import Frame
from websockets.streams import StreamReader


def assert_within_cap(text: str) -> None:
    """A server frame is held to the client's message cap: daphne/autobahn refuse to
    send a larger one on the ordinary ASGI path (docs/protocol.md, "Frame sizes"). Every
    socket test checks every frame it receives with this."""
    size = len(text.encode())
    cap = settings.WS_MAX_MESSAGE_BYTES
    assert size <= cap, f"a {size}-byte frame, over the {cap}-byte cap: {text[:200]}…"


def parse_frame(data: bytes) -> Frame:
    """The one WebSocket frame (unmasked, from a server) that `data` holds, parsed by the
    `websockets` library; fails if bytes are missing or left over."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    else:  # pragma: no cover - the parser wanted more bytes than the frame has
        raise AssertionError("incomplete frame")
    assert not reader.buffer, f"{len(reader.buffer)} bytes left over after the frame"
    return frame
