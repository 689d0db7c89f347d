"""The per-process caches of scores and standings (realtime.live.standings) are bounded:
a server that runs rounds for months keeps only the latest few."""

from __future__ import annotations

from realtime.live.standings import MAX_ROUNDS, LatestByRound, score_cache, standings_cache


def test_a_cached_value_holds_only_while_its_key_is_unchanged():
    cache: LatestByRound[str] = LatestByRound(4)
    cache.put(1, ("seq", 3), "scores at seq 3")
    assert cache.get(1, ("seq", 3)) == "scores at seq 3"
    assert cache.get(1, ("seq", 4)) is None
    assert cache.get(2, ("seq", 3)) is None


def test_the_least_recently_used_round_is_dropped_beyond_the_maximum():
    cache: LatestByRound[int] = LatestByRound(3)
    for round_id in (1, 2, 3):
        cache.put(round_id, "k", round_id)
    assert cache.get(1, "k") == 1  # round 1 is used again: round 2 is now the oldest
    cache.put(4, "k", 4)
    assert len(cache) == 3
    assert cache.get(2, "k") is None
    assert [cache.get(n, "k") for n in (1, 3, 4)] == [1, 3, 4]


def test_a_round_keeps_one_entry_whatever_the_number_of_updates():
    cache: LatestByRound[int] = LatestByRound(3)
    for seq in range(100):
        cache.put(7, seq, seq)
    assert len(cache) == 1 and cache.get(7, 99) == 99


def test_the_process_caches_have_a_stated_maximum():
    assert score_cache.size == standings_cache.size == MAX_ROUNDS
