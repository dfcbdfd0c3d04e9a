"""`conda-shared release` usage mistakes: one line, exit 2, nothing changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conda_shared", "release", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (("ds",), "release NAME needs a change"),
        (("ds", "extra"), "release takes one environment name"),
        (("list", "ds", "--add", "x"), "does not go with release list"),
        (("ds", "--add", "x", "--keep", "2"), "--keep does not go with release release"),
        (("prune", "ds"), "prune needs --keep N"),
        (("rebuild", "ds"), "release takes one environment name"),
    ],
)
def test_usage_mistakes_are_one_line(tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    (tmp_path / "conda-meta").mkdir()
    result = _cli(*args, "--root", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_plain_env_is_adopted_first_and_a_failed_rebuild_changes_nothing(
    tmp_path: Path,
) -> None:
    """`release NAME --add` on a plain env adopts it first; here the installation's conda
    cannot run, so the rebuild fails and the plain folder stays as it was."""
    root = tmp_path / "root"
    (root / "v1" / "conda-meta").mkdir(parents=True)
    (root / "v1" / "envs" / "ds" / "conda-meta").mkdir(parents=True)
    (root / "current").symlink_to("v1")
    result = _cli("ds", "--add", "x", "--yes", "--root", str(root))
    assert result.returncode == 1
    assert result.stdout.startswith("FAILED (other): ") and "ds is unchanged" in result.stdout
    assert (root / "v1" / "envs" / "ds").is_dir() and not (root / "v1" / "envs" / "ds").is_symlink()
    releases = root / "v1" / "envs" / ".releases" / "ds"
    assert not [p for p in releases.iterdir() if not p.name.startswith(".")]


def test_a_bad_spec_is_refused_before_a_plain_env_is_adopted(tmp_path: Path) -> None:
    from tests.roots import make_sample

    root = make_sample(tmp_path)
    result = _cli("isis3.6.0", "--add", "bad spec!!", "--root", str(root), "--yes")
    assert result.returncode == 2, result.stderr
    assert "--add 'bad spec!!' is not a package spec" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (root / "v24.11" / "envs" / ".releases").exists()
    assert (root / "v24.11" / "envs" / "isis3.6.0").is_dir()
    assert not (root / "v24.11" / "envs" / "isis3.6.0").is_symlink()
