"""installation.py: an installation's versions, config and environments, read from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_shared.errors import InputError, SharedError
from conda_shared.installation import (
    EnvLocation,
    assign_keys,
    env_key,
    owning_installation,
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


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "", "-n", "a\\b", "a\nb", "a\x1bb"])
def test_bad_env_names(name: str) -> None:
    with pytest.raises(InputError, match="not a valid environment name"):
        validate_env_name(name)


@pytest.mark.parametrize("name", ["isis3.6.0", "nhis_reformat", "py-3.11", "R env"])
def test_good_env_names(name: str) -> None:
    assert validate_env_name(name) == name


def _installation_with_extra_envs_dir(tmp_path: Path) -> tuple[Path, Path]:
    inst = make_installation(tmp_path / "inst")
    extra = tmp_path / "extra envs"
    (inst / ".condarc").write_text(f"envs_dirs:\n  - {extra}\n")
    return inst, extra


def test_same_name_in_two_envs_dirs_gets_two_keys(tmp_path: Path) -> None:
    inst, extra = _installation_with_extra_envs_dir(tmp_path)
    first = make_installation(inst / "envs" / "analysis")
    second = make_installation(extra / "analysis")
    make_installation(extra / "Analysis")  # a distinct file name only where case counts
    make_installation(extra / "base")
    envs = read_installation(inst).envs
    keys = [e.key for e in envs]
    assert len(set(keys)) == len(keys) == 5
    assert len({k.casefold() for k in keys}) == 5
    by_prefix = {e.prefix: e for e in envs}
    assert by_prefix[first].key == "analysis"  # the one `conda activate analysis` picks
    assert by_prefix[second].key.startswith("analysis~")
    assert keys[0] == "base"
    found = read_installation(inst)
    assert found.find_env("analysis") == by_prefix[first]
    assert found.find_env(by_prefix[second].key) == by_prefix[second]
    assert read_installation(inst).envs == envs  # stable from run to run


def test_an_inventory_entry_maps_to_the_export_key_of_that_env(tmp_path: Path) -> None:
    inst, extra = _installation_with_extra_envs_dir(tmp_path)
    first = make_installation(inst / "envs" / "analysis")
    second = make_installation(extra / "analysis")
    (tmp_path / "link").symlink_to(extra)
    found = read_installation(inst)
    second_key = next(e.key for e in found.envs if e.prefix == second)
    assert second_key.startswith("analysis~")
    assert env_key(found, str(first)) == "analysis"
    assert env_key(found, str(second)) == second_key
    assert env_key(found, str(tmp_path / "link" / "analysis")) == second_key, "any route"
    assert env_key(found, "analysis") == "analysis"
    assert env_key(found, second_key) == second_key
    gone = str(tmp_path / "gone" / "analysis")  # a third env of the name, removed since
    assert env_key(found, gone).startswith("analysis~") and env_key(found, gone) != second_key
    assert env_key(found, str(tmp_path / "gone" / "solo")) == "solo"
    with pytest.raises(InputError, match="'/' is not a valid environment name"):
        env_key(found, "/")


def test_assign_keys_avoids_keys_already_taken(tmp_path: Path) -> None:
    location = EnvLocation(name="tools", prefix=tmp_path / "tools", found_in="path")
    assert location.key == "tools"
    (keyed,) = assign_keys([location], taken=["TOOLS"])
    assert keyed.key.startswith("tools~") and keyed.prefix == location.prefix


def test_owning_installation(tmp_path: Path) -> None:
    inst = make_installation(tmp_path / "inst")
    inside = make_installation(inst / "envs" / "a")
    assert owning_installation(inside) == inst.resolve()
    made = make_installation(tmp_path / "projects" / "b")
    (made / "conda-meta" / "history").write_text(
        f"==> 2024-01-02 10:00:00 <==\n# cmd: {inst}/bin/conda create -p {made}\n"
    )
    assert owning_installation(made) == inst.resolve()
    assert owning_installation(make_installation(tmp_path / "lone")) is None


def test_an_env_reached_by_two_paths_is_one_env(tmp_path: Path) -> None:
    inst, extra = _installation_with_extra_envs_dir(tmp_path)
    make_installation(inst / "envs" / "analysis")
    extra.mkdir()
    (extra / "analysis").symlink_to(inst / "envs" / "analysis")
    (extra / "alias").symlink_to(inst / "envs" / "analysis")
    envs = read_installation(inst).envs
    assert [(e.name, e.key) for e in envs] == [("base", "base"), ("analysis", "analysis")]
