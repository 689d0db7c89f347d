"""Measuring for bench/http_load.py: its server process, CPU from /proc, the figures of
a window of samples, the overload and recovery figures, and issue 13's targets.

A sample is [endpoint, status, sent_ms, latency_ms] (bench/_http_support.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from bench._live_support import Server, percentile, rounded

ROOT = Path(__file__).resolve().parent.parent

# Issue 13's acceptance on this machine.
DISTRIBUTED_RPS = 120
EMBEDDED_RPS = 60
AUTOSAVE_CPU_MS = 4
PAGE_CPU_MS = 10
QUICK_503_MS = 150
RECOVERY_S = 10


class HttpServer(Server):
    """`python -m config.serve`: the site as deployed (bench/_live_support.py's Server
    starts bench.serve, the site plus the bench's WebSocket routes)."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.log_path = log
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )


class Cpu:
    """CPU seconds of the daphne processes, of PostgreSQL and Redis ("services": this
    run's database backends and the postmaster's own helpers, not other databases'
    backends; Redis is shared) and of the load generators (this process included)."""

    def __init__(self, servers: list[Server], database_url: str | None) -> None:
        import psutil

        self.psutil = psutil
        self.servers = [psutil.Process(s.proc.pid) for s in servers]
        self.generators = [psutil.Process()]
        self.database = urlparse(database_url).path.lstrip("/") if database_url else None

    def add_generator(self, pid: int) -> None:
        self.generators.append(self.psutil.Process(pid))

    def _services(self) -> float:
        if self.database is None:
            return 0.0
        spent = 0.0
        for proc in self.psutil.process_iter(["name", "cmdline", "cpu_times"]):
            name, times = proc.info["name"], proc.info["cpu_times"]
            if times is None or name not in {"postgres", "redis-server"}:
                continue
            line = " ".join(proc.info["cmdline"] or [])
            # A backend's title is "postgres: user database host(port) state".
            backend = "(" in line and name == "postgres"
            if backend and f" {self.database} " not in line:
                continue
            spent += times.user + times.system
        return spent

    def take(self) -> dict[str, float]:
        def total(procs) -> float:
            return sum(sum(p.cpu_times()[:2]) for p in procs)

        return {
            "server": total(self.servers),
            "services": self._services(),
            "generator": total(self.generators),
        }

    def since(self, before: dict[str, float]) -> dict[str, float]:
        after = self.take()
        return {k: round(after[k] - before[k], 3) for k in before}


def is_error(status) -> bool:
    return not (isinstance(status, int) and status < 400)


def stats(samples: list[list], seconds: float) -> dict:
    """p50/p99 overall and by endpoint, the rate, the errors by status."""
    latencies = [s[3] for s in samples]
    by: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    for endpoint, status, _, ms in samples:
        by.setdefault(endpoint, []).append(ms)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "rps": round(len(samples) / seconds, 1) if seconds > 0 else None,
        "requests": len(samples),
        "p50_ms": rounded(percentile(latencies, 0.5)),
        "p99_ms": rounded(percentile(latencies, 0.99)),
        "endpoints": {
            name: {
                "count": len(values),
                "p50_ms": rounded(percentile(values, 0.5)),
                "p99_ms": rounded(percentile(values, 0.99)),
            }
            for name, values in sorted(by.items())
        },
        "statuses": statuses,
        "errors": {k: v for k, v in statuses.items() if k != "pending" and is_error(_int(k))},
    }


def _int(text: str):
    return int(text) if text.isdigit() else text


def overload_figures(samples: list[list], polls: list, seconds: float) -> dict:
    statuses: dict[str, int] = {}
    for s in samples:
        statuses[str(s[1])] = statuses.get(str(s[1]), 0) + 1
    shed = [s[3] for s in samples if s[1] == 503]
    not_alive = [p for p in polls if p[0] != 200]
    return {
        "seconds": round(seconds, 1),
        "requests": len(samples),
        "rps": round(len(samples) / seconds, 1),
        "statuses": statuses,
        "status_500": statuses.get("500", 0),
        "status_503": len(shed),
        "p99_503_ms": rounded(percentile(shed, 0.99)),
        "p99_ms": rounded(percentile([s[3] for s in samples], 0.99)),
        "over_10s": sum(1 for s in samples if s[3] > 10_000),
        "liveness_polls": len(polls),
        "liveness_not_200": len(not_alive),
        "liveness_failures": sorted({str(p[0]) for p in not_alive}),
        "liveness_p99_ms": rounded(percentile([p[1] for p in polls], 0.99)),
    }


def recovery_seconds(samples: list[list], back: float, now: float, p99_ms: float) -> float | None:
    """Seconds after the rate came back until every 2 s window (by send time) had p99
    ≤ p99_ms; None if the last windows still did not (not recovered while watched)."""
    bins: dict[int, list[float]] = {}
    for s in samples:
        bins.setdefault(int((s[2] - back) // 2000), []).append(s[3])
    last = int((now - back) // 2000)
    bad = [b for b in range(last) if (percentile(bins.get(b, []), 0.99) or 0) > p99_ms]
    if not bad:
        return 0.0
    if bad[-1] >= last - 2:  # still slow in the last seconds watched
        return None
    return float((bad[-1] + 1) * 2)


def targets_missed(out: dict, args) -> list[str]:
    """Which of issue 13's targets this run missed, in words."""
    missed = []
    want = DISTRIBUTED_RPS if args.distributed else EMBEDDED_RPS
    rps = out["sustained_rps"]
    if rps is None or rps < want:
        missed.append(f"sustained rate {rps} req/s < {want}")
    if args.distributed:
        cpu = out["cpu_ms_per_request"]
        for endpoint, limit in (("paper.answer", AUTOSAVE_CPU_MS), ("paper.page", PAGE_CPU_MS)):
            spent = cpu.get(endpoint, {}).get("total_ms")
            if spent is None or spent > limit:
                missed.append(f"{endpoint} server CPU {spent} ms > {limit} ms")
    over = out["overload"]
    if over["status_500"]:
        missed.append(f"overload: {over['status_500']} responses 500")
    others = {
        k: v for k, v in over["statuses"].items() if is_error(_int(k)) and k not in ("503", "500")
    }
    if others:
        missed.append(f"overload: failures other than 503 {others}")
    if over["p99_503_ms"] is not None and over["p99_503_ms"] > QUICK_503_MS:
        missed.append(f"overload: 503 p99 {over['p99_503_ms']} ms > {QUICK_503_MS} ms")
    if over["liveness_not_200"]:
        missed.append(
            f"overload: liveness not 200 {over['liveness_not_200']} times "
            f"{over['liveness_failures']}"
        )
    if over["recovery_s"] is None or over["recovery_s"] > RECOVERY_S:
        missed.append(f"overload: recovery {over['recovery_s']} s > {RECOVERY_S} s")
    return missed
