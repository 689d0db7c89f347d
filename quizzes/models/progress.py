"""Gamification records (quizzes.play.progress): XP, streaks, personal bests, topic mastery,
weekly cohorts. Imported by quizzes.models so that Django registers them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Progress(models.Model):
    """One player's running totals. `streak` counts consecutive days with practice;
    a missed day uses a freeze day if there is one (earned one per 7-day run, at most
    MAX_FREEZES) instead of ending the streak."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="progress"
    )
    xp = models.PositiveIntegerField(default=0)
    streak = models.PositiveIntegerField(default=0)
    best_streak = models.PositiveIntegerField(default=0)
    freezes = models.PositiveSmallIntegerField(default=0)
    last_day = models.DateField(null=True, blank=True)  # last day with practice (local)

    class Meta:
        verbose_name = _("progress")
        verbose_name_plural = _("progress")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.xp} XP"


class XpAward(models.Model):
    """One award of XP for one finished activity; (user, kind, ref) makes awarding
    idempotent (a retried task or a double submit awards once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)  # "paper", "self_test", "daily", "challenge", …
    ref = models.CharField(max_length=40)  # the activity's id
    amount = models.PositiveIntegerField()
    week = models.DateField(db_index=True)  # Monday of the award's week (local)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "ref"], name="xp_award_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} +{self.amount} ({self.kind} {self.ref})"


class PersonalBest(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)  # "challenge", "self_test", "daily"
    value = models.FloatField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="personal_best_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.value}"


class TopicMastery(models.Model):
    """Answers per topic; a badge once MASTERY_ANSWERS are answered at MASTERY_SHARE."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=30)
    answered = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    badge_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="topic_mastery_once"),
            models.CheckConstraint(
                condition=Q(correct__lte=models.F("answered")), name="mastery_correct_le_answered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.topic}: {self.correct}/{self.answered}"


class Cohort(models.Model):
    """A weekly group of about COHORT_SIZE players at one tier, who see each other's
    weekly XP (minors only as bands: quizzes.play.progress.cohort_view)."""

    week = models.DateField(db_index=True)  # Monday (local)
    tier = models.PositiveSmallIntegerField(default=0)
    number = models.PositiveIntegerField()  # within the week and tier

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["week", "tier", "number"], name="cohort_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.week} tier {self.tier} #{self.number}"


class CohortMember(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()  # the cohort's, repeated for the one-cohort-a-week rule
    # The tier the player earned for next week when this one closed (None: not yet).
    next_tier = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "week"], name="one_cohort_a_week"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.cohort_id}"
