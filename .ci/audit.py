"""Audit the installed dependencies for known vulnerabilities (`make audit`).

Runs pip-audit over the project's virtualenv and fails when
- any installed package has a known vulnerability, or
- any package could not be checked (the vulnerability service unreachable, a package
  unknown to it), or nothing was checked at all.

The second rule is the point of this wrapper: pip-audit on its own reports a package it
could not look up and still exits 0, so an audit run without network access would pass
while having checked nothing (docs/security.md, "Dependencies").

    python .ci/audit.py                 # run pip-audit (must be installed) and judge
    python .ci/audit.py --from-json F   # judge a saved `pip-audit -f json` report
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def judge(report: dict) -> tuple[int, list[str]]:
    """(exit status, lines to print) for a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    checked = [d for d in deps if not d.get("skip_reason")]
    vulnerable = [d for d in checked if d.get("vulns")]
    lines = [f"checked {len(checked)} packages, could not check {len(skipped)}"]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            lines.append(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} ({fixes})")
    for dep in skipped:
        lines.append(f"NOT CHECKED {dep['name']}: {dep['skip_reason']}")
    if not checked:
        lines.append("FAIL: nothing could be checked; the audit proves nothing")
        return 1, lines
    if vulnerable or skipped:
        return 1, lines
    lines.append("OK: no known vulnerabilities")
    return 0, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-json", type=Path, help="judge a saved pip-audit JSON report")
    args = parser.parse_args(argv)
    if args.from_json:
        report = json.loads(args.from_json.read_text())
    else:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--format",
                "json",
                "--skip-editable",
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            report = json.loads(run.stdout)
        except json.JSONDecodeError:
            sys.stderr.write(run.stderr[-4000:])
            print("FAIL: pip-audit gave no report (see above); nothing was checked")
            return 1
    status, lines = judge(report)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
