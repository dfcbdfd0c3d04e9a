"""The release-managed envs of one installation as doctor sees them: releases changed since
publish, unpublished leftovers of interrupted builds, env links that lead nowhere."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import fs
from .integrity import FileChanges, changes_since_publish, read_files_json
from .layout import (
    BUILDING_MARKER,
    FILES_LIST,
    LOCK_FILE,
    RELEASES_DIR,
    env_link,
    is_release_id,
    read_record,
    records_dir,
    release_ids,
    releases_dir,
)

CHANGED = "changed"  # a published release whose files differ from its files.json
UNVERIFIABLE = "unverifiable"  # a published release without a readable record or files.json
UNPUBLISHED = "unpublished"  # a release folder no record proves was ever published
DANGLING = "dangling"  # envs/NAME is a link to a release that does not exist


@dataclass(frozen=True)
class ReleaseIssue:
    """One thing wrong with a release-managed env; `files` names what changed."""

    kind: str
    env: str
    path: Path
    release_id: str | None = None
    changes: FileChanges = field(default_factory=FileChanges)
    latest: str | None = None  # for DANGLING: the newest release left to point at
    records: Path | None = None  # for CHANGED: its record folder (the lock to rebuild from)


def release_issues(*, root: Path, installation: Path) -> tuple[ReleaseIssue, ...]:
    """Check every release-managed env of `installation`; reads only, hashes published files."""
    return tuple(
        issue
        for name in _managed_envs(installation)
        for issue in _env_issues(root, installation, name)
    )


def _managed_envs(installation: Path) -> list[str]:
    """Envs with a releases folder, and envs whose link goes into one (even a missing one)."""
    names: set[str] = set()
    folder = installation / "envs" / RELEASES_DIR
    with contextlib.suppress(OSError):
        names.update(n for n in os.listdir(folder) if os.path.isdir(folder / n))
    try:
        entries = os.listdir(installation / "envs")
    except OSError:
        entries = []
    for name in entries:
        with_link = installation / "envs" / name
        try:
            if os.readlink(with_link).startswith(f"{RELEASES_DIR}/"):
                names.add(name)
        except OSError:
            continue
    return sorted(names)


def _env_issues(root: Path, installation: Path, name: str) -> Iterator[ReleaseIssue]:
    link = env_link(installation, name)
    published = release_ids(installation, name)
    if os.path.islink(link) and not os.path.exists(link):
        yield ReleaseIssue(DANGLING, name, link, latest=published[-1] if published else None)
    folder = releases_dir(installation, name)
    if fs.lock_holder(folder / LOCK_FILE) is not None:
        return  # a release of this env runs now: its folders are its own until it ends
    for release_id in _release_folders(folder):
        prefix = folder / release_id
        record_dir = records_dir(root, installation, name, release_id)
        if release_id not in published or read_record(record_dir) is None:
            kind = UNPUBLISHED if _unpublished(prefix) else UNVERIFIABLE
            yield ReleaseIssue(
                kind, name, prefix if kind == UNPUBLISHED else record_dir, release_id
            )
            continue
        digests = read_files_json(record_dir / FILES_LIST)
        if digests is None:
            yield ReleaseIssue(UNVERIFIABLE, name, record_dir / FILES_LIST, release_id)
            continue
        changes = changes_since_publish(prefix, digests)
        if not changes.empty:
            yield ReleaseIssue(CHANGED, name, prefix, release_id, changes, records=record_dir)


def _release_folders(folder: Path) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if is_release_id(n) and os.path.isdir(folder / n))


def _unpublished(prefix: Path) -> bool:
    """Built but never published: our building marker inside, or still private (0700)."""
    try:
        mode = stat.S_IMODE(os.stat(prefix).st_mode)
    except OSError:
        return False
    return os.path.lexists(prefix / BUILDING_MARKER) or mode & 0o077 == 0
