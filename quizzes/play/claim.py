"""A guest's papers claimed by the account they sign up or sign in with
(quizzes.play.guest keeps the papers' ids in the session and calls this on sign-in).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.selectors import user_can_play
from quizzes.models import (
    AdaptiveTest,
    Blueprint,
    Paper,
)
from quizzes.play.finish import paper_finished, paper_kind

# The kinds of guest papers an account can claim; themed practice is for accounts only.
CLAIMABLE_MODES = (
    Blueprint.Mode.FIXED,
    Blueprint.Mode.DAILY,
    Blueprint.Mode.CHALLENGE,
    Blueprint.Mode.ADAPTIVE,
)


def guest_papers_claim(*, session_paper_ids: list[int], user: User) -> list[int]:
    """Move a guest's papers (the ids their session kept: practice papers, daily
    quizzes, timed challenges, self-tests) to the account they signed up or signed in
    with, and give the account the progress of those already finished: XP, streak,
    mastery, review cards, personal bests (a challenge's right answers, a self-test's
    score). A challenge or self-test still running goes on under the account, and
    earns its progress when it ends.

    Each paper is claimed once, by a conditional UPDATE (`user IS NULL`): claiming
    again, or a paper another account claimed first, changes nothing. Returns the ids
    claimed by this call.

    The daily quiz is one paper per player, blueprint and day: a guest's daily quiz
    of a day the account already has a paper of (from that blueprint) is left
    unclaimed, so the day is never counted twice (no second daily XP, streak day or
    review cards); the account's own paper stands.

    A claimed self-test takes the account's population group, district and birth year
    (a guest's has none), as if the account had started it, so it counts in the
    district monitoring from then on; a guest's unclaimed test never does.

    A child whose guardian has not consented (or has withdrawn) claims nothing: PIPL
    allows no processing of a child's data before consent, so the papers stay the
    guest's (anonymous) and the account gets no progress from them.
    """
    if not session_paper_ids or not user_can_play(user=user):
        return []
    candidates = list(
        Paper.objects.filter(
            pk__in=session_paper_ids, user__isnull=True, blueprint__mode__in=CLAIMABLE_MODES
        ).values_list("pk", "blueprint_id", "day")
    )
    taken_days = {
        (blueprint_id, day)
        for blueprint_id, day in Paper.objects.filter(
            user=user, day__in={day for _pk, _b, day in candidates if day}
        ).values_list("blueprint_id", "day")
    }
    claimed: list[int] = []
    with transaction.atomic():
        for paper_id, blueprint_id, day in sorted(candidates):
            if day and (blueprint_id, day) in taken_days:
                continue  # the account has this day's quiz already: left unclaimed
            try:
                with transaction.atomic():  # a savepoint: a daily quiz started meanwhile
                    updated = Paper.objects.filter(pk=paper_id, user__isnull=True).update(user=user)
            except IntegrityError:
                continue
            if updated:
                claimed.append(paper_id)
        _claimed_tests_describe(claimed, user)
        for paper in (
            Paper.objects.filter(pk__in=claimed, submitted_at__isnull=False)
            .select_related("blueprint", "challenge", "adaptive")
            .order_by("submitted_at", "id")
        ):
            kind, best = _claim_kind(paper)
            paper_finished(paper=paper, kind=kind, best=best)
    return claimed


def _claimed_tests_describe(paper_ids: list[int], user: User) -> None:
    """Give claimed self-tests the account's profile figures (monitoring reads them)."""
    profile = getattr(user, "profile", None)
    AdaptiveTest.objects.filter(paper_id__in=paper_ids).update(
        population_group=getattr(profile, "population_group", "") or "",
        district_id=getattr(profile, "district_id", None),
        birth_year=getattr(profile, "birth_year", None),
    )


def _claim_kind(paper: Paper) -> tuple[str, float | None]:
    """What a finished claimed paper counts as for progress, and its personal best."""
    mode = paper.blueprint.mode
    if mode == Blueprint.Mode.CHALLENGE:
        challenge = getattr(paper, "challenge", None)
        return "challenge", challenge.correct if challenge else None
    if mode == Blueprint.Mode.ADAPTIVE:
        test = getattr(paper, "adaptive", None)
        return "self_test", test.score if test else None
    return paper_kind(paper), None
