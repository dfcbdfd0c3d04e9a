"""Build a local conda channel of real package archives (and pip wheels) for the tests, offline."""

from __future__ import annotations

import base64
import bz2
import hashlib
import importlib
import io
import json
import platform
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

#: One fixed time for every archive member and repodata entry, so a channel is reproducible.
TIMESTAMP_MS = 1_700_000_000_000
_ZIP_DATE = (2023, 11, 14, 22, 13, 20)  # TIMESTAMP_MS as a zip member date
_FORMATS = (".tar.bz2", ".conda")
_EXECUTABLE_DIRS = ("bin/", "python-scripts/")
# CPython ships this file, so a fresh environment's site-packages directory exists.
_SITE_PACKAGES_README = b"This directory exists so that 3rd party packages can be installed here.\n"


@dataclass(frozen=True)
class Symlink:
    """A package member that is a symbolic link to `target` (paths.json path_type softlink)."""

    target: str


#: What a package member holds: file content, or a symbolic link.
Member = Union[bytes, Symlink]


@dataclass(frozen=True)
class PackageFile:
    """One archive in the channel and its repodata entry (md5, sha256, size, depends, ...)."""

    path: Path
    url: str
    record: Mapping[str, Any] = field(repr=False)

    @property
    def fn(self) -> str:
        return self.path.name

    @property
    def name(self) -> str:
        return str(self.record["name"])

    @property
    def version(self) -> str:
        return str(self.record["version"])

    @property
    def build(self) -> str:
        return str(self.record["build"])

    @property
    def subdir(self) -> str:
        return str(self.record["subdir"])

    @property
    def md5(self) -> str:
        return str(self.record["md5"])

    @property
    def sha256(self) -> str:
        return str(self.record["sha256"])


def host_subdir() -> str:
    """conda's name for this machine's platform: linux-64, linux-aarch64, osx-arm64, ..."""
    system = {"Linux": "linux", "Darwin": "osx", "Windows": "win"}[platform.system()]
    machine = platform.machine().lower()
    arch = {"x86_64": "64", "amd64": "64", "i386": "32", "i686": "32", "x86": "32"}
    return f"{system}-{arch.get(machine, machine)}"


def base_interpreter() -> Path:
    """The real CPython executable behind the running one (a venv's python only links to it)."""
    versioned = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if versioned.exists():
        return versioned
    return Path(getattr(sys, "_base_executable", sys.executable))


def bundled_pip_wheel() -> Path:
    """The pip wheel this Python ships for ensurepip (bundled, or the distro's wheel dir)."""
    import ensurepip

    places = [Path(ensurepip.__file__).parent / "_bundled"]
    distro_dir = sysconfig.get_config_var("WHEEL_PKG_DIR")
    if distro_dir:
        places.append(Path(distro_dir))
    wheels = sorted(wheel for place in places for wheel in place.glob("pip-*-py3-none-any.whl"))
    if not wheels:
        searched = ", ".join(str(place) for place in places)
        raise FileNotFoundError(
            f"no pip wheel for ensurepip in {searched}; run the tests from a Python that has "
            "ensurepip's bundled wheels (the python.org or pyenv builds do)"
        )
    return wheels[-1]


def python_dist_members(
    name: str,
    version: str,
    *,
    module: str | None = None,
    installer: str | None = "conda",
    requires: Sequence[str] = (),
    console_scripts: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """A tiny Python distribution (one module + dist-info), paths relative to site-packages.

    installer=None leaves INSTALLER out, as in a wheel (pip writes its own at install time).
    `requires` become Requires-Dist lines; `console_scripts` maps a script to "module:function".
    """
    module = module or name.replace("-", "_").lower()
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    requires_dist = "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    code = f'__version__ = "{version}"\n'
    if console_scripts:  # scripts point at module:main, which says which Python runs it
        code += "\ndef main():\n    import sys\n\n    print(__version__, sys.executable)\n"
    members = {
        f"{module}/__init__.py": code.encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires_dist}\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: conda-shared-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    if installer is not None:
        members[f"{dist_info}/INSTALLER"] = f"{installer}\n".encode()
    if console_scripts:
        lines = "".join(f"{script} = {target}\n" for script, target in console_scripts.items())
        members[f"{dist_info}/entry_points.txt"] = f"[console_scripts]\n{lines}".encode()
    return _with_record(members, dist_info)


def build_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    module: str | None = None,
    requires: Sequence[str] = (),
    console_scripts: Mapping[str, str] | None = None,
) -> Path:
    """Write a pure-Python wheel that `pip install --no-index` can install offline."""
    members = python_dist_members(
        name,
        version,
        module=module,
        installer=None,
        requires=requires,
        console_scripts=console_scripts,
    )
    wheel = directory / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for member_path, content in sorted(members.items()):
            archive.writestr(zipfile.ZipInfo(member_path, _ZIP_DATE), content)
    return wheel


def _with_record(members: dict[str, bytes], dist_info: str) -> dict[str, bytes]:
    lines = [
        f"{path},sha256={_record_hash(content)},{len(content)}" for path, content in members.items()
    ]
    lines.append(f"{dist_info}/RECORD,,")
    return {**members, f"{dist_info}/RECORD": ("\n".join(lines) + "\n").encode()}


def _record_hash(content: bytes) -> str:
    digest = hashlib.sha256(content).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Channel:
    """A file:// conda channel under `root`: add packages, then `index()` writes repodata.json."""

    def __init__(self, root: Path, *, subdir: str | None = None) -> None:
        self.root = root
        self.subdir = subdir or host_subdir()
        self.packages: list[PackageFile] = []

    @property
    def url(self) -> str:
        return self.root.resolve().as_uri()

    def add(
        self,
        name: str,
        version: str,
        build: str = "0",
        *,
        build_number: int = 0,
        depends: Sequence[str] = (),
        files: Mapping[str, Member] | None = None,
        noarch: str | None = None,
        entry_points: Sequence[str] = (),
        subdir: str | None = None,
        fmt: str = ".tar.bz2",
    ) -> PackageFile:
        """Write one package archive; noarch is None, "generic" or "python" (then entry_points
        like "pip = pip._internal.cli.main:main" become scripts conda writes at link time)."""
        if fmt not in _FORMATS:
            raise ValueError(f"fmt must be one of {_FORMATS}, not {fmt!r}")
        if entry_points and noarch != "python":
            raise ValueError("entry_points need noarch='python' (conda reads them from link.json)")
        subdir = "noarch" if noarch else (subdir or self.subdir)
        index = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": build_number,
            "depends": list(depends),
            "subdir": subdir,
            "timestamp": TIMESTAMP_MS,
            **({"noarch": noarch} if noarch else {}),
        }
        payload = dict(sorted((files or {}).items()))
        info = _info_members(index, payload, entry_points if noarch == "python" else None)
        path = self.root / subdir / f"{name}-{version}-{build}{fmt}"
        if any(package.path == path for package in self.packages):
            raise ValueError(f"{path.name} is already in the channel {self.root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        stem = path.name[: -len(fmt)]
        data = _tar_bz2(info, payload) if fmt == ".tar.bz2" else _conda_zip(stem, info, payload)
        path.write_bytes(data)
        record = {
            **index,
            "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
        package = PackageFile(path=path, url=f"{self.url}/{subdir}/{path.name}", record=record)
        self.packages.append(package)
        return package

    def add_basics(self) -> None:
        """What most test envs are made of: python, pip, tidy-util 1.0 (a noarch python dist,
        module `tidy_util`) and libdata 2.0 (a host-subdir package with one data file)."""
        self.add_python()
        self.add_pip()
        self.add_python_dist("tidy-util", "1.0")
        self.add("libdata", "2.0", files={"share/libdata/data.txt": b"libdata 2.0\n"})

    def add_python(self, build: str = "0") -> PackageFile:
        """A venv-style `python` of the running interpreter's version: pyvenv.cfg whose home is
        the machine's CPython, and bin/python* symlinks to it, so envs get a working Python."""
        interpreter = base_interpreter()
        short = f"{sys.version_info[0]}.{sys.version_info[1]}"
        version = platform.python_version()
        pyvenv = (
            f"home = {interpreter.parent}\n"
            "include-system-site-packages = false\n"
            f"version = {version}\n"
        )
        link = Symlink(str(interpreter))
        return self.add(
            "python",
            version,
            build,
            files={
                "pyvenv.cfg": pyvenv.encode(),
                "bin/python": link,
                "bin/python3": link,
                f"bin/python{short}": link,
                f"lib/python{short}/site-packages/README.txt": _SITE_PACKAGES_README,
            },
        )

    def add_pip(self, wheel: Path | None = None, build: str = "0") -> PackageFile:
        """`pip` as conda-forge packages it: noarch python, the wheel unpacked into
        site-packages, INSTALLER=conda, and bin/pip written by conda from link.json."""
        wheel = wheel or bundled_pip_wheel()
        version = wheel.name.split("-")[1]
        with zipfile.ZipFile(wheel) as archive:
            members = {
                f"site-packages/{info.filename}": archive.read(info)
                for info in archive.infolist()
                if not info.is_dir()
            }
        members[f"site-packages/pip-{version}.dist-info/INSTALLER"] = b"conda\n"
        return self.add(
            "pip",
            version,
            build,
            depends=("python",),
            files=members,
            noarch="python",
            entry_points=(
                "pip = pip._internal.cli.main:main",
                "pip3 = pip._internal.cli.main:main",
            ),
        )

    def add_python_dist(
        self,
        name: str,
        version: str,
        build: str = "0",
        *,
        build_number: int = 0,
        depends: Sequence[str] = ("python",),
        module: str | None = None,
        fmt: str = ".tar.bz2",
    ) -> PackageFile:
        """A noarch python package holding one module and a dist-info with INSTALLER=conda."""
        members = python_dist_members(name, version, module=module)
        return self.add(
            name,
            version,
            build,
            build_number=build_number,
            depends=depends,
            files={f"site-packages/{path}": content for path, content in members.items()},
            noarch="python",
            fmt=fmt,
        )

    def index(self) -> None:
        """Write repodata.json for the host subdir and noarch (both, even when empty)."""
        for subdir in sorted({self.subdir, "noarch", *(p.subdir for p in self.packages)}):
            repodata: dict[str, Any] = {
                "info": {"subdir": subdir},
                "packages": {},
                "packages.conda": {},
                "removed": [],
                "repodata_version": 1,
            }
            for package in self.packages:
                if package.subdir == subdir:
                    key = "packages.conda" if package.fn.endswith(".conda") else "packages"
                    repodata[key][package.fn] = dict(package.record)
            target = self.root / subdir / "repodata.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(repodata, indent=1, sort_keys=True) + "\n")


def _info_members(
    index: Mapping[str, Any], payload: Mapping[str, Member], entry_points: Sequence[str] | None
) -> dict[str, Member]:
    paths = [_path_entry(path, member) for path, member in payload.items()]
    info: dict[str, Member] = {
        "info/index.json": _json_bytes(index),
        "info/paths.json": _json_bytes({"paths": paths, "paths_version": 1}),
        "info/files": "".join(f"{path}\n" for path in payload).encode(),
    }
    if entry_points is not None:
        link = {"noarch": {"type": "python", "entry_points": list(entry_points)}}
        info["info/link.json"] = _json_bytes({**link, "package_metadata_version": 1})
    return info


def _path_entry(path: str, member: Member) -> dict[str, Any]:
    if isinstance(member, Symlink):
        # As conda-build does: a link is described by the content it resolves to.
        content = Path(member.target).read_bytes() if Path(member.target).is_file() else b""
        path_type = "softlink"
    else:
        content, path_type = member, "hardlink"
    return {
        "_path": path,
        "path_type": path_type,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size_in_bytes": len(content),
    }


def _json_bytes(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def _tar_bytes(members: Iterable[tuple[str, Member]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, member in members:
            info = tarfile.TarInfo(path)
            info.mtime = TIMESTAMP_MS // 1000
            if isinstance(member, Symlink):
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, member.target, 0o777
                tar.addfile(info)
            else:
                info.size = len(member)
                info.mode = 0o755 if path.startswith(_EXECUTABLE_DIRS) else 0o644
                tar.addfile(info, io.BytesIO(member))
    return buffer.getvalue()


def _tar_bz2(info: Mapping[str, Member], payload: Mapping[str, Member]) -> bytes:
    return bz2.compress(_tar_bytes([*info.items(), *payload.items()]), compresslevel=5)


def _conda_zip(stem: str, info: Mapping[str, Member], payload: Mapping[str, Member]) -> bytes:
    """The v2 `.conda` format: an uncompressed zip of metadata.json and two .tar.zst parts."""
    try:
        zstd = importlib.import_module("zstandard")
    except ImportError:
        raise RuntimeError(
            "writing .conda archives needs the zstandard module; use fmt='.tar.bz2' or "
            f"install zstandard into {sys.prefix}"
        ) from None
    compressor = zstd.ZstdCompressor(level=3)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        parts = {
            "metadata.json": json.dumps({"conda_pkg_format_version": 2}).encode(),
            f"pkg-{stem}.tar.zst": compressor.compress(_tar_bytes(payload.items())),
            f"info-{stem}.tar.zst": compressor.compress(_tar_bytes(info.items())),
        }
        for name, content in parts.items():
            archive.writestr(zipfile.ZipInfo(name, _ZIP_DATE), content)
    return buffer.getvalue()
