"""Several files replaced together through a journal, so an interruption is finished later."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from . import files as whole_files
from .files import default_file_mode, encoded

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
            _write_synced(pending[path], encoded(text), _mode_of(path))
    except BaseException:
        for temp in pending.values():
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        raise
    import json

    whole_files.atomic_write(
        journal, json.dumps([[pending[path].name, path.name] for path in files])
    )
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
        return default_file_mode()


def _write_synced(path: Path, payload: bytes, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a leftover of an interrupted run (never followed if it is a symlink)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(payload)
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(path, mode)
