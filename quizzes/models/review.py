"""Mistake review records (quizzes.play.review): a player's deck of cards, one per question
they got wrong, scheduled with FSRS; review sessions and their answers. Imported by
quizzes.models so that Django registers them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReviewCard(models.Model):
    """One question in one player's review deck. `state` is the FSRS card
    (fsrs.Card.to_dict()); `due` repeats its due time for the queries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    question = models.ForeignKey(
        "quizzes.Question", on_delete=models.CASCADE, related_name="review_cards"
    )
    state = models.JSONField(default=dict)
    due = models.DateTimeField(db_index=True)
    reps = models.PositiveIntegerField(default=0)  # reviews so far
    lapses = models.PositiveIntegerField(default=0)  # reviews answered wrong
    created_at = models.DateTimeField(default=timezone.now)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due", "id"]
        verbose_name = _("review card")
        verbose_name_plural = _("review cards")
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="review_card_once"),
        ]
        indexes = [models.Index(fields=["user", "due"], name="review_card_user_due")]

    def __str__(self) -> str:
        return f"{self.user_id} Q{self.question_id} due {self.due:%Y-%m-%d %H:%M}"


class ReviewSession(models.Model):
    """One sitting of mistake review: the cards due when it started (ids, in order),
    each asked once. At most one unfinished session per player."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cards = models.JSONField(default=list)
    seed = models.BigIntegerField()  # the options' order, per card
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("review session")
        verbose_name_plural = _("review sessions")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(finished_at__isnull=True),
                name="one_open_review_session",
            ),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.user_id})"


class ReviewAnswer(models.Model):
    """The answer to one card in one session: marked, rated, never changed."""

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="answers")
    card = models.ForeignKey(ReviewCard, on_delete=models.CASCADE, related_name="answers")
    version = models.ForeignKey(
        "quizzes.QuestionVersion", on_delete=models.PROTECT, related_name="+"
    )
    option_order = models.JSONField(default=list, blank=True)
    answer = models.JSONField()
    is_correct = models.BooleanField()
    rating = models.PositiveSmallIntegerField()  # fsrs.Rating
    due_after = models.DateTimeField()  # when the card was scheduled next
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "card"], name="one_review_answer_per_card"),
        ]

    def __str__(self) -> str:
        return f"review {self.session_id} card {self.card_id}"
