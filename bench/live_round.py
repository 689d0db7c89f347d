"""Bench: a live round with N players, against daphne processes it starts itself.

Embedded (default): one daphne process, a fresh SQLite file, the in-memory channel
layer. --distributed: two daphne processes, PostgreSQL (a throwaway database,
`bench_live`, dropped and created) and Redis (database 5, flushed); players split
evenly between the two processes, the host on the first.

The bench process migrates the database, creates a host, Q published single-choice
questions and a round through the services, and logs the host in with a session. Then
load-generator processes (bench/_live_support.py) join N scripted players and play:
the host opens each question, every player answers at a random time within 3 s with a
unique answer_id, the host closes, reveals, and goes on; then finishes. Afterwards
the acked answers are looked up in the database.

Two baselines in the same run, through the same server processes and channel layer,
with the same N sockets and the same question frame (bench/asgi.py, which the servers
this bench starts serve, `python -m bench.serve`):
`group_send` (stock Channels, one group member per socket, each consumer serialising
the frame: the Channels tutorial's pattern), `group_send_text` (the same with the frame
serialised once before the group send) and `floor` (a bare ASGI loop writing one
pre-serialised frame to each socket of the process).

Prints one JSON line; exits 1 if an acked answer is missing from the database, an
answer went unanswered, or players could not join.

    .venv/bin/python bench/live_round.py --players 1000 --questions 5
    .venv/bin/python bench/live_round.py --players 2000 --questions 5 --distributed
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._live_support import (  # noqa: E402
    ORIGIN,
    Server,
    WorkerClient,
    connect,
    free_port,
    now_ms,
    percentile,
    raise_fd_limit,
    rounded,
)

# The baselines (routes under /ws/bench/, bench/asgi.py) and their keys' prefix.
BASELINES = {"group": "group_send", "group-text": "group_send_text", "floor": "floor"}
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_live"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
STEM = (
    "下列关于光合作用的说法中，哪一项是正确的？请在倒计时结束前选择你认为最准确的一项，"
    "答对且越快得分越高。"
)
OPTIONS = [
    "植物只在夜间进行光合作用",
    "光合作用释放氧气",
    "光合作用不需要水",
    "动物也能进行光合作用",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--distributed", action="store_true")
    parser.add_argument("--spread", type=float, default=3.0, help="answers spread over S s")
    parser.add_argument(
        "--answer-offset", type=float, default=0.0, help="diagnosis: answers start after S s"
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="diagnosis: freeze the servers' heaps (gc.freeze) once the sockets are connected",
    )
    parser.add_argument("--generators", type=int, default=0, help="load-generator processes")
    parser.add_argument("--join-concurrency", type=int, default=100)
    parser.add_argument("--baseline-repeats", type=int, default=0, help="default: Q")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--profile", metavar="DIR", help="cProfile the servers into DIR")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    return parser.parse_args(argv)


# --- setup (synchronous, before and after the event loop) -----------------------------------


def server_env(args, workdir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "BENCH_PROFILE"}
    }
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.update(
        # Production settings: no query log (DEBUG keeps every query), a real secret.
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        SECURE_SSL_REDIRECT="0",
        # The bench's players say they come from a page on http://127.0.0.1 (ORIGIN),
        # not from the server's own port: the origin check compares ports exactly.
        WS_ALLOWED_ORIGINS=ORIGIN,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if args.distributed:
        env["DATABASE_URL"] = args.database_url
        env["REDIS_URL"] = args.redis_url
    else:
        env["SQLITE_PATH"] = str(workdir / "db.sqlite3")
    if args.profile:
        env["BENCH_PROFILE"] = str(Path(args.profile).resolve() / "raw")
    return env


def prepare_services(args) -> None:
    """A fresh PostgreSQL database and an empty Redis database for the run."""
    import psycopg
    import redis

    url = urlparse(args.database_url)
    name = url.path.lstrip("/")
    admin = urlunparse(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(args.redis_url).flushdb()


def drop_database(args) -> None:
    import psycopg

    url = urlparse(args.database_url)
    admin = urlunparse(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.path.lstrip("/")}" WITH (FORCE)')


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def create_round(questions: int) -> dict:
    """A host, Q published single-choice questions, a round, the host's session."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from quizzes.bank import services as bank_services
    from realtime.live import services

    host = User.objects.create(username="bench-host", role=User.Role.TEACHER)
    reviewer = User.objects.create(username="bench-reviewer", role=User.Role.ORGANIZER)
    bank = bank_services.bank_create(name="bench", owner=host)
    bank.reviewers.add(reviewer)
    versions = []
    for n in range(questions):
        question = bank_services.question_create(
            bank=bank,
            author=host,
            raw={
                "type": "single",
                "stem": f"第{n + 1}题：{STEM}",
                "options": OPTIONS,
                "key": "B",
                "explanation": "光合作用把二氧化碳和水合成有机物，并释放氧气。",
                "dimension": "knowledge",
                "topic": "environment",
                "difficulty": "medium",
                "source": "bench",
            },
        )
        version = question.versions.get()
        bank_services.version_submit(version=version, actor=host)
        bank_services.version_publish(version=version, reviewer=reviewer)
        versions.append(version)
    live = services.round_create(
        host=host, title="擂台压测", versions=versions, seconds_per_question=20
    )
    session = SessionStore()
    session[SESSION_KEY] = str(host.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = host.get_session_auth_hash()
    session.create()
    from realtime.live.selectors import screen_key

    return {
        "round": live.pk,
        "pin": live.pin,
        "session": session.session_key,
        "screen_key": screen_key(live),
    }


def stored_answers(round_id: int) -> tuple[int, set[str]]:
    """How many answer rows the round has, and their answer_ids."""
    from realtime.models import LiveAnswer

    ids = list(LiveAnswer.objects.filter(round_id=round_id).values_list("answer_id", flat=True))
    return len(ids), set(ids)


# --- measuring processes ------------------------------------------------------------------


class Procs:
    """RSS and CPU of the servers and of the load generators (this process included)."""

    def __init__(self, servers: list[Server]) -> None:
        import psutil

        self.psutil = psutil
        self.servers = [psutil.Process(s.proc.pid) for s in servers]
        self.generators = [psutil.Process()]

    def add_generator(self, pid: int) -> None:
        self.generators.append(self.psutil.Process(pid))

    def rss_kb(self) -> int:
        return sum(p.memory_info().rss for p in self.servers) // 1024

    def cpu(self) -> dict[str, float]:
        def total(procs) -> float:
            return sum(sum(p.cpu_times()[:2]) for p in procs)

        machine = self.psutil.cpu_times()
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        used = {
            "server": total(self.servers),
            "generator": total(self.generators),
            "services": self.services(),
        }
        # Anything else on the machine (other people's work skews the figures).
        return {**used, "other": busy - sum(used.values())}

    def services(self) -> float:
        """PostgreSQL and Redis, with the backends that exited (the postmaster's
        children times)."""
        spent = 0.0
        for proc in self.psutil.process_iter(["name", "cpu_times"]):
            if proc.info["name"] in {"postgres", "redis-server"} and proc.info["cpu_times"]:
                times = proc.info["cpu_times"]
                spent += times.user + times.system + times.children_user + times.children_system
        return spent


def cpu_delta(before: dict, after: dict) -> dict:
    return {k: round(after[k] - before[k], 2) for k in before}


# --- the host, triggers and profiler: sockets of this process ---------------------------------


class Socket:
    """A socket of the bench process: frames go into a queue."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.queue: asyncio.Queue = asyncio.Queue()
        self.errors: list[dict] = []
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, headers: dict | None = None) -> Socket:
        from websockets.asyncio.client import connect as ws_connect

        if headers:
            ws = await ws_connect(
                url, origin=ORIGIN, additional_headers=headers, proxy=None, ping_interval=None
            )
        else:
            ws = await connect(url)
        return cls(ws)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for text in self.ws:
                await self.queue.put((now_ms(), json.loads(text)))

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    async def expect(self, *types: str, timeout: float = 60) -> dict:
        """The next frame of one of these types; error frames on the way are kept."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                _, frame = await asyncio.wait_for(self.queue.get(), deadline - time.monotonic())
            except TimeoutError:
                raise RuntimeError(f"no {types} frame; errors: {self.errors[-3:]}") from None
            if frame.get("type") in types:
                return frame
            if frame.get("type") == "error":
                self.errors.append(frame)

    def seen(self, kind: str) -> bool:
        """Whether a frame of this type is waiting in the queue (taken out if so)."""
        waiting = []
        found = False
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if item[1].get("type") == kind and not found:
                found = True
            else:
                waiting.append(item)
        for item in waiting:
            self.queue.put_nowait(item)
        return found

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.task.cancel()


class Profiler:
    """Starts and stops cProfile in every server (bench/asgi.py, BENCH_PROFILE)."""

    def __init__(self, target: str | None, servers: list[Server]) -> None:
        self.target = Path(target).resolve() if target else None
        self.servers = servers

    async def run(self, op: str, phase: str) -> None:
        if self.target is None:
            return
        for server in self.servers:
            sock = await Socket.open(f"{server.ws}/ws/bench/profile/")
            await sock.send({"op": op})
            _, reply = await asyncio.wait_for(sock.queue.get(), 60)
            await sock.close()
            for name in reply.get("files", []):
                src = Path(name)
                shutil.move(src, self.target / f"{phase}-{src.name}")
        if op == "stop":
            print(f"profile of {phase}: {self.target}/{phase}-*.prof", file=sys.stderr)


async def gc_pauses(servers: list[Server], op: str = "gc") -> dict | None:
    """The servers' garbage-collector pauses since the last ask, and the objects the
    collector tracks (bench/asgi.py); op="freeze" freezes their heaps first."""
    merged = {
        "count": [0, 0, 0],
        "total_ms": [0.0, 0.0, 0.0],
        "max_ms": [0.0, 0.0, 0.0],
        "objects": 0,
        "frozen": 0,
    }
    try:
        for server in servers:
            sock = await Socket.open(f"{server.ws}/ws/bench/stats/")
            await sock.send({"op": op})
            _, reply = await asyncio.wait_for(sock.queue.get(), 30)
            await sock.close()
            for gen in range(3):
                merged["count"][gen] += reply["gc"]["count"][gen]
                merged["total_ms"][gen] = round(
                    merged["total_ms"][gen] + reply["gc"]["total_ms"][gen], 1
                )
                merged["max_ms"][gen] = max(merged["max_ms"][gen], reply["gc"]["max_ms"][gen])
            merged["objects"] += reply["objects"]
            merged["frozen"] += reply["frozen"]
    except Exception:  # a diagnosis, not a figure the run depends on
        return None
    return merged


async def relay_timings(servers: list[Server]) -> list | None:
    """Per server, per question frame its relay wrote: [got, write loop ended, writes
    flushed] in ms after the frame's server_now, and the sockets (bench/asgi.py)."""
    try:
        timings = []
        for server in servers:
            sock = await Socket.open(f"{server.ws}/ws/bench/stats/")
            await sock.send({"op": "relay"})
            _, reply = await asyncio.wait_for(sock.queue.get(), 30)
            await sock.close()
            timings.append(reply["relay"])
    except Exception:  # a diagnosis, not a figure the run depends on
        return None
    return timings


# --- the run --------------------------------------------------------------------------------


async def poll(workers, done, timeout: float, interval: float = 0.05) -> tuple[bool, list[dict]]:
    """Ask the generators for their counts until done(statuses) or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = await asyncio.gather(*(w.call("status") for w in workers))
        if done(statuses):
            return True, statuses
        if time.monotonic() > deadline:
            return False, statuses
        await asyncio.sleep(interval)


def total(statuses: list[dict], kind: str, q: int) -> int:
    return sum(s["counts"].get(kind, {}).get(str(q), 0) for s in statuses)


def split(players: int, servers: list[Server], workers: list, path: str) -> list[list]:
    """Player n connects to server n % S and is played by generator n % W."""
    shares: list[list] = [[] for _ in workers]
    for n in range(players):
        shares[n % len(workers)].append([n, servers[n % len(servers)].ws + path])
    return shares


async def run(args, servers: list[Server], info: dict, procs: Procs) -> dict:
    n_players, n_questions = args.players, args.questions
    concurrency = max(1, args.join_concurrency)
    generators = args.generators or (2 if args.distributed else 1)
    workers = [await WorkerClient.start(seed=1000 + i) for i in range(generators)]
    for worker in workers:
        procs.add_generator(worker.pid)
    profiler = Profiler(args.profile, servers)
    result: dict = {"generators": generators, "join_concurrency": concurrency}
    problems: list[str] = []
    pin = info["pin"]
    try:
        # Warm-up: the host on the first process, a projector screen on each.
        host = await Socket.open(
            f"{servers[0].ws}/ws/live/{pin}/", headers={"Cookie": f"sessionid={info['session']}"}
        )
        await host.send({"type": "host"})
        welcome = await host.expect("welcome")
        assert welcome["role"] == "host", welcome
        await host.expect("snapshot")
        screens = []
        for server in servers:
            screen = await Socket.open(f"{server.ws}/ws/live/{pin}/")
            await screen.send({"type": "screen", "key": info["screen_key"]})
            await screen.expect("snapshot")
            screens.append(screen)
        await asyncio.sleep(1.0)
        rss_base = procs.rss_kb()
        gc_base = await gc_pauses(servers)

        # Join.
        await profiler.run("start", "join")
        cpu0 = procs.cpu()
        started = time.monotonic()
        shares = split(n_players, servers, workers, f"/ws/live/{pin}/")
        joins = await asyncio.gather(
            *(
                w.call(
                    "join",
                    players=share,
                    concurrency=max(1, concurrency // len(workers)),
                    spread_s=args.spread,
                    offset_s=args.answer_offset,
                )
                for w, share in zip(workers, shares, strict=True)
            )
        )
        join_s = time.monotonic() - started
        cpu1 = procs.cpu()
        gc_join = await gc_pauses(servers)
        await profiler.run("stop", "join")
        joined = sum(j["joined"] for j in joins)
        join_ms = [ms for j in joins for ms in j["join_ms"]]
        extensions: dict[str, int] = {}
        for j in joins:
            for ext, count in j["extensions"].items():
                extensions[ext] = extensions.get(ext, 0) + count
        failed = sum(j["failed_count"] for j in joins)
        if failed:
            problems.append(f"{failed} players could not join: {joins[0]['failed'][:3]}")
        await asyncio.sleep(1.0)
        rss_joined = procs.rss_kb()
        if args.gc_freeze:
            await gc_pauses(servers, "freeze")

        # The round.
        await profiler.run("start", "round")
        frame_template = None
        closed_by_timer = 0
        command_at: dict[str, float] = {}
        for q in range(n_questions):
            if q:
                await asyncio.sleep(0.5)  # as between the baselines' frames
            command_at[f"opened:{q}"] = now_ms()
            await host.send({"type": "command", "name": "start" if q == 0 else "next"})
            opened = await host.expect("question_opened")
            if frame_template is None:
                frame_template = {k: v for k, v in opened.items() if k != "server_now"}
            ok, statuses = await poll(
                workers,
                lambda st, q=q: total(st, "acked", q) + total(st, "rejected", q) >= joined,
                timeout=args.answer_offset + args.spread + 60,
            )
            if not ok:
                problems.append(
                    f"question {q}: {total(statuses, 'opened', q)} opened, "
                    f"{total(statuses, 'sent', q)} sent, {total(statuses, 'acked', q)} acked"
                )
            command_at[f"question_closed:{q}"] = now_ms()
            if host.seen("question_closed"):
                # The close timer got there first (20 s and the grace are over): the
                # answers took that long.
                closed_by_timer += 1
            else:
                # If the timer closes it meanwhile, the command gets an error (kept).
                await host.send({"type": "command", "name": "close"})
                await host.expect("question_closed")
            command_at[f"revealed:{q}"] = now_ms()
            await host.send({"type": "command", "name": "reveal"})
            await host.expect("revealed")
            ok, _ = await poll(workers, lambda st, q=q: total(st, "revealed", q) >= joined, 60)
            if not ok:
                problems.append(f"question {q}: not every player got the reveal")
        rss_played = procs.rss_kb()
        command_at["finished"] = now_ms()
        await host.send({"type": "command", "name": "finish"})
        await host.expect("finished")
        ok, _ = await poll(workers, lambda st: sum(s["finished"] for s in st) >= joined, 60)
        cpu2 = procs.cpu()
        gc_round = await gc_pauses(servers)
        relay_round = await relay_timings(servers)
        await profiler.run("stop", "round")
        collected = await asyncio.gather(*(w.call("collect") for w in workers))
        await asyncio.gather(*(w.call("close") for w in workers))
        for sock in (host, *screens):
            await sock.close()

        # Baselines: the same frame, N sockets, through the same processes.
        baselines = {}
        repeats = args.baseline_repeats or n_questions
        for name in BASELINES:
            await asyncio.sleep(1.0)
            shares = split(n_players, servers, workers, f"/ws/bench/{name}/listen/")
            listens = await asyncio.gather(
                *(
                    w.call("listen", players=share, concurrency=max(1, concurrency // len(workers)))
                    for w, share in zip(workers, shares, strict=True)
                )
            )
            connected = sum(x["connected"] for x in listens)
            trigger = await Socket.open(f"{servers[0].ws}/ws/bench/{name}/trigger/")
            if args.gc_freeze:
                await gc_pauses(servers, "freeze")
            await asyncio.sleep(0.5)
            cpu_b0 = procs.cpu()
            await gc_pauses(servers)
            for k in range(repeats):
                await trigger.send({"frame": {**frame_template, "bench_repeat": k}})
                ok, _ = await poll(
                    workers,
                    lambda st, k=k, c=connected: sum(s["frames"] for s in st) >= c * (k + 1),
                    timeout=60,
                )
                if not ok:
                    problems.append(f"{name} baseline: frame {k} did not reach every socket")
                await asyncio.sleep(0.3)
            cpu_b1 = procs.cpu()
            gc_baseline = await gc_pauses(servers)
            samples = await asyncio.gather(*(w.call("collect") for w in workers))
            await asyncio.gather(*(w.call("close") for w in workers))
            await trigger.close()
            latencies = [ms for s in samples for ms in s["broadcast_ms"]]
            baselines[name] = {
                "min": min(latencies) if latencies else None,
                "p50": percentile(latencies, 0.5),
                "p99": percentile(latencies, 0.99),
                "by_repeat": [
                    rounded(
                        percentile(
                            [
                                ms
                                for s in samples
                                for ms in s["broadcast_by_question"].get(str(k), [])
                            ],
                            0.99,
                        )
                    )
                    for k in range(repeats)
                ],
                "samples": len(latencies),
                "cpu": cpu_delta(cpu_b0, cpu_b1),
                "gc": gc_baseline,
                "gc_generators": [s["full_collections"] for s in samples],
            }
    finally:
        for worker in workers:
            await worker.stop()

    broadcast = [ms for c in collected for ms in c["broadcast_ms"]]
    by_question = [
        rounded(
            percentile(
                [ms for c in collected for ms in c["broadcast_by_question"].get(str(q), [])], 0.99
            )
        )
        for q in range(n_questions)
    ]
    acks = [ms for c in collected for ms in c["ack_ms"]]
    received: dict[str, list[float]] = {}
    for c in collected:
        for key, times in c["received_at"].items():
            received.setdefault(key, []).extend(times)
    reveal = [
        t - command_at[key]
        for key, times in received.items()
        if key.startswith("revealed:")
        for t in times
    ]
    rejected: dict[str, int] = {}
    for c in collected:
        for reason, count in c["rejected"].items():
            rejected[reason] = rejected.get(reason, 0) + count
    errors: dict[str, int] = {}
    for c in collected:
        for code, count in c["errors"].items():
            errors[code] = errors.get(code, 0) + count
    result.update(
        joined=joined,
        join_s=round(join_s, 2),
        join_p50_ms=rounded(percentile(join_ms, 0.5)),
        join_p99_ms=rounded(percentile(join_ms, 0.99)),
        broadcast_samples=len(broadcast),
        broadcast_p50_ms=rounded(percentile(broadcast, 0.5)),
        broadcast_p99_ms=rounded(percentile(broadcast, 0.99)),
        broadcast_min_ms=rounded(min(broadcast) if broadcast else None),
        broadcast_max_ms=rounded(max(broadcast) if broadcast else None),
        broadcast_p99_by_question_ms=by_question,
        ack_p50_ms=rounded(percentile(acks, 0.5)),
        ack_p99_ms=rounded(percentile(acks, 0.99)),
        reveal_p50_ms=rounded(percentile(reveal, 0.5)),
        reveal_p99_ms=rounded(percentile(reveal, 0.99)),
        answers_sent=sum(sum(c["counts"].get("sent", {}).values()) for c in collected),
        answers_acked=len(acks),
        answers_rejected=sum(rejected.values()),
        rejected_reasons=rejected,
        client_errors=errors,
        acked_ids=[i for c in collected for i in c["acked_ids"]],
        unanswered=sum(len(c["unanswered_ids"]) for c in collected),
        rss_base_kb=rss_base,
        rss_joined_kb=rss_joined,
        rss_played_kb=rss_played,
        cpu_join_s=cpu_delta(cpu0, cpu1),
        cpu_round_s=cpu_delta(cpu1, cpu2),
        gc_objects_base=gc_base and gc_base["objects"],
        gc_join=gc_join,
        gc_round=gc_round,
        gc_generators_round=[c["full_collections"] for c in collected],
        relay_ms=relay_round,
        **{
            f"{prefix}_{key}": value
            for name, prefix in BASELINES.items()
            for key, value in baseline_figures(baselines[name]).items()
        },
        extensions=extensions,
        closed_by_timer=closed_by_timer,
        problems=problems,
    )
    return result


def baseline_figures(measured: dict) -> dict:
    return {
        "min_ms": rounded(measured["min"]),
        "p50_ms": rounded(measured["p50"]),
        "p99_ms": rounded(measured["p99"]),
        "samples": measured["samples"],
        "p99_by_repeat_ms": measured["by_repeat"],
        "cpu_s": measured["cpu"],
        "gc": measured["gc"],
        "gc_generators": measured["gc_generators"],
    }


def ratio(a, b) -> float | None:
    return round(a / b, 2) if a and b else None


def main(argv=None) -> int:
    args = parse_args(argv)
    load_before = round(os.getloadavg()[0], 2)  # other work on the machine skews figures
    fds = raise_fd_limit(4 * args.players + 1024)
    if fds < 2 * args.players + 256:
        print(f"open-files limit {fds} is too low for {args.players} players", file=sys.stderr)
    mode = "distributed" if args.distributed else "embedded"
    workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    env = server_env(args, workdir)
    if args.profile:
        Path(env["BENCH_PROFILE"]).mkdir(parents=True, exist_ok=True)
    servers: list[Server] = []
    started = time.monotonic()
    try:
        if args.distributed:
            prepare_services(args)
        migrate(env)
        # This process uses the servers' settings (same database, same SECRET_KEY for the
        # host's session).
        for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
            os.environ.pop(name, None)
        os.environ.update(env)
        import django

        django.setup()
        info = create_round(args.questions)
        from django.db import connections

        connections.close_all()
        for n in range(2 if args.distributed else 1):
            servers.append(Server(free_port(), env, workdir / f"daphne-{n}.log"))
        for server in servers:
            server.wait_ready()
        procs = Procs(servers)
        result = asyncio.run(run(args, servers, info, procs))
        acked = set(result.pop("acked_ids"))
        stored_count, stored = stored_answers(info["round"])
        connections.close_all()
    except Exception as failed:
        # Still one JSON line, saying what went wrong; the server logs are kept.
        logs = {f"daphne-{n}": s.tail(1500) for n, s in enumerate(servers)}
        print(
            json.dumps(
                {
                    "players": args.players,
                    "questions": args.questions,
                    "mode": mode,
                    "error": f"{type(failed).__name__}: {failed}",
                },
                ensure_ascii=False,
            )
        )
        print(json.dumps(logs, ensure_ascii=False, indent=1), file=sys.stderr)
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

    extensions = result.pop("extensions")
    negotiated = sorted({e.split(";")[0].strip() for e in extensions})
    players = args.players

    def per_player(kb: int) -> float | None:
        return round(kb / players, 1) if players else None

    out = {
        "players": players,
        "questions": args.questions,
        "mode": mode,
        "joined": result.pop("joined"),
        "join_s": result.pop("join_s"),
        "broadcast_p50_ms": result.pop("broadcast_p50_ms"),
        "broadcast_p99_ms": result.pop("broadcast_p99_ms"),
        "ack_p50_ms": result.pop("ack_p50_ms"),
        "ack_p99_ms": result.pop("ack_p99_ms"),
        "answers_sent": result.pop("answers_sent"),
        "answers_acked": result.pop("answers_acked"),
        "answers_stored": stored_count,
        "answers_lost": len(acked - stored),
        "answers_rejected": result.pop("answers_rejected"),
        "answers_unanswered": result.pop("unanswered"),
        "rss_kb_per_player": per_player(result["rss_played_kb"] - result["rss_base_kb"]),
        "rss_kb_per_player_joined": per_player(result["rss_joined_kb"] - result["rss_base_kb"]),
        "group_send_p50_ms": result.pop("group_send_p50_ms"),
        "group_send_p99_ms": result.pop("group_send_p99_ms"),
        "group_send_text_p50_ms": result.pop("group_send_text_p50_ms"),
        "group_send_text_p99_ms": result.pop("group_send_text_p99_ms"),
        "floor_p50_ms": result.pop("floor_p50_ms"),
        "floor_p99_ms": result.pop("floor_p99_ms"),
    }
    out["group_send_over_broadcast_p99"] = ratio(out["group_send_p99_ms"], out["broadcast_p99_ms"])
    out["group_send_text_over_broadcast_p99"] = ratio(
        out["group_send_text_p99_ms"], out["broadcast_p99_ms"]
    )
    out["broadcast_over_floor_p99"] = ratio(out["broadcast_p99_ms"], out["floor_p99_ms"])
    # What the server accepted of the client's permessage-deflate offer ("none": refused).
    out["compression"] = ",".join(negotiated) if negotiated else None
    out["compression_offered"] = "permessage-deflate"
    out.update(
        result,
        fd_limit=fds,
        loadavg_before=load_before,
        duration_s=round(time.monotonic() - started, 1),
    )
    print(json.dumps(out, ensure_ascii=False))
    failed = (
        out["answers_lost"] > 0
        or out["answers_unanswered"] > 0
        or out["joined"] < players
        or bool(out["problems"])
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
