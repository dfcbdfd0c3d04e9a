"""Every file mutation conda-shared makes: atomic writes, atomic pointer swaps, locks, bounds."""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import SharedError

_TEMP_SUFFIX = ".conda-shared-tmp"


def _temp_sibling(path: Path) -> Path:
    # A dot-name with our suffix: never matched by the globs readers use (*.json, *.yml, ...).
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")


def _default_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def make_dirs(path: Path) -> None:
    """Create a directory and its parents; an existing directory is fine."""
    path.mkdir(parents=True, exist_ok=True)


def atomic_write(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Write a whole file or nothing: temp file in the same directory, fsync, then replace."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = _default_file_mode()
    temp = _temp_sibling(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def atomic_symlink(link: Path, target: str | Path) -> None:
    """Point `link` at `target` in one step: a temp link renamed over the old one."""
    if link.is_dir() and not link.is_symlink():
        raise SharedError(
            f"{link} is a real directory, not a pointer",
            f"Move it aside (mv {link} {link}.orig) and run the command again",
        )
    temp = _temp_sibling(link)
    os.symlink(os.fspath(target), temp)
    try:
        os.replace(temp, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def append_line(path: Path, line: str) -> None:
    """Append one line with a single O_APPEND write, so concurrent writers never interleave."""
    make_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _default_file_mode())
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def set_mode(path: Path, mode: int) -> None:
    """Change permission bits (used to make sample trees read-only like real shared ones)."""
    os.chmod(path, mode)


def ensure_within(root: Path, path: Path) -> Path:
    """Resolve `path` and refuse it unless it lies inside `root` (symlinks followed)."""
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise SharedError(
            f"refusing to write {path}: it resolves to {resolved}, outside the shared root "
            f"{resolved_root}",
            "Choose a destination inside the shared root, or pass --out explicitly",
        )
    return resolved


@contextlib.contextmanager
def exclusive_lock(path: Path, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the duration of the block."""
    try:
        make_dirs(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise SharedError(
            f"cannot create the lock file {path}: {error.strerror}",
            f"Run as a user who can write to {path.parent}",
        ) from None
    deadline = time.monotonic() + wait_seconds
    try:
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
                raise SharedError(
                    f"{path} is held by another conda-shared command ({holder})",
                    "Wait for that command to finish, then run this one again",
                )
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, user {current_user()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


if sys.platform == "win32":  # pragma: no cover - shared roots are POSIX in practice
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        # POSIX record locks (lockf) also work across NFS clients, unlike flock on old kernels.
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EAGAIN, errno.EDEADLK):
                return False
            raise
        return True


def current_user() -> str:
    """The login name for audit and lock records (a uid when there is none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def write_file(path: Path, data: str | bytes) -> None:
    """Plain write, for trees built in a private directory that `publish_dir` then reveals."""
    make_dirs(path.parent)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def make_symlink(link: Path, target: str | Path) -> None:
    """Create a new symlink (inside a private tree being built)."""
    make_dirs(link.parent)
    os.symlink(os.fspath(target), link)


def publish_dir(built: Path, destination: Path) -> None:
    """Reveal a fully built directory in one rename; an existing destination is never touched."""
    try:
        os.rename(built, destination)
    except OSError as error:
        raise SharedError(
            f"cannot create {destination}: {error.strerror}",
            "Choose a destination that does not exist yet, in a writable directory",
        ) from None


def private_dir_beside(destination: Path) -> Path:
    """A new empty directory next to `destination`, on the same file system, for building."""
    make_dirs(destination.parent)
    path = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
    path.mkdir()
    return path


def remove_tree(path: Path) -> None:
    """Delete a private tree that was never published (after a failure)."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


_PENDING_SUFFIX = ".conda-shared-pending"
_JOURNAL_SUFFIX = ".conda-shared-commit"


def replace_together(files: dict[Path, str], *, journal: Path) -> None:
    """Replace several files of one directory as a set: all old or, once committed, all new.

    Every new file is written and fsynced beside its target first; then `journal` (written
    atomically: the commit point) lists the renames, which follow in order. A run killed
    before the commit point left the old set; one killed after it is completed by
    `finish_interrupted`. A KeyboardInterrupt during the renames completes them first.
    """
    pending = {path: path.with_name(f".{path.name}{_PENDING_SUFFIX}") for path in files}
    try:
        for path, text in files.items():
            _write_synced(pending[path], text.encode("utf-8"), _mode_of(path))
    except BaseException:
        for temp in pending.values():
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        raise
    atomic_write(journal, json.dumps([[pending[path].name, path.name] for path in files]))
    try:
        for path in files:
            os.replace(pending[path], path)
    finally:
        _complete(journal)


def finish_interrupted(directory: Path) -> int:
    """Complete the committed sets `replace_together` left half-renamed; drop uncommitted temps.

    Returns how many sets were completed.
    """
    completed = 0
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0
    for name in names:
        if name.endswith(_JOURNAL_SUFFIX):
            _complete(directory / name)
            completed += 1
    for name in os.listdir(directory):
        if name.endswith(_PENDING_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()
    return completed


def journal_path(directory: Path, name: str) -> Path:
    """Where `replace_together` keeps the commit record of the set called `name`."""
    return directory / f".{name}{_JOURNAL_SUFFIX}"


def _complete(journal: Path) -> None:
    """Do the renames a journal lists (those not done yet), then drop the journal."""
    try:
        renames = json.loads(journal.read_bytes())
    except FileNotFoundError:
        return
    except ValueError:
        renames = []  # not ours, or torn by a crash of the file system: nothing to complete
    pairs = renames if isinstance(renames, list) else []
    for temp, target in (p for p in pairs if isinstance(p, list) and len(p) == 2):
        if str(temp).endswith(_PENDING_SUFFIX) and os.sep not in f"{temp}{target}":
            with contextlib.suppress(FileNotFoundError):  # renamed before the interruption
                os.replace(journal.parent / temp, journal.parent / target)
    journal.unlink()


def _mode_of(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return _default_file_mode()


def _write_synced(path: Path, payload: bytes, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a leftover of an interrupted run (never followed if it is a symlink)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(payload)
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(path, mode)
