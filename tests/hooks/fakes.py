"""A stand-in for conda's context: the attributes the hooks read, settable per test."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


class UpdateModifier(enum.Enum):  # stands in for conda's enum: options compare by .value
    FREEZE_INSTALLED = "freeze_installed"


@dataclass
class FakeContext:
    """The attributes of conda's context that the hooks read."""

    args: dict[str, Any] = field(default_factory=dict)
    policy: str = "warn"
    shadow: object = True
    root: str = ""
    channels: tuple[str, ...] = ("conda-forge",)
    envs_dirs: tuple[str, ...] = ()
    pkgs_dirs: tuple[str, ...] = ()
    offline: bool = False
    use_local: bool = False
    conda_build_local_paths: tuple[str, ...] = ()
    solver: str = "classic"
    root_prefix: str = "/nonexistent"

    @property
    def _argparse_args(self) -> dict[str, Any]:
        return self.args

    @property
    def plugins(self) -> SimpleNamespace:
        return SimpleNamespace(
            shared_root=self.root,
            shared_channel_policy=self.policy,
            shared_shadow_warnings=self.shadow,
            shared_overlays_dir="~/.conda/overlays",
            shared_slurm_options="",
        )
