"""Hostile input: SMS flood (SMS pumping and harassment through the sign-in code page).

Through the real views (POST /accounts/login/code/ and sign-up), an attacker asks for
texts to many numbers without an account, to one number again and again, to many
registered numbers from one address, from many addresses until the day's budget is
spent, and all at once from threads. In each case: nothing beyond the caps is sent,
every refusal is a 429 "try later" page (never a 500), and a registered number cannot
be told from an unregistered one by the answers.

Bounds (config/settings.py): SMS_PER_NUMBER_PER_DAY (5), SMS_PER_IP_PER_DAY (30),
SMS_DAILY_BUDGET (1000); the counters are one cache key per number, address and day,
so the memory they take is bounded by the requests that got past allauth's per-address
limits, a few dozen bytes each, and expires after a day.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts import sms
from tests.factories import UserFactory, signup_form_data

pytestmark = pytest.mark.django_db


def ask_code(number: str, ip: str = "203.0.113.9"):
    return Client().post(reverse("account_request_login_code"), {"phone": number}, REMOTE_ADDR=ip)


@pytest.fixture
def no_per_minute_limit(settings):
    """allauth's own per-minute limits (3 a minute per number, 100 per address) stop a
    flood within the minute; take them away to show the daily caps hold by themselves,
    over any number of minutes."""
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "request_login_code": "",
        "verify_phone": "",
        "signup": "",
    }


def test_many_numbers_without_an_account_get_nothing(settings, no_per_minute_limit):
    settings.SMS_PER_IP_PER_DAY = 1000
    answers = {
        ask_code(f"1390000{n:04d}", ip=f"10.1.{n // 250}.{n % 250}").status_code for n in range(200)
    }
    assert answers == {302}
    assert sms.outbox == []
    assert sms.budget_used() == 0


def test_one_number_asked_again_and_again_gets_its_daily_cap_and_no_more(
    settings, no_per_minute_limit
):
    UserFactory(phone="+8613800138000", phone_verified=True)
    answers = [ask_code("13800138000", ip=f"10.2.0.{n}").status_code for n in range(40)]
    assert answers == [302] * settings.SMS_PER_NUMBER_PER_DAY + [429] * 35
    assert len(sms.outbox) == settings.SMS_PER_NUMBER_PER_DAY


def test_an_unregistered_number_is_refused_at_the_same_point(settings, no_per_minute_limit):
    answers = [ask_code("13900139000", ip=f"10.2.0.{n}").status_code for n in range(40)]
    assert answers == [302] * settings.SMS_PER_NUMBER_PER_DAY + [429] * 35
    assert sms.outbox == []


def test_one_address_cannot_text_many_registered_numbers(settings, no_per_minute_limit):
    for n in range(60):
        UserFactory(phone=f"+86138000{n:05d}", phone_verified=True)
    answers = [ask_code(f"138000{n:05d}", ip="198.51.100.7").status_code for n in range(60)]
    assert answers == [302] * settings.SMS_PER_IP_PER_DAY + [429] * 30
    assert len(sms.outbox) == settings.SMS_PER_IP_PER_DAY


def test_many_addresses_stop_at_the_daily_budget_with_alerts(settings, no_per_minute_limit, caplog):
    settings.SMS_DAILY_BUDGET = 20
    for n in range(30):
        UserFactory(phone=f"+86138000{n:05d}", phone_verified=True)
    answers = [ask_code(f"138000{n:05d}", ip=f"10.3.{n}.1").status_code for n in range(30)]
    assert answers == [302] * 20 + [429] * 10
    assert len(sms.outbox) == 20
    levels = [r.levelname for r in caplog.records if r.name == "accounts.sms"]
    assert levels.count("WARNING") == 1 and levels.count("ERROR") == 1
    # Past the budget, unregistered numbers are refused alike.
    assert ask_code("13900139000", ip="10.4.0.1").status_code == 429


def test_signing_up_again_and_again_with_a_registered_number_texts_it_nothing(
    django_capture_on_commit_callbacks, no_per_minute_limit
):
    UserFactory(phone="+8613800138000", phone_verified=True)
    for n in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(
                reverse("account_signup"),
                signup_form_data(username=f"squatter{n}", email="", phone="13800138000"),
                REMOTE_ADDR=f"10.5.0.{n}",
            )
        assert response.status_code in (302, 429)
    assert sms.outbox == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_do_not_slip_past_the_cap(settings, no_per_minute_limit):
    settings.SMS_PER_NUMBER_PER_DAY = 3
    UserFactory(phone="+8613800138000", phone_verified=True)
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def worker(n: int):
        barrier.wait()
        try:
            statuses.append(ask_code("13800138000", ip=f"10.6.0.{n}").status_code)
        finally:
            connection.close()  # back to the pool (PostgreSQL's holds DB_POOL_SIZE)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [302] * 3 + [429] * 9
    assert len(sms.outbox) == 3


def test_a_flood_of_other_numbers_cannot_evict_the_days_counters(settings):
    """Counters that a flood could push out of the cache would reset the caps: a
    victim's number, texted up to its cap, would get its texts again. The embedded
    default's local-memory cache culls its least recently used entries beyond
    MAX_ENTRIES (Django's default: 300); settings give it room for a day's flood.
    Redis in production is told not to evict (docs/deploy.md: noeviction)."""
    from django.test import RequestFactory

    factory = RequestFactory()
    victim = "+8613800138000"
    for n in range(settings.SMS_PER_NUMBER_PER_DAY):
        assert sms.send_sms(
            phone=victim, message="x", request=factory.post("/", REMOTE_ADDR=f"10.7.9.{n}")
        )
    for n in range(3000):
        ip = f"10.8.{n // 250}.{n % 250}"
        sms.sms_count_unsent(phone=f"+86139{n:08d}", request=factory.post("/", REMOTE_ADDR=ip))
    assert not sms.send_sms(
        phone=victim, message="x", request=factory.post("/", REMOTE_ADDR="10.7.9.99")
    )
    assert len(sms.outbox) == settings.SMS_PER_NUMBER_PER_DAY
