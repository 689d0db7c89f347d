"""Bench: N signed-in players enter the 1-v-1 PK queue at once and play to the end.

Embedded (default): one daphne process, a fresh SQLite file, the in-memory channel
layer. --distributed: two daphne processes, PostgreSQL (a throwaway database,
`bench_pk`, dropped and created) and Redis (database 9, flushed); players split evenly
between the processes.

The bench process migrates the database, creates a bank of published single-choice
questions with a blueprint open to players, N players and a session for each (made out
of band, as bench/live_round.py does for its host). Load-generator processes
(bench/_pk_support.py) connect every player's socket with its session cookie, then send
`pk_find` on all of them at once, and play: each answer goes 0.3–2.5 s after the
question frame arrives, one of its options at random, with a unique answer_id.

What it measures (one clock: this machine's):
- match wait: from the player's `pk_find` to its `pk_matched`;
- ack: from an answer sent to its `ack` or `reject`;
- question-open latency against the schedule: the `question_opened` frame's arrival
  minus the time it was scheduled for, the `next_at` of the frame before it (the
  lobby's snapshot, or the previous `revealed`);
- answers sent, acked, refused, and refused in time: refused although sent before the
  question's scheduled close (`closes_at`, no grace counted);
- queue rows left in the database afterwards (PkEntry), server CPU s per phase
  (connect, queue: until everyone is matched or out of the queue, play: until every
  match has finished), the load average before and after.

Prints one JSON line; exits 1 when an answer sent in time was refused, a player was not
matched, or a match did not finish.

    .venv/bin/python bench/pk_load.py --players 100
    .venv/bin/python bench/pk_load.py --players 1000 --distributed
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._live_support import (  # noqa: E402
    Server,
    free_port,
    percentile,
    raise_fd_limit,
    rounded,
)
from bench._pk_support import WorkerProcess  # noqa: E402
from bench.live_round import (  # noqa: E402
    OPTIONS,
    STEM,
    Procs,
    Profiler,
    cpu_delta,
    drop_database,
    migrate,
    prepare_services,
    server_env,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_pk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
QUESTIONS = 8  # in the bank: a match draws 5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=100)
    parser.add_argument("--distributed", action="store_true")
    parser.add_argument("--generators", type=int, default=0, help="default: 1 per 500 players")
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument("--profile", metavar="DIR", help="cProfile the servers into DIR")
    args = parser.parse_args(argv)
    if args.players < 2:
        parser.error("--players must be at least 2")
    return args


# --- setup, in the bench process ------------------------------------------------------------


def create_players(players: int) -> list[str]:
    """A bank of published questions open to players, and N players with a session each
    (their session keys)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from quizzes.bank import services as bank_services
    from quizzes.models import Blueprint

    author = User.objects.create(username="bench-author", role=User.Role.TEACHER)
    reviewer = User.objects.create(username="bench-reviewer", role=User.Role.ORGANIZER)
    bank = bank_services.bank_create(name="bench-pk", owner=author)
    bank.reviewers.add(reviewer)
    for n in range(QUESTIONS):
        question = bank_services.question_create(
            bank=bank,
            author=author,
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
        bank_services.version_submit(version=version, actor=author)
        bank_services.version_publish(version=version, reviewer=reviewer)
    Blueprint.objects.create(bank=bank, name="PK", open_to_players=True)
    users = [User(username=f"pk-{n}") for n in range(players)]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users, batch_size=500)
    keys = []
    for user in User.objects.filter(username__startswith="pk-").order_by("pk"):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def queue_rows() -> int:
    from realtime.models import PkEntry

    return PkEntry.objects.count()


# --- the run ----------------------------------------------------------------------------------


async def until(workers, done, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = await asyncio.gather(*(w.call("status") for w in workers))
        if done(statuses) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.1)


async def run(args, servers: list[Server], sessions: list[str], procs: Procs) -> dict:
    count = args.generators or max(1, (args.players + 499) // 500)
    workers = [await WorkerProcess.start(seed) for seed in range(count)]
    for worker in workers:
        procs.add_generator(worker.proc.pid)
    cpu: dict[str, dict] = {}
    try:
        shares: list[list] = [[] for _ in workers]
        for n, session in enumerate(sessions):
            url = servers[n % len(servers)].ws + "/ws/pk/"
            shares[n % len(workers)].append([n, url, session])
        before = procs.cpu()
        connected = await asyncio.gather(
            *(
                w.call("connect", players=share, concurrency=args.connect_concurrency)
                for w, share in zip(workers, shares, strict=True)
            )
        )
        after = procs.cpu()
        cpu["connect"] = cpu_delta(before, after)
        profiler = Profiler(args.profile, servers)
        await profiler.run("start", "play")
        started = time.monotonic()
        await asyncio.gather(*(w.call("find") for w in workers))

        def queued(statuses):
            return all(s["states"].get("waiting", 0) == 0 for s in statuses)

        before = after
        await until(workers, queued, 60)
        after = procs.cpu()
        cpu["queue"] = cpu_delta(before, after)
        queue_s = time.monotonic() - started

        def played(statuses):
            return all(s["states"].get("matched", 0) == 0 for s in statuses)

        before = after
        await until(workers, played, 240)
        after = procs.cpu()
        await profiler.run("stop", "play")
        cpu["play"] = cpu_delta(before, after)
        play_s = time.monotonic() - started - queue_s
        await asyncio.sleep(1.0)  # the last acks
        collected = await asyncio.gather(*(w.call("collect") for w in workers))
        await asyncio.gather(*(w.call("close") for w in workers))
    finally:
        for worker in workers:
            await worker.stop()
    return {
        "connected": sum(c["connected"] for c in connected),
        "connect_failed": [f for c in connected for f in c["failed"]][:5],
        "collected": collected,
        "cpu": cpu,
        "queue_s": round(queue_s, 1),
        "play_s": round(play_s, 1),
        "generators": count,
    }


def summary(args, result: dict, rows_left: int) -> dict:
    samples: dict[str, list[float]] = collections.defaultdict(list)
    counts: collections.Counter = collections.Counter()
    refused: collections.Counter = collections.Counter()
    refused_in_time: collections.Counter = collections.Counter()
    matched = finished = unanswered = 0
    for c in result["collected"]:
        for key, values in c["samples"].items():
            samples[key].extend(values)
        counts.update(c["counts"])
        refused.update(c["refused"])
        refused_in_time.update(c["refused_in_time"])
        matched += c["matched"]
        finished += c["states"].get("finished", 0)
        unanswered += c["unanswered"]

    def p(key: str, q: float):
        return rounded(percentile(samples[key], q))

    return {
        "players": args.players,
        "mode": "distributed" if args.distributed else "embedded",
        "connected": result["connected"],
        "matched": matched,
        "finished": finished,
        "match_wait_p50_ms": p("match_wait_ms", 0.5),
        "match_wait_p99_ms": p("match_wait_ms", 0.99),
        "ack_p50_ms": p("ack_ms", 0.5),
        "ack_p99_ms": p("ack_ms", 0.99),
        "open_vs_schedule_p50_ms": p("open_vs_schedule_ms", 0.5),
        "open_vs_schedule_p99_ms": p("open_vs_schedule_ms", 0.99),
        "open_vs_server_now_p99_ms": p("open_vs_server_now_ms", 0.99),
        "answers_sent": counts["sent"],
        "answers_acked": counts["acked"],
        "answers_refused": sum(refused.values()),
        "answers_refused_in_time": sum(refused_in_time.values()),
        "refused_by_reason": dict(refused),
        "answers_unanswered": unanswered,
        "timeouts": counts["pk_timeout"],
        "errors": {k: v for k, v in counts.items() if k.startswith(("error_", "socket_"))},
        "queue_rows_left": rows_left,
        "queue_s": result["queue_s"],
        "play_s": result["play_s"],
        "server_cpu_s": {phase: d["server"] for phase, d in result["cpu"].items()},
        "services_cpu_s": {phase: d["services"] for phase, d in result["cpu"].items()},
        "generator_cpu_s": {phase: d["generator"] for phase, d in result["cpu"].items()},
        "generators": result["generators"],
        "connect_failed": result["connect_failed"],
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    load_before = round(os.getloadavg()[0], 2)
    raise_fd_limit(4 * args.players + 1024)
    workdir = Path(tempfile.mkdtemp(prefix="bench-pk-"))
    env = server_env(args, workdir)
    env["LOG_LEVEL"] = "ERROR"
    if args.profile:
        Path(env["BENCH_PROFILE"]).mkdir(parents=True, exist_ok=True)
    servers: list[Server] = []
    started = time.monotonic()
    try:
        if args.distributed:
            prepare_services(args)
        migrate(env)
        for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
            os.environ.pop(name, None)
        os.environ.update(env)
        import django

        django.setup()
        sessions = create_players(args.players)
        from django.db import connections

        connections.close_all()
        for n in range(2 if args.distributed else 1):
            servers.append(Server(free_port(), env, workdir / f"daphne-{n}.log"))
        for server in servers:
            server.wait_ready()
        procs = Procs(servers)
        result = asyncio.run(run(args, servers, sessions, procs))
        rows_left = queue_rows()
        connections.close_all()
    except Exception as failed:
        logs = {f"daphne-{n}": s.tail(1500) for n, s in enumerate(servers)}
        out = {"players": args.players, "error": f"{type(failed).__name__}: {failed}"}
        print(json.dumps(out, ensure_ascii=False))
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
    out = summary(args, result, rows_left)
    out.update(
        loadavg_before=load_before,
        loadavg_after=round(os.getloadavg()[0], 2),
        duration_s=round(time.monotonic() - started, 1),
    )
    print(json.dumps(out, ensure_ascii=False))
    failed = (
        out["answers_refused_in_time"] > 0
        or out["matched"] < args.players
        or out["finished"] < args.players
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
