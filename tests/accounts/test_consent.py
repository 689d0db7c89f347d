"""Guardian consent for children under 14, end to end (PIPL art. 25, 28, 31).

A child signs up through allauth, the guardian follows the emailed or texted link and
decides on two purposes separately; a confirmation carries a withdrawal link that never
expires. Records are append-only: the current state is the newest row.
"""

from __future__ import annotations

import re
import time
import zlib
from urllib.parse import quote, unquote

import pytest
from django.conf import settings
from django.core import mail, signing
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts import services, sms
from accounts.models import ConsentRequest, GuardianConsent, User
from accounts.selectors import consent_overview, user_can_play, user_may_show_publicly
from tests.factories import (
    ConsentRequestFactory,
    GuardianConsentFactory,
    UserFactory,
    adult,
    child,
    child_signup_form_data,
)
from tests.support.i18n import zh
from tests.support.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://testserver(/me/consent/[^\s]+/)")
WITHDRAW_LINK = re.compile(r"https?://testserver(/me/consent/[^\s]+/withdraw/)")
PLAY = "/me/play/"


def links_in(text: str, pattern=LINK) -> list[str]:
    return pattern.findall(text)


def messages_to(contact: str) -> list[str]:
    """Bodies of everything sent to an email address or a phone number, oldest first."""
    emails = [m.body for m in mail.outbox if contact in m.to]
    texts = [m.message for m in sms.outbox if m.phone == contact]
    return emails + texts


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (mail and text messages go out after commit)."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def signed_up_child(client, capture):
    """A child who signed up through allauth and is signed in on `client`; returns
    (user, consent link path)."""
    with capture():
        response = client.post(reverse("account_signup"), child_signup_form_data())
    assert response.status_code == 302
    user = User.objects.get(username="xiaoming")
    [body] = messages_to("mother@example.org")
    [link] = links_in(body)
    return user, link


def grant(guardian: Client, link: str, capture, *, public: bool = False):
    data = {"allow_processing": "on"}
    if public:
        data["allow_public_display"] = "on"
    with capture():
        return guardian.post(link, data)


def consent_token_for(user: User, **kwargs) -> str:
    """The token of a consent link for a stored request to parent@example.org."""
    return services.consent_request_token(ConsentRequestFactory(child=user, **kwargs))


def token_made_seconds_ago(monkeypatch, seconds: int, make):
    """A signed token whose timestamp lies `seconds` in the past."""
    real = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - seconds)
    try:
        return make()
    finally:
        monkeypatch.setattr(signing.time, "time", real)


# --- playing needs consent ------------------------------------------------------------


def test_child_cannot_play_before_guardian_consents(client, signed_up_child):
    response = client.get(PLAY)

    assert response.status_code == 403
    assert b'action="/me/consent/resend/"' in response.content
    assert "mother@example.org" in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_sign_in_from_play(client):
    response = client.get(PLAY)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_adult_can_play_without_any_consent(client):
    client.force_login(adult())
    response = client.get(PLAY)
    assert response.status_code == 200
    assert "accounts/play.html" in [t.name for t in response.templates]


def test_child_can_play_once_the_guardian_grants(client, signed_up_child, capture):
    user, link = signed_up_child
    guardian = Client()

    response = grant(guardian, link, capture)

    assert response.status_code == 200
    assert "accounts/consent_granted.html" in [t.name for t in response.templates]
    consent = GuardianConsent.objects.get(child=user)
    assert consent.action == GuardianConsent.Action.GRANT
    assert consent.allow_processing
    assert not consent.allow_public_display
    assert consent.guardian_contact == "mother@example.org"
    assert consent.relationship == GuardianConsent.Relationship.MOTHER
    assert consent.notice_version == settings.CONSENT_NOTICE_VERSION
    assert client.get(PLAY).status_code == 200


def test_withdrawal_blocks_the_child_again(client, signed_up_child, capture):
    user, link = signed_up_child
    guardian = Client()
    grant(guardian, link, capture)
    [withdraw_link] = links_in(messages_to("mother@example.org")[-1], WITHDRAW_LINK)

    assert guardian.get(withdraw_link).status_code == 200
    with capture():
        response = guardian.post(withdraw_link, {})

    assert response.status_code == 302
    assert client.get(PLAY).status_code == 403
    assert list(GuardianConsent.objects.filter(child=user).values_list("action", flat=True)) == [
        "withdraw",
        "grant",
    ]
    assert "撤回" in messages_to("mother@example.org")[-1]


def test_the_guardian_can_consent_again_after_withdrawing_through_a_new_link(
    client, signed_up_child, capture
):
    user, link = signed_up_child
    guardian = Client()
    grant(guardian, link, capture)
    services.consent_withdraw(
        child=user, guardian_contact="mother@example.org", relationship="mother"
    )
    with capture():
        client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "mother@example.org", "guardian_relationship": "mother"},
        )
    new_link = links_in(messages_to("mother@example.org")[-1])[0]
    assert new_link != link

    assert grant(guardian, new_link, capture).status_code == 200
    assert client.get(PLAY).status_code == 200
    assert user.guardian_consents.count() == 3


# --- the consent page -----------------------------------------------------------------


def test_the_consent_page_shows_the_notice_the_child_and_two_separate_choices(
    signed_up_child,
):
    _user, link = signed_up_child
    response = Client().get(link)

    assert response.status_code == 200
    page = response.content.decode()
    assert "小明" in page
    assert settings.CONSENT_NOTICE_VERSION in page
    assert 'name="allow_processing"' in page
    assert 'name="allow_public_display"' in page
    assert 'method="post"' in page
    assert "csrfmiddlewaretoken" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_guardian_must_agree_to_processing_to_grant(signed_up_child, capture):
    _user, link = signed_up_child
    with capture():
        response = Client().post(link, {"allow_public_display": "on"})

    assert response.status_code == 400
    assert response.context["form"].errors["allow_processing"]
    assert not GuardianConsent.objects.exists()


def test_public_display_of_name_and_school_is_a_separate_choice(signed_up_child, capture):
    user, link = signed_up_child
    guardian = Client()

    grant(guardian, link, capture)
    assert user_can_play(user=user)
    assert not user_may_show_publicly(user=user)

    other_child = child()
    grant(
        guardian,
        reverse("accounts:consent", args=[consent_token_for(other_child)]),
        capture,
        public=True,
    )
    assert user_can_play(user=other_child)
    assert user_may_show_publicly(user=other_child)
    assert not user_may_show_publicly(user=user)


def test_the_guardian_is_emailed_a_confirmation_with_a_withdrawal_link(signed_up_child, capture):
    _user, link = signed_up_child
    grant(Client(), link, capture)

    confirmation = messages_to("mother@example.org")[-1]
    assert len(links_in(confirmation, WITHDRAW_LINK)) == 1
    assert settings.CONSENT_NOTICE_VERSION in confirmation


def test_a_guardian_reached_by_text_message_is_confirmed_by_text_message(client, capture):
    with capture():
        client.post(
            reverse("account_signup"),
            child_signup_form_data(guardian_contact="13912345678", guardian_relationship="father"),
        )
    [link] = links_in(messages_to("+8613912345678")[0])
    grant(Client(), link, capture)

    texts = messages_to("+8613912345678")
    assert len(texts) == 2
    assert links_in(texts[1], WITHDRAW_LINK)
    assert not [m for m in mail.outbox if "withdraw" in m.body]


def test_the_withdrawal_link_never_expires(monkeypatch, capture):
    user = child()
    consent = GuardianConsentFactory(child=user)
    year = 365 * 24 * 3600
    token = token_made_seconds_ago(
        monkeypatch, 3 * year, lambda: services.consent_withdraw_token_make(consent=consent)
    )
    with capture():
        response = Client().post(reverse("accounts:consent_withdraw", args=[token]), {})

    assert response.status_code == 302
    assert not user_can_play(user=user)


def test_withdrawing_twice_appends_one_record(capture):
    consent = GuardianConsentFactory()
    url = reverse(
        "accounts:consent_withdraw", args=[services.consent_withdraw_token_make(consent=consent)]
    )
    guardian = Client()
    with capture():
        guardian.post(url, {})
        guardian.post(url, {})

    assert consent.child.guardian_consents.count() == 2
    assert len(messages_to("parent@example.org")) == 1


# --- links that do not work change nothing --------------------------------------------


def test_an_expired_consent_link_changes_nothing(monkeypatch, capture):
    user = child()
    token = token_made_seconds_ago(
        monkeypatch, settings.CONSENT_LINK_MAX_AGE + 60, lambda: consent_token_for(user)
    )
    url = reverse("accounts:consent", args=[token])
    guardian = Client()

    assert guardian.get(url).status_code == 410
    with capture():
        response = guardian.post(url, {"allow_processing": "on"})

    assert response.status_code == 410
    assert zh("This consent link has expired. Ask for a new one.") in response.content.decode()
    assert not GuardianConsent.objects.exists()
    assert not user_can_play(user=user)
    assert not mail.outbox


def test_a_fresh_consent_link_still_works_just_before_it_expires(monkeypatch, capture):
    user = child()
    token = token_made_seconds_ago(
        monkeypatch, settings.CONSENT_LINK_MAX_AGE - 60, lambda: consent_token_for(user)
    )
    with capture():
        response = Client().post(
            reverse("accounts:consent", args=[token]), {"allow_processing": "on"}
        )
    assert response.status_code == 200
    assert user_can_play(user=user)
    assert GuardianConsent.objects.get(child=user).guardian_contact == "parent@example.org"


@pytest.mark.parametrize(
    "kind", ["tampered", "garbage", "withdrawal-token", "other-salt", "old-contact-format"]
)
def test_a_forged_consent_link_changes_nothing(kind, capture):
    user = child()
    request = ConsentRequestFactory(child=user)
    real = services.consent_request_token(request)
    token = {
        "tampered": real[:-2] + ("AA" if not real.endswith("AA") else "BB"),
        "garbage": "not-a-token",
        # A withdrawal link is signed for withdrawing only.
        "withdrawal-token": services.consent_withdraw_token_make(
            consent=GuardianConsentFactory(child=adult())
        ),
        "other-salt": signing.dumps({"child": user.pk, "req": request.pk}, salt="elsewhere"),
        # Links once carried the contact itself; that format is gone, even when signed
        # with our own key and salt.
        "old-contact-format": signing.dumps(
            {"child": user.pk, "contact": "me@example.org", "rel": "mother"},
            salt=services.CONSENT_SALT,
            compress=True,
        ),
    }[kind]
    url = reverse("accounts:consent", args=[token])
    before = GuardianConsent.objects.count()

    with capture():
        response = Client().post(url, {"allow_processing": "on"})

    assert response.status_code == 400
    page = response.content.decode()
    assert zh("This consent link is not valid.") in page or (
        kind == "withdrawal-token" and zh("This withdrawal link is not valid.") in page
    )
    assert GuardianConsent.objects.count() == before
    assert not user_can_play(user=user)


def test_a_forged_withdrawal_link_changes_nothing(capture):
    consent = GuardianConsentFactory()
    # A consent link is signed for consenting only.
    token = consent_token_for(consent.child)
    with capture():
        response = Client().post(reverse("accounts:consent_withdraw", args=[token]), {})
    assert response.status_code == 400
    assert user_can_play(user=consent.child)


def test_a_link_for_a_deleted_account_is_gone(capture):
    user = child()
    token = consent_token_for(user)
    services.user_delete(user=user)
    response = Client().post(reverse("accounts:consent", args=[token]), {"allow_processing": "on"})
    assert response.status_code == 410
    assert not GuardianConsent.objects.exists()


def test_consent_changes_need_a_post_with_a_csrf_token(signed_up_child):
    _user, link = signed_up_child
    guardian = Client(enforce_csrf_checks=True)

    assert guardian.post(link, {"allow_processing": "on"}).status_code == 403
    assert Client().put(link).status_code == 405
    assert Client().get(link, {"allow_processing": "on"}).status_code == 200
    assert not GuardianConsent.objects.exists()


def _variants(text: str) -> set[str]:
    """The ways a contact could be spelt inside a URL."""
    return {text, quote(text, safe=""), quote(text), text.replace("@", "%40")}


def _payload_bytes(token: str) -> bytes:
    """The signed payload of a token as raw JSON bytes (decompressed if need be)."""
    data = token.split(":")[0]
    compressed = data.startswith(".")
    raw = signing.b64_decode(data.lstrip(".").encode())
    return zlib.decompress(raw) if compressed else raw


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("mother@example.org", "mother@example.org"), ("139 1234 5678", "+8613912345678")],
    ids=["email", "phone"],
)
def test_consent_and_withdrawal_links_carry_only_ids_never_the_guardian_contact(
    client, capture, typed, stored
):
    """URLs end up in access logs: links name a request or a grant, not a person."""
    with capture():
        client.post(
            reverse("account_signup"),
            child_signup_form_data(guardian_contact=typed, guardian_relationship="mother"),
        )
    user = User.objects.get(username="xiaoming")
    [link] = links_in(messages_to(stored)[0])
    grant(Client(), link, capture)
    [withdraw_link] = links_in(messages_to(stored)[-1], WITHDRAW_LINK)
    consent_token = link.split("/")[3]
    withdraw_token = withdraw_link.split("/")[3]

    request = ConsentRequest.objects.get(child=user)
    assert signing.loads(consent_token, salt=services.CONSENT_SALT) == {
        "child": user.pk,
        "req": request.pk,
    }
    grant_record = GuardianConsent.objects.get(child=user)
    assert signing.loads(withdraw_token, salt=services.WITHDRAW_SALT) == {
        "child": user.pk,
        "grant": grant_record.pk,
    }

    digits = stored.removeprefix("+86")
    for url, token in ((link, consent_token), (withdraw_link, withdraw_token)):
        payload = _payload_bytes(token).decode()
        for text in (url, unquote(url), payload):
            for contact in (stored, digits, "mother@", "example.org"):
                for spelling in _variants(contact):
                    assert spelling not in text, (spelling, text)
        assert "mother" not in payload  # not even the relationship


def test_every_consent_link_names_a_stored_request(client, signed_up_child, capture):
    user, _link = signed_up_child
    with capture():
        client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "13800138000", "guardian_relationship": "father"},
        )
    [link] = links_in(messages_to("+8613800138000")[0])
    payload = signing.loads(link.split("/")[3], salt=services.CONSENT_SALT)

    assert set(payload) == {"child", "req"}
    assert payload["child"] == user.pk
    assert ConsentRequest.objects.get(pk=payload["req"]).guardian_contact == "+8613800138000"
    assert not hasattr(services, "consent_token_make")


# --- records are append-only ----------------------------------------------------------


def test_a_consent_record_cannot_be_saved_again():
    consent = GuardianConsentFactory()
    consent.allow_public_display = True
    with pytest.raises(ValueError, match="append-only"):
        consent.save()
    fresh = GuardianConsent.objects.get(pk=consent.pk)
    with pytest.raises(ValueError, match="append-only"):
        fresh.save()
    assert not GuardianConsent.objects.get(pk=consent.pk).allow_public_display


def test_a_new_record_cannot_overwrite_an_old_one_by_reusing_its_id():
    consent = GuardianConsentFactory()
    impostor = GuardianConsent(
        pk=consent.pk,
        child=consent.child,
        action=GuardianConsent.Action.WITHDRAW,
        guardian_contact="someone@example.org",
        relationship="guardian",
        notice_version="x",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        impostor.save()
    assert GuardianConsent.objects.get(pk=consent.pk).action == GuardianConsent.Action.GRANT


def test_a_consent_request_cannot_be_saved_again():
    request = ConsentRequestFactory()
    with pytest.raises(ValueError, match="append-only"):
        request.save()


def test_the_database_keeps_the_whole_history(signed_up_child, capture):
    user, link = signed_up_child
    grant(Client(), link, capture)
    services.consent_withdraw(
        child=user, guardian_contact="mother@example.org", relationship="mother"
    )

    history = list(user.guardian_consents.order_by("created_at", "id"))
    assert [c.action for c in history] == ["grant", "withdraw"]
    assert history[0].allow_processing
    assert not history[1].allow_processing


def test_consent_records_are_read_only_in_the_admin():
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    consent = GuardianConsentFactory()
    client = Client()
    sign_in_with_totp(client, admin_user)  # the admin wants a second factor
    change = reverse("admin:accounts_guardianconsent_change", args=[consent.pk])

    assert client.get(change).status_code == 200  # view only
    response = client.post(change, {"action": "withdraw"})
    assert response.status_code == 403
    delete = reverse("admin:accounts_guardianconsent_delete", args=[consent.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:accounts_guardianconsent_add")).status_code == 403
    assert GuardianConsent.objects.filter(pk=consent.pk, action="grant").exists()


def test_the_admin_pages_for_accounts_open():
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    GuardianConsentFactory()
    client = Client()
    sign_in_with_totp(client, admin_user)  # the admin wants a second factor
    for model in ["user", "profile", "district", "region", "school", "unit", "guardianconsent"]:
        assert client.get(reverse(f"admin:accounts_{model}_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_district_add")).status_code == 403
    assert client.get(reverse("admin:accounts_user_add")).status_code == 200
    change_user = client.get(reverse("admin:accounts_user_change", args=[admin_user.pk]))
    assert b'name="role"' in change_user.content
    assert b'name="phone"' in change_user.content


# --- asking again ---------------------------------------------------------------------


def test_a_child_can_send_the_link_again(client, signed_up_child, capture):
    user, _link = signed_up_child
    with capture():
        response = client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "mother@example.org", "guardian_relationship": "mother"},
        )

    assert response.status_code == 302
    assert len(messages_to("mother@example.org")) == 2
    assert user.consent_requests.count() == 2


def test_a_child_can_correct_a_mistyped_guardian_contact(client, signed_up_child, capture):
    user, _link = signed_up_child
    with capture():
        client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "138 0013 8000", "guardian_relationship": "father"},
        )
    [text] = messages_to("+8613800138000")
    [link] = links_in(text)
    grant(Client(), link, capture)

    consent = GuardianConsent.objects.get(child=user)
    assert consent.guardian_contact == "+8613800138000"
    assert consent.relationship == "father"
    assert consent_overview(user=user).guardian_contact == "+8613800138000"


def test_a_link_sent_to_a_mistyped_contact_stops_working_once_corrected(
    client, signed_up_child, capture
):
    user, stranger_link = signed_up_child  # say mother@example.org was a typo
    with capture():
        client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "13800138000", "guardian_relationship": "mother"},
        )

    with capture():
        response = Client().post(stranger_link, {"allow_processing": "on"})

    assert response.status_code == 410
    assert not GuardianConsent.objects.exists()
    assert not user_can_play(user=user)


def test_an_older_link_to_the_same_guardian_still_works(client, signed_up_child, capture):
    user, first_link = signed_up_child
    with capture():
        client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "mother@example.org", "guardian_relationship": "mother"},
        )
    grant(Client(), first_link, capture)
    assert user_can_play(user=user)


def test_asking_again_is_limited_per_day(client, signed_up_child, capture):
    user, _link = signed_up_child
    data = {"guardian_contact": "mother@example.org", "guardian_relationship": "mother"}
    with capture():
        for _ in range(services.CONSENT_REQUESTS_PER_DAY + 2):
            client.post(reverse("accounts:consent_resend"), data)

    assert user.consent_requests.count() == services.CONSENT_REQUESTS_PER_DAY
    assert len(messages_to("mother@example.org")) == services.CONSENT_REQUESTS_PER_DAY


def test_a_link_the_text_caps_refuse_is_not_said_to_be_sent_and_not_recorded(
    client, signed_up_child, capture, settings
):
    # The daily caps of accounts.sms refused the text: the child must not read "we sent
    # the link", and no request may stand for a link nobody received.
    user, _link = signed_up_child
    settings.SMS_PER_NUMBER_PER_DAY = 0
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = {"guardian_contact": "13800138000", "guardian_relationship": "mother"}
    with capture():
        response = client.post(reverse("accounts:consent_resend"), data, follow=True)

    page = response.content.decode()
    assert "could not be sent to this number now" in page
    assert "We sent the consent link" not in page
    assert user.consent_requests.count() == 1
    assert not sms.outbox

    settings.SMS_PER_NUMBER_PER_DAY = 5
    with capture():
        client.post(reverse("accounts:consent_resend"), data)
    assert user.consent_requests.count() == 2
    assert len(messages_to("+8613800138000")) == 1


def test_a_bad_contact_when_asking_again_is_refused(client, signed_up_child, capture):
    user, _link = signed_up_child
    with capture():
        response = client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "nobody@", "guardian_relationship": "mother"},
        )
    assert response.status_code == 400
    assert response.context["request_form"].errors["guardian_contact"]
    assert user.consent_requests.count() == 1


def test_an_account_that_may_play_sends_no_link(client, capture):
    client.force_login(adult())
    with capture():
        client.post(
            reverse("accounts:consent_resend"),
            {"guardian_contact": "mother@example.org", "guardian_relationship": "mother"},
        )
    assert not ConsentRequest.objects.exists()
    assert not mail.outbox


def test_asking_again_needs_sign_in_and_post(client):
    url = reverse("accounts:consent_resend")
    assert client.post(url, {})["Location"].startswith(reverse("account_login"))
    client.force_login(child())
    assert client.get(url).status_code == 405


# --- the account page -----------------------------------------------------------------


def test_the_account_page_shows_the_consent_state(client, signed_up_child, capture):
    user, link = signed_up_child

    page = client.get(reverse("accounts:me")).content.decode()
    assert zh("Waiting for a guardian's consent.") in page
    assert 'action="/me/consent/resend/"' in page

    grant(Client(), link, capture, public=True)
    page = client.get(reverse("accounts:me")).content.decode()
    assert zh("Your guardian has consented.") in page
    assert zh("Showing your nickname and school on public pages: agreed.") in page
    assert 'action="/me/consent/resend/"' not in page

    services.consent_withdraw(
        child=user, guardian_contact="mother@example.org", relationship="mother"
    )
    page = client.get(reverse("accounts:me")).content.decode()
    assert zh("Your guardian has withdrawn consent.") in page
    assert 'action="/me/consent/resend/"' in page


def test_the_consent_overview_takes_few_queries(django_assert_max_num_queries):
    user = child()
    ConsentRequestFactory(child=user)
    GuardianConsentFactory(child=user)
    with django_assert_max_num_queries(3):
        overview = consent_overview(user=user)
        assert overview.status == "granted"
        assert overview.guardian_contact == "parent@example.org"
