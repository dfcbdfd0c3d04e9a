"""Tier 2: export agrees with conda's own exports, and conda rebuilds the same env from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conda_shared.export import export_envs
from conda_shared.prefix import normalize_name
from tests.conftest import CONDA_VERSION
from tests.support.channel import Channel, build_wheel
from tests.support.conda_runner import CondaRunner

pytestmark = [pytest.mark.tier2, pytest.mark.slow]

PIP_OFFLINE = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def installed(conda_run: CondaRunner, prefix: Path) -> set[tuple[str, str, str]]:
    rows = conda_run.json("list", "-p", prefix)
    return {(normalize_name(r["name"]), r["version"], r["channel"]) for r in rows}


@pytest.fixture(scope="module")
def source_root(
    conda_run: CondaRunner, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """A root whose installation holds an env real conda built, with pip packages on top."""
    root = tmp_path_factory.mktemp("parity-root")
    installation = root / "v1"
    (installation / "conda-meta").mkdir(parents=True)
    (installation / "conda-meta" / "history").write_text("")
    (root / "current").symlink_to("v1")
    prefix = installation / "envs" / "parity"
    conda_run("create", "-p", prefix, "python", "pip", "tidy-util=1.0", "libdata")
    wheelhouse = root / "wheelhouse"
    wheelhouse.mkdir()
    build_wheel(wheelhouse, "pyreadstat", "1.2.7")
    local = root / "src" / "localtool"
    (local / "localtool").mkdir(parents=True)
    (local / "localtool" / "__init__.py").write_text("")
    build_wheel(local, "localtool", "0.4")
    python = str(prefix / "bin" / "python")
    import subprocess

    env = conda_run.environ(PIP_OFFLINE)
    subprocess.run(
        [python, "-m", "pip", "install", "--find-links", str(wheelhouse), "pyreadstat==1.2.7"],
        check=True,
        env=env,
        capture_output=True,
    )
    wheel = next(local.glob("localtool-*.whl"))
    subprocess.run(
        [python, "-m", "pip", "install", str(wheel)], check=True, env=env, capture_output=True
    )
    return root, prefix


def conda_at_least(major: int, minor: int) -> bool:
    return tuple(int(x) for x in re.findall(r"\d+", CONDA_VERSION or "0")[:2]) >= (major, minor)


# conda reads `#sha256` in @EXPLICIT files from 24.9 on; older ones need the md5 lock.
LOCK_HASH = "sha256" if conda_at_least(24, 9) else "md5"


@pytest.fixture(scope="module")
def exported(source_root: tuple[Path, Path]) -> Path:
    root, _ = source_root
    result = export_envs(root=root, names=["parity"], lock_hash=LOCK_HASH)
    assert result.ok, result.envs
    return result.out_dir


def test_pinned_yaml_matches_conda_env_export(
    conda_run: CondaRunner, source_root: tuple[Path, Path], exported: Path
) -> None:
    _, prefix = source_root
    theirs = YAML(typ="safe").load(conda_run("env", "export", "-p", prefix, "--no-builds").stdout)
    ours = YAML(typ="safe").load((exported / "parity.yml").read_text())

    def split(deps: list) -> tuple[set[str], set[str]]:  # type: ignore[type-arg]
        conda = {d for d in deps if isinstance(d, str)}
        pip = {p for d in deps if isinstance(d, dict) for p in d["pip"]}
        return conda, pip

    their_conda, their_pip = split(theirs["dependencies"])
    our_conda, our_pip = split(ours["dependencies"])
    assert our_conda == their_conda
    manifest = json.loads((exported / "parity.json").read_text())
    our_pip_versions = {f"{normalize_name(p['name'])}=={p['version']}" for p in manifest["pip"]}
    assert our_pip_versions == {
        normalize_name(p.split("==")[0]) + "==" + p.split("==")[1] for p in their_pip
    }
    assert "pyreadstat==1.2.7" in our_pip
    assert any(p.startswith("localtool @ file://") for p in our_pip)
    assert set(ours["channels"]) >= {c for c in theirs["channels"] if c.startswith("file:")}


def test_lock_matches_conda_list_explicit(
    conda_run: CondaRunner, source_root: tuple[Path, Path], exported: Path
) -> None:
    _, prefix = source_root
    theirs = conda_run("list", "-p", prefix, "--explicit", f"--{LOCK_HASH}").stdout
    ours = (exported / "parity.lock").read_text()

    def urls(text: str) -> set[str]:
        return {line for line in text.splitlines() if line and not line.startswith(("#", "@"))}

    assert urls(ours) == urls(theirs)
    assert all(len(u.split("#")[1]) == (64 if LOCK_HASH == "sha256" else 32) for u in urls(ours))


def test_conda_recreates_identical_env_from_lock(
    conda_run: CondaRunner, source_root: tuple[Path, Path], exported: Path, tmp_path: Path
) -> None:
    _, prefix = source_root
    target = tmp_path / "from-lock"
    conda_run("create", "-p", target, "--file", exported / "parity.lock")
    conda_only = {row for row in installed(conda_run, prefix) if row[2] != "pypi"}
    assert installed(conda_run, target) == conda_only


def test_conda_recreates_identical_env_from_pinned_yaml(
    conda_run: CondaRunner, source_root: tuple[Path, Path], exported: Path, tmp_path: Path
) -> None:
    root, prefix = source_root
    target = tmp_path / "from-yml"
    conda_run(
        "env",
        "create",
        "-p",
        target,
        "-f",
        exported / "parity.yml",
        env_overrides={**PIP_OFFLINE, "PIP_FIND_LINKS": str(root / "wheelhouse")},
    )
    assert installed(conda_run, target) == installed(conda_run, prefix)


def test_a_channel_and_root_in_paths_with_spaces_and_non_ascii_round_trip(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    channel = Channel(tmp_path / "site channels ä" / "mpc")
    channel.add("libspace", "1.0", files={"share/libspace/data.txt": b"libspace 1.0\n"})
    channel.index()
    root = tmp_path / "shared root ö"
    installation = root / "v1"
    (installation / "conda-meta").mkdir(parents=True)
    (installation / "conda-meta" / "history").write_text("")
    (root / "current").symlink_to("v1")
    prefix = installation / "envs" / "1.10"  # a name YAML would read as a number
    conda_run("create", "-p", prefix, "--override-channels", "-c", channel.url, "libspace")
    result = export_envs(root=root, names=["1.10"], lock_hash=LOCK_HASH)
    assert result.ok, result.envs
    assert {r.code for r in result.envs[0].risks} == {"custom-channel"}  # never channel-gone
    lock = (result.out_dir / "1.10.lock").read_text()
    theirs = conda_run("list", "-p", prefix, "--explicit", f"--{LOCK_HASH}").stdout

    def urls(text: str) -> set[str]:
        return {line for line in text.splitlines() if line and not line.startswith(("#", "@"))}

    assert urls(lock) == urls(theirs)
    pinned = YAML(typ="safe", pure=True).load((result.out_dir / "1.10.yml").read_text())
    assert pinned["name"] == "1.10"
    assert channel.url in pinned["channels"]
    from_lock = tmp_path / "from-lock"
    conda_run("create", "-p", from_lock, "--file", result.out_dir / "1.10.lock")
    from_yml = tmp_path / "from-yml"
    conda_run("env", "create", "-p", from_yml, "-f", result.out_dir / "1.10.yml")
    for target in (from_lock, from_yml):
        assert (target / "share/libspace/data.txt").read_text() == "libspace 1.0\n"
