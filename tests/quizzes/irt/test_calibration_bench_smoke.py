"""bench/calibration.py runs on a tiny setup and prints sane figures, girth's included."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_bench(*args):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "calibration.py"), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_calibration_bench_prints_one_json_line_with_ours_and_girths_figures():
    figures = run_bench("--persons", "500", "--items", "10", "--seed", "3")
    assert figures["responses"] == 5000
    assert figures["converged"] is True and 0 < figures["iterations"] < 200
    for prefix in ("", "girth_"):
        assert figures[f"{prefix}r_a"] > 0.5, prefix
        assert 0 < figures[f"{prefix}rmse_a"] < 0.5, prefix
        assert 0 < figures[f"{prefix}rmse_b"] < 0.5, prefix
        assert abs(figures[f"{prefix}bias_b"]) < 0.3, prefix
    assert figures["seconds"] > 0 and figures["girth_seconds"] > 0
    assert figures["speedup"] > 0
    assert figures["loglik"] >= figures["loglik_true"] - 1


def test_calibration_bench_takes_sparse_data():
    figures = run_bench(
        "--persons", "800", "--items", "10", "--sparsity", "0.5", "--seed", "4", "--no-girth"
    )
    assert 3000 < figures["responses"] < 5000
    assert figures["rmse_b"] < 0.5
    assert "girth_seconds" not in figures
