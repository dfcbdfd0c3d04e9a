"""Which environment an ENV argument names, and which overlay directories apply to it."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..errors import InputError
from .shim.sitecustomize import overlay_problem

META_FILE = "overlay.json"
LEDGER = Path("conda-meta") / "history"
SCOPES = ("user", "admin")


# NamedTuples, not dataclasses: `overlay run` builds these on its way to exec, where every
# millisecond of start-up counts (the same reason as in settings.py).
class TargetEnv(NamedTuple):
    """The environment an overlay extends, identified by its real path."""

    name: str
    prefix: Path  # resolved: the identity of the env
    python: Path
    python_version: Optional[str]  # "3.11"
    installation: Optional[Path]  # the installation whose conda made it, when known


class OverlayDir(NamedTuple):
    """One overlay: a stable path (a pointer to its current generation) and what it targets."""

    scope: str  # user | admin
    path: Path
    target: Optional[Path]  # the env real path recorded at creation; None before the first
    recorded_key: Optional[str]  # the env's content key when the overlay last changed
    problem: Optional[str] = None  # why it must not be used: not ours, or others may write it
    owners: frozenset[int] = frozenset()  # who may own it (and the folders it is checked in)

    @property
    def exists(self) -> bool:
        return self.target is not None

    @property
    def bin_dir(self) -> Path:
        return self.path / "bin"

    @property
    def ledger(self) -> Path:
        return self.path / LEDGER

    def site_packages(self, python_version: str) -> Path:
        return self.path / "lib" / f"python{python_version}" / "site-packages"


class Placement(NamedTuple):
    """Where a user's and the admin's overlays for one environment live."""

    env: TargetEnv
    user: OverlayDir
    admin: Optional[OverlayDir]  # None when no shared root is known

    def applied(self) -> tuple[OverlayDir, ...]:
        """The overlays a run of the env's Python sees, the user's in front of the admin's."""
        return tuple(
            o
            for o in (self.user, self.admin)
            if o is not None and o.problem is None and o.target == self.env.prefix
        )

    def activated(self) -> tuple[OverlayDir, ...]:
        """What `activate` and `run` point the env's Python at: the applied overlays, and the
        user's own even before its first install (so installing later needs no re-activation)."""
        if self.user.target is None and self.user.problem is None:
            return (self.user, *(o for o in self.applied() if o.scope == "admin"))
        return self.applied()

    def ignored(self) -> tuple[OverlayDir, ...]:
        """The overlays left out because they are not ours or others may change them."""
        return tuple(o for o in (self.user, self.admin) if o is not None and o.problem)

    def scope(self, scope: str) -> OverlayDir:
        if scope == "admin":
            if self.admin is None:
                raise InputError(
                    "admin overlays live in ROOT/overlays, and no shared root is known",
                    "Pass --root DIR (or set CONDA_SHARED_ROOT) with --admin",
                )
            return self.admin
        return self.user


def resolve_env(name_or_path: str, *, root: Path | None, installation: str | None) -> TargetEnv:
    """An environment by absolute path, or by name in the root's installation (current)."""
    if os.path.isabs(name_or_path) or name_or_path.startswith(("./", "../", "~")):
        location = Path(name_or_path).expanduser()
        if _stat(location) is None:
            raise InputError(
                f"environment {name_or_path} does not exist",
                "Pass the path of an existing conda environment, or its name",
            )
        name = ""
    else:
        if root is None:
            raise InputError(
                f"cannot find environment {name_or_path!r}: no shared root is known",
                "Pass the environment's path, or --root DIR (or set CONDA_SHARED_ROOT)",
            )
        # Only a name needs the installation read (kept out of `overlay run`'s start-up).
        from ..installation import read_installation, validate_env_name
        from ..layout import open_root
        from ..text import unknown_name

        inst = read_installation(open_root(root).installation(installation))
        found = inst.find_env(validate_env_name(name_or_path))
        if found is None:
            known = [e.name for e in inst.envs]
            raise InputError(
                f"no environment named {name_or_path!r} in {inst.path} "
                + unknown_name("environments", name_or_path, known),
                "Give one of those names, or the environment's path",
            )
        location, name = found.prefix, found.name
    prefix = bound_prefix(location)
    return _target(prefix, name or prefix.name)


def bound_prefix(location: Path) -> Path:
    """The path an overlay binds to: the env's real path, except that a release of a
    release-managed env is bound through its pointer (INST/envs/NAME -> .releases/NAME/ID), so a
    new release keeps the overlay applied (and `overlay check` says what no longer fits)."""
    real = location.resolve()
    releases = real.parent.parent
    pointer = releases.parent / real.parent.name
    if pointer.is_symlink() and pointer.resolve() == real and releases.parent.name == "envs":
        return pointer
    return real


def _stat(path: Path) -> os.stat_result | None:
    """The path's stat, None when it does not exist (or is a symlink loop); a path this user
    may not look at is a clear error, not a traceback."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            return None
        raise InputError(
            f"cannot look at {path}: {error.strerror}",
            "Run as a user who can read the environment, or ask its admin for read access",
        ) from None


def _target(prefix: Path, name: str) -> TargetEnv:
    meta = _stat(prefix / "conda-meta")
    if meta is None or not stat.S_ISDIR(meta.st_mode):
        raise InputError(
            f"{prefix} is not a conda environment: it has no conda-meta/ directory",
            "Pass the path of a conda environment, or its name",
        )
    python = prefix / "bin" / "python"
    if _stat(python) is None:
        raise InputError(
            f"environment {prefix} has no Python (no bin/python)",
            "Overlays extend Python environments; choose one with python installed",
        )
    versions = sorted(prefix.glob("lib/python3.*/site-packages"))
    parent = prefix.parent.parent
    return TargetEnv(
        name=name,
        prefix=prefix,
        python=python,
        python_version=versions[-1].parent.name.removeprefix("python") if versions else None,
        installation=parent
        if prefix.parent.name == "envs" and (parent / "conda-meta").is_dir()
        else None,
    )


def runnable_python(env: TargetEnv) -> Path:
    """The env's Python, when this user can run it (`run` must not fall through to another
    `python` on PATH, and pip errors must not be the first sign of a broken env)."""
    info = _stat(env.python)
    if info is None or not stat.S_ISREG(info.st_mode) or not os.access(env.python, os.X_OK):
        raise InputError(
            f"the Python of environment {env.prefix} cannot run: {env.python} is not an "
            "executable file you may run",
            "Ask the environment's admin to repair its python (overlays use the env's own "
            "Python), or choose another environment",
        )
    return env.python


def place(env: TargetEnv, *, overlays_dir: Path, root: Path | None) -> Placement:
    """The user's overlay under `overlays_dir` and the admin's under ROOT/overlays."""
    admin_root = _admin_root(root)
    version = f"python{env.python_version}" if env.python_version else None
    admin = None
    if admin_root is not None:
        owners = admin_owners(admin_root.parent) | {_owner(env.prefix)}
        admin = read_overlay(admin_root / env.name, scope="admin", owners=owners, version=version)
    user = read_overlay(overlays_dir / env.name, scope="user", version=version)
    return Placement(env=env, user=user, admin=admin)


def user_owners() -> frozenset[int]:
    """Who may own your overlays: you."""
    return frozenset([os.geteuid()])


def admin_owners(root: Path) -> frozenset[int]:
    """Who may own the root's overlays: root, and the shared root's owner (the installation's
    admin account, where it is not root)."""
    return frozenset([0, _owner(root)])


def _owner(path: Path) -> int:
    try:
        return path.stat().st_uid
    except OSError:
        return 0


def _admin_root(root: Path | None) -> Path | None:
    """ROOT/overlays of the shared root (its real path, as `open_root` resolves it)."""
    return root.expanduser().resolve() / "overlays" if root is not None else None


def read_overlay(
    path: Path, *, scope: str, owners: frozenset[int] | None = None, version: str | None = None
) -> OverlayDir:
    """An overlay directory and its record; a missing one has no target yet. One that is not
    ours, or that someone else could change (checked up to lib/`version`/site-packages), has
    a `problem` and no record read through it."""
    owners = owners or user_owners()
    problem = pointer_problem(path, version=version, owners=owners)
    meta = read_meta(path) if problem is None else {}
    target = meta.get("env_prefix")
    return OverlayDir(
        scope=scope,
        path=path,
        target=Path(target) if isinstance(target, str) else None,
        recorded_key=meta.get("env_content_key"),
        problem=problem,
        owners=owners,
    )


def read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / META_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pointer_problem(path: Path, *, version: str | None, owners: frozenset[int]) -> str | None:
    """Why `path` is not an overlay to use or change: not a link conda-shared made (a plain
    directory, or a link anywhere else), or one that someone else could change."""
    if path.is_dir() and not path.is_symlink():
        return "it is a plain directory, not an overlay made by conda-shared"
    return overlay_problem(str(path), version, owners)


def all_overlays(*, overlays_dir: Path, root: Path | None) -> tuple[OverlayDir, ...]:
    """Every overlay of this user and of the shared root, for `list` without ENV."""
    admin_root = _admin_root(root)
    return _overlays_in([(overlays_dir, "user"), *([(admin_root, "admin")] if admin_root else [])])


def admin_overlays(root: Path) -> tuple[OverlayDir, ...]:
    """The shared root's own overlays (ROOT/overlays), which apply to everyone."""
    admin_root = _admin_root(root)
    return _overlays_in([(admin_root, "admin")]) if admin_root else ()


def _overlays_in(places: list[tuple[Path, str]]) -> tuple[OverlayDir, ...]:
    found = []
    for directory, scope in places:
        try:
            names = sorted(n for n in os.listdir(directory) if not n.startswith("."))
        except OSError:
            continue
        owners = admin_owners(directory.parent) if scope == "admin" else user_owners()
        found += [read_overlay(directory / name, scope=scope, owners=owners) for name in names]
    return tuple(o for o in found if o.exists or o.problem)
