"""Guests play practice papers; their progress moves to an account on sign-up.

Issue 5 (gamification): "Guests can play; progress moves to an account on sign-up."
A guest's paper has no user and only the session that started it may open it.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import Profile, User
from quizzes.models import Blueprint, Paper
from quizzes.models.progress import Progress, XpAward
from quizzes.models.review import ReviewCard
from quizzes.papers.blueprints import blueprint_create, blueprint_open_to_players
from quizzes.play.claim import guest_papers_claim
from quizzes.play.guest import SESSION_KEY
from tests.factories import PASSWORD, adult, child, child_signup_form_data, signup_form_data
from tests.quizzes.factories import BankFactory
from tests.quizzes.helpers import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def blueprint():
    bank = BankFactory()
    publish(bank, "true_false")  # 声音在真空中不能传播。 key: true
    publish(bank, "single")
    owner = bank.owners.first()
    made = blueprint_create(
        bank=bank,
        name="家庭安全练习",
        cells=[{"type": "true_false", "count": 1}, {"type": "single", "count": 1}],
        actor=owner,
    )
    return blueprint_open_to_players(blueprint=made, actor=owner, is_open=True)


def guest_client() -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def play(client: Client, blueprint: Blueprint) -> Paper:
    """Start a paper, answer its true/false question right and its single choice
    wrong, submit."""
    response = client.post(reverse("papers:start", args=[blueprint.pk]))
    assert response.status_code == 302
    paper = Paper.objects.latest("id")
    assert response["Location"] == reverse("papers:detail", args=[paper.pk])
    assert client.get(response["Location"]).status_code == 200
    true_false = paper.items.get(version__type="true_false")
    single = paper.items.select_related("version").get(version__type="single")
    wrong = next(o for o in single.option_order if [o] != single.version.key["options"])
    response = client.post(
        reverse("papers:submit", args=[paper.pk]),
        {f"item-{true_false.pk}": "true", f"item-{single.pk}": wrong},
    )
    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.submitted_at is not None
    return paper


def test_a_guest_plays_a_practice_paper_to_its_results(blueprint):
    client = guest_client()
    paper = play(client, blueprint)

    assert paper.user is None
    assert client.session[SESSION_KEY] == [paper.pk]
    page = client.get(reverse("papers:detail", args=[paper.pk])).content.decode()
    assert "Your result" in page
    assert "data-guest-note" in page
    assert XpAward.objects.count() == 0
    assert ReviewCard.objects.count() == 0


def test_starting_twice_resumes_the_guests_unsubmitted_paper(blueprint):
    client = guest_client()
    client.post(reverse("papers:start", args=[blueprint.pk]))
    client.post(reverse("papers:start", args=[blueprint.pk]))
    assert Paper.objects.count() == 1


def test_another_guest_cannot_see_or_submit_a_guests_paper(blueprint, client):
    paper = play(guest_client(), blueprint)
    other = guest_client()
    other.post(reverse("papers:start", args=[blueprint.pk]))  # a session of their own

    assert other.get(reverse("papers:detail", args=[paper.pk])).status_code == 404
    assert other.post(reverse("papers:submit", args=[paper.pk])).status_code == 404
    assert other.get(reverse("papers:data", args=[paper.pk])).status_code == 404
    player = adult()
    assert client.login(username=player.username, password=PASSWORD)
    assert client.get(reverse("papers:detail", args=[paper.pk])).status_code == 404


def test_a_guest_cannot_start_a_paper_meant_for_an_audience(blueprint):
    Blueprint.objects.filter(pk=blueprint.pk).update(audience=Profile.PopulationGroup.STUDENT)
    client = guest_client()
    assert client.post(reverse("papers:start", args=[blueprint.pk])).status_code == 404
    assert Paper.objects.count() == 0


def test_the_list_page_shows_a_guest_the_open_papers_and_asks_them_to_sign_up(blueprint):
    for_students = Blueprint.objects.get(pk=blueprint.pk)
    for_students.pk = None
    for_students.name = "中学生专场"
    for_students.audience = Profile.PopulationGroup.STUDENT
    for_students.save()
    closed = Blueprint.objects.get(pk=blueprint.pk)
    closed.pk = None
    closed.name = "未开放试卷"
    closed.open_to_players = False
    closed.save()

    response = guest_client().get(reverse("papers:list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "家庭安全练习" in page
    assert "中学生专场" not in page
    assert "未开放试卷" not in page
    assert "to keep your progress" in page
    assert reverse("account_signup") in page


def test_a_child_without_consent_still_gets_the_consent_page(blueprint, client):
    kid = child()
    assert client.login(username=kid.username, password=PASSWORD)
    assert client.get(reverse("papers:list")).status_code == 403
    assert client.post(reverse("papers:start", args=[blueprint.pk])).status_code == 403


def test_signing_up_moves_the_guests_papers_and_progress_to_the_new_account(blueprint):
    client = guest_client()
    paper = play(client, blueprint)

    response = client.post(reverse("account_signup"), signup_form_data())

    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(username="lihua")
    paper.refresh_from_db()
    assert paper.user == user
    assert Progress.objects.get(user=user).xp == 30  # 20 for finishing, 10 for one right
    assert ReviewCard.objects.filter(user=user).count() == 1  # the single choice answered wrong
    assert SESSION_KEY not in client.session or client.session[SESSION_KEY] == []
    page = client.get(reverse("papers:list")).content.decode()
    assert reverse("papers:detail", args=[paper.pk]) in page
    assert client.get(reverse("papers:detail", args=[paper.pk])).status_code == 200


def test_signing_in_claims_the_guests_papers_too(blueprint):
    player = adult()
    client = guest_client()
    paper = play(client, blueprint)

    response = client.post(
        reverse("account_login"), {"login": player.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.user == player
    assert Progress.objects.get(user=player).xp == 30


def test_claiming_twice_changes_nothing(blueprint):
    paper = play(guest_client(), blueprint)
    player, someone_else = adult(), adult()

    assert guest_papers_claim(session_paper_ids=[paper.pk], user=player) == [paper.pk]
    assert guest_papers_claim(session_paper_ids=[paper.pk], user=player) == []
    assert guest_papers_claim(session_paper_ids=[paper.pk], user=someone_else) == []

    paper.refresh_from_db()
    assert paper.user == player
    assert Progress.objects.get(user=player).xp == 30
    assert XpAward.objects.filter(user=player).count() == 1
    assert not Progress.objects.filter(user=someone_else).exists()


def test_an_unsubmitted_guest_paper_is_claimed_without_progress(blueprint):
    client = guest_client()
    client.post(reverse("papers:start", args=[blueprint.pk]))
    paper = Paper.objects.get()
    player = adult()

    assert guest_papers_claim(session_paper_ids=[paper.pk], user=player) == [paper.pk]
    assert not XpAward.objects.filter(user=player).exists()


def test_a_child_needing_consent_claims_nothing(blueprint):
    paper = play(guest_client(), blueprint)
    kid = child()

    assert guest_papers_claim(session_paper_ids=[paper.pk], user=kid) == []

    paper.refresh_from_db()
    assert paper.user is None
    assert not XpAward.objects.exists()
    assert not ReviewCard.objects.exists()


def test_a_child_who_signs_up_keeps_nothing_until_a_guardian_consents(blueprint):
    client = guest_client()
    paper = play(client, blueprint)

    response = client.post(reverse("account_signup"), child_signup_form_data())

    assert response.status_code == 302, response.content.decode()
    paper.refresh_from_db()
    assert paper.user is None  # PIPL: nothing of the child's is processed before consent
    assert not XpAward.objects.exists()
