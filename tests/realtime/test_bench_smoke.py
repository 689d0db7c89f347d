"""bench/live_round.py runs end to end: a small embedded round and both baselines.

It starts its own daphne process on its own SQLite file, so this test needs no
database of the suite's; it takes about 10 s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

KEYS = {
    "players",
    "questions",
    "mode",
    "join_s",
    "broadcast_p50_ms",
    "broadcast_p99_ms",
    "ack_p50_ms",
    "ack_p99_ms",
    "answers_sent",
    "answers_acked",
    "answers_stored",
    "answers_lost",
    "rss_kb_per_player",
    "group_send_p99_ms",
    "floor_p99_ms",
    "group_send_over_broadcast_p99",
    "broadcast_over_floor_p99",
    "compression",
}


def test_the_live_round_bench_plays_a_small_round_and_loses_no_answer():
    run = subprocess.run(
        [
            sys.executable,
            "bench/live_round.py",
            "--players",
            "20",
            "--questions",
            "2",
            "--spread",
            "0.5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert len(lines) == 1, run.stdout  # exactly one JSON line
    figures = json.loads(lines[0])
    assert not KEYS - figures.keys(), KEYS - figures.keys()
    assert (figures["players"], figures["questions"], figures["mode"]) == (20, 2, "embedded")
    assert figures["answers_sent"] == figures["answers_acked"] == figures["answers_stored"] == 40
    assert figures["answers_lost"] == 0
    for key in ("broadcast_p99_ms", "group_send_p99_ms", "floor_p99_ms", "ack_p99_ms"):
        assert figures[key] is not None and figures[key] >= 0, key
    # Under daphne every socket got each question frame as prepared wire bytes
    # (realtime.wire), not through the ASGI send: [got, looped, flushed, sent, wired].
    (rows,) = figures["relay_ms"]
    assert len(rows) == 2, rows
    assert all(row[3] == row[4] >= 20 for row in rows), rows
    # daphne (autobahn) does not accept the permessage-deflate that browsers offer.
    assert figures["compression"] == "none"


def test_the_sites_routes_hold_no_bench_socket():
    """The bench's apps are served only by bench/asgi.py's application (bench.serve)."""
    from django.conf import settings

    from config.asgi import application
    from realtime.routing import websocket_urlpatterns

    assert not any("bench" in str(route.pattern) for route in websocket_urlpatterns)
    assert not hasattr(settings, "BENCH_ROUTES")
    assert application is not None
