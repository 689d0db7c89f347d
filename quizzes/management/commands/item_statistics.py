"""`manage.py item_statistics --bank NAME`: recompute a bank's item statistics now,
with the same service the Celery task calls."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from quizzes.bank import statistics
from quizzes.bank.item_statistics import item_statistics_update
from quizzes.models import Bank, ItemStatistics


class Command(BaseCommand):
    help = "Compute item statistics (facility, discrimination, distractors, flags) for a bank."

    def add_arguments(self, parser):
        parser.add_argument("--bank", required=True, help="the bank's name")
        parser.add_argument(
            "--min-responses",
            type=int,
            default=statistics.MIN_RESPONSES,
            help="responses an item needs before it is flagged",
        )

    def handle(self, *args, bank: str, min_responses: int, **options):
        found = Bank.objects.filter(name=bank).first()
        if found is None:
            raise CommandError(_("No bank is named “%(name)s”.") % {"name": bank})
        updated = item_statistics_update(bank=found, min_responses=min_responses)
        flagged = (
            ItemStatistics.objects.filter(version__question__bank=found).exclude(flags=[]).count()
        )
        self.stdout.write(
            _("%(updated)s items updated, %(flagged)s flagged.")
            % {"updated": updated, "flagged": flagged}
        )
