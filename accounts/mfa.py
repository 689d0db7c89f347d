"""A ceiling on wrong second-factor codes per account.

allauth checks TOTP and recovery codes under its "login_failed" rate limit, which
here counts per client address only (settings.ACCOUNT_RATE_LIMITS: a per-name limit
there would let a stranger lock anyone's password out). A six-digit code behind a
known password must not be guessable from many addresses, so wrong codes are also
counted per account: MFA_FAILURES_PER_USER in MFA_FAILURES_WINDOW seconds, after
which every code is refused (the right one too) until the window ends. Only someone
who already has the password can spend them. A right code clears the count.
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.mfa.base.forms import AuthenticateForm as AllauthAuthenticateForm
from allauth.mfa.base.forms import ReauthenticateForm as AllauthReauthenticateForm
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from .counters import count


def _key(user) -> str:
    return f"mfa-failures:{user.pk}"


class CodeFailureLimit:
    """Mixed into allauth's code forms (settings.MFA_FORMS)."""

    user: object

    def clean_code(self) -> str:
        key = _key(self.user)
        if cache.get(key, 0) >= settings.MFA_FAILURES_PER_USER:
            raise get_account_adapter().validation_error("too_many_login_attempts")
        try:
            code = super().clean_code()  # type: ignore[misc]
        except ValidationError:
            count(key, window=settings.MFA_FAILURES_WINDOW)
            raise
        cache.delete(key)
        return code


class AuthenticateForm(CodeFailureLimit, AllauthAuthenticateForm):
    pass


class ReauthenticateForm(CodeFailureLimit, AllauthReauthenticateForm):
    pass
