"""Export and deletion of personal data on request (PIPL art. 45 and 47).

Anyone signed in downloads what we hold about them as JSON, and deletes their account:
personal data goes, the user row stays (anonymised) so results keep adding up.
"""

from __future__ import annotations

import json
import time

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import ConsentRequest, GuardianConsent, Profile, User
from tests.factories import (
    PASSWORD,
    ConsentRequestFactory,
    GuardianConsentFactory,
    UnitFactory,
    UserFactory,
    adult,
    child,
)
from tests.support.i18n import zh

pytestmark = pytest.mark.django_db

EXPORT = "/me/export.json"
DELETE = "/me/delete/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Password tries are counted in the cache, which outlives a test's database."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def consented_child():
    user = child(nickname="小红")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    ConsentRequestFactory(child=user, guardian_contact="mum@example.org")
    GuardianConsentFactory(child=user, guardian_contact="mum@example.org")
    services.consent_withdraw(child=user, guardian_contact="mum@example.org", relationship="mother")
    return user


# --- export ---------------------------------------------------------------------------


def test_export_requires_sign_in(client):
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_export_is_a_json_download_with_the_profile_and_the_consent_history(consented_child):
    response = signed_in(consented_child).get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".json" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["username"] == consented_child.username
    assert data["account"]["email"] == consented_child.email
    assert data["email_addresses"] == [
        {"email": consented_child.email, "verified": True, "primary": True}
    ]
    profile = data["profile"]
    assert profile["nickname"] == "小红"
    assert profile["birth_year"] == consented_child.profile.birth_year
    assert profile["school"] == consented_child.profile.school.name
    assert profile["district"] == "110108"
    assert [c["action"] for c in data["guardian_consents"]] == ["grant", "withdraw"]
    assert data["guardian_consents"][0]["notice_version"] == "2026-11"
    assert data["guardian_consent_requests"][0]["guardian_contact"] == "mum@example.org"


def test_export_keeps_chinese_readable(consented_child):
    response = signed_in(consented_child).get(EXPORT)
    assert "小红".encode() in response.content


def test_export_holds_only_the_signed_in_person(consented_child):
    other = adult()
    data = json.loads(signed_in(other).get(EXPORT).content)
    assert data["account"]["username"] == other.username
    assert data["guardian_consents"] == []
    assert consented_child.username not in json.dumps(data)


def test_export_is_get_only(consented_child):
    assert signed_in(consented_child).post(EXPORT).status_code == 405


# --- deletion -------------------------------------------------------------------------


def test_the_delete_page_asks_for_confirmation(consented_child):
    response = signed_in(consented_child).get(DELETE)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="confirm_username"' in page
    assert 'name="password"' in page
    assert consented_child.username in page


def test_deletion_requires_sign_in(client):
    assert client.get(DELETE)["Location"].startswith(reverse("account_login"))
    assert client.post(DELETE, {})["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize(
    ("typed_username", "password", "field"),
    [
        ("", PASSWORD, "confirm_username"),
        ("somebody-else", PASSWORD, "confirm_username"),
        (None, "wrong password", "password"),
        (None, "", "password"),
    ],
)
def test_deletion_without_the_right_confirmation_changes_nothing(
    consented_child, typed_username, password, field
):
    client = signed_in(consented_child)
    data = {
        "confirm_username": consented_child.username if typed_username is None else typed_username,
        "password": password,
    }
    response = client.post(DELETE, data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    fresh = User.objects.get(pk=consented_child.pk)
    assert fresh.username == consented_child.username
    assert fresh.is_active
    assert fresh.deleted_at is None
    assert fresh.profile.nickname == "小红"
    assert fresh.guardian_consents.count() == 2
    assert client.get(reverse("accounts:me")).status_code == 200


def test_deleting_an_account_removes_personal_data_and_keeps_the_row(consented_child):
    user = consented_child
    old_username, old_email = user.username, user.email
    User.objects.filter(pk=user.pk).update(phone="+8613800138000", phone_verified=True)
    school_id, district_id = user.profile.school_id, user.profile.district_id
    client = signed_in(user)

    response = client.post(DELETE, {"confirm_username": old_username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:home")
    assert "_auth_user_id" not in client.session
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["success"]

    gone = User.objects.get(pk=user.pk)  # the row stays, so results keep pointing at it
    assert gone.username != old_username
    assert gone.username.startswith("deleted-")
    assert gone.email == ""
    assert gone.phone is None
    assert not gone.phone_verified
    assert not gone.is_active
    assert not gone.has_usable_password()
    assert gone.deleted_at is not None
    profile = Profile.objects.get(user=gone)
    assert profile.nickname == ""
    assert profile.birth_year is None
    assert profile.grade is None
    # what aggregate statistics need, with no name attached
    assert profile.school_id == school_id
    assert profile.district_id == district_id
    assert not GuardianConsent.objects.filter(child=gone).exists()
    assert not ConsentRequest.objects.filter(child=gone).exists()
    assert not EmailAddress.objects.filter(user=gone).exists()
    assert old_email not in json.dumps(services.user_export_data(user=gone))


def test_a_deleted_account_can_no_longer_sign_in(consented_child):
    username = consented_child.username
    client = signed_in(consented_child)
    client.post(DELETE, {"confirm_username": username, "password": PASSWORD})

    fresh = Client()
    response = fresh.post(reverse("account_login"), {"login": username, "password": PASSWORD})
    assert "_auth_user_id" not in fresh.session
    assert response.status_code == 200
    assert not fresh.login(username=username, password=PASSWORD)


def test_deletion_ends_the_account_s_other_sessions(consented_child):
    phone = Client()
    assert phone.login(username=consented_child.username, password=PASSWORD)
    laptop = Client()
    assert laptop.login(username=consented_child.username, password=PASSWORD)

    laptop.post(DELETE, {"confirm_username": consented_child.username, "password": PASSWORD})

    response = phone.get(reverse("accounts:me"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_adult_without_consent_records_can_delete_too():
    user = adult(unit=UnitFactory())
    client = signed_in(user)
    client.post(DELETE, {"confirm_username": user.username, "password": PASSWORD})
    gone = User.objects.get(pk=user.pk)
    assert gone.deleted_at is not None
    assert gone.profile.unit is None


def test_an_account_without_a_password_confirms_with_the_username_alone():
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    client = signed_in(user)
    assert 'name="password"' not in client.get(DELETE).content.decode()
    response = client.post(DELETE, {"confirm_username": user.username})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).deleted_at is not None


def _still_there(user: User) -> bool:
    fresh = User.objects.get(pk=user.pk)
    return fresh.deleted_at is None and fresh.is_active and fresh.username == user.username


def test_wrong_passwords_on_the_delete_page_are_limited_per_account(consented_child):
    client = signed_in(consented_child)
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    for _ in range(services.DELETE_PASSWORD_TRIES):
        response = client.post(DELETE, wrong)
        assert response.status_code == 400
        assert response.context["form"].errors["password"] == [zh("The password is not correct.")]

    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    response = client.post(DELETE, right)

    assert response.status_code == 429
    [message] = response.context["form"].errors["password"]
    assert message == zh(
        "Too many wrong passwords. Nothing was changed: wait %(minutes)s minutes and try again.",
        minutes=15,
    )
    assert message in response.content.decode()
    assert _still_there(consented_child)
    assert User.objects.get(pk=consented_child.pk).profile.nickname == "小红"
    assert consented_child.guardian_consents.count() == 2
    assert "_auth_user_id" in client.session


def test_the_limit_holds_in_another_session(consented_child):
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    first = signed_in(consented_child)
    for _ in range(services.DELETE_PASSWORD_TRIES):
        first.post(DELETE, wrong)

    second = signed_in(consented_child)
    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    assert second.post(DELETE, right).status_code == 429
    assert _still_there(consented_child)


def test_the_limit_lifts_when_the_window_ends(consented_child, monkeypatch):
    # A one-second window, so the cache itself (locmem or Redis) lets the count expire.
    monkeypatch.setattr(services, "DELETE_PASSWORD_WINDOW", 1)
    client = signed_in(consented_child)
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    for _ in range(services.DELETE_PASSWORD_TRIES):
        client.post(DELETE, wrong)
    assert client.post(DELETE, right).status_code == 429
    assert _still_there(consented_child)

    time.sleep(1.2)
    assert client.post(DELETE, right).status_code == 302
    assert User.objects.get(pk=consented_child.pk).deleted_at is not None


def test_a_right_password_does_not_count_against_the_limit(consented_child):
    client = signed_in(consented_child)
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    typo = {"confirm_username": "not-me", "password": PASSWORD}
    for _ in range(services.DELETE_PASSWORD_TRIES - 1):
        assert client.post(DELETE, wrong).status_code == 400
    for _ in range(3):  # a mistyped username with the right password
        assert client.post(DELETE, typo).status_code == 400

    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    assert client.post(DELETE, right).status_code == 302
    assert User.objects.get(pk=consented_child.pk).deleted_at is not None


def test_one_account_s_wrong_passwords_do_not_lock_another(consented_child):
    client = signed_in(consented_child)
    for _ in range(services.DELETE_PASSWORD_TRIES + 1):
        client.post(DELETE, {"confirm_username": consented_child.username, "password": "x"})

    other = adult()
    response = signed_in(other).post(
        DELETE, {"confirm_username": other.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=other.pk).deleted_at is not None


def test_deleting_twice_changes_nothing_more(consented_child):
    services.user_delete(user=consented_child)
    first = User.objects.get(pk=consented_child.pk)
    services.user_delete(user=first)
    assert User.objects.get(pk=consented_child.pk).username == first.username


def test_a_guardian_can_delete_the_account_when_withdrawing(django_capture_on_commit_callbacks):
    user = child(nickname="小刚")
    consent = GuardianConsentFactory(child=user, guardian_contact="dad@example.org")
    url = reverse(
        "accounts:consent_withdraw", args=[services.consent_withdraw_token_make(consent=consent)]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(url, {"delete_account": "on"})

    assert response.status_code == 200
    gone = User.objects.get(pk=user.pk)
    assert gone.deleted_at is not None
    assert gone.profile.nickname == ""
    assert not GuardianConsent.objects.filter(child=gone).exists()
    [confirmation] = [m for m in mail.outbox if m.to == ["dad@example.org"]]
    assert "小刚" in confirmation.body
    # the link now leads nowhere, and says so
    assert Client().get(url).status_code == 410


# --- the account page -----------------------------------------------------------------


def test_the_account_page_needs_sign_in(client):
    assert client.get(reverse("accounts:me"))["Location"].startswith(reverse("account_login"))


def test_the_account_page_shows_the_profile_and_the_data_buttons():
    user = child(nickname="小华")
    page = signed_in(user).get(reverse("accounts:me")).content.decode()
    assert "小华" in page
    assert user.profile.school.name in page
    assert user.profile.district.name in page
    assert f'href="{EXPORT}"' in page
    assert f'href="{DELETE}"' in page
    assert f'href="{reverse("account_change_password")}"' in page
    assert f'href="{reverse("account_email")}"' in page
    assert f'href="{reverse("account_change_phone")}"' in page


def test_two_factor_is_offered_to_teachers_and_organizers_only():
    mfa = f'href="{reverse("mfa_index")}"'
    citizen_page = signed_in(adult()).get(reverse("accounts:me")).content.decode()
    assert mfa not in citizen_page
    for role in (User.Role.TEACHER, User.Role.ORGANIZER):
        user = adult(user=UserFactory(role=role))
        assert mfa in signed_in(user).get(reverse("accounts:me")).content.decode()
