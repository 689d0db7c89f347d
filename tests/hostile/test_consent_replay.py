"""Replaying a guardian-consent link (issue 12, point 4).

A consent link serves for one decision: once any grant or withdrawal is recorded after
the link's request was made, the link answers 410 and records nothing, so an old link
cannot overrule a withdrawal, and two submissions of one link at once record one
decision. A device whose account is a child without consent in force cannot play as a
guest after signing out (accounts.devices).
"""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from accounts import services, sms
from accounts.models import GuardianConsent
from accounts.selectors import user_can_play
from tests.factories import ConsentRequestFactory, child

SPENT = (
    "A guardian's decision was recorded after this link was sent, so it no longer works: "
    "each consent link serves for one decision only."
)


def consent_link(user, **kwargs) -> str:
    request = ConsentRequestFactory(child=user, **kwargs)
    return reverse("accounts:consent", args=[services.consent_request_token(request)])


def post_grant(link: str, *, public: bool = False):
    data = {"allow_processing": "on"}
    if public:
        data["allow_public_display"] = "on"
    return Client().post(link, data)


def assert_refused_as_spent(response) -> None:
    assert response.status_code == 410
    page = response.content.decode()
    with translation.override("zh-hans"):  # the site's first language
        assert escape(translation.gettext(SPENT)) in page
    # and how to get a new one
    assert "accounts/consent_link_error.html" in [t.name for t in response.templates]
    assert response.context["spent"]


@pytest.mark.django_db
def test_a_consent_link_cannot_grant_again_after_the_guardian_withdrew(
    django_capture_on_commit_callbacks,
):
    user = child()
    link = consent_link(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_grant(link).status_code == 200
    services.consent_withdraw(
        child=user, guardian_contact="parent@example.org", relationship="mother"
    )
    sent = len(mail.outbox) + len(sms.outbox)

    for replay in (lambda: Client().get(link), lambda: post_grant(link, public=True)):
        with django_capture_on_commit_callbacks(execute=True):
            response = replay()
        assert_refused_as_spent(response)

    assert list(user.guardian_consents.values_list("action", flat=True)) == ["withdraw", "grant"]
    assert not user_can_play(user=user)
    assert len(mail.outbox) + len(sms.outbox) == sent  # no confirmation went out


@pytest.mark.django_db
def test_a_withdrawal_voids_every_open_request():
    user = child()
    GuardianConsent.objects.create(
        child=user,
        action="grant",
        guardian_contact="parent@example.org",
        relationship="mother",
        allow_processing=True,
        notice_version="2026-11",
    )
    # Links sent before the withdrawal, none of them used.
    links = [consent_link(user) for _ in range(3)]
    services.consent_withdraw(
        child=user, guardian_contact="parent@example.org", relationship="mother"
    )

    for link in links:
        assert_refused_as_spent(post_grant(link))
    assert not user_can_play(user=user)
    assert user.guardian_consents.count() == 2


@pytest.mark.django_db
def test_a_consent_link_works_for_one_decision_only():
    user = child()
    link = consent_link(user)
    assert post_grant(link).status_code == 200

    assert_refused_as_spent(post_grant(link, public=True))
    assert_refused_as_spent(Client().get(link))
    [grant] = user.guardian_consents.all()
    assert not grant.allow_public_display


@pytest.mark.django_db
def test_a_grant_through_one_link_uses_up_the_others_sent_before_it():
    user = child()
    first, second = consent_link(user), consent_link(user)
    assert post_grant(second).status_code == 200
    assert_refused_as_spent(post_grant(first, public=True))
    assert user.guardian_consents.count() == 1


@pytest.mark.django_db
def test_a_link_sent_after_the_withdrawal_still_works():
    user = child()
    first = consent_link(user)
    assert post_grant(first).status_code == 200
    services.consent_withdraw(
        child=user, guardian_contact="parent@example.org", relationship="mother"
    )
    assert not user_can_play(user=user)

    assert post_grant(consent_link(user)).status_code == 200
    assert user_can_play(user=user)


@pytest.mark.django_db(transaction=True)
def test_two_submissions_of_one_link_at_once_record_one_decision(monkeypatch):
    """Both requests read the link before either writes (a barrier holds them there):
    the decision is taken again under the child's row lock, so one of them records a
    grant and the other gets the used-up page."""
    user = child()
    link = consent_link(user)
    barrier = threading.Barrier(2, timeout=10)
    real_read = services.consent_token_read

    def read_then_wait(token, **kwargs):
        result = real_read(token, **kwargs)
        barrier.wait()
        return result

    monkeypatch.setattr(services, "consent_token_read", read_then_wait)
    statuses: list[int] = []

    def submit(public: bool) -> None:
        try:
            statuses.append(post_grant(link, public=public).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(p,)) for p in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses) == [200, 410]
    assert GuardianConsent.objects.filter(child=user).count() == 1
