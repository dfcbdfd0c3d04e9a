"""Every file mutation conda-shared makes: atomic writes, atomic pointer swaps, locks, bounds."""

from __future__ import annotations

import contextlib
import errno
import getpass
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import SharedError

_TEMP_SUFFIX = ".conda-shared-tmp"


class LockHeld(SharedError):
    """Another process holds the lock; `holder` says who (as the lock file records it)."""

    def __init__(self, message: str, next_step: str, *, holder: str) -> None:
        super().__init__(message, next_step)
        self.holder = holder


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


def remove_symlink(link: Path) -> None:
    """Remove a pointer (a symlink) in one step; a real directory in its place is refused."""
    if not link.is_symlink():
        if link.exists():
            raise SharedError(
                f"{link} is a real directory, not a pointer",
                f"Move it aside (mv {link} {link}.orig) and run the command again",
            )
        return
    os.unlink(link)


def sync_dir(path: Path) -> None:
    """Flush a directory's entries (renames, new links) to disk, where the platform allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename itself is still atomic
    finally:
        os.close(fd)


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
                raise LockHeld(
                    f"{path} is held by another conda-shared command ({holder})",
                    "Wait for that command to finish, then run this one again",
                    holder=holder,
                )
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, user {current_user()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lock_holder(path: Path) -> str | None:
    """Who holds the lock on `path` right now (None when nobody does); never creates it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None  # no lock file (or unreadable): no conda-shared command can hold it
    try:
        if _try_lock(fd):
            return None
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
    finally:
        os.close(fd)


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


def discard_dir(path: Path) -> None:
    """Make a published directory vanish in one rename, then delete it."""
    import shutil

    hidden = _temp_sibling(path)
    os.rename(path, hidden)
    shutil.rmtree(hidden, ignore_errors=True)
