"""allauth adapter: phone numbers live on our User, codes go out through accounts.sms.

Numbers are stored in E.164 form. People type mainland numbers as 13800138000 or
+86 138 0013 8000; `PhoneField` turns every spelling into +8613800138000 before
allauth sees it, and the lookups below normalise again for callers (allauth's
authentication backend) that pass the raw login string.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.fields import PhoneField as AllauthPhoneField
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.account.utils import filter_users_by_email
from allauth.core import context
from allauth.core.exceptions import RateLimited
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .counters import count, uncount
from .forms import SignupProfileForm
from .models import User
from .phone import normalise_phone, normalise_phone_or_none
from .sms import client_address, send_sms, sms_count_unsent


class PhoneField(AllauthPhoneField):
    """allauth's phone field, accepting the ways people write mainland numbers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label", gettext_lazy("Mobile number"))
        super().__init__(*args, **kwargs)
        self.widget.attrs.update(
            {"placeholder": "13800138000", "inputmode": "tel", "autocomplete": "tel"}
        )

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return normalise_phone(value)


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form (ACCOUNT_FORMS["signup"]), which does not tell anyone
    that an e-mail address is registered.

    With optional e-mail verification allauth refuses a registered address with "A
    user is already registered with this email address." even under
    ACCOUNT_PREVENT_ENUMERATION: it hides the fact only when verification is
    mandatory. Here the sign-up goes through as for a new address, the new account
    does not get the address, and its owner is e-mailed that someone tried
    (AccountAdapter.save_user). A registered phone number is left to allauth, which
    already answers as for a new number (and accounts.sms texts nobody).

    It lives here, not in accounts.forms: allauth builds its form on top of
    SignupProfileForm, so accounts.forms cannot import allauth's forms.
    """

    email_of_another: str = ""

    def validate_unique_email(self, value: str) -> str:
        if value and filter_users_by_email(value):
            self.email_of_another = value
            return ""
        return super().validate_unique_email(value)


class AccountAdapter(DefaultAccountAdapter):
    # --- signing up ----------------------------------------------------------------
    def save_user(self, request, user, form, commit: bool = True):
        """Save a new account and, for our sign-up form, its profile in one transaction.

        allauth's SignupForm.save() calls this and then the form's `signup()`
        separately; a failure in between would leave a user without a profile (and a
        child without a consent request). So the profile step runs here, inside the
        same atomic block, and SignupProfileForm.signup() does nothing. Only our
        sign-up form carries the profile fields: any other caller (or commit=False)
        gets allauth's behaviour unchanged.
        """
        if not commit or not isinstance(form, SignupProfileForm):
            return super().save_user(request, user, form, commit=commit)
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            services.user_complete_signup(user=user, data=form.cleaned_data, request=request)
            taken = getattr(form, "email_of_another", "")
            if taken:
                transaction.on_commit(lambda: self._mail_owner(request, taken))
                # What the newcomer would read for a new address (allauth's message).
                self.add_message(
                    request,
                    messages.INFO,
                    "account/messages/email_confirmation_sent.txt",
                    {"email": taken},
                )
        return user

    def _mail_owner(self, request, email: str) -> None:
        """Tell the owner of `email` that someone signed up with it (allauth's mail
        builds its links from the request it is serving)."""
        with context.request_context(request):
            self.send_account_already_exists_mail(email)

    # --- phone numbers -------------------------------------------------------------
    def phone_form_field(self, **kwargs: Any) -> PhoneField:
        return PhoneField(**kwargs)

    def set_phone(self, user, phone: str, verified: bool) -> None:
        user.phone = normalise_phone(phone)
        user.phone_verified = verified
        user.save(update_fields=["phone", "phone_verified"])

    def get_phone(self, user) -> tuple[str, bool] | None:
        if not user.phone:
            return None
        return user.phone, user.phone_verified

    def set_phone_verified(self, user, phone: str) -> None:
        self.set_phone(user, phone, True)

    def get_user_by_phone(self, phone: str):
        phone = normalise_phone_or_none(phone)
        if phone is None:
            return None
        return User.objects.filter(phone=phone, is_active=True).order_by("pk").first()

    # --- failed sign-ins ------------------------------------------------------------
    # allauth counts failed logins per client address (ACCOUNT_RATE_LIMITS
    # "login_failed", per ip) and, in its default set-up, per login name: then anyone
    # who knows a username locks its owner out with five wrong passwords. Here the
    # tight limit is per (login name, client address): an attacker at one address
    # uses up only their own tries. A much higher ceiling per login name, whatever
    # the address, stops guessing spread over many addresses. It does not apply at a
    # familiar address, one the account signed in from with its password in the last
    # FAMILIAR_FOR (as "smart lockout" keeps familiar and unfamiliar locations
    # apart): a distributed attack cannot lock the owner out at home or at school, and
    # elsewhere the owner still has a texted or e-mailed sign-in code and the
    # password reset (which clears the counts).

    FAMILIAR_FOR = 30 * 24 * 3600
    FAMILIAR_MAX = 10  # addresses remembered per login name

    @staticmethod
    def _login_name(credentials: dict[str, Any]) -> str:
        phone = normalise_phone_or_none(credentials.get("phone"))
        if phone and not credentials.get("email"):
            return phone
        return str(credentials.get("email") or credentials.get("username") or "").lower()

    @staticmethod
    def _login_digest(login: str) -> str:
        # No login names in cache keys (they show up in Redis tools and dumps).
        return hashlib.sha256(login.encode()).hexdigest()[:32]

    def _is_familiar(self, request, login: str) -> bool:
        address = client_address(request)
        familiar = cache.get(f"login-familiar:{self._login_digest(login)}") or []
        return address is not None and address in familiar

    def _remember_familiar(self, request, user) -> None:
        """The address a right password came from, for every name of the account."""
        address = client_address(request)
        if address is None:
            return
        for name in {user.get_username(), user.email, user.phone} - {None, ""}:
            key = f"login-familiar:{self._login_digest(name.lower())}"
            known = [a for a in cache.get(key) or [] if a != address]
            cache.set(key, [address, *known][: self.FAMILIAR_MAX], timeout=self.FAMILIAR_FOR)

    def _login_failure_keys(
        self, request, login: str, *, every: bool = False
    ) -> list[tuple[str, int, int]]:
        """The counters one failed sign-in adds to: (key, limit, window seconds);
        the per-login ceiling only from an unfamiliar address, unless `every`."""
        digest = self._login_digest(login)
        address = client_address(request) or "-"
        now = int(time.time())
        per_address = settings.LOGIN_FAILURES_PER_ADDRESS_WINDOW
        per_login = settings.LOGIN_FAILURES_PER_LOGIN_WINDOW
        keys = [
            (
                f"login-failed:{digest}:{address}:{now // per_address}",
                settings.LOGIN_FAILURES_PER_ADDRESS,
                per_address,
            )
        ]
        if every or not self._is_familiar(request, login):
            keys.append(
                (
                    f"login-failed:{digest}:{now // per_login}",
                    settings.LOGIN_FAILURES_PER_LOGIN,
                    per_login,
                )
            )
        return keys

    def pre_authenticate(self, request, **credentials: Any) -> None:
        """Count this try before the password is checked (atomically, in the shared
        cache, so parallel tries cannot slip past); a right password gives it back.

        A phone number counts once however it was typed: "13800138000" and
        "+86 138 0013 8000" do not each get their own tries.
        """
        login = self._login_name(credentials)
        if login:
            counted: list[str] = []
            refused = False
            for key, limit, window in self._login_failure_keys(request, login):
                counted.append(key)
                refused = count(key, window=window) > limit or refused
            self._login_failure_counted = counted
            if refused:
                raise self.validation_error("too_many_login_attempts")
        # allauth's own per-address limit ("login_failed" in ACCOUNT_RATE_LIMITS).
        super().pre_authenticate(request, **credentials)

    def authenticate(self, request, **credentials: Any):
        """A right password: this try does not count against the owner."""
        self._login_failure_counted: list[str] = []
        user = super().authenticate(request, **credentials)
        if user is not None:
            self._remember_familiar(request, user)
            for key in self._login_failure_counted:
                uncount(key)
        return user

    def _delete_login_attempts_cached_email(self, request, **credentials: Any) -> None:
        """A password reset proves the owner holds the account: clear the counts of
        every name it signs in with (allauth calls this hook after a reset)."""
        from allauth.account.utils import filter_users_by_email

        super()._delete_login_attempts_cached_email(request, **credentials)
        email = credentials.get("email")
        if not email:
            return
        logins = {email.lower()}
        for user in filter_users_by_email(email):
            logins.update(name.lower() for name in (user.username, user.phone) if name)
        cache.delete_many(
            [
                key
                for login in logins
                for key, _l, _w in self._login_failure_keys(request, login, every=True)
            ]
        )

    # --- text messages -------------------------------------------------------------
    # Every text goes through accounts.sms's gate (daily caps per number, per client
    # address and in all). A refusal is allauth's RateLimited: the person sees "too
    # many attempts, try later" (frontend.middleware.RateLimitedMiddleware, or
    # allauth's own message on a resend), the same whether the number has an account.
    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs: Any) -> None:
        """A code to a person's own number. allauth also calls this when a signed-in
        person changes to a number that is another account's: that number's owner
        gets nothing (counted as if sent, as below), so it cannot be harassed or
        probed from an account either."""
        owner = self.get_user_by_phone(phone)
        if owner is not None and user is not None and owner.pk != user.pk:
            if not sms_count_unsent(phone=phone):
                raise RateLimited
            return
        sent = send_sms(
            phone=phone,
            message=_(
                "[SciArena] Your verification code is %(code)s. "
                "Do not share it with anyone, including our staff."
            )
            % {"code": code},
        )
        if not sent:
            raise RateLimited

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        """A code was asked for a number with no account: send nothing (texting
        strangers costs money and is harassment), but count it as if sent, so that
        the asker meets the same limits and pages as for a registered number."""
        if not sms_count_unsent(phone=phone):
            raise RateLimited

    def send_account_already_exists_sms(self, phone: str) -> None:
        """Someone signed up with a number that has an account: the same as above."""
        if not sms_count_unsent(phone=phone):
            raise RateLimited
