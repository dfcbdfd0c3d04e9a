"""Overlay copies an environment no longer needs: the env (a new release) now has them itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .contents import read_dists
from .listing import env_versions
from .locate import Placement


@dataclass(frozen=True)
class RedundantCopy:
    """A distribution in an overlay that the env now holds at the same or a newer version."""

    env: str
    scope: str  # user | admin
    overlay: Path
    name: str
    overlay_version: str
    env_version: str
    applies: bool  # False: the overlay was made for an earlier path of the env (re-target it)


def redundant_copies(placement: Placement) -> tuple[RedundantCopy, ...]:
    """The distributions in ENV's overlays (the user's and the admin's, also one made for an
    earlier path of ENV) that ENV itself now provides."""
    env = placement.env
    versions = env_versions(env.prefix)
    overlays = (placement.user, placement.admin)
    applied = placement.applied()
    return tuple(
        RedundantCopy(
            env.name,
            overlay.scope,
            overlay.path,
            dist.name,
            dist.version,
            found,
            overlay in applied,
        )
        for overlay in overlays
        if overlay is not None and overlay.exists and overlay.problem is None
        for key, dist in sorted(read_dists(overlay.path).items())
        if (found := versions.get(key)) is not None and _not_older(found, dist.version)
    )


def _not_older(env_version: str, overlay_version: str) -> bool:
    if env_version == overlay_version:
        return True
    return _numbers(env_version) >= _numbers(overlay_version)


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+", maxsplit=1)[0]))
