"""Whole directories: built privately and published in one rename, moved, linked, removed."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import SharedError
from ..text import quoted
from .files import TEMP_SUFFIX, make_dirs, temp_sibling


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


def writable_by_owner_only(path: Path, *, readable_by_all: bool) -> None:
    """Take the group's and others' write bits off everything under `path`, whatever umask
    built it (a tree that others could change is one conda-shared refuses to use); with
    `readable_by_all`, also let every user read it (folders and programs enterable and
    runnable). Links are left alone."""
    for folder, folders, files in os.walk(path):  # walk never follows a link into a folder
        for name in (*folders, *files):
            entry = os.path.join(folder, name)
            info = os.lstat(entry)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            if readable_by_all:
                runnable = stat.S_ISDIR(info.st_mode) or mode & stat.S_IXUSR
                mode |= 0o555 if runnable else 0o444
            os.chmod(entry, mode & ~0o022)


def private_dir_beside(destination: Path) -> Path:
    """A new empty directory next to `destination`, on the same file system, for building:
    mode 0700, so nobody else can look or write into it before `publish_dir` reveals it."""
    make_dirs(destination.parent)
    path = destination.with_name(f".{destination.name}.{os.urandom(4).hex()}{TEMP_SUFFIX}")
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


def remove_tree(path: Path, *, last: str | None = None) -> None:
    """Delete a directory tree conda-shared made; the one way every module removes a tree.

    The tree first vanishes in one rename to a hidden sibling, so nothing half-deleted is ever
    seen under its name; a symlink is removed as a link, never followed; absent is fine. What
    cannot be deleted is an error that names it, never a leftover nobody hears of. `last` names
    a top-level entry deleted after all the others: the marker that proves whose the tree is,
    so a removal killed half-way leaves a tree the next try may still recognize and finish.
    """
    import shutil

    if path.is_symlink():
        path.unlink()
        return
    if not path.exists():
        return
    # One already hidden (a removal killed half-way) is finished where it is.
    hidden = path if path.name.endswith(TEMP_SUFFIX) else temp_sibling(path)
    problems: list[str] = []

    def record(_function: object, failed: str, error: object) -> None:
        problems.append(failed)

    def remove(tree: Path) -> None:
        if sys.version_info >= (3, 12):  # onerror is deprecated there; onexc gets the same call
            shutil.rmtree(tree, onexc=record)
        else:
            shutil.rmtree(tree, onerror=record)

    try:
        if hidden != path:
            os.rename(path, hidden)
    except OSError as error:
        problems.append(f"{path}: {error.strerror}")
    else:
        if last is None:
            remove(hidden)
        else:
            _remove_all_but(hidden, last, remove=remove, problems=problems)
    if problems:
        leftover = path if path.exists() else hidden
        raise SharedError(
            f"could not remove {leftover} ({problems[0]})",
            f"Remove it by hand (rm -rf {quoted(leftover)})",
        )


def _remove_all_but(
    folder: Path, last: str, *, remove: Callable[[Path], None], problems: list[str]
) -> None:
    """Empty `folder` but for `last`, then remove `last` and the folder."""
    try:
        entries = list(os.scandir(folder))
    except OSError as error:
        problems.append(f"{folder}: {error.strerror}")
        return
    for entry in entries:
        if entry.name == last:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                remove(Path(entry.path))
            else:
                os.unlink(entry.path)
        except OSError as error:
            problems.append(f"{entry.path}: {error.strerror}")
    if problems:
        return  # `last` stays: what is left still says whose it is
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / last)
        os.rmdir(folder)
    except OSError as error:
        problems.append(f"{folder}: {error.strerror}")


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


def change_owner_tree(path: Path, *, uid: int, gid: int) -> None:
    """Give everything under `path` (links themselves, never what they point at) to uid:gid."""
    os.lchown(path, uid, gid)
    for folder, folders, files in os.walk(path):
        for name in (*folders, *files):
            os.lchown(os.path.join(folder, name), uid, gid)
