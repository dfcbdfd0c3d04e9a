"""The readers take environments exactly as conda 4.3, 4.8, 23.x, 24.x and 26.x left them.

Fixtures: tests/data/eras/ (see its README.txt for the conda source behind every shape).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple, Optional

import pytest

from conda_shared.channels import strip_secrets
from conda_shared.condarc import installation_condarc_files, read_config
from conda_shared.errors import SharedError
from conda_shared.history import parse_history, read_history, spec_name
from conda_shared.prefix import EnvState, PackageRecord, PythonDist, read_env
from conda_shared.specs import EnvSpecs, SourceInfo, build_specs
from tests.eras import copy_era_env, era_root

#: The main environment of each era.
MAIN_ENV = {"4.3": "py36", "4.8": "geo", "23": "survey", "24": "gitdev", "26": "analysis"}
CONDA_VERSION = {"4.3": "4.3.34", "4.8": "4.8.5", "23": "23.11.0", "24": "24.11.3", "26": "26.7.1"}

MAIN_OLD = "https://repo.continuum.io/pkgs/main"
MAIN = "https://repo.anaconda.com/pkgs/main"
FORGE = "https://conda.anaconda.org/conda-forge"


class Rec(NamedTuple):
    """What read_env must report for one conda-meta record."""

    version: str
    build: str
    subdir: str
    channel: str  # the spec name: defaults, conda-forge, or a full URL
    digests: str  # which of md5/sha256 the record carries
    noarch: Optional[str]
    requested_spec: Optional[str]


class Dist(NamedTuple):
    """What read_env must report for one Python distribution; {home} is the era's home dir."""

    version: str
    installer: Optional[str]
    kind: str
    conda_owned: bool
    url: Optional[str] = None
    commit: Optional[str] = None
    requested_revision: Optional[str] = None


MD5 = "md5"
BOTH = "md5+sha256"
SITE_43 = "file:///opt/site-channel"
SITE_26 = "file:///srv/conda/site-channel"
PRIVATE = "isrdi-private::ipums-auth"

RECORDS: dict[str, dict[str, Rec]] = {
    "4.3": {
        "mpctools": Rec("1.2", "py_0", "noarch", SITE_43, MD5, None, None),
        "numpy": Rec("1.14.0", "py36h3dfced4_1", "linux-64", "defaults", MD5, None, None),
        "pip": Rec("9.0.1", "py36h8ec8b28_3", "linux-64", "defaults", MD5, None, None),
        "python": Rec("3.6.4", "hc3d631a_1", "linux-64", "defaults", MD5, None, None),
        "six": Rec("1.11.0", "py_1", "noarch", "conda-forge", MD5, "python", None),
    },
    "4.8": {
        "isis": Rec(
            "3.6.0",
            "0",
            "linux-64",
            "usgs-astrogeology",
            BOTH,
            None,
            "usgs-astrogeology::isis=3.6.0",
        ),
        "numpy": Rec(
            "1.19.2", "py38h54aff64_0", "linux-64", "conda-forge", BOTH, None, "numpy=1.19"
        ),
        "pip": Rec("20.2.3", "py_0", "noarch", "conda-forge", BOTH, "python", "pip"),
        "python": Rec(
            "3.8.6", "h852b56e_0_cpython", "linux-64", "conda-forge", BOTH, None, "python=3.8"
        ),
        "python_abi": Rec("3.8", "1_cp38", "linux-64", "conda-forge", BOTH, None, None),
    },
    "23": {
        "ipums-auth": Rec(
            "0.9", "pyhd8ed1ab_0", "noarch", "isrdi-private", BOTH, "python", PRIVATE
        ),
        "pandas": Rec("2.1.1", "py311ha02d727_0", "linux-64", "defaults", BOTH, None, "pandas=2.1"),
        "pip": Rec("23.3.1", "py311h06a4308_0", "linux-64", "defaults", BOTH, None, None),
        "python": Rec("3.11.5", "h955ad1f_0", "linux-64", "defaults", BOTH, None, "python=3.11"),
        "tzdata": Rec("2023c", "h04d1e81_0", "noarch", "defaults", BOTH, "generic", None),
    },
    "24": {
        "ipums-auth": Rec(
            "1.0", "pyhd8ed1ab_0", "noarch", "isrdi-private", BOTH, "python", PRIVATE
        ),
        # requested at create, relinked as a dependency of `install scipy`: conda wrote "None"
        "numpy": Rec("1.26.4", "py312h2809609_0", "linux-64", "defaults", BOTH, None, None),
        "pip": Rec("24.2", "py312h06a4308_0", "linux-64", "defaults", BOTH, None, "pip"),
        "python": Rec("3.12.8", "h5148396_0", "linux-64", "defaults", BOTH, None, "python=3.12"),
        "tqdm": Rec(
            "4.67.1", "pyhd8ed1ab_1", "noarch", "conda-forge", BOTH, "python", "conda-forge::tqdm"
        ),
    },
    "26": {
        "libzlib": Rec("1.3.1", "hb9d3cd8_2", "linux-64", "conda-forge", BOTH, None, None),
        "numpy": Rec(
            "2.3.5",
            "py313hf6604e3_0",
            "linux-64",
            "conda-forge",
            BOTH,
            None,
            "numpy[version='>=2']",
        ),
        "pip": Rec("25.3", "pyh145f28c_0", "noarch", "conda-forge", BOTH, "python", "pip"),
        "python": Rec(
            "3.13.9", "h2b335a9_100_cp313", "linux-64", "conda-forge", BOTH, None, "python=3.13"
        ),
        "sitecfg": Rec("1.0", "0", "noarch", SITE_26, BOTH, "generic", "sitecfg"),
    },
}

#: Where a record's channel resolves to, and whether its URL carried an anaconda.org token.
CHANNEL_URLS = [
    ("4.3", "numpy", "https://repo.continuum.io/pkgs/main", False),
    ("4.3", "mpctools", SITE_43, False),
    ("4.8", "isis", "https://conda.anaconda.org/usgs-astrogeology", False),
    ("23", "ipums-auth", "https://conda.anaconda.org/isrdi-private", True),  # the real token
    ("24", "ipums-auth", "https://conda.anaconda.org/isrdi-private", True),  # /t/<TOKEN>/
    ("24", "tqdm", "https://conda.anaconda.org/conda-forge", False),
    ("26", "sitecfg", SITE_26, False),
]

FEEDSTOCK = "file:///home/conda/feedstock_root/build_artifacts"


def _git(version: str, commit: str, revision: str) -> Dist:
    return Dist(
        version, "pip", "vcs", False, "https://github.com/ipums/ipumspy.git", commit, revision
    )


def _conda(version: str, build_dir: str | None = None) -> Dist:
    """A conda package's own dist-info; conda-built wheels may carry a direct_url.json."""
    return Dist(version, "conda", "local" if build_dir else "unknown", True, build_dir)


DISTS: dict[str, dict[str, Any]] = {
    "4.3": {
        "census-utils": Dist("1.1", None, "editable", False, "file://{home}/src/census_utils"),
        "docopt": Dist("0.6.2", None, "unknown", False),
        "mpctools": Dist("1.2", None, "unknown", True),
        "numpy": Dist("1.14.0", None, "unknown", True),
        "oldlib": Dist("0.9", None, "unknown", False),
        "pip": Dist("9.0.1", None, "unknown", True),
        "requests": Dist("2.18.4", "pip", "index", False),
        "six": Dist("1.11.0", None, "unknown", True),
    },
    "4.8": {
        "hhtool": Dist("0.3.dev0", None, "editable", False, "file://{home}/src/hhtool"),
        "ipumspy": _git("0.1.0", "9d6a2b4c1e3f5a7b9c0d2e4f6a8b0c1d3e5f7a9b", "v0.1.0"),
        "numpy": _conda("1.19.2", f"{FEEDSTOCK}/numpy_1600896531409/work"),
        "pip": _conda("20.2.3"),
        "tqdm": Dist("4.50.0", "pip", "index", False),
    },
    "23": {
        "hhcore": Dist(
            "2.0", "pip", "local", False, "file://{home}/dist/hhcore-2.0-py3-none-any.whl"
        ),
        "ipums-auth": _conda("0.9", f"{FEEDSTOCK}/ipums-auth_1698671986123/work"),
        "pandas": _conda("2.1.1", "file:///croot/pandas_1696347996021/work"),
        "pip": _conda("23.3.1"),
        "pyreadstat": Dist("1.2.4", "pip", "index", False),
        "surveytools": Dist(
            "1.4", "pip", "archive", False, "https://files.example.org/pkgs/surveytools-1.4.tar.gz"
        ),
    },
    "24": {
        "hhtool": Dist("0.3.dev0", "pip", "editable", False, "file://{home}/src/hhtool"),
        "ipums-auth": _conda("1.0"),
        "ipumspy": _git("0.5.1", "3f1c2e9a7b5d4c6e8f0a1b2c3d4e5f6a7b8c9d0e", "main"),
        "numpy": _conda("1.26.4"),
        "pip": _conda("24.2"),
        "tqdm": _conda("4.67.1", f"{FEEDSTOCK}/tqdm_1733609412345/work"),
    },
    "26": {
        "hhtool": Dist("0.4.dev0", "pip", "editable", False, "file://{home}/src/hhtool"),
        "ipumspy": _git("0.6.0", "b7e1c0d2a4f6e8b0c2d4e6f8a0b2c4d6e8f0a2b4", "v0.6.0"),
        "numpy": _conda("2.3.5", f"{FEEDSTOCK}/numpy_1763350012345/work"),
        "pip": _conda("25.3", f"{FEEDSTOCK}/pip_1761481201234/work"),
        "polars": Dist("1.31.0", "uv", "index", False),
    },
}

#: Requested specs after every revision (removals applied), as History.requested_specs() gives.
REQUESTED = {
    "4.3": {"python": "python 3.6*", "numpy": "numpy", "six": "six", "mpctools": "mpctools"},
    "4.8": {
        "python": "python=3.8",
        "numpy": "numpy=1.19",
        "pip": "pip",
        "isis": "usgs-astrogeology::isis=3.6.0",
    },
    "23": {
        "python": "python=3.11",
        "pandas": "pandas=2.1",
        "ipums-auth": "isrdi-private::ipums-auth",
    },
    "24": {
        "python": "python=3.12",
        "numpy": "numpy==1.26.4",
        "pip": "pip",
        "tqdm": "conda-forge::tqdm",
        "ipums-auth": "isrdi-private::ipums-auth",
    },
    "26": {
        "python": "python=3.13",
        "pip": "pip",
        "numpy": "numpy[version='>=2']",
        "sitecfg": "sitecfg",
    },
}
REMOVED = {
    "4.3": ["scipy"],
    "4.8": ["scipy"],
    "23": ["statsmodels"],
    "24": ["scipy"],
    "26": ["scipy"],
}
REVISIONS = {"4.3": 5, "4.8": 4, "23": 4, "24": 5, "26": 4}

#: The pinned file's channels: packages' channels first, then the installation's .condarc ones.
PINNED_CHANNELS = {
    "4.3": ["conda-forge", "file:///opt/site-channel", "defaults"],
    "4.8": ["usgs-astrogeology", "conda-forge", "defaults"],
    "23": ["defaults", "isrdi-private"],  # both from its .condarc
    "24": ["conda-forge", "isrdi-private", "defaults"],
    "26": ["file:///srv/conda/site-channel", "conda-forge"],
}


def _read(era: str, tmp_path: Path, env: str | None = None) -> EnvState:
    prefix = copy_era_env(era, env or MAIN_ENV[era], tmp_path)
    config = read_config(installation_condarc_files(era_root(prefix)))
    return read_env(prefix, name=prefix.name, config=config)


def _specs(env: EnvState, era: str) -> EnvSpecs:
    root = era_root(env.path)
    config = read_config(installation_condarc_files(root))
    source = SourceInfo(path=root, conda_version=CONDA_VERSION[era], config=config)
    return build_specs(env, source=source)


def _record(env: EnvState, name: str) -> PackageRecord:
    return next(r for r in env.records if r.name == name)


def _dist(env: EnvState, name: str) -> PythonDist | None:
    return next((d for d in env.dists if d.name == name), None)


def _cases(table: dict[str, Any], *, named: bool = True) -> list[Any]:
    """pytest params (era[, name], expected)."""
    rows = (
        [(era, name, value) for era, entries in table.items() for name, value in entries.items()]
        if named
        else list(table.items())
    )
    return [pytest.param(*keys, value, id="-".join(keys)) for *keys, value in rows]


def _lock_entries(lock: str) -> list[str]:
    return lock.split("@EXPLICIT\n", 1)[1].splitlines()


# --- conda-meta records ------------------------------------------------------------------------


@pytest.mark.parametrize("era", list(MAIN_ENV))
def test_every_record_is_read_once_and_the_env_is_linux_64(era: str, tmp_path: Path) -> None:
    env = _read(era, tmp_path)

    assert [r.name for r in env.records] == sorted(RECORDS[era])
    assert env.platform == "linux-64"
    assert env.python_version == RECORDS[era]["python"].version


@pytest.mark.parametrize(("era", "name", "expected"), _cases(RECORDS))
def test_record_fields(era: str, name: str, expected: Rec, tmp_path: Path) -> None:
    record = _record(_read(era, tmp_path), name)

    digests = "+".join(k for k, v in (("md5", record.md5), ("sha256", record.sha256)) if v)
    assert (
        Rec(
            version=record.version,
            build=record.build,
            subdir=str(record.subdir),
            channel=record.channel.name,
            digests=digests,
            noarch=record.noarch,
            requested_spec=record.requested_spec,
        )
        == expected
    )


@pytest.mark.parametrize(("era", "name", "base_url", "private"), CHANNEL_URLS)
def test_channel_base_url_and_token(
    era: str, name: str, base_url: str, private: bool, tmp_path: Path
) -> None:
    record = _record(_read(era, tmp_path), name)

    assert (record.channel.base_url, record.private) == (base_url, private)


def test_43_legacy_noarch_record_is_flagged(tmp_path: Path) -> None:
    assert _record(_read("4.3", tmp_path), "mpctools").legacy_noarch


@pytest.mark.parametrize("era", list(MAIN_ENV))
def test_record_digests_and_urls_are_the_files_own(era: str, tmp_path: Path) -> None:
    env = _read(era, tmp_path)

    for path in sorted((env.path / "conda-meta").glob("*.json")):
        raw = json.loads(path.read_text())
        record = _record(env, raw["name"])
        assert (record.md5, record.sha256, record.fn) == (raw["md5"], raw.get("sha256"), raw["fn"])
        assert record.url == strip_secrets(raw["url"])
        assert "/t/" not in str(record.url) and "TOKEN" not in str(record.url)


def test_record_with_only_schannel_and_platform_arch_still_resolves(tmp_path: Path) -> None:
    """The reader's fallback for records without url/channel/subdir (older than conda-build 2's
    subdir key): schannel names the channel, platform + arch the subdir."""
    prefix = copy_era_env("4.3", "py36", tmp_path)
    path = prefix / "conda-meta" / "numpy-1.14.0-py36h3dfced4_1.json"
    raw = json.loads(path.read_text())
    del raw["url"], raw["channel"], raw["subdir"]
    path.write_text(json.dumps(raw, indent=2, sort_keys=True))

    record = _record(read_env(prefix, name="py36", config=read_config([])), "numpy")

    assert (record.channel.name, record.subdir, record.url) == ("defaults", "linux-64", None)


# --- Python distributions ----------------------------------------------------------------------


@pytest.mark.parametrize(("era", "name", "expected"), _cases(DISTS))
def test_python_dist(era: str, name: str, expected: Dist, tmp_path: Path) -> None:
    env = _read(era, tmp_path)
    home = era_root(env.path) / "home"
    dist = _dist(env, name)

    assert dist is not None, f"{name} not found in {[d.name for d in env.dists]}"
    assert Dist(
        version=dist.version,
        installer=dist.installer,
        kind=dist.source.kind,
        conda_owned=dist.conda_owned,
        url=dist.source.url,
        commit=dist.source.commit,
        requested_revision=dist.source.requested_revision,
    ) == expected._replace(url=expected.url.format(home=home) if expected.url else None)


@pytest.mark.parametrize("era", ["4.3", "4.8", "23", "24", "26"])
def test_pip_dists_are_exactly_those_no_conda_record_owns(era: str, tmp_path: Path) -> None:
    env = _read(era, tmp_path)

    expected = sorted(name for name, value in DISTS[era].items() if not value.conda_owned)
    assert sorted(d.name for d in env.pip_dists) == expected


def test_conda_records_files_make_their_metadata_conda_owned(tmp_path: Path) -> None:
    """Every dist-info/egg-info a record lists is owned, even with a pip-style direct_url.json."""
    env = _read("23", tmp_path)

    owned = {d.name: d.location for d in env.dists if d.conda_owned}
    assert owned == {
        "ipums-auth": "lib/python3.11/site-packages/ipums_auth-0.9.dist-info",
        "pandas": "lib/python3.11/site-packages/pandas-2.1.1.dist-info",
        "pip": "lib/python3.11/site-packages/pip-23.3.1.dist-info",
    }


def test_legacy_noarch_becomes_a_risk_not_a_pip_package(tmp_path: Path) -> None:
    env = _read("4.3", tmp_path)
    specs = _specs(env, "4.3")

    codes = {(risk.code, risk.package) for risk in specs.risks}
    assert ("legacy-noarch", "mpctools") in codes
    assert ("conda-and-pip", "mpctools") not in codes
    assert "mpctools==1.2" not in specs.pinned


def test_other_records_are_never_taken_for_legacy_noarch(tmp_path: Path) -> None:
    flagged = []
    for era in MAIN_ENV:
        env = _read(era, tmp_path / era)
        flagged += [f"{era}:{r.name}" for r in env.records if r.legacy_noarch]
    assert [f for f in flagged if f != "4.3:mpctools"] == []


# --- history -----------------------------------------------------------------------------------


@pytest.mark.parametrize("era", list(MAIN_ENV))
def test_history_requested_specs_after_removals(era: str, tmp_path: Path) -> None:
    env = _read(era, tmp_path)
    history = env.history

    assert history.requested_specs() == REQUESTED[era]
    assert [spec_name(s) for r in history.revisions for s in r.remove_specs] == list(REMOVED[era])
    assert len(history.revisions) == REVISIONS[era]
    assert history.conda_versions == (
        () if era == "4.3" else (CONDA_VERSION[era],) * REVISIONS[era]
    )
    assert read_history(env.path / "conda-meta" / "history") == history


def test_43_history_comma_specs_and_defaults_dist_strings(tmp_path: Path) -> None:
    history = _read("4.3", tmp_path).history
    create, _, legacy, _, remove = history.revisions

    assert create.arguments[1:4] == ("create", "-n", "py36")
    assert create.update_specs == ("python 3.6*", "numpy")
    assert create.added == (
        "defaults::numpy-1.14.0-py36h3dfced4_1",
        "defaults::pip-9.0.1-py36h8ec8b28_3",
        "defaults::python-3.6.4-hc3d631a_1",
    )
    assert legacy.added == ("file:///opt/site-channel::mpctools-1.2-py_0",)
    assert (remove.remove_specs, remove.removed) == (
        ("scipy",),
        ("defaults::scipy-1.0.0-py36hbf646e7_0",),
    )


def test_24_neutered_spec_replaces_the_requested_build(tmp_path: Path) -> None:
    history = _read("24", tmp_path).history
    install_scipy = history.revisions[2]

    assert history.revisions[0].update_specs == (
        "python=3.12",
        "numpy==1.26.4=py312hc5e2394_0",
        "pip",
    )
    assert install_scipy.neutered_specs == ("numpy==1.26.4",)
    assert install_scipy.removed == ("defaults/linux-64::numpy-1.26.4-py312hc5e2394_0",)
    assert install_scipy.added == (
        "defaults/linux-64::numpy-1.26.4-py312h2809609_0",
        "defaults/linux-64::scipy-1.14.1-py312hc5e2394_0",
    )


def test_26_mixed_quote_spec_list_and_file_channel_dist_string(tmp_path: Path) -> None:
    history = _read("26", tmp_path).history

    assert history.revisions[0].update_specs == ("python=3.13", "pip", "numpy[version='>=2']")
    assert history.revisions[1].added == ("file:///srv/conda/site-channel/noarch::sitecfg-1.0-0",)
    assert history.revisions[1].arguments[-3:] == (
        "-c",
        "file:///srv/conda/site-channel",
        "sitecfg",
    )


def test_py2_conda_wrote_unicode_reprs_in_spec_lists() -> None:
    """conda 4.4-4.8 running on Python 2.7 wrote `[u'...']` (history.py:400 formats a list of
    text_type specs); conda's own reader literal_evals it, and so must ours."""
    history = parse_history(
        "==> 2019-05-02 10:00:00 <==\n"
        "# cmd: /opt/anaconda2/bin/conda install -n legacy27 numpy=1.16\n"
        "# conda version: 4.6.14\n"
        "+defaults/linux-64::numpy-1.16.3-py27h7e9f1db_0\n"
        "# update specs: [u'numpy=1.16', u\"pandas[version='>=0.24']\"]\n"
    )

    assert history.requested_specs() == {
        "numpy": "numpy=1.16",
        "pandas": "pandas[version='>=0.24']",
    }


# --- 26.x extras -------------------------------------------------------------------------------


def test_26_created_at_and_requested_specs_keys_are_understood(tmp_path: Path) -> None:
    env = _read("26", tmp_path)
    meta = env.path / "conda-meta"
    libzlib = json.loads((meta / "libzlib-1.3.1-hb9d3cd8_2.json").read_text())
    numpy = json.loads((meta / "numpy-2.3.5-py313hf6604e3_0.json").read_text())

    assert float((meta / "created_at").read_text()) == pytest.approx(1784534400.482913)
    assert "requested_spec" not in libzlib and libzlib["_requested_specs"] == []
    assert list(numpy)[-1] == "requested_specs" and numpy["requested_specs"] == [
        numpy["requested_spec"]
    ]
    assert (_record(env, "libzlib").requested_spec, _record(env, "numpy").requested_spec) == (
        None,
        "numpy[version='>=2']",
    )


# --- spec levels -------------------------------------------------------------------------------


@pytest.mark.parametrize("era", list(MAIN_ENV))
def test_lock_is_one_url_and_hash_per_record(era: str, tmp_path: Path) -> None:
    env = _read(era, tmp_path)
    lock = _specs(env, era).lock

    expected = set()
    for path in (env.path / "conda-meta").glob("*.json"):
        raw = json.loads(path.read_text())
        expected.add(f"{strip_secrets(raw['url'])}#{raw.get('sha256') or raw['md5']}")
    entries = _lock_entries(lock)
    assert sorted(entries) == sorted(expected)
    assert all(
        re.fullmatch(r"(https|file)://\S+\.(tar\.bz2|conda)#([0-9a-f]{32}|[0-9a-f]{64})", e)
        for e in entries
    )
    assert "# platform: linux-64" in lock.splitlines()


@pytest.mark.parametrize("era", list(MAIN_ENV))
def test_manifest_lists_virtual_package_needs_and_build_variants(era: str, tmp_path: Path) -> None:
    prefix = copy_era_env(era, MAIN_ENV[era], tmp_path)
    expected = set()
    for path in (prefix / "conda-meta").glob("*.json"):
        raw = json.loads(path.read_text())
        for relation in ("depends", "constrains"):
            for spec in raw.get(relation) or ():
                if spec.startswith("__"):
                    expected.add((spec.split()[0], spec, raw["name"], relation))
    gpu = {"name": "torchlite", "version": "2.1", "build": "cuda118_py_0", "channel": FORGE}
    gpu |= {"depends": ["__cuda >=11.8"], "constrains": ["__glibc >=2.17"], "subdir": "linux-64"}
    (prefix / "conda-meta" / "torchlite-2.1-cuda118_py_0.json").write_text(json.dumps(gpu))
    expected |= {
        ("__cuda", "__cuda >=11.8", "torchlite", "depends"),
        ("__glibc", "__glibc >=2.17", "torchlite", "constrains"),
    }
    config = read_config(installation_condarc_files(era_root(prefix)))
    env = read_env(prefix, name=prefix.name, config=config)

    manifest = json.loads(_specs(env, era).manifest)

    listed = {
        (n["name"], n["spec"], n["package"], n["relation"]) for n in manifest["virtual_packages"]
    }
    assert listed == expected
    assert {"package": "torchlite", "build": "cuda118_py_0", "variant": "cuda"} in manifest[
        "variants"
    ]


@pytest.mark.parametrize(("era", "expected"), _cases(PINNED_CHANNELS, named=False))
def test_pinned_channels(era: str, expected: list[str], tmp_path: Path) -> None:
    env = _read(era, tmp_path)
    pinned = _specs(env, era).pinned

    channels = pinned.split("channels:\n", 1)[1].split("dependencies:", 1)[0]
    assert [line.strip()[2:].strip('"') for line in channels.splitlines()] == expected


def test_condarc_token_never_reaches_any_spec_file(tmp_path: Path) -> None:
    env = _read("23", tmp_path)
    specs = _specs(env, "23")

    for text in (specs.lock, specs.pinned, specs.loose, specs.manifest):
        assert "tk-5f3a9c1e" not in text


# --- broken and unusual environments -----------------------------------------------------------


def test_corrupt_record_is_a_shared_error_naming_the_file(tmp_path: Path) -> None:
    prefix = copy_era_env("24", "broken", tmp_path)

    with pytest.raises(SharedError) as caught:
        read_env(prefix, name="broken", config=read_config([]))

    broken = prefix / "conda-meta" / "openssl-3.0.15-h5eee18b_0.json"
    assert caught.value.message.startswith(f"{broken} is not valid JSON (")
    assert "Repair or remove that record" in caught.value.next_step


def test_local_tarball_record_keeps_its_url_and_digests(tmp_path: Path) -> None:
    env = _read("24", tmp_path, "localpkg")
    tool = _record(env, "localtool")
    tarball = (era_root(env.path) / "home" / "downloads" / "localtool-0.4-h0_0.tar.bz2").as_uri()

    assert (tool.url, tool.subdir, tool.fn) == (tarball, "linux-64", "localtool-0.4-h0_0.tar.bz2")
    assert tool.md5 and tool.sha256
    assert tool.requested_spec == f"localtool[url={tarball}]"
    assert f"{tarball}#{tool.sha256}" in _lock_entries(_specs(env, "24").lock)


def test_local_tarball_channel_is_unknown_not_its_directory(tmp_path: Path) -> None:
    env = _read("24", tmp_path, "localpkg")
    specs = _specs(env, "24")
    downloads = (era_root(env.path) / "home" / "downloads").as_uri()

    assert _record(env, "localtool").channel.name == "<unknown>"
    assert downloads not in specs.pinned.split("dependencies:")[0]
    assert ("unknown-channel", "localtool") in {(r.code, r.package) for r in specs.risks}


def test_26_local_tarball_history_spec_is_not_a_channel(tmp_path: Path) -> None:
    env = _read("26", tmp_path, "localpkg")
    loose = _specs(env, "26").loose

    assert env.history.requested_specs()["localtool"] == "<unknown>/linux-64::localtool==0.4=h0_0"
    assert "<unknown>" not in loose
