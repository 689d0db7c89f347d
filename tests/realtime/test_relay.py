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


class RestartableLayer(InMemoryChannelLayer):
    """An in-memory layer that can 'restart' as Redis does: while down every call
    fails, pending receives included, and what it held (groups, messages) is gone."""

    def __init__(self):
        super().__init__()
        self.down = asyncio.Event()
        self.up = True

    async def restart_begins(self):
        self.up = False
        self.groups.clear()
        self.channels.clear()
        self.down.set()

    def back(self):
        self.up = True
        self.down = asyncio.Event()

    def _check(self):
        if not self.up:
            raise ConnectionError("Connection refused")

    async def receive(self, channel):
        self._check()
        getting = asyncio.ensure_future(super().receive(channel))
        failing = asyncio.ensure_future(self.down.wait())
        done, pending = await asyncio.wait({getting, failing}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if getting in done:
            return getting.result()
        raise ConnectionError("Connection closed by server")

    async def group_add(self, group, channel):
        self._check()
        return await super().group_add(group, channel)

    async def group_send(self, group, message):
        self._check()
        return await super().group_send(group, message)


async def wait_for(condition, seconds=5.0):
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_a_feed_cut_off_by_a_layer_restart_rejoins_resyncs_its_sockets_and_delivers_again(
    monkeypatch,
):
    """Redis restarted under a round: the feed's receive fails and its group
    membership is gone. The feed must not end silently: it rejoins, tells each socket
    to resync (what was published meanwhile is lost), and broadcasts flow again;
    /healthz's view (feeds_health) says cut off while it is, and well afterwards."""
    from realtime import relay as relay_module

    layer = RestartableLayer()
    process = Relay()
    inbox, resyncs = Inbox(), []

    async def resync():
        resyncs.append(True)

    await process.subscribe(layer, "round.9", 1, Listener(inbox.send, "player", 1, resync=resync))
    frame = {"type": "relay.frame", "frame": '{"seq":1}'}
    await layer.group_send("round.9", frame)
    await wait_for(lambda: inbox.frames == [{"seq": 1}])

    await layer.restart_begins()
    feed = process.feeds["round.9"]
    await wait_for(lambda: feed.cut_off)
    # This process's relays are this one alone (other tests' loops may hold theirs).
    monkeypatch.setattr(relay_module, "_relays", {asyncio.get_running_loop(): process})
    assert relay_module.feeds_health()["cut_off"] == 1
    await asyncio.sleep(0.3)  # retries fail while it is down; the feed goes on
    assert not feed.task.done() and feed.cut_off and not resyncs
    layer.back()
    await wait_for(lambda: resyncs == [True])
    assert not feed.cut_off
    assert relay_module.feeds_health() == {
        "ok": True, "feeds": 1, "cut_off": 0, "cut_off_since": None, "rejoined": 1,
    }  # fmt: skip
    assert layer.groups["round.9"]  # a member again, with its new channel
    await layer.group_send("round.9", {"type": "relay.frame", "frame": '{"seq":2}'})
    await wait_for(lambda: inbox.frames == [{"seq": 1}, {"seq": 2}])
    await process.unsubscribe("round.9", 1)


@pytest.mark.asyncio
async def test_a_feed_started_while_the_layer_is_away_joins_when_it_is_back():
    layer = RestartableLayer()
    await layer.restart_begins()
    process, inbox, resyncs = Relay(), Inbox(), []

    async def resync():
        resyncs.append(True)

    await process.subscribe(layer, "round.10", 1, Listener(inbox.send, "host", resync=resync))
    assert process.feeds["round.10"].cut_off
    layer.back()
    await wait_for(lambda: resyncs == [True])
    await layer.group_send("round.10", {"type": "relay.frame", "frame": '{"seq":5}'})
    await wait_for(lambda: inbox.frames == [{"seq": 5}])
    await process.unsubscribe("round.10", 1)


def test_the_feeds_of_a_closed_event_loop_are_not_reported_to_healthz(monkeypatch):
    """A test's (or a shut-down server's) loop ends with its feed tasks cancelled: those
    feeds read as cut off, and /healthz answered 503 to a later test in the same
    process for as long as the closed loop object was not collected."""
    import weakref
    from types import SimpleNamespace

    from realtime import relay as relay_module

    monkeypatch.setattr(relay_module, "_relays", weakref.WeakKeyDictionary())
    loop = asyncio.new_event_loop()
    found = relay_module.Relay()
    found.feeds["live.1"] = SimpleNamespace(cut_off=True, cut_off_since=1.0, failures=0)
    relay_module._relays[loop] = found
    assert relay_module.feeds_health()["cut_off"] == 1
    loop.close()
    health = relay_module.feeds_health()
    assert health["ok"] is True and health["cut_off"] == 0
