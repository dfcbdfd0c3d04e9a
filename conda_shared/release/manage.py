"""The releases of one environment: list them, roll back, prune old ones, rebuild a pruned one."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import audit, fs
from ..errors import InputError
from ..kernels.read import kernels_running, read_kernels
from ..layout import SharedRoot, open_root
from ..replicate.conda import Failure
from . import journal
from .build import access_of, build, ensure_releases_dir, freeze, make_public
from .change import managed
from .journal import Entry
from .layout import (
    ADOPTED_PREFIX,
    adopted_folders,
    build_log,
    current_release,
    env_link,
    is_release_id,
    pinned_releases,
    read_record,
    records_dir,
    release_ids,
    release_prefix,
)


@dataclass(frozen=True)
class ReleaseEntry:
    """One release as `release list` shows it."""

    id: str
    current: bool
    pinned: bool
    present: bool  # False: pruned (its record stays, `release rebuild` brings it back)
    parent: str | None
    created: str | None
    user: str | None
    kind: str | None
    diff: dict[str, list[list[str]]] | None


@dataclass(frozen=True)
class ReleaseList:
    env: str
    installation: Path
    current: str | None
    releases: tuple[ReleaseEntry, ...]
    adopted: tuple[str, ...]  # .adopted-ID folders kept beside the releases


@dataclass(frozen=True)
class Switched:
    """A rollback: from which release to which, and whether envs/NAME changed."""

    env: str
    source: str
    target: str
    switched: bool
    dry_run: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pruned:
    env: str
    keep: int
    kept: tuple[str, ...]
    removed: tuple[str, ...]
    removed_adopted: tuple[str, ...]
    dry_run: bool


@dataclass(frozen=True)
class Rebuilt:
    env: str
    release_id: str
    prefix: Path
    failure: Failure | None
    dry_run: bool


def list_releases(*, root: Path, installation: str | None, name: str) -> ReleaseList:
    shared, inst = _open(root, installation)
    current = current_release(inst, name)
    present = set(release_ids(inst, name))
    recorded = _recorded_ids(shared, inst, name)
    pinned = pinned_releases(shared.path, inst, name)
    if not present and not recorded:
        raise InputError(
            f"{name} has no releases in {inst}",
            "Make its first release (a plain env is adopted first)",
            command=("release", name, "--adopt", "--from", inst.name),
        )
    entries = []
    for release_id in sorted(present | recorded):
        record = read_record(records_dir(shared.state_dir, inst, name, release_id))
        entries.append(
            ReleaseEntry(
                id=release_id,
                current=release_id == current,
                pinned=release_id in pinned,
                present=release_id in present,
                parent=record.parent if record else None,
                created=record.created if record else None,
                user=record.user if record else None,
                kind=record.kind if record else None,
                diff=dict(record.diff) if record else None,
            )
        )
    adopted = tuple(p.name[len(ADOPTED_PREFIX) :] for p in adopted_folders(inst, name))
    return ReleaseList(name, inst, current, tuple(entries), adopted)


def rollback(
    *, root: Path, installation: str | None, name: str, to: str | None = None, dry_run: bool = False
) -> Switched:
    """Point envs/NAME back at its parent release (or at `to`), in one rename."""
    shared, inst = _open(root, installation)
    with journal.env_lock(shared.path, inst, name, shared_root=not shared.single):
        recovered = journal.recover(shared.path, inst, name)
        current = managed(inst, name)
        target = to or _parent_of(shared, inst, name, current)
        if target is None:
            raise InputError(
                f"{name} has no release before {current} to roll back to",
                "Pass the release to switch to as --to ID; its releases are listed by",
                command=("release", "list", name, "--from", inst.name),
            )
        if target not in release_ids(inst, name):
            raise InputError(
                f"{name} has no release {target} in {inst}"
                + (" (it was pruned)" if target in _recorded_ids(shared, inst, name) else ""),
                "Name one `release list` shows as present, or rebuild it first",
                command=("release", "rebuild", name, target, "--from", inst.name),
            )
        result = Switched(name, current, target, False, dry_run, (recovered,) if recovered else ())
        if dry_run or target == current:
            return result
        journal.begin(inst, Entry(name, "switch", target, new_records=False))
        journal.recover(shared.path, inst, name)
        audit.try_record(
            shared.log_path,
            command=f"release rollback {name}",
            result="ok",
            action="rollback",
            source=current,
            target=target,
        )
        return Switched(name, current, target, True, False, result.notes)


def prune(
    *, root: Path, installation: str | None, name: str, keep: int, dry_run: bool = False
) -> Pruned:
    """Remove all but the newest `keep` releases; never the current one, the one before it,
    or a pinned one. Their records stay. `.adopted-ID` folders of removed releases go too."""
    if keep < 1:
        raise InputError(
            f"--keep {keep} would keep no release", "Pass --keep 1 or more (the current stays)"
        )
    shared, inst = _open(root, installation)
    with journal.env_lock(shared.path, inst, name, shared_root=not shared.single):
        journal.recover(shared.path, inst, name)
        current = managed(inst, name)
        ids = release_ids(inst, name)
        kept = set(ids[-keep:]) | {current} | pinned_releases(shared.path, inst, name)
        parent = _parent_of(shared, inst, name, current)
        if parent is not None:
            kept.add(parent)
        removed = tuple(i for i in ids if i not in kept)
        adopted = tuple(
            p for p in adopted_folders(inst, name) if p.name[len(ADOPTED_PREFIX) :] not in kept
        )
        if not dry_run:
            for release_id in removed:
                fs.remove_tree(release_prefix(inst, name, release_id))
                fs.remove_file(build_log(inst, name, release_id))
            for folder in adopted:
                fs.remove_tree(folder)
            audit.try_record(
                shared.log_path,
                command=f"release prune {name} --keep {keep}",
                result=f"removed {len(removed)} release(s)",
                action="prune",
            )
        return Pruned(
            name,
            keep,
            tuple(i for i in ids if i in kept),
            removed,
            tuple(p.name for p in adopted),
            dry_run,
        )


def rebuild(
    *,
    root: Path,
    installation: str | None,
    name: str,
    release_id: str,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> Rebuilt:
    """Build a pruned release again at its own path from its saved lock (envs/NAME stays)."""
    shared, inst = _open(root, installation)
    saved = records_dir(shared.state_dir, inst, name, release_id) / f"{name}.lock"
    if not is_release_id(release_id) or not saved.is_file():
        raise InputError(
            f"{name} has no saved release {release_id} (no {saved})",
            "Name a release `release list` shows",
            command=("release", "list", name, "--from", inst.name),
        )
    prefix = release_prefix(inst, name, release_id)
    with journal.env_lock(shared.path, inst, name, shared_root=not shared.single):
        journal.recover(shared.path, inst, name)
        if os.path.lexists(prefix):
            raise InputError(
                f"release {release_id} of {name} is present at {prefix}: nothing to rebuild",
                "Rebuild only a release `release list` shows as pruned",
                command=("release", "list", name, "--from", inst.name),
            )
        if dry_run:
            return Rebuilt(name, release_id, prefix, None, True)
        kernels = kernels_running(read_kernels(shared.kernels_dir), env_link(inst, name))
        access = access_of(env_link(inst, name))
        ensure_releases_dir(inst, name)
        journal.begin(inst, Entry(name, "build", release_id, new_records=False))
        try:
            journal.mark_building(prefix, release_id=release_id)
            built = build(
                installation=inst,
                prefix=prefix,
                lock_text=saved.read_text(encoding="utf-8"),
                kernels=kernels,
                progress=progress,
            )
            if built.failure is not None:
                journal.recover(shared.path, inst, name)
                return Rebuilt(name, release_id, prefix, built.failure, False)
            freeze(prefix, name)
            make_public(prefix, access)
            journal.begin(inst, Entry(name, "publish", release_id, new_records=False))
        finally:
            journal.recover(shared.path, inst, name)
        audit.try_record(
            shared.log_path,
            command=f"release rebuild {name} {release_id}",
            result="ok" if built.smoke is None else f"ok, smoke {asdict(built.smoke)['ok']}",
            action="rebuild",
            target=release_id,
        )
        return Rebuilt(name, release_id, prefix, None, False)


def _open(root: Path, installation: str | None) -> tuple[SharedRoot, Path]:
    shared = open_root(root)
    return shared, shared.installation(installation)


def _recorded_ids(shared: SharedRoot, inst: Path, name: str) -> set[str]:
    folder = records_dir(shared.state_dir, inst, name, "x").parent
    try:
        return {n for n in os.listdir(folder) if is_release_id(n)}
    except OSError:
        return set()


def _parent_of(shared: SharedRoot, inst: Path, name: str, current: str) -> str | None:
    """The release `current` was made from (its record), else the one before it by ID."""
    record = read_record(records_dir(shared.state_dir, inst, name, current))
    if record is not None and record.parent is not None:
        return record.parent
    earlier = [i for i in release_ids(inst, name) if i < current]
    return earlier[-1] if earlier else None
