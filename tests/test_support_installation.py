"""The test installation factory: its own conda runs, offline, with or without conda-shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.channel import Channel
from tests.support.installation import make_installation, run_in


@pytest.mark.tier2
def test_installation_runs_its_own_conda_and_conda_shared(
    local_channel: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # `python -m` puts the cwd first on sys.path
    inst = make_installation(
        tmp_path / "inst", channel_urls=[local_channel.url], work=tmp_path, with_conda_shared=True
    )
    home = tmp_path / "home"

    info = run_in(inst, "-m", "conda", "info", "--json", home=home)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["root_prefix"] == str(inst)
    shared = run_in(inst, "-m", "conda", "shared", "status", "--root", inst, home=home)
    assert shared.returncode == 0, shared.stderr
    assert str(inst) in shared.stdout
    created = run_in(
        inst,
        "-m",
        "conda",
        "create",
        "--json",
        "-y",
        "-p",
        inst / "envs" / "x",
        "tidy-util=1.0",
        home=home,
    )
    assert created.returncode == 0, created.stdout
    assert list((inst / "pkgs").glob("tidy-util-1.0*")), "the installation's own cache is used"
