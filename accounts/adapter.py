"""allauth adapter: phone numbers live on our User, codes go out through accounts.sms.

Numbers are stored in E.164 form. People type mainland numbers as 13800138000 or
+86 138 0013 8000; `PhoneField` turns every spelling into +8613800138000 before
allauth sees it, and the lookups below normalise again for callers (allauth's
authentication backend) that pass the raw login string.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.fields import PhoneField as AllauthPhoneField
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .forms import SignupProfileForm
from .models import User
from .phone import normalise_phone, normalise_phone_or_none
from .sms import send_sms


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
        return user

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

    def pre_authenticate(self, request, **credentials: Any) -> None:
        """Count failed logins for a phone number once, however it was typed.

        allauth keys the failed-login limit on the email or username it was given;
        for a phone login that is the raw text, so "13800138000" and
        "+86 138 0013 8000" would each get their own five tries.
        """
        phone = normalise_phone_or_none(credentials.get("phone"))
        if phone and not credentials.get("email"):
            credentials = {**credentials, "username": phone}
        super().pre_authenticate(request, **credentials)

    # --- text messages -------------------------------------------------------------
    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs: Any) -> None:
        send_sms(
            phone=phone,
            message=_(
                "[SciArena] Your verification code is %(code)s. "
                "Do not share it with anyone, including our staff."
            )
            % {"code": code},
        )

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        send_sms(
            phone=phone,
            message=_(
                "[SciArena] Someone asked to sign in with this number, but it has no "
                "account. If it was not you, ignore this message."
            ),
        )

    def send_account_already_exists_sms(self, phone: str) -> None:
        send_sms(
            phone=phone,
            message=_(
                "[SciArena] Someone tried to sign up with this number, but it already "
                "has an account. Sign in instead, or ignore this message."
            ),
        )
