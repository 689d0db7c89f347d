"""The fault suite (issue 11's acceptance; docs/architecture.md, live-round rule 8: shared
infrastructure fails loudly and heals). During a 50-player round on two daphne
processes, each scenario breaks one thing:

1. the Redis server restarts (channel layer, cache, broker: its data is gone);
2. the PostgreSQL server restarts (every connection is cut);
3. one daphne process is killed with SIGKILL;
4. the Celery worker is killed with SIGKILL in the middle of a calibration.

After each: the round reaches its end; every answer a client got an ack for is stored
exactly once (and nothing is stored that no client was told about); every connected
client shows the round's current state (status, question, seq as in the database)
within 10 s of the service being back, and every later host command reaches every
client within 10 s; /healthz told the truth while it was broken (non-200 while a service
it checks was down, 200 within 10 s of its return, and a 200 that broadcasts then
bear out); and a calibration of a bank runs to completion.

The Redis and PostgreSQL servers are the test's own (tests/support/services.py): the
shared ones are never touched. The clients are real WebSocket connections that do what
the shipped client does when a server fails (tests/faults/phones.py). Every scenario is
bounded in time (SCENARIO_S); `make faults` runs the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import psycopg
import pytest

from tests.faults.hall import (
    ANSWER_TABLE,
    PARAMS_TABLE,
    RUN_TABLE,
    STEP_S,
    Database,
    Hall,
    HealthWatch,
    calibration_done,
    deadline_in,
    healthy_again,
    run_status,
    seed,
)

pytestmark = pytest.mark.faults

SCENARIO_S = 75  # the longest one scenario may take, from its servers' start to its checks
OUTAGE_S = 4  # how long Redis or PostgreSQL stays down
CALIBRATION_S = 30  # a calibration asked for after the round completes within this


def bounded(scenario, findings: list[str]) -> None:
    """Run the scenario within SCENARIO_S; then fail with every finding it noted on the
    way (checks that need not stop it: what /healthz said)."""

    async def run():
        try:
            await asyncio.wait_for(scenario, SCENARIO_S)
        except TimeoutError:
            raise AssertionError(f"the scenario took longer than {SCENARIO_S} s") from None

    asyncio.run(run())
    assert not findings, "\n".join(findings)


def noted(findings: list[str], check, *args) -> None:
    try:
        check(*args)
    except AssertionError as finding:
        findings.append(str(finding))


@pytest.fixture(autouse=True)
def services_up(site):
    """Whatever the last scenario left behind, the private services run again."""
    for server in (site.redis, site.postgres):
        if not server.alive():
            server.start()
    yield
    for server in (site.redis, site.postgres):
        if not server.alive():
            server.start()


async def to_question_one(hall: Hall, host_on) -> None:
    """The round opened, question 0 played by everyone, question 1 open."""
    await hall.open(host_on=host_on)
    await hall.step("start", ("question_open", 0))
    await hall.everyone_answers(0)
    await hall.step("close", ("question_closed", 0))
    await hall.step("reveal", ("revealed", 0))
    await hall.step("next", ("question_open", 1))


async def stage(site, servers, spec):
    db = Database(site.database_url)
    return db, Hall(spec, servers, db), HealthWatch(servers)


async def cleanup(db, hall, watch) -> None:
    await watch.stop()
    await hall.close()
    await db.close()


@contextlib.asynccontextmanager
async def table_held(url: str, table: str):
    """A SHARE lock on `table` from a connection of the test's own: reads go on, every
    write to it waits inside its transaction until the block ends (or the server does)."""
    conn = await psycopg.AsyncConnection.connect(url)
    try:
        await conn.execute(f'LOCK TABLE "{table}" IN SHARE MODE')
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await conn.rollback()
        with contextlib.suppress(Exception):
            await conn.close()


async def writes_waiting(db: Database, table: str) -> int:
    [(count,)] = await db.fetch(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
        [f'%"{table}"%'],
    )
    return count


# --- 1. Redis restarts ----------------------------------------------------------------------


def test_a_redis_restart_mid_question_heals_the_round_and_healthz_tells_the_truth(site, servers):
    a, _b = servers
    findings: list[str] = []

    async def scenario():
        db, hall, watch = await stage(site, servers, site.rounds[0])
        try:
            await to_question_one(hall, host_on=a)
            early, during = hall.players[:20], hall.players[20:35]
            await hall.answer(early, 1)
            await hall.settled(early, deadline_in(STEP_S), "before the outage")

            watch.start()
            await asyncio.to_thread(site.redis.stop)
            down = time.monotonic()  # from here on it is gone
            # Answers need only the database: they are acked while Redis is down.
            await hall.answer(during, 1)
            await hall.settled(during, deadline_in(STEP_S), "while Redis is down")
            # The host closes the question: stored, but its broadcast cannot go out.
            await hall.host.send({"type": "command", "name": "close"})
            await asyncio.sleep(max(0.0, down + OUTAGE_S - time.monotonic()))
            back = time.monotonic()  # Redis answers from some moment inside start()
            await asyncio.to_thread(site.redis.start)
            up = time.monotonic()

            at_return = await hall.state()
            await hall.command("close", ("question_closed", 1), up + STEP_S)
            took = await hall.converge(up + STEP_S, "within 10 s of Redis being back")
            print(f"Redis back: round {at_return}; every client showed it {took:.1f} s later")
            try:
                said_ok = await healthy_again(servers, up + STEP_S, "within 10 s of Redis's return")
            except AssertionError as finding:
                findings.append(str(finding))
                said_ok = time.monotonic()
            print(f"/healthz 200 again {said_ok - up:.1f} s after Redis's return")
            await watch.stop()
            for server in servers:
                noted(findings, watch.assert_said_broken, server.name, down, back, "Redis was down")
            try:
                await hall.play_out(1)
            except AssertionError as failed:
                raise AssertionError(
                    f"/healthz of A and B said 200 {said_ok - up:.1f} s after Redis came "
                    f"back, but: {failed}"
                ) from None
            await the_end_checks(hall, site, db, site.banks[0])
        finally:
            await cleanup(db, hall, watch)

    bounded(scenario(), findings)


async def the_end_checks(hall: Hall, site, db: Database, bank: dict) -> None:
    assert (await hall.state())[0] == "finished"
    await hall.assert_acked_answers_stored_once()
    # Every answer was sent while its question was open: none may be refused.
    refused = {p.label: p.rejects for p in hall.players if p.rejects}
    assert not refused, refused
    await calibration_done(site.env, db, bank, deadline_in(CALIBRATION_S))


# --- 2. PostgreSQL restarts -----------------------------------------------------------------


def test_a_postgres_restart_mid_question_loses_no_acked_answer_and_the_round_goes_on(site, servers):
    a, _b = servers
    findings: list[str] = []

    async def scenario():
        db, hall, watch = await stage(site, servers, site.rounds[1])
        try:
            await to_question_one(hall, host_on=a)
            early, during, late = hall.players[:20], hall.players[20:35], hall.players[35:]
            await hall.answer(early, 1)
            await hall.settled(early, deadline_in(STEP_S), "before the outage")

            watch.start()
            # Answers caught inside their transactions (their INSERT waits for a lock)
            # when PostgreSQL goes: the transactions die, nothing of them is stored, the
            # clients get `error retry` and send them again.
            async with table_held(site.database_url, ANSWER_TABLE):
                await hall.answer(during, 1)
                deadline = deadline_in(STEP_S)
                while await writes_waiting(db, ANSWER_TABLE) < 2:  # one batch on each server
                    assert time.monotonic() < deadline, "the answers never reached the database"
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(site.postgres.stop)
                down = time.monotonic()  # from here on it is gone
            await asyncio.sleep(max(0.0, down + OUTAGE_S - time.monotonic()))
            back = time.monotonic()  # PostgreSQL answers from some moment inside start()
            await asyncio.to_thread(site.postgres.start)
            up = time.monotonic()

            await hall.settled(during, up + STEP_S, "within 10 s of PostgreSQL being back")
            acked = time.monotonic() - up
            await hall.converge(up + STEP_S, "within 10 s of PostgreSQL being back")
            retried = sum(e.get("code") == "retry" for p in during for e in p.errors)
            print(
                f"PostgreSQL back: {retried} `error retry`; the answers acked {acked:.1f} s later"
            )
            try:
                said_ok = await healthy_again(
                    servers, up + STEP_S, "within 10 s of PostgreSQL being back"
                )
                print(f"/healthz 200 again {said_ok - up:.1f} s after PostgreSQL's return")
            except AssertionError as finding:
                findings.append(str(finding))
            await watch.stop()
            for server in servers:
                noted(
                    findings,
                    watch.assert_said_broken,
                    server.name,
                    down,
                    back,
                    "PostgreSQL was down",
                )

            await hall.answer(late, 1)
            await hall.settled(late, deadline_in(STEP_S), "after the outage")
            await hall.step("close", ("question_closed", 1))
            await hall.play_out(1)
            await the_end_checks(hall, site, db, site.banks[1])
        finally:
            await cleanup(db, hall, watch)

    bounded(scenario(), findings)


# --- 3. a daphne process is killed ----------------------------------------------------------


def test_killing_one_daphne_moves_its_clients_to_the_other_with_their_scores(site, servers):
    a, b = servers
    findings: list[str] = []

    async def scenario():
        db, hall, watch = await stage(site, servers, site.rounds[2])
        try:
            await to_question_one(hall, host_on=a)  # the host goes down with A too
            early, during, late = hall.players[:20], hall.players[20:35], hall.players[35:]
            await hall.answer(early, 1)
            await hall.settled(early, deadline_in(STEP_S), "before the kill")

            watch.start()
            # Answers in flight on A (and on B) when A dies.
            await hall.answer(during, 1)
            down = time.monotonic()
            a.kill()
            await hall.settled(during, down + STEP_S, "within 10 s of A's death")
            await hall.converge(down + STEP_S, "within 10 s of A's death")
            now = time.monotonic()
            moved = sum(p.connections[0] == "A" for p in hall.phones)
            print(
                f"A killed: its {moved} clients on B, all showing the round at +{now - down:.1f} s"
            )
            await asyncio.sleep(0.5)  # a probe or two more
            await watch.stop()
            noted(findings, watch.unreachable_throughout, "A", down + 0.5, now)
            noted(findings, watch.assert_said_healthy, "B", down, now, "A was dead")
            assert all(phone.server is b for phone in hall.phones), [
                p.describe() for p in hall.phones if p.server is not b
            ]

            await hall.answer(late, 1)
            await hall.settled(late, deadline_in(STEP_S), "after the kill")
            await hall.step("close", ("question_closed", 1))
            await hall.play_out(1)
            # Everyone answered every question right, and was acked: a full streak,
            # whichever process they were on when A died.
            last = len(site.rounds[2]["right"]) - 1
            broken = {
                p.label: p.revealed_you.get(last)
                for p in hall.players
                if (p.revealed_you.get(last) or {}).get("streak") != last + 1
            }
            assert not broken, broken
            await the_end_checks(hall, site, db, site.banks[2])
        finally:
            await cleanup(db, hall, watch)

    bounded(scenario(), findings)


# --- 4. a Celery worker is killed mid-calibration -------------------------------------------


def test_a_worker_killed_mid_calibration_leaves_a_calibration_that_completes(site, servers):
    a, _b = servers
    findings: list[str] = []
    bank = site.banks[3]

    async def scenario():
        db, hall, watch = await stage(site, servers, site.rounds[3])
        try:
            await to_question_one(hall, host_on=a)
            first, rest = hall.players[:25], hall.players[25:]
            await hall.answer(first, 1)
            await hall.settled(first, deadline_in(STEP_S), "before the kill")

            worker = await asyncio.to_thread(site.worker)
            # The calibration's last step, writing the parameters, waits with its run
            # `running`: the worker is killed mid-calibration.
            async with table_held(site.database_url, PARAMS_TABLE):
                asked = await seed(site.env, "calibrate", bank["id"])
                assert "run" in asked, asked
                run_id = asked["run"]
                deadline = deadline_in(20)
                while (await run_status(db, run_id))[0] != "running" or not await writes_waiting(
                    db, PARAMS_TABLE
                ):
                    assert time.monotonic() < deadline, (
                        f"run {run_id} never got to its last step: {await run_status(db, run_id)}"
                        f"\n{worker.log_tail()}"
                    )
                    await asyncio.sleep(0.1)
                watch.start()
                killed = time.monotonic()
                worker.kill()
            assert (await run_status(db, run_id))[0] == "running"
            replacement = await asyncio.to_thread(site.worker)
            assert replacement is not worker
            ready = time.monotonic()

            await hall.answer(rest, 1)
            await hall.settled(rest, deadline_in(STEP_S), "after the kill")
            await hall.converge(deadline_in(STEP_S), "after the kill")
            await watch.stop()
            for server in servers:  # nothing a server needs broke: 200 is the truth
                noted(
                    findings, watch.assert_said_healthy, server.name, killed, ready,
                    "the worker was dead",
                )  # fmt: skip
            await hall.step("close", ("question_closed", 1))
            await hall.play_out(1)
            assert (await hall.state())[0] == "finished"
            await hall.assert_acked_answers_stored_once()
            assert not any(p.rejects for p in hall.players)

            # The killed run completes when its task comes back (CELERY_VISIBILITY_TIMEOUT);
            # failing that, once its heartbeat is stale it expires and another is started.
            stale = killed + int(site.env["JOB_HEARTBEAT_TIMEOUT"])
            completed = await calibration_done(
                site.env, db, bank, killed + 50, run_id=run_id, ask_again_after=stale
            )
            [(stuck,)] = await db.fetch(
                f"SELECT count(*) FROM \"{RUN_TABLE}\" WHERE bank_id = %s AND status IN ('queued', 'running')",  # noqa: S608, E501
                [bank["id"]],
            )
            assert stuck == 0, f"run {completed} completed, {stuck} still hold the bank"
            print(
                f"worker killed with run {run_id} running; run {completed} completed "
                f"{time.monotonic() - killed:.1f} s after the kill"
            )
        finally:
            await cleanup(db, hall, watch)

    bounded(scenario(), findings)
