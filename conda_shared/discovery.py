"""Which shared root a command works on: --root, the setting, or the running installation.

Kept apart from layout.py so that finding the root loads nothing else (`overlay run`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

POINTERS = ("current", "qa", "previous")


def is_installation(path: Path) -> bool:
    """A conda installation (like any env) has conda-meta/: all it takes to tell, and cheap, so
    finding the root does not load the readers. A folder this user may not enter (a private
    `ROOT/overlays`, someone's 0700 folder in ROOT) is no installation to them."""
    try:
        return (path / "conda-meta").is_dir()
    except PermissionError:
        return False


def discover_root(
    *, explicit: Path | None, configured: Path | None, running_prefix: Path | None
) -> Path:
    """The root to work on: --root, then the setting, then the running installation's own."""
    if explicit is not None:
        return explicit
    if configured is not None:
        return configured
    if running_prefix is not None and is_installation(running_prefix):
        real = real_path(running_prefix)
        parent = real.parent
        for name in POINTERS:
            link = parent / name
            if link.is_symlink() and real_path(link) == real:
                return parent
        return real
    raise InputError(
        "no shared root given",
        "Pass --root DIR, set CONDA_SHARED_ROOT, or set `plugins: {shared_root: DIR}` in a condarc",
    )


def real_path(path: Path) -> Path:
    """`path` with symlinks resolved; os.path.realpath, not Path.resolve, because a symlink loop
    must not raise RuntimeError (before Python 3.13)."""
    return Path(os.path.realpath(path))
