"""The kernels verb: where each kernelspec resolves, now and in qa; sync creates and retires."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conda_shared.kernels.follow import below_installation, list_kernels, sync_kernels
from tests.roots import make_installation, run_cli
from tests.support.ready_root import add_env, add_kernel, ready_root

Capsys = pytest.CaptureFixture[str]


def test_list_shows_env_and_resolution_now_and_in_qa(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    add_env(root / "v24.11", "only-old")
    add_kernel(root, "old", str(root / "envs" / "only-old" / "bin" / "python"))
    add_kernel(root, "pinned", str(root / "v24.11" / "envs" / "plain" / "bin" / "python"))
    listing = list_kernels(root=root)
    assert listing.qa == "v26.7"
    shown = {
        k.name: (k.env, k.follows_current, k.resolves_now, k.resolves_in_qa)
        for k in listing.kernels
    }
    assert shown == {
        "kern": ("kern", True, True, True),
        "old": ("only-old", True, True, False),
        "pinned": ("plain", False, True, True),  # the env its interpreter is in
    }


def test_a_root_mounted_through_a_symlink_is_recognised(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    mount = tmp_path / "pkg" / "conda"
    mount.parent.mkdir()
    mount.symlink_to(root)
    below = below_installation(f"{mount}/current/envs/kern/bin/python", root)
    assert below == Path("envs/kern/bin/python")
    assert below_installation("/usr/bin/python3", root) is None


def test_sync_creates_missing_kernels_through_current(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    add_env(root / "v24.11", "geo lab", ipykernel=True)
    add_env(root / "v24.11", "kern2", ipykernel=True)
    add_kernel(root, "kern2", "/usr/bin/python3")  # the name is taken by an unrelated kernel
    synced = sync_kernels(root=root)
    assert synced.created == ("geo-lab",)
    spec = json.loads((root / "kernels" / "geo-lab" / "kernel.json").read_text())
    assert spec["argv"][0] == f"{root}/current/envs/geo lab/bin/python"
    assert spec["display_name"] == "geo lab"
    # built in a private folder, published readable: every user's Jupyter reads it
    assert (root / "kernels" / "geo-lab").stat().st_mode & 0o777 == 0o755
    assert synced.notes[0] == "kern2: a kernel named kern2 exists but does not use this env"
    assert sync_kernels(root=root).created == ()
    log = (root / "log" / "shared.log").read_text().splitlines()
    assert json.loads(log[-1])["result"] == "ok: 1 created, 0 removed"


def test_sync_reports_stale_kernels_and_removes_them_only_when_asked(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    add_kernel(root, "retired", str(root / "current" / "envs" / "gone" / "bin" / "python"))
    assert sync_kernels(root=root).stale == ("retired",)
    assert (root / "kernels" / "retired").is_dir()
    removed = sync_kernels(root=root, remove_stale=True)
    assert removed.removed == ("retired",)
    assert not (root / "kernels" / "retired").exists()
    assert sorted(os.listdir(root / "kernels")) == ["kern"]


def test_cli_kernels_list_and_sync(tmp_path: Path, capsys: Capsys) -> None:
    root = ready_root(tmp_path)
    listed = run_cli(capsys, "kernels", "--root", str(root))
    assert listed.code == 0
    assert listed.out.splitlines()[1].split() == [
        "KERNEL", "ENV", "FOLLOWS", "CURRENT", "RESOLVES", "NOW", "IN", "QA", "(v26.7)", "ARGV[0]",
    ]  # fmt: skip
    assert listed.out.splitlines()[2].split()[:5] == ["kern", "kern", "yes", "yes", "yes"]
    synced = run_cli(capsys, "kernels", "sync", "--root", str(root), "--json")
    assert synced.json()["created"] == []


def test_a_single_installation_keeps_kernels_in_its_own_share(tmp_path: Path) -> None:
    installation = make_installation(tmp_path / "conda")
    add_env(installation, "lab", ipykernel=True)
    synced = sync_kernels(root=installation)
    assert synced.created == ("lab",)
    spec = installation / "share" / "jupyter" / "kernels" / "lab" / "kernel.json"
    assert json.loads(spec.read_text())["argv"][0] == f"{installation}/envs/lab/bin/python"
    (listed,) = list_kernels(root=installation).kernels
    assert (listed.env, listed.follows_current, listed.resolves_now) == ("lab", True, True)
