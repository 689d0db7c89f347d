"""Devices that a child's account used: no guest play there without consent.

A child whose guardian has not consented (or has withdrawn) cannot play signed in
(accounts.decorators.play_required); without this, they could sign out and play as a
guest. So a device a child account signs in on, signs out from, or is refused on is
marked with a long-lived cookie naming that account (signed, so it cannot be altered
to name another account; HttpOnly, so page scripts cannot read it). Guest play on a
marked device is refused while any account it names may not play
(accounts.selectors.device_may_play_as_guest, the one check every guest entry point
uses): the block lifts as soon as the guardian's consent is in force (or the child
turns 14), and the mark stays, so a later withdrawal blocks guest play again.

The mark is set where the response is known: the sign-in and sign-out signals and the
blocked pages only note the account on the request (`note_child`), and
ConsentDeviceMiddleware writes the cookie; a request with nothing noted costs nothing.

Limits: the cookie is per browser. Clearing cookies, a private window or another
browser removes the mark; it keeps an honest device honest, it is not an identity
check (which guest play, by design, does not have).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core import signing
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

COOKIE = "sciarena_child_device"
SALT = "accounts.child-device"
MAX_AGE = 365 * 24 * 3600  # seconds: a school year and then some
MAX_ACCOUNTS = 8  # the newest accounts a device names (siblings, a shared computer)
_NOTED = "accounts_child_device_noted"


def _signer() -> signing.Signer:
    # As HttpRequest.get_signed_cookie and HttpResponse.set_signed_cookie do, so the
    # same cookie reads alike from a request and from a WebSocket scope's cookies.
    return signing.get_cookie_signer(salt=COOKIE + SALT)


def marked_accounts(cookies: Mapping[str, str] | None) -> list[int]:
    """The account ids a device's cookies name, newest last; [] for none, or for a
    cookie that is forged, altered or too old."""
    value = (cookies or {}).get(COOKIE)
    if not value:
        return []
    try:
        text = _signer().unsign(value, max_age=MAX_AGE)
    except signing.BadSignature:
        return []
    ids = []
    for part in text.split(","):
        if part.isdigit():
            ids.append(int(part))
    return ids[-MAX_ACCOUNTS:]


def note_child(request: HttpRequest, user) -> None:
    """Mark this request's device for `user` if theirs is an account that needs a
    guardian's consent (whatever its state now): ConsentDeviceMiddleware writes it."""
    from .models import Profile

    if user is None or not getattr(user, "pk", None):
        return
    profile = Profile.objects.filter(user_id=user.pk).only("birth_year").first()
    if profile is not None and profile.needs_guardian_consent:
        setattr(request, _NOTED, user.pk)


def _write(request: HttpRequest, response: HttpResponse) -> None:
    account = getattr(request, _NOTED, None)
    if account is None:
        return
    ids = [i for i in marked_accounts(request.COOKIES) if i != account] + [account]
    response.set_cookie(
        COOKIE,
        _signer().sign(",".join(str(i) for i in ids[-MAX_ACCOUNTS:])),
        max_age=MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


class ConsentDeviceMiddleware:
    """Writes the device mark that a request noted (note_child)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        _write(request, response)
        return response


@receiver(user_logged_in, dispatch_uid="accounts.devices.mark_on_sign_in")
def mark_on_sign_in(sender, request, user, **kwargs) -> None:
    if request is not None:
        note_child(request, user)


@receiver(user_logged_out, dispatch_uid="accounts.devices.mark_on_sign_out")
def mark_on_sign_out(sender, request, user, **kwargs) -> None:
    if request is not None:
        note_child(request, user)
