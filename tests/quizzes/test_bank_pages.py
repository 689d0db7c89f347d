"""Organizer pages of the question bank."""

import pytest
from django.urls import reverse

from quizzes.bank import services
from quizzes.models import QuestionVersion, VersionStatus
from tests.factories import PASSWORD, UserFactory, adult
from tests.quizzes.helpers import EDITOR_RAW as RAW

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank_setup():
    owner = UserFactory(role="organizer")
    reviewer = UserFactory(role="teacher")
    shared = UserFactory(role="organizer")
    bank = services.bank_create(name="应急题库", owner=owner)
    bank.reviewers.add(reviewer)
    bank.shared_with.add(shared)
    question = services.question_create(bank=bank, author=owner, raw=RAW)
    return bank, question, owner, reviewer, shared


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def key_option_text(question):
    version = question.versions.get()
    (key_id,) = version.key["options"]
    return version.explanation, key_id


def test_players_cannot_open_the_bank_pages(client, bank_setup):
    bank, question, *_ = bank_setup
    login(client, adult())
    for url in (
        reverse("quizzes:banks"),
        reverse("quizzes:bank", args=[bank.pk]),
        reverse("quizzes:question", args=[question.pk]),
    ):
        assert client.get(url).status_code == 403


def test_only_owners_and_reviewers_see_the_key_and_explanation(client, bank_setup):
    _, question, owner, reviewer, shared = bank_setup
    explanation, _ = key_option_text(question)
    url = reverse("quizzes:question", args=[question.pk])
    for user in (owner, reviewer):
        login(client, user)
        page = client.get(url).content.decode()
        assert explanation in page
        assert "伏地" in page
    login(client, shared)
    page = client.get(url).content.decode()
    assert "伏地、遮挡、手抓牢" in page  # the option text is shown, as to a player
    assert explanation not in page
    assert "应急管理部" not in page


def test_a_stranger_gets_not_found(client, bank_setup):
    bank, question, *_ = bank_setup
    login(client, UserFactory(role="organizer"))
    assert client.get(reverse("quizzes:bank", args=[bank.pk])).status_code == 404
    assert client.get(reverse("quizzes:question", args=[question.pk])).status_code == 404


def test_the_list_filters_by_tags_and_finds_chinese_text(client, bank_setup):
    bank, _, owner, *_ = bank_setup
    services.question_create(
        bank=bank,
        author=owner,
        raw={
            **RAW,
            "stem": "太阳系最大的行星是？",
            "topic": "space",
            "dimension": "knowledge",
            "audience": ["student"],
        },
    )
    login(client, owner)
    url = reverse("quizzes:bank", args=[bank.pk])

    def stems(**params):
        page = client.get(url, params)
        return [v.stem for v in page.context["page"]]

    assert len(stems()) == 2
    assert stems(topic="space") == ["太阳系最大的行星是？"]
    assert stems(dimension="application") == [RAW["stem"]]
    assert stems(audience="elderly") == [RAW["stem"]]
    assert stems(q="行星") == ["太阳系最大的行星是？"]
    assert stems(q="地震 时") == [RAW["stem"]]
    assert stems(status="published") == []


def test_an_owner_creates_a_question_and_bad_input_changes_nothing(client, bank_setup):
    bank, _, owner, *_ = bank_setup
    login(client, owner)
    url = reverse("quizzes:question_create", args=[bank.pk])
    form = {
        "type": "single",
        "stem": "光在真空中的速度约为？",
        "option_0": "30万千米/秒",
        "option_1": "3万千米/秒",
        "key": "E",
        "difficulty": "easy",
        "dimension": "knowledge",
        "topic": "physics",
    }
    response = client.post(url, form)
    assert response.status_code == 200
    assert "key" in response.context["form"].errors
    assert bank.questions.count() == 1
    response = client.post(url, {**form, "key": "A", "stem": "光速<script>alert(1)</script>约为？"})
    assert response.status_code == 302
    version = QuestionVersion.objects.order_by("-pk").first()
    assert version.stem == "光速约为？"
    assert version.author == owner


def test_the_review_flow_through_the_pages(client, bank_setup):
    bank, question, owner, reviewer, _ = bank_setup
    version = question.versions.get()
    login(client, owner)
    client.post(reverse("quizzes:version_action", args=[version.pk, "submit"]))
    assert (
        client.post(reverse("quizzes:version_action", args=[version.pk, "publish"])).status_code
        == 403
    )
    login(client, reviewer)
    queue = client.get(reverse("quizzes:review_queue", args=[bank.pk]))
    assert list(queue.context["versions"]) == [version]
    client.post(reverse("quizzes:version_action", args=[version.pk, "publish"]))
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED


def test_editing_through_the_page_keeps_option_ids(client, bank_setup):
    _, question, owner, *_ = bank_setup
    login(client, owner)
    url = reverse("quizzes:question_edit", args=[question.pk])
    form = client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, "")}
    data["audience"] = RAW["audience"]
    ids = [o["id"] for o in question.versions.get().options]
    for index, option_id in enumerate(ids):
        data[f"option_id_{index}"] = option_id
    data["stem"] = "地震发生时，在室内应该怎样做？"
    assert client.post(url, data).status_code == 302
    version = question.versions.get()
    assert [o["id"] for o in version.options] == ids
    assert version.key == {"options": [ids[1]]}
    assert version.stem == data["stem"]


def test_the_preview_shows_the_question_without_its_key(client, bank_setup):
    _, _, owner, *_ = bank_setup
    login(client, owner)
    response = client.post(
        reverse("quizzes:preview"),
        {
            "type": "single",
            "stem": "预览题干",
            "option_0": "甲",
            "option_1": "乙",
            "key": "B",
            "explanation": "秘密解析",
            "difficulty": "easy",
            "dimension": "knowledge",
            "topic": "physics",
        },
    )
    page = response.content.decode()
    assert "预览题干" in page and "甲" in page and "乙" in page
    assert "秘密解析" not in page
