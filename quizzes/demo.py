"""Demo question content for `seed_demo`: original questions written for SciArena.

The questions live in quizzes/demo_content/*.jsonl, one JSON object per line (format
in docs/question-format.md, "Demo content"). They load into one bank, 科普题库（演示）,
owned by the demo organizer and published after review by the demo teacher, through
the same services an organizer's edits go through. Idempotent: each question's uid
is derived from its id in the file.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from django.db import transaction

from accounts.models import User
from quizzes.bank import services
from quizzes.models import Bank, Question

CONTENT_DIR = Path(__file__).resolve().parent / "demo_content"
BANK_NAME = "科普题库（演示）"
UID_NAMESPACE = uuid.UUID("6f1c1c62-6d0e-4d39-9a55-2b8f7f1f3a10")
LETTERS = "ABCDEFGH"


def demo_items() -> list[dict[str, Any]]:
    items = []
    for path in sorted(CONTENT_DIR.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            items.extend(json.loads(line) for line in lines if line.strip())
    return items


def raw_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The demo file's format → the loose input clean_question() takes."""
    answer = item["answer"]
    raw = {
        name: item.get(name)
        for name in (
            "type", "stem", "explanation", "dimension", "benchmark", "topic", "audience",
            "grade_band", "difficulty", "collection", "stem_en", "explanation_en",
        )
    }  # fmt: skip
    raw["options"] = item.get("options") or []
    raw["source"] = item.get("reference", "")
    if item["type"] in ("single", "multiple", "ordering"):
        raw["key"] = "".join(LETTERS[i] for i in answer)
    elif item["type"] == "numeric":
        raw["key"] = answer["value"]
        raw["tolerance"] = answer.get("tolerance", 0)
        raw["unit"] = answer.get("unit", "")
    else:
        raw["key"] = answer
    return raw


def demo_uid(item_id: str) -> uuid.UUID:
    return uuid.uuid5(UID_NAMESPACE, item_id)


@transaction.atomic
def load_questions(report) -> None:
    """seed_demo loader: the demo bank, every demo question published."""
    organizer = User.objects.get(username="demo_organizer")
    teacher = User.objects.get(username="demo_teacher")
    bank = Bank.objects.filter(name=BANK_NAME).first()
    if bank is None:
        bank = services.bank_create(
            name=BANK_NAME,
            owner=organizer,
            description="Original demo questions written for SciArena.",
            is_demo=True,
        )
    bank.reviewers.add(teacher)
    items = demo_items()
    existing = set(Question.objects.filter(bank=bank).values_list("uid", flat=True))
    created = 0
    for item in items:
        uid = demo_uid(item["id"])
        if uid in existing:
            continue
        question = services.question_create(
            bank=bank, author=organizer, raw=raw_from_item(item), is_demo=True, uid=uid
        )
        version = question.versions.get()
        services.version_submit(version=version, actor=organizer)
        services.version_publish(version=version, reviewer=teacher)
        created += 1
    report.count("demo questions", created, Question.objects.filter(bank=bank).count())


DEMO_BLUEPRINT = "科普练习卷（演示）"
DEMO_SELF_TEST = "科学素质自测（演示）"
# Ten questions over the four literacy dimensions, 40/20/20/20, open to players.
DEMO_CELLS = [
    {"dimension": "knowledge", "type": "single", "count": 2, "points": 10},
    {"dimension": "knowledge", "type": "true_false", "count": 1, "points": 10},
    {"dimension": "knowledge", "type": "multiple", "count": 1, "points": 10},
    {"dimension": "method", "type": "single", "count": 1, "points": 10},
    {"dimension": "method", "type": "true_false", "count": 1, "points": 10},
    {"dimension": "spirit", "type": ["single", "true_false"], "count": 2, "points": 10},
    {"dimension": "application", "type": "single", "count": 1, "points": 10},
    {"dimension": "application", "type": ["multiple", "numeric", "ordering"], "count": 1,
     "points": 10},
]  # fmt: skip


@transaction.atomic
def load_blueprint(report) -> None:
    """seed_demo loader: a practice paper over the demo bank, open to players."""
    from quizzes.models import Blueprint
    from quizzes.papers.blueprints import blueprint_create, blueprint_open_to_players

    bank = Bank.objects.get(name=BANK_NAME)
    organizer = User.objects.get(username="demo_organizer")
    blueprint = Blueprint.objects.filter(bank=bank, name=DEMO_BLUEPRINT).first()
    created = 0
    if blueprint is None:
        blueprint = blueprint_create(
            bank=bank, name=DEMO_BLUEPRINT, cells=DEMO_CELLS, actor=organizer, exposure_cap=1.0
        )
        created = 1
    blueprint_open_to_players(blueprint=blueprint, actor=organizer, is_open=True)
    report.count("demo practice papers", created, Blueprint.objects.filter(bank=bank).count())


@transaction.atomic
def load_self_test(report) -> None:
    """seed_demo loader: the adaptive literacy self-test over the demo bank, open to
    players (national shares, 15 to 30 items, SE 0.30)."""
    from quizzes.models import Blueprint
    from quizzes.papers.blueprints import blueprint_open_to_players
    from quizzes.play.adaptive import adaptive_blueprint_create

    bank = Bank.objects.get(name=BANK_NAME)
    organizer = User.objects.get(username="demo_organizer")
    blueprint = Blueprint.objects.filter(bank=bank, name=DEMO_SELF_TEST).first()
    created = 0
    if blueprint is None:
        blueprint = adaptive_blueprint_create(bank=bank, name=DEMO_SELF_TEST, actor=organizer)
        created = 1
    blueprint_open_to_players(blueprint=blueprint, actor=organizer, is_open=True)
    report.count(
        "demo self-tests",
        created,
        Blueprint.objects.filter(bank=bank, mode=Blueprint.Mode.ADAPTIVE).count(),
    )


DEMO_DAILY = "每日答题（演示）"
DEMO_CHALLENGE = "百秒挑战（演示）"
# Five questions a day over the four dimensions; an item sits out about ten days
# after it was drawn (exposure cap 0.1).
DEMO_DAILY_CELLS = [
    {"dimension": "knowledge", "type": "single", "count": 1, "points": 20},
    {"dimension": "knowledge", "type": "true_false", "count": 1, "points": 20},
    {"dimension": "method", "type": "single", "count": 1, "points": 20},
    {"dimension": "spirit", "type": ["single", "true_false"], "count": 1, "points": 20},
    {"dimension": "application", "type": ["single", "multiple"], "count": 1, "points": 20},
]


@transaction.atomic
def load_practice(report) -> None:
    """seed_demo loader: a daily quiz for everyone and a 100-second challenge over the
    demo bank, open to players."""
    from quizzes.models import Blueprint
    from quizzes.papers.blueprints import blueprint_open_to_players
    from quizzes.play.practice import challenge_blueprint_create, daily_blueprint_create

    bank = Bank.objects.get(name=BANK_NAME)
    organizer = User.objects.get(username="demo_organizer")
    makers = {
        DEMO_DAILY: lambda: daily_blueprint_create(
            bank=bank, name=DEMO_DAILY, actor=organizer, cells=DEMO_DAILY_CELLS, exposure_cap=0.1
        ),
        DEMO_CHALLENGE: lambda: challenge_blueprint_create(
            bank=bank, name=DEMO_CHALLENGE, actor=organizer
        ),
    }
    created = 0
    for name, make in makers.items():
        blueprint = Blueprint.objects.filter(bank=bank, name=name).first()
        if blueprint is None:
            blueprint = make()
            created += 1
        blueprint_open_to_players(blueprint=blueprint, actor=organizer, is_open=True)
    modes = (Blueprint.Mode.DAILY, Blueprint.Mode.CHALLENGE)
    report.count(
        "demo daily quizzes and challenges",
        created,
        Blueprint.objects.filter(bank=bank, mode__in=modes).count(),
    )
