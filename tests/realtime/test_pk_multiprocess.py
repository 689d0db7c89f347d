"""1-v-1 PK across two real daphne processes that share PostgreSQL and Redis
(docs/architecture.md, live-round rules 2, 3, 4, 5 and 7; docs/protocol.md, "1-v-1 PK"): two
players on different processes are paired through the queue, both get every broadcast
of the match once and in seq order, nothing before a reveal carries its key, the final
scores agree with each other and with the stored answers, a resent answer is stored
once, a player whose process dies resumes on the other with the same score, and two
players whose finds race on two processes are paired once without either socket failing.

The setup is test_multiprocess.py's: rows are created in the test database and
committed (transactional test), both servers point at that database and at the same
Redis, and the clients are real `websockets` connections signed in with a session
cookie.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os

import psycopg
import pytest
import websockets
from django.conf import settings
from django.test import Client

from quizzes.models import Blueprint, PersonalBest, QuestionVersion, XpAward
from realtime import protocol, scoring
from realtime.live.state import now_ms
from realtime.models import PkAnswer, PkEntry, PkMatch, PkPlayer
from realtime.pk import match as pk_match
from tests.factories import ProfileFactory
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.daphne import (
    ORIGIN,
    STEP_S,
    DaphneProcess,
    Peer,
    daphne_pair_pool,
    print_logs,
    run,
    server_database_url,
)
from tests.support.options import key_in_frame, key_shown

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

# The servers' clock: the first question opens this long after the match is made, time
# enough for the waiting player's process to hear of the match (through Redis) and
# subscribe, so both sockets see every broadcast from seq 1. A short pause after each
# reveal keeps the match quick; a question stays open the usual 15 s (both answer long
# before).
SERVER_ENV = {"PK_READY_MS": "2000", "PK_REVEAL_MS": "200", "PK_WAIT_MS": "30000"}


@pytest.fixture(scope="module")
def server_pool(django_db_setup):
    """Two daphne processes shared by this module's tests; one that a test killed is
    replaced before the next test."""
    env = {
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        **SERVER_ENV,
    }
    with daphne_pair_pool(env) as pair:
        yield pair


@pytest.fixture
def servers(server_pool, transactional_db):
    started = server_pool()
    yield started
    print_logs(started)


def make_bank() -> dict[str, dict]:
    """Published questions open to players, by stem."""
    bank = BankFactory()
    for n in range(6):
        QuestionFactory(bank=bank, type="single" if n % 2 else "true_false")
    Blueprint.objects.create(bank=bank, name="练习", open_to_players=True)
    return {v.stem: {"version": v} for v in QuestionVersion.objects.filter(question__bank=bank)}


def key_of(by_stem: dict[str, dict], question: dict) -> dict:
    """The key of a question frame as its reveal will show it (the match's option ids)."""
    return key_in_frame(by_stem[question["stem"]]["version"], question)


def signed_in(nickname: str):
    """A player and the Cookie header of a browser signed in as them."""
    user = ProfileFactory(nickname=nickname).user
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return user, f"{name}={client.cookies[name].value}"


def choice(question: dict, key: dict, right: bool):
    if question["type"] == "true_false":
        return key["value"] if right else not key["value"]
    ids = [o["id"] for o in question["options"]]
    return key["options"][0] if right else next(i for i in ids if i not in key["options"])


def answer(index: int, answer_id: str, response) -> dict:
    return {"type": "answer", "answer_id": answer_id, "question": index, "choice": response}


class PkTab(Peer):
    """A browser tab on /ws/pk/: test_multiprocess's Peer (every frame kept, `expect`
    takes the earliest untaken match), connected with the player's session cookie."""

    def __init__(self, label: str, cookie: str) -> None:
        super().__init__(label, pin="")
        self.cookie = cookie
        self.texts: list[list[str]] = []  # every connection's raw frames, oldest first
        self.seat: int | None = None

    async def connect(self, server: DaphneProcess) -> None:
        self.frames, self.raw, self.taken = [], [], set()
        self.connections.append(self.frames)
        self.texts.append(self.raw)
        self.server = server
        self.ws = await websockets.connect(
            f"{server.ws_url}/ws/pk/",
            origin=ORIGIN,
            additional_headers={"Cookie": self.cookie},
            open_timeout=STEP_S,
            close_timeout=2,
        )
        self.reader = asyncio.create_task(self._read(self.ws, self.frames, self.raw))

    async def entered(self) -> tuple[dict, dict]:
        """pk_matched and the snapshot after it."""
        matched = await self.expect("pk_matched", "error", what="(the match)")
        assert matched["type"] == "pk_matched", (self.label, matched)
        self.token, self.seat = matched["token"], matched["you"]["seat"]
        return matched, await self.expect("snapshot")

    async def answered(self, index: int, answer_id: str, response) -> dict:
        await self.send(answer(index, answer_id, response))
        frame = await self.expect(
            "ack", "reject", match=lambda f: f["answer_id"] == answer_id, what=answer_id
        )
        assert frame["type"] == "ack", (self.label, frame)
        return frame

    def all_texts(self) -> list[str]:
        return [text for texts in self.texts for text in texts]


@contextlib.asynccontextmanager
async def tabs(*tabs_: PkTab):
    try:
        yield tabs_
    finally:
        await asyncio.gather(*(tab.close() for tab in tabs_))


async def paired(alice: PkTab, a: DaphneProcess, bob: PkTab, b: DaphneProcess):
    """Alice waits in the queue on A; Bob's find on B pairs them. Returns both
    (pk_matched, snapshot)."""
    await alice.connect(a)
    await bob.connect(b)
    await alice.send({"type": "pk_find"})
    await alice.expect("pk_waiting")
    await bob.send({"type": "pk_find"})
    return await bob.entered(), await alice.entered()


def broadcasts(frames: list[dict]) -> list[tuple[str, int]]:
    return [(f["type"], f["seq"]) for f in frames if "seq" in f and f["type"] != "snapshot"]


def expected_broadcasts(total: int) -> list[tuple[str, int]]:
    """start, then close and reveal of each question, next between them, finish."""
    kinds = ["question_opened"]
    for index in range(total):
        kinds += ["question_closed", "revealed"]
        kinds.append("question_opened" if index + 1 < total else "finished")
    return [(kind, seq) for seq, kind in enumerate(kinds, start=1)]


def assert_valid_and_no_key_before_reveal(tab: PkTab, questions: dict[int, dict]) -> None:
    """Every frame fits the PK schemas; none before a question's reveal carries its key
    or explanation, or a correct flag (over every connection of the tab)."""
    revealed: set[int] = set()
    for text in tab.all_texts():
        frame = json.loads(text)
        protocol.validate("server", frame, "pk")
        reveal = frame.get("reveal")
        if reveal is not None:
            assert frame["type"] in ("revealed", "snapshot"), frame
            if frame["type"] == "snapshot":
                assert frame["status"] in ("revealed", "finished"), frame
                assert reveal["index"] == frame["question_index"], frame
            else:
                assert reveal["index"] == frame["question_index"], frame
            assert reveal["key"] == questions[reveal["index"]]["key"], frame
            revealed.add(reveal["index"])
        else:
            assert '"key"' not in text and '"explanation"' not in text, (tab.label, text)
        for index, question in questions.items():
            if index not in revealed:
                assert question["explanation"] not in text, (tab.label, index, text)
        if frame["type"] in ("question_opened", "question_closed", "pk_answered", "ack"):
            assert '"correct"' not in text, (tab.label, text)


def stored_scores(match: PkMatch) -> dict[int, int]:
    """Seat → points, scored (realtime.scoring, classic) from the stored answers."""
    questions = list(match.questions.order_by("position"))
    rows = PkAnswer.objects.filter(match=match).values_list(
        "player_id", "question_id", "correct", "elapsed_ms"
    )
    seats = dict(match.players.values_list("pk", "seat"))
    score = scoring.score_round(
        [scoring.Question(q.pk, pk_match.POINTS, match.question_ms) for q in questions],
        [scoring.Answer(p, q, c, e) for p, q, c, e in rows],
        scoring.CLASSIC,
        players=list(seats),
    )
    return {seats[player]: total.points for player, total in score.totals.items()}


def match_questions(match: PkMatch) -> dict[int, dict]:
    return {
        q.position: {"key": key_shown(q), "explanation": q.version.explanation}
        for q in match.questions.select_related("version")
    }


def assert_the_result_is_what_is_stored(match: PkMatch, finished: dict, users: dict) -> None:
    """The finished frame's points and winner are those of the stored answers, and each
    player's personal best of kind pk and XP award are recorded once."""
    match.refresh_from_db()
    assert match.status == "finished"
    points = {row["seat"]: row["points"] for row in finished["players"]}
    assert points == stored_scores(match), (points, stored_scores(match))
    expected_winner = None if points[0] == points[1] else max(points, key=points.get)
    assert finished["winner"] == expected_winner
    for seat, user in users.items():
        best = PersonalBest.objects.get(user=user, kind="pk")
        assert best.value == points[seat], (seat, best.value, points)
        assert XpAward.objects.filter(user=user, kind="pk", ref=str(match.pk)).count() == 1


# --- 1. a whole match across two processes ----------------------------------------------


def test_players_on_two_processes_are_paired_and_play_a_whole_match_seeing_the_same_frames(
    servers,
):
    a, b = servers
    by_stem = make_bank()
    alice_user, alice_cookie = signed_in("爱丽丝")
    bob_user, bob_cookie = signed_in("小博")
    alice, bob = PkTab("Alice", alice_cookie), PkTab("Bob", bob_cookie)
    sent: dict[str, list[str]] = {"Alice": [], "Bob": []}
    acks: dict[str, dict[str, set[int]]] = {"Alice": {}, "Bob": {}}

    async def play(tab: PkTab, index: int, answer_id: str, response) -> None:
        frame = await tab.answered(index, answer_id, response)
        sent[tab.label].append(answer_id)
        acks[tab.label].setdefault(answer_id, set()).add(frame["received_at"])

    async def scenario():
        async with tabs(alice, bob):
            (bob_matched, bob_snap), (alice_matched, alice_snap) = await paired(alice, a, bob, b)
            # Seat 0 waited first; each sees the other's nickname only.
            assert alice_matched["you"]["seat"] == 0 and bob_matched["you"]["seat"] == 1
            assert alice_matched["opponent"] == {"seat": 1, "nickname": "小博"}
            assert bob_matched["opponent"] == {"seat": 0, "nickname": "爱丽丝"}
            for snap in (alice_snap, bob_snap):
                assert (snap["status"], snap["seq"]) == ("lobby", 0), snap
            total = alice_snap["total_questions"]
            assert total == pk_match.QUESTIONS

            for index in range(total):
                opened = await alice.expect(
                    "question_opened", match=lambda f, i=index: f["question_index"] == i
                )
                await bob.expect(
                    "question_opened", match=lambda f, i=index: f["question_index"] == i
                )
                question = opened["question"]
                key = key_of(by_stem, question)
                # Alice is always right, Bob on even questions; who answers first
                # alternates, so either process's socket may close the question.
                first, second = (alice, bob) if index % 2 == 0 else (bob, alice)
                right = {alice: True, bob: index % 2 == 0}
                first_id = f"{first.label}-{index}"
                await play(first, index, first_id, choice(question, key, right[first]))
                if index == 1:  # a resend before the question closes: the same ack
                    await play(first, index, first_id, choice(question, key, right[first]))
                await second.expect(
                    "pk_answered", match=lambda f, i=index: f["question_index"] == i
                )
                second_id = f"{second.label}-{index}"
                await play(second, index, second_id, choice(question, key, right[second]))
                revealed = [
                    await tab.expect("revealed", match=lambda f, i=index: f["question_index"] == i)
                    for tab in (alice, bob)
                ]
                assert revealed[0] == revealed[1]
                assert revealed[0]["reveal"]["key"] == key
                by_seat = {row["seat"]: row for row in revealed[0]["players"]}
                assert by_seat[alice.seat]["correct"] is True
                assert by_seat[bob.seat]["correct"] is (index % 2 == 0)
                if index == 2:  # a resend after the reveal: still the same ack
                    await play(first, index, first_id, choice(question, key, right[first]))

            finished = [await tab.expect("finished") for tab in (alice, bob)]
            for tab in (alice, bob):
                await tab.round_trip()  # anything sent before the pong has arrived
            return finished

    finished = run(scenario())

    # Paired with each other across the processes, once.
    alice_player = PkPlayer.objects.get(user=alice_user)
    bob_player = PkPlayer.objects.get(user=bob_user)
    assert alice_player.match_id == bob_player.match_id
    assert PkMatch.objects.count() == 1
    match = PkMatch.objects.get(pk=alice_player.match_id)
    assert not PkEntry.objects.exists()  # the queue keeps waiting players only

    # Every broadcast, once each, in seq order, no gap, byte for byte the same on A and B.
    expected = expected_broadcasts(pk_match.QUESTIONS)
    assert match.seq == expected[-1][1]
    for tab in (alice, bob):
        assert broadcasts(tab.frames) == expected, (tab.label, broadcasts(tab.frames))
        answered = [f for f in tab.frames if f["type"] == "pk_answered"]
        assert sorted((f["question_index"], f["seat"]) for f in answered) == sorted(
            (index, seat) for index in range(pk_match.QUESTIONS) for seat in (0, 1)
        ), (tab.label, answered)

    def shared(tab: PkTab) -> list[str]:
        return [
            text
            for text, f in zip(tab.raw, tab.frames, strict=True)
            if "seq" in f and f["type"] != "snapshot"
        ]

    assert shared(alice) == shared(bob)

    # Nothing before a reveal carries its key.
    questions = match_questions(match)
    for tab in (alice, bob):
        assert_valid_and_no_key_before_reveal(tab, questions)

    # Both see the same result, and it is what the stored answers make.
    assert finished[0] == finished[1]
    assert_the_result_is_what_is_stored(
        match, finished[0], {alice.seat: alice_user, bob.seat: bob_user}
    )
    points = {row["seat"]: row["points"] for row in finished[0]["players"]}
    assert points[alice.seat] > points[bob.seat] > 0
    assert finished[0]["winner"] == alice.seat

    # Each answer stored once, under the answer_id it was acked with, at the acked time
    # (the resends at questions 1 and 2 included).
    rows = {
        (player.nickname, answer_id): received_at
        for player, answer_id, received_at in (
            (PkPlayer.objects.get(pk=p), i, r)
            for p, i, r in PkAnswer.objects.filter(match=match).values_list(
                "player_id", "answer_id", "received_at"
            )
        )
    }
    assert len(rows) == 2 * pk_match.QUESTIONS
    for label, nickname in (("Alice", "爱丽丝"), ("Bob", "小博")):
        for answer_id, received in acks[label].items():
            assert received == {rows[(nickname, answer_id)]}, (label, answer_id, received)
    # Bob resent his first answer to question 1 before it closed, Alice hers to
    # question 2 after its reveal: two acks each (one received_at, checked above).
    assert sorted(sent["Bob"]) == sorted(
        [*(f"Bob-{i}" for i in range(pk_match.QUESTIONS)), "Bob-1"]
    )
    assert sorted(sent["Alice"]) == sorted(
        [*(f"Alice-{i}" for i in range(pk_match.QUESTIONS)), "Alice-2"]
    )


# --- 2. a player's process dies mid-match -----------------------------------------------


def test_a_player_whose_process_dies_mid_match_resumes_on_the_other_with_the_same_score(
    servers,
):
    a, b = servers
    by_stem = make_bank()
    alice_user, alice_cookie = signed_in("回来的人")
    bob_user, bob_cookie = signed_in("对手")
    alice, bob = PkTab("Alice", alice_cookie), PkTab("Bob", bob_cookie)

    def opened_at(index: int):
        return lambda f: f["question_index"] == index

    async def scenario():
        async with tabs(alice, bob):
            await paired(alice, a, bob, b)  # Alice on A, Bob on B
            token = alice.token

            # Question 0: Alice right, Bob wrong.
            opened = await alice.expect("question_opened", match=opened_at(0))
            question = opened["question"]
            key = key_of(by_stem, question)
            await alice.answered(0, "alice-0", choice(question, key, True))
            await bob.answered(0, "bob-0", choice(question, key, False))
            revealed = await alice.expect("revealed", match=opened_at(0))
            points = {row["seat"]: row["points"] for row in revealed["players"]}
            assert points[alice.seat] > 0 and points[bob.seat] == 0, points

            # Question 1: Alice's answer is acked on A, then A dies.
            opened = await alice.expect("question_opened", match=opened_at(1))
            question = opened["question"]
            key = key_of(by_stem, question)
            first_ack = await alice.answered(1, "alice-1", choice(question, key, True))
            await bob.expect("pk_answered", match=lambda f: f["question_index"] == 1)
            before = len(alice.frames)
            a.kill()
            await alice.wait_closed()
            assert len(alice.frames) == before

            # Alice comes back on B with her token: the same seat, score and answer.
            await alice.connect(b)
            await alice.send({"type": "pk_resume", "token": token})
            matched, snap = await alice.entered()
            assert matched["token"] == token and matched["you"]["seat"] == alice.seat
            assert (snap["status"], snap["question_index"]) == ("question_open", 1), snap
            assert snap["you"]["answered"] == "alice-1", snap["you"]
            assert {r["seat"]: r["points"] for r in snap["players"]} == points, snap
            # Her resend (no ack seen, as far as the phone knows) is the same answer.
            again = await alice.answered(1, "alice-1", choice(question, key, True))
            assert again["received_at"] == first_ack["received_at"]

            # Bob answers: revealed on both, now on the same process; play on to the end.
            await bob.answered(1, "bob-1", choice(question, key, True))
            for index in range(1, pk_match.QUESTIONS):
                if index > 1:
                    opened = await alice.expect("question_opened", match=opened_at(index))
                    await bob.expect("question_opened", match=opened_at(index))
                    question = opened["question"]
                    key = key_of(by_stem, question)
                    await alice.answered(index, f"alice-{index}", choice(question, key, True))
                    await bob.answered(index, f"bob-{index}", choice(question, key, False))
                shown = [
                    await tab.expect("revealed", match=opened_at(index)) for tab in (alice, bob)
                ]
                assert shown[0] == shown[1]
            finished = [await tab.expect("finished") for tab in (alice, bob)]
            for tab in (alice, bob):
                await tab.round_trip()
            return snap, finished

    snap, finished = run(scenario())
    match = PkMatch.objects.get(pk=PkPlayer.objects.get(user=alice_user).match_id)
    expected = expected_broadcasts(pk_match.QUESTIONS)

    # Bob, whose process lived, got every broadcast; Alice got each of hers once, in
    # order, with the snapshot covering what was sent while she was away.
    assert broadcasts(bob.frames) == expected, broadcasts(bob.frames)
    old, new = alice.connections
    seen_before = broadcasts(old)
    assert seen_before == expected[: len(seen_before)], seen_before
    assert snap["seq"] >= len(seen_before)
    assert broadcasts(new) == expected[snap["seq"] :], broadcasts(new)

    questions = match_questions(match)
    for tab in (alice, bob):
        assert_valid_and_no_key_before_reveal(tab, questions)

    # One row per answer: the resend on the other process stored nothing.
    stored = sorted(PkAnswer.objects.filter(match=match).values_list("answer_id", flat=True))
    assert stored == sorted(
        f"{who}-{index}" for who in ("alice", "bob") for index in range(pk_match.QUESTIONS)
    )
    assert finished[0] == finished[1]
    assert_the_result_is_what_is_stored(
        match, finished[0], {alice.seat: alice_user, bob.seat: bob_user}
    )
    assert finished[0]["winner"] == alice.seat


# --- 3. two finds at once, on two processes ---------------------------------------------


def test_two_players_who_look_at_once_on_two_processes_are_paired_once_and_both_hear_of_it(
    servers,
):
    """Both are in the queue; each process's find sees the other as the candidate and
    tries to claim both entries. The test holds the queue table (a SHARE lock from a
    connection of its own) until both finds wait to claim, so they race for real."""
    a, b = servers
    make_bank()
    alice_user, alice_cookie = signed_in("同时甲")
    bob_user, bob_cookie = signed_in("同时乙")
    since = now_ms()
    for user in (alice_user, bob_user):
        PkEntry.objects.create(user=user, since=since)
    alice, bob = PkTab("Alice", alice_cookie), PkTab("Bob", bob_cookie)
    table = PkEntry._meta.db_table

    async def scenario():
        url = server_database_url()
        lock = await psycopg.AsyncConnection.connect(url)
        watch = await psycopg.AsyncConnection.connect(url, autocommit=True)
        try:
            async with tabs(alice, bob):
                await alice.connect(a)
                await bob.connect(b)
                await lock.execute(f'LOCK TABLE "{table}" IN SHARE MODE')
                await asyncio.gather(*(tab.send({"type": "pk_find"}) for tab in (alice, bob)))
                loop = asyncio.get_running_loop()
                deadline = loop.time() + STEP_S
                while True:  # until both finds wait on the queue table (or its rows)
                    cursor = await watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                        " current_database() AND wait_event_type = 'Lock' AND query LIKE %s",
                        [f'%"{table}"%'],
                    )
                    (waiting,) = await cursor.fetchone()
                    if waiting >= 2:
                        break
                    assert loop.time() < deadline, f"{waiting} of 2 finds reached the queue"
                    await asyncio.sleep(0.02)
                await lock.rollback()
                return [await tab.entered() for tab in (alice, bob)]
        finally:
            await lock.close()
            await watch.close()

    entered = run(scenario())
    (alice_matched, _), (bob_matched, _) = entered
    assert {alice_matched["you"]["seat"], bob_matched["you"]["seat"]} == {0, 1}
    assert alice_matched["opponent"]["nickname"] == "同时乙"
    assert bob_matched["opponent"]["nickname"] == "同时甲"
    assert PkMatch.objects.count() == 1
    match = PkMatch.objects.get()
    assert sorted(match.players.values_list("user_id", flat=True)) == sorted(
        [alice_user.pk, bob_user.pk]
    )
    for server in servers:
        assert "Traceback" not in server.log_tail(20000), server.log_tail()
