"""A real Celery worker (`celery -A config worker`, prefork, one process) on the private
services, which a fault scenario may kill with SIGKILL: the worker and its pool process
together, as when a machine or container dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.daphne import ROOT
from tests.support.services import STOP_S, die_with_parent

READY_S = 40  # the longest a worker may take to say it is ready


class CeleryWorker:
    def __init__(self, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.env = env
        self.name = name
        self.log_path = log_dir / f"celery-{name}.log"
        self.proc: subprocess.Popen | None = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self, timeout: float = READY_S) -> None:
        """Start and wait (bounded) for the worker to say it is ready for tasks."""
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "config", "worker",
                    "-l", "info", "-c", "1", "-n", f"{self.name}@%h",
                    "--without-gossip", "--without-mingle",
                ],
                cwd=ROOT,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes the pool too
                preexec_fn=die_with_parent,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while " ready." not in self.log_tail(100_000):
            if not self.alive():
                raise RuntimeError(f"celery worker {self.name} exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"celery worker {self.name} not ready in {timeout} s")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the worker and its pool process: nothing is acked, nothing cleaned up."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_S)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_S)
        # The pool process too, whatever became of the main one.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_S)
