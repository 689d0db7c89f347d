"""Organizer pages for a bank's paper blueprints: list, new per mode, edit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from quizzes.models import Blueprint
from quizzes.papers import blueprints, drawing
from quizzes.papers.authoring import blueprint_add, blueprint_update, themed_name
from quizzes.play.challenge import CHALLENGE_TYPES
from tests.factories import PASSWORD, UserFactory, adult
from tests.quizzes.factories import BankFactory, fill_bank
from tests.support.i18n import zh

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank():
    bank = BankFactory()
    fill_bank(
        bank,
        {
            ("single", "knowledge"): 4,
            ("true_false", "knowledge"): 2,
            ("single", "method"): 2,
            ("true_false", "spirit"): 1,
            ("single", "application"): 1,
        },
    )
    return bank


@pytest.fixture
def owner(client, bank):
    user = bank.owners.get()
    assert client.login(username=user.username, password=PASSWORD)
    return user


def cell_rows(*rows: dict) -> dict:
    data = {
        "cells-TOTAL_FORMS": str(len(rows)),
        "cells-INITIAL_FORMS": str(len(rows)),  # as the page renders its rows
        "cells-MIN_NUM_FORMS": "0",
        "cells-MAX_NUM_FORMS": "40",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"cells-{index}-{name}"] = value
    return data


def new_url(bank, mode: str) -> str:
    return reverse("quizzes:blueprint_create", args=[bank.pk]) + f"?mode={mode}"


def row_html(page: str, index: int) -> str:
    """The part of the page that shows one cell row."""
    start = page.index(f'data-row="{index}"')
    end = page.find('data-row="', start + 1)
    return page[start : end if end != -1 else len(page)]


FIXED = {
    "name": "初赛练习卷",
    "audience": "student",
    "open_to_players": "on",
    "exposure_cap": "1",
    "shuffle_questions": "on",
    "seconds_per_question": "",
}


def test_the_bank_page_links_to_its_blueprints(client, bank, owner):
    page = client.get(reverse("quizzes:bank", args=[bank.pk])).content.decode()
    assert reverse("quizzes:blueprints", args=[bank.pk]) in page


def test_an_owner_creates_a_fixed_paper_from_cell_rows(client, bank, owner):
    rows = cell_rows(
        {"dimension": "knowledge", "type": ["single", "true_false"], "count": "3", "points": "5"},
        {"dimension": "method", "count": "1", "points": "10"},
        {"count": "", "points": ""},  # an empty row is ignored
    )
    response = client.post(new_url(bank, "fixed"), {**FIXED, **rows})
    assert response.status_code == 302
    assert response.url == reverse("quizzes:blueprints", args=[bank.pk])
    blueprint = Blueprint.objects.get(bank=bank)
    assert blueprint.mode == Blueprint.Mode.FIXED
    assert blueprint.cells == [
        {"dimension": "knowledge", "type": ["single", "true_false"], "count": 3, "points": 5},
        {"dimension": "method", "count": 1, "points": 10},
    ]
    assert blueprint.audience == "student"
    assert blueprint.open_to_players
    assert blueprint.created_by == owner
    listing = client.get(response.url).content.decode()
    assert "初赛练习卷" in listing
    assert zh("Fixed paper") in listing


def test_the_new_fixed_form_starts_from_the_national_split(client, bank, owner):
    page = client.get(new_url(bank, "fixed")).content.decode()
    assert 'name="cells-0-count"' in page
    assert 'name="cells-3-count"' in page
    assert '<option value="knowledge" selected>' in page


def test_an_owner_creates_a_daily_quiz_of_five_questions(client, bank, owner):
    rows = cell_rows(
        {"dimension": "knowledge", "count": "2", "points": "20"},
        {"dimension": "method", "count": "1", "points": "20"},
        {"dimension": "spirit", "count": "1", "points": "20"},
        {"dimension": "application", "count": "1", "points": "20"},
    )
    data = {"name": "每日答题", "audience": "", "open_to_players": "on", "exposure_cap": "0.5"}
    response = client.post(new_url(bank, "daily"), {**data, **rows})
    assert response.status_code == 302, response.content.decode()
    blueprint = Blueprint.objects.get(bank=bank)
    assert blueprint.mode == Blueprint.Mode.DAILY
    assert blueprint.exposure_cap == 0.5
    assert sum(cell["count"] for cell in blueprint.cells) == 5


def test_a_daily_quiz_of_other_than_five_questions_is_refused(client, bank, owner):
    rows = cell_rows({"dimension": "knowledge", "count": "3", "points": "20"})
    data = {"name": "每日答题", "audience": "", "exposure_cap": "1"}
    response = client.post(new_url(bank, "daily"), {**data, **rows})
    assert response.status_code == 200
    expected = zh("A daily quiz has %(count)s questions: its cells' counts must add up to that.")
    assert expected % {"count": 5} in response.content.decode()
    assert not Blueprint.objects.exists()


def test_an_owner_creates_a_timed_challenge(client, bank, owner):
    data = {"name": "百秒挑战", "audience": "", "open_to_players": "on", "time_limit": "60"}
    response = client.post(new_url(bank, "challenge"), data)
    assert response.status_code == 302
    blueprint = Blueprint.objects.get(bank=bank)
    assert blueprint.mode == Blueprint.Mode.CHALLENGE
    assert blueprint.time_limit == 60
    assert blueprint.cells == [{"type": list(CHALLENGE_TYPES), "count": 1, "points": 1}]


def test_an_owner_creates_an_adaptive_self_test(client, bank, owner):
    data = {
        "name": "素质自测",
        "audience": "",
        "open_to_players": "on",
        "min_items": "3",
        "max_items": "8",
        "se_target": "0.4",
        "exposure_cap": "0.2",
        "share_knowledge": "40",
        "share_method": "20",
        "share_spirit": "20",
        "share_application": "20",
    }
    response = client.post(new_url(bank, "adaptive"), data)
    assert response.status_code == 302, response.content.decode()
    blueprint = Blueprint.objects.get(bank=bank)
    assert blueprint.mode == Blueprint.Mode.ADAPTIVE
    assert (blueprint.min_items, blueprint.max_items, blueprint.se_target) == (3, 8, 0.4)
    assert blueprint.exposure_cap == 0.2
    assert {c["dimension"]: c["count"] for c in blueprint.cells} == {
        "knowledge": 40,
        "method": 20,
        "spirit": 20,
        "application": 20,
    }
    assert blueprint.open_to_players


def test_an_adaptive_test_with_fewer_questions_than_its_minimum_is_refused(client, bank, owner):
    data = {
        "name": "素质自测",
        "audience": "",
        "min_items": "50",
        "max_items": "60",
        "se_target": "0.3",
        "exposure_cap": "0.2",
        **{f"share_{d}": "25" for d in ("knowledge", "method", "spirit", "application")},
    }
    response = client.post(new_url(bank, "adaptive"), data)
    assert response.status_code == 200
    expected = zh(
        "The test gives at least %(needed)s questions but the bank has only "
        "%(available)s published single, multiple choice and true or false questions.",
        needed=50,
        available=10,
    )
    assert expected in response.content.decode()
    assert not Blueprint.objects.exists()


def test_an_owner_creates_a_themed_practice(client, bank, owner):
    response = client.post(
        new_url(bank, "themed"),
        {"topic": "health", "count": "5", "points": "10", "exposure_cap": "1"},
    )
    assert response.status_code == 302
    blueprint = Blueprint.objects.get(bank=bank)
    assert blueprint.mode == Blueprint.Mode.THEMED
    assert blueprint.name == themed_name("health")
    assert blueprint.cells == [{"topic": "health", "count": 5, "points": 10}]
    assert not blueprint.open_to_players


def test_without_a_mode_the_new_page_offers_each_kind(client, bank, owner):
    page = client.get(reverse("quizzes:blueprint_create", args=[bank.pk])).content.decode()
    for mode in Blueprint.Mode.values:
        assert f"?mode={mode}" in page


def make_fixed(bank, **kwargs):
    return blueprints.blueprint_create(
        bank=bank,
        name=kwargs.pop("name", "练习卷"),
        cells=kwargs.pop("cells", [{"dimension": "knowledge", "count": 2, "points": 5}]),
        actor=bank.owners.get(),
        **kwargs,
    )


@pytest.mark.parametrize("mode", Blueprint.Mode.values)
def test_the_edit_page_of_every_kind_shows_its_settings(client, bank, owner, mode):
    cells = {
        "fixed": [{"dimension": "knowledge", "count": 2, "points": 5}],
        "daily": [{"dimension": "knowledge", "count": 5, "points": 20}],
        "themed": [{"topic": "health", "count": 3, "points": 10}],
    }
    blueprint = blueprint_add(
        bank=bank, actor=owner, mode=mode, name="方案", cells=cells.get(mode), max_items=20
    )
    url = reverse("quizzes:blueprint_edit", args=[bank.pk, blueprint.pk])
    page = client.get(url).content.decode()
    labels = {
        "fixed": "Fixed paper",
        "adaptive": "Adaptive test",
        "daily": "Daily quiz",
        "challenge": "Timed challenge",
        "themed": "Themed practice",
    }
    assert zh(labels[mode]) in page
    if mode in ("fixed", "daily"):
        assert 'name="cells-0-count"' in page
    listing = client.get(reverse("quizzes:blueprints", args=[bank.pk])).content.decode()
    assert url in listing


def test_an_owner_edits_a_blueprint(client, bank, owner):
    blueprint = make_fixed(bank)
    url = reverse("quizzes:blueprint_edit", args=[bank.pk, blueprint.pk])
    page = client.get(url).content.decode()
    assert 'value="练习卷"' in page
    rows = cell_rows({"dimension": "method", "type": "single", "count": "2", "points": "7"})
    data = {**FIXED, "name": "新名字", "audience": "", "seconds_per_question": "30"}
    response = client.post(url, {**data, **rows})
    assert response.status_code == 302
    blueprint.refresh_from_db()
    assert blueprint.name == "新名字"
    assert blueprint.open_to_players
    assert blueprint.seconds_per_question == 30
    assert blueprint.cells == [{"dimension": "method", "type": "single", "count": 2, "points": 7}]


def test_cells_of_a_blueprint_with_drawn_papers_cannot_change(client, bank, owner):
    blueprint = make_fixed(bank)
    drawing.paper_draw(blueprint=blueprint, user=owner)
    url = reverse("quizzes:blueprint_edit", args=[bank.pk, blueprint.pk])
    message = zh(
        "Papers have already been drawn from this blueprint: its cells (questions, counts "
        "and points) can no longer change. Make a new blueprint instead."
    )
    assert message in client.get(url).content.decode()  # said up front
    changed = cell_rows({"dimension": "knowledge", "count": "3", "points": "5"})
    response = client.post(url, {**FIXED, **changed})
    assert response.status_code == 200
    assert response.content.decode().count(message) == 2  # and as the form's error
    blueprint.refresh_from_db()
    assert blueprint.cells == [{"dimension": "knowledge", "count": 2, "points": 5}]
    assert blueprint.name == "练习卷"
    same = cell_rows({"dimension": "knowledge", "count": "2", "points": "5"})
    response = client.post(url, {**FIXED, "name": "改名", **same})
    assert response.status_code == 302
    blueprint.refresh_from_db()
    assert blueprint.name == "改名"


def test_a_row_without_a_count_is_rejected_next_to_it_and_nothing_is_saved(client, bank, owner):
    rows = cell_rows(
        {"dimension": "knowledge", "count": "2", "points": "5"},
        {"dimension": "method", "type": "single", "count": "", "points": "5"},
        {"dimension": "spirit", "count": "-1", "points": "5"},
    )
    response = client.post(new_url(bank, "fixed"), {**FIXED, **rows})
    assert response.status_code == 200
    page = response.content.decode()
    assert zh("Give the number of questions.") in row_html(page, 1)
    assert zh("Give the number of questions.") not in row_html(page, 0)
    assert "errorlist" in row_html(page, 2)
    assert "errorlist" not in row_html(page, 0)
    assert not Blueprint.objects.exists()


def test_a_blueprint_with_no_question_is_rejected(client, bank, owner):
    rows = cell_rows({"dimension": "knowledge", "count": "0", "points": "5"})
    response = client.post(new_url(bank, "fixed"), {**FIXED, **rows})
    assert response.status_code == 200
    assert zh("A blueprint needs at least one cell with a count above zero.") in (
        response.content.decode()
    )
    assert not Blueprint.objects.exists()


def test_a_blueprint_the_bank_cannot_draw_shows_the_short_row_and_is_not_saved(client, bank, owner):
    rows = cell_rows(
        {"dimension": "knowledge", "count": "2", "points": "5"},
        {"dimension": "method", "type": "single", "count": "5", "points": "5"},
    )
    response = client.post(new_url(bank, "fixed"), {**FIXED, **rows})
    assert response.status_code == 200
    page = response.content.decode()
    expected = zh(
        "Blueprint cell %(cell)s needs %(needed)s questions but only "
        "%(available)s in the bank match it."
    ) % {"cell": "#2 (type=single, dimension=method)", "needed": 5, "available": 2}
    assert expected in row_html(page, 1)
    assert expected not in row_html(page, 0)
    assert not Blueprint.objects.exists()


def test_the_check_button_draws_nothing_and_saves_nothing(client, bank, owner):
    rows = cell_rows({"dimension": "knowledge", "count": "2", "points": "5"})
    response = client.post(new_url(bank, "fixed"), {**FIXED, **rows, "check": "1"})
    assert response.status_code == 200
    assert zh("The bank can draw this blueprint now.") in response.content.decode()
    assert not Blueprint.objects.exists()


def test_a_taken_name_is_a_form_error(client, bank, owner):
    make_fixed(bank, name="练习卷")
    rows = cell_rows({"dimension": "knowledge", "count": "1", "points": "5"})
    response = client.post(new_url(bank, "fixed"), {**FIXED, "name": "练习卷", **rows})
    assert response.status_code == 200
    assert zh("This bank already has a blueprint with this name.") in response.content.decode()
    assert Blueprint.objects.count() == 1


def test_only_the_bank_owners_open_the_blueprint_pages(client, bank):
    blueprint = make_fixed(bank)
    urls = [
        reverse("quizzes:blueprints", args=[bank.pk]),
        new_url(bank, "fixed"),
        reverse("quizzes:blueprint_edit", args=[bank.pk, blueprint.pk]),
    ]
    shared = UserFactory(role="organizer")
    bank.shared_with.add(shared)
    cases = [
        (UserFactory(role="organizer"), 404),  # no access to the bank
        (bank.reviewers.get(), 403),
        (shared, 403),
        (adult(), 403),  # a player
    ]
    saved = blueprint_state(blueprint)
    rows = cell_rows({"dimension": "method", "type": "single", "count": "1", "points": "9"})
    edit = {**FIXED, "name": "被改了", "audience": "farmer", "seconds_per_question": "15", **rows}
    for user, status in cases:
        assert client.login(username=user.username, password=PASSWORD)
        for url in urls:
            assert client.get(url).status_code == status, (user, url)
        created = cell_rows({"dimension": "knowledge", "count": "1", "points": "5"})
        assert client.post(urls[1], {**FIXED, **created}).status_code == status
        assert client.post(urls[2], edit).status_code == status, user
        blueprint.refresh_from_db()
        assert blueprint_state(blueprint) == saved, user
    assert Blueprint.objects.count() == 1
    # The same edit by an owner goes through: the refusals above were for who sent it.
    assert client.login(username=bank.owners.get().username, password=PASSWORD)
    assert client.post(urls[2], edit).status_code == 302
    blueprint.refresh_from_db()
    assert (blueprint.name, blueprint.audience, blueprint.seconds_per_question) == (
        "被改了",
        "farmer",
        15,
    )


def blueprint_state(blueprint: Blueprint) -> dict:
    return {
        field: getattr(blueprint, field)
        for field in (
            "name",
            "cells",
            "audience",
            "open_to_players",
            "exposure_cap",
            "shuffle_questions",
            "seconds_per_question",
        )
    }


def test_the_services_leave_blueprints_to_the_owners_not_those_the_bank_is_shared_with(bank):
    shared = UserFactory(role="organizer")
    bank.shared_with.add(shared)
    blueprint = make_fixed(bank)
    saved = blueprint_state(blueprint)

    for mode in ("fixed", "challenge"):
        with pytest.raises(PermissionDenied):
            blueprint_add(
                bank=bank,
                actor=shared,
                mode=mode,
                name="共享者的方案",
                cells=[{"dimension": "knowledge", "count": 1, "points": 5}],
            )
    with pytest.raises(PermissionDenied):
        blueprint_update(blueprint=blueprint, actor=shared, name="共享者改名", open_to_players=True)
    with pytest.raises(PermissionDenied):
        blueprint_update(blueprint=blueprint, actor=bank.reviewers.get(), name="审题人改名")

    assert Blueprint.objects.count() == 1
    blueprint.refresh_from_db()
    assert blueprint_state(blueprint) == saved
    # The owner still may, through the same services.
    owner = bank.owners.get()
    assert blueprint_update(blueprint=blueprint, actor=owner, name="新名字").name == "新名字"
    added = blueprint_add(bank=bank, actor=owner, mode="challenge", name="百秒挑战")
    assert added.created_by == owner


def test_the_owners_only_refusal_is_said_in_chinese(bank):
    shared = UserFactory(role="organizer")
    bank.shared_with.add(shared)
    with pytest.raises(PermissionDenied) as refused:
        blueprint_add(bank=bank, actor=shared, mode="challenge", name="百秒挑战")
    assert str(refused.value) == zh("Only the bank's owners change its blueprints.")


def test_a_blueprint_of_another_bank_is_not_found(client, bank, owner):
    other = make_fixed(BankFactory(owner=owner))
    url = reverse("quizzes:blueprint_edit", args=[bank.pk, other.pk])
    assert client.get(url).status_code == 404
