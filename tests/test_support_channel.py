"""The local channel builder writes archives conda accepts, and real conda installs from them."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.channel import (
    TIMESTAMP_MS,
    Channel,
    Member,
    Symlink,
    base_interpreter,
    build_wheel,
    bundled_pip_wheel,
    host_subdir,
)
from tests.support.conda_runner import CondaRunner

SHORT_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _tar_members(data: bytes) -> dict[str, Member]:
    members: dict[str, Member] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar:
            if info.issym():
                members[info.name] = Symlink(info.linkname)
            else:
                extracted = tar.extractfile(info)
                assert extracted is not None, info.name
                members[info.name] = extracted.read()
    return members


def _archive_members(path: Path) -> dict[str, Member]:
    """Every member of a .tar.bz2, or of both parts of a .conda, by path."""
    if path.name.endswith(".tar.bz2"):
        return _tar_members(path.read_bytes())
    zstandard = pytest.importorskip("zstandard")
    members: dict[str, Member] = {}
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("metadata.json")) == {"conda_pkg_format_version": 2}
        for part in archive.namelist():
            if part.endswith(".tar.zst"):
                tar = zstandard.ZstdDecompressor().decompress(archive.read(part))
                members.update(_tar_members(tar))
    return members


def _json_member(members: dict[str, Member], path: str) -> Any:
    content = members[path]
    assert isinstance(content, bytes), path
    return json.loads(content)


def test_noarch_python_package_carries_conda_metadata(tmp_path: Path) -> None:
    channel = Channel(tmp_path)
    package = channel.add_python_dist("tidy-util", "1.0", build="py_0", depends=("python >=3.8",))

    members = _archive_members(package.path)

    assert package.path == tmp_path / "noarch" / "tidy-util-1.0-py_0.tar.bz2"
    assert _json_member(members, "info/index.json") == {
        "name": "tidy-util",
        "version": "1.0",
        "build": "py_0",
        "build_number": 0,
        "depends": ["python >=3.8"],
        "noarch": "python",
        "subdir": "noarch",
        "timestamp": TIMESTAMP_MS,
    }
    assert _json_member(members, "info/link.json") == {
        "noarch": {"type": "python", "entry_points": []},
        "package_metadata_version": 1,
    }
    payload = sorted(path for path in members if not path.startswith("info/"))
    files = members["info/files"]
    assert isinstance(files, bytes)
    assert files.decode().splitlines() == payload
    assert members["site-packages/tidy_util/__init__.py"] == b'__version__ = "1.0"\n'
    assert members["site-packages/tidy_util-1.0.dist-info/INSTALLER"] == b"conda\n"


def test_paths_json_describes_every_member(tmp_path: Path) -> None:
    channel = Channel(tmp_path)
    python = channel.add_python()
    members = _archive_members(python.path)
    paths = _json_member(members, "info/paths.json")

    assert paths["paths_version"] == 1
    assert sorted(entry["_path"] for entry in paths["paths"]) == sorted(
        path for path in members if not path.startswith("info/")
    )
    interpreter = base_interpreter().read_bytes()
    for entry in paths["paths"]:
        member = members[entry["_path"]]
        if isinstance(member, Symlink):
            assert entry["path_type"] == "softlink"
            content = interpreter  # conda-build describes a link by what it resolves to
        else:
            assert entry["path_type"] == "hardlink"
            content = member
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), entry["_path"]
        assert entry["size_in_bytes"] == len(content), entry["_path"]


def test_python_package_is_a_venv_of_the_running_interpreter(tmp_path: Path) -> None:
    python = Channel(tmp_path).add_python()
    members = _archive_members(python.path)

    assert python.subdir == host_subdir()
    assert python.version == ".".join(map(str, sys.version_info[:3]))
    pyvenv = members["pyvenv.cfg"]
    assert isinstance(pyvenv, bytes)
    assert pyvenv.decode().splitlines() == [
        f"home = {base_interpreter().parent}",
        "include-system-site-packages = false",
        f"version = {python.version}",
    ]
    link = Symlink(str(base_interpreter()))
    for name in ("python", "python3", f"python{SHORT_VERSION}"):
        assert members[f"bin/{name}"] == link
    assert f"lib/python{SHORT_VERSION}/site-packages/README.txt" in members


def test_pip_package_unpacks_the_bundled_wheel_as_conda_forge_does(tmp_path: Path) -> None:
    wheel = bundled_pip_wheel()
    pip = Channel(tmp_path).add_pip()
    members = _archive_members(pip.path)

    assert wheel.name.startswith(f"pip-{pip.version}-")
    assert _json_member(members, "info/index.json")["depends"] == ["python"]
    assert _json_member(members, "info/link.json")["noarch"]["entry_points"] == [
        "pip = pip._internal.cli.main:main",
        "pip3 = pip._internal.cli.main:main",
    ]
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("pip/__init__.py") == members["site-packages/pip/__init__.py"]
    assert members[f"site-packages/pip-{pip.version}.dist-info/INSTALLER"] == b"conda\n"


def test_repodata_matches_the_archives(tmp_path: Path) -> None:
    channel = Channel(tmp_path, subdir="linux-64")
    added = [
        channel.add("libdata", "2.0", files={"share/libdata/data.txt": b"2.0\n"}),
        channel.add("meta-only", "1", depends=("libdata >=2",)),
        channel.add_python_dist("tidy-util", "1.1"),
    ]
    channel.index()

    entries: dict[str, dict[str, Any]] = {}
    for subdir in ("linux-64", "noarch"):
        repodata = json.loads((tmp_path / subdir / "repodata.json").read_text())
        assert repodata["info"] == {"subdir": subdir}
        entries.update({f"{subdir}/{fn}": record for fn, record in repodata["packages"].items()})
    assert sorted(entries) == sorted(f"{p.subdir}/{p.fn}" for p in added)
    for package in added:
        data = package.path.read_bytes()
        record = entries[f"{package.subdir}/{package.fn}"]
        assert record["md5"] == hashlib.md5(data).hexdigest()
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["size"] == len(data)
        assert record["timestamp"] == TIMESTAMP_MS
    assert entries["linux-64/meta-only-1-0.tar.bz2"]["depends"] == ["libdata >=2"]
    assert channel.url == tmp_path.resolve().as_uri()


def test_conda_format_holds_info_and_pkg_parts(tmp_path: Path) -> None:
    pytest.importorskip("zstandard")
    channel = Channel(tmp_path)
    package = channel.add_python_dist("zeta", "0.3", fmt=".conda")
    channel.index()

    members = _archive_members(package.path)

    assert package.fn == "zeta-0.3-0.conda"
    assert _json_member(members, "info/index.json")["name"] == "zeta"
    assert "site-packages/zeta/__init__.py" in members
    repodata = json.loads((tmp_path / "noarch" / "repodata.json").read_text())
    assert repodata["packages.conda"]["zeta-0.3-0.conda"]["sha256"] == package.sha256


def test_archives_are_reproducible(tmp_path: Path) -> None:
    first = Channel(tmp_path / "a").add_python_dist("tidy-util", "1.0")
    second = Channel(tmp_path / "b").add_python_dist("tidy-util", "1.0")

    assert first.sha256 == second.sha256


def test_build_wheel_records_every_member(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "pip-only", "0.2")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        record = archive.read("pip_only-0.2.dist-info/RECORD").decode().splitlines()
    assert wheel.name == "pip_only-0.2-py3-none-any.whl"
    assert {line.split(",")[0] for line in record} == names
    assert "pip_only-0.2.dist-info/INSTALLER" not in names  # pip writes its own


def test_add_refuses_duplicates_and_entry_points_outside_noarch_python(tmp_path: Path) -> None:
    channel = Channel(tmp_path)
    channel.add("libdata", "2.0")

    with pytest.raises(ValueError, match="already in the channel"):
        channel.add("libdata", "2.0")
    with pytest.raises(ValueError, match="noarch='python'"):
        channel.add("tool", "1.0", entry_points=("tool = tool:main",))


def _run_python(conda_run: CondaRunner, python: Path, *args: str | Path) -> str:
    """Run an environment's python in the sandbox's environment (no user pip config)."""
    return subprocess.run(
        [python, *args], env=conda_run.environ(), capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.tier2
@pytest.mark.slow
def test_conda_creates_an_env_with_python_and_pip_offline(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    env = tmp_path / "env"

    conda_run("create", "-p", env, "python", "pip", "tidy-util=1.0")

    python = env / "bin" / "python"
    site = env / "lib" / f"python{SHORT_VERSION}" / "site-packages"
    prefix = _run_python(
        conda_run, python, "-c", "import sys, tidy_util; print(sys.prefix)"
    ).strip()
    assert Path(prefix).samefile(env)
    pip_version = _run_python(conda_run, python, "-m", "pip", "--version")
    assert pip_version.startswith("pip ")
    assert f" from {site / 'pip'} " in pip_version
    assert (env / "bin" / "pip").read_text().startswith(f"#!{env}/bin/python")
    assert list((site / "tidy_util" / "__pycache__").glob("__init__.cpython-*.pyc"))
    listed = {record["name"]: record for record in conda_run.json("list", "-p", env)}
    assert {"python", "pip", "tidy-util"} <= set(listed)
    assert listed["tidy-util"]["version"] == "1.0"


@pytest.mark.tier2
@pytest.mark.slow
def test_pip_installs_a_built_wheel_offline_and_conda_lists_it_as_pypi(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    env = tmp_path / "env"
    conda_run("create", "-p", env, "python", "pip")
    wheel = build_wheel(tmp_path / "wheels", "pip-only", "0.2")

    _run_python(
        conda_run, env / "bin" / "python", "-m", "pip", "install", "--no-index", "--no-deps", wheel
    )

    site = env / "lib" / f"python{SHORT_VERSION}" / "site-packages"
    assert (site / "pip_only-0.2.dist-info" / "INSTALLER").read_text() == "pip\n"
    listed = {record["name"]: record for record in conda_run.json("list", "-p", env)}
    assert listed["pip-only"]["channel"] == "pypi"
    assert listed["pip"]["channel"] != "pypi"


@pytest.mark.tier2
@pytest.mark.slow
def test_conda_installs_dot_conda_archives_from_a_second_channel(
    conda_run: CondaRunner, local_channel: Channel, tmp_path: Path
) -> None:
    extra = Channel(tmp_path / "extra")
    extra.add_python_dist("zeta", "0.3", fmt=".conda")
    extra.index()
    env = tmp_path / "env"

    conda_run(
        "create",
        "-p",
        env,
        "--override-channels",
        "-c",
        local_channel.url,
        "-c",
        extra.url,
        "python",
        "zeta",
    )

    listed = {record["name"]: record for record in conda_run.json("list", "-p", env)}
    assert listed["zeta"]["channel"] == "extra"
    assert (env / "lib" / f"python{SHORT_VERSION}" / "site-packages" / "zeta").is_dir()
