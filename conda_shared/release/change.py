"""Release one change to an env: solve it, build the new release, record it, switch to it."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import audit
from ..errors import InputError
from ..kernels.read import kernels_running, read_kernels
from ..layout import SharedRoot, open_root
from ..replicate.conda import Failure
from . import journal
from .build import access_of, build, ensure_releases_dir, freeze, make_public
from .journal import Entry
from .layout import (
    ReleaseRecord,
    current_release,
    env_link,
    next_release_id,
    release_prefix,
    releases_dir,
)
from .records import record_release
from .solve import Change, Solution, solve_change
from .specs import check_add_specs

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
    notes: tuple[str, ...] = ()


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
    """Solve `change` over NAME's current release, build it as a new release at its final
    path, smoke-test, publish and switch envs/NAME to it; with `dry_run`, only solve.

    A failed solve, build or smoke test leaves envs/NAME as it was and says why in `failure`.
    `accept_diff` is for adoption (a plain env rebuilt as its first release).
    """
    shared = open_root(root)
    inst = shared.installation(installation)
    managed(inst, name)
    check_add_specs(inst, change.add)
    if dry_run:
        return _planned(inst, name, change, progress).result(notes=())
    with journal.env_lock(shared.path, inst, name, shared_root=not shared.single):
        recovered = journal.recover(shared.path, inst, name)
        notes = (recovered,) if recovered else ()
        plan = _planned(inst, name, change, progress)
        if plan.failure is not None or not confirm(plan.plan):
            return plan.result(notes=notes)
        try:
            return _release(shared, plan.plan, notes=notes, progress=progress)
        except BaseException:
            # Undo an unfinished build, or finish a switch that was committed (journal).
            journal.recover(shared.path, inst, name)
            raise


def check_change(*, root: Path, installation: str | None, change: Change) -> None:
    """Refuse a change whose specs are wrong before anything is built, an adoption included."""
    check_add_specs(open_root(root).installation(installation), change.add)


def managed(installation: Path, name: str) -> str:
    """NAME's current release; a plain folder, a missing env or a foreign link is refused."""
    link = env_link(installation, name)
    current = current_release(installation, name)
    if current is not None:
        return current
    if link.is_dir() and not link.is_symlink():
        raise InputError(
            f"{link} is a plain environment folder, not yet managed as releases",
            "Adopt it first (its current state becomes release one)",
            command=("release", name, "--adopt", "--from", installation.name),
        )
    if os.path.lexists(link):
        raise InputError(
            f"{link} is a link to {os.readlink(link)}, not to one of its releases",
            f"Look at what made that link; releases of {name} live in "
            f"{releases_dir(installation, name)}",
        )
    raise InputError(
        f"no environment {name} in {installation}",
        "Name one of its environments; see them with inventory",
        command=("inventory", "--from", installation.name),
    )


@dataclass(frozen=True)
class _Planned:
    plan: ReleasePlan

    @property
    def failure(self) -> Failure | None:
        return self.plan.solution.failure

    def result(self, *, notes: tuple[str, ...]) -> ReleaseResult:
        plan = self.plan
        return ReleaseResult(
            plan.env, plan.release_id, plan.parent, None, False, self.failure, plan, notes
        )


def _planned(inst: Path, name: str, change: Change, progress: Callable[[str], None]) -> _Planned:
    parent = managed(inst, name)
    progress(f"solving the change to {name} with the conda of {inst}")
    solution = solve_change(installation=inst, name=name, change=change)
    if solution.failure is None and solution.diff.empty:
        raise InputError(
            f"the change leaves {name} as release {parent} has it: nothing to release",
            "Name a package to add, remove or update that changes the environment",
        )
    release_id = next_release_id(taken_ids(inst, name), today=today())
    plan = ReleasePlan(
        env=name,
        installation=inst,
        release_id=release_id,
        parent=parent,
        prefix=release_prefix(inst, name, release_id),
        change=change,
        solution=solution,
    )
    return _Planned(plan)


def taken_ids(inst: Path, name: str) -> list[str]:
    """Every ID in use, published or not (a folder left by a crash keeps its name taken)."""
    try:
        return [n.removeprefix(".adopted-") for n in os.listdir(releases_dir(inst, name))]
    except FileNotFoundError:
        return []


def _release(
    shared: SharedRoot,
    plan: ReleasePlan,
    *,
    notes: tuple[str, ...],
    progress: Callable[[str], None],
) -> ReleaseResult:
    inst, name, release_id = plan.installation, plan.env, plan.release_id
    kernels = kernels_running(read_kernels(shared.kernels_dir), env_link(inst, name))
    access = access_of(env_link(inst, name))
    ensure_releases_dir(inst, name)
    journal.begin(inst, Entry(name, "build", release_id, new_records=True))
    journal.mark_building(plan.prefix, release_id=release_id)
    built = build(
        installation=inst,
        prefix=plan.prefix,
        lock_text=plan.solution.lock_text(),
        kernels=kernels,
        progress=progress,
    )
    smoke = None if built.smoke is None else asdict(built.smoke)
    if built.failure is not None:
        journal.recover(shared.path, inst, name)  # removes only what the marker proves ours
        _log(shared, plan, f"failed: {built.failure.failure_class}: {built.failure.message}")
        return ReleaseResult(name, release_id, plan.parent, None, False, built.failure, plan, notes)
    freeze(plan.prefix, name)
    record = record_release(
        root=shared.state_dir,
        installation=inst,
        name=name,
        release_id=release_id,
        prefix=plan.prefix,
        kernels=kernels,
        parent=plan.parent,
        kind="release",
        change=plan.change,
        diff=plan.solution.diff,
        smoke=smoke,
        strategy=plan.solution.strategy,
    )
    make_public(plan.prefix, access)
    progress(f"switching {name} to {release_id}")
    journal.begin(inst, Entry(name, "switch", release_id, new_records=False))
    journal.recover(shared.path, inst, name)
    _log(shared, plan, "ok")
    return ReleaseResult(name, release_id, plan.parent, record, True, None, plan, notes)


def _log(shared: SharedRoot, plan: ReleasePlan, result: str) -> None:
    audit.try_record(
        shared.log_path,
        command=f"release {plan.env}",
        result=result,
        action="release",
        source=plan.parent,
        target=plan.release_id,
    )


def today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()
