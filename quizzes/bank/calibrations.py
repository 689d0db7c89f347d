"""Calibrating a bank's items from recorded answers (services over quizzes.irt.calibration).

calibration_request (an owner asks; the Celery task is queued after commit) and
calibration_run (the task's and the management command's work): every answer given on
a paper drawn from the bank, fixed papers and adaptive tests alike, one person per
paper, one column per question version. Anchor items keep their parameters and hold
the scale; versions with fewer than `min_responses` answers keep what they had (a
stored calibration, or the prior from their difficulty label). Items whose parameters
move beyond the drift thresholds are flagged on their ItemParameters row.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.bank.selectors import bank_role
from quizzes.irt.calibration import (
    calibrate,
    drift_flags,
    priors_from_labels,
    responses_from_arrays,
)
from quizzes.irt.model import ItemParams
from quizzes.models import Bank, CalibrationRun, ItemParameters, QuestionVersion, Response

MODELS = ("2pl", "3pl")
MIN_RESPONSES = 50  # answers a version needs before its parameters are stored
PROGRESS_EVERY_S = 0.5  # at most this often a running calibration writes its progress


def calibration_request(*, bank: Bank, actor: User, model: str = "2pl") -> CalibrationRun:
    """Queue a calibration of the bank (its owners only; one at a time)."""
    from quizzes.tasks import calibrate_bank

    if bank_role(bank=bank, user=actor) != "owner":
        raise PermissionDenied(_("Only the bank's owners calibrate it."))
    if model not in MODELS:
        raise ValidationError(_("Choose the 2PL or the 3PL model."))
    with transaction.atomic():
        busy = CalibrationRun.objects.select_for_update().filter(
            bank=bank, status__in=[CalibrationRun.Status.QUEUED, CalibrationRun.Status.RUNNING]
        )
        if busy.exists():
            raise ValidationError(_("A calibration of this bank is already under way."))
        run = CalibrationRun.objects.create(bank=bank, model=model, started_by=actor)
        transaction.on_commit(lambda: calibrate_bank.delay(run.pk))
    return run


def _answers(bank: Bank):
    """(paper ids, version ids, correct) of every answer on the bank's papers that
    belong to an account. A guest's answers count once an account claims the paper:
    anonymous papers are cheap to make, and a script must not move the parameters."""
    rows = Response.objects.filter(
        paper__blueprint__bank=bank, paper__user__isnull=False
    ).values_list("paper_id", "item__version_id", "is_correct")
    papers, versions, correct = [], [], []
    for paper, version, right in rows.iterator(chunk_size=10_000):
        papers.append(paper)
        versions.append(version)
        correct.append(right)
    return np.array(papers, dtype=np.int64), np.array(versions, dtype=np.int64), correct


def calibration_run(
    *, run: CalibrationRun, min_responses: int = MIN_RESPONSES, report: Callable | None = None
) -> CalibrationRun:
    """Calibrate the run's bank and store the parameters. Idempotent: a run that is
    not queued (another worker took it, or it is done) is returned untouched."""
    claimed = CalibrationRun.objects.filter(pk=run.pk, status=CalibrationRun.Status.QUEUED).update(
        status=CalibrationRun.Status.RUNNING, progress=1
    )
    run.refresh_from_db()
    if not claimed:
        return run
    try:
        summary = _calibrate(run, min_responses, report)
    except Exception as failed:
        CalibrationRun.objects.filter(pk=run.pk).update(
            status=CalibrationRun.Status.FAILED,
            message=str(failed)[:300],
            finished_at=timezone.now(),
        )
        run.refresh_from_db()
        if isinstance(failed, ValueError):  # the data: said on the run, not a crash
            return run
        raise
    CalibrationRun.objects.filter(pk=run.pk).update(
        status=CalibrationRun.Status.DONE, progress=100, summary=summary, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def _stored_params(stored: dict, version_ids: list[int], missing: tuple) -> ItemParams:
    """The stored parameters of these versions, `missing` (a, b, c) for those without."""
    return ItemParams.of(
        [stored[v].a if v in stored else missing[0] for v in version_ids],
        [stored[v].b if v in stored else missing[1] for v in version_ids],
        [stored[v].c if v in stored else missing[2] for v in version_ids],
    )


def _progress_saver(run: CalibrationRun, report: Callable | None) -> Callable:
    """The calibration's progress callback: the run's progress saved at most every
    PROGRESS_EVERY_S seconds (and passed to `report`)."""
    last = [0.0]

    def progress(iteration: int, change: float, _log_posterior: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        # change falls about geometrically towards the tolerance 1e-4.
        done = min(99, max(1, int(100 * np.log(max(change, 1e-12)) / np.log(1e-4))))
        CalibrationRun.objects.filter(pk=run.pk).update(progress=done)
        if report is not None:
            report(iteration, done)

    return progress


def _calibrate(run: CalibrationRun, min_responses: int, report: Callable | None) -> dict:
    papers, versions, correct = _answers(run.bank)
    if not len(papers):
        raise ValueError(_("No answers have been recorded for this bank yet."))
    version_ids, columns, counts = np.unique(versions, return_inverse=True, return_counts=True)
    person_ids, rows = np.unique(papers, return_inverse=True)
    labels = dict(
        QuestionVersion.objects.filter(pk__in=version_ids.tolist()).values_list("pk", "difficulty")
    )
    stored = {p.version_id: p for p in ItemParameters.objects.filter(version_id__in=version_ids)}
    anchors = {
        n: (stored[v].a, stored[v].b, stored[v].c)
        for n, v in enumerate(version_ids.tolist())
        if v in stored and stored[v].anchor
    }
    start = _stored_params(stored, version_ids.tolist(), (1.0, 0.0, 0.0)) if stored else None
    result = calibrate(
        responses_from_arrays(rows, columns, correct),
        model=run.model,
        priors=priors_from_labels([labels.get(v, "medium") for v in version_ids.tolist()]),
        anchors=anchors or None,
        start=start,
        progress=_progress_saver(run, report),
    )
    enough = counts >= min_responses
    old = _stored_params(stored, version_ids.tolist(), (np.nan, np.nan, np.nan))
    moved = {flag.item for flag in drift_flags(old, result.params, se_b=result.se_b)}
    now = timezone.now()
    saved = 0
    with transaction.atomic():
        for n, version in enumerate(version_ids.tolist()):
            if not enough[n] or n in anchors:
                continue
            drift = []
            if n in moved:
                drift = [
                    {
                        "parameter": name,
                        "from": round(float(before[n]), 3),
                        "to": round(float(after[n]), 3),
                    }
                    for name, before, after in (("a", old.a, result.a), ("b", old.b, result.b))
                ]
            ItemParameters.objects.update_or_create(
                version_id=version,
                defaults={
                    "a": float(result.a[n]),
                    "b": float(result.b[n]),
                    "c": float(result.c[n]) if run.model == "3pl" else 0.0,
                    "se_a": _finite(result.se_a[n]),
                    "se_b": _finite(result.se_b[n]),
                    "responses": int(counts[n]),
                    "drift": drift,
                    "run": run,
                    "calibrated_at": now,
                },
            )
            saved += 1
    return {
        "items": len(version_ids),
        "calibrated": saved,
        "anchors": len(anchors),
        "persons": len(person_ids),
        "responses": len(papers),
        "iterations": int(result.iterations),
        "converged": bool(result.converged),
        "drifted": len(moved & {n for n in range(len(version_ids)) if enough[n]}),
    }


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
