"""The light JSON endpoints of whole papers (docs/papers-api.md): save (autosave) one
answer, and submit the paper with its saved answers. They serve the page's script
(frontend/static/js/paper-autosave.js) and any client; the page's form POST stays as
it was, so the page works without JavaScript.

Errors are JSON `{"error": <code>, "detail": <text>}`: 400 for a body or an answer
that cannot be taken (nothing changes then), 404 for a paper that is not the
requester's own (never a 403 that confirms it), 409 once the paper is submitted.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from quizzes.models import Paper
from quizzes.papers.autosave import (
    ANSWER_ID,
    ItemNotOnPaperError,
    PaperSubmittedError,
    answer_save,
)
from quizzes.play.finish import paper_submit
from quizzes.play.guest import guest_paper_ids

# A save is one answer: a fill-in answer is at most 200 characters, an ordering a few
# dozen ids. A submit carries at most every answer of a paper.
MAX_SAVE_BODY = 8 * 1024
MAX_SUBMIT_BODY = 256 * 1024


class BadRequestError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def error(code: str, detail: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse(
        {"error": code, "detail": detail, **extra},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def json_body(request: HttpRequest, limit: int, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object, read without trusting its declared length beyond
    `limit` bytes; BadRequestError if it is too large, not JSON or not an object. An
    empty body is {} unless `required`."""
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BadRequestError("too_large", _("The request is too large."))
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise BadRequestError("too_large", _("The request is too large."))
    if not raw.strip() and not required:
        return {}
    if request.content_type != "application/json":
        raise BadRequestError("bad_json", _("Send the body as JSON (application/json)."))
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("bad_json", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequestError("bad_json", _("The body must be a JSON object."))
    return data


def _item_id(value: Any) -> int:
    """A paper item id from JSON: an integer, or its decimal text (object keys)."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    raise ValueError


def owner_check(request: HttpRequest, modes: tuple[str, ...], guests: bool):
    """Whether the request may answer a paper (with its blueprint): the player's own,
    or, with `guests`, a guest's own (kept by their session), of one of `modes`."""

    def owns(paper: Paper) -> bool:
        if paper.blueprint.mode not in modes:
            return False
        if request.user.is_authenticated:
            return paper.user_id == request.user.pk
        return guests and paper.user_id is None and paper.pk in guest_paper_ids(request.session)

    return owns


def answer_save_view(
    request: HttpRequest, paper_id: int, *, modes: tuple[str, ...], guests: bool, own_paper
) -> JsonResponse:
    """POST <page>answers/: save one answer. `own_paper(request, paper_id, modes)`
    raises Http404 for a paper that is not the requester's (the slow path, only when
    the item is not found on the paper)."""
    try:
        data = json_body(request, MAX_SAVE_BODY)
        if set(data) != {"item", "answer", "answer_id"}:
            raise BadRequestError(
                "bad_body", _('Send "item", "answer" and "answer_id", and nothing else.')
            )
        try:
            item_id = _item_id(data["item"])
        except ValueError:
            raise BadRequestError(
                "bad_item", _("There is no such question on this paper.")
            ) from None
        answer_id = data["answer_id"]
        if not isinstance(answer_id, str) or not ANSWER_ID.fullmatch(answer_id):
            raise BadRequestError(
                "bad_answer_id",
                _("answer_id must be 1 to 64 letters, digits, '-' or '_'."),
            )
    except BadRequestError as bad:
        own_paper(request, paper_id, modes)  # someone else's paper is a 404 whatever is sent
        return error(bad.code, bad.detail)
    try:
        saved = answer_save(
            paper_id=paper_id,
            item_id=item_id,
            answer=data["answer"],
            answer_id=answer_id,
            owns=owner_check(request, modes, guests),
        )
    except LookupError:
        raise Http404 from None
    except ItemNotOnPaperError:
        own_paper(request, paper_id, modes)
        return error("bad_item", _("There is no such question on this paper."))
    except PaperSubmittedError:
        return error("submitted", _("This paper was already submitted."), status=409)
    except ValidationError as refused:
        return error("bad_answer", " ".join(refused.messages))
    return JsonResponse({"saved": True, "item": saved.item, "answer_id": saved.answer_id})


def json_submit(request: HttpRequest, paper: Paper, detail: str) -> JsonResponse:
    """POST <page>submit/ with Accept: application/json: submit the paper with its
    saved answers and those in the body (`{"answers": {<item id>: <answer>}}`,
    overriding the saved ones; null clears one). All or nothing, as the form."""
    url = reverse(detail, args=[paper.pk])
    try:
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # Form fields are not answers here: a form wanting JSON back is a client's
            # mistake, not a submit of the saved answers alone.
            raise BadRequestError("bad_json", _("Send the body as JSON (application/json)."))
        data = json_body(request, MAX_SUBMIT_BODY, required=False)
        if set(data) - {"answers"}:
            raise BadRequestError("bad_body", _('Send only "answers".'))
        given = data.get("answers", {})
        if not isinstance(given, dict):
            raise BadRequestError("bad_body", _('"answers" must be an object.'))
        try:
            answers = {_item_id(key): value for key, value in given.items()}
        except ValueError:
            raise BadRequestError(
                "bad_item", _("There is no such question on this paper.")
            ) from None
    except BadRequestError as bad:
        return error(bad.code, bad.detail)
    if paper.submitted_at is not None:
        return JsonResponse({"submitted": False, "url": url})
    try:
        submitted = paper_submit(paper=paper, answers=answers)
    except ValidationError as refused:
        if not hasattr(refused, "error_dict"):
            return error("bad_item", " ".join(refused.messages))
        items = {item: " ".join(texts) for item, texts in refused.message_dict.items()}
        return error(
            "bad_answer",
            _("Some answers do not fit their questions. Nothing was submitted."),
            items=items,
        )
    if submitted:
        messages.success(request, _("Your answers are in. Here are the results."))
    return JsonResponse({"submitted": submitted, "url": url})
