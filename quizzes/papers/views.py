"""Player pages for practice papers: the list, starting one, the paper (the answer
form, then the results) and the API. Thin adapters over quizzes.papers (writes) and
quizzes.papers.selectors (reads); the whole-paper pages are quizzes.papers.pages'.
Before a paper is submitted the pages and the API are built from `player_view()`
alone, which carries no key, explanation or correct flag; `paper_results()` refuses
to give them until the paper is submitted.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import play_or_guest
from quizzes.models import Blueprint
from quizzes.papers import drawing
from quizzes.papers.blueprint import BlueprintError
from quizzes.papers.pages import (
    PRACTICE_PAPERS,
    english,
    guest_limit_refused,
    own_paper,
    whole_paper_views,
)
from quizzes.papers.selectors import (
    blueprints_open_to_guests,
    blueprints_open_to_players,
    guest_papers,
    paper_results,
    papers_of,
    player_view,
)
from quizzes.play.guest import (
    GuestLimitReachedError,
    guest_paper_ids,
    paper_start_for,
)

logger = logging.getLogger(__name__)

paper_detail, paper_submit, paper_answers = whole_paper_views(PRACTICE_PAPERS, guests=True)


@never_cache
@require_GET
@play_or_guest
def paper_list(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        blueprints, mine = blueprints_open_to_players(), papers_of(user=request.user)
    else:
        ids = guest_paper_ids(request.session)
        blueprints, mine = blueprints_open_to_guests(), guest_papers(session_paper_ids=ids)
    return render(request, "quizzes/paper_list.html", {"blueprints": blueprints, "papers": mine})


@never_cache
@require_POST
@play_or_guest
def paper_start(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = get_object_or_404(Blueprint, pk=blueprint_id, open_to_players=True)
    try:
        paper = paper_start_for(
            request,
            account=lambda user: drawing.paper_start(blueprint=blueprint, user=user),
            guest=lambda ids, guard: drawing.guest_paper_start(
                blueprint=blueprint, session_paper_ids=ids, guard=guard
            ),
        )
    except PermissionDenied:
        raise Http404 from None
    except GuestLimitReachedError:
        return guest_limit_refused(request, "papers:list")
    except BlueprintError as error:
        # The organizer's message names blueprint cells: log it, tell the player plainly.
        logger.warning("blueprint %s cannot be drawn: %s", blueprint.pk, error)
        messages.error(request, _("This paper cannot be drawn at the moment. Please try later."))
        return redirect("papers:list")
    return redirect("papers:detail", paper.pk)


@never_cache
@require_GET
@play_or_guest
def paper_data(request: HttpRequest, paper_id: int) -> JsonResponse:
    """The API: the player view, and the results once the paper is submitted."""
    paper = own_paper(request, paper_id)
    data = player_view(paper, english=english())
    data["submitted_at"] = None
    if paper.submitted_at is not None:
        data["submitted_at"] = paper.submitted_at.isoformat()
        data["results"] = paper_results(paper, english=english())
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})
