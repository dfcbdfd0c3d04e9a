"""A root whose installation has a release-managed env, built by its own conda (tier 2)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tests.support.channel import Channel
from tests.support.installation import make_installation, run_in

FIRST = "2026.12.01"


def managed_root(
    tmp_path: Path, channel: Channel, *, name: str = "tools", specs: Sequence[str] = ()
) -> tuple[Path, Path]:
    """ROOT (current -> v1) and its installation v1, where envs/NAME is the relative link to
    release FIRST, created at that path by the installation's conda (no adoption needed)."""
    root = tmp_path / "root"
    root.mkdir()
    inst = make_installation(
        root / "v1", channel_urls=[channel.url], work=tmp_path, with_conda_shared=True
    )
    (root / "current").symlink_to("v1")
    # `conda run` and the shell hook call bin/conda, which an installer writes and the test
    # installation (conda through a .pth) lacks
    conda = inst / "bin" / "conda"
    conda.write_text(f'#!/bin/sh\nexec {inst / "bin" / "python"} -m conda "$@"\n')
    conda.chmod(0o755)
    prefix = inst / "envs" / ".releases" / name / FIRST
    created = run_in(
        inst,
        "-m",
        "conda",
        "create",
        "-y",
        "-p",
        prefix,
        *(specs or ("python", "pip", "tidy-util=1.0")),
        home=tmp_path / "home",
    )
    assert created.returncode == 0, created.stdout + created.stderr
    os.symlink(f".releases/{name}/{FIRST}", inst / "envs" / name)
    return root, inst
