"""Adopt a plain env folder: rebuild it from its own lock as release one, compare, switch.

The rebuild must hold the same packages as the folder (conda's, by name, version and build;
pip's, by name and version), else adoption stops with the diff unless `accept_diff`. Then the
folder and the link change places in one step where the file system can (renameat2), and the
folder is kept as `.releases/NAME/.adopted-ID` (marked, not runnable) until `release prune`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import audit
from ..condarc import CondaConfig
from ..errors import InputError
from ..kernels.read import kernels_running, read_kernels
from ..layout import open_root
from ..prefix import read_env
from ..replicate.conda import Failure
from . import journal
from .build import access_of, build, ensure_releases_dir, freeze, make_public
from .change import taken_ids, today
from .journal import Entry
from .layout import current_release, env_link, next_release_id, release_prefix
from .records import export_files, record_release
from .solve import Change, PackageDiff, SolvedPackage, current_packages, package_diff


@dataclass(frozen=True)
class Adopted:
    """What an adoption did: `switched` once envs/NAME is the link to release one;
    `one_step` False when two renames had to do it (the file system cannot exchange)."""

    env: str
    release_id: str
    prefix: Path
    diff: PackageDiff
    switched: bool
    one_step: bool | None
    failure: Failure | None
    dry_run: bool = False
    notes: tuple[str, ...] = ()


def needs_adoption(*, root: Path, installation: str | None, name: str) -> bool:
    """Whether NAME of that installation is a plain env folder, to be adopted first."""
    return is_plain_env(open_root(root).installation(installation), name)


def is_plain_env(installation: Path, name: str) -> bool:
    """envs/NAME is a real folder holding an environment (not yet release-managed)."""
    link = env_link(installation, name)
    return not link.is_symlink() and (link / "conda-meta").is_dir()


def adopt_env(
    *,
    root: Path,
    installation: str | None,
    name: str,
    accept_diff: bool = False,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> Adopted:
    """Make the plain env envs/NAME release-managed; its current state becomes release one."""
    shared = open_root(root)
    inst = shared.installation(installation)
    folder = env_link(inst, name)
    with journal.env_lock(shared.path, inst, name, shared_root=not shared.single):
        recovered = journal.recover(shared.path, inst, name)
        notes = (recovered,) if recovered else ()
        if not is_plain_env(inst, name):
            _refuse(inst, name)
        release_id = next_release_id(taken_ids(inst, name), today=today())
        prefix = release_prefix(inst, name, release_id)
        kernels = kernels_running(read_kernels(shared.kernels_dir), folder)
        files, _ = export_files(installation=inst, name=name, prefix=folder, kernels=kernels)
        if dry_run:
            return Adopted(name, release_id, prefix, PackageDiff(), False, None, None, True, notes)
        access = access_of(folder)
        ensure_releases_dir(inst, name)
        journal.begin(inst, Entry(name, "build", release_id, new_records=True))
        journal.mark_building(prefix, release_id=release_id)
        try:
            built = build(
                installation=inst,
                prefix=prefix,
                lock_text=files[f"{name}.lock"],
                kernels=kernels,
                progress=progress,
            )
            diff = PackageDiff()
            if built.failure is None:
                diff = package_diff(_packages(folder), _packages(prefix))
            failure = built.failure or _mismatch(name, diff, accept_diff)
            if failure is not None:
                journal.recover(shared.path, inst, name)  # removes only what our marker proves
                _log(shared.log_path, name, release_id, f"failed: {failure.failure_class}")
                return Adopted(name, release_id, prefix, diff, False, None, failure, False, notes)
            freeze(prefix, name)
            record_release(
                root=shared.state_dir,
                installation=inst,
                name=name,
                release_id=release_id,
                prefix=prefix,
                kernels=kernels,
                parent=None,
                kind="adopted",
                change=Change(),
                diff=diff,
                smoke=None if built.smoke is None else asdict(built.smoke),
                strategy="lock",
            )
            make_public(prefix, access)
            progress(f"switching {name} to release {release_id}")
            journal.begin(inst, Entry(name, "adopt", release_id, new_records=False))
            one_step = journal.replace_plain_folder(inst, name, release_id)
            journal.recover(shared.path, inst, name)  # clears the marker and the journal
        except BaseException:
            journal.recover(shared.path, inst, name)  # undo the build, or finish the switch
            raise
        how = "one step" if one_step else "two renames"
        _log(shared.log_path, name, release_id, f"ok ({how})")
        return Adopted(name, release_id, prefix, diff, True, one_step, None, False, notes)


def _refuse(installation: Path, name: str) -> None:
    link = env_link(installation, name)
    if current_release(installation, name) is not None:
        raise InputError(
            f"{name} is already managed as releases (envs/{name} -> {os.readlink(link)})",
            "Change it with a new release instead",
            command=("release", name, "--add", "SPEC", "--from", installation.name),
        )
    if os.path.lexists(link):
        raise InputError(
            f"{link} is not a conda environment folder (no conda-meta/), so it cannot be adopted",
            "Name an environment of the installation; see them with inventory",
            command=("inventory", "--from", installation.name),
        )
    raise InputError(
        f"no environment {name} in {installation}",
        "Name one of its environments; see them with inventory",
        command=("inventory", "--from", installation.name),
    )


def _mismatch(name: str, diff: PackageDiff, accept_diff: bool) -> Failure | None:
    if diff.empty or accept_diff:
        return None
    names = tuple(entry[0] for entry in (*diff.added, *diff.removed, *diff.changed))
    return Failure(
        "adopt-diff",
        names,
        f"rebuilt from its own lock, {name} differs from the plain folder in "
        f"{len(names)} package(s)",
    )


def _packages(prefix: Path) -> tuple[SolvedPackage, ...]:
    """Conda's packages, and what pip put there as `pip:NAME` (a lock cannot rebuild those)."""
    env = read_env(prefix, name=prefix.name, config=CondaConfig())
    pip = tuple(
        SolvedPackage(f"pip:{dist.normalized}", dist.version, "", "pypi", "")
        for dist in env.pip_dists
    )
    return (*current_packages(prefix), *pip)


def _log(log_path: Path, name: str, release_id: str, result: str) -> None:
    audit.try_record(
        log_path,
        command=f"release {name} --adopt",
        result=result,
        action="adopt",
        target=release_id,
    )
