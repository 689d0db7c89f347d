"""`manage.py calibrate --bank NAME [--model 2pl|3pl] [--min-responses N]`: calibrate a
bank's items now, with the same service the Celery task calls. It first gives up the
background jobs whose worker is gone, as the periodic quizzes.jobs_expire does."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from quizzes.bank.calibrations import MIN_RESPONSES, MODELS, calibration_run
from quizzes.models import Bank, CalibrationRun
from quizzes.models.jobs import expire_stale_jobs, new_task_id


class Command(BaseCommand):
    help = "Calibrate a bank's items (IRT, marginal maximum likelihood) from recorded answers."

    def add_arguments(self, parser):
        parser.add_argument("--bank", required=True, help="the bank's name")
        parser.add_argument("--model", choices=MODELS, default="2pl")
        parser.add_argument(
            "--min-responses",
            type=int,
            default=MIN_RESPONSES,
            help="answers a question needs before its parameters are stored",
        )

    def handle(self, *args, bank: str, model: str, min_responses: int, **options):
        found = Bank.objects.filter(name=bank).first()
        if found is None:
            raise CommandError(_("No bank is named “%(name)s”.") % {"name": bank})
        expired = expire_stale_jobs()
        if expired:
            self.stdout.write(
                ngettext(
                    "%(count)s background job whose worker was gone was given up.",
                    "%(count)s background jobs whose worker was gone were given up.",
                    expired,
                )
                % {"count": expired}
            )
        task_id = new_task_id()
        run = CalibrationRun.objects.create(bank=found, model=model, task_id=task_id)

        def report(iteration: int, percent: int) -> None:
            self.stdout.write(f"  {percent:3d}%  (EM {iteration})")

        run = calibration_run(run=run, task_id=task_id, min_responses=min_responses, report=report)
        if run.status != CalibrationRun.Status.DONE:
            raise CommandError(run.message or run.get_expired_display())
        self.stdout.write(
            _(
                "%(calibrated)s of %(items)s items calibrated from %(responses)s answers "
                "(%(iterations)s EM steps); %(drifted)s moved."
            )
            % run.summary
        )
