"""Reading replicate's reports (ROOT/reports/<stamp>/report.json): the latest run into a target."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReplicatedEnv:
    """One environment's outcome in a replicate report."""

    name: str
    status: str  # replicated | failed | skipped
    smoke_ok: bool | None


@dataclass(frozen=True)
class ReplicateReport:
    """The parts of a replicate report that cutover's preflight needs."""

    path: Path
    target: Path
    started: str
    finished: str | None
    envs: tuple[ReplicatedEnv, ...]

    def env(self, name: str) -> ReplicatedEnv | None:
        return next((env for env in self.envs if env.name == name), None)


@dataclass(frozen=True)
class ReportSearch:
    """The latest report into a target, and the reports that could not be read."""

    report: ReplicateReport | None
    unreadable: tuple[str, ...]


def latest_report(reports_dir: Path, target: Path) -> ReportSearch:
    """The most recently started report whose `to` is `target` (compared as real paths)."""
    real_target = target.resolve()
    found: list[ReplicateReport] = []
    unreadable: list[str] = []
    try:
        stamps = [entry.name for entry in os.scandir(reports_dir) if entry.is_dir()]
    except OSError:
        stamps = []
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
    found.sort(key=lambda r: (r.started, r.path.parent.name))
    return ReportSearch(report=found[-1] if found else None, unreadable=tuple(unreadable))


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
            )
        )
    finished = document.get("finished")
    return ReplicateReport(
        path=path,
        target=Path(str(document["to"])),
        started=str(document.get("started") or ""),
        finished=str(finished) if finished else None,
        envs=tuple(envs),
    )
