"""Background jobs a Celery task claims: one rule for their status, so that a killed
worker or a lost task never locks a job for ever. CalibrationRun is built on it; a
second job (an export, a statistics refresh with a status) takes `BackgroundJob` as its
base and gets the same rule.

queued    The service that wants the work makes the row `queued` with the id of the
          Celery task that will do it (`new_task_id()`, given to `apply_async`), in the
          same transaction, and queues the task after commit.
claim     The task claims the row (`objects.claim`) with a conditional UPDATE:
          queued → running, or running → running again when the row is this same task
          id's (Celery redelivered the task after its worker died: it takes over its own
          job). Another task id never takes a live job. Each claim counts an attempt,
          and the attempt fences the claim: a heartbeat or the final write of an older
          attempt of the same task finds nothing to update, and that attempt stops
          (`JobLostError`). After MAX_ATTEMPTS claims the job is given up instead: with
          acks_late and reject_on_worker_lost, a job that kills its worker each time
          would otherwise be redelivered for ever.
heartbeat While it works, the claimed job touches `heartbeat_at` (`Claim.beat`).
expiry    A queued job not started within settings.JOB_START_TIMEOUT seconds, and a
          running one whose heartbeat is older than settings.JOB_HEARTBEAT_TIMEOUT, is
          stale: `objects.expire_stale()` marks it failed, with the reason in `expired`.
          Whoever asks calls it first (the page listing the jobs, the service starting a
          new one), and so do the management command and the periodic task
          quizzes.jobs_expire (`expire_stale_jobs`).
finish    `Claim.finish`: running → done, conditional on the claim; called in the same
          transaction as the job's results, so an expired or overtaken attempt writes
          nothing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Claims of one job before it is given up (a constant: no deployment needs another).
MAX_ATTEMPTS = 3
BEAT_EVERY_S = 1.0  # at most this often an unforced heartbeat writes


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


LIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class Expiry(models.TextChoices):
    """Why a job was given up without an error of its own (shown where it is listed)."""

    NOT_STARTED = "not_started", _("Expired: no worker started it in time.")
    NO_HEARTBEAT = (
        "no_heartbeat",
        _("Expired: its worker stopped while it ran (stopped, killed or cut off)."),
    )
    GAVE_UP = "gave_up", _("Given up: its worker stopped each time it started it.")


class JobLostError(Exception):
    """The job is no longer this claim's: it expired, or a redelivery of the same task
    took it over. The attempt stops and writes nothing more."""


def new_task_id() -> str:
    """The id to give both the job row and `apply_async(task_id=...)`."""
    return str(uuid.uuid4())


@dataclass
class Claim:
    """One attempt's hold on a running job: heartbeats and the final write go through
    it, each a conditional UPDATE on (status, task id, attempt)."""

    model: type[BackgroundJob]
    pk: int
    task_id: str
    attempt: int
    last_beat: float = field(default_factory=time.monotonic)

    def _mine(self) -> models.QuerySet:
        return self.model.objects.filter(
            pk=self.pk, status=JobStatus.RUNNING, task_id=self.task_id, attempts=self.attempt
        )

    def beat(self, *, force: bool = False, **fields: Any) -> None:
        """Touch the heartbeat (and save `fields`, e.g. progress): always when forced,
        else at most every BEAT_EVERY_S. Raises JobLostError when the job is not ours."""
        now = time.monotonic()
        if not force and now - self.last_beat < BEAT_EVERY_S:
            return
        self.last_beat = now
        if not self._mine().update(heartbeat_at=timezone.now(), **fields):
            raise JobLostError(self.pk)

    def finish(self, **fields: Any) -> None:
        """running → done with `fields`; raises JobLostError when the job is not ours."""
        now = timezone.now()
        if not self._mine().update(
            status=JobStatus.DONE, heartbeat_at=now, finished_at=now, **fields
        ):
            raise JobLostError(self.pk)

    def fail(self, message: str) -> bool:
        """running → failed with `message`, if the job is still ours."""
        now = timezone.now()
        return bool(
            self._mine().update(
                status=JobStatus.FAILED, message=message[:300], heartbeat_at=now, finished_at=now
            )
        )


class JobQuerySet(models.QuerySet):
    def live(self) -> JobQuerySet:
        return self.filter(status__in=LIVE)

    def expire_stale(self) -> int:
        """Mark this queryset's stale jobs failed (module docstring); returns how many.
        Pages call it on every view: when nothing is stale it only reads."""
        now = timezone.now()
        not_started = Q(
            status=JobStatus.QUEUED,
            created_at__lt=now - timedelta(seconds=settings.JOB_START_TIMEOUT),
        )
        silent_since = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
        silent = Q(status=JobStatus.RUNNING) & (
            Q(heartbeat_at__lt=silent_since)
            | Q(heartbeat_at__isnull=True, created_at__lt=silent_since)  # never claimed
        )
        if not self.filter(not_started | silent).exists():
            return 0
        failed = {"status": JobStatus.FAILED, "finished_at": now}
        expired = self.filter(not_started).update(expired=Expiry.NOT_STARTED, **failed)
        return expired + self.filter(silent).update(expired=Expiry.NO_HEARTBEAT, **failed)

    def claim(self, pk: int, *, task_id: str) -> Claim | None:
        """Claim job `pk` for the task `task_id` (module docstring), or None when it is
        not this task's to run: done, failed, another task's, or just claimed by a
        second delivery of this one."""
        row = self.filter(pk=pk).values("status", "task_id", "attempts").first()
        if row is None or not task_id:
            return None
        status, owner, attempts = row["status"], row["task_id"], row["attempts"]
        if status == JobStatus.QUEUED:
            ours = owner in ("", task_id)  # blank: made before task ids were stored
        else:
            ours = status == JobStatus.RUNNING and owner == task_id
        if not ours:
            return None
        unchanged = self.filter(pk=pk, status=status, task_id=owner, attempts=attempts)
        now = timezone.now()
        if attempts >= MAX_ATTEMPTS:
            unchanged.update(status=JobStatus.FAILED, expired=Expiry.GAVE_UP, finished_at=now)
            return None
        if not unchanged.update(
            status=JobStatus.RUNNING, task_id=task_id, attempts=attempts + 1, heartbeat_at=now
        ):
            return None
        return Claim(self.model, pk, task_id, attempts + 1)


class BackgroundJob(models.Model):
    """The fields of the rule; a job model adds what its work needs."""

    Status = JobStatus
    Expiry = Expiry

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # The Celery task that runs it (blank: no task yet, e.g. a row made by hand).
    task_id = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)  # claims so far
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    expired = models.CharField(max_length=16, choices=Expiry.choices, blank=True, default="")
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


def expire_stale_jobs() -> int:
    """Expire the stale jobs of every job model (the periodic check); returns how many."""
    return sum(
        model.objects.expire_stale()
        for model in apps.get_models()
        if issubclass(model, BackgroundJob)
    )
