"""Python distributions in an env's site-packages: whose they are, and where they came from."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

from ..channels import strip_secrets
from ..errors import SharedError
from .records import json_type

_NORMALIZE = re.compile(r"[-_.]+")
_DIST_DIR = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)(?:-py\d.*)?\.(?:dist|egg)-info$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_EGG = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-py\d[^-]*(?:-.+)?)?\.egg$")


@dataclass(frozen=True)
class PipSource:
    """Where a Python distribution was installed from (PEP 610 direct_url.json, egg-link)."""

    kind: str  # index | vcs | archive | local | editable | unknown
    url: str | None = None
    vcs: str | None = None
    commit: str | None = None
    requested_revision: str | None = None
    problem: str | None = None  # why the provenance is unknown (a direct_url.json gone bad)
    #: the installed archive's hashes (PEP 610 archive_info), hex digests
    sha256: str | None = None
    md5: str | None = None


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


def normalize_name(name: str) -> str:
    """PEP 503 normalisation, which also matches most conda names of Python packages."""
    return _NORMALIZE.sub("-", name).lower()


def site_packages_dirs(prefix: Path) -> list[Path]:
    """Every site-packages of the prefix, whichever Python it belongs to."""
    found = sorted(prefix.glob("lib/python*/site-packages"))
    windows = prefix / "Lib" / "site-packages"
    return [*found, windows] if windows.is_dir() else found


def own_site_packages(
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


def read_dists(
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
    return _one_per_project(dists)


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
    installer = read_text(path / "INSTALLER") if is_dir else None
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
    lines = (read_text(path) or "").splitlines()
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


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def _direct_url_source(path: Path) -> PipSource | None:
    """PEP 610 provenance; a file that is there but unusable makes it unknown, and says why."""
    raw = read_text(path)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return PipSource(kind="unknown", problem=f"{path} is not valid JSON")
    if not isinstance(data, dict):
        return PipSource(
            kind="unknown", problem=f"{path} is a JSON {json_type(data)}, not an object"
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
    digests = _archive_hashes(data.get("archive_info"))
    kind = "local" if url.startswith("file:") else "archive"
    return PipSource(kind=kind, url=url, sha256=digests.get("sha256"), md5=digests.get("md5"))


def _archive_hashes(archive: Any) -> dict[str, str]:
    """PEP 610 `archive_info`: its `hashes` map, or the older single `hash` ("alg=hex")."""
    if not isinstance(archive, dict):
        return {}
    found: dict[str, str] = {}
    legacy = archive.get("hash")
    if isinstance(legacy, str) and "=" in legacy:
        algorithm, _, digest = legacy.partition("=")
        found[algorithm] = digest
    hashes = archive.get("hashes")
    if isinstance(hashes, dict):
        found.update((k, v) for k, v in hashes.items() if isinstance(k, str) and isinstance(v, str))
    return {k.lower(): v.lower() for k, v in found.items() if _HEX.match(v)}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
