"""Player pages for adaptive tests (the literacy self-test): start, one question at
a time, the report. Thin adapters over quizzes.play.adaptive; before the test ends
the page is built from player_view() (no key, explanation or marking). The
one-question-at-a-time helpers are quizzes.play.views.questions'."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import play_or_guest
from quizzes.models import Blueprint, Dimension
from quizzes.papers.pages import (
    english,
    guest_limit_refused,
    own_paper,
)
from quizzes.papers.selectors import paper_results
from quizzes.play import adaptive
from quizzes.play.guest import (
    GuestLimitReachedError,
    paper_start_for,
)
from quizzes.play.views.questions import one_answer_from_post, one_question_page


def _question_page(request, paper, item, *, error: str = "", typed=None) -> HttpResponse:
    blueprint = paper.blueprint
    return one_question_page(
        request,
        paper,
        item,
        "quizzes/adaptive_question.html",
        {"most": blueprint.max_items, "fewest": blueprint.min_items},
        error=error,
        typed=typed,
    )


@never_cache
@require_POST
@play_or_guest
def test_start(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = get_object_or_404(
        Blueprint, pk=blueprint_id, mode=Blueprint.Mode.ADAPTIVE, open_to_players=True
    )
    try:
        paper = paper_start_for(
            request,
            account=lambda user: adaptive.adaptive_start(blueprint=blueprint, user=user),
            guest=lambda ids, guard: adaptive.guest_adaptive_start(
                blueprint=blueprint, session_paper_ids=ids, guard=guard
            ),
        )
    except GuestLimitReachedError:
        return guest_limit_refused(request, "practice:home")
    except (PermissionDenied, ValidationError):
        messages.error(request, _("This test cannot start at the moment. Please try later."))
        return redirect("practice:home")
    return redirect("practice:test", paper.pk)


@never_cache
@require_GET
@play_or_guest
def test_detail(request: HttpRequest, paper_id: int) -> HttpResponse:
    paper = own_paper(request, paper_id)
    test = getattr(paper, "adaptive", None)
    if test is None:
        raise Http404
    if paper.submitted_at is None:
        item = adaptive.current_item(paper)
        if item is not None:
            return _question_page(request, paper, item)
    results = paper_results(paper, english=english())
    labels = dict(Dimension.choices)
    order = list(labels)  # the national instrument's order
    dimensions = [
        {"name": labels.get(name, name), **entry}
        for name, entry in sorted(
            test.dimensions.items(),
            key=lambda pair: order.index(pair[0]) if pair[0] in order else len(order),
        )
    ]
    return render(
        request,
        "quizzes/adaptive_report.html",
        {
            "paper": paper,
            "blueprint": paper.blueprint,
            "test": test,
            "dimensions": dimensions,
            "missed": [entry for entry in results["items"] if not entry["is_correct"]],
            "answered": len(results["items"]),
        },
    )


@never_cache
@require_POST
@play_or_guest
def test_answer(request: HttpRequest, paper_id: int) -> HttpResponse:
    paper = own_paper(request, paper_id)
    if getattr(paper, "adaptive", None) is None:
        raise Http404
    item = adaptive.current_item(paper)
    if item is None or request.POST.get("item") != str(item.pk):
        # A second click or an old tab: the test has moved on; show where it is.
        return redirect("practice:test", paper.pk)
    answer, error, typed = one_answer_from_post(request, paper, item)
    if error:
        return _question_page(request, paper, item, error=error, typed=typed)
    try:
        adaptive.adaptive_answer(paper=paper, item=item, answer=answer)
    except ValidationError as error:
        return _question_page(request, paper, item, error=" ".join(error.messages), typed=typed)
    return redirect("practice:test", paper.pk)
