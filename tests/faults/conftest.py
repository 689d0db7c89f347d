"""The fault suite's stage: a private Redis and a private PostgreSQL (tests/support/
services.py) started for the module, the schema migrated into the private database,
rows seeded there by a process of their own (tests/faults/seed.py), a real Celery worker
on them, and two fresh daphne processes per scenario. The test process itself never
opens a connection to the shared services, whatever DATABASE_URL and REDIS_URL say
(REQUIRE_SERVICES=1 needs them set, so CI passes them)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults.workers import CeleryWorker
from tests.support.daphne import ROOT, daphne_processes, print_logs
from tests.support.services import missing_binaries, postgres_server, redis_server

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
ROUNDS = 4  # one per scenario
QUESTIONS = 3
BANKS = 4  # one per scenario: "the calibration can run again" after each fault
PERSONS = 200
SETUP_S = 180  # migrate and seed, at most


@dataclass
class Site:
    """The private services, what was seeded in them, and the worker."""

    redis: object
    postgres: object
    database_url: str
    env: dict[str, str]
    rounds: list[dict]
    banks: list[dict]
    log_dir: Path
    workers: list[CeleryWorker] = field(default_factory=list)

    def worker(self) -> CeleryWorker:
        """The running worker; a new one if the last was killed."""
        if not self.workers or not self.workers[-1].alive():
            worker = CeleryWorker(self.env, self.log_dir, f"faults{len(self.workers) + 1}")
            self.workers.append(worker)
            worker.start()
        return self.workers[-1]


def run_seed(env: dict[str, str], *args: object, timeout: float = SETUP_S):
    """`python -m tests.faults.seed ...` on the private services: its JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.seed", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"seed {args} failed:\n{done.stderr.decode()[-4000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def _clear_cache():
    """Overrides tests/conftest.py's: its cache.clear() would flush the shared Redis."""
    yield


@pytest.fixture(scope="module")
def private_services():
    missing = missing_binaries()
    if missing:
        reason = "the fault suite starts its own servers; not installed: " + ", ".join(missing)
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1: {reason}")
        pytest.skip(reason)
    with redis_server() as redis, postgres_server() as postgres:
        yield redis, postgres


@pytest.fixture(scope="module")
def site(private_services):
    redis, postgres = private_services
    database_url = postgres.create_database("sciarena")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        # A task whose whole worker was killed comes back from Redis after this many
        # seconds (config/settings.py); a calibration here takes about one.
        "CELERY_VISIBILITY_TIMEOUT": "10",
        # Longer than that: the redelivered task takes its run over before the run
        # could expire (quizzes.models.jobs).
        "JOB_HEARTBEAT_TIMEOUT": "30",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=SETUP_S,
    )
    if done.returncode:
        raise RuntimeError(f"migrate failed:\n{done.stderr.decode()[-4000:]}")
    seeded = run_seed(env, "stage", ROUNDS, QUESTIONS, BANKS, PERSONS)
    rounds, banks = seeded["rounds"], seeded["banks"]
    with tempfile.TemporaryDirectory(prefix="faults-") as log_dir:
        site = Site(redis, postgres, database_url, env, rounds, banks, Path(log_dir))
        try:
            site.worker()
            yield site
        finally:
            for worker in site.workers:
                with contextlib.suppress(Exception):
                    worker.stop()


@pytest.fixture
def servers(site, request):
    """Two fresh daphne processes, A and B, on the private services; their logs (and
    the worker's) printed when the scenario failed."""
    with daphne_processes(2, env=site.env) as started:
        yield started
        if getattr(request.node, "failed", False):
            print_logs(started)
            for worker in site.workers:
                print(f"--- celery {worker.name} (alive={worker.alive()}) ---\n{worker.log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.failed = True
    return report
