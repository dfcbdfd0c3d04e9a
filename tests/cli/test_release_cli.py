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


def test_a_plain_env_names_adopt(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "v1" / "conda-meta").mkdir(parents=True)
    (root / "v1" / "envs" / "ds" / "conda-meta").mkdir(parents=True)
    (root / "current").symlink_to("v1")
    result = _cli("ds", "--add", "x", "--yes", "--root", str(root))
    assert result.returncode == 2
    assert result.stderr.strip().endswith(f"release --root {root} ds --adopt --from v1")
