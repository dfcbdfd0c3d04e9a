"""`conda shared kernels [list|sync|pin NAME ID]`: Jupyter kernelspecs that follow `current`,
or stay on one release of an env."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from ..kernels.follow import KernelList, KernelSync, list_kernels, sync_kernels
from ..kernels.pinned import KernelPin, pin_kernel
from ..text import table
from . import add_source_option, root_of
from .render import emit


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("list", "sync", "pin"),
        default="list",
        help="list (default); sync: create kernelspecs for envs with ipykernel that have none; "
        'pin NAME ID: a kernelspec "NAME (ID)" that stays on that release of NAME',
    )
    parser.add_argument("release", nargs="*", metavar="NAME ID", help="with pin: env and release")
    add_source_option(parser, verb="pin a release of")
    parser.add_argument(
        "--remove-stale",
        action="store_true",
        help="with sync: remove kernelspecs whose env no longer exists in current",
    )


def execute(args: Any) -> int:
    root = root_of(args)
    if args.action == "pin":
        if len(args.release) != 2:
            raise InputError(
                "kernels pin takes an env name and one of its releases",
                "Name both; the releases of an env are listed by",
                command=("release", "list", "NAME"),
            )
        name, release_id = args.release
        pin = pin_kernel(root=root, installation=args.source, name=name, release_id=release_id)
        emit(args, pin, render_pin)
        return 0
    if args.release:
        raise InputError(
            f"kernels {args.action} takes no names (got {' '.join(args.release)})",
            "To keep a kernel on one release of an env, run",
            command=("kernels", "pin", "NAME", "ID"),
        )
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
            "yes"
            if kernel.follows_current
            else (f"pinned {kernel.release}" if kernel.release else "NO"),
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


def render_pin(pin: KernelPin) -> str:
    done = "pinned" if pin.created else "already pinned"
    lines = [
        f"{done}: kernel {pin.kernel} ({pin.display_name!r}) runs release {pin.release_id} of "
        f"{pin.env} in {pin.installation}",
        f"  argv[0] {pin.python}",
    ]
    lines += [f"note: {pin.note}"] if pin.note else []
    return "\n".join(lines)
