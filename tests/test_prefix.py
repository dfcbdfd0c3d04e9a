"""prefix.py: one environment read from disk, with every pip provenance and ownership told apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared.condarc import CondaConfig
from conda_shared.errors import SharedError
from conda_shared.prefix import normalize_name, read_env
from conda_shared.specs import SourceInfo, build_specs
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


# --- one bad file: a clean failure naming it, or tolerated and said -----------------------------


@pytest.mark.parametrize(
    "content",
    ["null", "[]", '["https://x"]', '"https://x"', "{}", '{"url": null}', '{"url": 7}', "{"],
)
def test_unusable_direct_url_makes_provenance_unknown_and_says_so(env: Path, content: str) -> None:
    folder = env / SITE / "pyreadstat-1.2.7.dist-info"
    (folder / "direct_url.json").write_text(content)
    state = read_env(env, name="env", config=CondaConfig())
    (pyreadstat,) = [d for d in state.pip_dists if d.normalized == "pyreadstat"]
    assert pyreadstat.source.kind == "unknown"
    assert pyreadstat.source.url is None
    assert str(folder / "direct_url.json") in (pyreadstat.source.problem or "")
    assert (pyreadstat.source.problem or "").endswith(
        {"null": "a JSON null, not an object", "[]": "a JSON array, not an object"}.get(content, "")
    )
    specs = build_specs(state, source=SourceInfo(env, "24.11.3", CondaConfig()))
    assert ("pip-source-unknown", "pyreadstat") in {(r.code, r.package) for r in specs.risks}
    assert "pyreadstat==1.2.7" in specs.pinned


def test_vcs_fields_of_the_wrong_type_are_dropped(env: Path) -> None:
    folder = env / SITE / "ipumspy-0.5.1.dist-info"
    (folder / "direct_url.json").write_text(
        json.dumps({"url": "https://g/x.git", "vcs_info": {"vcs": 1, "commit_id": ["a"]}})
    )
    state = read_env(env, name="env", config=CondaConfig())
    (ipumspy,) = [d for d in state.pip_dists if d.normalized == "ipumspy"]
    assert (ipumspy.source.kind, ipumspy.source.vcs, ipumspy.source.commit) == ("vcs", None, None)


@pytest.mark.parametrize(
    ("content", "url"),
    [
        ("../../../src/census_utils\n.\n", "file://{prefix}/src/census_utils"),
        ("src/census_utils\n", "file://{prefix}/" + SITE + "/src/census_utils"),
        ("C:\\Users\\bob\\src\\census utils\n.\n", "file:///C:/Users/bob/src/census%20utils"),
    ],
)
def test_relative_and_windows_egg_links_resolve(env: Path, content: str, url: str) -> None:
    (env / SITE / "census_utils.egg-link").write_text(content)
    state = read_env(env, name="env", config=CondaConfig())
    (census,) = [d for d in state.pip_dists if d.normalized == "census-utils"]
    assert census.source.kind == "editable"
    assert census.source.url == url.format(prefix=env)


@pytest.mark.parametrize("content", ["", "\n\n", "/home/bob/\0src\n"])
def test_egg_link_without_a_usable_path_is_of_unknown_source(env: Path, content: str) -> None:
    (env / SITE / "census_utils.egg-link").write_text(content)
    state = read_env(env, name="env", config=CondaConfig())
    (census,) = [d for d in state.pip_dists if d.normalized == "census-utils"]
    assert (census.source.kind, census.source.url) == ("unknown", None)
    assert "names no project directory" in (census.source.problem or "")
    specs = build_specs(state, source=SourceInfo(env, "24.11.3", CondaConfig()))
    assert [r.code for r in specs.risks if r.package == "census_utils"] == [
        "pip-source-unknown",
        "conda-lock-omits",
    ]
    assert "None" not in " ".join(r.message for r in specs.risks)


def test_undecodable_metadata_falls_back_to_the_directory_name(env: Path) -> None:
    folder = env / SITE / "pyreadstat-1.2.7.dist-info"
    (folder / "METADATA").write_bytes(
        b"Metadata-Version: 2.1\nName: pyr\xe9adstat\nVersion: 1.2.7\n"
    )
    state = read_env(env, name="env", config=CondaConfig())
    assert "pyreadstat" in {d.name for d in state.pip_dists}
    assert not any("\ufffd" in d.name for d in state.dists)


def test_leftovers_of_an_interrupted_pip_uninstall_are_not_packages(env: Path) -> None:
    dist(env, "~yreadstat", "1.2.6")
    state = read_env(env, name="env", config=CondaConfig())
    assert [d.version for d in state.dists if "readstat" in d.normalized] == ["1.2.7"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("build_number", "abc"),
        ("build_number", [1]),
        ("depends", "python >=3.8"),
        ("depends", [1, 2]),
        ("name", ["requests"]),
        ("version", {"v": 1}),
        ("url", 7),
        ("channel", ["conda-forge"]),
        ("noarch", 3),
        ("md5", False),
    ],
)
def test_record_field_of_the_wrong_type_fails_the_env_naming_the_file(
    env: Path, field: str, value: object
) -> None:
    path = env / "conda-meta" / "requests-2.32.3-pyhd8ed1ab_0.json"
    record = json.loads(path.read_text())
    record[field] = value
    path.write_text(json.dumps(record))
    with pytest.raises(SharedError) as caught:
        read_env(env, name="env", config=CondaConfig())
    assert str(path) in caught.value.message
    assert repr(field) in caught.value.message


@pytest.mark.parametrize("content", ["[]", '"name"', "7", "null", "[" * 100_000 + "]" * 100_000])
def test_record_that_is_json_but_not_an_object_names_the_file(env: Path, content: str) -> None:
    path = env / "conda-meta" / "odd-1-0.json"
    path.write_text(content)
    with pytest.raises(SharedError) as caught:
        read_env(env, name="env", config=CondaConfig())
    assert str(path) in caught.value.message


def test_record_that_cannot_be_read_names_the_file(env: Path) -> None:
    loop = env / "conda-meta" / "loop-1-0.json"
    loop.symlink_to(loop.name)
    with pytest.raises(SharedError, match=r"cannot read .*loop-1-0\.json"):
        read_env(env, name="env", config=CondaConfig())


def test_site_packages_that_cannot_be_read_fails_the_env(env: Path) -> None:
    site = env / "lib" / "python3.11" / "site-packages"
    site.rename(env / "elsewhere")
    site.write_text("")  # ENOTDIR: an error even for root, as EACCES is for its users
    with pytest.raises(SharedError, match=r"cannot read .*site-packages"):
        read_env(env, name="env", config=CondaConfig())


# --- what belongs to whom ---------------------------------------------------------------------


def test_egg_directory_a_conda_package_shipped_is_the_packages(env: Path) -> None:
    egg = env / SITE / "pyproj-1.9.6-py3.11-linux-x86_64.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nName: pyproj\nVersion: 1.9.6\n"
    )
    (egg / "pyproj").mkdir()
    relative = f"{SITE}/{egg.name}"
    write_record(
        env,
        {
            "name": "pyproj",
            "version": "1.9.6",
            "build": "py311_0",
            "channel": "https://repo.anaconda.com/pkgs/main/linux-64",
            "files": [f"{relative}/EGG-INFO/PKG-INFO", f"{relative}/pyproj/__init__.py"],
        },
    )
    state = read_env(env, name="env", config=CondaConfig())
    (pyproj,) = [d for d in state.dists if d.normalized == "pyproj"]
    assert pyproj.conda_owned is True
    assert "pyproj" not in {d.normalized for d in state.pip_dists}
    assert "pyproj" not in {
        d.normalized for d in read_env(env, name="e", config=CondaConfig(), owned_dists=False).dists
    }


def test_egg_directory_nobody_shipped_is_pips(env: Path) -> None:
    egg = env / SITE / "oldlib-0.9-py3.11.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    state = read_env(env, name="env", config=CondaConfig())
    (oldlib,) = [d for d in state.pip_dists if d.normalized == "oldlib"]
    assert oldlib.version == "0.9"  # no PKG-INFO: the egg's own name says it


def test_site_packages_of_an_older_python_is_stale_not_pip(env: Path) -> None:
    old_site = env / "lib" / "python3.9" / "site-packages"
    folder = old_site / "leftover-1.0.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text("Name: leftover\nVersion: 1.0\n")
    (folder / "INSTALLER").write_text("pip\n")
    state = read_env(env, name="env", config=CondaConfig())
    assert "leftover" not in {d.normalized for d in state.dists}
    assert state.stale_site_packages == (old_site,)
    specs = build_specs(state, source=SourceInfo(env, "24.11.3", CondaConfig()))
    assert [r.message.split()[0] for r in specs.risks if r.code == "stale-site-packages"] == [
        str(old_site)
    ]
    assert "leftover" not in specs.pinned + specs.loose + specs.lock


def test_without_a_python_record_every_site_packages_is_stale(env: Path) -> None:
    (env / "conda-meta" / "python-3.11.9-h0_cpython.json").unlink()
    state = read_env(env, name="env", config=CondaConfig())
    assert state.dists == ()
    assert state.stale_site_packages == (env / SITE,)


def test_python_record_declares_its_site_packages(env: Path) -> None:
    """CEP 17 (conda 25.x+): a free-threaded Python's site-packages is lib/python3.13t/..."""
    path = env / "conda-meta" / "python-3.11.9-h0_cpython.json"
    record = json.loads(path.read_text())
    path.unlink()
    record.update(version="3.13.1", build="h0_cp313t")
    record["python_site_packages_path"] = "lib/python3.13t/site-packages"
    write_record(env, record)
    free = env / "lib" / "python3.13t" / "site-packages" / "fastlib-2.0.dist-info"
    free.mkdir(parents=True)
    (free / "METADATA").write_text("Name: fastlib\nVersion: 2.0\n")
    state = read_env(env, name="env", config=CondaConfig())
    assert {d.normalized for d in state.pip_dists} == {"fastlib"}
    assert state.stale_site_packages == (env / SITE,)


def test_windows_env_reads_lib_site_packages(tmp_path: Path) -> None:
    prefix = tmp_path / "win"
    write_record(
        prefix,
        {"name": "python", "version": "3.7.10", "build": "0", "subdir": "win-64", "files": []},
    )
    folder = prefix / "Lib" / "site-packages" / "arcgis_tools-1.0.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text("Name: arcgis-tools\nVersion: 1.0\n")
    state = read_env(prefix, name="win", config=CondaConfig())
    assert [d.name for d in state.pip_dists] == ["arcgis-tools"]
    assert state.stale_site_packages == ()


def test_zipped_eggs_are_read_by_name_and_owned_when_a_record_lists_them(env: Path) -> None:
    """conda's own setuptools and future shipped zipped eggs (Anaconda 4.0, ArcGIS Pro)."""
    (env / SITE / "future-0.18.2-py3.11.egg").write_bytes(b"PK\x03\x04")
    (env / SITE / "xgboost-0.6-py3.11-linux-x86_64.egg").write_bytes(b"PK\x03\x04")
    write_record(
        env,
        {
            "name": "future",
            "version": "0.18.2",
            "build": "py311_0",
            "files": [f"{SITE}/future-0.18.2-py3.11.egg"],
        },
    )
    state = read_env(env, name="env", config=CondaConfig())
    owned = {d.normalized: d.conda_owned for d in state.dists}
    assert owned["future"] is True
    assert owned["xgboost"] is False
    assert [d.version for d in state.pip_dists if d.normalized == "xgboost"] == ["0.6"]


def test_one_pip_distribution_per_project(env: Path) -> None:
    """Half-finished pip upgrades leave old dist-infos; `setup.py install` an egg beside pip's."""
    for version in ("1.11.1", "1.13.1", "1.11.3", "1.13.1rc1"):
        dist(env, "numpy", version)
    (env / SITE / "pyreadstat-1.2.7-py3.11.egg").write_bytes(b"")
    state = read_env(env, name="env", config=CondaConfig())
    assert [d.version for d in state.pip_dists if d.normalized == "numpy"] == ["1.13.1"]
    (pyreadstat,) = [d for d in state.pip_dists if d.normalized == "pyreadstat"]
    assert pyreadstat.location.endswith(".dist-info")
