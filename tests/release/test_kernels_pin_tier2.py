"""Tier 2: `kernels pin` on a release built by real conda: the kernel runs that release's Python,
and keeps running it after envs/NAME is switched to a newer release."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.release.journal import point_at
from conda_shared.release.layout import current_release, release_prefix
from tests.support.channel import Channel
from tests.support.installation import run_in
from tests.support.releases import FIRST, managed_root

SECOND = "2026.12.02"

pytestmark = [pytest.mark.tier2, pytest.mark.slow]


def shared(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conda_shared", *args[:1], "--root", str(root), *args[1:]],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_pinned_kernel_stays_on_its_release(local_channel: Channel, tmp_path: Path) -> None:
    root, inst = managed_root(tmp_path, local_channel)
    pinned = shared(root, "kernels", "pin", "tools", FIRST)
    assert pinned.returncode == 0, pinned.stderr
    spec = json.loads((root / "kernels" / f"tools-{FIRST}" / "kernel.json").read_text())
    assert spec["display_name"] == f"tools ({FIRST})"
    python = spec["argv"][0]
    assert python == str(root / "v1" / "envs" / ".releases" / "tools" / FIRST / "bin" / "python")
    # a second release, made the way managed_root makes the first, and switched to
    second = release_prefix(inst, "tools", SECOND)
    made = run_in(inst, "-m", "conda", "create", "-y", "-p", second, "python", "tidy-util=1.1",
                  home=tmp_path / "home")  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    point_at(inst, "tools", SECOND)
    assert current_release(inst, "tools") == SECOND
    ran = subprocess.run(
        [python, "-c", "import sys, tidy_util; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert Path(ran.stdout.strip()).resolve() == release_prefix(inst, "tools", FIRST).resolve()
    listed = json.loads(shared(root, "kernels", "--json").stdout)
    assert [(k["name"], k["release"]) for k in listed["kernels"]] == [(f"tools-{FIRST}", FIRST)]
