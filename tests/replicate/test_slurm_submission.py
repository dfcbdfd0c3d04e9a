"""Submitting a run to Slurm, against stand-in sbatch/scancel/scontrol on PATH: slurm.json names
the array before the report job is submitted, a rejected report job takes the array back, and
Ctrl-C during the submission is held until both jobs are recorded."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.errors import InputError, SharedError
from conda_shared.replicate.executors.slurm import read_submission, submit_run
from conda_shared.replicate.runfolder import RunPlan
from tests.replicate.test_run import ENVS, root, run  # noqa: F401

#: Each stand-in logs its argv and the folder it started in; sbatch also snapshots slurm.json as
#: it is when it is called, prints job ids 101, 102, ..., fails on call number $FAKE_SBATCH_FAIL,
#: and sends SIGINT to its caller on call number $FAKE_SBATCH_INTERRUPT.
_FAKE = """#!{python}
import json, os, signal, sys
from pathlib import Path
log = Path(os.environ["FAKE_SLURM_LOG"])
calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
name = Path(sys.argv[0]).name
number = sum(1 for call in calls if call["name"] == name) + 1
recorded = None
if name == "sbatch":
    chdir = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--chdir="))
    slurm_json = Path(chdir) / "slurm.json"
    recorded = json.loads(slurm_json.read_text()) if slurm_json.exists() else None
with log.open("a") as out:
    call = {{"name": name, "argv": sys.argv[1:], "slurm_json": recorded, "sid": os.getsid(0),
            "cwd": os.getcwd()}}
    out.write(json.dumps(call) + "\\n")
if name == "sbatch":
    if str(number) == os.environ.get("FAKE_SBATCH_FAIL"):
        sys.exit("sbatch: error: Batch job submission failed: Invalid account")
    if str(number) == os.environ.get("FAKE_SBATCH_INTERRUPT"):
        os.kill(os.getppid(), signal.SIGINT)
    print(100 + number)
"""


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "fake-slurm"
    folder.mkdir()
    for name in ("sbatch", "scancel", "scontrol"):
        command = folder / name
        command.write_text(_FAKE.format(python=sys.executable))
        command.chmod(0o755)
    log = tmp_path / "slurm-calls.jsonl"
    monkeypatch.setenv("FAKE_SLURM_LOG", str(log))
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


def calls(log: Path, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in map(json.loads, log.read_text().splitlines()) if c["name"] == name]


def a_run(tmp_path: Path) -> RunPlan:
    run_dir = tmp_path / "reports" / "20261202T000000Z"
    run_dir.mkdir(parents=True)
    return RunPlan(run_dir, tmp_path, tmp_path, None, "2026-12-02T00:00:00Z", False, False, (), ())


def test_slurm_json_names_the_array_before_the_report_job_is_submitted(
    fake_slurm: Path, tmp_path: Path
) -> None:
    plan = a_run(tmp_path)
    submission = submit_run(plan, [0, 1, 2], jobs=2, options=["--account=it"])
    array_call, report_call = calls(fake_slurm, "sbatch")
    assert array_call["slurm_json"] is None
    assert report_call["slurm_json"]["array_job"] == "101"
    assert report_call["slurm_json"]["final_job"] is None
    assert "--dependency=afterany:101" in report_call["argv"]
    assert (submission.array_job, submission.final_job) == ("101", "102")
    assert read_submission(plan.run_dir) == submission
    assert os.getsid(0) not in {array_call["sid"], report_call["sid"]}, (
        "a terminal's Ctrl-C must not reach sbatch half-way"
    )


def test_a_rejected_report_job_takes_the_array_back_and_leaves_no_record(
    fake_slurm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SBATCH_FAIL", "2")
    plan = a_run(tmp_path)
    with pytest.raises(SharedError, match="Invalid account"):
        submit_run(plan, [0, 1], jobs=2, options=[])
    assert [c["argv"] for c in calls(fake_slurm, "scancel")] == [["101"]]
    assert read_submission(plan.run_dir) is None


def test_ctrl_c_while_submitting_is_held_until_both_jobs_are_recorded(
    fake_slurm: Path,
    root: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_SBATCH_INTERRUPT", "1")
    result = run(root, *ENVS, jobs=2, executor="slurm")
    assert result.interrupted
    assert result.submission is not None
    assert (result.submission.array_job, result.submission.final_job) == ("101", "102")
    assert read_submission(result.report.run_dir) == result.submission
    assert calls(fake_slurm, "scancel") == [], "the jobs go on; --status follows them"


def test_json_after_a_submission_names_the_jobs_and_scripts(
    fake_slurm: Path,
    root: Path,  # noqa: F811
) -> None:
    argv = [sys.executable, "-m", "conda_shared", "replicate", "--root", str(root), "--to"]
    completed = subprocess.run(
        [*argv, "vfake", *ENVS, "--executor", "slurm", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["slurm"]["array_job"] == "101"
    assert document["slurm"]["final_job"] == "102"
    assert document["slurm"]["indexes"] == [0, 1]
    assert Path(document["slurm"]["task_script"]).is_file()
    assert document["finished"] is None and document["envs"] == [], "nothing has run yet"


@pytest.mark.parametrize(
    "option", ["--comment=one\ntouch /tmp/pwned", "--job-name=a\rb", "--x=\x1b[2J"]
)
def test_an_option_with_a_control_character_is_refused_before_anything_is_made(
    fake_slurm: Path,
    root: Path,  # noqa: F811
    option: str,
) -> None:
    with pytest.raises(InputError, match="contains the control character"):
        run(root, *ENVS, executor="slurm", slurm_options=["--partition=short", option])
    assert not fake_slurm.exists(), "nothing was submitted"
    assert not list((root / "reports").glob("*/plan.json")), "no run folder was made"


def test_submitting_refuses_a_control_character_and_writes_no_script(
    fake_slurm: Path, tmp_path: Path
) -> None:
    plan = a_run(tmp_path)
    with pytest.raises(InputError, match=r"'\\n'"):
        submit_run(plan, [0], jobs=1, options=["--comment=x\nrm -rf /"])
    assert not (plan.run_dir / "slurm" / "task.sh").exists()
    assert not fake_slurm.exists()


def test_every_value_in_a_job_script_is_one_quoted_word(fake_slurm: Path, tmp_path: Path) -> None:
    odd = tmp_path / "it's $HOME; `x`"
    odd.mkdir()
    plan = a_run(odd)
    submit_run(plan, [0, 1], jobs=1, options=["--comment=two words; echo $USER"])
    lines = (plan.run_dir / "slurm" / "task.sh").read_text().splitlines()
    (sbatch,) = [line for line in lines if line.startswith("#   sbatch ")]
    assert shlex.split(sbatch[len("#   ") :])[-2:] == [
        "--comment=two words; echo $USER", str(plan.run_dir / "slurm" / "task.sh"),
    ]  # fmt: skip
    assert shlex.split(lines[-2]) == [
        "cd",
        "--",
        str(plan.run_dir / "slurm" / "empty"),
        "||",
        "exit",
        "1",
    ]
    assert shlex.split(lines[-1])[-3:] == ["--task", str(plan.run_dir), "$SLURM_ARRAY_TASK_ID"]
    assert lines[-1].endswith(' "$SLURM_ARRAY_TASK_ID"')
    assert (plan.run_dir / "slurm" / "empty").is_dir()
