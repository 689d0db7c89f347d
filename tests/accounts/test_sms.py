"""The one gate every text message passes (accounts.sms): daily caps per number and per
client address, a daily budget with alerts in the log, and no way around it.

The gate is tested on its own first, then every flow that sends a text is walked
through the real views and services: each text it sends is counted by the gate, and
with the budget used up none of them sends anything.
"""

from __future__ import annotations

import json
import logging
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import sms
from accounts.models import User
from tests.factories import PASSWORD, UserFactory, adult, child, child_signup_form_data

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
OTHER = "+8613900139000"


def from_ip(ip: str):
    return RequestFactory().post("/", REMOTE_ADDR=ip)


def send(phone: str = PHONE, ip: str = "10.0.0.1") -> bool:
    return sms.send_sms(phone=phone, message="hello", request=from_ip(ip))


# --- the gate ---------------------------------------------------------------------------


def test_one_number_gets_at_most_its_daily_texts(settings):
    settings.SMS_PER_NUMBER_PER_DAY = 5
    results = [send(PHONE, ip=f"10.0.0.{n}") for n in range(8)]
    assert results == [True] * 5 + [False] * 3
    assert len(sms.outbox) == 5
    assert send(OTHER)  # another number is not affected


def test_one_address_asks_for_at_most_its_daily_texts(settings):
    settings.SMS_PER_IP_PER_DAY = 4
    results = [send(f"+86139001390{n:02d}", ip="10.0.0.1") for n in range(6)]
    assert results == [True] * 4 + [False] * 2
    assert send(OTHER, ip="10.0.0.2")  # another address is not affected


def test_an_ipv6_host_cannot_rotate_through_its_network(settings):
    settings.SMS_PER_IP_PER_DAY = 2
    results = [send(f"+86139001390{n:02d}", ip=f"2001:db8:1:2::{n + 1:x}") for n in range(4)]
    assert results == [True, True, False, False]


def test_the_daily_budget_stops_everything_and_is_alerted_once_at_80_and_100_percent(
    settings, caplog
):
    settings.SMS_DAILY_BUDGET = 10
    caplog.set_level(logging.WARNING, logger="accounts.sms")
    results = [send(f"+86139001390{n:02d}", ip=f"10.0.{n}.1") for n in range(14)]
    assert results == [True] * 10 + [False] * 4
    assert len(sms.outbox) == 10
    alerts = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert alerts == [
        ("WARNING", "SMS budget: 8 of 10 texts for today used (80 %)"),
        (
            "ERROR",
            "SMS budget: all 10 texts for today used; no more texts are sent until "
            "tomorrow (raise SMS_DAILY_BUDGET to send more)",
        ),
    ]
    # A text not sent (a number without an account) is refused alike, so that the
    # refusal does not tell registered numbers apart.
    assert not sms.sms_count_unsent(phone=OTHER, request=from_ip("10.9.9.9"))


def test_a_text_not_sent_counts_against_the_caps_but_not_the_budget(settings):
    settings.SMS_PER_NUMBER_PER_DAY = 2
    assert sms.sms_count_unsent(phone=PHONE, request=from_ip("10.0.0.1"))
    assert sms.sms_count_unsent(phone=PHONE, request=from_ip("10.0.0.2"))
    assert not sms.sms_count_unsent(phone=PHONE, request=from_ip("10.0.0.3"))
    assert sms.budget_used() == 0
    assert sms.outbox == []


def test_counting_is_atomic_under_concurrency(settings):
    settings.SMS_PER_NUMBER_PER_DAY = 7
    results: list[bool] = []
    barrier = threading.Barrier(20)

    def worker():
        barrier.wait()
        results.append(sms.send_sms(phone=PHONE, message="x", request=None))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 7
    assert len(sms.outbox) == 7


@pytest.mark.redis
def test_counting_is_atomic_in_redis_across_connections(settings):
    """Production's shared cache: threads with connections of their own, as several
    server processes would have, still get exactly the cap."""
    import os

    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "sciarena-test-sms",
        }
    }
    caches["default"].clear()
    settings.SMS_PER_NUMBER_PER_DAY = 7
    settings.SMS_DAILY_BUDGET = 11
    results: list[bool] = []
    barrier = threading.Barrier(24)

    def worker(n: int):
        barrier.wait()
        results.append(sms.send_sms(phone=PHONE if n % 2 else OTHER, message="x", request=None))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 11  # the budget, reached before either number's cap
    assert len(sms.outbox) == 11
    caches["default"].clear()


# --- every path that sends a text goes through the gate ----------------------------------


def _login_code(client: Client) -> None:
    UserFactory(phone=PHONE, phone_verified=True)
    client.post(reverse("account_request_login_code"), {"phone": "13800138000"})


def _login_code_resend(client: Client) -> None:
    _login_code(client)
    client.post(reverse("account_confirm_login_code"), {"action": "resend"})


def _verify_at_signup(client: Client) -> None:
    data = child_signup_form_data(age=30, phone="13800138000", guardian_contact="")
    client.post(reverse("account_signup"), {**data, "role": User.Role.CITIZEN, "school": ""})


def _verify_at_login(client: Client) -> None:
    user = adult(user=UserFactory(phone=PHONE, phone_verified=False))
    client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})


def _change_number(client: Client) -> None:
    user = adult(user=UserFactory(phone=None))
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    client.post(reverse("account_change_phone"), {"phone": "13800138000"})


def _consent_link_at_signup(client: Client) -> None:
    client.post(reverse("account_signup"), child_signup_form_data(guardian_contact="13800138000"))


def _consent_link_again(client: Client) -> None:
    client.force_login(child())
    response = client.post(
        reverse("accounts:consent_resend"),
        {"guardian_contact": PHONE, "guardian_relationship": "mother"},
    )
    assert response.status_code == 302  # sent, or refused with a message: never a 500


SENDING_PATHS = {
    "sign-in code": _login_code,
    "sign-in code sent again": _login_code_resend,
    "phone verification at sign-up": _verify_at_signup,
    "phone verification at sign-in": _verify_at_login,
    "change of number": _change_number,
    "guardian consent link at sign-up": _consent_link_at_signup,
    "guardian consent link asked again": _consent_link_again,
}


@pytest.mark.parametrize("path", SENDING_PATHS)
def test_every_text_of_every_path_is_counted_by_the_gate(path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        SENDING_PATHS[path](Client())
    assert sms.outbox, f"{path} sent no text: the walk no longer covers it"
    assert sms.budget_used() == len(sms.outbox)


@pytest.mark.parametrize("path", SENDING_PATHS)
def test_with_the_budget_used_up_no_path_sends_a_text_or_fails(
    path, settings, django_capture_on_commit_callbacks
):
    settings.SMS_DAILY_BUDGET = 0
    with django_capture_on_commit_callbacks(execute=True):
        SENDING_PATHS[path](Client(raise_request_exception=True))
    assert sms.outbox == []


SOURCES = pathlib.Path(__file__).resolve().parents[2]
APPS = ["accounts", "competitions", "config", "frontend", "leaderboards", "quizzes", "realtime"]


def test_no_module_but_the_gate_reaches_an_sms_backend():
    """A new caller must use accounts.sms.send_sms: nothing else may load SMS_BACKEND
    or make a backend of its own."""
    offenders = []
    for app in APPS:
        for path in (SOURCES / app).rglob("*.py"):
            if path == SOURCES / "accounts" / "sms.py" or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if "import_string(settings.SMS_BACKEND" in text or "SMSBackend()" in text:
                offenders.append(str(path.relative_to(SOURCES)))
            if ".send(phone" in text:
                offenders.append(str(path.relative_to(SOURCES)))
    assert offenders == []


# --- a production backend: a generic HTTP gateway ----------------------------------------


class _Gateway(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append((dict(self.headers), json.loads(self.rfile.read(length))))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    _Gateway.received = []
    _Gateway.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "accounts.sms.HTTPGatewaySMSBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SMS_GATEWAY_TOKEN = "s3cret"
    yield _Gateway
    server.shutdown()
    server.server_close()


def test_the_http_gateway_backend_posts_the_text_as_json(gateway):
    assert sms.send_sms(phone=PHONE, message="验证码 123456", request=None)
    [(headers, body)] = gateway.received
    assert body == {"phone": PHONE, "message": "验证码 123456"}
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["Content-Type"] == "application/json"


def test_a_gateway_that_refuses_is_a_logged_error_not_a_silent_loss(gateway, caplog):
    gateway.status = 500
    assert not sms.send_sms(phone=PHONE, message="x", request=None)
    assert [r.levelname for r in caplog.records if r.name == "accounts.sms"] == ["ERROR"]


def test_a_failing_gateway_at_sign_in_says_try_later(gateway):
    gateway.status = 503
    UserFactory(phone=PHONE, phone_verified=True)
    client = Client(raise_request_exception=True)
    response = client.post(reverse("account_request_login_code"), {"phone": "13800138000"})
    assert response.status_code == 429


def test_the_gateway_backend_wants_an_http_address(settings, caplog):
    settings.SMS_BACKEND = "accounts.sms.HTTPGatewaySMSBackend"
    settings.SMS_GATEWAY_URL = "file:///etc/passwd"
    assert not sms.send_sms(phone=PHONE, message="x", request=None)
    assert "SMS_GATEWAY_URL must be an http(s) address" in caplog.text
