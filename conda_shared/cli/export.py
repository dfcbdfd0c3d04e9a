"""`conda shared export`: write every environment's specs (lock, pinned, loose, manifest)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..export import ExportResult, export_envs
from ..specs import LOCK_HASHES
from . import add_source_option, root_of
from .render import emit, progress_printer


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "envs",
        nargs="*",
        metavar="ENV",
        help="environment names or absolute paths (default: every environment but base)",
    )
    add_source_option(parser, verb="export")
    parser.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="export the environments this inventory marks REPLICATE or export",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write (default ROOT/specs/<installation>)"
    )
    parser.add_argument(
        "--lock-hash",
        choices=LOCK_HASHES,
        default="sha256",
        help="hash in NAME.lock URLs (md5 for target conda older than 24.9; default sha256)",
    )


def execute(args: Any) -> int:
    result = export_envs(
        root=_root_unless_paths_only(args),
        installation=args.source,
        names=args.envs,
        inventory=args.inventory,
        out=args.out,
        lock_hash=args.lock_hash,
        progress=progress_printer(args),
    )
    emit(args, result, render, ok=result.ok)
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def _root_unless_paths_only(args: Any) -> Path | None:
    """`export /some/env --out DIR` needs no shared root: a user capturing one env.

    A root named with --root or configured is used; the running installation is not
    assumed to be the root of envs given by path only.
    """
    paths_only = bool(args.envs) and all(os.path.isabs(env) for env in args.envs)
    if paths_only and args.out and args.root is None and args.settings.shared_root is None:
        return None
    try:
        return root_of(args)
    except InputError:
        if paths_only:
            return None  # export then asks for --out
        raise


def render(result: ExportResult) -> str:
    lines = []
    for env in result.envs:
        if not env.ok:
            lines.append(f"FAILED  {env.name}: {env.error}")
            continue
        key = (env.content_key or "")[:19]
        lines.append(
            f"ok      {env.name}: {env.conda_packages} conda, {env.pip_packages} pip, {key}"
        )
        lines += [f"          warning [{r.code}] {r.message}" for r in env.risks]
    good = sum(1 for e in result.envs if e.ok)
    source = f" from {result.installation}" if result.installation else ""
    lines.append(f"exported {good} of {result.selected} environments{source} to {result.out_dir}")
    if result.interrupted:
        lines.append(
            f"interrupted: the {len(result.envs)} environments above are complete, the other "
            f"{result.selected - len(result.envs)} were not exported; run the same command "
            "again to export them"
        )
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
