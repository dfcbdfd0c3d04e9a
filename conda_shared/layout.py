"""The shape of a shared root: where it is, its pointers, its installations, its folders."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from . import fs
from .discovery import POINTERS, discover_root, is_installation, real_path
from .errors import InputError
from .text import quoted

ENVS_POINTER = "envs"


@dataclass(frozen=True)
class Pointer:
    """A symlink such as `current -> v26.7/`, and what is wrong with it, if anything."""

    name: str
    link: str | None
    target: Path | None
    problem: str | None  # None when it is fine or simply not set

    @property
    def ok(self) -> bool:
        return self.problem is None and self.target is not None

    @property
    def unset(self) -> bool:
        return self.link is None and self.problem is None


@dataclass(frozen=True)
class SharedRoot:
    """A directory of side-by-side installations with pointers, or one plain installation."""

    path: Path
    single: bool
    pointers: tuple[Pointer, ...]
    installations: tuple[Path, ...]

    @property
    def state_dir(self) -> Path:
        """Where conda-shared keeps its own files (audit log, default specs) for this root.

        A shared root keeps them in itself; a plain installation is somebody's conda prefix, so
        its state lives in the user's `~/.conda/shared/<name>-<hash of its real path>/`.
        """
        if self.single:
            return single_state_dir(self.path)
        return self.path

    def ensure_in_state_dir(self, path: Path) -> Path:
        """Refuse a default destination that a symlink leads out of the state folder."""
        bound = "conda-shared's state folder" if self.single else "the shared root"
        return fs.ensure_within(self.state_dir, path, bound=bound)

    @property
    def specs_dir(self) -> Path:
        return self.state_dir / "specs"

    @property
    def reports_dir(self) -> Path:
        """Replicate runs, one folder each: ROOT/reports/<UTC stamp>/."""
        return self.state_dir / "reports"

    @property
    def kernels_dir(self) -> Path:
        """ROOT/kernels; a single installation keeps them where Jupyter looks in a prefix."""
        if self.single:
            return self.path / "share" / "jupyter" / "kernels"
        return self.path / "kernels"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "log" / "shared.log"

    def installations_with_pointers(self) -> dict[Path, tuple[str, ...]]:
        """Every installation (folders and pointer targets), with the pointers naming it."""
        if self.single:
            return {self.path: ("current",)}
        pointed: dict[Path, list[str]] = {path: [] for path in self.installations}
        for pointer in self.pointers:
            if pointer.ok and pointer.target is not None and pointer.name != ENVS_POINTER:
                pointed.setdefault(pointer.target, []).append(pointer.name)
        return {path: tuple(names) for path, names in pointed.items()}

    def pointer(self, name: str) -> Pointer | None:
        return next((p for p in self.pointers if p.name == name), None)

    def installation(self, which: str | None = None, *, option: str = "--from") -> Path:
        """Resolve `current`, `qa`, `previous`, an installation's folder name, or a path
        (`option` is the command-line option that names it, for the hint).

        A path must be an installation of this root: its specs and log belong to the root, so
        another root's installation would be mixed into this one's.
        """
        which = which or "current"
        if self.single and which in ("current", self.path.name, str(self.path)):
            return self.path
        pointer = self.pointer(which)
        if pointer is not None:
            if not pointer.ok or pointer.target is None:
                raise InputError(
                    f"{self.path / which} cannot be used: {pointer.problem or 'it is not set'}",
                    f"See the pointers and installations, then name an installation with {option}",
                    command=("status",),
                )
            return pointer.target
        candidate = Path(which).expanduser()
        if not candidate.is_absolute() and os.sep not in which:
            candidate = self.path / which
        known = ", ".join(p.name for p in self.installations_with_pointers()) or "none"
        if not candidate.exists():
            raise InputError(
                f"no installation {which} in {self.path} (installations: {known})",
                "Name one of them, a pointer (current, qa, previous) or a path",
            )
        if not is_installation(candidate):
            raise InputError(
                f"{candidate} is not a conda installation: it has no conda-meta/ directory",
                "Point at the directory that holds bin/conda and conda-meta/",
            )
        real = real_path(candidate)
        if real not in self.installations_with_pointers():
            raise InputError(
                f"{candidate} is not an installation of the root {self.path} "
                f"(installations: {known})",
                "Work on it as a root of its own: pass --root with its path instead of --from",
            )
        return real


def single_state_dir(installation: Path) -> Path:
    """The per-user state folder of a plain installation used as a root (never inside it)."""
    real = os.path.realpath(installation)
    import hashlib  # only plain installations need it; finding a root stays cheap

    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:8]
    from .condarc import user_home

    home = user_home()
    if home is None:
        raise InputError(
            f"{installation} is a plain installation, whose state goes under your home folder, "
            "and there is none (HOME is unset and your uid has no entry in the password database)",
            "Set HOME to a folder of yours and run the command again",
        )
    return home / ".conda" / "shared" / f"{Path(real).name}-{digest}"


def open_root(path: Path) -> SharedRoot:
    """Validate and describe a shared root; every problem is a one-line InputError."""
    path = path.expanduser()
    if not path.exists() and not path.is_symlink():
        raise InputError(
            f"shared root {path} does not exist",
            "Pass --root with an existing directory, or try the sample",
            command=("sample", str(path)),
        )
    if not path.is_dir():
        raise InputError(
            f"shared root {path} is not a directory",
            "Pass --root with the directory that holds current/ or conda-meta/",
        )
    try:
        names = sorted(os.listdir(path))
    except PermissionError:
        raise InputError(
            f"cannot read shared root {path}: permission denied",
            "Run as a user who can read it, or ask its admin for read access",
        ) from None
    real = real_path(path)
    if is_installation(real):
        _refuse_environment(path, real)
        return SharedRoot(path=real, single=True, pointers=(), installations=(real,))
    pointers = tuple(_pointer(real, name) for name in (*POINTERS, ENVS_POINTER))
    installations = tuple(
        real / name
        for name in names
        if name not in (*POINTERS, ENVS_POINTER)
        and not (real / name).is_symlink()
        and is_installation(real / name)
    )
    if not installations and all(p.link is None for p in pointers):
        raise InputError(
            f"{path} is not a shared root: it has no current pointer and no installation "
            "(a folder with conda-meta/) inside",
            "Pass --root with the directory that holds current -> vX/, or an installation's "
            "own folder",
        )
    return SharedRoot(path=real, single=False, pointers=pointers, installations=installations)


def _refuse_environment(path: Path, real: Path) -> None:
    """An environment has conda-meta/ too; one inside an installation's envs/ is not a root."""
    owner = next(
        (above.parent for above in real.parents if above.name == "envs"),
        None,
    )
    if owner is None or not is_installation(owner):
        return
    root = next(
        (
            owner.parent
            for name in POINTERS
            if (owner.parent / name).is_symlink() and real_path(owner.parent / name) == owner
        ),
        owner,
    )
    raise InputError(
        f"{path} is an environment of the installation {owner}, not a shared root",
        f"Pass --root {quoted(root)} and name the environment {real.name} where the command "
        "takes one",
    )


def _pointer(root: Path, name: str) -> Pointer:
    link_path = root / name
    if not link_path.is_symlink():
        if link_path.exists():
            return Pointer(name, None, None, "is a real directory, not a symlink pointer")
        return Pointer(name, None, None, None)
    link = os.readlink(link_path)
    try:
        os.stat(link_path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return Pointer(name, link, None, f"a symlink loop: {link} leads back to itself")
        return Pointer(name, link, None, f"dangling: {link} does not exist")
    target = real_path(link_path)
    if name != ENVS_POINTER and not is_installation(target):
        return Pointer(name, link, target, f"{link} is not a conda installation (no conda-meta/)")
    return Pointer(name, link, target, None)


__all__ = ["POINTERS", "SharedRoot", "discover_root", "is_installation", "open_root"]
