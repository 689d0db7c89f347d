"""`manage.py close_cohorts [--week YYYY-MM-DD]`: settle a week's practice cohorts (who
moves up or down a tier), as the Monday Celery beat task does."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from quizzes.tasks import cohorts_close


class Command(BaseCommand):
    help = "Settle the weekly practice cohorts of a week (default: last week)."

    def add_arguments(self, parser):
        parser.add_argument("--week", help="any day of the week, YYYY-MM-DD")

    def handle(self, *args, week: str | None, **options):
        if week is not None:
            try:
                date.fromisoformat(week)
            except ValueError as error:
                raise CommandError(f"--week: {error}") from error
        settled = cohorts_close(week)
        self.stdout.write(f"{settled}")
