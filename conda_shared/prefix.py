"""Read one environment from disk: conda-meta records of any era, pip distributions, history."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .channels import ChannelRef, resolve_channel, strip_secrets
from .condarc import CondaConfig
from .errors import SharedError
from .history import History, read_history

_NORMALIZE = re.compile(r"[-_.]+")
_DIST_DIR = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)(?:-py\d.*)?\.(?:dist|egg)-info$")
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


@dataclass(frozen=True)
class PipSource:
    """Where a Python distribution was installed from (PEP 610 direct_url.json, egg-link)."""

    kind: str  # index | vcs | archive | local | editable | unknown
    url: str | None = None
    vcs: str | None = None
    commit: str | None = None
    requested_revision: str | None = None


@dataclass(frozen=True)
class PythonDist:
    """One installed Python distribution (dist-info, egg-info or egg-link)."""

    name: str
    normalized: str
    version: str
    installer: str | None
    location: str
    conda_owned: bool
    source: PipSource


@dataclass(frozen=True)
class EnvState:
    """Everything conda-shared knows about one environment, read without running conda."""

    name: str
    path: Path
    records: tuple[PackageRecord, ...]
    dists: tuple[PythonDist, ...]
    history: History
    python_version: str | None
    platform: str | None

    @property
    def pip_dists(self) -> tuple[PythonDist, ...]:
        """Distributions not owned by any conda record: what pip (or uv, ...) put there."""
        return tuple(d for d in self.dists if not d.conda_owned)


def normalize_name(name: str) -> str:
    """PEP 503 normalisation, which also matches most conda names of Python packages."""
    return _NORMALIZE.sub("-", name).lower()


def is_environment(path: Path) -> bool:
    return (path / "conda-meta").is_dir()


def read_env(path: Path, *, name: str, config: CondaConfig, owned_dists: bool = True) -> EnvState:
    """Read an environment; raise SharedError if it is not one or a record is unreadable.

    `owned_dists=False` skips the dist-infos conda records own (most of site-packages): their
    package is already known from its record, and reading them is most of the metadata I/O.
    """
    meta = path / "conda-meta"
    try:
        entries = sorted(os.scandir(meta), key=lambda e: e.name)
    except FileNotFoundError:
        raise SharedError(
            f"{path} is not a conda environment: it has no conda-meta/ directory",
            "Check the name with `conda shared inventory`, or pass the environment's real path",
        ) from None
    except PermissionError:
        raise SharedError(
            f"cannot read {meta}: permission denied",
            "Run the command as a user who can read the environment (for example its owner)",
        ) from None
    except NotADirectoryError:
        raise SharedError(
            f"{meta} is not a directory",
            "Restore the environment's conda-meta/ directory, or exclude it with `= skip`",
        ) from None
    records: list[PackageRecord] = []
    owned: set[str] = set()
    names = {entry.name for entry in entries}
    for entry in entries:
        if not entry.name.endswith(".json") or entry.name.startswith("."):
            continue
        record_path = Path(entry.path)
        data = _load_record(record_path)
        files = data.get("files") or ()
        # conda-build's legacy noarch_python link script lists what it installed here
        legacy = entry.name[: -len(".json")] + ".files"
        if legacy in names:
            files = [*files, *(_read_text(meta / legacy) or "").splitlines()]
        records.append(_record(data, record_path, config))
        _collect_owned_metadata(files, owned)
    records.sort(key=lambda r: r.name)
    python_version = next((r.version for r in records if r.name == "python"), None)
    return EnvState(
        name=name,
        path=path,
        records=tuple(records),
        dists=tuple(_read_dists(path, owned, include_owned=owned_dists)),
        history=read_history(meta / "history"),
        python_version=python_version,
        platform=next((r.subdir for r in records if r.subdir and r.subdir != "noarch"), None),
    )


def _load_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except PermissionError:
        raise SharedError(
            f"cannot read {path}: permission denied",
            "Run the command as a user who can read the environment",
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise SharedError(
            f"{path} is not valid JSON ({error})",
            "Repair or remove that record (conda's own `conda list` will fail on it too)",
        ) from None
    if not isinstance(data, dict) or not data.get("name") or not data.get("version"):
        raise SharedError(
            f"{path} is not a conda package record (no name or version)",
            "Repair or remove that record, then run the command again",
        )
    return data


def _record(data: dict[str, Any], path: Path, config: CondaConfig) -> PackageRecord:
    url = data.get("url") or None
    channel_field = data.get("channel") or data.get("schannel")
    channel = resolve_channel(url, channel_field, config)
    subdir = data.get("subdir") or channel.subdir or _legacy_subdir(data)
    build = str(data.get("build") or data.get("build_string") or "")
    fn = data.get("fn") or (url.rsplit("/", 1)[-1] if url else f"{path.stem}.tar.bz2")
    noarch = data.get("noarch")
    if noarch is True:
        noarch = "generic"
    elif noarch in (False, ""):
        noarch = None
    return PackageRecord(
        name=str(data["name"]),
        version=str(data["version"]),
        build=build,
        build_number=int(data.get("build_number") or 0),
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


def _collect_owned_metadata(files: Any, owned: set[str]) -> None:
    if not isinstance(files, list):
        return
    for item in files:
        path = item if isinstance(item, str) else ""
        # most paths are libraries, headers and modules: one substring test rules them out
        if "-info" not in path and not path.endswith(".egg-link"):
            continue
        for marker in (".dist-info/", ".egg-info/"):
            cut = path.find(marker)
            if cut != -1:
                owned.add(path[: cut + len(marker) - 1])
                break
        else:
            if path.endswith((".egg-info", ".egg-link")):
                owned.add(path)


def site_packages_dirs(prefix: Path) -> list[Path]:
    found = sorted(prefix.glob("lib/python*/site-packages"))
    windows = prefix / "Lib" / "site-packages"
    return [*found, windows] if windows.is_dir() else found


def _read_dists(prefix: Path, owned: set[str], *, include_owned: bool) -> list[PythonDist]:
    dists: list[PythonDist] = []
    for site in site_packages_dirs(prefix):
        try:
            entries = sorted(os.scandir(site), key=lambda e: e.name)
        except OSError:
            continue
        relative_site = site.relative_to(prefix).as_posix()
        for entry in entries:
            location = f"{relative_site}/{entry.name}"
            if not include_owned and location in owned:
                continue
            if entry.name.endswith((".dist-info", ".egg-info")):
                dist = _read_metadata_dir(Path(entry.path), location, location in owned)
            elif entry.name.endswith(".egg-link"):
                dist = _read_egg_link(Path(entry.path), location, location in owned)
            elif entry.name.endswith(".egg") and entry.is_dir():
                dist = _read_egg_dir(Path(entry.path), location, location in owned)
            else:
                continue
            if dist is not None:
                dists.append(dist)
    return dists


def _read_metadata_dir(path: Path, location: str, owned: bool) -> PythonDist | None:
    is_dir = path.is_dir()
    metadata = (
        path / ("METADATA" if path.suffix == ".dist-info" else "PKG-INFO") if is_dir else path
    )
    headers = _metadata_headers(metadata)
    fallback = _DIST_DIR.match(path.name)
    name = headers.get("name") or (fallback.group("name") if fallback else None)
    version = headers.get("version") or (fallback.group("version") if fallback else None)
    if not name or not version:
        return None
    installer = _read_text(path / "INSTALLER") if is_dir else None
    source = _direct_url_source(path / "direct_url.json") if is_dir else None
    if source is None:
        source = PipSource(kind="index" if installer and installer != "conda" else "unknown")
    return _python_dist(
        name, version, installer=installer, location=location, owned=owned, source=source
    )


def _python_dist(
    name: str,
    version: str,
    *,
    installer: str | None,
    location: str,
    owned: bool,
    source: PipSource,
) -> PythonDist:
    return PythonDist(
        name=name,
        normalized=normalize_name(name),
        version=version,
        installer=installer,
        location=location,
        conda_owned=owned,
        source=source,
    )


def _read_egg_dir(path: Path, location: str, owned: bool) -> PythonDist | None:
    """An easy_install egg directory (`setup.py install`): metadata in EGG-INFO/PKG-INFO."""
    headers = _metadata_headers(path / "EGG-INFO" / "PKG-INFO")
    name, version = headers.get("name"), headers.get("version")
    if not name or not version:
        return None
    return _python_dist(
        name, version, installer=None, location=location, owned=owned, source=PipSource("unknown")
    )


def _read_egg_link(path: Path, location: str, owned: bool) -> PythonDist | None:
    target = (_read_text(path) or "").splitlines()
    source_dir = target[0].strip() if target else ""  # the egg base: src/ in a src layout
    egg_infos = sorted(Path(source_dir).glob("*.egg-info")) if source_dir else []
    if source_dir and len(target) > 1 and target[1].strip():
        source_dir = os.path.normpath(os.path.join(source_dir, target[1].strip()))
    headers = _metadata_headers(egg_infos[0] / "PKG-INFO") if egg_infos else {}
    source = PipSource(kind="editable", url=Path(source_dir).as_uri() if source_dir else None)
    return _python_dist(
        headers.get("name") or path.name[: -len(".egg-link")],
        headers.get("version") or "0+unknown",
        installer=None,
        location=location,
        owned=owned,
        source=source,
    )


def _metadata_headers(path: Path) -> dict[str, str]:
    """Name and Version from a METADATA/PKG-INFO header, reading only the header block."""
    headers: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if sep and key.lower() in ("name", "version") and key.lower() not in headers:
                    headers[key.lower()] = value.strip()
                    if len(headers) == 2:
                        break
    except OSError:
        return {}
    return headers


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def _direct_url_source(path: Path) -> PipSource | None:
    raw = _read_text(path)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return PipSource(kind="unknown")
    url = strip_secrets(str(data.get("url", ""))) or None
    if isinstance(data.get("vcs_info"), dict):
        vcs = data["vcs_info"]
        return PipSource(
            kind="vcs",
            url=url,
            vcs=vcs.get("vcs"),
            commit=vcs.get("commit_id"),
            requested_revision=vcs.get("requested_revision"),
        )
    if isinstance(data.get("dir_info"), dict):
        editable = bool(data["dir_info"].get("editable"))
        return PipSource(kind="editable" if editable else "local", url=url)
    if url and url.startswith("file:"):
        return PipSource(kind="local", url=url)
    return PipSource(kind="archive", url=url)
