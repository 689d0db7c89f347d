"""Practice in Chromium at phone size: the literacy self-test played to its report,
the daily quiz answered to its results (by a player, and by a guest), and a timed
challenge played until a wrong answer, whose countdown runs from the server's deadline.

With E2E_SHOTS_DIR set, each step is saved there as practice-*.png for a person to
look at (as the home page's test does)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from quizzes.models import Challenge, Paper, PaperItem
from quizzes.papers.blueprints import blueprint_open_to_players
from quizzes.play import adaptive, practice
from quizzes.play.challenge import challenge_start
from tests.factories import adult
from tests.quizzes.factories import BankFactory, fill_bank

from .conftest import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

DIMENSIONS = ("knowledge", "method", "spirit", "application")


def shot(page, shots_dir, name: str) -> None:
    if shots_dir is not None:
        page.screenshot(path=str(shots_dir / f"practice-{name}.png"), full_page=True)


def fits_the_phone(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def opened(blueprint):
    blueprint_open_to_players(
        blueprint=blueprint, actor=blueprint.bank.owners.first(), is_open=True
    )
    return blueprint


@pytest.fixture
def bank():
    bank = BankFactory(name="科普题库")
    fill_bank(
        bank,
        {("single", d): 4 for d in DIMENSIONS}
        | {("true_false", d): 2 for d in DIMENSIONS}
        | {("multiple", "knowledge"): 2},
    )
    return bank


def choose(page, item: PaperItem, *, right: bool) -> None:
    """Tick the right (or a wrong) answer to the item on the page."""
    tick(page, f"item-{item.pk}", item.version, item.option_order, right=right)


def tick(page, field: str, version, option_order: list[str], *, right: bool) -> None:
    """Tick the right (or a wrong) answer to a question whose inputs are named field."""
    key = version.key
    if version.type == "true_false":
        value = str(key["value"] if right else not key["value"]).lower()
        page.locator(f'input[name="{field}"][value="{value}"]').check()
        return
    wrong = [o for o in option_order if o not in key["options"]]
    for option in key["options"] if right else wrong[:1]:
        page.locator(f'input[name="{field}"][value="{option}"]').check()


def test_the_self_test_is_played_to_its_report(live_server, page, bank, shots_dir):
    blueprint = adaptive.adaptive_blueprint_create(
        bank=bank, name="科学素质自测", actor=bank.owners.first(), min_items=4, max_items=4
    )
    opened(blueprint)
    user = adult()
    sign_in(page, live_server.url, user)
    page.goto(live_server.url + "/practice/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    shot(page, shots_dir, "home")
    page.locator(f'form[action="/practice/tests/{blueprint.pk}/start/"] button').click()
    page.wait_for_url(re.compile(r"/practice/tests/paper/\d+/$"))
    paper = Paper.objects.get(user=user, blueprint=blueprint)
    for n in range(4):
        item = adaptive.current_item(paper)
        page.locator(f"#q-{item.position}").wait_for()
        assert fits_the_phone(page)
        if n == 0:
            shot(page, shots_dir, "self-test-question")
        choose(page, item, right=n % 2 == 0)
        page.locator(".paper-form button[type=submit]").click()
        page.wait_for_load_state()
        paper.refresh_from_db()
    page.locator("#report [data-score]").wait_for()
    assert paper.submitted_at is not None
    assert fits_the_phone(page)
    shot(page, shots_dir, "self-test-report")


def test_the_daily_quiz_is_answered_to_its_results(live_server, page, bank, shots_dir):
    cells = [
        {"dimension": "knowledge", "type": "single", "count": 2, "points": 20},
        {"type": "true_false", "count": 1, "points": 20},
        {"type": "multiple", "count": 1, "points": 20},
        {"dimension": "method", "type": "single", "count": 1, "points": 20},
    ]
    daily = opened(
        practice.daily_blueprint_create(
            bank=bank, name="每日答题", actor=bank.owners.first(), cells=cells
        )
    )
    user = adult()
    sign_in(page, live_server.url, user)
    page.goto(live_server.url + "/practice/")
    card = page.locator(f"#daily-card-{daily.pk}")
    assert card.locator('[data-daily-status="todo"]').is_visible()
    card.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/practice/daily/paper/\d+/$"))
    paper = Paper.objects.get(user=user, blueprint=daily)
    items = list(paper.items.select_related("version").order_by("position"))
    assert page.locator("fieldset").count() == 5
    for item in items:
        choose(page, item, right=item.position != 2)  # all right but the second
    assert fits_the_phone(page)
    shot(page, shots_dir, "daily-form")
    page.locator(".paper-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/practice/daily/paper/\d+/$"))
    page.locator(".result-item").first.wait_for()
    assert page.locator(".result-item").count() == 5
    assert page.get_by_text(items[1].version.explanation).is_visible()
    assert "80" in page.locator("#score-title + p").inner_text()
    assert fits_the_phone(page)
    shot(page, shots_dir, "daily-results")
    page.goto(live_server.url + "/practice/")
    assert card.locator('[data-daily-status="done"]').is_visible()
    assert "80" in card.inner_text()


def test_a_guest_plays_the_daily_quiz_and_is_offered_to_keep_it(live_server, page, bank):
    daily = opened(
        practice.daily_blueprint_create(
            bank=bank,
            name="每日答题",
            actor=bank.owners.first(),
            cells=[{"type": "single", "count": 5, "points": 20}],
        )
    )
    page.goto(live_server.url + "/practice/")
    card = page.locator(f"#daily-card-{daily.pk}")
    card.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/practice/daily/paper/\d+/$"))
    paper = Paper.objects.get(user=None, blueprint=daily)
    items = list(paper.items.select_related("version").order_by("position"))
    for item in items:
        choose(page, item, right=True)
    page.locator(".paper-form button[type=submit]").click()
    page.locator(".result-item").first.wait_for()
    assert page.locator(".result-item").count() == 5
    assert "100" in page.locator("#score-title + p").inner_text()
    # Signing up keeps it: the page says so and links to the sign-up page.
    assert page.locator('a[href^="/accounts/signup/"]').first.is_visible()
    assert fits_the_phone(page)
    paper.refresh_from_db()
    assert paper.submitted_at is not None and paper.user_id is None


def test_a_challenge_is_played_until_a_wrong_answer(live_server, page, bank, shots_dir):
    challenge = opened(
        practice.challenge_blueprint_create(bank=bank, name="百秒挑战", actor=bank.owners.first())
    )
    user = adult()
    sign_in(page, live_server.url, user)
    page.goto(live_server.url + "/practice/")
    page.locator(f"#challenge-{challenge.pk} button[type=submit]").click()
    page.wait_for_url(re.compile(r"/practice/challenges/paper/\d+/$"))
    paper = Paper.objects.get(user=user, blueprint=challenge)
    # The countdown runs from the server's deadline.
    seconds = page.locator("[data-seconds]")
    first = int(seconds.inner_text())
    assert 95 <= first <= 100
    page.wait_for_function(
        f"Number(document.querySelector('[data-seconds]').textContent) < {first}"
    )
    assert page.locator("[role=timer]").is_visible()
    assert fits_the_phone(page)
    shot(page, shots_dir, "challenge-question")
    for right in (True, True, False):
        item = adaptive.current_item(paper)
        page.locator(f"#q-{item.position}").wait_for()
        choose(page, item, right=right)
        page.locator("[data-one-question-form] button[type=submit]").click()
        page.wait_for_load_state()
        paper.refresh_from_db()
    page.locator("#result [data-correct]").wait_for()
    result = Challenge.objects.get(paper=paper)
    assert (result.correct, result.ended_by, result.success) == (2, "wrong", False)
    assert page.locator('[data-outcome="short"]').is_visible()
    missed = paper.items.select_related("version").last()
    assert page.get_by_text(missed.version.explanation).is_visible()
    assert fits_the_phone(page)
    shot(page, shots_dir, "challenge-result")
    page.goto(live_server.url + "/practice/")
    assert "2" in page.locator(f"#challenge-{challenge.pk} [data-best]").inner_text()


def test_the_countdown_ends_on_the_servers_result(live_server, page, bank):
    challenge = opened(
        practice.challenge_blueprint_create(bank=bank, name="百秒挑战", actor=bank.owners.first())
    )
    user = adult()
    sign_in(page, live_server.url, user)
    paper = challenge_start(blueprint=challenge, user=user)
    # Two seconds left by the server's clock: the page counts down, then shows the result.
    now = timezone.now()
    Challenge.objects.filter(paper=paper).update(
        started_at=now - timedelta(seconds=98), deadline=now + timedelta(seconds=2)
    )
    page.goto(f"{live_server.url}/practice/challenges/paper/{paper.pk}/")
    assert int(page.locator("[data-seconds]").inner_text()) <= 2
    page.locator("#result [data-correct]").wait_for(timeout=8_000)
    assert Challenge.objects.get(paper=paper).ended_by == "time"


def test_elder_mode_offers_untimed_practice_before_the_clock(live_server, page, bank, shots_dir):
    challenge = opened(
        practice.challenge_blueprint_create(bank=bank, name="百秒挑战", actor=bank.owners.first())
    )
    user = adult()
    sign_in(page, live_server.url, user)
    page.context.add_cookies(
        [{"name": settings.ELDER_MODE_COOKIE_NAME, "value": "1", "url": live_server.url}]
    )
    page.goto(live_server.url + "/practice/")
    card = page.locator(f"#challenge-{challenge.pk}")
    assert card.locator("[data-elder-note]").is_visible()
    assert card.locator('a[href="/papers/"]').is_visible()
    assert fits_the_phone(page)
    shot(page, shots_dir, "home-elder")
    assert not Paper.objects.filter(user=user).exists()  # no clock started unasked
    card.locator("button[type=submit]").click()  # "play anyway": the player's choice
    page.wait_for_url(re.compile(r"/practice/challenges/paper/\d+/$"))
    box = page.locator("[data-one-question-form] button[type=submit]").bounding_box()
    assert box["height"] >= 60
    assert fits_the_phone(page)
    shot(page, shots_dir, "challenge-question-elder")
