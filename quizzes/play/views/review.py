"""Player pages for mistake review: the deck's page (how many cards are due), one
question at a time, the marked answer with its key and explanation, and the
session's summary. Thin adapters over quizzes.play.review; the question page is built
from player_entry() only (no key, explanation or marking). Untimed, as all review."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import play_required
from quizzes.models import ReviewAnswer, ReviewSession
from quizzes.papers.pages import english
from quizzes.play import review
from quizzes.play.views.questions import entry_answer_from_post, entry_question_page


def _own_session(request: HttpRequest, session_id: int) -> ReviewSession:
    """The player's own session; anyone else's is a 404."""
    return get_object_or_404(ReviewSession, pk=session_id, user=request.user)


@never_cache
@require_GET
@play_required
def review_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "quizzes/review_home.html",
        {
            "due": review.due_count(user=user),
            "deck": review.deck(user=user).count(),
            "next_due": review.next_due(user=user),
            "open_session": review.open_session(user=user),
            "batch": review.REVIEW_BATCH,
        },
    )


@never_cache
@require_POST
@play_required
def review_start(request: HttpRequest) -> HttpResponse:
    try:
        session = review.review_start(user=request.user)
    except ValidationError as error:
        messages.info(request, " ".join(error.messages))
        return redirect("practice:review")
    return redirect("practice:review_session", session.pk)


def _question(
    request: HttpRequest,
    session: ReviewSession,
    current: review.Current,
    *,
    error: str = "",
    typed: dict[int, Any] | None = None,
) -> HttpResponse:
    return entry_question_page(
        request,
        review.question_entry(current, english=english()),
        "quizzes/review_question.html",
        {"session": session, "current": current},
        error=error,
        typed=typed,
    )


@never_cache
@require_GET
@play_required
def review_session(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _own_session(request, session_id)
    current = review.review_next(session=session)
    if current is not None:
        return _question(request, session, current)
    answers = list(review.session_answers(session))
    return render(
        request,
        "quizzes/review_summary.html",
        {
            "session": session,
            "answers": answers,
            "correct": sum(answer.is_correct for answer in answers),
            "due": review.due_count(user=request.user),
        },
    )


@never_cache
@require_POST
@play_required
def review_answer(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _own_session(request, session_id)
    current = review.review_next(session=session)
    if current is None or request.POST.get("item") != str(current.card.pk):
        # A second click or an old tab: the review has moved on; show where it is.
        return redirect("practice:review_session", session.pk)
    entry = review.question_entry(current, english=english())
    answer, error, typed = entry_answer_from_post(request, entry)
    if error:
        return _question(request, session, current, error=error, typed=typed)
    try:
        review.review_answer(
            session=session, user=request.user, card_id=current.card.pk, answer=answer
        )
    except ValidationError as error:
        return _question(request, session, current, error=" ".join(error.messages), typed=typed)
    return redirect("practice:review_answered", session.pk, current.card.pk)


@never_cache
@require_GET
@play_required
def review_answered(request: HttpRequest, session_id: int, card_id: int) -> HttpResponse:
    """One marked answer: right or not, the key, the explanation, the next review."""
    session = _own_session(request, session_id)
    marked = (
        ReviewAnswer.objects.select_related("version", "session")
        .filter(session=session, card_id=card_id)
        .first()
    )
    if marked is None:
        raise Http404
    return render(
        request,
        "quizzes/review_answered.html",
        {
            "session": session,
            "marked": marked,
            "item": review.answer_entry(marked, english=english()),
            "total": len(session.cards),
        },
    )
