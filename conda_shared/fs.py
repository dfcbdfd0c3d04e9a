"""Every file mutation conda-shared makes: atomic writes, atomic pointer swaps, locks, bounds."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import SharedError
from .text import quoted

_TEMP_SUFFIX = ".conda-shared-tmp"


class LockHeld(SharedError):
    """Another process holds the lock; `holder` says who (as the lock file records it)."""

    def __init__(self, message: str, next_step: str, *, holder: str) -> None:
        super().__init__(message, next_step)
        self.holder = holder


def _temp_sibling(path: Path) -> Path:
    # A dot-name with our suffix: never matched by the globs readers use (*.json, *.yml, ...).
    return path.with_name(f".{path.name}.{os.urandom(4).hex()}{_TEMP_SUFFIX}")


def temp_siblings(path: Path) -> list[Path]:
    """What interrupted writes or builds of `path` left beside it (their private temp names)."""
    import glob

    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*{_TEMP_SUFFIX}"))


def _default_file_mode() -> int:
    return 0o666 & ~_umask()


def default_dir_mode() -> int:
    """The mode `mkdir` would give a new folder now (0o777 less the umask)."""
    return 0o777 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_dirs(path: Path, *, mode: int = 0o777) -> None:
    """Create a directory and its parents; an existing directory is fine. `mode` (less the
    umask) applies to `path` itself when it is created, not to its parents."""
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    except FileExistsError:
        # A file where a directory must go: name that file, as ENOTDIR does.
        blocking = next(p for p in (path, *path.parents) if p.exists() or p.is_symlink())
        raise NotADirectoryError(
            errno.ENOTDIR, os.strerror(errno.ENOTDIR), os.fspath(blocking)
        ) from None


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
            f"Move it aside (mv {quoted(link)} {quoted(f'{link}.orig')}) and run the command again",
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
    """Append one line in a single O_APPEND write, holding a lock on the file while it writes.

    One write keeps concurrent writers on one machine from interleaving; the lock does the same
    on NFS, where O_APPEND is not atomic across clients. Where the file system has no locks the
    single write is all there is.
    """
    make_dirs(path.parent)
    payload = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _default_file_mode())
    try:
        with contextlib.suppress(OSError):
            _wait_for_lock(fd)
        written = os.write(fd, payload)
        if written != len(payload):
            raise OSError(errno.ENOSPC, f"only {written} of {len(payload)} bytes written", path)
    finally:
        os.close(fd)  # closing releases the lock


def remove_write_by_others(path: Path, *, identity: tuple[int, int]) -> int:
    """Take group and other write off a directory, only if it is still the one that was checked.

    `identity` is the (st_dev, st_ino) seen when it was checked. The directory is opened without
    following a symlink and changed through that descriptor, so swapping it for a symlink or
    another directory in between changes nothing. Returns the new mode.
    """
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise SharedError(
                f"{path} was replaced by a symlink or a file since it was checked; not changed",
                f"Look at who changed {path}, then run the check again",
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != identity:
            raise SharedError(
                f"{path} is not the directory that was checked (it was replaced); not changed",
                f"Look at who changed {path}, then run the check again",
            )
        mode = stat.S_IMODE(info.st_mode) & ~(stat.S_IWGRP | stat.S_IWOTH)
        os.fchmod(fd, mode)
        return mode
    finally:
        os.close(fd)


def is_within(root: Path, path: Path) -> bool:
    """Whether `path` is `root` or inside it, both resolved: where a write would really land."""
    resolved_root = Path(os.path.realpath(root))
    resolved = Path(os.path.realpath(path))
    return resolved == resolved_root or resolved_root in resolved.parents


def ensure_within(root: Path, path: Path, *, bound: str = "the shared root") -> Path:
    """Resolve `path` and refuse it unless it lies inside `root` (symlinks followed)."""
    if not is_within(root, path):
        raise SharedError(
            f"refusing to write {path}: it resolves to {os.path.realpath(path)}, outside "
            f"{bound} {os.path.realpath(root)}",
            f"Choose a destination inside {bound}, or pass the destination explicitly",
        )
    return Path(os.path.realpath(path))


@contextlib.contextmanager
def exclusive_lock(path: Path, *, wait_seconds: float = 0.0, note: str = "") -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the duration of the block.

    A POSIX record lock; on a file system without one (NFS with no lock daemon: ENOLCK) a
    lock file beside it, created with O_EXCL, stands in. The lock file names its holder (pid,
    user, host, then `note`), which is what `LockHeld.holder` tells a process that waits.
    """
    try:
        make_dirs(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise SharedError(
            f"cannot create the lock file {path}: {error.strerror}",
            f"Run as a user who can write to {path.parent}",
        ) from None
    try:
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
    import socket  # only for lock records: not every command takes a lock

    return socket.gethostname()


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
        fd = os.open(path, os.O_RDWR)
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


def write_file(path: Path, data: str | bytes) -> None:
    """Plain write, for trees built in a private directory that `publish_dir` then reveals."""
    make_dirs(path.parent)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def make_symlink(link: Path, target: str | Path) -> None:
    """Create a new symlink (inside a private tree being built)."""
    make_dirs(link.parent)
    os.symlink(os.fspath(target), link)


def publish_dir(built: Path, destination: Path, *, mode: int) -> None:
    """Reveal a fully built directory in one rename, with `mode` (0o755 for what every user
    reads, 0o700 for private trees); an existing destination is never touched."""
    try:
        os.chmod(built, mode)
        os.rename(built, destination)
    except OSError as error:
        raise SharedError(
            f"cannot create {destination}: {error.strerror}",
            "Choose a destination that does not exist yet, in a writable directory",
        ) from None


def private_dir_beside(destination: Path) -> Path:
    """A new empty directory next to `destination`, on the same file system, for building:
    mode 0700, so nobody else can look or write into it before `publish_dir` reveals it."""
    make_dirs(destination.parent)
    path = destination.with_name(f".{destination.name}.{os.urandom(4).hex()}{_TEMP_SUFFIX}")
    path.mkdir(mode=0o700)
    return path


@contextlib.contextmanager
def private_temp_dir() -> Iterator[Path]:
    """A new empty directory only this user can enter or write (0700), deleted after the block.

    Made with a fresh random name, so nobody else can have made it or put anything in it.
    """
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="conda-shared-"))
    try:
        yield path
    finally:
        with contextlib.suppress(SharedError):  # scratch left behind must not hide the outcome
            remove_tree(path)


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
    import json

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
        import json

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


def remove_tree(path: Path) -> None:
    """Delete a directory tree conda-shared made; the one way every module removes a tree.

    The tree first vanishes in one rename to a hidden sibling, so nothing half-deleted is ever
    seen under its name; a symlink is removed as a link, never followed; absent is fine. What
    cannot be deleted is an error that names it, never a leftover nobody hears of.
    """
    import shutil

    if path.is_symlink():
        path.unlink()
        return
    if not path.exists():
        return
    hidden = _temp_sibling(path)
    problems: list[str] = []
    try:
        os.rename(path, hidden)
    except OSError as error:
        problems.append(f"{path}: {error.strerror}")
    else:

        def record(_function: object, failed: str, error: object) -> None:
            problems.append(failed)

        if sys.version_info >= (3, 12):  # onerror is deprecated there; onexc gets the same call
            shutil.rmtree(hidden, onexc=record)
        else:
            shutil.rmtree(hidden, onerror=record)
    if problems:
        leftover = path if path.exists() else hidden
        raise SharedError(
            f"could not remove {leftover} ({problems[0]})",
            f"Remove it by hand (rm -rf {quoted(leftover)})",
        )


def rename_dir(source: Path, destination: Path) -> None:
    """Move a directory (or a symlink) to a name that must be free, in one rename."""
    if os.path.lexists(destination):
        raise SharedError(
            f"cannot move {source} to {destination}: {destination} exists",
            f"Look at what {destination} is, move it away, and run the command again",
        )
    try:
        os.rename(source, destination)
    except OSError as error:
        raise SharedError(
            f"cannot move {source} to {destination}: {error.strerror}",
            f"Run as a user who can write to {destination.parent}",
        ) from None


def make_new_dir(path: Path) -> bool:
    """Create `path` unless it exists (then False): how concurrent runs claim a unique folder."""
    try:
        path.mkdir()
    except FileExistsError:
        return False
    return True


def append_stream(path: Path, *, binary: bool = False) -> IO[Any]:
    """Open a log for appending (created if needed), e.g. to hand a subprocess as its output."""
    make_dirs(path.parent)
    if binary:
        return open(path, "ab")
    return open(path, "a", encoding="utf-8")


def remove_file(path: Path) -> None:
    """Delete one file; one that is already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def link_tree(source: Path, destination: Path, *, copied: tuple[str, ...] = ()) -> None:
    """Recreate `source` at `destination` with hard links (fast, no extra space); top-level
    entries named in `copied` are real copies, because they will be appended to or edited."""
    import shutil

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    for entry in os.scandir(source):
        target = destination / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir():
            shutil.copytree(
                entry.path,
                target,
                symlinks=True,
                copy_function=shutil.copy2 if entry.name in copied else link_or_copy,
            )
        elif entry.name in copied:
            shutil.copy2(entry.path, target)
        else:
            link_or_copy(entry.path, str(target))


def remove_files(paths: list[Path], *, within: Path) -> None:
    """Delete files (a missing one is fine) that lie inside `within`, then the directories
    they leave empty, up to `within` itself."""
    for path in paths:
        ensure_within(within, path.parent, bound="the overlay")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    limit = within.resolve()
    for emptied in sorted({p.parent.resolve() for p in paths}, key=lambda d: -len(d.parts)):
        directory = emptied
        while directory != limit and limit in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                break
            directory = directory.parent
