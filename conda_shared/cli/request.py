"""`conda shared request`: ask for packages in a shared env (NAME --add ...), list, withdraw;
admins: list --all, show, approve into a release, deny."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..text import CommandLine, table
from . import add_source_option, root_of
from .overlay import redundant_lines
from .render import emit, progress_printer, to_jsonable

ACTIONS = ("list", "show", "withdraw", "approve", "deny")
_DIFF_LISTED = 8


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="NAME|ACTION",
        help="the environment to ask a change of, or one of: " + ", ".join(ACTIONS),
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="request ids (show, withdraw, ...)")
    parser.add_argument("--add", nargs="+", default=[], metavar="SPEC", help="packages to add")
    parser.add_argument("--remove", nargs="+", default=[], metavar="PKG", help="packages to remove")
    parser.add_argument("--reason", default="", metavar="TEXT", help="why (filing, deny)")
    parser.add_argument(
        "--file-anyway",
        action="store_true",
        help="file a request that does not solve, its failure attached, for an admin to judge",
    )
    parser.add_argument("--all", action="store_true", help="list: every user's requests (root)")
    parser.add_argument(
        "--no-solve", action="store_true", help="list --all: skip the diff each would bring now"
    )
    parser.add_argument("--dry-run", action="store_true", help="approve: show the plan only")
    parser.add_argument(
        "--yes", "-y", action="store_true", help="approve: do not ask (--json implies it)"
    )
    add_source_option(parser, verb="look NAME up in")


def execute(args: Any) -> int:
    if args.target not in ACTIONS:
        return _file(args)
    if args.target == "list":
        return _list_all(args) if args.all else _list_own(args)
    if args.target in ("show", "withdraw", "deny") and len(args.ids) != 1:
        raise InputError(
            f"request {args.target} takes one request id, not {len(args.ids)}",
            f"Give one id: `{args.command_line('request', args.target, 'ID')}`",
        )
    if not args.ids:
        raise InputError(
            "request approve needs the ids to approve",
            "See the pending requests",
            command=("request", "list", "--all"),
        )
    return int(globals()[f"_{args.target}"](args))


def _file(args: Any) -> int:
    from ..requests.filing import file_request

    if args.ids:
        raise InputError(
            f"request {args.target} takes no words after NAME ({' '.join(args.ids)})",
            "Name the packages with --add (and --remove)",
            command=("request", args.target, "--add", *args.ids),
        )
    result = file_request(
        root=root_of(args),
        installation=args.source,
        name=args.target,
        add=args.add,
        remove=args.remove,
        reason=args.reason,
        file_anyway=args.file_anyway,
        notify_command=args.settings.request_notify,
        progress=progress_printer(args) or (lambda line: None),
    )
    emit(args, result, lambda filed: _render_filed(filed, args.command_line))
    return 0


def _render_filed(result: Any, command_line: CommandLine) -> str:
    change = " ".join([*(f"+{s}" for s in result.add), *(f"-{p}" for p in result.remove)])
    lines = [f"filed request {result.id} for {result.env} ({result.installation.name}): {change}"]
    if result.failure is not None:
        lines.append(
            f"  it does not solve now ({result.failure['class']}): {result.failure['message']}"
        )
    else:
        lines.append(f"  the release would bring: {diff_text(to_jsonable(result.diff))}")
    for words in result.overlay_commands:
        lines.append(f"  for right now, in your own overlay: {command_line(*words)}")
    for spec in result.no_overlay:
        lines.append(f"  {spec}: no PyPI distribution, so no overlay can stand in for it")
    lines += [f"warning: {warning}" for warning in result.warnings]
    lines.append(f"see its state: {command_line('request', 'list')}")
    return "\n".join(lines)


def _list_own(args: Any) -> int:
    from ..requests.filing import own_requests

    result = own_requests(
        root=root_of(args), installation=args.source, overlays_dir=args.settings.overlays_dir
    )
    emit(args, result, lambda own: _render_own(own, args.command_line))
    return 0


def _render_own(result: Any, command_line: CommandLine) -> str:
    if not result.requests:
        return f"you have filed no requests in {result.root}"
    rows = [[r.id, r.env, _change(r), r.filed, r.state_text] for r in result.requests]
    lines = [table(rows, ["id", "env", "change", "filed", "state"])]
    lines += redundant_lines(result.redundant, command_line)
    return "\n".join(lines)


def _list_all(args: Any) -> int:
    from ..requests.review import list_inbox

    result = list_inbox(root=root_of(args), solve_now=not args.no_solve)
    emit(args, result, _render_inbox)
    return 0


def _render_inbox(result: Any) -> str:
    lines = []
    if not result.requests:
        lines.append(f"no requests in {result.root}")
    for item in result.requests:
        r = item.request
        lines.append(
            f"{r.id}  {r.state_text}  {r.requester} (uid {r.uid})  {_age(item.age_seconds)}  "
            f"{r.installation}/{r.env}  {_change(r)}"
        )
        lines += _detail_lines(item)
    lines += [
        f"set aside: {a.name} (owner uid {a.uid if a.uid is not None else '?'}): {a.reason}"
        for a in result.set_aside
    ]
    return "\n".join(lines)


def _detail_lines(item: Any) -> list[str]:
    r = item.request
    lines = [f"    reason: {r.reason}"] if r.reason else []
    if r.failure_at_filing is not None:
        failure = r.failure_at_filing
        lines.append(f"    at filing: did not solve ({failure.get('class')})")
    elif r.diff_at_filing is not None:
        lines.append(f"    at filing: {diff_text(r.diff_at_filing)}")
    if item.failure_now is not None:
        lines.append(f"    now: does not solve: {item.failure_now}")
    elif item.diff_now is not None:
        lines.append(f"    now: {diff_text(to_jsonable(item.diff_now))}")
    return lines


def _show(args: Any) -> int:
    from ..requests.review import show_request

    item = show_request(root=root_of(args), request_id=args.ids[0])
    emit(args, item, lambda shown: "\n".join(_show_lines(shown)))
    return 0


def _show_lines(item: Any) -> list[str]:
    r = item.request
    lines = [
        f"request {r.id}: {r.state_text}",
        f"  requester: {r.requester} (uid {r.uid}, the owner of the request file)",
        f"  env: {r.env} in {r.installation}",
        f"  change: {_change(r)}",
        f"  filed: {r.filed} ({_age(item.age_seconds)} ago)",
    ]
    if r.answered_by:
        lines.append(f"  answered by: {r.answered_by}")
    return lines + _detail_lines(item)


def _withdraw(args: Any) -> int:
    from ..requests.filing import withdraw

    result = withdraw(root=root_of(args), request_id=args.ids[0])
    emit(args, result, lambda r: f"withdrew request {r.id} ({r.env}: {_change(r)})")
    return 0


def _approve(args: Any) -> int:
    from ..requests.review import approve_requests

    ask = not (args.yes or args.json or args.dry_run)  # --json implies --yes, as for release
    if ask and not sys.stdin.isatty():
        raise InputError(
            "approving builds and switches a release, and there is nobody to confirm it",
            "Look at the plan first, then approve with --yes",
            command=("request", "approve", *args.ids, "--dry-run"),
        )
    result = approve_requests(
        root=root_of(args),
        request_ids=args.ids,
        dry_run=args.dry_run,
        confirm=_confirm if ask else (lambda plan: True),
        progress=progress_printer(args) or (lambda line: None),
        notify_command=args.settings.request_notify,
    )
    emit(args, result, _render_approvals)
    return 0 if all(a.failure is None for a in result.approvals) else 1


def _confirm(plan: Any) -> bool:
    print(f"release {plan.env} {plan.release_id} (parent {plan.parent}):", file=sys.stderr)
    print(f"  {diff_text(to_jsonable(plan.solution.diff))}", file=sys.stderr)
    answer = input("Build and switch to it? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _render_approvals(result: Any) -> str:
    lines = []
    for a in result.approvals:
        ids = " ".join(a.requests)
        if a.failure is not None:
            lines.append(f"{a.env}: not released ({a.failure}); requests {ids} stay pending")
        elif a.switched:
            lines.append(f"{a.env}: released as {a.release_id}; approved {ids}")
        elif a.plan is not None:
            diff = diff_text(to_jsonable(a.plan.solution.diff))
            lines.append(f"{a.env}: would release {a.release_id} for {ids}: {diff}")
        else:
            lines.append(f"{a.env}: not released (declined); requests {ids} stay pending")
    lines += [f"warning: {warning}" for warning in result.warnings]
    return "\n".join(lines)


def _deny(args: Any) -> int:
    from ..requests.review import deny_request

    result = deny_request(
        root=root_of(args),
        request_id=args.ids[0],
        reason=args.reason,
        notify_command=args.settings.request_notify,
    )
    lines = [f"denied request {result.request.id} ({result.request.env}): {args.reason}"]
    lines += [f"warning: {warning}" for warning in result.warnings]
    emit(args, result, lambda _: "\n".join(lines))
    return 0


def diff_text(diff: Mapping[str, Any]) -> str:
    """`+scipy 1.11, ~numpy 1.25 -> 1.26, -six 1.16`, the first few of each, then a count."""
    items = [f"+{name} {version}" for name, version in diff.get("added") or []]
    items += [f"~{name} {old} -> {new}" for name, old, new in diff.get("changed") or []]
    items += [f"-{name} {version}" for name, version in diff.get("removed") or []]
    if not items:
        return "no package changes"
    more = len(items) - _DIFF_LISTED
    return ", ".join(items[:_DIFF_LISTED]) + (f" and {more} more" if more > 0 else "")


def _change(request: Any) -> str:
    return " ".join([*(f"+{s}" for s in request.add), *(f"-{p}" for p in request.remove)])


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"
