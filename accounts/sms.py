"""Pluggable SMS sending, like Django's email backends.

SMS_BACKEND names a class with `send(phone, message)`. The console backend (the
default) prints the message; the locmem backend keeps messages in `outbox` for
tests. A real gateway (Aliyun, Tencent Cloud…) is one small class in a deployment.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


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


def send_sms(*, phone: str, message: str) -> None:
    backend = import_string(settings.SMS_BACKEND)()
    backend.send(phone, message)
