"""Second factors in tests: a TOTP authenticator with a known secret, its current code,
and a sign-in through allauth's real pages (password, then the code) that leaves the
session having passed the MFA stage, as the admin requires (accounts.roles)."""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import encrypt
from django.test import Client
from django.urls import reverse

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32, tests only
PASSWORD = "correct-horse-battery"  # tests.factories.PASSWORD


def give_totp(user, secret: str = TOTP_SECRET) -> str:
    """A TOTP authenticator for the user, as allauth's activation stores it."""
    Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": encrypt(secret)}}
    )
    return secret


def totp_code(secret: str = TOTP_SECRET, *, offset: int = 0) -> str:
    """The code an authenticator app shows now (offset in 30-second steps)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def sign_in_with_totp(
    client: Client, user, *, password: str = PASSWORD, secret: str = TOTP_SECRET, **extra
) -> None:
    """Password, then the TOTP code, through allauth's login and MFA pages. A code
    computed just before a 30-second boundary may be stale when the server checks
    it: then the next window's code is sent once."""
    response = client.post(
        reverse("account_login"), {"login": user.username, "password": password}, **extra
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == reverse("mfa_authenticate"), response["Location"]
    for _attempt in range(2):
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}, **extra)
        if response.status_code == 302:
            return
    raise AssertionError("no TOTP code was accepted: " + response.content.decode()[:500])
