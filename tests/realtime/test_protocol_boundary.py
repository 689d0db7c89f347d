"""The protocol boundary of a game socket: texts that are not protocol JSON are refused
with `bad_json` and a detail before any handler runs, store nothing, and leave the
socket playing (realtime.messages.parse_message; docs/protocol.md, errors)."""

import pytest
from asgiref.sync import sync_to_async

from realtime.models import LiveAnswer
from realtime.security import TokenBucket
from tests.support.live import command, host_socket, make_round, player_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("districts_loaded")]


# Texts the protocol boundary refuses before any handler (realtime.messages.parse_message),
# with the `detail` of the bad_json error: not JSON, numbers no client writes, nesting
# no message needs, strings no database stores.
NOT_PROTOCOL_JSON = [
    ("NaN", "non_finite"),
    ("Infinity", "non_finite"),
    ("-Infinity", "non_finite"),
    ("1e999", "non_finite"),
    ("1" + "0" * 400, "number_too_long"),
    ("1" * 5000, "number_too_long"),
    ("[" * 5000 + "]" * 5000, "too_deep"),
    ("[[[[[[[1]]]]]]]", "too_deep"),
    ('"\\ud800"', "bad_string"),
    ('"a\\u0000b"', "bad_string"),
    ("{", "syntax"),
]


@pytest.mark.asyncio
async def test_texts_that_are_not_protocol_json_get_bad_json_store_nothing_and_the_socket_plays_on(
    monkeypatch,
):
    monkeypatch.setattr(TokenBucket, "allow", lambda self: True)
    live = await sync_to_async(make_round)(types=["numeric"])
    host = await host_socket(live)
    player, _ = await player_socket(live, "Alice")
    await command(host, "start")
    await player.expect("question_opened")
    for n, (choice, detail) in enumerate(NOT_PROTOCOL_JSON):
        text = f'{{"type": "answer", "answer_id": "bad-{n}", "question": 0, "choice": {choice}}}'
        await player.comm.send_to(text_data=text)
        reply = await player.expect("ack", "reject", "error")
        assert reply == {"type": "error", "code": "bad_json", "detail": detail}, choice[:20]
    assert not await sync_to_async(LiveAnswer.objects.exists)()
    longest = "-1.2345678901234567e-30"  # what a client's JSON writes for a number
    await player.comm.send_to(
        text_data=f'{{"type": "answer", "answer_id": "ok", "question": 0, "choice": {longest}}}'
    )
    assert (await player.expect("ack", "reject", "error"))["type"] == "ack"
    await host.close()
    await player.close()
