"""Change one shared environment as a dated, immutable release, switched atomically."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..layout import open_root
from ..replicate.conda import Failure
from .layout import (
    ReleaseRecord,
    current_release,
    next_release_id,
    release_ids,
    release_prefix,
)
from .solve import Change, Solution, solve_change

__all__ = ["Change", "ReleasePlan", "ReleaseResult", "release_env"]


@dataclass(frozen=True)
class ReleasePlan:
    """What a release will do, shown before it is confirmed: its new ID, parent and diff."""

    env: str
    installation: Path
    release_id: str
    parent: str | None
    prefix: Path
    change: Change
    solution: Solution


@dataclass(frozen=True)
class ReleaseResult:
    """What a release did: `record` is None for a dry run or a declined plan."""

    env: str
    release_id: str
    parent: str | None
    record: ReleaseRecord | None
    switched: bool
    failure: Failure | None
    plan: ReleasePlan | None = None


def release_env(
    *,
    root: Path,
    installation: str | None,
    name: str,
    change: Change,
    dry_run: bool = False,
    accept_diff: bool = False,
    confirm: Callable[[ReleasePlan], bool] = lambda plan: True,
    progress: Callable[[str], None] = lambda line: None,
) -> ReleaseResult:
    """Solve `change` over NAME's current release, build it as a new release, smoke-test,
    publish and switch envs/NAME to it; with `dry_run`, only solve and return the plan."""
    shared = open_root(root)
    inst = shared.installation(installation)
    parent = current_release(inst, name)
    if parent is None:
        raise InputError(
            f"{inst / 'envs' / name} is not a release-managed environment",
            "Adopt it first, then release changes to it",
            command=("release", name, "--adopt"),
        )
    release_id = next_release_id(release_ids(inst, name), today=_today())
    progress(f"solving {name} with the conda of {inst}")
    solution = solve_change(installation=inst, name=name, change=change)
    plan = ReleasePlan(
        env=name,
        installation=inst,
        release_id=release_id,
        parent=parent,
        prefix=release_prefix(inst, name, release_id),
        change=change,
        solution=solution,
    )
    if dry_run or solution.failure is not None or not confirm(plan):
        return ReleaseResult(name, release_id, parent, None, False, solution.failure, plan)
    raise InputError(
        "building a release is not available in this version",
        "Run with --dry-run to see the plan",
    )


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()
