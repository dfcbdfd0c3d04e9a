"""`conda shared replicate`: rebuild environments in another installation with its own conda."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..interrupts import sigterm_as_interrupt
from ..text import CommandLine, table
from . import add_source_option, installation_argument, path_argument, root_of

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
        type=path_argument,
        metavar="FILE",
        help="inventory file (default ROOT/specs/<installation>/inventory.ini)",
    )
    add_source_option(parser, verb="replicate from")
    parser.add_argument(
        "--to",
        dest="target",
        type=installation_argument,
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
        "--relax-variants",
        action="store_true",
        help="let the pinned and looser rungs choose other build variants (a cpu build for cuda)",
    )
    parser.add_argument(
        "--virtual-package",
        dest="virtual_packages",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the compute nodes' virtual package, for every conda call of the run: "
        "__cuda=12.4, __glibc=2.28, __cuda= (none); after plugins.shared_target_virtual_packages",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (strategies, commands); touch nothing",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace environments that already exist in the target"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "slurm"),
        default="local",
        help="build here (local, default) or as one Slurm job array (slurm)",
    )
    parser.add_argument(
        "--slurm-option",
        dest="slurm_options",
        action="append",
        default=[],
        metavar="OPT",
        help="pass OPT to sbatch after plugins.shared_slurm_options: --slurm-option=--partition=x",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="with --executor slurm or --status: block until the run ended; exit with its verdict",
    )
    parser.add_argument(
        "--status",
        nargs="?",
        const="",
        metavar="RUN",
        help="show where a run stands (default: the latest run in ROOT/reports)",
    )
    parser.add_argument(
        "--cancel",
        nargs="?",
        const="",
        metavar="RUN",
        help="cancel a run's Slurm jobs (default: the latest run) and write its report",
    )
    parser.add_argument("--task", nargs=2, metavar=("RUN_DIR", "INDEX"), help=argparse.SUPPRESS)
    # The report job after a Slurm array: record what ended without a result, write the report.
    parser.add_argument("--settle", metavar="RUN_DIR", type=Path, help=argparse.SUPPRESS)


def execute(args: Any) -> int:
    if args.task:
        return _task(args.task)
    if args.status is not None or args.cancel is not None or args.settle is not None:
        return _follow(args)
    if args.wait and args.executor != "slurm":
        raise InputError(
            "--wait waits for a run in Slurm; a local run always waits",
            "Add --executor slurm, or drop --wait",
        )
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs} is not a number of jobs", "Give --jobs 1 or more")
    if args.resume and (args.envs or args.inventory):
        raise InputError(
            "--resume continues the latest run's environments; it takes no names or inventory",
            "Drop them, or start a new run without --resume",
        )
    from ..replicate.platform import parse_overrides
    from ..replicate.run import replicate

    overrides = parse_overrides(
        args.settings.target_virtual_packages, origin="plugins.shared_target_virtual_packages"
    ) + parse_overrides(args.virtual_packages, origin="--virtual-package")
    with sigterm_as_interrupt():
        result = replicate(
            root=root_of(args),
            names=args.envs,
            inventory=args.inventory,
            source=args.source,
            target=args.target,
            jobs=args.jobs,
            resume=args.resume,
            relax=args.relax,
            relax_variants=args.relax_variants,
            virtual_packages=tuple(dict(overrides).items()) or None,
            dry_run=args.dry_run,
            force=args.force,
            executor=args.executor,
            slurm_options=[*args.settings.slurm_options, *args.slurm_options],
            wait=args.wait,
            progress=_progress(args),
        )
    if result.dry_run:
        _print_plan(result, as_json=args.json)
        return 0 if all(item.ok for item in result.preflight) else 1
    assert result.report is not None
    from ..replicate.report import report_to_json

    if args.json:
        document = report_to_json(result.report)
        if result.submission is not None:
            from ..replicate.executors.slurm import submission_to_json

            document["slurm"] = submission_to_json(result.submission)
        print(json.dumps(document, indent=2))
    elif result.submission is not None and not args.wait and not result.interrupted:
        print(_submitted(result, args.command_line))
        return 0
    else:
        print(render_report(result.report))
    if result.interrupted and result.submission is not None:
        print(
            f"conda-shared: stopped waiting; the run goes on in Slurm (job array "
            f"{result.submission.array_job}). Follow it with "
            f"`{args.command_line('replicate', '--status', result.report.run_dir)}`",
            file=sys.stderr,
        )
        return 130
    if result.interrupted:
        ended = [env for env in result.report.envs if env.status != "interrupted"]
        print(
            f"conda-shared: interrupted; {len(ended)} of "
            f"{len(result.report.planned)} envs finished (report in {result.report.run_dir}). "
            f"Continue it with `{args.command_line('replicate', '--resume', *_kept(args))}`",
            file=sys.stderr,
        )
        return 130
    return 0 if all(env.status == "replicated" for env in result.report.envs) else 1


def _kept(args: Any) -> list[str]:
    """The options a --resume must repeat to finish what this run was asked to do (without
    --force it would skip the envs a forced run set back in place)."""
    kept = (("--force", args.force), ("--relax", args.relax))
    return [option for option, on in (*kept, ("--relax-variants", args.relax_variants)) if on]


def _submitted(result: ReplicateResult, command: CommandLine) -> str:
    assert result.submission is not None
    submission = result.submission
    run_dir = submission.run_dir
    return "\n".join(
        [
            f"run folder:  {run_dir}",
            f"job scripts: {run_dir / 'slurm' / 'task.sh'}, {run_dir / 'slurm' / 'finish.sh'}",
            f"follow it:   {command('replicate', '--status', run_dir)} [--wait]",
            f"stop it:     {command('replicate', '--cancel', run_dir)}",
        ]
    )


def _follow(args: Any) -> int:
    """--status / --cancel [RUN]: where a run stands; with --wait, until it ended.

    --status only reads; --cancel (and the hidden --settle of the Slurm report job) records the
    tasks that ended without a result, for the owner of the run folder only.
    """
    from ..replicate.executors.slurm import cancel_submission, read_submission
    from ..replicate.progress import run_progress, settle_run, wait_for_run
    from ..replicate.runfolder import latest_run_dir, require_own_run

    if args.status is not None and args.cancel is not None:
        raise InputError("--status and --cancel go separately", "Give one of them")
    named = next(n for n in (args.settle, args.status, args.cancel) if n is not None)
    if named:
        run_dir = Path(named)
        if os.sep not in str(named) and not run_dir.exists():
            from ..layout import open_root

            run_dir = open_root(root_of(args)).reports_dir / run_dir.name  # the stamp it printed
        run_dir = run_dir.resolve()
    else:
        from ..layout import open_root

        run_dir = latest_run_dir(open_root(root_of(args)).reports_dir)
    if args.cancel is not None:
        require_own_run(run_dir)
        submission = read_submission(run_dir)
        if submission is None:
            raise InputError(
                f"the run {run_dir} was not submitted to Slurm",
                "Stop a local run with Ctrl-C in its terminal",
            )
        cancel_submission(submission)
    with sigterm_as_interrupt():
        if args.wait or args.cancel is not None:
            say = _progress(args) or (lambda _m: None)
            current = wait_for_run(run_dir, progress=say, settle=args.cancel is not None)
        elif args.settle is not None:
            current = settle_run(run_dir)
        else:
            current = run_progress(run_dir)
    if args.json:
        document = {
            "run": str(run_dir),
            "ended": current.ended,
            "array_job": current.submission.array_job if current.submission else None,
            "final_job": current.submission.final_job if current.submission else None,
            "envs": [vars(env) for env in current.envs],
        }
        print(json.dumps(document, indent=2))
    else:
        rows = [[env.name, env.state, env.detail] for env in current.envs]
        print(table(rows, ["ENV", "STATE", "DETAIL"]))
        counts = ", ".join(
            f"{current.count(state)} {state}"
            for state in ("replicated", "failed", "skipped", "interrupted", "running", "pending")
            if current.count(state)
        )
        jobs = (
            f"; Slurm job array {current.submission.array_job}, report job "
            f"{current.submission.final_job or 'none (its submission was cut short)'}"
            if current.submission
            else ""
        )
        print(f"{counts}{jobs}; {'ended' if current.ended else 'not ended'}")
        print(f"report: {run_dir / 'report.md'}")
    if not args.wait:
        return 0
    return 0 if all(env.state == "replicated" for env in current.envs) else 1


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
    lines.append(f"target virtual packages: {report.platform.describe()}")
    lines.append(f"report: {report.run_dir / 'report.md'} (and report.json, report.csv)")
    return "\n".join(lines)


def _print_plan(result: ReplicateResult, *, as_json: bool) -> None:
    from ..replicate.plan import plan_to_json
    from ..replicate.platform import platform_to_json

    if as_json:
        document = {
            "from": str(result.plan.source),
            "to": str(result.plan.target),
            "virtual_packages": platform_to_json(result.plan.platform),
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
    with sigterm_as_interrupt():
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
