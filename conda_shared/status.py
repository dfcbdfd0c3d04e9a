"""What a shared root looks like right now: pointers, installations, kernels, recent activity."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import audit
from .cutover.switch import in_progress
from .errors import SharedError
from .installation import disk_usage, read_installation
from .kernels.read import Kernel, read_kernels
from .layout import Pointer, open_root
from .text import CommandLine


@dataclass(frozen=True)
class InstallationSummary:
    """One installation as status shows it."""

    name: str
    path: Path
    pointers: tuple[str, ...]
    conda_version: str | None
    python_version: str | None
    platform: str | None
    conda_shared_version: str | None
    env_count: int
    size_bytes: int | None
    problem: str | None
    warnings: tuple[str, ...] = ()  # its condarc files that could not be read as they are


@dataclass(frozen=True)
class Status:
    """The whole picture of a shared root."""

    root: Path
    single: bool
    pointers: tuple[Pointer, ...]
    installations: tuple[InstallationSummary, ...]
    kernels: tuple[Kernel, ...]
    recent: tuple[audit.AuditEntry, ...]
    switch: str | None = None  # a cutover running now, or one interrupted half-way

    @property
    def problems(self) -> tuple[str, ...]:
        """Problems that make the root unusable for users right now."""
        current = next((p for p in self.pointers if p.name == "current"), None)
        switch = (f"cutover: {self.switch}",) if self.switch else ()
        if self.single or current is None or current.ok:
            return switch
        return (f"current: {current.problem or 'not set'}", *switch)


def shared_status(
    *,
    root: Path,
    sizes: bool = False,
    log_entries: int = 5,
    command_line: CommandLine | None = None,
) -> Status:
    """`command_line` spells the commands in the problems found (default: `conda shared`)."""
    shared = open_root(root)
    seen_inodes: set[tuple[int, int]] = set()
    summaries = tuple(
        _summary(path, pointers, sizes, seen_inodes)
        for path, pointers in shared.installations_with_pointers().items()
    )
    return Status(
        root=shared.path,
        single=shared.single,
        pointers=shared.pointers,
        installations=summaries,
        kernels=read_kernels(shared.kernels_dir),
        recent=audit.tail(shared.log_path, log_entries),
        switch=None
        if shared.single
        else in_progress(shared.path, command_line=command_line or CommandLine()),
    )


def _summary(
    path: Path, pointers: tuple[str, ...], sizes: bool, seen: set[tuple[int, int]]
) -> InstallationSummary:
    try:
        inst = read_installation(path)
    except SharedError as error:
        return InstallationSummary(
            path.name, path, pointers, None, None, None, None, 0, None, error.message
        )
    size = sum(disk_usage(env.prefix, seen=seen) for env in inst.envs) if sizes else None
    return InstallationSummary(
        name=inst.name,
        path=inst.path,
        pointers=pointers,
        conda_version=inst.conda_version,
        python_version=inst.python_version,
        platform=inst.platform,
        conda_shared_version=inst.conda_shared_version,
        env_count=len(inst.envs) - 1,
        size_bytes=size,
        problem=None if inst.conda_version else "no conda package found in its base",
        warnings=inst.config.warnings,
    )
