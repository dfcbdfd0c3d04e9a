"""Files of conda packages that pip (or another installer) overwrote or removed, read from disk."""

from __future__ import annotations

import csv
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import SharedError
from .records import load_record
from .site_packages import read_text, site_packages_dirs

#: how a conda package's file was found changed
LISTED_BY_PIP = "listed-by-pip"  # a pip distribution's RECORD names it: pip wrote it
CHANGED = "changed"  # its size (or sha256) is no longer what conda recorded
MISSING = "missing"  # it is gone

_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class OverwrittenFile:
    """One file a conda package installed that is no longer the package's."""

    path: str  # relative to the prefix, as the conda record lists it
    package: str  # the conda package (record name)
    version: str
    how: str  # LISTED_BY_PIP | CHANGED | MISSING
    pip_dist: str | None = None  # "numpy 1.24.0": the pip distribution whose RECORD lists it


@dataclass(frozen=True)
class Overwritten:
    """What of an environment's conda packages pip overwrote or removed (empty: nothing)."""

    prefix: Path
    files: tuple[OverwrittenFile, ...]

    @property
    def packages(self) -> tuple[str, ...]:
        """`name version` of every conda package with a file overwritten or gone, sorted."""
        return tuple(sorted({f"{f.package} {f.version}" for f in self.files}))

    @property
    def pip_dists(self) -> tuple[str, ...]:
        """The pip distributions that wrote over conda's files, sorted."""
        return tuple(sorted({f.pip_dist for f in self.files if f.pip_dist}))

    def summary(self) -> str:
        """One line: the packages, how many files, and one example (for errors and doctor)."""
        first = self.files[0]
        count = len(self.files)
        return (
            f"{', '.join(self.packages)} ({count} file{'s' if count != 1 else ''}, e.g. "
            f"{first.path} {_HOW[first.how]}{f' {first.pip_dist}' if first.pip_dist else ''})"
        )


_HOW = {LISTED_BY_PIP: "rewritten by pip's", CHANGED: "changed", MISSING: "gone"}


class _Installed(NamedTuple):
    """A file a conda record lists: whose it is, what conda recorded, when (record mtime, ns)."""

    package: str
    version: str
    expected: Mapping[str, Any] | None
    recorded_ns: int


def find_overwritten(prefix: Path, *, hashes: bool = False) -> Overwritten:
    """Compare every conda record's files with what is on disk and what pip says it installed.

    A file is overwritten when a pip distribution's RECORD (INSTALLER other than conda) lists
    it, when its size differs from the record's `paths_data` (or, with `hashes`, its sha256),
    or when it is gone. Only files modified since conda wrote their record are hashed: conda
    writes a package's record after its files, so an older file is the one conda put there.
    Bytecode (`.pyc`) is left out: Python itself rewrites it. Raises SharedError for an
    unreadable record, as every reader of conda-meta does.
    """
    installed: dict[str, _Installed] = {}
    for record_path in _record_paths(prefix / "conda-meta"):
        data = load_record(record_path)
        contents = _expected_contents(data)
        name, version = str(data["name"]), str(data["version"])
        recorded = os.stat(record_path).st_mtime_ns
        for relative in data.get("files") or ():
            if isinstance(relative, str) and not _is_bytecode(relative):
                installed[relative] = _Installed(name, version, contents.get(relative), recorded)
    pip_files = dict(_pip_written(prefix, installed))
    found: list[OverwrittenFile] = []
    for relative, (name, version, expected, recorded) in installed.items():
        how = LISTED_BY_PIP if relative in pip_files else None
        how = how or _state(prefix / relative, expected, hash_since=recorded if hashes else None)
        if how is not None:
            found.append(OverwrittenFile(relative, name, version, how, pip_files.get(relative)))
    return Overwritten(prefix=prefix, files=tuple(found))


def _record_paths(meta: Path) -> list[Path]:
    try:
        names = sorted(entry.name for entry in os.scandir(meta))
    except OSError as error:
        raise SharedError(
            f"cannot read {meta}: {(error.strerror or str(error)).lower()}",
            "Run the command as a user who can read the environment",
        ) from None
    return [meta / name for name in names if name.endswith(".json") and not name.startswith(".")]


def _is_bytecode(relative: str) -> bool:
    return relative.endswith(".pyc") or "/__pycache__/" in relative


def _expected_contents(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Each file's `paths_data` entry by its path in the prefix.

    noarch: python records write `_path` as the package has it (`site-packages/x`,
    `python-scripts/x`); their `files` say where it went (`lib/python3.X/site-packages/x`).
    """
    paths_data = data.get("paths_data")
    entries = paths_data.get("paths") if isinstance(paths_data, dict) else None
    if not isinstance(entries, list):
        return {}
    in_prefix: dict[str, str] = {}
    for relative in data.get("files") or ():
        if not isinstance(relative, str):
            continue
        in_prefix[relative] = relative
        head, sep, tail = relative.partition("/site-packages/")
        if sep and head.startswith("lib/"):
            in_prefix.setdefault(f"site-packages/{tail}", relative)
        elif relative.startswith("bin/"):
            in_prefix.setdefault(f"python-scripts/{relative[4:]}", relative)
    return {
        in_prefix[entry["_path"]]: entry
        for entry in entries
        if isinstance(entry, dict) and entry.get("_path") in in_prefix
    }


def _state(path: Path, expected: Mapping[str, Any] | None, *, hash_since: int | None) -> str | None:
    """MISSING, CHANGED, or None when the file is still what conda installed (as far as known).

    `hash_since`: compare the sha256 of a file modified at or after this time (ns), if any.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return MISSING
    except OSError:
        return None  # unreadable here: nothing to say about it
    if expected is None or expected.get("path_type") not in ("hardlink", None):
        return None  # links, directories and generated files (entry points, pyc) are not compared
    if not stat.S_ISREG(info.st_mode):
        return CHANGED
    # A prefix written into a text file changes its size; binary replacement pads to the same.
    rewritten = bool(expected.get("prefix_placeholder")) and expected.get("file_mode") != "binary"
    size = expected.get("size_in_bytes")
    if not rewritten and isinstance(size, int) and size != info.st_size:
        return CHANGED
    wanted = expected.get("sha256_in_prefix") or (None if rewritten else expected.get("sha256"))
    if hash_since is not None and info.st_mtime_ns >= hash_since and isinstance(wanted, str):
        try:
            return CHANGED if sha256_of(path) != wanted else None
        except OSError:
            return None
    return None


def sha256_of(path: Path) -> str:
    """The sha256 of a file's content, read in blocks (a file of any size)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _pip_written(prefix: Path, installed: Mapping[str, _Installed]) -> Iterator[tuple[str, str]]:
    """(path in the prefix, "name version") for every file a non-conda installer's RECORD lists.

    A dist-info a conda package installed and nobody rewrote is the package's own, whatever
    its INSTALLER says (old packages were built with pip and kept its INSTALLER).
    """
    for site in site_packages_dirs(prefix):
        relative_site = site.relative_to(prefix).as_posix()
        for dist_info in sorted(site.glob("*.dist-info")):
            installer = read_text(dist_info / "INSTALLER")
            if installer is None or installer == "conda":
                continue
            record_name = f"{relative_site}/{dist_info.name}/RECORD"
            owner_record = installed.get(record_name)
            if (
                owner_record is not None
                and _state(prefix / record_name, owner_record.expected, hash_since=0) is None
            ):
                continue
            record = read_text(dist_info / "RECORD")
            if record is None:
                continue
            name, _, version = dist_info.name[: -len(".dist-info")].partition("-")
            owner = f"{name} {version}".strip()
            for row in csv.reader(record.splitlines()):
                if not row or not row[0]:
                    continue
                # RECORD paths are relative to site-packages; scripts climb out with ../../..
                joined = posixpath.normpath(posixpath.join(relative_site, row[0]))
                if not joined.startswith("../"):
                    yield joined, owner
