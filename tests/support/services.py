"""Private Redis and PostgreSQL servers for tests that break them (tests/faults/): each
test starts its own, on a free port, in a temporary directory, so it may stop, restart
or kill them while the shared services (DATABASE_URL, REDIS_URL) stay untouched.

    with redis_server() as redis, postgres_server() as pg:
        redis.url, pg.url("sciarena")      # what the servers under test are given
        redis.stop(); ...; redis.start()   # an outage, on the same port, same data
        pg.restart()

Both run in the foreground as children of the test process (never daemonized), so a
`stop()` is a signal and a wait, and a crashed pytest takes them along (Linux's
parent-death signal). Every wait is bounded; whatever fails on the way in or out, the
server is killed and its directory removed.

PostgreSQL refuses to run as root: as root, initdb and postgres run as the `postgres`
user (or `nobody`), which owns the temporary directory.

`missing_binaries()` says what is not installed; the `private_services` fixture of
tests/faults skips on it, or fails under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import free_port

START_S = 20  # the longest a server may take to accept connections
STOP_S = 15  # the longest a server may take to shut down before it is killed


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and postgres (Debian's
    layout), else the directory of an `initdb` on PATH."""

    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    candidates = [Path(p).parent for p in reversed(found)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    return None


def missing_binaries() -> list[str]:
    missing = []
    if redis_binary() is None:
        missing.append("redis-server")
    if postgres_bindir() is None:
        missing.append("PostgreSQL's initdb and postgres (/usr/lib/postgresql/*/bin)")
    return missing


def _load_libc():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


# Loaded here, not in the child: after a change of user the child may not read this
# Python's files any more (root's home).
_LIBC = _load_libc()


def die_with_parent() -> None:
    """In the child, before exec (and after any change of user, which would clear it):
    SIGKILL when the test process dies, so no server outlives a killed pytest."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


class _Server:
    """A foreground server process with a log file, stopped by a signal."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, directory: Path, port: int) -> None:
        self.dir = directory
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.log_path = directory / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def popen_user(self) -> dict:
        return {}

    def ready(self) -> bool:
        raise NotImplementedError

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self, timeout: float = START_S) -> None:
        """Start on this server's port and wait (bounded) until it answers."""
        if self.alive():
            raise RuntimeError(f"{self.name} on port {self.port} is already running")
        deadline = time.monotonic() + timeout
        while _port_open(self.port):  # the last instance's port, or someone else's
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {self.port} of {self.name} is taken")
            time.sleep(0.05)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
                **self.popen_user(),
            )
        while not self.ready():
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} not ready in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = STOP_S) -> None:
        """A clean shutdown (killed if it takes longer than `timeout`); its clients'
        connections are cut."""
        if not self.alive():
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no shutdown at all."""
        if self.alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=STOP_S)

    def restart(self, pause: float = 0.0) -> None:
        """Stop, stay down `pause` seconds, start again on the same port with the same data."""
        self.stop()
        time.sleep(pause)
        self.start()


class RedisServer(_Server):
    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            redis_binary() or "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--daemonize", "no",
            "--protected-mode", "no",
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5) as conn:
                conn.settimeout(0.5)
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class PostgresServer(_Server):
    """A throwaway cluster: trust authentication, superuser `postgres`, fsync off,
    listening on 127.0.0.1:port and on a Unix socket in its own directory."""

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: sessions are ended, nothing waits

    def __init__(self, directory: Path, port: int, bindir: Path) -> None:
        super().__init__(directory, port)
        self.bindir = bindir
        self.data = directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def popen_user(self) -> dict:
        if os.geteuid() != 0:
            return {}
        owner = _unprivileged_user()
        return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    def initdb(self) -> None:
        command = [
            str(self.bindir / "initdb"),
            "-D", str(self.data),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]  # fmt: skip
        done = subprocess.run(
            command,
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            preexec_fn=die_with_parent,
            **self.popen_user(),
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{(done.stdout + done.stderr).decode()[-3000:]}")

    def command(self) -> list[str]:
        return [
            str(self.bindir / "postgres"),
            "-D", str(self.data),
            "-p", str(self.port),
            "-k", str(self.dir),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=200",
            "-c", "shared_buffers=32MB",
        ]  # fmt: skip

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url(), connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and there is no postgres or nobody user to run PostgreSQL")


@contextlib.contextmanager
def _temporary_directory(prefix: str, owner: pwd.struct_passwd | None = None) -> Iterator[Path]:
    # Short: PostgreSQL's Unix socket path must stay under 108 bytes.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server (no persistence) on a free port; stopped and removed on exit."""
    if redis_binary() is None:
        raise RuntimeError("redis-server is not installed")
    with _temporary_directory("redis-") as directory:
        server = RedisServer(directory, free_port())
        try:
            server.start()
            yield server
        finally:
            with contextlib.suppress(Exception):
                server.stop()
            with contextlib.suppress(Exception):
                server.kill()


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster (initdb into a temporary directory) on a free port;
    stopped and removed on exit."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL's initdb and postgres are not installed")
    owner = _unprivileged_user() if os.geteuid() == 0 else None
    with _temporary_directory("pg-", owner) as directory:
        server = PostgresServer(directory, free_port(), bindir)
        try:
            server.initdb()
            server.start()
            yield server
        finally:
            with contextlib.suppress(Exception):
                server.stop()
            with contextlib.suppress(Exception):
                server.kill()
