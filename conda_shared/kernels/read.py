"""Jupyter kernelspecs of a shared root: where each points and whether it still resolves."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Kernel:
    """One kernelspec: its interpreter, the environment that owns it, and any problem."""

    name: str
    spec_path: Path
    display_name: str
    executable: str | None
    env_prefix: Path | None
    problem: str | None


def kernels_running(kernels: Iterable[Kernel], prefix: Path) -> tuple[Kernel, ...]:
    """The kernels whose interpreter belongs to the environment at `prefix` (any path to it)."""
    real = Path(os.path.realpath(prefix))
    return tuple(k for k in kernels if k.env_prefix is not None and k.env_prefix == real)


def read_kernels(kernels_dir: Path) -> tuple[Kernel, ...]:
    """Every `*/kernel.json` under a kernels folder; a missing folder has none."""
    try:
        entries = list(os.scandir(kernels_dir))
    except OSError:
        return ()
    # os.path.isdir: a looping symlink in the folder is no kernel (DirEntry.is_dir raises ELOOP).
    names = sorted(entry.name for entry in entries if os.path.isdir(entry.path))
    return tuple(_read_kernel(kernels_dir / name) for name in names)


def _read_kernel(folder: Path) -> Kernel:
    spec_path = folder / "kernel.json"
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        argv = spec.get("argv") or []
        executable = str(argv[0]) if argv else None
        display = str(spec.get("display_name") or folder.name)
    except (OSError, ValueError, AttributeError) as error:
        return Kernel(folder.name, spec_path, folder.name, None, None, f"unreadable: {error}")
    if not executable:
        return Kernel(folder.name, spec_path, display, None, None, "kernel.json has no argv")
    if not os.path.isabs(executable):
        return Kernel(folder.name, spec_path, display, executable, None, None)
    resolved = Path(os.path.realpath(executable))
    if not resolved.exists():
        return Kernel(
            folder.name, spec_path, display, executable, None, f"{executable} does not exist"
        )
    return Kernel(folder.name, spec_path, display, executable, _env_of(resolved), None)


def _env_of(executable: Path) -> Path | None:
    """The environment an interpreter belongs to: the first parent with conda-meta/."""
    for parent in executable.parents:
        if os.path.isdir(parent / "conda-meta"):
            return parent
    return None
