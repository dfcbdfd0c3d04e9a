"""Whether each env a cutover needs is in the target: its latest result across replicate runs,
weighed against what the target holds now, and the replicate commands that settle the rest."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .replicate_report import NOT_DONE, ReplicatedEnv, ReplicateReport, ReportSearch


@dataclass(frozen=True)
class Needed:
    """An env the cutover needs, as the inventory names it: a name (its export key) or, for
    envs that share a name, the absolute path of the source prefix."""

    entry: str

    @property
    def is_path(self) -> bool:
        return os.path.isabs(self.entry)

    def matches(self, env: ReplicatedEnv) -> bool:
        if not self.is_path:
            return env.name == self.entry
        return bool(env.source_prefix) and _same_path(env.source_prefix, self.entry)


@dataclass(frozen=True)
class Verdict:
    """One needed env: fine, or what is wrong and how replicate must treat it."""

    needed: Needed
    problem: str | None  # None when it is replicated, smoke-tested and present in the target
    key: str | None  # the name replicate knows it by (None: a path no run has planned yet)
    in_target: bool  # something is at its prefix in the target now (only --force replaces it)
    run: str | None  # the run whose result decided
    resumable: bool = False  # not done in the root's latest run: `replicate --resume` finishes it
    fix_options: tuple[str, ...] = ()  # what replicate needs besides (--virtual-package ...)


@dataclass(frozen=True)
class Judgement:
    verdicts: tuple[Verdict, ...]
    commands: tuple[tuple[str, ...], ...]  # replicate commands that settle every problem

    @property
    def problems(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.problem is not None)


def judge(search: ReportSearch, needed: Sequence[Needed], target: Path) -> Judgement:
    """Each needed env by its newest result that is not a skip (a skip only says the env was
    already there), and by whether its prefix exists in the target now."""
    verdicts = tuple(_verdict(search, item, target) for item in needed)
    return Judgement(verdicts, _commands([v for v in verdicts if v.problem], target))


def _verdict(search: ReportSearch, needed: Needed, target: Path) -> Verdict:
    history = [
        (report, env) for report in search.reports for env in report.envs if needed.matches(env)
    ]
    latest = history[-1][1] if history else None
    key = latest.name if latest else (None if needed.is_path else needed.entry)
    recorded = latest.target_prefix if latest else ""
    prefix = Path(recorded) if recorded else target / "envs" / str(key)
    in_target = key is not None and os.path.lexists(prefix)
    decided = [(report, env) for report, env in history if env.status != "skipped"]
    if not decided:
        never = (
            f"exists in {target.name} but no replicate run built it"
            if in_target
            else "not replicated yet"
        )
        return Verdict(needed, never, key, in_target, None)
    report, env = decided[-1]
    problem = _problem(report, env, in_target, target)
    unfinished = env.status in (NOT_DONE, "interrupted") and report.finished is None
    resumable = unfinished and report.run == search.latest_run
    return Verdict(needed, problem, key, in_target, report.run, resumable, env.fix_options)


def _problem(
    report: ReplicateReport, env: ReplicatedEnv, in_target: bool, target: Path
) -> str | None:
    if env.status == NOT_DONE:
        return f"not done: run {report.run} did not finish"
    if env.status != "replicated":  # failed, or interrupted and cleaned up
        why = f" ({env.failure_class})" if env.failure_class == "platform-mismatch" else ""
        return f"{env.status}{why} in run {report.run}"
    if env.smoke_ok is not True:
        return f"smoke test failed in run {report.run}"
    if not in_target:
        return f"replicated in run {report.run}, since gone from {target.name}"
    return None


def _commands(problems: Sequence[Verdict], target: Path) -> tuple[tuple[str, ...], ...]:
    """`--resume` for the latest run's unfinished envs, a new run for what is missing, and
    `--force` for what stands in the target but failed or was never built by replicate."""
    resume = [v for v in problems if v.resumable]
    rest = [v for v in problems if not v.resumable]
    build = [v for v in rest if not v.in_target]
    replace = [v.key for v in rest if v.in_target and v.key]
    commands: list[tuple[str, ...]] = []
    if resume:
        commands.append(("replicate", "--resume"))
    if any(v.key is None for v in build):
        # A path no run has planned: its key is replicate's to choose. A run over the
        # inventory builds every REPLICATE env that is not in the target yet.
        commands.append(("replicate", "--to", target.name))
    elif build:
        for options in dict.fromkeys(v.fix_options for v in build):
            keys = [str(v.key) for v in build if v.fix_options == options]
            commands.append(("replicate", "--to", target.name, *options, *keys))
    if replace:
        commands.append(("replicate", "--to", target.name, "--force", *replace))
    return tuple(commands)


def _same_path(recorded: str, entry: str) -> bool:
    if os.path.normpath(recorded) == os.path.normpath(entry):
        return True
    return os.path.realpath(recorded) == os.path.realpath(entry)
