"""Answers to paper items: the shape check (quizzes.bank.answers.response_fits,
the one rule for papers, live rounds and PK), marking one response, and closing a
whole paper with its answers (paper_close; quizzes.play.finish.paper_submit adds
the player's progress in the same transaction).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quizzes.bank.answers import is_blank, is_correct, is_number, response_fits
from quizzes.models import (
    Paper,
    PaperDraft,
    PaperItem,
    QuestionType,
    QuestionVersion,
    Response,
)


def answer_check(version: QuestionVersion, option_ids: list[str], answer: Any) -> None:
    """The shape of an answer (quizzes.bank.answers.response_fits): choices must name
    options of this question (the ids the player was shown); a blank is no answer.
    ValidationError if it does not fit."""
    if not response_fits(version.type, option_ids, answer):
        raise ValidationError(_("This answer does not fit the question."))


def response_submit(*, paper: Paper, item: PaperItem, answer: Any) -> Response:
    """Record the answer to one paper item and mark it. Idempotent: the first answer
    stands, and submitting again returns it unchanged."""
    if item.paper_id != paper.pk:
        raise ValidationError(_("This question is not on this paper."))
    existing = Response.objects.filter(paper=paper, item=item).first()
    if existing is not None:
        return existing
    version = QuestionVersion.objects.only("type", "key").get(pk=item.version_id)
    answer_check(version, item.option_order, answer)
    correct = is_correct(version.type, version.key, answer)
    try:
        with transaction.atomic():
            return Response.objects.create(
                paper=paper,
                item=item,
                answer=answer,
                is_correct=correct,
                score=item.points if correct else 0,
            )
    except IntegrityError:  # a concurrent submit of the same item won
        return Response.objects.get(paper=paper, item=item)


def paper_close(*, paper: Paper, answers: dict[int, Any]) -> bool:
    """Close a paper, once: record its saved answers (quizzes.papers.autosave) and
    the given ones (paper item id → answer; a given answer, blank included, overrides
    the saved one; items with neither, and blank answers, stay unanswered and score
    nothing) and mark it submitted, in one transaction; the saved answers are then
    deleted. The player's progress is not this module's:
    quizzes.play.finish.paper_submit closes a paper and finishes it.

    All or nothing: when an answer does not fit its question, ValidationError names
    every such item (keyed by the item id as a string) and nothing is recorded. A
    paper already submitted is left as it is, whatever is sent: returns False then,
    True when this call submitted it. Keys and explanations are due once it returns.
    """
    items = {
        item.pk: item
        for item in paper.items.select_related("version").only(
            "id", "paper_id", "option_order", "points", "version_id", "version__type",
            "version__key",
        )
    }  # fmt: skip
    if set(answers) - set(items):
        raise ValidationError(_("This question is not on this paper."))
    now = timezone.now()
    with transaction.atomic():
        # The claim comes first: the conditional UPDATE takes the row's write lock, so
        # a concurrent submit (or autosave) of the same paper waits here and then finds
        # it closed.
        claimed = Paper.objects.filter(pk=paper.pk, submitted_at__isnull=True).update(
            submitted_at=now
        )
        if not claimed:
            paper.refresh_from_db(fields=["submitted_at"])
            return False
        drafts = PaperDraft.objects.filter(paper_id=paper.pk).order_by()
        saved = dict(drafts.values_list("item_id", "answer"))  # a cleared one is None
        given = {k: v for k, v in {**saved, **answers}.items() if not is_blank(v)}
        # An item answered before the close (response_submit) keeps its first answer.
        if given:
            given = _unanswered(paper, given)
        errors: dict[str, list[str]] = {}
        marked = []
        for item_id, answer in given.items():
            item = items[item_id]
            try:
                marked.append(_marked(paper, item, answer, now))
            except ValidationError as error:
                errors[str(item_id)] = list(error.messages)
        if errors:
            raise ValidationError(errors)  # rolls back the claim and every answer
        Response.objects.bulk_create(marked)
        if saved:
            drafts.delete()
    paper.submitted_at = now
    return True


def _unanswered(paper: Paper, given: dict[int, Any]) -> dict[int, Any]:
    answered = set(
        Response.objects.filter(paper=paper, item_id__in=list(given))
        .order_by()
        .values_list("item_id", flat=True)
    )
    return {k: v for k, v in given.items() if k not in answered}


def _marked(paper: Paper, item: PaperItem, answer: Any, now) -> Response:
    """The response to `item` (its version loaded with type and key), marked;
    ValidationError if the answer does not fit (a numeric one must be a number)."""
    version = item.version
    if version.type == QuestionType.NUMERIC and not is_number(answer):
        raise ValidationError(_("Enter a number."))
    answer_check(version, item.option_order, answer)
    correct = is_correct(version.type, version.key, answer)
    return Response(
        paper=paper,
        item=item,
        answer=answer,
        is_correct=correct,
        score=item.points if correct else 0,
        answered_at=now,
    )
