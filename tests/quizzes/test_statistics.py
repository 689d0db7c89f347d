"""Item statistics: the maths on hand-computed cases, then the task and command."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from quizzes.bank import statistics
from quizzes.bank.item_statistics import item_statistics_schedule, item_statistics_update
from quizzes.bank.selectors import flagged_items
from quizzes.models import ItemStatistics, PaperItem, Response
from quizzes.papers.blueprints import blueprint_create
from quizzes.papers.drawing import paper_draw
from quizzes.papers.marking import response_submit
from quizzes.tasks import item_statistics
from tests.factories import UserFactory
from tests.quizzes.factories import BankFactory, fill_bank

FULL = [
    [1, 1, 1],
    [1, 1, 0],
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
]


def point_biserial_by_hand(matrix: np.ndarray, item: int) -> float:
    """r_pb = (M1 - M0) / s * sqrt(p q), on the rest score (the item left out)."""
    x = matrix[:, item]
    rest = np.delete(matrix, item, axis=1).sum(axis=1)
    p = x.mean()
    m1, m0 = rest[x == 1].mean(), rest[x == 0].mean()
    return (m1 - m0) / rest.std() * math.sqrt(p * (1 - p))


def test_facility_is_the_proportion_correct():
    analysis = statistics.analyse_matrix(FULL)
    assert analysis.facility.tolist() == pytest.approx([0.6, 0.6, 0.4])
    assert analysis.responses.tolist() == [5, 5, 5]


def test_discrimination_is_the_corrected_point_biserial():
    matrix = np.array(FULL, dtype=float)
    analysis = statistics.analyse_matrix(matrix)
    # Item 0 by hand: rest scores 2, 1, 0 for the right answers, 1, 1 for the wrong
    # ones: both means are 1, so r = 0.
    assert analysis.discrimination[0] == pytest.approx(0.0, abs=1e-12)
    for item in range(3):
        expected = point_biserial_by_hand(matrix, item)
        assert analysis.discrimination[item] == pytest.approx(expected)
        rest = np.delete(matrix, item, axis=1).sum(axis=1)
        assert analysis.discrimination[item] == pytest.approx(
            np.corrcoef(matrix[:, item], rest)[0, 1]
        )


def test_a_random_full_matrix_matches_the_hand_formula():
    rng = np.random.default_rng(7)
    ability = rng.normal(size=200)
    difficulty = rng.normal(size=12)
    chance = 1 / (1 + np.exp(-(ability[:, None] - difficulty[None, :])))
    matrix = (rng.random((200, 12)) < chance).astype(float)
    analysis = statistics.analyse_matrix(matrix)
    for item in range(12):
        assert analysis.discrimination[item] == pytest.approx(point_biserial_by_hand(matrix, item))
    assert (analysis.discrimination > 0).all()  # a Rasch-like bank discriminates


def test_with_drawn_papers_the_rest_score_is_a_proportion_of_the_items_answered():
    # Examinee 0 answered items 0 and 1, examinee 1 items 0 and 2, examinee 2 all.
    matrix = [
        [1, 1, np.nan],
        [0, np.nan, 0],
        [1, 0, 1],
    ]
    # Item 0: scores 1, 0, 1; rest proportions 1/1, 0/1, 1/2: r = sqrt(3)/2 by hand.
    analysis = statistics.analyse_matrix(matrix)
    assert analysis.discrimination[0] == pytest.approx(math.sqrt(3) / 2)
    assert analysis.facility.tolist() == pytest.approx([2 / 3, 1 / 2, 1 / 2])


def test_discrimination_is_undefined_when_nothing_varies():
    analysis = statistics.analyse_matrix([[1, 1], [1, 0], [1, 1]])
    assert math.isnan(analysis.discrimination[0])  # everyone right
    assert analysis.as_dict()[0]["discrimination"] is None
    lone = statistics.analyse([1], [9], [1.0])  # one response, no rest score
    assert lone.as_dict() == {9: {"responses": 1, "facility": 1.0, "discrimination": None}}
    assert statistics.analyse([], [], []).as_dict() == {}


def test_an_item_the_weak_get_right_has_negative_discrimination():
    matrix = [
        [1, 1, 0],
        [1, 1, 0],
        [0, 0, 1],
        [0, 0, 1],
        [1, 0, 1],
    ]
    assert statistics.analyse_matrix(matrix).discrimination[2] < 0


def test_distractor_counts_cover_every_option():
    counts = statistics.distractor_counts("single", ["a", "b", "c"], ["a", "a", "c", None])
    assert counts == {"a": 2, "b": 0, "c": 1}
    counts = statistics.distractor_counts("multiple", ["a", "b", "c"], [["a", "b"], ["a"], []])
    assert counts == {"a": 2, "b": 1, "c": 0}
    assert statistics.distractor_counts("true_false", [], [True, False, True]) == {
        "true": 2,
        "false": 1,
    }
    assert statistics.distractor_counts("fill", [], ["水"]) == {}


def test_flags_name_negative_discrimination_and_each_unused_distractor():
    flags = statistics.item_flags(
        qtype="single",
        key={"options": ["a"]},
        responses=40,
        discrimination=-0.2,
        distractors={"a": 30, "b": 10, "c": 0, "d": 0},
    )
    assert flags == [
        {"code": "negative_discrimination"},
        {"code": "unused_distractor", "option": "c"},
        {"code": "unused_distractor", "option": "d"},
    ]
    # The keyed option unpicked is no distractor; a true/false item nobody gets wrong is.
    assert (
        statistics.item_flags(
            qtype="multiple",
            key={"options": ["a", "b"]},
            responses=40,
            discrimination=0.3,
            distractors={"a": 20, "b": 0, "c": 5},
        )
        == []
    )
    assert statistics.item_flags(
        qtype="true_false",
        key={"value": True},
        responses=40,
        discrimination=None,
        distractors={"true": 40, "false": 0},
    ) == [{"code": "unused_distractor", "option": "false"}]


def test_few_responses_raise_no_flags():
    assert (
        statistics.item_flags(
            qtype="single",
            key={"options": ["a"]},
            responses=5,
            discrimination=-0.9,
            distractors={"a": 5, "b": 0},
        )
        == []
    )


# --- Stored statistics: the service, the task and the command -----------------------


@pytest.fixture
def answered_bank(db):
    """Four single-choice items on every paper; strong players get items 1 to 3 right
    and 4 wrong, weak players the opposite: item 4 discriminates negatively."""
    bank = BankFactory(name="统计题库")
    questions = fill_bank(bank, {("single", "knowledge"): 4})
    blueprint = blueprint_create(
        bank=bank, name="全卷", cells=[{"count": 4, "points": 5}], actor=bank.owners.first()
    )
    last = questions[3].pk
    for n in range(10):
        strong = n % 2 == 0
        paper = paper_draw(blueprint=blueprint, user=UserFactory())  # guests' do not count
        for item in paper.items.select_related("version"):
            (keyed,) = item.version.key["options"]
            wrong = next(o["id"] for o in item.version.options if o["id"] != keyed)
            right = strong != (item.question_id == last)
            response_submit(paper=paper, item=item, answer=keyed if right else wrong)
    return bank, questions


def test_the_service_stores_statistics_per_version(answered_bank):
    bank, questions = answered_bank
    assert item_statistics_update(bank=bank, min_responses=5) == 4
    stats = {s.version.question_id: s for s in ItemStatistics.objects.select_related("version")}
    assert set(stats) == {q.pk for q in questions}
    for question in questions:
        row = stats[question.pk]
        responses = Response.objects.filter(item__question=question)
        assert row.responses == responses.count() == 10
        assert row.exposure_count == PaperItem.objects.filter(question=question).count() == 10
        assert row.facility == pytest.approx(responses.filter(is_correct=True).count() / 10)
        assert sum(row.distractors.values()) == 10
    last = stats[questions[3].pk]
    assert last.discrimination == pytest.approx(-1.0)
    assert {"code": "negative_discrimination"} in last.flags
    # Strong players all pick the same wrong option: the two other distractors are unused.
    unused = [flag for flag in last.flags if flag["code"] == "unused_distractor"]
    assert len(unused) == 2
    for question in questions[:3]:
        assert stats[question.pk].discrimination == pytest.approx(1.0)
        assert {"code": "negative_discrimination"} not in stats[question.pk].flags
    assert flagged_items(bank=bank).first() == last


def test_the_task_is_idempotent(answered_bank):
    bank, _questions = answered_bank
    assert item_statistics.apply(args=[bank.pk]).get() == 4
    first = list(ItemStatistics.objects.order_by("version_id").values())
    assert item_statistics.apply(args=[bank.pk]).get() == 4
    again = list(ItemStatistics.objects.order_by("version_id").values())
    assert [{**row, "computed_at": None} for row in first] == [
        {**row, "computed_at": None} for row in again
    ]
    assert item_statistics.apply(args=[10**9]).get() == 0  # a deleted bank is no error


def test_the_task_is_queued_after_commit(
    answered_bank, django_capture_on_commit_callbacks, celery_eager
):
    bank, _questions = answered_bank
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        item_statistics_schedule(bank=bank)
        assert not ItemStatistics.objects.exists()
    assert len(callbacks) == 1
    assert ItemStatistics.objects.count() == 4


@translation.override("en")
def test_the_command_computes_a_named_bank(answered_bank):
    out = io.StringIO()
    call_command("item_statistics", "--bank", "统计题库", "--min-responses", "5", stdout=out)
    assert "4 items updated" in out.getvalue()
    assert "flagged" in out.getvalue()
    assert ItemStatistics.objects.count() == 4
    with pytest.raises(CommandError, match="No bank is named"):
        call_command("item_statistics", "--bank", "没有这个题库")
