"""Server frames never need more than the client's message cap (WS_MAX_MESSAGE_BYTES):
autobahn refuses to send a larger one, so the ordinary ASGI path must carry every frame
(docs/protocol.md, "Frame sizes"). Tested for the class, not a case: a stage final with
every text at its limit (the question, its options and explanation, the title, twelve
teams' names, the nicknames) in Chinese characters of three bytes, and again of four
(outside the BMP: the worst any text can be), the most questions a round may have, and
a hall of 2,000 players, played through question, close, reveal, leaderboard and finish
with a host, a screen and a captain asking for snapshots in every state. Every frame
each of them receives is within the cap (tests.support.live checks every frame of every
socket test), and the host's list, assembled from its snapshot and the pages that
follow, has every player."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from quizzes.bank import content
from quizzes.bank import services as bank_services
from realtime import protocol
from realtime.live import forms, services, snapshots
from realtime.live.roster import read_roster
from realtime.live.selectors import screen_key
from realtime.models import LivePlayer, LiveQuestion, LiveRound
from tests.factories import SchoolFactory, UserFactory
from tests.support.live import Socket, command, host_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

HALL = 2000
CAP = settings.WS_MAX_MESSAGE_BYTES
# The first of a run of Chinese characters: three bytes each in UTF-8 (every common one),
# or four (CJK Extension B, outside the BMP).
WIDTHS = {3: 0x4E00, 4: 0x20000}


def texts(width: int):
    """A maker of texts of Chinese characters `width` bytes wide."""
    first = WIDTHS[width]

    def cjk(length: int, n: int = 0) -> str:
        """`length` characters, the first two numbering it (`n` < 10,000)."""
        return (chr(first + n // 100) + chr(first + n % 100) + chr(first + 200) * length)[:length]

    return cjk


def longest_question(cjk, bank, author, reviewer):
    """A multiple-choice question with every text at its limit and every option right."""
    raw = {
        "type": "multiple",
        "stem": cjk(content.MAX_STEM),
        "options": [cjk(content.MAX_OPTION, n) for n in range(content.MAX_OPTIONS)],
        "key": "ABCDEFGH"[: content.MAX_OPTIONS],
        "explanation": cjk(content.MAX_EXPLANATION),
        "source": cjk(content.MAX_SOURCE),
        "dimension": "knowledge",
        "topic": "health",
    }
    question = bank_services.question_create(bank=bank, author=author, raw=raw)
    version = question.versions.get()
    bank_services.version_submit(version=version, actor=author)
    bank_services.version_publish(version=version, reviewer=reviewer)
    version.refresh_from_db()
    assert len(version.stem) == content.MAX_STEM  # stored as written: nothing was cut
    return version


def biggest_final(cjk):
    """The stage final of the module docstring, its first question a risk question of
    the first team; and the nickname its captain joins with."""
    author, reviewer = UserFactory(role="organizer"), UserFactory(role="organizer")
    bank = bank_services.bank_create(name="最长的题", owner=author)
    bank.reviewers.add(reviewer)
    version = longest_question(cjk, bank, author, reviewer)
    live = services.round_create(
        host=author,
        title=cjk(forms.MAX_TITLE),
        versions=[version] * forms.MAX_QUESTIONS,
        kind=LiveRound.Kind.FINALS,
        team_mode=LiveRound.TeamMode.DEVICE,
    )
    teams = [
        services.team_create(live=live, actor=author, name=cjk(forms.MAX_TEAM_NAME, n))
        for n in range(forms.MAX_TEAMS)
    ]
    services.question_turn_set(
        live=live, actor=author, position=0, turn=LiveQuestion.Turn.RISK, team=teams[0]
    )
    LivePlayer.objects.bulk_create(
        LivePlayer(round=live, nickname=cjk(protocol.MAX_NICKNAME, n), team=teams[n % len(teams)])
        for n in range(1, HALL)
    )
    return live, teams[0].pk, cjk(protocol.MAX_NICKNAME, 0)


class Console(Socket):
    """The host console: its list of players as host.js keeps it, from each snapshot
    and the player_list pages that follow it."""

    async def snapshot(self) -> dict:
        await self.send({"type": "snapshot"})
        snapshot = await self.expect("snapshot", timeout=10)
        self.players = {row["id"]: row for row in snapshot["player_list"]}
        more = snapshot["player_list_more"]
        while more:
            page = await self.expect("player_list", timeout=10)
            assert page["snapshot_seq"] == snapshot["seq"]
            assert page["more"] < more
            self.players.update((row["id"], row) for row in page["players"])
            more = page["more"]
        return snapshot


async def snapshots_of(*sockets: Socket) -> None:
    for socket in sockets:
        if isinstance(socket, Console):
            await socket.snapshot()
        else:
            await socket.send({"type": "snapshot"})
            await socket.expect("snapshot", timeout=10)


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.asyncio
async def test_every_frame_of_the_biggest_round_fits_the_client_cap(width):
    started = time.monotonic()
    live, team, nickname = await sync_to_async(biggest_final)(texts(width))
    host = await host_socket(live)
    console = Console(live, user=await sync_to_async(lambda: live.host)())
    assert (await console.open({"type": "host"}))["role"] == "host"
    screen = Socket(live)
    assert (await screen.open({"type": "screen", "key": screen_key(live)}))["role"] == "screen"
    captain = Socket(live)
    welcome = await captain.open({"type": "join", "nickname": nickname, "team": team})
    assert welcome["type"] == "welcome", welcome
    await captain.send({"type": "stake", "question": 0, "stake": 30})
    assert (await captain.expect("stake_ack"))["stake"] == 30
    sockets = (console, screen, captain)
    await snapshots_of(*sockets)

    await command(host, "start")
    opened = await captain.expect("question_opened", timeout=10)
    await snapshots_of(*sockets)
    everything = [option["id"] for option in opened["question"]["options"]]
    await captain.send(
        {"type": "answer", "answer_id": "a" * protocol.MAX_ANSWER_ID, "question": 0,
         "choice": everything}
    )  # fmt: skip
    assert (await captain.expect("ack", "reject"))["type"] == "ack"
    await snapshots_of(*sockets)  # with the answer: `you.answered` at its longest
    for name, event in (
        ("close", "question_closed"),
        ("reveal", "revealed"),
        ("leaderboard", "leaderboard"),
        ("finish", "finished"),
    ):
        await command(host, name)
        for socket in sockets:
            await socket.expect(event, timeout=10)
        await snapshots_of(*sockets)

    for socket in sockets:
        await socket.drain()
    # Every frame was within the cap as it arrived (tests.support.live); these are the
    # largest, and what they held.
    largest = {
        role: max(socket.raw, key=lambda text: len(text.encode()))
        for role, socket in (("host", console), ("screen", screen), ("player", captain))
    }
    for role, text in largest.items():
        print(f"{width}-byte characters, largest {role} frame: {len(text.encode())} bytes")
        assert len(text.encode()) <= CAP
    final = captain.frames[-1]
    assert final["type"] == "snapshot" and final["status"] == "finished"
    assert {"question", "reveal", "leaderboard", "teams", "stakes", "you"} <= set(final)
    assert len(final["teams"]) == forms.MAX_TEAMS
    assert len(final["permutations"]) == forms.MAX_QUESTIONS
    pages = [f for f in console.frames if f["type"] == "player_list"]
    assert pages and all(len(f["players"]) <= snapshots.PLAYER_PAGE for f in pages)

    # The console's list, assembled from the last snapshot and its pages: every player.
    assert len(console.players) == HALL
    assert sorted(console.players) == sorted(
        await sync_to_async(lambda: list(live.players.values_list("pk", flat=True)))()
    )
    for socket in (host, *sockets):
        await socket.close()
    assert time.monotonic() - started < 60


# --- where the round's texts are written ----------------------------------------------


def test_a_round_has_at_most_twelve_teams_named_in_thirty_characters():
    assert forms.TeamForm(data={"name": "队" * forms.MAX_TEAM_NAME}).is_valid()
    assert not forms.TeamForm(data={"name": "队" * (forms.MAX_TEAM_NAME + 1)}).is_valid()
    author = UserFactory(role="organizer")
    bank = bank_services.bank_create(name="队伍", owner=author)
    bank.reviewers.add(reviewer := UserFactory(role="organizer"))
    version = longest_question(texts(3), bank, author, reviewer)
    live = services.round_create(
        host=author, title="班级赛", versions=[version], team_mode=LiveRound.TeamMode.MEAN
    )
    for n in range(forms.MAX_TEAMS):
        services.team_create(live=live, actor=author, name=f"第{n}队")
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        services.team_create(live=live, actor=author, name="又一队")
    assert refused.value.code == "teams"
    assert refused.value.messages == [f"A round has at most {forms.MAX_TEAMS} teams."]


def test_a_roster_with_a_long_team_name_or_a_team_too_many_is_refused_at_the_row():
    school = SchoolFactory()
    lines = ["姓名,学校,队伍"]
    lines += [f"学生{n},{school.name},第{n}队" for n in range(forms.MAX_TEAMS)]  # rows 2-13
    lines += [f"学生甲,{school.name},{'队' * (forms.MAX_TEAM_NAME + 1)}"]  # row 14
    lines += [f"学生乙,{school.name},第十三队", f"学生丙,{school.name},第0队"]  # rows 15, 16
    with translation.override("en"):
        rows, report = read_roster("\n".join(lines).encode(), "r.csv", teams=True)
        errors = {(e.row, e.column): str(e.message) for e in report.errors}
    assert rows == []
    assert errors == {
        (14, "C"): f"A team name has at most {forms.MAX_TEAM_NAME} characters.",
        (15, "C"): f"A round has at most {forms.MAX_TEAMS} teams.",
    }


def test_a_team_name_loses_its_control_characters():
    form = forms.TeamForm(data={"name": "甲\x01队"})
    assert form.is_valid() and form.cleaned_data["name"] == "甲 队"
