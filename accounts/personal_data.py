"""The registry of personal data: every model that refers to a person, what the
export gives of it and what deletion does to it (PIPL art. 45 and 47).

Each app registers its models in its AppConfig.ready (accounts below, quizzes in
quizzes/personal_data.py, realtime in realtime/personal_data.py), since accounts sits
below them and imports neither. For every model with a ForeignKey, OneToOneField or
ManyToManyField to the user model, a registration names those fields and gives:

- `export(user)`: JSON-ready data (a dict, or a list of dicts), each row with its
  `id`, under `key` in the export file;
- `erase(user)`: what deletion does: blank or regenerate every identifying field
  (nicknames become a neutral generated name, free text a person wrote is blanked),
  or delete the rows; or, with `erase=None`, the reason (`kept`) the rows stay as
  they are: they point at the user row, which deletion itself anonymises.

A user reference may instead be excluded on purpose (`exclude`), with the reason.
tests/accounts/test_personal_data.py walks django.apps.get_models() and fails when a
user reference is neither registered nor excluded, so a new table cannot be missed.

accounts.services.user_export_data and user_delete go through here: the export is
every registration's data; deletion runs every `erase` in one transaction (the
caller's), in the order of registration.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext as _

Export = Callable[[Any], Any]
Erase = Callable[[Any], None]


@dataclass(frozen=True)
class Registration:
    model: type[models.Model]
    key: str
    user_fields: tuple[str, ...]
    export: Export
    erase: Erase | None
    kept: str  # why rows stay as they are, when erase is None


@dataclass(frozen=True)
class Exclusion:
    model: type[models.Model]
    user_fields: tuple[str, ...]
    reason: str


_registrations: dict[str, Registration] = {}
_exclusions: list[Exclusion] = []


def register(
    model: type[models.Model],
    *,
    key: str,
    user_fields: Iterable[str],
    export: Export,
    erase: Erase | None = None,
    kept: str = "",
) -> None:
    """Register a model's personal data (see the module's docstring). Registering the
    same key again replaces it (ready() may run more than once in tests)."""
    if erase is None and not kept:
        raise ValueError(f"{model.__name__}: give erase, or the reason the rows are kept")
    _registrations[key] = Registration(model, key, tuple(user_fields), export, erase, kept)


def exclude(model: type[models.Model], *, user_fields: Iterable[str], reason: str) -> None:
    """A user reference that is deliberately neither exported nor erased."""
    if not reason:
        raise ValueError(f"{model.__name__}: an exclusion needs its reason")
    fields = tuple(user_fields)
    if not any(e.model is model and e.user_fields == fields for e in _exclusions):
        _exclusions.append(Exclusion(model, fields, reason))


def registrations() -> list[Registration]:
    return list(_registrations.values())


def exclusions() -> list[Exclusion]:
    return list(_exclusions)


def export_all(*, user) -> dict[str, Any]:
    data: dict[str, Any] = {"exported_at": timezone.now().isoformat()}
    for registration in _registrations.values():
        data[registration.key] = registration.export(user)
    return data


def erase_all(*, user) -> None:
    """Run every registration's erase; call inside the deletion's transaction. The user
    row itself (the registration with no user fields) is anonymised first, whatever
    order the apps registered in."""
    ordered = sorted(_registrations.values(), key=lambda r: bool(r.user_fields))
    for registration in ordered:
        if registration.erase is not None:
            registration.erase(user)


# --- helpers for the registrations ----------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-ready form of a field's value."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def row(obj: models.Model, *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """Every concrete field of a row by name (foreign keys as ids), JSON-ready."""
    skip = set(leave_out)
    return {
        f.name: plain(f.value_from_object(obj))
        for f in obj._meta.concrete_fields
        if f.name not in skip
    }


def rows(queryset, *, leave_out: Iterable[str] = ()) -> list[dict[str, Any]]:
    return [row(obj, leave_out=leave_out) for obj in queryset.order_by("pk")]


def neutral_name(number: int) -> str:
    """The name a deleted person's entries carry where a name is needed (a live round's
    or PK player list): nothing of theirs, unique by the row's id, in the site's first
    language."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Deleted player %(number)s") % {"number": number}


def blank_answers(queryset, field: str) -> int:
    """Blank the answers in `field` of these rows: the caller passes only the answers to
    fill-in questions, the one kind that is text a person typed (choices, numbers and
    orders are not, and stay so that results still add up). Returns the rows changed."""
    return queryset.update(**{field: ""})


# --- accounts' own models (and Django's and allauth's user references) ----------------


def _account(user) -> dict[str, Any]:
    data = row(user, leave_out=("password",))
    data["has_password"] = user.has_usable_password()
    data["groups"] = sorted(user.groups.values_list("name", flat=True))
    return data


def _erase_account(user) -> None:
    user.username = f"deleted-{uuid.uuid4().hex[:16]}"
    user.first_name = ""
    user.last_name = ""
    user.email = ""
    user.phone = None
    user.phone_verified = False
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.last_login = None
    user.deleted_at = timezone.now()
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()


def _profile(user) -> dict[str, Any] | None:
    from .models import Profile

    profile = (
        Profile.objects.select_related("district", "region", "school", "unit")
        .filter(user=user)
        .first()
    )
    if profile is None:
        return None
    data = row(profile)
    data.update(
        district=profile.district.code if profile.district else None,
        region=profile.region.slug if profile.region else None,
        school=profile.school.name if profile.school else None,
        unit=profile.unit.name if profile.unit else None,
    )
    return data


def _erase_profile(user) -> None:
    """Keep only what aggregate statistics need (district, region, school, population
    group); the nickname, birth year, grade, unit and any school name typed in go."""
    from .models import Profile

    Profile.objects.filter(user=user).update(
        nickname="",
        birth_year=None,
        grade=None,
        unit=None,
        elder_mode=False,
        pending_school_name="",  # "my school is not listed" at sign-up: typed text
    )


def _consents(user) -> list[dict[str, Any]]:
    return rows(user.guardian_consents.all())


def _consent_requests(user) -> list[dict[str, Any]]:
    return rows(user.consent_requests.all())


def _email_addresses(user) -> list[dict[str, Any]]:
    from allauth.account.models import EmailAddress

    return rows(EmailAddress.objects.filter(user=user))


def _authenticators(user) -> list[dict[str, Any]]:
    """Which second factors the account has, never their secrets."""
    from allauth.mfa.models import Authenticator

    return [
        {
            "id": a.pk,
            "type": a.type,
            "created_at": plain(a.created_at),
            "last_used_at": plain(a.last_used_at),
        }
        for a in Authenticator.objects.filter(user=user).order_by("pk")
    ]


def _admin_actions(user) -> list[dict[str, Any]]:
    """What the person did in the Django admin. object_repr is left out: it names
    other people's records."""
    from django.contrib.admin.models import LogEntry

    return [
        {
            "id": e.pk,
            "action_time": plain(e.action_time),
            "content_type": e.content_type.model if e.content_type else None,
            "object_id": e.object_id,
            "action_flag": e.action_flag,
            "change_message": e.get_change_message(),
        }
        for e in LogEntry.objects.filter(user=user).select_related("content_type").order_by("pk")
    ]


def _erase_admin_mentions(user) -> None:
    """Admin log entries keep the staff's actions (the row they point at is
    anonymised), but an entry about this person's own account or profile shows its
    name in object_repr: that becomes the new, anonymous username."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from .models import Profile, User

    for model, pks in (
        (User, [user.pk]),
        (Profile, list(Profile.objects.filter(user=user).values_list("pk", flat=True))),
    ):
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=[str(pk) for pk in pks],
        ).update(object_repr=user.get_username())


def _delete(queryset_for: Callable[[Any], Any]) -> Erase:
    def erase(user) -> None:
        queryset_for(user).delete()

    return erase


def register_accounts() -> None:
    """accounts' registrations, from AccountsConfig.ready."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.contrib.admin.models import LogEntry

    from .models import ConsentRequest, DirectoryChange, GuardianConsent, Profile, User

    # The anchor comes first: deletion anonymises the user row that everything kept
    # points at, then each registration does its part.
    register(User, key="account", user_fields=(), export=_account, erase=_erase_account)
    register(Profile, key="profile", user_fields=("user",), export=_profile, erase=_erase_profile)
    register(
        GuardianConsent,
        key="guardian_consents",
        user_fields=("child",),
        export=_consents,
        erase=_delete(lambda user: user.guardian_consents.all()),
    )
    register(
        ConsentRequest,
        key="guardian_consent_requests",
        user_fields=("child",),
        export=_consent_requests,
        erase=_delete(lambda user: user.consent_requests.all()),
    )
    register(
        EmailAddress,
        key="email_addresses",
        user_fields=("user",),
        export=_email_addresses,
        erase=_delete(lambda user: EmailAddress.objects.filter(user=user)),
    )
    register(
        Authenticator,
        key="second_factors",
        user_fields=("user",),
        export=_authenticators,
        erase=_delete(lambda user: Authenticator.objects.filter(user=user)),
    )
    register(
        LogEntry,
        key="admin_actions",
        user_fields=("user",),
        export=_admin_actions,
        erase=_erase_admin_mentions,
    )
    # The school directory's change log: who imported, edited or merged the directory.
    register(
        DirectoryChange,
        key="directory_changes",
        user_fields=("actor",),
        export=lambda user: rows(DirectoryChange.objects.filter(actor=user)),
        kept="an organizer's record of directory changes; it names no one and points "
        "at the user row, which deletion anonymises",
    )
