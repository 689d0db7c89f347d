"""A practice paper in Chromium at phone size: each answer is saved as it is chosen
(paper-autosave.js, the papers' save endpoint), a reload shows the saved answers, the
"saved" status takes no new room, and the submit goes through the JSON endpoint to
the results (docs/papers-api.md). The page's Content-Security-Policy holds (the page
fixture fails on a console error)."""

from __future__ import annotations

import re

import pytest

from quizzes.models import PaperDraft, Response
from quizzes.papers.blueprints import blueprint_create, blueprint_open_to_players
from quizzes.papers.drawing import paper_start
from tests.factories import adult
from tests.quizzes.factories import BankFactory, fill_bank

from .conftest import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]


@pytest.fixture
def blueprint():
    bank = BankFactory(name="科普题库")
    fill_bank(bank, {("single", "knowledge"): 3, ("true_false", "method"): 2})
    owner = bank.owners.first()
    made = blueprint_create(
        bank=bank,
        name="家庭安全练习",
        cells=[{"type": "single", "count": 2, "points": 5}, {"type": "true_false", "count": 2}],
        actor=owner,
    )
    return blueprint_open_to_players(blueprint=made, actor=owner, is_open=True)


def right_answer(item):
    key = item.version.key
    return key["value"] if item.version.type == "true_false" else key["options"][0]


def choose(page, item) -> None:
    value = right_answer(item)
    value = str(value).lower() if isinstance(value, bool) else value
    page.locator(f'input[name="item-{item.pk}"][value="{value}"]').check()


def test_answers_are_saved_as_chosen_kept_over_a_reload_and_submitted(live_server, page, blueprint):
    user = adult()
    paper = paper_start(blueprint=blueprint, user=user)
    items = list(paper.items.select_related("version").order_by("position"))
    sign_in(page, live_server.url, user)
    url = f"{live_server.url}/papers/{paper.pk}/"
    page.goto(url)
    saved_text = page.locator("form[data-paper-form]").get_attribute("data-text-saved")
    assert saved_text
    heights = [page.locator(f"#q-{item.position}").bounding_box()["height"] for item in items]

    for item in items[:3]:
        choose(page, item)
        status = page.locator(f"#q-{item.position} [data-save-status]")
        status.filter(has_text=saved_text).wait_for()
    after = [page.locator(f"#q-{item.position}").bounding_box()["height"] for item in items]
    assert after == heights  # "Saved" took no new room: nothing moved
    saved = {d.item_id: d.answer for d in PaperDraft.objects.filter(paper=paper)}
    assert saved == {item.pk: right_answer(item) for item in items[:3]}
    assert not Response.objects.filter(paper=paper).exists()

    page.reload()
    for item in items[:3]:
        value = right_answer(item)
        value = str(value).lower() if isinstance(value, bool) else value
        assert page.locator(f'input[name="item-{item.pk}"][value="{value}"]').is_checked()

    choose(page, items[3])  # chosen, and submitted at once: the JSON submit carries it
    with page.expect_response(lambda r: r.url.endswith("/submit/")) as submitted:
        page.locator(".paper-form button[type=submit]").click()
    assert submitted.value.status == 200  # the JSON submit, not the form's redirect
    assert submitted.value.headers["content-type"] == "application/json"
    page.locator(".result-item").first.wait_for()
    page.wait_for_url(re.compile(rf"/papers/{paper.pk}/$"))
    assert page.locator(".result-item").count() == len(items)
    paper.refresh_from_db()
    assert paper.submitted_at is not None
    marked = {r.item_id: r.is_correct for r in Response.objects.filter(paper=paper)}
    assert marked == {item.pk: True for item in items}
    assert not PaperDraft.objects.filter(paper=paper).exists()


@pytest.fixture
def every_type():
    from tests.quizzes.helpers import TYPES, publish

    bank = BankFactory(name="科普题库")
    for qtype in TYPES:
        publish(bank, qtype)
    owner = bank.owners.first()
    made = blueprint_create(
        bank=bank,
        name="六种题型",
        cells=[{"type": t, "count": 1, "points": 5} for t in TYPES],
        actor=owner,
    )
    return blueprint_open_to_players(blueprint=made, actor=owner, is_open=True)


def test_every_kind_of_answer_is_saved_and_shown_again(live_server, page, every_type):
    """The script reads each input kind as the API's answer: boxes as a list, a text
    after typing stops, an ordering once every place is given (not before)."""
    user = adult()
    paper = paper_start(blueprint=every_type, user=user)
    items = {i.version.type: i for i in paper.items.select_related("version")}
    sign_in(page, live_server.url, user)
    page.goto(f"{live_server.url}/papers/{paper.pk}/")
    saved_text = page.locator("form[data-paper-form]").get_attribute("data-text-saved")

    def saved(item) -> None:
        page.locator(f"#q-{item.position} [data-save-status]").filter(
            has_text=saved_text
        ).wait_for()

    multiple = items["multiple"]
    chosen = multiple.option_order[:2]
    for option in chosen:
        page.locator(f'input[name="item-{multiple.pk}"][value="{option}"]').check()
    saved(multiple)
    page.locator(f'input[name="item-{items["fill"].pk}"]').fill("氧气")  # no change event
    saved(items["fill"])
    page.locator(f'input[name="item-{items["numeric"].pk}"]').fill("2.5")
    page.locator(f'input[name="item-{items["numeric"].pk}"]').blur()
    saved(items["numeric"])
    ordering = items["ordering"]
    order = list(reversed(ordering.option_order))
    for place, option in enumerate(order, start=1):
        page.locator(f'select[name="item-{ordering.pk}-{option}"]').select_option(str(place))
        if place < len(order):  # some places still missing: nothing to save yet
            assert not PaperDraft.objects.filter(item=ordering).exists()
    saved(ordering)

    drafts = {d.item_id: d.answer for d in PaperDraft.objects.filter(paper=paper)}
    assert drafts == {
        multiple.pk: chosen,
        items["fill"].pk: "氧气",
        items["numeric"].pk: "2.5",
        ordering.pk: order,
    }
    page.reload()
    assert page.locator(f'input[name="item-{items["fill"].pk}"]').input_value() == "氧气"
    for option in multiple.option_order:
        box = page.locator(f'input[name="item-{multiple.pk}"][value="{option}"]')
        assert box.is_checked() == (option in chosen)
    for place, option in enumerate(order, start=1):
        select = page.locator(f'select[name="item-{ordering.pk}-{option}"]')
        assert select.input_value() == str(place)
