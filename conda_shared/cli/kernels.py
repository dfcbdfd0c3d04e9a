"""`conda shared kernels [list|sync]`: Jupyter kernelspecs that follow `current`."""

from __future__ import annotations

import argparse
from typing import Any

from ..kernels.follow import KernelList, KernelSync, list_kernels, sync_kernels
from ..text import table
from . import root_of
from .render import emit


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("list", "sync"),
        default="list",
        help="list (default) or sync: create kernelspecs for envs with ipykernel that have none",
    )
    parser.add_argument(
        "--remove-stale",
        action="store_true",
        help="with sync: remove kernelspecs whose env no longer exists in current",
    )


def execute(args: Any) -> int:
    root = root_of(args)
    if args.action == "sync":
        synced = sync_kernels(root=root, remove_stale=args.remove_stale)
        emit(args, synced, render_sync)
        return 0
    listing = list_kernels(root=root)
    emit(args, listing, render_list)
    return 1 if any(not k.resolves_now for k in listing.kernels) else 0


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def render_list(listing: KernelList) -> str:
    qa = f"IN QA ({listing.qa})" if listing.qa else "IN QA"
    rows = [
        [
            kernel.name,
            kernel.env or "-",
            "yes" if kernel.follows_current else "NO",
            _yes_no(kernel.resolves_now),
            _yes_no(kernel.resolves_in_qa),
            kernel.executable or "-",
        ]
        for kernel in listing.kernels
    ]
    header = ["KERNEL", "ENV", "FOLLOWS CURRENT", "RESOLVES NOW", qa, "ARGV[0]"]
    lines = [f"{len(listing.kernels)} kernelspecs in {listing.kernels_dir}", table(rows, header)]
    if any(not k.follows_current and k.executable for k in listing.kernels):
        lines.append(
            "note: kernels that do not follow current keep their interpreter after a cutover"
        )
    return "\n".join(lines)


def render_sync(sync: KernelSync) -> str:
    lines = [f"kernelspecs in {sync.kernels_dir}"]
    lines += [f"  created  {name}" for name in sync.created]
    lines += [f"  removed  {name} (its env is gone)" for name in sync.removed]
    kept = [name for name in sync.stale if name not in sync.removed]
    lines += [f"  stale    {name} (its env is gone; --remove-stale removes it)" for name in kept]
    lines += [f"  pinned   {name} (does not go through current)" for name in sync.not_following]
    if len(lines) == 1:
        lines.append("  nothing to do: every env with ipykernel has a kernel")
    lines += [f"note: {note}" for note in sync.notes]
    return "\n".join(lines)
