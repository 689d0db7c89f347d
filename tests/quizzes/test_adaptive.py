"""The adaptive literacy self-test through its services (quizzes.play.adaptive)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from quizzes.models import AdaptiveTest, ItemExposure, ItemParameters, Paper, Response
from quizzes.papers.blueprints import blueprint_open_to_players
from quizzes.papers.drawing import paper_start
from quizzes.papers.selectors import paper_results
from quizzes.play import adaptive
from tests.factories import PASSWORD, adult
from tests.quizzes.factories import BankFactory, fill_bank
from tests.quizzes.helpers import answer, post_answer

pytestmark = pytest.mark.django_db

DIMENSIONS = ("knowledge", "method", "spirit", "application")


@pytest.fixture
def self_test():
    bank = BankFactory()
    fill_bank(
        bank, {("single", d): 12 for d in DIMENSIONS} | {("true_false", d): 6 for d in DIMENSIONS}
    )
    owner = bank.owners.first()
    blueprint = adaptive.adaptive_blueprint_create(
        bank=bank, name="科学素质自测", actor=owner, min_items=15, max_items=20, exposure_cap=1.0
    )
    blueprint_open_to_players(blueprint=blueprint, actor=owner, is_open=True)
    blueprint.refresh_from_db()
    return blueprint


def play(paper: Paper, pattern) -> int:
    given = 0
    while adaptive.current_item(paper) is not None:
        answer(paper, right=pattern(given))
        given += 1
        paper.refresh_from_db()
    return given


def test_a_test_gives_one_item_at_a_time_and_ends_with_a_report(self_test):
    user = adult()
    paper = adaptive.adaptive_start(blueprint=self_test, user=user)
    assert paper.items.count() == 1
    assert adaptive.adaptive_start(blueprint=self_test, user=user) == paper  # not a second
    given = play(paper, lambda n: n % 3 != 0)
    test = AdaptiveTest.objects.get(paper=paper)
    assert 15 <= given <= 20
    assert test.finished_at is not None and paper.submitted_at is not None
    assert Response.objects.filter(paper=paper).count() == given
    assert 0 <= test.score_low <= test.score <= test.score_high <= 100
    assert test.level == adaptive.level_of(test.score)
    # The blueprint holds at whatever length the test ended: 40/20/20/20.
    answered = {name: entry["answered"] for name, entry in test.dimensions.items()}
    assert answered["knowledge"] == 2 * answered["method"]
    assert answered["method"] == answered["spirit"] == answered["application"]
    # Keys and explanations are due now.
    assert paper_results(paper)["items"]


def test_someone_who_gets_everything_right_scores_higher(self_test):
    high = adaptive.adaptive_start(blueprint=self_test, user=adult())
    play(high, lambda n: True)
    low = adaptive.adaptive_start(blueprint=self_test, user=adult())
    play(low, lambda n: False)
    high_test, low_test = AdaptiveTest.objects.get(paper=high), AdaptiveTest.objects.get(paper=low)
    assert high_test.theta > 1 > -1 > low_test.theta
    assert high_test.score > 70 > 55 > low_test.score
    assert low_test.level == AdaptiveTest.Level.LOW


def test_levels_follow_the_national_grading():
    assert adaptive.level_of(54.9) == "low"
    assert adaptive.level_of(55.0) == "basic"
    assert adaptive.level_of(70.0) == "basic"
    assert adaptive.level_of(70.1) == "literate"
    assert adaptive.level_of(85.0) == "literate"
    assert adaptive.level_of(85.1) == "advanced"


def test_an_answer_to_another_item_is_refused_and_changes_nothing(self_test):
    paper = adaptive.adaptive_start(blueprint=self_test, user=adult())
    first = adaptive.current_item(paper)
    answer(paper, right=True)
    second = adaptive.current_item(paper)
    assert second != first
    state = AdaptiveTest.objects.get(paper=paper).state
    other = adaptive.adaptive_start(blueprint=self_test, user=adult())
    with pytest.raises(ValidationError):
        adaptive.adaptive_answer(paper=paper, item=adaptive.current_item(other), answer="A")
    assert AdaptiveTest.objects.get(paper=paper).state == state
    # Answering the first item again returns the first answer, nothing new.
    again = adaptive.adaptive_answer(paper=paper, item=first, answer="Z")
    assert again.item_id == first.pk
    assert Response.objects.filter(paper=paper).count() == 1


def test_a_bad_answer_is_refused_and_changes_nothing(self_test):
    paper = adaptive.adaptive_start(blueprint=self_test, user=adult())
    item = adaptive.current_item(paper)
    state = AdaptiveTest.objects.get(paper=paper).state
    with pytest.raises(ValidationError):
        adaptive.adaptive_answer(paper=paper, item=item, answer="not an option")
    assert AdaptiveTest.objects.get(paper=paper).state == state
    assert adaptive.current_item(paper) == item
    assert not Response.objects.filter(paper=paper).exists()


def test_calibrated_parameters_are_used_and_uncalibrated_items_get_priors(self_test):
    versions = list(self_test.bank.questions.values_list("versions__id", "versions__difficulty"))
    first_version = versions[0][0]
    ItemParameters.objects.create(version_id=first_version, a=1.7, b=2.2)
    pool = adaptive.pool_for(self_test)
    bank = pool.engine.bank
    question = next(q for q, v in pool.versions.items() if v == first_version)
    position = bank.position(question)
    assert (bank.a[position], bank.b[position]) == (1.7, 2.2)
    others = [bank.b[bank.position(q)] for q, v in pool.versions.items() if v != first_version]
    assert set(others) == {0.0}  # "medium" items: the label's prior


def test_exposure_is_counted_per_item_given(self_test):
    paper = adaptive.adaptive_start(blueprint=self_test, user=adult())
    given = play(paper, lambda n: n % 2 == 0)
    assert (
        sum(ItemExposure.objects.filter(blueprint=self_test).values_list("count", flat=True))
        == given
    )


def test_a_fixed_paper_cannot_be_started_from_an_adaptive_blueprint(self_test):
    with pytest.raises(PermissionDenied):
        paper_start(blueprint=self_test, user=adult())


# --- pages -------------------------------------------------------------------------------


def login(client, user) -> None:
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_the_pages_take_a_player_from_start_to_report(client, self_test):
    user = adult()
    login(client, user)
    home = client.get(reverse("practice:home"))
    assert self_test.name in home.content.decode()
    started = client.post(reverse("practice:test_start", args=[self_test.pk]))
    paper = Paper.objects.get(user=user)
    assert started.url == reverse("practice:test", args=[paper.pk])
    answered = 0
    while True:
        page = client.get(started.url).content.decode()
        if adaptive.current_item(paper) is None:
            break
        item = adaptive.current_item(paper)
        # Before the end: the stem, never the explanation or a marking.
        assert item.version.stem in page
        assert item.version.explanation not in page
        assert "the answer" not in page
        assert post_answer(client, paper, right=answered % 2 == 0).status_code == 302
        answered += 1
        paper.refresh_from_db()
    test = AdaptiveTest.objects.get(paper=paper)
    assert f"{test.score:.0f} of 100" in page
    assert test.get_level_display() in page
    missed = Response.objects.filter(paper=paper, is_correct=False).select_related("item__version")
    for response in missed:
        assert response.item.version.explanation in page


def test_an_empty_or_stale_answer_changes_nothing(client, self_test):
    user = adult()
    login(client, user)
    client.post(reverse("practice:test_start", args=[self_test.pk]))
    paper = Paper.objects.get(user=user)
    first = adaptive.current_item(paper)
    url = reverse("practice:test_answer", args=[paper.pk])
    empty = client.post(url, {"item": first.pk})
    assert empty.status_code == 400
    assert "Choose an answer." in empty.content.decode()
    assert not Response.objects.filter(paper=paper).exists()
    assert post_answer(client, paper, right=True).status_code == 302
    # The same form sent again (a double click): the test has moved on; no new answer.
    again = post_answer(client, paper, right=False, item=first)
    assert again.status_code == 302
    assert Response.objects.filter(paper=paper).count() == 1


def test_someone_elses_test_is_not_found(client, self_test):
    paper = adaptive.adaptive_start(blueprint=self_test, user=adult())
    login(client, adult())
    assert client.get(reverse("practice:test", args=[paper.pk])).status_code == 404
    assert post_answer(client, paper, right=True).status_code == 404


def test_the_account_only_pages_need_a_signed_in_player(client, self_test):
    # Guests may play the self-test (tests/quizzes/test_guest_practice.py), not these.
    for name in ("practice:progress", "practice:review", "practice:themes"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "login" in response.url
