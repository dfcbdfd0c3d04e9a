"""The sample's data: its packages and environments, each telling one story from the seeds."""

from __future__ import annotations

from dataclasses import dataclass

MAIN = "https://repo.anaconda.com/pkgs/main"
R_CHANNEL = "https://repo.anaconda.com/pkgs/r"
FREE = "https://repo.continuum.io/pkgs/free"
FORGE = "https://conda.anaconda.org/conda-forge"
USGS = "https://conda.anaconda.org/usgs-astrogeology"
PRIVATE = "https://conda.anaconda.org/t/tk-1234-abcd-5678/isrdi-private"
MIRROR = "https://conda-mirror.example.org/conda-forge"
SUBDIR = "linux-64"


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
    legacy_noarch: bool = False  # conda-build's pre-4.3 `noarch_python`: a link script, no noarch
    build_number: int = 0
    license: str = "BSD-3-Clause"
    license_family: str | None = None
    timestamp: int = 1700000000000
    size: int = 1024

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
    command: str  # what followed the installation's `bin/conda`
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


#: the environments of the current installation (v24.11), one per situation the seeds describe
CURRENT_ENVS: tuple[SampleEnv, ...] = (
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
                "create -n isis3.6.0 -c usgs-astrogeology -c conda-forge isis=3.6.0 python=3.6",
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
                "create -n isis4.3.0 usgs-astrogeology::isis=4.3.0 python=3.8",
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
                "create -n nhis_reformat python=3.9 pandas=1.5 pip",
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
                "create -n gitdev python=3.11 pip",
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
                "create -n editable_dev python=3.11 pip",
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
                "create -n mixed_numpy python=3.10 numpy=1.21 pip",
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
                "create -n legacy_mpc -c file://ROOT/mpc python=3.7 mpctools pip",
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
                "create -n with_removals python=3.10 numpy scipy",
                update=("python=3.10", "numpy", "scipy"),
            ),
            Request(
                "2024-04-02 11:00:00",
                "remove -n with_removals scipy",
                remove=("scipy",),
                unlink=(_pylib("scipy", "1.12.0"),),
            ),
            Request(
                "2024-05-03 12:00:00",
                "install -n with_removals pandas=2.2",
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
                "create -n super_important_jupyter_kernel python=3.11 ipykernel",
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
                "create -n old_not_used python=3.6 numpy",
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
                "create -n r_env r-base=4.2 r-dplyr",
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
                "create -n mirror_env python=3.12 requests isrdi-private::ipums-auth",
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
                "create -p ROOT/project-envs/proj_alpha python=3.12 polars",
                update=("python=3.12", "polars"),
            ),
        ),
        envs_dir="../project-envs",
    ),
)


#: the environments of the next installation (v26.7), under test
QA_ENVS: tuple[SampleEnv, ...] = (
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
                "create -n smoke python=3.13 pip",
                update=("python=3.13", "pip"),
            ),
        ),
    ),
)


def base_packages(conda_version: str, python: str, *, with_plugin: bool) -> tuple[Package, ...]:
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
