"""bench/pk_load.py runs end to end: a few embedded players queue at once and play
whole matches; its JSON line has every figure the issue asks for.

It starts its own daphne process on its own SQLite file (a short lobby and reveal,
through the environment the servers inherit), so this test needs no database of the
suite's; it takes about 30 s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

KEYS = {
    "players",
    "mode",
    "matched",
    "finished",
    "match_wait_p50_ms",
    "match_wait_p99_ms",
    "ack_p50_ms",
    "ack_p99_ms",
    "open_vs_schedule_p50_ms",
    "open_vs_schedule_p99_ms",
    "answers_sent",
    "answers_acked",
    "answers_refused",
    "answers_refused_in_time",
    "queue_rows_left",
    "server_cpu_s",
    "loadavg_before",
}


def test_the_pk_bench_matches_everyone_plays_to_the_end_and_leaves_the_queue_empty():
    env = {**os.environ, "PK_READY_MS": "1000", "PK_REVEAL_MS": "200"}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "bench/pk_load.py", "--players", "6"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert len(lines) == 1, run.stdout  # exactly one JSON line
    figures = json.loads(lines[0])
    assert not KEYS - figures.keys(), KEYS - figures.keys()
    assert (figures["players"], figures["mode"]) == (6, "embedded")
    assert figures["matched"] == figures["finished"] == 6
    assert figures["answers_sent"] == figures["answers_acked"] == 6 * 5
    assert figures["answers_refused_in_time"] == 0
    assert figures["queue_rows_left"] == 0
    assert set(figures["server_cpu_s"]) == {"connect", "queue", "play"}
