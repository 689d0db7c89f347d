"""Test-wide setup: service markers, fast hashing, test backends for mail and SMS.

Tests marked `postgres` or `redis` run only when DATABASE_URL / REDIS_URL point at
those services. Without them they are skipped, unless REQUIRE_SERVICES=1, which
turns a missing (or unreachable) service into a failure: CI sets it.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _service_problem(marker: str) -> str | None:
    if marker == "postgres":
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            return "DATABASE_URL does not name PostgreSQL"
        if not _reachable(url, 5432):
            return f"PostgreSQL at {urlparse(url).hostname} is unreachable"
    if marker == "redis":
        url = os.environ.get("REDIS_URL", "")
        if not url.startswith(("redis://", "rediss://")):
            return "REDIS_URL is not set"
        if not _reachable(url, 6379):
            return f"Redis at {urlparse(url).hostname} is unreachable"
    return None


def pytest_sessionstart(session):
    if not REQUIRE_SERVICES:
        return
    problems = [p for p in (_service_problem("postgres"), _service_problem("redis")) if p]
    if problems:
        raise pytest.UsageError("REQUIRE_SERVICES=1 but " + "; ".join(problems))


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis"):
        if item.get_closest_marker(marker):
            problem = _service_problem(marker)
            if problem:
                if REQUIRE_SERVICES:
                    pytest.fail(f"REQUIRE_SERVICES=1: {problem}")
                pytest.skip(problem)


@pytest.fixture(autouse=True)
def _test_backends(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "accounts.sms.LocmemSMSBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from accounts import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate limits and other cached state must not leak between tests."""
    from django.core.cache import cache

    from quizzes.play import adaptive

    cache.clear()
    adaptive.pools_clear()  # keyed by ids that the next test's database reuses
    yield


def pytest_report_header(config):
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return f"sciarena: database={db} channel_layer={layer} require_services={REQUIRE_SERVICES}"


@pytest.fixture
def celery_eager():
    """Run queued Celery tasks in the test's own process, also when a Redis broker is
    configured: the test checks what is queued and when, not the worker."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def districts_loaded(transactional_db):
    """Transactional tests start from a flushed database: put back the districts and
    regions that the data migration loads (its `load` is idempotent)."""
    import importlib

    from django.apps import apps

    importlib.import_module("accounts.migrations.0002_districts_and_regions").load(apps, None)
