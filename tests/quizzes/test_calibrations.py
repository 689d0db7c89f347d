"""Calibrating a bank from recorded answers (quizzes.bank.calibrations, the task, the
command), and what happens to a run when its worker dies (quizzes.models.jobs)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from itertools import pairwise

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from scipy.stats import spearmanr

from quizzes.bank import calibrations
from quizzes.bank.calibrations import calibration_request, calibration_run
from quizzes.models import CalibrationRun, ItemParameters
from quizzes.tasks import calibrate_bank
from tests.factories import UserFactory
from tests.quizzes.answered import answered_bank, true_difficulties
from tests.quizzes.factories import BankFactory

pytestmark = pytest.mark.django_db

ITEMS = 10
TRUE_B = true_difficulties(ITEMS)


def test_a_calibration_recovers_the_order_of_difficulty_and_stores_it():
    bank, versions = answered_bank()
    run = calibration_run(run=CalibrationRun.objects.create(bank=bank))
    assert run.status == CalibrationRun.Status.DONE, run.message
    assert run.summary["calibrated"] == ITEMS and run.summary["responses"] == 400 * ITEMS
    stored = {p.version_id: p for p in ItemParameters.objects.all()}
    b = [stored[v.pk].b for v in versions]
    assert spearmanr(b, TRUE_B).statistic > 0.95
    assert all(0.6 < stored[v.pk].a < 2.5 for v in versions)
    assert all(stored[v.pk].responses == 400 and stored[v.pk].run == run for v in versions)


def test_anchors_keep_their_parameters_and_thin_items_keep_theirs():
    bank, versions = answered_bank()
    ItemParameters.objects.create(version=versions[0], a=1.3, b=-1.5, anchor=True)
    run = calibration_run(run=CalibrationRun.objects.create(bank=bank), min_responses=401)
    assert run.status == CalibrationRun.Status.DONE
    assert run.summary["anchors"] == 1 and run.summary["calibrated"] == 0
    anchor = ItemParameters.objects.get(version=versions[0])
    assert (anchor.a, anchor.b) == (1.3, -1.5)
    assert ItemParameters.objects.count() == 1


def test_a_moved_item_is_flagged_as_drifted():
    bank, versions = answered_bank()
    ItemParameters.objects.create(version=versions[-1], a=1.3, b=-1.5)  # really +1.5
    calibration_run(run=CalibrationRun.objects.create(bank=bank))
    moved = ItemParameters.objects.get(version=versions[-1])
    assert [d["parameter"] for d in moved.drift] == ["a", "b"]
    assert moved.drift[1]["from"] == -1.5 and moved.drift[1]["to"] > 0.5
    assert ItemParameters.objects.exclude(drift=[]).count() == 1


def test_a_bank_without_answers_fails_with_a_message_and_stores_nothing():
    run = calibration_run(run=CalibrationRun.objects.create(bank=BankFactory()))
    assert run.status == CalibrationRun.Status.FAILED
    assert run.message
    assert not ItemParameters.objects.exists()


def test_a_run_is_taken_once():
    bank, _ = answered_bank(persons=60)
    run = CalibrationRun.objects.create(bank=bank, status=CalibrationRun.Status.RUNNING)
    assert calibration_run(run=run).status == CalibrationRun.Status.RUNNING
    assert not ItemParameters.objects.exists()


def test_owners_queue_one_calibration_at_a_time_and_the_task_runs_it(
    celery_eager, django_capture_on_commit_callbacks
):
    bank, _ = answered_bank(persons=120)
    owner = bank.owners.first()
    with pytest.raises(PermissionDenied):
        calibration_request(bank=bank, actor=UserFactory(role="organizer"))
    CalibrationRun.objects.create(bank=bank)  # one already queued
    with pytest.raises(ValidationError):
        calibration_request(bank=bank, actor=owner)
    CalibrationRun.objects.all().delete()
    with pytest.raises(ValidationError):
        calibration_request(bank=bank, actor=owner, model="4pl")
    with django_capture_on_commit_callbacks(execute=True):
        run = calibration_request(bank=bank, actor=owner)
    run.refresh_from_db()
    assert run.status == CalibrationRun.Status.DONE
    assert ItemParameters.objects.count() == ITEMS


def test_the_command_calibrates_and_reports():
    bank, _ = answered_bank(persons=120)
    out = StringIO()
    call_command("calibrate", "--bank", bank.name, "--min-responses", "100", stdout=out)
    assert ItemParameters.objects.count() == ITEMS
    with pytest.raises(CommandError):
        call_command("calibrate", "--bank", "no such bank", stdout=StringIO())


# --- the organizer page --------------------------------------------------------------------


def test_an_owner_starts_a_calibration_from_the_page_and_sees_the_parameters(
    client, celery_eager, django_capture_on_commit_callbacks
):
    bank, versions = answered_bank(persons=120)
    owner = bank.owners.first()
    client.force_login(owner)
    url = reverse("quizzes:calibration", args=[bank.pk])
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"model": "2pl"}).status_code == 302
    page = client.get(url).content.decode()
    assert CalibrationRun.objects.get(bank=bank).status == CalibrationRun.Status.DONE
    assert f'href="{reverse("quizzes:question", args=[versions[0].question_id])}"' in page
    assert 'hx-trigger="every 2s"' not in page  # nothing running: no polling


def test_a_running_calibration_polls_its_progress_and_others_cannot_start_one(client):
    bank, _ = answered_bank(persons=60)
    CalibrationRun.objects.create(bank=bank, status=CalibrationRun.Status.RUNNING, progress=40)
    reviewer = bank.reviewers.first()
    client.force_login(reviewer)
    url = reverse("quizzes:calibration", args=[bank.pk])
    part = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in part and 'value="40"' in part
    assert "<html" not in part
    assert client.post(url, {"model": "2pl"}).status_code == 403
    assert CalibrationRun.objects.count() == 1
    client.force_login(UserFactory())
    assert client.get(url).status_code in (403, 404)


# --- when a worker dies: claimed by task id, heartbeat, expiry ----------------------------

RUNNING = CalibrationRun.Status.RUNNING


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def left_running(bank, *, task_id="task-1", silent_for=5.0, attempts=1) -> CalibrationRun:
    """A run whose worker was killed after its last heartbeat `silent_for` seconds ago."""
    return CalibrationRun.objects.create(
        bank=bank,
        status=RUNNING,
        task_id=task_id,
        attempts=attempts,
        progress=40,
        heartbeat_at=ago(silent_for),
    )


def test_the_queued_task_carries_the_id_stored_on_its_run(
    monkeypatch, django_capture_on_commit_callbacks
):
    bank = BankFactory()
    sent = []
    monkeypatch.setattr(calibrate_bank, "apply_async", lambda *a, **kw: sent.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        run = calibration_request(bank=bank, actor=bank.owners.first())
    assert run.task_id and sent == [(((run.pk,),), {"task_id": run.task_id})]


def test_a_redelivered_task_takes_over_the_run_its_killed_worker_left_running():
    bank, _ = answered_bank(persons=60)
    run = left_running(bank)
    assert calibrate_bank.apply((run.pk,), task_id="task-1").get() == "done"
    run.refresh_from_db()
    assert run.status == CalibrationRun.Status.DONE and run.progress == 100
    assert run.attempts == 2 and run.task_id == "task-1"
    assert ItemParameters.objects.filter(run=run).count() == ITEMS


def test_another_task_cannot_take_a_live_run():
    bank, _ = answered_bank(persons=60)
    running = left_running(bank)
    assert calibrate_bank.apply((running.pk,), task_id="task-2").get() == "running"
    queued = CalibrationRun.objects.create(bank=bank, task_id="task-3")
    assert calibrate_bank.apply((queued.pk,), task_id="task-2").get() == "queued"
    running.refresh_from_db()
    assert (running.task_id, running.attempts, running.progress) == ("task-1", 1, 40)
    assert not ItemParameters.objects.exists()


def test_a_run_that_killed_its_worker_every_time_is_given_up():
    bank, _ = answered_bank(persons=60)
    run = left_running(bank, attempts=3)  # redelivered twice already
    assert calibrate_bank.apply((run.pk,), task_id="task-1").get() == "failed"
    run.refresh_from_db()
    assert run.expired == CalibrationRun.Expiry.GAVE_UP
    assert not ItemParameters.objects.exists()


def test_the_heartbeat_is_touched_while_a_calibration_runs(monkeypatch):
    monkeypatch.setattr(calibrations, "PROGRESS_EVERY_S", 0.0)  # every EM step
    bank, _ = answered_bank(persons=120)
    run = CalibrationRun.objects.create(bank=bank)
    beats = []

    def report(_iteration: int, _percent: int) -> None:
        beats.append(CalibrationRun.objects.values_list("heartbeat_at", flat=True).get())

    before = timezone.now()
    assert calibration_run(run=run, report=report).status == CalibrationRun.Status.DONE
    assert len(beats) >= 3 and before < beats[0]
    assert all(earlier < later for earlier, later in pairwise(beats))


def test_an_attempt_that_lost_its_run_stops_and_stores_nothing(monkeypatch):
    monkeypatch.setattr(calibrations, "PROGRESS_EVERY_S", 0.0)
    bank, _ = answered_bank(persons=120)
    run = CalibrationRun.objects.create(bank=bank, task_id="task-1")

    def redelivered(_iteration: int, _percent: int) -> None:
        # Celery hands the same task to a second worker while this one still runs.
        assert CalibrationRun.objects.claim(run.pk, task_id="task-1") is not None

    run = calibration_run(run=run, task_id="task-1", report=redelivered)
    assert (run.status, run.attempts) == (RUNNING, 2)  # the second attempt's now
    assert not ItemParameters.objects.exists()


def test_a_run_expired_under_its_worker_stays_expired(monkeypatch):
    monkeypatch.setattr(calibrations, "PROGRESS_EVERY_S", 0.0)
    bank, _ = answered_bank(persons=120)
    run = CalibrationRun.objects.create(bank=bank)

    def stalled(_iteration: int, _percent: int) -> None:
        CalibrationRun.objects.filter(pk=run.pk).update(heartbeat_at=ago(10_000))
        CalibrationRun.objects.expire_stale()

    run = calibration_run(run=run, report=stalled)
    assert run.status == CalibrationRun.Status.FAILED
    assert run.expired == CalibrationRun.Expiry.NO_HEARTBEAT
    assert not ItemParameters.objects.exists()


@pytest.mark.parametrize(
    "stuck, reason",
    [
        ({"status": RUNNING, "heartbeat_at": -1}, "no_heartbeat"),
        ({"status": RUNNING, "heartbeat_at": None, "created_at": -1}, "no_heartbeat"),
        ({"task_id": "lost-with-redis", "created_at": -2}, "not_started"),
    ],
    ids=["running-silent", "running-never-beat", "queued-never-started"],
)
def test_a_stuck_run_expires_and_a_new_calibration_starts(
    stuck, reason, celery_eager, django_capture_on_commit_callbacks
):
    limits = {-1: settings.JOB_HEARTBEAT_TIMEOUT + 5, -2: settings.JOB_START_TIMEOUT + 5}
    fields = {k: ago(limits[v]) if v in limits else v for k, v in stuck.items()}
    bank, _ = answered_bank(persons=60)
    old = CalibrationRun.objects.create(bank=bank, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        new = calibration_request(bank=bank, actor=bank.owners.first())
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, old.expired) == (CalibrationRun.Status.FAILED, reason)
    assert old.finished_at and new.status == CalibrationRun.Status.DONE


def test_a_run_within_its_limits_still_holds_the_bank():
    bank = BankFactory()
    left_running(bank, silent_for=settings.JOB_HEARTBEAT_TIMEOUT - 30)
    CalibrationRun.objects.create(bank=bank, created_at=ago(settings.JOB_START_TIMEOUT - 30))
    with pytest.raises(ValidationError):
        calibration_request(bank=bank, actor=bank.owners.first())
    assert CalibrationRun.objects.filter(bank=bank).expire_stale() == 0
    assert CalibrationRun.objects.live().count() == 2


def test_the_page_shows_why_a_stuck_run_expired_and_the_owner_starts_a_new_one(
    client, celery_eager, django_capture_on_commit_callbacks
):
    bank, _ = answered_bank(persons=60)
    stuck = left_running(bank, silent_for=settings.JOB_HEARTBEAT_TIMEOUT + 5)
    client.force_login(bank.owners.first())
    url = reverse("quizzes:calibration", args=[bank.pk])
    part = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' not in part  # nothing under way any more: no polling
    assert str(CalibrationRun.Expiry.NO_HEARTBEAT.label) in part
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"model": "2pl"}).status_code == 302
    stuck.refresh_from_db()
    assert stuck.status == CalibrationRun.Status.FAILED
    assert CalibrationRun.objects.filter(bank=bank).latest("pk").status == "done"


def test_the_command_and_the_periodic_task_give_up_stuck_runs():
    from quizzes.tasks import jobs_expire

    bank, _ = answered_bank(persons=60)
    left_running(bank, silent_for=settings.JOB_HEARTBEAT_TIMEOUT + 5)
    out = StringIO()
    call_command("calibrate", "--bank", bank.name, stdout=out)
    assert CalibrationRun.objects.filter(expired="no_heartbeat").count() == 1
    assert "1" in out.getvalue().splitlines()[0]
    CalibrationRun.objects.create(bank=bank, created_at=ago(settings.JOB_START_TIMEOUT + 5))
    assert jobs_expire.apply().get() == 1
    assert jobs_expire.apply().get() == 0
    assert "quizzes.jobs_expire" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
