"""The CI scripts: `.ci/slurm start` leaves someone else's Slurm alone; `.ci/run`'s closing
line fails on a tier-2 skip that is not a conda version gate."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

CI = Path(__file__).parent.parent / ".ci"
SCRIPT = CI / "slurm"
STUBBED = ("slurmctld", "slurmd", "munged", "munge", "unmunge")


@pytest.fixture
def stub_slurm(tmp_path: Path) -> Path:
    """A PATH folder where Slurm and munge are installed but never run: each stub only notes
    that it was called (in calls.log), `slurmd -C` describes a node and sinfo sees none."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in (*STUBBED, "sinfo"):
        stub = bin_dir / name
        answer = "NodeName=n CPUs=2 RealMemory=1000" if name == "slurmd" else ""
        stub.write_text(
            f'#!/bin/sh\necho "{name} $*" >>"{tmp_path}/calls.log"\necho "{answer}"\n'
            f"exit {1 if name == 'sinfo' else 0}\n"
        )
        stub.chmod(0o755)
    return bin_dir


def start(stub_bin: Path, conf: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{stub_bin}:/usr/bin:/bin", "SLURM_CONF": str(conf)}
    return subprocess.run(
        ["bash", str(SCRIPT), "start"],
        capture_output=True,
        text=True,
        env=env,
        cwd=stub_bin,
        timeout=60,
        check=False,
    )


def test_start_leaves_a_slurm_conf_it_did_not_write_alone(stub_slurm: Path, tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "slurm.conf"
    conf.parent.mkdir()
    conf.write_text("ClusterName=the-site\nSlurmctldHost=head\n")

    started = start(stub_slurm, conf)

    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines() == [
        f"slurm: {conf} was not written by .ci/slurm; left as it is "
        "(Slurm tests will skip; start that cluster to run them)"
    ]
    assert conf.read_text() == "ClusterName=the-site\nSlurmctldHost=head\n"
    calls = (tmp_path / "calls.log").read_text().split("\n")
    assert not [call for call in calls if call.split(" ")[0] in STUBBED], calls


def tier2_summary() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tier2_summary", CI / "tier2_summary.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_report(path: Path, conda: str, outcomes: dict[str, str]) -> Path:
    path.write_text(json.dumps({"conda": conda, "tests": len(outcomes), "outcomes": outcomes}))
    return path


def test_a_version_gate_is_counted_apart_and_passes(tmp_path: Path) -> None:
    new = write_report(tmp_path / "new.json", "26.7.1", {"t::a": "passed", "t::b": "passed"})
    old = write_report(tmp_path / "old.json", "24.11.3", {"t::a": "passed", "t::b": "gated"})

    line, ok = tier2_summary().summarize([new, old])

    assert ok
    assert line == (
        "tier 2: conda 26.7.1: 2 tests, 2 passed; "
        "conda 24.11.3: 2 tests, 1 passed, 1 for another conda version; no tier-2 test skipped"
    )


def test_any_other_skip_or_a_missing_run_fails_and_says_which(tmp_path: Path) -> None:
    ran = write_report(tmp_path / "ran.json", "26.7.1", {"t::a": "passed", "t::s": "no node"})

    line, ok = tier2_summary().summarize([ran, tmp_path / "crashed.json"])

    assert not ok
    assert "skipped on conda 26.7.1: t::s (no node)" in line
    assert "crashed.json missing" in line


@pytest.mark.tier2
@pytest.mark.slow
def test_the_demo_shows_the_whole_migration_on_real_conda(tmp_path: Path) -> None:
    demo = subprocess.run(
        [sys.executable, str(CI / "demo_migration.py"), str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    root = tmp_path / "demo" / "root"
    typed = [line for line in demo.stdout.splitlines() if line.startswith("$ conda shared ")]
    assert [line.split()[3] for line in typed] == [
        "status", "export", "replicate", "replicate", "cutover", "cutover", "overlay", "overlay",
    ]  # fmt: skip
    # conda 24.11 names the spec oldlib==1.0 in its error, 26.x oldlib=1.0
    assert re.search(r"legacy: failed: package-not-found oldlib==?1\.0\n", demo.stdout)
    assert "[1/1] legacy: replicated (relaxed)" in demo.stdout
    assert "switched: current -> " in demo.stdout
    assert "rolled back: current -> " in demo.stdout
    lines = demo.stdout.splitlines()
    old = next(line.split()[2] for line in lines if line.startswith("  current -> "))
    assert os.readlink(root / "current") == old, "the rollback put the old installation back"
    overlay_run = demo.stdout.rstrip().splitlines()[-1]
    assert overlay_run.startswith("1.2 "), overlay_run
    assert "/.conda/overlays/survey/" in overlay_run
