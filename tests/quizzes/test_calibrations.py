"""Calibrating a bank from recorded answers (quizzes.bank.calibrations, the task, the command)."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from scipy.stats import spearmanr

from accounts.models import User
from quizzes.bank.calibrations import calibration_request, calibration_run
from quizzes.models import CalibrationRun, ItemParameters, Paper, PaperItem, Response
from quizzes.papers.blueprints import blueprint_create
from tests.factories import UserFactory
from tests.quizzes.factories import BankFactory, fill_bank

pytestmark = pytest.mark.django_db

ITEMS = 10
TRUE_B = np.linspace(-1.5, 1.5, ITEMS)


def answered_bank(persons: int = 400, *, seed: int = 5, items: int = ITEMS):
    """A bank whose papers were answered by simulated people (2PL, a = 1.3)."""
    bank = BankFactory()
    questions = fill_bank(bank, {("single", "knowledge"): items})
    owner = bank.owners.first()
    blueprint = blueprint_create(
        bank=bank,
        name="校准",
        cells=[{"dimension": "knowledge", "count": items, "points": 1}],
        actor=owner,
    )
    versions = [q.versions.get() for q in questions]
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, persons)
    right = rng.random((persons, items)) < 1 / (
        1 + np.exp(-1.3 * (theta[:, None] - TRUE_B[:items]))
    )
    # Each paper a person's with an account: guests' answers do not calibrate.
    people = User.objects.bulk_create(User(username=f"cal-{seed}-{n}") for n in range(persons))
    papers = Paper.objects.bulk_create(
        Paper(blueprint=blueprint, user=person, seed=n, draw_number=n + 1)
        for n, person in enumerate(people)
    )
    paper_items = PaperItem.objects.bulk_create(
        PaperItem(
            paper=paper, position=i + 1, question=v.question, version=v,
            option_order=[o["id"] for o in v.options], points=1, cell=0,
        )
        for paper in papers
        for i, v in enumerate(versions)
    )  # fmt: skip
    Response.objects.bulk_create(
        Response(
            paper=item.paper,
            item=item,
            answer="x",
            is_correct=bool(right[n // items, n % items]),
            score=0,
        )
        for n, item in enumerate(paper_items)
    )
    return bank, versions


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
