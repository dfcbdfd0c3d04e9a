"""`conda shared catalog`: write the static web catalog of the root's environments."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..text import plural
from . import path_argument, root_of
from .render import emit, progress_printer

if TYPE_CHECKING:
    from ..catalog import CatalogResult


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=path_argument,
        metavar="DIR",
        required=True,
        help="where the site goes: a link to its newest version, replaced whole each time",
    )
    reading = parser.add_mutually_exclusive_group()
    reading.add_argument(
        "--incremental",
        dest="incremental",
        action="store_const",
        const=True,
        help="read again only envs whose conda-meta or site-packages changed (the default "
        "when DIR holds an earlier catalog)",
    )
    reading.add_argument(
        "--full",
        dest="incremental",
        action="store_const",
        const=False,
        help="read every environment again",
    )


def execute(args: Any) -> int:
    from ..catalog import write_catalog  # Jinja2 and the pages load only for this verb

    say = progress_printer(args)
    result = write_catalog(
        root=root_of(args),
        out=args.out,
        incremental=args.incremental,
        progress=say or (lambda line: None),
    )
    emit(args, result, render, ok=not result.unreadable)
    return 0 if not result.unreadable else 1


def render(result: CatalogResult) -> str:
    how = (
        f"{result.read_again} read again, {result.envs - result.read_again} unchanged"
        if result.incremental
        else "all read"
    )
    lines = [f"FAILED  {name}: {why}" for name, why in result.unreadable]
    lines.append(
        f"catalog of {plural(result.installations, 'installation')} and "
        f"{plural(result.envs, 'environment')} ({how}): {plural(result.files, 'file')} "
        f"in {result.site}"
    )
    lines.append(f"open {result.index.as_uri()} (or serve {result.out} with any web server)")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
