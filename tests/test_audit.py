"""`make audit` (.ci/audit.py): it fails whenever it could not check everything.

pip-audit alone exits 0 when its vulnerability service is unreachable and every package
is reported "could not be audited"; an audit step like that passes while proving
nothing (docs/security.md, "Dependencies")."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "audit.py"
_spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

CLEAN = {"name": "django", "version": "5.2.9", "vulns": []}
SKIPPED = {"name": "amqp", "skip_reason": "Dependency not found on PyPI and could not be audited"}
VULNERABLE = {
    "name": "nh3",
    "version": "0.1.0",
    "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["0.2.17"]}],
}


@pytest.mark.parametrize(
    ("deps", "status"),
    [
        ([CLEAN], 0),
        ([], 1),  # nothing installed was looked at
        ([SKIPPED, {**SKIPPED, "name": "six"}], 1),  # the service was unreachable
        ([CLEAN, SKIPPED], 1),  # one package could not be checked
        ([CLEAN, VULNERABLE], 1),
    ],
)
def test_the_audit_passes_only_when_everything_was_checked_and_clean(deps, status):
    code, lines = audit.judge({"dependencies": deps, "fixes": []})
    assert code == status
    assert lines[0].startswith(f"checked {sum(1 for d in deps if 'skip_reason' not in d)} ")


def test_the_script_reads_a_saved_report_and_exits_with_its_judgement(tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dependencies": [SKIPPED], "fixes": []}))
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--from-json", str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert "nothing could be checked" in run.stdout
    assert "NOT CHECKED amqp" in run.stdout
