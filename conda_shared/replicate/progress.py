"""Where a run stands: each env pending, running or done, from its result file and Slurm.

Reading changes nothing (`--status`, `--status --wait`). Settling is separate and only for the
run folder's owner (`--resume`, `--cancel`, the report job after a Slurm array, and a
submitter's own `--wait`): a task that ended without a result (Slurm killed it, or it crashed)
gets its failed result and its half-built env removed, and once nothing is left to run the
report is stamped finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..slurm_commands import TaskState
from .executors.slurm import Submission, read_submission, task_output_tail, task_states
from .lost import record_lost_task
from .report import EnvResult, Report, read_result, result_path
from .runfolder import RunPlan, current_report, load_plan, rebuild_report, require_own_run, utc_now

_POLL_S = 1.0


@dataclass(frozen=True)
class EnvProgress:
    """One planned env: pending | running | replicated | failed | skipped, and why."""

    name: str
    state: str
    detail: str


@dataclass(frozen=True)
class RunProgress:
    """A run as it stands; `ended` once nothing of it is pending or running."""

    run_dir: Path
    submission: Submission | None
    envs: tuple[EnvProgress, ...]
    ended: bool
    in_slurm: int  # tasks Slurm still has pending or running
    report: Report

    def count(self, state: str) -> int:
        return sum(1 for env in self.envs if env.state == state)


@dataclass(frozen=True)
class _Lost:
    """A submitted task that ended without a result of this submission, and why."""

    failure_class: str
    error: str


def run_progress(run_dir: Path) -> RunProgress:
    """Read the run in `run_dir`; writes nothing and removes nothing."""
    return _progress(run_dir, settle=False)


def settle_run(run_dir: Path) -> RunProgress:
    """Record the tasks that ended without a result and rewrite the report (owner only)."""
    require_own_run(run_dir)
    return _progress(run_dir, settle=True)


def wait_for_run(
    run_dir: Path,
    *,
    progress: Callable[[str], None],
    settle: bool = False,
    poll_seconds: float = _POLL_S,
) -> RunProgress:
    """Poll until the run ended, saying each env's change of state; `settle` as settle_run."""
    if settle:
        require_own_run(run_dir)
    seen: dict[str, str] = {}
    while True:
        current = _progress(run_dir, settle=settle)
        for env in current.envs:
            if seen.get(env.name) != env.state:
                seen[env.name] = env.state
                why = "" if env.detail.lower() == env.state else f" ({env.detail})"
                progress(f"{env.name}: {env.state}{why}")
        if current.ended:
            return current
        time.sleep(poll_seconds)


def _progress(run_dir: Path, *, settle: bool) -> RunProgress:
    run = load_plan(run_dir)
    submission = read_submission(run_dir)
    # Slurm first, the result files after: a task that ended wrote its result before Slurm
    # said so, so "ended and no result" really means the task left none.
    states = task_states(submission) if submission is not None else {}
    envs = []
    in_slurm = 0
    for index, env in enumerate(run.envs):
        result: EnvResult | _Lost | None = read_result(result_path(run_dir, env.name))
        submitted = submission is not None and index in submission.indexes
        if submitted and states is not None and index in states and states[index].active:
            state = states[index]
            in_slurm += 1
            waiting = state.state == "PENDING"
            envs.append(EnvProgress(env.name, "pending" if waiting else "running", state.state))
            continue
        if submitted:
            assert submission is not None
            result = _ended(run, index, submission, states)
        if isinstance(result, _Lost) and settle:
            result = record_lost_task(
                run,
                env,
                failure_class=result.failure_class,
                error=result.error,
                older_than=submission.submitted_epoch if submission else None,
            )
        if result is None:
            envs.append(EnvProgress(env.name, "pending", "not started"))
        elif isinstance(result, _Lost):
            why = f"{result.failure_class}: {result.error}"
            later = "not recorded yet: `replicate --resume` or `--cancel` records it"
            envs.append(EnvProgress(env.name, "failed", f"{why}; {later}"))
        else:
            envs.append(EnvProgress(env.name, result.status, _detail(result)))
    ended = all(env.state not in ("pending", "running") for env in envs)
    finished = _finished(run_dir) if ended else None
    report = (
        rebuild_report(run_dir, finished=finished)
        if settle
        else current_report(run_dir, finished=finished)
    )
    return RunProgress(run_dir, submission, tuple(envs), ended, in_slurm, report)


def _ended(
    run: RunPlan,
    index: int,
    submission: Submission,
    states: dict[int, TaskState] | None,
) -> EnvResult | _Lost:
    """The result of a submitted task that is no longer running: its own, or why it has none."""
    env = run.envs[index]
    path = result_path(run.run_dir, env.name)
    result = read_result(path)
    if result is not None and path.stat().st_mtime >= submission.submitted_epoch:
        return result
    state = (states or {}).get(index)
    if state is not None and state.killed:
        return _Lost("interrupted", f"Slurm ended the task: {state.state}")
    if state is None and result is not None:  # never ran in this submission: Slurm forgot it
        return result
    last = task_output_tail(submission, index)
    return _Lost("other", f"replicate task crashed: {last or 'it ended without a result'}")


def _detail(result: EnvResult) -> str:
    if result.status == "replicated":
        return result.strategy or ""
    if result.status == "failed":
        return f"{result.failure_class}: {result.error or ''}".rstrip(": ")
    return result.error or ""


def _finished(run_dir: Path) -> str:
    """The finish stamp already in report.json (reading a run twice keeps it), else now."""
    try:
        stamp = json.loads((run_dir / "report.json").read_bytes()).get("finished")
    except (OSError, ValueError):
        stamp = None
    return stamp if isinstance(stamp, str) else utc_now()
