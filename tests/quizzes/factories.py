"""Factories for banks and questions. Questions go through quizzes.bank.services (so they
are cleaned exactly as the editor and importers clean them) and are published by the
bank's reviewer unless `publish=False`."""

from __future__ import annotations

import factory

from quizzes.bank import services
from quizzes.models import Bank, Question
from tests.factories import UserFactory

KEYS = {
    "single": (["甲", "乙", "丙", "丁"], "B"),
    "multiple": (["甲", "乙", "丙", "丁"], "AC"),
    "ordering": (["一", "二", "三"], "CAB"),
    "true_false": ([], True),
    "fill": ([], "水|H2O"),
    "numeric": ([], "9.8"),
}


def question_raw(
    *,
    type: str = "single",
    dimension: str = "knowledge",
    topic: str = "health",
    difficulty: str = "medium",
    stem: str = "题目",
    explanation: str = "解析",
) -> dict:
    options, key = KEYS[type]
    return {
        "type": type,
        "stem": stem,
        "options": list(options),
        "key": key,
        "tolerance": 0.1,
        "explanation": explanation,
        "dimension": dimension,
        "topic": topic,
        "difficulty": difficulty,
        "source": "测试资料",
    }


class BankFactory(factory.Factory):
    """A bank with an owner (the author of its questions) and a reviewer."""

    class Meta:
        model = Bank

    name = factory.Sequence(lambda n: f"测试题库{n}")
    owner = factory.SubFactory(UserFactory, role="organizer")
    reviewer = factory.SubFactory(UserFactory, role="organizer")

    @classmethod
    def _create(cls, model_class, *, name, owner, reviewer):
        bank = services.bank_create(name=name, owner=owner)
        bank.reviewers.add(reviewer)
        return bank


class QuestionFactory(factory.Factory):
    """A valid question, published unless publish=False."""

    class Meta:
        model = Question

    bank = factory.SubFactory(BankFactory)
    type = "single"
    dimension = "knowledge"
    topic = "health"
    difficulty = "medium"
    stem = factory.Sequence(lambda n: f"第{n}题：以下哪一项正确？")
    explanation = factory.Sequence(lambda n: f"第{n}题的解析")
    publish = True

    @classmethod
    def _create(cls, model_class, *, bank, publish, **tags):
        author = bank.owners.first()
        question = services.question_create(bank=bank, author=author, raw=question_raw(**tags))
        if publish:
            version = question.versions.get()
            services.version_submit(version=version, actor=author)
            services.version_publish(version=version, reviewer=bank.reviewers.first())
        return question


def fill_bank(bank: Bank, spec: dict[tuple[str, str], int], **tags) -> list[Question]:
    """Publish `count` questions per (type, dimension) in `spec`."""
    return [
        QuestionFactory(bank=bank, type=qtype, dimension=dimension, **tags)
        for (qtype, dimension), count in spec.items()
        for _n in range(count)
    ]
