"""Timed challenge ("answer until wrong within 100 s"). The server's clock decides: the
attempt records `started_at` and its `deadline` (`time_limit` seconds later). Each
question is drawn at random from the bank's published, auto-marked questions not yet
given in this attempt. An answer that arrives after the deadline (plus a stated grace
for the network, ANSWER_GRACE) is not counted and ends the attempt; a wrong answer
ends it; so does running out of questions. SUCCESS_AT or more right is a success.

Guests (quizzes.play.guest) play it too (guest_challenge_start). The personal bests
are the most right answers in one attempt, per challenge blueprint.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.models import (
    Blueprint,
    Challenge,
    Paper,
    PaperItem,
    QuestionVersion,
    Response,
    VersionStatus,
)
from quizzes.papers.drawing import MAX_SEED, item_exposure_add
from quizzes.papers.marking import response_submit
from quizzes.play.adaptive import current_item
from quizzes.play.finish import paper_finished
from quizzes.play.practice import (
    CHALLENGE_TYPES,
    check_open,
)

# The national contest's rule: five or more right within the time is a success.
SUCCESS_AT = 5


# An answer sent just before the deadline still has to cross the network.
ANSWER_GRACE = timedelta(seconds=1)


def _challenge_pool_of(blueprint: Blueprint):
    return QuestionVersion.objects.filter(
        question__bank_id=blueprint.bank_id,
        status=VersionStatus.PUBLISHED,
        type__in=CHALLENGE_TYPES,
    )


def _challenge_pool(paper: Paper):
    return (
        _challenge_pool_of(paper.blueprint)
        .exclude(question_id__in=paper.items.values("question_id"))
        .order_by("question_id")
    )


def _give_next(paper: Paper) -> PaperItem | None:
    """Put a random question not yet given on the paper (None when none is left).
    Random from the paper's seed and the position: an attempt can be replayed."""
    pool = _challenge_pool(paper)
    left = pool.count()
    if not left:
        return None
    position = paper.items.count() + 1
    pick = random.Random(f"{paper.seed}:{position}").randrange(left)
    question, version, options = pool.values_list("question_id", "id", "options")[pick]
    ids = [option["id"] for option in options or []]
    item = PaperItem.objects.create(
        paper=paper,
        position=position,
        question_id=question,
        version_id=version,
        option_order=random.Random(f"{paper.seed}:{position}:options").sample(ids, len(ids)),
        points=1,
        cell=0,
    )
    Paper.objects.filter(pk=paper.pk).update(total_points=position)
    item_exposure_add(blueprint_id=paper.blueprint_id, question_id=question)
    return item


def challenge_start(*, blueprint: Blueprint, user: User, now: datetime | None = None) -> Paper:
    """Start a timed challenge, or go back to the player's attempt still running. An
    attempt whose time ran out is closed first; the clock starts now."""
    check_open(blueprint, Blueprint.Mode.CHALLENGE, user)
    running = Challenge.objects.filter(paper__blueprint=blueprint, paper__user=user)
    return _challenge_resume_or_start(blueprint, user, running, now, None)


def guest_challenge_start(
    *,
    blueprint: Blueprint,
    session_paper_ids: list[int],
    now: datetime | None = None,
    guard: Callable[[], None] | None = None,
) -> Paper:
    """challenge_start for a guest (quizzes.play.guest): the attempt still running among
    `session_paper_ids`, or a new one without a user; `guard` is called before a new
    attempt is written and may raise to refuse it. Only challenges meant for everyone
    (no audience) are open to guests."""
    check_open(blueprint, Blueprint.Mode.CHALLENGE, None)
    running = Challenge.objects.filter(
        paper__blueprint=blueprint, paper__user__isnull=True, paper_id__in=session_paper_ids
    )
    return _challenge_resume_or_start(blueprint, None, running, now, guard)


def _challenge_resume_or_start(
    blueprint: Blueprint,
    user: User | None,
    attempts: QuerySet[Challenge],
    now: datetime | None,
    guard: Callable[[], None] | None,
) -> Paper:
    now = now or timezone.now()
    running = (
        attempts.filter(finished_at__isnull=True)
        .select_related("paper__blueprint")
        .order_by("-started_at")
    )
    for challenge in running:
        if not challenge_expire(challenge=challenge, now=now):
            return challenge.paper
    if not _challenge_pool_of(blueprint).exists():
        raise ValidationError(_("This challenge has no questions yet."))
    if guard is not None:
        guard()
    with transaction.atomic():
        paper = Paper.objects.create(
            blueprint=blueprint,
            user=user,
            seed=secrets.randbelow(MAX_SEED),
            draw_number=0,
            created_at=now,
        )
        Challenge.objects.create(
            paper=paper, started_at=now, deadline=now + timedelta(seconds=blueprint.time_limit)
        )
        if _give_next(paper) is None:
            raise ValidationError(_("This challenge has no questions yet."))
    return paper


def _finish(challenge: Challenge, ended_by: str, now: datetime) -> bool:
    """End the challenge once (a conditional UPDATE) and submit its paper: keys and
    explanations are due from then on. False if it had already ended."""
    ended = Challenge.objects.filter(pk=challenge.pk, finished_at__isnull=True).update(
        finished_at=now, ended_by=ended_by, success=challenge.correct >= SUCCESS_AT
    )
    if ended:
        Paper.objects.filter(pk=challenge.paper_id, submitted_at__isnull=True).update(
            submitted_at=now
        )
    challenge.refresh_from_db()
    challenge.paper.refresh_from_db(fields=["submitted_at", "total_points"])
    if ended:
        paper_finished(paper=challenge.paper, kind="challenge", best=challenge.correct)
    return bool(ended)


def is_late(challenge: Challenge, now: datetime) -> bool:
    return now > challenge.deadline + ANSWER_GRACE


def challenge_expire(*, challenge: Challenge, now: datetime | None = None) -> bool:
    """Close a challenge whose time has run out (idempotent). True if it is over."""
    if challenge.finished_at is not None:
        return True
    now = now or timezone.now()
    if not is_late(challenge, now):
        return False
    _finish(challenge, Challenge.End.TIME, now)
    return True


@dataclass(frozen=True)
class Marked:
    """What became of an answer: `counted` is False when it came too late."""

    challenge: Challenge
    counted: bool
    response: Response | None


def challenge_answer(
    *, paper: Paper, item: PaperItem, answer: Any, now: datetime | None = None
) -> Marked:
    """Mark the answer to the challenge's current question by the server's clock.

    Late (after the deadline and ANSWER_GRACE): not counted, the challenge ends. Right:
    the next question is given. Wrong: the challenge ends. An answer that does not fit
    the question, or to another question than the current one, raises
    ValidationError and changes nothing. Answering an item again returns the first
    answer."""
    now = now or timezone.now()
    with transaction.atomic():
        challenge = (
            Challenge.objects.select_for_update()
            .select_related("paper__blueprint")
            .get(paper=paper)
        )
        existing = Response.objects.filter(paper=paper, item=item).first()
        if existing is not None:
            return Marked(challenge, True, existing)
        if challenge.finished_at is not None:
            raise ValidationError(_("This challenge is over."))
        if item.paper_id != paper.pk or current_item(challenge.paper) != item:
            raise ValidationError(_("This question is not waiting for an answer."))
        if is_late(challenge, now):
            _finish(challenge, Challenge.End.TIME, now)
            return Marked(challenge, False, None)
        response = response_submit(paper=paper, item=item, answer=answer)
        if not response.is_correct:
            _finish(challenge, Challenge.End.WRONG, now)
            return Marked(challenge, True, response)
        challenge.correct += 1
        challenge.save(update_fields=["correct"])
        if _give_next(challenge.paper) is None:
            _finish(challenge, Challenge.End.CLEARED, now)
        return Marked(challenge, True, response)


def _attempts_of(user: User | None, session_paper_ids: list[int] | None) -> QuerySet[Challenge]:
    """The finished challenges of a player, or of a guest (user None: the unclaimed
    ones among the papers their session keeps)."""
    finished = Challenge.objects.filter(finished_at__isnull=False)
    if user is not None:
        return finished.filter(paper__user=user)
    return finished.filter(paper__user__isnull=True, paper_id__in=session_paper_ids or [])


def personal_bests(
    *, user: User | None, session_paper_ids: list[int] | None = None
) -> dict[int, int]:
    """The player's (or guest's) most right answers in one attempt, per challenge
    blueprint."""
    rows = (
        _attempts_of(user, session_paper_ids)
        .values("paper__blueprint")
        .annotate(best=Max("correct"))
        .values_list("paper__blueprint", "best")
    )
    return dict(rows)


def personal_best_before(
    *, challenge: Challenge, session_paper_ids: list[int] | None = None
) -> int | None:
    """The player's best on this challenge before this attempt (None if it is the
    first); a guest's among the papers their session keeps."""
    return (
        _attempts_of(challenge.paper.user, session_paper_ids)
        .filter(
            paper__blueprint_id=challenge.paper.blueprint_id,
            started_at__lt=challenge.started_at,
        )
        .exclude(pk=challenge.pk)
        .aggregate(best=Max("correct"))["best"]
    )
