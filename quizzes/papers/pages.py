"""Shared request helpers for the player pages of papers: the request's language,
the player's own paper (a guest's from the session), the answer form of a whole paper
(read from a POST, shown again with its errors), the whole-paper page and submit view
of a kind of paper (practice papers, daily quizzes, themed practice), and the refusal
of a guest over the hourly start limit.

Before a paper is submitted the pages are built from `player_view()` alone, which
carries no key, explanation or correct flag; `paper_results()` refuses to give them
until the paper is submitted. A blank answer is no answer (quizzes.bank.answers): the
whole-paper form leaves the item unanswered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import play_or_guest, play_required
from quizzes.bank.answers import MAX_TEXT_ANSWER
from quizzes.models import Blueprint, Paper, PaperItem, QuestionType
from quizzes.papers.answer_api import answer_save_view, json_submit, owner_check, wants_json
from quizzes.papers.inputs import answer_inputs, paper_fieldset
from quizzes.papers.selectors import (
    PLAYER_ITEM_FIELDS,
    paper_of_guest,
    paper_of_player,
    paper_results,
    player_entry,
    player_view,
)
from quizzes.play.finish import paper_submit
from quizzes.play.guest import (
    guest_paper_ids,
)


def english() -> bool:
    return (translation.get_language() or "").startswith("en")


def guest_limit_refused(request: HttpRequest, to: str) -> HttpResponse:
    """A guest over the hourly start limit (quizzes.play.guest): say so, start nothing."""
    messages.error(
        request,
        _(
            "Many quizzes have been started as a guest from this device or network in the "
            "last hour. Please try again later, or sign in to play on."
        ),
    )
    return redirect(to)


def own_paper(request: HttpRequest, paper_id: int, modes: tuple[str, ...] = ()) -> Paper:
    """The player's own paper (of one of `modes`, if given); anyone else's is a 404,
    never a 403 that confirms it. A guest's own papers are those their session keeps."""
    if request.user.is_authenticated:
        paper = paper_of_player(paper_id=paper_id, user=request.user)
    else:
        paper = paper_of_guest(
            paper_id=paper_id, session_paper_ids=guest_paper_ids(request.session)
        )
    if paper is None or (modes and paper.blueprint.mode not in modes):
        raise Http404
    return paper


@dataclass(frozen=True)
class PaperPages:
    """Where one kind of whole paper (answered on one page, then marked) lives: the
    blueprint modes it serves, the page to go back to and the URL names."""

    modes: tuple[str, ...]
    back: str
    back_label: str
    detail: str
    submit: str
    answers: str

    def links(self, paper: Paper) -> dict[str, str]:
        return {
            "back_url": reverse(self.back),
            "back_label": str(self.back_label),
            "submit_url": reverse(self.submit, args=[paper.pk]),
            "answers_url": reverse(self.answers, args=[paper.pk]),
        }


PRACTICE_PAPERS = PaperPages(
    modes=(Blueprint.Mode.FIXED,),
    back="papers:list",
    back_label=gettext_lazy("Practice papers"),
    detail="papers:detail",
    submit="papers:submit",
    answers="papers:answers",
)


def _field(entry: dict[str, Any]) -> str:
    return f"item-{entry['item']}"


def answers_from_post(
    post: QueryDict, entries: list[dict[str, Any]]
) -> tuple[dict[int, Any], dict[int, str], dict[int, Any]]:
    """Read the answer form: (answers by item id, errors by item id, what was typed
    by item id, to show the form again). Empty answers are left out (unanswered).
    Checks what only the form knows (an ordering's places); paper_submit checks the
    rest."""
    answers: dict[int, Any] = {}
    errors: dict[int, str] = {}
    typed: dict[int, Any] = {}
    for entry in entries:
        item, name, qtype = entry["item"], _field(entry), entry["type"]
        if qtype == QuestionType.MULTIPLE:
            chosen = post.getlist(name)
            typed[item] = chosen
            if chosen:
                answers[item] = chosen
        elif qtype == QuestionType.ORDERING:
            ids = [option["id"] for option in entry["options"]]
            places = {i: post.get(f"{name}-{i}", "").strip() for i in ids}
            typed[item] = places
            if not any(places.values()):
                continue
            wanted = {str(n) for n in range(1, len(ids) + 1)}
            if set(places.values()) != wanted:
                errors[item] = _(
                    "Give each option its own place, from 1 to %(count)s, or leave them all empty."
                ) % {"count": len(ids)}
                continue
            answers[item] = sorted(ids, key=lambda i: int(places[i]))
        else:
            value = post.get(name, "").strip()
            typed[item] = value
            if not value:
                continue
            if qtype == QuestionType.TRUE_FALSE:
                # Anything but the two buttons' values goes on as text: paper_submit refuses it.
                answers[item] = {"true": True, "false": False}.get(value, value)
            elif (
                qtype in (QuestionType.FILL, QuestionType.NUMERIC) and len(value) > MAX_TEXT_ANSWER
            ):
                errors[item] = _("This answer is too long.")
            else:
                answers[item] = value
    return answers, errors, typed


def blanks_from_post(post: QueryDict, entries: list[dict[str, Any]]) -> dict[int, None]:
    """The items whose fields the form posted empty (a text cleared, an ordering's
    places all unset): their saved answers (quizzes.papers.autosave) must not stand,
    as the page showed them unanswered. Unchecked boxes post nothing: a choice item
    left out keeps its saved answer, as the page showed it checked."""
    blanks: dict[int, None] = {}
    for entry in entries:
        name, qtype = _field(entry), entry["type"]
        if qtype == QuestionType.ORDERING:
            fields = [f"{name}-{option['id']}" for option in entry["options"]]
            if any(f in post for f in fields) and not any(post.get(f, "").strip() for f in fields):
                blanks[entry["item"]] = None
        elif (
            qtype in (QuestionType.FILL, QuestionType.NUMERIC)
            and name in post
            and not post.get(name, "").strip()
        ):
            blanks[entry["item"]] = None
    return blanks


def typed_from_answer(entry: dict[str, Any], answer: Any) -> Any:
    """A saved answer as the form shows it (what answers_from_post reads back)."""
    qtype = entry["type"]
    if qtype == QuestionType.MULTIPLE:
        return list(answer) if isinstance(answer, list) else []
    if qtype == QuestionType.ORDERING:
        order = list(answer) if isinstance(answer, list) else []
        return {option_id: str(n) for n, option_id in enumerate(order, start=1)}
    if qtype == QuestionType.TRUE_FALSE:
        return {True: "true", False: "false"}.get(answer, "") if isinstance(answer, bool) else ""
    return "" if answer is None else str(answer)


# What a paper's form loads per item: the player's view of it and its saved answer.
FORM_ITEM_FIELDS = (*PLAYER_ITEM_FIELDS, "draft__item_id", "draft__answer")
# What the page needs of the paper when it comes with its items (paper_form_open).
FORM_PAPER_FIELDS = (
    "paper__id",
    "paper__user_id",
    "paper__blueprint_id",
    "paper__total_points",
    "paper__submitted_at",
    "paper__blueprint__id",
    "paper__blueprint__name",
    "paper__blueprint__mode",
)


def _form_view(
    paper: Paper, items: Iterable[PaperItem], english: bool
) -> tuple[dict[str, Any], dict[int, Any]]:
    entries, typed = [], {}
    for item in items:
        entry = player_entry(
            item=item.pk,
            position=item.position,
            version=item.version,
            option_order=item.option_order,
            points=item.points,
            english=english,
        )
        entries.append(entry)
        draft = getattr(item, "draft", None)
        if draft is not None and draft.answer is not None:
            typed[item.pk] = typed_from_answer(entry, draft.answer)
    view = {"paper": paper.pk, "total_points": paper.total_points, "items": entries}
    return view, typed


def paper_form_view(paper: Paper, *, english: bool) -> tuple[dict[str, Any], dict[int, Any]]:
    """The player view of a paper not yet submitted (as player_view, without its
    `answered` flags: nothing is answered before the submit) and, by item id, the saved
    answers as the form shows them: one query, the items with their versions and
    saved answers."""
    items = (
        paper.items.select_related("version", "draft").only(*FORM_ITEM_FIELDS).order_by("position")
    )
    return _form_view(paper, items, english)


def paper_form_open(
    paper_id: int, owns: Callable[[Paper], bool], *, english: bool
) -> tuple[Paper, dict[str, Any], dict[int, Any]] | None:
    """paper_form_view of a paper found by id, the paper (with its blueprint, only the
    fields the form shows) loaded with its items in the same query: the paper page is
    the hottest page of a practice rush. None, and the caller goes the long way
    (own_paper, then the results or a 404), when the paper is not `owns`', is
    submitted or has no items."""
    items = list(
        PaperItem.objects.filter(paper_id=paper_id)
        .select_related("paper__blueprint", "version", "draft")
        .only(*FORM_ITEM_FIELDS, *FORM_PAPER_FIELDS)
        .order_by("position")
    )
    if not items:
        return None
    paper = items[0].paper
    if paper.submitted_at is not None or not owns(paper):
        return None
    view, typed = _form_view(paper, items, english)
    return paper, view, typed


def form_items(
    entries: list[dict[str, Any]],
    errors: dict[int, str],
    typed: dict[int, Any],
    *,
    fieldsets: bool = False,
) -> list[dict[str, Any]]:
    """The player view's items with what the form needs to show them again, and
    `inputs`: the stem and inputs as HTML (quizzes.papers.inputs); with `fieldsets`,
    `fieldset`: the whole question of a paper's form, legend included (built in Python
    too: a plural blocktranslate and a few numbers per item, in the template, were a
    good part of a paper page's CPU)."""
    shown = []
    for entry in entries:
        value = typed.get(entry["item"])
        options = []
        for option in entry.get("options", []):
            state = {**option}
            if entry["type"] == QuestionType.ORDERING:
                state["place"] = (value or {}).get(option["id"], "")
            elif entry["type"] == QuestionType.MULTIPLE:
                state["checked"] = option["id"] in (value or [])
            else:
                state["checked"] = option["id"] == value
            options.append(state)
        item = {
            **entry,
            "field": _field(entry),
            "options": options,
            "places": [str(n) for n in range(1, len(options) + 1)],
            "value": value if isinstance(value, str) else "",
            "error": errors.get(entry["item"], ""),
        }
        item["inputs"] = answer_inputs(item)
        if fieldsets:
            item["legend"] = ngettext(
                "Question %(n)s · %(points)s point",
                "Question %(n)s · %(points)s points",
                entry["points"],
            ) % {"n": entry["position"], "points": entry["points"]}
            item["fieldset"] = paper_fieldset(item)
        shown.append(item)
    return shown


def _answer_form(
    request: HttpRequest,
    paper: Paper,
    view: dict[str, Any],
    pages: PaperPages,
    errors: dict[int, str] | None = None,
    typed: dict[int, Any] | None = None,
) -> HttpResponse:
    return render(
        request,
        "quizzes/paper_detail.html",
        {
            "paper": paper,
            "blueprint": paper.blueprint,
            "items": form_items(view["items"], errors or {}, typed or {}, fieldsets=True),
            "error_count": len(errors or {}),
            "total_points": view["total_points"],
            **pages.links(paper),
        },
    )


def paper_page(request: HttpRequest, paper: Paper, pages: PaperPages) -> HttpResponse:
    """A whole paper: the answer form (with the saved answers) until it is submitted,
    then the results."""
    if paper.submitted_at is None:
        view, saved = paper_form_view(paper, english=english())
        return _answer_form(request, paper, view, pages, typed=saved)
    return render(
        request,
        "quizzes/paper_results.html",
        {
            "paper": paper,
            "blueprint": paper.blueprint,
            "results": paper_results(paper, english=english()),
            **pages.links(paper),
        },
    )


def paper_answers_submit(request: HttpRequest, paper: Paper, pages: PaperPages) -> HttpResponse:
    """Submit a whole paper's answer form, once; the form again with the errors."""
    already = _("This paper was already submitted; your answers stay as they were.")
    if paper.submitted_at is not None:
        messages.info(request, already)
        return redirect(pages.detail, paper.pk)
    view = player_view(paper, english=english())
    answers, errors, typed = answers_from_post(request.POST, view["items"])
    answers = {**blanks_from_post(request.POST, view["items"]), **answers}
    if not errors:
        try:
            submitted = paper_submit(paper=paper, answers=answers)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                raise
            errors = {int(item): " ".join(text) for item, text in error.message_dict.items()}
        else:
            if submitted:
                messages.success(request, _("Your answers are in. Here are the results."))
            else:
                messages.info(request, already)
            return redirect(pages.detail, paper.pk)
    return _answer_form(request, paper, view, pages, errors, typed)


def whole_paper_views(pages: PaperPages, *, guests: bool = False):
    """The page of a whole paper of `pages`' modes (the form, then the results), its
    submit view (the form's POST, or JSON: quizzes.papers.answer_api) and its answer
    save (JSON): the player's own papers only (and a guest's own, with `guests`)."""
    allowed = play_or_guest if guests else play_required

    @never_cache
    @require_GET
    @allowed
    def detail(request: HttpRequest, paper_id: int) -> HttpResponse:
        owns = owner_check(request, pages.modes, guests)
        found = paper_form_open(paper_id, owns, english=english())
        if found is not None:
            paper, view, saved = found
            return _answer_form(request, paper, view, pages, typed=saved)
        return paper_page(request, own_paper(request, paper_id, pages.modes), pages)

    @never_cache
    @require_POST
    @allowed
    def submit(request: HttpRequest, paper_id: int) -> HttpResponse:
        paper = own_paper(request, paper_id, pages.modes)
        if wants_json(request):
            return json_submit(request, paper, pages.detail)
        return paper_answers_submit(request, paper, pages)

    @never_cache
    @require_POST
    @allowed
    def answers(request: HttpRequest, paper_id: int) -> HttpResponse:
        return answer_save_view(
            request, paper_id, modes=pages.modes, guests=guests, own_paper=own_paper
        )

    return detail, submit, answers
