"""1-v-1 PK over WebSockets: matchmaking, a whole match, and its refusals, through the
real routing, PkConsumer, realtime.pk and the relay. Every frame received is checked
against the PK schemas (realtime.protocol, family "pk")."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from quizzes.models import Blueprint, XpAward
from realtime import protocol
from realtime.models import PkAnswer, PkEntry, PkMatch, PkPlayer
from realtime.pk import answers as pk_answers
from realtime.pk import matching
from realtime.routing import websocket_urlpatterns
from tests.factories import ProfileFactory, child
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.options import key_shown
from tests.support.websocket import assert_within_cap

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

# The longest wait for a frame a test expects: a bound for a busy machine, never what a
# test checks (a test that checks timing compares the server's own timestamps).
WAIT_S = 10


@pytest.fixture(autouse=True)
def fast(settings):
    # The first question opens this long after the match is made: time for the
    # player who was waiting to be woken (through Redis, or its one-second check of
    # the queue) and subscribe, so that both sockets see question_opened. A client
    # that comes later draws the open question from its snapshot.
    settings.PK_READY_MS = 1500
    settings.PK_REVEAL_MS = 30


def make_bank(open_to_players=True):
    bank = BankFactory()
    for n in range(6):
        QuestionFactory(bank=bank, type="single" if n % 2 else "true_false")
    QuestionFactory(bank=bank, type="multiple")  # not drawn: PK plays single and true/false
    Blueprint.objects.create(bank=bank, name="练习", open_to_players=open_to_players)
    return bank


def player_user(nickname):
    return ProfileFactory(nickname=nickname).user


class Pk:
    """One browser tab: sends messages, checks and keeps every frame it receives."""

    def __init__(self, user) -> None:
        self.comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/pk/")
        self.comm.scope["user"] = user
        self.frames: list[dict] = []
        self.raw: list[str] = []

    async def open(self) -> Pk:
        connected, _ = await self.comm.connect()
        assert connected
        return self

    async def send(self, message: dict) -> None:
        if isinstance(message, dict) and message.get("type") in protocol.PK_CLIENT:
            protocol.validate("client", message, "pk")
        await self.comm.send_to(text_data=json.dumps(message))

    async def send_raw(self, message) -> None:
        """A message as a misbehaving client sends it: not checked against the schemas."""
        await self.comm.send_to(text_data=json.dumps(message))

    async def recv(self, timeout=WAIT_S) -> dict:
        text = await self.comm.receive_from(timeout=timeout)
        assert_within_cap(text)
        frame = json.loads(text)
        protocol.validate("server", frame, "pk")
        self.raw.append(text)
        self.frames.append(frame)
        return frame

    async def expect(self, *types: str, timeout=WAIT_S) -> dict:
        """The next frame of one of `types`, skipping (but keeping) the others."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] in types:
                return frame

    async def seen(self, kind: str, **fields) -> dict:
        """The first frame of `kind` with these `fields`, among those received so far or
        the next ones: a frame another wait has read past is still found. (The clock
        moves a match on by itself: the next question may open before this tab's own
        ack comes, and an `expect("ack")` reads past it.)"""

        def wanted(frame: dict) -> bool:
            return frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items())

        found = next((frame for frame in self.frames if wanted(frame)), None)
        while found is None:
            frame = await self.recv()
            found = frame if wanted(frame) else None
        return found

    async def close(self) -> None:
        await self.comm.disconnect()


async def matched_pair(alice_user, bob_user):
    alice = await Pk(alice_user).open()
    await alice.send({"type": "pk_find"})
    assert (await alice.expect("pk_waiting"))["until"] > 0
    bob = await Pk(bob_user).open()
    await bob.send({"type": "pk_find"})
    for tab in (alice, bob):
        await tab.expect("pk_matched")
        await tab.expect("snapshot")
    return alice, bob


def choice(frame_question, right: bool, key):
    if frame_question["type"] == "true_false":
        return key["value"] if right else not key["value"]
    ids = [o["id"] for o in frame_question["options"]]
    return key["options"][0] if right else next(i for i in ids if i not in key["options"])


def keys_of(match_id):
    """The keys as the match's reveals show them (in the match's own option ids)."""
    return {
        q.position: key_shown(q)
        for q in PkMatch.objects.get(pk=match_id).questions.select_related("version")
    }


def explanations_of(match_id):
    return {
        q.position: q.version.explanation
        for q in PkMatch.objects.get(pk=match_id).questions.select_related("version")
    }


def no_key_before_reveal(tab: Pk, keys: dict, explanations: dict) -> None:
    """No frame before a question's reveal carries its key or explanation."""
    revealed: set[int] = set()
    for text, frame in zip(tab.raw, tab.frames, strict=True):
        if frame["type"] == "revealed":
            revealed.add(frame["question_index"])
        if frame.get("reveal"):
            revealed.add(frame["reveal"]["index"])
        for index, explanation in explanations.items():
            if index not in revealed:
                assert explanation not in text
        if frame["type"] in ("question_opened", "pk_answered", "ack", "reject"):
            assert '"key"' not in text and '"correct"' not in text


@pytest.mark.asyncio
async def test_two_players_are_matched_and_play_a_full_match_to_a_result(settings):
    await sync_to_async(make_bank)()
    alice_user = await sync_to_async(player_user)("爱丽丝")
    bob_user = await sync_to_async(player_user)("小博")
    alice, bob = await matched_pair(alice_user, bob_user)
    matched = next(f for f in alice.frames if f["type"] == "pk_matched")
    assert matched["opponent"] == {"seat": 1, "nickname": "小博"}
    match_id = await sync_to_async(lambda: PkPlayer.objects.get(user=alice_user).match_id)()
    keys = await sync_to_async(keys_of)(match_id)
    explanations = await sync_to_async(explanations_of)(match_id)
    for index in range(5):
        opened = await alice.seen("question_opened", question_index=index)
        assert await bob.seen("question_opened", question_index=index) == opened
        question = opened["question"]
        await alice.send({"type": "answer", "answer_id": f"a{index}", "question": index,
                          "choice": choice(question, True, keys[index])})  # fmt: skip
        assert (await alice.expect("ack", "reject"))["type"] == "ack"
        await bob.seen("pk_answered", question_index=index, seat=0)
        await bob.send({"type": "answer", "answer_id": f"b{index}", "question": index,
                        "choice": choice(question, index % 2 == 0, keys[index])})  # fmt: skip
        assert (await bob.expect("ack", "reject"))["type"] == "ack"
        revealed = await alice.seen("revealed", question_index=index)
        # Both answered: revealed at once, not when the time is up (by the server's
        # clock: a reveal sets next_at to its own time + PK_REVEAL_MS).
        assert revealed["next_at"] - settings.PK_REVEAL_MS < question["closes_at"]
        assert revealed["reveal"]["key"] == keys[index]
        assert revealed["players"][0]["correct"] is True
    finished = await alice.seen("finished")
    assert (await bob.seen("finished")) == finished
    assert finished["winner"] == 0
    assert finished["players"][0]["points"] > finished["players"][1]["points"] > 0
    for tab in (alice, bob):
        no_key_before_reveal(tab, keys, explanations)
    awards = await sync_to_async(
        lambda: list(XpAward.objects.filter(kind="pk").values_list("user_id", "ref"))
    )()
    assert sorted(awards) == sorted([(alice_user.pk, str(match_id)), (bob_user.pk, str(match_id))])
    # A third player waits: nobody else is in the queue.
    carol = await Pk(await sync_to_async(player_user)("卡罗")).open()
    await carol.send({"type": "pk_find"})
    await carol.expect("pk_waiting")
    assert await carol.comm.receive_nothing(timeout=0.3)
    for tab in (alice, bob, carol):
        await tab.close()


@pytest.mark.asyncio
async def test_a_second_find_keeps_one_entry_and_a_cancel_leaves_the_queue():
    await sync_to_async(make_bank)()
    user = await sync_to_async(player_user)("独行侠")
    tab = await Pk(user).open()
    first = await tab.send({"type": "pk_find"}) or await tab.expect("pk_waiting")
    await tab.send({"type": "pk_find"})
    second = await tab.expect("pk_waiting")
    assert first["until"] == second["until"]
    other = await Pk(user).open()  # the same player in a second tab
    await other.send({"type": "pk_find"})
    await other.expect("pk_waiting")
    assert await sync_to_async(PkEntry.objects.count)() == 1
    assert await sync_to_async(PkMatch.objects.count)() == 0  # never matched with oneself
    await tab.send({"type": "pk_cancel"})
    await tab.expect("pk_cancelled")
    assert await sync_to_async(PkEntry.objects.count)() == 0
    await tab.send({"type": "pk_cancel"})  # no longer waiting: refused
    assert (await tab.expect("error"))["code"] == "forbidden"
    for t in (tab, other):
        await t.close()


@pytest.mark.asyncio
async def test_a_wait_ends_after_the_longest_wait(settings):
    settings.PK_WAIT_MS = 200
    await sync_to_async(make_bank)()
    tab = await Pk(await sync_to_async(player_user)("等待者")).open()
    await tab.send({"type": "pk_find"})
    until = (await tab.expect("pk_waiting"))["until"]
    await tab.seen("pk_timeout")  # the socket checks the queue every second
    assert time.time() * 1000 >= until  # not before the longest wait (one clock: this machine)
    assert await sync_to_async(PkEntry.objects.count)() == 0
    await tab.close()


@pytest.mark.asyncio
async def test_a_late_answer_is_rejected_and_a_duplicate_answer_id_is_stored_once():
    await sync_to_async(make_bank)()
    alice_user = await sync_to_async(player_user)("甲")
    bob_user = await sync_to_async(player_user)("乙")
    alice, bob = await matched_pair(alice_user, bob_user)
    opened = await alice.expect("question_opened")
    await bob.close()  # Bob's socket does not answer; Alice's clock keeps the match going
    message = {"type": "answer", "answer_id": "same", "question": 0,
               "choice": opened["question"]["options"][0]["id"]
               if opened["question"]["type"] == "single" else True}  # fmt: skip
    await alice.send(message)
    ack = await alice.expect("ack", "reject")
    await alice.send(message)
    assert await alice.expect("ack", "reject") == ack
    assert ack["type"] == "ack"
    assert await sync_to_async(PkAnswer.objects.count)() == 1

    # Judged by the server's receive time alone: after closes_at + grace, refused
    # even though no timer has closed the question.
    bob_player = await sync_to_async(PkPlayer.objects.get)(user=bob_user)
    match = await sync_to_async(PkMatch.objects.get)(pk=bob_player.match_id)
    late = await sync_to_async(pk_answers.answer_submit)(
        player=bob_player,
        answer_id="late",
        question_index=0,
        response=message["choice"],
        received_at=match.closes_at + match.grace_ms + 1,
    )
    assert (late.accepted, late.reason) == (False, "too_late")
    assert await sync_to_async(PkAnswer.objects.count)() == 1
    await alice.close()


@pytest.mark.asyncio
async def test_a_player_cannot_answer_for_the_other_or_send_host_commands():
    await sync_to_async(make_bank)()
    alice_user = await sync_to_async(player_user)("甲甲")
    bob_user = await sync_to_async(player_user)("乙乙")
    stranger = await Pk(await sync_to_async(player_user)("路人")).open()
    await stranger.send({"type": "answer", "answer_id": "x", "question": 0, "choice": True})
    assert (await stranger.expect("error"))["code"] == "forbidden"
    alice, bob = await matched_pair(alice_user, bob_user)
    opened = await alice.expect("question_opened")
    bob_token = next(f for f in bob.frames if f["type"] == "pk_matched")["token"]
    await alice.send({"type": "command", "name": "next"})
    assert (await alice.expect("error"))["code"] == "unknown_type"
    stranger_resume = {"type": "pk_resume", "token": bob_token}
    await stranger.send(stranger_resume)  # someone else's token: not theirs
    assert (await stranger.expect("error"))["code"] == "unknown_player"
    question = opened["question"]
    choice_ = question["options"][0]["id"] if question["type"] == "single" else True
    await alice.send_raw({"type": "answer", "answer_id": "a", "question": 0, "choice": choice_,
                      "player": 999, "seat": 1})  # fmt: skip
    await alice.expect("ack")
    seats = await sync_to_async(
        lambda: list(PkAnswer.objects.values_list("player__seat", flat=True))
    )()
    assert seats == [0]
    match = await sync_to_async(PkMatch.objects.get)()
    assert (match.status, match.question_index) == ("question_open", 0)
    for tab in (alice, bob, stranger):
        await tab.close()


@pytest.mark.asyncio
async def test_a_reconnect_resumes_the_match_with_the_score():
    await sync_to_async(make_bank)()
    alice_user = await sync_to_async(player_user)("回来")
    bob_user = await sync_to_async(player_user)("对手")
    alice, bob = await matched_pair(alice_user, bob_user)
    match_id = await sync_to_async(lambda: PkPlayer.objects.get(user=alice_user).match_id)()
    keys = await sync_to_async(keys_of)(match_id)
    token = next(f for f in alice.frames if f["type"] == "pk_matched")["token"]
    opened = await alice.expect("question_opened")
    right = choice(opened["question"], True, keys[0])
    await alice.send({"type": "answer", "answer_id": "r0", "question": 0, "choice": right})
    await alice.expect("ack")
    await bob.send({"type": "answer", "answer_id": "b0", "question": 0,
                    "choice": choice(opened["question"], False, keys[0])})  # fmt: skip
    revealed = await alice.expect("revealed")
    points = revealed["players"][0]["points"]
    assert points > 0
    await alice.close()
    back = await Pk(alice_user).open()
    await back.send({"type": "pk_resume", "token": token})
    assert (await back.expect("pk_matched"))["token"] == token
    snapshot = await back.expect("snapshot")
    assert snapshot["players"][0]["points"] == points
    assert snapshot["you"]["seat"] == 0
    # A find from a fresh tab also comes back to the match, not to the queue.
    again = await Pk(alice_user).open()
    await again.send({"type": "pk_find"})
    assert (await again.expect("pk_matched"))["token"] == token
    for tab in (back, bob, again):
        await tab.close()


@pytest.mark.asyncio
async def test_bad_messages_get_an_error_frame_and_change_nothing():
    await sync_to_async(make_bank)()
    alice, bob = await matched_pair(
        await sync_to_async(player_user)("坏甲"), await sync_to_async(player_user)("坏乙")
    )
    await alice.expect("question_opened")
    await alice.comm.send_to(text_data="{not json")
    assert (await alice.expect("error"))["code"] == "bad_json"
    await alice.comm.send_to(bytes_data=b"\x00")
    assert (await alice.expect("error"))["code"] == "text_only"
    await alice.send_raw(["answer"])
    assert (await alice.expect("error"))["code"] == "bad_message"
    await alice.send({"type": "join", "nickname": "x"})
    assert (await alice.expect("error"))["code"] == "unknown_type"
    await alice.send({"type": "pk_find"})
    assert (await alice.expect("error"))["code"] == "forbidden"
    for bad in (
        {"type": "answer", "question": 0, "choice": True},  # no answer_id
        {"type": "answer", "answer_id": "q", "question": 3, "choice": True},
        {"type": "answer", "answer_id": "q", "question": "0", "choice": True},
        {"type": "answer", "answer_id": "q", "question": 0, "choice": {"x": 1}},
    ):
        await alice.send_raw(bad)
        assert (await alice.expect("reject"))["type"] == "reject"
    assert await sync_to_async(PkAnswer.objects.count)() == 0
    anonymous = await Pk(AnonymousUser()).open()
    await anonymous.send({"type": "pk_find"})
    assert (await anonymous.expect("error"))["code"] == "sign_in_required"
    for tab in (alice, bob, anonymous):
        await tab.close()


@pytest.mark.asyncio
async def test_a_child_shows_only_a_nickname_and_needs_consent():
    await sync_to_async(make_bank)()
    kid = await sync_to_async(child)(nickname="")
    school = await sync_to_async(lambda: kid.profile.school.name)()
    tab = await Pk(kid).open()
    await tab.send({"type": "pk_find"})
    assert (await tab.expect("error"))["code"] == "consent_required"
    await tab.close()

    from tests.factories import GuardianConsentFactory

    await sync_to_async(GuardianConsentFactory)(child=kid)
    adult = await sync_to_async(player_user)("大人")
    kid_tab, adult_tab = await matched_pair(kid, adult)
    for text in adult_tab.raw:
        assert kid.username not in text and school not in text
    matched = next(f for f in adult_tab.frames if f["type"] == "pk_matched")
    assert matched["opponent"]["nickname"] not in ("", kid.username)
    for t in (kid_tab, adult_tab):
        await t.close()


@pytest.mark.asyncio
async def test_without_open_questions_there_is_no_match():
    await sync_to_async(make_bank)(open_to_players=False)
    a = await Pk(await sync_to_async(player_user)("无题甲")).open()
    await a.send({"type": "pk_find"})
    await a.expect("pk_waiting")
    b = await Pk(await sync_to_async(player_user)("无题乙")).open()
    await b.send({"type": "pk_find"})
    assert (await b.expect("error"))["code"] == "no_questions"
    assert await sync_to_async(PkMatch.objects.count)() == 0
    await asyncio.gather(a.close(), b.close())


def test_the_pk_chapter_of_the_protocol_docs_has_valid_examples_of_every_message():
    import re
    from pathlib import Path

    from django.conf import settings

    text = (Path(settings.BASE_DIR) / "docs" / "protocol.md").read_text(encoding="utf-8")
    chapter = re.search(r"\n## 1-v-1 PK.*?(?=\n## )", text, flags=re.S).group(0)
    client, server = chapter.split("### PK client → server")[1].split("### PK server → client")
    for side, part in (("client", client), ("server", server)):
        examples = re.findall(r"```json\n(.*?)```", part, flags=re.DOTALL)
        assert examples
        for example in examples:
            protocol.validate(side, json.loads(example), "pk")
        for kind in protocol.PK_SCHEMAS[side]:
            assert f"`{kind}`" in part, (side, kind)
    for code in protocol.PK_ERROR_CODES:
        assert f"`{code}`" in text, code


def test_the_pk_page_is_for_signed_in_players(client):
    assert client.get("/live/pk/").status_code == 302
    client.force_login(player_user("页面"))
    page = client.get("/live/pk/")
    assert page.status_code == 200
    assert b'"socketPath": "/ws/pk/"' in page.content and b"data-find" in page.content


@pytest.mark.asyncio
async def test_a_database_failure_under_a_message_is_a_retry_and_the_socket_stays(monkeypatch):
    """A lost connection or a deadlock the database broke: the message gets `retry`
    (nothing was stored), the socket stays open, and the resend goes through."""
    from django.db import OperationalError

    await sync_to_async(make_bank)()
    user = await sync_to_async(player_user)("重试者")
    real_finds = matching.pk_finds
    calls = []

    def failing_once(users):
        calls.append(users)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return real_finds(users)

    monkeypatch.setattr(matching, "pk_finds", failing_once)
    tab = await Pk(user).open()
    await tab.send({"type": "pk_find"})
    refused = await tab.expect("error")
    assert refused == {"type": "error", "code": "retry", "detail": "pk_find"}
    assert await sync_to_async(PkEntry.objects.count)() == 0
    await tab.send({"type": "pk_find"})  # the same socket, the same message again
    await tab.expect("pk_waiting")
    assert await sync_to_async(PkEntry.objects.count)() == 1
    await tab.close()
