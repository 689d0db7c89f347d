"""Calibrating a bank's items from recorded answers (services over quizzes.irt.calibration).

calibration_request (an owner asks; the Celery task is queued after commit) and
calibration_run (the task's and the management command's work; a run is claimed by its
task id, beats while it works and expires when its worker is gone: the background-job
rule of quizzes.models.jobs): every answer given on
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
from quizzes.models.jobs import Claim, JobLostError, new_task_id

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
        Bank.objects.select_for_update().filter(pk=bank.pk).first()  # one request at a time
        runs = CalibrationRun.objects.filter(bank=bank)
        runs.expire_stale()  # a run whose worker is gone does not hold the bank
        if runs.live().exists():
            raise ValidationError(_("A calibration of this bank is already under way."))
        task_id = new_task_id()
        run = CalibrationRun.objects.create(
            bank=bank, model=model, started_by=actor, task_id=task_id
        )
        transaction.on_commit(lambda: calibrate_bank.apply_async((run.pk,), task_id=task_id))
    return run


def _answers(bank: Bank, claim: Claim | None = None):
    """(paper ids, version ids, correct) of every answer on the bank's papers that
    belong to an account. A guest's answers count once an account claims the paper:
    anonymous papers are cheap to make, and a script must not move the parameters.
    The claim's heartbeat is touched as the rows come in."""
    rows = Response.objects.filter(
        paper__blueprint__bank=bank, paper__user__isnull=False
    ).values_list("paper_id", "item__version_id", "is_correct")
    papers, versions, correct = [], [], []
    for n, (paper, version, right) in enumerate(rows.iterator(chunk_size=10_000)):
        if claim is not None and not n % 10_000:
            claim.beat()
        papers.append(paper)
        versions.append(version)
        correct.append(right)
    return np.array(papers, dtype=np.int64), np.array(versions, dtype=np.int64), correct


def calibration_run(
    *,
    run: CalibrationRun,
    task_id: str | None = None,
    min_responses: int = MIN_RESPONSES,
    report: Callable | None = None,
) -> CalibrationRun:
    """Calibrate the run's bank and store the parameters, as the task `task_id` (the
    Celery task's own id; a one-off id when None). Idempotent: a run that is not this
    task's to run (another task's, done, failed) is returned untouched; a run that is
    this task's and already running was left by its killed worker, and is taken over."""
    claim = CalibrationRun.objects.claim(run.pk, task_id=task_id or new_task_id())
    if claim is None:
        run.refresh_from_db()
        return run
    try:
        claim.beat(force=True, progress=1)
        _calibrate(run, claim, min_responses, report)
    except JobLostError:  # expired, or a redelivery took it over: that one says how it ends
        pass
    except Exception as failed:
        claim.fail(str(failed))
        if not isinstance(failed, ValueError):  # ValueError: the data, said on the run
            raise
    run.refresh_from_db()
    return run


def _stored_params(stored: dict, version_ids: list[int], missing: tuple) -> ItemParams:
    """The stored parameters of these versions, `missing` (a, b, c) for those without."""
    return ItemParams.of(
        [stored[v].a if v in stored else missing[0] for v in version_ids],
        [stored[v].b if v in stored else missing[1] for v in version_ids],
        [stored[v].c if v in stored else missing[2] for v in version_ids],
    )


def _progress_saver(claim: Claim, report: Callable | None) -> Callable:
    """The calibration's progress callback: the run's progress saved with its heartbeat
    at most every PROGRESS_EVERY_S seconds (and passed to `report`). It raises
    JobLostError out of the EM loop when the run is no longer this claim's."""
    last = [0.0]

    def progress(iteration: int, change: float, _log_posterior: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        # change falls about geometrically towards the tolerance 1e-4.
        done = min(99, max(1, int(100 * np.log(max(change, 1e-12)) / np.log(1e-4))))
        claim.beat(force=True, progress=done)
        if report is not None:
            report(iteration, done)

    return progress


def _calibrate(
    run: CalibrationRun, claim: Claim, min_responses: int, report: Callable | None
) -> None:
    papers, versions, correct = _answers(run.bank, claim)
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
    claim.beat(force=True)  # the answers are read; EM beats on its own from here
    result = calibrate(
        responses_from_arrays(rows, columns, correct),
        model=run.model,
        priors=priors_from_labels([labels.get(v, "medium") for v in version_ids.tolist()]),
        anchors=anchors or None,
        start=start,
        progress=_progress_saver(claim, report),
    )
    enough = counts >= min_responses
    old = _stored_params(stored, version_ids.tolist(), (np.nan, np.nan, np.nan))
    moved = {flag.item for flag in drift_flags(old, result.params, se_b=result.se_b)}
    chosen = [n for n in range(len(version_ids)) if enough[n] and n not in anchors]
    summary = {
        "items": len(version_ids),
        "calibrated": len(chosen),
        "anchors": len(anchors),
        "persons": len(person_ids),
        "responses": len(papers),
        "iterations": int(result.iterations),
        "converged": bool(result.converged),
        "drifted": len(moved & {n for n in range(len(version_ids)) if enough[n]}),
    }
    with transaction.atomic():
        # Done first, on the claim: an attempt that lost the run stores nothing, and
        # the run holds its row lock until the parameters are in.
        claim.finish(progress=100, summary=summary)
        _store(run, version_ids.tolist(), chosen, result, old, moved, counts)


def _store(
    run: CalibrationRun, version_ids: list, chosen: list, result, old, moved: set, counts
) -> None:
    """The chosen versions' new parameters (with their drift from `old`)."""
    now = timezone.now()
    for n in chosen:
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
            version_id=version_ids[n],
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


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
