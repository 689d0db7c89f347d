"""bench/cat_simulation.py runs on a tiny setup and prints sane figures."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_cat_simulation_prints_one_json_line_with_the_figures():
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "cat_simulation.py"),
            "--bank-size",
            "200",
            "--examinees",
            "30",
            "--length",
            "30",
            "--exposure",
            "on",
            "--blueprint",
            "on",
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=ROOT,
    )
    lines = out.stdout.splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    for key in ("rmse_10", "rmse_20", "rmse_30", "bias_30", "catsim_rmse_30"):
        assert 0 <= abs(figures[key]) < 1.5, key
    assert 0 < figures["max_exposure"] <= 1 and 0 < figures["overlap"] <= 1
    assert 0 <= figures["unused_pct"] <= 100
    assert figures["blueprint_met_pct"] == 100
    assert figures["mean_length"] == 30
    assert figures["select_p99_ms"] > 0 and figures["catsim_select_p99_ms"] > 0
    assert figures["catsim_examinees"] == 30
