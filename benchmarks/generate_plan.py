"""What a generated root holds: the package pool, each package's build and files, and each
environment's plan (benchmarks/generate.py writes them)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conda_shared.sample import formats

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
    return "noarch" if int(formats.stand_in_digest(name, "md5")[:2], 16) % 3 == 0 else "python"


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
    tag = "h" + formats.stand_in_digest(f"{name}{version}{channel}", "md5")[:7]
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
            commit = formats.stand_in_digest(f"{name}{number}", "sha1")
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


def base_plan() -> EnvPlan:
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
