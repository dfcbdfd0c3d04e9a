"""specs/conda_lock.py: NAME.conda-lock.yml, read back with conda-lock's own parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conda_lock.lockfile import parse_conda_lock_file

from conda_shared.export import EnvExport, export_envs
from conda_shared.prefix import normalize_name
from conda_shared.specs import file_key
from tests.eras import ERAS, ERAS_DIR, copy_era_env
from tests.roots import make_sample

ERA_ENVS = [
    (era, env.name)
    for era in ERAS
    for env in sorted((ERAS_DIR / era).iterdir())
    if (env / "conda-meta").is_dir() and not env.name.startswith("_")
]


def assert_whole_and_honest(out: Path, env: EnvExport) -> None:
    """The lock parses; every package is in it with its URL and hash, or named in the risks."""
    lock_path = out / f"{env.name}.conda-lock.yml"
    lock = parse_conda_lock_file(lock_path)
    manifest = json.loads((out / f"{env.name}.json").read_text())
    assert file_key(lock_path) == manifest["content_key"] == env.content_key
    assert manifest["files"]["conda_lock"] == lock_path.name
    assert lock.metadata.platforms == [manifest["source"]["platform"] or "noarch"]
    assert lock.metadata.sources == [f"{env.name}.history.yml"]
    omitted = {r["package"] for r in manifest["risks"] if r["code"] == "conda-lock-omits"}
    locked = {(p.manager, p.name): p for p in lock.package}
    for record in manifest["conda"]:
        entry = locked.get(("conda", record["name"]))
        if record["url"] and record["md5"]:
            assert entry is not None, record["name"]
            assert (entry.version, entry.hash.md5, entry.hash.sha256) == (
                record["version"],
                record["md5"],
                record["sha256"],
            )
            assert entry.url.rsplit("/", 1)[-1] == record["fn"]
        else:
            assert entry is None
            assert record["name"] in omitted
    for dist in manifest["pip"]:
        source = dist["source"]
        entry = locked.get(("pip", normalize_name(dist["name"])))
        if source["sha256"] and source["kind"] in ("archive", "local"):
            assert entry is not None and entry.hash.sha256 == source["sha256"]
        else:
            assert entry is None
            assert dist["name"] in omitted
    assert all(p.categories == {"main"} for p in lock.package)


def test_every_sample_env_gets_a_conda_lock_file_conda_lock_reads(tmp_path: Path) -> None:
    result = export_envs(root=make_sample(tmp_path), out=tmp_path / "out")
    assert result.ok and len(result.envs) == 13
    for env in result.envs:
        assert_whole_and_honest(result.out_dir, env)


@pytest.mark.parametrize(("era", "name"), ERA_ENVS)
def test_every_era_env_gets_a_conda_lock_file_conda_lock_reads(
    tmp_path: Path, era: str, name: str
) -> None:
    prefix = copy_era_env(era, name, tmp_path / "src")
    result = export_envs(root=None, names=[str(prefix)], out=tmp_path / "out")
    if not result.envs[0].ok:  # an era's deliberately broken env exports nothing at all
        assert not list((tmp_path / "out").glob(f"{name}*.conda-lock.yml"))
        return
    assert_whole_and_honest(result.out_dir, result.envs[0])


def test_pip_archives_keep_their_url_and_hash_others_are_named(tmp_path: Path) -> None:
    prefix = copy_era_env("23", "survey", tmp_path / "src")
    result = export_envs(root=None, names=[str(prefix)], out=tmp_path / "out")
    lock = parse_conda_lock_file(tmp_path / "out" / "survey.conda-lock.yml")
    pip = {p.name: p for p in lock.package if p.manager == "pip"}
    assert set(pip) == {"surveytools", "hhcore"}
    assert pip["surveytools"].url == "https://files.example.org/pkgs/surveytools-1.4.tar.gz"
    assert pip["surveytools"].hash.sha256 == (
        "8de6572455ba511893d2c49400535fcdd8f34385d80c98801c0511d56c703455"
    )
    assert pip["hhcore"].url.startswith("file:///") and pip["hhcore"].version == "2.0"
    risks = [r for r in result.envs[0].risks if r.code == "conda-lock-omits"]
    assert [r.package for r in risks] == ["pyreadstat"]
    assert "from a package index" in risks[0].message


def test_conda_dependencies_map_names_to_version_constraints(tmp_path: Path) -> None:
    prefix = copy_era_env("26", "analysis", tmp_path / "src")
    export_envs(root=None, names=[str(prefix)], out=tmp_path / "out")
    lock = parse_conda_lock_file(tmp_path / "out" / "analysis.conda-lock.yml")
    python = next(p for p in lock.package if p.name == "python")
    record = json.loads(next((prefix / "conda-meta").glob("python-3*.json")).read_text())
    assert set(python.dependencies) == {d.split()[0] for d in record["depends"]}
    assert python.dependencies["__glibc"] == ">=2.17,<3.0.a0"
    assert python.build == record["build"]


def test_a_record_without_md5_and_a_legacy_pip_hash(tmp_path: Path) -> None:
    prefix = copy_era_env("23", "survey", tmp_path / "src")
    record_path = next((prefix / "conda-meta").glob("tzdata-*.json"))
    record = json.loads(record_path.read_text())
    del record["md5"]
    record_path.write_text(json.dumps(record))
    direct_url = next(prefix.glob("lib/python3.11/site-packages/surveytools-*/direct_url.json"))
    data = json.loads(direct_url.read_text())
    data["archive_info"] = {"hash": "sha256=" + "ab" * 32}  # pip before 22.1 wrote only this
    direct_url.write_text(json.dumps(data))
    result = export_envs(root=None, names=[str(prefix)], out=tmp_path / "out")
    lock = parse_conda_lock_file(tmp_path / "out" / "survey.conda-lock.yml")
    names = {p.name: p for p in lock.package}
    assert "tzdata" not in names
    assert names["surveytools"].hash.sha256 == "ab" * 32
    (tzdata,) = [r for r in result.envs[0].risks if r.package == "tzdata"]
    assert tzdata.code == "conda-lock-omits" and "no md5" in tzdata.message


def test_pip_entries_come_with_the_warning_conda_lockfiles_needs(tmp_path: Path) -> None:
    result = export_envs(root=make_sample(tmp_path), names=["gitdev"], out=tmp_path / "out")
    assert "EMPTY" not in (result.out_dir / "gitdev.conda-lock.yml").read_text()  # no pip entry
    prefix = copy_era_env("23", "survey", tmp_path / "src")
    export_envs(root=None, names=[str(prefix)], out=tmp_path / "era")
    head = (tmp_path / "era" / "survey.conda-lock.yml").read_text().split("version: 1")[0]
    assert "`conda create --file` (conda-lockfiles 0.2.2) create an\n# EMPTY environment" in head
