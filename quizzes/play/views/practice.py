"""Player pages for practice: the practice home, the daily quiz, the timed challenge
and themed practice. Thin adapters over quizzes.play.daily, .challenge, .themes and
.overview. A daily quiz is a whole paper (the paper pages' helpers in
quizzes.papers.pages); a challenge asks one question at a time
(quizzes.play.views.questions, as the self-test) with a countdown that only announces
the server's deadline: the server marks late answers whatever the page showed, and the
page works without JavaScript."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import play_or_guest, play_required
from frontend.context_processors import elder_mode_active
from quizzes.models import Bank, Blueprint, Challenge, Paper, PaperItem
from quizzes.papers.blueprint import BlueprintError
from quizzes.papers.pages import (
    PaperPages,
    english,
    guest_limit_refused,
    own_paper,
    whole_paper_views,
)
from quizzes.papers.selectors import paper_results
from quizzes.play import challenge as challenges
from quizzes.play import daily as daily_quiz
from quizzes.play import review
from quizzes.play import themes as themed
from quizzes.play.adaptive import current_item
from quizzes.play.guest import (
    GuestLimitReachedError,
    guest_paper_ids,
    paper_start_for,
)
from quizzes.play.overview import practice_overview
from quizzes.play.views.questions import one_answer_from_post, one_question_page

logger = logging.getLogger(__name__)

DAILY_PAGES = PaperPages(
    modes=(Blueprint.Mode.DAILY,),
    back="practice:home",
    back_label=gettext_lazy("Practice"),
    detail="practice:daily",
    submit="practice:daily_submit",
    answers="practice:daily_answers",
)
CHALLENGE = (Blueprint.Mode.CHALLENGE,)
THEMED_PAGES = PaperPages(
    modes=(Blueprint.Mode.THEMED,),
    back="practice:themes",
    back_label=gettext_lazy("Themed practice"),
    detail="practice:themed",
    submit="practice:themed_submit",
    answers="practice:themed_answers",
)


@never_cache
@require_GET
@play_or_guest
def practice_home(request: HttpRequest) -> HttpResponse:
    """What the player can play. A guest (quizzes.play.guest) sees the modes open to guests
    and their session's own papers; the account-only parts (progress, mistake review,
    themes, PK) give way to a sign-up link."""
    guest = not request.user.is_authenticated
    user = None if guest else request.user
    overview = practice_overview(
        user=user, session_paper_ids=guest_paper_ids(request.session) if guest else None
    )
    return render(
        request,
        "quizzes/practice_home.html",
        {
            "guest": guest,
            **overview,
            "success_at": challenges.SUCCESS_AT,
            "review_due": 0 if guest else review.due_count(user=user),
            "themes": 0 if guest else len(themed.themes(user=user)),
        },
    )


# --- Daily quiz ---------------------------------------------------------------------------


@never_cache
@require_POST
@play_or_guest
def daily_start(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = get_object_or_404(Blueprint, pk=blueprint_id, mode=Blueprint.Mode.DAILY)
    try:
        paper = paper_start_for(
            request,
            account=lambda user: daily_quiz.daily_start(blueprint=blueprint, user=user),
            guest=lambda ids, guard: daily_quiz.guest_daily_start(
                blueprint=blueprint, session_paper_ids=ids, guard=guard
            ),
        )
    except PermissionDenied:
        messages.error(request, _("This quiz is not open to you."))
        return redirect("practice:home")
    except GuestLimitReachedError:
        return guest_limit_refused(request, "practice:home")
    except BlueprintError as error:
        logger.warning("daily blueprint %s cannot be drawn: %s", blueprint.pk, error)
        messages.error(request, _("Today's quiz cannot be drawn at the moment. Please try later."))
        return redirect("practice:home")
    return redirect("practice:daily", paper.pk)


daily_detail, daily_submit, daily_answers = whole_paper_views(DAILY_PAGES, guests=True)


# --- Timed challenge ------------------------------------------------------------------------


@never_cache
@require_POST
@play_or_guest
def challenge_start(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = get_object_or_404(Blueprint, pk=blueprint_id, mode=Blueprint.Mode.CHALLENGE)
    if elder_mode_active(request) and request.POST.get("timed") != "1":
        # Elder mode never starts a clock unasked: the practice page says so and offers
        # the untimed practice, or the challenge for those who choose it.
        messages.info(
            request, _("In elder mode the timed challenge starts only when you choose it.")
        )
        return redirect(reverse("practice:home") + f"#challenge-{blueprint.pk}")
    try:
        paper = paper_start_for(
            request,
            account=lambda user: challenges.challenge_start(blueprint=blueprint, user=user),
            guest=lambda ids, guard: challenges.guest_challenge_start(
                blueprint=blueprint, session_paper_ids=ids, guard=guard
            ),
        )
    except PermissionDenied:
        messages.error(request, _("This quiz is not open to you."))
        return redirect("practice:home")
    except GuestLimitReachedError:
        return guest_limit_refused(request, "practice:home")
    except ValidationError:
        messages.error(request, _("This challenge cannot start at the moment. Please try later."))
        return redirect("practice:home")
    return redirect("practice:challenge", paper.pk)


def _question(
    request: HttpRequest,
    paper: Paper,
    challenge: Challenge,
    item: PaperItem,
    *,
    error: str = "",
    typed: dict[int, Any] | None = None,
) -> HttpResponse:
    left = (challenge.deadline - timezone.now()).total_seconds()
    return one_question_page(
        request,
        paper,
        item,
        "quizzes/challenge_question.html",
        {
            "challenge": challenge,
            # The number inside the translated "… seconds left", for the countdown to update.
            "seconds_left": format_html(
                "<strong data-seconds>{}</strong>", max(0, math.ceil(left))
            ),
            "remaining_ms": max(0, int(left * 1000)),
            "grace_ms": int(challenges.ANSWER_GRACE.total_seconds() * 1000),
            "success_at": challenges.SUCCESS_AT,
        },
        error=error,
        typed=typed,
    )


def _own_challenge(request: HttpRequest, paper_id: int) -> tuple[Paper, Challenge]:
    paper = own_paper(request, paper_id, CHALLENGE)
    challenge = Challenge.objects.select_related("paper__blueprint").get(paper=paper)
    return challenge.paper, challenge


@never_cache
@require_GET
@play_or_guest
def challenge_detail(request: HttpRequest, paper_id: int) -> HttpResponse:
    paper, challenge = _own_challenge(request, paper_id)
    if not challenges.challenge_expire(challenge=challenge):
        item = current_item(paper)
        if item is not None:
            return _question(request, paper, challenge, item)
    paper.refresh_from_db()
    results = paper_results(paper, english=english())
    guest = not request.user.is_authenticated
    ids = guest_paper_ids(request.session) if guest else None
    user = None if guest else request.user
    best = challenges.personal_bests(user=user, session_paper_ids=ids).get(paper.blueprint_id, 0)
    before = challenges.personal_best_before(challenge=challenge, session_paper_ids=ids)
    return render(
        request,
        "quizzes/challenge_result.html",
        {
            "paper": paper,
            "blueprint": paper.blueprint,
            "challenge": challenge,
            "best": best,
            "new_best": before is not None and challenge.correct > before,
            "success_at": challenges.SUCCESS_AT,
            "missed": [entry for entry in results["items"] if not entry["is_correct"]],
        },
    )


@never_cache
@require_POST
@play_or_guest
def challenge_answer(request: HttpRequest, paper_id: int) -> HttpResponse:
    paper, challenge = _own_challenge(request, paper_id)
    back = redirect("practice:challenge", paper.pk)
    item = current_item(paper)
    stale = item is None or request.POST.get("item") != str(item.pk)
    if challenge.finished_at is not None or stale:
        # A second click or an old tab: the challenge has moved on; show where it is.
        return back
    now = timezone.now()
    if not challenges.is_late(challenge, now):
        answer, error, typed = one_answer_from_post(request, paper, item)
        if error:
            return _question(request, paper, challenge, item, error=error, typed=typed)
    else:
        answer = None  # late: refused by the service below, whatever it is
    try:
        marked = challenges.challenge_answer(paper=paper, item=item, answer=answer, now=now)
    except ValidationError as error:
        return _question(request, paper, challenge, item, error=" ".join(error.messages))
    if not marked.counted:
        messages.warning(request, _("Too late: the time was up when your answer arrived."))
    return back


# --- Themed practice ------------------------------------------------------------------------


@never_cache
@require_GET
@play_required
def themes(request: HttpRequest) -> HttpResponse:
    found = themed.themes(user=request.user)
    return render(
        request,
        "quizzes/themes.html",
        {
            "themes": found,
            "questions": themed.THEMED_QUESTIONS,
            # The bank's name tells two themes of one topic apart.
            "several_banks": len({theme["bank_id"] for theme in found}) > 1,
        },
    )


@never_cache
@require_POST
@play_required
def theme_start(request: HttpRequest, bank_id: int, topic: str) -> HttpResponse:
    bank = get_object_or_404(Bank, pk=bank_id)
    try:
        paper = themed.theme_start(bank=bank, topic=topic, user=request.user)
    except PermissionDenied:
        messages.error(request, _("This quiz is not open to you."))
        return redirect("practice:themes")
    except (BlueprintError, ValidationError) as error:
        logger.warning("theme %s/%s cannot be drawn: %s", bank.pk, topic, error)
        messages.error(request, _("This theme cannot start at the moment. Please try later."))
        return redirect("practice:themes")
    return redirect("practice:themed", paper.pk)


themed_detail, themed_submit, themed_answers = whole_paper_views(THEMED_PAGES)
