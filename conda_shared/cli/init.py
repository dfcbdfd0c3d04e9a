"""`conda shared init ROOT`: lay out a shared root around an existing installation."""

from __future__ import annotations

import argparse
from typing import Any

from ..init_root import InitResult, init_root
from ..text import CommandLine
from . import path_argument, root_of
from .render import emit


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        type=path_argument,
        metavar="ROOT",
        help="the shared root to lay out (created if missing; default: --root)",
    )
    parser.add_argument(
        "--adopt",
        type=path_argument,
        metavar="INSTALLATION",
        help="the installation current points at (default: current's target, or the only "
        "installation folder in ROOT)",
    )
    parser.add_argument(
        "--name",
        metavar="vX.Y",
        help="its name in the root when it lives outside ROOT (default: v + its conda's X.Y)",
    )


def execute(args: Any) -> int:
    import os

    from ..requests.store import admin_gid

    root = args.directory or root_of(args)
    gid = admin_gid(args.settings.admin_group) if os.geteuid() == 0 else None
    result = init_root(root=root, adopt=args.adopt, name=args.name, admin_gid=gid)
    emit(args, result, lambda done: render(done, args.command_line))
    return 0


def render(result: InitResult, command_line: CommandLine) -> str:
    lines = [f"shared root {result.root}: current -> {result.name} ({result.installation})"]
    lines += [f"  created  {item}" for item in result.created]
    lines += [f"  kept     {item}" for item in result.kept]
    lines += [f"note: {note}" for note in result.notes]
    lines += [
        "",
        "Add to the system condarc (/etc/conda/.condarc), so every installation of the root "
        "reads it:",
        *(f"  {line}" for line in result.condarc.splitlines()),
        "(shared_channel_policy: warn instead of error warns and lets the command go on)",
        "",
        "Add to users' shell start-up (e.g. /etc/profile.d/conda-shared.sh):",
        f"  {result.shell}",
        "",
        f"next: {command_line.on(result.root)('status')}",
    ]
    return "\n".join(lines)
