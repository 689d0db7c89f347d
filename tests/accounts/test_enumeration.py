"""Sign-up and sign-in reveal nobody's account and cannot be turned against its owner.

- A registered e-mail address or phone number gets, at sign-up and when a sign-in
  code is asked for, the same pages as a new one (compared byte for byte once the
  CSRF tokens and the number itself are blanked), and nobody is texted for it.
- allauth's RateLimited (a phone code asked for again within its limit, the daily text
  caps) is a 429 page, never a 500, at sign-up and sign-in alike.
- Wrong passwords lock a login name per client address: an attacker at one address
  exhausting a username does not lock out its owner at another, and is still stopped.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import sms
from accounts.models import User
from tests.factories import PASSWORD, UserFactory, adult, signup_form_data

pytestmark = pytest.mark.django_db

KNOWN_PHONE = "+8613800138000"
NEW_PHONE = "+8613900139000"
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+(")')


def page(response, *blank: str) -> str:
    """A response's text with the CSRF tokens and the given strings blanked."""
    text = CSRF.sub(r"\1-\2", response.content.decode())
    for value in blank:
        text = text.replace(value, "[blank]")
    return text


def follow(client: Client, response) -> list:
    """The redirects a browser would follow, each response kept."""
    chain = [response]
    while response.status_code == 302 and len(chain) < 5:
        response = client.get(response["Location"])
        chain.append(response)
    return chain


def same_pages(first: list, second: list, *blank: str) -> None:
    assert [r.status_code for r in first] == [r.status_code for r in second]
    assert [r.get("Location") for r in first] == [r.get("Location") for r in second]
    for a, b in zip(first, second, strict=True):
        assert page(a, *blank) == page(b, *blank)


# --- sign-in codes ---------------------------------------------------------------------


def ask_code(phone: str) -> list:
    client = Client()
    digits = phone.removeprefix("+86")
    return follow(client, client.post(reverse("account_request_login_code"), {"phone": digits}))


def test_asking_a_code_for_a_number_without_an_account_looks_the_same_and_texts_nobody():
    adult(user=UserFactory(phone=KNOWN_PHONE, phone_verified=True))
    known = ask_code(KNOWN_PHONE)
    assert [m.phone for m in sms.outbox] == [KNOWN_PHONE]
    unknown = ask_code(NEW_PHONE)
    assert [m.phone for m in sms.outbox] == [KNOWN_PHONE]  # nothing to the stranger
    same_pages(known, unknown, KNOWN_PHONE, NEW_PHONE)


@pytest.mark.parametrize("number", [KNOWN_PHONE, NEW_PHONE])
def test_every_number_meets_the_same_daily_cap_registered_or_not(settings, number):
    settings.SMS_PER_NUMBER_PER_DAY = 2
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "request_login_code": ""}
    UserFactory(phone=KNOWN_PHONE, phone_verified=True)
    answers = [ask_code(number)[0].status_code for _ in range(3)]
    assert answers == [302, 302, 429]


# --- sign-up ---------------------------------------------------------------------------


def sign_up(data: dict, django_capture_on_commit_callbacks) -> tuple[Client, list]:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), data)
    return client, follow(client, response)


def test_signing_up_with_a_registered_email_looks_like_a_new_one_and_mails_the_owner(
    django_capture_on_commit_callbacks,
):
    owner = UserFactory(email="owner@example.org")
    _client, new = sign_up(
        signup_form_data(username="first", email="fresh@example.org"),
        django_capture_on_commit_callbacks,
    )
    mail.outbox.clear()
    _client, taken = sign_up(
        signup_form_data(username="second", email="Owner@example.org"),
        django_capture_on_commit_callbacks,
    )
    same_pages(new, taken, "first", "second", "fresh@example.org", "owner@example.org")
    # The new account exists and is signed in, without the owner's address …
    second = User.objects.get(username="second")
    assert second.email == ""
    assert not second.emailaddress_set.exists()
    # … and the owner, not the newcomer, is told.
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "/accounts/password/reset/" in mail.outbox[0].body


def test_signing_up_with_a_registered_number_looks_like_a_new_one_and_texts_nobody(
    django_capture_on_commit_callbacks,
):
    UserFactory(phone=KNOWN_PHONE, phone_verified=True)
    _client, new = sign_up(
        signup_form_data(username="first", email="", phone="13900139000"),
        django_capture_on_commit_callbacks,
    )
    assert [m.phone for m in sms.outbox] == [NEW_PHONE]
    sms.outbox.clear()
    _client, taken = sign_up(
        signup_form_data(username="second", email="", phone="13800138000"),
        django_capture_on_commit_callbacks,
    )
    assert sms.outbox == []
    # "Enter the code we texted you", the same page (allauth makes no account).
    assert new[0]["Location"] == reverse("account_verify_phone")
    same_pages(new, taken, NEW_PHONE, KNOWN_PHONE, "first", "second")
    assert not User.objects.filter(username="second").exists()


def change_number_to(number: str) -> list:
    user = adult(user=UserFactory(phone=None))
    client = Client()
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    return follow(client, client.post(reverse("account_change_phone"), {"phone": number}))


def test_changing_to_a_number_of_another_account_looks_the_same_and_texts_nobody():
    UserFactory(phone=KNOWN_PHONE, phone_verified=True)
    free = change_number_to("13900139000")
    assert [m.phone for m in sms.outbox] == [NEW_PHONE]
    sms.outbox.clear()
    taken = change_number_to("13800138000")
    assert sms.outbox == []
    same_pages(free, taken, NEW_PHONE, KNOWN_PHONE, *(u.username for u in User.objects.all()))


# --- RateLimited is a 429, not a 500 ---------------------------------------------------


def test_signing_up_twice_with_one_number_is_a_429_page_not_a_500(
    django_capture_on_commit_callbacks,
):
    # The first sign-up texts a code; a second one for the same number within
    # allauth's verify_phone limit (one code per number per 30 s) raises RateLimited
    # inside the sign-up flow.
    data = signup_form_data(username="first", email="", phone="13900139000")
    sign_up(data, django_capture_on_commit_callbacks)
    client = Client(raise_request_exception=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"), {**data, "username": "again", "phone": "139 0013 9000"}
        )
    assert response.status_code == 429
    assert "base.html" in [t.name for t in response.templates]
    assert len(sms.outbox) == 1


def test_signing_in_twice_with_an_unverified_number_is_a_429_page_not_a_500():
    # Signing in with an unverified number texts a verification code; signing in
    # again at once meets the same limit inside the login flow.
    user = adult(user=UserFactory(phone=KNOWN_PHONE, phone_verified=False))
    first = Client().post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert first["Location"] == reverse("account_verify_phone")
    client = Client(raise_request_exception=True)
    response = client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert len(sms.outbox) == 1


def test_a_used_up_daily_text_cap_at_sign_in_is_a_429_page(settings):
    settings.SMS_PER_NUMBER_PER_DAY = 0
    user = adult(user=UserFactory(phone=KNOWN_PHONE, phone_verified=False))
    client = Client(raise_request_exception=True)
    response = client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert sms.outbox == []


# --- wrong passwords: per login name and client address ---------------------------------

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def sign_in(login: str, password: str, ip: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": login, "password": password}, REMOTE_ADDR=ip
    )
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("how", ["username", "email", "phone"])
def test_an_attacker_exhausting_a_login_does_not_lock_out_its_owner_elsewhere(how):
    owner = adult(
        user=UserFactory(email="owner@example.org", phone=KNOWN_PHONE, phone_verified=True)
    )
    login = {"username": owner.username, "email": owner.email, "phone": "13800138000"}[how]
    for _ in range(20):
        sign_in(login, "guess", ATTACKER)
    client, _response = sign_in(login, PASSWORD, OWNER)
    assert signed_in(client)


def test_the_attacker_is_still_stopped_even_with_the_right_password():
    owner = adult()
    for _ in range(5):
        client, response = sign_in(owner.username, "guess", ATTACKER)
        assert "too many" not in response.content.decode().lower()
    client, response = sign_in(owner.username, PASSWORD, ATTACKER)
    assert not signed_in(client)
    assert response.status_code == 200


def test_guesses_spread_over_many_addresses_meet_a_ceiling_per_login(settings):
    settings.LOGIN_FAILURES_PER_LOGIN = 30
    owner = adult()
    for n in range(30):
        sign_in(owner.username, "guess", f"10.9.{n // 5}.{n}")
    client, _response = sign_in(owner.username, PASSWORD, "10.99.0.1")
    assert not signed_in(client)


def test_the_ceiling_does_not_lock_the_owner_out_where_they_signed_in_before(settings):
    settings.LOGIN_FAILURES_PER_LOGIN = 10
    owner = adult()
    assert signed_in(sign_in(owner.username, PASSWORD, OWNER)[0])  # home, say
    for n in range(10):
        sign_in(owner.username, "guess", f"10.9.{n}.1")
    # At home the owner still gets in; from a new address the ceiling holds.
    assert signed_in(sign_in(owner.username, PASSWORD, OWNER)[0])
    assert not signed_in(sign_in(owner.username, PASSWORD, "10.99.0.1")[0])
    # A familiar address is still limited per address: it is not a free pass.
    for _ in range(5):
        sign_in(owner.username, "guess", OWNER)
    assert not signed_in(sign_in(owner.username, PASSWORD, OWNER)[0])


def test_a_right_password_does_not_count_as_a_failure():
    owner = adult()
    for _ in range(10):
        client, _response = sign_in(owner.username, PASSWORD, OWNER)
        assert signed_in(client)


def test_a_password_reset_lifts_the_lock_on_every_name_of_the_account(settings):
    settings.LOGIN_FAILURES_PER_LOGIN = 5
    owner = adult(user=UserFactory(email="owner@example.org"))
    for n in range(5):
        sign_in(owner.username, "guess", f"10.8.0.{n}")
    assert not signed_in(sign_in(owner.username, PASSWORD, OWNER)[0])

    client = Client()
    client.post(reverse("account_reset_password"), {"email": owner.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    form_url = client.get(link.group(1))["Location"]
    new = "a-brand-new-passphrase"
    assert client.post(form_url, {"password1": new, "password2": new}).status_code == 302

    assert signed_in(sign_in(owner.username, new, OWNER)[0])
