"""The clock socket: the smallest WebSocket, and the guards every consumer shares."""

import json
import time

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application
from realtime.security import TokenBucket

ORIGIN = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]


async def connect(headers=ORIGIN):
    communicator = WebsocketCommunicator(application, "/ws/clock/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.mark.asyncio
async def test_a_ping_is_answered_with_the_server_clock():
    communicator, connected = await connect()
    assert connected
    before = time.time() * 1000
    await communicator.send_to(text_data=json.dumps({"type": "ping", "t": 123.5}))
    reply = await communicator.receive_json_from()
    after = time.time() * 1000
    assert reply["type"] == "pong"
    assert reply["t"] == 123.5
    assert before - 1 <= reply["server_now"] <= after + 1
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_handshake_from_a_foreign_origin_is_refused():
    _, connected = await connect(headers=[(b"origin", b"https://evil.example.com")])
    assert not connected


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "payload, code",
    [
        ("not json", {"code": "bad_json", "detail": "syntax"}),
        ('{"type": "ping", "t": NaN}', {"code": "bad_json", "detail": "non_finite"}),
        ('{"type": "ping", "t": -Infinity}', {"code": "bad_json", "detail": "non_finite"}),
        (
            '{"type": "ping", "t": ' + "9" * 5000 + "}",
            {"code": "bad_json", "detail": "number_too_long"},
        ),
        ("[" * 3000 + "]" * 3000, {"code": "bad_json", "detail": "too_deep"}),
        (json.dumps([1, 2]), {"code": "unknown_type"}),
        (json.dumps({"type": "host.next"}), {"code": "unknown_type"}),
        (json.dumps({"type": "ping", "t": "yesterday"}), {"code": "bad_field"}),
        (json.dumps({"type": "ping", "t": True}), {"code": "bad_field"}),
    ],
)
async def test_bad_messages_get_a_clear_error_and_the_socket_stays_open(payload, code):
    """Every reply is JSON (a NaN is never echoed back) and the socket stays."""
    communicator, _ = await connect()
    await communicator.send_to(text_data=payload)
    assert json.loads(await communicator.receive_from()) == {"type": "error", **code}
    await communicator.send_to(text_data=json.dumps({"type": "ping"}))
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_an_oversized_message_closes_the_socket_with_1009(settings):
    settings.WS_MAX_MESSAGE_BYTES = 1024
    communicator, _ = await connect()
    await communicator.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 2000}))
    output = await communicator.receive_output()
    assert output == {"type": "websocket.close", "code": 1009}


@pytest.mark.asyncio
async def test_a_flood_of_messages_is_rate_limited():
    communicator, _ = await connect()
    for _ in range(30):
        await communicator.send_to(text_data=json.dumps({"type": "ping"}))
    replies = [await communicator.receive_json_from() for _ in range(30)]
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    assert 10 <= 30 - len(limited) <= 12
    await communicator.disconnect()


def test_the_token_bucket_refills_with_time():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5
    assert bucket.allow() is True
    assert bucket.allow() is False
    now[0] += 100
    assert sum(bucket.allow() for _ in range(10)) == 3
