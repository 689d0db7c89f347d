"""Results of a played live round: rows and the XLSX export (realtime.live.results)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from django.utils import translation
from openpyxl import load_workbook

from leaderboards.ranking import rank_round
from realtime.live import answers, commands, services, snapshots, standings, state
from realtime.live.results import receive_time_iso, results_rows, results_xlsx
from realtime.models import LiveAnswer, LiveRound, RosterEntry
from tests.factories import SchoolFactory
from tests.support.live import choice_for, make_round
from tests.support.options import shown

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example.com","点我")'


@pytest.fixture(autouse=True)
def _fresh_score_caches():
    """realtime.live.standings caches scores per process by round id and seq; these tests
    roll back, so the next test's round can have the same id and seq."""
    standings.score_cache.clear()
    standings.standings_cache.clear()


def host_does(live: LiveRound, *names: str, **extra) -> None:
    for name in names:
        commands.round_command(live=live, actor=live.host, name=name, **extra)


def submit(live, player, index, version, *, right, after_ms, answer_id=None):
    """An answer received `after_ms` after the question opened (server time)."""
    live.refresh_from_db()
    result = answers.answer_submit(
        player=player,
        answer_id=answer_id or f"{player.nickname[:10]}-{index}",
        question_index=index,
        response=shown(
            live.questions.get(position=index),
            choice_for(version, right=right) if isinstance(right, bool) else right,
        ),
        received_at=live.opened_at + after_ms,
    )
    assert result.accepted, result
    return result


@pytest.fixture
def played():
    """A classic round of three questions, played to the end: the second is voided
    afterwards. Answer times are chosen, so the points are known:
    q0: Alice right in 0.2 s (1000), Evil right in 10 s (750), Bob wrong;
    q1 (voided): Alice and Bob right;
    q2: Alice wrong, Bob right in 5 s (875), Evil answers "=1+1" (wrong)."""
    live = make_round(types=["single", "true_false", "fill"], seconds=20)
    versions = [q.version for q in live.questions.select_related("version").order_by("position")]
    alice = services.player_join(live=live, nickname="Alice")
    evil = services.player_join(live=live, nickname=EVIL[:20])
    bob = services.player_join(live=live, nickname="Bob")
    host_does(live, "start")
    submit(live, alice, 0, versions[0], right=True, after_ms=200)
    submit(live, evil, 0, versions[0], right=True, after_ms=10_000)
    submit(live, bob, 0, versions[0], right=False, after_ms=3_000)
    host_does(live, "close", "reveal", "leaderboard", "next")
    submit(live, alice, 1, versions[1], right=True, after_ms=1_000)
    submit(live, bob, 1, versions[1], right=True, after_ms=1_000)
    host_does(live, "close", "reveal", "next")
    submit(live, alice, 2, versions[2], right=False, after_ms=2_000)
    submit(live, bob, 2, versions[2], right=True, after_ms=5_000)
    submit(live, evil, 2, versions[2], right="=1+1", after_ms=19_000)
    # A late answer is rejected, so it is not in the results.
    live.refresh_from_db()
    late = answers.answer_submit(
        player=alice,
        answer_id="late",
        question_index=2,
        response="x",
        received_at=live.closes_at + live.grace_ms + 1,
    )
    assert late.reason == "too_late"
    host_does(live, "close", "reveal")
    host_does(live, "void", question_index=1)
    host_does(live, "finish")
    live.refresh_from_db()
    return live, {"alice": alice, "evil": evil, "bob": bob}


def test_the_rows_hold_the_points_the_players_saw(played):
    live, who = played
    results = results_rows(live)
    by_name = {row.nickname: row for row in results.players}
    assert [row.nickname for row in results.players] == ["Alice", "Bob", EVIL[:20]]
    assert [row.rank for row in results.players] == [1, 2, 3]
    assert by_name["Alice"].points == 1000
    assert by_name["Bob"].points == 875
    assert by_name[EVIL[:20]].points == 750
    # The voided question counts for nothing: two answers each, one of them right.
    for row in results.players:
        assert (row.answered, row.correct) == (2, 1)
    assert by_name["Alice"].time_ms == 200 + 2_000
    assert by_name["Bob"].time_ms == 3_000 + 5_000
    # The same numbers as the snapshot each player gets.
    for player in who.values():
        you = snapshots.snapshot(live, role="player", player=player)["you"]
        row = next(r for r in results.players if r.player == player.pk)
        assert (row.points, row.rank) == (you["points"], you["rank"])
    # And as scoring itself, from the recorded answers.
    score = standings.round_score(live, state.round_state(live))
    assert {r.player: r.points for r in results.players} == score.points()
    assert {r.id: r.rank for r in rank_round(score)} == {r.player: r.rank for r in results.players}


def test_the_question_rows_mark_the_voided_question(played):
    live, _ = played
    questions = results_rows(live).questions
    assert [(q.index, q.type, q.stem) for q in questions] == [
        (0, "single", "STEM-0"),
        (1, "true_false", "STEM-1"),
        (2, "fill", "STEM-2"),
    ]
    assert [(q.answers, q.correct) for q in questions] == [(3, 2), (2, 2), (3, 1)]
    assert [(q.voided, q.counted) for q in questions] == [
        (False, True),
        (True, False),
        (False, True),
    ]


def test_every_accepted_answer_is_in_the_audit_rows_with_its_receive_time(played):
    live, who = played
    answers = results_rows(live).answers
    stored = {
        (a.player_id, a.question.position): a
        for a in LiveAnswer.objects.filter(round=live).select_related("question")
    }
    assert len(answers) == len(stored) == 8
    assert "late" not in {a.answer_id for a in answers}
    for row in answers:
        answer = stored[(row.player, row.question)]
        assert row.answer_id == answer.answer_id
        assert row.response == answer.response
        assert row.received_at == answer.received_at
        assert row.elapsed_ms == answer.elapsed_ms
        assert row.correct == answer.correct
        moment = datetime.fromisoformat(row.received_iso)
        assert moment.utcoffset() == timedelta(hours=8)
        assert round(moment.timestamp() * 1000) == answer.received_at
    points = {(row.player, row.question): row.points for row in answers}
    assert points[(who["alice"].pk, 0)] == 1000
    assert points[(who["evil"].pk, 0)] == 750
    assert points[(who["bob"].pk, 0)] == 0
    assert points[(who["alice"].pk, 1)] is None  # voided
    assert points[(who["bob"].pk, 2)] == 875


def test_receive_times_are_beijing_time_to_the_millisecond():
    assert receive_time_iso(0) == "1970-01-01T08:00:00.000+08:00"
    assert receive_time_iso(1_700_000_000_123) == "2023-11-15T06:13:20.123+08:00"


def _sheets(data: bytes) -> dict[str, list[list]]:
    workbook = load_workbook(io.BytesIO(data))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    return {
        sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()]
        for sheet in workbook.worksheets
    }


def test_the_workbook_has_players_questions_and_answers(played):
    live, _ = played
    with translation.override("en"):
        sheets = _sheets(results_xlsx(live))
    assert list(sheets) == ["Players", "Questions", "Answers"]
    players = sheets["Players"]
    assert players[0] == [
        "Rank",
        "Nickname",
        "School",
        "District",
        "Points",
        "Correct answers",
        "Answered",
        "Time (ms)",
        "Best streak",
        "Kicked",
    ]
    assert [row[:2] + row[4:5] for row in players[1:]] == [
        [1, "Alice", 1000],
        [2, "Bob", 875],
        [3, "'" + EVIL[:20], 750],
    ]
    questions = sheets["Questions"]
    assert questions[0][0] == "Question" and questions[0][6] == "Voided"
    assert [row[6] for row in questions[1:]] == ["no", "yes", "no"]
    assert [row[7] for row in questions[1:]] == ["yes", "no", "yes"]
    answers = sheets["Answers"]
    header = answers[0]
    assert header[:3] == ["Player", "Question", "Answer ID"]
    rows = [dict(zip(header, row, strict=True)) for row in answers[1:]]
    stored = {a.answer_id: a for a in LiveAnswer.objects.filter(round=live)}
    assert len(rows) == len(stored)
    for row in rows:
        answer = stored[row["Answer ID"].removeprefix("'")]
        assert row["Received (ms since epoch)"] == answer.received_at
        assert row["Received (Beijing time)"] == receive_time_iso(answer.received_at)
        assert row["Elapsed (ms)"] == answer.elapsed_ms
        assert json.loads(row["Response"].removeprefix("'")) == answer.response
    evil_fill = next(r for r in rows if r["Question"] == 3 and r["Player"].startswith("'"))
    assert evil_fill["Response"] == '"=1+1"'  # JSON text: starts with a quote, safe as is
    assert evil_fill["Response (readable)"] == "'=1+1"
    assert evil_fill["Correct"] == "no" and evil_fill["Points"] == 0


def test_formula_text_from_players_is_escaped_in_every_sheet(played):
    live, who = played
    # A client chooses its answer_ids too: one that looks like a formula.
    LiveAnswer.objects.filter(player=who["evil"], question__position=0).update(answer_id="@SUM(A1)")
    sheets = _sheets(results_xlsx(live))
    texts = [
        value for rows in sheets.values() for row in rows for value in row if isinstance(value, str)
    ]
    assert "'@SUM(A1)" in texts
    assert "'" + EVIL[:20] in texts
    for text in texts:
        assert not text.startswith(("=", "+", "-", "@")), text


def test_an_unrevealed_question_does_not_count_yet():
    live = make_round(types=["single", "single"], kind="accuracy")
    version = live.questions.get(position=0).version
    alice = services.player_join(live=live, nickname="Alice")
    host_does(live, "start")
    submit(live, alice, 0, version, right=True, after_ms=100)
    results = results_rows(live)
    assert results.players[0].points == 0
    assert results.answers[0].points is None
    assert not results.questions[0].counted
    host_does(live, "close", "reveal")
    live.refresh_from_db()
    results = results_rows(live)
    assert results.players[0].points == 1000  # accuracy: P whatever the time
    assert results.answers[0].points == 1000
    assert results.questions[0].counted and not results.questions[1].counted


def test_a_kicked_player_is_marked():
    live = make_round(types=["single"])
    services.player_join(live=live, nickname="Alice")
    eve = services.player_join(live=live, nickname="Eve")
    commands.player_kick(live=live, actor=live.host, player_id=eve.pk)
    rows = {row.nickname: row for row in results_rows(live).players}
    assert rows["Eve"].kicked and not rows["Alice"].kicked
    assert rows["Eve"].rank is None


def test_a_team_round_exports_the_team_standings_the_players_saw():
    live = make_round(types=["single"])
    LiveRound.objects.filter(pk=live.pk).update(team_mode="mean")
    live.refresh_from_db()
    red = services.team_create(live=live, actor=live.host, name="=红队")
    blue = services.team_create(live=live, actor=live.host, name="蓝队")
    version = live.questions.get().version
    ana = services.player_join(live=live, nickname="Ana", team=red)
    ben = services.player_join(live=live, nickname="Ben", team=red)
    cai = services.player_join(live=live, nickname="Cai", team=blue)
    host_does(live, "start")
    submit(live, ana, 0, version, right=True, after_ms=100)
    submit(live, ben, 0, version, right=False, after_ms=100)
    submit(live, cai, 0, version, right=True, after_ms=10_000)
    host_does(live, "close", "reveal")
    live.refresh_from_db()
    results = results_rows(live)
    shown = standings.standings(live, state.round_state(live)).rows
    assert [(t.rank, t.name, t.points) for t in results.teams] == [
        (row["rank"], row["name"], row["points"]) for row in shown
    ]
    assert [(t.name, t.points) for t in results.teams] == [("蓝队", 750), ("=红队", 500)]
    assert {p.nickname: p.team for p in results.players} == {
        "Ana": "=红队",
        "Ben": "=红队",
        "Cai": "蓝队",
    }
    with translation.override("en"):
        sheets = _sheets(results_xlsx(live))
    assert list(sheets) == ["Players", "Questions", "Answers", "Teams"]
    assert sheets["Players"][0][2] == "Team"
    assert sheets["Teams"][1:] == [[1, "蓝队", 750], [2, "'=红队", 500]]


def test_a_roster_player_is_exported_with_school_and_district():
    live = make_round(types=["single"])
    LiveRound.objects.filter(pk=live.pk).update(join_mode="roster")
    live.refresh_from_db()
    school = SchoolFactory(name="海淀实验小学")
    slip = RosterEntry.objects.create(round=live, name="张三", school=school)
    services.roster_join(live=live, token=slip.token)
    row = results_rows(live).players[0]
    assert (row.nickname, row.school, row.district) == (
        "张三",
        "海淀实验小学",
        school.district.name,
    )
