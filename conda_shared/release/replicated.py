"""A release that replicate built in a target installation, published there as that env's
first release: the source's ID kept, kind "replicated", envs/NAME pointed at it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .build import freeze
from .journal import point_at
from .layout import current_release, env_link, records_dir, release_prefix
from .records import record_release
from .solve import Change, PackageDiff


def publish_replicated(
    *,
    root: Path,
    installation: Path,
    name: str,
    release_id: str,
    strategy: str,
    smoke: Mapping[str, Any] | None,
    force: bool,
) -> str | None:
    """Freeze and record the replicated release, then point envs/NAME at it when envs/NAME
    is free (or, with `force`, another release of NAME). Says why envs/NAME was left alone."""
    prefix = release_prefix(installation, name, release_id)
    freeze(prefix, name)
    if not records_dir(root, installation, name, release_id).exists():
        record_release(
            root=root,
            installation=installation,
            name=name,
            release_id=release_id,
            prefix=prefix,
            kernels=(),
            parent=None,
            kind="replicated",
            change=Change(),
            diff=PackageDiff(),
            smoke=dict(smoke) if smoke is not None else None,
            strategy=strategy,
        )
    link = env_link(installation, name)
    if os.path.lexists(link) and not (force and current_release(installation, name)):
        return (
            f"{link} exists and was left as it is; the release is {prefix} "
            "(switch to it with release rollback --to)"
        )
    point_at(installation, name, release_id)
    return None
