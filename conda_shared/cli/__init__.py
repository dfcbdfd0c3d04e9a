"""The `conda shared` / `conda-shared` command line: one parser, a table of verbs."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import SharedError, as_conda_error

if TYPE_CHECKING:
    from ..settings import Settings

SUMMARY = "Manage shared, multi-user conda installations."

#: verb -> one-line summary; each verb is the module conda_shared.cli.<verb>.
VERBS: dict[str, str] = {
    "status": "Show the shared root: pointers, installations, kernels, recent activity.",
    "inventory": "List every environment of an installation; write the inventory file.",
    "export": "Write every environment's specs (lock, pinned, loose, manifest) to ROOT/specs.",
    "sample": "Write a sample shared root (two installations, a dozen environments).",
    "replicate": "Rebuild environments in another installation with its own conda; report.",
    "doctor": "Check a shared root: env permissions, pointers, kernels, policy-defeating config.",
}


def configure_parser(parser: argparse.ArgumentParser, *, only: str | None = None) -> None:
    """Add the verbs to `parser`; used by `conda shared` and by `conda-shared` alike.

    With `only`, just that verb's module is imported and its options added: the others need
    nothing but their summary, and importing every verb was most of a short command's time.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="the shared root (default: plugins.shared_root, CONDA_SHARED_ROOT, or the "
        "running installation's root)",
    )
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", title="verbs")
    for name, summary in VERBS.items():
        verb_parser = verbs.add_parser(name, help=summary, description=summary, parents=[common])
        if only in (None, name):
            module = importlib.import_module(f"{__name__}.{name}")
            module.configure_parser(verb_parser)
            verb_parser.set_defaults(_execute=module.execute)


def build_parser(prog: str = "conda-shared", argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole command line; given `argv`, only the verb it names is fully configured."""
    parser = argparse.ArgumentParser(prog=prog, description=SUMMARY)
    parser.add_argument("--version", action="version", version=f"conda-shared {__version__}")
    verb = next((a for a in argv if not a.startswith("-")), None)
    configure_parser(parser, only=verb if verb in VERBS else None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone `conda-shared`, for installations where the plugin cannot load."""
    from ..settings import from_environment

    argv = sys.argv[1:] if argv is None else argv
    return _run(
        build_parser(argv=argv),
        argv,
        settings=lambda: from_environment(Path(sys.prefix)),
        running_prefix=Path(sys.prefix),
        under_conda=False,
    )


def main_in_conda(argv: Sequence[str]) -> int:
    """`conda shared ...`: conda hands over the raw arguments; settings come from its context."""
    from conda.base.context import context

    from ..settings import from_conda_context

    return _run(
        build_parser("conda shared", argv),
        argv,
        settings=lambda: from_conda_context(context),
        running_prefix=Path(context.root_prefix),
        under_conda=True,
    )


def _run(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    *,
    settings: Callable[[], Settings],
    running_prefix: Path,
    under_conda: bool,
) -> int:
    args = parser.parse_args(list(argv))
    if getattr(args, "_execute", None) is None:
        parser.print_help()
        return 2
    try:
        args.settings = settings()
        args.running_prefix = running_prefix
        return int(args._execute(args))
    except SharedError as error:
        if under_conda:
            raise as_conda_error(error) from None
        from .render import print_error

        print_error(error, as_json=bool(getattr(args, "json", False)))
        return error.exit_code
    except KeyboardInterrupt:
        print("conda-shared: interrupted; nothing was left half-written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): silence the rest of the output, as CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def add_source_option(parser: argparse.ArgumentParser, *, verb: str) -> None:
    """`--from INSTALLATION`: which installation of the root a verb reads."""
    parser.add_argument(
        "--from",
        dest="source",
        metavar="INSTALLATION",
        help=f"installation to {verb}: current (default), qa, previous, a folder name or a path",
    )


def root_of(args: Any) -> Path:
    """The shared root for this invocation: --root, the setting, or the running installation."""
    from ..layout import discover_root

    return discover_root(
        explicit=args.root,
        configured=args.settings.shared_root,
        running_prefix=args.running_prefix,
    )
