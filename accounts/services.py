"""Every write to accounts goes through here (DESIGN.md: services)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import GuardianConsent, Profile, User
from .sms import send_sms

CONSENT_SALT = "accounts.guardian-consent"


class ConsentLinkError(Exception):
    """The consent link is forged, expired, or names an account that is gone."""


@transaction.atomic
def user_complete_signup(*, user: User, data: dict[str, Any], request=None) -> Profile:
    """Store the profile fields of a new account; ask a guardian if the holder may be
    under 14."""
    user.role = data.get("role") or User.Role.CITIZEN
    user.save(update_fields=["role"])
    profile, _created = Profile.objects.update_or_create(
        user=user,
        defaults={
            "nickname": data["nickname"],
            "population_group": data["population_group"],
            "birth_year": data["birth_year"],
            "district": data.get("district"),
            "region": getattr(data.get("district"), "region", None),
            "school": data.get("school"),
            "grade": data.get("grade"),
        },
    )
    if profile.needs_guardian_consent:
        consent_request_send(
            child=user,
            guardian_contact=data["guardian_contact"],
            relationship=data["guardian_relationship"],
            request=request,
        )
    return profile


def consent_token_make(*, child: User, guardian_contact: str, relationship: str) -> str:
    return signing.dumps(
        {"child": child.pk, "contact": guardian_contact, "rel": relationship},
        salt=CONSENT_SALT,
        compress=True,
    )


def consent_token_read(token: str, *, max_age: int | None = None) -> dict[str, Any]:
    """Return {"child": User, "contact": str, "rel": str} for a valid token."""
    try:
        payload = signing.loads(
            token,
            salt=CONSENT_SALT,
            max_age=settings.CONSENT_LINK_MAX_AGE if max_age is None else max_age,
        )
    except signing.SignatureExpired as exc:
        raise ConsentLinkError(_("This consent link has expired. Ask for a new one.")) from exc
    except signing.BadSignature as exc:
        raise ConsentLinkError(_("This consent link is not valid.")) from exc
    child = User.objects.filter(pk=payload.get("child"), deleted_at__isnull=True).first()
    if child is None:
        raise ConsentLinkError(_("The account this link was sent for no longer exists."))
    return {"child": child, "contact": payload["contact"], "rel": payload["rel"]}


def _deliver(*, contact: str, subject: str, body: str) -> None:
    if "@" in contact:
        send_mail(subject, body, None, [contact])
    else:
        send_sms(phone=contact, message=body)


def consent_request_send(
    *, child: User, guardian_contact: str, relationship: str, request=None
) -> str:
    """Send the guardian a link to the consent page; returns the link."""
    token = consent_token_make(
        child=child, guardian_contact=guardian_contact, relationship=relationship
    )
    path = reverse("accounts:consent", args=[token])
    link = request.build_absolute_uri(path) if request is not None else path
    nickname = getattr(getattr(child, "profile", None), "nickname", "") or child.get_username()
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "[SciArena] %(nickname)s has signed up for SciArena, Beijing's science "
            "contest platform, and named you as guardian. Children under 14 can only "
            "take part with a guardian's consent. Read the notice and decide here: %(link)s"
        ) % {"nickname": nickname, "link": link}
        subject = _("SciArena: your consent is needed")
    transaction.on_commit(lambda: _deliver(contact=guardian_contact, subject=subject, body=body))
    return link


@transaction.atomic
def consent_grant(
    *, child: User, guardian_contact: str, relationship: str, allow_public_display: bool
) -> GuardianConsent:
    User.objects.select_for_update().filter(pk=child.pk).first()
    return GuardianConsent.objects.create(
        child=child,
        action=GuardianConsent.Action.GRANT,
        guardian_contact=guardian_contact,
        relationship=relationship,
        allow_processing=True,
        allow_public_display=allow_public_display,
        notice_version=settings.CONSENT_NOTICE_VERSION,
    )


@transaction.atomic
def consent_withdraw(*, child: User, guardian_contact: str, relationship: str) -> GuardianConsent:
    User.objects.select_for_update().filter(pk=child.pk).first()
    return GuardianConsent.objects.create(
        child=child,
        action=GuardianConsent.Action.WITHDRAW,
        guardian_contact=guardian_contact,
        relationship=relationship,
        allow_processing=False,
        allow_public_display=False,
        notice_version=settings.CONSENT_NOTICE_VERSION,
    )


def user_export_data(*, user: User) -> dict[str, Any]:
    """Everything we hold about a person, as JSON-ready data (PIPL art. 45)."""
    profile = (
        Profile.objects.select_related("district", "region", "school", "unit")
        .filter(user=user)
        .first()
    )
    from allauth.account.models import EmailAddress

    return {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "phone": user.phone,
            "phone_verified": user.phone_verified,
            "role": user.role,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user)
        ],
        "profile": None
        if profile is None
        else {
            "nickname": profile.nickname,
            "population_group": profile.population_group,
            "birth_year": profile.birth_year,
            "district": profile.district.code if profile.district else None,
            "region": profile.region.slug if profile.region else None,
            "school": profile.school.name if profile.school else None,
            "unit": profile.unit.name if profile.unit else None,
            "grade": profile.grade,
            "elder_mode": profile.elder_mode,
        },
        "guardian_consents": [
            {
                "action": c.action,
                "guardian_contact": c.guardian_contact,
                "relationship": c.relationship,
                "allow_processing": c.allow_processing,
                "allow_public_display": c.allow_public_display,
                "notice_version": c.notice_version,
                "time": c.created_at.isoformat(),
            }
            for c in user.guardian_consents.order_by("created_at", "id")
        ],
    }


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Remove a person's personal data and keep their results, anonymised.

    The user row stays (results point at it) under a random name with no password,
    email or phone; the profile keeps only what aggregate statistics need (district,
    region, school, population group) and loses nickname, birth year and grade.
    Consent records, email addresses and MFA authenticators are deleted. Other
    sessions end by themselves: the password hash changes, so their auth hash no
    longer matches, and the account is inactive.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deleted_at is not None:
        return
    user.username = f"deleted-{uuid.uuid4().hex[:16]}"
    user.first_name = ""
    user.last_name = ""
    user.email = ""
    user.phone = None
    user.phone_verified = False
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.deleted_at = timezone.now()
    user.set_unusable_password()
    user.save()
    Profile.objects.filter(user=user).update(
        nickname="", birth_year=None, grade=None, unit=None, elder_mode=False
    )
    user.guardian_consents.all().delete()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
