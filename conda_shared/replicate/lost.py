"""Results for envs whose task ended without writing one: it crashed, was interrupted, or
Slurm ended it."""

from __future__ import annotations

from pathlib import Path

from .. import fs
from . import ownership
from .plan import EnvPlan
from .report import EnvResult, read_result, result_path, write_result
from .runfolder import RunPlan, env_lock_path, rebuild_report, target_prefix

#: How long to wait for a dying task to finish its own cleanup (it holds the env's lock).
_CLEANUP_WAIT_S = 120.0


def record_lost_task(
    run: RunPlan, env: EnvPlan, *, failure_class: str, error: str, older_than: float | None = None
) -> EnvResult:
    """Write `env`'s result as failed (or interrupted), after undoing what its task began: the
    env it half-built goes (only if it carries this run's marker), the env `--force` set aside
    comes back.

    Takes the env's lock first, so a task still cleaning up (Slurm reports CANCELLED before the
    process is gone) finishes; a result the task wrote meanwhile wins, unless it is older than
    `older_than` (the epoch of a resubmission: that result is from an earlier attempt). When
    another run holds the prefix now, the prefix is that run's business and is left alone.
    """
    with fs.exclusive_lock(env_lock_path(run.run_dir, env.name), wait_seconds=_CLEANUP_WAIT_S):
        path = result_path(run.run_dir, env.name)
        existing = read_result(path)
        if existing is not None and (older_than is None or path.stat().st_mtime >= older_than):
            return existing
        prefix = target_prefix(run, env)
        kept_aside = None
        if ownership.left_behind(prefix, run_dir=run.run_dir):
            with ownership.prefix_lock(prefix, run_dir=run.run_dir) as holder:
                if holder is None:
                    kept_aside = ownership.undo(prefix, run_dir=run.run_dir)
        if kept_aside:
            error = f"{error}; {kept_aside}"
        result = failure_result(
            env.name,
            source_prefix=env.source_prefix,
            target_prefix=env.target_prefix,
            run_dir=run.run_dir,
            failure_class=failure_class,
            error=error,
        )
        write_result(run.run_dir, result)
    rebuild_report(run.run_dir)
    return result


def failure_result(
    name: str,
    *,
    source_prefix: str,
    target_prefix: str,
    run_dir: Path,
    error: str,
    failure_class: str = "other",
) -> EnvResult:
    """A failed env that has no ladder to show (it never ran, or its task died); one whose task
    was stopped (class `interrupted`) has that status."""
    return EnvResult(
        name=name,
        source_prefix=source_prefix,
        target_prefix=target_prefix,
        status="interrupted" if failure_class == "interrupted" else "failed",
        strategy=None,
        attempts=(),
        failure_class=failure_class,
        failure_packages=(),
        error=error,
        transforms=(),
        post_steps=(),
        diff=None,
        smoke=None,
        log=str(run_dir / "logs" / f"{name}.log"),
        seconds=0.0,
    )
