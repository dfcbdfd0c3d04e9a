"""Run conda-shared as unprivileged users (setpriv), in folders those users can reach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
OTHER = 65533  # a second unprivileged user; it has no entry in the password database

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root (and setpriv) to run conda-shared as other users",
)


def setpriv(uid: int) -> list[str]:
    """The prefix that runs a command as `uid` (its own group, no supplementary groups)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


@contextmanager
def reachable_dir(prefix: str = "conda-shared-users-") -> Iterator[Path]:
    """A folder every user can enter (pytest's own tmp folders are private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
        shutil.rmtree(path, ignore_errors=True)


def home_of(base: Path, uid: int, *, mode: int = 0o755) -> Path:
    """A home folder for `uid` under `base`, owned by it."""
    home = base / f"home-{uid}"
    home.mkdir(exist_ok=True)
    os.chown(home, uid, uid)
    home.chmod(mode)
    return home


def run_as(
    uid: int,
    *argv: str,
    home: Path,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`conda-shared ARGV` run by `uid` with HOME at `home`, from `cwd` (default: `home`)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        **(environ or {}),
    }
    return subprocess.run(
        [*setpriv(uid), sys.executable, "-m", "conda_shared", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or home,
        check=False,
        timeout=timeout,
    )
