"""`conda shared release`: make, list, roll back, prune and rebuild an environment's releases."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..release.adopt import Adopted, adopt_env, needs_adoption
from ..release.change import Change, ReleasePlan, ReleaseResult, check_change, release_env
from ..release.manage import (
    Pruned,
    Rebuilt,
    ReleaseList,
    Switched,
    list_releases,
    prune,
    rebuild,
    rollback,
)
from ..release.solve import PackageDiff
from ..text import CommandLine, table
from . import add_source_option, count_argument, path_argument, root_of
from .render import emit, progress_printer

ACTIONS = ("list", "rollback", "prune", "rebuild")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "%(prog)s NAME (--add SPEC... | --remove PKG... | --update PKG... | --file FILE | "
        "--adopt) | list NAME | rollback NAME [--to ID] | prune NAME --keep N | rebuild NAME ID"
    )
    parser.add_argument("words", nargs="+", metavar="NAME", help="the environment (or an action)")
    parser.add_argument("--add", nargs="+", action="extend", default=[], metavar="SPEC")
    parser.add_argument("--remove", nargs="+", action="extend", default=[], metavar="PKG")
    parser.add_argument("--update", nargs="+", action="extend", default=[], metavar="PKG")
    parser.add_argument(
        "--file",
        type=path_argument,
        metavar="FILE",
        help="an environment.yml (the new release is solved from it) or an @EXPLICIT lock",
    )
    parser.add_argument(
        "--adopt", action="store_true", help="make a plain env folder release-managed"
    )
    parser.add_argument(
        "--accept-diff",
        action="store_true",
        help="with adoption: go on when the rebuilt env differs from the plain one",
    )
    parser.add_argument("--to", metavar="ID", help="rollback: the release to switch to")
    parser.add_argument(
        "--keep", type=count_argument, metavar="N", help="prune: how many newest releases stay"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would happen")
    parser.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation (--json implies it)"
    )
    add_source_option(parser, verb="change")


def execute(args: Any) -> int:
    action, name, rest = _words(args.words)
    _refuse_misplaced(args, action)
    root = root_of(args)
    if action == "list":
        listing = list_releases(root=root, installation=args.source, name=name)
        emit(args, listing, render_list)
        return 0
    if action == "rollback":
        switched = rollback(
            root=root, installation=args.source, name=name, to=args.to, dry_run=args.dry_run
        )
        emit(args, switched, render_rollback)
        return 0
    if action == "prune":
        if args.keep is None:
            raise InputError("prune needs --keep N", "Say how many newest releases stay")
        pruned = prune(
            root=root, installation=args.source, name=name, keep=args.keep, dry_run=args.dry_run
        )
        emit(args, pruned, render_prune)
        return 0
    if action == "rebuild":
        rebuilt = rebuild(
            root=root,
            installation=args.source,
            name=name,
            release_id=rest,
            dry_run=args.dry_run,
            progress=progress_printer(args) or (lambda line: None),
        )
        emit(args, rebuilt, lambda r: render_rebuilt(r, args.command_line))
        return 0 if rebuilt.failure is None else 1
    return _release(args, root, name)


def _words(words: Sequence[str]) -> tuple[str, str, str]:
    """(action, NAME, ID): `NAME` alone releases; `ACTION NAME [ID]` does the rest."""
    if len(words) == 1:
        return "release", words[0], ""
    wanted = 3 if words[0] == "rebuild" else 2
    if words[0] in ACTIONS and len(words) == wanted:
        return words[0], words[1], words[2] if wanted == 3 else ""
    raise InputError(
        f"release takes one environment name, or list, rollback or prune and a name, or "
        f"rebuild, a name and a release ID, not {' '.join(words)}",
        "See the forms with --help",
    )


def _refuse_misplaced(args: Any, action: str) -> None:
    changes = args.add or args.remove or args.update or args.file or args.adopt
    misplaced = {
        "--to": args.to is not None and action != "rollback",
        "--keep": args.keep is not None and action != "prune",
        "--add/--remove/--update/--file/--adopt": bool(changes) and action != "release",
    }
    for option, wrong in misplaced.items():
        if wrong:
            raise InputError(
                f"{option} does not go with release {action}", "See the forms with --help"
            )
    if action == "release" and not changes:
        raise InputError(
            "release NAME needs a change: --add, --remove, --update, --file or --adopt",
            "Name what the new release changes",
        )


def _release(args: Any, root: Path, name: str) -> int:
    change = Change(
        add=tuple(args.add),
        remove=tuple(args.remove),
        update=tuple(args.update),
        file=args.file,
    )
    adopted = None
    where = ("--from", args.source) if args.source else ()
    check_change(root=root, installation=args.source, change=change)
    if args.adopt or needs_adoption(root=root, installation=args.source, name=name):
        adopted = adopt_env(
            root=root,
            installation=args.source,
            name=name,
            accept_diff=args.accept_diff,
            dry_run=args.dry_run,
            progress=progress_printer(args) or (lambda line: None),
        )
        if change.empty or adopted.failure is not None or adopted.dry_run:
            emit(args, adopted, lambda a: render_adopted(a, args.command_line, where))
            return 0 if adopted.failure is None else 1
        if not args.json:
            print(render_adopted(adopted, args.command_line, where))
    unattended = args.yes or args.json or args.dry_run

    def confirm(plan: ReleasePlan) -> bool:
        print(render_plan(plan))
        if not sys.stdin.isatty():
            raise InputError(
                f"a release changes {name} for every user, and there is no terminal to confirm "
                "it on",
                "Run it again with --yes",
                command=_again_with_yes(args, name),
            )
        answer = input(f"switch {name} to {plan.release_id}? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    result = release_env(
        root=root,
        installation=args.source,
        name=name,
        change=change,
        dry_run=args.dry_run,
        accept_diff=args.accept_diff,
        confirm=(lambda plan: True) if unattended else confirm,
        progress=progress_printer(args) or (lambda line: None),
    )
    extra = {"adopted": adopted} if adopted is not None else {}
    emit(
        args,
        result,
        lambda r: render_result(r, args.command_line, with_plan=unattended, where=where),
        **extra,
    )
    return 0 if result.failure is None else 1


def _again_with_yes(args: Any, name: str) -> list[str]:
    words = [name]
    for option, values in (("--add", args.add), ("--remove", args.remove)):
        if values:
            words += [option, *values]
    if args.update:
        words += ["--update", *args.update]
    if args.file is not None:
        words += ["--file", str(args.file)]
    if args.source:
        words += ["--from", args.source]
    return ["release", *words, "--yes"]


def render_adopted(adopted: Adopted, command_line: CommandLine, where: tuple[str, ...] = ()) -> str:
    lines = [f"note: {note}" for note in adopted.notes]
    name, release_id = adopted.env, adopted.release_id
    if adopted.dry_run:
        lines.append(
            f"adopt {name} as release {release_id}, rebuilt at {adopted.prefix} from its own "
            "lock (dry run: nothing changed)"
        )
        return "\n".join(lines)
    if adopted.failure is not None:
        failure = adopted.failure
        lines.append(f"FAILED ({failure.failure_class}): {failure.message}; {name} is unchanged")
        lines += render_diff(adopted.diff)
        if failure.failure_class == "adopt-diff":
            again = command_line("release", name, "--adopt", "--accept-diff", *where)
            lines.append(f"to adopt it with these differences: {again}")
        return "\n".join(lines)
    same = "the same packages" if adopted.diff.empty else "these differences, accepted:"
    lines.append(f"adopted {name} as release {release_id}, rebuilt from its own lock with {same}")
    lines += render_diff(adopted.diff)
    how = "in one step" if adopted.one_step is not False else "by two renames"
    lines.append(f"  envs/{name} -> .releases/{name}/{release_id} (switched {how})")
    lines.append(
        f"  the plain folder is kept as .releases/{name}/.adopted-{release_id}: not runnable, "
        f"removed by {command_line('release', 'prune', name, '--keep', 'N', *where)}"
    )
    return "\n".join(lines)


def render_diff(diff: PackageDiff) -> list[str]:
    lines = [f"  + {name} {version}" for name, version in diff.added]
    lines += [f"  - {name} {version}" for name, version in diff.removed]
    lines += [f"  ~ {name} {old} -> {new}" for name, old, new in diff.changed]
    return lines


def render_plan(plan: ReleasePlan) -> str:
    solved = plan.solution
    how = {
        "pinned": "every other package kept as it is",
        "loose": "the pinned solve had no answer: solved from the env's requested specs",
        "file": f"from {plan.change.file}",
    }[solved.strategy]
    lines = [f"release {plan.env} {plan.release_id} (from {plan.parent}): {how}"]
    lines += render_diff(solved.diff)
    return "\n".join(lines)


def render_result(
    result: ReleaseResult,
    command_line: CommandLine,
    *,
    with_plan: bool,
    where: tuple[str, ...] = (),
) -> str:
    lines = [f"note: {note}" for note in result.notes]
    if result.plan is not None and (with_plan or result.failure is not None):
        lines.append(render_plan(result.plan))
    if result.failure is not None:
        failure = result.failure
        lines.append(
            f"FAILED ({failure.failure_class}): {failure.message}; {result.env} is unchanged "
            f"(release {result.parent})"
        )
    elif result.switched:
        lines.append(f"{result.env} -> {result.release_id} (was {result.parent})")
        lines.append(f"undo: {command_line('release', 'rollback', result.env, *where)}")
    elif result.plan is not None and result.record is None:
        lines.append("dry run: nothing changed" if with_plan else "declined: nothing changed")
    return "\n".join(lines)


def render_list(listing: ReleaseList) -> str:
    rows = []
    for entry in listing.releases:
        marks = [m for m, on in (("current", entry.current), ("pinned", entry.pinned)) if on]
        if not entry.present:
            marks.append("pruned")
        diff = entry.diff or {}
        summary = ", ".join(
            [f"+{a[0]}" for a in diff.get("added", [])]
            + [f"-{r[0]}" for r in diff.get("removed", [])]
            + [f"~{c[0]} {c[2]}" for c in diff.get("changed", [])]
        )
        rows.append(
            [
                entry.id,
                " ".join(marks) or "-",
                entry.kind or "-",
                entry.created or "-",
                entry.user or "-",
                summary or "-",
            ]
        )
    header = ["RELEASE", "STATE", "KIND", "CREATED", "BY", "CHANGE"]
    lines = [f"{listing.env} in {listing.installation}", table(rows, header)]
    lines += [f"adopted folder kept: .adopted-{a}" for a in listing.adopted]
    return "\n".join(lines)


def render_rollback(switched: Switched) -> str:
    lines = [f"note: {note}" for note in switched.notes]
    if switched.dry_run:
        lines.append(f"{switched.env} would go {switched.source} -> {switched.target} (dry run)")
    elif switched.switched:
        lines.append(f"{switched.env} -> {switched.target} (was {switched.source})")
    else:
        lines.append(f"{switched.env} already is {switched.target}: nothing changed")
    return "\n".join(lines)


def render_prune(pruned: Pruned) -> str:
    verb = "would remove" if pruned.dry_run else "removed"
    lines = [f"{pruned.env}: kept {', '.join(pruned.kept)}"]
    lines += [f"  {verb} {release_id}" for release_id in pruned.removed]
    lines += [f"  {verb} {folder}" for folder in pruned.removed_adopted]
    if not pruned.removed and not pruned.removed_adopted:
        lines.append("  nothing to remove")
    return "\n".join(lines)


def render_rebuilt(rebuilt: Rebuilt, command_line: CommandLine) -> str:
    if rebuilt.failure is not None:
        failure = rebuilt.failure
        return f"FAILED ({failure.failure_class}): {failure.message}; nothing was kept"
    if rebuilt.dry_run:
        return f"would rebuild {rebuilt.env} {rebuilt.release_id} at {rebuilt.prefix}"
    switch = command_line("release", "rollback", rebuilt.env, "--to", rebuilt.release_id)
    return f"rebuilt {rebuilt.env} {rebuilt.release_id} at {rebuilt.prefix}; use it: {switch}"
