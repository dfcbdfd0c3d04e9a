"""What a catalog shows, as plain frozen data: installations, environments, the latest run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..audit import AuditEntry


@dataclass(frozen=True)
class Package:
    """One package of an env: conda's (build, channel) or pip's (where it came from)."""

    name: str
    version: str
    build: str  # "" for pip
    channel: str  # a conda channel, or pip's source kind (index, vcs, editable, ...)
    source: str | None = None  # pip: the URL it was installed from, when recorded


@dataclass(frozen=True)
class OverlaidPackage:
    name: str
    version: str
    shadows: str | None


@dataclass(frozen=True)
class AdminOverlay:
    """An admin overlay of the env (ROOT/overlays): what it adds for every user."""

    path: Path
    applies: bool
    note: str | None
    packages: tuple[OverlaidPackage, ...]


@dataclass(frozen=True)
class Release:
    """One release of the env, from its release.json."""

    id: str
    created: str
    who: str
    kind: str
    current: bool
    pinned: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


@dataclass(frozen=True)
class EnvEntry:
    """One environment's page."""

    installation: str
    name: str
    prefix: Path
    page: str  # the page's path inside the site
    activate: str  # the line a user pastes
    python_version: str | None
    content_key: str | None
    packages: tuple[Package, ...]
    pip: tuple[Package, ...]
    kernels: tuple[str, ...]  # display names
    overlays: tuple[AdminOverlay, ...]
    releases: tuple[Release, ...]
    spec_files: tuple[str, ...]  # paths inside the site, to download
    error: str | None  # why it could not be read (then it has no packages)
    read_again: bool  # False: its packages came from the cache


@dataclass(frozen=True)
class InstallationEntry:
    name: str
    path: Path
    pointers: tuple[str, ...]
    conda_version: str | None
    python_version: str | None
    env_count: int
    problem: str | None


@dataclass(frozen=True)
class ReportEnv:
    name: str
    status: str
    failure_class: str | None
    error: str | None


@dataclass(frozen=True)
class ReplicateSummary:
    """The latest replicate run: how many envs ended in each status and failure class."""

    run: str
    source: str
    target: str
    started: str
    finished: str | None
    statuses: tuple[tuple[str, int], ...]
    failure_classes: tuple[tuple[str, int], ...]
    envs: tuple[ReportEnv, ...]


@dataclass(frozen=True)
class Catalog:
    """Everything the site shows, read in one pass over the root."""

    root: Path
    generated: str  # UTC ISO 8601
    installations: tuple[InstallationEntry, ...]
    envs: tuple[EnvEntry, ...]
    replicate: ReplicateSummary | None
    activity: tuple[AuditEntry, ...]
    notes: tuple[str, ...]
