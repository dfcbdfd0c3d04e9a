"""`conda shared overlay`: extend a read-only env with pip packages in a per-user (or admin)
overlay: install, list, remove, clear, activate, run, check, clone."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..text import CommandLine, command_words, quoted
from . import add_source_option, path_argument, root_of

ACTIONS = {
    "install": "pip-install packages into ENV's overlay (options after -- go to pip).",
    "remove": "Remove packages from ENV's overlay (never from the env).",
    "clear": "Remove everything from ENV's overlay; its ledger stays.",
    "list": "List overlaid packages, what they shadow in the env, and (--history) the ledger.",
    "activate": "Print shell code for eval that applies ENV's overlays (and deactivate_overlay).",
    "run": "Run one command with ENV's overlays applied: run ENV -- CMD...",
    "check": "pip check over env + overlays, import every overlaid package, report env drift.",
    "clone": "Create a personal env from ENV's lock (no solve), minus --without packages.",
}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions")
    actions.required = True
    # --root/--json are accepted after the action too; SUPPRESS keeps a value given before it.
    late = argparse.ArgumentParser(add_help=False)
    late.add_argument(
        "--root",
        type=path_argument,
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the shared root",
    )
    late.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    made = {
        name: actions.add_parser(name, help=summary, description=summary, parents=[late])
        for name, summary in ACTIONS.items()
    }
    for name in ("install", "remove", "clear"):
        made[name].add_argument(
            "--admin",
            action="store_true",
            help="change the admin overlay in ROOT/overlays (applies to every user)",
        )
    for name, action in made.items():
        add_source_option(action, verb="look ENV names up in")
        if name != "list":
            action.add_argument("env", metavar="ENV", help="environment name or path")
    made["install"].add_argument(
        "--retarget",
        action="store_true",
        help="let an overlay made for another path of ENV (before a cutover) follow it",
    )
    made["install"].add_argument(
        "items",
        nargs=argparse.REMAINDER,
        metavar="PKG... [-- PIP-OPTIONS]",
        help="requirements (-e DIR for editable), then pip options such as --no-index",
    )
    made["remove"].add_argument("packages", nargs="+", metavar="PKG")
    made["list"].add_argument("env", nargs="?", metavar="ENV", help="only this environment")
    made["list"].add_argument("--history", action="store_true", help="show the ledger")
    made["activate"].add_argument(
        "--shell",
        choices=("bash", "zsh", "fish", "csh", "powershell"),
        default=None,
        help="shell to write code for (default: from $SHELL, else bash)",
    )
    made["run"].add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD...")
    made["clone"].add_argument("--to", type=path_argument, required=True, metavar="PATH")
    made["clone"].add_argument(
        "--without", action="append", default=[], metavar="PKG", help="leave PKG out (repeat)"
    )


def execute(args: Any) -> int:
    return int(globals()[f"_{args.action}"](args))


def _root(args: Any) -> Path | None:
    """The shared root if one is known (admin overlays and ENV names need it), else None."""
    given = args.root or args.settings.shared_root
    if given is not None:
        return Path(given)  # as root_of would, without importing the root readers (`run`)
    try:
        return root_of(args)
    except InputError:
        return None


def _placement(args: Any) -> Any:
    from ..overlay.locate import place, resolve_env

    root = _root(args)
    env = resolve_env(args.env, root=root, installation=args.source)
    return place(env, overlays_dir=args.settings.overlays_dir, root=root)


def _scope(args: Any) -> str:
    return "admin" if args.admin else "user"


def _install(args: Any) -> int:
    from ..overlay.change import install
    from ..overlay.pip import absolute_paths
    from .render import emit, progress_printer

    packages, pip_options = _install_items(args)
    try:
        here: Path | None = Path.cwd()
    except OSError:  # deleted or unreachable: only a relative path needs it
        here = None
    result = install(
        placement=_placement(args),
        scope=_scope(args),
        packages=absolute_paths(packages, base=here),
        pip_options=absolute_paths(pip_options, base=here),
        command=_command(
            args, "install", [*packages, *(["--", *pip_options] if pip_options else [])]
        ),
        environ=os.environ,
        retarget=args.retarget,
        progress=progress_printer(args),
    )
    emit(args, result, _render_change)
    return 0


# Our own options typed after ENV, where argparse leaves them in the command or package words.
_LATE_FLAGS = {
    "install": {"--admin": "admin", "--retarget": "retarget", "--json": "json"},
    "run": {"--json": "json"},
}
_LATE_VALUES = {"--root": "root", "--from": "source"}


def _take_option(args: Any, word: str, words: Iterator[str]) -> bool:
    """Set `word` (and its value, from `words`) when it is one of our options; else False."""
    if word in _LATE_FLAGS[args.action]:
        setattr(args, _LATE_FLAGS[args.action][word], True)
        return True
    name, has_value, value = word.partition("=")
    if name not in _LATE_VALUES:
        return False
    if not has_value:
        value = next(words, "")
    if not value:
        raise InputError(f"{name} needs a value", f"Write {name} VALUE right after ENV")
    if name == "--root":
        args.root = _root_word(value)
        args.command_line = replace(args.command_line, root=str(args.root))
    else:
        setattr(args, _LATE_VALUES[name], value)
    return True


def _install_items(args: Any) -> tuple[list[str], list[str]]:
    """Split `PKG... [-- PIP-OPTIONS]`; our own options typed after ENV still count as ours."""
    items = list(args.items)
    cut = items.index("--") if "--" in items else len(items)
    packages: list[str] = []
    pip_options = items[cut + 1 :]
    words = iter(items[:cut])
    for word in words:
        if _take_option(args, word, words):
            continue
        if word.startswith("-") and word not in ("-e", "--editable"):
            raise InputError(
                f"{word} is not an option of `overlay install`",
                "Put pip options after --",
                command=("overlay", "install", args.env, *packages, "--", word),
            )
        packages.append(word)
    return packages, pip_options


def _run_command(args: Any) -> list[str]:
    """The command of `run ENV [OPTIONS] [--] CMD...`: options up to the first word that is not
    one, or up to `--`, are ours; the rest is the command, untouched."""
    words = iter(args.command)
    for word in words:
        if word == "--":
            return list(words)
        if not word.startswith("-"):
            return [word, *words]
        if not _take_option(args, word, words):
            raise InputError(
                f"{word} is not an option of `overlay run`",
                "Put the command after --",
                command=("overlay", "run", args.env, "--", word),
            )
    return []


def _root_word(value: str) -> Path:
    """`--root DIR` typed after ENV, checked as the parser checks it before ENV."""
    try:
        return path_argument(value)
    except argparse.ArgumentTypeError as error:
        raise InputError(f"argument --root: {error}", "Pass --root DIR") from None


def _remove(args: Any) -> int:
    from ..overlay.change import remove
    from .render import emit

    result = remove(
        placement=_placement(args),
        scope=_scope(args),
        names=args.packages,
        command=_command(args, "remove", args.packages),
        environ=os.environ,
    )
    emit(args, result, _render_change)
    return 0


def _clear(args: Any) -> int:
    from ..overlay.change import clear
    from .render import emit

    result = clear(
        placement=_placement(args), scope=_scope(args), command=_command(args, "clear", [])
    )
    emit(args, result, _render_change)
    return 0


def _command(args: Any, action: str, rest: list[str]) -> str:
    scope = ["--admin"] if args.admin else []
    return command_words(["conda", "shared", "overlay", action, *scope, args.env, *rest])


def _render_change(result: Any) -> str:
    lines = [f"{result.action}: {result.overlay} ({result.scope} overlay of {result.env})"]
    for change in result.changes:
        if change.before and change.after:
            lines.append(f"  ~ {change.name} {change.before} -> {change.after}")
        elif change.after:
            lines.append(f"  + {change.name} {change.after}")
        else:
            lines.append(f"  - {change.name} {change.before}")
    if not result.changes:
        lines.append(
            "  nothing changed" + (f" ({'; '.join(result.notes)})" if result.notes else "")
        )
    lines += [f"warning: {problem}" for problem in result.problems]
    return "\n".join(lines)


def _list(args: Any) -> int:
    from ..overlay.listing import list_overlays
    from ..overlay.locate import all_overlays
    from .render import emit

    if args.env is None:
        overlays = all_overlays(overlays_dir=args.settings.overlays_dir, root=_root(args))
        result = list_overlays(
            overlays=overlays, env=None, history=args.history, command_line=args.command_line
        )
    else:
        placement = _placement(args)
        existing = [
            o
            for o in (placement.user, placement.admin)
            if o is not None and (o.exists or o.problem)
        ]
        result = list_overlays(
            overlays=existing,
            env=placement.env.prefix,
            history=args.history,
            command_line=args.command_line,
        )
    emit(args, result, _render_list)
    return 0


def _render_list(result: Any) -> str:
    if not result.overlays:
        where = f" for {result.env}" if result.env else ""
        return f"no overlays{where}"
    lines = []
    for overlay in result.overlays:
        target = f" -> env {overlay.target}" if overlay.target else ""
        lines.append(f"{overlay.scope} overlay {overlay.path}{target}")
        if overlay.note:
            lines.append(f"  note: {overlay.note}")
        for dist in overlay.dists:
            shadow = f"shadows env {dist.shadows}" if dist.shadows else "new"
            editable = "  (editable)" if dist.source == "editable" else ""
            lines.append(f"  {dist.name:<24} {dist.version:<14} {shadow}{editable}")
        if not overlay.dists:
            lines.append("  (empty)")
        for entry in overlay.history:
            lines.append(f"  {entry.date}  {entry.user}  {entry.command}")
            lines += [f"      -{name}" for name in entry.removed]
            lines += [f"      +{name}" for name in entry.added]
    return "\n".join(lines)


def _activate(args: Any) -> int:
    from ..overlay.activate import activation, shell_code

    placement = _placement(args)
    _warn_ignored(placement)
    shell = args.shell or _shell_from(os.environ.get("SHELL", ""))
    print(
        shell_code(
            activation(placement.env, placement.activated()), shell=shell, environ=os.environ
        ),
        end="",
    )
    return 0


def _shell_from(login_shell: str) -> str:
    name = Path(login_shell).name
    return {"tcsh": "csh", "pwsh": "powershell"}.get(
        name, name if name in ("zsh", "fish", "csh") else "bash"
    )


def _run(args: Any) -> int:
    from ..overlay.activate import activation
    from ..overlay.locate import runnable_python

    command = _run_command(args)
    if not command:
        raise InputError(
            "no command to run",
            "Give one after --",
            command=("overlay", "run", args.env, "--", "python"),
        )
    placement = _placement(args)
    runnable_python(placement.env)
    _warn_ignored(placement)
    # The env's own programs come right after the overlays' scripts, as `conda run` would.
    path = os.pathsep.join([str(placement.env.prefix / "bin"), os.environ.get("PATH", "")])
    environ = activation(placement.env, placement.activated()).applied_to(
        {**os.environ, "PATH": path}
    )
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, environ)
    except OSError as error:
        raise InputError(
            f"cannot run {command[0]}: {error.strerror}",
            "Check the command; this runs the env's Python",
            command=("overlay", "run", args.env, "--", "python"),
        ) from None


def _warn_ignored(placement: Any) -> None:
    for overlay in placement.ignored():
        print(f"warning: ignoring the overlay {overlay.path}: {overlay.problem}", file=sys.stderr)


def _check(args: Any) -> int:
    from ..overlay.check import check_overlays
    from .render import emit

    result = check_overlays(placement=_placement(args), environ=os.environ)
    emit(args, result, lambda checked: _render_check(checked, args.command_line), ok=result.ok)
    return 0 if result.ok else 1


def _render_check(result: Any, command_line: CommandLine) -> str:
    lines = [f"check {result.env} with overlays: {', '.join(map(str, result.overlays)) or 'none'}"]
    lines += [f"  pip check: {line}" for line in result.pip_problems]
    for item in result.imports:
        state = "ok    " if item.ok else "FAILED"
        lines.append(f"  {state} import {item.module} ({item.dist}): {item.detail}")
    lines += [f"warning: {warning}" for warning in result.warnings]
    lines += redundant_lines(result.redundant, command_line)
    lines.append("ok" if result.ok else "problems found")
    return "\n".join(lines)


def _admin_flag(scope: str) -> list[str]:
    return ["--admin"] if scope == "admin" else []


def redundant_lines(copies: Any, command_line: CommandLine) -> list[str]:
    """`no longer needed` lines for overlay copies the env now holds itself."""
    lines = []
    for copy in copies:
        flag = _admin_flag(copy.scope)
        remove = command_line("overlay", "remove", *flag, copy.env, copy.name)
        if not copy.applies:  # made for an earlier path: overlay remove refuses it until then
            retarget = command_line("overlay", "install", *flag, copy.env, "--retarget")
            remove = f"{retarget}, then {remove}"
        lines.append(
            f"no longer needed: {copy.name} {copy.overlay_version} in the {copy.scope} overlay "
            f"{copy.overlay}: {copy.env} now has {copy.env_version} itself; remove the copy: "
            + remove
        )
    return lines


def _clone(args: Any) -> int:
    from ..layout import open_root
    from ..overlay.clone import clone_env
    from ..overlay.locate import resolve_env
    from .render import emit, progress_printer

    root = _root(args)
    env = resolve_env(args.env, root=root, installation=args.source)
    result = clone_env(
        env=env,
        destination=args.to.expanduser().absolute(),
        without=args.without,
        specs_dir=open_root(root).specs_dir if root else None,
        environ=os.environ,
        progress=progress_printer(args),
    )
    emit(args, result, lambda clone: _render_clone(clone, args.command_line))
    return 0


def _render_clone(result: Any, command_line: CommandLine) -> str:
    lines = [
        f"cloned {result.baseline.source_env} to {result.destination}: {result.packages} "
        f"packages from {result.baseline.lock_source}",
        f"  baseline content key {result.baseline.source_key}",
    ]
    if result.baseline.without:
        lines.append(f"  left out: {', '.join(result.baseline.without)}")
    lines += [f"warning: {item}, which was left out" for item in result.dependents_left]
    if result.pip_not_cloned:
        lines.append(
            "note: pip packages not cloned: "
            + command_words(["pip", "install", *result.pip_not_cloned])
        )
    lines.append(
        f"next: conda activate {quoted(result.destination)}; "
        f"`{command_line('overlay', 'check', result.destination)}` says when the baseline changes"
    )
    return "\n".join(lines)
