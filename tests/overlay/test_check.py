"""`overlay check`: broken requirements across env + overlay, imports, and env drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.overlay.conftest import Env
from tests.roots import run_cli

Capsys = pytest.CaptureFixture[str]


def test_check_reports_unmet_requirements_and_env_drift(
    shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    # --no-deps (a pip option the user chose) leaves tidy-util 1.2 without helper-lib>=2
    installed = run_cli(
        capsys, "overlay", "install", env, "tidy-util==1.2",
        "--", "--no-deps", "--no-index", "--find-links", str(wheels),
    )  # fmt: skip
    assert installed.code == 0
    problem = "tidy-util 1.2 has requirement helper-lib>=2, but you have helper-lib 1.0."
    assert f"warning: {problem}" in installed.out
    checked = run_cli(capsys, "overlay", "check", env)
    assert checked.code == 1
    assert f"  pip check: {problem}" in checked.out
    assert "  ok     import tidy_util (tidy-util): " in checked.out
    assert checked.out.rstrip().endswith("problems found")
    # the env changes underneath (its content key differs from the one recorded)
    overlay = overlays_dir / "it's shared"
    meta = overlay / "overlay.json"
    recorded = json.loads(meta.read_text())
    meta.write_text(json.dumps({**recorded, "env_content_key": "sha256:0000"}))
    drift = run_cli(capsys, "overlay", "check", env, "--json").json()
    assert drift["warnings"] == [
        f"the env {shared_env.prefix} changed since {overlay} was last "
        f"changed (content key sha256:0000 then, {recorded['env_content_key'][:19]} now): "
        "re-install what the overlay needs, then run this check again"
    ]
    fixed = run_cli(capsys, "overlay", "install", env, "helper-lib>=2", "--", "--no-index",
                    "--find-links", str(wheels))  # fmt: skip
    assert fixed.code == 0
    assert run_cli(capsys, "overlay", "check", env).code == 0
