"""Where a run stands: `--status` only reads; settling a task that left no result (and removing
what it began) is for the run folder's owner, and only inside the run's target envs/."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conda_shared.replicate import ownership
from conda_shared.replicate.executors.slurm import SCHEMA
from tests.replicate.test_run import root, run, target  # noqa: F401
from tests.roots import run_cli, tree_digest
from tests.support.users import NOBODY, needs_root

#: scontrol for an array Slurm no longer knows: its tasks ended, how is unknown.
_FORGOTTEN = "#!/bin/sh\necho 'slurm_load_jobs error: Invalid job id specified' >&2\nexit 1\n"


@pytest.fixture
def lost_task(
    root: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A run whose Slurm task for nhis_reformat began building and ended without a result."""
    report = run(root, "nhis_reformat").report
    assert report is not None
    run_dir = report.run_dir
    (run_dir / "envs" / "nhis_reformat.json").unlink()
    (run_dir / "report.json").unlink()
    # It began building: the prefix carries this run's marker, as before each conda call.
    marker = target(root) / "envs" / "nhis_reformat" / ownership.MARKER
    marker.write_text(json.dumps({"run": ownership.run_id(run_dir)}) + "\n")
    document = {
        "schema": SCHEMA,
        "array_job": "4242",
        "final_job": "4243",
        "indexes": [0],
        "jobs": 1,
        "submitted": "2026-12-07T00:00:00Z",
        "submitted_epoch": time.time(),
        "options": [],
    }
    (run_dir / "slurm.json").write_text(json.dumps(document))
    slurm = tmp_path / "slurm-bin"
    slurm.mkdir()
    (slurm / "scontrol").write_text(_FORGOTTEN)
    (slurm / "scontrol").chmod(0o755)
    monkeypatch.setenv("PATH", f"{slurm}{os.pathsep}{os.environ['PATH']}")
    return run_dir


def half_built(root: Path) -> Path:  # noqa: F811
    return target(root) / "envs" / "nhis_reformat"


def test_status_of_a_lost_task_says_so_and_changes_nothing(
    root: Path,  # noqa: F811
    lost_task: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = tree_digest(root)
    for extra in ((), ("--wait",), ("--json",)):
        status = run_cli(capsys, "replicate", "--root", str(root), "--status", *extra)
        assert status.code == (1 if extra == ("--wait",) else 0), status.err
        assert tree_digest(root) == before, f"--status {' '.join(extra)} wrote or removed"
    assert half_built(root).is_dir()
    assert not (lost_task / "report.json").exists()
    for named in (str(lost_task), lost_task.name):  # the folder, or the stamp a run prints
        shown = run_cli(capsys, "replicate", "--root", str(root), "--status", named)
        (row,) = [line for line in shown.out.splitlines() if line.startswith("nhis_reformat")]
        assert row.split()[1] == "failed"
        assert "not recorded yet: `replicate --resume` or `--cancel` records it" in row


def test_the_owner_settles_it_removing_what_the_task_began(
    root: Path,  # noqa: F811
    lost_task: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settled = run_cli(capsys, "replicate", "--settle", str(lost_task), "--json")
    assert settled.code == 0, settled.err
    (env,) = settled.json()["envs"]
    crashed = "other: replicate task crashed: it ended without a result"
    assert (env["state"], env["detail"]) == ("failed", crashed)
    assert not half_built(root).exists()
    assert json.loads((lost_task / "report.json").read_text())["finished"] is not None


def test_the_report_job_settles_the_run_not_status() -> None:
    from conda_shared.children import own_python
    from conda_shared.replicate.executors.slurm import _settle_command

    assert _settle_command(Path("/r/RUN"))[-2:] == ["--settle", "/r/RUN"]
    assert _settle_command(Path("/r/RUN"))[:-3] == own_python("-m", "conda_shared")


@needs_root
def test_a_run_folder_of_another_user_is_never_settled(
    root: Path,  # noqa: F811
    lost_task: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    os.chown(lost_task, NOBODY, NOBODY)
    before = tree_digest(root)
    for argv in (("--settle", str(lost_task)), ("--root", str(root), "--resume")):
        refused = run_cli(capsys, "replicate", *argv)
        assert refused.code == 1
        assert f"{lost_task} belongs to nobody, not to root: only the owner" in refused.err
        assert len(refused.err.strip().splitlines()) == 1
    assert tree_digest(root) == before and half_built(root).is_dir()


def test_a_plan_naming_a_prefix_outside_the_target_envs_is_refused(
    root: Path,  # noqa: F811
    lost_task: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    victim = tmp_path / "home" / "alice" / "project"
    victim.mkdir(parents=True)
    (victim / "thesis.tex").write_text("years of work")
    plan = json.loads((lost_task / "plan.json").read_text())
    plan["envs"][0]["target_prefix"] = str(victim)
    (lost_task / "plan.json").write_text(json.dumps(plan))
    for argv in (("--status", str(lost_task)), ("--settle", str(lost_task))):
        refused = run_cli(capsys, "replicate", *argv)
        assert refused.code == 1
        assert f"refusing to replicate nhis_reformat: {victim} lies outside " in refused.err
        assert len(refused.err.strip().splitlines()) == 1
    assert (victim / "thesis.tex").read_text() == "years of work"


def test_a_plan_whose_input_files_lead_out_of_the_run_folder_is_refused(
    root: Path,  # noqa: F811
    lost_task: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = json.loads((lost_task / "plan.json").read_text())
    step = plan["envs"][0]["rungs"][0]["steps"][0]
    step["input_file"] = str(tmp_path / "elsewhere.lock")
    (lost_task / "plan.json").write_text(json.dumps(plan))
    refused = run_cli(capsys, "replicate", "--task", str(lost_task), "0")
    assert refused.code == 1
    assert f"{tmp_path / 'elsewhere.lock'} lies outside {lost_task / 'inputs'}" in refused.err
    assert not (tmp_path / "elsewhere.lock").exists()
