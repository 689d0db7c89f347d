"""District literacy monitoring from finished self-tests (quizzes.play.monitoring)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import District
from quizzes.models import AdaptiveTest, Blueprint, Paper
from quizzes.play.monitoring import MIN_CELL, literacy_monitoring
from tests.factories import UserFactory, adult
from tests.quizzes.factories import BankFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("districts_loaded")]


@pytest.fixture
def blueprint():
    bank = BankFactory()
    return Blueprint.objects.create(bank=bank, name="自测", mode=Blueprint.Mode.ADAPTIVE)


def finished(blueprint, user, *, score, district, group, ago=0):
    paper = Paper.objects.create(blueprint=blueprint, user=user, seed=1, draw_number=1)
    return AdaptiveTest.objects.create(
        paper=paper,
        finished_at=timezone.now() - timedelta(minutes=ago),
        score=score,
        district=district,
        population_group=group,
    )


def test_each_person_counts_once_and_small_groups_show_no_figures(blueprint):
    haidian = District.objects.get(code="110108")
    chaoyang = District.objects.get(code="110105")
    people = [adult() for _ in range(MIN_CELL + 2)]
    for n, user in enumerate(people):
        score = 80.0 if n % 2 else 60.0
        finished(blueprint, user, score=score, district=haidian, group="student")
    # An earlier, lower test of the first person is not counted: the latest is.
    finished(blueprint, people[1], score=10.0, district=haidian, group="student", ago=60)
    for _ in range(3):
        finished(blueprint, adult(), score=90.0, district=chaoyang, group="elderly")
    cells = {(c.code, c.group_code): c for c in literacy_monitoring()}
    big = cells[("110108", "student")]
    assert big.people == MIN_CELL + 2
    assert big.mean_score == 70.0
    assert big.literate_share == 0.5
    small = cells[("110105", "elderly")]
    assert small.people is small.mean_score is small.literate_share is None


def test_the_page_and_csv_are_for_staff_and_name_no_one(client, blueprint):
    haidian = District.objects.get(code="110108")
    for _ in range(MIN_CELL):
        finished(blueprint, adult(), score=75.0, district=haidian, group="worker")
    url = reverse("quizzes:literacy_monitoring")
    client.force_login(adult())
    assert client.get(url).status_code == 403
    organizer = UserFactory(role="organizer")
    client.force_login(organizer)
    page = client.get(url).content.decode()
    assert "75.0" in page
    data = client.get(url, {"format": "csv"})
    text = data.content.decode("utf-8")
    assert text.startswith("\ufeff")
    assert "110108" in text and ",10,75.0,1.0" in text
    for user in [p.user for p in Paper.objects.select_related("user")]:
        assert user.username not in page and user.username not in text
