"""Ranking rules: competition ranking ("1, 2, 2, 4") by a tie-break chain stated in
advance. Pure functions, standard library only, no Django import, so that live rounds
(realtime), online attempts and the leaderboards rank by the same rules.
docs/scoring.md states the rules with worked examples; tests/leaderboards/test_ranking.py
checks them.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


def stable_key(value: Any) -> tuple[str, Any]:
    """Sort key for ids of mixed types (ints and strings), same result in any run."""
    return (type(value).__name__, value)


@dataclass(frozen=True)
class Key:
    """One link of a tie-break chain: a row field and a direction."""

    field: str
    descending: bool = False


def desc(name: str) -> Key:
    return Key(name, descending=True)


def asc(name: str) -> Key:
    return Key(name, descending=False)


# Chains, stated in advance.
ONLINE_CHAIN = (desc("points"), asc("time_ms"), asc("finished_at"))
LIVE_CHAIN = (desc("points"), asc("time_ms"))
FINALS_CHAIN = (desc("score"), asc("tiebreak"))


@functools.total_ordering
class _Reversed:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(self.value > other.value)

    def __hash__(self) -> int:
        return hash(self.value)


def _sort_key(row: Mapping[str, Any], chain: Sequence[Key]) -> tuple[Any, ...]:
    parts: list[Any] = []
    for key in chain:
        value = row.get(key.field)
        if value is None:
            parts.append((1, None))  # a missing value ranks after any present one
        else:
            parts.append((0, _Reversed(value) if key.descending else value))
    return tuple(parts)


def _tuple_eq(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return all(x[0] == y[0] and (x[0] == 1 or x[1] == y[1]) for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Ranked:
    rank: int
    id: Hashable
    row: Mapping[str, Any]


def competition_ranking(
    rows: Iterable[Mapping[str, Any]], chain: Sequence[Key], *, id_field: str = "id"
) -> list[Ranked]:
    """Rank rows by the tie-break chain, best first. Rows equal on every key share a
    rank, and the next rank skips ("1, 2, 2, 4"): rank = 1 + number of rows strictly
    better. Missing (None) values rank last whatever the direction. Within a shared
    rank rows are listed by id, for display only."""
    items = [(_sort_key(row, chain), row) for row in rows]
    ids = [row[id_field] for _, row in items]
    if len(set(ids)) != len(ids):
        raise ValueError("two rows share an id")
    items.sort(key=lambda item: (item[0], stable_key(item[1][id_field])))
    ranked: list[Ranked] = []
    for position, (key, row) in enumerate(items):
        if ranked and _tuple_eq(key, items[position - 1][0]):
            rank = ranked[-1].rank
        else:
            rank = position + 1
        ranked.append(Ranked(rank=rank, id=row[id_field], row=row))
    return ranked


def tiebreak_result(correct: bool | None, elapsed_ms: int | None) -> tuple[int, int] | None:
    """A tie-break question's result as a sortable value (ascending = better): correct
    answers first, faster first; wrong or missing answers after, all equal. None (not
    played) ranks last."""
    if correct is None and elapsed_ms is None:
        return None
    if correct:
        return (0, max(elapsed_ms or 0, 0))
    return (1, 0)


class Total(Protocol):
    """What ranking a round needs of a player's total (realtime.scoring.PlayerTotal)."""

    @property
    def points(self) -> int: ...

    @property
    def time_ms(self) -> int: ...


class ScoredRound(Protocol):
    """A scored round: every player's total (realtime.scoring.RoundScore)."""

    @property
    def totals(self) -> Mapping[Hashable, Total]: ...


def rank_round(score: ScoredRound, chain: Sequence[Key] = LIVE_CHAIN) -> list[Ranked]:
    """Leaderboard of a live round: points desc, then total answer time asc."""
    rows = [
        {"id": player, "points": total.points, "time_ms": total.time_ms}
        for player, total in score.totals.items()
    ]
    return competition_ranking(rows, chain)
