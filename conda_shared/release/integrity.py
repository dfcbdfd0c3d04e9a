"""What a release held when it was published (files.json), and what changed in it since.

The files are those its conda-meta records and its dist-info RECORDs list, never `__pycache__`
(Python rewrites those at will). Each is recorded by size and sha256; a symlink by its target
text, so a link that points elsewhere now is a change too.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..prefix.site_packages import site_packages_dirs

_SKIPPED_PART = "__pycache__"
_CHUNK = 1 << 20

#: relative path -> (size in bytes, sha256 hex), as files.json holds it
Digests = Mapping[str, tuple[int, str]]


@dataclass(frozen=True)
class FileChanges:
    """Files of a release that differ from what its files.json recorded at publish."""

    changed: tuple[str, ...] = ()  # other size or content
    missing: tuple[str, ...] = ()  # recorded, gone now
    added: tuple[str, ...] = ()  # listed by a record or RECORD now, not recorded at publish

    @property
    def empty(self) -> bool:
        return not (self.changed or self.missing or self.added)

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.changed, *self.missing, *self.added)

    def summary(self, shown: int) -> str:
        """`changed: a, b; missing: c`, at most `shown` files of each kind named."""
        kinds = (("changed", self.changed), ("missing", self.missing), ("added", self.added))
        return "; ".join(
            f"{kind}: {', '.join(files[:shown])}{', ...' if files[shown:] else ''}"
            for kind, files in kinds
            if files
        )


def listed_files(prefix: Path) -> tuple[str, ...]:
    """Every file the conda-meta records and dist-info RECORDs of `prefix` list, relative and
    sorted, without `__pycache__` and without anything that would lie outside the prefix."""
    found: set[str] = set()
    for relative in (*_record_files(prefix), *_dist_info_files(prefix)):
        path = os.path.normpath(relative)
        if path.startswith(("..", "/")) or _SKIPPED_PART in path.split("/"):
            continue
        found.add(path)
    return tuple(sorted(found))


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256) of a file; of a symlink, of its target text (never followed)."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        target = os.fsencode(os.readlink(path))
        return len(target), hashlib.sha256(target).hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return info.st_size, digest.hexdigest()


def published_files(prefix: Path) -> dict[str, tuple[int, str]]:
    """What files.json records for `prefix` at publish: each listed file that exists."""
    digests = {}
    for relative in listed_files(prefix):
        try:
            digests[relative] = file_digest(prefix / relative)
        except FileNotFoundError:
            continue  # a record listing a file its package did not install: nothing to guard
    return digests


def files_json(prefix: Path) -> str:
    """files.json of `prefix` as publish writes it."""
    digests = published_files(prefix)
    return json.dumps({path: list(entry) for path, entry in digests.items()}, indent=0) + "\n"


def read_files_json(path: Path) -> dict[str, tuple[int, str]] | None:
    """A files.json; None when missing, unreadable or not that document."""
    try:
        document = json.loads(path.read_bytes())
        return {
            str(relative): (int(entry[0]), str(entry[1])) for relative, entry in document.items()
        }
    except (OSError, ValueError, TypeError, AttributeError, IndexError, KeyError):
        return None


def changes_since_publish(prefix: Path, published: Digests) -> FileChanges:
    """Compare `prefix` with its files.json: size first, sha256 only when the sizes agree."""
    changed, missing = [], []
    for relative, (size, sha256) in sorted(published.items()):
        path = prefix / relative
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            missing.append(relative)
            continue
        same_size = stat.S_ISLNK(info.st_mode) or info.st_size == size
        if not same_size or file_digest(path) != (size, sha256):
            changed.append(relative)
    added = [relative for relative in listed_files(prefix) if relative not in published]
    return FileChanges(tuple(changed), tuple(missing), tuple(added))


def _record_files(prefix: Path) -> Iterator[str]:
    try:
        names = sorted(os.listdir(prefix / "conda-meta"))
    except OSError:
        return
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            files = json.loads((prefix / "conda-meta" / name).read_bytes()).get("files")
        except (OSError, ValueError, AttributeError):
            continue  # a broken record is the inventory's and doctor's other checks' to report
        if isinstance(files, list):
            yield from (f for f in files if isinstance(f, str))


def _dist_info_files(prefix: Path) -> Iterator[str]:
    for site in site_packages_dirs(prefix):
        base = site.relative_to(prefix).as_posix()
        for record in sorted(site.glob("*.dist-info/RECORD")):
            try:
                text = record.read_text(encoding="utf-8", errors="surrogateescape")
            except OSError:
                continue
            for row in csv.reader(text.splitlines()):
                if row and row[0]:
                    yield f"{base}/{row[0]}"
