"""Gamification: XP and levels, daily streaks with freeze days, personal bests, topic
mastery badges, weekly cohorts of about 30 with promotion and relegation.

DOMAIN.md: leaderboards and expected rewards can lower intrinsic motivation, most for
children; prefer personal bests, mastery, streaks with freeze days and small matched
cohorts. Minors (anyone who may be under 18 by birth year, and students who gave no
birth year) never get a public individual rank: in a cohort they see their band
(top, middle or bottom third) and their personal bests, and adults' cohort lists
leave them out (counted, not named).

Activities call `activity_finished` from their own services when they end (a paper
submitted, a self-test finished, …; papers through quizzes.play.finish.paper_finished);
it is idempotent per activity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Profile, User
from quizzes.models.progress import (
    Cohort,
    CohortMember,
    PersonalBest,
    Progress,
    TopicMastery,
    XpAward,
)

XP_PER_CORRECT = 10
XP_FOR_FINISHING = 20
FREEZE_EVERY = 7  # a freeze day earned per 7-day run
MAX_FREEZES = 2
MASTERY_ANSWERS = 20
MASTERY_SHARE = 0.8
COHORT_SIZE = 30
MOVE = 5  # the top MOVE of a cohort go up a tier, the bottom MOVE (with less XP) down
TOP_TIER = 4
MINOR_BELOW = 18
# What a personal best or an XP award was for.
KINDS = {
    "self_test": gettext_lazy("Literacy self-test"),
    "daily": gettext_lazy("Daily quiz"),
    "challenge": gettext_lazy("Timed challenge"),
    "paper": gettext_lazy("Practice papers"),
    "themed": gettext_lazy("Themed practice"),
    "review": gettext_lazy("Mistake review"),
}


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def level_of(xp: int) -> int:
    """Level 1 from 0 XP; level n from 50·(n−1)² XP (50, 200, 450, …)."""
    return math.isqrt(xp // 50) + 1


def next_level_xp(xp: int) -> int:
    return 50 * level_of(xp) ** 2


def is_minor(user: User) -> bool:
    return _minor(Profile.objects.filter(user=user).only("birth_year", "population_group").first())


def _minor(profile: Profile | None) -> bool:
    if profile is None:
        return False
    if profile.birth_year is None:
        return profile.population_group == Profile.PopulationGroup.STUDENT
    return timezone.localdate().year - profile.birth_year <= MINOR_BELOW


def _streak(progress: Progress, day: date) -> None:
    """Count `day` as a day with practice."""
    last = progress.last_day
    if last is not None and day <= last:
        return
    missed = 0 if last is None else (day - last).days - 1
    if last is not None and missed <= progress.freezes:
        progress.freezes -= missed
        progress.streak += 1
    else:
        progress.streak = 1
    if progress.streak % FREEZE_EVERY == 0:
        progress.freezes = min(MAX_FREEZES, progress.freezes + 1)
    progress.best_streak = max(progress.best_streak, progress.streak)
    progress.last_day = day


def activity_finished(
    *,
    user: User,
    kind: str,
    ref: object,
    correct: int,
    answered: int,
    topics: list[tuple[str, bool]] = (),
    best: float | None = None,
    day: date | None = None,
) -> bool:
    """Award XP for one finished activity, count its `day` (today unless given: a
    guest's paper claimed later counts the day it was played) for the streak, the
    topic answers for mastery, and `best` as a personal best of this kind. Once per
    (user, kind, ref): False if it was awarded before."""
    if user is None or not user.is_authenticated:
        return False
    today = timezone.localdate()
    amount = XP_FOR_FINISHING + XP_PER_CORRECT * max(0, correct)
    try:
        with transaction.atomic():
            XpAward.objects.create(
                user=user, kind=kind, ref=str(ref), amount=amount, week=week_of(today)
            )
            progress, _ = Progress.objects.select_for_update().get_or_create(user=user)
            progress.xp += amount
            _streak(progress, min(day or today, today))
            progress.save()
            by_topic: dict[str, list[bool]] = {}
            for topic, right in topics:
                by_topic.setdefault(topic, []).append(right)
            for topic, rights in by_topic.items():
                _mastery(user, topic, rights)
            if best is not None:
                personal_best_record(user=user, kind=kind, value=best)
            _cohort_join(user, week_of(today))
    except IntegrityError:  # awarded before (the unique constraint on XpAward)
        return False
    return True


def _mastery(user: User, topic: str, rights: list[bool]) -> None:
    """Count a topic's answers in order (the badge comes the moment it is earned,
    even if later answers of the same paper bring the share down), one row written
    per topic rather than per answer."""
    row, _ = TopicMastery.objects.select_for_update().get_or_create(user=user, topic=topic)
    for right in rights:
        row.answered += 1
        row.correct += int(right)
        if (
            row.badge_at is None
            and row.answered >= MASTERY_ANSWERS
            and row.correct >= MASTERY_SHARE * row.answered
        ):
            row.badge_at = timezone.now()
    row.save()


def personal_best_record(*, user: User, kind: str, value: float) -> bool:
    """Keep `value` if it beats the player's best of this kind; True if it did."""
    best = PersonalBest.objects.select_for_update().filter(user=user, kind=kind).first()
    if best is None:
        PersonalBest.objects.create(user=user, kind=kind, value=value)
        return True
    if value <= best.value:
        return False
    best.value, best.at = value, timezone.now()
    best.save(update_fields=["value", "at"])
    return True


# --- weekly cohorts ---------------------------------------------------------------------


def _cohort_join(user: User, week: date) -> None:
    """Put the player in a cohort of this week at their tier, on their first XP."""
    if CohortMember.objects.filter(user=user, week=week).exists():
        return
    earned = (
        CohortMember.objects.filter(user=user, week__lt=week, next_tier__isnull=False)
        .order_by("-week")
        .values_list("next_tier", flat=True)
        .first()
    )
    tier = earned or 0
    open_cohort = None
    for cohort in (
        Cohort.objects.select_for_update().filter(week=week, tier=tier).order_by("number")
    ):
        if cohort.members.count() < COHORT_SIZE:
            open_cohort = cohort
            break
    if open_cohort is None:
        number = Cohort.objects.filter(week=week, tier=tier).count() + 1
        open_cohort = Cohort.objects.create(week=week, tier=tier, number=number)
    CohortMember.objects.create(cohort=open_cohort, user=user, week=week)


def _weekly_xp(cohort: Cohort) -> dict[int, int]:
    members = list(cohort.members.values_list("user_id", flat=True))
    totals = dict(
        XpAward.objects.filter(user_id__in=members, week=cohort.week)
        .values("user_id")
        .annotate(total=Sum("amount"))
        .values_list("user_id", "total")
    )
    return {user: totals.get(user, 0) for user in members}


def cohorts_close(*, week: date) -> int:
    """Settle the week's cohorts: the top MOVE go up a tier, the bottom MOVE (those
    with less XP than the rest) down, the others stay. Idempotent. Returns the number
    of members settled."""
    settled = 0
    for cohort in Cohort.objects.filter(week=week):
        xp = _weekly_xp(cohort)
        ranked = sorted(xp, key=lambda user: -xp[user])
        with transaction.atomic():
            for place, user in enumerate(ranked):
                tier = cohort.tier
                if place < MOVE and xp[user] > 0:
                    tier = min(TOP_TIER, tier + 1)
                elif place >= len(ranked) - MOVE and len(ranked) > 2 * MOVE:
                    tier = max(0, tier - 1)
                settled += CohortMember.objects.filter(
                    cohort=cohort, user_id=user, next_tier__isnull=True
                ).update(next_tier=tier)
    return settled


@dataclass(frozen=True)
class CohortView:
    tier: int
    size: int
    rows: list[dict]  # adults only: nickname, xp, rank, you
    hidden: int  # members not listed (minors)
    band: str | None  # for a minor: "top", "middle" or "bottom"
    my_xp: int


def cohort_view(*, user: User, week: date | None = None) -> CohortView | None:
    """What a player sees of their cohort this week (None: not in one yet)."""
    week = week or week_of(timezone.localdate())
    member = CohortMember.objects.filter(user=user, week=week).select_related("cohort").first()
    if member is None:
        return None
    cohort = member.cohort
    xp = _weekly_xp(cohort)
    order = sorted(xp, key=lambda u: -xp[u])
    place = order.index(user.pk)
    if is_minor(user):
        third = len(order) / 3
        band = "top" if place < third else "middle" if place < 2 * third else "bottom"
        return CohortView(cohort.tier, len(order), [], len(order) - 1, band, xp[user.pk])
    users = {u.pk: u for u in User.objects.filter(pk__in=order).select_related("profile")}
    rows, hidden, rank = [], 0, 0
    for member_id in order:
        other = users[member_id]
        profile = getattr(other, "profile", None)
        if member_id != user.pk and _minor(profile):
            hidden += 1
            continue
        rank += 1
        rows.append(
            {
                "rank": rank,
                "nickname": (profile.nickname if profile else "") or _("Player"),
                "xp": xp[member_id],
                "you": member_id == user.pk,
            }
        )
    return CohortView(cohort.tier, len(order), rows, hidden, None, xp[user.pk])
