"""The Redis channel layer survives idle sockets (docs/architecture.md: channels_redis 4.3 with
redis-py 8 defaults drops a blocking read after 5 s)."""

import asyncio

import pytest
from channels.layers import get_channel_layer


@pytest.mark.redis
@pytest.mark.asyncio
async def test_a_channel_idle_for_more_than_five_seconds_still_receives(settings):
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"
    channel = await layer.new_channel()
    receiver = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(6.5)
    assert not receiver.done(), receiver.done() and receiver.exception()
    await layer.send(channel, {"type": "after.idle", "n": 1})
    message = await asyncio.wait_for(receiver, timeout=5)
    assert message == {"type": "after.idle", "n": 1}
    await layer.flush()


@pytest.mark.redis
@pytest.mark.asyncio
async def test_a_group_message_reaches_every_member_channel():
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(3)]
    for name in channels:
        await layer.group_add("round-test", name)
    await layer.group_send("round-test", {"type": "frame", "seq": 7})
    received = [await asyncio.wait_for(layer.receive(name), timeout=5) for name in channels]
    assert received == [{"type": "frame", "seq": 7}] * 3
    await layer.flush()
