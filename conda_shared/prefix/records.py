"""conda-meta/*.json records of every conda era, checked field by field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..channels import ChannelRef, resolve_channel, strip_secrets
from ..condarc import CondaConfig
from ..errors import SharedError

_PLATFORM_SUBDIR = {
    ("linux", "x86_64"): "linux-64",
    ("linux", "x86"): "linux-32",
    ("linux", "aarch64"): "linux-aarch64",
    ("linux", "ppc64le"): "linux-ppc64le",
    ("osx", "x86_64"): "osx-64",
    ("osx", "arm64"): "osx-arm64",
    ("win", "x86_64"): "win-64",
    ("win", "x86"): "win-32",
}


@dataclass(frozen=True)
class PackageRecord:
    """One conda-meta/*.json record, normalised across conda eras."""

    name: str
    version: str
    build: str
    build_number: int
    channel: ChannelRef
    subdir: str | None
    fn: str
    url: str | None
    md5: str | None
    sha256: str | None
    noarch: str | None
    legacy_noarch: bool
    requested_spec: str | None
    depends: tuple[str, ...]
    private: bool  # came through a token-protected URL
    constrains: tuple[str, ...] = ()  # applies only if the named package is installed too


def load_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except PermissionError:
        raise SharedError(
            f"cannot read {path}: permission denied",
            "Run the command as a user who can read the environment",
        ) from None
    except OSError as error:
        raise SharedError(
            f"cannot read {path}: {error.strerror or error}",
            "Restore that record from a backup or remove it, then run the command again",
        ) from None
    except RecursionError:
        raise SharedError(
            f"{path} is not valid JSON (nested too deeply)",
            "Repair or remove that record (conda's own `conda list` will fail on it too)",
        ) from None
    except ValueError as error:  # UnicodeDecodeError is one
        raise SharedError(
            f"{path} is not valid JSON ({error})",
            "Repair or remove that record (conda's own `conda list` will fail on it too)",
        ) from None
    if not isinstance(data, dict):
        raise SharedError(
            f"{path} is not a conda package record (a JSON {type(data).__name__}, not an object)",
            "Repair or remove that record, then run the command again",
        )
    if not data.get("name") or not data.get("version"):
        raise SharedError(
            f"{path} is not a conda package record (no name or version)",
            "Repair or remove that record, then run the command again",
        )
    return data


def _field(data: dict[str, Any], key: str, path: Path, kind: type | tuple[type, ...] = str) -> Any:
    """`data[key]` if it is missing, null or of the type conda writes; else the record is bad."""
    value = data.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise SharedError(
        f"{path} is not a conda package record ({key!r} is a JSON {json_type(value)})",
        "Repair or remove that record, then run the command again",
    )


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(type(value), "number")


def package_record(data: dict[str, Any], path: Path, config: CondaConfig) -> PackageRecord:
    for key in ("name", "version", "build", "build_string", "channel", "schannel", "subdir"):
        _field(data, key, path)
    for key in ("fn", "url", "md5", "sha256", "platform", "arch", "requested_spec"):
        _field(data, key, path)
    for key in ("depends", "constrains"):
        listed = _field(data, key, path, list) or ()
        if not all(isinstance(d, str) for d in listed):
            raise SharedError(
                f"{path} is not a conda package record ({key!r} holds a non-string)",
                "Repair or remove that record, then run the command again",
            )
    url = data.get("url") or None
    channel_field = data.get("channel") or data.get("schannel")
    channel = resolve_channel(url, channel_field, config)
    subdir = data.get("subdir") or channel.subdir or _legacy_subdir(data)
    build = str(data.get("build") or data.get("build_string") or "")
    fn = data.get("fn") or (url.rsplit("/", 1)[-1] if url else f"{path.stem}.tar.bz2")
    noarch = _field(data, "noarch", path, (str, bool, dict))
    if isinstance(noarch, dict):  # conda-build 2's index.json spelled it {"type": "python"}
        noarch = noarch.get("type") if isinstance(noarch.get("type"), str) else None
    if noarch is True:
        noarch = "generic"
    elif noarch in (False, ""):
        noarch = None
    return PackageRecord(
        name=str(data["name"]),
        version=str(data["version"]),
        build=build,
        build_number=_build_number(data.get("build_number"), path),
        channel=channel,
        subdir=subdir,
        fn=str(fn),
        url=strip_secrets(url) if url else None,
        md5=data.get("md5") or None,
        sha256=data.get("sha256") or None,
        noarch=str(noarch) if noarch else None,
        # conda-build's old `noarch_python: True` packages: in the noarch subdir, but without a
        # noarch type (every noarch package built since says python or generic)
        legacy_noarch=subdir == "noarch" and not noarch,
        requested_spec=_requested_spec(data),
        depends=tuple(str(d) for d in data.get("depends") or ()),
        private="/t/" in (url or channel_field or ""),
        constrains=tuple(str(c) for c in data.get("constrains") or ()),
    )


def _build_number(value: Any, path: Path) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise SharedError(
        f"{path} is not a conda package record ('build_number' is {value!r}, not a number)",
        "Repair or remove that record, then run the command again",
    )


def _requested_spec(data: dict[str, Any]) -> str | None:
    """conda <26.3 writes the string "None" for dependencies; 26.3+ omits the key for them."""
    spec = data.get("requested_spec")
    return str(spec) if spec and spec != "None" else None


def _legacy_subdir(data: dict[str, Any]) -> str | None:
    """conda 4.3-era records carry platform/arch instead of subdir."""
    platform, arch = data.get("platform"), data.get("arch")
    if platform and arch:
        return _PLATFORM_SUBDIR.get((str(platform), str(arch)))
    return None


def collect_owned_metadata(files: Any, owned: set[str]) -> None:
    if not isinstance(files, list):
        return
    for item in files:
        path = item if isinstance(item, str) else ""
        # most paths are libraries, headers and modules: two substring tests rule them out
        if "-info" not in path and ".egg" not in path:
            continue
        # an .egg directory (EGG-INFO inside) that a conda package shipped is the package's
        for marker in (".dist-info/", ".egg-info/", ".egg/"):
            cut = path.find(marker)
            if cut != -1:
                owned.add(path[: cut + len(marker) - 1])
                break
        else:
            if path.endswith((".egg-info", ".egg-link", ".egg")):
                owned.add(path)
