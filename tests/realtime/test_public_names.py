"""Children's names reach only the people the guardian allowed (PIPL art. 25): a child
without the guardian's consent to public display never appears by nickname in a frame
another socket receives (players, the projector screen, a host of another school), on
a page or in a results file of someone who is not the staff of the child's school; a
consented child and an adult do. The rule is accounts.display's.

The class is walked, not sampled: every server frame kind of the live and PK protocols
whose schema carries a nickname (realtime.protocol) must be seen in the scenarios here,
so a new frame that names people fails this file until it is covered."""

from __future__ import annotations

import io
import json

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.display import public_names
from accounts.models import Profile, User
from accounts.selectors import user_may_show_publicly
from quizzes.models import Blueprint
from realtime import protocol
from realtime.live import services, snapshots
from realtime.live.selectors import screen_key
from realtime.models import LivePlayer, LiveRound, PkPlayer, RosterEntry
from realtime.routing import websocket_urlpatterns
from tests.factories import GuardianConsentFactory, SchoolFactory, adult, child
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.live import Socket, command, make_round
from tests.support.options import choice_shown

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

HIDDEN = "HiddenKid"  # a child whose guardian did not allow public display
SHOWN = "ShownKid"  # a child whose guardian did
GROWN = "GrownUp"  # an adult
GUEST = "GuestTyped"  # a guest, no account


def name_fields(schema, path=()) -> set[str]:
    """Where a schema carries a person's nickname."""
    found = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict) and "nickname" in value:
                found.add("/".join(path))
            found |= name_fields(value, (*path, key))
    elif isinstance(schema, list):
        for item in schema:
            found |= name_fields(item, path)
    return found


def kinds_with_names(schemas: dict) -> set[str]:
    return {kind for kind, schema in schemas.items() if name_fields(schema)}


def nicknames_in(value) -> set[str]:
    """Every nickname a frame carries, wherever it is."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "nickname" and isinstance(item, str):
                found.add(item)
            found |= nicknames_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= nicknames_in(item)
    return found


def people(school):
    """The hidden child, the consented child and the adult, all of `school`."""
    hidden = child(school=school, nickname=HIDDEN)
    GuardianConsentFactory(child=hidden, allow_public_display=False)
    shown = child(school=school, nickname=SHOWN)
    GuardianConsentFactory(child=shown, allow_public_display=True)
    return hidden, shown, adult(nickname=GROWN)


def host_of(live: LiveRound, school) -> User:
    host = live.host
    host.role = User.Role.TEACHER
    host.save(update_fields=["role"])
    Profile.objects.update_or_create(user=host, defaults={"school": school, "birth_year": 1980})
    return User.objects.get(pk=host.pk)


# --- the rule ----------------------------------------------------------------------------


def test_the_rule_names_adults_and_consented_children_and_hides_the_rest():
    school = SchoolFactory()
    hidden, shown, grown = people(school)
    bare = adult(nickname="")
    withdrawn = child(school=school, nickname="Withdrawn")
    GuardianConsentFactory(child=withdrawn, allow_public_display=True)
    GuardianConsentFactory(
        child=withdrawn, action="withdraw", allow_processing=False, allow_public_display=False
    )
    ids = [hidden.pk, shown.pk, grown.pk, bare.pk, withdrawn.pk]
    names = public_names(ids, scope="live:1")
    assert names[shown.pk] == SHOWN and names[grown.pk] == GROWN
    for pk in (hidden.pk, bare.pk, withdrawn.pk):
        assert names[pk] not in (HIDDEN, "Withdrawn", "", User.objects.get(pk=pk).username)
    assert len(set(names.values())) == len(ids)  # unique in one call
    # Stable in a scope, unlinkable across scopes, the same for one or many.
    assert public_names([hidden.pk], scope="live:1")[hidden.pk] == names[hidden.pk]
    assert public_names([hidden.pk], scope="live:2")[hidden.pk] != names[hidden.pk]
    assert not user_may_show_publicly(user=hidden) and user_may_show_publicly(user=shown)


def test_a_round_of_any_size_is_named_in_one_query(django_assert_num_queries):
    school = SchoolFactory()
    kids = [child(school=school, nickname=f"K{n}") for n in range(30)]
    for kid in kids[::2]:
        GuardianConsentFactory(child=kid, allow_public_display=True)
    with django_assert_num_queries(1):
        names = public_names([k.pk for k in kids], scope="live:9")
    assert [names[k.pk] == f"K{n}" for n, k in enumerate(kids)] == [n % 2 == 0 for n in range(30)]


def test_the_staff_of_the_childs_own_school_see_the_child_and_nobody_else_does():
    school, other = SchoolFactory(), SchoolFactory()
    hidden, _shown, _grown = people(school)
    teacher = adult(school=school).__class__.objects.get(profile__school=school, role="citizen")
    teacher.role = User.Role.TEACHER
    teacher.save(update_fields=["role"])
    elsewhere = adult(school=other)
    elsewhere.role = User.Role.TEACHER
    elsewhere.save(update_fields=["role"])
    citizen = adult(school=school)  # not staff: a parent at the school sees nothing more
    assert public_names([hidden.pk], scope="s", viewer=teacher)[hidden.pk] == HIDDEN
    for viewer in (elsewhere, citizen, None):
        assert public_names([hidden.pk], scope="s", viewer=viewer)[hidden.pk] != HIDDEN


# --- live rounds: every frame to everyone else -------------------------------------------


async def joined(live, user, nickname):
    socket = Socket(live, user=user)
    welcome = await socket.open({"type": "join", "nickname": nickname})
    assert welcome["type"] == "welcome", welcome
    return socket


async def drain_all(*sockets):
    for socket in sockets:
        await socket.drain()


def validated(sockets) -> None:
    for socket in sockets:
        for frame in socket.frames:
            protocol.validate("server", frame)


@pytest.mark.asyncio
async def test_no_live_frame_names_a_hidden_child_to_anyone_else_and_every_named_kind_is_seen(
    monkeypatch,
):
    monkeypatch.setattr(snapshots, "PLAYER_PAGE", 1)  # the host's list comes in pages
    live = await sync_to_async(make_round)(types=["single", "true_false"])
    school, other = await sync_to_async(SchoolFactory)(), await sync_to_async(SchoolFactory)()
    hidden, shown, grown = await sync_to_async(people)(school)
    host_user = await sync_to_async(host_of)(live, other)  # a teacher of another school

    host = Socket(live, user=host_user)
    assert (await host.open({"type": "host"}))["role"] == "host"
    screen = Socket(live)
    assert (await screen.open({"type": "screen", "key": screen_key(live)}))["role"] == "screen"
    players = {
        HIDDEN: await joined(live, hidden, HIDDEN),
        SHOWN: await joined(live, shown, SHOWN),
        GROWN: await joined(live, grown, GROWN),
        GUEST: await joined(live, None, GUEST),
    }
    questions = await sync_to_async(lambda: list(live.questions.select_related("version")))()
    for index, question in enumerate(questions):
        await command(host, "start" if index == 0 else "next", duration_ms=20_000)
        for n, player in enumerate(players.values()):
            opened = await player.expect("question_opened")
            right = choice_shown(question.version, opened["question"], n % 2 == 0)
            await player.send(
                {"type": "answer", "answer_id": f"a{index}", "question": index, "choice": right}
            )
            await player.expect("ack")
        for name in ("close", "reveal", "leaderboard"):
            await command(host, name)
        await players[GUEST].expect("leaderboard")
    await command(host, "void", question=0)
    await players[GUEST].expect("question_voided")
    await command(host, "finish")
    everyone = [host, screen, *players.values()]
    for socket in everyone:
        await socket.expect("finished")
        await socket.send({"type": "snapshot"})
        await socket.expect("snapshot")
    await drain_all(*everyone)
    validated(everyone)

    generated = await sync_to_async(
        lambda: public_names([hidden.pk], scope=f"live:{live.pk}")[hidden.pk]
    )()
    seen_kinds = set()
    for socket in everyone:
        own = socket is players[HIDDEN]
        for frame in socket.frames:
            carried = nicknames_in(frame)
            if carried:
                seen_kinds.add(frame["type"])
            if own and frame["type"] == "welcome":
                continue  # the child's own phone may show the child its own nickname
            if own:
                carried -= {frame.get("you", {}).get("nickname")}
            assert HIDDEN not in carried, (socket.role, frame)
    # The hidden child is on the boards under its generated name; the others by theirs.
    boards = [f for f in screen.frames if f.get("leaderboard")]
    on_board = {row["nickname"] for f in boards for row in f["leaderboard"]}
    assert {generated, SHOWN, GROWN, GUEST} <= on_board
    joins = {f["player"]["nickname"] for f in screen.frames if f["type"] == "player_joined"}
    assert joins == {generated, SHOWN, GROWN, GUEST}
    last = max(i for i, f in enumerate(host.frames) if f["type"] == "snapshot")
    host_list = host.frames[last]["player_list"] + [
        row for f in host.frames[last:] if f["type"] == "player_list" for row in f["players"]
    ]
    assert [row["nickname"] for row in host_list] == [generated, SHOWN, GROWN, GUEST]
    await drain_all(*everyone)
    for socket in everyone:
        await socket.close()

    # player_replaced (a slip taking a seat over) is the roster rounds'; welcome is
    # only ever the recipient's own: every other kind that carries names was seen here.
    assert kinds_with_names(protocol.SERVER) - seen_kinds == {"player_replaced"}


@pytest.mark.asyncio
async def test_the_host_of_the_childs_school_sees_the_child_in_the_console_the_screen_does_not():
    live = await sync_to_async(make_round)(types=["single"])
    school = await sync_to_async(SchoolFactory)()
    hidden, _shown, _grown = await sync_to_async(people)(school)
    host_user = await sync_to_async(host_of)(live, school)
    host = Socket(live, user=host_user)
    await host.open({"type": "host"})
    screen = Socket(live)
    await screen.open({"type": "screen", "key": screen_key(live)})
    kid = await joined(live, hidden, HIDDEN)
    to_host = await host.expect("player_joined")
    to_screen = await screen.expect("player_joined")
    assert to_host["player"]["nickname"] == HIDDEN
    assert to_screen["player"]["nickname"] != HIDDEN
    await host.send({"type": "snapshot"})
    snapshot = await host.expect("snapshot")
    assert [row["nickname"] for row in snapshot["player_list"]] == [HIDDEN]
    for socket in (host, screen, kid):
        await socket.close()


@pytest.mark.asyncio
async def test_a_seat_taken_over_names_a_hidden_child_by_public_name_to_another_schools_host():
    live = await sync_to_async(make_round)(types=["single"])
    school, other = await sync_to_async(SchoolFactory)(), await sync_to_async(SchoolFactory)()
    hidden, _shown, _grown = await sync_to_async(people)(school)
    host_user = await sync_to_async(host_of)(live, other)

    def roster():
        LiveRound.objects.filter(pk=live.pk).update(join_mode=LiveRound.JoinMode.ROSTER)
        live.refresh_from_db()
        return RosterEntry.objects.create(round=live, name=HIDDEN, school=school).token

    token = await sync_to_async(roster)()
    host = Socket(live, user=host_user)
    await host.open({"type": "host"})
    first = Socket(live, user=hidden)
    assert (await first.open({"type": "join", "roster_token": token}))["type"] == "welcome"
    second = Socket(live, user=hidden)
    assert (await second.open({"type": "join", "roster_token": token}))["type"] == "welcome"
    notice = await host.expect("player_replaced")
    assert notice["player"]["nickname"] not in ("", HIDDEN)
    await host.drain()
    validated([host])
    assert all(HIDDEN not in nicknames_in(frame) for frame in host.frames)
    for socket in (host, first, second):
        await socket.close()


# --- the results file --------------------------------------------------------------------


def played_round(host_school, kid_school):
    """A round with the three people of `kid_school` and a guest; its host teaches at
    `host_school`. The answers are in, the round finished."""
    live = make_round(types=["single"])
    host = host_of(live, host_school)
    hidden, shown, grown = people(kid_school)
    for user, nickname in ((hidden, HIDDEN), (shown, SHOWN), (grown, GROWN), (None, GUEST)):
        services.player_join(live=live, nickname=nickname, user=user)
    LiveRound.objects.filter(pk=live.pk).update(status=LiveRound.Status.FINISHED)
    return live, host


def sheet_rows(response) -> list[list]:
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = []
    for sheet in workbook.worksheets:
        rows += [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows


def test_a_host_of_another_school_gets_no_name_school_or_district_of_a_hidden_child():
    kid_school, other = SchoolFactory(), SchoolFactory(name="别的学校")
    live, host = played_round(other, kid_school)
    client = Client()
    client.force_login(host)
    rows = sheet_rows(client.get(reverse("realtime:host_results", args=[live.pin])))
    text = json.dumps(rows, ensure_ascii=False, default=str)
    assert HIDDEN not in text
    assert SHOWN in text and GROWN in text and GUEST in text
    generated = public_names(
        [LivePlayer.objects.get(round=live, nickname=HIDDEN).user_id], scope=f"live:{live.pk}"
    )
    hidden_row = next(row for row in rows if row[1] in generated.values())
    assert kid_school.name not in [str(cell) for cell in hidden_row]
    assert kid_school.district.name not in [str(cell) for cell in hidden_row]
    shown_row = next(row for row in rows if row[1] == SHOWN)
    assert kid_school.name in shown_row


def test_the_host_who_teaches_at_the_childs_school_gets_the_child_in_the_results_file():
    school = SchoolFactory()
    live, host = played_round(school, school)
    client = Client()
    client.force_login(host)
    rows = sheet_rows(client.get(reverse("realtime:host_results", args=[live.pin])))
    hidden_row = next(row for row in rows if row[1] == HIDDEN)
    assert school.name in hidden_row


# --- PK: the opponent -----------------------------------------------------------------------


class PkTab:
    """A PK page's socket that keeps every frame."""

    def __init__(self, user) -> None:
        self.comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/pk/")
        self.comm.scope["user"] = user
        self.frames: list[dict] = []

    async def open(self) -> PkTab:
        assert (await self.comm.connect())[0]
        return self

    async def send(self, message: dict) -> None:
        await self.comm.send_to(text_data=json.dumps(message))

    async def expect(self, kind: str, **fields) -> dict:
        def wanted(frame):
            return frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items())

        found = next((f for f in self.frames if wanted(f)), None)
        while found is None:
            frame = json.loads(await self.comm.receive_from(timeout=10))
            protocol.validate("server", frame, "pk")
            self.frames.append(frame)
            found = frame if wanted(frame) else None
        return found


def any_answer(question: dict):
    return True if question["type"] == "true_false" else question["options"][0]["id"]


def pk_bank():
    bank = BankFactory()
    for n in range(6):
        QuestionFactory(bank=bank, type="single" if n % 2 else "true_false")
    Blueprint.objects.create(bank=bank, name="练习", open_to_players=True)


@pytest.mark.asyncio
async def test_a_pk_opponent_never_sees_a_hidden_childs_nickname_in_any_frame(settings):
    settings.PK_READY_MS, settings.PK_REVEAL_MS = 1500, 30
    await sync_to_async(pk_bank)()
    school = await sync_to_async(SchoolFactory)()
    hidden, shown, grown = await sync_to_async(people)(school)
    seen_kinds = set()
    for kid, opponent_user in ((hidden, grown), (shown, grown)):
        mine = await PkTab(kid).open()
        await mine.send({"type": "pk_find"})
        await mine.expect("pk_waiting")
        theirs = await PkTab(opponent_user).open()
        await theirs.send({"type": "pk_find"})
        for tab in (mine, theirs):
            await tab.expect("pk_matched")
        for index in range(5):
            for tab in (mine, theirs):
                opened = await tab.expect("question_opened", question_index=index)
                await tab.send({"type": "answer", "answer_id": f"x{index}", "question": index,
                                "choice": any_answer(opened["question"])})  # fmt: skip
            await theirs.expect("revealed", question_index=index)
        await theirs.expect("finished")
        await theirs.send({"type": "snapshot"})
        await theirs.expect("snapshot", status="finished")
        names = set()
        for frame in theirs.frames:
            if nicknames_in(frame):
                seen_kinds.add(frame["type"])
            names |= nicknames_in(frame)
        stored = await sync_to_async(
            lambda kid=kid: list(
                PkPlayer.objects.filter(user=kid).values_list("nickname", flat=True)
            )
        )()
        if kid == hidden:
            assert HIDDEN not in names and HIDDEN not in stored
        else:
            assert SHOWN in names
        for tab in (mine, theirs):
            await tab.comm.disconnect()
    assert kinds_with_names(protocol.PK_SERVER) <= seen_kinds
