"""Prepared broadcast frames (realtime.wire): the bytes, and the write to a real Twisted
TCP transport over a socket pair. The reactor is a recorder, so no global Twisted
reactor is installed in the test process. That daphne offers the writer and that every
socket of a real round takes it: tests/realtime/test_bench_smoke.py; how the relay uses
it: tests/realtime/test_relay.py."""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import sys
import time
from collections import deque
from types import SimpleNamespace

import pytest
from autobahn.twisted.websocket import WebSocketServerFactory
from twisted.internet.tcp import Server
from websockets.frames import Opcode

from realtime.wire import PreparedWriter, SocketWriter, text_frame, writer_for
from tests.support.websocket import parse_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_a_prepared_frame_is_one_final_unmasked_text_frame_at_every_length_form(size):
    payload = ("题" * (size // 3) + "x" * (size % 3)).encode()
    assert len(payload) == size
    frame = parse_frame(text_frame(payload))
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)


class Reactor:
    """What a Twisted transport asks of its reactor, recorded."""

    def __init__(self):
        self.calls = []

    def addReader(self, reader):  # noqa: N802 - Twisted's names
        self.calls.append("addReader")

    def addWriter(self, writer):  # noqa: N802
        self.calls.append("addWriter")

    def removeWriter(self, writer):  # noqa: N802
        self.calls.append("removeWriter")

    def removeReader(self, reader):  # noqa: N802
        self.calls.append("removeReader")


@pytest.fixture
def socket_pair():
    server_side, client_side = socket.socketpair()
    reactor = Reactor()
    protocol = WebSocketServerFactory().buildProtocol(None)
    transport = Server(
        server_side, protocol, ("127.0.0.1", 1), SimpleNamespace(_realPortNumber=0), 1, reactor
    )
    # What autobahn has once the opening handshake is done.
    protocol.transport = transport
    protocol.state = protocol.STATE_OPEN
    protocol.send_queue = deque()
    protocol._perMessageCompress = None
    client_side.settimeout(5)
    yield SimpleNamespace(
        protocol=protocol, transport=transport, reactor=reactor, client=client_side
    )
    server_side.close()
    client_side.close()


def receive(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))  # the socket's timeout bounds the wait
        assert chunk, f"the peer closed after {len(data)} of {size} bytes"
        data += chunk
    return data


def test_an_idle_socket_gets_the_frame_in_one_send_without_registering_a_writer(socket_pair):
    frame = text_frame(b'{"type":"question_opened","seq":3}')
    assert SocketWriter(socket_pair.protocol).write(frame)
    assert receive(socket_pair.client, len(frame)) == frame
    assert "addWriter" not in socket_pair.reactor.calls


def test_a_frame_waits_behind_data_the_transport_already_holds(socket_pair):
    transport = socket_pair.transport
    transport.write(b"earlier")  # buffered until the reactor says the socket is writable
    frame = text_frame(b'{"seq":4}')
    assert SocketWriter(socket_pair.protocol).write(frame)
    transport.doWrite()
    assert receive(socket_pair.client, 7 + len(frame)) == b"earlier" + frame


def test_what_the_kernel_does_not_take_at_once_is_sent_later_in_order(socket_pair):
    transport = socket_pair.transport
    transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = text_frame(json.dumps({"pad": "x" * 3_000_000}).encode())
    after = text_frame(b'{"seq":5}')
    writer = SocketWriter(socket_pair.protocol)
    assert writer.write(big)
    assert transport._tempDataLen > 0  # the rest is queued with Twisted
    assert "addWriter" in socket_pair.reactor.calls
    assert writer.write(after)
    received = b""
    socket_pair.client.setblocking(False)
    deadline = time.monotonic() + 10
    while len(received) < len(big) + len(after):
        assert time.monotonic() < deadline, f"{len(received)} bytes after 10 s"
        if transport._tempDataLen or transport.offset < len(transport.dataBuffer):
            transport.doWrite()
        with contextlib.suppress(BlockingIOError):
            received += socket_pair.client.recv(1 << 20)
    assert received == big + after


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p, "state", p.STATE_CLOSING),
        lambda p: p.send_queue.append((b"x", False)),  # autobahn is sending something itself
        lambda p: setattr(p, "_perMessageCompress", object()),  # compression negotiated
        lambda p: setattr(p.transport, "disconnecting", True),
    ],
    ids=["closing", "autobahn-queue", "compressed", "transport-closing"],
)
def test_a_socket_that_must_take_the_ordinary_path_gets_nothing_from_the_writer(
    socket_pair, change
):
    change(socket_pair.protocol)
    assert not SocketWriter(socket_pair.protocol).write(text_frame(b"{}"))
    assert socket_pair.transport._tempDataLen == 0
    socket_pair.client.setblocking(False)
    with pytest.raises(BlockingIOError):
        socket_pair.client.recv(10)


def test_a_socket_whose_kernel_buffer_is_full_gets_the_whole_frame_queued(socket_pair):
    transport = socket_pair.transport
    transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with contextlib.suppress(BlockingIOError):
        while True:  # fill the kernel's buffers; the client reads nothing yet
            transport.socket.send(b"\0" * 65536)
    frame = text_frame(b'{"seq":6}')
    assert SocketWriter(socket_pair.protocol).write(frame)
    assert transport._tempDataBuffer == [frame]


def test_a_frame_for_a_peer_that_has_gone_is_left_for_twisted_to_notice(socket_pair):
    socket_pair.client.close()
    writer = SocketWriter(socket_pair.protocol)
    frame = text_frame(b'{"seq":7}')
    # Whatever the first send does, nothing raises into the relay's loop, and Twisted's
    # own write finds the connection lost.
    for _ in range(3):
        assert writer.write(frame)
    assert isinstance(socket_pair.transport.doWrite(), Exception)


def test_no_writer_is_offered_outside_daphne():
    async def send(message):
        pass

    assert writer_for(send) is None
    assert writer_for(functools.partial(send)) is None


def test_the_prepared_path_writes_the_same_bytes_through_autobahns_public_api(socket_pair):
    """WS_WRITE_PATH=prepared: the frame built once goes out through sendPreparedMessage,
    in order with what autobahn sends itself, and not at all on a closing socket."""
    protocol, transport = socket_pair.protocol, socket_pair.transport
    protocol.log = SimpleNamespace(debug=lambda *args, **kwargs: None)  # as daphne's has
    protocol.trafficStats = SimpleNamespace(outgoingOctetsWireLevel=0)
    protocol.logOctets = protocol.logFrames = protocol.trackTimings = False
    writer = PreparedWriter(protocol)
    first, second = text_frame(b'{"seq":1}'), text_frame('{"名":2}'.encode())
    assert writer.write(first)
    own = text_frame(b'{"seq":"own"}')
    protocol.sendData(own)  # where autobahn's ordinary send ends, in between
    assert writer.write(second)
    transport.doWrite()
    assert receive(socket_pair.client, len(first) + len(own) + len(second)) == first + own + second
    protocol.state = protocol.STATE_CLOSING
    assert not writer.write(first)


def test_the_write_path_decision_is_counted_and_logged_once_per_kind(caplog, monkeypatch):
    from realtime import wire

    monkeypatch.setattr(wire, "_status", {})
    monkeypatch.delitem(sys.modules, "daphne.server", raising=False)

    async def send(message):
        pass

    with caplog.at_level("INFO", logger="realtime.wire"):
        assert writer_for(send, "asgi") is None
        assert writer_for(send, "asgi") is None
        assert writer_for(send) is None
    assert wire.status() == {"off: WS_WRITE_PATH=asgi": 2, "off: not under daphne": 1}
    assert [r.getMessage() for r in caplog.records] == [
        "fast WebSocket write path: off: WS_WRITE_PATH=asgi",
        "fast WebSocket write path: off: not under daphne",
    ]
