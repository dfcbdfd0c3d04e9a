"""A shared root ready for cutover (tier 1): v24.11 current, v26.7 qa, envs, kernels, a report."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from tests.roots import make_installation, write_record

STAMP = "20261201T090000Z"


def add_installation(path: Path, conda_version: str, envs: Sequence[str]) -> Path:
    """An installation whose `bin/conda --version` answers, with conda-shared in its base."""
    make_installation(path, conda_version=conda_version)
    write_record(path, {"name": "conda-shared", "version": "0.1.0", "build": "0", "files": []})
    write_record(path, {"name": "python", "version": "3.12.7", "build": "0", "files": []})
    bin_dir = path / "bin"
    bin_dir.mkdir()
    stand_in_python(bin_dir / "python")
    conda = bin_dir / "conda"
    conda.write_text(f"#!/bin/sh\n{slow_conda_line()}echo conda {conda_version}\n")
    conda.chmod(0o755)
    for env in envs:
        add_env(path, env)
    return path


def slow_conda_line() -> str:
    # TEST_SLOW_CONDA_SECONDS keeps a preflight busy so concurrent runs overlap (not CONDA_*:
    # the target's conda never sees the caller's CONDA_* variables).
    return 'sleep "${TEST_SLOW_CONDA_SECONDS:-0}"\n'


def add_env(installation: Path, name: str, *, ipykernel: bool = False) -> Path:
    prefix = installation / "envs" / name
    write_record(prefix, {"name": "python", "version": "3.12.7", "build": "0", "files": []})
    if ipykernel:
        write_record(prefix, {"name": "ipykernel", "version": "6.29.5", "build": "0", "files": []})
    (prefix / "bin").mkdir()
    stand_in_python(prefix / "bin" / "python")
    return prefix


def stand_in_python(path: Path) -> None:
    """A shell as the env's `python`: a copy, never a link, so a test that writes to an env's
    interpreter (as root) cannot write through it into the machine's /bin/sh."""
    shutil.copy(os.path.realpath("/bin/sh"), path)


def add_kernel(root: Path, name: str, executable: str) -> Path:
    folder = root / "kernels" / name
    folder.mkdir(parents=True)
    spec = {"argv": [executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    (folder / "kernel.json").write_text(json.dumps({**spec, "display_name": name}))
    return folder


def write_report(
    root: Path,
    target: Path,
    envs: dict[str, tuple[str, bool]],
    *,
    stamp: str = STAMP,
    finished: bool = True,
) -> Path:
    """A replicate report as issue 9 specifies it: env -> (status, smoke ok)."""
    document = {
        "from": str(root / "v24.11"),
        "to": str(target),
        "started": f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:00Z",
        "finished": "2026-12-01T10:00:00Z" if finished else None,
        "envs": [
            {
                "name": name,
                "source_prefix": str(root / "v24.11" / "envs" / name),
                "target_prefix": str(target / "envs" / name),
                "status": status,
                "smoke": {"ok": ok, "checks": []},
            }
            for name, (status, ok) in envs.items()
        ],
    }
    path = root / "reports" / stamp / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def ready_root(parent: Path, name: str = "root", envs: Sequence[str] = ("kern", "plain")) -> Path:
    """Every preflight item passes: envs replicated, smoke-tested, kernels resolve in qa."""
    root = parent / name
    add_installation(root / "v24.11", "24.11.3", envs)
    target = add_installation(root / "v26.7", "26.7.1", envs)
    os.symlink("v24.11", root / "current")
    os.symlink("v26.7", root / "qa")
    os.symlink("current/envs", root / "envs")
    add_kernel(root, envs[0], str(root / "current" / "envs" / envs[0] / "bin" / "python"))
    inventory = root / "specs" / "v24.11" / "inventory.ini"
    inventory.parent.mkdir(parents=True)
    inventory.write_text("".join(f"{env} = REPLICATE\n" for env in envs) + "old = export\n")
    write_report(root, target, dict.fromkeys(envs, ("replicated", True)))
    (root / "log").mkdir()
    return root
