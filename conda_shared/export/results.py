"""What an export returns: each environment's outcome, and the run's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..specs import Risk


@dataclass(frozen=True)
class EnvExport:
    """How one environment's export went; `name` is its key, unique among the exported."""

    name: str
    prefix: Path | None
    ok: bool
    files: tuple[Path, ...]
    content_key: str | None
    conda_packages: int
    pip_packages: int
    risks: tuple[Risk, ...]
    error: str | None
    #: for a name the installation does not have: its nearest env names, best first
    did_you_mean: tuple[str, ...] = ()
    #: True when the env and its files were unchanged since the last export (nothing was read)
    unchanged: bool = False


@dataclass(frozen=True)
class ExportResult:
    """Every environment's outcome, and where the specs went.

    `installation` is None when envs were exported by path without a shared root.
    `interrupted` is set when Ctrl-C stopped the run: `envs` then lists those that finished
    of the `selected`.
    """

    installation: Path | None
    out_dir: Path
    selected: int
    envs: tuple[EnvExport, ...]
    notes: tuple[str, ...]
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(env.ok for env in self.envs)
