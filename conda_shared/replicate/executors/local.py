"""Build many envs on this machine: at most N task processes, each taking env after env.

A task process (`replicate --task RUN -`) reads env numbers on its stdin, one a line, builds
each as `replicate --task RUN INDEX` would, and answers with the number on its stdout once the
env's result is written. Starting conda-shared once per slot rather than once per env keeps its
own CPU small; a task that dies takes only the env it was building with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ... import fs
from ...children import own_python

_POLL_S = 0.05
#: `--task RUN_DIR -`: the task process takes its env numbers from stdin.
FROM_STDIN = "-"


def task_command(run_dir: Path, index: int | str) -> list[str]:
    """The command any executor runs for one env (this Python, this conda_shared); with
    FROM_STDIN instead of an index, for env after env."""
    return own_python("-m", "conda_shared", "replicate", "--task", str(run_dir), str(index))


def serve_tasks(run_dir: Path, *, requests: IO[str], replies: IO[str]) -> None:
    """The task process's side: build each env number read from `requests`, then write it back
    to `replies`. An error ends the process (its caller records the env as crashed)."""
    from ..task import run_task  # the task's modules, not the orchestrator's

    for line in requests:
        index = int(line)
        run_task(run_dir, index)
        replies.write(f"{index}\n")
        replies.flush()


@dataclass
class _Slot:
    """One task process, the env it is building (None when idle), what it said so far."""

    process: subprocess.Popen[bytes]
    errors: Path
    index: int | None = None
    errors_from: int = 0  # where the current env's part of the stderr file begins
    said: bytes = field(default=b"")


def run_tasks(
    run_dir: Path,
    indexes: Sequence[int],
    *,
    jobs: int,
    on_start: Callable[[int], None],
    on_done: Callable[[int, int, str], None],
) -> None:
    """Build the envs in at most `jobs` task processes; `on_done(index, exit status, what the
    task wrote to stderr meanwhile)` after each (status 0 while its process goes on).

    On Ctrl-C (or SIGTERM turned into KeyboardInterrupt) nothing new starts, running tasks get
    SIGTERM so they remove what they half-built, and the interrupt is raised once they are gone.
    """
    pending = list(indexes)
    slots: list[_Slot] = []
    # Tasks start from an empty folder of ours (see conda_shared.children). They are stopped by
    # SIGTERM, which a task always obeys; SIGINT it may have inherited ignored (a replicate
    # started as `... &` by a script), and then only a kill of the whole group would stop it.
    with fs.private_temp_dir() as folder:
        try:
            while pending or any(slot.index is not None for slot in slots):
                idle = [slot for slot in slots if slot.index is None]
                while pending and (idle or len(slots) < max(1, jobs)):
                    slot = idle.pop() if idle else _start(run_dir, folder, slots)
                    index = pending.pop(0)
                    _give(slot, index)
                    on_start(index)
                for slot in list(slots):
                    _collect(slot, slots, on_done)
                time.sleep(_POLL_S)
        except KeyboardInterrupt:
            for slot in slots:
                if slot.process.poll() is None:
                    slot.process.send_signal(signal.SIGTERM)
            for slot in slots:
                _wait_quietly(slot.process)
            raise
        finally:
            for slot in slots:
                _end(slot)


def _start(run_dir: Path, folder: Path, slots: list[_Slot]) -> _Slot:
    errors = run_dir / "logs" / f".task-slot-{len(slots)}-{time.monotonic_ns()}.stderr"
    with fs.append_stream(errors, binary=True) as stream:
        process = subprocess.Popen(
            task_command(run_dir, FROM_STDIN),
            cwd=folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stream,
        )
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    slot = _Slot(process, errors)
    slots.append(slot)
    return slot


def _give(slot: _Slot, index: int) -> None:
    assert slot.process.stdin is not None
    slot.index = index
    slot.errors_from = _size(slot.errors)
    with contextlib.suppress(BrokenPipeError):  # it died: _collect records the env
        slot.process.stdin.write(f"{index}\n".encode())
        slot.process.stdin.flush()


def _collect(slot: _Slot, slots: list[_Slot], on_done: Callable[[int, int, str], None]) -> None:
    """Report the env the slot finished, or the one its process died with."""
    assert slot.process.stdout is not None
    with contextlib.suppress(BlockingIOError):
        slot.said += slot.process.stdout.read() or b""
    if slot.index is not None and str(slot.index).encode() in slot.said.split(b"\n")[:-1]:
        index, slot.index, slot.said = slot.index, None, b""
        on_done(index, 0, _errors_since(slot))
        return
    status = slot.process.poll()
    if status is None:
        return
    slots.remove(slot)
    if slot.index is not None:
        on_done(slot.index, status, _errors_since(slot))
    _end(slot)


def _errors_since(slot: _Slot) -> str:
    try:
        with open(slot.errors, "rb") as stream:
            stream.seek(slot.errors_from)
            return stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _end(slot: _Slot) -> None:
    """No more envs for this task process: close its stdin, let it exit, drop its stderr."""
    for stream in (slot.process.stdin, slot.process.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()
    _wait_quietly(slot.process)
    fs.remove_file(slot.errors)


def _wait_quietly(process: subprocess.Popen[bytes]) -> None:
    """Wait for a task to clean up, even if a second Ctrl-C arrives meanwhile."""
    while True:
        try:
            process.wait()
            return
        except KeyboardInterrupt:
            continue
