"""Tier 2: a CUDA build replicated on this CPU-only machine for GPU nodes, with real conda."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.channel import Channel
from tests.support.installation import installation_environ, make_installation
from tests.support.replication import run_shared

pytestmark = [pytest.mark.tier2, pytest.mark.slow]


@pytest.fixture(scope="module")
def gpu_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT with current -> src holding env `gpu` (gpukit's cuda build, made with
    CONDA_OVERRIDE_CUDA=12.0 as a GPU node would) and qa -> dst; the channel also holds a cpu
    build of the same version, which conda takes where there is no __cuda."""
    work = tmp_path_factory.mktemp("gpu")
    channel = Channel(work / "channel")
    channel.add_basics()
    for build, number, depends in (("cuda_1", 1, ["__cuda >=11.8"]), ("cpu_0", 0, [])):
        files = {"share/gpukit/build.txt": build.encode()}
        channel.add("gpukit", "1.0", build, build_number=number, depends=depends, files=files)
    channel.index()
    root = work / "root"
    root.mkdir()
    src = make_installation(root / "src", channel_urls=[channel.url], work=work)
    make_installation(root / "dst", channel_urls=[channel.url], work=work, with_conda_shared=True)
    (root / "current").symlink_to("src")
    (root / "qa").symlink_to("dst")
    created = subprocess.run(
        [
            src / "bin" / "python",
            "-m",
            "conda",
            "create",
            "-y",
            "-p",
            src / "envs" / "gpu",
            "gpukit",
        ],
        capture_output=True,
        text=True,
        env={**installation_environ(work / "home"), "CONDA_OVERRIDE_CUDA": "12.0"},
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert list((src / "envs" / "gpu" / "conda-meta").glob("gpukit-1.0-cuda_1.json"))
    return root


def replicate(root: Path, *args: str) -> dict:  # type: ignore[type-arg]
    done = run_shared("replicate", root, "gpu", "--json", *args, home=root.parent / "home")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def built(root: Path) -> list[str]:
    meta = root / "dst" / "envs" / "gpu" / "conda-meta"
    return sorted(p.name for p in meta.glob("gpukit-*.json")) if meta.is_dir() else []


@pytest.mark.parametrize("args", [(), ("--relax",)], ids=["plain", "relax"])
def test_without_the_nodes_cuda_it_is_platform_mismatch_never_a_cpu_build(
    gpu_root: Path, args: tuple[str, ...]
) -> None:
    report = replicate(gpu_root, *args)
    (env,) = report["envs"]
    assert (env["status"], env["failure_class"]) == ("failed", "platform-mismatch")
    assert env["failure_packages"] == ["gpukit"]
    assert env["fix_options"] == ["--virtual-package", "__cuda=11.8"]
    assert env["attempts"] == [], "no rung ran: conda would have taken the cpu build"
    assert built(gpu_root) == []
    assert not os.path.lexists(gpu_root / "dst" / "envs" / "gpu")
    assert report["virtual_packages"]["overrides"] == {}
    assert "__cuda" not in {name for name, _, _ in report["virtual_packages"]["target"]}


def test_with_the_nodes_cuda_the_cuda_build_is_replicated(gpu_root: Path) -> None:
    report = replicate(gpu_root, "--virtual-package", "__cuda=12.0")
    (env,) = report["envs"]
    assert (env["status"], env["strategy"]) == ("replicated", "lock"), env
    assert built(gpu_root) == ["gpukit-1.0-cuda_1.json"]
    assert (gpu_root / "dst" / "envs" / "gpu" / "share" / "gpukit" / "build.txt").read_text() == (
        "cuda_1"
    )
    assert report["virtual_packages"]["overrides"] == {"__cuda": "12.0"}
    assert ["__cuda", "12.0", "0"] in report["virtual_packages"]["target"]
    shutil.rmtree(gpu_root / "dst" / "envs" / "gpu")  # the other tests start without it
