"""Per-env results of a run folder, and report.json/csv/md rebuilt from them atomically."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import resource
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import fs
from ..errors import SharedError
from ..prefix import normalize_name
from .plan import Transform
from .platform import NO_PLATFORM, TargetPlatform, platform_to_json
from .smoke import SmokeCheck, SmokeResult

RESULT_STATUSES = ("replicated", "failed", "skipped", "interrupted")


@dataclass(frozen=True)
class Attempt:
    """One rung of the ladder as it went."""

    strategy: str
    ok: bool
    failure_class: str | None
    packages: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class PostStep:
    """A command run after the env existed; a `manual` one (its source is gone) is not run."""

    kind: str
    command: str
    ok: bool


@dataclass(frozen=True)
class VersionChange:
    name: str
    from_: str
    to: str


@dataclass(frozen=True)
class Diff:
    """Package versions of the new env against the source: added, removed, changed."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[VersionChange, ...]


@dataclass(frozen=True)
class EnvResult:
    """One environment's outcome, as written to envs/NAME.json the moment it is known."""

    name: str
    source_prefix: str
    target_prefix: str
    status: str  # replicated | failed | skipped | interrupted
    strategy: str | None
    attempts: tuple[Attempt, ...]
    failure_class: str | None
    failure_packages: tuple[str, ...]
    error: str | None  # the first line of the error that decided the status
    transforms: tuple[Transform, ...]
    post_steps: tuple[PostStep, ...]
    diff: Diff | None
    smoke: SmokeResult | None
    log: str
    seconds: float
    #: of `seconds`: conda's and pip's commands, and the smoke test with the version diff
    build_seconds: float = 0.0
    check_seconds: float = 0.0
    #: CPU time of the conda-shared process that built the env (its own, not conda's or pip's)
    cpu_seconds: float = 0.0
    #: replicate options that fix the failure (platform-mismatch: the --virtual-package it needs)
    fix_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """The report document: the run's ends and every env that has a result so far."""

    from_: str
    to: str
    started: str
    finished: str | None
    envs: tuple[EnvResult, ...]
    run_dir: Path
    planned: tuple[str, ...]
    #: CPU time of the replicate command itself (not its tasks), once it finished the run
    cpu_seconds: float | None = None
    platform: TargetPlatform = NO_PLATFORM  # the target's (overridden) virtual pkgs

    def counts(self) -> Counter[str]:
        return Counter(env.status for env in self.envs)

    def summary(self) -> str:
        """`48 replicated, 12 failed: 7 package-not-found, 3 unsatisfiable, 2 pip-failed`."""
        counts = self.counts()
        text = f"{counts['replicated']} replicated, {counts['failed']} failed"
        classes = Counter(e.failure_class for e in self.envs if e.status == "failed")
        if classes:
            text += ": " + ", ".join(f"{n} {c}" for c, n in classes.most_common())
        for cut_short in ("skipped", "interrupted"):
            if counts[cut_short]:
                text += f"; {counts[cut_short]} {cut_short}"
        waiting = len(self.planned) - len(self.envs)
        if waiting > 0:
            text += f"; {waiting} not done"
        return text


def diff_versions(source: Mapping[str, str], target: Mapping[str, str]) -> Diff:
    """Compare {name: version} maps (names PEP 503-normalised by the caller)."""
    return Diff(
        added=tuple(f"{name}={target[name]}" for name in sorted(set(target) - set(source))),
        removed=tuple(f"{name}={source[name]}" for name in sorted(set(source) - set(target))),
        changed=tuple(
            VersionChange(name, source[name], target[name])
            for name in sorted(set(source) & set(target))
            if source[name] != target[name]
        ),
    )


def describe_diff(diff: Diff | None) -> str:
    """`tidy-util 1.0→1.1, +extra=2, -gone=1`, or `same versions`."""
    if diff is None:
        return ""
    parts = [f"{c.name} {c.from_}→{c.to}" for c in diff.changed]
    parts += [f"+{added}" for added in diff.added] + [f"-{removed}" for removed in diff.removed]
    return ", ".join(parts) or "same versions"


def describe_smoke(smoke: SmokeResult | None) -> str:
    """`ok`, `failed: import x, pip check`, or empty when no smoke test ran."""
    if smoke is None:
        return ""
    return "ok" if smoke.ok else "failed: " + ", ".join(c.name for c in smoke.checks if not c.ok)


def installed_versions(records: Sequence[tuple[str, str]]) -> dict[str, str]:
    return {normalize_name(name): version for name, version in records}


def own_cpu_seconds() -> float:
    """The CPU time this process has used so far, its children's not counted."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 3)


def result_path(run_dir: Path, name: str) -> Path:
    """envs/NAME.json of the run folder; a name that would lead out of envs/ is refused."""
    if name in ("", ".", "..") or Path(name).name != name:
        raise SharedError(
            f"refusing to write the result of {name!r}: an environment's key is a plain name",
            "Name environments as inventory lists them",
            command=("inventory",),
        )
    return run_dir / "envs" / f"{name}.json"


def write_result(run_dir: Path, result: EnvResult) -> None:
    text = json.dumps(result_to_json(result), indent=2) + "\n"
    fs.atomic_write(result_path(run_dir, result.name), text)


def read_result(path: Path) -> EnvResult | None:
    """A result file, or None when it is absent; a damaged one is an error naming the file."""
    try:
        data = json.loads(path.read_bytes())
        return result_from_json(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SharedError(
            f"{path} is damaged ({error})",
            "Delete it; resuming the run then builds that env again",
            command=("replicate", "--resume"),
        ) from None


def result_to_json(result: EnvResult) -> dict[str, Any]:
    data = dataclasses.asdict(result)
    if result.diff is not None:
        data["diff"]["changed"] = [
            {"name": c.name, "from": c.from_, "to": c.to} for c in result.diff.changed
        ]
    return data


def result_from_json(data: Mapping[str, Any]) -> EnvResult:
    diff = data.get("diff")
    smoke = data.get("smoke")
    return EnvResult(
        name=data["name"],
        source_prefix=data["source_prefix"],
        target_prefix=data["target_prefix"],
        status=data["status"],
        strategy=data["strategy"],
        attempts=tuple(
            Attempt(a["strategy"], a["ok"], a["failure_class"], tuple(a["packages"]), a["seconds"])
            for a in data["attempts"]
        ),
        failure_class=data["failure_class"],
        failure_packages=tuple(data["failure_packages"]),
        error=data.get("error"),
        transforms=tuple(Transform(**t) for t in data["transforms"]),
        post_steps=tuple(PostStep(**p) for p in data["post_steps"]),
        diff=None
        if diff is None
        else Diff(
            tuple(diff["added"]),
            tuple(diff["removed"]),
            tuple(VersionChange(c["name"], c["from"], c["to"]) for c in diff["changed"]),
        ),
        smoke=None
        if smoke is None
        else SmokeResult(smoke["ok"], tuple(SmokeCheck(**c) for c in smoke["checks"])),
        log=data["log"],
        seconds=data["seconds"],
        # absent from the results of runs before these were recorded
        build_seconds=data.get("build_seconds", 0.0),
        check_seconds=data.get("check_seconds", 0.0),
        cpu_seconds=data.get("cpu_seconds", 0.0),
        fix_options=tuple(data.get("fix_options") or ()),
    )


def report_to_json(report: Report) -> dict[str, Any]:
    """The document the issue specifies (also what `--json` prints)."""
    return {
        "from": report.from_,
        "to": report.to,
        "started": report.started,
        "finished": report.finished,
        "cpu_seconds": report.cpu_seconds,
        "virtual_packages": platform_to_json(report.platform),
        "envs": [result_to_json(env) for env in report.envs],
    }


def load_report(
    run_dir: Path,
    *,
    source: str,
    target: str,
    started: str,
    planned: Sequence[str],
    finished: str | None,
    cpu_seconds: float | None = None,
    platform: TargetPlatform = NO_PLATFORM,
) -> Report:
    """The report as the run folder holds it: every planned env's result file, in plan order,
    then results of envs that never got a plan (their export failed)."""
    unplanned = sorted({p.stem for p in (run_dir / "envs").glob("*.json")} - set(planned))
    planned = [*planned, *unplanned]
    results = [read_result(result_path(run_dir, name)) for name in planned]
    return Report(
        from_=source,
        to=target,
        started=started,
        finished=finished,
        envs=tuple(r for r in results if r is not None),
        run_dir=run_dir,
        planned=tuple(planned),
        cpu_seconds=cpu_seconds,
        platform=platform,
    )


def write_report(report: Report) -> None:
    """report.json, report.csv and report.md, each replaced whole, under the run's report lock.

    An unchanged report is left alone: `--wait` reads the run every second, and rewriting 600
    envs' report on a shared file system each time would be all churn. report.json goes last,
    so one that matches means the other two were written from the same results. The replicate
    command's CPU time, once recorded, stays when a later `--status` rebuilds the report.
    """
    with fs.exclusive_lock(report.run_dir / ".report.lock", wait_seconds=60):
        try:
            written = (report.run_dir / "report.json").read_text(encoding="utf-8")
        except (OSError, ValueError):
            written = ""  # absent or unreadable: write it
        if report.cpu_seconds is None:
            report = dataclasses.replace(report, cpu_seconds=_recorded_cpu_seconds(written))
        document = json.dumps(report_to_json(report), indent=2) + "\n"
        others = (report.run_dir / "report.csv", report.run_dir / "report.md")
        if written == document and all(other.exists() for other in others):
            return
        fs.atomic_write(report.run_dir / "report.csv", _csv(report))
        fs.atomic_write(report.run_dir / "report.md", _markdown(report))
        fs.atomic_write(report.run_dir / "report.json", document)  # last: it vouches for the rest


def _recorded_cpu_seconds(document: str) -> float | None:
    try:
        recorded = json.loads(document).get("cpu_seconds")
    except (ValueError, AttributeError):
        return None
    return recorded if isinstance(recorded, (int, float)) else None


_COLUMNS = (
    "name",
    "status",
    "strategy",
    "failure_class",
    "failure_packages",
    "error",
    "smoke",
    "diff",
    "transforms",
    "post_steps",
    "seconds",
    "build_seconds",
    "check_seconds",
    "cpu_seconds",
    "log",
)


def _row(env: EnvResult) -> dict[str, str]:
    return {
        "name": env.name,
        "status": env.status,
        "strategy": env.strategy or "",
        "failure_class": env.failure_class or "",
        "failure_packages": " ".join(env.failure_packages),
        "error": env.error or "",
        "smoke": describe_smoke(env.smoke),
        "diff": describe_diff(env.diff),
        "transforms": " ".join(f"{t.code}:{t.package}" for t in env.transforms),
        "post_steps": " ".join(f"{p.kind}:{'ok' if p.ok else 'failed'}" for p in env.post_steps),
        "seconds": f"{env.seconds:.1f}",
        "build_seconds": f"{env.build_seconds:.1f}",
        "check_seconds": f"{env.check_seconds:.1f}",
        "cpu_seconds": f"{env.cpu_seconds:.2f}",
        "log": env.log,
    }


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for env in report.envs:
        writer.writerow(_row(env))
    return out.getvalue()


def _markdown(report: Report) -> str:
    lines = [
        f"# Replication {report.from_} → {report.to}",
        "",
        f"Started {report.started}, "
        + (f"finished {report.finished}" if report.finished else "not finished")
        + f". {report.summary()}.",
        "",
        f"Target virtual packages: {report.platform.describe()}.",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for env in report.envs:
        cells = (_row(env)[c].replace("|", "\\|").replace("\n", " ") for c in _COLUMNS)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
