"""Orchestrate a replicate run: preflight, choose and plan envs, fill the cache, build, resume."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import slurm_commands as slurm
from ..errors import InputError, SharedError
from ..installation import Installation, package_version, read_installation
from ..interrupts import interrupts_deferred
from ..layout import open_root
from ..release.layout import current_release, release_prefix
from ..specs.platform import needs_from_manifest
from ..text import command_words, quoted
from .cache import fill_cache
from .conda import conda_command, target_conda
from .executors.local import run_tasks
from .executors.slurm import Submission, node_local, refuse_unsafe_values, submit_run
from .lost import failure_result, record_lost_task
from .plan import EnvPlan, ExportedSpecs, plan_env
from .platform import Mismatch, TargetPlatform, mismatch, reported_packages
from .progress import settle_run, wait_for_run
from .report import EnvResult, Report, own_cpu_seconds, read_result, result_path, write_result
from .runfolder import (
    RunPlan,
    current_report,
    latest_run_dir,
    load_plan,
    new_run_dir,
    rebuild_report,
    utc_now,
    write_plan,
)
from .sources import chosen_names, exported_specs

Progress = Callable[[str], None]
EXECUTORS = ("local", "slurm")
_INTERRUPTED = 130  # a task stopped by Ctrl-C or SIGTERM: it cleaned up; --resume redoes it
#: While envs build here, the report is rebuilt as they finish, at most this often (it reads
#: every result and writes three files: after each of hundreds of envs, that adds up); the run's
#: end rebuilds it in any case.
_REPORT_EVERY_S = 2.0


@dataclass(frozen=True)
class PreflightItem:
    """One check of the target before building; `fix` is the command that repairs it."""

    name: str
    ok: bool
    detail: str
    fix: str | None


@dataclass(frozen=True)
class ReplicateResult:
    """A run (or, with dry_run, its plan): what was planned, checked, and the report."""

    plan: RunPlan
    preflight: tuple[PreflightItem, ...]
    existing: tuple[str, ...]  # planned envs whose target prefix exists (skipped unless --force)
    notes: tuple[str, ...]
    dry_run: bool
    interrupted: bool
    report: Report | None
    submission: Submission | None = None  # with --executor slurm: the jobs it submitted


def replicate(
    *,
    root: Path,
    names: Sequence[str] = (),
    inventory: Path | None = None,
    source: str | None = None,
    target: str | None = None,
    jobs: int = 1,
    resume: bool = False,
    relax: bool = False,
    relax_variants: bool = False,
    virtual_packages: Sequence[tuple[str, str]] | None = None,
    dry_run: bool = False,
    force: bool = False,
    executor: str = "local",
    slurm_options: Sequence[str] = (),
    wait: bool = False,
    progress: Progress | None = None,
) -> ReplicateResult:
    """Rebuild environments of `source` in `target` with the target's own conda.

    Never deletes an env this run is not building (see `ownership`); an env that exists in the
    target is skipped unless `force`. Ctrl-C stops launching, lets running envs clean up (and
    records them `interrupted`), and returns with `interrupted` set; `resume` continues the
    latest run. With `executor="slurm"` the envs are built by one job array and the call returns
    once it is submitted (or, with `wait`, ended).

    `virtual_packages` (name, value) describe the compute nodes: every conda call of the run
    gets them as CONDA_OVERRIDE_*; None keeps a resumed run's (else the target's own). An env
    whose builds need a virtual package the target lacks fails `platform-mismatch` unbuilt;
    pinned and looser rungs keep each package's build variant unless `relax_variants`.
    """
    if executor not in EXECUTORS:
        raise InputError(
            f"there is no executor {executor!r}", f"Use one of: {', '.join(EXECUTORS)}"
        )
    say = progress or (lambda _message: None)
    shared = open_root(root)
    if executor == "slurm":
        refuse_unsafe_values(options=slurm_options, folder=shared.reports_dir)
    previous: RunPlan | None = None
    if resume:
        previous = load_plan(latest_run_dir(shared.reports_dir))
        _settle_before_resume(previous.run_dir)
        source_path, target_path = previous.source, previous.target
        for asked, planned in ((source, source_path), (target, target_path)):
            if asked is not None and shared.installation(asked) != planned:
                raise InputError(
                    f"the run being resumed replicates {previous.source} to {previous.target}; "
                    f"{asked} is not part of it",
                    "Drop --from/--to to resume it, or start a new run without --resume",
                )
        chosen = _resumed_names(previous)
        if virtual_packages is None:
            virtual_packages = previous.platform.overrides
    else:
        source_path = shared.installation(source)
        target_path = shared.installation(target or "qa", option="--to")
    if source_path == target_path:
        raise InputError(
            f"the source and the target are the same installation ({source_path})",
            "Replicate into another installation: --to qa, or a folder name",
        )
    overrides = tuple(virtual_packages or ())
    checks, platform, overridable = preflight(target_path, overrides=overrides)
    checks += _slurm_preflight() if executor == "slurm" else ()
    failed = [item for item in checks if not item.ok]
    if failed and not dry_run:
        raise SharedError(
            "preflight failed: " + "; ".join(f"{i.name}: {i.detail}" for i in failed),
            "; ".join(i.fix for i in failed if i.fix) or "Fix the target first",
        )
    source_inst = read_installation(source_path)
    target_inst = read_installation(target_path)
    if not resume:
        chosen = chosen_names(shared, source_inst, names, inventory)
    specs, notes, export_failures = exported_specs(
        shared, source_inst, chosen, dry_run=dry_run, progress=say
    )
    run_dir = (
        previous.run_dir
        if previous
        else (shared.reports_dir / "<stamp>" if dry_run else new_run_dir(shared.reports_dir))
    )
    envs = tuple(
        plan_env(
            specs=item,
            target=target_inst.path,
            target_conda_version=target_inst.conda_version,
            inputs_dir=run_dir / "inputs",
            relax=relax,
            overridable=overridable,
            keep_variants=not relax_variants,
            release=_release_of(source_inst.path, target_inst.path, item.name),
        )
        for item in specs
    )
    mismatches = _mismatches(specs, platform)
    run = RunPlan(
        run_dir=run_dir,
        source=source_inst.path,
        target=target_inst.path,
        target_conda_version=target_inst.conda_version,
        started=previous.started if previous else utc_now(),
        relax=relax,
        force=force,
        envs=envs,
        filled=(),
        platform=platform,
    )
    existing = tuple(e.name for e in envs if os.path.lexists(e.target_prefix))
    if executor == "slurm":
        warnings = _node_local_warnings(shared.path, run_dir)
        for warning in warnings if not dry_run else ():  # a plan lists them as notes
            say(f"warning: {warning}")
        notes = [*notes, *warnings]
    notes = [*notes, *(f"{n}: platform-mismatch: {m.message(platform)}" for n, m in mismatches)]
    if dry_run:
        return ReplicateResult(run, checks, existing, tuple(notes), True, False, None)
    for name, error in export_failures:
        write_result(run_dir, _export_failed(name, source_inst, target_inst, run_dir, error))
    unfit = dict(mismatches)
    for env in envs:
        if env.name in unfit and not _replicated(run_dir, env.name):
            write_result(run_dir, _platform_mismatch(run, env, unfit[env.name]))
    write_plan(run)
    rebuild_report(run_dir)
    todo = [
        i
        for i, env in enumerate(envs)
        if env.name not in unfit and not _replicated(run_dir, env.name)
    ]
    submission: Submission | None = None
    try:
        if todo:
            say(f"filling the package cache of {target_inst.path} for {len(todo)} env(s)")
            run = fill_cache(run, [envs[i] for i in todo], progress=say)
            write_plan(run)
        if executor == "slurm" and todo:
            with interrupts_deferred():  # Ctrl-C now still finds the jobs in slurm.json
                submission = submit_run(run, todo, jobs=jobs, options=slurm_options)
            say(
                f"submitted {len(todo)} env(s) as Slurm job array {submission.array_job} "
                f"(at most {jobs} at once); job {submission.final_job} writes the report"
            )
            report = (
                wait_for_run(run_dir, progress=say, settle=True).report
                if wait
                else current_report(run_dir)
            )
            return ReplicateResult(
                run, checks, existing, tuple(notes), False, False, report, submission
            )
        _build(run, todo, jobs=jobs, say=say)
    except KeyboardInterrupt:
        report = rebuild_report(run_dir)
        return ReplicateResult(run, checks, existing, tuple(notes), False, True, report, submission)
    report = current_report(run_dir)
    done = len(report.envs) == len(report.planned)
    report = rebuild_report(
        run_dir, finished=utc_now() if done else None, cpu_seconds=own_cpu_seconds()
    )
    return ReplicateResult(run, checks, existing, tuple(notes), False, False, report)


def preflight(
    target: Path, *, overrides: Sequence[tuple[str, str]] = ()
) -> tuple[tuple[PreflightItem, ...], TargetPlatform, bool]:
    """The target is a working conda installation, has conda-shared, and can take new envs;
    the virtual packages its conda reports under the run's overrides; whether it accepts
    `--override-channels` (a conda that does not run, which only a dry run gets past, is
    planned with conda's default: yes)."""
    items = []
    platform = TargetPlatform(tuple(overrides), ())
    overridable = True
    try:
        conda = target_conda(target, overrides)
        info, overridable = conda.info, conda.overridable
        items.append(
            PreflightItem("target conda runs", True, f"conda {info.get('conda_version')}", None)
        )
        platform = TargetPlatform(tuple(overrides), reported_packages(info))
        items.append(PreflightItem("target virtual packages", True, platform.describe(), None))
    except SharedError as error:
        items.append(PreflightItem("target conda runs", False, error.message, error.next_step))
    version = package_version(target, "conda-shared")
    install = [*conda_command(target), "install", "--prefix", str(target), "conda-shared"]
    items.append(
        PreflightItem(
            "conda-shared in the target's base",
            version is not None,
            f"conda-shared {version}" if version else "missing: `conda shared` vanishes at cutover",
            None if version else f"Install it: `{command_words(install)}`",
        )
    )
    envs_dir = target / "envs"
    writable = os.access(envs_dir if envs_dir.exists() else target, os.W_OK)
    items.append(
        PreflightItem(
            "target envs/ writable",
            writable,
            str(envs_dir) if writable else f"{envs_dir} is not writable by this user",
            None
            if writable
            else f"Run replicate as the owner of {target} (`stat -c %U {quoted(target)}` names it)",
        )
    )
    return tuple(items), platform, overridable


def _mismatches(
    specs: Sequence[ExportedSpecs], platform: TargetPlatform
) -> list[tuple[str, Mismatch]]:
    """The envs whose builds need virtual packages the target lacks, in plan order (none when
    the target's conda did not say what it has: only a dry run gets that far)."""
    if not platform.virtual_packages:
        return []
    found = ((item.name, mismatch(needs_from_manifest(item.manifest), platform)) for item in specs)
    return [(name, unmet) for name, unmet in found if unmet is not None]


def _platform_mismatch(run: RunPlan, env: EnvPlan, found: Mismatch) -> EnvResult:
    """An env left unbuilt: conda would pick other builds (CPU for CUDA) or fail unreadably."""
    result = failure_result(
        env.name,
        source_prefix=env.source_prefix,
        target_prefix=env.target_prefix,
        run_dir=run.run_dir,
        error=found.message(run.platform),
        failure_class="platform-mismatch",
    )
    return dataclasses.replace(
        result,
        failure_packages=found.packages,
        transforms=env.transforms,
        fix_options=found.option,
    )


def _slurm_preflight() -> tuple[PreflightItem, ...]:
    missing = slurm.missing_commands()
    return (
        PreflightItem(
            "Slurm commands",
            not missing,
            f"missing: {', '.join(missing)}" if missing else "sbatch, scontrol, scancel",
            "Run replicate on a host where the Slurm commands work (a login node), or use "
            "--executor local"
            if missing
            else None,
        ),
    )


def _node_local_warnings(root: Path, run_dir: Path) -> list[str]:
    """Compute nodes must see ROOT and the run folder at the same path as this host."""
    warnings: list[str] = []
    for what, path in (("the root", root), ("the run folder", run_dir)):
        folder = node_local(path)
        if folder is not None and not (warnings and path.is_relative_to(root)):
            warnings.append(
                f"node-local path: {what} {path} is under {folder}, which compute nodes do not "
                "share; put ROOT on a file system every node mounts"
            )
    return warnings


def _settle_before_resume(run_dir: Path) -> None:
    """Record what Slurm ended (the caller's own run only); refuse while tasks are in Slurm."""
    current = settle_run(run_dir)
    if current.submission is not None and current.in_slurm:
        raise InputError(
            f"the run {run_dir.name} still has {current.in_slurm} task(s) in Slurm "
            f"(job array {current.submission.array_job})",
            "Wait for it to end (add --wait to this) or stop it (--cancel), then --resume",
            command=("replicate", "--status", str(run_dir)),
        )


def _build(run: RunPlan, todo: Sequence[int], *, jobs: int, say: Progress) -> None:
    total = len(todo)
    finished = 0
    running: set[int] = set()
    reported = time.monotonic()

    def started(index: int) -> None:
        running.add(index)
        say(f"building {run.envs[index].name}")

    def done(index: int, status: int, errors: str) -> None:
        nonlocal finished, reported
        finished += 1
        running.discard(index)
        env = run.envs[index]
        result = read_result(result_path(run.run_dir, env.name))
        if result is None and status == _INTERRUPTED:  # a Ctrl-C that reached the task alone
            result = record_lost_task(
                run, env, failure_class="interrupted", error="interrupted before it finished"
            )
        elif result is None and status != 0:
            tail = errors.strip().splitlines()
            last = tail[-1] if tail else f"exit status {status}"
            result = record_lost_task(
                run, env, failure_class="other", error=f"replicate task crashed: {last}"
            )
        elif time.monotonic() - reported >= _REPORT_EVERY_S:  # the task left it to us
            rebuild_report(run.run_dir)
            reported = time.monotonic()
        say(f"[{finished}/{total}] {env.name}: {_status_words(result)}")

    try:
        run_tasks(run.run_dir, todo, jobs=jobs, on_start=started, on_done=done)
    except KeyboardInterrupt:
        with interrupts_deferred():  # the stopped envs are recorded whole
            for index in sorted(running):
                result = record_lost_task(
                    run,
                    run.envs[index],
                    failure_class="interrupted",
                    error="interrupted (Ctrl-C or SIGTERM) before it finished",
                )
                say(f"{run.envs[index].name}: {_status_words(result)}")
        raise


def _release_of(source: Path, target: Path, name: str) -> tuple[str, Path] | None:
    """A release-managed source env's current release ID, and that release's target prefix."""
    release_id = current_release(source, name)
    return (release_id, release_prefix(target, name, release_id)) if release_id else None


def _status_words(result: EnvResult | None) -> str:
    if result is None or result.status == "interrupted":
        return "interrupted"
    if result.status == "replicated":
        smoke = "" if result.smoke is None or result.smoke.ok else ", smoke test failed"
        return f"replicated ({result.strategy}{smoke}) in {result.seconds:.0f}s"
    if result.status == "failed":
        return f"failed: {result.failure_class} {' '.join(result.failure_packages)}".rstrip()
    return f"skipped: {result.error}"


def _replicated(run_dir: Path, name: str) -> bool:
    result = read_result(result_path(run_dir, name))
    return result is not None and result.status == "replicated"


def _resumed_names(previous: RunPlan) -> list[str]:
    names = [env.name for env in previous.envs]
    extra = sorted(p.stem for p in (previous.run_dir / "envs").glob("*.json"))
    return list(dict.fromkeys([*names, *extra]))


def _export_failed(
    name: str, source: Installation, target: Installation, run_dir: Path, error: str
) -> EnvResult:
    location = source.find_env(name)
    return failure_result(
        name,
        source_prefix=str(location.prefix) if location else "",
        target_prefix=str(target.path / "envs" / name),
        run_dir=run_dir,
        error=f"export failed: {error}",
    )
