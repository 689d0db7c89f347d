"""Give each role's group exactly its admin permissions (accounts.roles.roles_sync).

Run it at every deployment, after `migrate`: it is idempotent, and it is how a change
to accounts.roles.ROLE_PERMISSIONS (or a stray permission on personal data) reaches
the database.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.roles import roles_sync


class Command(BaseCommand):
    help = (
        "Bring the role groups and their members to accounts.roles.ROLE_PERMISSIONS and "
        "take direct permissions on personal data away from non-superusers. Idempotent."
    )

    def handle(self, *args, **options) -> None:
        try:
            changed = roles_sync()
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"role groups updated: {changed['groups']}, memberships changed: "
            f"{changed['memberships']}, permissions on personal data revoked: "
            f"{changed['revoked']}"
        )
