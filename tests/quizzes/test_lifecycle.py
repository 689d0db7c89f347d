"""Review workflow and versioning of questions."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from quizzes.bank import services
from quizzes.models import AuditEntry, QuestionVersion, VersionStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RAW = {
    "type": "single",
    "stem": "人体最大的器官是？",
    "options": ["心脏", "皮肤", "肝脏", "大脑"],
    "key": "B",
    "dimension": "knowledge",
    "topic": "health",
    "difficulty": "easy",
    "audience": ["student", "elderly"],
    "source": "人民教育出版社《生物学》",
    "explanation": "皮肤面积约 1.5–2 平方米，是人体最大的器官。",
}


@pytest.fixture
def people():
    author = UserFactory(role="organizer")
    reviewer = UserFactory(role="organizer")
    outsider = UserFactory(role="organizer")
    bank = services.bank_create(name="健康题库", owner=author)
    bank.reviewers.add(reviewer)
    return bank, author, reviewer, outsider


def publish(version, author, reviewer):
    services.version_submit(version=version, actor=author)
    services.version_publish(version=version, reviewer=reviewer)


def test_a_question_goes_from_draft_through_review_to_published(people):
    bank, author, reviewer, _ = people
    question = services.question_create(bank=bank, author=author, raw=RAW)
    (version,) = question.versions.all()
    assert version.status == VersionStatus.DRAFT
    publish(version, author, reviewer)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    assert version.reviewer == reviewer
    actions = list(
        AuditEntry.objects.filter(question=question)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions == ["question_create", "version_submit", "version_publish"]


def test_the_author_cannot_publish_their_own_question(people):
    bank, author, _, _ = people
    question = services.question_create(bank=bank, author=author, raw=RAW)
    version = question.versions.get()
    services.version_submit(version=version, actor=author)
    with pytest.raises(PermissionDenied):
        services.version_publish(version=version, reviewer=author)
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW


def test_the_database_refuses_a_reviewer_who_is_the_author(people):
    bank, author, _, _ = people
    version = services.question_create(bank=bank, author=author, raw=RAW).versions.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        QuestionVersion.objects.filter(pk=version.pk).update(reviewer=author)


def test_someone_who_is_not_an_owner_or_reviewer_can_neither_edit_nor_publish(people):
    bank, author, _, outsider = people
    question = services.question_create(bank=bank, author=author, raw=RAW)
    with pytest.raises(PermissionDenied):
        services.question_edit(question=question, editor=outsider, raw=RAW)
    version = question.versions.get()
    services.version_submit(version=version, actor=author)
    with pytest.raises(PermissionDenied):
        services.version_publish(version=version, reviewer=outsider)


def test_editing_a_published_question_makes_a_new_draft_and_keeps_the_published_version(people):
    bank, author, reviewer, _ = people
    question = services.question_create(bank=bank, author=author, raw=RAW)
    v1 = question.versions.get()
    publish(v1, author, reviewer)
    v2 = services.question_edit(
        question=question, editor=author, raw={**RAW, "stem": "人体面积最大的器官是？"}
    )
    assert v2.pk != v1.pk and v2.number == 2
    v1.refresh_from_db()
    assert v1.status == VersionStatus.PUBLISHED
    assert v1.stem == "人体最大的器官是？"
    publish(v2, author, reviewer)
    v1.refresh_from_db()
    assert v1.status == VersionStatus.SUPERSEDED
    edit = AuditEntry.objects.get(question=question, action="question_edit")
    assert edit.changes["stem"] == ["人体最大的器官是？", "人体面积最大的器官是？"]


def test_editing_a_draft_changes_it_in_place(people):
    bank, author, _, _ = people
    question = services.question_create(bank=bank, author=author, raw=RAW)
    version = services.question_edit(
        question=question, editor=author, raw={**RAW, "difficulty": "hard"}
    )
    assert question.versions.count() == 1
    assert version.difficulty == "hard"


def test_publishing_twice_happens_once(people):
    bank, author, reviewer, _ = people
    version = services.question_create(bank=bank, author=author, raw=RAW).versions.get()
    publish(version, author, reviewer)
    with pytest.raises(ValidationError):
        services.version_publish(version=version, reviewer=reviewer)


def test_invalid_content_is_refused_and_nothing_is_written(people):
    bank, author, _, _ = people
    with pytest.raises(ValidationError) as error:
        services.question_create(bank=bank, author=author, raw={**RAW, "key": "F"})
    assert "key" in error.value.message_dict
    assert not bank.questions.exists()


def test_a_retired_question_has_no_published_version(people):
    bank, author, reviewer, _ = people
    question = services.question_create(bank=bank, author=author, raw=RAW)
    publish(question.versions.get(), author, reviewer)
    services.question_retire(question=question, actor=author)
    assert not question.versions.filter(status=VersionStatus.PUBLISHED).exists()
    assert question.versions.get().status == VersionStatus.RETIRED
