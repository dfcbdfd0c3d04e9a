"""The run folder ROOT/reports/<stamp>/: plan.json, envs/, logs/, inputs/ and the report files.

A run, `--resume`, a crash and a Slurm array all meet here: the plan says what to do, each
env's result file says what was done, and the report is rebuilt from those files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import fs
from ..errors import InputError, SharedError
from .plan import EnvPlan, plan_from_json, plan_to_json
from .report import Report, load_report, write_report

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
            "Start one with `conda shared replicate` (without --resume, --status or --cancel)",
        )
    return runs[-1]


def write_plan(run: RunPlan) -> None:
    document: dict[str, Any] = {
        "schema": PLAN_SCHEMA,
        "from": str(run.source),
        "to": str(run.target),
        "target_conda_version": run.target_conda_version,
        "started": run.started,
        "relax": run.relax,
        "force": run.force,
        "filled": list(run.filled),
        "envs": [plan_to_json(env) for env in run.envs],
    }
    fs.atomic_write(run.run_dir / "plan.json", json.dumps(document, indent=1) + "\n")


def load_plan(run_dir: Path) -> RunPlan:
    path = run_dir / "plan.json"
    try:
        document = json.loads(path.read_bytes())
        if document.get("schema") != PLAN_SCHEMA:
            raise ValueError(f"schema {document.get('schema')!r}")
        return RunPlan(
            run_dir=run_dir,
            source=Path(document["from"]),
            target=Path(document["to"]),
            target_conda_version=document["target_conda_version"],
            started=document["started"],
            relax=bool(document["relax"]),
            force=bool(document["force"]),
            envs=tuple(plan_from_json(env) for env in document["envs"]),
            filled=tuple(document["filled"]),
        )
    except FileNotFoundError:
        raise InputError(
            f"{run_dir} is not a replicate run folder (no plan.json)",
            "Give a folder under ROOT/reports/ that a replicate run made",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SharedError(
            f"cannot use {path}: {error}", "Start a new run with `conda shared replicate`"
        ) from None


def current_report(run_dir: Path, *, finished: str | None = None) -> Report:
    run = load_plan(run_dir)
    return load_report(
        run_dir,
        source=str(run.source),
        target=str(run.target),
        started=run.started,
        planned=[env.name for env in run.envs],
        finished=finished,
    )


def rebuild_report(run_dir: Path, *, finished: str | None = None) -> Report:
    """Rewrite report.json/csv/md from the result files that exist now."""
    report = current_report(run_dir, finished=finished)
    write_report(report)
    return report


def env_lock_path(run_dir: Path, name: str) -> Path:
    """Held by whoever builds or settles env `name` (a task, or the one recording its loss)."""
    return run_dir / "envs" / f".{name}.lock"
