"""Reading conda's dry-run answer and locks into packages, and diffs between package sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared.errors import InputError, SharedError
from conda_shared.release.solve import (
    SolvedPackage,
    environment_file,
    explicit_packages,
    package_diff,
    solved_packages,
)

CHANNEL = "file:///srv/channel"


def _package(name: str, version: str, build: str = "0") -> SolvedPackage:
    url = f"{CHANNEL}/noarch/{name}-{version}-{build}.tar.bz2"
    return SolvedPackage(name, version, build, CHANNEL, url, md5="m" * 32)


def _link(name: str, version: str, build: str = "0") -> dict[str, str]:
    return {"name": name, "version": version, "build_string": build,
            "dist_name": f"{name}-{version}-{build}", "base_url": CHANNEL}  # fmt: skip


def test_solved_packages_from_fetch_current_release_and_cache(tmp_path: Path) -> None:
    cached = tmp_path / "pkgs" / "libdata-2.0-0" / "info"
    cached.mkdir(parents=True)
    (cached / "repodata_record.json").write_text(
        json.dumps({"name": "libdata", "version": "2.0", "build": "0", "channel": CHANNEL,
                    "url": f"{CHANNEL}/linux-64/libdata-2.0-0.conda", "sha256": "s" * 64})
    )  # fmt: skip
    fetched = {"name": "tidy-util", "version": "1.1", "build": "0", "channel": CHANNEL,
               "url": f"{CHANNEL}/noarch/tidy-util-1.1-0.tar.bz2", "md5": "f" * 32}  # fmt: skip
    document = {
        "actions": {
            "FETCH": [fetched],
            "LINK": [_link("python", "3.11"), _link("tidy-util", "1.1"), _link("libdata", "2.0")],
        }
    }
    packages = solved_packages(
        document, known=[_package("python", "3.11")], pkgs_dirs=[tmp_path / "pkgs"]
    )
    assert [p.lock_line() for p in packages] == [
        f"{CHANNEL}/linux-64/libdata-2.0-0.conda#{'s' * 64}",
        f"{CHANNEL}/noarch/python-3.11-0.tar.bz2#{'m' * 32}",
        f"{CHANNEL}/noarch/tidy-util-1.1-0.tar.bz2#{'f' * 32}",
    ]
    with pytest.raises(SharedError, match="names neither its URL"):
        solved_packages({"actions": {"LINK": [_link("gone", "1")]}}, known=[], pkgs_dirs=[])


def test_explicit_lock_round_trips(tmp_path: Path) -> None:
    lock = tmp_path / "ds.lock"
    packages = (_package("python", "3.11"), _package("tidy-util", "1.0", "py_0"))
    lock.write_text("# comment\n@EXPLICIT\n" + "".join(p.lock_line() + "\n" for p in packages))
    assert explicit_packages(lock) == packages


def test_package_diff() -> None:
    before = [_package("python", "3.11"), _package("tidy-util", "1.0"), _package("old", "1")]
    after = [_package("python", "3.11"), _package("tidy-util", "1.1"), _package("new", "2")]
    diff = package_diff(before, after)
    assert diff.added == (("new", "2"),)
    assert diff.removed == (("old", "1"),)
    assert diff.changed == (("tidy-util", "1.0=0", "1.1=0"),)
    assert package_diff(before, before).empty


def test_environment_file_refuses_pip_and_non_env_files(tmp_path: Path) -> None:
    good = tmp_path / "env.yml"
    good.write_text("channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy\n")
    assert environment_file(good) == (["conda-forge"], ["python=3.11", "numpy"])
    pip = tmp_path / "pip.yml"
    pip.write_text("dependencies:\n  - pip\n  - pip: [requests]\n")
    with pytest.raises(InputError, match="pip section"):
        environment_file(pip)
    bad = tmp_path / "bad.yml"
    bad.write_text("just: text\n")
    with pytest.raises(InputError, match="no dependencies list"):
        environment_file(bad)
