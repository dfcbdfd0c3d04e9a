"""`conda shared pack`: one environment (or release) as an archive, through conda-pack."""

from __future__ import annotations

import argparse
from typing import Any

from ..pack import FORMATS, PackResult, pack_env
from ..text import human_size
from . import add_source_option, path_argument, root_of
from .render import emit, progress_printer


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "env",
        metavar="NAME[@RELEASE]",
        help="the environment (its current release) or one release of it, e.g. ds@2026.12.07a",
    )
    parser.add_argument(
        "--out", type=path_argument, required=True, metavar="FILE", help="the archive to write"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="archive format (default: from the file name's ending)",
    )
    parser.add_argument(
        "--dest-prefix",
        metavar="PATH",
        help="the folder the env will live at, written into its files now (no conda-unpack "
        "step); needed for squashfs, whose image is mounted read-only there",
    )
    parser.add_argument(
        "--ignore-editable",
        action="store_true",
        help="pack editable pip installs anyway (their metadata only: their code stays out)",
    )
    parser.add_argument(
        "--ignore-overwritten",
        action="store_true",
        help="pack even when pip overwrote files of conda packages (as the env holds them now)",
    )
    add_source_option(parser, verb="pack from")


def execute(args: Any) -> int:
    result = pack_env(
        root=root_of(args),
        installation=args.source,
        env=args.env,
        out=args.out,
        format=args.format,
        dest_prefix=args.dest_prefix,
        ignore_editable=args.ignore_editable,
        ignore_overwritten=args.ignore_overwritten,
        progress=progress_printer(args) or (lambda line: None),
    )
    emit(args, result, render)
    return 0


def render(result: PackResult) -> str:
    lines = [
        f"packed {result.env} ({result.prefix}) into {result.archive}",
        f"  format:      {result.format}"
        + (f", files written for {result.dest_prefix}" if result.dest_prefix else ""),
        f"  size:        {human_size(result.size)} ({result.size} bytes)",
        f"  content key: {result.content_key}",
        f"  sha256:      {result.sha256}",
        f"  unpack:      {result.unpack}",
    ]
    if result.overwritten_packed_as_is:
        lines.append(
            "  note: files pip overwrote were packed as the env holds them, not as conda "
            f"installed them: {', '.join(result.overwritten_packed_as_is)}"
        )
    if result.editable_left_out:
        lines.append(
            "  note: editable installs were packed without their code: "
            + ", ".join(result.editable_left_out)
        )
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)
