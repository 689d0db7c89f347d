"""Celery tasks for the question bank: thin adapters that take ids and call a service."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from quizzes.bank.item_statistics import item_statistics_update
from quizzes.models import Bank, CalibrationRun
from quizzes.models.jobs import expire_stale_jobs


@shared_task(name="quizzes.item_statistics", acks_late=True)
def item_statistics(bank_id: int) -> int:
    """Recompute the bank's item statistics (idempotent). Returns the items updated."""
    bank = Bank.objects.filter(pk=bank_id).first()
    if bank is None:  # deleted since it was queued
        return 0
    return item_statistics_update(bank=bank)


@shared_task(bind=True, name="quizzes.calibrate", acks_late=True)
def calibrate_bank(self, run_id: int) -> str:
    """Run one queued calibration, claimed by this task's id (idempotent: a run that is
    another task's, or finished, is left alone; a redelivery of this task after its
    worker died takes over the run it left running)."""
    from quizzes.bank.calibrations import calibration_run

    run = CalibrationRun.objects.filter(pk=run_id).first()
    if run is None:  # the bank was deleted since
        return "gone"
    return calibration_run(run=run, task_id=self.request.id).status


@shared_task(name="quizzes.jobs_expire")
def jobs_expire() -> int:
    """Give up background jobs whose worker is gone (queued too long, or running
    without a heartbeat); Celery beat runs it every five minutes. Returns how many."""
    return expire_stale_jobs()


@shared_task(name="quizzes.cohorts_close", acks_late=True)
def cohorts_close(week: str | None = None) -> int:
    """Settle a week's cohorts (by default last week's): who goes up or down a tier.
    Idempotent; Celery beat runs it on Monday mornings (config/settings.py)."""
    from quizzes.play.progress import cohorts_close as close
    from quizzes.play.progress import week_of

    day = date.fromisoformat(week) if week else timezone.localdate() - timedelta(days=7)
    return close(week=week_of(day))
