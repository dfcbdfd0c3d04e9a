"""Replicate ONE planned environment (`replicate --task RUN INDEX`): ladder, post-steps, smoke.

Every executor (threads, a process pool, a Slurm array) runs exactly this; it leaves the env's
result in envs/NAME.json and rebuilds the run's report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .. import fs
from ..condarc import installation_condarc_files, read_config
from ..errors import SharedError
from ..interrupts import interrupts_deferred
from ..kernels.read import Kernel, read_kernels
from ..prefix import read_env
from . import ownership
from .conda import Failure, StepOutcome, run_conda, run_pip
from .plan import EnvPlan, Rung, Step, relaxed_rung
from .report import (
    Attempt,
    Diff,
    EnvResult,
    PostStep,
    describe_smoke,
    diff_versions,
    installed_versions,
    own_cpu_seconds,
    read_result,
    result_path,
    write_result,
)
from .runfolder import RunPlan, env_lock_path, load_plan, rebuild_report
from .smoke import SmokeResult, smoke_test

#: A task waits this long for another task holding the same env (a resumed run meeting an
#: orphan of a killed one) or the package cache.
_WAIT_S = 7 * 24 * 3600.0


def run_task(run_dir: Path, index: int, *, report: bool = True) -> EnvResult:
    """Replicate env number `index` of the run's plan; a finished env is returned as it is.

    The run's report is rebuilt after it unless `report` is False (the local executor's own
    process rebuilds it after each env).
    """
    run = load_plan(run_dir)
    if not 0 <= index < len(run.envs):
        raise SharedError(
            f"{run_dir} plans {len(run.envs)} environments; there is no number {index}",
            "Give an index from 0 to the number of planned environments minus one",
        )
    env = run.envs[index]
    with fs.exclusive_lock(env_lock_path(run_dir, env.name), wait_seconds=_WAIT_S):
        result = _replicate(run, env)
    if report:
        rebuild_report(run_dir)
    return result


def _replicate(run: RunPlan, env: EnvPlan) -> EnvResult:
    done = read_result(result_path(run.run_dir, env.name))
    if done is not None and done.status == "replicated":
        return done
    prefix = Path(env.target_prefix)
    log = run.run_dir / "logs" / f"{env.name}.log"
    with ownership.prefix_lock(prefix, run_dir=run.run_dir) as holder:
        if holder is not None:
            return _skip(run, env, log, f"being built by run {holder}")
        return _replicate_held(run, env, prefix, log)


def _replicate_held(run: RunPlan, env: EnvPlan, prefix: Path, log: Path) -> EnvResult:
    """Build `env` while holding its prefix's lock; the target ends as it began unless the
    new env replicated (and, when it replaces one, passed its smoke test)."""
    ownership.undo(prefix, run_dir=run.run_dir)  # what an earlier, killed attempt left
    replacing = os.path.lexists(prefix)
    if replacing and not run.force:
        return _skip(run, env, log, f"{prefix} already exists and this run did not create it")
    try:
        if replacing:
            aside = ownership.set_aside_path(prefix, run_dir=run.run_dir)
            fs.append_line(log, f"# --force: {prefix} waits at {aside} until the new env passed")
            ownership.set_aside(prefix, run_dir=run.run_dir)
        result = _build(run, env, log)
    except BaseException:
        with interrupts_deferred():  # a second Ctrl-C must not stop the cleanup half-way
            ownership.undo(prefix, run_dir=run.run_dir)
        raise
    with interrupts_deferred():  # the result and the target change together
        return _conclude(run, env, prefix, result, replacing=replacing)


def _conclude(
    run: RunPlan, env: EnvPlan, prefix: Path, result: EnvResult, *, replacing: bool
) -> EnvResult:
    """Keep the new env, or put the target back as it was; then write the result."""
    # one env per process: all it has spent is this env's
    result = dataclasses.replace(result, cpu_seconds=own_cpu_seconds())
    if replacing and result.smoke is not None and not result.smoke.ok:
        result = _smoke_failed(result)
    if result.status != "replicated":
        kept_aside = ownership.undo(prefix, run_dir=run.run_dir)
        if kept_aside:
            result = dataclasses.replace(result, error=f"{result.error}; {kept_aside}")
        write_result(run.run_dir, result)
        return result
    write_result(run.run_dir, result)  # first: a crash now leaves a finished env, never none
    ownership.keep(prefix, run_dir=run.run_dir)
    if env.release_id is not None:
        result = _published(run, env.release_id, result)
    return result


def _published(run: RunPlan, release_id: str, result: EnvResult) -> EnvResult:
    """A release-managed env's release: frozen, recorded, and envs/NAME pointed at it."""
    # Loaded here, not with the module: most envs are plain, and every task imports this one.
    from ..release.replicated import publish_replicated

    note = publish_replicated(
        root=run.run_dir.parent.parent,  # the state folder: ROOT/reports/<stamp>
        installation=run.target,
        name=result.name,
        release_id=release_id,
        strategy=result.strategy or "lock",
        smoke=None if result.smoke is None else dataclasses.asdict(result.smoke),
        force=run.force,
    )
    if note is None:
        return result
    noted = dataclasses.replace(result, error=note)
    write_result(run.run_dir, noted)
    return noted


def _smoke_failed(result: EnvResult) -> EnvResult:
    """Under --force a new env that fails its smoke test does not replace a working one."""
    failed = describe_smoke(result.smoke)
    return dataclasses.replace(
        result,
        status="failed",
        strategy=None,
        failure_class="smoke-failed",
        error=f"the new env's smoke test {failed}; the env it was to replace is back",
        diff=None,
    )


def _build(run: RunPlan, env: EnvPlan, log: Path) -> EnvResult:
    started = time.monotonic()
    prefix = Path(env.target_prefix)
    fs.append_line(log, f"# replicate {env.name}: {env.source_prefix} -> {env.target_prefix}")
    attempts: list[Attempt] = []
    ladder = list(env.rungs)
    failure: Failure | None = None
    chosen: Rung | None = None
    while ladder:
        rung = ladder.pop(0)
        fs.append_line(log, f"# strategy {rung.strategy}")
        rung_started = time.monotonic()
        failure = _run_steps(rung.steps, run=run, env=env, rung=rung.strategy, log=log)
        attempts.append(
            Attempt(
                rung.strategy,
                failure is None,
                failure.failure_class if failure else None,
                failure.packages if failure else (),
                round(time.monotonic() - rung_started, 3),
            )
        )
        if failure is None:
            chosen = rung
            break
        if failure.failure_class == "interrupted":  # stopped, not failed: no looser rung
            raise KeyboardInterrupt
        ownership.remove_if_ours(prefix, run_dir=run.run_dir)
        if rung.strategy == "loose" and env.relax and failure.failure_class == "package-not-found":
            relaxed = relaxed_rung(env, failure.packages)
            ladder += [relaxed] if relaxed else []
    post_steps: list[PostStep] = []
    if chosen is not None:
        for step in env.post_steps:
            if step.kind == "manual":  # its source is gone: the admin must provide it
                gone = ", ".join(step.packages)
                message = f"the pip source of {gone} no longer exists; by hand: {step.command}"
                fs.append_line(log, f"# manual step: {message}")
                post_steps.append(PostStep("manual", step.command, False))
                failure = failure or Failure("pip-failed", step.packages, message)
                continue
            step_failure = _run_steps((step,), run=run, env=env, rung="post", log=log)
            post_steps.append(PostStep(step.kind, step.command, step_failure is None))
            failure = failure or step_failure
    built = time.monotonic()
    ok = chosen is not None and failure is None
    smoke = _smoke(env, prefix) if ok else None
    diff = _diff(env, prefix, run.target) if ok else None
    checked = time.monotonic()
    return EnvResult(
        name=env.name,
        source_prefix=env.source_prefix,
        target_prefix=env.target_prefix,
        status="replicated" if ok else "failed",
        strategy=chosen.strategy if ok and chosen else None,
        attempts=tuple(attempts),
        failure_class=None if ok or failure is None else failure.failure_class,
        failure_packages=() if ok or failure is None else failure.packages,
        error=None if ok or failure is None else failure.message,
        transforms=env.transforms,
        post_steps=tuple(post_steps),
        diff=diff,
        smoke=smoke,
        log=str(log),
        seconds=round(checked - started, 3),
        build_seconds=round(built - started, 3),
        check_seconds=round(checked - built, 3),
    )


def _run_steps(
    steps: tuple[Step, ...], *, run: RunPlan, env: EnvPlan, rung: str, log: Path
) -> Failure | None:
    for step in steps:
        ownership.mark(Path(env.target_prefix), run_dir=run.run_dir)
        if step.input_file is not None and step.input_text is not None:
            fs.atomic_write(Path(step.input_file), step.input_text)
        outcome = _run_step(
            step, run=run, cached=rung == "lock" and env.name in run.filled, log=log
        )
        if outcome.failure is not None:
            return outcome.failure
    return None


def _run_step(step: Step, *, run: RunPlan, cached: bool, log: Path) -> StepOutcome:
    overrides = run.platform.overrides
    if step.kind == "pip":
        return run_pip(step.argv, log=log, packages=step.packages, overrides=overrides)
    with _cache_guard(run, skip=cached and "create" in step.argv):
        return run_conda(step.argv, log=log, overrides=overrides)


@contextlib.contextmanager
def _cache_guard(run: RunPlan, *, skip: bool) -> Iterator[None]:
    """Conda steps that may download take turns: parallel fetches corrupt a cold cache."""
    if skip:
        yield
        return
    with fs.exclusive_lock(run.run_dir / ".cache.lock", wait_seconds=_WAIT_S):
        yield


def _smoke(env: EnvPlan, prefix: Path) -> SmokeResult:
    folders = {Path(spec).parent.parent for spec in env.kernels}
    kernels: list[Kernel] = [
        kernel
        for folder in sorted(folders)
        for kernel in read_kernels(folder)
        if str(kernel.spec_path) in env.kernels
    ]
    return smoke_test(prefix=prefix, kernels=kernels)


def _diff(env: EnvPlan, prefix: Path, target: Path) -> Diff:
    config = read_config(installation_condarc_files(target))
    state = read_env(prefix, name=env.name, config=config, owned_dists=False)
    versions = [(r.name, r.version) for r in state.records]
    versions += [(d.name, d.version) for d in state.pip_dists]
    return diff_versions(dict(env.source_packages), installed_versions(versions))


def _skip(run: RunPlan, env: EnvPlan, log: Path, message: str) -> EnvResult:
    """Record `env` as skipped, untouched, and why."""
    fs.append_line(log, f"# skipped: {message}")
    result = EnvResult(
        name=env.name,
        source_prefix=env.source_prefix,
        target_prefix=env.target_prefix,
        status="skipped",
        strategy=None,
        attempts=(),
        failure_class=None,
        failure_packages=(),
        error=message,
        transforms=env.transforms,
        post_steps=(),
        diff=None,
        smoke=None,
        log=str(log),
        seconds=0.0,
    )
    write_result(run.run_dir, result)
    return result
