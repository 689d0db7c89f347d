"""`manage.py import_questions FILE --bank NAME [--dry-run]`: import a question file
(XLSX, CSV, Moodle XML or GIFT) into a bank, every question or none, and print the
report. The work is quizzes.bank.io.import_questions, the same the organizer page calls.

A file larger than SPREADSHEET_MAX_UPLOAD_BYTES is refused before it is read, as on the
page. Everything happens in one transaction that is rolled back unless the import is
real and succeeds: `--create` with `--dry-run`, or with a file that is refused, leaves
no bank behind."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.bank import services
from quizzes.bank.io import FORMATS, import_questions
from quizzes.models import Bank
from spreadsheets import Limits, read_upload, too_large_message


class Command(BaseCommand):
    help = "Import questions from an XLSX, CSV, Moodle XML or GIFT file into a bank."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--bank", required=True, help="the bank's name")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--format", choices=FORMATS, help="default: from the file name")
        parser.add_argument("--user", help="the importing owner (default: the bank's first)")
        parser.add_argument(
            "--create", action="store_true", help="create the bank (owned by --user) if missing"
        )
        parser.add_argument(
            "--default",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="a value for a field rows leave empty, e.g. dimension=knowledge",
        )
        parser.add_argument("--language", help="language of the report (zh-hans, en)")

    def handle(self, *args, **options):
        with translation.override(options["language"] or translation.get_language()):
            self._import(**options)

    def _import(self, *, file, bank, dry_run, format, user, create, default, **_options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("No file at %(path)s.") % {"path": file})
        limits = Limits.from_settings()
        if path.stat().st_size > limits.max_upload_bytes:
            raise CommandError(str(too_large_message(limits)))
        with path.open("rb") as stream:
            data = read_upload(stream, limits)
        if data is None:  # grew since stat()
            raise CommandError(str(too_large_message(limits)))
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(_("No user is named “%(name)s”.") % {"name": user})
        defaults = {}
        for pair in default:
            name, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(_("--default takes FIELD=VALUE, not “%(v)s”.") % {"v": pair})
            defaults[name.strip()] = value.strip()
        with transaction.atomic():
            # Rolled back unless questions are written: a dry run, or a refused file,
            # leaves no bank made by --create (nor anything else) behind.
            found, result = self._run(
                bank, actor, create, data, path.name, format, dry_run, defaults
            )
            if dry_run or not result.ok:
                transaction.set_rollback(True)
        for line in result.report.lines():
            self.stdout.write(line)
        errors, warnings = len(result.report.errors), len(result.report.warnings)
        if errors:
            raise CommandError(
                _("%(errors)s errors, %(warnings)s warnings: nothing was imported.")
                % {"errors": errors, "warnings": warnings}
            )
        if dry_run:
            self.stdout.write(
                _("Dry run: %(count)s questions would be imported (%(warnings)s warnings).")
                % {"count": len(result.items), "warnings": warnings}
            )
        else:
            self.stdout.write(
                _("%(count)s questions imported into “%(bank)s” as drafts (%(warnings)s warnings).")
                % {"count": result.created, "bank": found.name, "warnings": warnings}
            )

    def _run(self, bank, actor, create, data, filename, format, dry_run, defaults):
        found = Bank.objects.filter(name=bank).first()
        if found is None:
            if not (create and actor):
                raise CommandError(
                    _("No bank is named “%(name)s” (use --create with --user).") % {"name": bank}
                )
            found = services.bank_create(name=bank, owner=actor)
        actor = actor or found.owners.order_by("pk").first()
        if actor is None:
            raise CommandError(_("The bank has no owner; name one with --user."))
        result = import_questions(
            bank=found,
            actor=actor,
            data=data,
            filename=filename,
            fmt=format,
            dry_run=dry_run,
            defaults=defaults,
        )
        return found, result
