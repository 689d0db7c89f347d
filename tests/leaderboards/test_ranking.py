"""Ranking rules (leaderboards.ranking): competition ranking by tie-break chains, the
worked examples of docs/scoring.md §7, and the module's purity."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboards.ranking import (
    LIVE_CHAIN,
    ONLINE_CHAIN,
    asc,
    competition_ranking,
    desc,
    rank_round,
    stable_key,
    tiebreak_result,
)

FAST = settings(max_examples=200, deadline=None)


# ─── docs/scoring.md §7 ──────────────────────────────────────────────────────────

ONLINE_ROWS = [
    {"id": "刘", "points": 80, "time_ms": 300_000, "finished_at": 1_000},
    {"id": "赵", "points": 90, "time_ms": 388_000, "finished_at": 5_000},
    {"id": "王", "points": 95, "time_ms": 412_000, "finished_at": 1_000},
    {"id": "张", "points": 90, "time_ms": 388_000, "finished_at": 5_000},
    {"id": "李", "points": 90, "time_ms": 388_000, "finished_at": 2_000},
]


def test_the_online_chain_ranks_points_then_time_then_earlier_finish_worked_example():
    ranked = competition_ranking(ONLINE_ROWS, ONLINE_CHAIN)
    assert [(r.rank, r.id) for r in ranked] == [
        (1, "王"),
        (2, "李"),
        (3, "张"),
        (3, "赵"),
        (5, "刘"),
    ]


def test_by_points_alone_the_same_rows_rank_1_2_2_2_5():
    ranked = competition_ranking(ONLINE_ROWS, [desc("points")])
    assert [r.rank for r in ranked] == [1, 2, 2, 2, 5]


def test_a_tie_break_result_puts_correct_before_wrong_and_faster_first():
    assert tiebreak_result(True, 100) < tiebreak_result(True, 200) < tiebreak_result(False, 50)
    assert tiebreak_result(False, 50) == tiebreak_result(False, 10)
    assert tiebreak_result(None, None) is None


def test_a_missing_value_ranks_last_in_either_direction():
    rows = [{"id": 1, "x": None}, {"id": 2, "x": 5}, {"id": 3, "x": 1}]
    assert [r.id for r in competition_ranking(rows, [desc("x")])] == [2, 3, 1]
    assert [r.id for r in competition_ranking(rows, [asc("x")])] == [3, 2, 1]


def test_two_rows_with_one_id_are_refused():
    with pytest.raises(ValueError):
        competition_ranking([{"id": 1, "points": 1}, {"id": 1, "points": 2}], [desc("points")])


ranking_rows = st.lists(
    st.fixed_dictionaries(
        {
            "points": st.integers(0, 5),
            "time_ms": st.integers(0, 3) | st.none(),
            "finished_at": st.integers(0, 2),
        }
    ),
    max_size=25,
).map(lambda rows: [{"id": i, **row} for i, row in enumerate(rows)])


@FAST
@given(rows=ranking_rows, seed=st.integers(0, 2**32))
def test_shared_ranks_follow_the_1_2_2_4_rule(rows, seed):
    ranked = competition_ranking(rows, ONLINE_CHAIN)
    assert sorted(r.id for r in ranked) == [row["id"] for row in rows]
    assert [r.rank for r in ranked] == sorted(r.rank for r in ranked)

    def as_key(row):
        return (
            -row["points"],
            (row["time_ms"] is None, row["time_ms"] or 0),
            row["finished_at"],
        )

    for r in ranked:
        better = sum(as_key(other) < as_key(r.row) for other in rows)
        assert r.rank == 1 + better
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    assert competition_ranking(shuffled, ONLINE_CHAIN) == ranked


@dataclass(frozen=True)
class Total:
    points: int
    time_ms: int


@dataclass(frozen=True)
class Scored:
    totals: dict


def test_a_live_round_ranks_by_points_then_answer_time():
    score = Scored({"ana": Total(900, 5_000), "ben": Total(900, 4_000), "cai": Total(0, 40_000)})
    assert [(r.rank, r.id) for r in rank_round(score)] == [(1, "ben"), (2, "ana"), (3, "cai")]
    tied = Scored({"ana": Total(900, 5_000), "ben": Total(900, 5_000)})
    assert [(r.rank, r.id) for r in rank_round(tied, LIVE_CHAIN)] == [(1, "ana"), (1, "ben")]


def test_ids_of_mixed_types_sort_the_same_way_in_every_run():
    assert sorted([2, "b", 1, "a"], key=stable_key) == [1, 2, "a", "b"]
