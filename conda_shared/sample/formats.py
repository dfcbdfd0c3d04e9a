"""What conda and pip write into an environment, as each conda era writes it: conda-meta records,
history, and dist-info folders. Text only; the sample and benchmarks/generate.py write it.

Eras: "4.3", "4.8", "23", "24" and "26", after the conda release that wrote them (ERA_CONDA).
Digests are stand-ins (of the package URL), since no archive exists behind a written record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: conda version that wrote each era's records and history
ERA_CONDA = {"4.3": "4.3.22", "4.8": "4.8.5", "23": "23.11.0", "24": "24.11.3", "26": "26.7.1"}
#: the era from which conda keeps a record's field order (25.7) and splits requested specs (26.3)
FIELD_ORDER_ERA = "26"

WHEEL = (
    "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.43.0)\nRoot-Is-Purelib: true\n"
    "Tag: py3-none-any\n"
)


class Build(Protocol):
    """What a record says about the package itself, as the channel's repodata has it."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def build(self) -> str: ...
    @property
    def build_number(self) -> int: ...
    @property
    def subdir(self) -> str: ...
    @property
    def fn(self) -> str: ...
    @property
    def depends(self) -> tuple[str, ...]: ...
    @property
    def license(self) -> str: ...
    @property
    def license_family(self) -> str | None: ...
    @property
    def noarch(self) -> str | None: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class HistoryEntry:
    """One command in conda-meta/history, and what it linked and unlinked (dist strings)."""

    date: str  # "2024-12-10 14:02:11"
    conda: str  # the conda executable that ran it
    arguments: str  # what followed it: "create -n x python=3.10"
    linked: tuple[str, ...] = ()
    unlinked: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


def stand_in_digest(text: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def record(
    package: Build,
    *,
    era: str,
    url: str,
    pkgs_dir: str,
    requested: str | None,
    files: Sequence[str],
    paths: Sequence[Mapping[str, object]],
    schannel: str = "",
) -> dict[str, Any]:
    """The conda-meta record of `package` (downloaded from `url`) as `era` writes it; keys in
    conda 26's order (json_text sorts them for the older eras). `schannel`: conda 4.3's
    canonical channel name."""
    channel_url = url.rsplit("/", 1)[0]
    extracted = f"{pkgs_dir}/{package.fn.removesuffix('.tar.bz2').removesuffix('.conda')}"
    if era == "4.3":
        native = package.subdir != "noarch"
        return {
            "arch": "x86_64" if native else None,
            "auth": None,
            "build": package.build,
            "build_number": package.build_number,
            "channel": channel_url,
            "date": "2017-08-01",
            "depends": list(package.depends),
            "files": list(files),
            "fn": package.fn,
            "license": package.license,
            "link": {"source": extracted, "type": 1},
            "md5": stand_in_digest(url, "md5"),
            "name": package.name,
            "noarch": package.noarch,
            "platform": "linux" if native else None,
            "preferred_env": None,
            "priority": 1,
            "requires": [],
            "schannel": schannel,
            "size": package.size,
            "subdir": package.subdir,
            "url": url,
            "version": package.version,
            "with_features_depends": {},
        }
    data: dict[str, Any] = {
        "name": package.name,
        "version": package.version,
        "build": package.build,
        "build_number": package.build_number,
        "channel": channel_url,
        "subdir": package.subdir,
        "fn": package.fn,
        "md5": stand_in_digest(url, "md5"),
        "url": url,
        "sha256": stand_in_digest(url),
        "depends": list(package.depends),
        "constrains": [],
    }
    if package.noarch:
        data["noarch"] = package.noarch
    data["license"] = package.license
    if package.license_family:
        data["license_family"] = package.license_family
    if package.noarch:
        data["package_type"] = f"noarch_{package.noarch}"
    data["timestamp"] = package.timestamp
    data["size"] = package.size
    if era != FIELD_ORDER_ERA:
        data["requested_spec"] = requested or "None"  # conda < 26.3: "None" for dependencies
    elif requested:
        data["requested_spec"] = requested
    else:
        data["_requested_specs"] = []  # 26.3+: a dependency
    data["package_tarball_full_path"] = f"{pkgs_dir}/{package.fn}"
    data["extracted_package_dir"] = extracted
    data["files"] = list(files)
    data["paths_data"] = {"paths_version": 1, "paths": [dict(entry) for entry in paths]}
    data["link"] = {"source": extracted, "type": 1}
    if era == FIELD_ORDER_ERA and requested:
        data["requested_specs"] = [requested]
    return data


def path_entry(
    path: str,
    *,
    path_type: str,
    sha256: str | None = None,
    size: int,
    sha256_in_prefix: str | None = None,
    prefix_placeholder: str | None = None,
) -> dict[str, object]:
    """One `paths_data` entry, keys in the order conda 26 dumps them (older eras sort them)."""
    entry: dict[str, object] = {"_path": path, "path_type": path_type}
    if sha256 is not None:
        entry["sha256"] = sha256
    entry["size_in_bytes"] = size
    if prefix_placeholder is not None:
        entry["file_mode"] = "text"
        entry["prefix_placeholder"] = prefix_placeholder
    if sha256_in_prefix is not None:
        entry["sha256_in_prefix"] = sha256_in_prefix
    return entry


def json_text(data: Mapping[str, Any], era: str) -> str:
    """A record as `era`'s json_dump writes it: indent 2, keys sorted until conda 25.7."""
    return json.dumps(data, indent=2, sort_keys=era != FIELD_ORDER_ERA)


def dist_string(channel: str, package: Build, era: str) -> str:
    """How history names a package: `channel/subdir::name-version-build` (4.3: no subdir)."""
    stem = f"{package.name}-{package.version}-{package.build}"
    return f"{channel}::{stem}" if era == "4.3" else f"{channel}/{package.subdir}::{stem}"


def history_text(entries: Sequence[HistoryEntry], era: str) -> str:
    """conda-meta/history: one block per command (4.3: no version line, comma-joined specs)."""
    blocks = []
    for entry in entries:
        lines = [f"==> {entry.date} <==", f"# cmd: {entry.conda} {entry.arguments}"]
        if era != "4.3":
            lines.append(f"# conda version: {ERA_CONDA[era]}")
        lines += sorted(f"-{dist}" for dist in entry.unlinked)
        lines += sorted(f"+{dist}" for dist in entry.linked)
        if era == "4.3":
            verb = entry.arguments.split()[0]
            if entry.update:
                lines.append(f"# {verb} specs: {','.join(_spec_43(s) for s in entry.update)}")
            if entry.remove:
                lines.append(f"# remove specs: {','.join(entry.remove)}")
        else:
            if entry.remove:
                lines.append(f"# remove specs: {list(entry.remove)}")
            if entry.update:
                lines.append(f"# update specs: {list(entry.update)}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + "\n"


def _spec_43(spec: str) -> str:
    """conda 4.3 wrote `python=3.6` as `python 3.6*`."""
    name, sep, version = spec.partition("=")
    return f"{name} {version}*" if sep and version and "=" not in version else spec


def metadata(name: str, version: str, summary: str = "sample", body: str = "Sample.") -> str:
    """A dist-info METADATA file (core metadata 2.1)."""
    return (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n\n{body}\n"
    )


def dist_info_dir(site: str, name: str, version: str) -> str:
    return f"{site}/{name.replace('-', '_')}-{version}.dist-info"


def dist_info(
    *,
    site: str,
    name: str,
    version: str,
    installer: str,
    metadata_text: str,
    direct_url: Mapping[str, object] | None = None,
    modules: Sequence[str] = (),
) -> dict[str, str]:
    """The files of one installed distribution's dist-info, by path in the prefix.

    installer "pip": what pip leaves (REQUESTED, direct_url.json per PEP 610, an editable
    install's .pth per PEP 660); "conda": what conda-build leaves (INSTALLER without newline).
    `modules`: installed files RECORD lists besides the dist-info's own.
    """
    folder = dist_info_dir(site, name, version)
    files = {
        f"{folder}/METADATA": metadata_text,
        f"{folder}/INSTALLER": "conda" if installer == "conda" else f"{installer}\n",
        f"{folder}/WHEEL": WHEEL,
    }
    if installer == "pip":
        files[f"{folder}/REQUESTED"] = ""
    if direct_url is not None:
        files[f"{folder}/direct_url.json"] = json.dumps(direct_url, sort_keys=True)
        dir_info = direct_url.get("dir_info")
        if isinstance(dir_info, dict) and dir_info.get("editable"):
            source = str(direct_url["url"]).removeprefix("file://")
            files[f"{site}/__editable__.{folder.rsplit('/', 1)[1][:-10]}.pth"] = source + "\n"
    listed = [*files, *modules]
    files[f"{folder}/RECORD"] = record_listing(site, folder, listed)
    return files


def record_listing(site: str, folder: str, paths: Sequence[str]) -> str:
    """A dist-info RECORD: each file relative to site-packages, with hash and size."""
    lines = [
        f"{path[len(site) + 1 :]},sha256={stand_in_digest(path)[:43]},{len(path)}"
        for path in paths
        if not path.endswith("/RECORD")
    ]
    lines.append(f"{folder.rsplit('/', 1)[1]}/RECORD,,")
    return "\n".join(lines) + "\n"
