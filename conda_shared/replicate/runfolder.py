"""The run folder ROOT/reports/<stamp>/: plan.json, envs/, logs/, inputs/ and the report files.

A run, `--resume`, a crash and a Slurm array all meet here: the plan says what to do, each
env's result file says what was done, and the report is rebuilt from those files.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from .. import fs
from ..errors import InputError, SharedError
from .plan import EnvPlan, Step, plan_from_json, plan_to_json
from .platform import NO_PLATFORM, TargetPlatform, platform_from_json, platform_to_json
from .report import Report, load_report, result_path, write_report

PLAN_SCHEMA = "conda-shared/replicate-plan/1"
_FOLDERS = ("envs", "logs", "inputs")


@dataclass(frozen=True)
class RunPlan:
    """What a run replicates, from where to where, with which options (plan.json)."""

    run_dir: Path
    source: Path
    target: Path
    target_conda_version: str | None
    started: str
    relax: bool
    force: bool
    envs: tuple[EnvPlan, ...]
    filled: tuple[str, ...]  # envs whose whole lock is already in the target's package cache
    #: the overrides every conda call of the run gets, and the virtual packages that makes
    platform: TargetPlatform = NO_PLATFORM

    def index_of(self, name: str) -> int:
        return next(i for i, env in enumerate(self.envs) if env.name == name)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_dir(reports_dir: Path) -> Path:
    """reports/<UTC stamp>/ with its subfolders; a second run in the same second gets -2."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    try:
        fs.make_dirs(reports_dir)
        for suffix in ("", *(f"-{n}" for n in range(2, 100))):
            candidate = reports_dir / f"{stamp}{suffix}"
            if fs.make_new_dir(candidate):
                for folder in _FOLDERS:
                    fs.make_dirs(candidate / folder)
                return candidate
    except OSError as error:
        raise SharedError(
            f"cannot create a run folder in {reports_dir}: {error.strerror}",
            f"Run as a user who can write to {reports_dir}",
        ) from None
    raise SharedError(f"too many runs started this second in {reports_dir}", "Wait a second")


def latest_run_dir(reports_dir: Path) -> Path:
    """The most recent run folder (the one `--resume` continues and `--status` shows)."""
    try:
        runs = sorted(p for p in reports_dir.iterdir() if (p / "plan.json").is_file())
    except OSError:
        runs = []
    if not runs:
        raise InputError(
            f"there is no replicate run in {reports_dir}",
            "Start one (without --resume, --status or --cancel)",
            command=("replicate",),
        )
    return runs[-1]


def write_plan(run: RunPlan) -> None:
    check_plan(run)
    document: dict[str, Any] = {
        "schema": PLAN_SCHEMA,
        "from": str(run.source),
        "to": str(run.target),
        "target_conda_version": run.target_conda_version,
        "started": run.started,
        "relax": run.relax,
        "force": run.force,
        "filled": list(run.filled),
        "virtual_packages": platform_to_json(run.platform),
        "envs": [plan_to_json(env) for env in run.envs],
    }
    fs.atomic_write(run.run_dir / "plan.json", json.dumps(document, indent=1) + "\n")


def load_plan(run_dir: Path) -> RunPlan:
    path = run_dir / "plan.json"
    try:
        document = json.loads(path.read_bytes())
        if document.get("schema") != PLAN_SCHEMA:
            raise ValueError(f"schema {document.get('schema')!r}")
        run = RunPlan(
            run_dir=run_dir,
            source=Path(document["from"]),
            target=Path(document["to"]),
            target_conda_version=document["target_conda_version"],
            started=document["started"],
            relax=bool(document["relax"]),
            force=bool(document["force"]),
            envs=tuple(plan_from_json(env) for env in document["envs"]),
            filled=tuple(document["filled"]),
            platform=platform_from_json(document.get("virtual_packages")),
        )
    except FileNotFoundError:
        raise InputError(
            f"{run_dir} is not a replicate run folder (no plan.json)",
            "Give a folder under ROOT/reports/ that a replicate run made",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SharedError(
            f"cannot use {path}: {error}", "Start a new run", command=("replicate",)
        ) from None
    check_plan(run)
    return run


def check_plan(run: RunPlan) -> None:
    """Every path a run writes lies in its run folder or its target's envs/, or it is refused.

    Names become file names (results, logs, claims) and prefixes get created and removed, so a
    plan.json edited by hand, or an inventory entry that is a path, must not lead elsewhere.
    """
    # Each (folder, parent) is resolved once: a task loads the plan of 600 envs, on NFS.
    first_of: dict[tuple[Path, Path], tuple[str, Path]] = {}
    for env in run.envs:
        result_path(run.run_dir, env.name)
        inputs = [Path(step.input_file) for step in _steps(env) if step.input_file is not None]
        places = [(run.target / "envs", Path(env.target_prefix))]
        places += [(run.run_dir / "inputs", path) for path in inputs]
        for folder, path in places:
            if path.name in ("", ".", ".."):
                _refuse(env.name, path, folder)
            first_of.setdefault((folder, path.parent), (env.name, path))
    for (folder, parent), (name, path) in first_of.items():
        if not fs.is_within(folder, parent):
            _refuse(name, path, folder)


def target_prefix(run: RunPlan, env: EnvPlan) -> Path:
    """Where `env` is built: inside the target's envs/, never anywhere else."""
    prefix, envs_dir = Path(env.target_prefix), run.target / "envs"
    if prefix.name in ("", ".", "..") or not fs.is_within(envs_dir, prefix.parent):
        _refuse(env.name, prefix, envs_dir)
    return prefix


def _refuse(name: str, path: Path, folder: Path) -> NoReturn:
    raise SharedError(
        f"refusing to replicate {name}: {path} lies outside {folder}",
        "Do not edit plan.json by hand; start a new run",
        command=("replicate",),
    )


def _steps(env: EnvPlan) -> list[Step]:
    return [step for rung in env.rungs for step in rung.steps] + list(env.post_steps)


def current_report(
    run_dir: Path, *, finished: str | None = None, cpu_seconds: float | None = None
) -> Report:
    run = load_plan(run_dir)
    return load_report(
        run_dir,
        source=str(run.source),
        target=str(run.target),
        started=run.started,
        planned=[env.name for env in run.envs],
        finished=finished,
        cpu_seconds=cpu_seconds,
        platform=run.platform,
    )


def rebuild_report(
    run_dir: Path, *, finished: str | None = None, cpu_seconds: float | None = None
) -> Report:
    """Rewrite report.json/csv/md from the result files that exist now; `cpu_seconds` is the
    replicate command's own, recorded as it finishes."""
    report = current_report(run_dir, finished=finished, cpu_seconds=cpu_seconds)
    write_report(report)
    return report


def env_lock_path(run_dir: Path, name: str) -> Path:
    """Held by whoever builds or settles env `name` (a task, or the one recording its loss)."""
    return run_dir / "envs" / f".{name}.lock"


def require_own_run(run_dir: Path) -> None:
    """Only the owner of a run folder may settle it: settling removes half-built envs."""
    for path in (run_dir, run_dir / "plan.json"):
        try:
            info = os.lstat(path)
        except OSError:
            continue  # no run folder, or no plan: load_plan says so in its own words
        if stat.S_ISLNK(info.st_mode):
            raise SharedError(
                f"{path} is a symbolic link: a run folder and its plan are never links",
                "Name the run folder itself, under ROOT/reports/",
            )
        if info.st_uid != os.geteuid():
            owner, me = fs.user_name(info.st_uid), fs.user_name(os.geteuid())
            raise SharedError(
                f"{path} belongs to {owner}, not to {me}: only the owner of a run folder may "
                "resume, cancel or settle it",
                f"Run it as {owner}, or only look at the run",
                command=("replicate", "--status", str(run_dir)),
            )
