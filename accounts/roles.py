"""What each role may do beyond its own pages: the admin permission sets, and who must
sign in with a second factor.

Admin permissions. Only superusers see people in the Django admin: users, profiles,
guardian consents and consent requests hold every phone number, e-mail address,
child's birth year and guardian contact, and the admin classes refuse them to anyone
else whatever permissions they hold (accounts.admin.SuperuserOnlyAdmin). What an
organizer may do there is ROLE_PERMISSIONS below, given through one Django group per
role; `roles_sync()` (the `sync_roles` command, run at every deployment and by
`seed_demo`) creates the groups, gives each exactly its permissions, puts every user
of the role in it (and no one else), and takes away any direct permission on
personal data from non-superusers. It is idempotent: a second run changes nothing.

Question banks, papers and their keys are not in the admin for organizers at all: the
organizer pages scope them by bank role and write the audit trail; the admin shows
every bank's keys and would bypass both.

Two-factor authentication. Users whose role is in settings.MFA_REQUIRED_ROLES
(organizers and administrators by default), and anyone with is_staff or
is_superuser, must have TOTP set up before they can use anything else
(accounts.middleware.MFARequiredMiddleware); the admin also wants the current
session to have passed allauth's MFA stage (`session_passed_mfa`). Teachers are not
forced by default: they run live rounds from school computers and phones and see only
their own banks; they may turn TOTP on themselves.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from .models import User

# Models whose rows are personal data (contact details, birth years, guardians): the
# admin shows them to superusers only, and roles_sync() strips direct permissions on
# them from everyone else.
PERSONAL_DATA_MODELS: dict[str, list[str]] = {
    "accounts": ["user", "profile", "guardianconsent", "consentrequest"],
    "account": ["emailaddress"],  # allauth's e-mail addresses
    "mfa": ["authenticator"],  # allauth's second factors
    "auth": ["group", "permission"],  # who may do what is a superuser's business
}

# "app_label.codename" for each role that works in the admin. Organizers keep the
# places people compete for; they see districts and regions (read-only in the admin).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    User.Role.ORGANIZER: [
        "accounts.view_district",
        "accounts.view_region",
        "accounts.view_school",
        "accounts.add_school",
        "accounts.change_school",
        "accounts.view_unit",
        "accounts.add_unit",
        "accounts.change_unit",
    ],
}


def role_group_name(role: str) -> str:
    return f"role:{role}"


def _permissions(names: list[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    missing = set(names) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing:
        raise LookupError(f"Unknown permissions {sorted(missing)}: run `manage.py migrate` first.")
    return found


def _personal_data_permissions():
    query = Q(pk__in=[])
    for app_label, models in PERSONAL_DATA_MODELS.items():
        query |= Q(content_type__app_label=app_label, content_type__model__in=models)
    return Permission.objects.filter(query)


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Bring every role group and its members to ROLE_PERMISSIONS. Returns counts of
    what changed (all zero on a second run)."""
    changed = {"groups": 0, "memberships": 0, "revoked": 0}
    for role, names in ROLE_PERMISSIONS.items():
        group, created = Group.objects.get_or_create(name=role_group_name(role))
        wanted = {p.pk for p in _permissions(names)}
        current = set(group.permissions.values_list("pk", flat=True))
        if created or wanted != current:
            group.permissions.set(wanted)
            changed["groups"] += 1
        members = User.objects.filter(role=role)
        joining = members.exclude(groups=group)
        changed["memberships"] += joining.count()
        group.user_set.add(*joining)
        leaving = group.user_set.exclude(role=role)
        changed["memberships"] += leaving.count()
        group.user_set.remove(*leaving)
    through = User.user_permissions.through
    stray = through.objects.filter(
        user__is_superuser=False, permission__in=_personal_data_permissions()
    )
    changed["revoked"] = stray.count()
    stray.delete()
    return changed


# --- two-factor authentication ----------------------------------------------------


def mfa_required(user) -> bool:
    """Must this user have a second factor set up before using the site?"""
    if not getattr(user, "is_authenticated", False):
        return False
    required_roles = getattr(settings, "MFA_REQUIRED_ROLES", [])
    return bool(user.is_staff or user.is_superuser or user.role in required_roles)


def mfa_pending(user) -> bool:
    """Must this user set a second factor up before doing anything else? The pages
    send them to the set-up (accounts.middleware); sockets refuse them."""
    return mfa_required(user) and not has_totp(user)


def has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user, [Authenticator.Type.TOTP])


def session_passed_mfa(request) -> bool:
    """Did this session's sign-in (or a later re-authentication) pass a second
    factor? allauth records every authentication step of the session
    (allauth.account.authentication.get_authentication_records); a TOTP or
    recovery code adds one whose method is "mfa"."""
    from allauth.account.authentication import get_authentication_records

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return any(
        record.get("method") == "mfa" for record in get_authentication_records(request, user)
    )
