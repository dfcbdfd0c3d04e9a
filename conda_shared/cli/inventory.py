"""`conda shared inventory`: list every environment of an installation; write the inventory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..inventory import ACTIONS, Inventory, default_inventory_path, take_inventory
from ..layout import open_root
from ..text import CommandLine, human_size, plural, table
from . import add_source_option, path_argument, root_of
from .render import emit, progress_printer

_DEFAULT = Path("<default>")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    add_source_option(parser, verb="list")
    parser.add_argument(
        "--write",
        nargs="?",
        const=_DEFAULT,
        type=path_argument,
        metavar="FILE",
        help="create or extend the inventory file (default ROOT/specs/<installation>/"
        "inventory.ini); existing comments and choices are kept",
    )
    parser.add_argument(
        "--no-sizes", action="store_true", help="skip measuring disk usage (faster)"
    )


def execute(args: Any) -> int:
    root = root_of(args)
    write = args.write
    if write == _DEFAULT:
        shared = open_root(root)
        write = default_inventory_path(shared, shared.installation(args.source).name)
    result = take_inventory(
        root=root,
        installation=args.source,
        write=write,
        sizes=not args.no_sizes,
        progress=progress_printer(args) if not args.no_sizes else None,
    )
    emit(args, result, lambda inventory: render(inventory, args.command_line, source=args.source))
    return 0


def render(inventory: Inventory, command_line: CommandLine, *, source: str | None = None) -> str:
    rows = [
        [
            env.key,
            env.release or "-",
            ACTIONS[env.action],
            str(env.packages),
            human_size(env.size_bytes),
            env.last_change or "-",
            env.owner or "-",
            ", ".join(env.kernels) or "-",
            f"!! {env.problem}" if env.problem else "",
        ]
        for env in inventory.envs
    ]
    header = ["ENV", "RELEASE", "ACTION", "PACKAGES", "SIZE", "LAST CHANGE", "OWNER", "KERNEL", ""]
    lines = [
        f"{plural(len(inventory.envs), 'environment')} in {inventory.installation}",
        table(rows, header),
    ]
    if inventory.written is not None:
        lines.append(
            f"wrote {inventory.written}: {len(inventory.added)} added, "
            f"{len(inventory.gone)} marked gone"
        )
        from_source = ("--from", source) if source else ()
        export = command_line("export", *from_source, "--inventory", inventory.written)
        lines.append(f"next: edit the actions, then {export}")
    lines += [f"note: {note}" for note in inventory.notes]
    return "\n".join(lines)
