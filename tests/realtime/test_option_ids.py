"""Option ids are the round's own (realtime.live.responses): the same question in two
rounds, or two PK matches, shows ids that have nothing in common, so a key revealed in
one names no option in the other. A client answers with the ids it was shown; the
answer is stored, marked and exported in the version's ids."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async

from realtime.live import answers, commands, frames, services, snapshots, state
from realtime.models import LiveAnswer, LiveQuestion, PkAnswer, PkMatch, PkPlayer, PkQuestion
from realtime.pk import answers as pk_answers
from realtime.pk import frames as pk_frames
from realtime.pk.match import state_of
from tests.factories import ProfileFactory
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.live import (
    answer_acked,
    choice_for,
    command,
    host_socket,
    player_socket,
    send_answer,
)
from tests.support.options import choice_shown, key_in_frame, shown

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

CHOICES = ["single", "multiple", "ordering"]
OPAQUE = re.compile(r"^[A-Za-z0-9_-]{12}$")  # short and URL-safe


def choice_versions(types=CHOICES):
    bank = BankFactory()
    versions = [QuestionFactory(bank=bank, type=qtype).versions.get() for qtype in types]
    return bank.owners.first(), versions


def new_round(host, versions, title="科学擂台"):
    return services.round_create(host=host, title=title, versions=versions, kind="classic")


def round_frames(live):
    """The shared question frame and the reveal of each question of a round, as built
    for its sockets (no socket needed: the frames do not depend on who gets them)."""
    questions = list(live.questions.select_related("version").order_by("position"))
    rows = state.round_state(live, len(questions))
    return [(frames.question(live, q, rows), frames.reveal(q, [], 0)["key"]) for q in questions]


def test_the_same_question_in_two_rounds_shows_disjoint_opaque_option_ids():
    host, versions = choice_versions()
    first, second = new_round(host, versions), new_round(host, versions, "第二场")
    for version, (one, key_one), (two, key_two) in zip(
        versions, round_frames(first), round_frames(second), strict=True
    ):
        own = {o["id"] for o in version.options}
        ids_one = [o["id"] for o in one["options"]]
        ids_two = [o["id"] for o in two["options"]]
        assert all(OPAQUE.match(i) for i in ids_one + ids_two)
        assert len(set(ids_one)) == len(ids_one) == len(version.options)
        assert not set(ids_one) & set(ids_two)
        assert not (set(ids_one) | set(ids_two)) & own  # the version's ids never leave
        assert [o["text"] for o in one["options"]] == [o["text"] for o in version.options]
        assert key_one != key_two and key_one == key_in_frame(version, one)
    # The same in every frame of a round: built again, the ids do not change.
    assert round_frames(first) == round_frames(first)


def test_a_question_shown_twice_in_one_round_has_other_ids_the_second_time():
    host, versions = choice_versions(["single"])
    live = new_round(host, versions * 2)
    (one, _), (two, _) = round_frames(live)
    assert not {o["id"] for o in one["options"]} & {o["id"] for o in two["options"]}


@pytest.mark.asyncio
async def test_a_key_revealed_in_one_round_and_replayed_in_the_next_is_refused():
    host_user, versions = await sync_to_async(choice_versions)()
    first = await sync_to_async(new_round)(host_user, versions)
    # Round 1: the keys, as its reveals show them.
    host = await host_socket(first)
    alice, _ = await player_socket(first, "Alice")
    revealed_keys = []
    for index, version in enumerate(versions):
        await command(host, "start" if index == 0 else "next")
        opened = await alice.expect("question_opened")
        await answer_acked(
            alice, f"a{index}", index, choice_shown(version, opened["question"], True)
        )
        await command(host, "close")
        await command(host, "reveal")
        revealed_keys.append((await alice.expect("revealed"))["reveal"]["key"])
    await command(host, "finish")
    for socket in (host, alice):
        await socket.close()

    # Round 2, the same questions: a script replays round 1's keys, then the version's
    # own ids. Refused as not fitting the question; nothing stored.
    second = await sync_to_async(new_round)(host_user, versions, "第二场")
    host = await host_socket(second)
    bot, _ = await player_socket(second, "Bot")
    for index, (version, key) in enumerate(zip(versions, revealed_keys, strict=True)):
        await command(host, "start" if index == 0 else "next")
        opened = await bot.expect("question_opened")
        replayed = (
            key["options"][0] if version.type == "single" else key.get("options", key.get("order"))
        )
        for n, choice in enumerate((replayed, choice_for(version, right=True))):
            reply = await send_answer(bot, f"replay-{index}-{n}", index, choice)
            assert (reply["type"], reply["reason"]) == ("reject", "bad_response"), version.type
        stored = LiveAnswer.objects.filter(round=second, question__position=index)
        assert not await sync_to_async(stored.exists)()
        # What this round shows is answered and marked as usual.
        await answer_acked(bot, f"b{index}", index, choice_shown(version, opened["question"], True))
        await command(host, "close")
        await command(host, "reveal")
        revealed = await bot.expect("revealed")
        assert revealed["you"]["correct"] is True, version.type
        assert revealed["reveal"]["key"] == key_in_frame(version, opened["question"]) != key
    stored = await sync_to_async(
        lambda: list(
            LiveAnswer.objects.filter(round=second)
            .order_by("question__position")
            .values_list("answer_id", "response", "correct")
        )
    )()
    assert stored == [
        (f"b{index}", choice_for(version, right=True), True)
        for index, version in enumerate(versions)
    ]
    for socket in (host, bot):
        await socket.close()


def test_a_choice_not_of_this_round_is_refused_however_it_is_sent():
    host, versions = choice_versions(["single", "multiple"])
    live, other = new_round(host, versions), new_round(host, versions, "另一场")
    commands.round_command(live=live, actor=live.host, name="start")
    player = services.player_join(live=live, nickname="Alice")
    single = live.questions.select_related("version").get(position=0)
    theirs = other.questions.select_related("version").get(position=0)
    right = choice_for(single.version, right=True)
    now = state.now_ms()
    for n, response in enumerate(
        [
            right,  # the version's own id
            shown(theirs, right),  # another round's
            [shown(single, right)],  # a list for a single choice
            shown(single, right).upper(),  # ids are compared exactly
        ]
    ):
        result = answers.answer_submit(
            player=player, answer_id=f"x{n}", question_index=0, response=response, received_at=now
        )
        assert (result.accepted, result.reason) == (False, "bad_response"), response
    assert not LiveAnswer.objects.exists()
    result = answers.answer_submit(
        player=player, answer_id="ok", question_index=0, response=shown(single, right),
        received_at=now,
    )  # fmt: skip
    assert result.accepted
    assert LiveAnswer.objects.values_list("response", "correct").get() == (right, True)


def test_a_multiple_choice_naming_one_option_of_another_round_is_refused_whole():
    host, versions = choice_versions(["multiple"])
    live, other = new_round(host, versions), new_round(host, versions, "另一场")
    commands.round_command(live=live, actor=live.host, name="start")
    player = services.player_join(live=live, nickname="Alice")
    mine = live.questions.select_related("version").get()
    theirs = other.questions.select_related("version").get()
    ids = [o["id"] for o in mine.version.options]
    mixed = [shown(mine, ids[0]), shown(theirs, ids[1])]
    result = answers.answer_submit(
        player=player, answer_id="m", question_index=0, response=mixed, received_at=state.now_ms()
    )
    assert (result.accepted, result.reason) == (False, "bad_response")
    assert not LiveAnswer.objects.exists()


def test_snapshots_show_the_question_and_the_reveal_in_the_round_s_ids():
    host, versions = choice_versions(["multiple"])
    live = new_round(host, versions)
    bob = services.player_join(live=live, nickname="Bob")
    commands.round_command(live=live, actor=live.host, name="start")
    question = live.questions.select_related("version").get()
    version = question.version
    answers.answer_submit(
        player=bob, answer_id="b", question_index=0, received_at=state.now_ms(),
        response=shown(question, choice_for(version, right=True)),
    )  # fmt: skip
    live.refresh_from_db()
    open_snapshot = snapshots.snapshot(live, role="player", player=bob)
    shown_ids = [o["id"] for o in open_snapshot["question"]["options"]]
    assert shown_ids == [shown(question, o["id"]) for o in version.options]
    for name in ("close", "reveal"):
        commands.round_command(live=live, actor=live.host, name=name)
    live.refresh_from_db()
    for role, player in (("player", bob), ("screen", None), ("host", None)):
        revealed = snapshots.snapshot(live, role=role, player=player)
        assert [o["id"] for o in revealed["question"]["options"]] == shown_ids
        assert revealed["reveal"]["key"] == key_in_frame(version, revealed["question"])
        assert revealed["reveal"]["distribution"] == dict.fromkeys(
            shown(question, version.key["options"]), 1
        )
    assert LiveAnswer.objects.get().response == version.key["options"]


# --- 1-v-1 PK --------------------------------------------------------------------------------


def pk_match_on(version, nicknames):
    """A PK match whose first question (`version`) is open now, and its two players."""
    now = state.now_ms()
    match = PkMatch.objects.create(
        status="question_open", question_index=0, opened_at=now - 100, closes_at=now + 15_000,
        seq=1,
    )  # fmt: skip
    question = PkQuestion.objects.create(match=match, position=0, version=version)
    players = [
        PkPlayer.objects.create(
            match=match, user=ProfileFactory(nickname=name).user, seat=seat, nickname=name
        )
        for seat, name in enumerate(nicknames)
    ]
    return match, question, players


def test_a_pk_key_revealed_in_one_match_is_refused_in_the_next_and_the_match_s_own_is_right():
    _host, [version] = choice_versions(["single"])
    first, first_question, _ = pk_match_on(version, ["甲", "乙"])
    second, second_question, [alice, _bob] = pk_match_on(version, ["丙", "丁"])
    one = pk_frames.question(first_question, state_of(first, 1))
    two = pk_frames.question(second_question, state_of(second, 1))
    ids_one, ids_two = ({o["id"] for o in f["options"]} for f in (one, two))
    assert all(OPAQUE.match(i) for i in ids_one | ids_two)
    assert not ids_one & ids_two
    assert not (ids_one | ids_two) & {o["id"] for o in version.options}
    leaked = pk_frames.reveal(first_question)["key"]
    assert leaked == key_in_frame(version, one)

    now = state.now_ms()
    for n, replay in enumerate((leaked["options"][0], version.key["options"][0])):
        result = pk_answers.answer_submit(
            player=alice, answer_id=f"r{n}", question_index=0, response=replay, received_at=now
        )
        assert (result.accepted, result.reason) == (False, "bad_response")
    assert not PkAnswer.objects.exists()
    key = pk_frames.reveal(second_question)["key"]
    assert key == key_in_frame(version, two) != leaked
    result = pk_answers.answer_submit(
        player=alice, answer_id="ok", question_index=0, response=key["options"][0], received_at=now
    )
    assert result.accepted
    assert PkAnswer.objects.values_list("response", "correct").get() == (
        version.key["options"][0],
        True,
    )


def test_the_questions_of_a_live_round_and_a_pk_match_never_share_ids():
    host, [version] = choice_versions(["single"])
    live = new_round(host, [version])
    _match, pk_question, _ = pk_match_on(version, ["甲", "乙"])
    live_question = LiveQuestion.objects.select_related("version").get(round=live)
    assert not set(shown(live_question, [o["id"] for o in version.options])) & set(
        shown(pk_question, [o["id"] for o in version.options])
    )
