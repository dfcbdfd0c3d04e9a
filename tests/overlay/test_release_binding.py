"""An overlay of a release-managed env binds to its pointer (envs/NAME), so a new release keeps
it applied, and `overlay check` then says the env changed under it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conda_shared.overlay.locate import resolve_env
from tests.overlay.conftest import make_env, overlay_run
from tests.roots import run_cli

Capsys = pytest.CaptureFixture[str]
FIRST, SECOND = "2026.12.07", "2026.12.07a"


def offline(wheels: Path) -> list[str]:
    return ["--", "--no-index", "--find-links", str(wheels)]


def switch(pointer: Path, release_id: str) -> None:
    temp = pointer.with_name(".ds.tmp")
    temp.symlink_to(f".releases/ds/{release_id}")
    os.replace(temp, pointer)


def test_a_new_release_keeps_the_overlay_applied_and_check_flags_it(
    tmp_path: Path, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    envs = tmp_path / "inst" / "envs"
    make_env(envs / ".releases" / "ds" / FIRST, packages=("helper-lib==1.0",), wheels=wheels)
    second = ("helper-lib==1.0", "tidy-util==1.0")
    make_env(envs / ".releases" / "ds" / SECOND, packages=second, wheels=wheels)
    pointer = envs / "ds"
    switch(pointer, FIRST)
    for given in (str(pointer), str(envs / ".releases" / "ds" / FIRST)):
        env = resolve_env(given, root=None, installation=None)
        assert (env.prefix, env.name) == (pointer, "ds")
    installed = run_cli(capsys, "overlay", "install", str(pointer), "fresh-tool", *offline(wheels))
    assert installed.code == 0, installed.err
    switch(pointer, SECOND)
    ran = overlay_run(pointer, "python", "-c", "import fresh_tool; print('found')")
    assert ran.stdout.strip() == "found", ran.stderr
    checked = run_cli(capsys, "overlay", "check", str(pointer), "--json").json()
    assert any(f"the env {pointer} changed since" in w for w in checked["warnings"])
