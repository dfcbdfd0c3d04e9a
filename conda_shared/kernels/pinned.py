"""Kernels pinned to one release of an env: which kernel runs which release, and `kernels pin`.

A pinned kernel's argv[0] is ROOT/INSTNAME/envs/.releases/NAME/ID/bin/python: the
installation's own folder, not `current`, so it keeps running that release (and keeps that
installation in use) through cutovers and later releases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import audit
from ..errors import InputError
from ..layout import open_root
from ..release.layout import RELEASES_DIR, is_release_id, release_ids, release_prefix
from .read import read_kernels
from .write import write_kernel

_PYTHON = ("bin", "python")


@dataclass(frozen=True)
class PinnedTo:
    """The release a kernel runs: INSTNAME/envs/.releases/NAME/ID."""

    installation: str
    env: str
    release_id: str


@dataclass(frozen=True)
class KernelPin:
    """What `kernels pin` did: the kernelspec folder, its argv[0], and whether it was new."""

    root: Path
    kernel: str
    display_name: str
    env: str
    release_id: str
    installation: str
    python: Path
    created: bool
    note: str | None = None  # set when the audit log could not be written


def pinned_to(executable: str, root: Path) -> PinnedTo | None:
    """The release an interpreter path names (read as written: resolving would lose it),
    when it lies in an installation of `root`; None for anything else."""
    parts = Path(executable).parts
    if len(parts) < 7 or parts[-2:] != _PYTHON:
        return None
    envs, releases, name, release_id = parts[-6:-2]
    if envs != "envs" or releases != RELEASES_DIR or not is_release_id(release_id):
        return None
    installation = Path(*parts[:-6])
    real_root = os.path.realpath(root)
    if real_root not in (os.path.realpath(installation), os.path.realpath(installation.parent)):
        return None
    return PinnedTo(Path(os.path.realpath(installation)).name, name, release_id)


def kernel_folder_name(name: str, release_id: str) -> str:
    """ROOT/kernels/NAME-ID (the dots of the ID kept)."""
    return f"{name}-{release_id}"


def pin_kernel(*, root: Path, installation: str | None, name: str, release_id: str) -> KernelPin:
    """Write a kernelspec "NAME (ID)" that runs that release of NAME directly; an existing
    kernel that pins the same release is left as it is."""
    shared = open_root(root)
    inst = shared.installation(installation)
    if not is_release_id(release_id) or release_id not in release_ids(inst, name):
        published = release_ids(inst, name)
        raise InputError(
            f"{name} has no release {release_id} in {inst.name}"
            + (f" (releases: {', '.join(published)})" if published else " (it has no releases)"),
            "Pin one of its releases; they are listed by",
            command=("release", "list", name, "--from", inst.name),
        )
    seen_by_users = root.absolute() if shared.single else root.absolute() / inst.name
    python = release_prefix(seen_by_users, name, release_id).joinpath(*_PYTHON)
    if not os.path.exists(release_prefix(inst, name, release_id).joinpath(*_PYTHON)):
        raise InputError(
            f"release {release_id} of {name} has no bin/python: it cannot run a kernel",
            "Pin a release of an env that has Python and ipykernel",
        )
    folder_name = kernel_folder_name(name, release_id)
    display = f"{name} ({release_id})"
    existing = {kernel.name: kernel for kernel in read_kernels(shared.kernels_dir)}
    found = existing.get(folder_name)
    if found is not None:
        if found.executable != str(python):
            raise InputError(
                f"a kernel {folder_name} exists in {shared.kernels_dir} and runs "
                f"{found.executable}, not {python}",
                f"Remove or rename {found.spec_path.parent}, then pin again",
            )
        return KernelPin(
            shared.path, folder_name, found.display_name, name, release_id, inst.name, python, False
        )
    write_kernel(shared.kernels_dir / folder_name, display, python)
    note = audit.try_record(
        shared.log_path,
        command=f"kernels pin {name} {release_id}",
        result=f"ok: {folder_name} runs {python}",
        action="kernels-pin",
    )
    return KernelPin(
        shared.path, folder_name, display, name, release_id, inst.name, python, True, note
    )
