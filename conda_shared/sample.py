"""Write a realistic sample shared root: two installations, a dozen environments, every seed case.

Records, history and dist-info are written the way each conda era wrote them (4.3, 4.8, 23.x,
24.x, 26.x), so every reader and verb can be tried on a fresh machine without conda.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import audit, fs
from .errors import InputError
from .prefix import normalize_name

MAIN = "https://repo.anaconda.com/pkgs/main"
R_CHANNEL = "https://repo.anaconda.com/pkgs/r"
FREE = "https://repo.continuum.io/pkgs/free"
FORGE = "https://conda.anaconda.org/conda-forge"
USGS = "https://conda.anaconda.org/usgs-astrogeology"
PRIVATE = "https://conda.anaconda.org/t/tk-1234-abcd-5678/isrdi-private"
MIRROR = "https://conda-mirror.example.org/conda-forge"
SUBDIR = "linux-64"

_SYMLINK = "@symlink:"  # marks a file of a sample package that conda links as a symlink

#: conda version that wrote each era's records and history
ERA_CONDA = {"4.3": "4.3.22", "4.8": "4.8.5", "23": "23.11.0", "24": "24.11.3", "26": "26.7.1"}


@dataclass(frozen=True)
class Package:
    """A package as a channel serves it, plus what it installs."""

    name: str
    version: str
    build: str
    channel: str
    subdir: str = SUBDIR
    depends: tuple[str, ...] = ()
    python_dist: str | None = None  # the Python distribution name it ships, if any
    noarch: str | None = None
    legacy_noarch: bool = False

    @property
    def fn(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.tar.bz2"

    @property
    def url(self) -> str:
        return f"{self.channel}/{self.subdir}/{self.fn}"


@dataclass(frozen=True)
class Request:
    """One conda command in an environment's history."""

    date: str
    command: str
    update: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    link: tuple[Package, ...] = ()
    unlink: tuple[Package, ...] = ()


@dataclass(frozen=True)
class PipInstall:
    """A distribution pip put into the environment, and how (PEP 610)."""

    name: str
    version: str
    direct_url: dict[str, object] | None = None
    installer: str = "pip"
    egg_link: str | None = None  # legacy `setup.py develop`: the source directory


@dataclass(frozen=True)
class SampleEnv:
    """One environment of the sample and the story its files tell."""

    name: str
    era: str
    python: str | None
    packages: tuple[Package, ...]
    requests: tuple[Request, ...]
    pip: tuple[PipInstall, ...] = ()
    envs_dir: str = "envs"


@dataclass(frozen=True)
class SampleRoot:
    """What `conda shared sample` wrote."""

    root: Path
    installations: tuple[str, ...]
    environments: tuple[str, ...]
    kernels: tuple[str, ...]
    pointers: tuple[tuple[str, str], ...] = field(default=())


def _py(version: str, channel: str = FORGE, build: str = "h0_cpython") -> Package:
    return Package("python", version, build, channel)


def _pylib(name: str, version: str, channel: str = FORGE, *, noarch: bool = False) -> Package:
    build = "pyhd8ed1ab_0" if noarch else "py_0"
    return Package(
        name,
        version,
        build,
        channel,
        subdir="noarch" if noarch else SUBDIR,
        python_dist=name.replace("-", "_"),
        noarch="python" if noarch else None,
    )


def _lib(name: str, version: str, channel: str = FORGE, build: str = "h0_0") -> Package:
    return Package(name, version, build, channel)


def _vcs(url: str, commit: str, revision: str | None = None) -> dict[str, object]:
    info: dict[str, object] = {"vcs": "git", "commit_id": commit}
    if revision:
        info["requested_revision"] = revision
    return {"url": url, "vcs_info": info}


def sample_environments() -> tuple[SampleEnv, ...]:
    """The environments of the current installation, one per situation the seeds describe."""
    cmd = "ROOT/v24.11/bin/conda"
    return (
        SampleEnv(
            "isis3.6.0",
            "4.8",
            "3.6",
            (
                _py("3.6.13", build="hffdb5ce_0_cpython"),
                _lib("isis", "3.6.0", USGS, "0"),
                _pylib("numpy", "1.16.4"),
                _lib("openssl", "1.1.1k", build="h7f98852_0"),
                _lib("libgcc-ng", "9.3.0", build="h2828fa1_19"),
            ),
            (
                Request(
                    "2019-03-05 10:12:44",
                    f"{cmd} create -n isis3.6.0 -c usgs-astrogeology -c conda-forge isis=3.6.0 "
                    "python=3.6",
                    update=("isis=3.6.0", "python=3.6"),
                ),
            ),
        ),
        SampleEnv(
            "isis4.3.0",
            "23",
            "3.8",
            (
                _py("3.8.18", build="hd12c33a_0_cpython"),
                _lib("isis", "4.3.0", USGS, "0"),
                _pylib("numpy", "1.24.4"),
                _lib("libgcc-ng", "13.2.0", build="h807b86a_3"),
            ),
            (
                Request(
                    "2023-12-01 09:30:00",
                    f"{cmd} create -n isis4.3.0 usgs-astrogeology::isis=4.3.0 python=3.8",
                    update=("usgs-astrogeology::isis=4.3.0", "python=3.8"),
                ),
            ),
        ),
        SampleEnv(
            "nhis_reformat",
            "24",
            "3.9",
            (
                _py("3.9.20", MAIN, "he870216_1"),
                _pylib("numpy", "1.26.4", MAIN),
                _pylib("pandas", "1.5.3", MAIN),
                _pylib("pip", "24.2", MAIN, noarch=True),
            ),
            (
                Request(
                    "2024-12-10 14:02:11",
                    f"{cmd} create -n nhis_reformat python=3.9 pandas=1.5 pip",
                    update=("python=3.9", "pandas=1.5", "pip"),
                ),
            ),
            pip=(PipInstall("pyreadstat", "1.2.7"), PipInstall("tqdm", "4.66.1")),
        ),
        SampleEnv(
            "gitdev",
            "24",
            "3.11",
            (_py("3.11.10", build="hc5c86c4_3_cpython"), _pylib("pip", "24.2", noarch=True)),
            (
                Request(
                    "2025-01-15 11:20:00",
                    f"{cmd} create -n gitdev python=3.11 pip",
                    update=("python=3.11", "pip"),
                ),
            ),
            pip=(
                PipInstall(
                    "ipumspy",
                    "0.5.1",
                    _vcs(
                        "https://github.com/ipums/ipumspy.git",
                        "3f1c2e9a7b5d4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
                        "main",
                    ),
                ),
            ),
        ),
        SampleEnv(
            "editable_dev",
            "24",
            "3.11",
            (_py("3.11.10", build="hc5c86c4_3_cpython"), _pylib("pip", "24.2", noarch=True)),
            (
                Request(
                    "2025-02-03 16:45:10",
                    f"{cmd} create -n editable_dev python=3.11 pip",
                    update=("python=3.11", "pip"),
                ),
            ),
            pip=(
                PipInstall(
                    "hhtool",
                    "0.3.dev0",
                    {"url": "file:///home/alice/src/hhtool", "dir_info": {"editable": True}},
                ),
                PipInstall("census-utils", "1.1", egg_link="/home/bob/src/census_utils"),
            ),
        ),
        SampleEnv(
            "mixed_numpy",
            "24",
            "3.10",
            (
                _py("3.10.14", build="hd12c33a_0_cpython"),
                _pylib("numpy", "1.21.5"),
                _pylib("pip", "24.2", noarch=True),
            ),
            (
                Request(
                    "2024-06-11 08:00:00",
                    f"{cmd} create -n mixed_numpy python=3.10 numpy=1.21 pip",
                    update=("python=3.10", "numpy=1.21", "pip"),
                ),
            ),
            pip=(PipInstall("numpy", "1.24.0"),),
        ),
        SampleEnv(
            "legacy_mpc",
            "4.8",
            "3.7",
            (
                _py("3.7.12", build="hb7a2778_100_cpython"),
                Package(
                    "mpctools",
                    "1.2",
                    "py_0",
                    "file://ROOT/mpc",
                    subdir="noarch",
                    python_dist="mpctools",
                    legacy_noarch=True,
                ),
                _pylib("pip", "21.0.1", noarch=True),
            ),
            (
                Request(
                    "2020-10-19 13:14:15",
                    f"{cmd} create -n legacy_mpc -c file://ROOT/mpc python=3.7 mpctools pip",
                    update=("python=3.7", "mpctools", "pip"),
                ),
            ),
            pip=(PipInstall("ipums-core", "2.0", installer="conda"),),
        ),
        SampleEnv(
            "with_removals",
            "24",
            "3.10",
            (
                _py("3.10.14", build="hd12c33a_0_cpython"),
                _pylib("numpy", "1.26.4"),
                _pylib("pandas", "2.2.2"),
            ),
            (
                Request(
                    "2024-03-01 10:00:00",
                    f"{cmd} create -n with_removals python=3.10 numpy scipy",
                    update=("python=3.10", "numpy", "scipy"),
                ),
                Request(
                    "2024-04-02 11:00:00",
                    f"{cmd} remove -n with_removals scipy",
                    remove=("scipy",),
                    unlink=(_pylib("scipy", "1.12.0"),),
                ),
                Request(
                    "2024-05-03 12:00:00",
                    f"{cmd} install -n with_removals pandas=2.2",
                    update=("pandas=2.2",),
                    link=(_pylib("pandas", "2.2.2"),),
                ),
            ),
        ),
        SampleEnv(
            "super_important_jupyter_kernel",
            "24",
            "3.11",
            (
                _py("3.11.10", build="hc5c86c4_3_cpython"),
                _pylib("ipykernel", "6.29.5", noarch=True),
                _pylib("jupyter_client", "8.6.3", noarch=True),
            ),
            (
                Request(
                    "2024-11-20 15:00:00",
                    f"{cmd} create -n super_important_jupyter_kernel python=3.11 ipykernel",
                    update=("python=3.11", "ipykernel"),
                ),
            ),
        ),
        SampleEnv(
            "old_not_used",
            "4.3",
            "3.6",
            (_py("3.6.2", FREE, "0"), _pylib("numpy", "1.13.1", FREE)),
            (
                Request(
                    "2017-08-30 09:00:00",
                    "ROOT/v24.11/bin/conda create -n old_not_used python=3.6 numpy",
                    update=("python=3.6", "numpy"),
                ),
            ),
        ),
        SampleEnv(
            "r_env",
            "24",
            None,
            (_lib("r-base", "4.2.0", R_CHANNEL, "h1ae530e_0"), _lib("r-dplyr", "1.0.9", R_CHANNEL)),
            (
                Request(
                    "2024-09-09 09:09:09",
                    f"{cmd} create -n r_env r-base=4.2 r-dplyr",
                    update=("r-base=4.2", "r-dplyr"),
                ),
            ),
        ),
        SampleEnv(
            "mirror_env",
            "24",
            "3.12",
            (
                _py("3.12.7", MIRROR, "hc5c86c4_0_cpython"),
                _pylib("requests", "2.32.3", MIRROR, noarch=True),
                _pylib("ipums-auth", "0.9", PRIVATE, noarch=True),
            ),
            (
                Request(
                    "2025-03-03 10:10:10",
                    f"{cmd} create -n mirror_env python=3.12 requests isrdi-private::ipums-auth",
                    update=("python=3.12", "requests", "isrdi-private::ipums-auth"),
                ),
            ),
        ),
        SampleEnv(
            "proj_alpha",
            "24",
            "3.12",
            (_py("3.12.7", build="hc5c86c4_0_cpython"), _pylib("polars", "1.12.0")),
            (
                Request(
                    "2025-04-01 08:30:00",
                    f"{cmd} create -p ROOT/project-envs/proj_alpha python=3.12 polars",
                    update=("python=3.12", "polars"),
                ),
            ),
            envs_dir="../project-envs",
        ),
    )


def _qa_environments() -> tuple[SampleEnv, ...]:
    return (
        SampleEnv(
            "smoke",
            "26",
            "3.13",
            (
                _py("3.13.9", build="h2b335a9_100_cp313"),
                _pylib("pip", "25.3", noarch=True),
                _pylib("packaging", "25.0", noarch=True),
            ),
            (
                Request(
                    "2026-11-01 09:00:00",
                    "ROOT/v26.7/bin/conda create -n smoke python=3.13 pip",
                    update=("python=3.13", "pip"),
                ),
            ),
        ),
    )


def _base_packages(conda_version: str, python: str, *, with_plugin: bool) -> tuple[Package, ...]:
    packages = [
        _py(python, build="h9ebbce0_0_cpython"),
        Package("conda", conda_version, "py312h7900ff3_0", FORGE),
        _pylib("pluggy", "1.5.0", noarch=True),
        _pylib("ruamel.yaml", "0.18.6"),
        _pylib("pip", "24.3.1", noarch=True),
        _lib("openssl", "3.4.0", build="hb9d3cd8_0"),
    ]
    if with_plugin:
        packages.append(_pylib("conda-shared", "0.1.0", noarch=True))
    return tuple(packages)


def build_sample(*, destination: Path, progress: Callable[[str], None] | None = None) -> SampleRoot:
    """Write the sample root at `destination`, which must not exist or be empty."""
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise InputError(
            f"{destination} already exists and is not empty",
            "Choose a new directory for the sample, e.g. `conda shared sample /tmp/shared-demo`",
        )
    if destination.exists():
        destination.rmdir()
    final = destination.expanduser().absolute()
    work = fs.private_dir_beside(final)
    try:
        result = _write_sample(work, final, progress or (lambda _message: None))
        fs.publish_dir(work, final)
    except BaseException:
        fs.remove_tree(work)
        raise
    audit.record(
        final / "log" / "shared.log",
        command=f"sample {final}",
        result=f"ok: {len(result.environments)} environments",
    )
    return result


def _write_sample(work: Path, final: Path, progress: Callable[[str], None]) -> SampleRoot:
    writer = _Writer(work=work, final=final)
    current = writer.installation("v24.11", "24.11.3", "3.12.7", with_plugin=True)
    qa = writer.installation("v26.7", "26.7.1", "3.13.9", with_plugin=False)
    fs.write_file(
        current / ".condarc",
        "channels:\n  - defaults\n  - conda-forge\n"
        "channel_alias: https://conda.anaconda.org\n"
        f"envs_dirs:\n  - {final}/v24.11/envs\n  - {final}/project-envs\n",
    )
    fs.write_file(qa / ".condarc", "channels:\n  - conda-forge\n")
    names = []
    for env in sample_environments():
        progress(f"writing v24.11 env {env.name}")
        writer.environment(current, env, installation="v24.11")
        names.append(env.name)
    for env in _qa_environments():
        writer.environment(qa, env, installation="v26.7")
        names.append(f"v26.7/{env.name}")
    writer.channel_dir()
    fs.make_symlink(work / "current", "v24.11")
    fs.make_symlink(work / "qa", "v26.7")
    fs.make_symlink(work / "envs", "current/envs")
    kernels = writer.kernels()
    return SampleRoot(
        root=final,
        installations=("v24.11", "v26.7"),
        environments=tuple(names),
        kernels=kernels,
        pointers=(("current", "v24.11"), ("qa", "v26.7"), ("envs", "current/envs")),
    )


@dataclass
class _Writer:
    """Writes installations and environments into `work`, with paths as they will be at `final`."""

    work: Path
    final: Path

    def _final(self, path: Path) -> str:
        return str(self.final / path.relative_to(self.work))

    def _text(self, value: str) -> str:
        return value.replace("ROOT", str(self.final))

    def installation(self, name: str, conda: str, python: str, *, with_plugin: bool) -> Path:
        path = self.work / name
        era = "26" if conda.startswith("26") else "24"
        base = SampleEnv(
            "base",
            era,
            python.rsplit(".", 1)[0],
            _base_packages(conda, python, with_plugin=with_plugin),
            (
                Request(
                    "2024-12-02 08:00:00",
                    f"ROOT/{name}/bin/conda install conda={conda}",
                    update=(f"conda={conda}",),
                ),
            ),
        )
        self._prefix(path, base, installation=name)
        fs.write_file(path / "bin" / "conda", "#!/bin/sh\n# sample: not a runnable conda\nexit 1\n")
        fs.make_dirs(path / "envs")
        fs.make_dirs(path / "pkgs")
        return path

    def environment(self, home: Path, env: SampleEnv, *, installation: str) -> None:
        prefix = (home / env.envs_dir / env.name).resolve()
        self._prefix(prefix, env, installation=installation)

    def _prefix(self, prefix: Path, env: SampleEnv, *, installation: str) -> None:
        meta = prefix / "conda-meta"
        fs.make_dirs(meta)
        pkgs_dir = self.final / installation / "pkgs"
        # pip uninstalls the files of a conda package it reinstalls; conda-meta still lists them.
        replaced_by_pip = {normalize_name(p.name) for p in env.pip}
        for package in env.packages:
            files = _package_files(package, env.python)
            for relative, content in files.items():
                if normalize_name(package.name) in replaced_by_pip and ".dist-info/" in relative:
                    continue
                if content.startswith(_SYMLINK):
                    fs.make_symlink(prefix / relative, content[len(_SYMLINK) :])
                else:
                    fs.write_file(prefix / relative, content)
            requested = next((s for s in _all_specs(env) if _name(s) == package.name), None)
            record = _record(package, files, env.era, pkgs_dir, requested)
            stem = f"{package.name}-{package.version}-{package.build}"
            # conda 23.x and older sort the keys of every record; 25.7+ writes field order.
            text = json.dumps(record, indent=2, sort_keys=env.era != "26")
            fs.write_file(meta / f"{stem}.json", text)
            if package.legacy_noarch:  # conda-build's noarch_python link script lists its files
                fs.write_file(meta / f"{stem}.files", "\n".join(files) + "\n")
        fs.write_file(meta / "history", self._text(_history(env)))
        if env.era == "26":  # str(POSIX timestamp), read back with float()
            fs.write_file(meta / "created_at", str(_timestamp(env.requests[0].date)))
        for pip in env.pip:
            self._pip(prefix, env.python or "3", pip)

    def _pip(self, prefix: Path, python: str, pip: PipInstall) -> None:
        site = prefix / "lib" / f"python{python}" / "site-packages"
        if pip.egg_link:  # `setup.py develop`: an egg-link and a line in easy-install.pth
            fs.write_file(site / f"{pip.name}.egg-link", f"{pip.egg_link}\n.")
            fs.write_file(site / "easy-install.pth", f"{pip.egg_link}\n")
            return
        dist = site / f"{pip.name.replace('-', '_')}-{pip.version}.dist-info"
        fs.write_file(dist / "METADATA", _metadata(pip.name, pip.version))
        fs.write_file(dist / "INSTALLER", f"{pip.installer}\n")
        fs.write_file(dist / "RECORD", f"{dist.name}/METADATA,,\n")
        if pip.installer == "pip":
            fs.write_file(dist / "REQUESTED", "")
        if pip.direct_url is not None:
            fs.write_file(dist / "direct_url.json", json.dumps(pip.direct_url, sort_keys=True))
            if pip.direct_url.get("dir_info") == {"editable": True}:  # PEP 660
                source = str(pip.direct_url["url"]).removeprefix("file://")
                fs.write_file(site / f"__editable__.{dist.name[:-10]}.pth", f"{source}\n")
                return
        module = pip.name.replace("-", "_")
        fs.write_file(site / module / "__init__.py", f'__version__ = "{pip.version}"\n')

    def channel_dir(self) -> None:
        """ROOT/mpc: the site's own channel, as ISRDI kept it beside the installations."""
        repodata = {
            "info": {"subdir": "noarch"},
            "packages": {
                "mpctools-1.2-py_0.tar.bz2": {
                    "name": "mpctools",
                    "version": "1.2",
                    "build": "py_0",
                    "build_number": 0,
                    "depends": ["python"],
                    "subdir": "noarch",
                }
            },
        }
        fs.write_file(self.work / "mpc" / "noarch" / "repodata.json", json.dumps(repodata))

    def kernels(self) -> tuple[str, ...]:
        specs = {
            "super_important_jupyter_kernel": "super_important_jupyter_kernel",
            "retired_kernel": "retired_env",  # points at an env removed long ago
        }
        for kernel, env in specs.items():
            python = self.final / "current" / "envs" / env / "bin" / "python"
            spec = {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": kernel.replace("_", " "),
                "language": "python",
            }
            fs.write_file(
                self.work / "kernels" / kernel / "kernel.json", json.dumps(spec, indent=1)
            )
        return tuple(specs)


def _all_specs(env: SampleEnv) -> Iterable[str]:
    for request in env.requests:
        yield from request.update


def _name(spec: str) -> str:
    from .history import spec_name

    return spec_name(spec)


def _fake_digest(text: str, algorithm: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def _metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: sample\n\nSample.\n"


def _timestamp(date: str) -> float:
    from datetime import datetime, timezone

    moment = datetime.strptime(date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _package_files(package: Package, python: str | None) -> dict[str, str]:
    if package.name == "python":
        short = ".".join(package.version.split(".")[:2])
        return {
            f"bin/python{short}": "#!/bin/sh\n# sample interpreter\n",
            "bin/python": f"{_SYMLINK}python{short}",
            "bin/python3": f"{_SYMLINK}python{short}",
            f"lib/python{short}/os.py": "# sample stdlib\n",
        }
    if package.python_dist and python:
        site = f"lib/python{python}/site-packages"
        module = package.python_dist.replace(".", "_").lower()
        if package.legacy_noarch:  # setuptools-built: an egg-info, no INSTALLER
            egg = f"{site}/{package.python_dist}-{package.version}-py{python}.egg-info"
            return {
                f"{site}/{module}/__init__.py": f'__version__ = "{package.version}"\n',
                f"{egg}/PKG-INFO": _metadata(package.name, package.version),
            }
        dist = f"{site}/{package.python_dist}-{package.version}.dist-info"
        return {
            f"{site}/{module}/__init__.py": f'__version__ = "{package.version}"\n',
            f"{dist}/METADATA": _metadata(package.name, package.version),
            f"{dist}/INSTALLER": "conda",
        }
    return {f"share/{package.name}/README": f"{package.name} {package.version}\n"}


def _paths_data(package: Package, files: dict[str, str], era: str) -> dict[str, object]:
    paths: list[dict[str, object]] = []
    for relative, content in files.items():
        # noarch: python files keep their in-package path here; `files` has the target path.
        in_package = (
            "site-packages/" + relative.split("/site-packages/", 1)[1]
            if package.noarch == "python" and "/site-packages/" in relative
            else relative
        )
        if content.startswith(_SYMLINK):
            target = files.get(str(Path(relative).parent / content[len(_SYMLINK) :]), "")
            paths.append(
                {
                    "_path": in_package,
                    "path_type": "softlink",
                    "sha256": hashlib.sha256(target.encode()).hexdigest(),
                    "size_in_bytes": len(target.encode()),
                }
            )
            continue
        digest = hashlib.sha256(content.encode()).hexdigest()
        paths.append(
            {
                "_path": in_package,
                "path_type": "hardlink",
                "sha256": digest,
                "sha256_in_prefix": digest,
                "size_in_bytes": len(content.encode()),
            }
        )
    return {"paths_version": 1, "paths": paths}


def _canonical(channel: str) -> str:
    """The channel's canonical name, as records and history name it (tokens never)."""
    from .channels import spec_channel
    from .condarc import CondaConfig

    if channel.rstrip("/").endswith(("/pkgs/free", "/pkgs/pro")):
        return "defaults"  # the sample's free/pro packages come from conda < 4.7, whose defaults
    return spec_channel(channel, CondaConfig())


def _record(
    package: Package, files: dict[str, str], era: str, pkgs_dir: Path, requested: str | None
) -> dict[str, object]:
    url = package.url.replace("file://ROOT", f"file://{pkgs_dir.parent.parent}")
    if era in ("24", "26"):  # conda 24.7+ masks anaconda.org tokens in the recorded URL
        url = re.sub(r"/t/[^/]+/", "/t/<TOKEN>/", url)
    channel_url = url.rsplit("/", 1)[0]
    extracted = str(pkgs_dir / package.fn[: -len(".tar.bz2")])
    md5 = _fake_digest(url, "md5")
    noarch = None if package.legacy_noarch else package.noarch
    if era == "4.3":
        native = package.subdir != "noarch"
        return {
            "arch": "x86_64" if native else None,
            "auth": None,
            "build": package.build,
            "build_number": 0,
            "channel": channel_url,
            "date": "2017-08-01",
            "depends": list(package.depends),
            "files": [] if package.legacy_noarch else list(files),
            "fn": package.fn,
            "license": "BSD",
            "link": {"source": extracted, "type": 1},
            "md5": md5,
            "name": package.name,
            "noarch": noarch,
            "platform": "linux" if native else None,
            "preferred_env": None,
            "priority": 1,
            "requires": [],
            "schannel": _canonical(package.channel),
            "size": 1024,
            "subdir": package.subdir,
            "url": url,
            "version": package.version,
            "with_features_depends": {},
        }
    record: dict[str, object] = {
        "name": package.name,
        "version": package.version,
        "build": package.build,
        "build_number": 0,
        "channel": channel_url,
        "subdir": package.subdir,
        "fn": package.fn,
        "md5": md5,
        "url": url,
        "sha256": _fake_digest(url, "sha256"),
        "depends": list(package.depends),
        "constrains": [],
    }
    if noarch:
        record["noarch"] = noarch
    record["license"] = "BSD-3-Clause"
    if noarch:
        record["package_type"] = f"noarch_{noarch}"
    record.update({"timestamp": 1700000000000, "size": 1024})
    if era != "26":
        record["requested_spec"] = requested or "None"  # conda < 26.3 writes "None" for deps
    elif requested:
        record["requested_spec"] = requested
    else:
        record["_requested_specs"] = []  # 26.3+: dependencies
    record.update(
        {
            "package_tarball_full_path": str(pkgs_dir / package.fn),
            "extracted_package_dir": extracted,
            "files": [] if package.legacy_noarch else list(files),
            "paths_data": _paths_data(package, files, era),
            "link": {"source": extracted, "type": 1},
        }
    )
    if era == "26" and requested:
        record["requested_specs"] = [requested]
    return record


def _history(env: SampleEnv) -> str:
    conda = ERA_CONDA[env.era]
    blocks = []
    for index, request in enumerate(env.requests):
        lines = [f"==> {request.date} <==", f"# cmd: {request.command}"]
        if env.era != "4.3":
            lines.append(f"# conda version: {conda}")
        linked = _initial_packages(env) if index == 0 else request.link
        lines += sorted(f"-{_dist_str(p, env.era)}" for p in request.unlink)
        lines += sorted(f"+{_dist_str(p, env.era)}" for p in linked)
        if env.era == "4.3":  # `# <command> specs:` with conda 4.3's normalised, comma-joined specs
            verb = request.command.split()[1]
            if request.update:
                joined = ",".join(_spec_43(spec) for spec in request.update)
                lines.append(f"# {verb} specs: {joined}")
            if request.remove:
                lines.append(f"# remove specs: {','.join(request.remove)}")
        else:
            if request.remove:
                lines.append(f"# remove specs: {list(request.remove)}")
            if request.update:
                lines.append(f"# update specs: {list(request.update)}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + "\n"


def _spec_43(spec: str) -> str:
    """conda 4.3 wrote `python=3.6` as `python 3.6*`."""
    name, sep, version = spec.partition("=")
    return f"{name} {version}*" if sep and version and "=" not in version else spec


def _initial_packages(env: SampleEnv) -> tuple[Package, ...]:
    """What the first command linked: today's packages, minus later links, plus later unlinks."""
    later_links = {p.name for r in env.requests[1:] for p in r.link}
    later_unlinks = tuple(p for r in env.requests[1:] for p in r.unlink)
    return tuple(p for p in env.packages if p.name not in later_links) + later_unlinks


def _dist_str(package: Package, era: str) -> str:
    channel = _canonical(package.channel)
    if era == "4.3":
        return f"{channel}::{package.name}-{package.version}-{package.build}"
    return f"{channel}/{package.subdir}::{package.name}-{package.version}-{package.build}"
