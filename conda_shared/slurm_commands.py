"""Slurm through its own commands: submit arrays and dependent jobs, read task states, cancel."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .children import run as run_child
from .errors import SharedError

#: States in which Slurm itself ended a task: its env is `interrupted`, not failed by conda.
KILLED_STATES = frozenset(
    {"CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
)
#: States of a task that has not ended yet.
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
        "RESV_DEL_HOLD",
        "SPECIAL_EXIT",
        "STOPPED",
    }
)
_COMMAND_TIMEOUT_S = 60
_FIELD = re.compile(r"(\S+?)=(\S*)")


@dataclass(frozen=True)
class TaskState:
    """One array task (or a plain job, index None) as `scontrol show job` reports it."""

    job_id: str
    index: int | None
    state: str
    reason: str

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def killed(self) -> bool:
        return self.state in KILLED_STATES


def missing_commands() -> tuple[str, ...]:
    """The Slurm commands this module needs that are not on PATH."""
    return tuple(c for c in ("sbatch", "scontrol", "scancel") if shutil.which(c) is None)


def submit(
    *,
    script: Path,
    workdir: Path,
    options: Sequence[str] = (),
    array: str | None = None,
    dependency: str | None = None,
) -> str:
    """`sbatch --parsable` a script; returns the job id (an array's id for `array="0-9%2"`)."""
    argv = sbatch_argv(
        script=script, workdir=workdir, options=options, array=array, dependency=dependency
    )
    output = _run(argv, doing=f"submit {script.name}")
    job_id = output.strip().split(";")[0]  # "ID" or "ID;cluster"
    if not job_id.isdigit():
        raise SharedError(
            f"sbatch printed {output.strip()!r} instead of a job id",
            "Check the --slurm-option values and the job script in the run folder",
        )
    return job_id


def sbatch_argv(
    *,
    script: Path,
    workdir: Path,
    options: Sequence[str] = (),
    array: str | None = None,
    dependency: str | None = None,
) -> list[str]:
    """The command `submit` runs (also written into job scripts, so an admin sees it)."""
    argv = ["sbatch", "--parsable", f"--chdir={workdir}"]
    if array is not None:
        argv.append(f"--array={array}")
    if dependency is not None:
        argv.append(f"--dependency={dependency}")
    # Site options last, so an admin's own --chdir or --array cannot be silently overridden by
    # ours without sbatch saying so; sbatch takes the last of repeated options.
    return [*argv, *options, str(script)]


def tasks(job_id: str) -> tuple[TaskState, ...] | None:
    """Every task of a job or array, pending ranges expanded; None once Slurm forgot the job."""
    try:
        output = _run(["scontrol", "show", "job", "-o", job_id], doing=f"read job {job_id}")
    except SharedError as error:
        if "Invalid job id" in str(error):
            return None
        raise
    return parse_show_job(output)


def parse_show_job(output: str) -> tuple[TaskState, ...]:
    """`scontrol show job -o` lines (one per record) as task states, sorted by index."""
    states: list[TaskState] = []
    for line in output.splitlines():
        fields = dict(_FIELD.findall(line))
        if "JobId" not in fields:
            continue
        state = fields.get("JobState", "UNKNOWN")
        reason = fields.get("Reason", "None")
        index_text = fields.get("ArrayTaskId")
        if index_text is None:
            states.append(TaskState(fields["JobId"], None, state, reason))
            continue
        for index in _expand_indexes(index_text):
            states.append(TaskState(fields["JobId"], index, state, reason))
    return tuple(sorted(states, key=lambda t: (t.index is None, t.index or 0)))


def _expand_indexes(text: str) -> list[int]:
    """`3`, `2-4%2`, `1,3,5-7` -> the task indexes (the `%N` throttle is not an index)."""
    indexes: list[int] = []
    for part in text.split("%", maxsplit=1)[0].split(","):
        if "-" in part:
            first, last = part.split("-")[:2]
            indexes.extend(range(int(first), int(last.split(":")[0]) + 1))
        elif part.isdigit():
            indexes.append(int(part))
    return indexes


def cancel(job_id: str) -> None:
    """`scancel` a job or a whole array."""
    _run(["scancel", job_id], doing=f"cancel job {job_id}")


def _run(argv: list[str], *, doing: str) -> str:
    try:
        # In a session of its own, so the terminal's Ctrl-C reaches only us: an sbatch killed
        # half-way would leave it unknown whether the job was submitted.
        result = run_child(
            argv,
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT_S,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise SharedError(
            f"cannot {doing}: {argv[0]} is not on PATH",
            "Run this on a host where the Slurm commands work (a login node), or use "
            "--executor local",
        ) from None
    except subprocess.TimeoutExpired:
        raise SharedError(
            f"cannot {doing}: {argv[0]} did not answer within {_COMMAND_TIMEOUT_S} s",
            "Check that slurmctld is reachable (`sinfo`), then run the command again",
        ) from None
    if result.returncode != 0:
        detail = " ".join((result.stderr or result.stdout).split()) or f"exit {result.returncode}"
        raise SharedError(
            f"cannot {doing}: {argv[0]} said: {detail}",
            "Fix what Slurm reports (partition, account, limits), then run the command again",
        )
    return str(result.stdout)
