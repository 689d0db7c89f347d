"""`manage.py import_directory FILE [--units] [--dry-run] [--user NAME]`: import a
school (or unit) directory file, XLSX or CSV, every row or none, and print the report.
The work is accounts.directory.services.directory_import, the same the organizer page
calls; the file format is in accounts/directory/files.py."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.directory import files, services
from accounts.models import User
from spreadsheets import read_upload, too_large_message


class Command(BaseCommand):
    help = "Import schools (or units, with --units) from an XLSX or CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--units", action="store_true", help="the file lists units")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--user", help="the organizer recorded as importing it")
        parser.add_argument("--language", help="language of the report (zh-hans, en)")

    def handle(self, *args, **options):
        with translation.override(options["language"] or translation.get_language()):
            self._import(**options)

    def _import(self, *, file, units, dry_run, user, **_options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("No file at %(path)s.") % {"path": file})
        if path.suffix.lower() not in (".xlsx", ".csv"):
            raise CommandError(_("Use an Excel (.xlsx) or CSV (.csv) file."))
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(_("No user is named “%(name)s”.") % {"name": user})
        with path.open("rb") as handle:  # the page's cap, before anything is read whole
            data = read_upload(handle)
        if data is None:
            raise CommandError(str(too_large_message()))
        plan = services.directory_import(
            kind=files.UNITS if units else files.SCHOOLS,
            data=data,
            filename=path.name,
            actor=actor,
            dry_run=dry_run,
        )
        for line in plan.report.lines():
            self.stdout.write(line)
        if not plan.ok:
            raise CommandError(
                _("%(count)s error(s): nothing was imported.") % {"count": len(plan.report.errors)}
            )
        counts = {
            "created": plan.count("create"),
            "updated": plan.count("update"),
            "unchanged": plan.count("unchanged"),
        }
        if dry_run:
            message = _(
                "Checked, nothing written: %(created)s to add, %(updated)s to change, "
                "%(unchanged)s unchanged."
            )
        else:
            message = _(
                "Imported: %(created)s added, %(updated)s changed, %(unchanged)s unchanged."
            )
        self.stdout.write(message % counts)
