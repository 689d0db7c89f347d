"""Saved answers of whole papers (autosave): the latest answer to each item of a
paper not yet submitted, kept in a PaperDraft row until the paper is submitted
(quizzes.papers.marking.paper_close turns them into responses).

A save is idempotent the way live answers are (docs/protocol.md, "Answers"): the
client names it with an `answer_id`; the same id sent again (a retry after a timeout,
even one that arrives after a newer save) is acknowledged again and changes nothing.
A save never says whether the answer is right: keys are due only after submission.

Saves and the submit of one paper are serialised on the paper's row (SELECT … FOR
UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialise every writer): a save
either lands before the submit reads the drafts, or finds the paper submitted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quizzes.bank.answers import is_blank, is_number
from quizzes.models import PaperDraft, PaperItem, QuestionType
from quizzes.papers.marking import answer_check

ANSWER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The answer_ids remembered besides the latest, per item.
EARLIER_IDS = 20


class PaperSubmittedError(Exception):
    """The paper was submitted: its answers cannot change any more."""


class ItemNotOnPaperError(Exception):
    """No such item on this paper."""


@dataclass(frozen=True)
class Saved:
    item: int
    answer_id: str
    changed: bool  # False: this answer_id was saved before, nothing was written


def answer_fits(item: PaperItem, answer: Any) -> None:
    """ValidationError unless `answer` may be saved (and later submitted) for `item`,
    whose version was loaded with its type: the shape of quizzes.bank.answers, and a
    numeric answer must read as a number (paper_close's own rule). A blank fits: it
    clears the saved answer."""
    if is_blank(answer):
        return
    answer_check(item.version, item.option_order, answer)
    if item.version.type == QuestionType.NUMERIC and not is_number(answer):
        raise ValidationError(_("Enter a number."))


def answer_save(*, paper_id: int, item_id: int, answer: Any, answer_id: str, owns) -> Saved:
    """Save the answer to one item of a paper, in one transaction with one read.

    `owns(paper)` says whether the request may answer this paper (the paper comes with
    its blueprint); when it says no, or there is no such paper, Http404 is the
    caller's: LookupError is raised. ItemNotOnPaperError when the item is not on the
    paper, PaperSubmittedError once it is submitted, ValidationError when the answer
    does not fit. A blank answer (None, "", []) clears the saved answer."""
    if not ANSWER_ID.fullmatch(answer_id):
        raise ValueError("answer_id")
    with transaction.atomic():
        item = (
            PaperItem.objects.select_related("paper__blueprint", "version", "draft")
            .select_for_update(of=("paper",))
            .only(
                "id",
                "paper_id",
                "option_order",
                "version__type",
                "paper__id",
                "paper__user_id",
                "paper__submitted_at",
                "paper__blueprint__id",
                "paper__blueprint__mode",
                "draft__item_id",
                "draft__paper_id",
                "draft__answer_id",
                "draft__earlier_ids",
            )
            .filter(pk=item_id, paper_id=paper_id)
            .first()
        )
        if item is None:
            raise ItemNotOnPaperError
        if not owns(item.paper):
            raise LookupError
        if item.paper.submitted_at is not None:
            raise PaperSubmittedError
        draft = getattr(item, "draft", None)
        if draft is not None and (answer_id == draft.answer_id or answer_id in draft.earlier_ids):
            return Saved(item.pk, answer_id, changed=False)
        answer_fits(item, answer)
        value = None if is_blank(answer) else answer
        if draft is None:
            PaperDraft.objects.create(
                item_id=item.pk, paper_id=paper_id, answer=value, answer_id=answer_id
            )
        else:
            earlier = [*draft.earlier_ids, draft.answer_id][-EARLIER_IDS:]
            PaperDraft.objects.filter(pk=item.pk).update(
                answer=value, answer_id=answer_id, earlier_ids=earlier, saved_at=timezone.now()
            )
    return Saved(item.pk, answer_id, changed=True)
