"""The public name of a person: the one rule for every page, frame and file that shows
people to others (live boards, the projector, PK opponents, results files, and the
leaderboards to come).

A child who may be under 14 is shown by nickname only when the newest guardian
consent record is a grant that allows public display (PIPL art. 25: publishing a
child's name and school needs its own consent). Otherwise the child gets a generated
name, "Player 0042" (in the install's language), that reveals nothing: the number is
an HMAC of the scope and the user id under SECRET_KEY, so it is the same everywhere in
one scope (a round, a match, a contest's board) and cannot be linked across scopes or
back to the account. Adults and consented children are shown by nickname; an account
with no nickname, or a deleted one, gets a generated name too (never the username,
which may be a real name).

One viewer may see more: the staff (teachers, organizers) of the child's own school
see the nickname, as a teacher runs a class. Nobody else does, whoever hosts.

`public_names` decides for a whole list in one query (no query per person).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import translation
from django.utils.translation import pgettext

from .models import GuardianConsent, Profile, User

NUMBERS = 10_000  # generated names run from Player 0000 to Player 9999


@dataclass(frozen=True)
class Person:
    """What the display rule knows of an account."""

    nickname: str
    shown: bool  # may appear on public pages by nickname
    school_id: int | None  # from the profile


def people(user_ids: Iterable[int]) -> dict[int, Person]:
    """The display facts of these accounts, in one query. Ids of no account are left
    out (the caller treats them as unknown, so hidden)."""
    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return {}
    latest = GuardianConsent.objects.filter(child=OuterRef("pk")).order_by("-created_at", "-id")
    rows = (
        User.objects.filter(pk__in=ids)
        .annotate(
            consent_action=Subquery(latest.values("action")[:1]),
            consent_public=Subquery(latest.values("allow_public_display")[:1]),
        )
        .values_list(
            "pk",
            "deleted_at",
            "profile__nickname",
            "profile__birth_year",
            "profile__school_id",
            "consent_action",
            "consent_public",
        )
    )
    found = {}
    children: dict[int | None, bool] = {}  # by birth year: Profile's rule, asked once a year
    for pk, deleted_at, nickname, birth_year, school, action, public in rows:
        if birth_year not in children:
            children[birth_year] = Profile(birth_year=birth_year).needs_guardian_consent
        child = children[birth_year]
        allowed = action == GuardianConsent.Action.GRANT and bool(public)
        found[pk] = Person(
            nickname=nickname or "",
            shown=deleted_at is None and (not child or allowed),
            school_id=school,
        )
    return found


def may_show(person: Person | None, *, viewer: User | None = None) -> bool:
    """May `viewer` (None: anyone) see this person's nickname, school and district?"""
    if person is None:
        return False
    if person.shown:
        return True
    return (
        viewer is not None
        and person.school_id is not None
        and viewer_school(viewer) == person.school_id
    )


def viewer_school(viewer: User) -> int | None:
    """The school whose children a viewer may see by name: a teacher's, organizer's or
    admin's own school (from the profile); None for anyone else. Read once per viewer."""
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_staff_member:
        return None
    cached = getattr(viewer, "_display_school", False)
    if cached is False:
        cached = Profile.objects.filter(user=viewer).values_list("school_id", flat=True).first()
        viewer._display_school = cached
    return cached


def generated_number(user_id: int, *, scope: str) -> int:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"public-name:{scope}:{user_id}".encode(), hashlib.sha256
    ).digest()
    return int.from_bytes(digest[:8], "big") % NUMBERS


def name_pattern() -> str:
    """The generated names' pattern in the install's language (the same frame goes to
    every viewer, whatever their language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return pgettext("the public name of a player shown without a nickname", "Player %(n)s")


def generated_name(number: int, pattern: str | None = None) -> str:
    return (pattern or name_pattern()) % {"n": f"{number:04d}"}


def public_names(
    user_ids: Iterable[int],
    *,
    scope: str,
    nicknames: Mapping[int, str] | None = None,
    viewer: User | None = None,
    taken: Iterable[str] = (),
) -> dict[int, str]:
    """{user id: the name to show} for these accounts, in one query.

    `scope` names where the names appear together ("live:12", "pk:7",
    "contest:3"): a generated name is stable within a scope. `nicknames` gives the
    nickname chosen there (a live round's), else the profile's is used. `viewer`:
    who looks (None: the public); the staff of a child's school see the child.
    `taken`: other names shown beside these (guests' nicknames), never generated.

    Generated names are unique in one call: a number already taken (by another
    generated name or a shown nickname) moves to the next free one, in the order of
    `user_ids`; pass them in joining order and a later arrival never renames an
    earlier one.
    """
    ordered = list(dict.fromkeys(pk for pk in user_ids if pk is not None))
    found = people(ordered)
    chosen = nicknames or {}
    names: dict[int, str] = {}
    hidden = []
    for pk in ordered:
        person = found.get(pk)
        nickname = chosen.get(pk) or (person.nickname if person else "")
        if nickname and may_show(person, viewer=viewer):
            names[pk] = nickname
        else:
            hidden.append(pk)
    taken = {*taken, *names.values()}
    pattern = name_pattern() if hidden else ""
    for pk in hidden:
        number = generated_number(pk, scope=scope)
        for _ in range(NUMBERS):
            name = generated_name(number, pattern)
            if name not in taken:
                break
            number = (number + 1) % NUMBERS
        taken.add(name)
        names[pk] = name
    return names


def shown_publicly(user_ids: Iterable[int]) -> dict[int, bool]:
    """{user id: whether the public may see the nickname, school and district}."""
    found = people(user_ids)
    return {pk: may_show(found.get(pk)) for pk in user_ids}
