"""A player who did not answer a question is told so, not that the answer was wrong:
their `you` carries no result on it (no `correct`, no `gained`), while a wrong answer
has `correct: false` (docs/protocol.md, `revealed`). In the broadcasts and in snapshots
alike; every frame checked against the protocol's schemas."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from realtime import protocol
from tests.support.live import (
    answer_acked,
    command,
    host_socket,
    make_round,
    player_socket,
)
from tests.support.options import choice_shown

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]


def checked(frame: dict) -> dict:
    protocol.validate("server", frame)
    return frame


@pytest.mark.asyncio
async def test_a_player_who_did_not_answer_gets_no_result_and_one_who_answered_wrong_does():
    live = await sync_to_async(make_round)(types=["single", "true_false"])
    versions = await sync_to_async(
        lambda: [q.version for q in live.questions.select_related("version").order_by("position")]
    )()
    host = await host_socket(live)
    (alice, _), (bob, _), (carol, _) = [
        await player_socket(live, name) for name in ("Alice", "Bob", "Carol")
    ]
    players = (alice, bob, carol)
    await command(host, "start")
    question = (await alice.expect("question_opened"))["question"]
    await answer_acked(alice, "a0", 0, choice_shown(versions[0], question, True))
    await answer_acked(bob, "b0", 0, choice_shown(versions[0], question, False))
    # Carol does not answer.
    await command(host, "close")
    await command(host, "reveal")
    right, wrong, none = [checked(await p.expect("revealed"))["you"] for p in players]
    assert (right["correct"], right["gained"] > 0) == (True, True)
    assert (wrong["correct"], wrong["gained"]) == (False, 0)
    assert "correct" not in none and "gained" not in none
    assert (none["points"], none["streak"], none["rank"]) == (0, 0, 3)  # after Bob: slower

    # The same in a snapshot (a reload, a reconnect) and on the leaderboard.
    for player in players:
        await player.send({"type": "snapshot"})
    snaps = [checked(await p.expect("snapshot"))["you"] for p in players]
    assert [s.get("correct") for s in snaps] == [True, False, None]
    assert [("gained" in s) for s in snaps] == [True, True, False]
    assert [s["answered"] for s in snaps] == ["a0", "b0", None]
    await command(host, "leaderboard")
    board = [checked(await p.expect("leaderboard"))["you"] for p in players]
    assert [b.get("correct") for b in board] == [True, False, None]

    # The next question: Carol answers, Alice does not; the result is of that question.
    await command(host, "next")
    question = (await carol.expect("question_opened"))["question"]
    await answer_acked(carol, "c1", 1, choice_shown(versions[1], question, True))
    await command(host, "close")
    await command(host, "reveal")
    mine = {p: checked(await p.expect("revealed"))["you"] for p in players}
    assert "correct" not in mine[alice] and "gained" not in mine[alice]
    assert mine[alice]["streak"] == 0  # no answer breaks a streak, as a wrong one does
    assert "correct" not in mine[bob]
    assert mine[carol]["correct"] is True
    await command(host, "finish")
    finished = {p: checked(await p.expect("finished"))["you"] for p in players}
    assert "correct" not in finished[alice] and finished[carol]["correct"] is True
    for socket in (host, *players):
        await socket.close()
