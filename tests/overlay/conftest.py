"""Fixtures for overlay tests: real Python environments (venvs marked as conda envs), wheels."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.overlay.packages import wheelhouse
from tests.roots import tree_digest, write_record
from tests.support.channel import base_interpreter


@dataclass(frozen=True)
class Env:
    """A read-only environment with real Python and pip, and its digest to prove it unchanged."""

    prefix: Path
    digest: str

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"


def make_env(path: Path, *, packages: tuple[str, ...] = (), wheels: Path | None = None) -> Env:
    """A venv of the machine's CPython with `conda-meta/` (what makes it a conda env to us),
    `packages` pip-installed from `wheels`, then made read-only."""
    with_pip = () if packages else ("--without-pip",)
    subprocess.run([str(base_interpreter()), "-m", "venv", *with_pip, str(path)], check=True)
    (path / "conda-meta").mkdir()
    (path / "conda-meta" / "history").write_text("")
    # the record conda leaves for python: readers take its site-packages as the env's own
    python = {"name": "python", "version": platform.python_version(), "build": "0"}
    write_record(path, {**python, "build_number": 0, "files": []})
    if packages:
        subprocess.run(
            [
                *(str(path / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index"),
                *("--disable-pip-version-check", "--find-links", str(wheels), *packages),
            ],
            check=True,
        )
    subprocess.run(["chmod", "-R", "a-w", str(path)], check=True)
    return Env(prefix=path, digest=tree_digest(path))


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wheelhouse(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="session")
def shared_env(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Iterator[Env]:
    """`it's shared` (a space and a quote in its path) with pip, tidy-util 1.0, helper-lib 1.0."""
    env = make_env(
        tmp_path_factory.mktemp("envs") / "it's shared",
        packages=("tidy-util==1.0", "helper-lib==1.0"),
        wheels=wheels,
    )
    yield env
    subprocess.run(["chmod", "-R", "u+w", str(env.prefix)], check=True)


@pytest.fixture(scope="session")
def other_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """Another env with the same Python version: it must never see the shared env's overlay."""
    env = make_env(tmp_path_factory.mktemp("envs") / "other")
    yield env
    subprocess.run(["chmod", "-R", "u+w", str(env.prefix)], check=True)


@pytest.fixture
def overlays_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's user overlays dir (a space and double quotes in it, for shell quoting)."""
    path = tmp_path / 'my "overlays"'
    monkeypatch.setenv("CONDA_PLUGINS_SHARED_OVERLAYS_DIR", str(path))
    monkeypatch.delenv("CONDA_SHARED_ROOT", raising=False)
    for name in ("PYTHONPATH", "CONDA_SHARED_OVERLAY_ENV", "CONDA_SHARED_OVERLAY_DIRS"):
        monkeypatch.delenv(name, raising=False)
    return path


def python_sees(python: Path, module: str, environ: dict[str, str] | None = None) -> str:
    """Where `python` imports `module` from, or 'missing'."""
    probe = (
        f"try:\n import {module} as m; print(m.__file__)\nexcept ImportError:\n print('missing')"
    )
    return subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=environ if environ is not None else dict(os.environ),
    ).stdout.strip()


def overlay_run(
    env: Path, *command: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`conda-shared overlay run ENV -- COMMAND` as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "conda_shared", "overlay", "run", str(env), "--", *command],
        check=False,
        capture_output=True,
        text=True,
        env=environ if environ is not None else dict(os.environ),
    )


def this_python() -> Path:
    """The Python running the tests: conda's own Python in tier 2."""
    return Path(sys.executable)
