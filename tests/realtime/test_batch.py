"""The answer batcher (realtime.batch): one answer the database refuses cannot sink the
answers that arrived with it."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError

from realtime.batch import AnswerBatcher
from realtime.live import answers, commands, services, state
from realtime.models import LiveAnswer
from tests.support.live import make_round

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("districts_loaded")]


@pytest.mark.asyncio
async def test_a_batch_with_one_row_the_database_refuses_stores_and_acks_every_other_answer(
    monkeypatch,
):
    live = await sync_to_async(make_round)(types=["numeric"])
    await sync_to_async(commands.round_command)(live=live, actor=live.host, name="start")
    players = [
        await sync_to_async(services.player_join)(live=live, nickname=f"P{n}") for n in range(8)
    ]
    real, sizes = answers.answers_submit, []

    def database(requests):
        """The database as it fails on one row: the whole transaction is refused."""
        sizes.append(len(requests))
        if any(r.answer_id == "poison" for r in requests):
            raise DatabaseError("value out of range")
        return real(requests)

    monkeypatch.setattr(answers, "answers_submit", database)
    batcher = AnswerBatcher()
    now = state.now_ms()
    ids = ["poison" if n == 3 else f"x{n}" for n in range(len(players))]
    results = await asyncio.gather(
        *(
            batcher.submit(answers.AnswerRequest(p, answer_id, 0, 42, now))
            for p, answer_id in zip(players, ids, strict=True)
        ),
        return_exceptions=True,
    )
    assert isinstance(results[3], DatabaseError)  # its client is told to resend
    assert all(r.accepted for n, r in enumerate(results) if n != 3)
    stored = await sync_to_async(
        lambda: sorted(LiveAnswer.objects.values_list("answer_id", flat=True))
    )()
    assert stored == sorted(i for i in ids if i != "poison")
    assert max(sizes) > 1  # they did arrive together, and were split only after the failure


@pytest.mark.asyncio
async def test_a_lone_answer_that_fails_is_told_to_resend_and_the_batcher_goes_on(monkeypatch):
    live = await sync_to_async(make_round)(types=["numeric"])
    await sync_to_async(commands.round_command)(live=live, actor=live.host, name="start")
    player = await sync_to_async(services.player_join)(live=live, nickname="Solo")
    real, failures = answers.answers_submit, [DatabaseError("connection lost")]

    def database(requests):
        if failures:
            raise failures.pop()
        return real(requests)

    monkeypatch.setattr(answers, "answers_submit", database)
    batcher = AnswerBatcher()
    request = answers.AnswerRequest(player, "a1", 0, 7, state.now_ms())
    with pytest.raises(DatabaseError):
        await batcher.submit(request)
    assert (await batcher.submit(request)).accepted  # the resend
    assert await sync_to_async(LiveAnswer.objects.count)() == 1
