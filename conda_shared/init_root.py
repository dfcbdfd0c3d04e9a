"""`init`: lay out a shared root around an existing installation, leaving the installation alone."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import audit, fs
from .errors import InputError
from .installation import package_version
from .layout import ENVS_POINTER, is_installation
from .pointers import refuse_real_directories
from .requests.store import ensure_folders
from .text import quoted

FOLDERS = ("kernels", "specs", "reports", "log")
_FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class InitResult:
    """What `init` created, what it found already in place, and what the admin adds by hand."""

    root: Path
    installation: Path
    name: str
    created: tuple[str, ...]
    kept: tuple[str, ...]
    condarc: str
    shell: str
    notes: tuple[str, ...]


def init_root(
    *,
    root: Path,
    adopt: Path | None = None,
    name: str | None = None,
    admin_gid: int | None = None,
) -> InitResult:
    """Create pointers (current, envs) and the root's folders around an installation; with
    `admin_gid` (root only), also the package-request folders, the inbox owned by that group."""
    root = root.expanduser().absolute()
    if is_installation(root):
        raise InputError(
            f"{root} is itself a conda installation; a shared root holds installations side "
            "by side",
            "Choose a new directory and adopt this one",
            command=("init", "NEWROOT", "--adopt", str(root)),
        )
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} is not a directory", "Choose a directory for the shared root")
    refuse_real_directories(root, ("current", "qa", "previous"))
    installation = _installation(root, adopt)
    folder = _folder_name(root, installation, name)
    created: list[str] = []
    kept: list[str] = []
    try:
        fs.make_dirs(root)
        for entry in FOLDERS:
            (kept if (root / entry).is_dir() else created).append(f"{entry}/")
            fs.make_dirs(root / entry)
        alias = root / folder
        if alias.resolve() != installation:  # an installation outside the root gets a name in it
            fs.atomic_symlink(alias, installation)
            created.append(f"{folder} -> {installation}")
        line, is_new = _point_current(root, folder, installation)
        (created if is_new else kept).append(line)
        envs = root / ENVS_POINTER
        if envs.is_symlink() or envs.exists():
            kept.append(f"{ENVS_POINTER} -> {os.readlink(envs)}" if envs.is_symlink() else "envs/")
        else:
            fs.atomic_symlink(envs, "current/envs")
            created.append(f"{ENVS_POINTER} -> current/envs")
        if admin_gid is not None:
            for line, changed in ensure_folders(root, admin_gid=admin_gid):
                (created if changed else kept).append(line)
    except PermissionError as error:
        raise InputError(
            f"cannot create the shared root in {root}: {error.strerror}",
            f"Run as a user who can write to {root.parent if not root.exists() else root}",
        ) from None
    notes = []
    if admin_gid is None:
        notes.append("requests/ was not set up: only root can create it (run init as root)")
    if (root / ENVS_POINTER).exists() and not (root / ENVS_POINTER).is_symlink():
        notes.append(f"{root / ENVS_POINTER} is a real directory: paths through it do not follow")
    note = audit.try_record(
        root / "log" / "shared.log",
        command=f"init {root} --adopt {installation}",
        result=f"ok: current -> {folder}",
        action="init",
        target=folder,
        forced=False,
    )
    notes += [note] if note else []
    return InitResult(
        root=root,
        installation=installation,
        name=folder,
        created=tuple(created),
        kept=tuple(kept),
        condarc=_condarc(root),
        shell=f". {quoted(str(root / 'current' / 'etc' / 'profile.d' / 'conda.sh'))}",
        notes=tuple(notes),
    )


def _installation(root: Path, adopt: Path | None) -> Path:
    if adopt is not None:
        path = adopt.expanduser().absolute()
        if not is_installation(path):
            raise InputError(
                f"--adopt {adopt}: not a conda installation (no conda-meta/ directory)",
                "Give the directory that holds bin/conda and conda-meta/ (its base environment)",
            )
        return path.resolve()
    current = root / "current"
    if current.is_symlink() and is_installation(current.resolve()):
        return current.resolve()
    try:
        found = [p for p in sorted(root.iterdir()) if not p.is_symlink() and is_installation(p)]
    except OSError:
        found = []
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) or "none"
        raise InputError(
            f"which installation should {root} start with? found {len(found)} ({listed})",
            "Name it",
            command=("init", str(root), "--adopt", "INSTALLATION"),
        )
    return found[0].resolve()


def _folder_name(root: Path, installation: Path, name: str | None) -> str:
    """The installation's name in the root: its folder when inside, else --name (or vX.Y)."""
    if installation.parent == root.resolve():
        if name not in (None, installation.name):
            raise InputError(
                f"--name {name}: {installation.name} is already a folder of the root, and "
                "installations are never moved or renamed (prefixes are baked into files)",
                "Leave out --name",
            )
        return installation.name
    if name is None:
        version = package_version(installation, "conda") or ""
        name = "v" + ".".join(version.split(".")[:2]) if version else installation.name
    if not _FOLDER_NAME.match(name):
        raise InputError(
            f"--name {name!r} is not a plain folder name",
            "Use letters, digits, '.', '_' or '-', for example --name v24.11",
        )
    alias = root / name
    if (alias.exists() or alias.is_symlink()) and alias.resolve() != installation:
        raise InputError(
            f"{alias} already exists and is not {installation}",
            "Choose another name with --name",
        )
    return name


def _point_current(root: Path, folder: str, installation: Path) -> tuple[str, bool]:
    """Create `current -> folder` unless it is already there; (what it shows, whether new)."""
    link = root / "current"
    if link.is_symlink():
        if link.resolve() != installation:
            raise InputError(
                f"{link} already points to {os.readlink(link)}, not {installation}; init never "
                "moves a pointer",
                "Leave out --adopt to keep it, or switch it",
                command=("cutover", "--root", str(root), "--to", "NAME"),
            )
        return f"current -> {os.readlink(link)}", False
    fs.atomic_symlink(link, folder)  # relative: the root works mounted anywhere
    return f"current -> {folder}", True


def _condarc(root: Path) -> str:
    # JSON strings are YAML double-quoted scalars: safe for spaces, '#', ':' in the path.
    # Exactly the pins `doctor` checks for, so pasting this leaves it nothing to report.
    return "\n".join(
        [
            "no_plugins: false  #!final",
            "override_channels_enabled: false  #!final",
            "plugins:",
            f"  shared_root: {json.dumps(str(root))}",
            "  shared_channel_policy: error  #!final",
        ]
    )
