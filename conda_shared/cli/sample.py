"""`conda shared sample DIR`: write a sample shared root to try every verb on."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..sample import SampleRoot, build_sample
from .render import emit, progress_printer


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, metavar="DIR", help="where to write it (new)")


def execute(args: Any) -> int:
    result = build_sample(destination=args.directory, progress=progress_printer(args))
    emit(args, result, render)
    return 0


def render(sample: SampleRoot) -> str:
    pointers = ", ".join(f"{name} -> {target}" for name, target in sample.pointers)
    return "\n".join(
        [
            f"wrote sample shared root {sample.root}",
            f"  installations: {', '.join(sample.installations)}  ({pointers})",
            f"  environments:  {len(sample.environments)}: {', '.join(sample.environments)}",
            f"  kernels:       {', '.join(sample.kernels)} (retired_kernel is broken on purpose)",
            f"next: conda shared status --root {sample.root}",
            f"      conda shared export --root {sample.root}",
        ]
    )
