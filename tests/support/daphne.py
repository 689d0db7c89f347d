"""Start real daphne processes for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def daphne(env: dict[str, str] | None = None, port: int | None = None) -> Iterator[str]:
    """Run `python -m config.serve` on a free port; yield its base URL."""
    port = port or free_port()
    proc_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port)],
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
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait(timeout=10)


@contextlib.contextmanager
def daphne_processes(
    count: int, env: dict[str, str] | None = None, timeout: float = 30
) -> Iterator[list[DaphneProcess]]:
    """Start `count` servers in parallel, wait until each answers /healthz, yield them;
    stop every one that is still running on the way out, whatever happened."""
    import tempfile

    proc_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **(env or {})}
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
