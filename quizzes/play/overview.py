"""What the practice home shows a player or a guest: today's daily quizzes, the
timed challenges with the personal best, the self-tests and the latest finished ones.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Sum, Value, When

from accounts.models import User
from quizzes.models import (
    AdaptiveTest,
    Blueprint,
    Paper,
)
from quizzes.papers.blueprints import (
    practice_blueprints,
)
from quizzes.play.challenge import personal_bests
from quizzes.play.practice import practice_day


def practice_overview(
    *, user: User | None, session_paper_ids: list[int] | None = None
) -> dict[str, Any]:
    """What the practice home shows a player (a guest: user None and the papers their
    session keeps): today's daily quizzes with the player's paper of each (annotated
    with its score once submitted), the challenges with the personal best, the
    self-tests open to them and their latest finished tests."""
    mine = (
        Paper.objects.filter(user=user)
        if user is not None
        else Paper.objects.filter(pk__in=session_paper_ids or [], user__isnull=True)
    )
    day = practice_day()
    dailies = list(practice_blueprints(mode=Blueprint.Mode.DAILY, user=user))
    today = {
        paper.blueprint_id: paper
        for paper in mine.filter(day=day, blueprint__in=dailies)
        .order_by("id")
        .annotate(
            score=Case(
                When(submitted_at__isnull=True, then=Value(None)),
                default=Sum("responses__score", default=0),
                output_field=IntegerField(),
            )
        )
    }
    bests = personal_bests(user=user, session_paper_ids=session_paper_ids)
    challenges = practice_blueprints(mode=Blueprint.Mode.CHALLENGE, user=user)
    return {
        "day": day,
        "dailies": [{"blueprint": b, "paper": today.get(b.pk)} for b in dailies],
        "challenges": [{"blueprint": b, "best": bests.get(b.pk)} for b in challenges],
        "tests": practice_blueprints(mode=Blueprint.Mode.ADAPTIVE, user=user),
        "finished": AdaptiveTest.objects.filter(paper__in=mine, finished_at__isnull=False)
        .select_related("paper__blueprint")
        .order_by("-finished_at")[:20],
    }
