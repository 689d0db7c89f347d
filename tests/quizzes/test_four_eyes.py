"""The four-eyes rule of the question bank: nobody who wrote a version publishes it.

Authorship is recorded from actual changes: a co-owner who opens the editor and saves
without changing anything becomes nothing (no new version, no new author, no audit
entry), so the real author cannot pass their own question off as reviewed by another.
Whoever changes a version is one of its authors, and none of them may publish it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from quizzes.bank import services
from quizzes.models import AuditEntry, Question, VersionStatus
from tests.factories import UserFactory
from tests.quizzes.helpers import EDITOR_RAW

pytestmark = pytest.mark.django_db

RAW = {**EDITOR_RAW, "stem_en": "What should you do indoors during an earthquake?"}


class _FormFields(HTMLParser):
    """What a browser posts back from the editor's form, unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(name, a.get("value", "on"))
            elif kind not in ("submit", "button", "file"):
                self._add(name, a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data


def editor_form(client, question: Question) -> dict[str, list[str]]:
    html = client.get(reverse("quizzes:question_edit", args=[question.pk])).content.decode()
    start = html.index('<form method="post"')
    parser = _FormFields()
    parser.feed(html[start : html.index("</form>", start)])
    # a textarea's content starts after the newline Django puts after its tag
    return {
        name: [v[1:] if v.startswith("\n") else v for v in values]
        for name, values in parser.data.items()
    }


@pytest.fixture
def bank():
    author = UserFactory(role="organizer")
    co_owner = UserFactory(role="organizer")
    reviewer = UserFactory(role="teacher")
    bank = services.bank_create(name="应急题库", owner=author)
    bank.owners.add(co_owner)
    bank.reviewers.add(reviewer)
    return bank, author, co_owner, reviewer


def in_review(bank, author) -> Question:
    question = services.question_create(bank=bank, author=author, raw=RAW)
    services.version_submit(version=question.versions.get(), actor=author)
    return question


def snapshot(question: Question) -> list[tuple]:
    return list(
        question.versions.order_by("number").values_list(
            "pk", "number", "status", "author_id", "stem", "options", "key"
        )
    )


@pytest.mark.parametrize("state", ["draft", "in_review", "published"])
def test_opening_the_editor_and_saving_nothing_changes_nothing(client, bank, state):
    bank, author, co_owner, reviewer = bank
    question = services.question_create(bank=bank, author=author, raw=RAW)
    if state != "draft":
        services.version_submit(version=question.versions.get(), actor=author)
    if state == "published":
        services.version_publish(version=question.versions.get(), reviewer=reviewer)
    before = snapshot(question)
    audit = AuditEntry.objects.count()

    client.force_login(co_owner)
    response = client.post(
        reverse("quizzes:question_edit", args=[question.pk]), editor_form(client, question)
    )

    assert response.status_code == 302
    assert snapshot(question) == before
    assert AuditEntry.objects.count() == audit


def test_the_author_cannot_publish_after_a_co_owners_empty_save(client, bank):
    bank, author, co_owner, _ = bank
    question = in_review(bank, author)
    version = question.versions.get()
    client.force_login(co_owner)
    client.post(reverse("quizzes:question_edit", args=[question.pk]), editor_form(client, question))

    client.force_login(author)
    page = client.get(reverse("quizzes:question", args=[question.pk]))
    assert page.context["can_publish"] is False
    response = client.post(reverse("quizzes:version_action", args=[version.pk, "publish"]))
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW and version.reviewer is None


def test_everyone_who_changed_a_version_is_barred_from_publishing_it(client, bank):
    bank, author, co_owner, reviewer = bank
    question = in_review(bank, author)
    client.force_login(co_owner)
    data = editor_form(client, question)
    data["stem"] = ["地震发生时，在室内应该怎样做？"]
    client.post(reverse("quizzes:question_edit", args=[question.pk]), data)
    version = question.versions.get()
    assert version.author == co_owner and version.stem == data["stem"][0]
    assert version.status == VersionStatus.DRAFT  # a changed version is reviewed again
    services.version_submit(version=version, actor=co_owner)

    for writer in (author, co_owner):
        with pytest.raises(PermissionDenied):
            services.version_publish(version=version, reviewer=writer)
    services.version_publish(version=version, reviewer=reviewer)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED and version.reviewer == reviewer


def test_a_new_draft_from_a_published_question_bars_only_who_wrote_it(bank):
    bank, author, co_owner, _ = bank
    question = services.question_create(bank=bank, author=author, raw=RAW)
    v1 = question.versions.get()
    services.version_submit(version=v1, actor=author)
    services.version_publish(version=v1, reviewer=co_owner)
    v2 = services.question_edit(
        question=question, editor=co_owner, raw={**RAW, "difficulty": "medium"}
    )
    assert v2 is not None and v2.number == 2 and v2.author == co_owner
    services.version_submit(version=v2, actor=co_owner)
    with pytest.raises(PermissionDenied):
        services.version_publish(version=v2, reviewer=co_owner)
    services.version_publish(version=v2, reviewer=author)  # author of v1 only
    v2.refresh_from_db()
    assert v2.status == VersionStatus.PUBLISHED and v2.reviewer == author
