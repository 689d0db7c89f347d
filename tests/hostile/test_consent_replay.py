"""Replaying a guardian-consent link (issue 12, point 4).

A consent link serves for one decision: once any grant or withdrawal is recorded after
the link's request was made, the link answers 410 and records nothing, so an old link
cannot overrule a withdrawal, and two submissions of one link at once record one
decision. A device whose account is a child without consent in force cannot play as a
guest after signing out (accounts.devices).
"""

from __future__ import annotations

import ast
import json
import re
import threading
import uuid
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import translation
from django.utils.html import escape

from accounts import devices, services, sms
from accounts.models import GuardianConsent
from accounts.selectors import user_can_play
from realtime.models import LivePlayer, RosterEntry
from tests.factories import (
    PASSWORD,
    ConsentRequestFactory,
    GuardianConsentFactory,
    SchoolFactory,
    adult,
    child,
)

ROOT = Path(__file__).resolve().parents[2]

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


# --- a child's device cannot play as a guest --------------------------------------------

PRACTICE = "/practice/"
DEVICE_PAGE = "accounts/consent_device.html"
# Where guest play starts, by function name: the start services (a guest's paper) and
# the live-round joins.
GUEST_STARTS = {
    "guest_paper_start",
    "guest_daily_start",
    "guest_challenge_start",
    "guest_adaptive_start",
}
LIVE_JOINS = {"player_join", "roster_join"}
APPS = ("accounts", "frontend", "quizzes", "realtime", "competitions", "leaderboards")


def signed_in_then_out(user) -> Client:
    """A browser where `user` signed in with the password and signed out again."""
    device = Client()
    response = device.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    assert "_auth_user_id" in device.session
    device.post(reverse("account_logout"))
    assert "_auth_user_id" not in device.session
    return device


def refused_as_child_device(response) -> bool:
    return response.status_code == 403 and DEVICE_PAGE in [t.name for t in response.templates]


@pytest.mark.django_db
def test_a_child_without_consent_cannot_play_as_a_guest_after_signing_out():
    device = signed_in_then_out(child())

    cookie = device.cookies[devices.COOKIE]
    assert cookie["httponly"]
    assert int(cookie["max-age"]) >= 300 * 24 * 3600
    response = device.get(PRACTICE)
    assert refused_as_child_device(response)
    assert 'href="/accounts/login/"' in response.content.decode()
    assert Client().get(PRACTICE).status_code == 200  # another device plays as a guest


@pytest.mark.django_db
def test_a_child_whose_guardian_withdrew_cannot_play_as_a_guest_either():
    user = child()
    GuardianConsentFactory(child=user)
    device = signed_in_then_out(user)
    assert device.get(PRACTICE).status_code == 200  # consent in force: guests play

    services.consent_withdraw(
        child=user, guardian_contact="parent@example.org", relationship="mother"
    )
    assert refused_as_child_device(device.get(PRACTICE))


@pytest.mark.django_db
def test_the_block_lifts_when_the_guardian_consents():
    user = child()
    device = signed_in_then_out(user)
    assert refused_as_child_device(device.get(PRACTICE))

    assert post_grant(consent_link(user)).status_code == 200
    assert device.get(PRACTICE).status_code == 200


@pytest.mark.django_db
def test_a_blocked_page_marks_the_device_too():
    """A child signed in before marks existed (or on a session that outlived sign-in)
    is marked when refused; the session then expires, and guest play stays shut."""
    user = child()
    device = Client()
    device.force_login(user)  # no sign-in response, so no mark yet
    assert devices.COOKIE not in device.cookies
    assert device.get("/me/play/").status_code == 403
    assert devices.COOKIE in device.cookies
    device.session.flush()
    device.cookies.pop(settings.SESSION_COOKIE_NAME, None)
    assert refused_as_child_device(device.get(PRACTICE))


@pytest.mark.django_db
def test_an_adult_or_a_forged_mark_changes_nothing():
    adult_device = signed_in_then_out(adult())
    assert devices.COOKIE not in adult_device.cookies
    assert adult_device.get(PRACTICE).status_code == 200

    marked = signed_in_then_out(child())
    value = marked.cookies[devices.COOKIE].value
    forged = Client()
    forged.cookies[devices.COOKIE] = value[:-3] + "abc"  # altered: not ours, ignored
    assert forged.get(PRACTICE).status_code == 200
    # A sibling with consent signing in later does not lift the other child's block.
    sibling = child()
    GuardianConsentFactory(child=sibling)
    marked.post(reverse("account_login"), {"login": sibling.username, "password": PASSWORD})
    marked.post(reverse("account_logout"))
    assert refused_as_child_device(marked.get(PRACTICE))


def _project_patterns(resolver=None, prefix=""):
    """(route, callback) of every URL of the project's apps."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _project_patterns(pattern, route)
        elif pattern.callback.__module__.split(".")[0] in APPS:
            yield route, pattern.callback


def _sample_path(route: str) -> str:
    """A path for a route, with made-up values for its parameters (six digits fit a
    PIN, and name no object that exists)."""
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "123456", route)
    samples = {"int": "999999", "str": "123456", "slug": "x", "uuid": str(uuid.uuid4())}
    return "/" + re.sub(
        r"<(?:(\w+):)?(\w+)>", lambda m: samples.get(m.group(1) or "str", "x"), route
    )


@pytest.mark.django_db
def test_every_guest_page_refuses_a_child_device():
    """Every page a guest can play on (every view carrying guests_checked, which
    play_or_guest adds) refuses a marked device; an unmarked one is let through."""
    marked = signed_in_then_out(child())
    guest_pages = [
        (route, view) for route, view in _project_patterns() if getattr(view, "guest_entry", False)
    ]
    routes = {route for route, _view in guest_pages}
    assert "practice/" in routes, routes
    assert any(route.startswith("live/") for route in routes), routes  # the player page
    assert len(guest_pages) >= 10

    for route, _view in guest_pages:
        path = _sample_path(route)
        response = marked.get(path)
        if response.status_code == 405:
            response = marked.post(path)
        assert refused_as_child_device(response), (route, response.status_code)

        fresh = Client()
        response = fresh.get(path)
        if response.status_code == 405:
            response = fresh.post(path)
        assert not refused_as_child_device(response), route


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _called_name(call: ast.Call) -> str:
    """The name of the function called: f(...), x.f(...), or through a wrapper that
    takes it, database_sync_to_async(x.f)(...)."""
    func = call.func
    if isinstance(func, ast.Call) and func.args:
        func = func.args[0]
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_every_guest_start_in_the_code_goes_through_the_device_check():
    """The class of bug: a new way in for guests that forgets the check. In the code
    of the apps (tests aside):
    - a guest start service is called only as paper_start_for's `guest=` (which checks
      the device) or where it is defined;
    - a view that calls paper_start_for carries play_or_guest or guests_checked;
    - every live-round join passes the joining device's cookies."""
    problems = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            where = path.relative_to(ROOT)
            for function in _functions(tree):
                decorators = {
                    getattr(d, "id", getattr(d, "attr", "")) for d in function.decorator_list
                }
                starts_for = [
                    c
                    for c in ast.walk(function)
                    if isinstance(c, ast.Call) and _called_name(c) == "paper_start_for"
                ]
                inside_start_for = {
                    id(node)
                    for call in starts_for
                    for keyword in call.keywords
                    if keyword.arg == "guest"
                    for node in ast.walk(keyword.value)
                }
                for call in ast.walk(function):
                    if not isinstance(call, ast.Call):
                        continue
                    name = _called_name(call)
                    outside = id(call) not in inside_start_for and function.name != name
                    if name in GUEST_STARTS and outside:
                        problems.append(f"{where}:{call.lineno} {name} outside paper_start_for")
                    keywords = {k.arg for k in call.keywords}
                    if name in LIVE_JOINS and outside and "device_cookies" not in keywords:
                        problems.append(f"{where}:{call.lineno} {name} without device_cookies")
                guarded = decorators & {"play_or_guest", "guests_checked"}
                if starts_for and not guarded and function.name != "paper_start_for":
                    problems.append(f"{where}:{function.lineno} {function.name} unguarded")
    assert not problems, problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_child_device_cannot_join_a_live_round_as_a_guest():
    from tests.support.live import Socket, make_round

    live = await sync_to_async(make_round)()
    marked = await sync_to_async(signed_in_then_out)(await sync_to_async(child)())
    cookies = {devices.COOKIE: marked.cookies[devices.COOKIE].value}

    refused = Socket(live)
    refused.comm.scope["cookies"] = cookies
    frame = await refused.open({"type": "join", "nickname": "小明"})
    assert frame["type"] == "error" and frame["code"] == "consent_required", frame
    await refused.close()

    entry = await sync_to_async(RosterEntry.objects.create)(
        round=live, name="学生甲", school=await sync_to_async(SchoolFactory)()
    )
    slip = Socket(live)
    slip.comm.scope["cookies"] = cookies
    frame = await slip.open({"type": "join", "roster_token": entry.token})
    assert frame["type"] == "error" and frame["code"] == "consent_required", frame
    await slip.close()

    other = Socket(live)
    other.comm.scope["cookies"] = {}
    assert (await other.open({"type": "join", "nickname": "小红"}))["type"] == "welcome"
    await other.close()
    assert await sync_to_async(LivePlayer.objects.filter(round=live).count)() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_site_application_hands_the_device_cookie_to_the_join():
    """Through the whole WebSocket stack of config.asgi (the cookies come from the
    handshake's Cookie header, as a browser sends them)."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from tests.support.live import make_round

    live = await sync_to_async(make_round)()
    marked = await sync_to_async(signed_in_then_out)(await sync_to_async(child)())
    cookie = f"{devices.COOKIE}={marked.cookies[devices.COOKIE].value}".encode()
    frames = {}
    for name, extra in (("marked", [(b"cookie", cookie)]), ("fresh", [])):
        headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"), *extra]
        socket = WebsocketCommunicator(application, f"/ws/live/{live.pin}/", headers=headers)
        connected, _ = await socket.connect()
        assert connected
        await socket.send_to(text_data=json.dumps({"type": "join", "nickname": name}))
        frame = json.loads(await socket.receive_from(timeout=3))
        while frame["type"] not in ("welcome", "error"):
            frame = json.loads(await socket.receive_from(timeout=3))
        frames[name] = frame
        await socket.disconnect()

    assert frames["marked"]["type"] == "error"
    assert frames["marked"]["code"] == "consent_required"
    assert frames["fresh"]["type"] == "welcome"
