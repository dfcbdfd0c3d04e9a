"""What a replicate run may delete in the target: only prefixes that carry its build marker.

A run writes its marker (`PREFIX/.conda-shared-build`, naming the run folder) into a prefix
before each conda call and removes it once the env is replicated, so a prefix is this run's
exactly while this run is building it; nothing else (a claim, an inode number) counts. `--force`
moves the env it replaces aside (`envs/.NAME.replaced-RUN`) and puts it back unless the new one
replicated and passed its smoke test. A lock per prefix, beside it in the target's `envs/`,
keeps a second run off an env one run is building.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from .. import fs
from ..errors import SharedError

MARKER = ".conda-shared-build"
_RUN_NOTE = "run "


def run_id(run_dir: Path) -> str:
    """How a run names itself in markers and locks: its run folder, resolved (a task, --resume
    and `--status RUN` may reach it through different paths)."""
    return os.path.realpath(run_dir)


def mark(prefix: Path, *, run_dir: Path) -> None:
    """Make `prefix` this run's before a conda call: write the marker, creating the folder with
    the marker already inside when it is absent (so no instant exists where it has none).

    A prefix that exists without this run's marker was made by someone else while this run
    held its lock (an admin by hand): it is refused, never claimed.
    """
    if not os.path.lexists(prefix):
        built = fs.private_dir_beside(prefix)
        fs.write_file(built / MARKER, json.dumps({"run": run_id(run_dir)}) + "\n")
        fs.publish_dir(built, prefix, mode=fs.default_dir_mode())  # as conda's mkdir would
    elif not _marked_by(prefix, run_dir):
        raise SharedError(
            f"{prefix} appeared while this run was building it, and this run did not make it",
            f"Look at who made {prefix}; resuming leaves it alone",
            command=("replicate", "--resume"),
        )


def remove_if_ours(prefix: Path, *, run_dir: Path) -> bool:
    """Delete `prefix` when it carries this run's marker; whether it did."""
    if not _marked_by(prefix, run_dir):
        return False
    fs.remove_tree(prefix, last=MARKER)  # killed half-way, what is left still proves it ours
    return True


def set_aside_path(prefix: Path, *, run_dir: Path) -> Path:
    return prefix.with_name(f".{prefix.name}.replaced-{run_dir.name}")


def set_aside(prefix: Path, *, run_dir: Path) -> None:
    """Move the env `--force` replaces out of the way (one rename; unavailable until put back)."""
    fs.rename_dir(prefix, set_aside_path(prefix, run_dir=run_dir))


def undo(prefix: Path, *, run_dir: Path) -> str | None:
    """Put the target back as it was before this run built `prefix`: this run's (half-)built
    env goes, the env it set aside comes back. Returns why the set-aside env stays set aside,
    when it must (something else now stands at `prefix`)."""
    for folder in (prefix, *fs.temp_siblings(prefix)):  # one killed while `mark` made it too
        remove_if_ours(folder, run_dir=run_dir)
    aside = set_aside_path(prefix, run_dir=run_dir)
    if not os.path.lexists(aside):
        return None
    if os.path.lexists(prefix):
        return f"the env it replaced stays at {aside}: {prefix} is not this run's"
    fs.rename_dir(aside, prefix)
    return None


def left_behind(prefix: Path, *, run_dir: Path) -> bool:
    """Whether this run began on `prefix` and left it unfinished (its marker, its set-aside)."""
    return _marked_by(prefix, run_dir) or os.path.lexists(set_aside_path(prefix, run_dir=run_dir))


def keep(prefix: Path, *, run_dir: Path) -> None:
    """The new env stays: the env it replaced is deleted, and the marker goes."""
    fs.remove_tree(set_aside_path(prefix, run_dir=run_dir))
    if _marked_by(prefix, run_dir):
        fs.remove_file(prefix / MARKER)


def lock_path(prefix: Path) -> Path:
    return prefix.with_name(f".{prefix.name}.lock")


@contextlib.contextmanager
def prefix_lock(prefix: Path, *, run_dir: Path, wait_seconds: float = 0.0) -> Iterator[str | None]:
    """Hold `prefix`'s lock for the block; yields None, or the run holding it instead."""
    with contextlib.ExitStack() as stack:
        note = f"{_RUN_NOTE}{run_id(run_dir)}"
        try:
            stack.enter_context(
                fs.exclusive_lock(lock_path(prefix), wait_seconds=wait_seconds, note=note)
            )
            holder = None
        except fs.LockHeld as held:
            _, found, run = held.holder.partition(f", {_RUN_NOTE}")
            holder = run if found else held.holder
        yield holder


def _marked_by(prefix: Path, run_dir: Path) -> bool:
    if prefix.is_symlink():
        return False  # never made by a run: it builds real folders
    try:
        document = json.loads((prefix / MARKER).read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get("run") == run_id(run_dir)
