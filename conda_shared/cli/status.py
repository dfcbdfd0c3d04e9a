"""`conda shared status`: pointers, installations, kernels and recent activity of a root."""

from __future__ import annotations

import argparse
from typing import Any

from ..status import Status, shared_status
from ..text import human_size, plural, table
from . import count_argument, root_of
from .render import emit, progress_printer


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes", action="store_true", help="also measure disk usage (hard links counted once)"
    )
    parser.add_argument(
        "--log",
        type=count_argument,
        default=5,
        metavar="N",
        help="show the last N audit entries (5; 0 for none)",
    )


def execute(args: Any) -> int:
    result = shared_status(
        root=root_of(args),
        sizes=args.sizes,
        log_entries=args.log,
        progress=progress_printer(args) if args.sizes else None,
        command_line=args.command_line,
    )
    emit(args, result, render, problems=result.problems)
    return 1 if result.problems else 0


def render(status: Status) -> str:
    kind = (
        "single installation"
        if status.single
        else plural(len(status.installations), "installation")
    )
    lines = [f"shared root {status.root}  ({kind})"]
    if not status.single:
        lines.append("pointers:")
        for pointer in status.pointers:
            if pointer.unset:
                lines.append(f"  {pointer.name:<9}(not set)")
            elif pointer.problem:
                arrow = f"-> {pointer.link}  " if pointer.link else ""
                lines.append(f"  {pointer.name:<9}{arrow}!! {pointer.problem}")
            else:
                lines.append(f"  {pointer.name:<9}-> {pointer.link}")
    rows = [
        [
            inst.name,
            ",".join(inst.pointers) or "-",
            inst.conda_version or "?",
            inst.python_version or "?",
            inst.platform or "?",
            str(inst.env_count),
            human_size(inst.size_bytes),
            inst.conda_shared_version or "not installed",
            f"!! {inst.problem}" if inst.problem else "",
        ]
        for inst in status.installations
    ]
    header = ["NAME", "POINTERS", "CONDA", "PYTHON", "PLATFORM", "ENVS", "SIZE", "CONDA-SHARED", ""]
    lines += ["installations:", _indent(table(rows, header))]
    lines += [f"  warning: {i.name}: {w}" for i in status.installations for w in i.warnings]
    lines += [
        f"  {i.name} releases: {', '.join(i.releases)}" for i in status.installations if i.releases
    ]
    lines += [
        f"  !! {i.name} size leaves out {line}"
        for i in status.installations
        for line in i.unreadable
    ]
    broken = sum(1 for k in status.kernels if k.problem)
    lines.append(f"kernels: {len(status.kernels)}" + (f" ({broken} broken)" if broken else ""))
    for kernel in status.kernels:
        where = f"!! {kernel.problem}" if kernel.problem else f"-> {kernel.executable}"
        lines.append(f"  {kernel.name}  {where}")
    lines.append("recent activity:" if status.recent else "recent activity: none logged")
    lines += [f"  {e.time}  {e.who}  {e.command}  [{e.result}]" for e in status.recent]
    lines += [f"problem: {problem}" for problem in status.problems]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
