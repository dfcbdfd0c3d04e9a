"""The `conda shared` / `conda-shared` command line: one parser, a table of verbs."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .. import __version__
from ..errors import InputError, SharedError, as_conda_error, from_os_error
from ..interrupts import print_interrupted
from ..text import CommandLine
from .render import print_error

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
    "init": "Lay out a shared root (pointers, kernels/, specs/, reports/, log/) around conda.",
    "qa": "Set or clear the qa pointer: the installation under test.",
    "cutover": "Switch current to the qa installation after a preflight; --rollback switches back.",
    "kernels": "List Jupyter kernelspecs and where they resolve; sync creates missing ones.",
    "overlay": "Extend a read-only environment with pip packages in your (or an admin) overlay.",
    "release": "Change one environment as a new dated release, switched atomically; roll back.",
    "pack": "Pack one environment (or one release of it) into an archive, through conda-pack.",
    "catalog": "Write a static web catalog of every environment, with package search.",
    "request": "Ask for packages in a shared environment; admins approve them into a release.",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as an InputError, so --json still gets JSON."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message, f"See the options with `{self.prog} --help`")


def _common_options(*, with_root: bool) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    if with_root:
        common.add_argument(
            "--root",
            type=path_argument,
            metavar="DIR",
            help="the shared root (default: plugins.shared_root, CONDA_SHARED_ROOT, or the "
            "running installation's root)",
        )
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    return common


def configure_parser(parser: argparse.ArgumentParser, *, only: str | None = None) -> None:
    """Add the verbs to `parser`; used by `conda shared` and by `conda-shared` alike.

    With `only`, just that verb's module is imported and its options built: a command pays
    for the one verb it runs (`overlay run` starts a user's program, every millisecond shows).
    """
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", title="verbs")
    for name, summary in VERBS.items():
        if only is not None and name != only:
            continue
        verb_parser = verbs.add_parser(
            name,
            help=summary,
            description=summary,
            parents=[_common_options(with_root=name not in CommandLine.ROOTLESS)],
        )
        module = importlib.import_module(f"{__name__}.{name}")
        module.configure_parser(verb_parser)
        verb_parser.set_defaults(_execute=module.execute)


def build_parser(
    prog: str = "conda-shared", argv: Sequence[str] | None = None
) -> argparse.ArgumentParser:
    """The whole command line; given the arguments, only the verb they name is built."""
    parser = _Parser(prog=prog, description=SUMMARY)
    parser.add_argument("--version", action="version", version=f"conda-shared {__version__}")
    configure_parser(parser, only=_named_verb(argv))
    return parser


def _named_verb(argv: Sequence[str] | None) -> str | None:
    """The verb the arguments name (their first word that is not an option), if any."""
    first = next((word for word in argv or () if not word.startswith("-")), None)
    return first if first in VERBS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone `conda-shared`, for installations where the plugin cannot load."""

    def settings() -> Settings:
        from ..settings import from_environment

        return from_environment(Path(sys.prefix))

    return _run(
        lambda words: build_parser("conda-shared", words),
        sys.argv[1:] if argv is None else argv,
        settings=settings,
        running_prefix=lambda: Path(sys.prefix),
        program=("conda-shared",),
        under_conda=False,
    )


def main_in_conda(argv: Sequence[str]) -> int:
    """`conda shared ...`: conda hands over the raw arguments; settings come from its context."""

    def settings() -> Settings:
        from conda.base.context import context

        from ..settings import from_conda_context

        return from_conda_context(context)

    def running_prefix() -> Path:
        from conda.base.context import context

        return Path(context.root_prefix)

    return _run(
        lambda words: build_parser("conda shared", words),
        argv,
        settings=settings,
        running_prefix=running_prefix,
        program=("conda", "shared"),
        under_conda=True,
    )


def _run(
    parser: Callable[[Sequence[str]], argparse.ArgumentParser],
    argv: Sequence[str],
    *,
    settings: Callable[[], Settings],
    running_prefix: Callable[[], Path],
    program: tuple[str, ...],
    under_conda: bool,
) -> int:
    """Parse, run one verb, and turn every way it can end into one line (or one JSON document).

    The only place errors are translated: SharedError as it is, any other OSError through
    `from_os_error`, Ctrl-C as exit 130, a closed stdout quietly.
    """
    as_json = "--json" in argv
    for stream in (sys.stdout, sys.stderr):
        # A name that is not UTF-8 on disk prints as `caf\udce9` instead of ending the command.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    command_line = CommandLine(program)
    args = None
    try:
        built = parser(argv)
        args, unknown = built.parse_known_args(list(argv))
        if getattr(args, "_execute", None) is None:
            built.print_help()
            return 2
        if unknown:
            args, unknown = _reparse_intermixed(built, argv, args, unknown)
        if unknown:
            raise InputError(
                f"{args.verb} does not take {' '.join(unknown)}",
                f"See its options with `{built.prog} {args.verb} --help`",
            )
        root = getattr(args, "root", None)
        command_line = CommandLine(program, str(root) if root is not None else None)
        args.command_line = command_line
        args.settings = settings()
        args.running_prefix = running_prefix()
        return int(args._execute(args))
    except BrokenPipeError:
        # The reader went away (`| head`): silence the rest of the output, as CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (SharedError, OSError) as raised:
        error = raised if isinstance(raised, SharedError) else from_os_error(raised)
        # A verb may learn the root late (`overlay run ENV --root DIR`): spell hints with it.
        command_line = getattr(args, "command_line", command_line)
        if under_conda and not as_json:
            raise as_conda_error(error, command_line) from None
        print_error(error, as_json=as_json, command_line=command_line)
        return error.exit_code
    except KeyboardInterrupt:
        return print_interrupted(as_json=as_json, program=" ".join(program))


def _reparse_intermixed(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    args: argparse.Namespace,
    unknown: list[str],
) -> tuple[argparse.Namespace, list[str]]:
    """Parse the verb's words again with options between its positionals.

    Plain argparse stops filling positionals at the first option, so `qa set --root R v26.7`
    or `export a --root R b` would leave the last word over. A verb whose positionals take the
    rest of the line (`overlay run ENV -- CMD`) cannot be parsed this way and keeps the first
    result.
    """
    verbs = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    words = list(argv)
    verb_words = words[words.index(args.verb) + 1 :]
    try:
        again, left = verbs.choices[args.verb].parse_known_intermixed_args(
            verb_words, namespace=argparse.Namespace(verb=args.verb)
        )
    except TypeError:
        return args, unknown
    return again, left


def add_source_option(parser: argparse.ArgumentParser, *, verb: str) -> None:
    """`--from INSTALLATION`: which installation of the root a verb reads."""
    parser.add_argument(
        "--from",
        dest="source",
        type=installation_argument,
        metavar="INSTALLATION",
        help=f"installation to {verb}: current (default), qa, previous, a folder name or a path",
    )


def count_argument(text: str) -> int:
    """A whole number of things, zero or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, not {text}")
    return value


def installation_argument(text: str) -> str:
    """An installation named on the command line (a pointer, a folder name or a path); an empty
    one (`--to "$UNSET"`) is a mistake, never the default installation."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty installation name (is a variable unset?): give qa, current, previous, a "
            "folder name or a path"
        )
    return text


def path_argument(text: str) -> Path:
    """A path typed on the command line; an empty one (`--root "$UNSET"`) is a mistake, never
    the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty path is not a directory (is a variable unset?): give the path, or . for "
            "the current directory"
        )
    return Path(text)


def root_of(args: Any) -> Path:
    """The shared root for this invocation: --root, the setting, or the running installation."""
    from ..discovery import discover_root

    return discover_root(
        explicit=args.root,
        configured=args.settings.shared_root,
        running_prefix=args.running_prefix,
    )
