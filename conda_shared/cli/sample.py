"""`conda shared sample DIR`: write a sample shared root to try every verb on."""

from __future__ import annotations

import argparse
from typing import Any

from ..sample import SampleRoot, build_sample
from ..text import CommandLine, plural
from . import path_argument
from .render import emit, progress_printer


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", type=path_argument, metavar="DIR", help="where to write it (new)"
    )


def execute(args: Any) -> int:
    result = build_sample(destination=args.directory, progress=progress_printer(args))
    emit(args, result, lambda sample: render(sample, args.command_line))
    return 0


def render(sample: SampleRoot, command_line: CommandLine) -> str:
    on_sample = command_line.on(sample.root)
    pointers = ", ".join(f"{name} -> {target}" for name, target in sample.pointers)
    return "\n".join(
        [
            f"wrote sample shared root {sample.root}",
            f"  installations: {', '.join(sample.installations)}  ({pointers})",
            f"  environments:  {plural(len(sample.environments), 'environment')}: "
            f"{', '.join(sample.environments)}",
            f"  kernels:       {', '.join(sample.kernels)} (retired_kernel is broken on purpose)",
            f"next: {on_sample('status')}",
            f"      {on_sample('export')}",
        ]
    )
