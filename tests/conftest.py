"""Test-wide setup: service markers, fast hashing, test backends for mail and SMS,
parallel workers (pytest-xdist), the demo data.

Tests marked `postgres` or `redis` run only when DATABASE_URL / REDIS_URL point at
those services. Without them they are skipped, unless REQUIRE_SERVICES=1, which
turns a missing (or unreachable) service into a failure: CI sets it.

`make test` runs the suite on two pytest-xdist workers (README.md, "Tests"). Each
worker has a test database of its own (pytest-django names it after the worker),
a Redis database of its own (below) and, for the daphne processes its tests start,
free ports and its own database and Redis. The slowest tests are handed out first,
so that both workers finish together.
"""

from __future__ import annotations

import copy
import importlib
import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db.models.signals import post_migrate

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# --- Connections in the test process close after each use ---------------------------------
# Production keeps SQLite connections (CONN_MAX_AGE None: the page threads and the
# consumers' database thread live as long as the process). In the test process those
# threads outlive each test, so a kept connection would be touched by the next test's
# close_old_connections, which pytest-django refuses when that test has no database.
# The daphne processes tests start run with the production setting.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


# --- One Redis database per xdist worker ------------------------------------------------
# Tests flush Redis (cache.clear() is FLUSHDB, the channel layer's flush() deletes its
# keys), and live rounds of two workers' databases have the same ids, so the same group
# names: each worker gets REDIS_URL's database number plus its index (gw0: /1, gw1: /2
# for CI's redis://…/1). Settings were read before this file (pytest-django sets Django
# up first), so they are overridden here, for the whole run; REDIS_URL in the
# environment too, for the daphne processes that tests start and pass it to.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
REDIS_DATABASES = 16  # Redis's default `databases`


def _worker_redis_url(url: str, worker: str) -> str:
    parsed = urlparse(url)
    base = int(parsed.path.strip("/") or 0)
    number = base + int(worker.removeprefix("gw"))
    if number >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"xdist worker {worker} would use Redis database {number} ({url} plus its index):"
            " run fewer workers (-n) or point REDIS_URL at a lower database"
        )
    return parsed._replace(path=f"/{number}").geturl()


def _replaced(value, old: str, new: str):
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, dict):
        return {k: _replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_replaced(v, old, new) for v in value)
    return value


def _use_worker_redis() -> None:
    old = os.environ.get("REDIS_URL", "")
    if not XDIST_WORKER or not old.startswith(("redis://", "rediss://")):
        return
    new = _worker_redis_url(old, XDIST_WORKER)
    os.environ["REDIS_URL"] = new
    if getattr(settings, "REDIS_URL", "") != old:
        return  # settings did not come from this REDIS_URL: leave them alone
    from django.test.utils import override_settings

    override_settings(
        REDIS_URL=new,
        CACHES=_replaced(copy.deepcopy(settings.CACHES), old, new),
        CHANNEL_LAYERS=_replaced(copy.deepcopy(settings.CHANNEL_LAYERS), old, new),
        CELERY_BROKER_URL=_replaced(settings.CELERY_BROKER_URL, old, new),
    ).enable()  # for the whole run: never disabled
    from config.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL


_use_worker_redis()


# --- The data migration's rows after a flush ---------------------------------------------
# A transactional test ends by flushing the database, which also empties the districts
# and regions that migration accounts.0002 loads; the flush's post_migrate puts back
# content types and permissions, and this puts back those. So a test that runs after a
# transactional one on the same worker finds the database as migrated, whatever order
# xdist runs them in (pytest-django orders transactional tests last; xdist's work
# stealing and the slow-first order below do not keep that).


def _districts_migration():
    return importlib.import_module("accounts.migrations.0002_districts_and_regions")


def _restore_migration_data(sender, **kwargs):
    if sender.label != "accounts" or "apps" in kwargs:
        return  # `migrate` passes apps; there the migration itself loaded them
    from django.apps import apps

    migration = _districts_migration()
    district_model = apps.get_model("accounts", "District")
    region_model = apps.get_model("accounts", "Region")
    if district_model.objects.exists() or region_model.objects.exists():
        migration.load(apps, None)  # not a whole flush: the migration's own (slower) way
        return
    # After a flush, the same rows as migration.load() makes, in two INSERTs
    districts = district_model.objects.bulk_create(
        [district_model(code=code, name_zh=zh, name_en=en) for code, zh, en in migration.DISTRICTS]
    )
    slug, zh, en = migration.DEVELOPMENT_AREA
    region_model.objects.bulk_create(
        [
            region_model(
                slug=district.name_en.lower(),
                name_zh=district.name_zh,
                name_en=district.name_en,
                district=district,
                sort_order=order,
            )
            for order, district in enumerate(districts, start=1)
        ]
        + [
            region_model(
                slug=slug, name_zh=zh, name_en=en, district=None, sort_order=len(districts) + 1
            )
        ]
    )


post_migrate.connect(_restore_migration_data, dispatch_uid="tests.restore_migration_data")


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


# --- Slowest first, under xdist ---------------------------------------------------------
# `make test` hands tests out by work stealing (--dist worksteal): each worker starts on
# half of the list and an idle one takes half of what the other has left. A long test
# near the end leaves one worker alone with it, so these modules (about a third of the
# suite's time; browser, multi-process and bench tests) go first, slowest first, and
# the short tests fill in around them. Serial runs keep pytest-django's order.
SLOW_FIRST = [
    "tests/e2e/test_live_finals.py",
    "tests/e2e/test_live_round.py",
    "tests/realtime/test_bench_smoke.py",
    "tests/realtime/test_pk_multiprocess.py",
    "tests/realtime/test_multiprocess.py",
    "tests/realtime/test_hostile_frames.py",
    "tests/hostile/test_spoofed_forwarded_for.py",
    "tests/hostile/test_hostile_files.py",
    "tests/test_csp.py",
    "tests/e2e/test_directory_signup.py",
    "tests/e2e/test_pk.py",
    "tests/e2e/test_practice.py",
    "tests/e2e/test_review.py",
    "tests/e2e/test_home.py",
    "tests/quizzes/irt/test_calibration_bench_smoke.py",
    "tests/quizzes/irt/test_bench_smoke.py",
    "tests/realtime/test_daphne_process.py",
    "tests/realtime/test_channel_layer.py",
    "tests/test_settings.py",
]


@pytest.hookimpl(trylast=True)  # after pytest-django's order (db, transactional, no db)
def pytest_collection_modifyitems(config, items):
    if not XDIST_WORKER:
        return
    rank = {path: n for n, path in enumerate(SLOW_FIRST)}

    def key(indexed):
        index, item = indexed
        return rank.get(item.nodeid.split("::", 1)[0], len(SLOW_FIRST)), index

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]


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


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test gets a channel layer of its own. The layer is a process-wide singleton,
    and channels_redis keeps asyncio locks in it (one per channel prefix, shared by every
    channel from `new_channel()`); each async test runs on a new event loop, and a lock
    that a relay's task held when its test's loop closed fails every later receive with
    "bound to a different event loop". A daphne process has one loop for its life."""
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()


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
    """The districts and regions that the data migration loads, in a transactional
    test. (A flush now puts them back itself, above: this only repairs a database that
    lost them some other way; the migration's `load` is idempotent.)"""
    from django.apps import apps

    migration = _districts_migration()
    district_model = apps.get_model("accounts", "District")
    region_model = apps.get_model("accounts", "Region")
    if (district_model.objects.count(), region_model.objects.count()) != (
        len(migration.DISTRICTS),
        len(migration.DISTRICTS) + 1,
    ):
        migration.load(apps, None)


@pytest.fixture
def seeded_demo(db) -> str:
    """The database as `manage.py seed_demo` leaves it (DEBUG on), in this test's
    transaction; returns what the command printed. Seeded for real once per test
    process, copied in a fraction of the time after that (tests/support/demo.py).
    No consent message is sent: tests of the messages run `seed_demo` themselves."""
    from tests.support.demo import seed_demo

    return seed_demo()
