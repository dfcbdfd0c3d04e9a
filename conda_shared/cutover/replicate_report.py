"""Reading replicate's run folders (ROOT/reports/<stamp>/): every run into a target, in order."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

#: The status of an env a run planned but has no result for yet (the run did not finish).
NOT_DONE = "not done"


@dataclass(frozen=True)
class ReplicatedEnv:
    """One environment's outcome in a replicate run."""

    name: str  # the export key replicate built it under (its name unless two envs share it)
    status: str  # replicated | failed | skipped | not done
    smoke_ok: bool | None
    source_prefix: str
    target_prefix: str
    failure_class: str | None = None
    fix_options: tuple[str, ...] = ()  # replicate options its result says fix it


@dataclass(frozen=True)
class ReplicateReport:
    """The parts of a replicate run that cutover's preflight needs."""

    path: Path
    target: Path
    started: str
    finished: str | None
    envs: tuple[ReplicatedEnv, ...]  # results, then (unfinished run) planned envs not done

    @property
    def run(self) -> str:
        return self.path.parent.name


@dataclass(frozen=True)
class ReportSearch:
    """Every report into a target, oldest first, the reports that could not be read, and the
    latest run of the root (the one `replicate --resume` continues), whatever its target."""

    reports: tuple[ReplicateReport, ...]
    unreadable: tuple[str, ...]
    latest_run: str | None


def reports_into(reports_dir: Path, target: Path) -> ReportSearch:
    """The reports whose `to` is `target` (compared as real paths), by start time."""
    real_target = target.resolve()
    found: list[ReplicateReport] = []
    unreadable: list[str] = []
    try:
        stamps = sorted(entry.name for entry in os.scandir(reports_dir) if entry.is_dir())
    except OSError:
        stamps = []
    runs = [stamp for stamp in stamps if (reports_dir / stamp / "plan.json").is_file()]
    for stamp in stamps:
        path = reports_dir / stamp / "report.json"
        if not path.is_file():
            continue
        try:
            report = _parse(path, json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            unreadable.append(f"{path}: {error}")
            continue
        try:
            if report.target.resolve() == real_target:
                found.append(report)
        except (OSError, RuntimeError) as error:  # a symlink loop
            unreadable.append(f"{path}: {error}")
    found.sort(key=lambda r: (r.started, r.run))
    return ReportSearch(
        reports=tuple(found), unreadable=tuple(unreadable), latest_run=runs[-1] if runs else None
    )


def _parse(path: Path, document: dict[str, object]) -> ReplicateReport:
    envs = []
    for item in document["envs"]:  # type: ignore[attr-defined]
        smoke = item.get("smoke") or {}
        smoke_ok = smoke.get("ok") if isinstance(smoke, dict) else None
        envs.append(
            ReplicatedEnv(
                name=str(item["name"]),
                status=str(item["status"]),
                smoke_ok=bool(smoke_ok) if smoke_ok is not None else None,
                source_prefix=str(item.get("source_prefix") or ""),
                target_prefix=str(item.get("target_prefix") or ""),
                failure_class=str(item["failure_class"]) if item.get("failure_class") else None,
                fix_options=tuple(str(option) for option in item.get("fix_options") or ()),
            )
        )
    finished = document.get("finished")
    if not finished:
        envs += _not_done(path.parent / "plan.json", {env.name for env in envs})
    return ReplicateReport(
        path=path,
        target=Path(str(document["to"])),
        started=str(document.get("started") or ""),
        finished=str(finished) if finished else None,
        envs=tuple(envs),
    )


def _not_done(plan_path: Path, have_results: set[str]) -> list[ReplicatedEnv]:
    """The envs an unfinished run planned and has no result for (none when its plan is gone)."""
    try:
        planned = json.loads(plan_path.read_bytes())["envs"]
        return [
            ReplicatedEnv(
                name=str(env["name"]),
                status=NOT_DONE,
                smoke_ok=None,
                source_prefix=str(env.get("source_prefix") or ""),
                target_prefix=str(env.get("target_prefix") or ""),
            )
            for env in planned
            if str(env["name"]) not in have_results
        ]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []
