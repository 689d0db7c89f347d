"""Brute force against the Django admin, with and without TOTP (issue 12, point 1).

Django's admin had a login form of its own: it checked passwords with no rate limit
and no second factor. Now every admin entry point sends the visitor to allauth's
login (accounts.admin.admin_login), whose limit ("login_failed": 5 failures per
5 minutes per login name, settings.ACCOUNT_RATE_LIMITS) locks the account out, after
which even the right password is refused; and the admin lets in only sessions that
passed the MFA stage, so an account with TOTP never gets in with its password alone,
whatever URL it starts from.
"""

from __future__ import annotations

import pytest
from allauth.account.adapter import get_adapter
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.support.mfa import give_totp, totp_code

pytestmark = pytest.mark.django_db

ATTACKER_IP = "203.0.113.9"
WRONG = [f"guess-{n:02d}-password" for n in range(20)]
ENTRY_POINTS = [
    "/admin/login/",
    "/admin/login/?next=/admin/accounts/user/",
    "/admin/",
    "/admin/accounts/user/",
    "/admin/accounts/profile/",
    "/admin/password_change/",
]


def superuser(*, totp: bool) -> User:
    user = UserFactory(role=User.Role.ADMIN, is_staff=True, is_superuser=True, totp=False)
    if totp:
        give_totp(user)
    return user


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def in_admin(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def login_form_for(client: Client, entry: str) -> str:
    """Where a browser that opens `entry` ends up asked for a password: the admin's
    redirects followed to the page that shows a login form."""
    response = client.get(entry, follow=True, REMOTE_ADDR=ATTACKER_IP)
    url = response.redirect_chain[-1][0] if response.redirect_chain else entry
    assert response.status_code == 200
    assert url.startswith(reverse("account_login")), url
    return url


def post_password(client: Client, url: str, username: str, password: str):
    # both the admin's field names and allauth's, so the same post works on either form
    return client.post(
        url,
        {"username": username, "login": username, "password": password},
        REMOTE_ADDR=ATTACKER_IP,
    )


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_twenty_wrong_passwords_lock_the_account_out_whatever_admin_url_they_start_from(entry):
    user = superuser(totp=False)
    client = Client()
    # posted straight at the entry point: never checked, nobody signed in
    for password in [*WRONG, PASSWORD]:
        response = post_password(client, entry, user.username, password)
        assert response.status_code in (302, 403), response.status_code
        assert not signed_in(client)

    # posted where the entry point leads: allauth's login, with its limits
    form = login_form_for(client, entry)
    for password in WRONG:
        response = post_password(client, form, user.username, password)
        assert response.status_code == 200
        assert not signed_in(client)
    locked = str(get_adapter().error_messages["too_many_login_attempts"])
    assert locked in response.content.decode()

    # locked out: the right password is refused too
    response = post_password(client, form, user.username, PASSWORD)
    assert not signed_in(client)
    assert locked in response.content.decode()
    assert not in_admin(client)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_totp_account_never_enters_the_admin_with_its_password_alone(entry):
    user = superuser(totp=True)
    client = Client()
    post_password(client, entry, user.username, PASSWORD)
    assert not signed_in(client) and not in_admin(client)

    form = login_form_for(client, entry)
    response = post_password(client, form, user.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client) and not in_admin(client)
    # the password alone opens none of the admin's pages, whatever the URL
    for url in ENTRY_POINTS:
        assert client.get(url).status_code == 302, url
    assert not in_admin(client)

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert response.status_code == 302
    assert in_admin(client)


def test_a_password_only_session_of_a_totp_account_is_kept_out_of_the_admin():
    """Even a session signed in by the password alone (as Django's admin form did;
    client.login() runs the same authentication backends) cannot use the admin."""
    user = superuser(totp=True)
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    for url in ENTRY_POINTS:
        response = client.get(url)
        assert response.status_code == 302, url
    assert not in_admin(client)
    assert client.get("/admin/accounts/user/").status_code == 302
    assert client.post("/admin/accounts/user/add/", {"username": "x"}).status_code == 302
    assert not User.objects.filter(username="x").exists()


def test_twenty_wrong_totp_codes_lock_the_second_factor_out():
    """Even the right code is refused once the account's ceiling of wrong ones is
    reached (settings.MFA_FAILURES_PER_USER per MFA_FAILURES_WINDOW)."""
    user = superuser(totp=True)
    client = Client()
    form = login_form_for(client, "/admin/")
    post_password(client, form, user.username, PASSWORD)
    right = totp_code()
    wrong = [f"{(int(right) + n) % 1_000_000:06d}" for n in range(1, 21)]
    for code in wrong:
        client.post(reverse("mfa_authenticate"), {"code": code}, REMOTE_ADDR=ATTACKER_IP)
        assert not signed_in(client)
    response = client.post(reverse("mfa_authenticate"), {"code": right}, REMOTE_ADDR=ATTACKER_IP)
    assert not signed_in(client) and not in_admin(client)
    locked = str(get_adapter().error_messages["too_many_login_attempts"])
    assert locked in response.content.decode()


def test_wrong_codes_from_many_addresses_share_one_ceiling_per_account(settings):
    """allauth counts wrong codes per address here; accounts.mfa counts them per
    account, so spreading guesses over addresses gains nothing."""
    user = superuser(totp=True)
    client = Client()
    form = login_form_for(client, "/admin/")
    post_password(client, form, user.username, PASSWORD)
    right = totp_code()
    for n in range(settings.MFA_FAILURES_PER_USER):
        wrong = f"{(int(right) + 1 + n) % 1_000_000:06d}"
        client.post(reverse("mfa_authenticate"), {"code": wrong}, REMOTE_ADDR=f"198.51.100.{n}")
    client.post(reverse("mfa_authenticate"), {"code": right}, REMOTE_ADDR="198.51.100.200")
    assert not signed_in(client)


# --- the host socket keeps the same rule -------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_organizer_without_totp_cannot_host_over_a_socket_either():
    """The pages send an organizer without TOTP to the set-up; a script holding the
    session (a stolen password, before the owner set TOTP up) must not drive a round
    they host through the socket instead."""
    from asgiref.sync import sync_to_async

    from realtime.live import services
    from tests.support.live import Socket, make_round

    def round_hosted_by(totp: bool):
        live = make_round()
        organizer = UserFactory(role=User.Role.ORGANIZER, totp=totp)
        return services.round_create(
            host=organizer,
            title="科学擂台",
            versions=[q.version for q in live.questions.order_by("position")],
        ), organizer

    live, organizer = await sync_to_async(round_hosted_by)(totp=False)
    refused = Socket(live, user=organizer)
    frame = await refused.open({"type": "host"})
    assert (frame["type"], frame.get("code")) == ("error", "forbidden"), frame
    await refused.close()

    live, organizer = await sync_to_async(round_hosted_by)(totp=True)
    allowed = Socket(live, user=organizer)
    assert (await allowed.open({"type": "host"}))["role"] == "host"
    await allowed.close()
