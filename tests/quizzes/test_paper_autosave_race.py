"""A save and the submit of one paper at the same moment, on PostgreSQL (two
connections, READ COMMITTED): they are serialised on the paper's row, so a save either
lands before the submit reads the saved answers (and is marked), or finds the paper
submitted (409). Never a "saved" answer the submit did not see.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from quizzes.models import Paper, PaperDraft, Response
from quizzes.papers.autosave import PaperSubmittedError, answer_save
from quizzes.play.finish import paper_submit
from tests.quizzes import test_paper_pages
from tests.quizzes.test_paper_pages import items_by_type

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

blueprint = test_paper_pages.blueprint
player = test_paper_pages.player
paper = test_paper_pages.paper

HOLD = 0.5  # seconds the other connection keeps its transaction open


def in_thread(work) -> threading.Thread:
    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_submit_waits_for_a_save_in_progress_and_marks_it(paper):
    single = items_by_type(paper)["single"]
    chosen = single.option_order[0]
    started = threading.Event()

    def save_in_progress():
        # What answer_save does, held open: the paper's row locked, the draft written.
        with transaction.atomic():
            Paper.objects.select_for_update().get(pk=paper.pk)
            PaperDraft.objects.create(item=single, paper=paper, answer=chosen, answer_id="s")
            started.set()
            time.sleep(HOLD)

    thread = in_thread(save_in_progress)
    started.wait(5)
    assert paper_submit(paper=Paper.objects.get(pk=paper.pk), answers={}) is True
    thread.join()
    assert Response.objects.get(paper=paper, item=single).answer == chosen


def test_a_save_waits_for_a_submit_in_progress_and_is_refused(paper):
    single = items_by_type(paper)["single"]
    started = threading.Event()

    def submit_in_progress():
        # The submit's claim (quizzes.papers.marking.paper_close), held open.
        with transaction.atomic():
            Paper.objects.filter(pk=paper.pk).update(submitted_at=timezone.now())
            started.set()
            time.sleep(HOLD)

    thread = in_thread(submit_in_progress)
    started.wait(5)
    with pytest.raises(PaperSubmittedError):
        answer_save(
            paper_id=paper.pk,
            item_id=single.pk,
            answer=single.option_order[0],
            answer_id="late",
            owns=lambda _paper: True,
        )
    thread.join()
    assert not PaperDraft.objects.filter(paper=paper).exists()
