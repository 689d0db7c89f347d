"""Celery tasks for the question bank: thin adapters that take ids and call a service."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from quizzes.bank.item_statistics import item_statistics_update
from quizzes.models import Bank, CalibrationRun


@shared_task(name="quizzes.item_statistics", acks_late=True)
def item_statistics(bank_id: int) -> int:
    """Recompute the bank's item statistics (idempotent). Returns the items updated."""
    bank = Bank.objects.filter(pk=bank_id).first()
    if bank is None:  # deleted since it was queued
        return 0
    return item_statistics_update(bank=bank)


@shared_task(name="quizzes.calibrate", acks_late=True)
def calibrate_bank(run_id: int) -> str:
    """Run one queued calibration (idempotent: a run already taken is left alone)."""
    from quizzes.bank.calibrations import calibration_run

    run = CalibrationRun.objects.filter(pk=run_id).first()
    if run is None:  # the bank was deleted since
        return "gone"
    return calibration_run(run=run).status


@shared_task(name="quizzes.cohorts_close", acks_late=True)
def cohorts_close(week: str | None = None) -> int:
    """Settle a week's cohorts (by default last week's): who goes up or down a tier.
    Idempotent; Celery beat runs it on Monday mornings (config/settings.py)."""
    from quizzes.play.progress import cohorts_close as close
    from quizzes.play.progress import week_of

    day = date.fromisoformat(week) if week else timezone.localdate() - timedelta(days=7)
    return close(week=week_of(day))
