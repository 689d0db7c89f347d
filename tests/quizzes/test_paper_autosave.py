"""Whole papers' light JSON endpoints (docs/papers-api.md): answers saved as they are
chosen (POST <page>answers/) and the JSON submit (POST <page>submit/ with Accept:
application/json), for practice papers, the daily quiz and themed practice.

Issue 13: "Light endpoints for the hot paths: answer autosave and paper submit as
small JSON requests (the page stays usable without JavaScript), the same idempotency
rules as live answers." A save never says whether an answer is right; bad input gets
a clear error and changes nothing; someone else's paper is a 404.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from quizzes.models import Paper, PaperDraft, Response
from quizzes.papers.drawing import paper_draw
from quizzes.play import practice
from quizzes.play import themes as themed
from quizzes.play.daily import daily_start
from tests.factories import adult
from tests.quizzes import test_paper_pages
from tests.quizzes.factories import BankFactory, fill_bank
from tests.quizzes.helpers import DAILY_CELLS, DIMENSIONS, opened
from tests.quizzes.test_guest_play import guest_client
from tests.quizzes.test_paper_pages import SECRETS, items_by_type, login

pytestmark = pytest.mark.django_db

# The paper pages' fixtures: a blueprint of every question type, a player, and
# their paper with shuffled options.
blueprint = test_paper_pages.blueprint
paper = test_paper_pages.paper
player = test_paper_pages.player


def save_url(paper: Paper) -> str:
    return reverse("papers:answers", args=[paper.pk])


def save(client, paper: Paper, item, answer, answer_id: str = "a1", url: str = ""):
    body = {"item": item if isinstance(item, int) else item.pk, "answer": answer}
    body["answer_id"] = answer_id
    return client.post(url or save_url(paper), json.dumps(body), content_type="application/json")


def json_submit(client, url: str, answers: dict | None = None):
    body = "" if answers is None else json.dumps({"answers": answers})
    return client.post(
        url, body, content_type="application/json", headers={"Accept": "application/json"}
    )


def drafts(paper: Paper) -> dict:
    return {
        d.item_id: (d.answer, d.answer_id)
        for d in PaperDraft.objects.filter(paper=paper).order_by("item_id")
    }


def right(item):
    key, qtype = item.version.key, item.version.type
    return {
        "single": lambda: key["options"][0],
        "multiple": lambda: list(key["options"]),
        "true_false": lambda: key["value"],
        "fill": lambda: key["accepted"][0],
        "numeric": lambda: key["value"],
        "ordering": lambda: list(key["order"]),
    }[qtype]()


@pytest.fixture
def signed_in(client, player):
    login(client, player)
    return client


def test_a_save_is_acknowledged_without_a_word_on_correctness(signed_in, paper):
    items = items_by_type(paper)
    for qtype, item in items.items():
        response = save(signed_in, paper, item, right(item), answer_id=f"id-{qtype}")
        assert response.status_code == 200, response.content
        assert response.json() == {"saved": True, "item": item.pk, "answer_id": f"id-{qtype}"}
        text = response.content.decode().lower()
        assert "correct" not in text and "score" not in text
        assert not any(secret.lower() in text for secret in SECRETS)
    assert {i: a for i, (a, _id) in drafts(paper).items()} == {
        item.pk: right(item) for item in items.values()
    }
    assert not Response.objects.filter(paper=paper).exists()
    paper.refresh_from_db()
    assert paper.submitted_at is None


def test_the_latest_save_wins_and_a_resent_save_changes_nothing(signed_in, paper):
    single = items_by_type(paper)["single"]
    first, second = single.option_order[:2]
    assert save(signed_in, paper, single, first, "one").status_code == 200
    assert save(signed_in, paper, single, second, "two").status_code == 200
    assert drafts(paper)[single.pk] == (second, "two")
    # "one" arrives again (a retry after a timeout): acknowledged, nothing changes.
    again = save(signed_in, paper, single, first, "one")
    assert again.status_code == 200
    assert again.json() == {"saved": True, "item": single.pk, "answer_id": "one"}
    assert drafts(paper)[single.pk] == (second, "two")
    # So does "two" itself, even with another answer in the body.
    assert save(signed_in, paper, single, first, "two").status_code == 200
    assert drafts(paper)[single.pk] == (second, "two")


def test_a_blank_save_clears_the_answer(signed_in, paper):
    fill = items_by_type(paper)["fill"]
    assert save(signed_in, paper, fill, "水", "a").status_code == 200
    assert save(signed_in, paper, fill, "   ", "b").status_code == 200
    assert drafts(paper)[fill.pk] == (None, "b")
    json_submit(signed_in, reverse("papers:submit", args=[paper.pk]))
    assert not Response.objects.filter(paper=paper, item=fill).exists()


def test_the_page_shows_the_saved_answers_after_a_reload(signed_in, paper):
    items = items_by_type(paper)
    answers = {
        "single": items["single"].option_order[1],
        "multiple": items["multiple"].option_order[:2],
        "true_false": False,
        "fill": 'O<sub>2</sub> "x"',
        "numeric": "12.5",
        "ordering": list(reversed(items["ordering"].option_order)),
    }
    for qtype, answer in answers.items():
        assert save(signed_in, paper, items[qtype], answer, qtype).status_code == 200
    html = signed_in.get(reverse("papers:detail", args=[paper.pk])).content.decode()
    field = {qtype: f"item-{item.pk}" for qtype, item in items.items()}
    single = answers["single"]
    assert f'name="{field["single"]}" value="{single}" checked' in html
    for option in items["multiple"].option_order:
        checked = option in answers["multiple"]
        assert (f'name="{field["multiple"]}" value="{option}" checked' in html) == checked
    assert f'name="{field["true_false"]}" value="false" checked' in html
    assert f'name="{field["true_false"]}" value="true" checked' not in html
    assert 'value="O&lt;sub&gt;2&lt;/sub&gt; &quot;x&quot;"' in html
    assert f'name="{field["numeric"]}" value="12.5"' in html
    for place, option in enumerate(answers["ordering"], start=1):
        select = html.split(f'name="{field["ordering"]}-{option}"')[1].split("</select>")[0]
        assert f'<option value="{place}" selected>' in select
        assert select.count("selected") == 1


def test_the_json_submit_marks_saved_answers_and_posted_ones_override_them(signed_in, paper):
    items = items_by_type(paper)
    wrong_single = next(o for o in items["single"].option_order if o != right(items["single"]))
    for qtype, item in items.items():
        assert save(signed_in, paper, item, right(item), qtype).status_code == 200
    submit = reverse("papers:submit", args=[paper.pk])
    response = json_submit(
        signed_in,
        submit,
        {str(items["single"].pk): wrong_single, str(items["fill"].pk): None},
    )
    assert response.status_code == 200
    url = reverse("papers:detail", args=[paper.pk])
    assert response.json() == {"submitted": True, "url": url}
    marked = {r.item_id: (r.answer, r.is_correct) for r in Response.objects.filter(paper=paper)}
    assert marked[items["single"].pk] == (wrong_single, False)
    assert items["fill"].pk not in marked  # null in the body: unanswered
    for qtype in ("multiple", "true_false", "numeric", "ordering"):
        assert marked[items[qtype].pk] == (right(items[qtype]), True)
    assert not PaperDraft.objects.filter(paper=paper).exists()
    # The results page, and once more: already submitted, nothing changes.
    assert "Here are the results" in signed_in.get(url).content.decode()
    again = json_submit(signed_in, submit, {str(items["single"].pk): right(items["single"])})
    assert again.json() == {"submitted": False, "url": url}
    assert Response.objects.get(paper=paper, item=items["single"]).answer == wrong_single
    # Saves are refused from now on.
    refused = save(signed_in, paper, items["single"], right(items["single"]), "late")
    assert refused.status_code == 409
    assert refused.json()["error"] == "submitted"


def test_the_form_submit_takes_saved_answers_too(signed_in, paper):
    """Without JavaScript nothing is saved and the form posts as ever; when answers were
    saved, an item the form leaves out (no box checked) keeps its saved answer, and
    a text field posted empty clears it: the page showed it empty."""
    items = items_by_type(paper)
    assert (
        save(signed_in, paper, items["multiple"], right(items["multiple"]), "m").status_code == 200
    )
    assert save(signed_in, paper, items["fill"], right(items["fill"]), "f").status_code == 200
    response = signed_in.post(
        reverse("papers:submit", args=[paper.pk]),
        {f"item-{items['true_false'].pk}": "true", f"item-{items['fill'].pk}": ""},
    )
    assert response.status_code == 302
    marked = {r.item_id: r.answer for r in Response.objects.filter(paper=paper)}
    assert marked == {items["multiple"].pk: right(items["multiple"]), items["true_false"].pk: True}


def test_a_bad_answer_in_the_json_submit_submits_nothing(signed_in, paper):
    items = items_by_type(paper)
    assert save(signed_in, paper, items["single"], right(items["single"]), "s").status_code == 200
    response = json_submit(
        signed_in,
        reverse("papers:submit", args=[paper.pk]),
        {str(items["numeric"].pk): "about ten", str(items["true_false"].pk): True},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_answer"
    assert set(body["items"]) == {str(items["numeric"].pk)}
    paper.refresh_from_db()
    assert paper.submitted_at is None
    assert not Response.objects.filter(paper=paper).exists()
    assert drafts(paper) == {items["single"].pk: (right(items["single"]), "s")}


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        ("{not json", "application/json", "bad_json"),
        ('["item", 1]', "application/json", "bad_json"),
        ('{"item": 1, "answer": true}', "application/json", "bad_body"),
        (
            '{"item": 1, "answer": true, "answer_id": "a", "extra": 1}',
            "application/json",
            "bad_body",
        ),
        ("item=1&answer=true&answer_id=a", "application/x-www-form-urlencoded", "bad_json"),
        ('{"item": "x", "answer": true, "answer_id": "a"}', "application/json", "bad_item"),
        ('{"item": true, "answer": true, "answer_id": "a"}', "application/json", "bad_item"),
    ],
)
def test_a_bad_body_is_refused_and_changes_nothing(signed_in, paper, body, content_type, code):
    response = signed_in.post(save_url(paper), body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["detail"]
    assert not PaperDraft.objects.exists()


@pytest.mark.parametrize("answer_id", ["", "x" * 65, "has space", "ünï", 7, None])
def test_a_bad_answer_id_is_refused(signed_in, paper, answer_id):
    item = items_by_type(paper)["true_false"]
    response = save(signed_in, paper, item, True, answer_id)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_answer_id"
    assert not PaperDraft.objects.exists()


def test_an_oversized_body_is_refused_unread(signed_in, paper):
    item = items_by_type(paper)["fill"]
    response = save(signed_in, paper, item, "x" * 20_000, "big")
    assert response.status_code == 400
    assert response.json()["error"] == "too_large"
    assert not PaperDraft.objects.exists()


def test_an_item_of_another_paper_is_refused(signed_in, paper, blueprint, player):
    other = paper_draw(blueprint=blueprint, user=player, seed=999)
    theirs = items_by_type(other)["true_false"]
    for item in (theirs.pk, 10**9):
        response = save(signed_in, paper, item, True)
        assert response.status_code == 400
        assert response.json()["error"] == "bad_item"
    assert not PaperDraft.objects.exists()


@pytest.mark.parametrize(
    ("qtype", "answer"),
    [
        ("single", "not-an-option"),
        ("single", ["a"]),
        ("multiple", "x"),
        ("multiple", ["zzz"]),
        ("true_false", "true"),
        ("fill", "x" * 201),
        ("fill", 12),
        ("numeric", "about ten"),
        ("numeric", True),
        ("ordering", ["a", "a"]),
        ("single", {"id": 1}),
    ],
)
def test_an_answer_that_does_not_fit_is_refused(signed_in, paper, qtype, answer):
    item = items_by_type(paper)[qtype]
    assert save(signed_in, paper, item, right(item), "good").status_code == 200
    response = save(signed_in, paper, item, answer, "bad")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_answer"
    assert drafts(paper) == {item.pk: (right(item), "good")}


def test_someone_elses_paper_is_a_404(client, paper):
    login(client, adult())
    item = items_by_type(paper)["true_false"]
    assert save(client, paper, item, True).status_code == 404
    assert save(client, paper, item, "bad shape").status_code == 404
    assert client.post(save_url(paper), "{bad", content_type="application/json").status_code == 404
    submit = reverse("papers:submit", args=[paper.pk])
    assert json_submit(client, submit, {str(item.pk): True}).status_code == 404
    assert not PaperDraft.objects.exists()
    paper.refresh_from_db()
    assert paper.submitted_at is None


def test_a_paper_of_another_page_kind_is_a_404(signed_in, paper):
    item = items_by_type(paper)["true_false"]
    url = reverse("practice:daily_answers", args=[paper.pk])
    assert save(signed_in, paper, item, True, url=url).status_code == 404
    assert not PaperDraft.objects.exists()


def test_a_guest_saves_and_submits_and_another_guest_gets_404s(blueprint):
    client = guest_client()
    client.post(reverse("papers:start", args=[blueprint.pk]))
    paper = Paper.objects.latest("id")
    items = items_by_type(paper)
    client.get(reverse("papers:detail", args=[paper.pk]))  # the CSRF cookie, as a browser
    for qtype, item in items.items():
        assert save(client, paper, item, right(item), qtype).status_code == 200
    other = guest_client()
    assert save(other, paper, items["single"], right(items["single"]), "x").status_code == 404
    assert json_submit(other, reverse("papers:submit", args=[paper.pk])).status_code == 404
    response = json_submit(client, reverse("papers:submit", args=[paper.pk]))
    assert response.json()["submitted"] is True
    assert Response.objects.filter(paper=paper, is_correct=True).count() == len(items)


def test_the_csrf_token_is_required(paper, player):
    client = Client(enforce_csrf_checks=True)
    login(client, player)
    item = items_by_type(paper)["true_false"]
    assert save(client, paper, item, True).status_code == 403
    page = client.get(reverse("papers:detail", args=[paper.pk]))
    token = page.cookies["csrftoken"].value
    response = client.post(
        save_url(paper),
        json.dumps({"item": item.pk, "answer": True, "answer_id": "t"}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200


@pytest.fixture
def practice_bank():
    bank = BankFactory()
    fill_bank(
        bank,
        {("single", d): 5 for d in DIMENSIONS}
        | {("true_false", d): 2 for d in DIMENSIONS}
        | {("single", "knowledge"): 10},
        topic="health",
    )
    return bank


def test_the_daily_quiz_saves_and_submits_as_json(client, practice_bank):
    daily = opened(
        practice.daily_blueprint_create(
            bank=practice_bank,
            name="每日答题",
            actor=practice_bank.owners.first(),
            cells=DAILY_CELLS,
        )
    )
    user = adult()
    login(client, user)
    paper = daily_start(blueprint=daily, user=user)
    items = list(paper.items.select_related("version"))
    url = reverse("practice:daily_answers", args=[paper.pk])
    for n, item in enumerate(items):
        assert save(client, paper, item, right(item), f"d{n}", url=url).status_code == 200
    page = client.get(reverse("practice:daily", args=[paper.pk])).content.decode()
    assert f'data-save-url="{url}"' in page
    response = json_submit(client, reverse("practice:daily_submit", args=[paper.pk]))
    assert response.json() == {
        "submitted": True,
        "url": reverse("practice:daily", args=[paper.pk]),
    }
    assert Response.objects.filter(paper=paper, is_correct=True).count() == len(items)


def test_themed_practice_saves_and_submits_as_json(client, practice_bank):
    opened(
        practice.daily_blueprint_create(
            bank=practice_bank,
            name="每日答题",
            actor=practice_bank.owners.first(),
            cells=DAILY_CELLS,
        )
    )
    user = adult()
    login(client, user)
    paper = themed.theme_start(bank=practice_bank, topic="health", user=user)
    item = paper.items.select_related("version").first()
    url = reverse("practice:themed_answers", args=[paper.pk])
    assert save(client, paper, item, right(item), "t1", url=url).status_code == 200
    response = json_submit(client, reverse("practice:themed_submit", args=[paper.pk]))
    assert response.json()["submitted"] is True
    assert Response.objects.get(paper=paper).is_correct


def test_erasing_a_players_data_deletes_their_saved_answers(signed_in, paper, player):
    from django.db import transaction

    from accounts.personal_data import erase_all

    fill = items_by_type(paper)["fill"]
    assert save(signed_in, paper, fill, "我家住在幸福路 12 号", "f").status_code == 200
    with transaction.atomic():
        erase_all(user=player)
    assert not PaperDraft.objects.filter(paper=paper).exists()


def test_a_form_body_wanting_json_back_submits_nothing(signed_in, paper):
    single = items_by_type(paper)["single"]
    assert save(signed_in, paper, single, right(single), "s").status_code == 200
    response = signed_in.post(
        reverse("papers:submit", args=[paper.pk]),
        {f"item-{single.pk}": right(single)},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_json"
    paper.refresh_from_db()
    assert paper.submitted_at is None
