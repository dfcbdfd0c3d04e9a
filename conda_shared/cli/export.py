"""`conda shared export`: write every environment's spec files (lock, yml, conda-lock, manifest)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..export import ExportResult, export_envs
from ..inventory import installations_with_env
from ..specs import LOCK_HASHES
from ..text import CommandLine, plural
from . import add_source_option, path_argument, root_of
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
        type=path_argument,
        metavar="FILE",
        help="export the environments this inventory marks REPLICATE or export",
    )
    parser.add_argument(
        "--out",
        type=path_argument,
        metavar="DIR",
        help="where to write (default ROOT/specs/<installation>)",
    )
    parser.add_argument(
        "--lock-hash",
        choices=LOCK_HASHES,
        default="sha256",
        help="hash in NAME.lock URLs (md5 for target conda older than 24.9; default sha256)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="read every environment again, even those unchanged since the last export",
    )


def execute(args: Any) -> int:
    if args.envs and args.inventory is not None:
        raise InputError(
            "give environment names or --inventory, not both (the names would win silently)",
            "Drop the names to export what the inventory marks, or drop --inventory",
        )
    for name in args.envs:
        _refuse_installation_path(name)
    root = _root_unless_paths_only(args)
    result = export_envs(
        root=root,
        installation=args.source,
        names=args.envs,
        inventory=args.inventory,
        out=args.out,
        lock_hash=args.lock_hash,
        full=args.full,
        progress=progress_printer(args),
    )
    elsewhere = {
        env.name: installations_with_env(root=root, name=env.name)
        for env in result.envs
        if root is not None and env.prefix is None and not os.path.isabs(env.name)
    }
    emit(
        args,
        result,
        lambda r: render(r, args.command_line, again=_same_options(args), elsewhere=elsewhere),
        ok=result.ok,
    )
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def _same_options(args: Any) -> tuple[str, ...]:
    """The options of this run that a retry of one environment must repeat."""
    options: list[str] = []
    if args.source:
        options += ["--from", args.source]
    if args.out is not None:
        options += ["--out", str(args.out)]
    if args.lock_hash != "sha256":
        options += ["--lock-hash", args.lock_hash]
    return tuple(options)


def _refuse_installation_path(name: str) -> None:
    """`v26.7/smoke` means environment smoke of installation v26.7: say how to ask for that."""
    installation, separator, env = name.partition("/")
    if (
        separator
        and not os.path.isabs(name)
        and installation not in ("", ".", "..")
        and env
        and "/" not in env
    ):
        raise InputError(
            f"{name} is not an environment name",
            f"To export {env} of the installation {installation}, name the installation "
            "with --from",
            command=("export", "--from", installation, env),
        )


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


def render(
    result: ExportResult,
    command_line: CommandLine,
    *,
    again: Sequence[str] = (),
    elsewhere: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The text report; `again` are the options to repeat in a retry hint, `elsewhere` names
    other installations that have a missing env."""
    lines = []
    for env in result.envs:
        if not env.ok:
            lines.append(f"FAILED  {env.name}: {env.error}")
            others = (elsewhere or {}).get(env.name, ())
            if others:
                found = command_line("export", "--from", others[0], env.name)
                lines.append(f"          next: it is in {', '.join(others)}: {found}")
            elif env.did_you_mean:
                nearest = command_line("export", *again, env.did_you_mean[0])
                lines.append(f"          next: if you meant {env.did_you_mean[0]}: {nearest}")
            elif env.prefix is None and not os.path.isabs(env.name):
                listed_from = again[:2] if again[:1] == ("--from",) else ()
                names = command_line("inventory", *listed_from)
                lines.append(f"          next: choose one of the names this lists: {names}")
            else:
                retry = command_line("export", *again, str(env.prefix or env.name))
                lines.append(f"          next: fix what the line above names, then {retry}")
            continue
        key = (env.content_key or "")[:19]
        lines.append(
            f"ok      {env.name}: {env.conda_packages} conda, {env.pip_packages} pip, {key}"
        )
        lines += [f"          warning [{r.code}] {r.message}" for r in env.risks]
    good = sum(1 for e in result.envs if e.ok)
    source = f" from {result.installation}" if result.installation else ""
    unchanged = sum(1 for e in result.envs if e.unchanged)
    same = f" ({unchanged} unchanged since the last export, not read again)" if unchanged else ""
    lines.append(
        f"exported {good} of {plural(result.selected, 'environment')}{source} to "
        f"{result.out_dir}{same}"
    )
    if result.interrupted:
        missing = result.selected - len(result.envs)
        lines.append(
            f"interrupted: {plural(len(result.envs), 'environment')} above complete, {missing} "
            "not exported yet; run the same command again to export them"
        )
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
