"""Single files and links, written whole: atomic writes and symlink swaps, modes, bounds."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import IO, Any

from ..errors import SharedError
from ..text import quoted

TEMP_SUFFIX = ".conda-shared-tmp"


def temp_sibling(path: Path) -> Path:
    # A dot-name with our suffix: never matched by the globs readers use (*.json, *.yml, ...).
    return path.with_name(f".{path.name}.{os.urandom(4).hex()}{TEMP_SUFFIX}")


def temp_siblings(path: Path) -> list[Path]:
    """What interrupted writes or builds of `path` left beside it (their private temp names)."""
    import glob

    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*{TEMP_SUFFIX}"))


def default_file_mode() -> int:
    return 0o666 & ~_umask()


def default_dir_mode() -> int:
    """The mode `mkdir` would give a new folder now (0o777 less the umask)."""
    return 0o777 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def encoded(data: str | bytes) -> bytes:
    """Text as UTF-8; a path or name that was not UTF-8 on disk (Python holds its bytes as
    surrogates) is written back as those very bytes, never refused half-way."""
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data


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


def atomic_write(
    path: Path, data: str | bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Write a whole file or nothing: temp file in the same directory, fsync, then replace.

    `durable=False` skips the fsync, for files worth nothing after a crash (caches): readers
    still see the old file or the new one, never a mix.
    """
    payload = encoded(data)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = default_file_mode()
    temp = temp_sibling(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def publish_file(built: Path, destination: Path, *, mode: int) -> None:
    """Reveal a file written whole under a private name (an archive too big to hold in memory)
    as `destination` in one step, flushed to disk first; a destination that appeared meanwhile
    is never replaced (a hard link refuses it; where links are not supported, a rename)."""
    os.chmod(built, mode)
    with built.open("rb") as stream:
        os.fsync(stream.fileno())
    try:
        os.link(built, destination)
    except FileExistsError:
        raise _appeared(destination) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(destination):
            raise _appeared(destination) from None
        os.rename(built, destination)
    else:
        os.unlink(built)
    sync_dir(destination.parent)


def _appeared(destination: Path) -> SharedError:
    return SharedError(
        f"{destination} exists (it appeared while it was being written); not replaced",
        "Move it away or choose another name, then run the command again",
    )


def atomic_symlink(link: Path, target: str | Path) -> None:
    """Point `link` at `target` in one step: a temp link renamed over the old one."""
    if link.is_dir() and not link.is_symlink():
        raise SharedError(
            f"{link} is a real directory, not a pointer",
            f"Move it aside (mv {quoted(link)} {quoted(f'{link}.orig')}) and run the command again",
        )
    temp = temp_sibling(link)
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


def write_file(path: Path, data: str | bytes) -> None:
    """Plain write, for trees built in a private directory that `publish_dir` then reveals."""
    make_dirs(path.parent)
    path.write_bytes(encoded(data))


def make_symlink(link: Path, target: str | Path) -> None:
    """Create a new symlink (inside a private tree being built)."""
    make_dirs(link.parent)
    os.symlink(os.fspath(target), link)


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


def write_new_file(path: Path, data: str | bytes, *, mode: int) -> None:
    """Create `path`, which must not exist, whole or not at all, with exactly `mode`.

    Written under a private temp name (never through a link), synced and its size checked,
    then renamed to `path`: a reader never sees part of it, and a full disk or a quota leaves
    nothing behind (only the file this call created is removed). Made for shared folders where
    others create files too (a sticky inbox), so `path` must be a name nobody can guess.
    """
    payload = encoded(data)
    temp = temp_sibling(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            size = os.fstat(fd).st_size
            if size != len(payload):
                raise OSError(errno.ENOSPC, f"{size} of {len(payload)} bytes written", temp)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.rename(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def set_owner_and_mode(path: Path, *, uid: int, gid: int, mode: int) -> bool:
    """Give a folder conda-shared made this owner and mode (setgid and sticky bits included);
    whether anything changed. Never through a link."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise SharedError(
            f"{path} is a symbolic link, not the folder conda-shared made",
            f"Remove that link ({quoted(path)}) and run the command again",
        )
    changed = (info.st_uid, info.st_gid) != (uid, gid)
    if changed:
        os.lchown(path, uid, gid)
    if changed or stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)  # after chown, which clears the setgid bit
    return changed or stat.S_IMODE(info.st_mode) != mode
