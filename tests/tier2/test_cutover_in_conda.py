"""Cutover between two real installations (older conda -> newer conda), and back, through conda."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.replicate.test_replicate_tier2 import conda_shared
from tests.support.channel import Channel
from tests.support.installation import make_installation, run_in
from tests.support.ready_root import write_report

#: Another conda release to build the old installation with, when this machine has one.
OLDER_CONDA = Path("/opt/condas/venv-24.11.3/bin/python")


def conda_version(installation: Path, home: Path) -> str:
    probe = run_in(installation, "-c", "import conda; print(conda.__version__)", home=home)
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.strip()


@pytest.mark.tier2
@pytest.mark.slow
def test_cutover_makes_current_run_the_new_conda_and_rollback_restores_it(
    local_channel: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # `python -m` puts the cwd first on sys.path
    root = tmp_path / "shared root"
    older = OLDER_CONDA if OLDER_CONDA.exists() and Path(sys.executable) != OLDER_CONDA else None
    channels = [local_channel.url]
    old = make_installation(
        root / "v24.11", channel_urls=channels, work=tmp_path, conda_python=older,
        with_conda_shared=True,
    )  # fmt: skip
    new = make_installation(
        root / "v26.7", channel_urls=channels, work=tmp_path, with_conda_shared=True
    )
    home = tmp_path / "home"
    for installation in (old, new):  # each env built by its own installation's conda
        created = run_in(
            installation, "-m", "conda", "create", "--json", "-y", "-p",
            installation / "envs" / "kern", "python", "tidy-util=1.0", home=home,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout
    os.symlink("v24.11", root / "current")
    os.symlink("v26.7", root / "qa")
    os.symlink("current/envs", root / "envs")
    kernel = root / "kernels" / "kern" / "kernel.json"
    kernel.parent.mkdir(parents=True)
    python = root / "current" / "envs" / "kern" / "bin" / "python"
    kernel.write_text(json.dumps({"argv": [str(python), "-m", "ipykernel_launcher"]}))
    write_report(root, new, {"kern": ("replicated", True)})
    old_version, new_version = conda_version(old, home), conda_version(new, home)

    switched = run_in(
        root / "current", "-m", "conda", "shared", "cutover", "--root", root, "--json",
        home=home,
    )  # fmt: skip
    assert switched.returncode == 0, switched.stdout + switched.stderr
    document = json.loads(switched.stdout)
    assert document["switched"] and not document["forced"], document["preflight"]
    assert {c["name"]: c["detail"] for c in document["preflight"]}["conda"] == (
        f"conda {new_version} runs"
    )
    assert conda_version(root / "current", home) == new_version
    status = run_in(root / "current", "-m", "conda", "shared", "status", "--root", root, home=home)
    assert status.returncode == 0, status.stderr
    assert "v26.7   current" in status.stdout
    ran = run_in(
        root / "current" / "envs" / "kern", "-c",
        "import os, sys, tidy_util; print(os.path.realpath(sys.prefix))", home=home,
    )  # fmt: skip
    assert ran.stdout.strip() == str(new / "envs" / "kern"), ran.stderr

    back = run_in(
        root / "current", "-m", "conda", "shared", "cutover", "--rollback", "--root", root,
        "--yes", home=home,
    )  # fmt: skip
    assert back.returncode == 0, back.stdout + back.stderr
    assert "rolled back: current -> v24.11" in back.stdout
    assert conda_version(root / "current", home) == old_version
    log = [json.loads(line) for line in (root / "log" / "shared.log").read_text().splitlines()]
    assert [(e["action"], e["result"]) for e in log] == [("cutover", "ok"), ("rollback", "ok")]


@pytest.mark.tier2
@pytest.mark.slow
def test_reruns_of_replicate_keep_the_check_green_and_its_fix_line_works_when_pasted(
    local_channel: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    channels = [local_channel.url]
    src = make_installation(root / "src", channel_urls=channels, work=tmp_path)
    dst = make_installation(
        root / "dst", channel_urls=channels, work=tmp_path, with_conda_shared=True
    )
    (root / "current").symlink_to("src")
    (root / "qa").symlink_to("dst")
    home = tmp_path / "home"
    for name in ("data", "more"):
        prefix = src / "envs" / name
        created = run_in(src, "-m", "conda", "create", "-y", "-p", prefix, "libdata", home=home)
        assert created.returncode == 0, created.stdout + created.stderr
    inventory = root / "specs" / "src" / "inventory.ini"
    inventory.parent.mkdir(parents=True)
    inventory.write_text("data = REPLICATE\nmore = REPLICATE\n")

    def replicate_check() -> dict[str, object]:
        dry = conda_shared("cutover", "--root", root, "--dry-run", "--json", home=home)
        checks = {c["name"]: c for c in json.loads(dry.stdout)["preflight"]}
        return checks["replicate"]  # type: ignore[no-any-return]

    first = conda_shared("replicate", "--root", root, "--json", home=home)
    assert first.returncode == 0, first.stdout + first.stderr
    again = conda_shared("replicate", "--root", root, "--json", home=home)
    assert [e["status"] for e in json.loads(again.stdout)["envs"]] == ["skipped", "skipped"]
    assert replicate_check()["ok"]

    shutil.rmtree(dst / "envs" / "more")
    check = replicate_check()
    assert not check["ok"]
    assert check["fix"] == f"conda-shared replicate --root {root} --to dst more"
    words = shlex.split(str(check["fix"]))
    pasted = conda_shared(*words[1:], home=home)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert replicate_check()["ok"]
    assert (dst / "envs" / "more" / "conda-meta").is_dir()
