"""Drawing papers from a bank, the player's view of them, and responses."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from quizzes.bank import services
from quizzes.models import (
    Blueprint,
    ItemExposure,
    Paper,
    PaperItem,
    Question,
    QuestionVersion,
    Response,
    VersionStatus,
)
from quizzes.papers import drawing
from quizzes.papers.blueprint import BlueprintError, draw, parse_cells
from quizzes.papers.blueprints import blueprint_create
from quizzes.papers.drawing import paper_draw
from quizzes.papers.marking import response_submit
from quizzes.papers.selectors import player_view
from tests.factories import UserFactory
from tests.quizzes.factories import BankFactory, QuestionFactory, fill_bank

pytestmark = pytest.mark.django_db

CELLS = [
    {"type": "true_false", "count": 2, "points": 5},
    {"type": "single", "dimension": "knowledge", "count": 2, "points": 5},
    {"type": "multiple", "count": 1, "points": 10},
]


@pytest.fixture
def bank():
    bank = BankFactory()
    fill_bank(
        bank,
        {
            ("true_false", "knowledge"): 3,
            ("true_false", "method"): 2,
            ("single", "knowledge"): 4,
            ("single", "method"): 2,
            ("multiple", "spirit"): 3,
        },
    )
    return bank


def make_blueprint(bank, cells=CELLS, **kwargs) -> Blueprint:
    return blueprint_create(
        bank=bank,
        name=kwargs.pop("name", "初赛"),
        cells=cells,
        actor=bank.owners.first(),
        **kwargs,
    )


def test_a_drawn_paper_meets_its_blueprint_with_the_published_versions(bank):
    blueprint = make_blueprint(bank)
    player = UserFactory()
    paper = paper_draw(blueprint=blueprint, user=player)
    items = list(paper.items.select_related("version"))
    assert [i.position for i in items] == [1, 2, 3, 4, 5]
    assert Counter(i.version.type for i in items) == {"true_false": 2, "single": 2, "multiple": 1}
    assert all(i.version.dimension == "knowledge" for i in items if i.version.type == "single")
    assert all(i.version.status == VersionStatus.PUBLISHED for i in items)
    assert all(i.question_id == i.version.question_id for i in items)
    assert paper.total_points == 30
    assert sorted(i.points for i in items) == [5, 5, 5, 5, 10]
    assert Counter(i.cell for i in items) == {0: 2, 1: 2, 2: 1}
    assert paper.user == player
    assert 0 <= paper.seed < 2**63


def test_a_guest_gets_a_paper_too(bank):
    paper = paper_draw(blueprint=make_blueprint(bank), user=None)
    assert paper.user is None
    assert paper.items.count() == 5


def test_the_same_seed_and_bank_state_give_the_same_paper(bank):
    first = paper_draw(blueprint=make_blueprint(bank, name="甲"), user=None, seed=42)
    # A second blueprint with the same cells starts from the same exposure state.
    again = paper_draw(blueprint=make_blueprint(bank, name="乙"), user=None, seed=42)

    def content(paper):
        return list(paper.items.values_list("question_id", "version_id", "option_order", "points"))

    assert first.seed == again.seed == 42
    assert content(first) == content(again)
    other = paper_draw(blueprint=make_blueprint(bank, name="丙"), user=None, seed=43)
    assert content(other) != content(first)


def test_the_database_draw_is_the_pure_engine_draw(bank):
    """What an appeal replays: the engine on the bank's state gives the stored paper."""
    blueprint = make_blueprint(bank, exposure_cap=0.5)
    paper_draw(blueprint=blueprint, user=None)
    exposure = dict(ItemExposure.objects.values_list("question_id", "count"))
    versions = QuestionVersion.objects.filter(question__bank=bank, status="published")
    pool = [
        {
            "id": v.question_id,
            "type": v.type,
            "dimension": v.dimension,
            "topic": v.topic,
            "difficulty": v.difficulty,
            "exposure": exposure.get(v.question_id, 0),
            "options": [o["id"] for o in v.options],
        }
        for v in versions
    ]
    expected = draw(pool, parse_cells(CELLS), seed=99, cap=0.5, draws_before=1)
    paper = paper_draw(blueprint=blueprint, user=None, seed=99)
    stored = list(paper.items.values_list("question_id", "cell", "points", "option_order"))
    assert stored == [(d.id, d.cell, d.points, d.option_order) for d in expected]


def test_a_question_retired_behind_the_cache_is_never_drawn(monkeypatch):
    fresh_reads = []
    real_totals = drawing._totals

    def totals(bank_id, *, fresh):
        fresh_reads.append(fresh)
        return real_totals(bank_id, fresh=fresh)

    monkeypatch.setattr(drawing, "_totals", totals)
    bank = BankFactory()
    questions = fill_bank(bank, {("single", "knowledge"): 4})
    blueprint = make_blueprint(bank, cells=[{"type": "single", "count": 3}])
    paper_draw(blueprint=blueprint, user=None)  # caches the bank's counts
    # A change that writes no audit entry leaves the cached counts stale.
    QuestionVersion.objects.filter(question=questions[0]).update(status=VersionStatus.RETIRED)
    for _n in range(5):
        paper = paper_draw(blueprint=blueprint, user=None)
        assert questions[0].pk not in set(paper.items.values_list("question_id", flat=True))
    assert fresh_reads[:3] == [False, False, True]  # the stale count was caught and re-read


def test_a_draw_counts_exposure_in_the_same_transaction(bank):
    blueprint = make_blueprint(bank)
    paper = paper_draw(blueprint=blueprint, user=None)
    drawn = set(paper.items.values_list("question_id", flat=True))
    blueprint.refresh_from_db()
    assert blueprint.draw_count == 1
    assert paper.draw_number == 1
    assert set(Question.objects.filter(exposure_count=1).values_list("pk", flat=True)) == drawn
    assert dict(ItemExposure.objects.values_list("question_id", "count")) == dict.fromkeys(drawn, 1)
    second = paper_draw(blueprint=blueprint, user=None)
    assert second.draw_number == 2
    both = drawn & set(second.items.values_list("question_id", flat=True))
    assert set(Question.objects.filter(exposure_count=2).values_list("pk", flat=True)) == both


def test_the_exposure_cap_holds_over_many_drawn_papers():
    bank = BankFactory()
    fill_bank(bank, {("true_false", "knowledge"): 9, ("single", "method"): 9})
    cells = [{"type": "true_false", "count": 2}, {"type": "single", "count": 2}]
    blueprint = make_blueprint(bank, cells=cells, exposure_cap=0.25)
    for n in range(1, 61):
        paper_draw(blueprint=blueprint, user=None)
        worst = max(ItemExposure.objects.values_list("count", flat=True))
        assert worst <= math.ceil(0.25 * n)
    counts = Counter(PaperItem.objects.values_list("question_id", flat=True))
    assert max(counts.values()) / 60 <= 0.25
    assert dict(ItemExposure.objects.values_list("question_id", "count")) == dict(counts)


def test_an_impossible_blueprint_names_the_short_cell_and_writes_nothing(bank):
    cells = [*CELLS, {"type": "multiple", "dimension": "method", "count": 2, "points": 5}]
    blueprint = make_blueprint(bank, cells=cells)
    with pytest.raises(BlueprintError) as caught, translation.override("en"):
        paper_draw(blueprint=blueprint, user=None)
    assert caught.value.cells == (3,)
    assert "#4 (type=multiple, dimension=method) needs 2 questions" in str(caught.value)
    with pytest.raises(BlueprintError) as caught, translation.override("zh-hans"):
        paper_draw(blueprint=blueprint, user=None)
    assert "#4 (type=multiple, dimension=method)" in str(caught.value)
    assert "needs" not in str(caught.value)  # the message is translated
    blueprint.refresh_from_db()
    assert blueprint.draw_count == 0
    assert not Paper.objects.exists()
    assert not Question.objects.filter(exposure_count__gt=0).exists()


def test_drafts_and_retired_questions_are_never_drawn():
    bank = BankFactory()
    fill_bank(bank, {("single", "knowledge"): 2})
    QuestionFactory(bank=bank, publish=False)
    retired = QuestionFactory(bank=bank)
    services.question_retire(question=retired, actor=bank.owners.first())
    blueprint = make_blueprint(bank, cells=[{"type": "single", "count": 2}])
    for _n in range(5):
        paper = paper_draw(blueprint=blueprint, user=None)
        statuses = set(paper.items.values_list("version__status", flat=True))
        assert statuses == {VersionStatus.PUBLISHED}
    with pytest.raises(BlueprintError, match="only 2 in the bank"), translation.override("en"):
        paper_draw(blueprint=make_blueprint(bank, name="三题", cells=[{"count": 3}]), user=None)


def test_a_blueprint_with_an_unknown_value_is_refused(bank):
    with (
        pytest.raises(BlueprintError, match="unknown dimension “physics”"),
        translation.override("en"),
    ):
        make_blueprint(bank, cells=[{"dimension": "physics", "count": 1}])
    with pytest.raises(ValidationError):
        make_blueprint(bank, exposure_cap=0)
    assert not Blueprint.objects.exists()


def test_only_owners_and_organizers_it_is_shared_with_make_blueprints(bank):
    outsider = UserFactory(role="organizer")
    with pytest.raises(PermissionDenied):
        blueprint_create(bank=bank, name="x", cells=CELLS, actor=outsider)
    bank.shared_with.add(outsider)
    assert blueprint_create(bank=bank, name="x", cells=CELLS, actor=outsider).pk


def test_the_database_refuses_an_exposure_cap_outside_0_to_1(bank):
    blueprint = make_blueprint(bank)
    with pytest.raises(IntegrityError), transaction.atomic():
        Blueprint.objects.filter(pk=blueprint.pk).update(exposure_cap=1.5)


# --- What the player sees ----------------------------------------------------------


def all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


def test_the_player_view_carries_no_key_explanation_or_correct_flag(bank):
    paper = paper_draw(blueprint=make_blueprint(bank, seconds_per_question=30), user=None)
    view = player_view(paper)
    text = json.dumps(view, ensure_ascii=False)
    keys = all_keys(view)
    for word in ("key", "explanation", "explanation_en", "correct", "is_correct", "score"):
        assert word not in keys
    assert "解析" not in text  # every explanation in the factory says 解析
    assert "correct" not in text.lower()
    assert view["seconds_per_question"] == 30
    versions = {v.pk: v for v in QuestionVersion.objects.filter(question__bank=bank)}
    for entry, item in zip(view["items"], paper.items.order_by("position"), strict=True):
        version = versions[item.version_id]
        assert entry["stem"] == version.stem
        assert version.explanation not in text
        if version.type == "true_false":
            assert "options" not in entry
            continue
        # Opaque ids in this player's order, nothing but id and text.
        assert [o["id"] for o in entry["options"]] == item.option_order
        assert all(set(o) == {"id", "text"} for o in entry["options"])
        assert sorted(item.option_order) == sorted(o["id"] for o in version.options)


def test_the_keyed_option_is_not_always_in_the_same_place(bank):
    blueprint = make_blueprint(bank, cells=[{"type": "single", "count": 1}])
    places = set()
    for _n in range(20):
        paper = paper_draw(blueprint=blueprint, user=None)
        item = paper.items.select_related("version").get()
        (keyed,) = item.version.key["options"]
        shown = [o["id"] for o in player_view(paper)["items"][0]["options"]]
        places.add(shown.index(keyed))
    assert len(places) > 1


def test_the_player_view_takes_two_queries(bank, django_assert_num_queries):
    paper = paper_draw(blueprint=make_blueprint(bank), user=None)
    paper = Paper.objects.select_related("blueprint").get(pk=paper.pk)
    with django_assert_num_queries(2):
        player_view(paper)


# --- Responses ---------------------------------------------------------------------


def item_of(paper, qtype):
    return paper.items.select_related("version").filter(version__type=qtype).first()


def test_a_right_answer_scores_the_item_points_and_a_wrong_one_nothing(bank):
    paper = paper_draw(blueprint=make_blueprint(bank), user=None)
    single = item_of(paper, "single")
    (keyed,) = single.version.key["options"]
    right = response_submit(paper=paper, item=single, answer=keyed)
    assert (right.is_correct, right.score) == (True, 5)
    tf = item_of(paper, "true_false")
    wrong = response_submit(paper=paper, item=tf, answer=not tf.version.key["value"])
    assert (wrong.is_correct, wrong.score) == (False, 0)
    multiple = item_of(paper, "multiple")
    both = response_submit(paper=paper, item=multiple, answer=multiple.version.key["options"])
    assert (both.is_correct, both.score) == (True, 10)
    assert player_view(paper)["items"][single.position - 1]["answered"] is True


def test_submitting_again_returns_the_first_answer_unchanged(bank):
    paper = paper_draw(blueprint=make_blueprint(bank), user=None)
    single = item_of(paper, "single")
    (keyed,) = single.version.key["options"]
    other = next(o for o in single.option_order if o != keyed)
    first = response_submit(paper=paper, item=single, answer=other)
    again = response_submit(paper=paper, item=single, answer=keyed)
    assert again.pk == first.pk
    assert again.answer == other
    assert again.is_correct is False
    assert Response.objects.filter(item=single).count() == 1


def test_the_database_keeps_one_response_per_paper_item(bank):
    paper = paper_draw(blueprint=make_blueprint(bank), user=None)
    item = item_of(paper, "true_false")
    response_submit(paper=paper, item=item, answer=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(paper=paper, item=item, answer=False, is_correct=False)


@pytest.mark.parametrize(
    ("qtype", "answer"),
    [
        ("single", "not-an-option"),
        ("single", ["a"]),
        ("multiple", "x"),
        ("multiple", []),
        ("single", ""),
        ("true_false", "true"),
        ("true_false", None),
    ],
)
def test_an_answer_that_does_not_fit_the_question_is_refused(bank, qtype, answer):
    paper = paper_draw(blueprint=make_blueprint(bank), user=None)
    with pytest.raises(ValidationError):
        response_submit(paper=paper, item=item_of(paper, qtype), answer=answer)
    assert not Response.objects.exists()


def test_an_item_of_another_paper_is_refused(bank):
    blueprint = make_blueprint(bank)
    mine, theirs = (
        paper_draw(blueprint=blueprint, user=None),
        paper_draw(blueprint=blueprint, user=None),
    )
    with pytest.raises(ValidationError):
        response_submit(paper=mine, item=item_of(theirs, "true_false"), answer=True)
