"""`conda shared doctor`: check a shared root; exit 1 when something needs an admin."""

from __future__ import annotations

import argparse
from typing import Any

from ..doctor import check_root, report_text
from . import root_of
from .render import emit


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Only the common --root and --json: every check always runs."""


def execute(args: Any) -> int:
    report = check_root(
        root=root_of(args),
        command_line=args.command_line,
        admin_group=args.settings.admin_group,
    )
    emit(args, report, report_text, problems=report.problems, notes=report.notes)
    return 1 if report.problems else 0
