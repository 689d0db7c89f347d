"""Signing in and out through allauth: passwords, phone codes, rate limits, MFA.

Every test goes through the real allauth views (POST /accounts/login/ and friends),
so what is proven here is what a browser gets.
"""

from __future__ import annotations

import re
import time

import pytest
from allauth.account.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import sms
from accounts.models import User
from accounts.phone import normalise_phone
from tests.factories import PASSWORD, UserFactory, adult
from tests.support.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db

SCHOOL_IP = "10.20.30.40"
PHONE = "+8613800138000"


def sign_in(client: Client, login: str, password: str = PASSWORD, ip: str = SCHOOL_IP):
    return client.post(
        reverse("account_login"), {"login": login, "password": password}, REMOTE_ADDR=ip
    )


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def too_many_attempts_message() -> str:
    return str(get_adapter().error_messages["too_many_login_attempts"])


def totp_code(secret: str) -> str:
    period = 30  # allauth's MFA_TOTP_PERIOD default
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def last_sms_code() -> str:
    match = re.search(r"\b(\d{6})\b", sms.outbox[-1].message)
    assert match, sms.outbox[-1].message
    return match.group(1)


# --- phone numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        "+8613800138000",
        "１３８００１３８０００",  # full-width digits from a Chinese input method
    ],
)
def test_every_way_of_writing_a_mainland_number_is_stored_the_same(typed):
    assert normalise_phone(typed) == PHONE


def test_a_number_from_abroad_keeps_its_country_code():
    assert normalise_phone("+852 9123 4567") == "+85291234567"
    assert normalise_phone("00852 9123 4567") == "+85291234567"


@pytest.mark.parametrize("typed", ["", "12345", "1380013800", "23800138000", "+86 123", "abc"])
def test_something_that_is_no_phone_number_is_refused(typed):
    with pytest.raises(ValidationError):
        normalise_phone(typed)


# --- username, email and phone with a password ---------------------------------------


def test_a_player_signs_in_with_their_username(client):
    user = adult()
    response = sign_in(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    assert signed_in_user(client) == user


def test_a_player_signs_in_with_their_email_address(client):
    user = adult(user=UserFactory(email="li.hua@example.org"))
    response = sign_in(client, "Li.Hua@example.org")
    assert response.status_code == 302
    assert signed_in_user(client) == user


def test_a_player_signs_in_with_their_phone_number_typed_the_usual_way(client):
    user = adult(user=UserFactory(phone=PHONE, phone_verified=True))
    response = sign_in(client, "138 0013 8000")
    assert response.status_code == 302
    assert signed_in_user(client) == user


def test_a_wrong_password_does_not_sign_in(client):
    user = adult()
    response = sign_in(client, user.username, "not-the-password")
    assert response.status_code == 200
    assert signed_in_user(client) is None


# --- rate limits ---------------------------------------------------------------------


def test_a_class_behind_one_school_ip_can_all_sign_in():
    students = [UserFactory(role=User.Role.STUDENT) for _ in range(40)]
    for student in students:
        client = Client()
        response = sign_in(client, student.username, ip=SCHOOL_IP)
        assert response.status_code == 302, student.username
        assert signed_in_user(client) == student


def test_a_class_with_a_few_typos_is_not_locked_out_behind_one_school_ip():
    students = [UserFactory(role=User.Role.STUDENT) for _ in range(40)]
    for student in students:
        sign_in(Client(), student.username, "typo", ip=SCHOOL_IP)
    for student in students:
        client = Client()
        assert sign_in(client, student.username, ip=SCHOOL_IP).status_code == 302
        assert signed_in_user(client) == student


def test_six_wrong_passwords_lock_that_username_but_not_a_classmate_on_the_same_ip():
    target = UserFactory(role=User.Role.STUDENT)
    classmate = UserFactory(role=User.Role.STUDENT)
    for _ in range(5):
        response = sign_in(Client(), target.username, "guess")
        assert response.status_code == 200
        assert too_many_attempts_message() not in response.content.decode()

    client = Client()
    response = sign_in(client, target.username, PASSWORD)
    assert response.status_code == 200
    assert too_many_attempts_message() in response.content.decode()
    assert signed_in_user(client) is None

    other = Client()
    assert sign_in(other, classmate.username).status_code == 302
    assert signed_in_user(other) == classmate


def test_typing_a_phone_number_differently_does_not_buy_more_password_guesses():
    user = UserFactory(phone=PHONE, phone_verified=True)
    spellings = [
        "13800138000",
        "+8613800138000",
        "138 0013 8000",
        "0086 13800138000",
        "+86 138-0013-8000",
    ]
    for spelling in spellings:
        assert sign_in(Client(), spelling, "guess").status_code == 200
    client = Client()
    response = sign_in(client, "8613800138000")
    assert too_many_attempts_message() in response.content.decode()
    assert signed_in_user(client) is None
    assert user.phone == PHONE


def test_behind_the_proxy_one_school_using_up_its_limit_leaves_another_alone(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "5/m/ip"}
    school_a, school_b = "10.0.0.1", "10.0.0.2"

    def via_proxy(client, user, password, school):
        # As daphne --proxy-headers hands a request on behind the documented nginx,
        # which overwrote X-Forwarded-For with the school's address (docs/deploy.md, 8).
        return client.post(
            reverse("account_login"),
            {"login": user.username, "password": password},
            REMOTE_ADDR=school,
            HTTP_X_FORWARDED_FOR=school,
        )

    for _ in range(5):
        via_proxy(Client(), UserFactory(), "typo", school_a)
    response = via_proxy(Client(), UserFactory(), PASSWORD, school_a)
    assert too_many_attempts_message() in response.content.decode()

    client = Client()
    student = UserFactory()
    assert via_proxy(client, student, PASSWORD, school_b).status_code == 302
    assert signed_in_user(client) == student


# --- phone sign-in with a one-time code ------------------------------------------------


def test_a_player_signs_in_with_a_code_texted_to_their_phone(client):
    user = adult(user=UserFactory(phone=PHONE, phone_verified=True))
    assert client.get(reverse("account_request_login_code")).status_code == 200

    response = client.post(
        reverse("account_request_login_code"), {"phone": "138 0013 8000"}, REMOTE_ADDR=SCHOOL_IP
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_confirm_login_code"))
    assert [m.phone for m in sms.outbox] == [PHONE]
    code = last_sms_code()
    assert signed_in_user(client) is None

    assert client.get(reverse("account_confirm_login_code")).status_code == 200
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert signed_in_user(client) == user


def test_a_wrong_texted_code_does_not_sign_in(client):
    UserFactory(phone=PHONE, phone_verified=True)
    client.post(reverse("account_request_login_code"), {"phone": "13800138000"})
    wrong = f"{(int(last_sms_code()) + 1) % 1_000_000:06d}"
    response = client.post(reverse("account_confirm_login_code"), {"code": wrong})
    assert response.status_code == 200
    assert signed_in_user(client) is None


def test_a_number_without_an_account_gets_no_text(client):
    response = client.post(reverse("account_request_login_code"), {"phone": "13900139000"})
    # Same answer as for a known number (tests/accounts/test_enumeration.py compares
    # the pages): nobody learns who is registered, and no stranger is texted.
    assert response.status_code == 302
    assert sms.outbox == []


def test_codes_for_one_number_cannot_be_requested_without_end():
    UserFactory(phone=PHONE, phone_verified=True)
    for _ in range(3):
        Client().post(reverse("account_request_login_code"), {"phone": "13800138000"})
    response = Client().post(reverse("account_request_login_code"), {"phone": "+86 138 0013 8000"})
    assert response.status_code == 200
    assert len(sms.outbox) == 3


def test_signing_up_with_a_phone_number_stores_it_and_verifies_it_by_text(client):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "wangfang",
            "email": "wang.fang@example.org",
            "phone": "+86 138 0013 8000",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "nickname": "芳芳",
            "role": User.Role.CITIZEN,
            "population_group": "other",
            "birth_year": 1960,
        },
    )
    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(username="wangfang")
    assert (user.phone, user.phone_verified) == (PHONE, False)
    assert response["Location"] == reverse("account_verify_phone")
    assert [m.phone for m in sms.outbox] == [PHONE]

    assert client.get(reverse("account_verify_phone")).status_code == 200
    response = client.post(reverse("account_verify_phone"), {"code": last_sms_code()})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone_verified
    assert signed_in_user(client) == user


def test_signing_up_without_a_phone_number_is_fine(client):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "zhangwei",
            "email": "zhang.wei@example.org",
            "phone": "",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "nickname": "伟",
            "role": User.Role.CITIZEN,
            "population_group": "worker",
            "birth_year": 1980,
        },
    )
    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(username="zhangwei")
    assert user.phone is None
    assert signed_in_user(client) == user


# --- password reset --------------------------------------------------------------------


def test_a_forgotten_password_is_reset_through_the_emailed_link(client):
    user = adult(user=UserFactory(email="zhao.lei@example.org"))
    response = client.post(reverse("account_reset_password"), {"email": "zhao.lei@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["zhao.lei@example.org"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    response = client.get(link.group(1))
    assert response.status_code == 302  # allauth hides the key in the session
    form_url = response["Location"]
    assert client.get(form_url).status_code == 200
    new_password = "a-brand-new-passphrase"
    response = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302

    fresh = Client()
    assert sign_in(fresh, user.username, PASSWORD).status_code == 200
    assert sign_in(fresh, user.username, new_password).status_code == 302
    assert signed_in_user(fresh) == user


# --- MFA -------------------------------------------------------------------------------


def reauthenticate(client: Client) -> None:
    """allauth asks for the password again before security settings change."""
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()


def activate_totp(client: Client) -> str:
    """Turn on TOTP for the signed-in user through allauth's own pages; returns the secret."""
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    reauthenticate(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()
    return secret


@pytest.mark.parametrize("role", [User.Role.TEACHER, User.Role.ORGANIZER, User.Role.ADMIN])
def test_staff_can_reach_two_factor_settings(client, role):
    user = UserFactory(role=role, totp=False)
    sign_in(client, user.username)
    assert client.get(reverse("mfa_index")).status_code == 200
    reauthenticate(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_an_organizer_with_totp_must_give_a_code_to_sign_in(client, settings):
    # The code is computed here and checked a moment later by the server: accept the
    # previous 30-second window too, so a boundary between the two cannot fail the test.
    settings.MFA_TOTP_TOLERANCE = 1
    organizer = UserFactory(role=User.Role.ORGANIZER, totp=False)
    sign_in(client, organizer.username)
    secret = activate_totp(client)
    assert Authenticator.objects.filter(user=organizer, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(
        user=organizer, type=Authenticator.Type.RECOVERY_CODES
    ).exists()
    client.post(reverse("account_logout"))
    assert signed_in_user(client) is None

    response = sign_in(client, organizer.username)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None

    right = totp_code(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert response.status_code == 200
    assert signed_in_user(client) is None

    response = client.post(reverse("mfa_authenticate"), {"code": right})
    assert response.status_code == 302
    assert signed_in_user(client) == organizer


def test_an_organizer_who_lost_their_phone_signs_in_with_a_recovery_code(client):
    organizer = UserFactory(role=User.Role.ORGANIZER, totp=False)
    sign_in(client, organizer.username)
    activate_totp(client)
    client.post(reverse("account_logout"))
    recovery = RecoveryCodes(
        Authenticator.objects.get(user=organizer, type=Authenticator.Type.RECOVERY_CODES)
    )
    code = recovery.get_unused_codes()[0]

    sign_in(client, organizer.username)
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert signed_in_user(client) == organizer


def test_a_texted_code_does_not_skip_the_organizers_totp(client):
    organizer = UserFactory(role=User.Role.ORGANIZER, phone=PHONE, phone_verified=True, totp=False)
    sign_in(client, organizer.username)
    activate_totp(client)
    client.post(reverse("account_logout"))

    client.post(reverse("account_request_login_code"), {"phone": "13800138000"})
    response = client.post(reverse("account_confirm_login_code"), {"code": last_sms_code()})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None


def test_a_citizen_may_turn_on_two_factor_too(client):
    # Harmless and their own choice; only staff see the link in the menu.
    citizen = adult()
    sign_in(client, citizen.username)
    assert client.get(reverse("mfa_index")).status_code == 200
    activate_totp(client)
    assert Authenticator.objects.filter(user=citizen, type=Authenticator.Type.TOTP).exists()


# --- every allauth page we use renders inside our layout ---------------------------------

ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_request_login_code",
]
SIGNED_IN_PAGES = [
    "account_logout",
    "account_reauthenticate",
    "account_change_password",
    "account_email",
    "account_change_phone",
    "mfa_index",
    "mfa_activate_totp",
]


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_allauth_page_renders_for_a_visitor_in_our_layout(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert "base.html" in names
    assert 'id="main"' in response.content.decode()


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_allauth_page_renders_for_a_signed_in_organizer_in_our_layout(client, name):
    # An organizer without TOTP is sent to set it up (accounts.middleware): only the
    # set-up page is tried without one.
    setting_up = name == "mfa_activate_totp"
    organizer = UserFactory(
        role=User.Role.ORGANIZER, phone=PHONE, phone_verified=True, totp=not setting_up
    )
    if setting_up:
        sign_in(client, organizer.username)
    else:
        sign_in_with_totp(client, organizer, REMOTE_ADDR=SCHOOL_IP)
    reauthenticate(client)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "base.html" in [t.name for t in response.templates]


def test_buttons_on_allauth_pages_carry_our_class_names(client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'class="button button-primary"' in html
    assert "<title>" in html
