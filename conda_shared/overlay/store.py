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
from .locate import LEDGER, META_FILE, OverlayDir

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
    if overlay.path.exists() and not overlay.path.is_symlink():
        raise InputError(
            f"{overlay.path} is a plain directory, not an overlay made by conda-shared",
            f"Move it aside (mv {overlay.path} {overlay.path}.orig) and install again",
        )
    with fs.exclusive_lock(parent / f".{overlay.path.name}.lock"):
        current = overlay.path.resolve() if overlay.path.is_symlink() else None
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
            fs.publish_dir(stage.path, generation)
        except BaseException:
            fs.remove_tree(stage.path)
            raise
        fs.atomic_symlink(overlay.path, generation.name)
        if current is not None:
            fs.remove_tree(current)


def _require_writable(parent: Path, scope: str) -> None:
    try:
        fs.make_dirs(parent)
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
