"""The per-env lock and journal: an interrupted build is undone, an interrupted switch finished."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import fs
from ..errors import SharedError
from ..pointers import lock_path as cutover_lock_path
from .layout import (
    ADOPTED_MARKER,
    ADOPTED_PREFIX,
    BUILDING_MARKER,
    JOURNAL_FILE,
    LOCK_FILE,
    env_link,
    is_release_id,
    link_text,
    records_dir,
    release_prefix,
    releases_dir,
)

#: journal actions: a release folder being built (undone when interrupted), envs/NAME being
#: switched to a published release, a rebuilt release being published, or an adopted plain
#: folder changing places with the link to its first release (all three finished)
ACTIONS = ("build", "switch", "publish", "adopt")


@dataclass(frozen=True)
class Entry:
    """What the journal says was under way: `action` on release `release_id` of `env`."""

    env: str
    action: str
    release_id: str
    new_records: bool  # the build wrote the records folder (undone with it)


@contextlib.contextmanager
def env_lock(root: Path, installation: Path, name: str, *, shared_root: bool) -> Iterator[None]:
    """Hold NAME's release lock and, in a shared root, the cutover lock: a release never runs
    beside another release of NAME or beside a cutover. Refuses (naming the holder) at once."""
    with contextlib.ExitStack() as stack:
        locks = [releases_dir(installation, name) / LOCK_FILE]
        if shared_root:
            locks.insert(0, cutover_lock_path(root))
        for lock in locks:
            try:
                stack.enter_context(fs.exclusive_lock(lock, note=f"release {name}"))
            except fs.LockHeld as held:
                raise SharedError(
                    f"{name} cannot be released now: {lock} is held by {held.holder}",
                    "Wait for that command (a release or a cutover) to finish, then run this "
                    "one again",
                ) from None
        yield


def journal_file(installation: Path, name: str) -> Path:
    return releases_dir(installation, name) / JOURNAL_FILE


def begin(installation: Path, entry: Entry) -> None:
    """Record what is about to happen, atomically (a new entry replaces the last)."""
    document = {
        "action": entry.action,
        "id": entry.release_id,
        "new_records": entry.new_records,
    }
    fs.atomic_write(journal_file(installation, entry.env), json.dumps(document) + "\n")
    fs.sync_dir(releases_dir(installation, entry.env))


def end(installation: Path, name: str) -> None:
    fs.remove_file(journal_file(installation, name))


def read_entry(installation: Path, name: str) -> Entry | None:
    """The interrupted step, or None (no journal, or one that is not ours: then it is left)."""
    try:
        document = json.loads(journal_file(installation, name).read_bytes())
        entry = Entry(
            env=name,
            action=str(document["action"]),
            release_id=str(document["id"]),
            new_records=bool(document["new_records"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if entry.action not in ACTIONS or not is_release_id(entry.release_id):
        return None
    return entry


def is_ours(prefix: Path) -> bool:
    """Whether `prefix` carries the building marker a release writes before conda runs."""
    return not prefix.is_symlink() and os.path.isfile(prefix / BUILDING_MARKER)


def recover(root: Path, installation: Path, name: str) -> str | None:
    """Finish or undo what an interrupted release, rollback or rebuild left; says what it did."""
    entry = read_entry(installation, name)
    if entry is None:
        return None
    prefix = release_prefix(installation, name, entry.release_id)
    if entry.action == "build":
        # a kill inside mark_building leaves the marked folder under its private temp name
        for folder in (prefix, *fs.temp_siblings(prefix)):
            if is_ours(folder):  # the marker goes last: a kill meanwhile leaves it provable
                fs.remove_tree(folder, last=BUILDING_MARKER)
        if entry.new_records:
            fs.remove_tree(records_dir(root, installation, name, entry.release_id))
        end(installation, name)
        return f"removed the unfinished release {entry.release_id} an interrupted run left"
    if is_ours(prefix):
        fs.remove_file(prefix / BUILDING_MARKER)
    if entry.action == "switch":
        point_at(installation, name, entry.release_id)
    elif entry.action == "adopt":
        replace_plain_folder(installation, name, entry.release_id)
    end(installation, name)
    return f"finished the interrupted {entry.action} of release {entry.release_id}"


def mark_building(prefix: Path, *, release_id: str) -> None:
    """Create the release folder (mode 0700) with the building marker already inside, so no
    instant exists where it has none; an existing folder is refused, never claimed."""
    if os.path.lexists(prefix):
        raise SharedError(
            f"{prefix} exists, and this release did not make it",
            f"Look at what {prefix} is; move it away, then run the command again",
        )
    built = fs.private_dir_beside(prefix)
    fs.write_file(built / BUILDING_MARKER, json.dumps({"release": release_id}) + "\n")
    fs.publish_dir(built, prefix, mode=0o700)


def point_at(installation: Path, name: str, release_id: str) -> None:
    """Switch envs/NAME to a release in one rename (a temp link renamed over the old one)."""
    link = env_link(installation, name)
    if not (link.is_symlink() and os.readlink(link) == link_text(release_id, name)):
        fs.atomic_symlink(link, link_text(release_id, name))
    fs.sync_dir(link.parent)


def adopting_link(installation: Path, name: str) -> Path:
    """The link to the first release, made beside envs/NAME before they change places."""
    return installation / "envs" / f".{name}.conda-shared-adopting"


def replace_plain_folder(installation: Path, name: str, release_id: str) -> bool | None:
    """Put the link to release `release_id` where the plain folder envs/NAME is, and move the
    folder (marked as ours, not runnable) to .releases/NAME/.adopted-ID. Finishes whatever
    step an interrupted run reached. True: one step (renameat2); False: two renames; None:
    an interrupted run had already switched."""
    link = env_link(installation, name)
    temp = adopting_link(installation, name)
    aside = releases_dir(installation, name) / f"{ADOPTED_PREFIX}{release_id}"
    target = link_text(release_id, name)
    one_step: bool | None = None
    if link.is_dir() and not link.is_symlink():
        marker = link / ADOPTED_MARKER
        if not marker.exists():
            fs.atomic_write(marker, json.dumps(_adopted_note(name, release_id)) + "\n")
        if os.path.lexists(temp) and not (temp.is_symlink() and os.readlink(temp) == target):
            fs.remove_symlink(temp)
        if not os.path.lexists(temp):
            os.symlink(target, temp)
        one_step = fs.replace_with_link(temp, link, displaced=aside)
    elif temp.is_symlink() and not os.path.lexists(link):
        os.rename(temp, link)  # killed between the two renames of the fallback
    elif temp.is_dir() and not temp.is_symlink() and (temp / ADOPTED_MARKER).is_file():
        os.rename(temp, aside)  # killed after the exchange, before the folder moved aside
    fs.sync_dir(link.parent)
    fs.sync_dir(aside.parent)
    return one_step


def _adopted_note(name: str, release_id: str) -> dict[str, str]:
    return {
        "env": name,
        "replaced_by": release_id,
        "note": f"not runnable: its files name envs/{name}, which is now release {release_id}",
    }
