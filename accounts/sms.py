"""Text messages: the one gate every SMS passes, and pluggable backends.

Every text SciArena sends (login codes, phone verification, guardian-consent links)
goes out through `send_sms()`, and nothing else in the code base touches a backend
(tests/accounts/test_sms.py walks every sending path and checks the source for other
callers). The gate counts, per local day (Asia/Shanghai):

- SMS_PER_NUMBER_PER_DAY texts to one number: a number cannot be bombarded;
- SMS_PER_IP_PER_DAY texts asked for from one client address (IPv6 by /64, as
  allauth's rate limits count it): one machine cannot pump texts to many numbers;
- SMS_DAILY_BUDGET texts in all, the operator's spending limit: a WARNING is logged
  when 80 % of it is used and an ERROR when all of it is; beyond it nothing is sent.

A text we choose not to send (a login code asked for a number with no account, a
sign-up with a number that already has one) is counted by `sms_count_unsent()`
against the per-number and per-address caps exactly as a real one, so that a caller
who probes numbers sees the same answers, refusals included, whether or not a
number is registered. It does not spend the budget (nothing is paid for), but an
exhausted budget refuses it too.

Counting is an atomic increment in the shared cache (Redis in production), as
accounts.services.user_delete_password_try counts password tries: parallel requests
in several processes cannot slip past a cap, and exactly one request sees each
alert threshold crossed, so each alert is logged once a day.

SMS_BACKEND names a class with `send(phone, message)`. The console backend (the
default) prints the message; the locmem backend keeps messages in `outbox` for
tests; `HTTPGatewaySMSBackend` posts to a gateway at SMS_GATEWAY_URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.module_loading import import_string

from .counters import address_key, count

logger = logging.getLogger(__name__)

# Counters live a little longer than the day they count, then expire by themselves.
COUNTER_TIMEOUT = 26 * 3600
ALERT_SHARE = 0.8


@dataclass(frozen=True)
class SMS:
    phone: str
    message: str


outbox: list[SMS] = []


class ConsoleSMSBackend:
    def send(self, phone: str, message: str) -> None:
        sys.stdout.write(f"[SMS to {phone}] {message}\n")
        sys.stdout.flush()


class LocmemSMSBackend:
    def send(self, phone: str, message: str) -> None:
        outbox.append(SMS(phone=phone, message=message))


class HTTPGatewaySMSBackend:
    """A generic HTTP gateway: POSTs {"phone": …, "message": …} as JSON to
    SMS_GATEWAY_URL with `Authorization: Bearer SMS_GATEWAY_TOKEN` (when set), and
    treats any 2xx answer as sent. Most Chinese SMS providers (Aliyun, Tencent
    Cloud) are reached through a small relay of the operator's that speaks this; a
    failure raises, and send_sms() logs it as an error: never silently dropped."""

    def send(self, phone: str, message: str) -> None:
        url = settings.SMS_GATEWAY_URL
        if not url.startswith(("https://", "http://")):
            raise ValueError("SMS_GATEWAY_URL must be an http(s) address")
        headers = {"Content-Type": "application/json"}
        if settings.SMS_GATEWAY_TOKEN:
            headers["Authorization"] = f"Bearer {settings.SMS_GATEWAY_TOKEN}"
        body = json.dumps({"phone": phone, "message": message}).encode()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked above
        with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise OSError(f"SMS gateway answered {response.status}")


# --- the gate ------------------------------------------------------------------------


def _today() -> str:
    return timezone.localdate().isoformat()


def _count(key: str) -> int:
    """One more on a daily counter; the new value."""
    return count(key, window=COUNTER_TIMEOUT)


def _digest(value: str) -> str:
    # No phone number in cache keys (they show up in Redis tools and dumps).
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def client_address(request) -> str | None:
    """The client address as allauth's rate limits read it (the adapter's
    get_client_ip), an IPv6 address cut to its /64 network (accounts.counters.address_key)
    so that one host cannot rotate through its addresses; None without a request."""
    if request is None:
        from allauth.core import context

        request = context.request
    if request is None:
        return None
    from allauth.account.adapter import get_adapter

    try:
        return address_key(get_adapter(request).get_client_ip(request))
    except PermissionDenied:
        return None


def _budget_key(day: str) -> str:
    return f"sms:budget:{day}"


def budget_used(day: str | None = None) -> int:
    return cache.get(_budget_key(day or _today()), 0)


def _alert(used: int, budget: int) -> None:
    """Log the day's budget thresholds; each value is seen by one request only."""
    warn_at = max(1, math.ceil(budget * ALERT_SHARE))
    if used == warn_at and warn_at < budget:
        logger.warning(
            "SMS budget: %s of %s texts for today used (%d %%)",
            used,
            budget,
            ALERT_SHARE * 100,
        )
    elif used == budget:
        logger.error(
            "SMS budget: all %s texts for today used; no more texts are sent until "
            "tomorrow (raise SMS_DAILY_BUDGET to send more)",
            budget,
        )


def _admit(*, phone: str, request, spend: bool) -> bool:
    day = _today()
    budget = settings.SMS_DAILY_BUDGET
    if budget_used(day) >= budget:
        return False
    address = client_address(request)
    if address is not None and _count(f"sms:ip:{day}:{address}") > settings.SMS_PER_IP_PER_DAY:
        logger.info("SMS refused: daily limit per client address reached")
        return False
    if _count(f"sms:number:{day}:{_digest(phone)}") > settings.SMS_PER_NUMBER_PER_DAY:
        logger.info("SMS refused: daily limit per number reached")
        return False
    if spend:
        used = _count(_budget_key(day))
        _alert(used, budget)
        if used > budget:
            return False
    return True


def send_sms(*, phone: str, message: str, request=None) -> bool:
    """Send a text if the daily caps allow it; False if they do not or the backend
    failed (logged as an error), in which case nothing was sent.

    `request` defaults to the request allauth is serving (allauth.core.context), for
    the per-address cap; outside a request (a worker) that cap does not apply.
    """
    if not _admit(phone=phone, request=request, spend=True):
        return False
    try:
        import_string(settings.SMS_BACKEND)().send(phone, message)
    except Exception:
        # A gateway down or misconfigured: the person is told to try later (the
        # callers' refusal path), the operator sees the error in the log.
        logger.exception("SMS not sent: the backend %s failed", settings.SMS_BACKEND)
        return False
    return True


def sms_count_unsent(*, phone: str, request=None) -> bool:
    """Count a text we chose not to send as if it had been sent (see the module's
    docstring); False if a real one would have been refused."""
    return _admit(phone=phone, request=request, spend=False)
