"""installation.py: an installation's versions, config and environments, read from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_shared.errors import InputError, SharedError
from conda_shared.installation import (
    package_version,
    read_installation,
    validate_env_name,
)
from tests.roots import make_installation, make_sample, write_record


def test_sample_installation(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    inst = read_installation(root / "current")
    assert inst.name == "v24.11"
    assert inst.path == (root / "v24.11").resolve()
    assert (inst.conda_version, inst.python_version, inst.platform) == (
        "24.11.3",
        "3.12.7",
        "linux-64",
    )
    assert inst.conda_shared_version == "0.1.0"
    names = [env.name for env in inst.envs]
    assert names[0] == "base"
    assert "proj_alpha" in names  # from envs_dirs in the installation's own .condarc
    assert inst.find_env("isis3.6.0") is not None
    assert inst.find_env("nope") is None


def test_pip_installed_conda_version_from_dist_info(tmp_path: Path) -> None:
    prefix = tmp_path / "venv"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").write_text("")
    (prefix / "lib/python3.11/site-packages/conda-24.11.3.dist-info").mkdir(parents=True)
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    inst = read_installation(prefix)
    assert inst.conda_version == "24.11.3"
    assert inst.python_version == "3.11.7"


def test_package_version_ignores_lookalike_names(tmp_path: Path) -> None:
    prefix = make_installation(tmp_path / "inst", conda_version="24.3.0")
    write_record(prefix, {"name": "conda-build", "version": "3.28.0", "build": "py_0"})
    write_record(prefix, {"name": "conda-libmamba-solver", "version": "24.1.0", "build": "py_0"})
    assert package_version(prefix, "conda") == "24.3.0"
    assert package_version(prefix, "conda-build") == "3.28.0"


def test_environments_txt_adds_envs_this_installation_created(tmp_path: Path) -> None:
    inst = make_installation(tmp_path / "inst")
    (inst / "bin").mkdir()
    (inst / "bin" / "conda").write_text("")
    mine = make_installation(tmp_path / "projects" / "mine")
    (mine / "conda-meta" / "history").write_text(
        f"==> 2024 <==\n# cmd: {inst}/bin/conda create -p {mine}\n"
    )
    theirs = make_installation(tmp_path / "projects" / "theirs")
    (theirs / "conda-meta" / "history").write_text("==> 2024 <==\n# cmd: /other/bin/conda create\n")
    listing = tmp_path / "environments.txt"
    listing.write_text(f"{mine}\n{theirs}\n/does/not/exist\n")
    envs = read_installation(inst, registered=[listing]).envs
    assert [(e.name, e.found_in) for e in envs] == [("base", "base"), ("mine", "environments.txt")]


def test_not_an_installation(tmp_path: Path) -> None:
    with pytest.raises(SharedError, match="does not exist"):
        read_installation(tmp_path / "missing")
    with pytest.raises(SharedError, match="no conda-meta/"):
        read_installation(tmp_path)


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "", "-n", "a\\b"])
def test_bad_env_names(name: str) -> None:
    with pytest.raises(InputError, match="not a valid environment name"):
        validate_env_name(name)


@pytest.mark.parametrize("name", ["isis3.6.0", "nhis_reformat", "py-3.11", "R env"])
def test_good_env_names(name: str) -> None:
    assert validate_env_name(name) == name
