"""`conda shared replicate`: rebuild environments in another installation with its own conda."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..text import table
from . import add_source_option, root_of

if TYPE_CHECKING:
    from ..replicate.plan import Step
    from ..replicate.report import Report
    from ..replicate.run import ReplicateResult


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "envs",
        nargs="*",
        metavar="ENV",
        help="environment names (default: those the inventory marks REPLICATE)",
    )
    parser.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="inventory file (default ROOT/specs/<installation>/inventory.ini)",
    )
    add_source_option(parser, verb="replicate from")
    parser.add_argument(
        "--to",
        dest="target",
        metavar="INSTALLATION",
        help="installation to build in: qa (default), a folder name or a path",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="build N environments at once (1)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the latest run: redo failed and unstarted"
    )
    parser.add_argument(
        "--relax",
        action="store_true",
        help="fourth rung: unpin exactly the packages the loose level could not find",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (strategies, commands); touch nothing",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace environments that already exist in the target"
    )
    parser.add_argument("--task", nargs=2, metavar=("RUN_DIR", "INDEX"), help=argparse.SUPPRESS)


def execute(args: Any) -> int:
    if args.task:
        return _task(args.task)
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs} is not a number of jobs", "Give --jobs 1 or more")
    if args.resume and (args.envs or args.inventory):
        raise InputError(
            "--resume continues the latest run's environments; it takes no names or inventory",
            "Drop them, or start a new run without --resume",
        )
    from ..replicate.run import replicate

    with _sigterm_as_interrupt():
        result = replicate(
            root=root_of(args),
            names=args.envs,
            inventory=args.inventory,
            source=args.source,
            target=args.target,
            jobs=args.jobs,
            resume=args.resume,
            relax=args.relax,
            dry_run=args.dry_run,
            force=args.force,
            progress=_progress(args),
        )
    if result.dry_run:
        _print_plan(result, as_json=args.json)
        return 0
    assert result.report is not None
    from ..replicate.report import report_to_json

    if args.json:
        print(json.dumps(report_to_json(result.report), indent=2))
    else:
        print(render_report(result.report))
    if result.interrupted:
        print(
            f"conda-shared: interrupted; {len(result.report.envs)} of "
            f"{len(result.report.planned)} envs finished (report in {result.report.run_dir}). "
            "Run `conda shared replicate --resume` to continue",
            file=sys.stderr,
        )
        return 130
    return 0 if all(env.status == "replicated" for env in result.report.envs) else 1


def render_report(report: Report) -> str:
    from ..replicate.report import describe_diff, describe_smoke

    rows = []
    for env in report.envs:
        if env.status == "replicated":
            detail = f"smoke {describe_smoke(env.smoke) or 'not run'}; {describe_diff(env.diff)}"
        else:
            detail = env.error or ""
        klass = env.failure_class or ""
        packages = " ".join(env.failure_packages)
        rows.append([env.name, env.status, env.strategy or "-", klass or "-", packages, detail])
    lines = (
        [table(rows, ["ENV", "STATUS", "STRATEGY", "CLASS", "PACKAGES", "DETAIL"])] if rows else []
    )
    lines.append(report.summary())
    lines.append(f"report: {report.run_dir / 'report.md'} (and report.json, report.csv)")
    return "\n".join(lines)


def _print_plan(result: ReplicateResult, *, as_json: bool) -> None:
    from ..replicate.plan import plan_to_json

    if as_json:
        document = {
            "from": str(result.plan.source),
            "to": str(result.plan.target),
            "preflight": [vars(item) for item in result.preflight],
            "existing": list(result.existing),
            "notes": list(result.notes),
            "envs": [plan_to_json(env) for env in result.plan.envs],
        }
        print(json.dumps(document, indent=2))
        return
    plan = result.plan
    lines = [f"plan: replicate {len(plan.envs)} env(s) from {plan.source} to {plan.target}"]
    for item in result.preflight:
        mark = "ok    " if item.ok else "FAILED"
        fix = f" (fix: {item.fix})" if item.fix else ""
        lines.append(f"preflight {mark} {item.name}: {item.detail}{fix}")
    lines += [f"note: {note}" for note in result.notes]
    for env in plan.envs:
        lines.append("")
        exists = (
            " (exists in the target: skipped unless --force)" if env.name in result.existing else ""
        )
        strategies = " → ".join(r.strategy for r in env.rungs) + (" → relaxed" if env.relax else "")
        lines.append(f"{env.name}: {env.source_prefix} -> {env.target_prefix}{exists}")
        lines.append(f"  strategies: {strategies}")
        for transform in env.transforms:
            lines.append(f"  transform {transform.code} {transform.package}: {transform.detail}")
        for rung in env.rungs:
            for step in rung.steps:
                lines.append(f"  [{rung.strategy}] {step.command}")
                lines += _inputs(step)
        for step in env.post_steps:
            lines.append(f"  [after] {'(manual) ' if step.kind == 'manual' else ''}{step.command}")
    lines.append("")
    lines.append("dry run: nothing was exported, created or written")
    print("\n".join(lines))


def _inputs(step: Step) -> list[str]:
    """What a step's input file will hold: the specs, or how many packages a lock pins."""
    if step.input_text is None:
        return []
    entries = [line for line in step.input_text.splitlines() if line and line[0] not in "#@"]
    if step.input_text.lstrip().startswith(("#", "@")):
        return [f"      ({len(entries)} locked package URLs)"]
    return [f"      {' '.join(entries)}"] if entries else ["      (nothing)"]


def _task(task: list[str]) -> int:
    from ..replicate.task import run_task

    run_dir, index = task
    if not index.isdigit():
        raise InputError(f"--task index {index!r} is not a number", "Give RUN_DIR and an index")
    with _sigterm_as_interrupt():
        run_task(Path(run_dir), int(index))
    return 0


def _progress(args: Any) -> Callable[[str], None] | None:
    """Plain lines on stderr; on a terminal, finished envs scroll above a live bar."""
    if args.json:
        return None
    live = sys.stderr.isatty()
    done = [0, 0]  # envs finished, envs to build

    def show(message: str) -> None:
        counted = _COUNTED.match(message)
        if counted:
            done[:] = [int(counted.group(1)), int(counted.group(2))]
        if not live:
            sys.stderr.write(message + "\n")
        elif counted:
            sys.stderr.write(f"\r\033[K{message}\n{_bar(*done)}")
        else:
            bar = f"{_bar(*done)} " if done[1] else ""
            sys.stderr.write(f"\r\033[K{bar}{message}")
        sys.stderr.flush()

    return show


_COUNTED = re.compile(r"^\[(\d+)/(\d+)\] ")


def _bar(finished: int, total: int, width: int = 30) -> str:
    filled = width * finished // max(total, 1)
    return f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{total}"


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a batch system, `kill`) stops the run the way Ctrl-C does."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
