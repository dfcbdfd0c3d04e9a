"""Read .condarc files from disk, without conda, into the few settings conda-shared interprets."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SharedError
from .text import decode, quoted

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
    #: files that exist but could not be read (or only with a fallback), one line each
    warnings: tuple[str, ...] = ()


def installation_condarc_files(prefix: Path) -> list[Path]:
    """The condarc files that belong to an installation (or env) prefix, in conda's order."""
    return _files_at(prefix)


def user_home() -> Path | None:
    """The user's home folder, or None when there is none to find (HOME unset and a uid the
    password database does not know): then there is no user condarc to read either."""
    try:
        return Path.home()
    except (RuntimeError, KeyError):
        return None


def user_search_path(running_prefix: Path | None) -> list[Path]:
    """conda's condarc search path for the current user, lowest priority first."""
    home = user_home()
    places: list[Path] = [Path("/etc/conda"), Path("/var/lib/conda")]
    root = os.environ.get("CONDA_ROOT") or (str(running_prefix) if running_prefix else None)
    if root:
        places.append(Path(root))
    xdg = os.environ.get("XDG_CONFIG_HOME") or (home and home / ".config")
    places += [Path(xdg) / "conda"] if xdg else []
    places += [home / ".config" / "conda", home / ".conda"] if home else []
    files: list[Path] = []
    for place in dict.fromkeys(places):
        files += _files_at(place)
    files += [home / ".condarc"] if home else []
    if os.environ.get("CONDA_PREFIX"):
        files += _files_at(Path(os.environ["CONDA_PREFIX"]))
    if os.environ.get("CONDARC"):
        files.append(Path(os.environ["CONDARC"]))
    return list(dict.fromkeys(files))


def _files_at(place: Path) -> list[Path]:
    files = [place / ".condarc", place / "condarc"]
    try:
        # An unreadable condarc.d (or HOME) is reported when its files are read: keep its path.
        drop_in = sorted(os.scandir(place / "condarc.d"), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return files
    except OSError:
        return [*files, place / "condarc.d"]
    return files + [Path(e.path) for e in drop_in if e.name.endswith((".yml", ".yaml"))]


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
    warnings: list[str] = []
    for path in files:
        data, warning = _load(path)
        if warning:
            warnings.append(warning)
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
        warnings=tuple(warnings),
    )


def _load(path: Path) -> tuple[Mapping[str, Any] | None, str | None]:
    """A condarc's settings, and a warning when it exists but could not be read as is."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except OSError as error:
        # conda skips it too, but then its channels and envs_dirs are silently gone: say so.
        return None, f"{path} skipped: {(error.strerror or str(error)).lower()}"
    text, warning = decode(raw, source=path)
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        raise SharedError(
            f"{path} is not valid YAML ({str(error).splitlines()[0]})",
            f"Fix or remove {quoted(path)}, then run the command again",
        ) from None
    return (data if isinstance(data, Mapping) else None), warning


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if item is not None]
    return []


def _expand(path: str) -> str:
    return os.path.expanduser(os.path.expandvars(path))
