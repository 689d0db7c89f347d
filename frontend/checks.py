"""System checks for the settings a deployment gets wrong without noticing.

`manage.py check --deploy` (CI runs it with DEBUG=0 and `--fail-level WARNING`) adds
the ones tagged deploy: a console, local-memory or dummy backend for e-mail or text
messages in production prints phone numbers, login codes and consent links into the
logs, or drops them. The others run on every start: both backends importable, and the
one way the client's address is read (frontend.clientip).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

# Backends that keep messages in the process or print them, never deliver them.
UNDELIVERED_EMAIL = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
UNDELIVERED_SMS = {
    "accounts.sms.ConsoleSMSBackend",
    "accounts.sms.LocmemSMSBackend",
}
PRELOAD_MIN_SECONDS = 365 * 24 * 3600  # hstspreload.org's minimum max-age


@register(Tags.security, deploy=True)
def check_message_backends(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    problems = []
    if settings.EMAIL_BACKEND in UNDELIVERED_EMAIL:
        problems.append(
            Warning(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND} with DEBUG off: e-mail is"
                " printed or kept in memory, never delivered (consent links and"
                " addresses end up in the logs).",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and"
                " EMAIL_HOST (docs/deploy.md, section 3).",
                id="sciarena.W101",
            )
        )
    if settings.SMS_BACKEND in UNDELIVERED_SMS:
        problems.append(
            Warning(
                f"SMS_BACKEND is {settings.SMS_BACKEND} with DEBUG off: text messages"
                " (login codes, phone numbers) are printed or kept in memory, never sent.",
                hint="Set SMS_BACKEND to your gateway's class (docs/deploy.md, section 3).",
                id="sciarena.W102",
            )
        )
    gateway_url = getattr(settings, "SMS_GATEWAY_URL", "")
    if settings.SMS_BACKEND == "accounts.sms.HTTPGatewaySMSBackend" and not (
        gateway_url.startswith(("https://", "http://"))
    ):
        problems.append(
            Warning(
                "SMS_BACKEND is the HTTP gateway but SMS_GATEWAY_URL is not an http(s)"
                " address: every text would fail.",
                hint="Set SMS_GATEWAY_URL (docs/deploy.md, section 3).",
                id="sciarena.W105",
            )
        )
    if getattr(settings, "SECURE_HSTS_PRELOAD", False) and (
        getattr(settings, "SECURE_HSTS_SECONDS", 0) < PRELOAD_MIN_SECONDS
    ):
        problems.append(
            Warning(
                "SECURE_HSTS_PRELOAD is on but SECURE_HSTS_SECONDS is under a year: the"
                " preload list refuses such a domain.",
                hint="Preload only once HTTPS is known good on every subdomain, with"
                " SECURE_HSTS_SECONDS=31536000 (docs/deploy.md, section 3).",
                id="sciarena.W103",
            )
        )
    return problems


@register()
def check_message_backends_import(app_configs=None, **kwargs):
    """A misspelt backend fails here, at start, not at the first login code."""
    problems = []
    for name in ("EMAIL_BACKEND", "SMS_BACKEND"):
        path = getattr(settings, name)
        try:
            import_string(path)
        except ImportError as problem:
            problems.append(
                Error(
                    f"{name} {path!r} cannot be imported: {problem}",
                    id="sciarena.E100",
                )
            )
    return problems


@register(Tags.security)
def check_client_address(app_configs=None, **kwargs):
    problems = []
    if getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0) or getattr(
        settings, "ALLAUTH_TRUSTED_CLIENT_IP_HEADER", None
    ):
        problems.append(
            Error(
                "ALLAUTH_TRUSTED_PROXY_COUNT / ALLAUTH_TRUSTED_CLIENT_IP_HEADER make"
                " allauth read the client's address from a header, unlike every other"
                " per-IP limit (frontend.clientip reads REMOTE_ADDR).",
                hint="Leave both unset: nginx overwrites X-Forwarded-For and daphne"
                " --proxy-headers makes it REMOTE_ADDR (docs/deploy.md, section 8).",
                id="sciarena.E103",
            )
        )
    if os.environ.get("TRUSTED_PROXY_COUNT", "") not in ("", "0"):
        problems.append(
            Warning(
                "TRUSTED_PROXY_COUNT is set in the environment but no longer read.",
                hint="Remove it. nginx must overwrite X-Forwarded-For"
                " (`proxy_set_header X-Forwarded-For $remote_addr;`) and daphne run with"
                " --proxy-headers (docs/deploy.md, section 8).",
                id="sciarena.W104",
            )
        )
    return problems
