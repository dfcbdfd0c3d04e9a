"""Exclusive locks that work on NFS, appends under a lock, and who holds a lock (users)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import SharedError
from .files import default_file_mode, encoded, make_dirs


class LockHeld(SharedError):
    """Another process holds the lock; `holder` says who (as the lock file records it)."""

    def __init__(self, message: str, next_step: str, *, holder: str) -> None:
        super().__init__(message, next_step)
        self.holder = holder


def append_line(path: Path, line: str) -> None:
    """Append one line in a single O_APPEND write, holding a lock on the file while it writes.

    One write keeps concurrent writers on one machine from interleaving; the lock does the same
    on NFS, where O_APPEND is not atomic across clients. Where the file system has no locks the
    single write is all there is.
    """
    make_dirs(path.parent)
    payload = encoded(line.rstrip("\n") + "\n")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, default_file_mode())
    try:
        with contextlib.suppress(OSError):
            _wait_for_lock(fd)
        written = os.write(fd, payload)
        if written != len(payload):
            raise OSError(errno.ENOSPC, f"only {written} of {len(payload)} bytes written", path)
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def exclusive_lock(path: Path, *, wait_seconds: float = 0.0, note: str = "") -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the duration of the block.

    A POSIX record lock; on a file system without one (NFS with no lock daemon: ENOLCK) a
    lock file beside it, created with O_EXCL, stands in. The lock file names its holder (pid,
    user, host, then `note`), which is what `LockHeld.holder` tells a process that waits.
    """
    try:
        make_dirs(path.parent)
        # Never through a link: the holder line below would overwrite whatever it points at.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _not_a_lock_file(path, "a symbolic link") from None
        raise SharedError(
            f"cannot create the lock file {path}: {error.strerror}",
            f"Run as a user who can write to {path.parent}",
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            # A hard link to someone's file would be truncated just the same.
            raise _not_a_lock_file(path, "not a file of its own (another link or a special file)")
        try:
            locked: bool | None = _wait(lambda: _try_lock(fd), wait_seconds)
        except OSError as error:
            if error.errno not in _NO_LOCKS:
                raise
            locked = None
        if locked is None:
            with _lock_file(path.with_name(f"{path.name}.held"), wait_seconds, note):
                yield
            return
        if not locked:
            holder = os.pread(fd, _HOLDER_BYTES, 0).decode("utf-8", "replace").strip()
            raise _held(path, holder or "unknown")
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_line(note).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _not_a_lock_file(path: Path, what: str) -> SharedError:
    return SharedError(
        f"refusing the lock file {path}: it is {what}, and conda-shared's lock files are plain "
        "files it makes",
        "Find out who put it there, remove it, then run the command again",
    )


#: errno values meaning "this file system has no POSIX locks"
_NO_LOCKS = frozenset(
    code
    for code in (
        getattr(errno, "ENOLCK", None),
        getattr(errno, "EOPNOTSUPP", None),
        getattr(errno, "ENOTSUP", None),
        getattr(errno, "ENOSYS", None),
    )
    if code is not None
)


def _wait(attempt: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not attempt():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _held(path: Path, holder: str) -> LockHeld:
    return LockHeld(
        f"{path} is held by another conda-shared command ({holder})",
        "Wait for that command to finish, then run this one again",
        holder=holder,
    )


def _host() -> str:
    return os.uname().nodename  # what gethostname() returns, without loading socket


#: how much of a lock file is read to name its holder (a note may hold a long path)
_HOLDER_BYTES = 4096


def _holder_line(note: str = "") -> str:
    line = f"pid {os.getpid()}, user {current_user()}, host {_host()}"
    return f"{line}, {note}\n" if note else f"{line}\n"


@contextlib.contextmanager
def _lock_file(path: Path, wait_seconds: float, note: str = "") -> Iterator[None]:
    """A lock that works without fcntl: the file exists while held, naming its holder."""

    def create() -> bool:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if not _is_stale(path):
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False  # another process took it over first
        try:
            os.write(fd, _holder_line(note).encode())
        finally:
            os.close(fd)
        return True

    if not _wait(create, wait_seconds):
        try:
            holder = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            holder = "unknown"
        raise _held(path, holder or "unknown")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _is_stale(path: Path) -> bool:
    """A lock file left by a process of this host that no longer runs."""
    try:
        fields = dict(
            part.strip().split(" ", 1)
            for part in path.read_text(encoding="utf-8", errors="replace").split(",")
            if " " in part.strip()
        )
        pid = int(fields.get("pid", ""))
    except (OSError, ValueError):
        return False
    if fields.get("host", "").strip() != _host():
        return False  # another machine's process: cannot tell, so never steal it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lock_holder(path: Path) -> str | None:
    """Who holds the lock on `path` right now (None when nobody does); never creates it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return None  # no lock file (or unreadable): no conda-shared command can hold it
    try:
        if _try_lock(fd):
            return None
        return os.pread(fd, _HOLDER_BYTES, 0).decode("utf-8", "replace").strip() or "unknown"
    except OSError as error:
        if error.errno not in _NO_LOCKS:
            raise
        held = path.with_name(f"{path.name}.held")  # the fallback lock of exclusive_lock
        try:
            return held.read_text(encoding="utf-8", errors="replace").strip() or "unknown"
        except FileNotFoundError:
            return None
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

    def _wait_for_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)

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

    def _wait_for_lock(fd: int) -> None:
        fcntl.lockf(fd, fcntl.LOCK_EX)


def current_user() -> str:
    """The real uid's name in the password database, for audit and lock records (the uid
    number when it has no entry); never LOGNAME or USER, which any caller can set."""
    return user_name(os.getuid()) if hasattr(os, "getuid") else "unknown"


def user_name(uid: int) -> str:
    """`uid`'s name in the password database, or the number when it has no entry."""
    try:
        import pwd  # loaded when a lock or an audit line needs a name, not at start-up

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)
