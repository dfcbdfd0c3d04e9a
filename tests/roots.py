"""Helpers the tests share: realistic shared roots in tmp_path, tree digests, the CLI in-process."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import sys
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


class _Terminal(io.StringIO):
    """Standard input that is a terminal holding the answers a user types."""

    def isatty(self) -> bool:
        return True


def printed_commands(text: str) -> list[str]:
    """Every `conda-shared ...` command a message prints (up to a comma, backtick or line end)."""
    return [match.strip() for match in re.findall(r"(?<![\w-])conda-shared [^,`\n]+", text)]


def paste(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    *,
    answer: str = "y",
) -> CliResult:
    """Run a printed `conda-shared ...` command as a user pasting it on a terminal would."""
    words = shlex.split(command)
    assert words[0] == "conda-shared", command
    monkeypatch.setattr(sys, "stdin", _Terminal(f"{answer}\n"))
    return run_cli(capsys, *words[1:])


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
