"""Helpers the tests share: realistic shared roots in tmp_path, tree digests, the CLI in-process."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from conda_shared.cli import main
from conda_shared.sample import build_sample


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.out)


def make_sample(tmp_path: Path, name: str = "root") -> Path:
    """A fresh copy of the built-in sample root (two installations, a dozen envs)."""
    return build_sample(destination=tmp_path / name).root


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    """Run `conda-shared ARGV` in-process, as a user would, and capture what it printed."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def tree_digest(root: Path) -> str:
    """A digest of every name, mode, link target and file content under `root`."""
    digest = hashlib.sha256()
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(directory, name)
            info = path.lstat()
            digest.update(f"{path.relative_to(root)}:{info.st_mode:o}".encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def write_record(prefix: Path, record: dict) -> Path:  # type: ignore[type-arg]
    """Write one conda-meta record the way conda names it."""
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    path = meta / f"{record['name']}-{record['version']}-{record['build']}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def make_installation(path: Path, *, conda_version: str = "26.7.1") -> Path:
    """A minimal installation: conda-meta with a conda record, envs/ and a history."""
    write_record(
        path,
        {
            "name": "conda",
            "version": conda_version,
            "build": "py312_0",
            "build_number": 0,
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            "subdir": "linux-64",
            "url": f"https://conda.anaconda.org/conda-forge/linux-64/conda-{conda_version}-py312_0.conda",
            "md5": "0" * 32,
            "files": [],
        },
    )
    (path / "conda-meta" / "history").write_text("")
    (path / "envs").mkdir(exist_ok=True)
    return path
