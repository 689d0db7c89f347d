"""Helpers of the live-round tests: a round of every question type, a WebSocket client
through the real routing (WebsocketCommunicator), and responses right or wrong."""

from __future__ import annotations

import json

from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from realtime.live import services
from realtime.models import LiveRound
from realtime.routing import websocket_urlpatterns
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.websocket import assert_within_cap

TYPES = ["single", "multiple", "true_false", "fill", "numeric", "ordering"]


def make_round(kind="classic", types=TYPES, seconds=20) -> LiveRound:
    bank = BankFactory()
    versions = []
    for n, qtype in enumerate(types):
        question = QuestionFactory(
            bank=bank, type=qtype, explanation=f"EXPLAIN-{n}-MARKER", stem=f"STEM-{n}"
        )
        versions.append(question.versions.get())
    host = bank.owners.first()
    return services.round_create(
        host=host, title="科学擂台", versions=versions, kind=kind, seconds_per_question=seconds
    )


class Socket:
    """One client: sends messages, keeps every frame it receives."""

    def __init__(self, live: LiveRound, user=None) -> None:
        self.comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/live/{live.pin}/")
        if user is not None:
            self.comm.scope["user"] = user
        self.frames: list[dict] = []
        self.raw: list[str] = []

    async def open(self, hello: dict) -> dict:
        connected, _ = await self.comm.connect()
        assert connected
        await self.send(hello)
        return await self.expect("welcome", "error")

    async def send(self, message: dict) -> None:
        await self.comm.send_to(text_data=json.dumps(message))

    async def recv(self, timeout=2) -> dict:
        text = await self.comm.receive_from(timeout=timeout)
        assert_within_cap(text)
        self.raw.append(text)
        frame = json.loads(text)
        self.frames.append(frame)
        return frame

    async def expect(self, *types: str, timeout=2) -> dict:
        while True:
            frame = await self.recv(timeout)
            if frame["type"] in types:
                return frame

    async def drain(self) -> None:
        while not await self.comm.receive_nothing(timeout=0.05):
            await self.recv()

    async def close(self) -> None:
        await self.comm.disconnect()


async def host_socket(live):
    host = Socket(live, user=await sync_to_async(lambda: live.host)())
    assert (await host.open({"type": "host"}))["role"] == "host"
    await host.expect("snapshot")
    return host


async def player_socket(live, nickname):
    player = Socket(live)
    welcome = await player.open({"type": "join", "nickname": nickname})
    assert welcome["type"] == "welcome", welcome
    await player.expect("snapshot")
    return player, welcome


async def command(host: Socket, name: str, **extra) -> None:
    await host.send({"type": "command", "name": name, **extra})


async def send_answer(player: Socket, answer_id: str, index: int, choice) -> dict:
    """Answer question `index`; the server's reply to it (an ack or a reject)."""
    await player.send(
        {"type": "answer", "answer_id": answer_id, "question": index, "choice": choice}
    )
    return await player.expect("ack", "reject")


async def answer_acked(player: Socket, answer_id: str, index: int, choice) -> dict:
    """Answer question `index` and expect the server to ack it; the ack."""
    reply = await send_answer(player, answer_id, index, choice)
    assert reply["type"] == "ack", reply
    return reply


def choice_for(version, right: bool):
    """A well-formed response to the version, right or wrong."""
    key, ids = version.key, [o["id"] for o in version.options]
    if version.type == "single":
        return key["options"][0] if right else next(i for i in ids if i not in key["options"])
    if version.type == "multiple":
        return key["options"] if right else ids[:1]
    if version.type == "ordering":
        return key["order"] if right else list(reversed(key["order"]))
    if version.type == "true_false":
        return key["value"] if right else not key["value"]
    if version.type == "fill":
        return key["accepted"][0] if right else "错"
    return key["value"] if right else key["value"] + 100


def secrets_of(version) -> list[str]:
    """Texts whose presence in a frame would give the key away."""
    found = [version.explanation, '"key"', '"correct"', '"explanation"']
    key = version.key
    if version.type == "fill":
        found += key["accepted"]
    if version.type in ("single", "multiple"):
        found.append(json.dumps(key["options"]))
    if version.type == "ordering":
        found.append(json.dumps(key["order"]))
    return found
