"""`conda shared cutover`: preflight, then switch `current` to the qa installation, or roll back."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..cutover import CutoverResult, cutover
from ..cutover.preflight import Check
from ..errors import InputError
from ..text import CommandLine
from . import installation_argument, root_of
from .render import to_jsonable


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to",
        type=installation_argument,
        metavar="INSTALLATION",
        help="qa (default) or the folder name of an installation in the root",
    )
    parser.add_argument("--rollback", action="store_true", help="swap current and previous back")
    parser.add_argument(
        "--dry-run", action="store_true", help="run the preflight only; change nothing"
    )
    parser.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation (--json implies it)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="switch even when preflight items fail (recorded in the audit log)",
    )


def execute(args: Any) -> int:
    if args.rollback and args.to:
        raise InputError(
            "--rollback goes back to the previous installation; it takes no --to",
            "Leave out --to, or cut over to a named installation without --rollback",
        )
    unattended = args.yes or args.json or args.dry_run
    if not unattended and not sys.stdin.isatty():
        raise InputError(
            "a cutover changes the installation every user gets, and there is no terminal to "
            "confirm it on",
            "Preview it with --dry-run, then run it again with --yes",
        )
    root = root_of(args)
    shown: list[CutoverResult] = []  # the preflight, once shown with the question

    def confirm_on_terminal(draft: CutoverResult) -> bool:
        shown.append(draft)
        return _ask(draft, args.command_line)

    confirm = None if unattended else confirm_on_terminal
    # A switch takes microseconds: its steps come with the result, not as progress.
    result = cutover(
        root=root,
        to=args.to or "qa",
        rollback=args.rollback,
        force=args.force,
        dry_run=args.dry_run,
        confirm=confirm,
    )
    if args.json:
        print(json.dumps(as_document(result, args.command_line), indent=2))
    else:
        print(render(result, args.command_line, with_preflight=not shown))
    if result.switched or (not result.preflight and not result.dry_run):
        return 0
    return 0 if result.dry_run and result.preflight_ok else 1


def as_document(result: CutoverResult, command_line: CommandLine) -> dict[str, Any]:
    """The --json document: exactly the keys the interface promises."""
    return {
        "from": result.source,
        "to": result.target,
        "switched": result.switched,
        "forced": result.forced,
        "preflight": [
            {
                "name": check.name,
                "ok": check.ok,
                "detail": check.detail,
                "fix": fix_text(check, command_line),
            }
            for check in result.preflight
        ],
        "pointers": to_jsonable(result.pointers),
    }


def fix_text(check: Check, command_line: CommandLine) -> str | None:
    """The fix as printed: its words, then its commands spelled for this command line."""
    commands = "; ".join(command_line(*command) for command in check.commands)
    if check.fix and commands:
        return f"{check.fix}: {commands}"
    return check.fix or commands or None


def render(result: CutoverResult, command_line: CommandLine, *, with_preflight: bool = True) -> str:
    title = f"{result.action} {result.source or '(no current)'} -> {result.target}"
    lines = [title + ("  (dry run: nothing changed)" if result.dry_run else "")]
    if result.preflight and with_preflight:
        lines.append("preflight:")
        width = max(len(check.name) for check in result.preflight)
        for check in result.preflight:
            mark = "ok  " if check.ok else "FAIL"
            lines.append(f"  {mark}  {check.name:<{width}}  {check.detail}")
            fix = fix_text(check, command_line)
            if fix:
                lines.append(f"        {'':<{width}}  fix: {fix}")
    if result.steps:
        lines.append("switch:")
        lines += [f"  {step}" for step in result.steps]
    lines.append(_pointers_line(result))
    lines += [f"note: {note}" for note in result.notes]
    lines.append(_outcome(result, command_line))
    return "\n".join(lines)


def _pointers_line(result: CutoverResult) -> str:
    state = result.pointers
    shown = [
        f"{name} -> {value}" if value else f"{name} (not set)"
        for name, value in (
            ("current", state.current),
            ("previous", state.previous),
            ("qa", state.qa),
        )
    ]
    return "pointers: " + ", ".join(shown)


def _outcome(result: CutoverResult, command_line: CommandLine) -> str:
    failed = [check.name for check in result.preflight if not check.ok]
    if result.switched:
        forced = f" (forced past: {', '.join(failed)}; logged)" if result.forced else ""
        if result.action == "rollback":
            return f"rolled back: current -> {result.target}{forced}"
        return (
            f"switched: current -> {result.target}{forced}\n"
            f"next: if anything falls apart: {command_line('cutover', '--rollback')}"
        )
    if result.nothing_to_switch:
        return "nothing to switch"
    if result.dry_run:
        if failed:
            return f"preflight: {len(failed)} failed ({', '.join(failed)}); fix them or use --force"
        return f"preflight passed; run it: {command_line(*_command(result), '--yes')}"
    if failed:
        return (
            f"not switched: {len(failed)} preflight item(s) failed ({', '.join(failed)}); "
            "fix them, or switch anyway with --force (recorded in the log)"
        )
    return "not switched"


def _command(result: CutoverResult) -> tuple[str, ...]:
    if result.action == "rollback":
        return ("cutover", "--rollback")
    return ("cutover", "--to", result.target)


def _ask(draft: CutoverResult, command_line: CommandLine) -> bool:
    print(render(draft, command_line).rsplit("\n", 1)[0])  # all but the outcome line
    question = (
        f"Switch current from {draft.source or '(none)'} to {draft.target} for every user? [y/N] "
    )
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
