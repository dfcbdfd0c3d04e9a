"""Changing a shared root's pointers (current, qa, previous): relative, atomic, one at a time."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from . import fs
from .errors import InputError, SharedError
from .layout import SharedRoot, is_installation, open_root
from .text import quoted


def link_target(root: Path, installation: Path) -> str:
    """What a pointer in `root` stores: the folder name when the installation is in the root
    (so the root still works mounted at another path), else its absolute path."""
    real_root, real = root.resolve(), installation.resolve()
    if real.parent == real_root:
        return real.name
    return str(real)


def set_pointer(root: Path, name: str, installation: Path) -> None:
    """Point ROOT/name at an installation in one rename; readers never see it missing."""
    try:
        fs.atomic_symlink(root / name, link_target(root, installation))
    except OSError as error:
        raise _unwritable(root, error) from None


def clear_pointer(root: Path, name: str) -> None:
    """Remove ROOT/name (a symlink) in one step."""
    try:
        fs.remove_symlink(root / name)
    except OSError as error:
        raise _unwritable(root, error) from None


def open_switchable(root: Path, names: tuple[str, ...]) -> SharedRoot:
    """Open a root whose pointers `names` can be switched (each a symlink or unset)."""
    shared = open_root(root)
    if shared.single:
        raise InputError(
            f"{shared.path} is a single installation without current/qa/previous pointers",
            "Create a shared root around it first",
            command=("init", "NEWROOT", "--adopt", str(shared.path)),
        )
    refuse_real_directories(shared.path, names)
    return shared


def refuse_real_directories(root: Path, names: tuple[str, ...]) -> None:
    """Pointers that are real directories cannot be switched without moving an installation."""
    for name in names:
        path = root / name
        if path.exists() and not path.is_symlink():
            raise InputError(
                f"{path} is a real directory, not a symlink pointer, so it cannot be switched "
                "without moving what is inside (prefixes are baked into installed files)",
                f"Rename it to a versioned folder and point {name} at it: "
                f"mv {quoted(path)} {quoted(f'{path}.orig')} && "
                f"ln -s {quoted(f'{name}.orig')} {quoted(path)}; or adopt it into a new root",
                command=("init", "NEWROOT", "--adopt", str(path)),
            )


def writable_problem(root: Path) -> str | None:
    """Why pointers in `root` cannot be changed by this user, or None when they can."""
    if os.access(root, os.W_OK | os.X_OK):
        return None
    return f"{root} is not writable by {fs.current_user()}"


def resolve_installation(shared: SharedRoot, which: str, *, option: str) -> Path:
    """An installation named by folder (or a path) that lies directly inside the root."""
    candidate = Path(which).expanduser()
    if not candidate.is_absolute():
        if os.sep in which or which in (".", ".."):
            raise _outside(shared, which, option)
        candidate = shared.path / which
    real = candidate.resolve()
    if real.parent != shared.path:
        raise _outside(shared, which, option)
    if not real.is_dir():
        known = ", ".join(p.name for p in shared.installations) or "none"
        raise InputError(
            f"no installation {which!r} in {shared.path} (installations: {known})",
            f"Give {option} one of the installation folders of the root",
        )
    if not is_installation(real):
        raise InputError(
            f"{real} is not a conda installation: it has no conda-meta/ directory",
            "Install conda there first (for example with the Miniforge installer, -p "
            f"{real}), then run the command again",
        )
    return real


@contextlib.contextmanager
def pointers_lock(root: Path) -> Iterator[None]:
    """Hold the root's pointer lock; a second holder is told another cutover is running."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(fs.exclusive_lock(lock_path(root)))
        except fs.LockHeld as held:
            raise SharedError(
                f"another cutover is running in {root} ({held.holder})",
                "Wait for it to finish, then check the pointers before trying again",
                command=("status",),
            ) from None
        yield


def lock_path(root: Path) -> Path:
    return root / "log" / "cutover.lock"


def _outside(shared: SharedRoot, which: str, option: str) -> InputError:
    return InputError(
        f"{option} {which}: not an installation folder of the shared root {shared.path}",
        f"Install the new conda inside the root (e.g. {shared.path / 'v26.7'}) and give "
        f"{option} its folder name",
    )


def _unwritable(root: Path, error: OSError) -> SharedError:
    return SharedError(
        f"cannot change the pointers in {root}: {error.strerror}",
        f"Run as a user who can write to {root} (usually the admin account)",
    )
