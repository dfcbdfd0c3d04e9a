"""prefix.py: one environment read from disk, with every pip provenance and ownership told apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared.condarc import CondaConfig
from conda_shared.errors import SharedError
from conda_shared.prefix import normalize_name, read_env
from tests.roots import write_record

SITE = "lib/python3.11/site-packages"


def dist(
    prefix: Path,
    name: str,
    version: str,
    *,
    installer: str | None = "pip",
    direct_url: dict | None = None,
) -> None:  # type: ignore[type-arg]
    folder = prefix / SITE / f"{name}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nbody\nName: wrong\n"
    )
    if installer:
        (folder / "INSTALLER").write_text(installer + "\n")
    if direct_url is not None:
        (folder / "direct_url.json").write_text(json.dumps(direct_url))


@pytest.fixture
def env(tmp_path: Path) -> Path:
    prefix = tmp_path / "env"
    write_record(
        prefix,
        {
            "name": "python",
            "version": "3.11.9",
            "build": "h0_cpython",
            "build_number": 0,
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            "subdir": "linux-64",
            "url": "https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-h0_cpython.conda",
            "md5": "a" * 32,
            "sha256": "b" * 64,
            "requested_spec": "python=3.11",
            "files": ["bin/python3.11"],
        },
    )
    write_record(
        prefix,
        {
            "name": "requests",
            "version": "2.32.3",
            "build": "pyhd8ed1ab_0",
            "build_number": 0,
            "channel": "https://conda.anaconda.org/conda-forge/noarch",
            "subdir": "noarch",
            "noarch": "python",
            "url": "https://conda.anaconda.org/t/tk-1/conda-forge/noarch/requests-2.32.3-pyhd8ed1ab_0.conda",
            "md5": "c" * 32,
            "requested_spec": "None",
            "depends": ["python >=3.8"],
            "files": [f"{SITE}/requests/__init__.py", f"{SITE}/requests-2.32.3.dist-info/METADATA"],
        },
    )
    dist(prefix, "requests", "2.32.3", installer="conda")
    dist(prefix, "pyreadstat", "1.2.7")
    dist(
        prefix,
        "ipumspy",
        "0.5.1",
        direct_url={
            "url": "https://github.com/ipums/ipumspy.git",
            "vcs_info": {"vcs": "git", "commit_id": "3f1c" * 10, "requested_revision": "main"},
        },
    )
    dist(
        prefix,
        "hhtool",
        "0.3.dev0",
        direct_url={"url": "file:///home/alice/src/hhtool", "dir_info": {"editable": True}},
    )
    dist(
        prefix,
        "localpkg",
        "1.0",
        direct_url={"url": "file:///tmp/localpkg-1.0.tar.gz", "archive_info": {}},
    )
    dist(prefix, "ipums-core", "2.0", installer="conda")
    dist(prefix, "Requests-OAuthlib", "2.0")
    (prefix / SITE / "census_utils.egg-link").write_text("/home/bob/src/census_utils\n.\n")
    (prefix / "conda-meta" / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n# update specs: ['python=3.11']\n"
    )
    return prefix


def test_records_are_normalised(env: Path) -> None:
    state = read_env(env, name="env", config=CondaConfig())
    python, requests = state.records
    assert (python.name, python.version, python.build, python.subdir) == (
        "python",
        "3.11.9",
        "h0_cpython",
        "linux-64",
    )
    assert python.channel.name == "conda-forge"
    assert python.requested_spec == "python=3.11"
    assert requests.requested_spec is None  # conda < 26.3 writes the string "None"
    assert requests.noarch == "python"
    assert requests.private is True
    assert "/t/" not in (requests.url or "")
    assert requests.depends == ("python >=3.8",)
    assert state.python_version == "3.11.9"
    assert state.platform == "linux-64"
    assert state.history.requested_specs() == {"python": "python=3.11"}


def test_pip_dists_carry_provenance_and_ownership(env: Path) -> None:
    state = read_env(env, name="env", config=CondaConfig())
    by_name = {d.normalized: d for d in state.dists}
    assert by_name["requests"].conda_owned is True
    assert {d.normalized for d in state.pip_dists} == {
        "pyreadstat",
        "ipumspy",
        "hhtool",
        "localpkg",
        "ipums-core",
        "requests-oauthlib",
        "census-utils",
    }
    assert by_name["pyreadstat"].source.kind == "index"
    assert by_name["ipumspy"].source.kind == "vcs"
    assert by_name["ipumspy"].source.commit == "3f1c" * 10
    assert by_name["ipumspy"].source.requested_revision == "main"
    assert by_name["hhtool"].source.kind == "editable"
    assert by_name["localpkg"].source.kind == "local"
    assert by_name["census-utils"].source.kind == "editable"
    assert by_name["census-utils"].source.url == "file:///home/bob/src/census_utils"
    assert by_name["ipums-core"].installer == "conda"
    assert by_name["ipums-core"].conda_owned is False
    assert by_name["requests-oauthlib"].name == "Requests-OAuthlib"
    assert by_name["pyreadstat"].version == "1.2.7"  # header only, not the body's "Name: wrong"


def test_corrupt_record_names_the_file(env: Path) -> None:
    bad = env / "conda-meta" / "numpy-1.26.4-py311_0.json"
    bad.write_text('{"name": "numpy", "version": ')
    with pytest.raises(SharedError) as caught:
        read_env(env, name="env", config=CondaConfig())
    assert str(bad) in str(caught.value)
    assert "not valid JSON" in str(caught.value)


def test_record_without_name_is_refused(env: Path) -> None:
    (env / "conda-meta" / "weird-1-0.json").write_text('{"files": []}')
    with pytest.raises(SharedError, match="not a conda package record"):
        read_env(env, name="env", config=CondaConfig())


def test_not_an_environment(tmp_path: Path) -> None:
    with pytest.raises(SharedError, match="has no conda-meta/ directory"):
        read_env(tmp_path, name="x", config=CondaConfig())


def test_unreadable_environment(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import conda_shared.prefix as prefix_module

    def denied(_path: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(prefix_module.os, "scandir", denied)
    with pytest.raises(SharedError, match="permission denied"):
        read_env(env, name="env", config=CondaConfig())


def test_temp_and_hidden_files_in_conda_meta_are_ignored(env: Path) -> None:
    (env / "conda-meta" / ".numpy-1.json.ab12.conda-shared-tmp").write_text("{")
    (env / "conda-meta" / "created_at").write_text("2026-01-01")
    assert len(read_env(env, name="env", config=CondaConfig()).records) == 2


@pytest.mark.parametrize(("raw", "normal"), [("Ruamel.YAML", "ruamel-yaml"), ("a__b-.c", "a-b-c")])
def test_normalize_name(raw: str, normal: str) -> None:
    assert normalize_name(raw) == normal


def test_export_can_skip_reading_conda_owned_dists(env: Path) -> None:
    full = read_env(env, name="env", config=CondaConfig())
    lean = read_env(env, name="env", config=CondaConfig(), owned_dists=False)
    assert lean.pip_dists == full.pip_dists
    assert all(not d.conda_owned for d in lean.dists)
    assert len(full.dists) == len(lean.dists) + 1
