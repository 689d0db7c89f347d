"""The demo questions: valid, original-looking, covering what the issue asks for."""

from collections import Counter

import pytest

from quizzes.bank.content import clean_question, search_text
from quizzes.demo import demo_items, raw_from_item

ITEMS = demo_items()


def test_every_demo_question_passes_validation_without_warnings():
    problems = {}
    for item in ITEMS:
        result = clean_question(raw_from_item(item))
        if result.errors or result.warnings:
            problems[item["id"]] = [str(p) for p in result.errors + result.warnings]
    assert problems == {}


def test_there_are_at_least_400_with_explanations_and_references():
    assert len(ITEMS) >= 400
    assert all(item["explanation"].strip() and item["reference"].strip() for item in ITEMS)
    assert len({item["id"] for item in ITEMS}) == len(ITEMS)


def test_stems_are_distinct():
    stems = Counter(search_text(item["stem"]) for item in ITEMS)
    assert [stem for stem, n in stems.items() if n > 1] == []


def test_the_content_covers_dimensions_groups_and_topics():
    dimensions = Counter(item["dimension"] for item in ITEMS)
    assert set(dimensions) == {"knowledge", "method", "spirit", "application"}
    assert all(n >= 40 for n in dimensions.values()), dimensions
    audiences = Counter(a for item in ITEMS for a in item["audience"])
    for group in ("student", "farmer", "worker", "elderly", "civil_servant"):
        assert audiences[group] >= 15, (group, audiences)
    topics = Counter(item["topic"] for item in ITEMS)
    for topic in (
        "emergency",
        "health",
        "anti_fraud",
        "digital_life",
        "environment",
        "space",
        "energy",
    ):
        assert topics[topic] >= 15, (topic, topics)
    types = Counter(item["type"] for item in ITEMS)
    assert set(types) == {"single", "multiple", "true_false", "fill", "numeric", "ordering"}


@pytest.mark.django_db
def test_seed_demo_loads_them_published_once(settings, seeded_demo):
    from io import StringIO

    from django.core.management import call_command

    from quizzes.demo import BANK_NAME
    from quizzes.models import Bank, QuestionVersion

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())  # a second run adds nothing
    bank = Bank.objects.get(name=BANK_NAME)
    assert bank.is_demo
    assert bank.questions.count() == len(ITEMS)
    assert QuestionVersion.objects.filter(question__bank=bank, status="published").count() == len(
        ITEMS
    )


@pytest.mark.django_db
def test_seed_demo_opens_a_practice_paper_a_demo_citizen_can_play(settings, seeded_demo):
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import User
    from quizzes.demo import DEMO_BLUEPRINT
    from quizzes.models import Blueprint
    from quizzes.papers.drawing import paper_start

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())  # a second run adds nothing
    [blueprint] = Blueprint.objects.filter(name=DEMO_BLUEPRINT)
    assert blueprint.open_to_players
    paper = paper_start(blueprint=blueprint, user=User.objects.get(username="demo_farmer"))
    assert paper.items.count() == 10
    dimensions = Counter(paper.items.values_list("version__dimension", flat=True))
    assert dimensions == {"knowledge": 4, "method": 2, "spirit": 2, "application": 2}
