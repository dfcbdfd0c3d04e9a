"""`conda shared qa set|clear`: which installation is under test before the cutover."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from ..qa import QaChange, clear_qa, set_qa
from ..text import CommandLine
from . import root_of
from .render import emit


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("set", "clear"), help="set or clear the qa pointer")
    parser.add_argument(
        "installation",
        nargs="?",
        metavar="INSTALLATION",
        help="for set: the folder name of an installation in the root",
    )


def execute(args: Any) -> int:
    root = root_of(args)
    if args.action == "clear":
        if args.installation:
            raise InputError("qa clear takes no installation", "Run", command=("qa", "clear"))
        result = clear_qa(root=root)
    else:
        if not args.installation:
            raise InputError(
                "qa set needs the installation to test",
                "Name its folder in the root",
                command=("qa", "set", "NAME"),
            )
        result = set_qa(root=root, installation=args.installation)
    emit(args, result, lambda change: render(change, args.command_line))
    return 0


def render(change: QaChange, command_line: CommandLine) -> str:
    if change.after is None:
        line = f"qa cleared (was {change.before})" if change.before else "qa was not set"
    else:
        was = f" (was {change.before})" if change.before else ""
        line = f"qa -> {change.after}{was}"
    lines = [line, *(f"note: {note}" for note in change.notes)]
    if change.after:
        lines.append(f"next: {command_line('replicate', '--to', 'qa')}")
        lines.append(f"then: {command_line('cutover', '--dry-run')}")
    return "\n".join(lines)
