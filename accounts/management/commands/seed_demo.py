"""Load the demo data (accounts.demo.load_demo) and print the demo logins.

Idempotent: run it as often as you like. It refuses to run with DEBUG off unless
--force is given, since demo accounts share a published password.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_PASSWORD, DemoReport, DemoSetupError, load_demo


class Command(BaseCommand):
    help = (
        "Load demo schools, units and demo accounts (username prefix demo_) and print "
        "their logins. Idempotent. Refuses to run with DEBUG off unless --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. Demo accounts share a published password: "
            "never use this on a site open to the public.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off: this looks like a production site, and demo accounts share a "
                f"published password ({DEMO_PASSWORD!r}). Use --force if you really mean it."
            )
        try:
            report = load_demo()
        except DemoSetupError as exc:
            raise CommandError(str(exc)) from exc
        self._print(report)

    def _print(self, report: DemoReport) -> None:
        write = self.stdout.write
        for name, (created, total) in report.counts.items():
            write(f"{name}: {total} in the demo, {created} created now")
        write("")
        write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        rows = [("username", "password", "role", "plays", "what to try")]
        rows += [
            (c.username, c.password, c.role, "yes" if c.can_play else "no", c.try_this)
            for c in report.credentials
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for index, row in enumerate(rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            write("  " + "  ".join([*cells, row[4]]).rstrip())
            if index == 0:
                write("  " + "  ".join("-" * width for width in [*widths, len(row[4])]))
        if report.notes:
            write("")
            for note in report.notes:
                write(note)
