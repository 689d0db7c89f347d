"""A self-test meant for one population group (Blueprint.audience) is listed on the
practice home and may be started only by players of that group; never by a guest.

The adaptive mode used to ignore the audience: every player saw and started it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from quizzes.models import AdaptiveTest, Blueprint, Paper
from quizzes.papers.blueprints import blueprint_open_to_players, practice_blueprints
from quizzes.play import adaptive
from tests.factories import PASSWORD, adult
from tests.quizzes.factories import BankFactory, fill_bank

pytestmark = pytest.mark.django_db

DIMENSIONS = ("knowledge", "method", "spirit", "application")
FARMER = Profile.PopulationGroup.FARMER


def self_test_for(bank, name: str, audience: str = "") -> Blueprint:
    owner = bank.owners.first()
    blueprint = adaptive.adaptive_blueprint_create(
        bank=bank, name=name, actor=owner, min_items=4, max_items=6, exposure_cap=1.0
    )
    Blueprint.objects.filter(pk=blueprint.pk).update(audience=audience)
    blueprint_open_to_players(blueprint=blueprint, actor=owner, is_open=True)
    blueprint.refresh_from_db()
    return blueprint


@pytest.fixture
def bank():
    bank = BankFactory()
    fill_bank(
        bank, {("single", d): 5 for d in DIMENSIONS} | {("true_false", d): 3 for d in DIMENSIONS}
    )
    return bank


@pytest.fixture
def for_everyone(bank):
    return self_test_for(bank, "全民自测")


@pytest.fixture
def for_farmers(bank):
    return self_test_for(bank, "农民科学素质自测", audience=FARMER)


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def home_of(client: Client) -> str:
    response = client.get(reverse("practice:home"))
    assert response.status_code == 200
    return response.content.decode()


def start_url(blueprint: Blueprint) -> str:
    return reverse("practice:test_start", args=[blueprint.pk])


def test_the_practice_home_lists_a_groups_self_test_to_that_group_only(for_everyone, for_farmers):
    farmer = signed_in(adult(population_group=FARMER))
    worker = signed_in(adult(population_group=Profile.PopulationGroup.WORKER))
    guest = Client()

    page = home_of(farmer)
    assert for_farmers.name in page and start_url(for_farmers) in page
    assert for_everyone.name in page and start_url(for_everyone) in page
    for other in (worker, guest):
        page = home_of(other)
        assert for_everyone.name in page and start_url(for_everyone) in page
        assert for_farmers.name not in page
        assert start_url(for_farmers) not in page
    mode = Blueprint.Mode.ADAPTIVE
    assert set(practice_blueprints(mode=mode, user=None)) == {for_everyone}
    farmers = practice_blueprints(mode=mode, user=adult(population_group=FARMER))
    assert set(farmers) == {for_everyone, for_farmers}


def test_only_a_player_of_the_group_starts_it(for_farmers):
    worker = adult(population_group=Profile.PopulationGroup.WORKER)
    draws = for_farmers.draw_count

    with pytest.raises(PermissionDenied):
        adaptive.adaptive_start(blueprint=for_farmers, user=worker)
    assert not Paper.objects.exists() and not AdaptiveTest.objects.exists()
    for_farmers.refresh_from_db()
    assert for_farmers.draw_count == draws

    farmer = adult(population_group=FARMER)
    paper = adaptive.adaptive_start(blueprint=for_farmers, user=farmer)
    assert paper.user == farmer
    assert AdaptiveTest.objects.get(paper=paper).population_group == FARMER


def test_the_start_page_refuses_a_player_of_another_group_and_a_guest(for_farmers):
    worker = signed_in(adult(population_group=Profile.PopulationGroup.WORKER))
    guest = Client()
    for client in (worker, guest):
        response = client.post(start_url(for_farmers))
        assert response.status_code == 302
        assert response.url == reverse("practice:home")
    with pytest.raises(PermissionDenied):
        adaptive.guest_adaptive_start(blueprint=for_farmers, session_paper_ids=[])
    assert not Paper.objects.exists() and not AdaptiveTest.objects.exists()

    farmer = signed_in(adult(population_group=FARMER))
    started = farmer.post(start_url(for_farmers))
    paper = Paper.objects.get()
    assert started.url == reverse("practice:test", args=[paper.pk])
