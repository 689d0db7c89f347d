"""`make deploy-check`: bring up the production set-up of docs/deploy.md on this machine,
play a short live round through it, and take it down again.

What is run comes from docs/deploy.md itself, so the page cannot drift from what is
tested: nginx's configuration is the page's ```nginx block (tests/support/nginx.py
changes only ports and paths), and the daphne, Celery worker and beat command lines
are the `ExecStart=` lines of the page's systemd units (with this checkout's venv,
ports and a temporary directory). Around them:

- an environment file as section 3 describes (DEBUG=0, a generated SECRET_KEY,
  PostgreSQL and Redis URLs, SMTP e-mail, a real SMS backend class), in which
  `check --deploy --fail-level WARNING`, `migrate` and `collectstatic` run (section 5);
- a fresh PostgreSQL database on the machine's server and a Redis database of its own
  (DEPLOY_CHECK_DATABASE_URL, DEPLOY_CHECK_REDIS_URL), both removed afterwards;
- a self-signed certificate (openssl), nginx on high ports of 127.0.0.1, so the Host
  carries a port ($http_host and CSRF are tested for real);
- two daphne processes, a Celery worker and one beat.

Then, through nginx only: /healthz, a static file, HSTS and the CSP headers, the HTTP to
HTTPS redirect, a form posted with its Origin (CSRF passes with the port), a round
created by a host through the services and played over WSS by three scripted players
(two questions: join, answer, reveal, finish; every answer acked and stored), a task
run by the worker, and forged X-Forwarded-For headers that must not lift the guest
limit. Any failure exits non-zero; everything started is stopped whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.nginx import (  # noqa: E402
    DEPLOY_DOC,
    SERVER_NAME,
    Site,
    Visitor,
    nginx,
    nginx_available,
    play_round,
)
from tests.support.processes import free_port, stop  # noqa: E402

VENV_BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get(
    "DEPLOY_CHECK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sciarena_deploy_check"
)
REDIS_URL = os.environ.get("DEPLOY_CHECK_REDIS_URL", "redis://127.0.0.1:6379/15")
GUEST_LIMIT = 3
PLAYERS = 3
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[deploy-check {time.monotonic() - STARTED:5.1f} s] {message}", flush=True)


# --- what docs/deploy.md says ------------------------------------------------------------


def exec_start(unit_description: str) -> list[str]:
    """The ExecStart command line of the page's systemd unit with that Description."""
    text = DEPLOY_DOC.read_text()
    for block in re.findall(r"```ini\n(.*?)```", text, flags=re.S):
        if f"Description={unit_description}" in block:
            line = re.search(r"^ExecStart=(.*?)(?<!\\)$", block, flags=re.M | re.S)
            if line is None:
                break
            return shlex.split(line.group(1).replace("\\\n", " "))
    raise SystemExit(f"docs/deploy.md has no unit {unit_description!r} with an ExecStart")


def localised(argv: list[str], replacements: dict[str, str]) -> list[str]:
    out = []
    for arg in argv:
        for old, new in replacements.items():
            arg = arg.replace(old, new)
        out.append(arg)
    return out


# --- processes ---------------------------------------------------------------------------


class Processes:
    """Every child started here, its output in a log file; all stopped on the way out."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        from tests.support.nginx import _die_with_parent

        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the child
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.children.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.logs / f"{name}.log").read_text(errors="replace")
        return ""

    def check_alive(self) -> None:
        for name, proc in self.children:
            if proc.poll() is not None:
                raise AssertionError(
                    f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}"
                )

    def stop(self) -> None:
        for _name, proc in self.children:
            stop(proc, timeout=20)


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# --- services ----------------------------------------------------------------------------


def fresh_database() -> None:
    import psycopg

    url = urllib.parse.urlparse(DATABASE_URL)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    import psycopg

    url = urllib.parse.urlparse(DATABASE_URL)
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.path.lstrip("/")}" WITH (FORCE)')


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def environment(work: Path) -> dict[str, str]:
    """/etc/sciarena/env of docs/deploy.md, section 3, for this machine."""
    values = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": SERVER_NAME,
        "DATABASE_URL": DATABASE_URL,
        "DB_POOL_SIZE": "4",
        "REDIS_URL": REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "SMS_BACKEND": "accounts.sms.HTTPGatewaySMSBackend",  # nothing is texted here
        "SMS_GATEWAY_URL": "https://sms.example.org/send",
        "STATIC_ROOT": str(work / "static"),
        "MEDIA_ROOT": str(work / "media"),
        "LOG_LEVEL": "WARNING",
        "GUEST_STARTS_PER_HOUR": str(GUEST_LIMIT),
    }
    (work / "env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SQLITE"))}
    for name in ("DATABASE_URL", "REDIS_URL", "REQUIRE_SERVICES", "SECRET_KEY", "DEBUG"):
        keep.pop(name, None)
    return {**keep, **values, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"}


# --- checks through nginx ---------------------------------------------------------------


def daphne_healthy(port: int) -> bool:
    """/healthz of one daphne, asked directly as docs/deploy.md, section 9 says."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz", headers={"Host": SERVER_NAME, "X-Forwarded-Proto": "https"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def check_pages(site: Site) -> None:
    visitor = Visitor(site)
    status, headers, body = visitor.get("/healthz")
    assert status == 200, (status, body[:500])
    assert json.loads(body)["status"] == "ok", body[:500]
    say("/healthz through nginx: 200, every check ok")

    status, headers, body = visitor.get("/")
    assert status == 200, status
    assert "max-age=86400" in headers["Strict-Transport-Security"], headers
    assert "preload" not in headers["Strict-Transport-Security"]
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and f"wss://{site.host}" in csp, csp
    css = re.search(rb'href="(/static/css/site\.[0-9a-f]+\.css)"', body)
    assert css, "no hashed stylesheet in the home page (collectstatic, manifest storage)"
    status, headers, _ = visitor.get(css.group(1).decode())
    cache = ", ".join(headers.get_all("Cache-Control") or [])
    assert status == 200 and "immutable" in cache, (status, cache)
    say("home page: HSTS one day without preload, CSP, hashed static file served by nginx")

    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", site.http_port, timeout=10)
    conn.request("GET", "/accounts/login/", headers={"Host": f"{SERVER_NAME}:{site.http_port}"})
    response = conn.getresponse()
    assert response.status == 301 and response.getheader("Location", "").startswith("https://")
    conn.close()
    say("plain HTTP: 301 to HTTPS")

    login = Visitor(site)
    login.get("/accounts/login/")
    status, _, body = login.post("/accounts/login/", {"login": "nobody", "password": "wrong-1"})
    assert status == 200, f"a form posted through nginx on port {site.https_port}: {status}"
    say(f"a form posted with Origin https://{site.host}: CSRF passes (200, not 403)")


def check_forged_addresses(site: Site, blueprint_id: int) -> None:
    from quizzes.models import Paper

    before = Paper.objects.count()
    started = []
    for n in range(GUEST_LIMIT + 4):
        forged = {"X-Forwarded-For": f"198.51.100.{n + 1}, 203.0.113.{n + 1}"}
        status, headers, _ = Visitor(site, forged).post(f"/papers/start/{blueprint_id}/", {})
        assert status == 302, status
        started.append(not headers["Location"].rstrip("/").endswith("/papers"))
    assert Paper.objects.count() - before == sum(started)
    assert started == [True] * GUEST_LIMIT + [False] * 4, started
    say(
        f"forged X-Forwarded-For from {len(started)} fresh sessions:"
        f" {GUEST_LIMIT} started, the rest refused"
    )


def check_live_round(site: Site) -> None:
    from django.conf import settings
    from django.test import Client

    from realtime.models import LiveAnswer
    from tests.support.live import choice_for, make_round
    from tests.support.options import shown_in_frame

    live = make_round(types=["single", "true_false"], seconds=60)
    client = Client()
    client.force_login(live.host)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    versions = [q.version for q in live.questions.select_related("version").order_by("position")]

    def right_answer(version):
        return lambda frame_question: shown_in_frame(
            version, frame_question, choice_for(version, True)
        )

    result = asyncio.run(
        asyncio.wait_for(
            play_round(site, live.pin, cookie, [right_answer(v) for v in versions], PLAYERS), 90
        )
    )
    assert result["acks"] == [len(versions), 0, 0], result
    assert LiveAnswer.objects.filter(question__round=live).count() == len(versions)
    assert result["points"][0] > 0 and result["points"][1:] == [0, 0], result
    say(f"live round {live.pin} over WSS through nginx: host, {PLAYERS} players, {result}")


def check_worker(env: dict[str, str], processes: Processes) -> None:
    celery = str(VENV_BIN / "celery")
    ping = subprocess.run(
        [celery, "-A", "config", "inspect", "ping", "--timeout", "10"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ping.returncode == 0 and "pong" in ping.stdout, ping.stdout + ping.stderr
    call = subprocess.run(
        [celery, "-A", "config", "call", "quizzes.jobs_expire"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert call.returncode == 0, call.stderr
    task_id = call.stdout.strip()
    deadline = time.monotonic() + 30
    while f"{task_id}] succeeded" not in processes.log("worker"):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the worker did not run {task_id}:\n{processes.log('worker')[-3000:]}"
            )
        time.sleep(0.5)
    assert "beat: Starting" in processes.log("beat"), processes.log("beat")
    say("Celery: the worker answers ping and ran quizzes.jobs_expire; one beat running")


# --- the whole check ---------------------------------------------------------------------


def main() -> int:
    missing = [b for b in ("openssl", "redis-cli") if shutil.which(b) is None]
    if not nginx_available():
        missing.append("nginx (apt-get install nginx-light)")
    if missing:
        print(f"deploy-check needs: {', '.join(missing)}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="sciarena-deploy-"))
    (work / "logs").mkdir()
    processes = Processes(work / "logs")
    ok = False
    try:
        fresh_database()
        flush_redis()
        env = environment(work)
        os.environ.update(env)  # this process reads the same database (round, papers)

        manage(env, "check", "--deploy", "--fail-level", "WARNING")
        say("check --deploy --fail-level WARNING: no issues")
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        say("migrate and collectstatic done")

        ports = [free_port(), free_port()]
        for n, port in enumerate(ports):
            argv = localised(
                exec_start("SciArena daphne on port %i"),
                {"/srv/sciarena/app/.venv/bin/python": sys.executable, "%i": str(port)},
            )
            processes.start(f"daphne-{n + 1}", argv, env)
        worker = localised(
            exec_start("SciArena Celery worker"), {"/srv/sciarena/app/.venv/bin/": f"{VENV_BIN}/"}
        )
        processes.start("worker", worker, env)
        beat = localised(
            exec_start("SciArena Celery beat (exactly one per deployment)"),
            {
                "/srv/sciarena/app/.venv/bin/": f"{VENV_BIN}/",
                "/var/lib/sciarena/": f"{work}/",
            },
        )
        processes.start("beat", beat, env)

        # Each daphne healthy on its own port first (docs/deploy.md, section 9): nginx
        # would mark a daphne that is still starting as down for a while.
        deadline = time.monotonic() + 90
        for port in ports:
            while not daphne_healthy(port):
                processes.check_alive()
                if time.monotonic() > deadline:
                    raise AssertionError(f"daphne on {port} not healthy in 90 s")
                time.sleep(0.3)
        site = Site(
            workdir=work / "nginx",
            upstreams=ports,
            http_port=free_port(),
            https_port=free_port(),
            static_root=work / "static",
            media_root=work / "media",
        )
        with nginx(site):
            deadline = time.monotonic() + 60
            while True:
                processes.check_alive()
                try:
                    status, _, _ = Visitor(site).get("/healthz")
                    if status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("no healthy daphne behind nginx in 60 s")
                time.sleep(0.3)
            say(f"nginx (docs/deploy.md) on https://{site.host}, daphne on {ports}")

            import django

            django.setup()
            check_pages(site)
            check_live_round(site)

            from quizzes.papers.blueprints import blueprint_create
            from tests.quizzes.factories import BankFactory, fill_bank
            from tests.quizzes.helpers import DIMENSIONS, opened

            bank = BankFactory()
            fill_bank(bank, {("true_false", d): 2 for d in DIMENSIONS})
            blueprint = opened(
                blueprint_create(
                    bank=bank,
                    name="家庭安全练习",
                    cells=[{"type": "true_false", "count": 1}],
                    actor=bank.owners.first(),
                )
            )
            check_forged_addresses(site, blueprint.pk)
            check_worker(env, processes)
            processes.check_alive()
        ok = True
    except BaseException as problem:  # reported below; the exit code says it
        print(f"\ndeploy-check FAILED: {problem!r}", file=sys.stderr)
        for name, _proc in processes.children:
            print(f"--- {name} ---\n{processes.log(name)[-2000:]}", file=sys.stderr)
        error_log = work / "nginx" / "error.log"
        if error_log.exists():
            print(f"--- nginx ---\n{error_log.read_text()[-2000:]}", file=sys.stderr)
    finally:
        processes.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            drop_database()
        with contextlib.suppress(Exception):
            flush_redis()
        shutil.rmtree(work, ignore_errors=True)
    say("passed" if ok else "failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
