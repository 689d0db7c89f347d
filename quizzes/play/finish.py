"""A paper finished: its player's progress (XP, streak, mastery, personal
best; quizzes.play.progress) and review cards for the questions answered wrong
(quizzes.play.review), and the whole-paper submit that closes a paper and finishes it
in one transaction. The paper services (quizzes.papers' drawing and marking) know
nothing of progress or review: the services that end an activity (a paper submitted,
a challenge or self-test ended, a guest's papers claimed) call paper_finished.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from quizzes.models import (
    Blueprint,
    Paper,
    Response,
)
from quizzes.papers.marking import paper_close
from quizzes.play.progress import activity_finished
from quizzes.play.review import cards_from_paper


def paper_kind(paper: Paper) -> str:
    """What a whole paper counts as for progress (quizzes.play.progress.KINDS)."""
    if paper.day:
        return "daily"
    if Paper.blueprint.is_cached(paper):
        mode = paper.blueprint.mode
    else:
        mode = Blueprint.objects.values_list("mode", flat=True).get(pk=paper.blueprint_id)
    return "themed" if mode == Blueprint.Mode.THEMED else "paper"


def paper_finished(*, paper: Paper, kind: str, best: float | None = None) -> bool:
    """activity_finished for a submitted paper of any kind, from its marked answers;
    the questions answered wrong go to the player's review deck (quizzes.play.review).
    Idempotent per paper."""
    answers = list(
        Response.objects.filter(paper=paper).values_list(
            "item__question_id", "item__version__topic", "is_correct"
        )
    )
    cards_from_paper(paper=paper, wrong={q for q, _topic, right in answers if not right})
    return activity_finished(
        user=paper.user,
        kind=kind,
        ref=paper.pk,
        correct=sum(right for _q, _topic, right in answers),
        answered=len(answers),
        topics=[(topic, right) for _q, topic, right in answers],
        best=best,
        day=timezone.localdate(paper.submitted_at) if paper.submitted_at else None,
    )


def paper_submit(*, paper: Paper, answers: dict[int, Any]) -> bool:
    """Submit a whole paper, once (quizzes.papers.marking.paper_close: the answers
    recorded and marked, blanks left unanswered, all or nothing) and finish it for
    its player, in one transaction. True when this call submitted it, False when it
    was submitted already (nothing changes then); ValidationError, naming every item
    whose answer does not fit, when nothing was recorded."""
    with transaction.atomic():
        submitted = paper_close(paper=paper, answers=answers)
        if submitted:
            paper_finished(paper=paper, kind=paper_kind(paper))
    return submitted
