"""The per-process relay: one channel per process and round, one frame per socket."""

import asyncio
import json

import pytest
from channels.layers import InMemoryChannelLayer

from realtime.relay import Listener, Relay, compose
from tests.support.websocket import parse_frame


class Inbox:
    def __init__(self):
        self.frames = []

    async def send(self, text):
        self.frames.append(json.loads(text))


async def settle():
    for _ in range(5):
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_one_group_message_reaches_every_socket_of_every_process_once():
    layer = InMemoryChannelLayer()
    process_a, process_b = Relay(), Relay()
    inboxes = [Inbox() for _ in range(6)]
    for key, inbox in enumerate(inboxes):
        relay = process_a if key < 3 else process_b
        await relay.subscribe(layer, "round.1", key, Listener(inbox.send, "player", key))
    assert len(layer.groups["round.1"]) == 2  # one channel per process, not per socket
    await layer.group_send(
        "round.1", {"type": "relay.frame", "frame": '{"type":"question","seq":1}'}
    )
    await settle()
    assert [inbox.frames for inbox in inboxes] == [[{"type": "question", "seq": 1}]] * 6
    for key in range(6):
        await (process_a if key < 3 else process_b).unsubscribe("round.1", key)
    assert not layer.groups.get("round.1")


@pytest.mark.asyncio
async def test_roles_targets_and_per_player_parts_are_respected():
    layer = InMemoryChannelLayer()
    relay = Relay()
    host, screen, p1, p2 = Inbox(), Inbox(), Inbox(), Inbox()
    await relay.subscribe(layer, "round.2", 0, Listener(host.send, "host"))
    await relay.subscribe(layer, "round.2", 1, Listener(screen.send, "screen"))
    await relay.subscribe(layer, "round.2", 2, Listener(p1.send, "player", 11))
    await relay.subscribe(layer, "round.2", 3, Listener(p2.send, "player", 12))
    send = layer.group_send
    await send("round.2", {"type": "relay.frame", "frame": '{"t":"count"}', "roles": ["host"]})
    await send("round.2", {"type": "relay.frame", "frame": '{"t":"kicked"}', "to": 12})
    await send(
        "round.2",
        {"type": "relay.frame", "frame": '{"t":"reveal"}', "per_player": {"11": '{"points":900}'}},
    )
    await settle()
    assert host.frames == [{"t": "count"}, {"t": "reveal"}]
    assert screen.frames == [{"t": "reveal"}]
    assert p1.frames == [{"t": "reveal", "you": {"points": 900}}]
    assert p2.frames == [{"t": "kicked"}, {"t": "reveal"}]
    for key in range(4):
        await relay.unsubscribe("round.2", key)


def test_compose_splices_the_private_part_into_the_shared_frame():
    listener = Listener(send=None, role="player", player_id=5)
    assert compose('{"a":1}', listener, {"5": '{"rank":3}'}) == '{"a":1,"you":{"rank":3}}'
    assert compose('{"a":1}', listener, {"6": '{"rank":3}'}) == '{"a":1}'
    assert compose('{"a":1}', Listener(send=None, role="screen"), {"5": "{}"}) == '{"a":1}'


@pytest.mark.asyncio
async def test_a_failing_socket_does_not_stop_delivery_to_the_others():
    layer = InMemoryChannelLayer()
    relay = Relay()
    good = Inbox()

    async def broken(_text):
        raise ConnectionError

    await relay.subscribe(layer, "round.3", 0, Listener(broken, "player", 1))
    await relay.subscribe(layer, "round.3", 1, Listener(good.send, "player", 2))
    await layer.group_send("round.3", {"type": "relay.frame", "frame": '{"n":1}'})
    await layer.group_send("round.3", {"type": "relay.frame", "frame": '{"n":2}'})
    await settle()
    assert good.frames == [{"n": 1}, {"n": 2}]
    await relay.unsubscribe("round.3", 0)
    await relay.unsubscribe("round.3", 1)


class Wire:
    def __init__(self, accepts=True):
        self.accepts = accepts
        self.frames = []

    def write(self, data):
        if self.accepts:
            self.frames.append(data)
        return self.accepts


@pytest.mark.asyncio
async def test_the_relay_writes_one_prepared_frame_to_every_wire_and_the_rest_by_send():
    layer = InMemoryChannelLayer()
    relay = Relay()
    wires = [Wire(), Wire(), Wire(accepts=False)]
    inboxes = [Inbox() for _ in range(4)]
    for key, (wire, inbox) in enumerate(zip([*wires, None], inboxes, strict=True)):
        await relay.subscribe(layer, "round.9", key, Listener(inbox.send, "player", key, wire))
    shared = '{"type":"question_opened","seq":1}'
    await layer.group_send("round.9", {"type": "relay.frame", "frame": shared})
    await layer.group_send(
        "round.9",
        {"type": "relay.frame", "frame": '{"type":"reveal"}', "per_player": {"1": '{"p":9}'}},
    )
    await layer.group_send(
        "round.9", {"type": "relay.frame", "frame": '{"type":"kicked"}', "to": 0}
    )
    await settle()
    first, second = wires[0].frames, wires[1].frames
    assert [parse_frame(f).data.decode() for f in first] == [shared, '{"type":"reveal"}']
    assert [parse_frame(f).data.decode() for f in second] == [
        shared,
        '{"type":"reveal","you":{"p":9}}',
    ]
    assert first[0] is second[0]  # built once, written to each
    # A message for one player goes through its consumer's send (which closes a kicked
    # player's socket); a wire that declines, and a socket without one, get every frame
    # by send.
    assert inboxes[0].frames == [{"type": "kicked"}]
    assert inboxes[1].frames == []
    assert inboxes[2].frames == inboxes[3].frames == [json.loads(shared), {"type": "reveal"}]
    for key in range(4):
        await relay.unsubscribe("round.9", key)
