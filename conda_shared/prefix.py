"""Read one environment from disk: conda-meta records of any era, pip distributions, history."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

from .channels import ChannelRef, resolve_channel, strip_secrets
from .condarc import CondaConfig
from .errors import SharedError
from .history import History, read_history

_NORMALIZE = re.compile(r"[-_.]+")
_DIST_DIR = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)(?:-py\d.*)?\.(?:dist|egg)-info$")
_EGG = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-py\d[^-]*(?:-.+)?)?\.egg$")
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
    problem: str | None = None  # why the provenance is unknown (a direct_url.json gone bad)


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
    #: lib/pythonX.Y/site-packages of a Python the env no longer has: never read as pip's
    stale_site_packages: tuple[Path, ...] = ()

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
    site_packages_paths: list[str] = []
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
        record = _record(data, record_path, config)
        records.append(record)
        if record.name == "python" and isinstance(data.get("python_site_packages_path"), str):
            site_packages_paths.append(data["python_site_packages_path"])
        _collect_owned_metadata(files, owned)
    records.sort(key=lambda r: r.name)
    python_version = next((r.version for r in records if r.name == "python"), None)
    own, stale = _own_site_packages(path, python_version, site_packages_paths)
    return EnvState(
        name=name,
        path=path,
        records=tuple(records),
        dists=tuple(_one_per_project(_read_dists(path, own, owned, include_owned=owned_dists))),
        history=read_history(meta / "history"),
        python_version=python_version,
        platform=next((r.subdir for r in records if r.subdir and r.subdir != "noarch"), None),
        stale_site_packages=tuple(stale),
    )


def _load_record(path: Path) -> dict[str, Any]:
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
        f"{path} is not a conda package record ({key!r} is a JSON {_json_type(value)})",
        "Repair or remove that record, then run the command again",
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(type(value), "number")


def _record(data: dict[str, Any], path: Path, config: CondaConfig) -> PackageRecord:
    for key in ("name", "version", "build", "build_string", "channel", "schannel", "subdir"):
        _field(data, key, path)
    for key in ("fn", "url", "md5", "sha256", "platform", "arch", "requested_spec"):
        _field(data, key, path)
    depends = _field(data, "depends", path, list) or ()
    if not all(isinstance(d, str) for d in depends):
        raise SharedError(
            f"{path} is not a conda package record ('depends' holds a non-string)",
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


def _collect_owned_metadata(files: Any, owned: set[str]) -> None:
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


def site_packages_dirs(prefix: Path) -> list[Path]:
    """Every site-packages of the prefix, whichever Python it belongs to."""
    found = sorted(prefix.glob("lib/python*/site-packages"))
    windows = prefix / "Lib" / "site-packages"
    return [*found, windows] if windows.is_dir() else found


def _own_site_packages(
    prefix: Path, python_version: str | None, declared: list[str]
) -> tuple[list[Path], list[Path]]:
    """The env's own Python's site-packages, and those an older Python left behind.

    Own: what the python record declares (CEP 17 `python_site_packages_path`), else
    lib/pythonX.Y[t]/site-packages for its version; on Windows Lib/site-packages. Without a
    python record nothing is a Python's own: every lib/python*/site-packages is stale.
    """
    major_minor = ".".join((python_version or "").split(".")[:2])
    expected = {f"lib/python{major_minor}/site-packages", f"lib/python{major_minor}t/site-packages"}
    expected.update(path.strip("/") for path in declared)
    own: list[Path] = []
    stale: list[Path] = []
    for site in site_packages_dirs(prefix):
        relative = site.relative_to(prefix).as_posix()
        if python_version and (relative in expected or relative == "Lib/site-packages"):
            own.append(site)
        else:
            stale.append(site)
    return own, stale


def _read_dists(
    prefix: Path, sites: list[Path], owned: set[str], *, include_owned: bool
) -> list[PythonDist]:
    dists: list[PythonDist] = []
    for site in sites:
        try:
            entries = sorted(os.scandir(site), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise SharedError(
                f"cannot read {site}: {error.strerror or error}",
                "Make that site-packages readable to you (its pip packages are part of the "
                "environment), then run again",
            ) from None
        relative_site = site.relative_to(prefix).as_posix()
        for entry in entries:
            location = f"{relative_site}/{entry.name}"
            if entry.name.startswith("~") or (not include_owned and location in owned):
                continue  # `~name` is what pip leaves of a dist it was removing when it died
            if entry.name.endswith((".dist-info", ".egg-info")):
                dist = _read_metadata_dir(Path(entry.path), location, location in owned)
            elif entry.name.endswith(".egg-link"):
                dist = _read_egg_link(Path(entry.path), location, location in owned)
            elif entry.name.endswith(".egg"):
                dist = _read_egg(Path(entry.path), location, location in owned)
            else:
                continue
            if dist is not None:
                dists.append(dist)
    return dists


def _one_per_project(dists: list[PythonDist]) -> list[PythonDist]:
    """One pip distribution per project: what older pip and easy_install left beside it goes.

    Upgrades that died half-way leave numpy-1.11.1.dist-info beside numpy-1.13.1.dist-info, and
    `setup.py install` an .egg beside the dist-info of a later `pip install`. Python's own
    importlib sees all of them; like pkg_resources (pip <21.3) we take the highest version,
    and at the same version a dist-info over an egg. Conda's own stay apart: their record
    names them.
    """
    chosen: dict[str, PythonDist] = {}
    for dist in dists:
        if dist.conda_owned:
            continue
        best = chosen.get(dist.normalized)
        if best is None or _preference(dist) > _preference(best):
            chosen[dist.normalized] = dist
    return [d for d in dists if d.conda_owned or chosen[d.normalized] is d]


def _preference(dist: PythonDist) -> tuple[list[tuple[float, int | str]], bool]:
    # digits beat letters (1.0 > 1.0rc1) and the end of a version sits between them
    tokens: list[tuple[float, int | str]] = [
        (1, int(part)) if part.isdigit() else (0, part)
        for part in re.findall(r"\d+|[a-z]+", dist.version.lower())
    ]
    return [*tokens, (0.5, "")], dist.location.endswith("-info")


def _read_metadata_dir(path: Path, location: str, owned: bool) -> PythonDist | None:
    is_dir = path.is_dir()
    metadata = (
        path / ("METADATA" if path.suffix == ".dist-info" else "PKG-INFO") if is_dir else path
    )
    headers = _metadata_headers(metadata)
    # the directory's name is name-version by the spec: what pip itself falls back to
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


def _read_egg(path: Path, location: str, owned: bool) -> PythonDist | None:
    """An easy_install egg (`setup.py install`): a directory with EGG-INFO/PKG-INFO, or a zip
    file, which is named NAME-VERSION-pyX.Y[-PLATFORM].egg and read by that name only."""
    headers = _metadata_headers(path / "EGG-INFO" / "PKG-INFO") if path.is_dir() else {}
    fallback = _EGG.match(path.name)
    name = headers.get("name") or (fallback.group("name") if fallback else None)
    version = headers.get("version") or (fallback.group("version") if fallback else None)
    if not name or not version:
        return None
    return _python_dist(
        name, version, installer=None, location=location, owned=owned, source=PipSource("unknown")
    )


def _read_egg_link(path: Path, location: str, owned: bool) -> PythonDist | None:
    """A `setup.py develop` / legacy `pip install -e` link: the project dir, then its egg base.

    setuptools writes an absolute path; a relative one is taken from the link's own directory,
    as site.py reads .pth lines, and a Windows path read elsewhere keeps its drive.
    """
    lines = (_read_text(path) or "").splitlines()
    base = lines[0].strip() if lines else ""
    fallback = path.name[: -len(".egg-link")]
    if not base or "\0" in base:
        problem = f"{path} names no project directory"
        return _python_dist(
            fallback,
            "0+unknown",
            installer=None,
            location=location,
            owned=owned,
            source=PipSource(kind="unknown", problem=problem),
        )
    windows = PureWindowsPath(base)
    if windows.drive and not os.path.isabs(base):
        url = windows.as_uri()
        headers: dict[str, str] = {}
    else:
        egg_base = os.path.normpath(os.path.join(path.parent, base))
        project = egg_base
        if len(lines) > 1 and lines[1].strip():
            project = os.path.normpath(os.path.join(egg_base, lines[1].strip()))
        url = Path(os.path.abspath(project)).as_uri()
        egg_infos = sorted(Path(egg_base).glob("*.egg-info"))
        headers = _metadata_headers(egg_infos[0] / "PKG-INFO") if egg_infos else {}
    return _python_dist(
        headers.get("name") or fallback,
        headers.get("version") or "0+unknown",
        installer=None,
        location=location,
        owned=owned,
        source=PipSource(kind="editable", url=url),
    )


def _metadata_headers(path: Path) -> dict[str, str]:
    """Name and Version from a METADATA/PKG-INFO header, reading only the header block.

    Core metadata is UTF-8; a value that is not (or a file that cannot be read) is left out,
    and the caller falls back to the directory's name.
    """
    headers: dict[str, str] = {}
    try:
        with path.open("rb") as stream:
            for raw in stream:
                if not raw.strip():
                    break
                key, sep, value = raw.partition(b":")
                field = key.strip().lower()
                if sep and field in (b"name", b"version") and field.decode() not in headers:
                    try:
                        headers[field.decode()] = value.decode("utf-8").strip()
                    except UnicodeDecodeError:
                        continue
                    if len(headers) == 2:
                        break
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in headers.items() if value}


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def _direct_url_source(path: Path) -> PipSource | None:
    """PEP 610 provenance; a file that is there but unusable makes it unknown, and says why."""
    raw = _read_text(path)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return PipSource(kind="unknown", problem=f"{path} is not valid JSON")
    if not isinstance(data, dict):
        return PipSource(
            kind="unknown", problem=f"{path} is a JSON {_json_type(data)}, not an object"
        )
    url = data.get("url")
    if not isinstance(url, str) or not url:
        return PipSource(kind="unknown", problem=f"{path} holds no url (PEP 610 needs one)")
    url = strip_secrets(url)
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict):
        return PipSource(
            kind="vcs",
            url=url,
            vcs=_string(vcs.get("vcs")),
            commit=_string(vcs.get("commit_id")),
            requested_revision=_string(vcs.get("requested_revision")),
        )
    directory = data.get("dir_info")
    if isinstance(directory, dict):
        editable = directory.get("editable") is True
        return PipSource(kind="editable" if editable else "local", url=url)
    if url.startswith("file:"):
        return PipSource(kind="local", url=url)
    return PipSource(kind="archive", url=url)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
