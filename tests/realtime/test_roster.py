"""Roster mode: students join with a slip's token and type nothing; the roster fixes
their name, school, district and team. A roster file is taken whole or not at all."""

from __future__ import annotations

import io

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from openpyxl import Workbook

from realtime import protocol
from realtime.events import publish
from realtime.live import frames, selectors, services
from realtime.models import LivePlayer, LiveRound, RosterEntry
from tests.factories import SchoolFactory, child, district
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.live import Socket, host_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]


def roster_round(team_mode=""):
    bank = BankFactory()
    version = QuestionFactory(bank=bank).versions.get()
    host = bank.owners.first()
    live = services.round_create(
        host=host,
        title="班级赛",
        versions=[version],
        join_mode=LiveRound.JoinMode.ROSTER,
        team_mode=team_mode,
    )
    return live, host


def csv_file(rows):
    return "\n".join(",".join(row) for row in rows).encode("utf-8")


def test_a_roster_is_imported_whole_and_students_join_with_their_slips():
    live, host = roster_round()
    haidian = SchoolFactory(name="海淀实验中学", district=district("110108"))
    xicheng = SchoolFactory(name="西城第二中学", district=district("110102"))
    data = csv_file([["姓名", "学校"], ["王小明", "海淀实验中学"], ["李华", "西城第二中学"]])
    entries, report = services.roster_import(live=live, actor=host, data=data, filename="r.csv")
    assert report.ok and len(entries) == 2

    slip = RosterEntry.objects.get(name="李华")
    player = services.roster_join(live=live, token=slip.token)
    assert (player.nickname, player.school, player.district.code) == ("李华", xicheng, "110102")
    assert services.roster_join(live=live, token=slip.token) == player  # the same slip again
    assert haidian.pk in RosterEntry.objects.values_list("school", flat=True)
    with pytest.raises(services.ValidationError) as refused:
        services.player_join(live=live, nickname="冒名")
    assert refused.value.code == "roster"
    with pytest.raises(services.ValidationError):
        services.roster_join(live=live, token="not-a-slip")


def test_a_roster_with_bad_rows_is_refused_whole_with_row_and_column():
    live, host = roster_round()
    SchoolFactory(name="海淀实验中学", district=district("110108"))
    data = csv_file(
        [
            ["学校", "姓名"],
            ["海淀实验中学", "王小明"],
            ["不存在的学校", "李华"],
            ["海淀实验中学", ""],
            ["海淀实验中学", "王小明"],
        ]
    )
    entries, report = services.roster_import(live=live, actor=host, data=data, filename="r.csv")
    assert entries == []
    where = sorted((e.row, e.column) for e in report.errors)
    assert where == [(3, "A"), (4, "B"), (5, "B")]
    assert not RosterEntry.objects.exists()
    _entries, headerless = services.roster_import(
        live=live, actor=host, data=csv_file([["名字"], ["x"]]), filename="r.csv"
    )
    assert [e.row for e in headerless.errors] == [1]


def test_a_team_roster_from_xlsx_makes_the_teams_and_fixes_each_students_team():
    live, host = roster_round(team_mode="mean")
    SchoolFactory(name="朝阳外国语学校", district=district("110105"))
    book = Workbook()
    sheet = book.active
    for row in (
        ["姓名", "学校", "队伍"],
        ["甲", "朝阳外国语学校", "红队"],
        ["乙", "朝阳外国语学校", "蓝队"],
    ):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    entries, report = services.roster_import(
        live=live, actor=host, data=buffer.getvalue(), filename="roster.xlsx"
    )
    assert report.ok, report.render()
    assert sorted(live.teams.values_list("name", flat=True)) == ["红队", "蓝队"]
    player = services.roster_join(live=live, token=entries[0].token)
    assert player.team.name == "红队"


def test_a_child_without_consent_cannot_use_a_slip_while_signed_in():
    live, host = roster_round()
    SchoolFactory(name="海淀实验中学", district=district("110108"))
    services.roster_import(
        live=live, actor=host, data=csv_file([["姓名", "学校"], ["小童", "海淀实验中学"]]),
        filename="r.csv",
    )  # fmt: skip
    slip = RosterEntry.objects.get()
    with pytest.raises(services.PermissionDenied):
        services.roster_join(live=live, token=slip.token, user=child())
    assert not LivePlayer.objects.exists()


@pytest.mark.asyncio
async def test_joining_over_the_socket_with_a_slip_types_nothing():
    live, host = await sync_to_async(roster_round)()
    await sync_to_async(SchoolFactory)(
        name="海淀实验中学", district=await sync_to_async(district)()
    )
    entries, _report = await sync_to_async(services.roster_import)(
        live=live, actor=host, data=csv_file([["姓名", "学校"], ["王小明", "海淀实验中学"]]),
        filename="r.csv",
    )  # fmt: skip
    socket = Socket(live)
    welcome = await socket.open({"type": "join", "roster_token": entries[0].token})
    assert welcome["player"]["nickname"] == "王小明"
    await socket.close()
    typed = Socket(live)
    assert (await typed.open({"type": "join", "nickname": "冒名"}))["code"] == "roster"
    await typed.close()


# --- one device per seat: a slip used again takes the seat over -------------------------


def slip_round():
    live, host = roster_round()
    SchoolFactory(name="海淀实验中学", district=district("110108"))
    entries, _report = services.roster_import(
        live=live, actor=host, data=csv_file([["姓名", "学校"], ["王小明", "海淀实验中学"]]),
        filename="r.csv",
    )  # fmt: skip
    return live, host, entries[0].token


def test_the_same_slip_again_is_the_same_player_with_a_new_resume_token():
    live, _host, token = slip_round()
    first = services.roster_join(live=live, token=token)
    second = services.roster_join(live=live, token=token)
    assert (second.pk, second.device) == (first.pk, first.device + 1)
    assert second.token != first.token  # the first phone can no longer resume
    assert selectors.player_for_token(first.token) is None
    assert selectors.player_for_token(second.token) == second


def announce_replaced(live, player_id, device):
    with transaction.atomic():
        publish(live.group_name, frames.replaced(player_id, device), to=player_id)


async def joined(live, message):
    socket = Socket(live)
    welcome = await socket.open(message)
    assert welcome["type"] == "welcome", welcome
    await socket.expect("snapshot")
    return socket, welcome


@pytest.mark.asyncio
async def test_a_slip_used_on_a_second_phone_takes_the_seat_and_the_first_phone_and_host_are_told():
    live, _host, token = await sync_to_async(slip_round)()
    host = await host_socket(live)
    first, hello = await joined(live, {"type": "join", "roster_token": token})
    second, taken = await joined(live, {"type": "join", "roster_token": token})
    assert taken["player"] == hello["player"] and taken["token"] != hello["token"]
    # The first phone is told, then hung up on with 4002 (it must not reconnect).
    replaced = await first.expect("replaced")
    protocol.validate("server", replaced)
    assert replaced == {"type": "replaced", "device": 1, "player": hello["player"]["id"]}
    assert await first.comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4002}
    notice = await host.expect("player_replaced")
    protocol.validate("server", notice)
    assert notice["player"]["id"] == hello["player"]["id"]
    assert notice["player"]["nickname"] == "王小明"
    # The phone that took the seat is not told it was replaced, whether the notice
    # reached its process before or after it subscribed.
    assert await second.comm.receive_nothing(timeout=0.3)
    await sync_to_async(announce_replaced)(live, hello["player"]["id"], 1)
    assert await second.comm.receive_nothing(timeout=0.3)
    # The first phone's token no longer resumes; the second's does.
    again = Socket(live)
    assert (await again.open({"type": "resume", "token": hello["token"]}))["code"] == (
        "unknown_player"
    )
    await again.close()
    third, _ = await joined(live, {"type": "resume", "token": taken["token"]})
    await third.close()
    # A later takeover (device 2) reaches the second phone in turn.
    await sync_to_async(announce_replaced)(live, hello["player"]["id"], 2)
    assert (await second.expect("replaced"))["device"] == 2
    assert await second.comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4002}
    await host.close()
