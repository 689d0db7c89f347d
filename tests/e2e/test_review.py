"""Mistake review in Chromium at phone size: a question answered wrong in the daily
quiz comes back in the review, is answered again (in elder mode: large type, big
targets, no clock), marked, explained and scheduled; the practice home counts it.

With E2E_SHOTS_DIR set, each step is saved there as review-*.png for a person to
look at."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from quizzes.models import Paper, ReviewCard, ReviewSession
from quizzes.papers.blueprints import blueprint_open_to_players
from quizzes.play import practice, review
from tests.factories import adult
from tests.quizzes.factories import BankFactory, fill_bank

from .conftest import sign_in
from .test_practice import choose, fits_the_phone, tick

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]


def shot(page, shots_dir, name: str) -> None:
    if shots_dir is not None:
        page.screenshot(path=str(shots_dir / f"review-{name}.png"), full_page=True)


def big_enough(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["width"] >= 60 and box["height"] >= 60


def test_a_question_missed_in_the_daily_quiz_is_reviewed_in_elder_mode(
    live_server, page, shots_dir
):
    bank = BankFactory(name="科普题库")
    fill_bank(bank, {("single", "knowledge"): 4, ("true_false", "method"): 2})
    daily = practice.daily_blueprint_create(
        bank=bank,
        name="每日答题",
        actor=bank.owners.first(),
        cells=[{"type": "single", "count": 3}, {"type": "true_false", "count": 2}],
    )
    blueprint_open_to_players(blueprint=daily, actor=bank.owners.first(), is_open=True)
    user = adult()
    sign_in(page, live_server.url, user)

    # --- The daily quiz, the first question answered wrong --------------------------------
    page.goto(live_server.url + "/practice/")
    assert page.locator("[data-review-due]").get_attribute("data-review-due") == "0"
    page.locator(f"#daily-card-{daily.pk} button[type=submit]").click()
    page.wait_for_url(re.compile(r"/practice/daily/paper/\d+/$"))
    paper = Paper.objects.get(user=user, blueprint=daily)
    items = list(paper.items.select_related("version").order_by("position"))
    for item in items:
        choose(page, item, right=item.position != 1)
    page.locator(".paper-form button[type=submit]").click()
    page.locator(".result-item").first.wait_for()
    missed = items[0]
    assert list(ReviewCard.objects.filter(user=user).values_list("question_id", flat=True)) == [
        missed.question_id
    ]

    # --- From the results to the review, in elder mode -----------------------------------
    page.context.add_cookies(
        [{"name": settings.ELDER_MODE_COOKIE_NAME, "value": "1", "url": live_server.url}]
    )
    page.locator("[data-review-link] a").click()
    page.wait_for_url(re.compile(r"/practice/review/$"))
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert page.locator("[data-due]").get_attribute("data-due") == "1"
    start = page.locator("#due button[type=submit]")
    assert big_enough(start)
    assert fits_the_phone(page)
    shot(page, shots_dir, "deck")
    start.click()
    page.wait_for_url(re.compile(r"/practice/review/\d+/$"))
    session = ReviewSession.objects.get(user=user)
    current = review.review_current(session)
    assert current.card.question_id == missed.question_id
    # No key, no explanation, no clock before the answer.
    assert not page.get_by_text(missed.version.explanation).count()
    assert not page.locator("[role=timer]").count()
    assert "✓" not in page.locator("main").inner_text()
    option = page.locator("[data-one-question-form] label").first
    assert big_enough(option)
    assert fits_the_phone(page)
    shot(page, shots_dir, "question")

    # --- Answered right this time: marked, explained, scheduled --------------------------
    options = [o["id"] for o in current.version.options]
    tick(page, f"item-{current.card.pk}", current.version, options, right=True)
    page.locator("[data-one-question-form] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/practice/review/\d+/cards/\d+/$"))
    assert page.locator('[data-marked="right"]').is_visible()
    assert page.get_by_text(missed.version.explanation).is_visible()
    assert page.locator("[data-next-review]").is_visible()
    card = ReviewCard.objects.get(user=user)
    assert card.reps == 1 and card.due > session.started_at
    assert fits_the_phone(page)
    shot(page, shots_dir, "answered")
    page.locator("[data-next]").click()
    page.locator("#summary [data-correct]").wait_for()
    session.refresh_from_db()
    assert session.finished_at is not None
    assert fits_the_phone(page)
    shot(page, shots_dir, "summary")
    page.goto(live_server.url + "/practice/")
    assert page.locator("[data-review-due]").get_attribute("data-review-due") == "0"
    assert fits_the_phone(page)
    shot(page, shots_dir, "practice-home")
