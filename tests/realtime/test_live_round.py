"""A live round over WebSockets: host, screen and players through the real routing,
consumers, services and relay (in-memory channel layer here; Redis in the CI run)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from realtime.consumers import RoundConsumer
from realtime.live import answers, commands, services, snapshots, state
from realtime.live.selectors import screen_key
from realtime.models import LiveAnswer, LivePlayer, LiveQuestion, LiveRound
from realtime.security import TokenBucket
from tests.factories import UserFactory, child
from tests.support.live import (
    TYPES,
    Socket,
    answer_acked,
    choice_for,
    command,
    host_socket,
    make_round,
    player_socket,
    secrets_of,
    send_answer,
)
from tests.support.options import choice_shown, key_in_frame, shown

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]


@pytest.mark.parametrize("kind", ["classic", "accuracy"])
@pytest.mark.asyncio
async def test_a_full_round_never_shows_a_player_the_key_before_the_reveal(kind):
    live = await sync_to_async(make_round)(kind=kind)
    versions = await sync_to_async(
        lambda: [q.version for q in live.questions.select_related("version").order_by("position")]
    )()
    host = await host_socket(live)
    screen = Socket(live)
    assert (await screen.open({"type": "screen", "key": screen_key(live)}))["role"] == "screen"
    alice, _ = await player_socket(live, "Alice")
    bob, _ = await player_socket(live, "小明")

    for index, version in enumerate(versions):
        await command(host, "start" if index == 0 else "next")
        for player in (alice, bob):
            opened = await player.expect("question_opened")
            assert opened["question"]["index"] == index
        question = opened["question"]
        await answer_acked(alice, f"a{index}", index, choice_shown(version, question, True))
        await answer_acked(bob, f"b{index}", index, choice_shown(version, question, False))
        await command(host, "close")
        for player in (alice, bob):
            await player.expect("question_closed")
            await player.send({"type": "snapshot"})
            await player.expect("snapshot")
        # Everything a player has received so far holds nothing of this key.
        for player in (alice, bob):
            text = "\n".join(player.raw)
            for secret in secrets_of(version):
                assert secret not in text, (version.type, secret)
            for ids in (v for k, v in key_in_frame(version, question).items() if k != "value"):
                if isinstance(ids, list):  # the key as this round shows it
                    assert json.dumps(ids) not in text, (version.type, ids)
        await command(host, "reveal")
        revealed = await alice.expect("revealed")
        assert revealed["reveal"]["key"] == key_in_frame(version, question)
        if version.type in ("single", "multiple"):  # charted in the round's ids too
            shown_ids = {o["id"] for o in question["options"]}
            assert set(revealed["reveal"]["distribution"]) <= shown_ids
        assert revealed["reveal"]["explanation"] == version.explanation
        assert revealed["you"]["correct"] is True and revealed["you"]["gained"] > 0
        bob_revealed = await bob.expect("revealed")
        assert bob_revealed["you"]["correct"] is False and bob_revealed["you"]["gained"] == 0
        for player in (alice, bob):
            player.raw.clear()
    # Stored, marked and scored in the version's ids, whatever the round showed.
    stored = await sync_to_async(
        lambda: {
            (a.player.nickname, a.question.position): (a.response, a.correct)
            for a in LiveAnswer.objects.select_related("player", "question")
        }
    )()
    for index, version in enumerate(versions):
        assert stored["Alice", index] == (choice_for(version, right=True), True)
        assert stored["小明", index] == (choice_for(version, right=False), False)

    await command(host, "finish")
    finished = await alice.expect("finished")
    assert finished["leaderboard"][0]["nickname"] == "Alice"
    assert finished["you"]["rank"] == 1
    if kind == "accuracy":
        assert finished["you"]["points"] == 1000 * len(TYPES)
    for socket in (host, screen, alice, bob):
        await socket.close()


@pytest.mark.asyncio
async def test_a_player_socket_sending_host_commands_changes_nothing():
    live = await sync_to_async(make_round)(types=["single"])
    player, _ = await player_socket(live, "Mallory")
    for message in (
        {"type": "command", "name": "start"},
        {"type": "command", "name": "kick", "player": 1},
        {"type": "command", "name": "lock"},
        {"type": "host"},
        {"type": "screen", "key": screen_key(live)},
    ):
        await player.send(message)
        error = await player.expect("error")
        assert error["code"] == "forbidden"
    fresh = await sync_to_async(LiveRound.objects.get)(pk=live.pk)
    assert (fresh.status, fresh.seq, fresh.locked) == ("lobby", 0, False)
    await player.close()


@pytest.mark.asyncio
async def test_someone_signed_in_who_is_not_the_host_cannot_host():
    live = await sync_to_async(make_round)(types=["single"])
    other = Socket(live, user=await sync_to_async(UserFactory)(role="organizer"))
    assert (await other.open({"type": "host"}))["code"] == "forbidden"
    forged = Socket(live)
    assert (await forged.open({"type": "screen", "key": "1:forged"}))["code"] == "forbidden"
    await other.close()
    await forged.close()


@pytest.mark.asyncio
async def test_a_duplicate_answer_id_is_acked_once_more_and_stored_once():
    live = await sync_to_async(make_round)(types=["single"])
    version = await sync_to_async(lambda: live.questions.get().version)()
    host = await host_socket(live)
    player, _ = await player_socket(live, "Alice")
    await command(host, "start")
    opened = await player.expect("question_opened")
    right = choice_shown(version, opened["question"], right=True)
    first = await answer_acked(player, "x1", 0, right)
    again = await answer_acked(player, "x1", 0, right)
    assert first["received_at"] == again["received_at"]
    assert (await send_answer(player, "x2", 0, right))["reason"] == "already_answered"
    assert await sync_to_async(LiveAnswer.objects.count)() == 1
    await host.close()
    await player.close()


@pytest.mark.asyncio
async def test_a_late_answer_is_rejected_by_server_time_whatever_the_timers_did():
    live = await sync_to_async(make_round)(types=["single"])
    version = await sync_to_async(lambda: live.questions.get().version)()
    host = await host_socket(live)
    player, _ = await player_socket(live, "Alice")
    await command(host, "start")
    opened = await player.expect("question_opened")
    # As if the question's time and grace had passed: whether or not the close timer
    # has run by now, the answer's receive time decides.
    past = state.now_ms() - live.grace_ms - 1
    await sync_to_async(LiveRound.objects.filter(pk=live.pk).update)(
        opened_at=past - 20_000, closes_at=past
    )
    reject = await send_answer(player, "late", 0, choice_shown(version, opened["question"], True))
    assert reject == {"type": "reject", "answer_id": "late", "reason": "too_late"}
    assert not await sync_to_async(LiveAnswer.objects.exists)()
    await host.close()
    await player.close()


@pytest.mark.asyncio
async def test_an_answer_received_in_time_counts_after_an_early_close_until_the_reveal():
    live = await sync_to_async(make_round)(types=["single"])
    question = await sync_to_async(lambda: live.questions.select_related("version").get())()
    right = shown(question, choice_for(question.version, right=True))
    host = await host_socket(live)
    await command(host, "start")
    await host.expect("question_opened")
    player = await sync_to_async(services.player_join)(live=live, nickname="Bob")
    received = state.now_ms()
    await command(host, "close")
    await host.expect("question_closed")
    submit = sync_to_async(answers.answer_submit)
    ok = await submit(
        player=player,
        answer_id="a",
        question_index=0,
        response=right,
        received_at=received,
    )
    assert ok.accepted
    await command(host, "reveal")
    await host.expect("revealed")
    late = await submit(
        player=player,
        answer_id="b",
        question_index=0,
        response=right,
        received_at=received,
    )
    assert (late.accepted, late.reason) == (False, "not_open")
    await host.close()


def test_fifty_concurrent_submits_from_one_player_store_one_row():
    live = make_round(types=["single"])
    question = live.questions.get()
    commands.round_command(live=live, actor=live.host, name="start")
    player = services.player_join(live=live, nickname="Alice")
    received = state.now_ms()

    def submit(n):
        try:
            return answers.answer_submit(
                player=player,
                answer_id=f"id{n % 5}",
                question_index=0,
                response=shown(question, choice_for(question.version, right=n % 2 == 0)),
                received_at=received + n,
            )
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(submit, range(50)))
    stored = LiveAnswer.objects.get()
    accepted = [r for r in results if r.accepted]
    assert {r.answer_id for r in accepted} == {stored.answer_id}
    assert {r.received_at for r in accepted} == {stored.received_at}
    assert {r.reason for r in results if not r.accepted} <= {"already_answered"}


@pytest.mark.asyncio
async def test_a_snapshot_after_missed_frames_brings_a_player_up_to_date():
    live = await sync_to_async(make_round)(types=["single", "true_false"])
    host = await host_socket(live)
    player, welcome = await player_socket(live, "Alice")
    await player.close()  # the phone loses its network
    await command(host, "start")
    await command(host, "close")
    await command(host, "reveal")
    await host.expect("revealed")

    back = Socket(live)
    assert (await back.open({"type": "resume", "token": welcome["token"]}))["type"] == "welcome"
    snapshot = await back.expect("snapshot")
    assert (snapshot["seq"], snapshot["status"], snapshot["question_index"]) == (3, "revealed", 0)
    assert snapshot["reveal"]["index"] == 0
    assert snapshot["you"]["nickname"] == "Alice"
    assert len(snapshot["permutations"]) == 2
    await host.close()
    await back.close()


@pytest.mark.asyncio
async def test_a_reconnecting_player_keeps_score_and_streak():
    live = await sync_to_async(make_round)(types=["single", "true_false"])
    version = await sync_to_async(lambda: live.questions.get(position=0).version)()
    host = await host_socket(live)
    player, welcome = await player_socket(live, "Alice")
    await command(host, "start")
    opened = await player.expect("question_opened")
    await answer_acked(player, "a", 0, choice_shown(version, opened["question"], True))
    await command(host, "close")
    await command(host, "reveal")
    points = (await player.expect("revealed"))["you"]["points"]
    await player.close()

    back = Socket(live)
    await back.open({"type": "resume", "token": welcome["token"]})
    you = (await back.expect("snapshot"))["you"]
    assert (you["points"], you["streak"], you["rank"]) == (points, 1, 1)
    assert points > 0
    await host.close()
    await back.close()


@pytest.mark.asyncio
async def test_each_player_gets_a_private_option_order_and_one_shared_question_frame():
    live = await sync_to_async(make_round)(types=["single"])
    host = await host_socket(live)
    players = [await player_socket(live, f"P{n}") for n in range(6)]
    orders = set()
    for socket, _ in players:
        snap = next(f for f in socket.frames if f["type"] == "snapshot")
        orders.add(tuple(snap["permutations"][0]))
        assert sorted(snap["permutations"][0]) == [0, 1, 2, 3]
    assert len(orders) > 1
    await command(host, "start")
    texts = set()
    for socket, _ in players:
        await socket.expect("question_opened")
        texts.add(socket.raw[-1])
    assert len(texts) == 1  # one shared, pre-serialised frame
    for socket, _ in players:
        await socket.close()
    await host.close()


@pytest.mark.asyncio
async def test_kick_and_lock():
    live = await sync_to_async(make_round)(types=["single"])
    host = await host_socket(live)
    player, welcome = await player_socket(live, "Eve")
    await command(host, "lock")
    late = Socket(live)
    assert (await late.open({"type": "join", "nickname": "Late"}))["code"] == "locked"
    await command(host, "kick", player=welcome["player"]["id"])
    assert (await player.expect("kicked"))["player"] == welcome["player"]["id"]
    closed = await player.comm.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4001}
    again = Socket(live)
    assert (await again.open({"type": "resume", "token": welcome["token"]}))["code"] == (
        "unknown_player"
    )
    for socket in (host, player, late, again):
        await socket.close()


@pytest.mark.asyncio
async def test_a_child_without_consent_cannot_join():
    live = await sync_to_async(make_round)(types=["single"])
    kid = Socket(live, user=await sync_to_async(child)())
    assert (await kid.open({"type": "join", "nickname": "Kid"}))["code"] == "consent_required"
    assert not await sync_to_async(LivePlayer.objects.exists)()
    await kid.close()


@pytest.mark.asyncio
async def test_bad_messages_get_clear_errors_and_change_nothing():
    live = await sync_to_async(make_round)(types=["single"])
    host = await host_socket(live)
    player, _ = await player_socket(live, "Alice")
    await command(host, "start")
    await player.expect("question_opened")
    cases = [
        ("not json", "bad_json"),
        (json.dumps([1]), "bad_message"),
        (json.dumps({"type": "teleport"}), "unknown_type"),
        (
            json.dumps({"type": "answer", "answer_id": "a", "question": "0", "choice": "x"}),
            "bad_field",
        ),
    ]
    for text, code in cases:
        await player.comm.send_to(text_data=text)
        assert (await player.expect("error"))["code"] == code
    for answer_id, index, reason in (
        ("a", 0, "bad_response"),
        ("", 0, "bad_answer_id"),
        ("b", 5, "not_current_question"),
    ):
        reply = await send_answer(player, answer_id, index, "nope")
        assert (reply["type"], reply["reason"]) == ("reject", reason)
    await command(host, "finish")
    assert (await host.expect("error"))["code"] == "not_allowed_in_status"
    assert not await sync_to_async(LiveAnswer.objects.exists)()
    await host.close()
    await player.close()


# Every answer that does not fit its question's type, by type: blanks, wrong shapes, too
# long. (NaN and Infinity are not JSON: the protocol boundary refuses them, below.)
MISFITS = {
    "single": ['""', "null", '["%(option)s"]', "true"],
    "multiple": ["[]", '""', '["%(option)s", "%(option)s"]', '"%(option)s"'],
    "true_false": ['""', "null", '"true"', "1"],
    "fill": ['""', '"   "', '"%(long)s"', "[]"],
    "numeric": ['""', '"   "', "true", "[1]", '"' + "1" * 51 + '"'],  # text over 50
    "ordering": ["[]", '""', '["%(option)s", "%(option)s"]'],
}


@pytest.mark.asyncio
async def test_a_blank_or_misfit_answer_is_rejected_for_every_type_and_a_fitting_one_acked(
    monkeypatch,
):
    monkeypatch.setattr(TokenBucket, "allow", lambda self: True)  # thirty answers in a second
    live = await sync_to_async(make_round)(types=TYPES)
    versions = await sync_to_async(
        lambda: [q.version for q in live.questions.select_related("version").order_by("position")]
    )()
    host = await host_socket(live)
    player, _ = await player_socket(live, "Alice")
    for index, version in enumerate(versions):
        await command(host, "start" if index == 0 else "next")
        question = (await player.expect("question_opened"))["question"]
        parts = {"option": (question["options"] or [{"id": "x"}])[0]["id"], "long": "长" * 201}
        for n, choice in enumerate(MISFITS[version.type]):
            text = (
                f'{{"type": "answer", "answer_id": "bad-{index}-{n}", "question": {index}, '
                f'"choice": {choice % parts}}}'
            )
            await player.comm.send_to(text_data=text)
            reply = await player.expect("ack", "reject", "error")
            assert (reply["type"], reply.get("reason")) == ("reject", "bad_response"), choice
        await answer_acked(player, f"good-{index}", index, choice_shown(version, question, True))
        await command(host, "close")
        await command(host, "reveal")
    stored = await sync_to_async(
        lambda: sorted(LiveAnswer.objects.values_list("answer_id", flat=True))
    )()
    assert stored == sorted(f"good-{index}" for index in range(len(versions)))
    await host.close()
    await player.close()


@pytest.mark.asyncio
async def test_voiding_a_question_rescores_the_round_from_the_recorded_answers():
    live = await sync_to_async(make_round)(types=["single", "true_false"])
    versions = await sync_to_async(
        lambda: [q.version for q in live.questions.select_related("version").order_by("position")]
    )()
    host = await host_socket(live)
    player, _ = await player_socket(live, "Alice")
    for index, version in enumerate(versions):
        await command(host, "start" if index == 0 else "next")
        opened = await player.expect("question_opened")
        await answer_acked(
            player, f"a{index}", index, choice_shown(version, opened["question"], True)
        )
        await command(host, "close")
        await command(host, "reveal")
        before = (await player.expect("revealed"))["you"]["points"]
    await command(host, "void", question=0)
    voided = await player.expect("question_voided")
    assert voided["question_index"] == 0
    after = voided["you"]["points"]
    assert 0 < after < before
    assert await sync_to_async(LiveQuestion.objects.filter(round=live, voided=True).count)() == 1
    await host.close()
    await player.close()


@pytest.mark.asyncio
async def test_the_close_timer_closes_the_question_once_time_is_up():
    live = await sync_to_async(make_round)(types=["single"], seconds=1)
    await sync_to_async(LiveRound.objects.filter(pk=live.pk).update)(grace_ms=100)
    host = await host_socket(live)
    await command(host, "start")
    await host.expect("question_opened")
    closed = await host.expect("question_closed", timeout=3)
    assert closed["seq"] == 2
    await asyncio.sleep(0.1)
    assert (await sync_to_async(LiveRound.objects.get)(pk=live.pk)).status == "question_closed"
    await host.close()


def test_a_batch_of_answers_is_judged_one_by_one_and_stores_one_row_per_player():
    live = make_round(types=["single"])
    other = make_round(types=["single"])
    question = live.questions.get()
    commands.round_command(live=live, actor=live.host, name="start")
    commands.round_command(live=other, actor=other.host, name="start")
    ana, ben, cai, dan = (services.player_join(live=live, nickname=n) for n in "ABCD")
    eve = services.player_join(live=other, nickname="E")
    commands.player_kick(live=live, actor=live.host, player_id=dan.pk)
    now = state.now_ms()
    right = shown(question, choice_for(question.version, right=True))
    theirs = other.questions.get()
    elsewhere = shown(theirs, choice_for(theirs.version, right=True))
    late = LiveRound.objects.get(pk=live.pk).closes_at + live.grace_ms + 1
    requests = [
        answers.AnswerRequest(ana, "a1", 0, right, now),
        answers.AnswerRequest(ana, "a1", 0, right, now + 5),  # the same answer resent
        answers.AnswerRequest(ana, "a2", 0, right, now + 9),  # a second answer
        answers.AnswerRequest(ben, "b1", 0, "not-an-option", now),
        answers.AnswerRequest(ben, "b2", 0, right, late),
        answers.AnswerRequest(cai, "", 0, right, now),
        answers.AnswerRequest(cai, "c1", 3, right, now),
        answers.AnswerRequest(dan, "d1", 0, right, now),
        answers.AnswerRequest(eve, "e1", 0, elsewhere, now),
    ]
    results = answers.answers_submit(requests)
    assert [(r.accepted, r.reason) for r in results] == [
        (True, ""), (True, ""), (False, "already_answered"),
        (False, "bad_response"), (False, "too_late"),
        (False, "bad_answer_id"), (False, "not_current_question"),
        (False, "kicked"), (True, ""),
    ]  # fmt: skip
    assert results[0].received_at == results[1].received_at == now
    stored = set(LiveAnswer.objects.values_list("player__nickname", "answer_id", "received_at"))
    assert stored == {("A", "a1", now), ("E", "e1", now)}
    # The same batch again: the acks again, nothing new stored.
    again = answers.answers_submit(requests[:2])
    assert [(r.accepted, r.received_at) for r in again] == [(True, now), (True, now)]
    assert LiveAnswer.objects.count() == 2


@pytest.mark.asyncio
async def test_answers_arriving_together_are_written_in_few_batches(monkeypatch):
    from realtime.batch import AnswerBatcher

    live = await sync_to_async(make_round)(types=["single"])
    question = await sync_to_async(lambda: live.questions.select_related("version").get())()
    right = shown(question, choice_for(question.version, right=True))
    await sync_to_async(commands.round_command)(live=live, actor=live.host, name="start")
    players = [
        await sync_to_async(services.player_join)(live=live, nickname=f"P{n}") for n in range(30)
    ]
    sizes = []
    real = answers.answers_submit

    def spy(requests):
        sizes.append(len(requests))
        return real(requests)

    monkeypatch.setattr(answers, "answers_submit", spy)
    batcher = AnswerBatcher()
    now = state.now_ms()
    results = await asyncio.gather(
        *(batcher.submit(answers.AnswerRequest(p, f"x{p.pk}", 0, right, now)) for p in players)
    )
    assert all(r.accepted for r in results)
    assert sum(sizes) == 30 and len(sizes) < 30  # the first alone, the rest together
    assert await sync_to_async(LiveAnswer.objects.count)() == 30


def test_a_players_snapshot_costs_two_queries_in_the_lobby_and_four_in_a_question():
    """The snapshot is on the join path of a whole hall: its queries are pinned."""
    live = make_round(types=["single", "single"])
    services.player_join(live=live, nickname="Alice")
    bob = services.player_join(live=live, nickname="Bob")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            frame = snapshots.snapshot(live, role="player", player=bob)
        assert frame["you"]["player"] == bob.pk
        return len(captured)

    assert queries() == 2  # questions, player count; nothing scored, no standings
    commands.round_command(live=live, actor=live.host, name="start")
    live.refresh_from_db()
    snapshots.snapshot(live, role="player", player=bob)  # the standings, once per seq
    # questions, player count, who is kicked (the scores' cache key), Bob's answer
    assert queries() == 4


@pytest.mark.asyncio
async def test_a_round_socket_takes_no_channel_layer_channel_and_still_gets_broadcasts(
    monkeypatch,
):
    """Broadcasts come through the process's relay (one channel per process and round),
    so a socket has no channel-layer channel of its own: no receive loop per player."""
    connected: list[RoundConsumer] = []
    connect = RoundConsumer.connect

    async def recording_connect(self):
        connected.append(self)
        await connect(self)

    monkeypatch.setattr(RoundConsumer, "connect", recording_connect)
    layer = get_channel_layer()
    in_memory = isinstance(layer, InMemoryChannelLayer)  # Redis in the CI run
    channels_before = set(layer.channels) if in_memory else set()
    live = await sync_to_async(make_round)(types=["single"])

    host = await host_socket(live)
    screen = Socket(live)
    assert (await screen.open({"type": "screen", "key": screen_key(live)}))["role"] == "screen"
    players = [(await player_socket(live, f"P{n}"))[0] for n in range(3)]

    assert len(connected) == 5
    for consumer in connected:
        assert consumer.channel_layer is None
        assert not hasattr(consumer, "channel_name")
    if in_memory:
        # The relay's one channel for this round, and nothing per socket.
        assert len(set(layer.channels) - channels_before) == 1
        assert len(layer.groups[live.group_name]) == 1
    await command(host, "start")
    for socket in players:
        opened = await socket.expect("question_opened")
        assert opened["question"]["index"] == 0
    for socket in (*players, screen, host):
        await socket.close()
