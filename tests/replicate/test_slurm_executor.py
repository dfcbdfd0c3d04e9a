"""`replicate --executor slurm` on the live single-node cluster, with the FAKE target conda:
one array and a report job, readable scripts, status, scancel → interrupted, resume, cancel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conda_shared import slurm_commands as slurm
from conda_shared.children import own_python
from conda_shared.errors import InputError, SharedError
from conda_shared.replicate.executors.slurm import _ranges, read_submission
from conda_shared.replicate.progress import run_progress, wait_for_run
from conda_shared.settings import from_values
from conda_shared.text import command_words
from tests.replicate.test_run import ENVS, root, rules, run, target  # noqa: F401

pytestmark = pytest.mark.slurm
ON_SLURM = pytest.mark.usefixtures("slurm_cluster")


@pytest.fixture(autouse=True)
def no_jobs_left(root: Path) -> Iterator[None]:  # noqa: F811
    """A failing test must not leave its sleeping tasks on the cluster."""
    yield
    for recorded in (root.resolve() / "reports").glob("*/slurm.json"):
        submission = read_submission(recorded.parent)
        if submission is not None:
            jobs = [submission.array_job, submission.final_job]
            subprocess.run(["scancel", *filter(None, jobs)], check=False)


def shared(root: Path, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    argv = [sys.executable, "-m", "conda_shared", "replicate", "--root", str(root), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def wait_until_gone(job_id: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while any(t.active for t in slurm.tasks(job_id) or ()):
        assert time.monotonic() < deadline, f"job {job_id} still in Slurm"
        time.sleep(0.2)


@ON_SLURM
def test_one_array_builds_every_env_and_the_report_job_finishes_the_report(
    root: Path,  # noqa: F811
) -> None:
    result = run(root, *ENVS, jobs=2, executor="slurm", slurm_options=["--time=10"], wait=True)
    assert result.report is not None and result.submission is not None
    assert [(e.name, e.status, e.strategy) for e in result.report.envs] == [
        (name, "replicated", "lock") for name in ENVS
    ]
    assert result.report.finished is not None
    run_dir = result.report.run_dir
    recorded = json.loads((run_dir / "slurm.json").read_text())
    assert recorded["array_job"] == result.submission.array_job
    assert recorded["indexes"] == [0, 1] and recorded["options"] == ["--time=10"]
    task_script = (run_dir / "slurm" / "task.sh").read_text()
    exec_line = task_script.splitlines()[-1]
    ours = command_words(own_python("-m", "conda_shared"))
    assert exec_line.startswith(f"exec {ours} replicate --task ")
    assert exec_line.endswith(' "$SLURM_ARRAY_TASK_ID"')
    submitted_line = next(line for line in task_script.splitlines() if "sbatch" in line)
    assert "--array=0-1%2" in submitted_line
    assert submitted_line.index("--output=") < submitted_line.index("--time=10"), (
        "site options come after ours"
    )
    assert os.access(run_dir / "slurm" / "task.sh", os.X_OK)
    wait_until_gone(result.submission.final_job)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["finished"] == result.report.finished, "the report job keeps the finish stamp"
    assert "ENV" in (run_dir / "slurm" / "finish.out").read_text()


@ON_SLURM
def test_scancel_of_a_task_mid_build_is_interrupted_leaves_no_half_env_and_resume_finishes(
    root: Path,  # noqa: F811
) -> None:
    rules(root, {"match": "numpy-1.21.5", "sleep": 120, "download_only": False})
    result = run(root, *ENVS, jobs=2, executor="slurm")
    assert result.submission is not None and result.report is not None
    run_dir = result.report.run_dir
    half = target(root) / "envs" / "mixed_numpy"
    deadline = time.monotonic() + 60
    while not (half / "conda-meta").is_dir():
        assert time.monotonic() < deadline, "the slow task never started"
        time.sleep(0.1)
    assert run_progress(run_dir).envs[1].state == "running"
    slurm.cancel(f"{result.submission.array_job}_1")
    ended = wait_for_run(run_dir, progress=lambda _m: None, settle=True, poll_seconds=0.2)
    by_name = {e.name: e for e in ended.report.envs}
    assert by_name["nhis_reformat"].status == "replicated"
    interrupted = by_name["mixed_numpy"]
    assert (interrupted.status, interrupted.failure_class) == ("interrupted", "interrupted")
    assert interrupted.error == "Slurm ended the task: CANCELLED"
    assert not half.exists(), "no half-built env in the target"
    assert ended.report.finished is not None
    wait_until_gone(result.submission.final_job)

    rules(root)
    resumed = shared(root, "--resume", "--executor", "slurm", "--wait")
    assert resumed.returncode == 0, resumed.stderr
    assert read_submission(run_dir).indexes == (1,), "only what did not replicate is resubmitted"  # type: ignore[union-attr]
    report = json.loads((run_dir / "report.json").read_text())
    assert [(e["name"], e["status"]) for e in report["envs"]] == [
        (name, "replicated") for name in ENVS
    ]
    assert (half / "conda-meta").is_dir() and not (half / ".conda-shared-build").exists()


@ON_SLURM
def test_a_task_that_dies_on_its_own_is_a_crash_and_its_env_is_removed(
    root: Path,  # noqa: F811
) -> None:
    rules(root, {"match": "numpy-1.21.5", "kill_task": True, "download_only": False})
    result = run(root, *ENVS, jobs=2, executor="slurm", wait=True)
    assert result.report is not None
    crashed = {e.name: e for e in result.report.envs}["mixed_numpy"]
    assert (crashed.status, crashed.failure_class) == ("failed", "other")
    assert (crashed.error or "").startswith("replicate task crashed: "), crashed.error
    assert not (target(root) / "envs" / "mixed_numpy").exists()
    assert {e.name: e.status for e in result.report.envs}["nhis_reformat"] == "replicated"


@ON_SLURM
def test_the_report_job_writes_the_report_after_the_submitter_was_killed(
    root: Path,  # noqa: F811
) -> None:
    rules(root, {"match": "numpy-1.21.5", "sleep": 3, "download_only": False})
    argv = [sys.executable, "-m", "conda_shared", "replicate", "--root", str(root)]
    process = subprocess.Popen(
        [*argv, "--to", "vfake", *ENVS, "--executor", "slurm", "--wait"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reports = root.resolve() / "reports"
    deadline = time.monotonic() + 60
    while not any(json.loads(p.read_text())["final_job"] for p in reports.glob("*/slurm.json")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_dir,) = [p.parent for p in reports.glob("*/slurm.json")]
    submission = read_submission(run_dir)
    assert submission is not None and submission.final_job is not None
    wait_until_gone(submission.final_job)
    report = json.loads((run_dir / "report.json").read_text())
    assert [(e["name"], e["status"]) for e in report["envs"]] == [
        (name, "replicated") for name in ENVS
    ]
    assert report["finished"] is not None


@ON_SLURM
def test_status_shows_the_run_and_cancel_stops_it_with_a_report(
    root: Path,  # noqa: F811
) -> None:
    rules(root, {"match": "numpy-1.21.5", "sleep": 120, "download_only": False})
    submitted = shared(root, "--to", "vfake", *ENVS, "--executor", "slurm", "--jobs", "1")
    assert submitted.returncode == 0, submitted.stderr
    assert "submitted 2 env(s) as Slurm job array" in submitted.stderr
    assert submitted.stdout.startswith("run folder:  ")
    assert f"conda-shared replicate --root {root} --cancel {root.resolve()}/reports/" in (
        submitted.stdout
    ), "the hint is a command to paste"
    half = target(root) / "envs" / "mixed_numpy" / "conda-meta"
    deadline = time.monotonic() + 60
    while not half.is_dir():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status = shared(root, "--status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[1].split()[:3] == ["nhis_reformat", "replicated", "lock"]
    assert lines[2].split()[:3] == ["mixed_numpy", "running", "RUNNING"]
    assert "1 replicated, 1 running; Slurm job array" in status.stdout
    assert "; not ended" in status.stdout
    refused = shared(root, "--resume", "--executor", "slurm")
    assert refused.returncode == 2
    assert "still has 1 task(s) in Slurm" in refused.stderr and "--cancel" in refused.stderr
    cancelled = shared(root, "--cancel", "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    document = json.loads(cancelled.stdout)
    assert document["ended"] is True
    assert [e["state"] for e in document["envs"]] == ["replicated", "interrupted"]
    assert not half.parent.exists()
    waited = shared(root, "--status", "--wait")
    assert waited.returncode == 1, "the verdict: one env did not replicate"


def test_a_host_without_slurm_fails_preflight_in_one_line(
    root: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    with pytest.raises(SharedError) as raised:
        run(root, *ENVS, executor="slurm")
    assert "Slurm commands: missing: sbatch, scontrol, scancel" in raised.value.message
    assert "--executor local" in (raised.value.next_step or "")


def test_a_run_under_tmp_is_warned_about_in_the_plan(root: Path) -> None:  # noqa: F811
    if not str(root.resolve()).startswith(("/tmp/", "/var/tmp/")):
        pytest.skip("pytest's tmp_path is not under /tmp here")
    result = run(root, *ENVS, executor="slurm", dry_run=True)
    assert any(note.startswith("node-local path: the root ") for note in result.notes)


def test_site_options_come_from_condarc_as_a_command_line() -> None:
    settings = from_values({"shared_slurm_options": "--partition=short --comment='two words'"})
    assert settings.slurm_options == ("--partition=short", "--comment=two words")
    with pytest.raises(InputError, match="cannot be split"):
        from_values({"shared_slurm_options": "--comment='open"})


def test_array_indexes_are_written_as_ranges() -> None:
    assert _ranges([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert _ranges([4]) == "4"
