"""Stage finals and team rounds: teams, captains, compulsory, buzzer and risk questions,
tie-breaks, played through the services and (for buzz and stake) the socket."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from realtime import protocol
from realtime.live import answers, commands, finals, frames, services, snapshots, standings, state
from realtime.live.selectors import screen_key
from realtime.models import LiveQuestion, LiveRound
from tests.factories import UserFactory
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.live import Socket, choice_for, command, host_socket, secrets_of
from tests.support.options import choice_shown, shown
from tests.support.stamps import receive_stamps

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

TURNS = ["compulsory", "buzzer", "risk", "tiebreak", "all"]


def finals_round(kind="finals", team_mode="", turns=TURNS):
    bank = BankFactory()
    versions = [
        QuestionFactory(bank=bank, type="single", explanation=f"EXPLAIN-{n}").versions.get()
        for n in range(len(turns))
    ]
    host = bank.owners.first()
    live = services.round_create(
        host=host, title="决赛", versions=versions, kind=kind, team_mode=team_mode
    )
    teams = [services.team_create(live=live, actor=host, name=name) for name in "ABC"]
    return live, host, teams


def set_turns(live, host, teams):
    named = {"compulsory": teams[0], "risk": teams[1]}
    for position, turn in enumerate(TURNS):
        services.question_turn_set(
            live=live, actor=host, position=position, turn=turn, team=named.get(turn)
        )


def stake(**submitted):
    """A stake and the frame its captain gets."""
    return frames.stake_reply(finals.stake_submit(**submitted))


def buzz(**submitted):
    """A buzz and the frame its captain gets."""
    return frames.buzz_reply(finals.buzz_submit(**submitted))


def question_at(live, index):
    return LiveQuestion.objects.select_related("version").get(round=live, position=index)


def version_at(live, index):
    return question_at(live, index).version


def answer(player, live, index, right, at=None):
    """An answer right or wrong, in the option ids the round shows (tests.support.options)."""
    question = question_at(live, index)
    return answers.answer_submit(
        player=player,
        answer_id=f"{player.pk}-{index}",
        question_index=index,
        response=shown(question, choice_for(question.version, right)),
        received_at=at or state.now_ms(),
    )


def reveal(live, host, name="next"):
    commands.round_command(live=live, actor=host, name="close")
    commands.round_command(live=live, actor=host, name="reveal")


def test_a_whole_final_scores_compulsory_buzzer_risk_and_breaks_the_tie():
    live, host, (a, b, c) = finals_round()
    set_turns(live, host, (a, b, c))
    cap_a = services.player_join(live=live, nickname="甲队", team=a)
    member_a = services.player_join(live=live, nickname="甲队二号", team=a)
    cap_b = services.player_join(live=live, nickname="乙队", team=b)
    cap_c = services.player_join(live=live, nickname="丙队", team=c)
    assert (cap_a.is_captain, member_a.is_captain, cap_b.is_captain) == (True, False, True)

    # 0. compulsory (A): only A's captain answers.
    commands.round_command(live=live, actor=host, name="start")
    assert answer(member_a, live, 0, True).reason == "not_captain"
    assert answer(cap_b, live, 0, True).reason == "not_your_turn"
    assert answer(cap_a, live, 0, True).accepted
    reveal(live, host)

    # 2's stake is chosen before question 2 is shown; only B's turn.
    assert (
        stake(player=cap_a, question_index=2, stake=10, received_at=state.now_ms())["reason"]
        == "not_your_turn"
    )
    assert (
        stake(player=cap_b, question_index=2, stake=25, received_at=state.now_ms())["reason"]
        == "bad_stake"
    )
    staked = stake(player=cap_b, question_index=2, stake=30, received_at=state.now_ms())
    assert staked == {"type": "stake_ack", "question": 2, "stake": 30}
    again = stake(player=cap_b, question_index=2, stake=20, received_at=state.now_ms())
    assert again["reason"] == "already_staked"

    # 1. buzzer: B buzzes first by server receive time, even if processed second.
    commands.round_command(live=live, actor=host, name="next")
    opened = LiveRound.objects.get(pk=live.pk).opened_at
    late = buzz(player=cap_c, question_index=1, received_at=opened + 300)
    early = buzz(player=cap_b, question_index=1, received_at=opened + 120)
    assert (late["first"], early["first"]) == (True, True)  # the lead changed hands
    assert (
        buzz(player=cap_b, question_index=1, received_at=opened + 999)["received_at"]
        == opened + 120
    )  # one buzz per team
    assert answer(cap_c, live, 1, True).reason == "not_your_turn"
    assert answer(cap_b, live, 1, False).accepted  # wrong: −10
    reveal(live, host)

    # 2. risk (B, stake 30): too late to change or add a stake now.
    commands.round_command(live=live, actor=host, name="next")
    assert (
        stake(player=cap_b, question_index=2, stake=30, received_at=state.now_ms())["stake"] == 30
    )
    assert answer(cap_b, live, 2, True).accepted  # +30
    reveal(live, host)

    # 3. tie-break: no points; A right and faster than B.
    commands.round_command(live=live, actor=host, name="next")
    now = LiveRound.objects.get(pk=live.pk).opened_at
    assert answer(cap_a, live, 3, True, at=now + 1000).accepted
    assert answer(cap_b, live, 3, True, at=now + 2000).accepted
    reveal(live, host)

    # 4. everyone: A and C right (+10 each), B does not answer.
    commands.round_command(live=live, actor=host, name="next")
    assert answer(cap_a, live, 4, True).accepted
    assert answer(cap_c, live, 4, True).accepted
    reveal(live, host)
    commands.round_command(live=live, actor=host, name="finish")

    live.refresh_from_db()
    standing = standings.standings(live, state.round_state(live))
    points = {row["name"]: row["points"] for row in standing.rows}
    assert points == {"A": 120, "B": 120, "C": 110}
    assert [(row["rank"], row["name"]) for row in standing.rows] == [(1, "A"), (2, "B"), (3, "C")]
    assert standing.you[member_a.pk]["team"]["points"] == 120
    assert standing.you[cap_c.pk]["rank"] == 3

    # Voiding the buzzer question gives B its 10 back: B leads alone.
    commands.round_command(live=live, actor=host, name="void", question_index=1)
    live.refresh_from_db()
    standing = standings.standings(live, state.round_state(live))
    assert (standing.rows[0]["name"], standing.rows[0]["points"]) == ("B", 130)


def test_nobody_buzzing_voids_a_buzzer_question_and_a_risk_without_stake_plays_for_ten():
    live, host, (a, b, c) = finals_round()
    set_turns(live, host, (a, b, c))
    cap_b = services.player_join(live=live, nickname="乙队", team=b)
    commands.round_command(live=live, actor=host, name="start")
    reveal(live, host)
    commands.round_command(live=live, actor=host, name="next")  # buzzer: nobody buzzes
    reveal(live, host)
    commands.round_command(live=live, actor=host, name="next")  # risk: B forgot to stake
    assert answer(cap_b, live, 2, False).accepted
    reveal(live, host)
    live.refresh_from_db()
    points = {
        row["name"]: row["points"]
        for row in standings.standings(live, state.round_state(live)).rows
    }
    assert points == {"A": 100, "B": 90, "C": 100}


def test_team_rounds_score_the_mean_of_the_members():
    live, host, (a, b, _c) = finals_round(kind="classic", team_mode="mean", turns=["all"])
    ana = services.player_join(live=live, nickname="Ana", team=a)
    ben = services.player_join(live=live, nickname="Ben", team=a)
    cai = services.player_join(live=live, nickname="Cai", team=b)
    commands.round_command(live=live, actor=host, name="start")
    assert answer(ana, live, 0, True).accepted
    assert answer(ben, live, 0, False).accepted
    assert answer(cai, live, 0, True).accepted
    reveal(live, host)
    live.refresh_from_db()
    standing = standings.standings(live, state.round_state(live))
    mine = standing.you[ana.pk]
    rows = {row["name"]: row["points"] for row in standing.rows}
    assert rows["A"] == round(mine["points"] / 2) or abs(rows["A"] - mine["points"] / 2) <= 0.5
    assert rows["B"] == standing.you[cai.pk]["points"]
    assert rows["C"] == 0
    assert mine["team"]["name"] == "A"


def test_a_team_round_needs_a_team_and_only_the_host_sets_teams_and_turns():
    live, host, _teams = finals_round()
    with pytest.raises(services.ValidationError):
        services.player_join(live=live, nickname="无队")
    with pytest.raises(services.PermissionDenied):
        services.team_create(live=live, actor=UserFactory(role="organizer"), name="D")
    with pytest.raises(services.ValidationError):
        services.question_turn_set(live=live, actor=host, position=0, turn="compulsory")
    with pytest.raises(services.ValidationError):
        services.team_create(live=live, actor=host, name="A")
    commands.round_command(live=live, actor=host, name="start")
    with pytest.raises(services.ValidationError):
        services.team_create(live=live, actor=host, name="Late")


@pytest.mark.asyncio
async def test_over_the_socket_captains_buzz_and_stake_and_no_frame_shows_a_key_early():
    live, host_user, teams = await sync_to_async(finals_round)()
    await sync_to_async(set_turns)(live, host_user, teams)
    versions = await sync_to_async(lambda: [version_at(live, i) for i in range(len(TURNS))])()
    host = await host_socket(live)
    captains = []
    for team, name in zip(teams, ("甲", "乙", "丙"), strict=True):
        socket = Socket(live)
        welcome = await socket.open({"type": "join", "nickname": name, "team": team.pk})
        assert welcome["type"] == "welcome", welcome
        snap = await socket.expect("snapshot")
        assert snap["you"]["captain"] is True
        assert [t["name"] for t in snap["teams"]] == ["A", "B", "C"]
        captains.append(socket)
    a, b, c = captains

    await b.send({"type": "stake", "question": 2, "stake": 20})
    assert (await b.expect("stake_ack"))["stake"] == 20
    for index, version in enumerate(versions):
        await command(host, "start" if index == 0 else "next")
        opened = await a.expect("question_opened")
        assert opened["question"]["turn"] == TURNS[index]
        if TURNS[index] == "buzzer":
            await c.send({"type": "buzz", "question": index})
            assert (await c.expect("buzz_ack"))["first"] is True
            assert (await a.expect("buzzed"))["team"] == teams[2].pk
        answering = {"compulsory": a, "buzzer": c, "risk": b}.get(TURNS[index], a)
        await answering.send(
            {"type": "answer", "answer_id": f"x{index}", "question": index,
             "choice": choice_shown(version, opened["question"], right=True)}
        )  # fmt: skip
        assert (await answering.expect("ack", "reject"))["type"] == "ack"
        await command(host, "close")
        for socket in captains:
            await socket.expect("question_closed")
            text = "\n".join(socket.raw)
            for secret in secrets_of(version):
                assert secret not in text, (TURNS[index], secret)
        await command(host, "reveal")
        for socket in captains:
            await socket.expect("revealed")
            socket.raw.clear()
    await command(host, "finish")
    finished = await c.expect("finished")
    # A: compulsory +10, everyone +10; B: risk +20; C: buzzer +10. A wins the tie with
    # B on the tie-break question, which only A answered.
    assert [(row["name"], row["points"]) for row in finished["leaderboard"]] == [
        ("A", 120), ("B", 120), ("C", 110),
    ]  # fmt: skip
    assert [row["rank"] for row in finished["leaderboard"]] == [1, 2, 3]
    for socket in (host, *captains):
        await socket.close()


def test_a_player_who_joins_after_a_reveal_sees_the_team_standing_at_once():
    live, host, (a, b, c) = finals_round()
    set_turns(live, host, (a, b, c))
    cap_a = services.player_join(live=live, nickname="甲队", team=a)
    commands.round_command(live=live, actor=host, name="start")
    assert answer(cap_a, live, 0, True).accepted
    reveal(live, host)
    live.refresh_from_db()
    snapshots.snapshot(live, role="player", player=cap_a)  # the standings are cached now
    late = services.player_join(live=live, nickname="甲队二号", team=a)
    you = snapshots.snapshot(live, role="player", player=late)["you"]
    assert you["team"] == {"id": a.pk, "name": "A", "points": 110, "rank": 1}
    assert (you["points"], you["rank"], you["captain"]) == (110, 1, False)


# --- buzzer ties (docs/scoring.md §6): µs receive stamps, 1 ms window, the host's award ---


def buzzer_final(join=True):
    """A final of one true/false buzzer question (a boolean answer needs no option id)
    and teams A, B, C; with `join`, their captains, and started."""
    live, host, teams = finals_round(turns=["buzzer"])
    version = QuestionFactory(bank=BankFactory(), type="true_false").versions.get()
    LiveQuestion.objects.filter(round=live, position=0).update(version=version, turn="buzzer")
    if not join:
        return live, host, teams, [], version.key["value"]
    captains = [services.player_join(live=live, nickname=f"{t.name}队", team=t) for t in teams]
    commands.round_command(live=live, actor=host, name="start")
    live.refresh_from_db()
    return live, host, teams, captains, version.key["value"]


def test_buzzes_less_than_a_millisecond_apart_wait_for_the_host_who_awards_one_team():
    live, host, (a, b, c), (cap_a, cap_b, cap_c), right = buzzer_final()
    start_us = live.opened_at * 1000
    # The worked tie: A at 400.950 ms, B at 401.700 ms (0.75 ms later, one whole ms
    # later when read in ms), C at 402.100 ms (1.15 ms after A).
    first = buzz(player=cap_a, question_index=0, received_at=0, received_us=start_us + 400_950)
    tied = buzz(player=cap_b, question_index=0, received_at=0, received_us=start_us + 401_700)
    late = buzz(player=cap_c, question_index=0, received_at=0, received_us=start_us + 402_100)
    assert first == {
        "type": "buzz_ack",
        "question": 0,
        "received_at": live.opened_at + 400,
        "received_us": start_us + 400_950,
        "first": True,
    }
    assert (tied["received_at"], tied["first"], late["first"]) == (
        live.opened_at + 401,
        False,
        False,
    )
    # A resend gets the first stamp again, and A no longer leads.
    again = buzz(player=cap_a, question_index=0, received_at=0, received_us=start_us + 900_000)
    assert (again["received_us"], again["first"]) == (start_us + 400_950, False)
    # Nobody answers a tie: not A, whose ms stamp is a whole ms ahead, nor B.
    for captain in (cap_a, cap_b, cap_c):
        assert answer(captain, live, 0, right).reason == "not_your_turn"
    shown = snapshots.snapshot(live, role="screen")
    assert "buzz" not in shown
    assert shown["buzz_tie"] == {
        "teams": [
            {"team": a.pk, "received_at": live.opened_at + 400, "received_us": start_us + 400_950},
            {"team": b.pk, "received_at": live.opened_at + 401, "received_us": start_us + 401_700},
        ],
        "window_us": 1000,
    }

    # Only the host awards, only the current question, only to a tied team.
    with pytest.raises(services.PermissionDenied):
        commands.buzz_award(live=live, actor=cap_b.user, question_index=0, team_id=b.pk)
    for index, team, code in ((0, c.pk, "not_tied"), (1, b.pk, "bad_question_index")):
        with pytest.raises(state.CommandRefused) as refused:
            commands.buzz_award(live=live, actor=host, question_index=index, team_id=team)
        assert refused.value.code == code
    commands.buzz_award(live=live, actor=host, question_index=0, team_id=b.pk)
    with pytest.raises(state.CommandRefused) as refused:  # an award is final
        commands.buzz_award(live=live, actor=host, question_index=0, team_id=a.pk)
    assert refused.value.code == "not_tied"
    shown = snapshots.snapshot(live, role="screen")
    assert shown["buzz"] == {
        "team": b.pk,
        "received_at": live.opened_at + 401,
        "received_us": start_us + 401_700,
        "awarded": True,
    }
    assert [t["team"] for t in shown["buzz_tie"]["teams"]] == [a.pk, b.pk]
    assert answer(cap_a, live, 0, right).reason == "not_your_turn"
    assert answer(cap_b, live, 0, right).accepted
    reveal(live, host)
    live.refresh_from_db()
    rows = standings.standings(live, state.round_state(live)).rows
    assert {r["name"]: r["points"] for r in rows} == {"A": 100, "B": 110, "C": 100}


def test_a_tie_is_awarded_while_its_question_is_open_or_paused_open():
    live, host, (a, _b, _c), (cap_a, cap_b, _cap_c), right = buzzer_final()
    start_us = live.opened_at * 1000
    buzz(player=cap_a, question_index=0, received_at=0, received_us=start_us + 10_000)
    buzz(player=cap_b, question_index=0, received_at=0, received_us=start_us + 10_000)
    commands.round_command(live=live, actor=host, name="pause")  # the clock waits
    commands.buzz_award(live=live, actor=host, question_index=0, team_id=a.pk)
    commands.round_command(live=live, actor=host, name="resume")
    assert answer(cap_a, live, 0, right).accepted


def test_a_tie_never_settled_changes_nothing():
    live, host, (_a, b, _c), (cap_a, cap_b, _cap_c), right = buzzer_final()
    start_us = live.opened_at * 1000
    buzz(player=cap_a, question_index=0, received_at=0, received_us=start_us + 10_000)
    buzz(player=cap_b, question_index=0, received_at=0, received_us=start_us + 10_999)
    assert answer(cap_a, live, 0, right).reason == "not_your_turn"
    reveal(live, host)
    with pytest.raises(state.CommandRefused) as refused:
        commands.buzz_award(live=live, actor=host, question_index=0, team_id=b.pk)
    assert refused.value.code == "not_allowed_in_status"
    live.refresh_from_db()
    rows = standings.standings(live, state.round_state(live)).rows
    assert {r["name"]: r["points"] for r in rows} == {"A": 100, "B": 100, "C": 100}


async def after(socket, mark, kind):
    """The first `kind` frame the socket got after its `mark`-th frame (waiting for it):
    a broadcast may come before or after the reply to the message that caused it."""
    while True:
        found = [frame for frame in socket.frames[mark:] if frame["type"] == kind]
        if found:
            return found[0]
        await socket.recv()


@pytest.mark.asyncio
async def test_over_the_socket_buzzes_are_stamped_in_microseconds_and_everyone_sees_the_tie(
    monkeypatch,
):
    live, _host, (a, b, _c), _none, right = await sync_to_async(buzzer_final)(join=False)
    stamps = receive_stamps(monkeypatch)
    host = await host_socket(live)
    screen = Socket(live)
    assert (await screen.open({"type": "screen", "key": screen_key(live)}))["role"] == "screen"
    captains = []
    for team in (a, b):
        socket = Socket(live)
        welcome = await socket.open({"type": "join", "nickname": team.name, "team": team.pk})
        assert welcome["type"] == "welcome", welcome
        captains.append(socket)
    cap_a, cap_b = captains
    everyone = [host, screen, cap_a, cap_b]
    await command(host, "start")
    opened_at = (await cap_a.expect("question_opened"))["opened_at"]
    # The stamps the consumer takes, in ns: 0.75 ms apart, across a ms boundary.
    stamps.queue.append(opened_at * 1_000_000 + 400_950_123)
    marks = [len(socket.frames) for socket in everyone]
    await cap_a.send({"type": "buzz", "question": 0})
    ack = await after(cap_a, marks[2], "buzz_ack")
    assert (ack["received_us"], ack["received_at"], ack["first"]) == (
        opened_at * 1000 + 400_950,
        opened_at + 400,
        True,
    )
    for socket, mark in zip(everyone, marks, strict=True):
        assert (await after(socket, mark, "buzzed"))["received_us"] == ack["received_us"]
    stamps.queue.append(opened_at * 1_000_000 + 401_700_000)
    marks = [len(socket.frames) for socket in everyone]
    await cap_b.send({"type": "buzz", "question": 0})
    assert (await after(cap_b, marks[3], "buzz_ack"))["first"] is False
    for socket, mark in zip(everyone, marks, strict=True):
        tie = await after(socket, mark, "buzz_tie")
        protocol.validate("server", tie)
        assert [t["team"] for t in tie["teams"]] == [a.pk, b.pk]
        assert tie["window_us"] == 1000
    await command(host, "buzz_award", question=0, team=a.pk + b.pk + 99)
    assert (await host.expect("error"))["code"] == "not_tied"
    await command(host, "buzz_award", question=0, team="B")
    assert (await host.expect("error")) == {"type": "error", "code": "bad_field", "detail": "team"}
    marks = [len(socket.frames) for socket in everyone]
    await command(host, "buzz_award", question=0, team=b.pk)
    for socket, mark in zip(everyone, marks, strict=True):
        awarded = await after(socket, mark, "buzzed")
        protocol.validate("server", awarded)
        assert (awarded["team"], awarded["awarded"]) == (b.pk, True)
    await cap_b.send({"type": "answer", "answer_id": "b0", "question": 0, "choice": right})
    assert (await cap_b.expect("ack", "reject"))["type"] == "ack"
    await host.send({"type": "snapshot"})
    snap = await host.expect("snapshot")
    assert (snap["buzz"]["team"], [t["team"] for t in snap["buzz_tie"]["teams"]]) == (
        b.pk,
        [a.pk, b.pk],
    )
    for socket in everyone:
        await socket.close()
