"""Orchestrate a replicate run: preflight, choose and plan envs, fill the cache, build, resume."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import fs
from ..errors import InputError, SharedError
from ..export import export_envs
from ..installation import Installation, package_version, read_installation, validate_env_name
from ..inventory import default_inventory_path, read_inventory
from ..kernels import read_kernels
from ..layout import SharedRoot, open_root
from ..prefix import read_env
from ..specs import SourceInfo, build_specs
from .conda import conda_command, conda_info, failed_urls, run_conda
from .executors.local import run_tasks
from .plan import EnvPlan, ExportedSpecs, plan_env
from .report import EnvResult, Report, read_result, result_path, write_result
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

Progress = Callable[[str], None]


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
    dry_run: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> ReplicateResult:
    """Rebuild environments of `source` in `target` with the target's own conda.

    Never touches an env that exists in the target unless this run (or the run resumed) made
    it, or `force`. Ctrl-C stops launching, lets running envs clean up, and returns with
    `interrupted` set; `resume` continues the latest run.
    """
    say = progress or (lambda _message: None)
    shared = open_root(root)
    previous: RunPlan | None = None
    if resume:
        previous = load_plan(latest_run_dir(shared.reports_dir))
        source_path, target_path = previous.source, previous.target
        chosen = _resumed_names(previous)
    else:
        source_path = shared.installation(source)
        target_path = shared.installation(target or "qa")
    if source_path == target_path:
        raise InputError(
            f"the source and the target are the same installation ({source_path})",
            "Replicate into another installation: --to qa, or a folder name",
        )
    checks = preflight(target_path)
    failed = [item for item in checks if not item.ok]
    if failed and not dry_run:
        raise SharedError(
            "preflight failed: " + "; ".join(f"{i.name}: {i.detail}" for i in failed),
            " and ".join(f"`{i.fix}`" for i in failed if i.fix) or "Fix the target first",
        )
    source_inst = read_installation(source_path)
    target_inst = read_installation(target_path)
    if not resume:
        chosen = _chosen_names(shared, source_inst, names, inventory)
    run_dir = (
        previous.run_dir
        if previous
        else (shared.reports_dir / "<stamp>" if dry_run else new_run_dir(shared.reports_dir))
    )
    specs, notes, export_failures = _specs(
        shared, source_inst, chosen, dry_run=dry_run, progress=say
    )
    envs = tuple(
        plan_env(
            specs=item,
            target=target_inst.path,
            target_conda_version=target_inst.conda_version,
            inputs_dir=run_dir / "inputs",
            relax=relax,
        )
        for item in specs
    )
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
    )
    existing = tuple(e.name for e in envs if os.path.lexists(e.target_prefix))
    if dry_run:
        return ReplicateResult(run, checks, existing, tuple(notes), True, False, None)
    for name, error in export_failures:
        write_result(run_dir, _export_failed(name, source_inst, target_inst, run_dir, error))
    write_plan(run)
    rebuild_report(run_dir)
    todo = [i for i, env in enumerate(envs) if not _replicated(run_dir, env.name)]
    try:
        if todo:
            say(f"filling the package cache of {target_inst.path} for {len(todo)} env(s)")
            run = fill_cache(run, [envs[i] for i in todo])
            write_plan(run)
        _build(run, todo, jobs=jobs, say=say)
    except KeyboardInterrupt:
        report = rebuild_report(run_dir)
        return ReplicateResult(run, checks, existing, tuple(notes), False, True, report)
    report = current_report(run_dir)
    done = len(report.envs) == len(report.planned)
    report = rebuild_report(run_dir, finished=utc_now() if done else None)
    return ReplicateResult(run, checks, existing, tuple(notes), False, False, report)


def preflight(target: Path) -> tuple[PreflightItem, ...]:
    """The target is a working conda installation, has conda-shared, and can take new envs."""
    items = []
    try:
        info = conda_info(target)
        items.append(
            PreflightItem("target conda runs", True, f"conda {info.get('conda_version')}", None)
        )
    except SharedError as error:
        items.append(PreflightItem("target conda runs", False, error.message, error.next_step))
    version = package_version(target, "conda-shared")
    items.append(
        PreflightItem(
            "conda-shared in the target's base",
            version is not None,
            f"conda-shared {version}" if version else "missing: `conda shared` vanishes at cutover",
            None
            if version
            else f"{' '.join(conda_command(target))} install --prefix {target} conda-shared",
        )
    )
    envs_dir = target / "envs"
    writable = os.access(envs_dir if envs_dir.exists() else target, os.W_OK)
    items.append(
        PreflightItem(
            "target envs/ writable",
            writable,
            str(envs_dir) if writable else f"{envs_dir} is not writable by this user",
            None if writable else f"sudo -u $(stat -c %U {target}) conda shared replicate ...",
        )
    )
    return tuple(items)


def fill_cache(run: RunPlan, envs: Sequence[EnvPlan]) -> RunPlan:
    """Download every lock's packages once, in one conda call, before parallel builds.

    A URL the channel no longer has is dropped and the rest fetched again; the envs whose
    whole lock made it into the cache are recorded as `filled` (their builds need no turn).
    """
    locks = {env.name: _lock_lines(env) for env in envs}
    wanted = list(dict.fromkeys(line for lines in locks.values() for line in lines))
    log = run.run_dir / "logs" / "cache-fill.log"
    scratch = run.run_dir / "cache-fill-prefix"
    lock_file = run.run_dir / "inputs" / "cache-fill.lock"
    try:
        for _ in range(3):
            if not wanted:
                return run
            fs.atomic_write(lock_file, "@EXPLICIT\n" + "\n".join(wanted) + "\n")
            argv = [*conda_command(run.target), "create", "--download-only", "--json", "--yes"]
            outcome = run_conda(
                [*argv, "--prefix", str(scratch), "--file", str(lock_file)], log=log
            )
            if outcome.ok:
                fetched = set(wanted)
                filled = tuple(n for n, lines in locks.items() if fetched.issuperset(lines))
                return dataclasses.replace(run, filled=filled)
            gone = {_file_path(u) for u in failed_urls(outcome.document or {})}
            kept = [line for line in wanted if _file_path(line.split("#")[0]) not in gone]
            if len(kept) == len(wanted):
                return run
            wanted = kept
        return run
    finally:
        fs.remove_prefix(scratch)


def _lock_lines(env: EnvPlan) -> list[str]:
    lock = next((r for r in env.rungs if r.strategy == "lock"), None)
    text = (lock.steps[0].input_text or "") if lock else ""
    return [line for line in text.splitlines() if line and not line.startswith(("#", "@"))]


def _file_path(url: str) -> str:
    return url[len("file://") :] if url.startswith("file://") else url


def _build(run: RunPlan, todo: Sequence[int], *, jobs: int, say: Progress) -> None:
    total = len(todo)
    finished = 0

    def started(index: int) -> None:
        say(f"building {run.envs[index].name}")

    def done(index: int, status: int, errors: Path) -> None:
        nonlocal finished
        finished += 1
        env = run.envs[index]
        result = read_result(result_path(run.run_dir, env.name))
        if result is None and status != 0:
            tail = errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            result = _task_crashed(env, run, tail[-1] if tail else f"exit status {status}")
            write_result(run.run_dir, result)
            rebuild_report(run.run_dir)
        errors.unlink(missing_ok=True)
        say(f"[{finished}/{total}] {env.name}: {_status_words(result)}")

    run_tasks(run.run_dir, todo, jobs=jobs, on_start=started, on_done=done)


def _status_words(result: EnvResult | None) -> str:
    if result is None:
        return "interrupted"
    if result.status == "replicated":
        smoke = "" if result.smoke is None or result.smoke.ok else ", smoke test failed"
        return f"replicated ({result.strategy}{smoke}) in {result.seconds:.0f}s"
    if result.status == "failed":
        return f"failed: {result.failure_class} {' '.join(result.failure_packages)}".rstrip()
    return "skipped: exists in the target"


def _replicated(run_dir: Path, name: str) -> bool:
    result = read_result(result_path(run_dir, name))
    return result is not None and result.status == "replicated"


def _resumed_names(previous: RunPlan) -> list[str]:
    names = [env.name for env in previous.envs]
    extra = sorted(p.stem for p in (previous.run_dir / "envs").glob("*.json"))
    return list(dict.fromkeys([*names, *extra]))


def _chosen_names(
    shared: SharedRoot, source: Installation, names: Sequence[str], inventory: Path | None
) -> list[str]:
    if names:
        return [validate_env_name(name) for name in dict.fromkeys(names)]
    path = inventory or default_inventory_path(shared.path, source.name)
    if inventory is None and not path.exists():
        raise InputError(
            f"no environments named and no inventory at {path}",
            f"Name the envs, or write the inventory: `conda shared inventory --from "
            f"{source.name} --write` and mark envs REPLICATE",
        )
    chosen = [e.name for e in read_inventory(path).entries if e.action == "replicate"]
    if not chosen:
        raise InputError(
            f"{path} marks no environment REPLICATE", f"Edit {path}: set `NAME = REPLICATE`"
        )
    return chosen


def _specs(
    shared: SharedRoot,
    source: Installation,
    names: Sequence[str],
    *,
    dry_run: bool,
    progress: Progress,
) -> tuple[list[ExportedSpecs], list[str], list[tuple[str, str]]]:
    """Each env's exported specs, exporting first what is missing or older than the env.

    Returns (specs, notes, [(name, why it could not be exported)]). A dry run exports nothing:
    it builds the specs it lacks in memory.
    """
    specs_dir = shared.specs_dir / source.name
    notes: list[str] = []
    failures: list[tuple[str, str]] = []
    stale = [n for n in names if _needs_export(specs_dir, source, n)]
    if stale and dry_run:
        notes += [
            f"{n}: specs missing or older than the env; a run exports it first" for n in stale
        ]
    elif stale:
        progress(f"exporting {len(stale)} env(s) whose specs are missing or stale")
        exported = export_envs(root=shared.path, installation=str(source.path), names=stale)
        failures = [(e.name, e.error or "export failed") for e in exported.envs if not e.ok]
        notes += [f"exported {e.name} to {specs_dir}" for e in exported.envs if e.ok]
    bad = {name for name, _ in failures}
    found = []
    for name in names:
        if name in bad:
            continue
        if dry_run and name in stale:
            found.append(_specs_in_memory(shared, source, name))
        else:
            found.append(_read_specs(specs_dir, name))
    return found, notes, failures


def _needs_export(specs_dir: Path, source: Installation, name: str) -> bool:
    try:
        exported = (specs_dir / f"{name}.json").stat().st_mtime
    except OSError:
        return True
    location = source.find_env(name)
    if location is None:
        return False  # gone from the source: the export is all there is
    meta = location.prefix / "conda-meta"
    changed = [p.stat().st_mtime for p in (meta, meta / "history") if p.exists()]
    return bool(changed) and max(changed) > exported


def _read_specs(specs_dir: Path, name: str) -> ExportedSpecs:
    try:
        texts = [
            (specs_dir / f"{name}{suffix}").read_text(encoding="utf-8")
            for suffix in (".json", ".lock", ".yml", ".history.yml")
        ]
        manifest = json.loads(texts[0])
    except (OSError, ValueError) as error:
        raise SharedError(
            f"cannot read the specs of {name} in {specs_dir}: {error}",
            f"Export it again: `conda shared export {name}`",
        ) from None
    return ExportedSpecs(name, manifest, texts[1], texts[2], texts[3])


def _specs_in_memory(shared: SharedRoot, source: Installation, name: str) -> ExportedSpecs:
    location = source.find_env(name)
    if location is None:
        raise InputError(
            f"no environment named {name!r} in {source.path} and no export of it",
            "Check the name with `conda shared inventory`",
        )
    env = read_env(location.prefix, name=name, config=source.config, owned_dists=False)
    info = SourceInfo(path=source.path, conda_version=source.conda_version, config=source.config)
    built = build_specs(env, source=info, kernels=read_kernels(shared.kernels_dir))
    return ExportedSpecs(name, json.loads(built.manifest), built.lock, built.pinned, built.loose)


def _export_failed(
    name: str, source: Installation, target: Installation, run_dir: Path, error: str
) -> EnvResult:
    location = source.find_env(name)
    return _failure_result(
        name,
        source_prefix=str(location.prefix) if location else "",
        target_prefix=str(target.path / "envs" / name),
        run_dir=run_dir,
        error=f"export failed: {error}",
    )


def _task_crashed(env: EnvPlan, run: RunPlan, error: str) -> EnvResult:
    return _failure_result(
        env.name,
        source_prefix=env.source_prefix,
        target_prefix=env.target_prefix,
        run_dir=run.run_dir,
        error=f"replicate task crashed: {error}",
    )


def _failure_result(
    name: str, *, source_prefix: str, target_prefix: str, run_dir: Path, error: str
) -> EnvResult:
    return EnvResult(
        name=name,
        source_prefix=source_prefix,
        target_prefix=target_prefix,
        status="failed",
        strategy=None,
        attempts=(),
        failure_class="other",
        failure_packages=(),
        error=error,
        transforms=(),
        post_steps=(),
        diff=None,
        smoke=None,
        log=str(run_dir / "logs" / f"{name}.log"),
        seconds=0.0,
    )
