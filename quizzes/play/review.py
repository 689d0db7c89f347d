"""Mistake review scheduled with FSRS (services and reads).

Every question a signed-in player answers wrong on a marked paper of any kind (a
practice or themed paper, a daily quiz, a timed challenge, a self-test) enters the
player's deck: one ReviewCard per player and question (a database constraint), added
by `cards_from_paper`, which quizzes.play.finish.paper_finished calls once a paper is
finished, so every kind feeds the deck from one place, after its keys are due.

A card holds the FSRS card state (fsrs.Card.to_dict()) and its `due` time. A new card
is due at once. A review session takes the cards due when it starts (at most
REVIEW_BATCH, the longest overdue first) and asks each once, one at a time: the
question's current published version, options in an order of the session's own, no
key before the answer. A right answer is rated Good, a wrong one Again, and FSRS
schedules the next review (with its default parameters: a card in learning comes back
after 1 minute when missed, after 10 minutes when right, then after days). A card
whose question has no published version any more (retired) is skipped and not
counted as due. Review answers are kept apart from paper responses: the player has
seen the key already, so they must not feed item statistics or IRT calibration.
A finished session awards XP (quizzes.play.progress, kind "review").
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from fsrs import Card, Rating, Scheduler

from accounts.models import User
from quizzes.bank.answers import is_correct, is_number
from quizzes.models import (
    Paper,
    QuestionType,
    QuestionVersion,
    Response,
    ReviewAnswer,
    ReviewCard,
    ReviewSession,
    VersionStatus,
)
from quizzes.papers.drawing import MAX_SEED
from quizzes.papers.marking import answer_check
from quizzes.papers.selectors import player_entry, result_entry
from quizzes.play import progress

REVIEW_BATCH = 10
SCHEDULER = Scheduler()


def _utc(now: datetime | None) -> datetime:
    """fsrs wants an aware datetime in UTC."""
    return (now or timezone.now()).astimezone(UTC)


def _new_card(question_id: int, now: datetime) -> dict[str, Any]:
    # card_id given: fsrs would otherwise derive one from the clock (and sleep 1 ms).
    return Card(card_id=question_id, due=now).to_dict()


def cards_from_paper(
    *, paper: Paper, now: datetime | None = None, wrong: set[int] | None = None
) -> int:
    """Put the questions answered wrong on a finished paper (`wrong`, if the caller
    has read them) into its player's deck. Idempotent: a question already in the deck
    keeps its card and schedule. Guests have no deck. Returns how many questions were
    answered wrong."""
    if paper.user_id is None:
        return 0
    now = _utc(now)
    if wrong is None:
        wrong = set(
            Response.objects.filter(paper=paper, is_correct=False).values_list(
                "item__question_id", flat=True
            )
        )
    ReviewCard.objects.bulk_create(
        [
            ReviewCard(user_id=paper.user_id, question_id=q, state=_new_card(q, now), due=now)
            for q in sorted(wrong)
        ],
        ignore_conflicts=True,
    )
    return len(wrong)


def _published() -> QuerySet[QuestionVersion]:
    return QuestionVersion.objects.filter(status=VersionStatus.PUBLISHED)


def deck(*, user: User) -> QuerySet[ReviewCard]:
    """The player's cards whose question is still published."""
    return ReviewCard.objects.filter(user=user).filter(
        Exists(_published().filter(question_id=OuterRef("question_id")))
    )


def due_count(*, user: User, now: datetime | None = None) -> int:
    if not user.is_authenticated:
        return 0
    return deck(user=user).filter(due__lte=now or timezone.now()).count()


def next_due(*, user: User, now: datetime | None = None) -> datetime | None:
    """When the next card that is not due yet falls due (None: none)."""
    later = deck(user=user).filter(due__gt=now or timezone.now()).order_by("due")
    return later.values_list("due", flat=True).first()


def open_session(*, user: User) -> ReviewSession | None:
    return ReviewSession.objects.filter(user=user, finished_at__isnull=True).first()


def review_start(*, user: User, now: datetime | None = None) -> ReviewSession:
    """The player's review session: the one still open, or a new one over the cards
    due now. ValidationError when nothing is due."""
    now = now or timezone.now()
    current = open_session(user=user)
    if current is not None and review_next(session=current, now=now) is not None:
        return current
    ids = list(
        deck(user=user)
        .filter(due__lte=now)
        .order_by("due", "id")
        .values_list("id", flat=True)[:REVIEW_BATCH]
    )
    if not ids:
        raise ValidationError(_("Nothing is due for review right now."))
    try:
        with transaction.atomic():
            return ReviewSession.objects.create(
                user=user, cards=ids, seed=secrets.randbelow(MAX_SEED), started_at=now
            )
    except IntegrityError:  # a second tab started one at the same moment
        return ReviewSession.objects.get(user=user, finished_at__isnull=True)


@dataclass(frozen=True)
class Current:
    """The card waiting for an answer: its question's published version, the options'
    order in this session, and its place in the session (1-based) of `total`."""

    card: ReviewCard
    version: QuestionVersion
    option_order: list[str]
    position: int
    total: int


def _option_order(session: ReviewSession, card_id: int, version: QuestionVersion) -> list[str]:
    ids = [option["id"] for option in version.options or []]
    return random.Random(f"{session.seed}:{card_id}").sample(ids, len(ids))


def review_current(session: ReviewSession) -> Current | None:
    """The first card of the session not answered yet whose question is still
    published (retired ones are skipped); None when none is left. Three queries."""
    answered = set(session.answers.values_list("card_id", flat=True))
    left = [card_id for card_id in session.cards if card_id not in answered]
    if not left:
        return None
    cards = ReviewCard.objects.in_bulk(left)
    versions = {
        version.question_id: version
        for version in _published().filter(
            question_id__in=[card.question_id for card in cards.values()]
        )
    }
    for card_id in left:
        card = cards.get(card_id)
        version = versions.get(card.question_id) if card is not None else None
        if version is not None:
            return Current(
                card=card,
                version=version,
                option_order=_option_order(session, card_id, version),
                position=session.cards.index(card_id) + 1,
                total=len(session.cards),
            )
    return None


def review_next(*, session: ReviewSession, now: datetime | None = None) -> Current | None:
    """review_current, closing the session (once) when nothing is left in it."""
    if session.finished_at is not None:
        return None
    current = review_current(session)
    if current is None:
        _finish(session, now or timezone.now())
    return current


def _finish(session: ReviewSession, now: datetime) -> bool:
    """Close the session once (a conditional UPDATE) and award its XP."""
    ended = ReviewSession.objects.filter(pk=session.pk, finished_at__isnull=True).update(
        finished_at=now
    )
    session.refresh_from_db(fields=["finished_at"])
    if not ended:
        return False
    answers = list(session.answers.values_list("version__topic", "is_correct"))
    if answers:
        progress.activity_finished(
            user=session.user,
            kind="review",
            ref=session.pk,
            correct=sum(right for _topic, right in answers),
            answered=len(answers),
            topics=answers,
        )
    return True


def review_answer(
    *,
    session: ReviewSession,
    user: User,
    card_id: int,
    answer: Any,
    now: datetime | None = None,
) -> ReviewAnswer:
    """Mark the answer to the session's current card, schedule the card's next review
    with FSRS (right: Good, wrong: Again), and close the session after its last card.

    Only the session's player may answer (PermissionDenied). An answer to another card
    than the current one, or one that does not fit the question, raises
    ValidationError and changes nothing. Answering a card again returns the first
    answer."""
    if session.user_id != user.pk:
        raise PermissionDenied(_("This review is not yours."))
    now = _utc(now)
    try:
        with transaction.atomic():
            existing = session.answers.filter(card_id=card_id).first()
            if existing is not None:
                return existing
            session.refresh_from_db(fields=["finished_at"])
            if session.finished_at is not None:
                raise ValidationError(_("This review is over."))
            current = review_current(session)
            if current is None or current.card.pk != card_id:
                raise ValidationError(_("This question is not waiting for an answer."))
            card, version = current.card, current.version
            if version.type == QuestionType.NUMERIC and not is_number(answer):
                raise ValidationError(_("Enter a number."))
            answer_check(version, current.option_order, answer)
            right = is_correct(version.type, version.key, answer)
            rating = Rating.Good if right else Rating.Again
            scheduled, _log = SCHEDULER.review_card(
                Card.from_dict(card.state), rating, review_datetime=now
            )
            marked = ReviewAnswer.objects.create(
                session=session,
                card=card,
                version=version,
                option_order=current.option_order,
                answer=answer,
                is_correct=right,
                rating=int(rating),
                due_after=scheduled.due,
                answered_at=now,
            )
            ReviewCard.objects.filter(pk=card.pk).update(
                state=scheduled.to_dict(),
                due=scheduled.due,
                reps=F("reps") + 1,
                lapses=F("lapses") + (0 if right else 1),
                last_reviewed_at=now,
            )
            review_next(session=session, now=now)
    except IntegrityError:  # a concurrent answer to the same card won
        return ReviewAnswer.objects.get(session=session, card_id=card_id)
    return marked


# --- Reads for the pages ------------------------------------------------------------------


def question_entry(current: Current, *, english: bool) -> dict[str, Any]:
    """The current card as the answer form shows it (no key, explanation or marking)."""
    return player_entry(
        item=current.card.pk,
        position=current.position,
        version=current.version,
        option_order=current.option_order,
        english=english,
    )


def answer_entry(marked: ReviewAnswer, *, english: bool) -> dict[str, Any]:
    """A marked review answer with its key and explanation (quizzes/_result_body.html)."""
    return result_entry(
        item=marked.card_id,
        position=marked.session.cards.index(marked.card_id) + 1,
        version=marked.version,
        option_order=marked.option_order,
        answered=True,
        answer=marked.answer,
        is_correct=marked.is_correct,
        english=english,
    )


def session_answers(session: ReviewSession) -> QuerySet[ReviewAnswer]:
    return session.answers.select_related("version", "session").order_by("id")
