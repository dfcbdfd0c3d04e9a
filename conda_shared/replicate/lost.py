"""Results for envs whose task ended without writing one: it crashed, or Slurm ended it."""

from __future__ import annotations

from pathlib import Path

from .. import fs
from .plan import EnvPlan
from .report import EnvResult, read_result, result_path, write_result
from .runfolder import RunPlan, claim_path, env_lock_path, rebuild_report, target_prefix

#: How long to wait for a dying task to finish its own cleanup (it holds the env's lock).
_CLEANUP_WAIT_S = 120.0


def record_lost_task(
    run: RunPlan, env: EnvPlan, *, failure_class: str, error: str, older_than: float | None = None
) -> EnvResult:
    """Write `env`'s result as failed, after removing what its task half-built.

    Takes the env's lock first, so a task still cleaning up (Slurm reports CANCELLED before the
    process is gone) finishes; a result the task wrote meanwhile wins, unless it is older than
    `older_than` (the epoch of a resubmission: that result is from an earlier attempt).
    """
    with fs.exclusive_lock(env_lock_path(run.run_dir, env.name), wait_seconds=_CLEANUP_WAIT_S):
        path = result_path(run.run_dir, env.name)
        existing = read_result(path)
        if existing is not None and (older_than is None or path.stat().st_mtime >= older_than):
            return existing
        if claim_path(run.run_dir, env.name).exists():  # it began building: undo that
            fs.remove_prefix(target_prefix(run, env))
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
    """A failed env that has no ladder to show (it never ran, or its task died)."""
    return EnvResult(
        name=name,
        source_prefix=source_prefix,
        target_prefix=target_prefix,
        status="failed",
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
