"""Read .condarc files from disk, without conda, into the few settings conda-shared interprets."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SharedError

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"


@dataclass(frozen=True)
class CondaConfig:
    """The merged channel, directory and plugin settings of a set of condarc files."""

    sources: tuple[Path, ...] = ()
    channels: tuple[str, ...] = ()
    default_channels: tuple[str, ...] = ()
    channel_alias: str = DEFAULT_CHANNEL_ALIAS
    custom_channels: tuple[tuple[str, str], ...] = ()
    envs_dirs: tuple[str, ...] = ()
    pkgs_dirs: tuple[str, ...] = ()
    plugins: tuple[tuple[str, Any], ...] = field(default=())


def installation_condarc_files(prefix: Path) -> list[Path]:
    """The condarc files that belong to an installation (or env) prefix, in conda's order."""
    return _files_at(prefix)


def user_search_path(running_prefix: Path | None) -> list[Path]:
    """conda's condarc search path for the current user, lowest priority first."""
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    places: list[Path] = [Path("/etc/conda"), Path("/var/lib/conda")]
    root = os.environ.get("CONDA_ROOT") or (str(running_prefix) if running_prefix else None)
    if root:
        places.append(Path(root))
    places += [xdg / "conda", home / ".config" / "conda", home / ".conda"]
    files: list[Path] = []
    for place in dict.fromkeys(places):
        files += _files_at(place)
    files.append(home / ".condarc")
    if os.environ.get("CONDA_PREFIX"):
        files += _files_at(Path(os.environ["CONDA_PREFIX"]))
    if os.environ.get("CONDARC"):
        files.append(Path(os.environ["CONDARC"]))
    return list(dict.fromkeys(files))


def _files_at(place: Path) -> list[Path]:
    files = [place / ".condarc", place / "condarc"]
    drop_in = place / "condarc.d"
    if drop_in.is_dir():
        files += sorted(p for p in drop_in.iterdir() if p.suffix in (".yml", ".yaml"))
    return files


def read_config(files: Iterable[Path]) -> CondaConfig:
    """Merge condarc files like conda: later scalars win, sequences concatenate (unique)."""
    sources: list[Path] = []
    channels: list[str] = []
    default_channels: tuple[str, ...] = ()
    alias = DEFAULT_CHANNEL_ALIAS
    custom: dict[str, str] = {}
    envs_dirs: list[str] = []
    pkgs_dirs: list[str] = []
    plugins: dict[str, Any] = {}
    for path in files:
        data = _load(path)
        if data is None:
            continue
        sources.append(path)
        # Higher-priority files' sequences come first, as conda's merge puts them on top.
        channels[:0] = _strings(data.get("channels"))
        envs_dirs[:0] = [_expand(p) for p in _strings(data.get("envs_dirs"))]
        pkgs_dirs[:0] = [_expand(p) for p in _strings(data.get("pkgs_dirs"))]
        if data.get("default_channels"):
            default_channels = tuple(_strings(data["default_channels"]))
        if data.get("channel_alias"):
            alias = str(data["channel_alias"]).rstrip("/")
        if isinstance(data.get("custom_channels"), Mapping):
            custom.update({str(k): str(v).rstrip("/") for k, v in data["custom_channels"].items()})
        if isinstance(data.get("plugins"), Mapping):
            plugins.update({str(k).replace("-", "_"): v for k, v in data["plugins"].items()})
    return CondaConfig(
        sources=tuple(sources),
        channels=tuple(dict.fromkeys(channels)),
        default_channels=default_channels,
        channel_alias=alias,
        custom_channels=tuple(custom.items()),
        envs_dirs=tuple(dict.fromkeys(envs_dirs)),
        pkgs_dirs=tuple(dict.fromkeys(pkgs_dirs)),
        plugins=tuple(plugins.items()),
    )


def _load(path: Path) -> Mapping[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except PermissionError:
        return None  # an unreadable condarc is skipped, as conda does
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        raise SharedError(
            f"{path} is not valid YAML ({str(error).splitlines()[0]})",
            f"Fix or remove {path}, then run the command again",
        ) from None
    return data if isinstance(data, Mapping) else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if item is not None]
    return []


def _expand(path: str) -> str:
    return os.path.expanduser(os.path.expandvars(path))
