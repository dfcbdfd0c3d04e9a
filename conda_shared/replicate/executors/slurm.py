"""Run a replicate's tasks as ONE Slurm job array, plus a job that assembles the report after it.

The scripts are written into RUN/slurm/ so an admin can read exactly what ran; the job ids go
to RUN/slurm.json, which `--status`, `--wait`, `--cancel` and `--resume` read back.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ... import fs
from ... import slurm_commands as slurm
from ...children import own_python
from ...errors import InputError, SharedError
from ...text import command_words, control_character, quoted
from ..runfolder import RunPlan, utc_now
from .local import task_command

SCHEMA = "conda-shared/replicate-slurm/1"
#: The folder of RUN/slurm/ the job scripts start in: made empty by conda-shared, never written.
_EMPTY = "empty"
#: Where a job's files live on most clusters' nodes but on no other host.
NODE_LOCAL = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


@dataclass(frozen=True)
class Submission:
    """The array (one task per env index) and the report job of one submission (slurm.json)."""

    run_dir: Path
    array_job: str
    final_job: str | None  # None only if the submitting process died between the two sbatch
    indexes: tuple[int, ...]
    jobs: int
    submitted: str
    submitted_epoch: float  # results older than this are from an earlier attempt
    options: tuple[str, ...]


def submit_run(
    run: RunPlan, indexes: Sequence[int], *, jobs: int, options: Sequence[str]
) -> Submission:
    """Write the job scripts, submit the array (at most `jobs` running) and the report job.

    slurm.json names the array as soon as it exists, so even a killed submitter leaves no jobs
    that `--status` and `--cancel` cannot find (the caller holds Ctrl-C back meanwhile).
    """
    refuse_unsafe_values(options=options, folder=run.run_dir)
    folder = run.run_dir / "slurm"
    fs.make_dirs(folder / _EMPTY)
    name = f"replicate-{run.run_dir.name}"
    submitted_epoch, submitted = time.time(), utc_now()  # before any task can write a result
    submission = Submission(
        run_dir=run.run_dir,
        array_job=_submit(
            folder / "task.sh",
            run_dir=run.run_dir,
            what="one task of the array replicates env number $SLURM_ARRAY_TASK_ID of "
            "plan.json (the very command `--executor local` runs)",
            command=command_words(task_command(run.run_dir, 0)[:-1]) + ' "$SLURM_ARRAY_TASK_ID"',
            options=[f"--job-name={name}", f"--output={folder / 'task-%a.out'}", *options],
            array=f"{_ranges(indexes)}%{jobs}",
        ),
        final_job=None,
        indexes=tuple(indexes),
        jobs=jobs,
        submitted=submitted,
        submitted_epoch=submitted_epoch,
        options=tuple(options),
    )
    _record(submission)
    try:
        final_job = _submit(
            folder / "finish.sh",
            run_dir=run.run_dir,
            what="once every task of the array ended (however it ended), settle the tasks "
            "that left no result and write report.json/csv/md",
            command=command_words(_settle_command(run.run_dir)),
            options=[f"--job-name={name}-report", f"--output={folder / 'finish.out'}", *options],
            dependency=f"afterany:{submission.array_job}",
        )
    except SharedError:
        slurm.cancel(submission.array_job)  # an array nobody reports on is worse than none
        fs.remove_file(run.run_dir / "slurm.json")
        raise
    submission = replace(submission, final_job=final_job)
    _record(submission)
    return submission


def refuse_unsafe_values(*, options: Sequence[str], folder: Path) -> None:
    """Every value the job scripts hold stays on its line: refuse a control character in any of
    them (a newline would turn the rest of an option into a command) before anything is made.
    `folder` is the run folder, or the reports folder that will hold it."""
    values = [
        *(("Slurm option", option) for option in options),
        ("the run folder", str(folder)),
        ("conda-shared's Python", sys.executable),
    ]
    for what, value in values:
        character = control_character(value)
        if character is not None:
            raise InputError(
                f"{what} {value!r} contains the control character {character}",
                "Give it without newlines, tabs or other control characters "
                "(--slurm-option, plugins.shared_slurm_options, --root)",
            )


def submission_to_json(submission: Submission) -> dict[str, object]:
    """The submission as slurm.json and `replicate --json` give it."""
    folder = submission.run_dir / "slurm"
    return {
        "array_job": submission.array_job,
        "final_job": submission.final_job,
        "indexes": list(submission.indexes),
        "jobs": submission.jobs,
        "submitted": submission.submitted,
        "submitted_epoch": submission.submitted_epoch,
        "options": list(submission.options),
        "task_script": str(folder / "task.sh"),
        "finish_script": str(folder / "finish.sh"),
    }


def _record(submission: Submission) -> None:
    """slurm.json: the job ids that `--status`, `--wait`, `--cancel` and `--resume` read back."""
    document = {"schema": SCHEMA, **submission_to_json(submission)}
    fs.atomic_write(submission.run_dir / "slurm.json", json.dumps(document, indent=1) + "\n")


def read_submission(run_dir: Path) -> Submission | None:
    """The latest submission of the run, or None for a run that never went through Slurm."""
    path = run_dir / "slurm.json"
    try:
        document = json.loads(path.read_bytes())
        if document.get("schema") != SCHEMA:
            raise ValueError(f"schema {document.get('schema')!r}")
        return Submission(
            run_dir=run_dir,
            array_job=str(document["array_job"]),
            final_job=None if document["final_job"] is None else str(document["final_job"]),
            indexes=tuple(int(i) for i in document["indexes"]),
            jobs=int(document["jobs"]),
            submitted=str(document["submitted"]),
            submitted_epoch=float(document["submitted_epoch"]),
            options=tuple(str(o) for o in document["options"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SharedError(
            f"cannot use {path}: {error}",
            "Look the jobs up with `squeue`; start a new run",
            command=("replicate",),
        ) from None


def task_states(submission: Submission) -> dict[int, slurm.TaskState] | None:
    """The array's tasks by env index; None once Slurm has forgotten the array (MinJobAge)."""
    states = slurm.tasks(submission.array_job)
    if states is None:
        return None
    return {state.index: state for state in states if state.index is not None}


def cancel_submission(submission: Submission) -> None:
    """`scancel` the array and its report job (the caller assembles the report instead)."""
    slurm.cancel(submission.array_job)
    if submission.final_job is not None:
        slurm.cancel(submission.final_job)


def task_output_tail(submission: Submission, index: int) -> str | None:
    """The last line a task printed (its traceback's last line when it crashed)."""
    path = submission.run_dir / "slurm" / f"task-{index}.out"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return None
    return lines[-1] if lines else None


def node_local(path: Path) -> Path | None:
    """The node-local folder `path` is under (each node has its own), or None."""
    resolved = path.resolve()
    return next((folder for folder in NODE_LOCAL if resolved.is_relative_to(folder)), None)


def _settle_command(run_dir: Path) -> list[str]:
    return own_python("-m", "conda_shared", "replicate", "--settle", str(run_dir))


def _submit(
    script: Path,
    *,
    run_dir: Path,
    what: str,
    command: str,
    options: Sequence[str],
    array: str | None = None,
    dependency: str | None = None,
) -> str:
    """Write a job script that says how it was submitted, then submit it."""
    sbatch = slurm.sbatch_argv(
        script=script, workdir=run_dir, options=options, array=array, dependency=dependency
    )
    lines = [
        "#!/bin/bash",
        f"# Written by conda-shared (replicate --executor slurm): {what}.",
        "# Submitted with:",
        f"#   {command_words(sbatch)}",
        # Not the folder Slurm chose (it falls back to /tmp when --chdir fails): an empty one of
        # the run, so nothing there can pass for conda_shared (see conda_shared.children).
        f"cd -- {quoted(script.parent / _EMPTY)} || exit 1",
        f"exec {command}",
    ]
    fs.atomic_write(script, "\n".join(lines) + "\n", mode=0o755)
    return slurm.submit(
        script=script, workdir=run_dir, options=options, array=array, dependency=dependency
    )


def _ranges(indexes: Sequence[int]) -> str:
    """0,1,2,5,7,8 -> 0-2,5,7-8: Slurm's array syntax, short for hundreds of envs."""
    parts: list[str] = []
    ordered = sorted(set(indexes))
    start = previous = ordered[0]
    for index in [*ordered[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if index is not None:
            start = previous = index
    return ",".join(parts)
