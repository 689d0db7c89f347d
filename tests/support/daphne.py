"""Start real daphne processes for tests and benchmarks, and talk to them: `Peer`, a
real `websockets` client of a live round (tests/realtime/test_multiprocess.py and
test_pk_multiprocess.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import websockets

from tests.support.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "http://127.0.0.1"
# The test clients say they come from a page on ORIGIN (port 80), not from the server's
# own random port; the origin check compares ports exactly (realtime.security), so the
# servers started here allow that origin unless a test says otherwise.
TEST_ENV = {"WS_ALLOWED_ORIGINS": ORIGIN}
STEP_S = 10  # the longest wait for any one expected frame
SCENARIO_S = 45  # the longest a whole scenario may take


@contextlib.contextmanager
def daphne(
    env: dict[str, str] | None = None, port: int | None = None, args: tuple[str, ...] = ()
) -> Iterator[str]:
    """Run `python -m config.serve` on a free port (plus daphne `args`, such as
    --proxy-headers); yield its base URL."""
    port = port or free_port()
    proc_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **TEST_ENV,
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port), *args],
        cwd=ROOT,
        env=proc_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"daphne exited: {proc.stdout.read().decode(errors='replace')}")
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        stop(proc)


# --- Several processes at once, any of which a test may kill ------------------------------
# (tests/realtime/test_multiprocess.py: two daphne processes sharing PostgreSQL and Redis.)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL if the test process dies, so a crashed or
    killed pytest leaves no server behind (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class DaphneProcess:
    """One running `python -m config.serve`; its output goes to a log file, so a chatty
    server can never block on a full pipe."""

    def __init__(self, name: str, proc: subprocess.Popen, port: int, log_path: Path) -> None:
        self.name = name
        self.proc = proc
        self.port = port
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_healthy(self, deadline: float) -> None:
        while True:
            if not self.alive():
                raise RuntimeError(
                    f"daphne {self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return
            except OSError as problem:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"daphne {self.name} not healthy in time ({problem}):\n{self.log_tail()}"
                    ) from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to its sockets, its transactions cut off."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        stop(self.proc)


@contextlib.contextmanager
def daphne_processes(
    count: int, env: dict[str, str] | None = None, timeout: float = 30
) -> Iterator[list[DaphneProcess]]:
    """Start `count` servers in parallel, wait until each answers /healthz, yield them;
    stop every one that is still running on the way out, whatever happened."""
    import tempfile

    proc_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **TEST_ENV,
        **(env or {}),
    }
    logs = tempfile.TemporaryDirectory(prefix="daphne-")
    started: list[DaphneProcess] = []
    try:
        ports: list[int] = []
        while len(ports) < count:
            port = free_port()
            if port not in ports:
                ports.append(port)
        for n, port in enumerate(ports):
            name = "AB"[n] if count <= 2 else str(n)
            log_path = Path(logs.name) / f"daphne-{name}.log"
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port)],
                    cwd=ROOT,
                    env=proc_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
            started.append(DaphneProcess(name, proc, port, log_path))
        deadline = time.monotonic() + timeout
        for server in started:
            server.wait_healthy(deadline)
        yield started
    finally:
        for server in started:  # all at once: each takes a moment to shut down
            with contextlib.suppress(Exception):
                if server.alive():
                    server.proc.terminate()
        for server in started:
            with contextlib.suppress(Exception):
                server.stop()
        logs.cleanup()


@contextlib.contextmanager
def daphne_pair_pool(env: dict[str, str]) -> Iterator[Callable[[], tuple[DaphneProcess, ...]]]:
    """For a module's tests (starting servers is most of their cost): yields `pair()`,
    which returns two running servers named A and B, replacing any a test killed."""
    with contextlib.ExitStack() as stack:
        pool: list[DaphneProcess] = []

        def pair() -> tuple[DaphneProcess, ...]:
            pool[:] = [server for server in pool if server.alive()]
            if len(pool) < 2:
                pool.extend(stack.enter_context(daphne_processes(2 - len(pool), env=env)))
            pool[0].name, pool[1].name = "A", "B"
            return pool[0], pool[1]

        yield pair


def print_logs(servers) -> None:
    """Each server's log tail, for pytest to show when the test failed."""
    for server in servers:
        print(f"--- daphne {server.name} (alive={server.alive()}) ---\n{server.log_tail()}")


# --- Clients of the servers ------------------------------------------------------------------


def server_database_url() -> str:
    """DATABASE_URL, pointed at the database pytest-django created for this run."""
    from django.db import connection

    test_db = connection.settings_dict["NAME"]
    return urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{test_db}").geturl()


def run(scenario) -> object:
    async def bounded():
        try:
            return await asyncio.wait_for(scenario, SCENARIO_S)
        except TimeoutError:
            raise AssertionError(f"the scenario took longer than {SCENARIO_S} s") from None

    return asyncio.run(bounded())


class Peer:
    """One WebSocket client. A reader task keeps every frame of the current connection;
    `expect` takes the earliest matching frame not taken yet, so frames that arrive in
    another order than the test asks for them are never lost."""

    def __init__(self, label: str, pin: str) -> None:
        self.label = label
        self.pin = pin
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.frames: list[dict] = []  # this connection's
        self.raw: list[str] = []
        self.taken: set[int] = set()
        self.connections: list[list[dict]] = []  # every connection's frames, oldest first
        self.server: DaphneProcess | None = None
        self.id: int | None = None  # a player's, from its welcome
        self.token: str | None = None
        self._arrived = asyncio.Event()

    async def open(self, server: DaphneProcess, hello: dict, cookie: str | None = None) -> dict:
        """Connect, say who this is, return the welcome (or the error)."""
        self.frames, self.raw, self.taken = [], [], set()
        self.connections.append(self.frames)
        self.server = server
        self.ws = await websockets.connect(
            f"{server.ws_url}/ws/live/{self.pin}/",
            origin=ORIGIN,
            additional_headers={"Cookie": cookie} if cookie else None,
            open_timeout=STEP_S,
            close_timeout=2,
        )
        self.reader = asyncio.create_task(self._read(self.ws, self.frames, self.raw))
        await self.send(hello)
        return await self.expect("welcome", "error")

    async def _read(self, ws, frames: list[dict], raw: list[str]) -> None:
        try:
            async for text in ws:
                raw.append(text)
                frames.append(json.loads(text))
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._arrived.set()

    @property
    def connected(self) -> bool:
        return self.reader is not None and not self.reader.done()

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    def find(self, types: tuple[str, ...], match=None) -> dict | None:
        for n, frame in enumerate(self.frames):
            if n in self.taken or frame.get("type") not in types:
                continue
            if match is None or match(frame):
                self.taken.add(n)
                return frame
        return None

    async def expect(self, *types: str, match=None, timeout: float = STEP_S, what: str = ""):
        """The earliest untaken frame of one of `types` (and `match`), waiting for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.find(types, match)
            if found is not None:
                return found
            wanted = f"{'/'.join(types)}{' ' + what if what else ''}"
            if not self.connected:
                raise AssertionError(
                    f"{self.label}@{self.server.name}: connection closed while waiting for "
                    f"{wanted}; last frames: {self.frames[-5:]}"
                )
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except TimeoutError:
                raise AssertionError(
                    f"{self.label}@{self.server.name}: no {wanted} within {timeout} s; "
                    f"last frames: {self.frames[-5:]}"
                ) from None

    async def round_trip(self) -> None:
        """A ping answered: whatever the server had sent before it has arrived."""
        await self.send({"type": "ping", "t": 1})
        await self.expect("pong")

    async def wait_closed(self, timeout: float = STEP_S) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self.reader), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.label}: the connection to {self.server.name} stayed open for {timeout} s"
            ) from None

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 3)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    def acks(self) -> list[dict]:
        """Every ack this client got, on any connection."""
        return [f for frames in self.connections for f in frames if f["type"] == "ack"]
