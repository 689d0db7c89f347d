"""Reading server WebSocket frames in tests."""

from __future__ import annotations

from websockets.frames import Frame
from websockets.streams import StreamReader


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
