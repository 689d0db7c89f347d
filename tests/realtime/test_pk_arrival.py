"""PK answers are judged by when they arrived, not by when they are processed, and the
match's clock keeps to its schedule (issue 13): under load an answer can wait in its
process's batch while the clock closes, reveals and opens the next question."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from realtime import pk_consumer
from realtime.batch import batcher as real_batcher
from realtime.live.responses import public_key
from realtime.models import PkAnswer, PkMatch, PkPlayer
from realtime.pk import answers as pk_answers
from realtime.pk import clock
from tests.realtime.test_pk import choice, keys_of, make_bank, matched_pair, player_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]


@pytest.fixture(autouse=True)
def short_match(settings):
    settings.PK_READY_MS = 1500
    settings.PK_QUESTION_MS = 1200
    settings.PK_REVEAL_MS = 300


class Held:
    """A batcher whose submits for one user wait until released: the socket has
    stamped the message, its processing is held (as behind a long queue on the database
    thread). Everyone else's go through."""

    def __init__(self, write, user_id: int) -> None:
        self.write, self.user_id = write, user_id
        self.gate = asyncio.Event()
        self.waiting = 0

    async def submit(self, request):
        if request.player.user_id == self.user_id:
            self.waiting += 1
            await self.gate.wait()
        return await real_batcher(self.write, pk_answers.THREAD).submit(request)


def hold(monkeypatch, write, user) -> Held:
    held = Held(write, user.pk)

    def batcher(fn=None, executor=None):
        return held if fn is write else real_batcher(fn, executor)

    monkeypatch.setattr(pk_consumer, "batcher", batcher)
    return held


async def until(condition, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_an_answer_that_arrived_in_time_counts_though_processed_after_the_deadline(
    monkeypatch,
):
    await sync_to_async(make_bank)()
    alice_user = await sync_to_async(player_user)("准时")
    bob_user = await sync_to_async(player_user)("迟到")
    alice, bob = await matched_pair(alice_user, bob_user)
    match_id = await sync_to_async(lambda: PkPlayer.objects.get(user=alice_user).match_id)()
    keys = await sync_to_async(keys_of)(match_id)
    opened = await alice.seen("question_opened", question_index=0)
    question = opened["question"]
    held = hold(monkeypatch, pk_answers.answers_stored, alice_user)

    # Alice answers in time; its processing is held past the question's deadline.
    await alice.send({"type": "answer", "answer_id": "in-time", "question": 0,
                      "choice": choice(question, True, keys[0])})  # fmt: skip
    await until(lambda: held.waiting == 1)
    # The clock goes on meanwhile: the question closes when its time is up, is
    # revealed, and the next one opens, on schedule.
    revealed = await bob.seen("revealed", question_index=0)
    next_open = await bob.seen("question_opened", question_index=1)
    assert revealed["players"][0]["correct"] is None  # not processed yet
    assert next_open["question"]["opens_at"] == revealed["next_at"]
    # Bob answers question 0 now, after its window: refused; and question 1 in time,
    # while Alice's answer to question 0 still waits: accepted.
    await bob.send({"type": "answer", "answer_id": "late", "question": 0,
                    "choice": choice(question, True, keys[0])})  # fmt: skip
    assert (await bob.seen("reject", answer_id="late"))["reason"] == "too_late"
    await bob.send({"type": "answer", "answer_id": "next", "question": 1,
                    "choice": choice(next_open["question"], True, keys[1])})  # fmt: skip
    assert (await bob.seen("ack", answer_id="next"))["type"] == "ack"
    match = await sync_to_async(PkMatch.objects.get)(pk=match_id)
    assert match.question_index >= 1  # the match has moved past question 0
    assert held.waiting == 1

    held.gate.set()
    ack = await alice.seen("ack", answer_id="in-time")
    assert ack["received_at"] <= question["closes_at"]
    stored = await sync_to_async(
        lambda: sorted(PkAnswer.objects.values_list("answer_id", "correct", "elapsed_ms"))
    )()
    assert [(a, c) for a, c, _ in stored] == [("in-time", True), ("next", True)]
    assert all(0 <= elapsed <= 1200 for _a, _c, elapsed in stored)
    # Scored: the final result counts Alice's answer to question 0.
    finished = await alice.seen("finished")
    assert finished["players"][0]["points"] > 0
    assert finished["players"][1]["points"] > 0
    for tab in (alice, bob):
        await tab.close()


@pytest.mark.asyncio
async def test_a_late_clock_step_opens_the_question_at_its_scheduled_time(monkeypatch):
    """The step that opens question 1 runs 400 ms late (its processing is held): the
    question still counts from the scheduled `next_at`, its window is the same, an
    answer sent as soon as the frame arrives is accepted, and the match after it is
    not pushed back."""
    await sync_to_async(make_bank)()
    alice_user = await sync_to_async(player_user)("时钟甲")
    bob_user = await sync_to_async(player_user)("时钟乙")
    alice, bob = await matched_pair(alice_user, bob_user)
    match_id = await sync_to_async(lambda: PkPlayer.objects.get(user=alice_user).match_id)()
    keys = await sync_to_async(keys_of)(match_id)
    first = (await alice.seen("question_opened", question_index=0))["question"]
    for tab, answer_id in ((alice, "a0"), (bob, "b0")):
        await tab.send({"type": "answer", "answer_id": answer_id, "question": 0,
                        "choice": choice(first, True, keys[0])})  # fmt: skip
    revealed = await alice.seen("revealed", question_index=0)

    steps = clock.match_advances

    def late(match_ids):
        import time

        due = revealed["next_at"]
        if due <= time.time() * 1000 < due + 400:
            time.sleep((due + 400) / 1000 - time.time())
        return steps(match_ids)

    monkeypatch.setattr(clock, "match_advances", late)
    opened = await alice.seen("question_opened", question_index=1)
    assert opened["server_now"] >= revealed["next_at"] + 400  # the step ran late
    question = opened["question"]
    assert question["opens_at"] == revealed["next_at"]  # counted from the schedule
    assert question["closes_at"] == revealed["next_at"] + 1200
    await alice.send({"type": "answer", "answer_id": "a1", "question": 1,
                      "choice": choice(question, True, keys[1])})  # fmt: skip
    assert (await alice.expect("ack", "reject"))["type"] == "ack"
    for tab in (alice, bob):
        await tab.close()


def make_match():
    """Two players matched through the services, the first question open now."""
    make_bank()
    from realtime.pk import matching

    a, b = player_user("服务甲"), player_user("服务乙")
    matching.pk_find(user=a)
    player = matching.pk_find(user=b)
    PkMatch.objects.filter(pk=player.match_id).update(next_at=0)
    clock.match_advance(match_id=player.match_id)
    return PkPlayer.objects.select_related("match").get(match_id=player.match_id, seat=0)


def right(question):
    key = public_key(question)
    return key["value"] if "value" in key else key["options"][0]


def test_an_answer_stamped_in_its_window_is_accepted_after_the_match_moved_on():
    player = make_match()
    match = PkMatch.objects.get(pk=player.match_id)
    question = match.questions.select_related("version").get(position=0)
    assert (question.opened_at, question.closes_at) == (match.opened_at, match.closes_at)
    last_in_time = match.closes_at + match.grace_ms  # the last moment the rules accept
    # The clock moves past question 0 (closed, revealed, question 1 open) before the
    # answers are processed.
    later = last_in_time + 10_000
    for _ in range(3):
        with transaction.atomic():
            assert clock.step(clock.locked_match(match.pk), now=later)
    assert PkMatch.objects.get(pk=match.pk).question_index == 1
    other = PkPlayer.objects.get(match_id=player.match_id, seat=1)

    def submit(who, answer_id, index, at):
        return pk_answers.answer_submit(
            player=who, answer_id=answer_id, question_index=index,
            response=right(question), received_at=at,
        )  # fmt: skip

    accepted = submit(player, "x", 0, last_in_time)
    assert accepted.accepted and accepted.received_at == last_in_time
    assert (submit(player, "y", 0, last_in_time).reason) == "already_answered"
    assert (submit(other, "z", 0, last_in_time + 1).reason) == "too_late"
    assert (submit(other, "w", 2, last_in_time).reason) == "not_open"  # not opened yet
    assert (submit(other, "v", 7, last_in_time).reason) == "not_current_question"
    assert list(PkAnswer.objects.values_list("answer_id", "correct")) == [("x", True)]
    assert submit(player, "x", 0, later).received_at == last_in_time  # a resend: the same ack
