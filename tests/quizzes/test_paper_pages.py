"""The player's pages for papers: start, answer, submit, results, and the JSON API.

Issue 3: a player-facing page, API or frame never contains a key or explanation before
it is due. Every key and explanation below carries a marker that appears nowhere else,
so finding one in a page is a leak; choice keys (whose option texts are shown) are
checked by changing the stored keys and seeing that the page does not change.
"""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from quizzes.models import Paper, QuestionVersion, Response
from quizzes.papers.blueprints import blueprint_create, blueprint_open_to_players
from quizzes.papers.drawing import paper_draw
from quizzes.papers.selectors import KeysNotDueError, paper_results
from quizzes.play.finish import paper_submit
from tests.factories import PASSWORD, GuardianConsentFactory, adult, child
from tests.quizzes.factories import BankFactory
from tests.quizzes.helpers import FILL_KEY, MARK, NUMERIC_KEY, RAWS, TYPES, publish

pytestmark = pytest.mark.django_db

POINTS = {"single": 5, "multiple": 10, "true_false": 5, "fill": 5, "numeric": 5, "ordering": 10}
# Everything a player may see only after submitting: a leak of any is a failure.
SECRETS = [f"EXPLAIN{t}{MARK}" for t in TYPES] + [f"SOURCE{MARK}", FILL_KEY, NUMERIC_KEY]


@pytest.fixture
def blueprint():
    bank = BankFactory()
    for qtype in TYPES:
        publish(bank, qtype)
    owner = bank.owners.first()
    blueprint = blueprint_create(
        bank=bank,
        name="家庭安全练习",
        cells=[{"type": t, "count": 1, "points": POINTS[t]} for t in TYPES],
        actor=owner,
    )
    return blueprint_open_to_players(blueprint=blueprint, actor=owner, is_open=True)


@pytest.fixture
def player():
    return adult()


def login(client, user, language: str = "en"):
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def items_by_type(paper) -> dict:
    return {item.version.type: item for item in paper.items.select_related("version")}


@pytest.fixture
def paper(blueprint, player):
    """A paper whose choice options are shown in an order other than the keyed one."""
    for seed in range(1, 200):
        drawn = paper_draw(blueprint=blueprint, user=player, seed=seed)
        items = items_by_type(drawn)
        ordering, multiple = items["ordering"], items["multiple"]
        stored = [o["id"] for o in ordering.version.options]
        if ordering.option_order not in (ordering.version.key["order"], stored) and (
            multiple.option_order != [o["id"] for o in multiple.version.options]
        ):
            return drawn
        drawn.delete()
    raise AssertionError("no seed gave a shuffled paper")


def without_tokens(html: str) -> str:
    """The page without its CSRF tokens, which differ on every request."""
    return re.sub(r"[A-Za-z0-9]{32,}", "TOKEN", html)


def page(client, paper) -> str:
    response = client.get(reverse("papers:detail", args=[paper.pk]))
    assert response.status_code == 200
    return response.content.decode()


def api(client, paper) -> dict:
    response = client.get(reverse("papers:data", args=[paper.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


def assert_nothing_due_is_shown(html: str) -> None:
    for secret in SECRETS:
        assert secret not in html
    text = without_tokens(html).lower()
    assert "correct" not in text
    assert "科普解析" not in text
    assert not re.search(r"\bkey(ed)?\b|data-key|data-answer|is_correct", text)


def right_answers(paper) -> dict[str, object]:
    """Form data that answers every item with its key."""
    data: dict[str, object] = {}
    for qtype, item in items_by_type(paper).items():
        key, name = item.version.key, f"item-{item.pk}"
        if qtype in ("single", "multiple"):
            data[name] = key["options"] if qtype == "multiple" else key["options"][0]
        elif qtype == "true_false":
            data[name] = "true" if key["value"] else "false"
        elif qtype == "fill":
            data[name] = "ｆｉｌｌｋｅｙ" + MARK.lower()  # full width and case are forgiven
        elif qtype == "numeric":
            data[name] = "314159.265"  # within the tolerance
        else:
            for place, option_id in enumerate(key["order"], start=1):
                data[f"{name}-{option_id}"] = str(place)
    return data


# --- Before submission: nothing due is shown ------------------------------------------


def test_the_answer_page_has_an_input_for_every_question_type(client, paper, player):
    login(client, player)
    html = page(client, paper)
    items = items_by_type(paper)
    for qtype in ("single", "multiple"):
        item = items[qtype]
        kind = "radio" if qtype == "single" else "checkbox"
        for option_id in item.option_order:
            assert f'type="{kind}" name="item-{item.pk}" value="{option_id}"' in html
    assert f'name="item-{items["true_false"].pk}" value="true"' in html
    assert f'name="item-{items["true_false"].pk}" value="false"' in html
    assert f'type="text" id="item-{items["fill"].pk}"' in html
    assert f'inputmode="decimal" id="item-{items["numeric"].pk}"' in html
    ordering = items["ordering"]
    for option_id in ordering.option_order:
        assert f'<select id="item-{ordering.pk}-{option_id}"' in html
    for raw in RAWS.values():
        assert raw["stem"] in html
        for text in raw["options"]:
            assert text in html
    assert reverse("papers:submit", args=[paper.pk]) in html


def test_the_page_and_the_api_show_no_key_explanation_or_marking_before_submission(
    client, paper, player
):
    login(client, player)
    html = page(client, paper)
    assert_nothing_due_is_shown(html)
    data = api(client, paper)
    text = json.dumps(data, ensure_ascii=False)
    assert_nothing_due_is_shown(text)
    keys = all_keys(data)
    for word in ("key", "explanation", "source", "correct", "is_correct", "score", "results"):
        assert word not in keys
    assert data["submitted_at"] is None
    assert len(data["items"]) == len(TYPES)


def test_options_appear_in_the_players_order_not_the_stored_or_keyed_order(client, paper, player):
    login(client, player)
    html = page(client, paper)
    data = api(client, paper)
    for qtype in ("single", "multiple", "ordering"):
        item = items_by_type(paper)[qtype]
        shown = sorted(item.option_order, key=lambda option_id: html.index(option_id))
        assert shown == item.option_order
        entry = next(e for e in data["items"] if e["item"] == item.pk)
        assert [o["id"] for o in entry["options"]] == item.option_order
    ordering = items_by_type(paper)["ordering"]
    assert ordering.option_order != ordering.version.key["order"]


def other_key(version) -> dict:
    """A different key for the same question."""
    ids = [o["id"] for o in version.options]
    if version.type == "single":
        return {"options": [ids[-1]]}  # the stored key is B
    if version.type == "multiple":
        return {"options": ids[1:3]}  # the stored key is AC
    if version.type == "ordering":
        return {"order": list(reversed(version.key["order"]))}
    if version.type == "true_false":
        return {"value": not version.key["value"]}
    if version.type == "fill":
        return {"accepted": ["别的答案"]}
    return {"value": 1.5, "tolerance": 0, "unit": ""}


def test_the_page_and_the_api_do_not_change_when_the_keys_and_explanations_do(
    client, paper, player
):
    """If nothing in the page depends on the key, the page cannot reveal which option it is."""
    login(client, player)
    before_html, before_api = without_tokens(page(client, paper)), api(client, paper)
    for item in items_by_type(paper).values():
        version = item.version
        new_key = other_key(version)
        assert new_key != version.key
        QuestionVersion.objects.filter(pk=version.pk).update(
            key=new_key, explanation="<p>另一种解析</p>", source="别处"
        )
    assert without_tokens(page(client, paper)) == before_html
    assert api(client, paper) == before_api


def test_results_are_refused_before_the_paper_is_submitted(paper):
    with pytest.raises(KeysNotDueError):
        paper_results(paper)


# --- Submitting and the results -------------------------------------------------------


def test_after_submitting_the_results_show_score_answers_keys_and_explanations(
    client, paper, player
):
    login(client, player)
    data = right_answers(paper)
    items = items_by_type(paper)
    data[f"item-{items['true_false'].pk}"] = "false"  # the one wrong answer
    response = client.post(reverse("papers:submit", args=[paper.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("papers:detail", args=[paper.pk])
    paper.refresh_from_db()
    assert paper.submitted_at is not None
    assert Response.objects.filter(paper=paper).count() == len(TYPES)

    html = page(client, paper)
    assert "Your answers are in." in html
    total = sum(POINTS.values())
    assert f"{total - POINTS['true_false']} of {total} points" in html
    for qtype in TYPES:
        assert f"EXPLAIN{qtype}{MARK}" in html
    assert f"{FILL_KEY} / H2O{MARK}" in html
    assert f"{NUMERIC_KEY} ± 0.01" in html
    assert "314159.265" in html  # the player's own answer
    assert "✗ Not right" in html
    assert html.count("✓ Right") == len(TYPES) - 1
    assert html.count("✓ the answer") == 3  # one single-choice key, two multiple-choice keys

    results = api(client, paper)["results"]
    assert results["score"] == total - POINTS["true_false"]
    assert {e["type"]: e["is_correct"] for e in results["items"]} == {
        t: t != "true_false" for t in TYPES
    }
    single = next(e for e in results["items"] if e["type"] == "single")
    assert [o["id"] for o in single["options"] if o["keyed"]] == items["single"].version.key[
        "options"
    ]


def test_questions_left_empty_score_nothing_and_show_the_key(client, paper, player):
    login(client, player)
    response = client.post(reverse("papers:submit", args=[paper.pk]), {})
    assert response.status_code == 302
    assert not Response.objects.filter(paper=paper).exists()
    html = page(client, paper)
    assert f"0 of {sum(POINTS.values())} points" in html
    assert html.count("Not answered") == len(TYPES)
    assert FILL_KEY in html


def test_resubmitting_changes_nothing(client, paper, player):
    login(client, player)
    url = reverse("papers:submit", args=[paper.pk])
    client.post(url, right_answers(paper))
    paper.refresh_from_db()
    submitted_at = paper.submitted_at
    before = list(Response.objects.filter(paper=paper).values_list("item_id", "answer", "score"))
    wrong = {f"item-{items_by_type(paper)['true_false'].pk}": "false"}
    response = client.post(url, wrong, follow=True)
    assert "already submitted" in response.content.decode()
    paper.refresh_from_db()
    assert paper.submitted_at == submitted_at
    after = list(Response.objects.filter(paper=paper).values_list("item_id", "answer", "score"))
    assert after == before


def test_the_submit_service_is_all_or_nothing_and_happens_once(paper):
    items = items_by_type(paper)
    good = {items["true_false"].pk: True}
    bad = {**good, items["numeric"].pk: "三点一四", items["single"].pk: "not-an-option"}
    with pytest.raises(ValidationError) as caught:
        paper_submit(paper=paper, answers=bad)
    assert set(caught.value.message_dict) == {str(items["numeric"].pk), str(items["single"].pk)}
    paper.refresh_from_db()
    assert paper.submitted_at is None
    assert not Response.objects.exists()
    assert paper_submit(paper=paper, answers=good) is True
    assert paper_submit(paper=paper, answers={items["fill"].pk: FILL_KEY}) is False
    assert list(Response.objects.values_list("item_id", flat=True)) == [items["true_false"].pk]


def test_blank_answers_sent_to_the_submit_service_stay_unanswered(paper):
    items = items_by_type(paper)
    blanks = {
        items["fill"].pk: "   ",
        items["numeric"].pk: "",
        items["multiple"].pk: [],
        items["ordering"].pk: [],
        items["single"].pk: None,
        items["true_false"].pk: True,
    }
    assert paper_submit(paper=paper, answers=blanks) is True
    # A blank is no answer: no response row, it scores nothing like a wrong answer.
    assert list(Response.objects.values_list("item_id", flat=True)) == [items["true_false"].pk]


@pytest.mark.parametrize(
    ("qtype", "answer"),
    [("fill", "x" * 201), ("numeric", float("nan")), ("numeric", float("inf"))],
)
def test_a_fill_in_over_200_characters_or_a_number_that_is_not_finite_is_refused(
    paper, qtype, answer
):
    items = items_by_type(paper)
    with pytest.raises(ValidationError) as caught:
        paper_submit(paper=paper, answers={items[qtype].pk: answer})
    assert set(caught.value.message_dict) == {str(items[qtype].pk)}
    assert not Response.objects.exists()


def test_a_fill_in_over_200_characters_is_too_long_on_the_page(client, paper, player):
    login(client, player)
    fill = items_by_type(paper)["fill"]
    data = {f"item-{fill.pk}": "水" * 201}
    response = client.post(reverse("papers:submit", args=[paper.pk]), data)
    assert response.status_code == 200
    assert "This answer is too long." in response.content.decode()
    paper.refresh_from_db()
    assert paper.submitted_at is None


@pytest.mark.parametrize(
    ("qtype", "value", "message"),
    [
        ("numeric", "about three", "Enter a number."),
        ("single", "not-an-option", "This answer does not fit the question."),
        ("true_false", "maybe", "This answer does not fit the question."),
        ("ordering", "same place", "Give each option its own place, from 1 to 4"),
    ],
)
def test_a_bad_answer_is_refused_with_a_message_and_nothing_is_recorded(
    client, paper, player, qtype, value, message
):
    login(client, player)
    items = items_by_type(paper)
    data = {f"item-{items['fill'].pk}": "我的填空"}
    item = items[qtype]
    if qtype == "ordering":
        for option_id in item.option_order:
            data[f"item-{item.pk}-{option_id}"] = "1"
    else:
        data[f"item-{item.pk}"] = value
    response = client.post(reverse("papers:submit", args=[paper.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Nothing was submitted." in html
    assert 'value="我的填空"' in html  # what the player typed is kept
    assert_nothing_due_is_shown(html)
    paper.refresh_from_db()
    assert paper.submitted_at is None
    assert not Response.objects.exists()


def test_a_refused_answer_reads_in_chinese_for_a_chinese_player(client, paper, player):
    login(client, player, language="zh-hans")
    item = items_by_type(paper)["single"]
    response = client.post(
        reverse("papers:submit", args=[paper.pk]), {f"item-{item.pk}": "not-an-option"}
    )
    assert "该答案不符合本题的作答要求。" in response.content.decode()


# --- Who may see and start papers -----------------------------------------------------


def test_other_players_and_guests_get_404(client, paper):
    login(client, adult())
    for name in ("papers:detail", "papers:data"):
        assert client.get(reverse(name, args=[paper.pk])).status_code == 404
    submit = reverse("papers:submit", args=[paper.pk])
    assert client.post(submit, right_answers(paper)).status_code == 404
    paper.refresh_from_db()
    assert paper.submitted_at is None
    client.logout()  # guests play their own papers (tests/quizzes/test_guest_play.py)
    assert client.get(reverse("papers:detail", args=[paper.pk])).status_code == 404
    assert client.post(submit, right_answers(paper)).status_code == 404


def test_a_player_starts_a_paper_and_is_sent_to_it(client, blueprint, player):
    login(client, player)
    response = client.post(reverse("papers:start", args=[blueprint.pk]))
    paper = Paper.objects.get()
    assert paper.user == player
    assert paper.items.count() == len(TYPES)
    assert response.status_code == 302
    assert response["Location"] == reverse("papers:detail", args=[paper.pk])
    # Starting again continues the unfinished paper instead of drawing another.
    client.post(reverse("papers:start", args=[blueprint.pk]))
    assert Paper.objects.count() == 1
    assert client.get(reverse("papers:start", args=[blueprint.pk])).status_code == 405


def test_a_child_without_a_guardians_consent_cannot_start_a_paper(client, blueprint):
    kid = child()
    login(client, kid)
    response = client.post(reverse("papers:start", args=[blueprint.pk]))
    assert response.status_code == 403
    assert not Paper.objects.exists()
    GuardianConsentFactory(child=kid)
    assert client.post(reverse("papers:start", args=[blueprint.pk])).status_code == 302
    assert Paper.objects.get().user == kid


def test_a_blueprint_not_open_to_players_cannot_be_started(client, blueprint, player):
    blueprint_open_to_players(
        blueprint=blueprint, actor=blueprint.bank.owners.first(), is_open=False
    )
    login(client, player)
    assert client.post(reverse("papers:start", args=[blueprint.pk])).status_code == 404
    assert blueprint.name not in client.get(reverse("papers:list")).content.decode()
    assert not Paper.objects.exists()


def test_a_blueprint_the_bank_cannot_meet_sends_the_player_back_with_a_message(
    client, blueprint, player
):
    blueprint.cells = [{"type": "single", "count": 5}]
    blueprint.save(update_fields=["cells"])
    login(client, player)
    response = client.post(reverse("papers:start", args=[blueprint.pk]), follow=True)
    assert "This paper cannot be drawn at the moment." in response.content.decode()
    assert not Paper.objects.exists()


def test_the_list_shows_open_papers_and_the_players_own_with_scores_once_submitted(
    client, blueprint, paper, player
):
    other = paper_draw(blueprint=blueprint, user=adult())
    login(client, player)
    html = client.get(reverse("papers:list")).content.decode()
    assert reverse("papers:start", args=[blueprint.pk]) in html
    assert reverse("papers:detail", args=[paper.pk]) in html
    assert reverse("papers:detail", args=[other.pk]) not in html
    assert "Not submitted yet" in html
    assert "points" not in html
    paper_submit(paper=paper, answers={items_by_type(paper)["true_false"].pk: True})
    html = client.get(reverse("papers:list")).content.decode()
    assert f"Submitted: 5 of {sum(POINTS.values())} points" in html


def test_the_pages_follow_elder_mode(client, paper, player):
    login(client, player)
    client.cookies[settings.ELDER_MODE_COOKIE_NAME] = "1"
    assert '<html lang="en" class="elder">' in page(client, paper)


def test_the_results_take_two_queries(paper, django_assert_num_queries):
    paper_submit(paper=paper, answers={items_by_type(paper)["true_false"].pk: True})
    paper = Paper.objects.get(pk=paper.pk)
    with django_assert_num_queries(2):
        paper_results(paper)
