"""Signing up through allauth's real sign-up view with our profile fields.

Children under 14 get an account that cannot play yet, and their guardian gets a
consent link (by email or text message, after the transaction commits). Bad input
gets a clear error and creates nobody.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services, sms
from accounts.models import ConsentRequest, GuardianConsent, Profile, User
from accounts.selectors import user_can_play
from tests.factories import SchoolFactory, child_signup_form_data, district, signup_form_data

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def sign_up(client, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("account_signup"), data)


def errors_of(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {field: [str(e) for e in errors] for field, errors in form.errors.items()}


def test_an_adult_signs_up_and_can_play_at_once(client, django_capture_on_commit_callbacks):
    response = sign_up(client, signup_form_data(), django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    user = User.objects.get(username="lihua")
    assert user.role == User.Role.CITIZEN
    assert user.profile.nickname == "李华"
    assert user.profile.birth_year == 1990
    assert user.profile.region.slug == "haidian"
    assert user_can_play(user=user)
    assert not ConsentRequest.objects.exists()
    assert client.get(reverse("accounts:play")).status_code == 200


def test_a_child_signs_up_and_the_guardian_is_emailed_a_consent_link(
    client, django_capture_on_commit_callbacks
):
    response = sign_up(client, child_signup_form_data(), django_capture_on_commit_callbacks)

    assert response.status_code == 302
    child = User.objects.get(username="xiaoming")
    assert child.role == User.Role.STUDENT
    assert child.profile.population_group == Profile.PopulationGroup.STUDENT
    assert child.profile.needs_guardian_consent
    assert not user_can_play(user=child)
    to_guardian = [m for m in mail.outbox if m.to == ["mother@example.org"]]
    assert len(to_guardian) == 1
    assert "小明" in to_guardian[0].body
    assert "/me/consent/" in to_guardian[0].body
    request = ConsentRequest.objects.get(child=child)
    assert request.guardian_contact == "mother@example.org"
    assert request.relationship == GuardianConsent.Relationship.MOTHER
    assert not GuardianConsent.objects.exists()


def test_a_child_signs_up_and_the_guardian_gets_a_text_message_with_the_link(
    client, django_capture_on_commit_callbacks
):
    data = child_signup_form_data(guardian_contact="139 1234 5678", guardian_relationship="father")
    sign_up(client, data, django_capture_on_commit_callbacks)

    child = User.objects.get(username="xiaoming")
    texts = [m for m in sms.outbox if m.phone == "+8613912345678"]
    assert len(texts) == 1
    assert "/me/consent/" in texts[0].message
    assert ConsentRequest.objects.get(child=child).guardian_contact == "+8613912345678"


def test_the_consent_link_goes_out_only_after_the_account_is_committed(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("account_signup"), child_signup_form_data())
    assert not [m for m in mail.outbox if m.to == ["mother@example.org"]]
    for callback in callbacks:
        callback()
    assert [m for m in mail.outbox if m.to == ["mother@example.org"]]


def test_a_fifteen_year_old_needs_no_guardian(client, django_capture_on_commit_callbacks):
    sign_up(
        client,
        child_signup_form_data(age=15, guardian_contact="", guardian_relationship=""),
        django_capture_on_commit_callbacks,
    )
    assert user_can_play(user=User.objects.get(username="xiaoming"))


# --- one transaction -----------------------------------------------------------------


class ProfileStepError(Exception):
    pass


@pytest.mark.parametrize("data", [signup_form_data, child_signup_form_data], ids=["adult", "child"])
def test_a_failure_while_storing_the_profile_leaves_no_account_behind(
    client, django_capture_on_commit_callbacks, monkeypatch, data
):
    """The user, the profile and the consent request are saved together or not at all.

    The test runs inside pytest-django's transaction, so the sign-up's atomic block is
    a savepoint: the failure rolls back to it, and without that block the user row
    saved before the profile step would still be there to see.
    """
    real = services.user_complete_signup

    def fails_after_the_profile(**kwargs):
        real(**kwargs)
        raise ProfileStepError

    monkeypatch.setattr(services, "user_complete_signup", fails_after_the_profile)
    form_data = data()
    with pytest.raises(ProfileStepError), django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), form_data)

    assert not User.objects.filter(username=form_data["username"]).exists()
    assert not User.objects.exists()
    assert not Profile.objects.exists()
    assert not ConsentRequest.objects.exists()
    assert not mail.outbox
    assert not sms.outbox


def test_the_profile_is_stored_once_per_sign_up(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    real = services.user_complete_signup

    def counted(**kwargs):
        calls.append(kwargs["user"].pk)
        return real(**kwargs)

    monkeypatch.setattr(services, "user_complete_signup", counted)
    sign_up(client, child_signup_form_data(), django_capture_on_commit_callbacks)

    child = User.objects.get(username="xiaoming")
    assert calls == [child.pk]
    assert ConsentRequest.objects.filter(child=child).count() == 1
    assert len([m for m in mail.outbox if m.to == ["mother@example.org"]]) == 1


# --- bad input ------------------------------------------------------------------------

SCHOOL_ELSEWHERE = "school_elsewhere"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"birth_year": "2200"}, "birth_year", id="birth-year-in-the-future"),
        pytest.param({"birth_year": "1850"}, "birth_year", id="birth-year-too-early"),
        pytest.param({"school": ""}, "school", id="student-without-school"),
        pytest.param({"grade": ""}, "grade", id="student-without-grade"),
        pytest.param({"school": SCHOOL_ELSEWHERE}, "school", id="school-not-in-district"),
        pytest.param({"guardian_contact": ""}, "guardian_contact", id="child-without-guardian"),
        pytest.param(
            {"guardian_relationship": ""}, "guardian_relationship", id="child-without-relationship"
        ),
        pytest.param({"guardian_contact": "mum@"}, "guardian_contact", id="malformed-email"),
        pytest.param({"guardian_contact": "12345"}, "guardian_contact", id="malformed-phone"),
        pytest.param(
            {"email": "xm@example.org", "guardian_contact": "XM@example.org"},
            "guardian_contact",
            id="own-email-as-guardian",
        ),
        pytest.param({"nickname": "   "}, "nickname", id="blank-nickname"),
    ],
)
def test_bad_signup_input_gets_an_error_and_creates_nobody(
    client, django_capture_on_commit_callbacks, overrides, field
):
    if overrides.get("school") == SCHOOL_ELSEWHERE:
        overrides = {**overrides, "school": str(SchoolFactory(district=district("110101")).pk)}
    response = sign_up(
        client, child_signup_form_data(**overrides), django_capture_on_commit_callbacks
    )

    assert response.status_code == 200
    assert field in errors_of(response)
    assert not User.objects.exists()
    assert not ConsentRequest.objects.exists()
    assert not mail.outbox
    assert not sms.outbox


def test_the_error_names_the_allowed_birth_years(client, django_capture_on_commit_callbacks):
    response = sign_up(
        client, signup_form_data(birth_year="2200"), django_capture_on_commit_callbacks
    )
    message = errors_of(response)["birth_year"][0]
    assert "1900" in message
    assert str(timezone.localdate().year) in message


def test_an_adult_need_not_name_a_guardian(client, django_capture_on_commit_callbacks):
    response = sign_up(client, signup_form_data(), django_capture_on_commit_callbacks)
    assert response.status_code == 302


def test_errors_are_in_english_when_english_is_chosen(client, django_capture_on_commit_callbacks):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = sign_up(
        client, child_signup_form_data(guardian_contact="mum@"), django_capture_on_commit_callbacks
    )
    assert "Enter the guardian's email address" in errors_of(response)["guardian_contact"][0]


def test_django_s_own_errors_are_already_in_chinese_by_default(
    client, django_capture_on_commit_callbacks
):
    response = sign_up(client, signup_form_data(nickname=""), django_capture_on_commit_callbacks)
    assert errors_of(response)["nickname"] == ["这个字段是必填项。"]


# Each of our own sign-up errors reads in Chinese under the default language.
@pytest.mark.parametrize(
    ("overrides", "field", "english"),
    [
        ({"birth_year": "2200"}, "birth_year", "Enter a birth year between"),
        ({"school": ""}, "school", "Students choose their school."),
        ({"guardian_contact": ""}, "guardian_contact", "You are under 14"),
        ({"guardian_contact": "mum@"}, "guardian_contact", "Enter the guardian's email"),
        ({"guardian_relationship": ""}, "guardian_relationship", "Say who your guardian is."),
    ],
)
def test_signup_errors_are_in_chinese_by_default(
    client, django_capture_on_commit_callbacks, overrides, field, english
):
    response = sign_up(
        client, child_signup_form_data(**overrides), django_capture_on_commit_callbacks
    )
    message = errors_of(response)[field][0]
    assert english not in message
    assert CJK.search(message), message


def test_a_school_in_another_district_is_refused_in_chinese(
    client, django_capture_on_commit_callbacks
):
    school = SchoolFactory(district=district("110101"))
    response = sign_up(
        client, child_signup_form_data(school=str(school.pk)), django_capture_on_commit_callbacks
    )
    message = errors_of(response)["school"][0]
    assert "not in the district" not in message
    assert CJK.search(message), message
