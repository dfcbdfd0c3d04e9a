"""conda_environment_exporters actions: conda-shared's spec files of conda's target env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SharedError, as_conda_error


def exported_text(env: Any, *, level: str) -> str:
    """The `level` file (manifest or loose) of the env `conda export` was given, read from disk.

    `env` is conda's Environment; only its prefix and platform are used: conda-shared reads
    the env as export does, so `conda export` and `conda shared export` write the same text.
    """
    from ..export import specs_at

    prefix = Path(env.prefix)
    try:
        specs = specs_at(prefix, name=_name(env.name, prefix))
    except (SharedError, OSError) as error:
        raise as_conda_error(error) from None
    installed = specs.platform
    if installed and env.platform and env.platform != installed:
        raise as_conda_error(
            SharedError(
                f"{prefix} is a {installed} environment and conda-shared's formats describe "
                f"it as installed, not for {env.platform}",
                f"Export it without --platform (or with --platform {installed})",
            )
        )
    text: str = getattr(specs, level)
    return text


def _name(name: Any, prefix: Path) -> str:
    """conda names an env outside its envs_dirs by its whole path: the folder's name then."""
    text = str(name or "")
    return text if text and "/" not in text else prefix.name
