"""Pages that ask one question at a time (the literacy self-test, the timed
challenge, mistake review): the question with the error of a refused answer, and the
one answer read from the form. A blank is no answer: the page asks again with
"Choose an answer." (status 400) and nothing is sent to the service.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from quizzes.models import Paper, PaperItem
from quizzes.papers.pages import (
    answers_from_post,
    english,
    form_items,
)
from quizzes.papers.selectors import player_view


def current_entry(paper: Paper, item: PaperItem) -> dict[str, Any]:
    """The player view (no key, explanation or marking) of one item of the paper."""
    view = player_view(paper, english=english())
    return next(entry for entry in view["items"] if entry["item"] == item.pk)


def entry_question_page(
    request: HttpRequest,
    entry: dict[str, Any],
    template: str,
    context: dict[str, Any],
    *,
    error: str = "",
    typed: dict[int, Any] | None = None,
) -> HttpResponse:
    """A page that asks one question (a player_entry, as `item` in the template's
    context), with the error of a refused answer (status 400)."""
    errors = {entry["item"]: error} if error else {}
    (shown,) = form_items([entry], errors, typed or {})
    return render(request, template, {**context, "item": shown}, status=400 if error else 200)


def one_question_page(
    request: HttpRequest,
    paper: Paper,
    item: PaperItem,
    template: str,
    context: dict[str, Any],
    *,
    error: str = "",
    typed: dict[int, Any] | None = None,
) -> HttpResponse:
    """A page that asks one question of a paper given an item at a time (`item` in
    the template's context), with the error of a refused answer (status 400)."""
    return entry_question_page(
        request,
        current_entry(paper, item),
        template,
        {"paper": paper, "blueprint": paper.blueprint, **context},
        error=error,
        typed=typed,
    )


def entry_answer_from_post(
    request: HttpRequest, entry: dict[str, Any]
) -> tuple[Any, str, dict[int, Any]]:
    """The answer to one question (a player_entry) from the form: (answer, error, what
    was typed); the answer is None when there is an error to show."""
    answers, errors, typed = answers_from_post(request.POST, [entry])
    item = entry["item"]
    if errors:
        return None, errors[item], typed
    if item not in answers:
        return None, _("Choose an answer."), typed
    return answers[item], "", typed


def one_answer_from_post(
    request: HttpRequest, paper: Paper, item: PaperItem
) -> tuple[Any, str, dict[int, Any]]:
    """The answer to one item of a paper from the form (entry_answer_from_post)."""
    return entry_answer_from_post(request, current_entry(paper, item))
