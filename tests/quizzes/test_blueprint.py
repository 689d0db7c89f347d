"""The pure blueprint engine: exact cells, no repeats, determinism, exposure cap."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quizzes.papers.blueprint import (
    ATTRIBUTES,
    BlueprintError,
    draw,
    exposure_quota,
    parse_cells,
)

TYPES = ("true_false", "single", "multiple")
DIMENSIONS = ("knowledge", "method", "spirit", "application")


def item(id, type="single", dimension="knowledge", topic="health", difficulty="medium", **extra):
    return {
        "id": id,
        "type": type,
        "dimension": dimension,
        "topic": topic,
        "difficulty": difficulty,
        **extra,
    }


def contest_pool(per_cell: int = 20) -> list[dict]:
    """per_cell items for every (type, dimension)."""
    ids = itertools.count(1)
    return [
        item(next(ids), type=t, dimension=d)
        for t in TYPES
        for d in DIMENSIONS
        for _n in range(per_cell)
    ]


# 7 true/false, 7 single, 6 multiple; knowledge 8 of 20 (40%), the others 4 each.
CONTEST = [
    {"type": "true_false", "dimension": "knowledge", "count": 3, "points": 5},
    {"type": "true_false", "dimension": ["method", "spirit"], "count": 2, "points": 5},
    {"type": "true_false", "dimension": "application", "count": 2, "points": 5},
    {"type": "single", "dimension": "knowledge", "count": 3, "points": 5},
    {"type": "single", "dimension": "method", "count": 2, "points": 5},
    {"type": "single", "dimension": ["spirit", "application"], "count": 2, "points": 5},
    {"type": "multiple", "dimension": "knowledge", "count": 2, "points": 5},
    {"type": "multiple", "dimension": "method", "count": 0, "points": 5},
    {"type": "multiple", "dimension": "spirit", "count": 2, "points": 5},
    {"type": "multiple", "dimension": "application", "count": 2, "points": 5},
]


def matches(cell: dict, candidate: dict) -> bool:
    for name in ATTRIBUTES:
        wanted = cell.get(name)
        if wanted in (None, "", []):
            continue
        if candidate[name] not in ([wanted] if isinstance(wanted, str) else wanted):
            return False
    return True


def assert_meets(paper, raw_cells, pool) -> None:
    by_id = {c["id"]: c for c in pool}
    ids = [drawn.id for drawn in paper]
    assert len(ids) == len(set(ids)), "an item is used twice"
    per_cell = Counter(drawn.cell for drawn in paper)
    for index, cell in enumerate(raw_cells):
        assert per_cell[index] == cell["count"], f"cell {index}"
    for drawn in paper:
        assert matches(raw_cells[drawn.cell], by_id[drawn.id])
        assert drawn.points == raw_cells[drawn.cell].get("points", 1)


def test_a_paper_meets_its_blueprint_exactly():
    pool = contest_pool()
    paper = draw(pool, parse_cells(CONTEST), seed=1)
    assert len(paper) == 20
    assert_meets(paper, CONTEST, pool)
    counts = Counter(next(c for c in pool if c["id"] == d.id)["type"] for d in paper)
    assert counts == {"true_false": 7, "single": 7, "multiple": 6}


def test_the_same_seed_gives_the_same_paper_and_option_orders():
    pool = [dict(c, options=["a", "b", "c", "d"]) for c in contest_pool()]
    cells = parse_cells(CONTEST)
    first = draw(pool, cells, seed=12345)
    again = draw(list(reversed(pool)), cells, seed=12345)  # pool order does not matter
    assert first == again
    other = draw(pool, cells, seed=12346)
    assert [d.id for d in other] != [d.id for d in first]


def test_options_are_shuffled_per_player_and_stay_a_permutation():
    pool = [dict(c, options=["a", "b", "c", "d"]) for c in contest_pool()]
    cells = parse_cells([{"type": "single", "count": 5}])
    orders = set()
    for seed in range(30):
        for drawn in draw(pool, cells, seed=seed):
            assert sorted(drawn.option_order) == ["a", "b", "c", "d"]
            orders.add(tuple(drawn.option_order))
    assert len(orders) > 10


def test_options_can_be_fetched_for_the_drawn_items_only():
    pool = contest_pool()
    asked = []

    def options(ids):
        asked.append(ids)
        return {i: [f"{i}-x", f"{i}-y"] for i in ids}

    paper = draw(pool, parse_cells([{"count": 4}]), seed=3, options=options)
    assert asked == [[d.id for d in paper]]
    assert all(sorted(d.option_order) == [f"{d.id}-x", f"{d.id}-y"] for d in paper)


def test_question_order_follows_the_cells_when_not_shuffled():
    pool = contest_pool()
    paper = draw(pool, parse_cells(CONTEST), seed=5, shuffle_questions=False)
    assert [d.cell for d in paper] == sorted(d.cell for d in paper)
    shuffled = draw(pool, parse_cells(CONTEST), seed=5)
    assert [d.cell for d in shuffled] != sorted(d.cell for d in shuffled)


def test_a_difficulty_band_is_a_list_of_difficulties():
    pool = [item(i, difficulty=("easy", "medium", "hard")[i % 3]) for i in range(30)]
    paper = draw(pool, parse_cells([{"difficulty": ["easy", "medium"], "count": 20}]), seed=2)
    assert {pool[d.id]["difficulty"] for d in paper} == {"easy", "medium"}


def test_overlapping_cells_are_solved_when_the_greedy_choice_is_wrong():
    # Cell 0 (any single) may take x, which cell 1 (knowledge, 2 items) needs: about
    # half of the seeds take it greedily, and an augmenting path must move cell 0 to z.
    x = item("x", type="single", dimension="knowledge")
    y = item("y", type="true_false", dimension="knowledge")
    z = item("z", type="single", dimension="method")
    raw = [{"type": "single", "count": 1}, {"dimension": "knowledge", "count": 2}]
    for seed in range(50):
        paper = draw([x, y, z], parse_cells(raw), seed=seed)
        assert {d.id: d.cell for d in paper} == {"z": 0, "x": 1, "y": 1}


def test_a_short_cell_is_named_with_what_it_needs_and_what_the_bank_has():
    pool = contest_pool(per_cell=2)
    raw = [{"type": "single", "dimension": "knowledge", "count": 3, "points": 5}]
    with pytest.raises(BlueprintError) as caught:
        draw(pool, parse_cells(raw), seed=1)
    message = str(caught.value)
    assert "#1 (type=single, dimension=knowledge)" in message
    assert "needs 3 questions" in message
    assert "only 2 in the bank" in message
    assert caught.value.cells == (0,)
    assert caught.value.params["needed"] == 3
    assert caught.value.params["available"] == 2


def test_the_short_cell_is_named_among_several():
    pool = contest_pool(per_cell=2)
    raw = [
        {"type": "true_false", "count": 2},
        {"type": "multiple", "topic": "space", "count": 1},
    ]
    with pytest.raises(BlueprintError) as caught:
        draw(pool, parse_cells(raw), seed=1)
    assert caught.value.cells == (1,)
    assert "#2 (type=multiple, topic=space)" in str(caught.value)
    assert "only 0 in the bank" in str(caught.value)


def test_cells_that_share_too_few_questions_are_named_together():
    pool = [item("x"), item("y")]  # both single and knowledge
    raw = [{"dimension": "knowledge", "count": 1}, {"type": "single", "count": 2}]
    with pytest.raises(BlueprintError) as caught:
        draw(pool, parse_cells(raw), seed=1)
    assert caught.value.cells == (0, 1)
    assert "#1 (dimension=knowledge); #2 (type=single)" in str(caught.value)
    assert "together need 3" in str(caught.value)


def test_a_cell_short_because_of_the_exposure_cap_says_so():
    pool = [item(i, exposure=1 if i < 8 else 0) for i in range(10)]
    with pytest.raises(BlueprintError) as caught:
        draw(pool, parse_cells([{"count": 3}]), seed=1, cap=0.2, draws_before=4)
    assert "only 2 of the 10 that match it are under the exposure cap" in str(caught.value)


def test_the_error_message_goes_through_the_given_translation():
    with pytest.raises(BlueprintError) as caught:
        draw([item(1)], parse_cells([{"count": 2}]), seed=1)
    translated = caught.value.translated(lambda msgid: "[zh] " + msgid)
    assert str(translated).startswith("[zh] Blueprint cell #1 (any) needs 2")
    assert translated.cells == caught.value.cells


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ([], "at least one cell"),
        ([{"count": 0}], "at least one cell"),
        ([{"count": -1}], "count must be a whole number"),
        ([{"count": True}], "count must be a whole number"),
        ([{"count": 2, "points": 1.5}], "points must be a whole number"),
        ([{"count": 2, "colour": "red"}], "unknown fields: colour"),
        ([{"count": 2, "type": 3}], "type must be a value or a list"),
        (["single"], "is not an object"),
    ],
)
def test_a_malformed_blueprint_is_refused(raw, fragment):
    with pytest.raises(BlueprintError, match=fragment):
        parse_cells(raw)


def test_the_exposure_quota_is_the_cap_rounded_up_to_a_whole_paper():
    assert [exposure_quota(0.2, n) for n in (1, 5, 6, 10, 10_000)] == [1, 1, 2, 2, 2000]
    assert exposure_quota(0.1, 30) == 3  # 0.1 * 30 is 3.0000000000000004 in floats
    assert exposure_quota(1.0, 7) == 7


def test_the_exposure_cap_holds_over_ten_thousand_draws():
    cap, draws = 0.2, 10_000
    # Each cell's pool is above count/cap + count, so the cap never starves a draw.
    pool = []
    for qtype, size in (("true_false", 44), ("single", 44), ("multiple", 38)):
        pool += [item(f"{qtype}{i}", type=qtype) for i in range(size)]
    cells = parse_cells(
        [
            {"type": "true_false", "count": 7, "points": 5},
            {"type": "single", "count": 7, "points": 5},
            {"type": "multiple", "count": 6, "points": 5},
        ]
    )
    exposure = Counter()
    rng = random.Random(2024)
    for n in range(1, draws + 1):
        for candidate in pool:
            candidate["exposure"] = exposure[candidate["id"]]
        paper = draw(pool, cells, seed=rng.getrandbits(63), cap=cap, draws_before=n - 1)
        assert len(paper) == 20
        exposure.update(d.id for d in paper)
        assert max(exposure.values()) <= math.ceil(cap * n - 1e-9)
    assert max(exposure.values()) / draws <= cap
    # The cap spreads the load: every item is used, none is starved.
    assert len(exposure) == len(pool)


# --- Properties -------------------------------------------------------------------

SMALL = {
    "type": ("single", "true_false"),
    "dimension": ("knowledge", "method"),
    "topic": ("health", "space"),
    "difficulty": ("easy", "hard"),
}


@st.composite
def pools(draw_, max_size=25):
    size = draw_(st.integers(min_value=0, max_value=max_size))
    return [
        {"id": i, **{name: draw_(st.sampled_from(values)) for name, values in SMALL.items()}}
        for i in range(size)
    ]


@st.composite
def cell_filters(draw_):
    cell = {}
    for name, values in SMALL.items():
        choice = draw_(st.sampled_from([None, values[0], values[1], list(values)]))
        if choice is not None:
            cell[name] = choice
    return cell


@st.composite
def feasible_blueprints(draw_):
    """A pool and cells built from a hidden assignment, so a solution exists."""
    pool = draw_(pools())
    filters = draw_(st.lists(cell_filters(), min_size=1, max_size=5))
    counts = [0] * len(filters)
    for candidate in pool:
        fitting = [i for i, f in enumerate(filters) if matches(f, candidate)]
        if fitting and draw_(st.booleans()):
            counts[draw_(st.sampled_from(fitting))] += 1
    if not sum(counts):
        counts[0] += 1
        pool = [*pool, {"id": len(pool), **{n: v[0] for n, v in SMALL.items()}}]
        for name, values in SMALL.items():
            filters[0][name] = list(values)
    raw = [
        dict(f, count=c, points=draw_(st.integers(0, 10)))
        for f, c in zip(filters, counts, strict=True)
    ]
    return pool, raw


@settings(max_examples=300, deadline=None)
@given(feasible_blueprints(), st.integers(min_value=0, max_value=2**63 - 1))
def test_a_feasible_blueprint_is_always_met_exactly_without_repeats(case, seed):
    pool, raw = case
    paper = draw(pool, parse_cells(raw), seed=seed)
    assert_meets(paper, raw, pool)
    assert draw(pool, parse_cells(raw), seed=seed) == paper


def reference_feasible(pool, raw) -> bool:
    """Item-level bipartite matching (Kuhn), slot by slot: the slow, obvious answer."""
    slots = [i for i, cell in enumerate(raw) for _n in range(cell["count"])]
    owner: dict[int, int] = {}  # item id -> slot index

    def place(slot, seen):
        for candidate in pool:
            if candidate["id"] in seen or not matches(raw[slots[slot]], candidate):
                continue
            seen.add(candidate["id"])
            if candidate["id"] not in owner or place(owner[candidate["id"]], seen):
                owner[candidate["id"]] = slot
                return True
        return False

    return all(place(slot, set()) for slot in range(len(slots)))


@settings(max_examples=300, deadline=None)
@given(
    pools(max_size=12),
    st.lists(
        st.tuples(cell_filters(), st.integers(min_value=0, max_value=4)), min_size=1, max_size=4
    ),
    st.integers(min_value=0, max_value=1000),
)
def test_the_draw_fails_exactly_when_no_assignment_exists(pool, cells, seed):
    raw = [dict(f, count=c) for f, c in cells]
    if not sum(c for _f, c in cells):
        return
    try:
        paper = draw(pool, parse_cells(raw), seed=seed)
    except BlueprintError as error:
        assert not reference_feasible(pool, raw)
        assert error.cells
        short = [raw[i] for i in error.cells]
        fitting = {c["id"] for c in pool if any(matches(cell, c) for cell in short)}
        assert sum(cell["count"] for cell in short) > len(fitting)  # Hall's condition fails
    else:
        assert reference_feasible(pool, raw)
        assert_meets(paper, raw, pool)
