"""Item statistics of a bank, stored per question version: facility,
discrimination, distractor counts and flags from the answers to papers drawn from it.
The maths is quizzes.bank.statistics' (pure); this module reads and writes around it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from quizzes.bank import statistics
from quizzes.models import (
    Bank,
    ItemStatistics,
    PaperItem,
    QuestionVersion,
    Response,
)


def item_statistics_update(*, bank: Bank, min_responses: int = statistics.MIN_RESPONSES) -> int:
    """Compute and store item statistics for every version of the bank drawn into a
    paper. Idempotent: running it again rewrites the same rows. Returns the count."""
    drawn = dict(
        PaperItem.objects.filter(paper__blueprint__bank=bank)
        .values("version_id")
        .annotate(n=Count("id"))
        .values_list("version_id", "n")
    )
    rows = list(
        # Account papers only, as for calibration (quizzes.bank.calibrations).
        Response.objects.filter(paper__blueprint__bank=bank, paper__user__isnull=False).values_list(
            "paper_id", "item__version_id", "is_correct", "answer"
        )
    )
    analysis = statistics.analyse(
        [r[0] for r in rows], [r[1] for r in rows], [1.0 if r[2] else 0.0 for r in rows]
    ).as_dict()
    answers: dict[int, list[Any]] = {}
    for _paper, version_id, _correct, answer in rows:
        answers.setdefault(version_id, []).append(answer)
    now = timezone.now()
    results = []
    for version in QuestionVersion.objects.filter(pk__in=drawn).only("type", "key", "options"):
        figures = analysis.get(
            version.pk, {"responses": 0, "facility": None, "discrimination": None}
        )
        distractors = statistics.distractor_counts(
            version.type, [o["id"] for o in version.options], answers.get(version.pk, [])
        )
        results.append(
            ItemStatistics(
                version=version,
                responses=figures["responses"],
                exposure_count=drawn[version.pk],
                facility=figures["facility"],
                discrimination=figures["discrimination"],
                distractors=distractors,
                flags=statistics.item_flags(
                    qtype=version.type,
                    key=version.key,
                    responses=figures["responses"],
                    discrimination=figures["discrimination"],
                    distractors=distractors,
                    min_responses=min_responses,
                ),
                computed_at=now,
            )
        )
    with transaction.atomic():
        ItemStatistics.objects.bulk_create(
            results,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["version"],
            update_fields=[
                "responses",
                "exposure_count",
                "facility",
                "discrimination",
                "distractors",
                "flags",
                "computed_at",
            ],
        )
    return len(results)


def item_statistics_schedule(*, bank: Bank) -> None:
    """Queue the statistics task after the current transaction commits."""
    from quizzes.tasks import item_statistics

    bank_id = bank.pk
    transaction.on_commit(lambda: item_statistics.delay(bank_id))
