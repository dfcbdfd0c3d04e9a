"""What a shared root looks like right now: pointers, installations, kernels, recent activity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import audit
from .cutover.switch import in_progress
from .errors import SharedError
from .installation import disk_usage, read_installation
from .inventory import release_of
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
    # with sizes: "ENV: cannot read PATH: why" for each env whose size leaves a folder out
    unreadable: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()  # NAME@ID: the current release of each release-managed env


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
    progress: Callable[[str], None] | None = None,
    command_line: CommandLine | None = None,
) -> Status:
    """The root as it is now; with `sizes`, each env measured (`progress` says which).
    `command_line` spells the commands in the problems found (default: `conda shared`)."""
    shared = open_root(root)
    seen_inodes: set[tuple[int, int]] = set()
    say = progress or (lambda _message: None)
    summaries = tuple(
        _summary(path, pointers, seen_inodes if sizes else None, say)
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
    path: Path,
    pointers: tuple[str, ...],
    seen: set[tuple[int, int]] | None,
    say: Callable[[str], None],
) -> InstallationSummary:
    """One installation; `seen` (inodes already counted) is None unless sizes are measured."""
    try:
        inst = read_installation(path)
    except SharedError as error:
        return InstallationSummary(
            path.name, path, pointers, None, None, None, None, 0, None, error.message
        )
    size: int | None = None
    unreadable: list[str] = []
    if seen is not None:
        size = 0
        reported: set[str] = set()
        # The base last: its folder holds envs/, whose unreadable parts belong to those envs.
        ordered = sorted(inst.envs, key=lambda env: env.found_in == "base")
        for number, env in enumerate(ordered, start=1):
            say(f"[{number}/{len(ordered)}] measuring {inst.name} {env.key}")
            problems: list[str] = []
            size += disk_usage(env.prefix, seen=seen, unreadable=problems)
            new = [problem for problem in problems if problem not in reported]
            reported.update(problems)
            unreadable += [f"{env.key}: {new[0]}"] if new else []
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
        unreadable=tuple(unreadable),
        releases=tuple(
            f"{env.name}@{release}" for env in inst.envs if (release := release_of(env)) is not None
        ),
    )
