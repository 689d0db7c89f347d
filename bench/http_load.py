"""Bench: signed-in players taking practice papers and the daily quiz over HTTP, open loop.

Embedded (default): one daphne process (`python -m config.serve`, DEBUG=0) on a fresh
SQLite file. --distributed: two daphne processes, PostgreSQL (a throwaway database,
`bench_http`, dropped and created) and Redis (database 6, flushed); players spread
over the processes round-robin.

The bench process migrates, then seeds through the services: a bank of published
questions, a practice-paper blueprint of 20 items open to players, a daily quiz
blueprint (5 items), and players signed in out of band (session rows and cookies
written directly: a sign-in through PBKDF2 costs about 0.3 s of CPU, measured on its
own in the login burst). Load-generator processes (bench/_http_support.py, aiohttp)
play the visits: a practice paper is POST start (302) → GET the page → autosave each
of the 20 answers (JSON, `<page>answers/`) with a think time → submit (JSON) → GET the
results; the daily quiz the same with 5 answers and a fresh player each (one daily
paper a player a day). Visits arrive open loop (Poisson) at a rate set in requests/s.

Phases, in order:
1. Server CPU per request by endpoint: each endpoint alone at --cpu-rate for
   --cpu-seconds; CPU of the daphne processes (and of PostgreSQL and Redis, apart)
   from /proc, over the requests.
2. Ramp: steps of --step-seconds from --start-rate, the rate ×--step-factor while p99 ≤
   --p99-ms with no error (÷ while the first steps fail); then a --hold (60 s) at the
   last good rate (lower, if the hold fails): the sustained rate.
3. Login burst: --logins sign-ins through allauth's form while the mix runs at the
   sustained rate: the answers' p99 before and during, the sign-ins' latency.
4. Overload: --overload-factor (3) × the sustained rate for --overload-seconds (30 s):
   statuses (no 500s; 503s quick), /livez polled every 200 ms; then the sustained rate
   again: seconds until p99 ≤ --p99-ms again.

Until the paper answer endpoints exist (`<page>answers/` is a 404), the visits submit
the whole form instead (no autosave), and until /livez exists the liveness poll reads
/healthz; the JSON line says so ("answers", "liveness").

Prints one JSON line; exits 1 if a target of issue 13 is missed ("missed" says which).

    .venv/bin/python bench/http_load.py
    .venv/bin/python bench/http_load.py --distributed
    .venv/bin/python bench/http_load.py --smoke     # a few seconds: the test suite's run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._http_measure import (  # noqa: E402
    Cpu,
    HttpServer,
    overload_figures,
    recovery_seconds,
    stats,
    targets_missed,
)
from bench._http_seed import seed  # noqa: E402
from bench._http_support import HttpWorkerClient  # noqa: E402
from bench._live_support import free_port, percentile, raise_fd_limit, rounded  # noqa: E402
from bench.live_round import drop_database, migrate, prepare_services, server_env  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_http"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
CPU_ENDPOINTS = ("paper.start", "paper.page", "paper.answer", "paper.submit", "paper.results")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--distributed", action="store_true")
    add("--smoke", action="store_true", help="a few seconds, embedded, no targets judged")
    add("--generators", type=int, default=1, help="load-generator processes")
    add("--players", type=int, default=600, help="signed-in players taking practice papers")
    add("--fresh", type=int, default=2500, help="signed-in players kept for the daily quiz")
    add("--questions", type=int, default=120, help="published questions in the bank")
    add("--think", default="0.2,0.6", help="think time before each answer, min,max s")
    add("--daily-share", type=float, default=0.25, help="share of visits to the daily quiz")
    add("--start-rate", type=float, default=0, help="req/s (default 20, distributed 40)")
    add("--step-factor", type=float, default=1.3)
    add("--step-seconds", type=float, default=15)
    add("--max-steps", type=int, default=12)
    add("--hold", type=float, default=60, help="seconds the sustained rate is held")
    add("--p99-ms", type=float, default=150)
    add("--cpu-rate", type=float, default=20, help="req/s of the single-endpoint phases")
    add("--cpu-seconds", type=float, default=5)
    add("--logins", type=int, default=200)
    add("--login-spread", type=float, default=2.0, help="the sign-ins start within S s")
    add("--overload-factor", type=float, default=3)
    add("--overload-seconds", type=float, default=30)
    add("--recovery-seconds", type=float, default=30, help="how long recovery is watched")
    add("--database-url", default=DEFAULT_DATABASE_URL)
    add("--redis-url", default=DEFAULT_REDIS_URL)
    add("--keep", action="store_true", help="keep the database and logs")
    args = parser.parse_args(argv)
    args.profile = None  # live_round.server_env reads it
    if args.smoke:
        if args.distributed:
            parser.error("--smoke runs embedded")
        args.players, args.fresh, args.questions, args.logins = 30, 60, 40, 4
        args.think, args.start_rate, args.step_seconds, args.max_steps = "0.01,0.03", 30, 3, 1
        args.hold, args.cpu_seconds, args.cpu_rate = 3, 0.5, 10
        args.overload_seconds, args.recovery_seconds, args.login_spread = 2, 3, 0.5
    args.think = [float(x) for x in args.think.split(",")]
    args.start_rate = args.start_rate or (40 if args.distributed else 20)
    return args


# --- the run ------------------------------------------------------------------------------------


class Run:
    """The generators, the samples they sent back, and the phases."""

    def __init__(self, args, servers: list[HttpServer], cpu: Cpu) -> None:
        self.args, self.servers, self.cpu = args, servers, cpu
        self.workers: list[HttpWorkerClient] = []
        self.samples: list[list] = []
        self.counts: dict[str, int] = {}

    async def start(self, seeded: dict) -> dict:
        w = self.args.generators
        self.workers = [await HttpWorkerClient.start(seed=100 + i) for i in range(w)]
        for worker in self.workers:
            self.cpu.add_generator(worker.pid)
        urls = [f"http://127.0.0.1:{s.port}" for s in self.servers]

        def share(people: list[dict], i: int) -> list[dict]:
            # Person n: generator n % W, server (n // W) % S: every generator on every server.
            return [
                {**p, "base": urls[(n // w) % len(urls)]}
                for n, p in enumerate(people)
                if n % w == i
            ]

        async def setup(mode: str) -> None:
            for i, worker in enumerate(self.workers):
                await worker.call(
                    "setup",
                    **{k: share(seeded[k], i) for k in ("players", "fresh", "logins")},
                    paper_start=seeded["paper_start"],
                    daily_start=seeded["daily_start"],
                    think=self.args.think,
                    daily_share=self.args.daily_share,
                    mode=mode,
                )

        await setup("json")
        probed = await self.workers[0].call("probe")
        self.mode = "json" if probed["answers"] != 404 else "form"
        # Requests a visit makes (bench/_http_support.py, Generator.requests_per_visit).
        answers = (20, 5) if self.mode == "json" else (0, 0)
        daily = self.args.daily_share
        self.requests_per_visit = 4 + (1 - daily) * answers[0] + daily * answers[1]
        if self.mode != "json":
            await setup(self.mode)
        self.liveness = "/livez" if probed["livez"] == 200 else "/healthz"
        return {
            "answers": "json autosave (<page>answers/)"
            if self.mode == "json"
            else "missing (404): the form POST instead, no autosave",
            "liveness": "/livez" if self.liveness == "/livez" else "/healthz (/livez is a 404)",
        }

    async def close(self) -> None:
        for worker in self.workers:
            await worker.stop()

    async def set_rate(self, rate: float) -> None:
        await asyncio.gather(*(w.call("rate", rate=rate / len(self.workers)) for w in self.workers))

    async def collect(self) -> list[float]:
        """Take the samples in; the send times of requests still unanswered."""
        replies = await asyncio.gather(*(w.call("collect") for w in self.workers))
        pending = []
        for reply in replies:
            self.samples.extend(reply["samples"])
            pending.extend(reply["pending_sent_ms"])
            for key, n in reply["counts"].items():
                self.counts[key] = self.counts.get(key, 0) + n
        return pending

    def window(self, start: float, end: float, pending=(), now: float = 0) -> dict:
        """The figures of the requests sent in [start, end) (ms); unanswered ones count
        as slow as they have waited so far."""
        chosen = [s for s in self.samples if start <= s[2] < end]
        waited = [[".pending", "pending", t, now - t] for t in pending if start <= t < end]
        return stats(chosen + waited, (end - start) / 1000)

    async def cpu_phases(self) -> dict:
        """Each endpoint alone at a moderate fixed rate: server CPU per request."""
        a, out = self.args, {}
        endpoints = list(CPU_ENDPOINTS) + sorted({self.liveness.strip("/"), "healthz"})
        if self.mode != "json":
            endpoints.remove("paper.answer")
        for endpoint in endpoints:
            before = self.cpu.take()
            reply = await self.workers[0].call(
                "phase", endpoint=endpoint, rate=a.cpu_rate, duration=a.cpu_seconds
            )
            spent = self.cpu.since(before)
            n = reply["count"]
            latencies = [s[3] for s in reply["samples"]]
            out[endpoint] = {
                "count": n,
                "statuses": reply["statuses"],
                "daphne_ms": round(spent["server"] * 1000 / n, 2),
                "services_ms": round(spent["services"] * 1000 / n, 2),
                "total_ms": round((spent["server"] + spent["services"]) * 1000 / n, 2),
                "p50_ms": rounded(percentile(latencies, 0.5)),
            }
            await asyncio.sleep(0 if self.args.smoke else 0.5)
        return out

    async def ramp(self) -> list[dict]:
        a, steps, direction = self.args, [], 0
        rate = a.start_rate
        warm = min(5.0, a.step_seconds / 3)
        for _ in range(a.max_steps):
            await self.set_rate(rate)
            began = time.time() * 1000
            await asyncio.sleep(a.step_seconds)
            pending = await self.collect()
            now = time.time() * 1000
            figures = self.window(began + warm * 1000, now, pending, now)
            figures["rate"] = round(rate, 1)
            figures["ok"] = self.good(figures, rate, (now - began) / 1000 - warm)
            steps.append(figures)
            # Up while the steps pass; down from a first step that fails, to one that passes.
            if figures["ok"]:
                if direction < 0:
                    break
                direction, rate = 1, rate * a.step_factor
            else:
                if direction > 0:
                    break
                direction, rate = -1, rate / a.step_factor
        return steps

    def good(self, figures: dict, rate: float, seconds: float) -> bool:
        """p99 within the limit, no error, and the rate reached: the visits arrive
        at random (Poisson), so a window falls short of it by chance by up to three
        standard deviations of the visits' count (a 60 s hold at 8 req/s: 28 %)."""
        visits = max(1.0, rate * seconds / self.requests_per_visit)
        return (
            figures["p99_ms"] is not None
            and figures["p99_ms"] <= self.args.p99_ms
            and not figures["errors"]
            and figures["rps"] >= rate * (1 - max(0.15, 3 / visits**0.5))
        )

    async def hold(self, rate: float) -> dict:
        """The rate for --hold seconds (after a few seconds to settle)."""
        await self.set_rate(rate)
        await asyncio.sleep(min(5.0, self.args.hold / 3))
        await self.collect()
        before = self.cpu.take()
        began = time.time() * 1000
        await asyncio.sleep(self.args.hold)
        pending = await self.collect()
        now = time.time() * 1000
        spent = self.cpu.since(before)
        figures = self.window(began, now, pending, now)
        figures["rate"] = round(rate, 1)
        figures["ok"] = self.good(figures, rate, self.args.hold)
        figures["cpu_s"] = spent
        return figures

    async def login_burst(self, rate: float) -> dict:
        a = self.args
        before_s = 10 if not a.smoke else 1
        await asyncio.sleep(before_s)
        began = time.time() * 1000
        per = [len(range(i, a.logins, len(self.workers))) for i in range(len(self.workers))]
        for worker, n in zip(self.workers, per, strict=True):
            await worker.call("logins", count=n, spread=a.login_spread)
        replies = await asyncio.gather(*(w.call("logins_done") for w in self.workers))
        ended = time.time() * 1000
        await asyncio.sleep(1)
        await self.collect()
        answers_before = self.window(began - before_s * 1000, began)["endpoints"]
        answers_during = self.window(began, ended)["endpoints"]
        signed_in = [ms for r in replies for ms in r["signed_in_ms"]]
        statuses: dict[str, int] = {}
        for r in replies:
            for k, v in r["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
        posts = [s[3] for s in self.samples if s[0] == "login.post" and began <= s[2] < ended]
        answer = "paper.answer" if self.mode == "json" else "paper.page"
        return {
            "logins": sum(r["count"] for r in replies),
            "signed_in": len(signed_in),
            "statuses": statuses,
            "seconds": round((ended - began) / 1000, 1),
            "login_p50_ms": rounded(percentile(signed_in, 0.5)),
            "login_p99_ms": rounded(percentile(signed_in, 0.99)),
            "login_post_p50_ms": rounded(percentile(posts, 0.5)),
            "login_post_p99_ms": rounded(percentile(posts, 0.99)),
            "answer_endpoint": answer,
            "answer_p99_before_ms": answers_before.get(answer, {}).get("p99_ms"),
            "answer_p99_during_ms": answers_during.get(answer, {}).get("p99_ms"),
        }

    async def overload(self, rate: float) -> dict:
        a = self.args
        polls: list[tuple[int | str, float]] = []
        stop = asyncio.Event()
        poller = asyncio.create_task(self._poll_liveness(polls, stop))
        began = time.time() * 1000
        await self.set_rate(rate * a.overload_factor)
        await asyncio.sleep(a.overload_seconds)
        back = time.time() * 1000
        await self.set_rate(rate)
        await asyncio.sleep(a.recovery_seconds)
        pending = await self.collect()
        now = time.time() * 1000
        stop.set()
        await poller
        chosen = [s for s in self.samples if began <= s[2] < back]
        figures = overload_figures(chosen, polls, (back - began) / 1000)
        after = [s for s in self.samples if s[2] >= back]
        after += [[".pending", "pending", t, now - t] for t in pending if t >= back]
        figures["recovery_s"] = recovery_seconds(after, back, now, a.p99_ms)
        figures["rate"] = round(rate * a.overload_factor, 1)
        return figures

    async def _poll_liveness(self, polls: list, stop: asyncio.Event) -> None:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not stop.is_set():
                for server in self.servers:
                    started = time.perf_counter()
                    try:
                        url = f"http://127.0.0.1:{server.port}{self.liveness}"
                        async with http.get(url) as response:
                            await response.read()
                            status: int | str = response.status
                    except Exception as failed:
                        status = type(failed).__name__
                    polls.append((status, (time.perf_counter() - started) * 1000))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2)


async def run(args, servers: list[HttpServer], seeded: dict, cpu: Cpu) -> dict:
    bench = Run(args, servers, cpu)
    out: dict = {}
    try:
        out.update(await bench.start(seeded))
        out["cpu_ms_per_request"] = await bench.cpu_phases()
        bench.samples = []
        ramp = await bench.ramp()
        passed = [step["rate"] for step in ramp if step["ok"]]
        rate = passed[-1] if passed else ramp[-1]["rate"] / args.step_factor
        for _ in range(3):
            held = await bench.hold(rate)
            if held["ok"] or args.smoke:
                break
            rate *= 0.85
        out["ramp"] = [
            {k: s[k] for k in ("rate", "rps", "p50_ms", "p99_ms", "errors", "ok")} for s in ramp
        ]
        out["hold"] = held
        out["login_burst"] = await bench.login_burst(rate) if args.logins else None
        out["overload"] = await bench.overload(rate)
        await asyncio.gather(*(w.call("drain", timeout=60) for w in bench.workers))
        await bench.collect()
        out["visits"] = bench.counts
    finally:
        await bench.close()
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    load_start = [round(x, 2) for x in os.getloadavg()]
    raise_fd_limit(16384)
    mode = "distributed" if args.distributed else "embedded"
    rev = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip() or os.environ.get("BENCH_GIT_REV", "unknown")  # a snapshot: no .git
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    env = server_env(args, workdir)
    env.pop("WS_ALLOWED_ORIGINS", None)
    # DEBUG=0 serves static files through the manifest: collected for this run, as a
    # deployment does, never a stale checkout's.
    env["STATIC_ROOT"] = str(workdir / "static")
    servers: list[HttpServer] = []
    started = time.monotonic()
    try:
        if args.distributed:
            prepare_services(args)
        migrate(env)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
            os.environ.pop(name, None)
        os.environ.update(env)
        import django

        django.setup()
        seeded = seed(args)
        from django.conf import settings
        from django.db import connections

        connections.close_all()
        for n in range(2 if args.distributed else 1):
            servers.append(HttpServer(free_port(), env, workdir / f"daphne-{n}.log"))
        for server in servers:
            server.wait_ready()
        cpu = Cpu(servers, args.database_url if args.distributed else None)
        result = asyncio.run(run(args, servers, seeded, cpu))
        database = settings.DATABASES["default"]
    except Exception as failed:
        print(
            json.dumps(
                {"mode": mode, "git_rev": rev, "error": f"{type(failed).__name__}: {failed}"}
            )
        )
        for n, server in enumerate(servers):
            print(f"--- daphne-{n}\n{server.tail(3000)}", file=sys.stderr)
        args.keep = True
        return 1
    finally:
        for server in servers:
            server.stop()
        if args.distributed and not args.keep:
            with contextlib.suppress(Exception):
                drop_database(args)
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    hold = result.pop("hold")
    cpu_s = hold.pop("cpu_s")
    server_cpu = cpu_s["server"] + cpu_s["services"]
    out = {
        "mode": mode,
        "git_rev": rev,
        "sustained_rps": hold["rps"] if hold["ok"] else None,
        "sustained_target_rps": hold["rate"],
        "held_s": args.hold,
        "p50_ms": hold["p50_ms"],
        "p99_ms": hold["p99_ms"],
        "endpoints": hold["endpoints"],
        "errors": hold["errors"],
        "statuses": hold["statuses"],
        **result,
        "hold_cpu_s": cpu_s,
        # The generators' CPU against the servers' (daphne and the services) in the hold.
        "generator_cpu_share": round(cpu_s["generator"] / server_cpu, 3) if server_cpu else None,
        "generator_cores": round(cpu_s["generator"] / args.hold, 3),
        "loadavg_start": load_start,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            "processes": len(servers),
            "server": "python -m config.serve (daphne)",
            "database": database["ENGINE"].rsplit(".", 1)[-1],
            "db_pool": database.get("OPTIONS", {}).get("pool"),
            "debug": False,
            "generators": args.generators,
            "think_s": args.think,
            "daily_share": args.daily_share,
            **{k: v for k, v in env.items() if k.startswith(("DB_", "ADMISSION", "SHED", "WEB_"))},
        },
        "duration_s": round(time.monotonic() - started, 1),
    }
    out["missed"] = [] if args.smoke else targets_missed(out, args)
    print(json.dumps(out, ensure_ascii=False))
    broken = out["overload"]["status_500"] or not out["endpoints"]
    return 1 if out["missed"] or broken else 0


if __name__ == "__main__":
    sys.exit(main())
