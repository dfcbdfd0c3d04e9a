"""A per-environment cache of what was read from a prefix, valid while its conda-meta and
site-packages are unchanged; used only when nobody but the running user could have written it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import fs
from .site_packages import site_packages_dirs

CACHE_FORMAT = "conda-shared/env-cache/1"
CACHE_DIR = ".conda-shared-cache"
# A folder changed within this long of being read may change again in the same timestamp tick
# (coarse on NFS): its state is not cached, or a second change could hide behind the first.
_SETTLED_NS = 2_000_000_000


def env_signature(prefix: Path) -> str | None:
    """The state of everything conda and pip change in an env (conda-meta, its history, each
    site-packages folder), or None when it changed too recently to be trusted as a key."""
    real = os.path.realpath(prefix)
    parts = [real]
    now = time.time_ns()
    meta = Path(real) / "conda-meta"
    try:
        sites = site_packages_dirs(Path(real))
    except OSError:  # unreadable to this user: reading it says why, in the env's own line
        return None
    for path in (meta, meta / "history", *sites):
        try:
            info = os.stat(path)
        except OSError:
            parts.append(f"{path.name}:-")
            continue
        if now - info.st_mtime_ns < _SETTLED_NS:
            return None
        parts.append(f"{path}:{info.st_dev}:{info.st_ino}:{info.st_mtime_ns}:{info.st_size}")
    return "\n".join(parts)


@dataclass(frozen=True)
class EnvCache:
    """A cache folder, or none (`folder` None) with the reason it is not used."""

    folder: Path | None
    note: str | None = None

    def load(self, prefix: Path, *, kind: str, signature: str | None) -> Any:
        """What was stored for this env and kind under the same signature, else None."""
        if self.folder is None or signature is None:
            return None
        path = self._entry(prefix, kind)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as stream:
            if not _private(os.fstat(stream.fileno())):
                return None
            try:
                entry = json.loads(stream.read())
            except ValueError:
                return None
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
            return None
        return entry.get("data") if entry.get("signature") == signature else None

    def store(self, prefix: Path, *, kind: str, signature: str | None, data: Any) -> None:
        """Keep `data` for this env; nothing when unsettled or when the cache cannot be written
        (a cache is an optimisation: failing to keep one never fails the command)."""
        if self.folder is None or signature is None:
            return
        entry = {"format": CACHE_FORMAT, "signature": signature, "data": data}
        try:
            # no fsync: an entry lost in a crash only means that env is read again
            fs.atomic_write(self._entry(prefix, kind), json.dumps(entry), mode=0o600, durable=False)
        except OSError:
            return

    def _entry(self, prefix: Path, kind: str) -> Path:
        assert self.folder is not None
        digest = hashlib.sha256(os.fsencode(os.path.realpath(prefix))).hexdigest()[:32]
        return self.folder / f"{digest}.{kind}.json"


def cache_beside(output: Path) -> Path:
    """The env cache of an output folder (export's specs, catalog's sites): it lives with what
    it helps write, owned by whoever writes that, and never in a root only being read."""
    return output / CACHE_DIR


def open_cache(folder: Path) -> EnvCache:
    """The cache in `folder`, made 0700 if missing; one another user owns or could write is
    ignored (its entries could lie about an env), and so is one that cannot be made."""
    try:
        fs.make_dirs(folder, mode=0o700)
        info = os.lstat(folder)
    except OSError as error:
        return EnvCache(None, f"no env cache: cannot make {folder}: {error.strerror}")
    if not stat.S_ISDIR(info.st_mode) or not _private(info):
        return EnvCache(
            None,
            f"env cache {folder} ignored: only its owner may write it, and that must be you "
            "(every env was read again)",
        )
    return EnvCache(folder)


def _private(info: os.stat_result) -> bool:
    return info.st_uid == os.geteuid() and not info.st_mode & 0o022
