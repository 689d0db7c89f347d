"""The player's progress page: XP and level, streak, personal bests, mastery badges,
this week's cohort (quizzes.play.progress)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import play_required
from quizzes.models import Topic
from quizzes.models.progress import PersonalBest, Progress, TopicMastery
from quizzes.play import progress


@never_cache
@require_GET
@play_required
def progress_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    mine = Progress.objects.filter(user=user).first() or Progress(user=user)
    topics = dict(Topic.choices)
    mastery = [
        {
            "topic": topics.get(row.topic, row.topic),
            "answered": row.answered,
            "correct": row.correct,
            "badge": row.badge_at is not None,
        }
        for row in TopicMastery.objects.filter(user=user).order_by("-badge_at", "-answered")
    ]
    return render(
        request,
        "quizzes/progress.html",
        {
            "progress": mine,
            "level": progress.level_of(mine.xp),
            "next_level_xp": progress.next_level_xp(mine.xp),
            "bests": [
                {
                    "kind": progress.KINDS.get(best.kind, best.kind),
                    "value": best.value,
                    "at": best.at,
                }
                for best in PersonalBest.objects.filter(user=user).order_by("kind")
            ],
            "mastery": mastery,
            "mastery_answers": progress.MASTERY_ANSWERS,
            "mastery_percent": int(progress.MASTERY_SHARE * 100),
            "cohort": progress.cohort_view(user=user),
        },
    )
