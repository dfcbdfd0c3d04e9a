"""Tier 2: conda builds the exported conda-lock file, and `conda export` speaks our formats."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from conda_shared.export import export_envs
from tests.support.channel import build_wheel
from tests.support.conda_runner import CondaRunner

pytestmark = [pytest.mark.tier2, pytest.mark.slow]

PIP_OFFLINE = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def make_root(conda_run: CondaRunner, root: Path, *specs: str) -> Path:
    """A shared root whose one installation holds env `lab`, built by real conda."""
    installation = root / "v1"
    (installation / "conda-meta").mkdir(parents=True)
    (installation / "conda-meta" / "history").write_text("")
    (root / "current").symlink_to("v1")
    prefix = installation / "envs" / "lab"
    conda_run("create", "-p", prefix, *specs)
    return prefix


def conda_packages(conda_run: CondaRunner, prefix: Path) -> set[tuple[str, str, str, str]]:
    rows = conda_run.json("list", "-p", prefix)
    return {(r["name"], r["version"], r["build_string"], r["channel"]) for r in rows}


@pytest.mark.conda_at_least("26.3")  # conda-lockfiles needs conda's EnvironmentFormat
def test_conda_creates_the_same_env_from_the_conda_lock_file(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    assert importlib.util.find_spec("conda_lockfiles"), (
        "conda-lockfiles is not installed next to this conda: .ci/conda-from-wheels installs it"
    )
    # Without pip packages: conda-lockfiles 0.2.2 rejects pip entries in either spelling.
    prefix = make_root(conda_run, tmp_path / "root", "python", "tidy-util=1.0", "libdata")
    result = export_envs(root=tmp_path / "root", names=["lab"])
    assert result.ok, result.envs
    target = tmp_path / "from-conda-lock"
    conda_run("create", "-p", target, "--file", result.out_dir / "lab.conda-lock.yml")
    source = conda_packages(conda_run, prefix)
    assert {row[0] for row in source} >= {"python", "tidy-util", "libdata", "pip"}
    assert conda_packages(conda_run, target) == source


@pytest.fixture
def env_with_pip(conda_run: CondaRunner, tmp_path: Path) -> tuple[Path, Path]:
    """A root with env `lab` (conda packages and a pip-installed wheel) and its export dir."""
    root = tmp_path / "root"
    prefix = make_root(conda_run, root, "python", "pip", "tidy-util=1.0")
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    build_wheel(wheelhouse, "pyreadstat", "1.2.7")
    subprocess.run(
        [
            prefix / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--find-links",
            wheelhouse,
            "pyreadstat==1.2.7",
        ],
        check=True,
        capture_output=True,
        env=conda_run.environ(PIP_OFFLINE),
        cwd=tmp_path,
    )
    result = export_envs(root=root, names=["lab"])
    assert result.ok, result.envs
    return prefix, result.out_dir


@pytest.mark.conda_at_least("25.7")  # the environment exporter hook
def test_conda_export_writes_the_manifest_and_loose_intent_with_pip(
    conda_run: CondaRunner, env_with_pip: tuple[Path, Path]
) -> None:
    prefix, exported = env_with_pip
    manifest = conda_run("export", "-p", prefix, "--format", "conda-shared-manifest").stdout
    assert json.loads(manifest) == json.loads((exported / "lab.json").read_text())
    loose = conda_run("export", "-p", prefix, "--format", "shared-history").stdout
    assert loose == (exported / "lab.history.yml").read_text()
    assert "pyreadstat" in loose
    # On the active env, and by file name; conda-lockfiles' formats still load beside ours.
    written = exported.parent / "active.history.yml"
    conda_run("export", "--file", written, env_overrides={"CONDA_PREFIX": str(prefix)})
    assert written.read_text() == loose
    formats = conda_run("export", "--help").stdout
    assert "conda-shared-manifest" in formats and "conda-shared-history" in formats
