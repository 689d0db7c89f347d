"""The PK queue claims and matches in bulk and keeps waiting players only (issue 13):
the finds a process gathered are one call, the matches made in one transaction, and a
row goes as soon as its player is matched, cancels or stops waiting."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from realtime.live.state import now_ms
from realtime.models import PkEntry, PkMatch, PkPlayer
from realtime.pk import matching
from tests.realtime.test_pk import make_bank, player_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("districts_loaded")]


def test_a_batch_of_finds_pairs_everyone_oldest_first_and_leaves_no_row():
    make_bank()
    users = [player_user(f"队列{n}") for n in range(7)]
    early = users[6]
    matching.pk_find(user=early)  # waited first: seat 0 of the first match
    found = matching.pk_finds(users[:6])
    seats = [f for f in found if isinstance(f, PkPlayer)]
    waiting = [f for f in found if isinstance(f, PkEntry)]
    assert len(seats) == 5 and len(waiting) == 1
    assert PkMatch.objects.count() == 3
    for match in PkMatch.objects.all():
        players = list(match.players.values_list("user_id", flat=True))
        assert len(players) == 2 and len(set(players)) == 2
        assert match.questions.count() == 5
    assert PkPlayer.objects.get(user=early).seat == 0
    assert PkPlayer.objects.values("user").distinct().count() == 6  # nobody twice
    # Only the one left over waits: the rows of the matched players are gone.
    assert list(PkEntry.objects.values_list("user_id", flat=True)) == [waiting[0].user_id]


def test_a_batch_costs_a_few_queries_whatever_its_size():
    make_bank()

    def queries(count: int) -> int:
        users = [player_user(f"计数{count}-{n}") for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            matching.pk_finds(users)
        return len(captured)

    small, large = queries(2), queries(20)
    # One match or ten, in one transaction, the profiles read at once: what grows is
    # public_names for each match's nicknames (9 more matches).
    assert large == small + 9


def test_a_row_put_back_for_a_player_already_matched_is_removed_not_paired():
    make_bank()
    alice, bob, carol = (player_user(name) for name in ("甲一", "乙一", "丙一"))
    matching.pk_find(user=alice)
    seat = matching.pk_find(user=bob)
    assert isinstance(seat, PkPlayer)
    # A find of Alice's that raced with the match puts a row back.
    PkEntry.objects.create(user=alice, since=now_ms())
    found = matching.pk_find(user=carol)
    assert isinstance(found, PkEntry)  # Carol waits: Alice plays already
    assert list(PkEntry.objects.values_list("user_id", flat=True)) == [carol.pk]
    assert PkMatch.objects.count() == 1


def test_waiting_checks_are_one_call_and_end_waits_that_are_over(settings):
    make_bank()
    settings.PK_WAIT_MS = 1000
    alice, bob, carol = (player_user(name) for name in ("甲二", "乙二", "丙二"))
    matching.pk_find(user=alice)
    matching.pk_find(user=bob)  # matched with Alice
    PkEntry.objects.create(user=carol, since=now_ms() - 5000)  # waited too long
    dave = player_user("丁二")
    PkEntry.objects.create(user=dave, since=now_ms())
    found = matching.pk_waitings([alice, carol, dave, player_user("戊二")])
    assert isinstance(found[0][0], PkPlayer) and found[0][1] is None
    assert found[1] == (None, None)  # over: out of the queue
    assert found[2][0] is None and found[2][1] > now_ms()
    assert found[3] == (None, None)  # never queued
    assert list(PkEntry.objects.values_list("user_id", flat=True)) == [dave.pk]


def test_a_match_finished_lets_the_players_queue_again():
    make_bank()
    alice, bob = player_user("甲三"), player_user("乙三")
    matching.pk_find(user=alice)
    seat = matching.pk_find(user=bob)
    PkMatch.objects.filter(pk=seat.match_id).update(status="finished")
    assert isinstance(matching.pk_find(user=alice), PkEntry)
    again = matching.pk_find(user=bob)
    assert isinstance(again, PkPlayer) and again.match_id != seat.match_id
    assert not PkEntry.objects.exists()


def test_two_players_left_waiting_by_finds_at_once_are_paired_at_their_next_check():
    """Two processes' finds each left one player over (each skipped the row the other
    had locked): nobody finds again, yet the waiting sockets' next check pairs them."""
    make_bank()
    alice, bob = player_user("甲四"), player_user("乙四")
    now = now_ms()
    PkEntry.objects.create(user=alice, since=now - 10)
    PkEntry.objects.create(user=bob, since=now)
    [(seat, until)] = matching.pk_waitings([bob])
    assert until is None and seat.seat == 1
    assert PkPlayer.objects.get(user=alice).match_id == seat.match_id
    assert not PkEntry.objects.exists()
