"""Read one environment from disk: conda-meta records of any era, pip distributions, history."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..condarc import CondaConfig
from ..errors import SharedError
from ..history import History, read_history
from .records import PackageRecord, collect_owned_metadata, load_record, package_record
from .site_packages import (
    PipSource,
    PythonDist,
    normalize_name,
    own_site_packages,
    read_dists,
    read_text,
    site_packages_dirs,
)

__all__ = [
    "EnvState",
    "PackageRecord",
    "PipSource",
    "PythonDist",
    "is_environment",
    "normalize_name",
    "read_env",
    "site_packages_dirs",
]


@dataclass(frozen=True)
class EnvState:
    """Everything conda-shared knows about one environment, read without running conda."""

    name: str
    path: Path
    records: tuple[PackageRecord, ...]
    dists: tuple[PythonDist, ...]
    history: History
    python_version: str | None
    platform: str | None
    #: lib/pythonX.Y/site-packages of a Python the env no longer has: never read as pip's
    stale_site_packages: tuple[Path, ...] = ()

    @property
    def pip_dists(self) -> tuple[PythonDist, ...]:
        """Distributions not owned by any conda record: what pip (or uv, ...) put there."""
        return tuple(d for d in self.dists if not d.conda_owned)


def is_environment(path: Path) -> bool:
    return (path / "conda-meta").is_dir()


def read_env(path: Path, *, name: str, config: CondaConfig, owned_dists: bool = True) -> EnvState:
    """Read an environment; raise SharedError if it is not one or a record is unreadable.

    `owned_dists=False` skips the dist-infos conda records own (most of site-packages): their
    package is already known from its record, and reading them is most of the metadata I/O.
    """
    meta = path / "conda-meta"
    try:
        entries = sorted(os.scandir(meta), key=lambda e: e.name)
    except FileNotFoundError:
        raise SharedError(
            f"{path} is not a conda environment: it has no conda-meta/ directory",
            "Pass the environment's real path, or one of the names this lists",
            command=("inventory",),
        ) from None
    except PermissionError:
        raise SharedError(
            f"cannot read {meta}: permission denied",
            "Run the command as a user who can read the environment (for example its owner)",
        ) from None
    except NotADirectoryError:
        raise SharedError(
            f"{meta} is not a directory",
            "Restore the environment's conda-meta/ directory, or exclude it with `= skip`",
        ) from None
    records: list[PackageRecord] = []
    owned: set[str] = set()
    names = {entry.name for entry in entries}
    site_packages_paths: list[str] = []
    for entry in entries:
        if not entry.name.endswith(".json") or entry.name.startswith("."):
            continue
        record_path = Path(entry.path)
        data = load_record(record_path)
        files = data.get("files") or ()
        # conda-build's legacy noarch_python link script lists what it installed here
        legacy = entry.name[: -len(".json")] + ".files"
        if legacy in names:
            files = [*files, *(read_text(meta / legacy) or "").splitlines()]
        record = package_record(data, record_path, config)
        records.append(record)
        if record.name == "python" and isinstance(data.get("python_site_packages_path"), str):
            site_packages_paths.append(data["python_site_packages_path"])
        collect_owned_metadata(files, owned)
    records.sort(key=lambda r: r.name)
    python_version = next((r.version for r in records if r.name == "python"), None)
    own, stale = own_site_packages(path, python_version, site_packages_paths)
    return EnvState(
        name=name,
        path=path,
        records=tuple(records),
        dists=tuple(read_dists(path, own, owned, include_owned=owned_dists)),
        history=read_history(meta / "history"),
        python_version=python_version,
        platform=next((r.subdir for r in records if r.subdir and r.subdir != "noarch"), None),
        stale_site_packages=tuple(stale),
    )
