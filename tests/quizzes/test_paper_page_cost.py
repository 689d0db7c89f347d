"""The query counts of the hot paths of a practice rush, pinned (issue 13: "fewer
queries with pinned counts"): a paper's page, the daily quiz's page, an answer save
and a submit. A count that grows fails here; one that shrinks should be pinned lower.

Every request also pays for what is not the paper's: the user and the player's profile,
loaded once and shared by "may this player play" (accounts.decorators) and the page's
settings (frontend.context_processors); the session comes from the cache here. The
counts below say which part is which.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from quizzes.models import Response
from quizzes.papers.drawing import paper_draw
from quizzes.play import practice
from quizzes.play.daily import daily_start
from tests.factories import adult
from tests.quizzes import test_paper_pages
from tests.quizzes.factories import BankFactory, fill_bank
from tests.quizzes.helpers import DAILY_CELLS, DIMENSIONS, opened
from tests.quizzes.test_paper_autosave import right, save
from tests.quizzes.test_paper_pages import items_by_type, login

pytestmark = pytest.mark.django_db

# The paper pages' fixtures: a blueprint of every question type, a player, and
# their paper with shuffled options.
blueprint = test_paper_pages.blueprint
paper = test_paper_pages.paper
player = test_paper_pages.player

# user + profile (may play, and the page settings from the same object)
EVERY_PAGE = 2
# user + profile (may play)
EVERY_POST = 2


def test_a_papers_page_is_one_query_whatever_its_length(
    client, player, blueprint, django_assert_num_queries
):
    login(client, player)
    short = paper_draw(blueprint=blueprint, user=player, seed=1)
    short.items.filter(position__gt=2).delete()
    long = paper_draw(blueprint=blueprint, user=player, seed=2)
    for drawn in (short, long):
        item = drawn.items.select_related("version").first()
        save(client, drawn, item, right(item), "saved")
        # The paper, its items, their versions and saved answers: one query.
        with django_assert_num_queries(EVERY_PAGE + 1):
            response = client.get(reverse("papers:detail", args=[drawn.pk]))
        assert response.status_code == 200
        assert 'value="' in response.content.decode()


def test_the_daily_quizs_page(client, django_assert_num_queries):
    bank = BankFactory()
    fill_bank(
        bank,
        {("single", d): 5 for d in DIMENSIONS} | {("true_false", d): 2 for d in DIMENSIONS},
    )
    daily = opened(
        practice.daily_blueprint_create(
            bank=bank, name="每日答题", actor=bank.owners.first(), cells=DAILY_CELLS
        )
    )
    user = adult()
    login(client, user)
    paper = daily_start(blueprint=daily, user=user)
    with django_assert_num_queries(EVERY_PAGE + 1):
        response = client.get(reverse("practice:daily", args=[paper.pk]))
    assert response.status_code == 200


def test_an_answer_save(client, player, paper, django_assert_num_queries):
    login(client, player)
    single = items_by_type(paper)["single"]
    first, second = single.option_order[:2]
    # The item with its paper (locked), blueprint, version and saved answer; the write;
    # a savepoint around them (the test's transaction: BEGIN/COMMIT in production).
    with django_assert_num_queries(EVERY_POST + 4):
        assert save(client, paper, single, first, "one").status_code == 200
    with django_assert_num_queries(EVERY_POST + 4):
        assert save(client, paper, single, second, "two").status_code == 200
    # The same save again: read, acknowledged, nothing written.
    with django_assert_num_queries(EVERY_POST + 3):
        assert save(client, paper, single, second, "two").status_code == 200


def test_a_json_submit(client, player, paper, django_assert_num_queries):
    """Marking is a fixed number of queries however many answers there are (it was
    four per answer), and so is the player's progress per topic (it was two per
    answer)."""
    login(client, player)
    items = items_by_type(paper)
    for qtype, item in items.items():
        save(client, paper, item, right(item), qtype)
    url = reverse("papers:submit", args=[paper.pk])
    # The paper; marking in savepoints (the items, the claim, the saved answers, the
    # answers already there, one INSERT of every response, the saved answers deleted);
    # then the paper's finish: its answers, XP, streak, one mastery row per topic (one
    # topic here), the weekly cohort of a first paper (20 with the savepoints).
    with django_assert_num_queries(EVERY_POST + 1 + 10 + 20):
        response = client.post(
            url, "", content_type="application/json", headers={"Accept": "application/json"}
        )
    assert response.json()["submitted"] is True
    assert Response.objects.filter(paper=paper, is_correct=True).count() == len(items)
    with django_assert_num_queries(EVERY_POST + 1):  # the paper: submitted already
        again = client.post(
            url,
            json.dumps({"answers": {}}),
            content_type="application/json",
            headers={"Accept": "application/json"},
        )
    assert again.json()["submitted"] is False
