"""`manage.py export_questions --bank NAME --format xlsx|csv|moodle|gift FILE`: write a
bank's questions to a file with quizzes.bank.io.export_bank, the organizer page's export."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from quizzes.bank.io import FORMATS, export_bank
from quizzes.models import Bank


class Command(BaseCommand):
    help = "Export a bank's questions to XLSX, CSV, Moodle XML or GIFT."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--bank", required=True, help="the bank's name")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--published-only", action="store_true", help="published versions only")
        parser.add_argument("--language", help="language of the report (zh-hans, en)")

    def handle(self, *args, file, bank, format, published_only, language, **options):
        with translation.override(language or translation.get_language()):
            found = Bank.objects.filter(name=bank).first()
            if found is None:
                raise CommandError(_("No bank is named “%(name)s”.") % {"name": bank})
            result = export_bank(bank=found, fmt=format, published_only=published_only)
            Path(file).write_bytes(result.data)
            for line in result.report.lines():
                self.stdout.write(line)
            self.stdout.write(
                _("%(count)s questions written to %(file)s.")
                % {"count": result.count, "file": file}
            )
