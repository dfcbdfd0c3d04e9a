"""Generate a big conda-shared root (N envs x M packages), its files shaped as conda writes them.

usage: python benchmarks/generate.py [--envs N] [--packages M] [--workdir DIR] [--force]

The root is ROOT/v1 (a conda installation: conda-meta/ with history, python and conda records,
a .condarc), ROOT/current -> v1, and ROOT/v1/envs/NAME for every environment. Each environment
has M conda-meta records shaped as conda 24.11 writes them (sorted keys, requested_spec "None"
for dependencies) or, for a quarter of them, as conda 26.7 does (field order, `_requested_specs`,
`requested_specs`, a `created_at` file); a two-command history; and lib/python3.11/site-packages
with every dist-info file the records list (conda's pip interop deletes a record whose
`.dist-info/RECORD` anchor is missing on disk) plus a few pip-installed distributions (index,
git and editable installs, PEP 610 direct_url.json).

Only the files that readers of an environment open are written: conda-meta/, and in
site-packages each package's dist-info files and its module's __init__.py. The other paths a
record lists (shared libraries, headers, the rest of a module) are named in `files` and
`paths_data` but not created: neither conda nor conda-shared opens them to list or export.

Environments draw their packages from a shared pool, as environments built from the same
channels do, so each record's text is rendered once and written into every environment that
holds that package. Trees are cached under --workdir by size and generator version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conda_shared.sample import formats

#: bump whenever the generated layout changes, so cached trees are rebuilt
GENERATOR_VERSION = 3
SEED = 20260724
PYTHON_VERSION = "3.11.9"
PYTHON_SHORT = "3.11"
SITE = f"lib/python{PYTHON_SHORT}/site-packages"
SUBDIR = "linux-64"
FORGE = "https://conda.anaconda.org/conda-forge"
MAIN = "https://repo.anaconda.com/pkgs/main"
CANONICAL = {FORGE: "conda-forge", MAIN: "defaults"}
#: the record formats environments are written in (formats.ERA_CONDA names the conda of each)
ERAS = ("24", "26")
PIP_PER_ENV = 3
#: specs asked for by name at create, and in a later install, besides python itself
REQUESTED_AT_CREATE = 6
REQUESTED_LATER = 2
#: conda-build's 255-character prefix placeholder, on text files that embed the build prefix
PLACEHOLDER = (
    "/home/conda/feedstock_root/build_artifacts/pkg_1700000000000/_h_env_" + "placehold_" * 19
)[:255]

#: what every environment holds besides python: the interpreter's runtime and packaging
CORE_NATIVE = (
    "_libgcc_mutex",
    "_openmp_mutex",
    "bzip2",
    "ca-certificates",
    "ld_impl_linux-64",
    "libffi",
    "libgcc-ng",
    "libgomp",
    "libnsl",
    "libsqlite",
    "libstdcxx-ng",
    "libuuid",
    "libxcrypt",
    "libzlib",
    "ncurses",
    "openssl",
    "readline",
    "tk",
    "tzdata",
    "xz",
)
CORE_PYTHON = ("pip", "setuptools", "wheel")
NATIVE_LIBS = (
    "libblas", "libcblas", "liblapack", "libopenblas", "libgfortran-ng", "libgfortran5",
    "libcurl", "libssh2", "libnghttp2", "libev", "krb5", "keyutils", "libedit", "c-ares",
    "libpng", "libjpeg-turbo", "libtiff", "libwebp-base", "lcms2", "openjpeg", "freetype",
    "fontconfig", "libxml2", "libxslt", "libiconv", "icu", "libarrow", "libthrift",
    "libprotobuf", "libabseil", "re2", "orc", "snappy", "lz4-c", "zstd", "libbrotlicommon",
    "libbrotlidec", "libbrotlienc", "gflags", "glog", "libevent", "libutf8proc",
    "aws-c-common", "aws-c-io", "aws-c-http", "aws-crt-cpp", "aws-sdk-cpp", "libgdal", "proj",
    "geos", "sqlite", "hdf5", "libnetcdf", "libaec", "blosc", "tiledb", "libspatialite",
    "libkml", "postgresql", "libpq", "unixodbc", "graphviz", "cairo", "pango", "harfbuzz",
    "fribidi", "pixman", "libglib", "gettext", "expat", "pcre2", "libllvm15", "mkl",
    "intel-openmp", "tbb", "r-base", "openjdk", "nodejs",
)  # fmt: skip
PYTHON_LIBS = (
    "numpy", "pandas", "scipy", "matplotlib-base", "scikit-learn", "statsmodels", "seaborn",
    "pyarrow", "polars", "dask-core", "distributed", "xarray", "netcdf4", "h5py", "tables",
    "numba", "llvmlite", "cython", "sympy", "networkx", "pillow", "imageio", "scikit-image",
    "shapely", "pyproj", "fiona", "geopandas", "rasterio", "gdal", "sqlalchemy", "psycopg2",
    "pymysql", "pyodbc", "requests", "urllib3", "idna", "charset-normalizer", "certifi",
    "httpx", "httpcore", "anyio", "sniffio", "h11", "aiohttp", "yarl", "multidict",
    "frozenlist", "attrs", "pydantic", "pydantic-core", "typing_extensions", "packaging",
    "pyparsing", "python-dateutil", "pytz", "six", "tzlocal", "click", "rich", "pygments",
    "markdown-it-py", "mdurl", "jinja2", "markupsafe", "pyyaml", "ruamel.yaml", "toml",
    "tomli", "platformdirs", "filelock", "fsspec", "s3fs", "boto3", "botocore", "jmespath",
    "s3transfer", "cryptography", "cffi", "pycparser", "bcrypt", "paramiko", "pynacl",
    "ipykernel", "ipython", "jupyter_client", "jupyter_core", "traitlets", "tornado", "pyzmq",
    "jedi", "parso", "prompt-toolkit", "wcwidth", "decorator", "pexpect", "ptyprocess",
    "matplotlib-inline", "nest-asyncio", "comm", "debugpy", "psutil", "executing",
    "asttokens", "pure_eval", "stack_data", "jupyterlab", "notebook", "nbformat", "nbconvert",
    "jsonschema", "referencing", "rpds-py", "fastjsonschema", "bleach", "tinycss2",
    "beautifulsoup4", "soupsieve", "lxml", "openpyxl", "et_xmlfile", "xlrd", "pyreadstat",
    "tqdm", "joblib", "threadpoolctl", "cloudpickle", "toolz", "partd", "locket", "zict",
    "tblib", "sortedcontainers", "msgpack-python", "bokeh", "contourpy", "cycler", "fonttools",
    "kiwisolver", "pytest", "pluggy", "iniconfig", "coverage", "black", "mypy_extensions",
    "pathspec", "flake8", "pycodestyle", "pyflakes",
)  # fmt: skip
#: distributions only ever pip-installed (never a conda name in the pool, so no overlap)
PIP_ONLY = (
    "ipumspy", "censusdis", "us", "pyreadr", "linearmodels", "formulaic", "interface-meta",
    "pandas-flavor", "survey-weights", "hhcore", "ipums-auth", "hhtool",
)  # fmt: skip
LICENSES = ("BSD-3-Clause", "MIT", "Apache-2.0", "LGPL-2.1-or-later", "PSF-2.0", "MPL-2.0")
PROJECTS = ("ipums", "nhis", "census", "acs", "cps", "atus", "geo", "analysis", "thesis", "lab")


@dataclass(frozen=True)
class Package:
    """One build of a package in a channel, and the paths it installs."""

    name: str
    version: str
    build: str
    build_number: int
    channel: str
    subdir: str
    extension: str
    kind: str  # interpreter | native | python (compiled) | noarch (noarch: python)
    files: tuple[str, ...]
    depends: tuple[str, ...]
    license: str
    size: int
    timestamp: int

    @property
    def stem(self) -> str:
        return f"{self.name}-{self.version}-{self.build}"

    @property
    def fn(self) -> str:
        return self.stem + self.extension

    @property
    def url(self) -> str:
        return f"{self.channel}/{self.subdir}/{self.fn}"

    @property
    def noarch(self) -> str | None:
        return "python" if self.kind == "noarch" else None

    @property
    def license_family(self) -> str:
        return self.license.split("-")[0]

    @property
    def dist_info(self) -> str | None:
        """The dist-info folder, relative to the prefix, of a Python package."""
        if self.kind not in ("python", "noarch"):
            return None
        return formats.dist_info_dir(SITE, self.name, self.version)


@dataclass(frozen=True)
class PipDist:
    """A distribution pip installed into an environment, and from where (PEP 610)."""

    name: str
    version: str
    direct_url: dict[str, Any] | None

    @property
    def editable(self) -> bool:
        return bool(self.direct_url and self.direct_url.get("dir_info", {}).get("editable"))


@dataclass(frozen=True)
class EnvPlan:
    """What one generated environment holds, and the conda that wrote it."""

    name: str
    era: str  # "24" or "26": the conda release whose record format it has
    created: int  # POSIX seconds of its first command
    packages: tuple[Package, ...]
    at_create: tuple[str, ...]  # specs of `conda create`
    later: tuple[str, ...]  # specs of a later `conda install`
    pip: tuple[PipDist, ...]


@dataclass(frozen=True)
class GeneratedRoot:
    """A generated shared root and what it holds (saved as ROOT.json beside it)."""

    root: str
    envs: tuple[str, ...]
    packages_per_env: int
    pip_per_env: int
    eras: dict[str, int]
    written: int  # files written (records, history, pip dists, the package cache)
    linked: int  # package files hard-linked from the package cache into environments
    bytes: int  # of the files written
    seconds: float
    generator_version: int = GENERATOR_VERSION

    @property
    def installation(self) -> Path:
        return Path(self.root) / "v1"

    def env_path(self, name: str) -> Path:
        return self.installation / "envs" / name


def _digest(text: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def _word(index: int) -> str:
    """A made-up, pronounceable package name for pools larger than the built-in lists."""
    syllables = ("ka", "lo", "mi", "ra", "zen", "tor", "vex", "qui", "sil", "dor", "ne", "pa")
    count = len(syllables)
    word = "".join(syllables[(index // count**place) % count] for place in range(3))
    return word + (str(index // count**3) if index >= count**3 else "")  # never repeats


def _kind(name: str) -> str:
    if name == "python":
        return "interpreter"
    if name in CORE_NATIVE or name in NATIVE_LIBS or name.startswith("lib"):
        return "native"
    # about a third of Python packages are pure Python, built as noarch: python
    return "noarch" if int(_digest(name, "md5")[:2], 16) % 3 == 0 else "python"


def make_package(name: str, variant: int, channel: str) -> Package:
    """The `variant`-th build of `name` in `channel`, the same on every call."""
    rng = random.Random(f"{name}/{variant}/{channel}")
    kind = _kind(name)
    forge = channel == FORGE
    version = (
        PYTHON_VERSION
        if kind == "interpreter"
        else f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 12) + variant}"
    )
    build_number = rng.randint(0, 3)
    tag = "h" + _digest(f"{name}{version}{channel}", "md5")[:7]
    if kind == "noarch":
        build = f"{'pyhd8ed1ab' if forge else 'pyhd3eb1b0'}_{build_number}"
    elif kind == "python":
        build = f"py311{tag}_{build_number}"
    elif kind == "interpreter":
        build = f"{tag}_0_cpython" if forge else f"{tag}_0"
    else:
        build = f"{tag}_{build_number}"
    depends: list[str] = []
    if kind == "interpreter":
        depends = [f"{dep} >=1.0" for dep in CORE_NATIVE if not dep.startswith("_")]
        depends += [] if forge else ["pip"]  # defaults' python lists pip
    elif kind == "native":
        depends = ["libgcc-ng >=12", "libstdcxx-ng >=12"]
    else:
        depends = ["python >=3.11,<3.12.0a0"] if kind == "python" else ["python >=3.9"]
        if kind == "python":
            depends.append("python_abi 3.11.* *_cp311" if forge else "libgcc-ng >=11.2.0")
        depends += sorted(f"{dep} >={rng.randint(1, 9)}.0" for dep in rng.sample(PYTHON_LIBS, 2))
    return Package(
        name=name,
        version=version,
        build=build,
        build_number=build_number,
        channel=channel,
        subdir="noarch" if kind == "noarch" else SUBDIR,
        extension=".conda" if rng.random() < 0.85 else ".tar.bz2",
        kind=kind,
        files=_files(name, version, kind, rng.randint(20, 60)),
        depends=tuple(depends),
        license="PSF-2.0" if kind == "interpreter" else rng.choice(LICENSES),
        size=rng.randint(20_000, 30_000_000),
        timestamp=rng.randint(1_650_000_000, 1_740_000_000) * 1000,
    )


def _files(name: str, version: str, kind: str, count: int) -> tuple[str, ...]:
    """`count` paths (about), laid out as that kind of package lays them out."""
    if kind == "interpreter":
        files = [f"bin/python{PYTHON_SHORT}", "bin/python", "bin/python3"]
        files += [f"include/python{PYTHON_SHORT}/Python.h", f"lib/libpython{PYTHON_SHORT}.so"]
        files += [f"lib/python{PYTHON_SHORT}/{m}.py" for m in ("os", "re", "typing", "abc")]
        files += [
            f"lib/python{PYTHON_SHORT}/lib-dynload/_mod{i}.cpython-311-x86_64-linux-gnu.so"
            for i in range(count - len(files))
        ]
        return tuple(files)
    if kind == "native":
        base = name.removeprefix("lib")
        major = version.split(".", maxsplit=1)[0]
        files = [f"lib/lib{base}.so", f"lib/lib{base}.so.{major}", f"lib/lib{base}.so.{version}"]
        files += [f"lib/pkgconfig/{base}.pc", f"share/licenses/{name}/LICENSE"]
        files += [f"include/{base}/{base}_{i}.h" for i in range(count - len(files) - 1)]
        files.append(f"bin/{base}-config")
        return tuple(files)
    module = name.replace("-", "_").replace(".", "_").lower()
    dist = formats.dist_info_dir(SITE, name, version)
    files = [f"{dist}/{leaf}" for leaf in ("INSTALLER", "METADATA", "RECORD", "WHEEL")]
    sources = [f"{SITE}/{module}/__init__.py"]
    sources += [f"{SITE}/{module}/_part{i}.py" for i in range((count - len(files)) // 2 - 1)]
    files += sources
    if kind == "python":
        files.append(f"{SITE}/{module}/_core.cpython-311-x86_64-linux-gnu.so")
    # compiled builds ship their .pyc; for noarch ones conda compiles them at link time
    files += [f"{SITE}/{module}/__pycache__/{Path(s).stem}.cpython-311.pyc" for s in sources]
    return tuple(files)


def _is_softlink(package: Package, path: str) -> bool:
    if package.kind == "interpreter":
        return path in ("bin/python", "bin/python3")
    return package.kind == "native" and ".so" in path and not path.endswith(package.version)


def _path_entry(package: Package, path: str) -> dict[str, object]:
    """One paths_data entry: noarch .pyc files are compiled at link time, text files that
    embed the build prefix carry its placeholder, a few shared-library names are symlinks."""
    if package.kind == "noarch" and path.endswith(".pyc"):
        return formats.path_entry(path, path_type="pyc_file", size=300 + len(path))
    # noarch: python records keep the in-package path in paths_data; `files` has the target
    in_package = in_package_path(package, path)
    digest = _digest(package.url + path)
    if _is_softlink(package, path):
        return formats.path_entry(in_package, path_type="softlink", sha256=digest, size=0)
    text = path.endswith((".pc", "-config"))
    return formats.path_entry(
        in_package,
        path_type="hardlink",
        sha256=digest,
        size=120 + int(digest[:4], 16),
        sha256_in_prefix=_digest(digest) if text else digest,
        prefix_placeholder=PLACEHOLDER if text else None,
    )


def record_text(package: Package, *, era: str, pkgs_dir: str, requested: str | None) -> bytes:
    """The conda-meta record of `package` as conda 24.11 or 26.7 writes it."""
    data = formats.record(
        package,
        era=era,
        url=package.url,
        pkgs_dir=pkgs_dir,
        requested=requested,
        files=package.files,
        paths=[_path_entry(package, path) for path in package.files],
    )
    return formats.json_text(data, era).encode()


def _metadata(name: str, version: str, summary: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        f"Home-page: https://github.com/example/{name}",
        "Author: The maintainers",
        "License: BSD-3-Clause",
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Programming Language :: Python :: 3.11",
        "Classifier: Operating System :: POSIX :: Linux",
        "Requires-Python: >=3.9",
        "Requires-Dist: numpy >=1.21",
        'Requires-Dist: pytest ; extra == "test"',
        "Description-Content-Type: text/markdown",
        "",
        f"# {name}",
        "",
        f"{summary}. " * 12,
        "",
        "## Install",
        "",
        f"    pip install {name}",
        "",
    ]
    return "\n".join(lines)


def conda_dist_files(package: Package) -> dict[str, bytes]:
    """The dist-info files a Python package's record lists, by their path in the prefix."""
    if package.dist_info is None:
        return {}
    files = formats.dist_info(
        site=SITE,
        name=package.name,
        version=package.version,
        installer="conda",
        metadata_text=_metadata(package.name, package.version, f"{package.name} lib"),
        modules=[
            path
            for path in package.files
            if path.startswith(f"{SITE}/") and not path.startswith(f"{package.dist_info}/")
        ],
    )
    return {path: files[path].encode() for path in package.files if path in files}


def in_package_path(package: Package, path: str) -> str:
    """Where a file the record lists sits inside the extracted package (noarch: site-packages/)."""
    if package.kind == "noarch" and path.startswith(SITE):
        return "site-packages" + path[len(SITE) :]
    return path


def pip_dist_files(dist: PipDist) -> dict[str, bytes]:
    """What pip leaves for one distribution: its dist-info (+ direct_url.json, editable .pth)."""
    module = dist.name.replace("-", "_").lower()
    files = formats.dist_info(
        site=SITE,
        name=dist.name,
        version=dist.version,
        installer="pip",
        metadata_text=_metadata(dist.name, dist.version, f"{dist.name} from PyPI"),
        direct_url=dist.direct_url,
        modules=[f"{SITE}/{module}/__init__.py"],  # listed, not written
    )
    return {path: content.encode() for path, content in files.items()}


def plan_envs(*, envs: int, packages: int) -> tuple[EnvPlan, ...]:
    """Every environment's contents: python, the core runtime, the rest drawn from a pool."""
    if packages < 1 + len(CORE_NATIVE) + len(CORE_PYTHON):
        raise ValueError(f"--packages must be at least {1 + len(CORE_NATIVE) + len(CORE_PYTHON)}")
    extra = packages - 1 - len(CORE_NATIVE) - len(CORE_PYTHON)
    pool = [*NATIVE_LIBS, *PYTHON_LIBS]
    index = 0
    while len(pool) < 2 * extra:  # room for environments to differ
        pool.append(f"{'lib' if index % 3 == 0 else 'py'}{_word(index)}")
        index += 1
    cache: dict[tuple[str, int, str], Package] = {}

    def package(name: str, variant: int, channel: str) -> Package:
        key = (name, variant, channel)
        if key not in cache:
            cache[key] = make_package(name, variant, channel)
        return cache[key]

    plans = []
    for number in range(envs):
        rng = random.Random(f"{SEED}/{number}")
        era = "26" if number % 4 == 3 else "24"
        channel = MAIN if number % 4 == 1 else FORGE
        chosen = rng.sample(pool, extra)
        members = [
            package("python", 0, channel),
            *(package(name, 0, channel) for name in (*CORE_NATIVE, *CORE_PYTHON)),
            *(package(name, rng.randint(0, 1), channel) for name in chosen),
        ]
        python_names = [p.name for p in members if p.kind in ("python", "noarch")]
        asked = rng.sample(
            python_names, min(len(python_names), REQUESTED_AT_CREATE + REQUESTED_LATER)
        )
        plans.append(
            EnvPlan(
                name=f"{PROJECTS[number % len(PROJECTS)]}_{number:03d}",
                era=era,
                created=(1_735_700_000 if era == "24" else 1_784_000_000) + number * 3_600,
                packages=tuple(members),
                at_create=(f"python={PYTHON_SHORT}", *asked[:REQUESTED_AT_CREATE]),
                later=tuple(asked[REQUESTED_AT_CREATE:]),
                pip=_pip_dists(number, rng),
            )
        )
    return tuple(plans)


def _pip_dists(number: int, rng: random.Random) -> tuple[PipDist, ...]:
    names = rng.sample(PIP_ONLY, PIP_PER_ENV)
    dists = []
    for position, name in enumerate(names):
        version = f"{rng.randint(0, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        direct_url: dict[str, Any] | None = None
        if position == 0 and number % 4 == 1:
            commit = _digest(f"{name}{number}", "sha1")
            direct_url = {
                "url": f"https://github.com/ipums/{name}.git",
                "vcs_info": {"commit_id": commit, "requested_revision": "main", "vcs": "git"},
            }
        elif position == 1 and number % 8 == 3:
            version += ".dev0"
            direct_url = {
                "url": f"file:///home/user{number}/src/{name}",
                "dir_info": {"editable": True},
            }
        dists.append(PipDist(name, version, direct_url))
    return tuple(dists)


def _date(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def history_text(plan: EnvPlan, conda: str) -> str:
    """`conda create` of most packages, then `conda install` of the rest (later specs)."""
    later_names = set(plan.later)
    # the later install links the packages asked for then; everything else came with create
    first = [p for p in plan.packages if p.name not in later_names]
    second = [p for p in plan.packages if p.name in later_names]
    entries = [
        formats.HistoryEntry(
            date=_date(plan.created),
            conda=conda,
            arguments=f"create -n {plan.name} {' '.join(plan.at_create)}",
            linked=tuple(_dist(p, plan.era) for p in first),
            update=plan.at_create,
        )
    ]
    if plan.later:
        entries.append(
            formats.HistoryEntry(
                date=_date(plan.created + 86_400 * 30),
                conda=conda,
                arguments=f"install -n {plan.name} {' '.join(plan.later)}",
                linked=tuple(_dist(p, plan.era) for p in second),
                update=plan.later,
            )
        )
    return formats.history_text(entries, plan.era)


def _dist(package: Package, era: str) -> str:
    return formats.dist_string(CANONICAL[package.channel], package, era)


class _TreeWriter:
    """Writes records with plain open(), hard-links package files from the package cache.

    conda links a package's files into every environment from its extracted copy in pkgs/
    (link type 1, hardlink) and writes each conda-meta record itself: so does this.
    """

    def __init__(self, work_root: Path, final_root: Path) -> None:
        self.work_pkgs = str(work_root / "v1" / "pkgs")
        self.final_pkgs = str(final_root / "v1" / "pkgs")
        self.written = 0
        self.linked = 0
        self.bytes = 0
        self._records: dict[tuple[Package, str, str | None], bytes] = {}
        self._made: set[str] = set()

    def _parent(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def write(self, path: str, data: bytes) -> None:
        self._parent(path)
        with open(path, "wb") as stream:
            stream.write(data)
        self.written += 1
        self.bytes += len(data)

    def record_text(self, package: Package, era: str, requested: str | None) -> bytes:
        key = (package, era, requested)
        text = self._records.get(key)
        if text is None:
            text = self._records[key] = record_text(
                package, era=era, pkgs_dir=self.final_pkgs, requested=requested
            )
        return text

    def extract(self, package: Package) -> None:
        """Put the package's dist-info files into pkgs/, where conda extracts packages."""
        for relative, content in conda_dist_files(package).items():
            self.write(self._cached(package, relative), content)

    def _cached(self, package: Package, relative: str) -> str:
        return f"{self.work_pkgs}/{package.stem}/{in_package_path(package, relative)}"

    def link_package(self, prefix: str, package: Package) -> None:
        """Link the package's dist-info files from pkgs/ (extracted first) into prefix."""
        for relative in package.files:
            if relative.startswith(f"{package.dist_info}/"):
                target = f"{prefix}/{relative}"
                self._parent(target)
                os.link(self._cached(package, relative), target)
                self.linked += 1

    def env(self, prefix: str, plan: EnvPlan, conda: str) -> None:
        requested = {spec.split("=")[0]: spec for spec in (*plan.at_create, *plan.later)}
        meta = f"{prefix}/conda-meta"
        for package in plan.packages:
            text = self.record_text(package, plan.era, requested.get(package.name))
            self.write(f"{meta}/{package.stem}.json", text)
            if package.dist_info is not None:
                self.link_package(prefix, package)
        for dist in plan.pip:
            for relative, content in pip_dist_files(dist).items():
                self.write(f"{prefix}/{relative}", content)
        os.makedirs(f"{prefix}/{SITE}", exist_ok=True)  # python's, even with no package in it
        self.write(f"{meta}/history", history_text(plan, conda).encode())
        if plan.era == "26":  # str() of a POSIX timestamp, no newline
            self.write(f"{meta}/created_at", str(plan.created + 0.25).encode())


def _base_plan() -> EnvPlan:
    members = (
        make_package("python", 0, FORGE),
        *(make_package(name, 0, FORGE) for name in (*CORE_NATIVE, *CORE_PYTHON)),
    )
    conda = Package(
        name="conda",
        version=formats.ERA_CONDA["26"],
        build="py311h38be061_0",
        build_number=0,
        channel=FORGE,
        subdir=SUBDIR,
        extension=".conda",
        kind="python",
        files=_files("conda", formats.ERA_CONDA["26"], "python", 40),
        depends=("python >=3.11,<3.12.0a0", "python_abi 3.11.* *_cp311", "pluggy >=1.0.0"),
        license="BSD-3-Clause",
        size=1_200_000,
        timestamp=1_753_000_000_000,
    )
    return EnvPlan(
        name="base",
        era="26",
        created=1_735_600_000,
        packages=(*members, conda),
        at_create=(f"python={PYTHON_SHORT}", "conda"),
        later=(),
        pip=(),
    )


def _write_tree(work: Path, final: Path, plans: Sequence[EnvPlan]) -> tuple[int, int, int]:
    """Write the installation and the package cache, then the envs in parallel processes."""
    writer = _TreeWriter(work, final)
    installation = work / "v1"
    base = _base_plan()
    for package in dict.fromkeys(p for plan in (base, *plans) for p in plan.packages):
        if package.dist_info is not None:
            writer.extract(package)
    writer.env(str(installation), base, f"{final}/v1/bin/conda")
    writer.write(str(installation / ".condarc"), b"channels:\n  - conda-forge\n  - defaults\n")
    os.symlink("v1", work / "current")
    workers = max(1, min(os.cpu_count() or 1, 4, len(plans)))
    # fork: children inherit the module as loaded, also when it runs as a script
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        counts = list(
            pool.map(_write_envs, [(work, final, plans[i::workers]) for i in range(workers)])
        )
    return (
        writer.written + sum(c[0] for c in counts),
        writer.linked + sum(c[1] for c in counts),
        writer.bytes + sum(c[2] for c in counts),
    )


def _write_envs(job: tuple[Path, Path, Sequence[EnvPlan]]) -> tuple[int, int, int]:
    work, final, plans = job
    writer = _TreeWriter(work, final)
    for plan in plans:
        writer.env(f"{work}/v1/envs/{plan.name}", plan, f"{final}/v1/bin/conda")
    return writer.written, writer.linked, writer.bytes


def cache_paths(workdir: Path, *, envs: int, packages: int) -> tuple[Path, Path]:
    """The cached root for this size and generator version, and its description file."""
    root = workdir / f"root-{envs}x{packages}-g{GENERATOR_VERSION}"
    return root, root.with_name(root.name + ".json")


def generate(
    *,
    workdir: Path,
    envs: int,
    packages: int,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> tuple[GeneratedRoot, bool]:
    """The root for (envs, packages) under `workdir`, generated unless cached; True if reused."""
    workdir = workdir.absolute()
    root, description = cache_paths(workdir, envs=envs, packages=packages)
    if not force and root.is_dir() and description.is_file():
        saved = json.loads(description.read_text())
        saved["envs"] = tuple(saved["envs"])
        return GeneratedRoot(**saved), True
    for stale in (root, description):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    work = workdir / f".{root.name}.tmp-{os.getpid()}"
    start = time.perf_counter()
    plans = plan_envs(envs=envs, packages=packages)
    try:
        if progress is not None:
            progress(f"generating {envs} envs x {packages} packages in {root}")
        written, linked, size = _write_tree(work, root, plans)
        os.rename(work, root)
        # Flush it now, so that no measurement later pays for writing back the tree
        # (an fsync on ext4 can wait for other files' pending data).
        os.sync()
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    eras = {era: sum(1 for p in plans if p.era == era) for era in ERAS}
    result = GeneratedRoot(
        root=str(root),
        envs=tuple(plan.name for plan in plans),
        packages_per_env=packages,
        pip_per_env=PIP_PER_ENV,
        eras=eras,
        written=written,
        linked=linked,
        bytes=size,
        seconds=time.perf_counter() - start,
    )
    description.write_text(json.dumps(asdict(result), indent=1))
    return result, False


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=200, help="environments (default 200)")
    parser.add_argument("--packages", type=int, default=150, help="conda packages per env (150)")
    parser.add_argument("--workdir", type=Path, required=True, help="where trees are cached")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    generated, reused = generate(
        workdir=args.workdir,
        envs=args.envs,
        packages=args.packages,
        force=args.force,
        progress=lambda message: print(message, file=sys.stderr),
    )
    how = "reused" if reused else f"generated in {generated.seconds:.1f} s"
    print(
        f"{generated.root}: {len(generated.envs)} envs x {generated.packages_per_env} packages "
        f"+ {generated.pip_per_env} pip: {generated.written} files written "
        f"({generated.bytes / 2**20:.0f} MiB), {generated.linked} hard links ({how})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
