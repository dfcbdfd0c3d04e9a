"""`conda shared doctor`: check a shared root; exit 1 when something needs an admin."""

from __future__ import annotations

import argparse
from typing import Any

from ..doctor import DoctorReport, Finding, check_root
from . import root_of
from .render import emit, table


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Only the common --root and --json: every check always runs."""


def execute(args: Any) -> int:
    report = check_root(root=root_of(args))
    emit(args, report, render, problems=report.problems, notes=report.notes)
    return 1 if report.problems else 0


def render(report: DoctorReport) -> str:
    lines = [f"conda-shared doctor: shared root {report.root}"]
    rows = [
        [
            install.installation,
            ",".join(install.pointers) or "-",
            install.conda_shared_version or "not installed",
        ]
        for install in report.installations
    ]
    lines.append("installations:")
    lines += [
        f"  {line}" for line in table(rows, ["NAME", "POINTERS", "CONDA-SHARED"]).splitlines()
    ]
    for title, findings in (("problems", report.problems), ("notes", report.notes)):
        if findings:
            lines.append(f"{title} ({len(findings)}):")
            lines += [line for finding in findings for line in _finding_lines(finding)]
    if not report.problems:
        lines.append("no problems found")
    lines += [f"not checked: {reason}" for reason in report.not_checked]
    return "\n".join(lines)


def _finding_lines(finding: Finding) -> list[str]:
    return [f"  [{finding.check}] {finding.message}", f"      fix: {finding.fix}"]
