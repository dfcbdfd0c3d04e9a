"""What the running conda's version changes in the hooks' advice (each gate read from conda's
source and reproduced on the conda versions named)."""

from __future__ import annotations

import sys

#: conda before this version turns `URL::pkg` into `channel_alias/<last part>::pkg` (#16176)
URL_SPECS_SINCE = (26, 7)
#: from this version the classic solver builds its index with use_cache=False, so an offline
#: solve no longer takes packages from pkgs_dirs (24.3 to 25.5 add every cached package)
OFFLINE_CACHE_SOLVES_UNTIL = (25, 7)
#: from this version conda refuses to change an env holding CEP 22's conda-meta/frozen
FROZEN_ENFORCED_SINCE = (25, 5)


def running_conda_version() -> str:
    """The version of the conda this process runs in ("0" outside conda)."""
    return str(getattr(sys.modules.get("conda"), "__version__", "0"))


def url_specs_supported(conda_version: str) -> bool:
    """Whether this conda keeps a URL channel's identity in `URL::pkg` (26.7.0 and later)."""
    return _release(conda_version) >= URL_SPECS_SINCE


def offline_cache_joins_solve(conda_version: str, solver: str) -> bool:
    """Whether an offline solve takes packages straight from pkgs_dirs: the classic solver of
    conda 24.3 to 25.5 (reproduced on 24.3 and 24.11)."""
    return solver == "classic" and _release(conda_version) < OFFLINE_CACHE_SOLVES_UNTIL


def frozen_enforced_by_conda(conda_version: str) -> bool:
    """Whether this conda refuses install/update/remove into a frozen env itself (25.5+)."""
    return _release(conda_version) >= FROZEN_ENFORCED_SINCE


def _release(conda_version: str) -> tuple[int, ...]:
    parts = []
    for part in conda_version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
