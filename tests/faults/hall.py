"""A live round of the fault scenarios: 50 players and a host, real WebSocket phones
(tests/faults/phones.py) on two daphne processes, and the checks every scenario makes
against the private database: what the phones show, what was acked and stored, what
/healthz said, and whether a calibration runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import psycopg

from quizzes.models import CalibrationRun, ItemParameters
from realtime.models import LiveAnswer, LiveRound
from tests.faults.phones import Phone
from tests.support.daphne import ROOT, DaphneProcess

PLAYERS = 50
STEP_S = 10  # every client shows a change, an answer is acked, a service is healthy: within this
HEALTH_EVERY_S = 0.3
HEALTH_TIMEOUT_S = 4

ROUND_TABLE = LiveRound._meta.db_table
ANSWER_TABLE = LiveAnswer._meta.db_table
RUN_TABLE = CalibrationRun._meta.db_table
PARAMS_TABLE = ItemParameters._meta.db_table
BUSY = {"queued", "running"}


def deadline_in(seconds: float) -> float:
    return time.monotonic() + seconds


class Database:
    """The test's own connection to the private database, made again after a restart."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg.AsyncConnection | None = None

    async def fetch(self, sql: str, params=()) -> list[tuple]:
        for attempt in range(2):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = await psycopg.AsyncConnection.connect(
                        self.url, autocommit=True, connect_timeout=3
                    )
                cursor = await self.conn.execute(sql, params)
                return await cursor.fetchall()
            except psycopg.OperationalError:
                with contextlib.suppress(Exception):
                    await self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


# --- /healthz -------------------------------------------------------------------------------


@dataclass
class Probe:
    server: str
    started: float
    ended: float
    status: int | None  # None: no answer (refused, timed out)
    detail: str


def healthz(server: DaphneProcess) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=HEALTH_TIMEOUT_S) as reply:
            return reply.status, reply.read(300).decode(errors="replace")
    except urllib.error.HTTPError as reply:
        return reply.code, reply.read(300).decode(errors="replace")
    except (OSError, TimeoutError) as problem:
        return None, type(problem).__name__


@dataclass
class HealthWatch:
    """Polls each server's /healthz while a fault lasts (and after)."""

    servers: list[DaphneProcess]
    probes: list[Probe] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._poll(s)) for s in self.servers]

    async def _poll(self, server: DaphneProcess) -> None:
        while True:
            started = time.monotonic()
            status, detail = await asyncio.to_thread(healthz, server)
            self.probes.append(Probe(server.name, started, time.monotonic(), status, detail))
            await asyncio.sleep(HEALTH_EVERY_S)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task

    def within(self, server: str, start: float, end: float) -> list[Probe]:
        """The probes of `server` that were sent and answered between start and end."""
        return [
            p for p in self.probes if p.server == server and start <= p.started and p.ended <= end
        ]

    def assert_said_broken(self, server: str, start: float, end: float, what: str) -> None:
        probes = self.within(server, start, end)
        answered = [p for p in probes if p.status is not None]
        assert answered, (
            f"/healthz of {server} gave no answer at all while {what} "
            f"({self.timeline(server, start)})"
        )
        lied = [p for p in answered if p.status == 200]
        assert not lied, (
            f"/healthz of {server} said 200 while {what}: "
            f"{[(round(p.started - start, 1), p.detail) for p in lied[:3]]}"
        )

    def assert_said_healthy(self, server: str, start: float, end: float, what: str) -> None:
        probes = self.within(server, start, end)
        assert probes, f"/healthz of {server} was not probed while {what}"
        bad = [p for p in probes if p.status != 200]
        assert not bad, (
            f"/healthz of {server} said {[(p.status, p.detail[:120]) for p in bad[:3]]} "
            f"while {what}, though it was working"
        )

    def timeline(self, server: str, start: float) -> str:
        """Each probe of `server`: sent and answered (seconds from `start`), what it said."""
        return ", ".join(
            f"[{p.started - start:+.1f}..{p.ended - start:+.1f}] {p.status} {p.detail[:60]}"
            for p in self.probes
            if p.server == server
        )

    def unreachable_throughout(self, server: str, start: float, end: float) -> None:
        probes = self.within(server, start, end)
        assert probes and all(p.status is None for p in probes), (
            f"{server} was dead but its /healthz answered: {[(p.status, p.detail) for p in probes]}"
        )


async def healthy_again(servers: list[DaphneProcess], deadline: float, what: str) -> float:
    """Until every server's /healthz says 200; when that was."""
    pending = list(servers)
    last: dict[str, tuple] = {}
    while pending:
        for server in list(pending):
            status, detail = await asyncio.to_thread(healthz, server)
            last[server.name] = (status, detail[:200])
            if status == 200:
                pending.remove(server)
        if not pending:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz not 200 {what}: {last}")
        await asyncio.sleep(0.2)
    return time.monotonic()


# --- the round --------------------------------------------------------------------------


class Hall:
    """One round's host and players, spread over the servers (players alternate A, B;
    the host on `host_on`)."""

    def __init__(self, spec: dict, servers: list[DaphneProcess], db: Database) -> None:
        self.spec = spec
        self.all_servers = servers
        self.db = db
        self.host: Phone | None = None
        self.players: list[Phone] = []

    def live_servers(self) -> list[DaphneProcess]:
        return self.all_servers

    @property
    def phones(self) -> list[Phone]:
        return [self.host, *self.players]

    async def open(self, host_on: DaphneProcess) -> None:
        pin = self.spec["pin"]
        self.host = Phone(
            "host", pin, self.live_servers, host_on, hello={"type": "host"},
            cookie=self.spec["cookie"],
        )  # fmt: skip
        self.players = [
            Phone(
                f"P{n:02d}",
                pin,
                self.live_servers,
                self.all_servers[n % 2],
                hello={"type": "join", "nickname": f"选手{n:02d}"},
            )
            for n in range(PLAYERS)
        ]
        self.host.start()
        for n, player in enumerate(self.players):
            player.start()
            if n % 10 == 9:
                await asyncio.sleep(0.05)
        await self.converge(deadline_in(3 * STEP_S), "everyone joined")
        assert all(p.id is not None for p in self.players)

    async def close(self) -> None:
        await asyncio.gather(*(phone.stop() for phone in self.phones if phone is not None))

    def on(self, server: DaphneProcess) -> list[Phone]:
        return [p for p in self.players if p.home is server]

    # --- what the round is, and what the phones show --------------------------------

    async def state(self) -> tuple[str, int, int]:
        [row] = await self.db.fetch(
            f'SELECT status, question_index, seq FROM "{ROUND_TABLE}" WHERE id = %s',  # noqa: S608
            [self.spec["id"]],
        )
        return row

    async def converge(self, deadline: float, what: str) -> float:
        """Until every phone is connected and shows the round as the database has it;
        how long that took."""
        began = time.monotonic()
        while True:
            try:
                state = await self.state()
            except psycopg.OperationalError:
                state = None
            behind = [p for p in self.phones if state is None or p.view != tuple(state)]
            if not behind:
                return time.monotonic() - began
            if time.monotonic() > deadline:
                shown = "\n  ".join(p.describe() for p in behind[:6])
                raise AssertionError(
                    f"{what}: {len(behind)} of {len(self.phones)} clients do not show the "
                    f"round as it is ({state}) in time:\n  {shown}"
                )
            await asyncio.sleep(0.1)

    async def command(self, name: str, expected: tuple[str, int], deadline: float) -> None:
        """The host sends `name` until it shows `expected` (status, question index):
        again after `error retry` or on a new connection."""
        host = self.host
        sent_on, errors_seen = None, len(host.errors)
        while True:
            view = host.view
            if view is not None and view[:2] == expected:
                return
            fresh = host.errors[errors_seen:]
            errors_seen = len(host.errors)
            if any(e.get("code") != "retry" for e in fresh):
                await host.request_snapshot()  # refused: perhaps it happened already
            connection = len(host.connections)
            retry = any(e.get("code") == "retry" for e in fresh)
            if host.connected and view is not None and (sent_on != connection or retry):
                if retry:
                    await asyncio.sleep(0.3)
                sent_on = connection
                await host.send({"type": "command", "name": name})
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"host command {name!r} never showed {expected}: {host.describe()}"
                )
            await asyncio.sleep(0.1)

    async def step(self, name: str, expected: tuple[str, int]) -> None:
        """A host command, and every client showing its result within STEP_S."""
        deadline = deadline_in(STEP_S)
        await self.command(name, expected, deadline)
        await self.converge(deadline, f"after {name!r}")

    # --- answers ------------------------------------------------------------------------

    async def answer(self, players: list[Phone], index: int) -> list[str]:
        text = self.spec["right"][index]
        return [await p.answer(index, p.option(index, text)) for p in players]

    async def settled(self, players: list[Phone], deadline: float, what: str) -> None:
        """Until none of `players` has an answer waiting for its ack (or reject)."""
        for player in players:
            await player.wait(lambda p=player: not p.pending, deadline, f"{what}: answer not acked")

    async def everyone_answers(self, index: int) -> None:
        await self.answer(self.players, index)
        await self.settled(self.players, deadline_in(STEP_S), f"question {index}")

    # --- the end ---------------------------------------------------------------------------

    async def play_out(self, from_index: int) -> None:
        """From question `from_index` closed: reveal it, play the rest, finish."""
        total = len(self.spec["right"])
        await self.step("reveal", ("revealed", from_index))
        for index in range(from_index + 1, total):
            await self.step("next", ("question_open", index))
            await self.everyone_answers(index)
            await self.step("close", ("question_closed", index))
            await self.step("reveal", ("revealed", index))
        await self.step("finish", ("finished", total - 1))

    async def stored(self) -> dict[tuple[int, str], tuple[int, int, int]]:
        """(player, answer_id) -> (rows, received_at, question) of the round's answers."""
        rows = await self.db.fetch(
            f"SELECT player_id, answer_id, count(*), min(received_at), min(question_id) "  # noqa: S608
            f'FROM "{ANSWER_TABLE}" WHERE round_id = %s GROUP BY player_id, answer_id',
            [self.spec["id"]],
        )
        return {(p, a): (n, at, q) for p, a, n, at, q in rows}

    async def assert_acked_answers_stored_once(self) -> int:
        stored = await self.stored()
        problems = []
        acked = 0
        for player in self.players:
            problems += [
                f"{player.label}: {c} acked twice, differently" for c in player.ack_conflicts
            ]
            for answer_id, at in player.acks.items():
                acked += 1
                rows, stored_at, _q = stored.get((player.id, answer_id), (0, None, None))
                if rows != 1:
                    problems.append(f"{player.label} {answer_id}: acked, stored {rows} times")
                elif stored_at != at:
                    problems.append(
                        f"{player.label} {answer_id}: acked at {at}, stored at {stored_at}"
                    )
        known = {(p.id, a) for p in self.players for a in (*p.acks, *p.in_snapshot)}
        strays = [key for key in stored if key not in known]
        problems += [f"stored but never acked nor shown: {key}" for key in strays]
        doubles = await self.db.fetch(
            f'SELECT player_id, question_id, count(*) FROM "{ANSWER_TABLE}" '  # noqa: S608
            "WHERE round_id = %s GROUP BY player_id, question_id HAVING count(*) > 1",
            [self.spec["id"]],
        )
        problems += [f"player {p} answered question {q} {n} times" for p, q, n in doubles]
        assert not problems, "\n".join(problems[:20])
        return acked


# --- calibration --------------------------------------------------------------------------


async def seed(env: dict[str, str], *args: object, timeout: float = 30) -> dict:
    """tests/faults/seed.py in a process of its own, bounded."""
    import json

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.faults.seed", *map(str, args),
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"seed {args} took more than {timeout} s") from None
    assert proc.returncode == 0, f"seed {args} failed:\n{err.decode()[-3000:]}"
    return json.loads(out.decode().strip().splitlines()[-1])


async def run_status(db: Database, run_id: int) -> tuple[str, str]:
    [(status, message)] = await db.fetch(
        f'SELECT status, message FROM "{RUN_TABLE}" WHERE id = %s',  # noqa: S608
        [run_id],
    )
    return status, message


async def calibration_done(
    env: dict[str, str],
    db: Database,
    bank: dict,
    deadline: float,
    run_id: int | None = None,
    ask_again_after: float | None = None,
) -> int:
    """The bank's calibration completes by `deadline`: `run_id` (one already asked for)
    or a new one; the run that completed. A new one is asked for while an earlier run
    holds the bank, until it lets go. With `ask_again_after` (time.monotonic()), the
    same once the run followed has ended without completing, or from then on if it is
    still under way (a stuck run expires when a new one is asked for)."""
    history: list[tuple] = []
    while True:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the calibration of bank {bank['id']} did not complete in time: {history}"
            )
        if run_id is None:
            asked = await seed(env, "calibrate", bank["id"])
            if "refused" in asked:
                history.append(("refused", asked["refused"]))
                await asyncio.sleep(1)
                continue
            run_id = asked["run"]
            history.append(("asked", run_id))
        status, message = await run_status(db, run_id)
        if not history or history[-1][:2] != (run_id, status):
            history.append((run_id, status, message))
        if status == "done":
            print(f"calibration of bank {bank['id']}: {history}")
            return run_id
        if status not in BUSY and ask_again_after is None:
            raise AssertionError(f"calibration run {run_id} ended {status}: {history}")
        if status not in BUSY or (
            ask_again_after is not None and time.monotonic() > ask_again_after
        ):
            run_id = None  # ended without completing, or stuck: start one again
            await asyncio.sleep(0.5)
            continue
        await asyncio.sleep(0.2)
