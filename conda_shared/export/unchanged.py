"""An export remembered in the env cache: when the env, its inputs and the files written are
all as they were, the export is that record and nothing is read or written."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..kernels.read import Kernel, kernels_running
from ..specs import Risk, SourceInfo
from .results import EnvExport

CACHE_KIND = "export"


def inputs_key(
    *,
    key: str,
    prefix: Path,
    source: SourceInfo | None,
    kernels: Sequence[Kernel],
    out_dir: Path,
    lock_hash: str,
) -> str:
    """Everything but the env that shapes its spec files: the same key and an unchanged env
    mean the files written last time are still the export."""
    own = kernels_running(kernels, prefix)
    parts = (__version__, key, out_dir, lock_hash, source, own)
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()


def remember(exported: EnvExport, inputs: str) -> dict[str, Any]:
    """The cache entry of an export just written."""
    return {
        "inputs": inputs,
        "name": exported.name,
        "prefix": str(exported.prefix),
        "content_key": exported.content_key,
        "conda_packages": exported.conda_packages,
        "pip_packages": exported.pip_packages,
        "risks": [[r.code, r.package, r.message] for r in exported.risks],
        "files": {str(path): _file_state(path) for path in exported.files},
    }


def recall(cached: Any, inputs: str) -> EnvExport | None:
    """The export a cache entry recorded, when its inputs match and its files are as written."""
    if not isinstance(cached, dict) or cached.get("inputs") != inputs:
        return None
    try:
        files = cached["files"]
        if any(_file_state(Path(path)) != state for path, state in files.items()):
            return None
        return EnvExport(
            name=str(cached["name"]),
            prefix=Path(cached["prefix"]),
            ok=True,
            files=tuple(Path(path) for path in files),
            content_key=str(cached["content_key"]),
            conda_packages=int(cached["conda_packages"]),
            pip_packages=int(cached["pip_packages"]),
            risks=tuple(Risk(*risk) for risk in cached["risks"]),
            error=None,
            unchanged=True,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _file_state(path: Path) -> list[int] | None:
    """Size, modification time and inode: a spec file edited or replaced since is written again."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino]
