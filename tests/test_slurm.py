"""The Slurm client: parsing what scontrol prints, and real submissions on a live cluster."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conda_shared import slurm_commands as slurm
from conda_shared.errors import SharedError

DATA = Path(__file__).parent / "data" / "slurm"


def _states(name: str) -> dict[int | None, str]:
    parsed = slurm.parse_show_job((DATA / name).read_text())
    return {task.index: task.state for task in parsed}


def test_a_throttled_array_expands_its_pending_range() -> None:
    assert _states("scontrol-mixed.txt") == {
        0: "RUNNING",
        1: "RUNNING",
        2: "PENDING",
        3: "PENDING",
        4: "PENDING",
    }


def test_a_cancelled_task_is_killed_and_the_rest_stay_active() -> None:
    parsed = {t.index: t for t in slurm.parse_show_job((DATA / "scontrol-cancel1.txt").read_text())}
    assert parsed[1].killed and not parsed[1].active
    assert parsed[0].active and parsed[2].active and parsed[4].active
    assert parsed[3].state == "PENDING" and parsed[3].reason == "JobArrayTaskLimit"


def test_a_cancelled_array_is_killed_everywhere() -> None:
    parsed = slurm.parse_show_job((DATA / "scontrol-allcancel.txt").read_text())
    assert [t.index for t in parsed] == [0, 1, 2, 3, 4]
    assert all(t.killed for t in parsed)


def test_a_plain_job_has_no_index() -> None:
    (job,) = slurm.parse_show_job((DATA / "scontrol-dep.txt").read_text())
    assert (job.job_id, job.index, job.state) == ("9", None, "COMPLETED")


@pytest.mark.parametrize(
    ("text", "indexes"),
    [
        ("3", [3]),
        ("2-4%2", [2, 3, 4]),
        ("1,3,5-7", [1, 3, 5, 6, 7]),
        ("0-6:2", [0, 1, 2, 3, 4, 5, 6]),
    ],
)
def test_index_ranges(text: str, indexes: list[int]) -> None:
    assert slurm._expand_indexes(text) == indexes


def test_missing_commands_are_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert set(slurm.missing_commands()) == {"sbatch", "scontrol", "scancel"}
    with pytest.raises(SharedError, match="sbatch is not on PATH"):
        slurm.submit(script=Path("/x.sh"), workdir=Path("/tmp"))


# --- a live single-node cluster (bash .ci/slurm start) ---------------------------------


@pytest.mark.slurm
def test_an_array_runs_throttled_and_one_task_can_be_cancelled(
    slurm_cluster: None, tmp_path: Path
) -> None:
    script = tmp_path / "task.sh"
    script.write_text(
        "#!/bin/bash\n"
        'echo "$SLURM_ARRAY_TASK_ID" > "done-$SLURM_ARRAY_TASK_ID"\n'
        'if [ "$SLURM_ARRAY_TASK_ID" = 1 ]; then sleep 60; fi\n'
    )
    job = slurm.submit(
        script=script, workdir=tmp_path, array="0-2%2", options=["--output=/dev/null"]
    )
    running = _wait(job, lambda ts: ts[1].state == "RUNNING")
    assert running[1].index == 1
    slurm.cancel(f"{job}_1")
    final = _wait(job, lambda ts: not any(t.active for t in ts))
    assert [t.state for t in final] == ["COMPLETED", "CANCELLED", "COMPLETED"]
    assert final[1].killed
    assert sorted(p.name for p in tmp_path.glob("done-*")) == ["done-0", "done-1", "done-2"]

    after = slurm.submit(
        script=script, workdir=tmp_path, dependency=f"afterany:{job}", options=["-o/dev/null"]
    )
    (dependent,) = _wait(after, lambda ts: not ts[0].active)
    assert dependent.state == "COMPLETED"


@pytest.mark.slurm
def test_a_rejected_submission_is_one_line(slurm_cluster: None, tmp_path: Path) -> None:
    script = tmp_path / "task.sh"
    script.write_text("#!/bin/bash\ntrue\n")
    with pytest.raises(SharedError) as raised:
        slurm.submit(script=script, workdir=tmp_path, options=["--partition=no-such-partition"])
    assert "invalid partition" in str(raised.value).lower()
    assert "\n" not in str(raised.value)
    assert slurm.tasks("999999") is None


def _wait(job: str, done: object, seconds: float = 60) -> tuple[slurm.TaskState, ...]:
    deadline = time.monotonic() + seconds
    while True:
        states = slurm.tasks(job)
        assert states is not None
        if done(states):  # type: ignore[operator]
            return states
        assert time.monotonic() < deadline, states
        time.sleep(0.3)
