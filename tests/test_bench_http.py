"""bench/http_load.py runs end to end (--smoke: a few seconds of every phase, embedded),
and its judgements (recovery, targets) say what they should.

The smoke run starts its own daphne process on its own SQLite file, so it needs no
database of the suite's; it takes about 25 s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._http_measure import recovery_seconds, targets_missed  # noqa: E402
from bench._http_support import choose, form_fields, parse_items  # noqa: E402

KEYS = {
    "mode",
    "git_rev",
    "sustained_rps",
    "p50_ms",
    "p99_ms",
    "endpoints",
    "errors",
    "cpu_ms_per_request",
    "ramp",
    "login_burst",
    "overload",
    "generator_cpu_share",
    "loadavg_start",
    "loadavg_end",
    "settings",
    "answers",
    "liveness",
    "missed",
}


def test_the_http_bench_plays_every_phase_in_a_smoke_run():
    run = subprocess.run(
        [sys.executable, "bench/http_load.py", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-4000:]
    assert len(lines) == 1, run.stdout  # exactly one JSON line
    figures = json.loads(lines[0])
    assert not KEYS - figures.keys(), KEYS - figures.keys()
    assert figures["mode"] == "embedded"
    assert figures["errors"] == {}, figures["statuses"]
    # Visits went all the way through, both kinds, none given up or crashed.
    visits = figures["visits"]
    assert visits["paper_done"] > 0 and visits["daily_done"] > 0, visits
    assert visits["paper_done"] == visits["paper_visits"], visits
    assert visits["daily_done"] == visits["daily_visits"], visits
    # The hold is two seconds: whichever requests fell in it, answered.
    assert figures["endpoints"] and figures["p99_ms"] is not None
    # Server CPU per request was measured for every endpoint, every request answered.
    cpu = figures["cpu_ms_per_request"]
    assert {"paper.start", "paper.page", "paper.submit", "paper.results", "healthz"} <= cpu.keys()
    for name, measured in cpu.items():
        # /livez is answered without Django (about 1 ms): five of them can fall within
        # one /proc clock tick.
        assert measured["daphne_ms"] > 0 or name == "livez", name
        assert set(measured["statuses"]) <= {"200", "302"}, (name, measured)
    if figures["answers"].startswith("json"):
        assert cpu["paper.answer"]["daphne_ms"] > 0
    burst = figures["login_burst"]
    assert burst["logins"] == burst["signed_in"] == 4, burst
    assert figures["overload"]["status_500"] == 0
    assert figures["overload"]["liveness_polls"] > 0
    assert figures["missed"] == []  # a smoke run judges no target


def test_the_answer_form_is_read_and_answered_in_its_json_and_form_shapes():
    html = (
        '<input type="radio" name="item-7" value="a1">'
        '<input type="radio" name="item-7" value="a2">'
        '<input type="checkbox" name="item-8" value="b1"><input type="checkbox" name="item-8" '
        'value="b2"><input type="radio" name="item-9" value="true">'
        '<input type="radio" name="item-9" value="false">'
    )
    items = parse_items(html)
    assert items == [
        (7, "single", ["a1", "a2"]),
        (8, "multiple", ["b1", "b2"]),
        (9, "true_false", ["true", "false"]),
    ]
    import random

    rng = random.Random(1)
    assert choose(rng, "single", ["a1", "a2"]) in ("a1", "a2")
    chosen = choose(rng, "multiple", ["b1", "b2"])
    assert isinstance(chosen, list) and chosen and set(chosen) <= {"b1", "b2"}
    assert choose(rng, "true_false", ["true", "false"]) in (True, False)
    assert form_fields(False, 9) == [("item-9", "false")]
    assert form_fields(["b1", "b2"], 8) == [("item-8", "b1"), ("item-8", "b2")]


def sample(at_s: float, ms: float) -> list:
    return ["paper.page", 200, 1000 * at_s, ms]


def test_recovery_is_the_end_of_the_last_slow_window_or_none_while_still_slow():
    fast = [sample(t / 10, 20) for t in range(300)]  # 30 s of 20 ms answers
    assert recovery_seconds(fast, 0, 30_000, 150) == 0.0
    slow_start = [sample(t / 10, 900 if t < 55 else 20) for t in range(300)]
    assert recovery_seconds(slow_start, 0, 30_000, 150) == 6.0  # windows 0-2, 2-4, 4-6
    slow_end = [sample(t / 10, 900 if t > 270 else 20) for t in range(300)]
    assert recovery_seconds(slow_end, 0, 30_000, 150) is None


def test_targets_name_each_miss():
    overload = {
        "status_500": 0,
        "statuses": {"200": 10, "503": 5},
        "p99_503_ms": 12.0,
        "liveness_not_200": 0,
        "liveness_failures": [],
        "recovery_s": 4.0,
    }
    met = {
        "sustained_rps": 130.0,
        "cpu_ms_per_request": {"paper.answer": {"total_ms": 3.0}, "paper.page": {"total_ms": 9}},
        "overload": overload,
    }
    distributed = SimpleNamespace(distributed=True)
    assert targets_missed(met, distributed) == []
    missed = targets_missed(
        {
            "sustained_rps": 30.0,
            "cpu_ms_per_request": {"paper.page": {"total_ms": 31}},
            "overload": {
                **overload,
                "status_500": 3,
                "statuses": {"500": 3, "timeout": 2},
                "p99_503_ms": 9000.0,
                "liveness_not_200": 4,
                "liveness_failures": ["503"],
                "recovery_s": None,
            },
        },
        distributed,
    )
    assert len(missed) == 8, missed
    assert any("sustained rate 30.0" in m for m in missed)
    assert any("paper.answer server CPU None" in m for m in missed)
    assert any("timeout" in m for m in missed)
    # Embedded: 60 req/s, and no CPU target.
    assert targets_missed({**met, "sustained_rps": 61.0}, SimpleNamespace(distributed=False)) == []
