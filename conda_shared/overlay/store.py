"""An overlay on disk: a stable symlink to its current generation; changes go to a staged copy
that replaces the generation in one pointer swap, so a failed change leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import fs
from ..errors import InputError
from ..text import quoted
from .locate import LEDGER, META_FILE, OverlayDir, pointer_problem

# Yours are private; the admin's are read by every user's Python.
_MODES = {"user": 0o700, "admin": 0o755}
_FIXES = {
    "user": "Set plugins.shared_overlays_dir (or CONDA_PLUGINS_SHARED_OVERLAYS_DIR) to a "
    "directory you own",
    "admin": "Run it as an admin who can write there, or drop --admin to use your own overlay",
}


@dataclass
class Stage:
    """The copy being changed; set `keep` to False when there turned out to be nothing to do."""

    path: Path
    keep: bool = True


@contextlib.contextmanager
def staged(overlay: OverlayDir) -> Iterator[Stage]:
    """Lock the overlay, copy its generation to a stage, yield the stage; publish it when the
    block succeeds (and keeps it), else delete it. Stages a killed run left are removed on the
    next one."""
    parent = overlay.path.parent
    _require_writable(parent, overlay.scope)
    with fs.exclusive_lock(parent / f".{overlay.path.name}.lock"):
        # Checked again under the lock: what gets copied, and later deleted, is ours.
        refuse_unsafe(
            overlay.path, pointer_problem(overlay.path, version=None, owners=overlay.owners)
        )
        current = parent / os.readlink(overlay.path) if os.path.lexists(overlay.path) else None
        _remove_stale(overlay.path, keep=current)
        stage = Stage(fs.private_dir_beside(overlay.path))
        try:
            if current is not None and current.is_dir():
                fs.link_tree(current, stage.path, copied=(LEDGER.parts[0], META_FILE))
            fs.make_dirs(stage.path / LEDGER.parent)
            yield stage
            if not stage.keep:
                fs.remove_tree(stage.path)
                return
            generation = overlay.path.with_name(f".{overlay.path.name}.gen-{secrets.token_hex(4)}")
            # Whatever umask the admin or user had: every user's Python reads an admin overlay,
            # and nobody else may change either kind.
            fs.writable_by_owner_only(stage.path, readable_by_all=overlay.scope == "admin")
            fs.publish_dir(stage.path, generation, mode=_MODES[overlay.scope])
        except BaseException:
            fs.remove_tree(stage.path)
            raise
        fs.atomic_symlink(overlay.path, generation.name)
        if current is not None:
            fs.remove_tree(current)


def refuse_unsafe(path: Path, problem: str | None) -> None:
    """Stop a change of an overlay that is not ours, or that someone else could change."""
    if problem is None:
        return
    if problem.startswith("it "):  # the pointer itself is not one conda-shared made
        fix = f"Move it aside (mv {quoted(path)} {quoted(f'{path}.orig')}) and install again"
    else:
        fix = (
            "Make what it names yours (admin overlays: root's) and writable by nobody else "
            "(chmod go-w), or choose another plugins.shared_overlays_dir"
        )
    raise InputError(f"refusing the overlay {path}: {problem}", fix)


def _require_writable(parent: Path, scope: str) -> None:
    try:
        fs.make_dirs(parent, mode=_MODES[scope])
    except OSError as error:
        raise InputError(
            f"cannot create the overlay directory {parent}: {error.strerror}", _FIXES[scope]
        ) from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write overlays in {parent}: permission denied", _FIXES[scope])


def _remove_stale(pointer: Path, *, keep: Path | None) -> None:
    ours = re.compile(
        rf"^\.{re.escape(pointer.name)}\.(gen-[0-9a-f]{{8}}|[0-9a-f]{{8}}\.conda-shared-tmp)$"
    )
    for entry in os.scandir(pointer.parent):
        path = Path(entry.path)
        if ours.match(entry.name) and entry.is_dir(follow_symlinks=False) and path != keep:
            fs.remove_tree(path)
