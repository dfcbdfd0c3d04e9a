"""Kernelspecs that follow `current`: where each resolves, now and in qa; create missing ones."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .. import audit, fs
from ..installation import package_version, read_installation
from ..layout import SharedRoot, open_root
from .pinned import pinned_to
from .read import Kernel, read_kernels
from .write import write_kernel

_UNSAFE_KERNEL_CHARS = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class KernelView:
    """One kernelspec: its env, whether it goes through ROOT/current, where it resolves."""

    name: str
    display_name: str
    executable: str | None
    env: str | None
    follows_current: bool
    resolves_now: bool
    resolves_in_qa: bool | None  # None when the root has no qa
    problem: str | None
    release: str | None = None  # the release of `env` it is pinned to (kernels pin)


@dataclass(frozen=True)
class KernelList:
    """Every kernelspec of a root."""

    root: Path
    kernels_dir: Path
    qa: str | None
    kernels: tuple[KernelView, ...]


@dataclass(frozen=True)
class KernelSync:
    """What `kernels sync` did: kernels created, stale ones found (and removed if asked)."""

    root: Path
    kernels_dir: Path
    created: tuple[str, ...]
    stale: tuple[str, ...]
    removed: tuple[str, ...]
    not_following: tuple[str, ...]
    notes: tuple[str, ...]


def below_installation(executable: str, root: Path) -> Path | None:
    """The part of an interpreter path below the installation when it goes through
    ROOT/current (or ROOT/envs -> current/envs), however the root is mounted; else None."""
    parts = Path(executable).parts
    real_root = str(root.resolve())
    for index, part in enumerate(parts[1:], start=1):
        if part in ("current", "envs") and os.path.realpath(Path(*parts[:index])) == real_root:
            rest = parts[index + 1 :]
            return Path("envs", *rest) if part == "envs" else Path(*rest)
    return None


def env_name(below: Path) -> str:
    """The environment a path below an installation belongs to (base for the installation's own)."""
    parts = below.parts
    return parts[1] if len(parts) > 1 and parts[0] == "envs" else "base"


def resolves_in(installation: Path, below: Path) -> bool:
    return (installation / below).exists()


def view(kernel: Kernel, shared: SharedRoot, qa: Path | None) -> KernelView:
    """How one kernelspec relates to the root's installations."""
    executable = kernel.executable
    below = below_installation(executable, shared.path) if executable else None
    pinned = pinned_to(executable, shared.path) if executable and below is None else None
    if pinned is not None:
        return KernelView(
            name=kernel.name,
            display_name=kernel.display_name,
            executable=executable,
            env=pinned.env,
            follows_current=False,
            resolves_now=kernel.problem is None,
            resolves_in_qa=None if qa is None else kernel.problem is None,
            problem=kernel.problem,
            release=pinned.release_id,
        )
    if below is None:
        return KernelView(
            name=kernel.name,
            display_name=kernel.display_name,
            executable=executable,
            env=kernel.env_prefix.name if kernel.env_prefix else None,
            follows_current=False,
            resolves_now=kernel.problem is None,
            resolves_in_qa=None if qa is None else kernel.problem is None,
            problem=kernel.problem,
        )
    now = resolves_in(_current(shared), below)
    return KernelView(
        name=kernel.name,
        display_name=kernel.display_name,
        executable=executable,
        env=env_name(below),
        follows_current=True,
        resolves_now=now,
        resolves_in_qa=None if qa is None else resolves_in(qa, below),
        problem=None if now else f"{executable} does not exist",
    )


def list_kernels(*, root: Path) -> KernelList:
    return _listing(open_root(root))


def _listing(shared: SharedRoot) -> KernelList:
    qa = _qa(shared)
    kernels = tuple(view(kernel, shared, qa) for kernel in read_kernels(shared.kernels_dir))
    return KernelList(
        root=shared.path,
        kernels_dir=shared.kernels_dir,
        qa=qa.name if qa else None,
        kernels=kernels,
    )


def sync_kernels(*, root: Path, remove_stale: bool = False) -> KernelSync:
    """Create a kernelspec through ROOT/current for every env of current with ipykernel that has
    none; report kernels whose env is gone (and remove them only when asked)."""
    shared = open_root(root)
    listing = _listing(shared)
    covered = {k.env for k in listing.kernels if k.follows_current and k.resolves_now}
    taken = {k.name for k in listing.kernels}
    current = shared.installation("current")
    envs_dir = current / "envs"
    created: list[str] = []
    notes: list[str] = []
    for env in read_installation(current).envs:
        if env.prefix.parent != envs_dir or env.name in covered:
            continue
        if package_version(env.prefix, "ipykernel") is None:
            continue
        name = _UNSAFE_KERNEL_CHARS.sub("-", env.name)
        if name in taken:
            notes.append(f"{env.name}: a kernel named {name} exists but does not use this env")
            continue
        # The root as the admin names it (its mount path), not the resolved one.
        seen_by_users = root.absolute() if shared.single else root.absolute() / "current"
        python = seen_by_users / "envs" / env.name / "bin" / "python"
        write_kernel(shared.kernels_dir / name, env.name, python)
        created.append(name)
    stale = tuple(k.name for k in listing.kernels if k.follows_current and not k.resolves_now)
    removed = stale if remove_stale else ()
    for name in removed:
        fs.remove_tree(shared.kernels_dir / name)
    not_following = tuple(k.name for k in listing.kernels if not k.follows_current and k.executable)
    if created or removed:
        note = audit.try_record(
            shared.log_path,
            command="kernels sync",
            result=f"ok: {len(created)} created, {len(removed)} removed",
            action="kernels-sync",
        )
        notes += [note] if note else []
    return KernelSync(
        root=shared.path,
        kernels_dir=shared.kernels_dir,
        created=tuple(created),
        stale=stale,
        removed=removed,
        not_following=not_following,
        notes=tuple(notes),
    )


def _qa(shared: SharedRoot) -> Path | None:
    pointer = shared.pointer("qa")
    return pointer.target if pointer is not None and pointer.ok else None


def _current(shared: SharedRoot) -> Path:
    return shared.path if shared.single else shared.path / "current"
