"""Paper blueprints: which questions a drawn paper holds (pure; no Django import).

A blueprint is a list of **cells**. A cell is a conjunction of attribute filters
(``type``, ``dimension``, ``topic``, ``difficulty``; each a value or a list of values,
so a cell can name a difficulty *band*) with a ``count`` of items and the ``points``
each item is worth. A cell with no filter takes any question.

Cells are **slots**, not marginals: every drawn item fills exactly one cell, every
cell gets exactly ``count`` items that match it, and no item is used twice. Cells may
overlap (a cell for ``dimension=knowledge`` and one for ``type=single``); an item that
fits both fills one of them. For exact marginals, write disjoint cells (a cross-table).

Solving: items with the same attributes are interchangeable, so the draw works on
*signatures* (attribute tuples; at most a few hundred) and is a transportation problem:
cells × signatures, supply = eligible items per signature, demand = cell counts. A
random greedy fill (most constrained cell first, each slot a uniformly random remaining
matching item) is completed by augmenting paths (Ford–Fulkerson on the cell/signature
graph), so the draw succeeds whenever any assignment exists. When an augmenting path
from a short cell cannot be found, the cells reached from it need more items than all
signatures they can use supply (a violated Hall condition): `BlueprintError` names them.

Exposure control: a paper may use an item only while that keeps the item within the
blueprint's exposure cap. After ``n`` draws each item appears in at most
``ceil(cap · n)`` papers (`exposure_quota`): an item drawn ``c`` times before draw
``n`` is eligible iff ``c < ceil(cap · n)``. By induction the bound holds after every
draw: the exposure *rate* after ``n`` draws is below ``cap + 1/n``, and at most ``cap``
whenever ``cap · n`` is whole (2,000 of 10,000 papers at 0.2). Early draws need
``count / cap`` items per cell (35 true/false items for 7 a paper at 0.2).

The database path (`draw_from_counts`) plans on per-signature counts from one
aggregate query and then loads only the eligible items of the signatures the plan
uses; `draw` feeds the same function from an in-memory pool, so both give the same
paper for the same seed and state.

Determinism: candidates are sorted by id and every random choice comes from one
``random.Random(seed)`` in a fixed order, so the same seed, pool and exposure state
give the same paper, question order and option orders (for appeals).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

ATTRIBUTES = ("type", "dimension", "topic", "difficulty")
_POSITION = {name: index for index, name in enumerate(ATTRIBUTES)}


def _(message: str) -> str:
    """Marks a msgid for extraction; the Django layer translates (see BlueprintError)."""
    return message


UNKNOWN_VALUE = _("Blueprint cell %(cell)s: unknown %(field)s “%(value)s”.")


class BlueprintError(ValueError):
    """A blueprint that is malformed or cannot be met.

    ``msgid`` and ``params`` let the Django layer translate the message
    (``error.message(gettext)``); ``str(error)`` is the English text. ``cells`` holds
    the indices of the cells at fault.
    """

    def __init__(
        self,
        msgid: str,
        cells: Sequence[int] = (),
        /,
        *,
        gettext: Callable[[str], str] | None = None,
        **params: Any,
    ) -> None:
        self.msgid = msgid
        self.params = params
        self.cells = tuple(cells)
        super().__init__(self.message(gettext))

    def message(self, gettext: Callable[[str], str] | None = None) -> str:
        text = gettext(self.msgid) if gettext else self.msgid
        return text % self.params

    def translated(self, gettext: Callable[[str], str]) -> BlueprintError:
        """The same error with its message in the active language."""
        return BlueprintError(self.msgid, self.cells, gettext=gettext, **self.params)


@dataclass(frozen=True)
class Cell:
    filters: tuple[tuple[str, frozenset[str]], ...]
    count: int
    points: int

    def matches(self, signature: tuple[str, ...]) -> bool:
        return all(signature[_POSITION[name]] in values for name, values in self.filters)

    def label(self, index: int) -> str:
        parts = [f"{name}={'|'.join(sorted(values))}" for name, values in self.filters] or ["any"]
        return f"#{index + 1} ({', '.join(parts)})"


@dataclass(frozen=True)
class DrawnItem:
    id: Any
    cell: int  # index of the cell the item fills
    points: int
    option_order: list[str]


def parse_cells(raw: Iterable[Mapping[str, Any]]) -> list[Cell]:
    """Validate stored cells (JSON) into `Cell`s; raises BlueprintError."""
    cells = []
    for index, item in enumerate(raw or ()):
        if not isinstance(item, Mapping):
            raise BlueprintError(
                _("Blueprint cell %(cell)s is not an object."), [index], cell=index + 1
            )
        unknown = set(item) - {*ATTRIBUTES, "count", "points"}
        if unknown:
            raise BlueprintError(
                _("Blueprint cell %(cell)s has unknown fields: %(fields)s."),
                [index],
                cell=index + 1,
                fields=", ".join(sorted(unknown)),
            )
        count, points = item.get("count"), item.get("points", 1)
        for name, value in (("count", count), ("points", points)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise BlueprintError(
                    _("Blueprint cell %(cell)s: %(field)s must be a whole number of zero or more."),
                    [index],
                    cell=index + 1,
                    field=name,
                )
        filters = []
        for name in ATTRIBUTES:
            value = item.get(name)
            if value in (None, "", []):
                continue
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
                raise BlueprintError(
                    _("Blueprint cell %(cell)s: %(field)s must be a value or a list of values."),
                    [index],
                    cell=index + 1,
                    field=name,
                )
            filters.append((name, frozenset(values)))
        assert isinstance(count, int) and isinstance(points, int)  # checked above
        cells.append(Cell(filters=tuple(filters), count=count, points=points))
    if not cells or not sum(cell.count for cell in cells):
        raise BlueprintError(_("A blueprint needs at least one cell with a count above zero."))
    return cells


def exposure_quota(cap: float, draws: int) -> int:
    """The most papers an item may be in after `draws` draws: ceil(cap · draws)."""
    return math.ceil(cap * draws - 1e-9)


def signature_of(candidate: Mapping[str, Any]) -> tuple[str, ...]:
    """The attributes cells filter on, as a tuple in ATTRIBUTES order."""
    return (
        str(candidate["type"]),
        str(candidate["dimension"]),
        str(candidate["topic"]),
        str(candidate["difficulty"]),
    )


Signature = tuple[str, ...]


class StalePoolError(RuntimeError):
    """The candidates fetched for a signature the plan uses are not as many as its
    count said (the bank changed, or the count was cached): the caller draws again
    with fresh counts."""


def draw(
    pool: Iterable[Mapping[str, Any]],
    cells: Sequence[Cell],
    *,
    seed: int,
    cap: float = 1.0,
    draws_before: int = 0,
    shuffle_questions: bool = True,
    options: Callable[[list[Any]], Mapping[Any, Sequence[str]]] | None = None,
) -> list[DrawnItem]:
    """Draw one paper from a whole pool.

    `pool`: candidate dicts with ``id``, the four attributes, ``exposure`` (papers of
    this blueprint the item is already in; 0 if missing) and optionally ``options``
    (option ids). `draws_before`: papers drawn from this blueprint so far. See
    `draw_from_counts` for `options`; this is that function fed from a list.
    """
    quota = exposure_quota(_checked_cap(cap), draws_before + 1)
    counts: dict[Signature, list[int]] = {}
    eligible: dict[Signature, list[Mapping[str, Any]]] = {}
    for candidate in pool:
        signature = signature_of(candidate)
        count = counts.setdefault(signature, [0, 0])
        count[0] += 1
        if candidate.get("exposure", 0) < quota:
            count[1] += 1
            eligible.setdefault(signature, []).append(candidate)

    def fetch(signatures: list[Signature]) -> list[Mapping[str, Any]]:
        return [candidate for s in signatures for candidate in eligible[s]]

    return draw_from_counts(
        {s: (total, free) for s, (total, free) in counts.items()},
        cells,
        seed=seed,
        fetch=fetch,
        shuffle_questions=shuffle_questions,
        options=options,
    )


def draw_from_counts(
    counts: Mapping[Signature, tuple[int, int]],
    cells: Sequence[Cell],
    *,
    seed: int,
    fetch: Callable[[list[Signature]], Iterable[Mapping[str, Any]]],
    shuffle_questions: bool = True,
    options: Callable[[list[Any]], Mapping[Any, Sequence[str]]] | None = None,
) -> list[DrawnItem]:
    """Draw one paper without loading the whole pool.

    `counts`: signature (`signature_of`) → (items in the bank, items eligible under the
    exposure cap now). The plan is made on these counts; then `fetch` is called once
    with the signatures the plan uses and returns their eligible candidates (dicts with
    ``id`` and the attributes, any order), from which each signature's items are
    sampled. `options`, if given, is called once with the drawn ids and returns their
    option ids; otherwise a candidate's ``options`` are used. Each item's options are
    shuffled into the player's order. Returns the items in paper order.
    """
    rng = random.Random(seed)
    signatures = sorted(counts)
    everything = {s: counts[s][0] for s in signatures}
    supply = {s: counts[s][1] for s in signatures}
    flow = _plan(cells, signatures, supply, everything, rng)

    used_signatures = [s for s in signatures if any(f.get(s) for f in flow)]
    eligible: dict[Signature, list[Mapping[str, Any]]] = {s: [] for s in used_signatures}
    for candidate in fetch(used_signatures):
        signature = signature_of(candidate)
        if signature in eligible:
            eligible[signature].append(candidate)

    # Which items: a random sample of each signature's eligible items, dealt to cells.
    dealt: list[list[Mapping[str, Any]]] = [[] for _cell in cells]
    for s in used_signatures:
        used = [(c, flow[c][s]) for c in range(len(cells)) if flow[c].get(s)]
        candidates = sorted(eligible[s], key=lambda c: c["id"])
        if len(candidates) != supply[s]:
            raise StalePoolError(s)
        chosen = rng.sample(candidates, sum(n for _c, n in used))
        start = 0
        for c, n in used:
            dealt[c].extend(chosen[start : start + n])
            start += n

    items = [(c, candidate) for c in range(len(cells)) for candidate in dealt[c]]
    if shuffle_questions:
        rng.shuffle(items)
    else:
        items.sort(key=lambda pair: (pair[0], pair[1]["id"]))
    if options is not None:
        option_ids = options([candidate["id"] for _c, candidate in items])
    else:
        option_ids = {candidate["id"]: candidate.get("options") or [] for _c, candidate in items}
    drawn = []
    for c, candidate in items:
        ids = list(option_ids.get(candidate["id"]) or [])
        drawn.append(
            DrawnItem(
                id=candidate["id"],
                cell=c,
                points=cells[c].points,
                option_order=rng.sample(ids, len(ids)),
            )
        )
    return drawn


def _checked_cap(cap: float) -> float:
    if not 0 < cap <= 1:
        raise BlueprintError(_("The exposure cap must be above 0 and at most 1."), cap=cap)
    return cap


def _plan(
    cells: Sequence[Cell],
    signatures: list[Signature],
    supply: Mapping[Signature, int],
    everything: Mapping[Signature, int],
    rng: random.Random,
) -> list[dict[Signature, int]]:
    """flow[c][s]: how many items of signature s fill cell c; every cell exactly."""
    fits = [[s for s in signatures if cell.matches(s)] for cell in cells]
    flow: list[dict[Signature, int]] = [dict.fromkeys(f, 0) for f in fits]
    left = dict(supply)

    # Greedy: most constrained cell first; each slot a uniformly random remaining item.
    order = sorted(range(len(cells)), key=lambda c: (sum(supply[s] for s in fits[c]), c))
    for c in order:
        for _slot in range(cells[c].count):
            total = sum(left[s] for s in fits[c])
            if not total:
                break
            pick = rng.randrange(total)
            for s in fits[c]:
                if pick < left[s]:
                    flow[c][s] += 1
                    left[s] -= 1
                    break
                pick -= left[s]

    # Augmenting paths for every short cell: c -> s (fits) ; s -> c' (c' uses s) ; s -> sink.
    for c in range(len(cells)):
        while sum(flow[c].values()) < cells[c].count:
            path = _augmenting_path(c, fits, flow, left)
            if path is None:
                _raise_short(c, cells, fits, flow, everything, supply)
            for cell, signature, sign in path:
                flow[cell][signature] += sign
            left[path[-1][1]] -= 1
    return flow


def _augmenting_path(
    start: int,
    fits: list[list[Signature]],
    flow: list[dict[Signature, int]],
    left: Mapping[Signature, int],
) -> list[tuple[int, Signature, int]] | None:
    """BFS from a short cell to a signature with spare supply. Returns the path as
    (cell, signature, +1/-1) flow changes, or None."""
    parent: dict[tuple[str, ...], tuple[int, tuple[str, ...] | None]] = {}
    seen_cells = {start}
    queue: deque[tuple[int, Signature | None]] = deque([(start, None)])
    # (cell, signature it gives back, if any)
    while queue:
        c, via = queue.popleft()
        for s in fits[c]:
            if s in parent:
                continue
            parent[s] = (c, via)
            if left[s] > 0:
                path: list[tuple[int, Signature, int]] = []
                node: tuple[str, ...] | None = s
                while node is not None:
                    cell, previous = parent[node]
                    path.append((cell, node, +1))
                    if previous is not None:
                        path.append((cell, previous, -1))
                    node = previous
                return path[::-1]
            for other in range(len(fits)):
                if other not in seen_cells and flow[other].get(s, 0) > 0:
                    seen_cells.add(other)
                    queue.append((other, s))
    return None


def _raise_short(
    start: int,
    cells: Sequence[Cell],
    fits: list[list[Signature]],
    flow: list[dict[Signature, int]],
    everything: Mapping[Signature, int],
    supply: Mapping[Signature, int],
) -> NoReturn:
    """No augmenting path from `start`: the cells reachable from it (X) need more than
    the signatures they fit (N(X)) can give. Name them."""
    reached_cells: set[int] = {start}
    reached: set[Signature] = set()
    stack = [start]
    while stack:
        c = stack.pop()
        for s in fits[c]:
            if s in reached:
                continue
            reached.add(s)
            for other in range(len(cells)):
                if other not in reached_cells and flow[other].get(s, 0) > 0:
                    reached_cells.add(other)
                    stack.append(other)
    group = sorted(reached_cells)
    needed = sum(cells[c].count for c in group)
    in_bank = sum(everything[s] for s in reached)
    eligible = sum(supply[s] for s in reached)
    if len(group) == 1:
        label = cells[start].label(start)
        if in_bank < needed:
            raise BlueprintError(
                _(
                    "Blueprint cell %(cell)s needs %(needed)s questions but only "
                    "%(available)s in the bank match it."
                ),
                group,
                cell=label,
                needed=needed,
                available=in_bank,
            )
        raise BlueprintError(
            _(
                "Blueprint cell %(cell)s needs %(needed)s questions but only %(eligible)s "
                "of the %(available)s that match it are under the exposure cap now."
            ),
            group,
            cell=label,
            needed=needed,
            available=in_bank,
            eligible=eligible,
        )
    raise BlueprintError(
        _(
            "Blueprint cells %(cells)s share their questions and together need "
            "%(needed)s, but only %(eligible)s questions (%(available)s in the bank, "
            "before the exposure cap) match any of them."
        ),
        group,
        cells="; ".join(cells[c].label(c) for c in group),
        needed=needed,
        available=in_bank,
        eligible=eligible,
    )
