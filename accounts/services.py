"""Every write to accounts goes through here (docs/architecture.md: services)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import personal_data
from .counters import count, uncount
from .models import ConsentRequest, GuardianConsent, Profile, User
from .sms import send_sms

CONSENT_SALT = "accounts.guardian-consent"
# A different salt: a withdrawal link is not a consent link and never expires, so a
# guardian can withdraw at any time from the confirmation they were sent.
WITHDRAW_SALT = "accounts.guardian-consent-withdraw"
# How many consent links may go out for one child in a day (sign-up included): a
# child must not be able to flood someone's phone or mailbox.
CONSENT_REQUESTS_PER_DAY = 5
# Password tries on the account deletion page, per account and window: a hijacked
# session must not serve to guess the password there.
DELETE_PASSWORD_TRIES = 5
DELETE_PASSWORD_WINDOW = 15 * 60  # seconds


class ConsentLinkError(Exception):
    """The consent link is forged, expired, or names an account that is gone.

    `status` is the HTTP status a page reporting it should answer with: 400 for a
    link that was never ours, 410 for one that was but no longer works.
    """

    def __init__(self, message: str, *, status: int, spent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        # True for a link that was used up: a decision was recorded after it was sent.
        self.spent = spent


class ConsentRequestError(Exception):
    """A new consent link cannot be sent now; the message says why."""


@transaction.atomic
def user_complete_signup(*, user: User, data: dict[str, Any], request=None) -> Profile:
    """Store the profile fields of a new account; ask a guardian if the holder may be
    under 14."""
    user.role = data.get("role") or User.Role.CITIZEN
    user.save(update_fields=["role"])
    school = data.get("school")
    # A school's region is the one it competes for (the Development Area for some).
    region = school.region if school else getattr(data.get("district"), "region", None)
    profile, _created = Profile.objects.update_or_create(
        user=user,
        defaults={
            "nickname": data["nickname"],
            "population_group": data["population_group"],
            "birth_year": data["birth_year"],
            "district": data.get("district"),
            "region": region,
            "school": school,
            "pending_school_name": "" if school else data.get("pending_school_name", ""),
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


# --- signed links ------------------------------------------------------------------


def consent_request_token(consent_request: ConsentRequest) -> str:
    """The token of a consent link: it names the stored request (child and request
    ids) and nothing else. The guardian's contact stays in the database, never in a
    URL, since URLs end up in access logs, browser histories and forwarded messages."""
    return signing.dumps(
        {"child": consent_request.child_id, "req": consent_request.pk}, salt=CONSENT_SALT
    )


def _invalid(kind: str) -> ConsentLinkError:
    if kind == "withdraw":
        return ConsentLinkError(_("This withdrawal link is not valid."), status=400)
    return ConsentLinkError(_("This consent link is not valid."), status=400)


def _gone() -> ConsentLinkError:
    return ConsentLinkError(_("The account this link was sent for no longer exists."), status=410)


def _spent() -> ConsentLinkError:
    return ConsentLinkError(
        _(
            "A guardian's decision was recorded after this link was sent, so it no longer "
            "works: each consent link serves for one decision only."
        ),
        status=410,
        spent=True,
    )


def consent_request_spent(*, consent_request: ConsentRequest) -> bool:
    """Is this request used up? A consent link serves for one decision: once any grant
    or withdrawal for the child is recorded at or after the time the request was made,
    its link no longer grants (so a withdrawal voids every open request, and an old
    link cannot overrule it). Computed from the append-only records, no flag stored;
    "at or after" takes the safe side when two times are equal."""
    return GuardianConsent.objects.filter(
        child_id=consent_request.child_id, created_at__gte=consent_request.created_at
    ).exists()


def _link_target(payload: Any, *, kind: str) -> dict[str, Any]:
    """{"child": User, "contact": str, "rel": str, "request": ConsentRequest | None} from
    a verified token payload.

    A consent token names a ConsentRequest, a withdrawal token a grant; the contact
    and relationship come from that stored record. Anything else (such as the old
    tokens that carried the contact itself) is not valid. A consent link that was
    used up (consent_request_spent) is gone (410)."""
    if not isinstance(payload, dict) or "child" not in payload:
        raise _invalid(kind)
    child = User.objects.filter(pk=payload["child"], deleted_at__isnull=True).first()
    if child is None:
        raise _gone()
    if kind == "withdraw" and "grant" in payload:
        record = child.guardian_consents.filter(
            pk=payload["grant"], action=GuardianConsent.Action.GRANT
        ).first()
    elif kind == "consent" and "req" in payload:
        record = child.consent_requests.filter(pk=payload["req"]).first()
    else:
        raise _invalid(kind)
    if record is None:
        raise _gone()
    if kind == "consent":
        # A link sent to a contact the child has since corrected (a mistyped number
        # reaching a stranger) must not let that stranger consent.
        newest = child.consent_requests.order_by("-created_at", "-id").first()
        if newest is not None and newest.guardian_contact != record.guardian_contact:
            raise ConsentLinkError(
                _("This consent link was replaced by a newer one, sent to another contact."),
                status=410,
            )
        if consent_request_spent(consent_request=record):
            raise _spent()
    return {
        "child": child,
        "contact": record.guardian_contact,
        "rel": record.relationship,
        "request": record if kind == "consent" else None,
    }


def consent_token_read(token: str, *, max_age: int | None = None) -> dict[str, Any]:
    """Return {"child": User, "contact": str, "rel": str, "request": ConsentRequest} for
    a valid token whose request is not used up."""
    try:
        payload = signing.loads(
            token,
            salt=CONSENT_SALT,
            max_age=settings.CONSENT_LINK_MAX_AGE if max_age is None else max_age,
        )
    except signing.SignatureExpired as exc:
        raise ConsentLinkError(
            _("This consent link has expired. Ask for a new one."), status=410
        ) from exc
    except signing.BadSignature as exc:
        raise _invalid("consent") from exc
    return _link_target(payload, kind="consent")


def consent_withdraw_token_make(*, consent: GuardianConsent) -> str:
    """A withdrawal link token: names the grant, never expires."""
    return signing.dumps({"child": consent.child_id, "grant": consent.pk}, salt=WITHDRAW_SALT)


def consent_withdraw_token_read(token: str) -> dict[str, Any]:
    """Like consent_token_read, for withdrawal links, which never expire. The contact
    and relationship are those of the grant the link was sent for."""
    try:
        payload = signing.loads(token, salt=WITHDRAW_SALT)
    except signing.BadSignature as exc:
        raise _invalid("withdraw") from exc
    return _link_target(payload, kind="withdraw")


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def _nickname(child: User) -> str:
    profile = Profile.objects.filter(user=child).only("nickname").first()
    return (profile.nickname if profile else "") or child.get_username()


def _deliver(*, contact: str, subject: str, body: str) -> bool:
    """Mail or text `body`; False when a text was refused by the daily caps or the
    gateway failed (accounts.sms.send_sms), so nothing went out."""
    if "@" in contact:
        send_mail(subject, body, None, [contact])
        return True
    return send_sms(phone=contact, message=body)


def _deliver_on_commit(*, contact: str, subject: str, body: str) -> None:
    transaction.on_commit(lambda: _deliver(contact=contact, subject=subject, body=body))


# --- asking a guardian ----------------------------------------------------------------


@transaction.atomic
def consent_request_send(
    *, child: User, guardian_contact: str, relationship: str, request=None, at_once: bool = False
) -> str:
    """Record the request and send the guardian a link to the consent page (after
    commit); returns the link. With `at_once` the link goes out now, and when it could
    not (a text over the daily caps, a gateway down) ConsentRequestError undoes the
    request, so the child is never told it was sent."""
    consent_request = ConsentRequest.objects.create(
        child=child, guardian_contact=guardian_contact, relationship=relationship
    )
    token = consent_request_token(consent_request)
    link = _absolute(request, reverse("accounts:consent", args=[token]))
    # Guardians get the message in the site's first language, whatever the child uses.
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "[SciArena] %(nickname)s has signed up for SciArena, Beijing's science "
            "contest platform, and named you as guardian. Children under 14 can only "
            "take part with a guardian's consent. Read the notice and decide here: %(link)s"
        ) % {"nickname": _nickname(child), "link": link}
        subject = _("SciArena: your consent is needed")
    if not at_once:
        _deliver_on_commit(contact=guardian_contact, subject=subject, body=body)
    elif not _deliver(contact=guardian_contact, subject=subject, body=body):
        raise ConsentRequestError(
            _("The link could not be sent to this number now. Try again later or tomorrow.")
        )
    return link


@transaction.atomic
def consent_request_resend(
    *, child: User, guardian_contact: str, relationship: str, request=None
) -> str:
    """Send a new consent link at the child's request (to the same or a corrected
    guardian contact). Raises ConsentRequestError if none is needed or too many went
    out in the last day."""
    child = User.objects.select_for_update().get(pk=child.pk)
    profile = Profile.objects.filter(user=child).only("birth_year").first()
    if profile is None or not profile.needs_guardian_consent:
        raise ConsentRequestError(_("This account does not need a guardian's consent."))
    latest = child.guardian_consents.order_by("-created_at", "-id").first()
    if latest is not None and latest.action == GuardianConsent.Action.GRANT:
        raise ConsentRequestError(_("A guardian has already consented."))
    since = timezone.now() - timedelta(days=1)
    if child.consent_requests.filter(created_at__gte=since).count() >= CONSENT_REQUESTS_PER_DAY:
        raise ConsentRequestError(_("Too many consent links were sent today. Try again tomorrow."))
    return consent_request_send(
        child=child,
        guardian_contact=guardian_contact,
        relationship=relationship,
        request=request,
        at_once=True,
    )


# --- the guardian decides ---------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


@transaction.atomic
def consent_grant(
    *,
    child: User,
    guardian_contact: str,
    relationship: str,
    allow_public_display: bool,
    consent_request: ConsentRequest | None = None,
    request=None,
    notify_guardian: bool = False,
) -> GuardianConsent:
    """Append a grant. Given the consent_request whose link the guardian followed, the
    request is checked again under the child's row lock, so two submissions of one
    link at once record one decision: the second raises ConsentLinkError (410, spent).
    With notify_guardian, the guardian is sent (after commit, on the channel the link
    came by) a confirmation with a link to withdraw."""
    User.objects.select_for_update().filter(pk=child.pk).first()
    if consent_request is not None and consent_request_spent(consent_request=consent_request):
        raise _spent()
    consent = GuardianConsent.objects.create(
        child=child,
        action=GuardianConsent.Action.GRANT,
        guardian_contact=guardian_contact,
        relationship=relationship,
        allow_processing=True,
        allow_public_display=allow_public_display,
        notice_version=settings.CONSENT_NOTICE_VERSION,
    )
    if notify_guardian:
        token = consent_withdraw_token_make(consent=consent)
        link = _absolute(request, reverse("accounts:consent_withdraw", args=[token]))
        with translation.override(settings.LANGUAGE_CODE):
            body = _(
                "[SciArena] Thank you. You agreed that %(nickname)s may take part in "
                "SciArena (processing of the child's data: yes; public display of name "
                "and school: %(public)s; notice version %(version)s). You can withdraw "
                "your consent at any time here: %(link)s"
            ) % {
                "nickname": _nickname(child),
                "public": _yes_no(allow_public_display),
                "version": consent.notice_version,
                "link": link,
            }
            subject = _("SciArena: you gave your consent")
        _deliver_on_commit(contact=guardian_contact, subject=subject, body=body)
    return consent


@transaction.atomic
def consent_withdraw(
    *,
    child: User,
    guardian_contact: str,
    relationship: str,
    notify_guardian: bool = False,
    delete_account: bool = False,
) -> GuardianConsent | None:
    """Append a withdrawal if consent is in force; returns it, or None if there was
    nothing to withdraw (so a second click changes nothing). With delete_account the
    child's account is deleted as well (user_delete)."""
    child = User.objects.select_for_update().get(pk=child.pk)
    nickname = _nickname(child)
    latest = child.guardian_consents.order_by("-created_at", "-id").first()
    record = None
    if latest is not None and latest.action == GuardianConsent.Action.GRANT:
        record = GuardianConsent.objects.create(
            child=child,
            action=GuardianConsent.Action.WITHDRAW,
            guardian_contact=guardian_contact,
            relationship=relationship,
            allow_processing=False,
            allow_public_display=False,
            notice_version=settings.CONSENT_NOTICE_VERSION,
        )
    if delete_account:
        user_delete(user=child)
    if notify_guardian and (record is not None or delete_account):
        with translation.override(settings.LANGUAGE_CODE):
            if delete_account:
                body = _(
                    "[SciArena] You withdrew your consent for %(nickname)s and the account "
                    "was deleted: its personal data is gone."
                ) % {"nickname": nickname}
            else:
                body = _(
                    "[SciArena] You withdrew your consent for %(nickname)s. The account "
                    "cannot play any more. It can be deleted from its account page."
                ) % {"nickname": nickname}
            subject = _("SciArena: you withdrew your consent")
        _deliver_on_commit(contact=guardian_contact, subject=subject, body=body)
    return record


# --- personal data --------------------------------------------------------------------


def user_export_data(*, user: User) -> dict[str, Any]:
    """Everything we hold about a person, as JSON-ready data (PIPL art. 45): every
    model that refers to them, through the registry in accounts.personal_data."""
    return personal_data.export_all(user=user)


def _delete_tries_key(user: User) -> str:
    return f"accounts:delete-password-tries:{user.pk}"


def user_delete_password_try(*, user: User) -> bool:
    """Count one password try on the deletion page; False if the account has used up
    its tries for this window, in which case the password must not be checked.

    The try is counted before the password is checked (an atomic increment in the
    shared cache), so parallel requests cannot slip past the limit; a right
    password gives its try back (user_delete_password_try_refund).
    """
    return count(_delete_tries_key(user), window=DELETE_PASSWORD_WINDOW) <= DELETE_PASSWORD_TRIES


def user_delete_password_try_refund(*, user: User) -> None:
    """A right password does not count against the limit."""
    uncount(_delete_tries_key(user))


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Remove a person's personal data and keep their results, anonymised.

    The user row stays (results point at it) under a random name with no password,
    email or phone; every model that refers to the person is then erased as its app
    registered (accounts.personal_data): the profile keeps only what aggregate
    statistics need (district, region, school, population group); consent records and
    requests, email addresses and MFA authenticators are deleted; live-round and PK
    nicknames become a neutral generated name, typed answers are blanked. All in this
    one transaction. Other sessions end by themselves: the password hash changes, so
    their auth hash no longer matches, and the account is inactive.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deleted_at is not None:
        return
    personal_data.erase_all(user=user)
